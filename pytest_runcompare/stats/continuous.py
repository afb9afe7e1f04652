"""Continuous paired differences: shifted-null paired t, bootstrap-t, Welch.

All functions take the oriented differences ``d`` (positive = candidate better),
or for Welch the oriented samples, and a null value ``null`` = δ0: a
non-inferiority test with margin ``m`` uses ``null=-m, alternative="greater"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import special
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
from pytest_runcompare.stats.clusters import cluster_robust_se
from pytest_runcompare.stats.result import Alternative, TestResult

MEAN_OF_D = "mean of paired differences"

#: Fewest differences :func:`bootstrap_t` resamples. Below it a large share of the
#: resamples repeat a few values, their SD is near 0 and ``t*`` explodes, so the
#: interval can reach far beyond the metric's range (docs/statistics.md §3).
BOOTSTRAP_T_MIN_N = 10


def _paired_t_iv(
    d: object, null: object, alternative: object, confidence_level: object
) -> tuple[np.ndarray, float, Alternative, float]:
    """Validate the arguments of :func:`paired_t`."""
    return (
        as_1d(d, "d", min_size=2),
        check_number(null, "null"),
        check_alternative(alternative),
        check_level(confidence_level),
    )


def _pvalue(stat: float, df: float, alternative: str) -> float:
    """p-value of a t (or normal when ``df`` is inf) statistic."""

    # scipy.special directly: freezing ``st.t(df)`` costs a millisecond per call
    def cdf(x: float) -> float:
        return float(special.ndtr(x) if math.isinf(df) else special.stdtr(df, x))

    if alternative == "greater":
        return cdf(-stat)
    if alternative == "less":
        return cdf(stat)
    return float(min(1.0, 2 * cdf(-abs(stat))))


def _t_quantile(q: float, df: float) -> float:
    """Student's t quantile (``scipy.stats.t.ppf`` without its per-call overhead)."""
    return float(special.ndtri(q) if math.isinf(df) else special.stdtrit(df, q))


def _degenerate(
    name: str,
    what: str,
    est: float,
    null: float,
    alternative: str,
    level: float,
    n: int,
) -> TestResult:
    """Result for zero-variance data: the estimate is known exactly."""
    above, below = est > null, est < null
    p = {
        "greater": 0.0 if above else 1.0,
        "less": 0.0 if below else 1.0,
        "two-sided": 0.0 if (above or below) else 1.0,
    }[alternative]
    return TestResult(
        test=name,
        tests_what=what,
        estimate=est,
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=est,
        ci_high=est,
        confidence_level=level,
        se=0.0,
        n=n,
        warnings=("all paired differences are identical (zero variance)",),
    )


@dataclass(frozen=True, slots=True)
class Moments:
    """Sufficient statistics of a sample for the t-tests: ``n``, mean, central sums.

    ``m2 = Σ(d − d̄)²`` and ``m3 = Σ(d − d̄)³`` (sums, not averages); ``constant``
    says every value is identical (the degenerate-data rule, §4, needs it exactly,
    not from a rounded ``m2``).
    """

    n: int
    mean: float
    m2: float
    m3: float
    constant: bool

    @classmethod
    def of(cls, d: np.ndarray) -> Moments:
        """The moments of the 1-d float array ``d`` (two passes: no cancellation)."""
        est = float(d.mean())
        r = d - est
        r2 = r * r
        return cls(
            n=int(d.size),
            mean=est,
            m2=float(r2.sum()),
            m3=float(np.dot(r2, r)),
            constant=bool(d.min() == d.max()),
        )


def _moments_iv(moments: object) -> Moments:
    """Validate the :class:`Moments` of a moment-based test."""
    if not isinstance(moments, Moments):
        raise TypeError(f"`moments` must be a Moments, got {type(moments).__name__}.")
    if moments.n < 2:
        raise InsufficientData(f"`d` needs at least 2 observation(s), got {moments.n}.")
    return moments


