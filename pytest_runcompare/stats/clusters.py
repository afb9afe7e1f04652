"""Replicates as clusters: the statistics of gates whose rows are not independent.

Several seeds of one configuration, or Inspect-style epochs, give several rows per
datapoint. They are not independent datapoints: the standard error must treat each
datapoint (cluster) as the unit. This module has the cluster-robust standard error
of a mean (:func:`cluster_robust_se`), cluster means (:func:`cluster_means`, the
units of the mean and proportion gates with replicates), Tango's score test on the
cluster-mean paired table (:func:`cluster_tango_test`), the cluster-robust Bahadur
SE of a quantile difference (:func:`cluster_quantile_difference`), the
cluster-robust delta method and the cluster bootstrap of a ratio of sums
(:func:`cluster_ratio_difference`, :func:`cluster_ratio_bootstrap`).
docs/statistics.md §6 says which gate runs which.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy import optimize
from scipy import stats as st

from pytest_runcompare.stats import binary, quantiles, ratio
from pytest_runcompare.stats._validation import (
    as_1d,
    check_alternative,
    check_level,
    check_number,
)
from pytest_runcompare.stats.result import TestResult


def cluster_codes(clusters: object, n: int) -> tuple[np.ndarray, int]:
    """Return dense cluster codes ``0..G-1`` aligned with ``n`` rows, and ``G``."""
    codes = np.asarray(clusters)
    if codes.ndim != 1 or codes.size != n:
        raise ValueError(
            f"`clusters` must be one code per observation ({n}), got shape "
            f"{codes.shape}."
        )
    _, dense = np.unique(codes, return_inverse=True)
    return dense.astype(np.intp, copy=False), int(dense.max()) + 1 if n else 0


def cluster_robust_se(x: np.ndarray, clusters: object) -> tuple[float, int]:
    """Cluster-robust (CR1) standard error of ``mean(x)``.

    ``SE² = G/(G−1) · Σ_g (Σ_{i∈g} (x_i − x̄))² / n²``: sum the residuals within
    each cluster, square, add (Miller, *Adding Error Bars to Evals*,
    arXiv:2411.00640, 2024, eq. for clustered SEs), with the usual ``G/(G−1)``
    small-sample factor so that singleton clusters give exactly the ordinary
    ``s/√n`` of the paired t-test.

    Returns
    -------
    se : float
        The standard error.
    n_clusters : int
        ``G``; use ``G − 1`` degrees of freedom for a t reference distribution.

    """
    n = x.size
    codes, g = cluster_codes(clusters, n)
    if g < 2:
        return float("nan"), g
    resid = x - x.mean()
    sums = np.bincount(codes, weights=resid, minlength=g)
    var = g / (g - 1) * float(np.dot(sums, sums)) / n**2
    return float(np.sqrt(var)), g


def has_replicates(clusters: object | None, n: int) -> bool:
    """Whether ``clusters`` groups at least two observations together."""
    if clusters is None:
        return False
    _, g = cluster_codes(clusters, n)
    return g < n


def cluster_means(x: np.ndarray, clusters: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster means of ``x`` and the cluster sizes, in dense-code order.

    Aggregating replicates to one value per cluster first, then treating the
    clusters as the independent units, is the standard analysis of a cluster
    design with a small number of clusters (Donner, A. & Klar, N., *Design and
    Analysis of Cluster Randomization Trials in Health Research*, 2000, §6.2;
    Miller, arXiv:2411.00640, 2024, §2.3 "average the resamples of a question").
    """
    x = np.asarray(x, dtype=np.float64)
    codes, g = cluster_codes(clusters, x.size)
    sizes = np.bincount(codes, minlength=g).astype(np.float64)
    return np.bincount(codes, weights=x, minlength=g) / sizes, sizes


