"""Difference of run quantiles (median, p95, …) with the analytic Bahadur SE."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as st

from pytest_runcompare.stats._validation import (
    as_1d,
    check_alternative,
    check_level,
    check_number,
)
from pytest_runcompare.stats.result import TestResult

MIN_TAIL = 20


def hall_sheather_bandwidth(n: int, q: float, *, alpha: float = 0.05) -> float:
    """Hall–Sheather (1988) bandwidth for sparsity estimation at quantile ``q``.

    ``h = n^(−1/3) · z_{1−α/2}^(2/3) · [1.5·φ(Φ⁻¹(q))² / (2Φ⁻¹(q)² + 1)]^(1/3)``
    (Hall & Sheather, "On the distribution of a studentized quantile",
    *JRSS-B* 50:381–391, 1988; as used by Koenker's ``quantreg``).
    """
    x = float(st.norm.ppf(q))
    z = float(st.norm.ppf(1 - alpha / 2))
    h: float = (
        n ** (-1 / 3)
        * z ** (2 / 3)
        * (1.5 * st.norm.pdf(x) ** 2 / (2 * x * x + 1)) ** (1 / 3)
    )
    return h


def _quantile_and_sparsity(x: np.ndarray, q: float, h: float) -> tuple[float, float]:
    """Sample quantile and the difference-quotient sparsity ``1/f(Q(q))``."""
    n = x.size
    lo = max(q - h, 0.5 / n)
    hi = min(q + h, 1 - 0.5 / n)
    q_lo, q_mid, q_hi = np.quantile(x, [lo, q, hi])
    return float(q_mid), float(q_hi - q_lo) / (hi - lo)


def _quantile_difference_iv(
    candidate: object, baseline: object, q: object
) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate paired samples and the quantile level."""
    c = as_1d(candidate, "candidate", min_size=2)
    b = as_1d(baseline, "baseline", min_size=2)
    if c.size != b.size:
        raise ValueError(
            f"`candidate` and `baseline` must be paired (same length), got "
            f"{c.size} and {b.size}."
        )
    qq = check_number(q, "q")
    if not 0 < qq < 1:
        raise ValueError(f"`q` must be in (0, 1), got {q!r}.")
    return c, b, qq


def quantile_difference(
    candidate: object,
    baseline: object,
    *,
    q: float,
    higher_is_better: bool = True,
    baseline_weight: float = 1.0,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Test the difference of run-level quantiles with the Bahadur standard error.

    The estimand is ``θ = Q_c(q) − w·Q_b(q)`` (negated when lower is better, so
    positive = candidate better); ``w = 1`` for an absolute margin, ``1 − r``
    (``1 + r`` lower-is-better) for a relative margin ``r``. By the Bahadur
    representation of sample quantiles, with sparsities ``s = 1/f(Q(q))``::

        Var ≈ [q(1−q)·(s_c² + w²·s_b²) − 2w·(P(C ≤ Q_c, B ≤ Q_b) − q²)·s_c·s_b] / n

    (Bahadur, "A note on quantiles in large samples", *Ann Math Stat*
    37:577–580, 1966). Sparsities are difference quotients with the Hall–Sheather
    bandwidth (:func:`hall_sheather_bandwidth`); the joint term is the empirical
    fraction of pairs below both quantiles. Normal reference distribution.
    This is *not* the quantile of the differences (docs/statistics.md §3).

    When fewer than 20 observations lie beyond the quantile
    (``n·min(q, 1−q) < 20``) the normal approximation is not trusted and the
    result carries ``inconclusive``.

    Returns
    -------
    TestResult

    """
    c, b, q = _quantile_difference_iv(candidate, baseline, q)
    w = check_number(baseline_weight, "baseline_weight")
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    n = c.size
    h = hall_sheather_bandwidth(n, q)
    qc, sc = _quantile_and_sparsity(c, q, h)
    qb, sb = _quantile_and_sparsity(b, q, h)
    joint = float(np.count_nonzero((c <= qc) & (b <= qb))) / n
    var = (
        q * (1 - q) * (sc * sc + w * w * sb * sb) - 2 * w * (joint - q * q) * sc * sb
    ) / n
    se = math.sqrt(max(var, 0.0))
    sign = 1.0 if higher_is_better else -1.0
    est = sign * (qc - w * qb)
    tail = n * min(q, 1 - q)
    inconclusive = None
    if tail < MIN_TAIL:
        inconclusive = (
            f"not enough tail data: {n} datapoints leave {tail:.0f} beyond the "
            f"{_pct(q)} quantile, at least {MIN_TAIL} are needed "
            f"(n ≥ {math.ceil(MIN_TAIL / min(q, 1 - q))})"
        )
    if se > 0:
        z = (est - null) / se
        p = {
            "greater": float(st.norm.sf(z)),
            "less": float(st.norm.cdf(z)),
            "two-sided": float(min(1.0, 2 * st.norm.sf(abs(z)))),
        }[alternative]
        half = float(st.norm.ppf((1 + level) / 2)) * se
    else:
        z = math.nan
        above, below = est > null, est < null
        p = {
            "greater": not above,
            "less": not below,
            "two-sided": not (above or below),
        }[alternative] * 1.0
        half = 0.0
    return TestResult(
        test="difference of quantiles (Bahadur SE)",
        tests_what=f"difference of the runs' {_pct(q)} quantiles",
        estimate=est,
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=est - half,
        ci_high=est + half,
        confidence_level=level,
        se=se,
        n=n,
        statistic=z,
        inconclusive=inconclusive,
        extra={"baseline_quantile": qb, "candidate_quantile": qc, "bandwidth": h},
    )


def _pct(q: float) -> str:
    """Name a quantile level: 0.5 -> 'median', 0.95 -> 'p95'."""
    return "median" if q == 0.5 else f"p{100 * q:g}"
