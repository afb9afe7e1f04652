"""Bahadur quantile differences and ratio-of-sums rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from pytest_runcompare.stats.quantiles import (
    hall_sheather_bandwidth,
    quantile_difference,
)
from pytest_runcompare.stats.ratio import ratio_bootstrap, ratio_difference


def test_hall_sheather_formula():
    n, q = 1000, 0.95
    x = st.norm.ppf(q)
    ref = (
        n ** (-1 / 3)
        * st.norm.ppf(0.975) ** (2 / 3)
        * (1.5 * st.norm.pdf(x) ** 2 / (2 * x * x + 1)) ** (1 / 3)
    )
    assert hall_sheather_bandwidth(n, q) == pytest.approx(ref, rel=1e-12)


def test_bahadur_se_matches_monte_carlo_sd():
    # STATISTICS.md §2.7: lognormal latencies, candidate = baseline x lognormal(0, 0.1);
    # at n = 10 000 the analytic SE (2.18) matched the Monte Carlo SD (2.17).
    rng = np.random.default_rng(11)
    n, reps = 10_000, 150
    est, ses = [], []
    for _ in range(reps):
        b = rng.lognormal(5, 0.5, n)
        c = b * rng.lognormal(0, 0.1, n)
        r = quantile_difference(c, b, q=0.95)
        est.append(r.estimate)
        ses.append(r.se)
    sd = np.std(est, ddof=1)
    assert np.mean(ses) == pytest.approx(sd, rel=0.2)


def test_quantile_orientation_relative_and_tail_rule():
    rng = np.random.default_rng(12)
    b = rng.lognormal(5, 0.5, 400)
    c = b * 1.01
    hi = quantile_difference(c, b, q=0.5)
    lo = quantile_difference(c, b, q=0.5, higher_is_better=False)
    assert hi.estimate == pytest.approx(-lo.estimate)
    assert hi.estimate == pytest.approx(np.quantile(c, 0.5) - np.quantile(b, 0.5))
    rel = quantile_difference(c, b, q=0.5, baseline_weight=0.98)
    assert rel.estimate == pytest.approx(
        np.quantile(c, 0.5) - 0.98 * np.quantile(b, 0.5)
    )
    assert quantile_difference(c, b, q=0.95).inconclusive is None  # 400 * 0.05 = 20
    r = quantile_difference(c[:300], b[:300], q=0.95)
    assert r.inconclusive is not None
    assert "not enough tail data" in r.inconclusive
    with pytest.raises(ValueError, match="same length"):
        quantile_difference(c, b[:10], q=0.5)
    with pytest.raises(ValueError, match=r"`q` must be in \(0, 1\)"):
        quantile_difference(c, b, q=95)


def test_delta_method_matches_bootstrap_se():
    rng = np.random.default_rng(13)
    n = 400
    xb = rng.integers(1, 50, n).astype(float)
    yb = rng.binomial(xb.astype(int), 0.1).astype(float)
    xc, yc = xb, rng.binomial(xb.astype(int), 0.1).astype(float)
    d = ratio_difference(yc, xc, yb, xb, higher_is_better=False)
    assert d.estimate == pytest.approx(-(yc.sum() / xc.sum() - yb.sum() / xb.sum()))
    bs = ratio_bootstrap(
        yc,
        xc,
        yb,
        xb,
        higher_is_better=False,
        rng=np.random.default_rng(0),
        n_resamples=2000,
    )
    assert bs.estimate == pytest.approx(d.estimate)
    assert bs.se == pytest.approx(d.se, rel=0.15)
    with pytest.raises(ValueError, match="sums to zero"):
        ratio_difference(yc, np.zeros(n), yb, xb)
    with pytest.raises(ValueError, match="same length"):
        ratio_difference(yc, xc, yb[:5], xb[:5])
