"""The scripts in benchmarks/ run (small), so that the figures they measure stay real.

The figures themselves are measured by running the scripts at full size; timing
assertions do not belong in the test suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks"


def _run(
    *args: str, env: dict[str, str] | None = None, codes: tuple[int, ...] = (0,)
) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert done.returncode in codes, done.stderr
    return done.stdout


def test_load_compare_benchmark(tmp_path: Path) -> None:
    _run(str(BENCH / "make_runs.py"), "-n", "3000", "--out", str(tmp_path))
    out = _run(
        str(BENCH / "bench_load_compare.py"),
        "--repeat",
        "1",
        env={"RUNCOMPARE_BENCH_DATA": str(tmp_path)},
        codes=(0, 1),  # 1: targets missed, expected at this toy size
    )
    assert "ratio (b)/(a):" in out
    assert "peak memory of (b):" in out


def test_fast_jsonl_benchmark_measures_every_row(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("orjson")
    _run(str(BENCH / "make_runs.py"), "-n", "2000", "--out", str(tmp_path))
    out = _run(
        str(BENCH / "bench_fast_jsonl.py"), "--repeat", "1", "--data", str(tmp_path)
    )
    for row in (
        "json.loads of every line",
        "DuckDB read_json x2 + join",
        "DuckDB read_json x2, every field",
        "ours, engine path",
        "ours, stdlib:",
        "ours, fast extra:",
    ):
        line = next(x for x in out.splitlines() if x.startswith(row))
        assert "not installed" not in line, line
    assert "fast path / DuckDB:" in out
    assert "engine path / DuckDB:" in out


def test_gates_benchmark() -> None:
    out = _run(str(BENCH / "bench_gates.py"), "--n", "20000")
    assert "20 default gates on 20,000 paired datapoints" in out


def test_plugin_overhead_benchmark() -> None:
    out = _run(str(BENCH / "bench_plugin_overhead.py"), "--repeat", "1")
    assert "one-test session" in out


def test_report_benchmark(tmp_path: Path) -> None:
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    out = _run(
        str(BENCH / "bench_report.py"),
        "--n",
        "500",
        "--max-outputs",
        "50",
        "--out",
        str(tmp_path / "r.html"),
    )
    assert "first_paint_ms" in out
