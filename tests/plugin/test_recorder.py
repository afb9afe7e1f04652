"""Recording the candidate inside the session with ``runcompare_recorder``."""

from __future__ import annotations

import json

import pytest
from helpers import datapoints, write_jsonl

GATES = """\
baseline: baseline.jsonl
metrics:
  exact_match:
    margin: 0.1
"""

EVAL = """
import pytest

DATA = [(f"q{i}", i % 5 != 0) for i in range(200)]

@pytest.mark.parametrize(("qid", "right"), DATA)
def test_answer(qid, right, runcompare_recorder):
    runcompare_recorder.record(qid, output="yes" if right else "no",
                               metrics={"exact_match": right}, slices=["all"])
"""


def _repo(pytester: pytest.Pytester, *, baseline: bool = True) -> pytest.Pytester:
    if baseline:
        write_jsonl(
            pytester.path / "baseline.jsonl", datapoints(200), {"name": "baseline"}
        )
    (pytester.path / "runcompare.yaml").write_text(GATES)
    # The gates file sorts first: the gates must still run after the recording tests.
    pytester.makepyfile(test_zeval=EVAL)
    return pytester


def test_recorded_run_is_the_candidate(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    result = pytester.runpytest("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=201)
    recorded = pytester.path / ".runcompare" / "candidate.jsonl"
    lines = recorded.read_text().splitlines()
    header = json.loads(lines[0])["run"]
    assert header["name"] == "recorded candidate"
    assert "environment" in header
    assert len(lines) == 201
    assert json.loads(lines[1])["id"] == "q0"


def test_record_path_option(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    result = pytester.runpytest("-q", "--runcompare-record", "out/cand.jsonl")
    result.assert_outcomes(passed=201)
    assert (pytester.path / "out" / "cand.jsonl").exists()


def test_missing_baseline_fails_every_gate_with_how_to(
    pytester: pytest.Pytester,
) -> None:
    _repo(pytester, baseline=False)
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=200, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no baseline at *baseline.jsonl: run the session once with --runcompare-update-baseline to create it*"
        ]
    )
    assert not (pytester.path / "baseline.jsonl").exists()


def test_update_baseline_creates_it(pytester: pytest.Pytester) -> None:
    _repo(pytester, baseline=False)
    result = pytester.runpytest("-q", "--runcompare-update-baseline")
    result.assert_outcomes(passed=200, skipped=1)
    assert result.ret == 0
    created = (pytester.path / "baseline.jsonl").read_text().splitlines()
    assert len(created) == 201
    # The next session compares against it and passes.
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=201)


def test_duplicate_recorded_id_is_an_error(pytester: pytest.Pytester) -> None:
    write_jsonl(pytester.path / "baseline.jsonl", datapoints(3))
    (pytester.path / "runcompare.yaml").write_text(GATES)
    pytester.makepyfile(
        test_rec="""
        def test_twice(runcompare_recorder):
            runcompare_recorder.record("q1", metrics={"exact_match": True})
            runcompare_recorder.record("q1", metrics={"exact_match": True})
        """
    )
    result = pytester.runpytest("-q")
    result.stdout.fnmatch_lines(
        ["*runcompare_recorder: datapoint 'q1': field 'id': recorded twice*"]
    )


def test_recorded_bad_metric_fails_at_its_source(pytester: pytest.Pytester) -> None:
    write_jsonl(pytester.path / "baseline.jsonl", datapoints(3))
    (pytester.path / "runcompare.yaml").write_text(GATES)
    pytester.makepyfile(
        test_rec="""
        def test_bad(runcompare_recorder):
            runcompare_recorder.record("q1", metrics={"exact_match": "yes"})
        """
    )
    result = pytester.runpytest("-q")
    result.stdout.fnmatch_lines(
        [
            "*datapoint 'q1': field 'metrics.exact_match': metric value must be a number or a boolean, got str 'yes'*"
        ]
    )
