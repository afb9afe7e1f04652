"""A sweep in pytest: one collector per candidate, its gates inside, one family."""

from __future__ import annotations

import json
import random

import pytest
from helpers import (
    make_records,
    outcomes_by_nodeid,
    run_meta,
    summary_section,
    write_run,
)

SWEEP_GATES = """\
baseline: runs/baseline
candidates: [runs/sweep/*]
metrics:
  score:
    direction: higher
    margin: 0.05
"""


def _noisy(records: list[dict], seed: int) -> list[dict]:
    """The records with each score moved by its own seeded noise (sd 0.02)."""
    rng = random.Random(seed)
    for record in records:
        record["metrics"] = {
            k: round(v + rng.gauss(0.0, 0.02), 6) for k, v in record["metrics"].items()
        }
    return records


def _sweep_repo(
    pytester: pytest.Pytester, shifts: dict[str, float], gates: str = SWEEP_GATES
) -> None:
    """A baseline and one candidate per label, each shifted by its amount."""
    write_run(
        pytester.path / "runs" / "baseline",
        _noisy(make_records(300), 0),
        run_meta("baseline"),
    )
    for label, shift in shifts.items():
        records = _noisy(
            make_records(300, shift={(None, None): shift}), len(label) + ord(label[0])
        )
        write_run(
            pytester.path / "runs" / "sweep" / label,
            records,
            run_meta(label, params={"shift": shift}),
        )
    (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")


def test_gates_collect_per_candidate(pytester: pytest.Pytester) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2, "c": 0.01})
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "runcompare.yaml::a::score",
            "runcompare.yaml::b::score",
            "runcompare.yaml::c::score",
        ]
    )


def test_a_regressed_candidate_fails_the_sweep_and_names_itself(
    pytester: pytest.Pytester,
) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2, "c": 0.01})
    result = pytester.runpytest(
        "-rA", "-p", "no:cacheprovider", "--runcompare-json", "sweep.json"
    )
    assert result.ret == 1
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::a::score": "PASSED",
        "runcompare.yaml::b::score": "FAILED",
        "runcompare.yaml::c::score": "PASSED",
    }
    summary = "\n".join(summary_section(result))
    assert "each candidate's gates at alpha 0.0167 = 0.05/3, Bonferroni" in summary
    assert "sweep failed: 2 of 3 candidate(s) pass every gate" in summary
    data = json.loads((pytester.path / "sweep.json").read_text())
    assert data["passing"] == ["a", "c"]
    # the failure points at the candidate's own two-run report
    result.stdout.fnmatch_lines(["*report.pairs/b.html*"])


def test_require_any_passes_when_one_candidate_passes(
    pytester: pytest.Pytester,
) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2})
    result = pytester.runpytest(
        "-rA", "-p", "no:cacheprovider", "--runcompare-require", "any"
    )
    assert result.ret == 0
    outcomes = outcomes_by_nodeid(result)
    assert outcomes["runcompare.yaml::a::score"] == "PASSED"
    assert outcomes["runcompare.yaml::b::score"] == "XFAIL"
    result.stdout.fnmatch_lines(
        ["*at least one candidate to pass every gate, and a does*"]
    )
    assert "sweep passed: 1 of 2" in "\n".join(summary_section(result))


def test_junit_names_the_candidate_and_why_its_failed_gate_is_excused(
    pytester: pytest.Pytester,
) -> None:
    import xml.etree.ElementTree as ET

    _sweep_repo(pytester, {"a": 0.0, "b": -0.2})
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--runcompare-require", "any", "--junitxml=j.xml"
    )
    assert result.ret == 0
    cases = {
        tc.get("classname"): {
            p.get("name"): p.get("value") for p in tc.iter("property")
        }
        for tc in ET.parse(pytester.path / "j.xml").getroot().iter("testcase")
    }
    assert cases["runcompare.yaml.a"]["runcompare_candidate"] == "a"
    assert "runcompare_excused" not in cases["runcompare.yaml.a"]
    b = cases["runcompare.yaml.b"]
    assert (b["runcompare_candidate"], b["runcompare_status"]) == ("b", "failed")
    assert b["runcompare_excused"] == (
        "the sweep requires at least one candidate to pass every gate, and a does"
    )


def test_require_any_fails_when_no_candidate_passes(pytester: pytest.Pytester) -> None:
    gates = SWEEP_GATES + "sweep:\n  require: any\n"
    _sweep_repo(pytester, {"a": -0.2, "b": -0.3}, gates)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert result.ret == 1
    assert set(outcomes_by_nodeid(result).values()) == {"FAILED"}


def test_a_node_id_selects_one_candidates_gates(pytester: pytest.Pytester) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2})
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "runcompare.yaml::a")
    assert result.ret == 0
    assert outcomes_by_nodeid(result) == {"runcompare.yaml::a::score": "PASSED"}