def paired_t(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    clusters: object | None = None,
) -> TestResult:
    """Paired t-test of the mean difference against a shifted null.

    Tests ``H0: E[d] = null``; with ``null = -m`` and ``alternative="greater"``
    this is the non-inferiority test with margin ``m``, identical to the lower
    half of a paired TOST (Schuirmann 1987; statsmodels ``ttost_paired``).
    Wraps ``scipy.stats.ttest_1samp(d, popmean=null)`` (``ttest_rel`` has no
    shift argument).

    Parameters
    ----------
    d : array_like
        Oriented paired differences (or the linear combination
        ``cand − (1 − r)·base`` for a relative margin).
    null : float
        δ0, the null value of the mean difference.
    alternative : {"greater", "less", "two-sided"}
        Direction of H1 relative to ``null``.
    confidence_level : float
        Level of the two-sided interval ``[ci_low, ci_high]``; 0.90 gives the
        one-sided 95% bounds used by a gate at α = 0.05.
    clusters : array_like, optional
        Cluster code per observation (replicates of one datapoint share a
        code). When given, the standard error is cluster-robust
        (:func:`~pytest_runcompare.stats.clusters.cluster_robust_se`) with
        ``G − 1`` degrees of freedom.

    Returns
    -------
    TestResult

    """
    d, null, alternative, level = _paired_t_iv(d, null, alternative, confidence_level)
    if clusters is None:
        return paired_t_from_moments(
            Moments.of(d), null=null, alternative=alternative, confidence_level=level
        )
    est = float(d.mean())
    se, g = cluster_robust_se(d, clusters)
    if g < 2:
        raise InsufficientData(
            "`clusters` must contain at least two clusters (all the rows are "
            "replicates of one group)."
        )
    name = f"paired t, cluster-robust SE ({g} clusters)"
    if not se > 0 or d.min() == d.max():
        return _degenerate(name, MEAN_OF_D, est, null, alternative, level, g)
    return _t_result(name, est, se, float(g - 1), g, null, alternative, level)


def _t_result(
    name: str,
    est: float,
    se: float,
    df: float,
    units: int,
    null: float,
    alternative: str,
    level: float,
) -> TestResult:
    """The t test and interval of ``est`` with standard error ``se`` on ``df``."""
    stat = (est - null) / se
    p = _pvalue(stat, df, alternative)
    half = _t_quantile((1 + level) / 2, df) * se
    return TestResult(
        test=name,
        tests_what=MEAN_OF_D,
        estimate=est,
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=est - half,
        ci_high=est + half,
        confidence_level=level,
        se=se,
        n=units,
        statistic=stat,
        df=df,
        warnings=(
            (f"only {units} independent units: the t approximation is rough",)
            if units < 30
            else ()
        ),
    )


