"""Wilcoxon, sign and permutation tests; paired bootstrap (percentile, BCa)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from pytest_runcompare.stats.bootstrap import bca_acceleration_mean, paired_bootstrap
from pytest_runcompare.stats.nonparametric import (
    permutation_test,
    sign_test,
    wilcoxon_test,
)

# O3: Darwin's Zea mays differences (Wilcoxon 1945; scipy `wilcoxon` docstring).
DARWIN = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


def test_o3_wilcoxon_darwin():
    r = wilcoxon_test(DARWIN, alternative="two-sided")
    assert r.pvalue == 0.041259765625
    assert r.statistic == 24
    r = wilcoxon_test(DARWIN, alternative="greater")
    assert r.pvalue == 0.0206298828125
    assert r.statistic == 96
    assert r.tests_what == "pseudo-median of paired differences"


def test_o3_wilcoxon_asymptotic():
    ref = st.wilcoxon(DARWIN, method="approx")
    assert ref.pvalue == pytest.approx(0.04088813291185591, rel=1e-12)


def test_wilcoxon_rounds_away_float_noise():
    # scipy docstring: x - y computed in floats breaks the tie; rounding restores it.
    x = np.array([0.5, 0.825, 0.375, 0.5])
    y = np.array([0.525, 0.775, 0.325, 0.55])
    r = wilcoxon_test(x - y, alternative="two-sided", zero_method="pratt")
    ref = st.wilcoxon(np.round(x - y, 12), zero_method="pratt", method="approx")
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_wilcoxon_shifted_null_and_zeros():
    rng = np.random.default_rng(2)
    d = np.round(rng.normal(0, 1, 200), 1)
    r = wilcoxon_test(d, null=-0.1)
    ref = st.wilcoxon(
        np.round(d + 0.1, 12),
        zero_method="pratt",
        alternative="greater",
        method="approx",
    )
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.ci_low < r.estimate < r.ci_high
    with pytest.raises(ValueError, match="`zero_method`"):
        wilcoxon_test(d, zero_method="drop")
    assert wilcoxon_test(np.zeros(5)).pvalue == 1.0


def test_sign_test_is_binomtest():
    d = np.array(DARWIN, dtype=float)
    r = sign_test(d, null=10)
    kp, km = int((d > 10).sum()), int((d < 10).sum())
    ref = st.binomtest(kp, kp + km, 0.5, alternative="greater").pvalue
    assert r.pvalue == pytest.approx(ref, rel=1e-12)
    assert r.tests_what == "median of paired differences"
    assert r.ci_low <= np.median(d) <= r.ci_high


def test_permutation_exact_for_small_n():
    d = np.array(DARWIN[:10], dtype=float)
    r = permutation_test(d, rng=np.random.default_rng(0), n_resamples=9999)
    ref = st.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        alternative="greater",
        n_resamples=np.inf,
    )
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert "exact" in r.test
    assert r.mc_se == 0


def test_permutation_random_pvalue_never_zero():
    d = np.full(40, 1.0) + np.random.default_rng(1).normal(0, 0.01, 40)
    r = permutation_test(d, rng=np.random.default_rng(0), n_resamples=999)
    assert r.pvalue == pytest.approx(1 / 1000)


# O9(a): scipy test_resampling.py::test_bootstrap_against_R (R `boot`, 1e6 resamples).
R_X = np.array(
    [10, 12, 12.5, 12.5, 13.9, 15, 21, 22, 23, 34, 50, 81, 89, 121, 134, 213]
)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("percentile", (28.86, 84.21)), ("bca", (32.31, 91.43))],
)
def test_o9_bootstrap_against_r(method, expected):
    r = paired_bootstrap(
        R_X,
        method=method,
        confidence_level=0.95,
        rng=np.random.default_rng(12345),
        n_resamples=200_000,
    )
    assert (r.ci_low, r.ci_high) == pytest.approx(expected, rel=0.01)


def test_bca_closed_form_acceleration_is_the_jackknife():
    rng = np.random.default_rng(3)
    d = rng.lognormal(0, 1, 30)
    jack = np.array([np.delete(d, i).mean() for i in range(d.size)])
    u = jack.mean() - jack
    ref = (u**3).sum() / (6 * ((u**2).sum()) ** 1.5)
    assert bca_acceleration_mean(d) == pytest.approx(ref, rel=1e-10)


def test_o11_constant_bootstrap_returns_the_constant():
    for method in ("percentile", "bca"):
        r = paired_bootstrap(
            np.full(20, 0.3), method=method, rng=np.random.default_rng(0)
        )
        assert r.ci_low == r.ci_high == pytest.approx(0.3)
        assert r.pvalue == 0.0


def test_bootstrap_pvalue_agrees_with_interval():
    d = np.random.default_rng(4).normal(0.05, 1, 300)
    rng = np.random.default_rng(5)
    for method in ("percentile", "bca"):
        r = paired_bootstrap(d, method=method, rng=rng, null=-0.2)
        # the null lies below the 90% interval's lower end: p < 0.05
        assert r.ci_low > -0.2
        assert r.pvalue < 0.05
    with pytest.raises(ValueError, match="`method`"):
        paired_bootstrap(d, method="basic", rng=rng)
