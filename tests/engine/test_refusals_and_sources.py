"""What the engine path refuses, and how a user names an engine run.

A test that needs every datapoint (resampling, ranks, quantiles) is refused above the
size where the default test is analytic, with the analytic test to use; replicates
at that size too (their cluster statistics are not computed in the engine yet);
small gates of those kinds are judged in memory and equal the in-memory path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare import pipeline
from pytest_runcompare.config import load_gates_file, parse_gates
from pytest_runcompare.engine import engine_source, open_comparison
from pytest_runcompare.errors import ConfigError

from .engine_data import make_pair

ONE_GATE = """
baseline: {{baseline}}
candidate: {{candidate}}
defaults:
  min_coverage: 0.95
metrics:
  score:
{settings}
"""


def _judge_both(
    tmp: Path, n: int, settings: str, *, groups: int = 0
) -> tuple[Any, Any, Any]:
    text = ONE_GATE.format(settings=settings)
    base, cand, gates = make_pair(tmp, n, groups=groups, gates_text=text)
    config = load_gates_file(gates)
    request = pipeline.build_request(config)
    comparison = pipeline.compare(
        pipeline.load(str(base)), pipeline.load(str(cand)), config
    )
    memory = pipeline.judge(comparison, request)
    view = open_comparison(
        engine_source(str(base), {}), engine_source(str(cand), {}), config
    )
    return view, pipeline.judge_engine(view, request), memory


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ("    margin: 0.01\n    test: bootstrap-t", "use test: t"),
        ("    margin: 0.01\n    test: wilcoxon", "use test: t"),
        ("    margin: 0.01\n    aggregate: p95", "use aggregate: mean with test: auto"),
    ],
)
def test_a_test_that_needs_every_datapoint_is_refused_at_large_n(
    tmp_path: Path, settings: str, named: str
) -> None:
    view, judged, _ = _judge_both(tmp_path, 3000, settings)
    result = judged.results[0]  # score, or p95(score)
    assert str(result.status) == "error"
    assert "needs every datapoint" in result.verdict.reason
    assert named in result.verdict.reason
    assert "n = 2969" in result.verdict.reason
    # the whole run and its two large warn-only slices are refused; the slices of
    # 333 and 7 datapoints are judged in memory
    assert view.paths == {"statistics": 0, "in memory": 2, "refused": 3}


def test_the_same_test_on_a_small_run_is_judged_in_memory_exactly(
    tmp_path: Path,
) -> None:
    view, judged, memory = _judge_both(
        tmp_path, 300, "    margin: 0.01\n    test: bootstrap-t"
    )
    mine, theirs = judged.result("score").verdict, memory.result("score").verdict
    assert view.paths == {"statistics": 0, "in memory": 5, "refused": 0}  # + 4 slices
    assert mine.test == theirs.test == "bootstrap-t"
    assert mine.p_value == theirs.p_value
    assert (mine.ci_low, mine.ci_high) == (theirs.ci_low, theirs.ci_high)


def test_replicates_of_a_small_run_are_judged_in_memory_exactly(tmp_path: Path) -> None:
    view, judged, memory = _judge_both(tmp_path, 300, "    margin: 0.02", groups=3)
    mine, theirs = judged.result("score").verdict, memory.result("score").verdict
    assert view.paths == {"statistics": 0, "in memory": 5, "refused": 0}  # + 4 slices
    assert mine.n_units == theirs.n_units == 100  # clusters, not rows
    assert mine.p_value == theirs.p_value
    assert mine.test == theirs.test


def test_replicates_at_large_n_are_refused_naming_the_in_memory_path(
    tmp_path: Path,
) -> None:
    _, judged, _ = _judge_both(tmp_path, 3000, "    margin: 0.02", groups=3)
    reason = judged.result("score").verdict.reason
    assert "replicates (datapoint groups)" in reason
    assert "judge it in memory (without an engine)" in reason


def _config(text: str) -> Any:
    import yaml

    return parse_gates(yaml.safe_load(text))


def test_an_engine_run_location_in_the_gates_file() -> None:
    config = _config(
        "baseline: {engine: duckdb, path: 'runs/base/*.parquet', memory_limit: 4GB}\n"
        "candidate: {engine: spark, table: evals.runs, where: \"run_id = 'abc'\"}\n"
    )
    assert config.baseline.options == {"engine": "duckdb", "memory_limit": "4GB"}
    assert config.baseline.location.endswith("runs/base/*.parquet")
    assert config.candidate.location == "evals.runs"
    assert config.candidate.options["where"] == "run_id = 'abc'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "baseline: {engine: polars, path: a}",
            r"baseline\.engine: 'polars' is not an engine",
        ),
        (
            "baseline: {engine: spark}",
            r"baseline: an engine run needs exactly one of 'path'",
        ),
        ("baseline: {engine: spark, path: a, table: t}", r"exactly one of 'path'"),
        (
            "baseline: {engine: duckdb, path: a, wher: x}",
            r"unknown engine option\(s\) 'wher'",
        ),
        (
            "baseline: {engine: duckdb, path: a, where: 3}",
            r"baseline\.where: must be a string",
        ),
        (
            "baseline: {engine: duckdb, path: a, format: xls}",
            r"'xls' is not an engine format",
        ),
    ],
)
def test_bad_engine_locations_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(text)


def test_runcompare_compare_engine_on_the_command_line(pair: dict[str, Any]) -> None:
    out = pair["tmp"] / "cli.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_runcompare.cli",
            "compare",
            "--engine",
            "duckdb",
            "--config",
            str(pair["gates"]),
            str(pair["base_parquet"]),
            str(pair["cand_parquet"]),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    # solved regressed (regression detection) and sum(cost) fails closed
    assert done.returncode == 1, done.stderr
    assert "engine duckdb: 28 gates judged from sufficient statistics, 7 in memory" in (
        done.stdout
    )
    import json

    report = json.loads(out.read_text())
    assert report["engine"]["paths"] == {"statistics": 28, "in memory": 7, "refused": 0}
    assert [g["key"] for g in report["judgement"]["gates"]][:3] == [
        "correct",
        "correct[big]",
        "correct[mid]",
    ]
    assert len(report["changed"]["score"]) == 20
