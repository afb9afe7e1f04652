"""Time loading and comparing the benchmark pair as Parquet against the same pair as JSONL.

Run ``python benchmarks/make_runs.py --format parquet`` first, then::

    python benchmarks/bench_parquet.py [--repeat 3]

Both sides do what ``bench_load_compare.py`` (b) does: ``load_run`` x2 +
``compare_runs`` + touching ``metric_deltas`` and ``slice_deltas``. The two
alternate, so that a busy machine slows both alike; the best of ``--repeat`` runs
of each is kept, and the load alone is printed beside the total. Target (issue 15):
the Parquet pair takes <= 0.5x the JSONL pair's time.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load_compare import load_and_compare

DATA = Path(os.environ.get("RUNCOMPARE_BENCH_DATA", Path(__file__).parent / "data"))
JSONL = (DATA / "baseline.jsonl", DATA / "candidate.jsonl")
PARQUET = (DATA / "baseline.parquet", DATA / "candidate.parquet")


def load_only(paths: tuple[Path, ...]) -> int:
    """``load_run`` of both runs, nothing else."""
    from pytest_runcompare import load_run

    return sum(len(load_run(p)) for p in paths)


def _timed(fn, paths: tuple[Path, ...]) -> float:  # type: ignore[no-untyped-def]
    gc.collect()
    start = time.perf_counter()
    fn(paths)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    missing = [str(p) for p in JSONL + PARQUET if not p.exists()]
    if missing:
        print(
            f"missing {missing}: run benchmarks/make_runs.py --format parquet first",
            file=sys.stderr,
        )
        return 2
    for paths in (JSONL, PARQUET):
        size = sum(p.stat().st_size for p in paths)
        print(f"{paths[0].suffix} pair: {size / 1e6:.1f} MB")

    import pyarrow.parquet  # noqa: F401 (imports warmed: loading is measured)

    import pytest_runcompare.comparison
    import pytest_runcompare.loaders.registry

    pytest_runcompare.loaders.registry.default_plugin_manager()

    best = {"jsonl": float("inf"), "parquet": float("inf")}
    loads = dict(best)
    for _ in range(args.repeat):
        for name, paths in (("jsonl", JSONL), ("parquet", PARQUET)):
            best[name] = min(best[name], _timed(load_and_compare, paths))
            loads[name] = min(loads[name], _timed(load_only, paths))
    for name in best:
        print(
            f"{name}: load_run x2 + compare_runs + deltas {best[name]:.2f} s "
            f"(load_run x2 alone {loads[name]:.2f} s)"
        )
    ratio = best["parquet"] / best["jsonl"]
    print(
        f"ratio parquet/jsonl: {ratio:.2f} (target <= 0.5; "
        f"load alone {loads['parquet'] / loads['jsonl']:.2f})"
    )
    ok = ratio <= 0.5
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
