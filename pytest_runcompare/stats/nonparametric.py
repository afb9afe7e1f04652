"""Opt-in robust tests of paired differences: Wilcoxon, sign test, permutation.

None of them tests the *mean*: each result says what it does test.
"""

from __future__ import annotations

import math
from typing import Literal

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
from pytest_runcompare.stats.result import TestResult

ZeroMethod = Literal["pratt", "zsplit", "wilcox"]
ZERO_METHODS: tuple[ZeroMethod, ...] = ("pratt", "zsplit", "wilcox")
_WALSH_MAX_N = 2000


def _shifted(
    d: object, null: object, decimals: int
) -> tuple[np.ndarray, float, np.ndarray]:
    """Validate and return ``(d, null, round(d − null))``; rounding restores ties."""
    arr = as_1d(d, "d", min_size=2)
    null = check_number(null, "null")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(
            f"`decimals` must be a non-negative integer, got {decimals!r}."
        )
    return arr, null, np.round(arr - null, decimals)


def _hodges_lehmann(d: np.ndarray, level: float) -> tuple[float, float, float]:
    """Hodges–Lehmann pseudo-median and its Walsh-average interval (normal k)."""
    n = d.size
    if n > _WALSH_MAX_N:
        return float(np.median(d)), math.nan, math.nan
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    m = walsh.size
    z = st.norm.ppf((1 + level) / 2)
    k = math.floor(n * (n + 1) / 4 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24))
    k = min(max(k, 0), m - 1)
    return float(np.median(walsh)), float(walsh[k]), float(walsh[m - 1 - k])


def wilcoxon_test(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    zero_method: str = "pratt",
    decimals: int = 12,
) -> TestResult:
    """Wilcoxon signed-rank test of the pseudo-median of ``d`` against ``null``.

    Wraps ``scipy.stats.wilcoxon(round(d − null), zero_method=..., method=...)``
    (Wilcoxon, "Individual comparisons by ranking methods", *Biometrics
    Bulletin* 1:80–83, 1945). Valid for a location shift only if ``d`` is
    symmetric about its centre; it speaks about the pseudo-median
    (Hodges–Lehmann estimate), not the mean. Differences are rounded to
    ``decimals`` so floating-point noise does not break ties, and ``method`` is
    passed explicitly ("exact" for n ≤ 50 without ties or zeros, else the
    tie-corrected normal approximation) so p-values do not change with scipy's
    ``"auto"`` logic. ``zero_method="pratt"`` keeps unchanged datapoints in the
    ranking instead of silently dropping them. The interval is the Walsh-average
    (Hodges–Lehmann) interval, computed for n ≤ 2000 only.

    Returns
    -------
    TestResult

    """
    arr, null, x = _shifted(d, null, decimals)
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    if zero_method not in ZERO_METHODS:
        raise ValueError(
            f"`zero_method` must be one of {', '.join(map(repr, ZERO_METHODS))}; "
            f"got {zero_method!r}."
        )
    zeros = int(np.count_nonzero(x == 0))
    if zeros == x.size:
        est = float(np.median(arr))
        return TestResult(
            test="Wilcoxon signed-rank",
            tests_what="pseudo-median of paired differences",
            estimate=est,
            pvalue=1.0,
            null=null,
            alternative=alternative,
            ci_low=est,
            ci_high=est,
            confidence_level=level,
            n=arr.size,
            warnings=("every difference equals the null value",),
        )
    ties = np.unique(np.abs(x[x != 0])).size < x.size - zeros
    method: Literal["exact", "approx"] = (
        "exact" if x.size <= 50 and zeros == 0 and not ties else "approx"
    )
    res = st.wilcoxon(
        x, zero_method=zero_method, alternative=alternative, method=method
    )
    est, low, high = _hodges_lehmann(arr, level)
    return TestResult(
        test=f"Wilcoxon signed-rank ({method}, zero_method={zero_method})",
        tests_what="pseudo-median of paired differences",
        estimate=est,
        pvalue=float(res.pvalue),
        null=null,
        alternative=alternative,
        ci_low=low,
        ci_high=high,
        confidence_level=level,
        n=arr.size,
        statistic=float(res.statistic),
        warnings=(f"{zeros} zero differences",) if zeros else (),
        extra={"zeros": zeros},
    )


def sign_test(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    decimals: int = 12,
) -> TestResult:
    """Sign test of the median of ``d`` against ``null``.

    Counts ``k⁺ = #(d − null > 0)`` and ``k⁻ = #(d − null < 0)``, drops exact
    ties and wraps ``scipy.stats.binomtest(k⁺, k⁺ + k⁻, 0.5)``. Exactly valid
    without a symmetry assumption; speaks about the median of the differences
    (not the difference of medians). The interval is the distribution-free
    order-statistic interval for the median (e.g. Conover, *Practical
    Nonparametric Statistics*, 3rd ed., §3.2).

    Returns
    -------
    TestResult

    """
    arr, null, x = _shifted(d, null, decimals)
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    kp = int(np.count_nonzero(x > 0))
    km = int(np.count_nonzero(x < 0))
    n = arr.size
    p = (
        1.0
        if kp + km == 0
        else float(st.binomtest(kp, kp + km, 0.5, alternative=alternative).pvalue)
    )
    srt = np.sort(arr)
    j = int(st.binom.ppf((1 - level) / 2, n, 0.5))
    j = min(max(j - 1, 0), n - 1)
    return TestResult(
        test="sign test",
        tests_what="median of paired differences",
        estimate=float(np.median(arr)),
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=float(srt[j]),
        ci_high=float(srt[n - 1 - j]),
        confidence_level=level,
        n=n,
        statistic=float(kp),
        extra={"positive": kp, "negative": km, "ties": n - kp - km},
    )


def permutation_test(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    rng: np.random.Generator,
    n_resamples: int = 9999,
    decimals: int = 12,
) -> TestResult:
    """Paired sign-flip permutation test of the mean of ``d`` against ``null``.

    Wraps ``scipy.stats.permutation_test((d − null,), mean,
    permutation_type="samples")``, which flips the signs of the one-sample
    data; exact when ``2**n ≤ n_resamples``, else Monte Carlo with
    ``(b + 1)/(B + 1)`` p-values (Phipson & Smyth, *Stat Appl Genet Mol Biol*
    9:39, 2010). H0: ``d − null`` is symmetric about 0 (exchangeable pairs after
    the shift), so it is a test of the centre of a symmetric distribution.
    No interval (NaN).

    Returns
    -------
    TestResult

    """
    arr, null, x = _shifted(d, null, decimals)
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    rng = check_rng(rng)
    b = check_resamples(n_resamples)

    def mean(v: np.ndarray, axis: int = -1) -> np.ndarray:
        out: np.ndarray = np.mean(v, axis=axis)
        return out

    res = st.permutation_test(
        (x,),
        mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=b,
        alternative=alternative,
        rng=rng,
    )
    p = float(res.pvalue)
    exact = 2**arr.size <= b
    return TestResult(
        test="paired permutation (sign-flip)" + (", exact" if exact else ""),
        tests_what="centre of the (symmetric) distribution of paired differences",
        estimate=float(arr.mean()),
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=math.nan,
        ci_high=math.nan,
        confidence_level=level,
        n=arr.size,
        statistic=float(res.statistic) + null,
        mc_se=0.0 if exact else math.sqrt(p * (1 - p) / b),
    )
