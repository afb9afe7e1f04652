"""Error rates of the gates' default paths, by seeded simulation through the gate's path.

Each :class:`Cell` simulates one situation (a metric kind, n, margin, replicates) many
times and counts how often the gate takes the wrong decision:

* ``false_pass``: the candidate is worse by exactly the margin (the boundary of the
  non-inferiority null), yet the gate PASSES; the target is at most α + 1 point;
* ``false_fail``: nothing changed (A/A, regression detection, margin 0), yet the gate
  FAILS; the target is at most α + 1 point.

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
