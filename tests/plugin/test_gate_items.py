"""Gates of the gates file are collected and reported as test items."""

from __future__ import annotations

import pytest
from helpers import datapoints, write_jsonl


def test_each_gate_is_an_item(model_repo) -> None:
    pytester = model_repo()
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "runcompare.yaml::exact_match",
            "runcompare.yaml::exact_match[[]lang:de[]]",
            "runcompare.yaml::score",
        ]
    )
    assert result.ret == 0


def test_unchanged_candidate_passes(model_repo) -> None:
    pytester = model_repo()
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*= runcompare =*", "gate *old*new*change*interval*p (adj)*status"]
    )


def test_selection_with_k(model_repo) -> None:
    pytester = model_repo()
    result = pytester.runpytest("-q", "-k", "score")
    result.assert_outcomes(passed=1, deselected=2)


def test_regression_fails_with_a_reviewers_sentence(model_repo) -> None:
    candidate = datapoints(
        400,
        correct=lambda i: i % 5 != 0 and i % 4 != 1,
        output=lambda i: f"answer {i}" if i % 4 != 1 else f"wrong {i}",
    )
    pytester = model_repo(candidate=candidate)
    result = pytester.runpytest("-q", "--runcompare-report", "report.html")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "exact_match: 0.800 -> 0.600 (-0.200, 90% CI [[]-0.235, -0.169[]]); "
            "non-inferiority margin 0.05: FAIL*(p = 1, Tango score test, n = 400)",
            "datapoints: 80 regressed, 0 improved, 320 unchanged (n = 400)",
            "test: Tango score test*mode non_inferiority, margin 0.05, p = 1",
            "worst regressed datapoints*",
            "  q1: 1 -> 0   answer 1 -> wrong 1",
            "*report: *report.html*",
        ]
    )
    # No internal traceback for a verdict.
    assert "Traceback" not in text
    assert "gates.py" not in text


def test_inconclusive_says_how_many_datapoints_would_settle_it(model_repo) -> None:
    pytester = model_repo(
        n=40,
        gates="baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
        "metrics:\n  score:\n    margin: 0.001\n",
        candidate=datapoints(40, score=lambda i: 0.5 + ((i * 3) % 7) / 20),
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*INCONCLUSIVE*; about * paired datapoints (now 40) would likely settle it"
            " (pass) if the change stays at +0.0075",
        ]
    )
    line = next(x for x in result.stdout.lines if "would likely settle it" in x)
    need = line.split("; about ")[1].split()[0]
    assert int(need.replace(",", "")) > 40  # more than it already has
    # the figure appears once: the sentence is the only place that computes it
    message = [x for x in result.stdout.lines if not x.startswith("FAILED ")]
    assert sum("would likely settle it" in x for x in message) == 1


def test_gates_run_after_other_tests(model_repo) -> None:
    pytester = model_repo()
    pytester.makepyfile(test_zz="def test_last_collected(): pass")
    result = pytester.runpytest("-v")
    lines = [line for line in result.stdout.lines if "PASSED" in line]
    assert "test_zz.py::test_last_collected" in lines[0]


def test_missing_candidate_is_a_usage_error_naming_its_origin(model_repo) -> None:
    pytester = model_repo()
    (pytester.path / "runs" / "candidate.jsonl").unlink()
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*runcompare.yaml:2: candidate: the candidate run *candidate.jsonl does not exist*"
        ]
    )
    result = pytester.runpytest("-q", "--runcompare-candidate", "nope.jsonl")
    result.stderr.fnmatch_lines(
        ["*--runcompare-candidate: the candidate run *nope.jsonl does not exist*"]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_malformed_run_names_file_line_and_field(model_repo) -> None:
    pytester = model_repo()
    path = pytester.path / "runs" / "candidate.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace('"exact_match": true', '"exact_match": "yes"')
    path.write_text("\n".join(lines) + "\n")
    result = pytester.runpytest("-q")
    result.stdout.fnmatch_lines(
        [
            "*candidate.jsonl:4: datapoint 'q2': field 'metrics.exact_match': metric value must be a number or a boolean, got str 'yes'*"
        ]
    )


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        (
            "metrics:\n  score:\n    margin: two percent\n",
            "*runcompare.yaml:3: metrics.score.margin: invalid margin 'two percent' (accepted: 0, or an absolute margin*'2%'))",
        ),
        (
            "metrics:\n  score:\n    margn: 0.1\n",
            "*runcompare.yaml:3: metrics.score.margn: unknown key (accepted: direction, aggregate, margin*",
        ),
        (
            "metrics:\n  score:\n    margin: 0.1\n    mode: strict\n",
            "*metrics.score.mode: invalid value 'strict' (accepted: non_inferiority, regression_detection, equivalence)*",
        ),
        (
            "metrics:\n  score:\n    margin: 0.1\n    aggregate: p101\n",
            "*metrics.score*unknown aggregate 'p101'*",
        ),
        (
            "defaults:\n  compatibility: maybe\n",
            "*defaults.compatibility: invalid value 'maybe' (accepted: fail, warn)*",
        ),
        (
            "bogus: 1\n",
            "*runcompare.yaml:1: bogus: unknown key (accepted: baseline, candidate*",
        ),
        ("metrics: [\n", "*runcompare.yaml*malformed YAML*"),
    ],
)
def test_bad_gates_file_is_a_usage_error(model_repo, gates: str, message: str) -> None:
    pytester = model_repo(gates=gates)
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_negative_seed_is_a_usage_error_naming_the_line(
    pytester: pytest.Pytester,
) -> None:
    write_jsonl(pytester.path / "b.jsonl", datapoints(20))
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: b.jsonl\ncandidate: b.jsonl\nseed: -1\nmetrics:\n  score: {margin: 0.1}\n"
    )
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*runcompare.yaml:3: seed: must be a non-negative integer, got -1*"]
    )


def test_unknown_test_is_a_usage_error_naming_line_and_accepted(model_repo) -> None:
    pytester = model_repo(
        gates="baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
        "metrics:\n  score:\n    margin: 0.1\n    test: magic\n"
    )
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*runcompare.yaml:4: metrics.score.test: unknown test 'magic' (accepted: auto, t, *wilcoxon*"
        ]
    )


def test_one_gates_mistake_fails_only_that_gate(model_repo) -> None:
    pytester = model_repo(
        gates="baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
        "metrics:\n  exact_match:\n    margin: 0.1\n"
        "  score:\n    margin: 0.1\n    test: tango\n"
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*score: configuration error: *runcompare.yaml:6: *tango*binary*"]
    )


def test_margin_missing_in_non_inferiority_shows_the_mde(model_repo) -> None:
    pytester = model_repo(
        gates="baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\nmetrics:\n  score: {}\n"
    )
    result = pytester.runpytest("-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*minimum detectable effect*"])


def test_slices_all_on_runs_without_slices_makes_no_slice_gate_and_says_so(
    pytester: pytest.Pytester,
) -> None:
    records = datapoints(50, slices=lambda i: [])
    for r in records:
        del r["slices"]
    write_jsonl(pytester.path / "b.jsonl", records)
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: b.jsonl\ncandidate: b.jsonl\nmetrics:\n  score: {margin: 0.1, slices: all}\n"
    )
    result = pytester.runpytest("-q")
    assert result.parseoutcomes()["passed"] == 1
    result.stdout.fnmatch_lines(
        ["*score: `slices: all`, but the runs have no slice: no slice gate was made*"]
    )
