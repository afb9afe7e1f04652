"""benchmarks/bench_diff.py runs (small), so that the figures it measures stay real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "bench_diff.py"


def test_bench_diff_prints_a_row_per_shape_and_the_report_time():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--scale", "0.02", "--outputs", "5"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["shape", "chars", "seconds", "level"]
    rows = lines[2:-1]
    assert len(rows) == 8
    assert rows[0].startswith("issue: 'a ' * n vs 'a ' * (n-1) + 'b '")
    assert all(row.split()[-1] in {"word", "line", "whole"} for row in rows)
    assert lines[-1].startswith("a report of 5 outputs of the slowest shape: ")
