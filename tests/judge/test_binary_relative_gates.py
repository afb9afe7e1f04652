"""Binary gates with a relative margin and regression-detection Tango gates, end to end.

The statistics are checked against references in tests/stats/test_binary_relative.py;
these tests check that ``test: auto`` picks them and orients them (docs/statistics.md §3).
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_runcompare.stats.binary import relative_score_test, tango_test


# ------------------------------------------------------------- through the gate
class _Comparison:
    def __init__(self, base, cand, *, higher_is_better):
        from pytest_runcompare.comparison import PairedMetric

        self.pm = PairedMetric.from_arrays(
            "m", base, cand, boolean=True, higher_is_better=higher_is_better
        )
        self.n_common = self.pm.n

    def paired(self, metric, *, slice=None, step=None):
        return self.pm


def _runs(table):
    """0/1 arrays with the paired table [[both, b], [c, neither]]."""
    (both, b), (c, neither) = table
    base = np.array([1] * both + [1] * b + [0] * c + [0] * neither, dtype=float)
    cand = np.array([1] * both + [0] * b + [1] * c + [0] * neither, dtype=float)
    return base, cand


def test_gate_with_a_relative_margin_runs_the_ratio_score_test():
    from pytest_runcompare.judge import Gate, evaluate_gate
    from pytest_runcompare.judge.verdict import TestKind

    base, cand = _runs([[150, 6], [2, 42]])
    v = evaluate_gate(
        _Comparison(base, cand, higher_is_better=True),
        Gate("m", margin="5%", higher_is_better=True),
    )
    assert v.kind is TestKind.RELATIVE_SCORE
    ref = relative_score_test([[150, 6], [2, 42]], weight=0.95)
    assert v.p_value == pytest.approx(ref.pvalue)
    assert v.estimate == pytest.approx(cand.mean() - base.mean())
    assert v.discordant == (6, 2)


def test_lower_is_better_relative_margin_tests_the_raw_rate():
    from pytest_runcompare.judge import Gate, evaluate_gate
    from pytest_runcompare.judge.verdict import TestKind

    # An error rate: 1 = error. H0: p_cand ≥ 1.2·p_base on the raw rates.
    table = [[10, 2], [6, 182]]
    base, cand = _runs(table)
    v = evaluate_gate(
        _Comparison(base, cand, higher_is_better=False),
        Gate("m", margin="20%", higher_is_better=False),
    )
    assert v.kind is TestKind.RELATIVE_SCORE
    ref = relative_score_test(table, weight=1.2, alternative="less")
    assert v.p_value == pytest.approx(ref.pvalue)
    assert v.estimate == pytest.approx(base.mean() - cand.mean())  # + = better
    assert v.discordant == (6, 2)  # (worse, better): 6 new errors, 2 fixed
    assert v.ci_low < v.estimate < v.ci_high


def test_regression_detection_with_a_margin_uses_the_exact_p_value():
    from pytest_runcompare.judge import Gate, evaluate_gate

    table = [[150, 12], [4, 34]]
    base, cand = _runs(table)
    v = evaluate_gate(
        _Comparison(base, cand, higher_is_better=True),
        Gate("m", mode="regression_detection", margin=0.02, higher_is_better=True),
    )
    assert "exact unconditional" in v.test
    ref = tango_test(
        table, null=-0.02, alternative="less", method="exact-unconditional"
    )
    assert v.p_value == pytest.approx(ref.pvalue)
