"""Seeded simulations of the gates' error rates (STATISTICS.md §1, §2.1, §2.4).

Each runs 1,000 simulated pairs of runs through the real gate code and checks the
rate against alpha plus three binomial standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_runcompare.comparison import PairedMetric
from pytest_runcompare.judge import Gate, Outcome, evaluate_gate
from pytest_runcompare.stats.continuous import bootstrap_t, conservative, paired_t

SIMS = 1000
ALPHA = 0.05
SLACK = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / SIMS)  # ≈ 0.071


class FakeComparison:
    """Just enough of RunComparisonResult for ``evaluate_gate``."""

    def __init__(self, base, cand, *, boolean=False):
        self.pm = PairedMetric.from_arrays("m", base, cand, boolean=boolean)
        self.n_common = self.pm.n

    def paired(self, metric, *, slice=None, step=None):
        return self.pm


def _binary_pairs(rng, n, p_b_only, p_c_only, p_both=0.7):
    """Paired 0/1 outcomes with P(base right, cand wrong) = p_b_only etc."""
    u = rng.random((SIMS, n))
    base = (u < p_both + p_b_only).astype(float)
    cand = (u < p_both) | (
        (u >= p_both + p_b_only) & (u < p_both + p_b_only + p_c_only)
    )
    return base, cand.astype(float)


def _rate(gates_outcomes):
    return float(np.mean(gates_outcomes))


def test_aa_false_fail_regression_detection_continuous():
    rng = np.random.default_rng(101)
    base = rng.normal(0.5, 0.1, (SIMS, 1000))
    cand = base + rng.normal(0, 0.05, (SIMS, 1000))
    gate = Gate("m", mode="regression_detection")
    fails = [
        evaluate_gate(FakeComparison(b, c), gate).outcome is Outcome.FAIL
        for b, c in zip(base, cand, strict=True)
    ]
    assert _rate(fails) <= SLACK


def test_aa_false_fail_regression_detection_binary_mcnemar():
    rng = np.random.default_rng(102)
    base, cand = _binary_pairs(rng, 2000, 0.04, 0.04)
    gate = Gate("m", mode="regression_detection")
    out = [
        evaluate_gate(FakeComparison(b, c, boolean=True), gate)
        for b, c in zip(base, cand, strict=True)
    ]
    assert out[0].test == "McNemar mid-p"
    assert _rate([v.outcome is Outcome.FAIL for v in out]) <= SLACK


def test_ni_false_pass_at_margin_continuous():
    rng = np.random.default_rng(103)
    base = rng.normal(0.5, 0.1, (SIMS, 1000))
    cand = base - 0.01 + rng.normal(0, 0.05, (SIMS, 1000))
    gate = Gate("m", margin=0.01)
    passes = [
        evaluate_gate(FakeComparison(b, c), gate).passed
        for b, c in zip(base, cand, strict=True)
    ]
    assert _rate(passes) <= SLACK


@pytest.mark.parametrize(("p_b", "p_c", "n"), [(0.03, 0.01, 200), (0.06, 0.04, 500)])
def test_ni_false_pass_at_margin_binary_tango(p_b, p_c, n):
    # STATISTICS.md §2.4: at the NI boundary Tango holds its level where a paired t
    # on {-1, 0, 1} reached 7.6% (0.03 / 0.01, n = 200).
    rng = np.random.default_rng(104)
    base, cand = _binary_pairs(rng, n, p_b, p_c)
    gate = Gate("m", margin=0.02)
    out = [
        evaluate_gate(FakeComparison(b, c, boolean=True), gate)
        for b, c in zip(base, cand, strict=True)
    ]
    assert out[0].test == "Tango score test"
    assert _rate([v.passed for v in out]) <= SLACK


def _left_skewed(rng, shape, mean):
    """Most datapoints unchanged, a few much worse; population mean = ``mean``."""
    hit = rng.random(shape) < 0.05
    tail = -rng.exponential(1.0, shape)
    d = np.where(hit, tail, rng.normal(0, 0.02, shape))
    return d - (-0.05) + mean  # E[d] = 0.05 * -1 = -0.05 before the shift


def test_ni_false_pass_at_margin_left_skewed_large_n():
    # Skewness ≈ -10 (5% of datapoints fall by Exp(1)): the plain t bound alone
    # false-passes 8.0% at n = 2000; the default adds the skewness-corrected t.
    rng = np.random.default_rng(105)
    d = _left_skewed(rng, (SIMS, 2000), -0.02)
    base = np.zeros(2000)
    gate = Gate("m", margin=0.02)
    passes = [evaluate_gate(FakeComparison(base, row), gate).passed for row in d]
    assert _rate(passes) <= SLACK


def test_ni_false_pass_left_skewed_small_n_bootstrap_t_rescues_t():
    # At n = 200 the t bound alone is too optimistic for left-skewed d
    # (STATISTICS.md §2.1); the default keeps the more conservative bootstrap-t.
    rng = np.random.default_rng(106)
    n, sims = 200, 600
    d = _left_skewed(rng, (sims, n), -0.02)
    t_pass, both_pass = [], []
    boot_rng = np.random.default_rng(0)
    for row in d:
        t = paired_t(row, null=-0.02)
        bt = bootstrap_t(row, null=-0.02, rng=boot_rng, n_resamples=999)
        t_pass.append(t.pvalue <= ALPHA)
        both_pass.append(conservative(t, bt, "x").pvalue <= ALPHA)
    slack = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / sims)
    assert _rate(both_pass) <= slack
    assert _rate(both_pass) < _rate(t_pass)


@pytest.mark.parametrize("mode", ["non_inferiority", "regression_detection"])
def test_power_planted_regression_twice_margin_continuous(mode):
    rng = np.random.default_rng(107)
    base = rng.normal(0.5, 0.1, (SIMS, 2000))
    cand = base - 0.02 + rng.normal(0, 0.12, (SIMS, 2000))
    gate = Gate("m", margin=0.01, mode=mode)
    fails = [
        not evaluate_gate(FakeComparison(b, c), gate).passed
        for b, c in zip(base, cand, strict=True)
    ]
    assert _rate(fails) >= 0.90


@pytest.mark.parametrize("mode", ["non_inferiority", "regression_detection"])
def test_power_planted_regression_twice_margin_binary(mode):
    rng = np.random.default_rng(108)
    base, cand = _binary_pairs(rng, 2000, 0.05, 0.01)  # δ = -0.04 = 2 × margin
    gate = Gate("m", margin=0.02, mode=mode)
    fails = [
        not evaluate_gate(FakeComparison(b, c, boolean=True), gate).passed
        for b, c in zip(base, cand, strict=True)
    ]
    assert _rate(fails) >= 0.90


def test_ni_false_pass_at_margin_moderately_left_skewed_large_n():
    # 20% of datapoints regress by Exp(0.1) (skewness ≈ -4), the population mean
    # sits at the margin; the plain t bound alone false-passes 7.5% at n = 2000.
    rng = np.random.default_rng(110)
    hit = rng.random((SIMS, 2000)) < 0.2
    d = np.where(hit, -rng.exponential(0.1, (SIMS, 2000)), 0.0) + 0.02 - 0.02
    base = np.zeros(2000)
    gate = Gate("m", margin=0.02)
    passes = [evaluate_gate(FakeComparison(base, row), gate).passed for row in d]
    assert _rate(passes) <= SLACK


def test_power_planted_regression_left_skewed():
    rng = np.random.default_rng(109)
    d = _left_skewed(rng, (SIMS, 2000), -0.04)
    base = np.zeros(2000)
    gate = Gate("m", margin=0.02, mode="regression_detection")
    fails = [not evaluate_gate(FakeComparison(base, row), gate).passed for row in d]
    assert _rate(fails) >= 0.90
