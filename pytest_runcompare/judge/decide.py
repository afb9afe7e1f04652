"""PASS / FAIL / INCONCLUSIVE from a gate's numbers: pure, no data, no options read.

docs/statistics.md §4 states the rules.
"""

from __future__ import annotations

import math

from pytest_runcompare.judge.spec import InconclusivePolicy, Mode
from pytest_runcompare.judge.verdict import Evidence, Outcome, TestKind

__all__ = ["decide", "passes"]


def _non_inferiority(e: Evidence, margin: float) -> Outcome:
    a = e.gate.alpha
    if e.inconclusive_reason:
        return Outcome.INCONCLUSIVE
    if e.p_value <= a:
        return Outcome.PASS
    hi_known = math.isfinite(e.ci_high)
    if (e.ci_high < -margin) if hi_known else (e.p_value_opposite <= a):
        return Outcome.FAIL
    return Outcome.INCONCLUSIVE


def _regression_detection(e: Evidence, margin: float, p: float) -> Outcome:
    a = e.gate.alpha
    if e.inconclusive_reason:
        return Outcome.INCONCLUSIVE
    if p <= a:
        return Outcome.FAIL
    lo_known = math.isfinite(e.ci_low)
    # H0 here is δ ≥ −m, closed: an interval that stays in it, even one ending
    # exactly at −m (identical runs, margin 0), rules the regression out
    if (e.ci_low >= -margin) if lo_known else (e.p_value_opposite <= a):
        return Outcome.PASS
    return Outcome.INCONCLUSIVE


def _equivalence(e: Evidence, margin: float) -> Outcome:
    if e.inconclusive_reason:
        return Outcome.INCONCLUSIVE
    hi_known = math.isfinite(e.ci_high)
    lo_known = math.isfinite(e.ci_low)
    both = hi_known and lo_known
    # A custom test's p-value need not be a TOST: with an interval, the interval decides.
    p_decides = not (both and e.kind is TestKind.CUSTOM)
    if (p_decides and e.p_value <= e.gate.alpha) or (
        both and -margin < e.ci_low and e.ci_high < margin
    ):
        return Outcome.PASS
    if (hi_known and e.ci_high < -margin) or (lo_known and e.ci_low > margin):
        return Outcome.FAIL
    return Outcome.INCONCLUSIVE


def decide(
    e: Evidence, p_adjusted: float | None = None, flag_p_adjusted: float | None = None
) -> Outcome:
    """The outcome of one gate from its evidence and the family's adjusted p-value.

    A warn-only gate whose FAIL does not survive the warn-only family's correction
    (``flag_p_adjusted`` > α) is INCONCLUSIVE: noise across many slices is not flagged.
    """
    g = e.gate
    if e.reason is not None:
        return Outcome.FAIL
    too_many = (
        g.max_new_failures is not None and (e.new_failures or 0) > g.max_new_failures
    )
    if e.kind is TestKind.COUNT:
        return Outcome.FAIL if too_many else Outcome.PASS
    margin = e.margin or 0.0
    if g.mode is Mode.NON_INFERIORITY:
        out = _non_inferiority(e, margin)
    elif g.mode is Mode.REGRESSION_DETECTION:
        p = p_adjusted if p_adjusted is not None else e.p_value
        out = _regression_detection(e, margin, p)
    else:
        out = _equivalence(e, margin)
    if (
        out is Outcome.FAIL
        and not e.gate.declared
        and flag_p_adjusted is not None
        and flag_p_adjusted > g.alpha
    ):
        out = Outcome.INCONCLUSIVE
    return Outcome.FAIL if too_many else out


def passes(e: Evidence, outcome: Outcome) -> bool:
    """Whether the outcome passes the gate under its inconclusive policy."""
    if outcome is Outcome.PASS:
        return True
    return (
        outcome is Outcome.INCONCLUSIVE
        and e.gate.inconclusive_policy is InconclusivePolicy.PASS
    )
