"""Paired bootstrap of the mean difference (percentile, BCa), opt-in.

Bootstraps the one-sample array of paired differences rather than the pair of
arrays with ``paired=True``: same result, an order of magnitude cheaper
(docs/statistics.md §3). Never a default at large n.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as st

from pytest_runcompare.stats._validation import (
    as_1d,
    check_alternative,
    check_level,
    check_number,
    check_resamples,
    check_rng,
)
from pytest_runcompare.stats.continuous import MEAN_OF_D, _degenerate
from pytest_runcompare.stats.result import TestResult

METHODS = ("percentile", "bca")


def bca_acceleration_mean(d: np.ndarray) -> float:
    """Closed-form jackknife acceleration of the mean.

    ``a = Σ(d_i − d̄)³ / (6·[Σ(d_i − d̄)²]^{3/2})``: the jackknife formula of
    Efron & Tibshirani (1993, eq. 14.15) evaluated for the mean, whose
    leave-one-out values are ``θ_(·) − θ_(i) = (d_i − d̄)/(n − 1)``; equals
    scipy's jackknife ``_bca_interval`` without the O(n²) loop.
    """
    r = d - d.mean()
    s2 = float(np.dot(r, r))
    return float(np.sum(r**3)) / (6 * s2**1.5) if s2 > 0 else 0.0


def paired_bootstrap(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    method: str = "percentile",
    rng: np.random.Generator,
    n_resamples: int = 9999,
) -> TestResult:
    """Bootstrap interval and test for the mean of paired differences.

    Wraps ``scipy.stats.bootstrap((d,), np.mean, method=...)``. The p-value
    inverts the interval: for the percentile method
    ``(#{θ* ≤ null} + 1)/(B + 1)`` ("greater"); for BCa the same tail
    probability mapped through the BCa correction,
    ``Φ(u − z0)`` with ``u = (z* − z0)/(1 + a(z* − z0))``, ``z* = Φ⁻¹(P*(θ* ≤ null))``
    (Efron & Tibshirani 1993, ch. 14). For left-skewed differences both are
    anti-conservative at small n (docs/statistics.md §3): prefer the default.

    Returns
    -------
    TestResult

    """
    arr = as_1d(d, "d", min_size=2)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    rng = check_rng(rng)
    b = check_resamples(n_resamples)
    if method not in METHODS:
        raise ValueError(
            f"`method` must be one of {', '.join(map(repr, METHODS))}; got {method!r}."
        )
    name = f"paired bootstrap ({'BCa' if method == 'bca' else method})"
    est = float(arr.mean())
    if arr.min() == arr.max():
        return _degenerate(name, MEAN_OF_D, est, null, alternative, level, arr.size)
    res = st.bootstrap(
        (arr,),
        np.mean,
        n_resamples=b,
        confidence_level=level,
        method="BCa" if method == "bca" else "percentile",
        vectorized=True,
        rng=rng,
    )
    dist = np.asarray(res.bootstrap_distribution)
    below = (np.count_nonzero(dist <= null) + 0.5) / (b + 1)
    above = (np.count_nonzero(dist >= null) + 0.5) / (b + 1)
    greater: float
    less: float
    if method == "percentile":
        greater, less = below, above
    else:
        z0 = float(st.norm.ppf(np.count_nonzero(dist < est) / b))
        a = bca_acceleration_mean(arr)

        def corrected(prob: float) -> float:
            zs = float(st.norm.ppf(prob)) - z0
            return float(st.norm.cdf(zs / (1 + a * zs) - z0))

        greater, less = corrected(below), 1 - corrected(1 - above)
    p = {
        "greater": greater,
        "less": less,
        "two-sided": min(1.0, 2 * min(greater, less)),
    }[alternative]
    return TestResult(
        test=name,
        tests_what=MEAN_OF_D,
        estimate=est,
        pvalue=float(min(1.0, max(p, 1 / (b + 1)))),
        null=null,
        alternative=alternative,
        ci_low=float(res.confidence_interval.low),
        ci_high=float(res.confidence_interval.high),
        confidence_level=level,
        se=float(res.standard_error),
        n=arr.size,
        mc_se=math.sqrt(p * (1 - p) / b),
        extra={"n_resamples": b},
    )
