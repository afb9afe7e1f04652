"""The engine path judges like the in-memory path: verdicts, p-values, intervals, JSON.

On one generated pair (20,000 datapoints, a boolean metric gated three ways, three
continuous ones, slices of 45 to 10,000 datapoints, missing datapoints both ways),
DuckDB on the JSONL files, DuckDB on the same runs as partitioned Parquet, and Spark
in local mode must give the statuses, outcomes, tests, p-values (relative 1e-9),
intervals and the JSON report's numbers of ``pipeline.judge`` on the loaded runs.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from typing import Any

import pytest

from pytest_runcompare import pipeline
from pytest_runcompare.engine import engine_source, open_comparison

REL = 1e-9


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b)) or abs(a - b) < 1e-15
    return bool(a == b)


def _diff(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two JSON-like values differ beyond rounding (floats: relative 1e-9)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in set(a) & set(b):
            out += _diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{where}[{i}]")
        ]
    return [] if _close(a, b) else [f"{where}: {a!r} != {b!r}"]


def _judge(pair: dict[str, Any], engine: str, parquet: bool = False) -> tuple[Any, Any]:
    base = pair["base_parquet" if parquet else "base"]
    cand = pair["cand_parquet" if parquet else "cand"]
    comparison = open_comparison(
        engine_source(str(base), {"engine": engine}),
        engine_source(str(cand), {"engine": engine}),
        pair["config"],
    )
    return comparison, pipeline.judge_engine(comparison, pair["request"])


def _assert_same(memory: Any, judged: Any) -> None:
    assert [r.key for r in judged.gates] == [r.key for r in memory.gates]
    for mine, theirs in zip(judged.gates, memory.gates, strict=True):
        v, w = mine.verdict, theirs.verdict
        assert (mine.status, v.outcome, v.kind, v.test) == (
            theirs.status,
            w.outcome,
            w.kind,
            w.test,
        ), mine.key
        for name in ("p_value", "ci_low", "ci_high", "estimate", "mde", "bound"):
            assert _close(getattr(v, name), getattr(w, name)), (mine.key, name)
        assert (v.n_units, v.discordant, v.improved_count, v.degraded_count) == (
            w.n_units,
            w.discordant,
            w.improved_count,
            w.degraded_count,
        ), mine.key
    mine_json, theirs_json = judged.to_dict(), memory.to_dict()
    # the one difference by design: the engine reads metrics, not run metadata
    assert mine_json.pop("compatibility")["notes"][0].endswith(
        "engine: run metadata and inputs are not compared (only the datapoints' "
        "metrics are read)"
    )
    theirs_json.pop("compatibility")
    assert _diff(mine_json, theirs_json) == []


def test_duckdb_on_jsonl_equals_the_in_memory_path(pair: dict[str, Any]) -> None:
    comparison, judged = _judge(pair, "duckdb")
    _assert_same(pair["memory"], judged)
    # both paths were used: the whole-run gates from statistics, the 45-datapoint
    # slices in memory
    assert comparison.paths == {"statistics": 28, "in memory": 7, "refused": 0}


def test_duckdb_on_partitioned_parquet_equals_the_in_memory_path(
    pair: dict[str, Any],
) -> None:
    comparison, judged = _judge(pair, "duckdb", parquet=True)
    _assert_same(pair["memory"], judged)
    assert comparison.paths["statistics"] == 28


def test_the_numbers_really_come_from_the_statistics(pair: dict[str, Any]) -> None:
    # the largest gates differ from the in-memory numbers by rounding only, not
    # bit for bit: they were computed from sums, not from the arrays
    _, judged = _judge(pair, "duckdb")
    memory = {r.key: r.verdict for r in pair["memory"].gates}
    score = next(r.verdict for r in judged.gates if r.key == "score")
    assert score.test == "paired t + skewness-corrected t (conservative)"
    assert score.n_units == pair["memory"].result("score").verdict.n_units == 19793
    assert score.p_value == pytest.approx(memory["score"].p_value, rel=REL)


def test_top_changed_datapoints_are_the_largest_changes(pair: dict[str, Any]) -> None:
    comparison, _ = _judge(pair, "duckdb")
    top = comparison.changed["score"]
    assert len(top) == 20
    sizes = [abs(c.candidate - c.baseline) for c in top]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > 0.2


def _java() -> bool:
    if shutil.which("java") is None:
        return False
    return subprocess.run(["java", "-version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _java(), reason="Spark needs Java: no working `java` on PATH")
def test_spark_local_mode_equals_the_in_memory_path(pair: dict[str, Any]) -> None:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    comparison, judged = _judge(pair, "spark", parquet=True)
    _assert_same(pair["memory"], judged)
    assert comparison.paths == {"statistics": 28, "in memory": 7, "refused": 0}


def test_duckdb_reads_the_parquet_run_format_save_run_writes(
    pair: dict[str, Any],
) -> None:
    # the run's metadata (directions) is in the file's key-value metadata here,
    # not in a run.yaml beside it
    from pytest_runcompare.writer import save_run

    folder = pair["tmp"] / "saved"
    folder.mkdir(exist_ok=True)
    paths = {}
    for role in ("base", "cand"):
        paths[role] = folder / f"{role}.parquet"
        save_run(pipeline.load(str(pair[role])), paths[role])
    comparison = open_comparison(
        engine_source(str(paths["base"]), {}),
        engine_source(str(paths["cand"]), {}),
        pair["config"],
    )
    assert comparison.directions["latency"] is False
    _assert_same(pair["memory"], pipeline.judge_engine(comparison, pair["request"]))
