"""Write two native ``.jsonl`` runs (baseline and candidate) for the load/compare benchmark.

Each run has N datapoints (default 1,000,000) with five metrics (two booleans, three
floats), an output string and a few slice tags; the candidate differs from the
baseline in some outputs and metric values, lacks a few baseline datapoints and has
a few new ones. Files go to ``benchmarks/data/`` (gitignored)::

    python benchmarks/make_runs.py            # 1,000,000 datapoints
    python benchmarks/make_runs.py -n 100000  # smaller
    python benchmarks/make_runs.py --format parquet  # also baseline/candidate.parquet

``--format parquet`` writes the same runs (from the ``.jsonl`` files, written first
when missing) as Parquet files with ``save_run``; it needs pyarrow.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DATA = Path(__file__).parent / "data"
LANGS = ("en", "de", "fr", "ja", "es")
LENGTHS = ("short", "medium", "long")


def _header(name: str) -> dict[str, object]:
    return {
        "run": {
            "name": name,
            "params": {"model": name, "temperature": 0.0},
            "data_version": "bench-v1",
            "seed": 0,
            "metric_definitions": {
                "loss": {"higher_is_better": False},
                "latency_s": {"higher_is_better": False},
            },
        }
    }


def write_run(path: Path, n: int, *, candidate: bool, seed: int) -> int:
    """Write one run; returns the number of datapoints written."""
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write(dumps(_header("candidate" if candidate else "baseline")) + "\n")
        lines = []
        # The candidate drops every 1000th baseline datapoint and adds 500 new ones.
        ids = range(n + 500) if candidate else range(n)
        for k in ids:
            if candidate and k < n and k % 1000 == 7:
                continue
            base = random.Random(k)  # per-datapoint "truth" shared by both runs
            quality = base.random()
            drift = rng.gauss(0.0, 0.05) if candidate else 0.0
            correct = (quality + drift) > 0.3
            record = {
                "id": f"q{k:07d}",
                "output": f"answer {k % 9973} {'yes' if correct else 'no'}",
                "metrics": {
                    "exact_match": correct,
                    "passed": (quality + drift) > 0.5,
                    "f1": round(min(1.0, max(0.0, quality + drift)), 4),
                    "loss": round(abs(1.0 - quality - drift) * 2.0, 4),
                    "latency_s": round(0.2 + base.random() + abs(drift), 4),
                },
                "slices": [f"lang:{LANGS[k % 5]}", f"len:{LENGTHS[k % 3]}"],
            }
            lines.append(dumps(record))
            count += 1
            if len(lines) >= 10_000:
                handle.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            handle.write("\n".join(lines) + "\n")
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="datapoints per run")
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, candidate, seed in (("baseline", False, 1), ("candidate", True, 2)):
        path = args.out / f"{name}.jsonl"
        if args.format == "jsonl" or not path.exists():
            count = write_run(path, args.n, candidate=candidate, seed=seed)
            size = path.stat().st_size / 1e6
            print(f"{path}: {count:,} datapoints, {size:.1f} MB")
        if args.format == "parquet":
            from pytest_runcompare import load_run, save_run

            run = load_run(path)
            target = save_run(run, path.with_suffix(".parquet"))
            size = target.stat().st_size / 1e6
            print(f"{target}: {len(run):,} datapoints, {size:.1f} MB")


if __name__ == "__main__":
    main()
