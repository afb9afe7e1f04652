"""The cluster statistics of ``stats/clusters.py`` against independent computations.

References: pandas ``groupby`` for cluster means; a numerical maximum of the
restricted likelihood for Tango's statistic on a real-valued table (and
``binary.tango_test`` for singleton clusters); statsmodels' cluster-robust OLS
covariance (``cov_type="cluster"``, CR1) for the linearised quantile and ratio
standard errors; a loop over resamples for the cluster bootstrap.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize
from scipy import stats as st

from pytest_runcompare.stats import binary, quantiles, ratio
from pytest_runcompare.stats.clusters import (
    cluster_means,
    cluster_quantile_difference,
    cluster_ratio_bootstrap,
    cluster_ratio_difference,
    cluster_tango_test,
)


def _codes(rng: np.random.Generator, groups: int) -> np.ndarray:
    return np.repeat(np.arange(groups), rng.integers(1, 6, groups))


def _statsmodels_cluster_se(x: np.ndarray, codes: np.ndarray) -> float:
    """CR1 standard error of ``mean(x)``: OLS on a constant, clustered covariance."""
    fit = sm.OLS(x, np.ones(x.size)).fit(cov_type="cluster", cov_kwds={"groups": codes})
    return float(fit.bse[0])


def test_cluster_means_match_pandas_groupby() -> None:
    rng = np.random.default_rng(1)
    codes = rng.permutation(_codes(rng, 25)) * 7 + 3  # sparse, unsorted codes
    x = rng.normal(size=codes.size)
    means, sizes = cluster_means(x, codes)
    ref = pd.Series(x).groupby(codes).agg(["mean", "size"])  # sorted by code
    np.testing.assert_allclose(means, ref["mean"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(sizes, ref["size"].to_numpy())


def test_cluster_tango_is_tango_for_singleton_clusters() -> None:
    rng = np.random.default_rng(2)
    base = (rng.random(150) < 0.8).astype(float)
    cand = np.where(rng.random(150) < 0.7, base, rng.random(150) < 0.75).astype(float)
    for null, alt in ((-0.05, "greater"), (0.0, "less"), (0.03, "two-sided")):
        ours = cluster_tango_test(
            base, cand, np.arange(150), null=null, alternative=alt
        )
        ref = binary.tango_test(
            binary.paired_table(base, cand), null=null, alternative=alt
        )
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10, abs=1e-14)
        assert ours.ci_low == pytest.approx(ref.ci_low, abs=1e-9)
        assert ours.ci_high == pytest.approx(ref.ci_high, abs=1e-9)
        assert ours.estimate == pytest.approx(ref.estimate)


def _restricted_score(b: float, c: float, n: float, delta0: float) -> float:
    """Tango's T(Δ0) from a numerical restricted maximum-likelihood estimate.

    Maximises ``b·log p12 + c·log p21 + (n − b − c)·log(1 − p12 − p21)`` under
    ``p12 − p21 = Δ0`` (Δ = p_base − p_cand) with a bounded scalar optimiser,
    then ``T = (b − c − nΔ0) / √(n·(p̃12 + p̃21 − Δ0²))`` (Tango 1998, eq. 3–5).
    """

    def nll(p21: float) -> float:
        p12 = p21 + delta0
        rest = 1 - p12 - p21
        return -(b * math.log(p12) + c * math.log(p21) + (n - b - c) * math.log(rest))

    lo = max(0.0, -delta0) + 1e-12
    hi = (1 - delta0) / 2 - 1e-12
    p21 = optimize.minimize_scalar(
        nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}
    ).x
    var = n * (2 * p21 + delta0 - delta0**2)
    return (b - c - n * delta0) / math.sqrt(var)


def test_cluster_tango_matches_a_numerical_restricted_mle() -> None:
    rng = np.random.default_rng(3)
    codes = _codes(rng, 40)
    p = rng.uniform(0.5, 1.0, 40)[codes]
    u = rng.random(codes.size)
    base = (u < p).astype(float)
    cand = (rng.random(codes.size) < p - 0.05).astype(float)
    worse = pd.Series((base == 1) & (cand == 0)).groupby(codes).mean().sum()
    better = pd.Series((base == 0) & (cand == 1)).groupby(codes).mean().sum()
    assert worse != round(worse)  # a real-valued table
    level = 0.90
    z = st.norm.ppf((1 + level) / 2)
    for null in (-0.1, -0.05, 0.0, 0.04):
        res = cluster_tango_test(base, cand, codes, null=null, confidence_level=level)
        ref = -_restricted_score(worse, better, 40.0, -null)
        assert res.statistic == pytest.approx(ref, rel=1e-6)
        assert res.pvalue == pytest.approx(st.norm.sf(ref), rel=1e-5)
    # the interval ends are where the statistic crosses ±z
    assert -_restricted_score(worse, better, 40.0, -res.ci_low) == pytest.approx(
        z, rel=1e-6
    )
    assert -_restricted_score(worse, better, 40.0, -res.ci_high) == pytest.approx(
        -z, rel=1e-6
    )


def test_cluster_tango_is_never_more_lenient_than_the_row_test() -> None:
    rng = np.random.default_rng(4)
    codes = np.repeat(np.arange(30), 4)  # equal sizes: the same proportions
    base = (rng.random(120) < 0.85).astype(float)
    cand = np.where(rng.random(120) < 0.9, base, 1 - base)
    rows = binary.tango_test(binary.paired_table(base, cand), null=-0.05)
    ours = cluster_tango_test(base, cand, codes, null=-0.05)
    assert ours.estimate == pytest.approx(rows.estimate)
    assert ours.ci_low <= rows.ci_low
    assert ours.ci_high >= rows.ci_high
    if rows.statistic > 0:
        assert ours.pvalue >= rows.pvalue
    assert ours.n == 30


def _bahadur_influence(c: np.ndarray, b: np.ndarray, q: float, w: float) -> np.ndarray:
    """Influence values of the quantile difference, recomputed from the definitions."""
    h = quantiles.hall_sheather_bandwidth(c.size, q)
    out = []
    for x in (c, b):
        lo, hi = max(q - h, 0.5 / x.size), min(q + h, 1 - 0.5 / x.size)
        qs = np.quantile(x, [lo, q, hi])
        out.append((qs[1], (qs[2] - qs[0]) / (hi - lo)))
    (qc, sc), (qb, sb) = out
    return sc * (q - (c <= qc)) - w * sb * (q - (b <= qb))


@pytest.mark.parametrize(("q", "w"), [(0.95, 1.0), (0.5, 0.98), (0.9, 1.02)])
def test_cluster_quantile_se_matches_statsmodels(q: float, w: float) -> None:
    rng = np.random.default_rng(5)
    codes = _codes(rng, 200)
    level = rng.normal(size=200)[codes]
    base = level + rng.normal(0, 0.3, codes.size)
    cand = level + rng.normal(0, 0.3, codes.size) - 0.1
    res = cluster_quantile_difference(
        cand, base, codes, q=q, baseline_weight=w, null=-0.2
    )
    ref = _statsmodels_cluster_se(_bahadur_influence(cand, base, q, w), codes)
    assert res.extra["se_clusters"] == pytest.approx(ref, rel=1e-10)
    row = quantiles.quantile_difference(cand, base, q=q, baseline_weight=w, null=-0.2)
    assert res.extra["se_rows"] == pytest.approx(row.se, rel=1e-12)
    assert res.se == pytest.approx(max(ref, row.se), rel=1e-10)
    assert res.df == 199
    assert res.n == 200
    stat = (res.estimate + 0.2) / res.se
    assert res.pvalue == pytest.approx(st.t(199).sf(stat), rel=1e-9)


def test_cluster_quantile_singletons_give_the_bahadur_se() -> None:
    rng = np.random.default_rng(6)
    base = rng.normal(size=500)
    cand = base + rng.normal(0, 0.5, 500)
    res = cluster_quantile_difference(cand, base, np.arange(500), q=0.9)
    row = quantiles.quantile_difference(cand, base, q=0.9)
    # Bahadur's variance is the variance of the influence values' mean
    assert res.extra["se_clusters"] == pytest.approx(row.se, rel=1e-2)


def test_cluster_ratio_se_matches_statsmodels() -> None:
    rng = np.random.default_rng(7)
    codes = _codes(rng, 80)
    xb = rng.integers(1, 20, codes.size).astype(float)
    xc = xb + rng.integers(0, 3, codes.size)
    item = rng.random(80)[codes]
    yb = rng.binomial(xb.astype(int), 0.1 + 0.2 * item).astype(float)
    yc = rng.binomial(xc.astype(int), 0.1 + 0.2 * item).astype(float)
    res = cluster_ratio_difference(yc, xc, yb, xb, codes, baseline_weight=0.95)
    rc, rb = yc.sum() / xc.sum(), yb.sum() / xb.sum()
    infl = (yc - rc * xc) / xc.mean() - 0.95 * (yb - rb * xb) / xb.mean()
    ref = _statsmodels_cluster_se(infl, codes)
    assert res.extra["se_clusters"] == pytest.approx(ref, rel=1e-10)
    row = ratio.ratio_difference(yc, xc, yb, xb, baseline_weight=0.95)
    assert res.se == pytest.approx(max(ref, row.se), rel=1e-10)
    assert res.estimate == pytest.approx(row.estimate)


def test_cluster_ratio_bootstrap_matches_a_loop() -> None:
    rng = np.random.default_rng(8)
    codes = _codes(rng, 30)
    xb = rng.integers(1, 10, codes.size).astype(float)
    xc = rng.integers(1, 10, codes.size).astype(float)
    yb = rng.binomial(xb.astype(int), 0.3).astype(float)
    yc = rng.binomial(xc.astype(int), 0.3).astype(float)
    b = 999
    res = cluster_ratio_bootstrap(
        yc, xc, yb, xb, codes, null=-0.05, rng=np.random.default_rng(9), n_resamples=b
    )
    loop_rng = np.random.default_rng(9)
    draws = loop_rng.integers(0, 30, size=(b, 30))
    theta = []
    for row in draws:
        rows = np.concatenate([np.flatnonzero(codes == g) for g in row])
        theta.append(yc[rows].sum() / xc[rows].sum() - yb[rows].sum() / xb[rows].sum())
    theta_arr = np.asarray(theta)
    lo, hi = np.quantile(theta_arr, [0.05, 0.95])
    assert res.ci_low == pytest.approx(lo, rel=1e-12)
    assert res.ci_high == pytest.approx(hi, rel=1e-12)
    p = (np.count_nonzero(theta_arr <= -0.05) + 1) / (b + 1)
    assert res.pvalue == pytest.approx(p)
    assert res.n == 30
