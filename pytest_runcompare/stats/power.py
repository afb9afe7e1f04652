"""Power: minimum detectable effect, required n, chance of passing.

All in terms of the standard error ``se`` of the estimate at the current ``n``
(``se = σ_d/√n`` for a paired mean, ``√((ψ − δ²)/n)`` for paired proportions,
the Bahadur SE for quantiles), so one formula serves every test::

    MDE(n) ≈ (z_{1−α} + z_{1−β})·se        n ≈ (z_{1−α} + z_{1−β})²·σ² / (δ + m)²

(normal-approximation sample size; e.g. Chow, Shao & Wang, *Sample Size
Calculations in Clinical Research*, 2nd ed., §3.1 and §4.2; Connor 1987 for
McNemar; docs/statistics.md §9).
"""

from __future__ import annotations

import math

from scipy import special


def minimum_detectable_effect(
    se: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true difference a one-sided level-α test detects with ``power``.

    NaN when ``se`` is 0 or undefined: zero spread in a sample says nothing about
    what it could detect (docs/statistics.md §4, §9).
    """
    if not (math.isfinite(se) and se > 0):
        return math.nan
    return float((special.ndtri(1 - alpha) + special.ndtri(power)) * se)


def required_n(
    se: float,
    n: int,
    margin: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    delta: float = 0.0,
    two_sided: bool = False,
) -> int | None:
    """Datapoints needed to show non-inferiority with ``margin`` at ``power``.

    Assumes the true difference is ``delta`` (0: the candidate is unchanged) and
    the per-datapoint SD stays ``se·√n``. ``two_sided`` is for equivalence
    (TOST at δ = 0 needs ``z_{1−β/2}``). None when it cannot be computed,
    also when ``se`` is 0 (no spread to extrapolate from).
    """
    if not (math.isfinite(se) and se > 0 and n > 0 and margin + delta > 0):
        return None
    beta = 1 - power
    zb = special.ndtri(1 - beta / 2) if two_sided else special.ndtri(power)
    sigma2 = se * se * n
    return max(
        2,
        math.ceil(
            (special.ndtri(1 - alpha) + zb) ** 2 * sigma2 / (margin + delta) ** 2
        ),
    )


def pass_probability(
    se: float, margin: float, *, alpha: float = 0.05, delta: float = 0.0
) -> float:
    """Chance that a one-sided non-inferiority test passes when the truth is ``delta``.

    ``Φ((δ + m)/se − z_{1−α})`` (normal approximation); NaN when ``se`` is 0
    or undefined.
    """
    if not (math.isfinite(se) and se > 0):
        return math.nan
    return float(special.ndtr((delta + margin) / se - special.ndtri(1 - alpha)))
