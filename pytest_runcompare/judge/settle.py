"""How many paired datapoints would settle an INCONCLUSIVE gate at the observed change.

The one place this figure is computed; every face reads it from the verdict.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from pytest_runcompare.judge.spec import Mode
from pytest_runcompare.judge.verdict import Evidence, Outcome, Settle

__all__ = ["Settle", "settle"]

#: Power at which "would settle it" is computed.
POWER = 0.8


def settle(e: Evidence, outcome: Outcome) -> Settle | None:
    """The sample size that settles an INCONCLUSIVE gate, or None where it means nothing.

    The interval must clear the margin: at the observed change δ̂ and the standard
    error ``se`` implied by the interval,
    ``n ≈ n_now · ((z_{1−α} + z_{0.8}) · se / |δ̂ + m|)²``, toward PASS when
    δ̂ > −m and toward FAIL when δ̂ < −m (docs/statistics.md §9).
    """
    if outcome is not Outcome.INCONCLUSIVE or e.margin is None or e.inconclusive_reason:
        return None
    if e.zero_spread:  # no spread to extrapolate from: the figure would mislead (§4)
        return None
    if e.gate.mode is Mode.REGRESSION_DETECTION and e.margin == 0:
        return None
    n = e.n_paired or e.n_units
    if not (n and math.isfinite(e.ci_low) and math.isfinite(e.ci_high)):
        return None
    normal = NormalDist()
    z = normal.inv_cdf(1 - e.gate.alpha)
    se = (e.ci_high - e.ci_low) / (2 * z)
    gap = e.estimate + e.margin
    if se <= 0 or not math.isfinite(gap) or gap == 0:
        return Settle(None, None, n)
    need = math.ceil(n * ((z + normal.inv_cdf(POWER)) * se / abs(gap)) ** 2)
    return Settle(need, Outcome.PASS if gap > 0 else Outcome.FAIL, n)
