"""Rates defined as a ratio of sums (errors/requests, tokens/second)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as st

from pytest_runcompare.stats._validation import (
    InsufficientData,
    as_1d,
    check_alternative,
    check_level,
    check_number,
    check_resamples,
    check_rng,
)
from pytest_runcompare.stats.result import TestResult

WHAT = "difference of ratio-of-sums rates"


def _ratio_iv(
    arrays: tuple[object, object, object, object],
) -> tuple[np.ndarray, ...]:
    """Validate four aligned arrays (num_c, den_c, num_b, den_b)."""
    names = ("num_candidate", "den_candidate", "num_baseline", "den_baseline")
    out = tuple(
        as_1d(a, name, min_size=2) for a, name in zip(arrays, names, strict=True)
    )
    if len({a.size for a in out}) != 1:
        raise ValueError("rate arrays must be paired: all four need the same length.")
    if out[1].sum() == 0 or out[3].sum() == 0:
        raise InsufficientData("a rate's denominator sums to zero.")
    return out


def ratio_difference(
    num_candidate: object,
    den_candidate: object,
    num_baseline: object,
    den_baseline: object,
    *,
    higher_is_better: bool = True,
    baseline_weight: float = 1.0,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Delta-method test of ``R_c − w·R_b`` for rates ``R = ΣY / ΣX``, paired.

    Uses the per-datapoint influence values
    ``(Y_c,i − R_c·X_c,i)/X̄_c − w·(Y_b,i − R_b·X_b,i)/X̄_b``, whose standard
    deviation over √n is the standard error (delta method / linearisation;
    e.g. Deng, Knoblich & Lu, "Applying the Delta Method in Metric Analytics",
    KDD 2018; docs/statistics.md §3). Negated when lower is better.

    Returns
    -------
    TestResult

    """
    yc, xc, yb, xb = _ratio_iv(
        (num_candidate, den_candidate, num_baseline, den_baseline)
    )
    w = check_number(baseline_weight, "baseline_weight")
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    n = yc.size
    rc, rb = yc.sum() / xc.sum(), yb.sum() / xb.sum()
    infl = (yc - rc * xc) / xc.mean() - w * (yb - rb * xb) / xb.mean()
    sign = 1.0 if higher_is_better else -1.0
    est = sign * float(rc - w * rb)
    se = float(infl.std(ddof=1)) / math.sqrt(n)
    if se > 0:
        z = (est - null) / se
        p = {
            "greater": st.norm.sf(z),
            "less": st.norm.cdf(z),
            "two-sided": min(1.0, 2 * st.norm.sf(abs(z))),
        }[alternative]
        half = float(st.norm.ppf((1 + level) / 2)) * se
    else:
        z, half = math.nan, 0.0
        p = 0.0 if (est > null if alternative == "greater" else est < null) else 1.0
    return TestResult(
        test="delta method",
        tests_what=WHAT,
        estimate=est,
        pvalue=float(p),
        null=null,
        alternative=alternative,
        ci_low=est - half,
        ci_high=est + half,
        confidence_level=level,
        se=se,
        n=n,
        statistic=z,
        extra={"baseline_rate": float(rb), "candidate_rate": float(rc)},
    )


def ratio_bootstrap(
    num_candidate: object,
    den_candidate: object,
    num_baseline: object,
    den_baseline: object,
    *,
    higher_is_better: bool = True,
    baseline_weight: float = 1.0,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    rng: np.random.Generator,
    n_resamples: int = 9999,
) -> TestResult:
    """Paired percentile bootstrap of ``R_c − w·R_b`` (for small n).

    Resamples datapoints, recomputes both rates on the same resample, and reads
    the interval from the percentiles of the difference (Efron & Tibshirani
    1993, ch. 13; Koehn, EMNLP 2004, for the paired form). The p-value inverts
    the percentile interval: ``(#{θ* ≤ null} + 1)/(B + 1)`` for "greater".

    Returns
    -------
    TestResult

    """
    yc, xc, yb, xb = _ratio_iv(
        (num_candidate, den_candidate, num_baseline, den_baseline)
    )
    w = check_number(baseline_weight, "baseline_weight")
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    rng = check_rng(rng)
    b = check_resamples(n_resamples)
    n = yc.size
    sign = 1.0 if higher_is_better else -1.0
    est = sign * float(yc.sum() / xc.sum() - w * yb.sum() / xb.sum())
    stack = np.stack([yc, xc, yb, xb])
    theta = np.empty(b)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, b, chunk):
        stop = min(b, start + chunk)
        counts = np.stack(
            [
                np.bincount(row, minlength=n)
                for row in rng.integers(0, n, (stop - start, n))
            ]
        )
        sums = counts @ stack.T  # (chunk, 4)
        with np.errstate(divide="ignore", invalid="ignore"):
            theta[start:stop] = sign * (
                sums[:, 0] / sums[:, 1] - w * sums[:, 2] / sums[:, 3]
            )
    theta = theta[np.isfinite(theta)]
    kept = theta.size
    tail = (1 - level) / 2
    lo, hi = np.quantile(theta, [tail, 1 - tail])
    greater = (np.count_nonzero(theta <= null) + 1) / (kept + 1)
    less = (np.count_nonzero(theta >= null) + 1) / (kept + 1)
    p = {
        "greater": greater,
        "less": less,
        "two-sided": min(1.0, 2 * min(greater, less)),
    }[alternative]
    return TestResult(
        test="paired bootstrap (percentile)",
        tests_what=WHAT,
        estimate=est,
        pvalue=float(p),
        null=null,
        alternative=alternative,
        ci_low=float(lo),
        ci_high=float(hi),
        confidence_level=level,
        se=float(theta.std(ddof=1)),
        n=n,
        mc_se=math.sqrt(p * (1 - p) / kept),
        extra={"n_resamples": kept},
    )
