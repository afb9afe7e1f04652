"""Fail-closed and clear-error behaviour found in review, in real sessions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from repo import datapoints, write_jsonl

SHARED = Path(__file__).parents[2].parent / "shared" / "fixtures" / "real"


def test_update_refuses_to_rewrite_another_tools_file(
    pytester: pytest.Pytester,
) -> None:
    source = SHARED / "promptfoo_nicheIQ" / "results.json"
    if not source.exists():
        pytest.skip("../shared is absent")
    shutil.copy(source, pytester.path / "results.json")
    before = (pytester.path / "results.json").read_bytes()
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: {path: results.json, format: promptfoo, column: 0}\n"
        "candidate: {path: results.json, format: promptfoo, column: 1}\n"
        "defaults: {mode: regression_detection, compatibility: warn}\n"
        "metrics:\n  score: {}\n"
    )
    result = pytester.runpytest("-q", "--runcompare-update-baseline")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*refusing to update the baseline: the baseline is read from another tool's file*"
        ]
    )
    assert (pytester.path / "results.json").read_bytes() == before


def test_invalid_date_in_a_waiver_names_the_key(pytester: pytest.Pytester) -> None:
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


def test_negative_seed_in_the_gates_file(pytester: pytest.Pytester) -> None:
    write_jsonl(pytester.path / "b.jsonl", datapoints(20))
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: b.jsonl\ncandidate: b.jsonl\nseed: -1\nmetrics:\n  score: {margin: 0.1}\n"
    )
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*runcompare.yaml:3: seed: must be a non-negative integer, got -1*"]
    )


def test_slices_all_without_slices_says_so(pytester: pytest.Pytester) -> None:
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


def test_id_waiver_scoped_to_a_step_leaves_other_gates_alone(
    pytester: pytest.Pytester,
) -> None:
    from pytest_runcompare.config import Waiver
    from pytest_runcompare.gates import Gate

    waiver = Waiver(reason="r", step="retrieve", ids=("q1",))
    assert waiver.excludes_from(Gate(metric="m", step="retrieve", margin=0.1)) == (
        "q1",
    )
    assert waiver.excludes_from(Gate(metric="m", margin=0.1)) == ()
    assert waiver.excludes_from(Gate(metric="m", step="answer", margin=0.1)) == ()
