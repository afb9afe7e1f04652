"""The betting bound for bounded differences, against a reference and by simulation.

The reference is the predictable plug-in capital of the ``confseq`` package
(Waudby-Smith & Howard, MIT licence: ``betting_strategies.lambda_predmix_eb`` with
``fixed_n`` and the positive part of ``betting.betting_mart``), restated here as a
plain loop over the observations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_runcompare.stats.betting import TRUNCATION, _log_capital, betting_mean_test


def _confseq_capital(x: np.ndarray, m: float, alpha: float, trunc: float) -> float:
    """confseq's ``betting_mart(x, m, theta=1, trunc_scale=trunc)`` with
    ``lambda_predmix_eb(x, alpha=alpha, fixed_n=len(x))``, at its last step."""
    n = len(x)
    mean, var = 0.5, 0.25  # prior_mean, prior_variance, one fake observation
    total, squares = 0.5, 0.25
    capital = 1.0
    for t, xt in enumerate(x, start=1):
        lam = math.sqrt(2 * math.log(1 / alpha) / (n * var))  # σ²_{t−1}
        lam = min(lam, trunc / m)
        capital *= 1 + lam * (xt - m)
        total += xt
        mean = min(total / (t + 1), 1.0)
        squares += (xt - mean) ** 2
        var = squares / (t + 1)
    return capital


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("m", [0.2, 0.45, 0.5, 0.7])
def test_capital_matches_the_confseq_reference(seed, m):
    rng = np.random.default_rng(seed)
    x = np.clip(rng.beta(0.5, 0.5, 37), 0, 1)
    ours = _log_capital(x[None, :], np.array([m]), 0.05)[0, 0]
    ref = _confseq_capital(x, m, 0.05, TRUNCATION)
    assert ours == pytest.approx(math.log(ref), rel=1e-10, abs=1e-10)


def test_bound_clears_the_null_exactly_when_the_p_value_does():
    rng = np.random.default_rng(3)
    for i in range(20):
        d = np.where(rng.random(30) < 0.1, -1.0, rng.uniform(-0.1, 0.3, 30))
        for null in (-0.2, -0.1, 0.0):
            r = betting_mean_test(
                d, lower=-1, upper=1, null=null, rng=np.random.default_rng(i)
            )
            assert (r.pvalue <= 0.05) == (r.ci_low > null)


def test_identical_runs_cannot_rule_out_what_20_datapoints_cannot_see():
    """All 20 differences 0: the bound still allows for unseen datapoints at −1."""
    r = betting_mean_test(
        np.zeros(20), lower=-1, upper=1, null=-0.1, rng=np.random.default_rng(0)
    )
    assert r.estimate == 0
    assert -0.25 < r.ci_low < -0.1  # wider than the rule of three's 0.14 share
    assert r.pvalue > 0.05


def test_holds_its_level_where_the_t_does_not():
    """A few datapoints fall from 1 to 0 (mean exactly at the null): the t passes
    often at n = 20, the betting bound at most α."""
    from scipy import stats as st

    rng = np.random.default_rng(11)
    n, sims, null = 20, 200, -0.05
    bet = t = 0
    for i in range(sims):
        d = np.where(rng.random(n) < 0.05, -1.0, 0.0) + rng.normal(0, 0.02, n)
        d = np.clip(d - (d.mean() - d.mean()), -1, 1)
        shift = null - (-0.05)  # the population mean is -0.05
        d = np.clip(d + shift, -1, 1)
        if d.min() == d.max():
            continue
        r = betting_mean_test(
            d, lower=-1, upper=1, null=null, rng=np.random.default_rng(i)
        )
        bet += r.pvalue <= 0.05
        t += st.ttest_1samp(d, null, alternative="greater").pvalue <= 0.05
    assert t / sims > 0.2
    assert bet / sims <= 0.05


def test_rejects_differences_outside_the_range():
    with pytest.raises(ValueError, match="lie in"):
        betting_mean_test(
            np.array([0.5, 1.5]), lower=-1, upper=1, rng=np.random.default_rng(0)
        )
