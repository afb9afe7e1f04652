"""The fixtures, the assertion helpers and the marker, in real sessions."""

from __future__ import annotations

import json

import pytest
from helpers import datapoints, write_jsonl


def test_run_fixtures_and_comparison(model_repo) -> None:
    pytester = model_repo(
        candidate=datapoints(
            400, output=lambda i: f"answer {i}" if i != 7 else "changed"
        )
    )
    pytester.makepyfile(
        test_runs="""
        def test_runs(baseline_run, candidate_run, run_comparison):
            assert baseline_run.name == "baseline"
            assert candidate_run.name == "candidate"
            assert len(baseline_run) == 400
            assert run_comparison.changed_output_count == 1
            assert [c.id for c in run_comparison.changed_outputs()] == ["q7"]

        def test_same_objects(baseline_run, run_comparison):
            # loaded once per process: the fixture and the comparison share the run
            assert run_comparison.baseline is baseline_run
        """
    )
    result = pytester.runpytest("-q", "test_runs.py")
    result.assert_outcomes(passed=2)


def test_assertion_helpers_pass_and_fail_with_the_verdict(model_repo) -> None:
    candidate = datapoints(
        400, correct=lambda i: i % 5 != 0 and not (i % 2 and i % 3 == 0)
    )
    pytester = model_repo(candidate=candidate)
    pytester.makepyfile(
        test_helpers="""
        def test_score_ok(runcompare):
            verdict = runcompare.assert_no_regression("score", margin="2%")
            assert verdict.passed

        def test_german_accuracy(runcompare):
            runcompare.assert_no_regression("exact_match", margin=0.02, slice="lang:de")

        def test_outputs(runcompare):
            runcompare.assert_outputs_unchanged(ids=["q1", "q2"])

        def test_coverage(runcompare):
            runcompare.assert_coverage(1.0)
        """
    )
    result = pytester.runpytest("-q", "test_helpers.py")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_german_accuracy*",
            "E*AssertionError: exact_match[[]lang:de[]]: 0.800 -> 0.530*FAIL*",
            "E*datapoints: 54 regressed, 0 improved, 146 unchanged (n = 200)",
        ]
    )
    # The helper's own frames are hidden from the traceback.
    assert "assertions.py" not in result.stdout.str()


def test_outputs_and_coverage_failures(model_repo) -> None:
    candidate = datapoints(390, output=lambda i: "new" if i == 2 else f"answer {i}")
    pytester = model_repo(candidate=candidate)
    pytester.makepyfile(
        test_helpers="""
        def test_outputs(runcompare):
            runcompare.assert_outputs_unchanged()

        def test_coverage(runcompare):
            runcompare.assert_coverage(0.99)
        """
    )
    result = pytester.runpytest("-q", "test_helpers.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: 1 output(s) changed:",
            "E*q2: 'answer 2' -> 'new'",
            "E*AssertionError: coverage 97.5% < 99.0%: 10 baseline datapoint(s) missing from the candidate, e.g. q390, q391*",
        ]
    )


def test_marker_overrides_the_runs(model_repo) -> None:
    pytester = model_repo()
    write_jsonl(pytester.path / "other.jsonl", datapoints(10), {"name": "other"})
    pytester.makepyfile(
        test_marker="""
        import pytest

        @pytest.mark.runcompare(candidate="other.jsonl")
        def test_other(run_comparison):
            assert run_comparison.candidate.name == "other"
            assert len(run_comparison.common_datapoints) == 10

        def test_session(run_comparison):
            assert run_comparison.candidate.name == "candidate"

        """
    )
    result = pytester.runpytest("-q", "test_marker.py")
    result.assert_outcomes(passed=2)


def test_bad_marker_is_a_usage_error(model_repo) -> None:
    pytester = model_repo()
    pytester.makepyfile(
        test_marker="""
        import pytest

        @pytest.mark.runcompare(colour="red")
        def test_bad_marker(run_comparison):
            pass
        """
    )
    result = pytester.runpytest("-q", "test_marker.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*test_marker.py::test_bad_marker: @pytest.mark.runcompare: unknown "
            "argument(s) [[]'colour'[]] (accepted: baseline, candidate, seed)*"
        ]
    )


