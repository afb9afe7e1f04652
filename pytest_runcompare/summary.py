"""Plain-text views of a judgement: the gate table and a gate's failure message.

Shared by the terminal summary of the plugin and by the ``runcompare`` command.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import GateResult, Judgement
    from pytest_runcompare.verdict import Verdict

#: ``change`` and ``interval`` are the verdict's: oriented so that + means better.
HEADER = ("gate", "old", "new", "change (+ = better)", "interval", "p (adj)", "outcome")


def run_notes(comparison: RunComparisonResult) -> list[str]:
    """What the readers said about the two runs: incomplete runs, skipped fields."""
    notes = []
    for role, run in (
        ("baseline", comparison.baseline),
        ("candidate", comparison.candidate),
    ):
        if not run.meta.complete and not any("incomplete" in w for w in run.warnings):
            notes.append(f"{role} {run.name}: the run is marked incomplete")
        notes.extend(f"{role}: {warning}" for warning in run.warnings)
    return notes


def _num(value: Any, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:+.4g}" if signed else f"{value:.4g}"
    return text


def verdict_row(verdict: Verdict, status: str) -> tuple[str, ...]:
    """One table row: key, aggregates, change, interval, p-values, outcome."""
    p = _num(verdict.p_value)
    if verdict.p_adjusted is not None and not math.isnan(verdict.p_adjusted):
        p += f" ({_num(verdict.p_adjusted)})"
    interval = "-"
    if math.isfinite(verdict.ci_low) and math.isfinite(verdict.ci_high):
        interval = f"[{_num(verdict.ci_low, True)}, {_num(verdict.ci_high, True)}]"
    outcome = (
        status if status == str(verdict.outcome) else f"{status} ({verdict.outcome})"
    )
    return (
        verdict.key,
        _num(verdict.baseline_aggregate),
        _num(verdict.candidate_aggregate),
        _num(verdict.estimate, True),
        interval,
        p,
        outcome,
    )


def gate_rows(
    judgement: Judgement, *, warn_only: bool = False
) -> list[tuple[str, ...]]:
    """Rows of the gate table; warn-only slice verdicts that failed come after."""
    rows = [verdict_row(r.verdict, str(r.status)) for r in judgement.results]
    if warn_only:
        rows += [
            verdict_row(v, "warning")
            for v in judgement.warn_only
            if str(v.outcome) == "fail"
        ]
    return rows


def format_table(
    rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER
) -> list[str]:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()
    ]
    for row in rows:
        lines.append(
            "  ".join(
                str(c).ljust(w) for c, w in zip(row, widths, strict=True)
            ).rstrip()
        )
    return lines


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def worst_regressions(
    comparison: RunComparisonResult, verdict: Verdict, k: int = 5
) -> list[str]:
    """The ``k`` datapoints that regressed most on the gate's metric, old -> new output."""
    import numpy as np

    gate = verdict.gate
    try:
        paired = comparison.paired(gate.metric, slice=gate.slice, step=gate.step)
    except Exception:  # a message helper never hides the verdict behind its own error
        return []
    if paired.n == 0:
        return []
    d = paired.candidate - paired.baseline
    if not paired.higher_is_better:
        d = -d
    order = np.argsort(d, kind="stable")[:k]
    base_table = (
        comparison.baseline.datapoints
        if gate.step is None
        else comparison.baseline.steps[gate.step]
    )
    cand_table = (
        comparison.candidate.datapoints
        if gate.step is None
        else comparison.candidate.steps[gate.step]
    )
    lines = []
    for i in order.tolist():
        if d[i] >= 0:
            break
        key = paired.id_at(i)
        old = base_table.outputs[base_table.index[key]]
        new = cand_table.outputs[cand_table.index[key]]
        lines.append(
            f"  {key}: {paired.baseline[i]:.4g} -> {paired.candidate[i]:.4g}   "
            f"{_short(old)!s} -> {_short(new)!s}"
        )
    return lines


def settle_text(verdict: Verdict) -> str | None:
    """How many paired datapoints would settle an INCONCLUSIVE gate at the observed change.

    The interval must clear the margin: at the observed change δ̂ and standard error
    ``se`` (from the interval), n ≈ n_now · ((z_{1−α} + z_{0.8}) · se / |δ̂ + m|)²,
    toward PASS when δ̂ > −m and toward FAIL when δ̂ < −m.
    """
    from statistics import NormalDist

    if str(verdict.outcome) != "inconclusive" or verdict.margin is None:
        return None
    if verdict.inconclusive_reason:
        return verdict.inconclusive_reason
    n = verdict.n_paired or verdict.n_units
    if not (n and math.isfinite(verdict.ci_low) and math.isfinite(verdict.ci_high)):
        return None
    normal = NormalDist()
    z = normal.inv_cdf(1 - verdict.gate.alpha)
    se = (verdict.ci_high - verdict.ci_low) / (2 * z)
    gap = verdict.estimate + verdict.margin
    if se <= 0 or not math.isfinite(gap) or gap == 0:
        return "the observed change sits on the margin: more datapoints would not settle it"
    need = math.ceil(n * ((z + normal.inv_cdf(0.8)) * se / abs(gap)) ** 2)
    toward = "pass" if gap > 0 else "fail"
    if need <= n:
        return (
            "the observed change is close to the margin; more paired datapoints "
            f"would likely make it {toward}"
        )
    return (
        f"about {need:,} paired datapoints (now {n:,}) would likely settle it "
        f"({toward}) if the change stays at {verdict.estimate:+.4g}"
    )


def failure_message(
    result: GateResult,
    comparison: RunComparisonResult | None,
    *,
    report: str | None = None,
) -> str:
    """What a failing gate says: the verdict's sentence, counts, worst datapoints, report."""
    verdict = result.verdict
    lines = [result.message]
    if verdict.reason is None:
        lines.append(
            f"datapoints: {verdict.degraded_count} regressed, {verdict.improved_count} "
            f"improved, {verdict.unchanged_count} unchanged (n = {verdict.n_paired})"
        )
        p = f"p = {verdict.p_value:.3g}"
        if verdict.p_adjusted is not None and not math.isnan(verdict.p_adjusted):
            p += f", adjusted ({verdict.correction}) {verdict.p_adjusted:.3g}"
        lines.append(
            f"test: {verdict.test} ({verdict.tests_what}), mode {verdict.mode}, "
            f"margin {verdict.margin_text or '-'}, {p}"
        )
        settle = settle_text(verdict)
        if settle:
            lines.append(f"inconclusive: {settle}")

    if comparison is not None:
        worst = worst_regressions(comparison, verdict)
        if worst:
            lines.append(
                "worst regressed datapoints (metric old -> new, output old -> new):"
            )
            lines.extend(worst)
    for warning in verdict.warnings:
        lines.append(f"warning: {warning}")
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)
