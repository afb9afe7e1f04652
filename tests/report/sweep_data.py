"""Sweeps built with the real core for the sweep report's tests: a grid of candidates.

Each candidate perturbs the baseline's datapoints by an amount its params decide
(seeded), so that some pass every gate and some fail, deterministically.
"""

from __future__ import annotations

import random
from typing import Any

from pytest_runcompare import pipeline
from pytest_runcompare.building import build_run
from pytest_runcompare.config import parse_gates
from pytest_runcompare.runs import Run
from pytest_runcompare.sweep import SweepJudgement, judge_sweep

HOSTILE_LABEL = "<img src=x onerror=window.__pwned=5>"
#: A param name only the hostile candidate has: an axis (with the others at n/a).
HOSTILE_PARAM = "<svg onload=window.__pwned=6>"
DEFINITIONS = {
    "accuracy": {"higher_is_better": True, "kind": "binary"},
    "f1": {"higher_is_better": True},
    "latency_s": {"higher_is_better": False},
}
GATES = {
    "defaults": {"alpha": 0.05, "mode": "non_inferiority"},
    "metrics": {
        "accuracy": {"margin": 0.05},
        "f1": {"margin": 0.05},
        "latency_s": {"margin": "20%"},
    },
}
#: The grid: a learning rate over four decades, a depth, an optimizer.
LRS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
DEPTHS = (2, 4, 8, 16)
OPTIMIZERS = ("adam", "sgd", "<b>lion</b>")


def _records(n: int, *, shift: float, noise: float, seed: int) -> list[dict[str, Any]]:
    """``n`` datapoints; ``shift`` moves accuracy and f1 (negative: worse)."""
    base = random.Random(1)
    rng = random.Random(seed)
    out = []
    for k in range(n):
        p = base.random()
        f1 = base.uniform(0.4, 0.95)
        lat = base.gauss(1.0, 0.1)
        correct = p < 0.8 + shift + rng.uniform(-noise, noise)
        out.append(
            {
                "id": f"q{k:04d}",
                "output": "yes" if correct else "no",
                "metrics": {
                    "accuracy": correct,
                    "f1": round(
                        min(1.0, max(0.0, f1 + shift + rng.gauss(0, noise))), 4
                    ),
                    "latency_s": round(lat * (1 + rng.gauss(0, noise / 4)), 4),
                },
            }
        )
    return out


def make_run(name: str, params: dict[str, Any], records: list[dict[str, Any]]) -> Run:
    return build_run(
        records,
        {
            "name": name,
            "params": params,
            "code_version": {"commit": "abc123"},
            "data_version": "qa-v3",
            "metric_definitions": DEFINITIONS,
        },
    )


def grid(k: int) -> list[dict[str, Any]]:
    """The first ``k`` points of the grid (repeated with a seed beyond its size)."""
    points = [
        {"lr": lr, "depth": d, "optimizer": o}
        for o in OPTIMIZERS
        for d in DEPTHS
        for lr in LRS
    ]
    out = []
    for i in range(k):
        p = dict(points[i % len(points)])
        if i >= len(points):
            p["seed"] = i // len(points)
        out.append(p)
    return out


def _shift(params: dict[str, Any]) -> float:
    """How much better (+) or worse (-) a grid point is: lr near 1e-2 is best."""
    import math

    lr = math.log10(params["lr"])
    return 0.04 - 0.03 * abs(lr + 2) + (0.01 if params["optimizer"] == "adam" else 0.0)


def make_sweep(
    k: int = 6, *, n: int = 200, hostile: bool = False
) -> tuple[SweepJudgement, Run, list[tuple[str, Run]]]:
    """A baseline and ``k`` candidates of the grid, judged as one sweep."""
    baseline = make_run(
        "baseline lr=1e-3",
        {"lr": 1e-3, "depth": 4, "optimizer": "adam"},
        _records(n, shift=0.0, noise=0.0, seed=0),
    )
    candidates = []
    for i, params in enumerate(grid(k)):
        label = f"cand-{i:02d}"
        if hostile and i == 1:
            label = HOSTILE_LABEL
        if hostile and i == 1:
            params = {**params, HOSTILE_PARAM: 3}
        run = make_run(
            f"run {label}",
            params,
            _records(n, shift=_shift(params), noise=0.03, seed=100 + i),
        )
        candidates.append((label, run))
    config = parse_gates(GATES)
    request = pipeline.build_request(config)
    return judge_sweep(baseline, candidates, request), baseline, candidates
