"""Generated run pairs for the engine tests: native JSONL folders and Parquet files.

Several metrics (a boolean, a 0/1-free score, a lower-is-better latency), slices of
different sizes (small ones go in memory), datapoints missing from the candidate,
and candidate-only datapoints; ``groups=True`` adds replicates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

GATES = """
baseline: {baseline}
candidate: {candidate}
defaults:
  alpha: 0.05
  min_coverage: 0.95
metrics:
  correct:              # binary, absolute margin: Tango
    margin: 0.03
    slices: all
  solved:               # binary, regression detection at margin 0: McNemar
    mode: regression_detection
  hit:                  # binary, relative margin: paired score test of the ratio
    margin: 5%
    missing: drop
  score:                # continuous, relative margin: t + skewness-corrected t
    margin: 2%
    slices: [big, tiny]
  quality:              # continuous, explicit t, equivalence
    test: t
    mode: equivalence
    margin: 0.02
  latency:              # lower is better, absolute margin, missing: worst
    direction: lower
    margin: 0.05
    missing: worst
  cost:                 # a sum over the same datapoints
    direction: lower
    aggregate: sum
    margin: 200
    missing: drop
    min_coverage: 0.9
"""


def records(
    n: int, seed: int, *, candidate: bool, groups: int = 0
) -> list[dict[str, Any]]:
    """One run's datapoints; the candidate lacks every 97th and adds 30 new ones.

    ``groups``: replicates, ``groups`` consecutive datapoints per group.
    """
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(7)
    quality = truth.random(n)
    noise = rng.normal(0.0, 0.08, n)
    skew = -rng.exponential(0.05, n) * (rng.random(n) < 0.05) if candidate else 0.0
    score = np.clip(quality + noise + skew, 0.0, 1.0)
    correct = (quality + rng.normal(0, 0.1, n)) > 0.35
    latency = np.abs(truth.normal(1.0, 0.2, n) + rng.normal(0, 0.05, n))
    solved = (quality + rng.normal(0, 0.03, n)) > 0.5
    hit = (quality + rng.normal(0, 0.05, n)) > 0.2
    quality_s = quality + rng.normal(0, 0.01, n)
    cost = latency * 3 + rng.exponential(0.1, n)
    out: list[dict[str, Any]] = []
    for k in range(n):
        if candidate and k % 97 == 5:
            continue
        tags = ["big"] if k % 2 == 0 else ["other"]
        if k % 450 == 0:
            tags.append("tiny")
        if k % 9 == 0:
            tags.append("mid")
        record: dict[str, Any] = {
            "id": f"d{k:06d}",
            "metrics": {
                "correct": bool(correct[k]),
                "solved": bool(solved[k]),
                "hit": bool(hit[k]),
                "score": round(float(score[k]), 6),
                "quality": round(float(quality_s[k]), 6),
                "latency": round(float(latency[k]), 6),
                "cost": round(float(cost[k]), 4),
            },
            "slices": tags,
        }
        if groups:
            record["group"] = f"g{k // groups}"
        out.append(record)
    if candidate:
        for k in range(n, n + 30):
            out.append(
                {
                    "id": f"d{k:06d}",
                    "metrics": {"correct": True, "score": 0.5, "latency": 1.0},
                }
            )
    return out


def write_jsonl(folder: Path, recs: list[dict[str, Any]], name: str) -> Path:
    """A native run folder: ``datapoints.jsonl`` and ``run.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.yaml").write_text(
        f"name: {name}\nmetric_definitions:\n  latency: {{higher_is_better: false}}\n"
        "  cost: {higher_is_better: false}\n",
        encoding="utf-8",
    )
    with (folder / "datapoints.jsonl").open("w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r) + "\n")
    return folder


def make_pair(
    tmp: Path, n: int, *, groups: int = 0, gates_text: str = GATES
) -> tuple[Path, Path, Path]:
    """Baseline and candidate folders and a gates file naming them."""
    base_recs = records(n, 1, candidate=False, groups=groups)
    cand_recs = records(n, 2, candidate=True, groups=groups)
    base = write_jsonl(tmp / "baseline", base_recs, "baseline")
    cand = write_jsonl(tmp / "candidate", cand_recs, "candidate")
    gates = tmp / "runcompare.yaml"
    gates.write_text(gates_text.format(baseline=base, candidate=cand), encoding="utf-8")
    return base, cand, gates


def write_parquet(folder: Path, target: Path, parts: int = 3) -> Path:
    """The JSONL run of ``folder`` as a partitioned Parquet run (``id``,
    ``metrics.<name>`` columns, ``slices``, ``group``) with its ``run.yaml``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in (folder / "datapoints.jsonl").open()]
    names = sorted({m for r in rows for m in r["metrics"]})
    size = -(-len(rows) // parts)
    for p in range(parts):
        chunk = rows[p * size : (p + 1) * size]
        table = {
            "id": pa.array([r["id"] for r in chunk], pa.string()),
            "slices": pa.array(
                [r.get("slices", []) for r in chunk], pa.list_(pa.string())
            ),
            "group": pa.array([r.get("group") for r in chunk], pa.string()),
        }
        for m in names:
            values = [r["metrics"].get(m) for r in chunk]
            kind = (
                pa.bool_()
                if all(isinstance(v, bool) or v is None for v in values)
                else pa.float64()
            )
            table[f"metrics.{m}"] = pa.array(values, kind)
        pq.write_table(pa.table(table), target / f"part-{p}.parquet")
    (target / "run.yaml").write_text(
        (folder / "run.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return target
