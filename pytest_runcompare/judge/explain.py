"""The one sentence a reviewer reads for a gate, from its numbers and its decision."""

from __future__ import annotations

import math

from pytest_runcompare import text
from pytest_runcompare.judge.spec import Correction, Mode
from pytest_runcompare.judge.verdict import Evidence, Outcome, Settle, TestKind

__all__ = ["explain", "settle_sentence"]


def settle_sentence(s: Settle, numbers: text.GateNumbers, estimate: float) -> str:
    """What more data would do to an INCONCLUSIVE gate."""
    if s.n_needed is None:
        return "the observed change sits on the margin: more datapoints would not settle it"
    toward = str(s.toward)
    if s.n_needed <= s.n_now:
        return (
            "the observed change is close to the margin; more paired datapoints "
            f"would likely make it {toward}"
        )
    return (
        f"about {s.n_needed:,} paired datapoints (now {s.n_now:,}) would likely "
        f"settle it ({toward}) if the change stays at {numbers.change(estimate)}"
    )


def _what(e: Evidence, out: Outcome, f: text.GateNumbers) -> str:
    """The clause that says what the outcome means in the gate's mode."""
    word = str(out).upper()
    m = e.margin or 0.0
    if e.gate.mode is Mode.NON_INFERIORITY:
        what = f"non-inferiority margin {e.margin_text}: {word}, "
        if out is Outcome.PASS:
            return what + (
                f"the candidate is at most {f.value(-e.bound)} worse"
                if e.bound < 0
                else f"the candidate is not worse (at least {f.value(e.bound)} better)"
                if e.bound > 0
                else "the candidate is not worse"
            )
        if out is Outcome.FAIL:
            return what + (
                "the candidate is worse by more than the margin "
                f"(at least {f.value(-e.ci_high)} worse)"
                if math.isfinite(e.ci_high)
                else "the candidate is worse by more than the margin"
            )
        return what + (
            e.inconclusive_reason
            or "the data cannot rule out a regression beyond the margin"
            + (
                f" (the candidate may be up to {f.value(-e.ci_low)} worse)"
                if math.isfinite(e.ci_low) and e.ci_low < 0
                else ""
            )
        )
    if e.gate.mode is Mode.REGRESSION_DETECTION:
        what = f"regression detection (margin {e.margin_text}): {word}, "
        if out is Outcome.FAIL:
            return (
                what
                + "regression detected"
                + (" beyond the margin" if m else "")
                + (
                    f": the candidate is at least {f.value(-e.ci_high)} worse"
                    if math.isfinite(e.ci_high) and e.ci_high < 0
                    else ""
                )
            )
        if out is Outcome.PASS:
            return (
                what
                + "no regression"
                + (
                    f": the candidate is at most {f.value(-e.ci_low)} worse"
                    if math.isfinite(e.ci_low) and e.ci_low < 0
                    else ": the candidate is better"
                    if e.ci_low > 0
                    else ": the candidate is not worse"
                )
            )
        mde = (
            f" (the smallest change this n can detect is {f.value(e.mde)})"
            if math.isfinite(e.mde)
            else ""
        )
        return what + (
            e.inconclusive_reason
            or "no significant regression, but one "
            + (f"of up to {f.value(-e.ci_low)} " if math.isfinite(e.ci_low) else "")
            + f"cannot be ruled out{mde}"
        )
    what = f"equivalence margin ±{e.margin_text}: {word}, "
    if out is Outcome.PASS:
        return what + "the change is within the margin in both directions"
    if out is Outcome.FAIL:
        return what + "the change lies outside the margin"
    return what + (
        e.inconclusive_reason or "the data cannot show the change is within the margin"
    )


def explain(
    e: Evidence,
    outcome: Outcome,
    *,
    p_adjusted: float | None,
    correction: Correction | None,
    settle: Settle | None,
    flag_p_adjusted: float | None = None,
) -> str:
    """One sentence: the change with its interval, the outcome and what it means."""
    g = e.gate
    if e.reason is not None:
        what = "configuration error" if e.config_error else "FAIL (fail closed)"
        return f"{e.key}: {what}: {e.reason}"
    f = text.GateNumbers(e)
    head = (
        f"{e.key}: {f.value(e.baseline_aggregate)} -> {f.value(e.candidate_aggregate)} "
        f"({f.change(e.estimate)}"
    )
    if math.isfinite(e.ci_low) and math.isfinite(e.ci_high):
        head += f", {e.confidence_level:.0%} CI {f.interval(e.ci_low, e.ci_high)}"
    head += ")"
    word = str(outcome).upper()
    if e.kind is TestKind.COUNT:
        return (
            f"{head}; at most {g.max_new_failures} new failures allowed: {word}, "
            f"{e.new_failures} datapoints right in the baseline are wrong in the "
            f"candidate (n = {e.n_paired})"
        )
    stats = f"p = {text.p_value(e.p_value)}"
    if p_adjusted is not None and correction not in (None, Correction.NONE):
        stats += f", {correction}-adjusted {text.p_value(p_adjusted)}"
    if flag_p_adjusted is not None:
        stats += (
            f", worse beyond the margin: p {text.p_value(flag_p_adjusted)} "
            "bh-adjusted across the warn-only slices"
        )
    n_text = f"n = {e.n_paired}" if e.n_paired else f"n = {e.n_units} unpaired"
    stats += f", {e.test}, {n_text}"
    count = ""
    if g.max_new_failures is not None and e.new_failures is not None:
        count = (
            f"; {e.new_failures} new failures (at most {g.max_new_failures} allowed)"
        )
    more = "" if settle is None else f"; {settle_sentence(settle, f, e.estimate)}"
    if e.zero_spread and e.zero_spread not in (e.inconclusive_reason or ""):
        more += f"; {e.zero_spread}"
    tail = "" if g.declared else " [warn-only]"
    return f"{head}; {_what(e, outcome, f)} ({stats}){count}{more}{tail}"
