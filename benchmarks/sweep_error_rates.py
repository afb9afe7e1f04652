"""Error rates of a sweep's family (K candidates x gates), by seeded simulation.

Each :class:`SweepCell` draws a baseline and K candidates many times, judges them with
:func:`pytest_runcompare.sweep.judge_sweep` (the path the CLI and the plugin take) and
counts the wrong decisions of the family:

* ``false_fail``: no candidate changed (A/A, regression detection), yet the sweep
  fails (some gate of some candidate fails);
* ``false_pass``: every candidate is worse by exactly the margin, yet some candidate
  passes every gate (under ``require: any`` the sweep passes);
* ``false_best``: the two best candidates are equally good, yet the best is called
  distinguishable from the runner-up.

The target is α + 1 point (as ``benchmarks/error_rates.py``). ``correction: none``
cells show what the Bonferroni step across candidates buys: there the family's rate
exceeds α. ``python benchmarks/sweep_error_rates.py [--sims N] [--only SUBSTRING]``
prints the table; ``tests/judge/test_sweep_error_rates.py`` runs the controlled cells
small.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 0.05
TOLERANCE = 0.01

#: rng -> (baseline records' metric arrays, each candidate's)
Draw = Callable[[np.random.Generator], tuple[dict[str, Any], list[dict[str, Any]]]]


def allowance(sims: int, alpha: float = ALPHA) -> float:
    """Three binomial standard errors above α + TOLERANCE."""
    p = alpha + TOLERANCE
    return p + 3 * math.sqrt(p * (1 - p) / sims)


def _run(columns: dict[str, Any], name: str) -> Any:
    from pytest_runcompare.building import build_run

    n = len(next(iter(columns.values())))
    records = [
        {"id": f"q{i}", "metrics": {k: float(v[i]) for k, v in columns.items()}}
        for i in range(n)
    ]
    definitions = {k: {"higher_is_better": True} for k in columns}
    return build_run(records, {"name": name, "metric_definitions": definitions})


def shifted(n: int, k: int, *, score_shift: float, ok_shift: float) -> Draw:
    """A continuous ``score`` and a binary ``ok`` per datapoint; every candidate moved
    by the shifts (0 = unchanged), each re-drawn around the datapoint's difficulty."""

    def draw(rng: np.random.Generator) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        difficulty = rng.normal(size=n)
        p = stats.norm.cdf(0.6 + difficulty)

        def one(score: float, ok: float) -> dict[str, Any]:
            return {
                "score": difficulty + score + rng.normal(size=n),
                "ok": (rng.random(n) < np.clip(p + ok, 0, 1)).astype(float),
            }

        return one(0.0, 0.0), [one(score_shift, ok_shift) for _ in range(k)]

    return draw


def tied_best(n: int, k: int, *, lead: float) -> Draw:
    """Two candidates equally better than the baseline by ``lead``; the rest at 0."""

    def draw(rng: np.random.Generator) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        difficulty = rng.normal(size=n)

        def one(shift: float) -> dict[str, Any]:
            return {"score": difficulty + shift + rng.normal(size=n)}

        return one(0.0), [one(lead), one(lead)] + [one(0.0) for _ in range(k - 2)]

    return draw


@dataclass(frozen=True)
class SweepCell:
    """One situation: K, n, the gates, what counts as an error, whether it is controlled."""

    name: str
    draw: Draw
    gates: dict[str, Any]
    error: str
    require: str = "all"
    correction: str = "bonferroni"
    #: False for the uncorrected cells, which show the rate without the correction
    controlled: bool = True
    #: run by the test suite (the slower bootstrap-t cells run in the benchmark only)
    quick: bool = True
    #: simulations as a multiple of ``--sims`` (fast cells get more, for a tighter CI)
    scale: int = 1

    def wrong(self, rng: np.random.Generator) -> bool:
        """One simulated sweep: did the family take the wrong decision?"""
        from pytest_runcompare import pipeline
        from pytest_runcompare.config import parse_gates
        from pytest_runcompare.sweep import judge_sweep

        base, cands = self.draw(rng)
        config = parse_gates(
            {
                **self.gates,
                "sweep": {"require": self.require, "correction": self.correction},
            }
        )
        request = pipeline.build_request(config)
        sweep = judge_sweep(
            _run(base, "base"),
            [(f"c{i}", _run(c, f"c{i}")) for i, c in enumerate(cands)],
            request,
        )
        if self.error == "false_fail":
            return not sweep.passed
        if self.error == "false_pass":
            return bool(sweep.passing)
        assert sweep.best is not None
        return sweep.best.distinguishable

    def rate(self, sims: int, seed: int = 0) -> tuple[int, int]:
        """Wrong decisions in ``sims`` seeded sweeps."""
        rng = np.random.default_rng([seed, _crc(self.name)])
        return sum(self.wrong(rng) for _ in range(sims)), sims