def paired_t_from_moments(
    moments: Moments,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """:func:`paired_t` from the sufficient statistics ``n``, mean and ``Σ(d − d̄)²``.

    What :func:`paired_t` runs on an array, so a summary computed elsewhere (an
    engine over a run too large for memory) gets the same numbers to rounding.
    """
    m = _moments_iv(moments)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    name = "paired t"
    sd = math.sqrt(m.m2 / (m.n - 1)) if m.m2 > 0 else 0.0
    if not sd > 0 or m.constant:
        return _degenerate(name, MEAN_OF_D, m.mean, null, alternative, level, m.n)
    se = sd / math.sqrt(m.n)
    return _t_result(name, m.mean, se, float(m.n - 1), m.n, null, alternative, level)


def bootstrap_t(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    rng: np.random.Generator,
    n_resamples: int = 9999,
) -> TestResult:
    """Studentized (bootstrap-t) test and interval for the mean difference.

    Below :data:`BOOTSTRAP_T_MIN_N` differences it returns the paired t result,
    named and warned as such. Resamples ``d`` with replacement, computes ``t* = (mean* − d̄)/(sd*/√n)`` and
    uses its quantiles in place of Student's: lower bound
    ``d̄ − t*_{1−α}·s/√n`` (Efron & Tibshirani, *An Introduction to the
    Bootstrap*, 1993, ch. 12.5). Unlike the t, percentile and BCa bounds it keeps
    its level for left-skewed differences (a few datapoints much worse), the
    realistic regression shape (docs/statistics.md §3). Resamples with ``sd* = 0``
    are dropped. scipy has no bootstrap-t, hence this implementation.

    The p-value is the bootstrap tail probability of ``t_obs = (d̄ − null)/se``,
    ``(#{t* ≥ t_obs} + 1)/(B + 1)`` for ``alternative="greater"``.

    Parameters
    ----------
    d : array_like
        Oriented paired differences.
    null, alternative, confidence_level
        As in :func:`paired_t`.
    rng : numpy.random.Generator
        Source of the resamples (seed it for reproducibility).
    n_resamples : int
        Number of bootstrap resamples B.

    Returns
    -------
    TestResult

    """
    d = as_1d(d, "d", min_size=2)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    rng = check_rng(rng)
    b = check_resamples(n_resamples)
    n = d.size
    if n < BOOTSTRAP_T_MIN_N:  # too few to resample: the t interval, named so
        t = paired_t(d, null=null, alternative=alternative, confidence_level=level)
        return replace(
            t,
            test=f"paired t (bootstrap-t needs at least {BOOTSTRAP_T_MIN_N} pairs)",
            warnings=(
                *t.warnings,
                f"fewer than {BOOTSTRAP_T_MIN_N} units: no bootstrap-t bound (too "
                "few to resample), the t interval alone",
            ),
        )
    est = float(d.mean())
    sd = float(d.std(ddof=1))
    name = "bootstrap-t"
    if not sd > 0 or d.min() == d.max():
        return _degenerate(name, MEAN_OF_D, est, null, alternative, level, n)
    se = sd / math.sqrt(n)
    tstar = np.empty(b)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, b, chunk):
        stop = min(b, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        x = d[idx]
        m = x.mean(axis=1)
        s = x.std(axis=1, ddof=1)
        # a resample of one repeated value has SD 0, not the rounding error
        # x.std leaves (~1e-18), which would make t* astronomically large
        s[x.min(axis=1) == x.max(axis=1)] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            tstar[start:stop] = (m - est) / (s / math.sqrt(n))
    tstar = tstar[np.isfinite(tstar)]
    kept = tstar.size
    tail = (1 - level) / 2
    q_lo, q_hi = _tail_order_statistics(tstar, tail)
    stat = (est - null) / se
    greater = (np.count_nonzero(tstar >= stat) + 1) / (kept + 1)
    less = (np.count_nonzero(tstar <= stat) + 1) / (kept + 1)
    p = {
        "greater": greater,
        "less": less,
        "two-sided": min(1.0, 2 * min(greater, less)),
    }[alternative]
    warns = []
    if kept < b:
        warns.append(
            f"{b - kept} bootstrap resamples had zero variance and were dropped"
        )
    return TestResult(
        test=name,
        tests_what=MEAN_OF_D,
        estimate=est,
        pvalue=float(p),
        null=null,
        alternative=alternative,
        ci_low=est - float(q_hi) * se,
        ci_high=est - float(q_lo) * se,
        confidence_level=level,
        se=se,
        n=n,
        statistic=stat,
        mc_se=math.sqrt(p * (1 - p) / kept),
        warnings=tuple(warns),
        extra={"n_resamples": kept},
    )


def _tail_order_statistics(tstar: np.ndarray, tail: float) -> tuple[float, float]:
    """The bounds' quantiles of ``t*``, as the order statistics the p-value counts.

    With ``k = ⌊tail·(B + 1)⌋ − 1`` resamples allowed at or beyond ``t_obs``, the
    p-value ``(#{t* ≥ t_obs} + 1)/(B + 1)`` is at most ``tail`` exactly when ``t_obs``
    exceeds the ``(k + 1)``-th largest ``t*``: that value is the upper quantile, so
    the bound clears the null exactly when the p-value does (no interpolation).
    """
    ordered = np.sort(tstar)
    size = ordered.size
    k = math.floor(tail * (size + 1) + 1e-9) - 1
    if k < 0:  # too few resamples for this tail: the widest bounds there are
        return float(ordered[0]), float(ordered[-1])
    return float(ordered[k]), float(ordered[size - 1 - k])


SKEW_T = "skewness-corrected t"


def _hall_inverse(y: float, a: float, b: float) -> float:
    """Solve ``a + ((1 + b·t)³ − 1)/(3b) = y`` for ``t`` (``y − a`` when b = 0)."""
    # (cbrt(1 + u) − 1)/b rewritten as 3(y − a)/(r² + r + 1): no cancellation as b → 0
    r = float(np.cbrt(1 + 3 * b * (y - a)))
    return 3 * (y - a) / (r * r + r + 1)


def skew_corrected_t(
    d: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Skewness-corrected t-test of the mean (Johnson 1978, in Hall's monotone form).

    Student's t assumes a symmetric sampling distribution of the mean. When a few
    datapoints regress a lot (left-skewed ``d``, the realistic regression shape)
    the sample mean and SD move together and the t lower bound is too high: a
    non-inferiority gate false-passes more often than α even at n in the
    thousands (docs/statistics.md §3). Johnson's modified t removes the ``n^{-1/2}``
    skewness term of the Edgeworth expansion of t (Johnson, N. J., "Modified t
    tests and confidence intervals for asymmetrical populations", *JASA*
    73:536–544, 1978; used for skewed returns by Sutton, *JASA* 88:802–810,
    1993, and Lyon, Barber & Tsai, *J. Finance* 54:165–201, 1999)::

        t  = (d̄ − null)/(s/√n)          γ̂ = Σ(d_i − d̄)³ / (n·s³)
        t₁ = t + γ̂/(6√n) + γ̂·t²/(3√n)   (Johnson)

    Johnson's quadratic is not monotone in ``t``, so its test is not invertible
    into a confidence bound (and has no real bound for strong skew at small n).
    Hall adds the ``O(n^{-1})`` cubic term that completes it into a monotone map
    (Hall, P., "On the removal of skewness by transformation", *JRSS B*
    54:221–228, 1992)::

        T = t₁ + γ̂²·t³/(27n) = a + ((1 + b·t)³ − 1)/(3b),   a = γ̂/(6√n), b = γ̂/(3√n)

    ``T`` is referred to Student's t with ``n − 1`` degrees of freedom, and the
    interval is its closed-form inversion: ``d̄ − t_c·s/√n`` with
    ``t_c = ((1 + 3b(c − a))^{1/3} − 1)/b`` for the quantile ``c``. The
    correction lowers the lower bound when ``γ̂ < 0`` and raises it when
    ``γ̂ > 0``; a gate combines it with the plain t through
    :func:`conservative`, so right skew (where t is already conservative) never
    makes a gate more lenient. Costs two passes over ``d``: cheap at any n.

    Parameters
    ----------
    d : array_like
        Oriented paired differences.
    null, alternative, confidence_level
        As in :func:`paired_t`.

    Returns
    -------
    TestResult
        ``statistic`` is ``T``; ``extra["skewness"]`` is γ̂.

    """
    d, null, alternative, level = _paired_t_iv(d, null, alternative, confidence_level)
    return skew_corrected_t_from_moments(
        Moments.of(d), null=null, alternative=alternative, confidence_level=level
    )


def skew_corrected_t_from_moments(
    moments: Moments,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """:func:`skew_corrected_t` from ``n``, mean, ``Σ(d − d̄)²`` and ``Σ(d − d̄)³``.

    What :func:`skew_corrected_t` runs on an array (see :func:`paired_t_from_moments`).
    """
    m = _moments_iv(moments)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    n, est = m.n, m.mean
    s2 = m.m2 / (n - 1)
    if not s2 > 0 or m.constant:
        return _degenerate(SKEW_T, MEAN_OF_D, est, null, alternative, level, n)
    sd = math.sqrt(s2)
    se = sd / math.sqrt(n)
    gamma = m.m3 / (n * sd**3)
    a = gamma / (6 * math.sqrt(n))
    b = gamma / (3 * math.sqrt(n))
    t = (est - null) / se
    stat = a + t * (1 + b * t + b * b * t * t / 3)  # = a + ((1 + bt)³ − 1)/(3b)
    df = float(n - 1)
    p = _pvalue(stat, df, alternative)
    c = _t_quantile((1 + level) / 2, df)
    return TestResult(
        test=SKEW_T,
        tests_what=MEAN_OF_D,
        estimate=est,
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=est - _hall_inverse(c, a, b) * se,
        ci_high=est - _hall_inverse(-c, a, b) * se,
        confidence_level=level,
        se=se,
        n=n,
        statistic=stat,
        df=df,
        extra={"skewness": gamma},
    )


def conservative(first: TestResult, second: TestResult, name: str) -> TestResult:
    """Combine two tests of the same hypothesis, keeping the more conservative.

    The interval is the union of both intervals and the p-value the larger one,
    so the combination is conservative whichever side a gate looks at.
    """
    return TestResult(
        test=name,
        tests_what=first.tests_what,
        estimate=first.estimate,
        pvalue=max(first.pvalue, second.pvalue),
        null=first.null,
        alternative=first.alternative,
        ci_low=min(first.ci_low, second.ci_low),
        ci_high=max(first.ci_high, second.ci_high),
        confidence_level=first.confidence_level,
        se=max(first.se, second.se),
        n=first.n,
        statistic=first.statistic,
        df=first.df,
        mc_se=second.mc_se if second.pvalue > first.pvalue else first.mc_se,
        warnings=tuple(dict.fromkeys(first.warnings + second.warnings)),
        extra={
            "bounds": {
                first.test: [first.ci_low, first.ci_high],
                second.test: [second.ci_low, second.ci_high],
            },
            "pvalues": {first.test: first.pvalue, second.test: second.pvalue},
        },
    )


def welch_t(
    candidate: object,
    baseline: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Unpaired Welch t-test of ``mean(candidate) − mean(baseline)`` against ``null``.

    What a gate with ``pairing: none`` runs (docs/statistics.md §3); runs that share
    no datapoint ids fail a paired gate closed rather than fall back to it.
    Wraps ``scipy.stats.ttest_ind(candidate − null, baseline, equal_var=False)``
    (Welch 1947; statsmodels ``ttest_ind(..., usevar="unequal", value=null)``).
    Both samples must already be oriented (negate lower-is-better values).

    Returns
    -------
    TestResult

    """
    x = as_1d(candidate, "candidate", min_size=2)
    y = as_1d(baseline, "baseline", min_size=2)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    est = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    name = "Welch t (unpaired)"
    what = "difference of means (unpaired)"
    if not se > 0:
        return _degenerate(name, what, est, null, alternative, level, x.size + y.size)
    res = st.ttest_ind(x - null, y, equal_var=False, alternative=alternative)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = _t_quantile((1 + level) / 2, df) * se
    return TestResult(
        test=name,
        tests_what=what,
        estimate=est,
        pvalue=float(res.pvalue),
        null=null,
        alternative=alternative,
        ci_low=est - half,
        ci_high=est + half,
        confidence_level=level,
        se=se,
        n=x.size + y.size,
        statistic=float(res.statistic),
        df=float(df),
        warnings=("unpaired comparison: much less power than a paired one",),
    )
