"""Write a baseline and a candidate run of N datapoints × 5 metrics as Parquet parts.

For ``benchmarks/bench_engine.py``: ``id`` (int64), ``metrics.correct`` and
``metrics.solved`` (booleans), ``metrics.score``, ``metrics.quality`` (in [0, 1])
and ``metrics.latency`` (lower is better, declared in ``run.yaml``). The candidate
lacks every 1000th datapoint. Written in parts of 5,000,000 rows, so memory stays
flat, to ``benchmarks/data/engine_<N>/{baseline,candidate}/`` (gitignored)::

    python benchmarks/make_engine_runs.py 1000000 10000000 100000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
PART = 5_000_000
RUN_YAML = "name: {name}\nmetric_definitions:\n  latency: {{higher_is_better: false}}\n"


def write_run(folder: Path, n: int, *, candidate: bool) -> None:
    """One run of ``n`` datapoints in parts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for p, start in enumerate(range(0, n, PART)):
        stop = min(n, start + PART)
        ids = np.arange(start, stop, dtype=np.int64)
        truth = np.random.default_rng(start)  # shared by both runs
        quality = truth.random(ids.size)
        rng = np.random.default_rng(start + (1 if candidate else 2) * 10**12)
        noise = rng.normal(0.0, 0.05, ids.size)
        keep = (ids % 1000 != 7) if candidate else np.ones(ids.size, dtype=bool)
        table = pa.table(
            {
                "id": ids[keep],
                "metrics.correct": (quality + noise > 0.3)[keep],
                "metrics.solved": (quality + rng.normal(0, 0.05, ids.size) > 0.5)[keep],
                "metrics.score": np.clip(quality + noise, 0, 1)[keep],
                "metrics.quality": (quality + rng.normal(0, 0.01, ids.size))[keep],
                "metrics.latency": np.abs(1 + truth.normal(0, 0.2, ids.size) + noise)[
                    keep
                ],
            }
        )
        pq.write_table(table, folder / f"part-{p:04d}.parquet", compression="snappy")
    name = "candidate" if candidate else "baseline"
    (folder / "run.yaml").write_text(RUN_YAML.format(name=name), encoding="utf-8")


def make(n: int) -> Path:
    """The pair's folder for ``n`` datapoints (written once)."""
    root = DATA / f"engine_{n}"
    if not (root / "candidate" / "run.yaml").is_file():
        write_run(root / "baseline", n, candidate=False)
        write_run(root / "candidate", n, candidate=True)
    return root


def main() -> None:
    """Write the pairs named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=lambda s: int(float(s)))
    for n in parser.parse_args().sizes:
        print(make(n))


if __name__ == "__main__":
    main()
