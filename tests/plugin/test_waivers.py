"""Expected changes declared in the gates file: waived, expired and unmatched waivers."""

from __future__ import annotations

import pytest
from helpers import (
    datapoints,
    make_records,
    make_repo,
    outcomes_by_nodeid,
    summary_section,
    write_jsonl,
)

# score: line 4; the slice lang:de is gated too. Overall -0.1 passes the 0.15 margin,
# lang:de (-0.2) fails it.
GATES = """\
baseline: runs/baseline
candidate: runs/candidate
metrics:
  score:
    direction: higher
    margin: 0.15
    slices: [lang:de]
waivers:
"""
DE_WORSE = {("score", "lang:de"): -0.2}


def _repo(pytester: pytest.Pytester, waivers: str, candidate=None) -> None:
    make_repo(
        pytester,
        make_records(),
        candidate or make_records(shift=DE_WORSE, noise=0.001),
        GATES + waivers,
    )


def test_waived_gate_is_an_expected_failure_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    _repo(
        pytester,
        "  - metric: score\n"
        "    slice: lang:de\n"
        '    reason: "new tokenizer, accepted in #123"\n'
        "    expires: 2999-12-31\n",
    )
    result = pytester.runpytest("-rA", "-vv")
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::score": "PASSED",
        "runcompare.yaml::score[lang:de]": "XFAIL",
    }
    assert (
        "XFAIL runcompare.yaml::score[lang:de] - expected change: new tokenizer, "
        "accepted in #123"
    ) in result.outlines
    assert result.ret == pytest.ExitCode.OK
    row = next(s for s in summary_section(result) if s.startswith("score[lang:de]"))
    assert row.endswith("  waived")


def test_expired_waiver_fails_the_gate_saying_so(pytester: pytest.Pytester) -> None:
    _repo(
        pytester,
        "  - metric: score\n"
        "    slice: lang:de\n"
        "    reason: new tokenizer\n"
        "    expires: 2020-01-31\n",
    )
    result = pytester.runpytest("-rA", "-vv")
    assert outcomes_by_nodeid(result)["runcompare.yaml::score[lang:de]"] == "FAILED"
    failure = result.outlines.index(
        "waiver for score / slice lang:de expired on 2020-01-31: new tokenizer "
        "(renew or remove it)"
    )
    assert " runcompare gate score[lang:de] " in result.outlines[failure - 1]
    verdict = result.outlines[failure + 1]
    assert verdict.startswith("score[lang:de]: 0.71436 -> 0.51452")
    assert "non-inferiority margin 0.15: FAIL" in verdict
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_expired_waiver_of_a_passing_gate_fails_too(pytester: pytest.Pytester) -> None:
    # A forgotten waiver is noticed even when the change it excused is gone.
    _repo(
        pytester,
        "  - metric: score\n    reason: retrained\n    expires: 2020-01-31\n",
        candidate=make_records(noise=0.001),
    )
    result = pytester.runpytest("-rA", "-vv")
    assert outcomes_by_nodeid(result)["runcompare.yaml::score"] == "FAILED"
    assert (
        "waiver for score expired on 2020-01-31: retrained (renew or remove it)"
        in result.outlines
    )


def test_waiver_that_matches_nothing_warns(pytester: pytest.Pytester) -> None:
    _repo(
        pytester,
        "  - metric: score\n"
        "    slice: lang:de\n"
        "    reason: new tokenizer\n"
        "  - metric: bleu\n"
        '    reason: "bleu was dropped in #99"\n'
        "  - ids: [q-9998, q-9999]\n"
        "    reason: relabelled gold answers\n",
    )
    result = pytester.runpytest("-rA", "-vv")
    assert result.ret == pytest.ExitCode.OK
    section = summary_section(result)
    assert (
        "runcompare.yaml:12: waiver for bleu matches nothing: bleu was dropped in #99"
        in section
    )
    assert (
        "runcompare.yaml:14: waiver for 2 datapoint(s) matches nothing: "
        "relabelled gold answers"
    ) in section
    assert not any("waiver for score" in line for line in section)


def _with_broken_ids(ids: list[int]) -> list[dict]:
    records = make_records(noise=0.001)
    for i in ids:
        records[i]["metrics"]["score"] -= 0.5
        records[i]["output"] = "a new answer"
    return records


BROKEN = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
IDS = "[" + ", ".join(f"q-{i:04d}" for i in BROKEN) + "]"


def test_waived_ids_are_left_out_of_the_test(pytester: pytest.Pytester) -> None:
    # Ten relabelled datapoints drop by 0.5: without them nothing changed.
    gates = GATES.replace("margin: 0.15", "margin: 0.01")
    make_repo(
        pytester,
        make_records(),
        _with_broken_ids(BROKEN),
        gates + f"  - ids: {IDS}\n    reason: relabelled gold answers\n",
    )
    result = pytester.runpytest("-rA", "--junitxml=junit.xml")
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::score": "PASSED",
        "runcompare.yaml::score[lang:de]": "PASSED",
    }
    text = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert '<property name="runcompare_n_paired" value="190" />' in text
    assert '<property name="runcompare_n_paired" value="90" />' in text
    # Without the waiver, the same runs fail.
    (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")
    again = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(again) == {
        "runcompare.yaml::score": "FAILED",
        "runcompare.yaml::score[lang:de]": "FAILED",
    }


def test_expired_ids_waiver_says_it_expired(pytester: pytest.Pytester) -> None:
    gates = GATES.replace("margin: 0.15", "margin: 0.01")
    make_repo(
        pytester,
        make_records(),
        _with_broken_ids(BROKEN),
        gates
        + f"  - ids: {IDS}\n    reason: relabelled gold\n    expires: 2020-01-31\n",
    )
    result = pytester.runpytest("-rA", "-vv")
    assert outcomes_by_nodeid(result)["runcompare.yaml::score"] == "FAILED"
    assert "expired on 2020-01-31: relabelled gold" in result.stdout.str()


def test_invalid_expiry_date_is_a_usage_error_naming_the_line_and_key(
    pytester: pytest.Pytester,
) -> None:
    write_jsonl(pytester.path / "b.jsonl", datapoints(20))
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: b.jsonl\ncandidate: b.jsonl\nmetrics:\n  score: {margin: 0.1}\n"
        "waivers:\n  - metric: score\n    reason: x\n    expires: 2026-02-30\n"
    )
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*runcompare.yaml:8: waivers[[]0[]].expires: invalid date '2026-02-30' (accepted: YYYY-MM-DD)*"
        ]
    )


def test_ids_waiver_scoped_to_a_step_excludes_ids_only_from_that_steps_gates() -> None:
    from pytest_runcompare.config import Waiver
    from pytest_runcompare.judge import Gate

    waiver = Waiver(reason="r", step="retrieve", ids=("q1",))
    assert waiver.excludes_from(Gate(metric="m", step="retrieve", margin=0.1)) == (
        "q1",
    )
    assert waiver.excludes_from(Gate(metric="m", margin=0.1)) == ()
    assert waiver.excludes_from(Gate(metric="m", step="answer", margin=0.1)) == ()
