"""Recording the candidate inside the session with ``runcompare_recorder``."""

from __future__ import annotations

import json
import os
import stat

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


def _header(pytester: pytest.Pytester) -> dict:
    recorded = pytester.path / ".runcompare" / "candidate.jsonl"
    return json.loads(recorded.read_text().splitlines()[0])["run"]


def test_recorded_lineage_never_takes_the_resampling_seed(
    pytester: pytest.Pytester,
) -> None:
    _repo(pytester)
    result = pytester.runpytest("-q", "-p", "no:randomly", "--runcompare-seed", "7")
    result.assert_outcomes(passed=201)
    header = _header(pytester)
    assert header["name"] == "recorded candidate"
    assert "seed" not in header
    assert "params" not in header


DESCRIBED = """
import pytest

@pytest.fixture(scope="session", autouse=True)
def model(runcompare_recorder):
    runcompare_recorder.describe(name="qa-model (temp 0)", params={"t": 0.0}, seed=3)
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")])
def test_the_recorder_describes_the_model(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    _repo(pytester)
    pytester.makeconftest(DESCRIBED)
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly", *workers)
    result.assert_outcomes(passed=201)
    header = _header(pytester)
    assert header["name"] == "qa-model (temp 0)"
    assert header["params"] == {"t": 0.0}
    assert header["seed"] == 3


def test_ini_keys_describe_the_recorded_model(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    pytester.makeini(
        "[pytest]\n"
        "runcompare_record_name = nightly qa\n"
        "runcompare_record_params = {model: small, layers: 4}\n"
        "runcompare_record_seed = 11\n"
    )
    result = pytester.runpytest("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=201)
    header = _header(pytester)
    assert header["name"] == "nightly qa"
    assert header["params"] == {"model": "small", "layers": 4}
    assert header["seed"] == 11


def test_a_bad_recorder_seed_is_named(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    pytester.makeini("[pytest]\nruncompare_record_seed = -1\n")
    result = pytester.runpytest("-q", "-p", "no:randomly")
    result.stdout.fnmatch_lines(
        [
            "*runcompare_recorder (ini key runcompare_record_seed): expected the "
            "model's seed, a non-negative integer, got -1*"
        ]
    )
    assert result.ret != 0


def test_the_recorded_run_gets_the_umask_permissions(
    pytester: pytest.Pytester,
) -> None:
    _repo(pytester)
    old = os.umask(0o022)
    try:
        pytester.runpytest("-q", "-p", "no:randomly").assert_outcomes(passed=201)
    finally:
        os.umask(old)
    recorded = pytester.path / ".runcompare" / "candidate.jsonl"
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o644