def cluster_tango_test(
    baseline: object,
    candidate: object,
    clusters: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Tango's score test on the cluster-mean paired table (one unit per cluster).

    Each cluster ``g`` of ``n_g`` replicate pairs contributes its *shares* of
    discordant pairs, ``b̄_g = b_g/n_g`` (right in the baseline, wrong in the
    candidate) and ``c̄_g = c_g/n_g``, and Tango's statistic is computed on the
    real-valued table ``(Σ b̄_g, Σ c̄_g, G)``. The estimand is the mean over
    clusters of each cluster's difference of proportions.

    Why it holds its level with few clusters: the variance in Tango's statistic
    is that of *one* binary pair under the restricted null estimate, and the mean
    of ``n_g`` pairs of one cluster can only vary less than one pair (a
    within-cluster correlation of 1 is the worst case). Unlike a t on the
    replicate differences, the null variance does not vanish when the runs rarely
    disagree. With singleton clusters it is exactly :func:`binary.tango_test`.
    The price is power when replicates are nearly independent: ``G`` units count,
    not ``n`` (docs/statistics.md §6).

    Parameters
    ----------
    baseline, candidate : array_like
        Oriented 0/1 values (1 = good), aligned.
    clusters : array_like
        Cluster code per pair.
    null, alternative, confidence_level
        As in :func:`binary.tango_test`.

    Returns
    -------
    TestResult
        ``n`` is the number of clusters ``G``.

    """
    base = as_1d(baseline, "baseline", min_size=2)
    cand = as_1d(candidate, "candidate", min_size=2)
    if base.size != cand.size:
        raise ValueError("`baseline` and `candidate` must be aligned.")
    if not (np.isin(base, (0.0, 1.0)).all() and np.isin(cand, (0.0, 1.0)).all()):
        raise ValueError("`baseline` and `candidate` must contain only 0/1 values.")
    null = check_number(null, "null")
    if not -1 < null < 1:
        raise ValueError(f"`null` must lie in (−1, 1) for proportions, got {null}.")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    worse, _ = cluster_means((base == 1) & (cand == 0), clusters)
    better, _ = cluster_means((base == 0) & (cand == 1), clusters)
    g = worse.size
    b, c = float(worse.sum()), float(better.sum())
    est = (c - b) / g

    def stat(delta: float) -> float:  # grows with δ = p_cand − p_base
        return -binary._tango_t(-delta, b, c, float(g))

    z = stat(null)
    crit = float(st.norm.ppf((1 + level) / 2))
    tol = 1e-12
    # stat decreases in δ: the lower limit solves stat = crit, the upper −crit
    lo = _root(stat, crit, -1 + tol, max(-1 + tol, min(est, 1 - tol)))
    hi = _root(stat, -crit, max(-1 + tol, min(est, 1 - tol)), 1 - tol)
    psi = (b + c) / g
    return TestResult(
        test=f"Tango score test on cluster means ({g} clusters)",
        tests_what="difference of proportions (paired), mean over clusters",
        estimate=est,
        pvalue=_p_normal(z, alternative),
        null=null,
        alternative=alternative,
        ci_low=lo,
        ci_high=hi,
        confidence_level=level,
        se=math.sqrt(max(psi - est * est, 0.0) / g),
        n=g,
        statistic=z,
    )


def _root(f: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """``x`` in ``[lo, hi]`` with ``f(x) = target`` for a decreasing ``f``.

    The ends of ``[-1, 1]`` are returned as ±1 when the target lies beyond them.
    """
    if f(lo) <= target:
        return -1.0 if lo <= -1 + 1e-9 else lo
    if f(hi) >= target:
        return 1.0 if hi >= 1 - 1e-9 else hi
    return float(optimize.brentq(lambda x: f(x) - target, lo, hi, xtol=1e-14))


def _p_normal(z: float, alternative: str) -> float:
    """Normal p-value of a statistic that grows with δ."""
    if alternative == "greater":
        return float(st.norm.sf(z))
    if alternative == "less":
        return float(st.norm.cdf(z))
    return float(min(1.0, 2 * st.norm.sf(abs(z))))


def _two_units(clusters: object, n: int) -> tuple[np.ndarray, int]:
    """Dense codes and ``G``; too few clusters is too little data (``as_1d``'s error)."""
    codes, g = cluster_codes(clusters, n)
    as_1d(np.zeros(g), "clusters (distinct groups)", min_size=2)
    return codes, g


def _with_cluster_se(
    row: TestResult, se_cluster: float, g: int, name: str, n_rows: int
) -> TestResult:
    """``row`` re-referred with ``max(row SE, cluster SE)`` and Student's t, ``G − 1`` df.

    Taking the larger standard error means replicate information can only widen
    the interval of the test that ignores it (docs/statistics.md §6).
    """
    se = max(row.se, se_cluster) if math.isfinite(row.se) else se_cluster
    df = float(g - 1)
    est, null = row.estimate, row.null
    warnings = list(row.warnings)
    if g < 30:
        warnings.append(f"only {g} clusters: the approximation is rough")
    if not se > 0:
        return replace(row, n=g, test=name, warnings=tuple(warnings))
    stat = (est - null) / se
    cdf = st.t(df).cdf
    p = {
        "greater": float(cdf(-stat)),
        "less": float(cdf(stat)),
        "two-sided": float(min(1.0, 2 * cdf(-abs(stat)))),
    }[row.alternative]
    half = float(st.t(df).ppf((1 + row.confidence_level) / 2)) * se
    return replace(
        row,
        test=name,
        pvalue=p,
        ci_low=est - half,
        ci_high=est + half,
        se=se,
        n=g,
        statistic=stat,
        df=df,
        warnings=tuple(dict.fromkeys(warnings)),
        extra={
            **row.extra,
            "se_rows": row.se,
            "se_clusters": se_cluster,
            "n_rows": n_rows,
        },
    )


def cluster_quantile_difference(
    candidate: object,
    baseline: object,
    clusters: object,
    *,
    q: float,
    higher_is_better: bool = True,
    baseline_weight: float = 1.0,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Difference of run quantiles with a cluster-robust (linearised) Bahadur SE.

    The Bahadur representation makes the quantile difference a mean of influence
    values, ``θ̂ − θ ≈ mean(ψ_i)`` with
    ``ψ_i = s_c·(q − 1{C_i ≤ Q_c}) − w·s_b·(q − 1{B_i ≤ Q_b})`` (sparsities
    ``s = 1/f(Q(q))``). Without clusters ``Var(mean ψ)`` is exactly the Bahadur
    variance of :func:`quantiles.quantile_difference`; with replicates it is the
    cluster-robust variance of that mean (:func:`cluster_robust_se`). This is
    Woodruff's linearisation of a quantile under a cluster design (Woodruff, R. S.,
    "Confidence intervals for medians and other position measures", *JASA*
    47:635–646, 1952; Francisco, C. A. & Fuller, W. A., "Quantile estimation with
    a complex survey design", *Ann. Stat.* 19:454–469, 1991). The larger of the
    row and the cluster standard errors is referred to Student's t with ``G − 1``
    degrees of freedom. The tail-data rule of the row test (inconclusive with
    fewer than 20 rows beyond the quantile) is kept.

    Parameters
    ----------
    candidate, baseline : array_like
        Paired raw values.
    clusters : array_like
        Cluster code per pair.
    q, higher_is_better, baseline_weight, null, alternative, confidence_level
        As in :func:`quantiles.quantile_difference`.

    Returns
    -------
    TestResult
        ``n`` is ``G``; ``extra`` has both standard errors.

    """
    row = quantiles.quantile_difference(
        candidate,
        baseline,
        q=q,
        higher_is_better=higher_is_better,
        baseline_weight=baseline_weight,
        null=null,
        alternative=alternative,
        confidence_level=confidence_level,
    )
    c = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    _, g = _two_units(clusters, c.size)
    h = float(row.extra["bandwidth"])
    qc, sc = quantiles._quantile_and_sparsity(c, q, h)
    qb, sb = quantiles._quantile_and_sparsity(b, q, h)
    w = float(baseline_weight)
    psi = sc * (q - (c <= qc)) - w * sb * (q - (b <= qb))
    se, _ = cluster_robust_se(psi, clusters)
    name = f"difference of quantiles (cluster-robust Bahadur SE, {g} clusters)"
    return _with_cluster_se(row, se, g, name, c.size)


def cluster_ratio_difference(
    num_candidate: object,
    den_candidate: object,
    num_baseline: object,
    den_baseline: object,
    clusters: object,
    *,
    higher_is_better: bool = True,
    baseline_weight: float = 1.0,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Delta-method test of ``R_c − w·R_b`` with a cluster-robust standard error.

    The influence values of :func:`ratio.ratio_difference` are summed within each
    cluster (the linearisation variance of a ratio estimator under a cluster
    design: Cochran, W. G., *Sampling Techniques*, 3rd ed., 1977, §6.10; Deng,
    Knoblich & Lu, KDD 2018, §3). The larger of the row and cluster SEs is
    referred to Student's t with ``G − 1`` degrees of freedom.

    Returns
    -------
    TestResult
        ``n`` is ``G``.

    """
    row = ratio.ratio_difference(
        num_candidate,
        den_candidate,
        num_baseline,
        den_baseline,
        higher_is_better=higher_is_better,
        baseline_weight=baseline_weight,
        null=null,
        alternative=alternative,
        confidence_level=confidence_level,
    )
    yc, xc, yb, xb = (
        np.asarray(a, dtype=np.float64)
        for a in (num_candidate, den_candidate, num_baseline, den_baseline)
    )
    _, g = _two_units(clusters, yc.size)
    rc, rb = yc.sum() / xc.sum(), yb.sum() / xb.sum()
    w = float(baseline_weight)
    infl = (yc - rc * xc) / xc.mean() - w * (yb - rb * xb) / xb.mean()
    se, _ = cluster_robust_se(infl, clusters)
    name = f"delta method, cluster-robust SE ({g} clusters)"
    return _with_cluster_se(row, se, g, name, yc.size)


def cluster_ratio_bootstrap(
    num_candidate: object,
    den_candidate: object,
    num_baseline: object,
    den_baseline: object,
    clusters: object,
    *,
    higher_is_better: bool = True,
    baseline_weight: float = 1.0,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    rng: np.random.Generator,
    n_resamples: int = 9999,
) -> TestResult:
    """Cluster (block) percentile bootstrap of ``R_c − w·R_b``: clusters are resampled.

    Whole clusters are drawn with replacement and both rates recomputed from the
    drawn clusters' sums, so the dependence between replicates is kept (the
    cluster bootstrap: Davison, A. C. & Hinkley, D. V., *Bootstrap Methods and
    their Application*, 1997, §3.8; Field, C. A. & Welsh, A. H., "Bootstrapping
    clustered data", *JRSS B* 69:369–390, 2007). Interval and p-value as in
    :func:`ratio.ratio_bootstrap`.

    Returns
    -------
    TestResult
        ``n`` is ``G``.

    """
    yc, xc, yb, xb = (
        np.asarray(a, dtype=np.float64)
        for a in (num_candidate, den_candidate, num_baseline, den_baseline)
    )
    codes, g = _two_units(clusters, yc.size)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    w = float(baseline_weight)
    sign = 1.0 if higher_is_better else -1.0
    est = sign * float(yc.sum() / xc.sum() - w * yb.sum() / xb.sum())
    sums_g = np.stack(
        [np.bincount(codes, weights=a, minlength=g) for a in (yc, xc, yb, xb)], axis=1
    )  # (G, 4)
    theta = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // g)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        draws = rng.integers(0, g, size=(stop - start, g))
        flat = (np.arange(stop - start)[:, None] * g + draws).ravel()
        counts = np.bincount(flat, minlength=(stop - start) * g)
        s = counts.reshape(stop - start, g) @ sums_g
        with np.errstate(divide="ignore", invalid="ignore"):
            theta[start:stop] = sign * (s[:, 0] / s[:, 1] - w * s[:, 2] / s[:, 3])
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
        test=f"cluster bootstrap (percentile, {g} clusters)",
        tests_what=ratio.WHAT,
        estimate=est,
        pvalue=float(p),
        null=null,
        alternative=alternative,
        ci_low=float(lo),
        ci_high=float(hi),
        confidence_level=level,
        se=float(theta.std(ddof=1)),
        n=g,
        mc_se=math.sqrt(p * (1 - p) / kept),
        warnings=(f"only {g} clusters: the bootstrap is rough",) if g < 30 else (),
        extra={"n_resamples": kept},
    )