def _crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


_RD = {"defaults": {"mode": "regression_detection"}, "metrics": {"score": {}, "ok": {}}}
_NI = {
    "defaults": {"mode": "non_inferiority"},
    "metrics": {"score": {"margin": 0.2}, "ok": {"margin": 0.1}},
}

CELLS = [
    # n >= 500: the skewness-corrected t path, fast enough for the test suite
    SweepCell(
        "a/a K=4 n=500", shifted(500, 4, score_shift=0, ok_shift=0), _RD, "false_fail"
    ),
    SweepCell(
        "at margin K=4 n=500 any",
        shifted(500, 4, score_shift=-0.2, ok_shift=0),
        _NI,
        "false_pass",
        require="any",
    ),
    SweepCell(
        "tied best K=4 n=500",
        tied_best(500, 4, lead=0.3),
        {"defaults": {"mode": "regression_detection"}, "metrics": {"score": {}}},
        "false_best",
        scale=4,
    ),
    # n < 500: the bootstrap-t path (benchmark only: slower)
    SweepCell(
        "a/a K=8 n=100",
        shifted(100, 8, score_shift=0, ok_shift=0),
        _RD,
        "false_fail",
        quick=False,
    ),
    SweepCell(
        "at margin K=8 n=200 any",
        shifted(200, 8, score_shift=-0.2, ok_shift=0),
        _NI,
        "false_pass",
        require="any",
        quick=False,
    ),
    SweepCell(
        "at margin K=4 n=200 all, ok at margin",
        shifted(200, 4, score_shift=0, ok_shift=-0.1),
        _NI,
        "false_pass",
        quick=False,
    ),
    SweepCell(
        "tied best K=10 n=100",
        tied_best(100, 10, lead=0.3),
        {"defaults": {"mode": "regression_detection"}, "metrics": {"score": {}}},
        "false_best",
        quick=False,
    ),
    # without the correction across candidates the family's rate exceeds alpha
    SweepCell(
        "a/a K=8 n=500 uncorrected",
        shifted(500, 8, score_shift=0, ok_shift=0),
        _RD,
        "false_fail",
        correction="none",
        controlled=False,
    ),
    SweepCell(
        "at margin K=8 n=500 any uncorrected",
        shifted(500, 8, score_shift=-0.2, ok_shift=0),
        _NI,
        "false_pass",
        require="any",
        correction="none",
        controlled=False,
    ),
]


def main(argv: list[str] | None = None) -> int:
    """Print the table: cell, error, rate, its 95% Clopper–Pearson interval, target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--only", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'cell':38} {'error':11} {'sims':>5} {'rate':>7}  {'95% CI':>15}  target")
    worst = 0.0
    for cell in CELLS:
        if args.only and args.only not in cell.name:
            continue
        start = time.perf_counter()
        wrong, sims = cell.rate(args.sims * cell.scale, args.seed)
        ci = stats.binomtest(wrong, sims).proportion_ci(method="exact")
        target = f"<= {ALPHA + TOLERANCE:.2f}" if cell.controlled else "(uncorrected)"
        if cell.controlled:
            worst = max(worst, wrong / sims)
        print(
            f"{cell.name:38} {cell.error:11} {sims:5} {wrong / sims:7.3f}  "
            f"[{ci.low:.3f}, {ci.high:.3f}]  {target}  "
            f"({time.perf_counter() - start:.0f} s)"
        )
    print(f"worst controlled cell: {worst:.3f}")
    return 0 if worst <= ALPHA + TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
