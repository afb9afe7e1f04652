"""The engine path's cost: time and peak memory of judging N × 5 metrics as Parquet.

For each size (default 10⁶, 10⁷, 10⁸ datapoints; the pairs come from
``make_engine_runs.py``) a fresh subprocess opens DuckDB on the two partitioned
runs, judges five gates (two binary metrics: Tango and McNemar; three continuous:
paired t + skewness-corrected t, one lower-is-better) through
``pipeline.judge_engine`` and prints the wall time and its peak RSS
(``resource.getrusage``). ``--spark N`` also judges one size in Spark local mode
(the JVM's memory is not in that figure: it is a separate process)::

    python benchmarks/bench_engine.py                      # 1e6 1e7 1e8, DuckDB
    python benchmarks/bench_engine.py 1e6 1e7 --spark 1e7  # and Spark at 10⁷
    python benchmarks/bench_engine.py 1e8 --memory-limit 4GB
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

GATES = """
defaults:
  min_coverage: 0.99
metrics:
  correct: {margin: 0.01}
  solved: {mode: regression_detection}
  score: {margin: 1%}
  quality: {margin: 0.002}
  latency: {direction: lower, margin: 0.01}
"""


def one(n: int, engine: str, memory_limit: str | None) -> dict[str, object]:
    """Judge the pair of ``n`` datapoints in this process; time and peak RSS."""
    import yaml
    from make_engine_runs import make

    from pytest_runcompare import pipeline
    from pytest_runcompare.config import parse_gates
    from pytest_runcompare.engine import engine_source, open_comparison

    root = make(n)
    config = parse_gates(yaml.safe_load(GATES))
    request = pipeline.build_request(config)
    options = {"engine": engine}
    if memory_limit and engine == "duckdb":
        options["memory_limit"] = memory_limit
    start = time.perf_counter()
    view = open_comparison(
        engine_source(str(root / "baseline"), options),
        engine_source(str(root / "candidate"), options),
        config,
    )
    judgement = pipeline.judge_engine(view, request)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    return {
        "n": n,
        "engine": engine,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak),
        "paths": view.paths,
        "statuses": {r.key: str(r.status) for r in judgement.gates},
    }


def _child(n: int, engine: str, memory_limit: str | None) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--one", str(n), "--engine", engine]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Run each size in its own process and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=lambda s: int(float(s)))
    parser.add_argument("--spark", type=lambda s: int(float(s)), default=None)
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="duckdb", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.engine, args.memory_limit)))
        return
    runs = [(n, "duckdb") for n in (args.sizes or [10**6, 10**7, 10**8])]
    if args.spark:
        runs.append((args.spark, "spark"))
    for n, engine in runs:
        r = _child(n, engine, args.memory_limit)
        print(
            f"{engine:7s} n = {n:>11,} x 5 metrics: {r['seconds']:8.1f} s, "
            f"peak RSS {r['peak_rss_mib']:>6,} MiB, gates {r['paths']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