def test_a_glob_candidate_on_the_command_line_is_a_sweep(
    pytester: pytest.Pytester,
) -> None:
    _sweep_repo(
        pytester,
        {"a": 0.0, "b": 0.0},
        SWEEP_GATES.replace("candidates: [runs/sweep/*]\n", ""),
    )
    result = pytester.runpytest(
        "-rA", "-p", "no:cacheprovider", "--runcompare-candidate", "runs/sweep/*"
    )
    assert result.ret == 0
    assert sorted(outcomes_by_nodeid(result)) == [
        "runcompare.yaml::a::score",
        "runcompare.yaml::b::score",
    ]


def test_labelled_candidates_keep_their_labels(pytester: pytest.Pytester) -> None:
    gates = SWEEP_GATES.replace(
        "candidates: [runs/sweep/*]",
        "candidates:\n  small: runs/sweep/a\n  large: runs/sweep/b",
    )
    _sweep_repo(pytester, {"a": 0.0, "b": 0.0}, gates)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert result.ret == 0
    assert list(outcomes_by_nodeid(result)) == [
        "runcompare.yaml::small::score",
        "runcompare.yaml::large::score",
    ]


def test_a_sweep_never_promotes_a_baseline(pytester: pytest.Pytester) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": 0.0})
    before = sorted(p.name for p in (pytester.path / "runs" / "baseline").iterdir())
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--runcompare-update-baseline"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*judged a sweep of 2 candidates; promote one of them*"]
    )
    assert (
        sorted(p.name for p in (pytester.path / "runs" / "baseline").iterdir())
        == before
    )
    assert not (pytester.path / "runs" / "baseline.history").exists()


@pytest.mark.parametrize("update", [False, True])
def test_a_sweep_without_a_baseline_fails_each_gate_and_never_offers_to_create_it(
    pytester: pytest.Pytester, update: bool
) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": 0.0})
    gates = SWEEP_GATES.replace("runs/baseline", "runs/nobase")
    (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")
    args = ["-rA", "-p", "no:cacheprovider"]
    result = pytester.runpytest(*args, *(["--runcompare-update-baseline"] * update))
    assert result.ret == 1
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::a::score": "FAILED",
        "runcompare.yaml::b::score": "FAILED",
    }
    result.stdout.fnmatch_lines(
        [
            "*no baseline at */runs/nobase: a sweep judges its 2 candidates against an "
            "existing baseline and never creates one; create it from one run with "
            "--runcompare-candidate PATH --runcompare-update-baseline*"
        ]
    )
    assert "create it from this candidate" not in result.stdout.str()
    assert "a fixture compares one pair" not in result.stdout.str()
    assert not (pytester.path / "runs" / "nobase").exists()


def test_a_glob_that_matches_the_baseline_too_leaves_it_out_and_says_so(
    pytester: pytest.Pytester,
) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2})
    gates = SWEEP_GATES.replace("[runs/sweep/*]", "[runs/*/]").replace(
        "candidates:", "sweep: {require: any}\ncandidates:"
    )
    (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")
    (pytester.path / "runs" / "sweep" / "a").rename(pytester.path / "runs" / "a")
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::a::score": "PASSED",
        "runcompare.yaml::sweep/b::score": "XFAIL",
    }
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "candidates: left out 'baseline' (*/runs/baseline*): it is the baseline "
            "itself (it would pass every gate and, under require: any, pass the "
            "sweep alone)"
        ]
    )
    assert "sweep passed: 1 of 2" in "\n".join(summary_section(result))


def test_a_sweep_that_cannot_be_judged_fails_each_gate_and_says_why_once(
    pytester: pytest.Pytester,
) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2})
    (pytester.path / "runs" / "sweep" / "b" / "run.yaml").write_text(
        "name: [unclosed\n", encoding="utf-8"
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert result.ret == 1
    assert set(outcomes_by_nodeid(result).values()) == {"FAILED"}
    assert result.stdout.str().count("could not judge the sweep: ") == 1
    result.stdout.fnmatch_lines(
        ["could not judge the sweep: */runs/sweep/b/run.yaml:2: malformed YAML*"]
    )


def test_a_ranking_metric_without_a_gate_is_an_error_of_the_gates_file(
    pytester: pytest.Pytester,
) -> None:
    _sweep_repo(pytester, {"a": 0.0}, SWEEP_GATES + "sweep: {best: nosuch}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: */runcompare.yaml:7: sweep.best: 'nosuch' is not a gated metric "
            "(accepted: a gated metric: score)*"
        ]
    )


def test_github_annotations_name_the_candidate(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sweep_repo(pytester, {"a": 0.0, "b": -0.2})
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["::error file=runcompare.yaml,line=4,title=runcompare b%3A%3Ascore::*"]
    )
    text = summary.read_text()
    assert text.startswith("<!-- runcompare:")
    assert "1 of 2" in text