def test_command_line_beats_ini_beats_gates_file(model_repo) -> None:
    pytester = model_repo()
    write_jsonl(pytester.path / "ini.jsonl", datapoints(20), {"name": "from ini"})
    write_jsonl(pytester.path / "cli.jsonl", datapoints(30), {"name": "from cli"})
    pytester.makeini("[pytest]\nrunc" + "ompare_candidate = ini.jsonl\n")
    pytester.makepyfile(
        test_which="""
        def test_which(candidate_run, pytestconfig):
            print("CANDIDATE", candidate_run.name)
        """
    )
    result = pytester.runpytest("-s", "-q", "test_which.py")
    result.stdout.fnmatch_lines(["CANDIDATE from ini*"])
    result = pytester.runpytest(
        "-s", "-q", "test_which.py", "--runcompare-candidate", "cli.jsonl"
    )
    result.stdout.fnmatch_lines(["CANDIDATE from cli*"])
    (pytester.path / "tox.ini").unlink()
    result = pytester.runpytest("-s", "-q", "test_which.py")
    result.stdout.fnmatch_lines(["CANDIDATE candidate*"])


def test_bad_option_values_are_usage_errors(model_repo) -> None:
    pytester = model_repo()
    result = pytester.runpytest("--runcompare-alpha", "0.7")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--runcompare-alpha: 0.7 is out of range*"])
    result = pytester.runpytest("--runcompare-seed", "abc")
    result.stderr.fnmatch_lines(
        ["*--runcompare-seed: invalid value 'abc' (expected a non-negative integer)*"]
    )
    result = pytester.runpytest("--runcompare-config", "nope.yaml")
    result.stderr.fnmatch_lines(
        ["*--runcompare-config: gates file 'nope.yaml' not found*"]
    )


def test_alpha_option_changes_every_gate(model_repo) -> None:
    pytester = model_repo()
    result = pytester.runpytest(
        "-q", "--runcompare-alpha", "0.025", "--junitxml", "out.xml"
    )
    result.assert_outcomes(passed=3)
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="runcompare_ci_low"' in xml


def test_report_lists_gates_and_tests_that_used_the_comparison(model_repo) -> None:
    import json

    pytester = model_repo()
    pytester.makepyfile(
        test_hand="""
        def test_uses_comparison(run_comparison):
            assert run_comparison.n_common == 400

        def test_uses_helpers(runcompare):
            runcompare.assert_coverage(1.0)

        def test_unrelated():
            pass
        """
    )
    result = pytester.runpytest(
        "-q", "--runcompare-json", "r.json", "--runcompare-report", "r.html"
    )
    result.assert_outcomes(passed=6)
    tests = {
        t["nodeid"]: t["outcome"]
        for t in json.loads((pytester.path / "r.json").read_text())["tests"]
    }
    assert tests == {
        "runcompare.yaml::exact_match": "passed",
        "runcompare.yaml::exact_match[lang:de]": "passed",
        "runcompare.yaml::score": "passed",
        "test_hand.py::test_uses_comparison": "passed",
        "test_hand.py::test_uses_helpers": "passed",
    }
    html = (pytester.path / "r.html").read_text()
    assert "test_hand.py::test_uses_helpers" in html
    assert "test_unrelated" not in html


def test_reports_are_written_for_fixture_assertions_without_a_gates_file(
    pytester: pytest.Pytester,
) -> None:
    write_jsonl(pytester.path / "a.jsonl", datapoints(200), {"name": "a"})
    worse = datapoints(200, correct=lambda i: i % 3 != 0)
    write_jsonl(pytester.path / "b.jsonl", worse, {"name": "b"})
    pytester.makepyfile(
        test_model="""
        def test_accuracy(runcompare):
            runcompare.assert_no_regression("exact_match", margin=0.02)
        """
    )
    result = pytester.runpytest(
        "--runcompare-baseline",
        "a.jsonl",
        "--runcompare-candidate",
        "b.jsonl",
        "--runcompare-report",
        "r.html",
        "--runcompare-json",
        "r.json",
        "--runcompare-markdown",
        "r.md",
    )
    result.assert_outcomes(failed=1)
    # the failure message names the report, and the report is there
    result.stdout.fnmatch_lines([f"E       report: {pytester.path / 'r.html'}"])
    html = (pytester.path / "r.html").read_text()
    assert '<div class="overall fail" id="overall">' in html
    data = json.loads((pytester.path / "r.json").read_text())
    assert data["summary"]["passed"] is False
    [assertion] = data["judgement"]["assertions"]
    assert (assertion["key"], assertion["status"]) == ("exact_match", "failed")
    marker, header = (pytester.path / "r.md").read_text().splitlines()[:2]
    assert marker.startswith("<!-- runcompare")
    assert header.startswith("❌")
