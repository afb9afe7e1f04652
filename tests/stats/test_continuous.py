"""Paired t, bootstrap-t, Welch and clusters against published values and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from pytest_runcompare.stats.clusters import cluster_robust_se
from pytest_runcompare.stats.continuous import (
    bootstrap_t,
    conservative,
    paired_t,
    welch_t,
)

# O1: R `sleep` data (Student 1908 / Cushny & Peebles), R's ?t.test example.
G1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
G2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])


def test_o1_sleep_paired_t_matches_r():
    # t.test(group1, group2, paired=TRUE): t = -4.0621, df = 9, p = 0.002833,
    # 95% CI (-2.4598858, -0.7001142), mean of differences -1.58.
    r = paired_t(G1 - G2, alternative="two-sided", confidence_level=0.95)
    assert r.statistic == pytest.approx(-4.062127683382037, rel=1e-12)
    assert r.pvalue == pytest.approx(0.002832890197384273, rel=1e-12)
    assert r.df == 9
    assert r.estimate == pytest.approx(-1.58)
    assert r.ci_low == pytest.approx(-2.4598858, rel=1e-6)
    assert r.ci_high == pytest.approx(-0.7001142, rel=1e-6)


def test_o1_derived_non_inferiority_check():
    # STATISTICS.md O1: d = group2 - group1, m = 0.5 => t = 5.34761, p = 2.319e-4.
    r = paired_t(G2 - G1, null=-0.5, alternative="greater")
    assert r.statistic == pytest.approx(5.34761, abs=5e-6)
    assert r.pvalue == pytest.approx(2.319e-4, rel=1e-3)


def test_o11_ni_at_zero_margin_is_ttest_1samp():
    rng = np.random.default_rng(3)
    d = rng.normal(0.1, 1, 57)
    ref = st.ttest_1samp(d, 0.0, alternative="greater")
    r = paired_t(d, null=0.0)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)


def test_o11_tost_is_max_of_one_sided_and_matches_statsmodels():
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(4)
    base = rng.normal(0, 1, 80)
    cand = base + rng.normal(0.02, 0.3, 80)
    low = paired_t(cand - base, null=-0.1, alternative="greater")
    up = paired_t(cand - base, null=0.1, alternative="less")
    p, (_, p1, _), (_, p2, _) = ttost_paired(cand, base, -0.1, 0.1)
    assert low.pvalue == pytest.approx(p1, rel=1e-9)
    assert up.pvalue == pytest.approx(p2, rel=1e-9)
    assert max(low.pvalue, up.pvalue) == pytest.approx(p, rel=1e-9)


def test_statsmodels_ttest_mean_crosscheck():
    from statsmodels.stats.weightstats import DescrStatsW

    rng = np.random.default_rng(5)
    d = rng.standard_t(3, 300)
    for alt, sm_alt in (("greater", "larger"), ("less", "smaller")):
        t, p, _ = DescrStatsW(d).ttest_mean(-0.05, alternative=sm_alt)
        r = paired_t(d, null=-0.05, alternative=alt)
        assert r.statistic == pytest.approx(t, rel=1e-9)
        assert r.pvalue == pytest.approx(p, rel=1e-9)
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.1)
    r = paired_t(d)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)


def test_zero_variance_is_exact():
    r = paired_t(np.zeros(10), null=-0.01)
    assert r.pvalue == 0.0
    assert r.ci_low == r.ci_high == 0.0
    r = paired_t(np.zeros(10), null=-0.01, alternative="less")
    assert r.pvalue == 1.0


def test_small_n_warns():
    assert paired_t([1.0, 2.0, 3.5]).warnings


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"d": [1.0]}, ValueError, "at least 2 observation"),
        ({"d": [[1.0, 2.0]]}, ValueError, "one-dimensional"),
        ({"d": [1.0, np.nan]}, ValueError, "NaN or infinite"),
        ({"d": ["a", "b"]}, TypeError, "array of numbers"),
        ({"d": [1.0, 2.0], "alternative": "bigger"}, ValueError, "`alternative`"),
        ({"d": [1.0, 2.0], "confidence_level": 1.5}, ValueError, r"in \(0, 1\)"),
        ({"d": [1.0, 2.0], "confidence_level": "x"}, TypeError, "number in"),
        ({"d": [1.0, 2.0], "null": "0"}, TypeError, "real number"),
        ({"d": [1.0, 2.0], "null": np.inf}, ValueError, "finite"),
    ],
)
def test_paired_t_validation(kwargs, exc, match):
    d = kwargs.pop("d")
    with pytest.raises(exc, match=match):
        paired_t(d, **kwargs)


def test_bootstrap_t_validation():
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        bootstrap_t([1.0, 2.0, 3.0], rng=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 99"):
        bootstrap_t([1.0, 2.0, 3.0], rng=np.random.default_rng(0), n_resamples=5)


def test_bootstrap_t_normal_data_close_to_t_and_deterministic():
    d = np.random.default_rng(6).normal(0, 1, 200)
    a = bootstrap_t(d, rng=np.random.default_rng(1), n_resamples=4999)
    b = bootstrap_t(d, rng=np.random.default_rng(1), n_resamples=4999)
    t = paired_t(d)
    assert a == b
    assert a.ci_low == pytest.approx(t.ci_low, abs=0.03)
    assert a.ci_high == pytest.approx(t.ci_high, abs=0.03)


def test_bootstrap_t_lowers_bound_for_left_skew():
    # A long tail of regressions: the studentized bound sits below the t bound.
    rng = np.random.default_rng(7)
    d = np.where(rng.random(60) < 0.1, -rng.exponential(5, 60), rng.normal(0, 0.1, 60))
    t = paired_t(d)
    bt = bootstrap_t(d, rng=np.random.default_rng(0))
    assert bt.ci_low < t.ci_low
    both = conservative(t, bt, "x")
    assert both.ci_low == bt.ci_low
    assert both.pvalue == max(t.pvalue, bt.pvalue)


def test_welch_matches_scipy_and_statsmodels():
    from statsmodels.stats.weightstats import ttest_ind

    rng = np.random.default_rng(8)
    x, y = rng.normal(0.1, 1, 40), rng.normal(0, 2, 70)
    r = welch_t(x, y, null=-0.2)
    ref = st.ttest_ind(x + 0.2, y, equal_var=False, alternative="greater")
    _, p, df = ttest_ind(x, y, alternative="larger", usevar="unequal", value=-0.2)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.pvalue == pytest.approx(p, rel=1e-9)
    assert r.df == pytest.approx(df, rel=1e-9)


def test_cluster_robust_se_identities():
    rng = np.random.default_rng(9)
    x = rng.normal(0, 1, 60)
    # singleton clusters: exactly the ordinary standard error
    se, g = cluster_robust_se(x, np.arange(60))
    assert g == 60
    assert se == pytest.approx(x.std(ddof=1) / np.sqrt(60), rel=1e-12)
    # equal-size clusters: the SE of the cluster means
    codes = np.repeat(np.arange(20), 3)
    se, g = cluster_robust_se(x, codes)
    means = x.reshape(20, 3).mean(axis=1)
    assert se == pytest.approx(means.std(ddof=1) / np.sqrt(20), rel=1e-12)
    r = paired_t(x, clusters=codes)
    assert r.df == 19
    assert "cluster-robust" in r.test
    with pytest.raises(ValueError, match="one code per observation"):
        cluster_robust_se(x, codes[:5])
