"""Paired t, bootstrap-t, Welch and clusters against published values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from pytest_runcompare.stats.clusters import cluster_robust_se
from pytest_runcompare.stats.continuous import (
    bootstrap_t,
    conservative,
    paired_t,
    skew_corrected_t,
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


# Skewness-corrected t (Johnson 1978, Hall 1992): a left-skewed sample, most
# differences small and two large regressions.
SKEWED = [0.3, 0.1, -0.2, 0.4, 0.0, 0.2, -2.5, 0.1, 0.3, -1.6, 0.2, 0.0]


def _johnson_by_hand(x, mu):
    """Johnson's t1 and Hall's cubic term in the paper's notation, pure Python.

    S = (x̄ − μ)/s, γ = Σ(x − x̄)³/(n s³), t1 = √n (S + γ S²/3 + γ/(6n))
    (Johnson 1978; the form of Lyon, Barber & Tsai 1999), and Hall's (1992)
    completion T = t1 + γ² t³/(27 n) with t = √n S.
    """
    n = len(x)
    mean = math.fsum(x) / n
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in x) / (n - 1))
    gamma = math.fsum((v - mean) ** 3 for v in x) / (n * s**3)
    big_s = (mean - mu) / s
    t1 = math.sqrt(n) * (big_s + gamma * big_s**2 / 3 + gamma / (6 * n))
    t = math.sqrt(n) * big_s
    return t1, t1 + gamma**2 * t**3 / (27 * n), gamma


@pytest.mark.parametrize("mu", [-1.0, -0.3, 0.0, 0.5])
def test_skew_corrected_t_matches_worked_formula(mu):
    t1, hall, gamma = _johnson_by_hand(SKEWED, mu)
    n = len(SKEWED)
    r = skew_corrected_t(SKEWED, null=mu)
    assert r.extra["skewness"] == pytest.approx(gamma, rel=1e-12)
    assert gamma < -1.5  # the sample is strongly left-skewed
    assert r.statistic == pytest.approx(hall, rel=1e-12)
    assert r.df == n - 1
    assert r.pvalue == pytest.approx(st.t.sf(hall, n - 1), rel=1e-10)
    # Hall's completion adds exactly gamma² t³/(27 n) to Johnson's t1
    t = paired_t(SKEWED, null=mu).statistic
    assert r.statistic - t1 == pytest.approx(gamma**2 * t**3 / (27 * n), abs=1e-12)
    less = skew_corrected_t(SKEWED, null=mu, alternative="less")
    assert less.pvalue == pytest.approx(st.t.cdf(hall, n - 1), rel=1e-10)


def test_skew_corrected_t_worked_numbers():
    # SKEWED at mu = -0.3, by hand: n = 12, mean = -0.225, s = 0.888436,
    # S = 0.075/s = 0.084418, gamma = Σ(x - mean)³/(n s³) = -1.61562,
    # t1 = √12 (S + gamma S²/3 + gamma/72) = 3.46410 x 0.058141 = 0.20141,
    # Hall's term gamma² t³/(27 n) = 2.61024 x 0.292434³/324 = 0.000201.
    r = skew_corrected_t(SKEWED, null=-0.3)
    assert r.estimate == pytest.approx(-0.225, rel=1e-12)
    assert r.se * math.sqrt(12) == pytest.approx(0.888436, abs=1e-6)
    assert r.extra["skewness"] == pytest.approx(-1.61562, abs=1e-5)
    assert r.statistic == pytest.approx(0.20141 + 0.000201, abs=2e-5)
    assert r.pvalue == pytest.approx(st.t.sf(0.201608, 11), abs=1e-5)


@pytest.mark.parametrize("level", [0.90, 0.95])
def test_skew_corrected_t_bounds_invert_the_test(level):
    r = skew_corrected_t(SKEWED, confidence_level=level)
    tail = (1 - level) / 2
    at_low = skew_corrected_t(SKEWED, null=r.ci_low, alternative="greater")
    at_high = skew_corrected_t(SKEWED, null=r.ci_high, alternative="less")
    assert at_low.pvalue == pytest.approx(tail, rel=1e-9)
    assert at_high.pvalue == pytest.approx(tail, rel=1e-9)
    # left skew: the whole interval sits below Student's
    t = paired_t(SKEWED, confidence_level=level)
    assert r.ci_low < t.ci_low
    assert r.ci_high < t.ci_high
    assert r.se == pytest.approx(t.se, rel=1e-12)


def test_skew_corrected_t_is_monotone_where_johnson_turns():
    # Johnson's quadratic t1 decreases in the evidence beyond t = -1/(2b); Hall's
    # completed statistic keeps increasing, so p-values stay monotone.
    stats_j, stats_h = [], []
    for mu in np.linspace(-0.5, -12.0, 40):
        t1, _, _ = _johnson_by_hand(SKEWED, float(mu))
        stats_j.append(t1)
        stats_h.append(skew_corrected_t(SKEWED, null=float(mu)).statistic)
    assert np.any(np.diff(stats_j) < 0)
    assert np.all(np.diff(stats_h) > 0)


def test_skew_corrected_t_reduces_to_t_for_symmetric_data():
    d = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
    r = skew_corrected_t(d, null=-0.4)
    t = paired_t(d, null=-0.4)
    assert r.extra["skewness"] == pytest.approx(0.0, abs=1e-15)
    assert r.statistic == pytest.approx(t.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(t.pvalue, rel=1e-10)
    assert (r.ci_low, r.ci_high) == pytest.approx((t.ci_low, t.ci_high), rel=1e-12)


def test_skew_corrected_t_right_skew_kept_conservative_by_combination():
    d = -np.asarray(SKEWED)  # right-skewed: the correction raises the bound
    t, r = paired_t(d), skew_corrected_t(d)
    assert r.ci_low > t.ci_low
    both = conservative(t, r, "x")
    assert both.ci_low == t.ci_low
    assert both.pvalue == max(t.pvalue, r.pvalue)


def test_skew_corrected_t_degenerate_and_validation():
    r = skew_corrected_t(np.full(5, 0.25), null=-0.01)
    assert r.pvalue == 0.0
    assert r.ci_low == r.ci_high == 0.25
    with pytest.raises(ValueError, match="at least 2 observation"):
        skew_corrected_t([1.0])
    with pytest.raises(ValueError, match="`alternative`"):
        skew_corrected_t([1.0, 2.0], alternative="bigger")
    with pytest.raises(TypeError, match="real number"):
        skew_corrected_t([1.0, 2.0], null="0")


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


def test_bootstrap_t_bound_clears_the_null_exactly_when_its_p_value_does():
    """The bound's quantile is the order statistic the p-value counts: no seed splits them."""
    from pytest_runcompare.stats import continuous

    rng = np.random.default_rng(0)
    split = 0
    for i in range(1000):
        n = int(rng.integers(10, 80))
        d = rng.normal(0.02, 0.1, n) + (rng.random(n) < 0.1) * rng.normal(-0.2, 0.1, n)
        for null in (-0.01, -0.02, -0.03):
            r = continuous.bootstrap_t(
                d,
                null=null,
                alternative="greater",
                confidence_level=0.9,
                rng=np.random.default_rng(i),
                n_resamples=999,
            )
            split += (r.pvalue <= 0.05) != (r.ci_low > null)
    assert split == 0
