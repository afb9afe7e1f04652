"""Error rates of the gates' default paths, by seeded simulation through the gate's path.

Each :class:`Cell` simulates one situation (a metric kind, n, margin, replicates) many
times and counts how often the gate takes the wrong decision:

* ``false_pass``: the candidate is worse by exactly the margin (the boundary of the
  non-inferiority null), yet the gate PASSES; the target is at most α + 1 point;
* ``false_fail``: nothing changed (A/A, regression detection, margin 0), yet the gate
  FAILS; the target is at most α + 1 point;
* ``silent_false_pass``: a ``false_pass`` whose verdict does not carry the warning
  that n is too small to protect against rare tail regressions (docs/statistics.md
  §10): where the data cannot protect, the gate must at least say so.

``python benchmarks/error_rates.py [--sims N] [--only SUBSTRING]`` prints the table with
Clopper–Pearson 95% intervals; ``tests/stats/test_error_rates.py`` runs every cell
small and asserts the target with a binomial allowance. Add a situation by appending a
:class:`Cell` to :data:`CELLS`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from pytest_runcompare.comparison import PairedMetric
from pytest_runcompare.judge import Gate, Outcome, evaluate_gate

ALPHA = 0.05
#: The target: the observed rate may exceed α by at most this much.
TOLERANCE = 0.01

Sample = tuple[np.ndarray, np.ndarray, np.ndarray | None]
#: rng -> (baseline values, candidate values, cluster codes or None)
Simulator = Callable[[np.random.Generator], Sample]


class Paired:
    """Just enough of a comparison for :func:`evaluate_gate`: one paired metric."""

    def __init__(self, sample: Sample, *, boolean: bool, higher_is_better: bool):
        base, cand, clusters = sample
        self.pm = PairedMetric.from_arrays(
            "m",
            base,
            cand,
            boolean=boolean,
            higher_is_better=higher_is_better,
            clusters=None if clusters is None else np.asarray(clusters, dtype=np.intp),
        )
        self.n_common = self.pm.n

    def paired(self, metric, *, slice=None, step=None):
        return self.pm


@dataclass(frozen=True)
class Cell:
    """One simulated situation and the error it measures."""

    name: str
    gate: Gate
    simulate: Simulator
    error: str  # "false_pass" or "false_fail"
    boolean: bool = False
    higher_is_better: bool = True

    def wrong(self, rng: np.random.Generator) -> bool:
        """One simulated session: whether the gate decided wrongly."""
        data = Paired(
            self.simulate(rng),
            boolean=self.boolean,
            higher_is_better=self.higher_is_better,
        )
        verdict = evaluate_gate(data, self.gate)
        if self.error == "false_pass":
            return verdict.outcome is Outcome.PASS
        if self.error == "silent_false_pass":
            return verdict.outcome is Outcome.PASS and not any(
                "rare tail regressions" in w for w in verdict.warnings
            )
        return verdict.outcome is Outcome.FAIL

    def rate(self, sims: int, seed: int = 0) -> tuple[int, int]:
        """Wrong decisions out of ``sims`` seeded sessions."""
        rng = np.random.default_rng([seed, _crc(self.name)])
        return sum(self.wrong(rng) for _ in range(sims)), sims


def _crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def allowance(sims: int, alpha: float = ALPHA) -> float:
    """The largest rate a test may observe in ``sims`` runs when the true rate is
    α + TOLERANCE: three binomial standard errors above it."""
    p = alpha + TOLERANCE
    return p + 3 * math.sqrt(p * (1 - p) / sims)


# --------------------------------------------------------------------- simulators
def binary_pairs(n: int, p_base: float, delta: float, rho: float = 0.5) -> Simulator:
    """Paired 0/1 outcomes: baseline rate ``p_base``, candidate ``p_base + delta``,
    with positive dependence ``rho`` between the two (a fraction of shared draws)."""

    def draw(rng: np.random.Generator) -> Sample:
        p_cand = p_base + delta
        shared = rng.random(n) < rho
        u = rng.random(n)
        base = (u < p_base).astype(float)
        cand = np.where(shared, (u < p_cand), rng.random(n) < p_cand).astype(float)
        return base, cand, None

    return draw


def normal_pairs(n: int, shift: float, sd: float = 1.0) -> Simulator:
    """Continuous pairs: candidate = baseline + shift + N(0, sd)."""

    def draw(rng: np.random.Generator) -> Sample:
        base = rng.normal(0.0, 1.0, n)
        return base, base + shift + rng.normal(0.0, sd, n), None

    return draw


def _cluster_codes(rng: np.random.Generator, groups: int) -> np.ndarray:
    """Cluster codes of ``groups`` clusters of 3 to 5 replicates each."""
    return np.repeat(np.arange(groups), rng.integers(3, 6, groups))


def binary_replicates(groups: int, margin: float, share: float = 0.2) -> Simulator:
    """0/1 replicates of ``groups`` items that rarely disagree, at the margin.

    Each item has a success rate ``p ~ U(0.5, 1)``; both runs share each replicate's
    uniform draw, so they agree unless the item regressed. A share ``share`` of the
    items regressed by ``margin/share`` (candidate rate ``p − margin/share``), so the
    expected difference is exactly ``−margin`` and it sits in a few items: the
    replicates of one item are correlated.
    """

    def draw(rng: np.random.Generator) -> Sample:
        codes = _cluster_codes(rng, groups)
        p = rng.uniform(0.5, 1.0, groups)
        drop = np.where(rng.random(groups) < share, margin / share, 0.0)
        u = rng.random(codes.size)
        base = (u < p[codes]).astype(float)
        cand = (u < (p - drop)[codes]).astype(float)
        return base, cand, codes

    return draw


def skewed_replicates(
    groups: int, margin: float, *, rare: float = 0.05, drop: float = 3.0
) -> Simulator:
    """Continuous replicates whose item effects are left-skewed, at the margin.

    A share ``rare`` of the items is worse by ``drop``; the others are slightly
    better, so the mean item effect is exactly ``−margin``; each replicate adds
    N(0, 0.5) noise.
    """
    lift = (drop * rare - margin) / (1 - rare)

    def draw(rng: np.random.Generator) -> Sample:
        codes = _cluster_codes(rng, groups)
        effect = np.where(rng.random(groups) < rare, -drop, lift)
        base = rng.normal(0.0, 1.0, codes.size)
        cand = base + effect[codes] + rng.normal(0.0, 0.5, codes.size)
        return base, cand, codes

    return draw


def quantile_replicates(
    groups: int, margin: float, *, q: float = 0.95, change: float = 0.5
) -> Simulator:
    """Replicates of items with a level ``N(0, 1)`` and ``N(0, 0.3)`` noise per row.

    The candidate changes each item's level by ``N(0, change)`` (shared by the
    item's replicates, which is what makes them correlated in the quantile's
    influence values) and shifts it down so that the difference of the runs'
    population ``q`` quantiles is exactly ``−margin``.
    """
    z = float(stats.norm.ppf(q))
    shift = margin + z * (math.sqrt(1 + change**2 + 0.09) - math.sqrt(1.09))

    def draw(rng: np.random.Generator) -> Sample:
        codes = _cluster_codes(rng, groups)
        level = rng.normal(0.0, 1.0, groups)
        new = level + rng.normal(0.0, change, groups) - shift
        base = level[codes] + rng.normal(0.0, 0.3, codes.size)
        cand = new[codes] + rng.normal(0.0, 0.3, codes.size)
        return base, cand, codes

    return draw


def left_skewed_pairs(n: int, margin: float, *, rare: float = 0.1) -> Simulator:
    """Continuous pairs: a share ``rare`` of datapoints 2 worse, the rest slightly
    better, N(0, 0.3) noise; the mean difference is exactly ``−margin``."""
    lift = (2.0 * rare - margin) / (1 - rare)

    def draw(rng: np.random.Generator) -> Sample:
        base = rng.normal(0.0, 1.0, n)
        effect = np.where(rng.random(n) < rare, -2.0, lift)
        return base, base + effect + rng.normal(0.0, 0.3, n), None

    return draw


def judge_scores(
    n: int, margin: float, *, at_one: float = 0.45, at_zero: float = 0.35
) -> Simulator:
    """Judge-style scores in [0, 1]: mass ``at_one`` at 1, ``at_zero`` at 0, the rest
    uniform. The candidate re-scores 30% of the datapoints from the same marginal
    (noise) and turns each 1 into a 0 with probability ``margin / at_one``: a
    regression of exactly ``margin`` carried by a few datapoints (§10)."""
    flip = margin / at_one

    def marginal(rng: np.random.Generator, size: int) -> np.ndarray:
        u = rng.random(size)
        return np.where(
            u < at_one, 1.0, np.where(u < at_one + at_zero, 0.0, rng.random(size))
        )

    def draw(rng: np.random.Generator) -> Sample:
        base = marginal(rng, n)
        cand = np.where(rng.random(n) < 0.7, base, marginal(rng, n))
        cand = np.where((cand == 1.0) & (rng.random(n) < flip), 0.0, cand)
        return base, cand, None

    return draw


#: Binary cells: (baseline rate, higher is better, absolute margin, relative margin).
#: The 0.02 rate is an error rate (lower is better): the candidate's rate rises.
BINARY_RATES = (
    (0.5, True, 0.05, 0.05),
    (0.9, True, 0.05, 0.05),
    (0.98, True, 0.02, 0.02),
    (0.02, False, 0.01, 0.2),
)

CELLS: list[Cell] = [
    Cell(
        "continuous, absolute margin, n=50, at the margin",
        Gate("m", margin=0.1, higher_is_better=True),
        normal_pairs(50, -0.1, 0.5),
        "false_pass",
    ),
    Cell(
        "continuous A/A, regression detection, n=50",
        Gate("m", mode="regression_detection", higher_is_better=True),
        normal_pairs(50, 0.0, 0.5),
        "false_fail",
    ),
    Cell(
        "binary p=0.9, absolute margin 0.05, n=200, at the margin",
        Gate("m", margin=0.05, higher_is_better=True),
        binary_pairs(200, 0.9, -0.05),
        "false_pass",
        boolean=True,
    ),
    *(
        Cell(
            f"binary with replicates (3-5 per item), margin 0.05, {g} clusters, "
            "at the margin",
            Gate("m", margin=0.05, higher_is_better=True),
            binary_replicates(g, 0.05),
            "false_pass",
            boolean=True,
        )
        for g in (20, 50, 200)
    ),
    Cell(
        "binary with replicates A/A, regression detection, 50 clusters",
        Gate("m", mode="regression_detection", higher_is_better=True),
        binary_replicates(50, 0.0),
        "false_fail",
        boolean=True,
    ),
    *(
        Cell(
            f"continuous skewed with replicates, margin 0.1, {g} clusters, "
            "at the margin",
            Gate("m", margin=0.1, higher_is_better=True),
            skewed_replicates(g, 0.1),
            "false_pass",
        )
        for g in (150, 500)
    ),
    Cell(
        "p95 with replicates, margin 0.1, 150 clusters, at the margin",
        Gate("m", aggregate="p95", margin=0.1, higher_is_better=True),
        quantile_replicates(150, 0.1),
        "false_pass",
    ),
    *(
        Cell(
            f"judge-style scores in [0, 1] (45% at 1, 35% at 0), margin {m}, n={n}, "
            "at the margin",
            Gate("m", margin=m, higher_is_better=True),
            judge_scores(n, m),
            "false_pass",
        )
        for n, m in ((20, 0.1), (50, 0.05), (100, 0.05))
    ),
    Cell(
        "judge-style scores in [0, 1] A/A, regression detection, n=50",
        Gate("m", mode="regression_detection", higher_is_better=True),
        judge_scores(50, 0.0),
        "false_fail",
    ),
    Cell(
        "left-skewed differences, margin 0.1, n=30, silent pass at the margin",
        Gate("m", margin=0.1, higher_is_better=True),
        left_skewed_pairs(30, 0.1),
        "silent_false_pass",
    ),
    *(
        Cell(
            f"binary p={p}, {kind} margin {m}, n={n}, at the margin",
            Gate("m", margin=m, higher_is_better=hib),
            binary_pairs(n, p, d),
            "false_pass",
            boolean=True,
            higher_is_better=hib,
        )
        for p, hib, abs_m, rel_m in BINARY_RATES
        for kind, m, d in (
            ("absolute", abs_m, (-1 if hib else 1) * abs_m),
            ("relative", f"{rel_m:.0%}", (-1 if hib else 1) * rel_m * p),
        )
        for n in (20, 50, 200)
    ),
    *(
        Cell(
            f"binary A/A p={p}, regression detection, n={n}",
            Gate("m", mode="regression_detection", higher_is_better=True),
            binary_pairs(n, p, 0.0),
            "false_fail",
            boolean=True,
        )
        for p in (0.5, 0.9)
        for n in (50, 200)
    ),
    *(
        Cell(
            f"binary p=0.9, regression detection, margin 0.05, n={n}, at the margin",
            Gate("m", mode="regression_detection", margin=0.05, higher_is_better=True),
            binary_pairs(n, 0.9, -0.05),
            "false_fail",
            boolean=True,
        )
        for n in (50, 200)
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    width = max(len(c.name) for c in CELLS)
    print(f"{'cell':<{width}}  error       rate    95% CI            target  ok")
    worst = True
    for cell in CELLS:
        if args.only not in cell.name:
            continue
        t = time.perf_counter()
        k, n = cell.rate(args.sims)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        ok = k / n <= ALPHA + TOLERANCE or ci.low <= ALPHA + TOLERANCE
        worst = worst and ok
        print(
            f"{cell.name:<{width}}  {cell.error:<10}  {k / n:6.3f}  "
            f"[{ci.low:.3f}, {ci.high:.3f}]  ≤{ALPHA + TOLERANCE:.2f}   "
            f"{'yes' if ok else 'NO'}  ({time.perf_counter() - t:.1f} s)"
        )
    return 0 if worst else 1


if __name__ == "__main__":
    sys.exit(main())
