"""Plain-text views of a judgement: the gate table, a gate's failure message, the notes.

Shared by the terminal summary of the plugin and by the ``runcompare`` command, so
that both print the same rows, the same messages and the same notes. Every string
that comes from run data (keys, ids, outputs, warnings) goes through
:func:`~pytest_runcompare.untrusted.one_line` here, so no face can print it raw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pytest_runcompare import text
from pytest_runcompare.render.model import status_word, tone
from pytest_runcompare.untrusted import MESSAGE_CHARS, NAME_CHARS, clip_words, one_line

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.judge import Verdict
    from pytest_runcompare.pipeline import GateResult, Judgement

#: ``change`` and ``interval`` are the verdict's: oriented so that + means better.
HEADER = ("gate", "old", "new", "change (+ = better)", "interval", "p (adj)", "status")


class Tone(StrEnum):
    """How a line should be coloured."""

    GOOD = "green"
    BAD = "red"
    WARN = "yellow"
    PLAIN = "white"


_TONES = {"pass": Tone.GOOD, "fail": Tone.BAD, "inconclusive": Tone.WARN}


@dataclass(frozen=True, slots=True)
class Line:
    """One line of terminal output and its colour."""

    text: str
    tone: Tone = Tone.PLAIN
    bold: bool = False


def gate_row(result: GateResult) -> tuple[str, ...]:
    """One table row: key, aggregates, change, interval, p-values, final status."""
    v = result.verdict
    f = text.GateNumbers(v)
    p = text.p_value(v.p_value)
    if v.p_adjusted is not None:
        p += f" ({text.p_value(v.p_adjusted)})"
    return (
        one_line(v.key, NAME_CHARS) + (" (assertion)" if result.assertion else ""),
        f.value(v.baseline_aggregate),
        f.value(v.candidate_aggregate),
        f.change(v.estimate),
        f.interval(v.ci_low, v.ci_high),
        p,
        status_word(result),
    )


def table_results(
    judgement: Judgement, ran: set[str] | None = None
) -> list[GateResult]:
    """The rows of the table: gates (those that ran), assertions, flagged warn-only gates."""
    from pytest_runcompare.judge import Outcome

    gates = [r for r in judgement.results if ran is None or r.key in ran]
    flagged = [r for r in judgement.warn_only if r.outcome is Outcome.FAIL]
    return [*gates, *judgement.assertions, *flagged]


def format_table(
    rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER
) -> list[str]:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def gate_table(judgement: Judgement, ran: set[str] | None = None) -> list[Line]:
    """The gate table, a header line and a coloured line per gate."""
    results = table_results(judgement, ran)
    lines = format_table([gate_row(r) for r in results])
    out = [Line(lines[0], bold=True)]
    out += [
        Line(line, _TONES[tone(r)]) for r, line in zip(results, lines[1:], strict=True)
    ]
    return out


def session_lines(
    judgement: Judgement, *, where: Any = None, ungated: Sequence[str] = ()
) -> list[Line]:
    """What every face prints under the table: the session's facts and warnings.

    ``where(line)`` names the gates file's place of a waiver (``runcompare.yaml:12: ``).
    """
    from pytest_runcompare.judge import Outcome, RunPolicy

    out: list[Line] = []
    if judgement.warn_only:
        undecided = sum(r.outcome is Outcome.INCONCLUSIVE for r in judgement.warn_only)
        out.append(
            Line(
                f"slices without a gate (warn-only): {len(judgement.warn_only)} judged, "
                f"{undecided} inconclusive; declare `slices:` on a metric to gate them"
            )
        )
    if judgement.all_pass_bound is not None:
        out.append(
            Line(
                "chance that every non-inferiority gate passes if nothing changed: "
                f"at most {judgement.all_pass_bound:.0%} (the least powered gate, "
                f"{one_line(judgement.least_powered, NAME_CHARS)})"
            )
        )
    for warning in judgement.warnings:
        out.append(Line(f"warning: {_sentence(warning)}", Tone.WARN))
    policy_fails = judgement.compatibility_policy is RunPolicy.FAIL
    for problem in judgement.compatibility.problems:
        out.append(
            Line(
                f"compatibility: {_sentence(problem)}",
                Tone.BAD if policy_fails else Tone.WARN,
            )
        )
    for note in judgement.compatibility.notes:
        out.append(Line(f"note: {_sentence(note)}"))
    for waiver in judgement.unmatched_waivers:
        place = where(waiver.line) if where is not None else ""
        out.append(
            Line(
                f"{place}waiver for {one_line(waiver.describe())} matches nothing: "
                f"{one_line(waiver.reason)}",
                Tone.WARN,
            )
        )
    if judgement.stale_metrics:
        out.append(
            Line(
                f"{len(judgement.stale_metrics)} baseline metric(s) not checked by any "
                "gate: " + _names(judgement.stale_metrics),
                Tone.WARN,
            )
        )
    if judgement.assumed_directions:
        out.append(
            Line(
                "assumed higher is better (nothing declared a direction): "
                + _names(judgement.assumed_directions)
            )
        )
    if ungated:
        out.append(
            Line(
                "aggregate-only metrics, not gated (no per-datapoint values): "
                + _names(ungated),
                Tone.WARN,
            )
        )
    return out


def _names(names: Sequence[str]) -> str:
    """Metric names from run data, each shown safely and bounded, comma-separated."""
    return ", ".join(one_line(n, NAME_CHARS) for n in names)


def _short(value: Any, limit: int = 60) -> str:
    s = value if isinstance(value, str) else repr(value)
    s = " ".join(str(s).split())
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return one_line(s)


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
            f"  {one_line(key, NAME_CHARS)}: {text.number(paired.baseline[i])} -> "
            f"{text.number(paired.candidate[i])}   {_short(old)} -> {_short(new)}"
        )
    return lines


def message(result: GateResult) -> str:
    """A gate's reasons and sentence (``GateResult.message``), safe on a terminal or log."""
    return "\n".join(_sentence(line) for line in result.message_lines)


def _sentence(text: str) -> str:
    """A sentence around run data: names in it bounded, then the whole, on one line."""
    return one_line(clip_words(text, NAME_CHARS), MESSAGE_CHARS)


def failure_message(
    result: GateResult,
    comparison: RunComparisonResult | None,
    *,
    report: str | None = None,
) -> str:
    """What a failing gate says: its reasons and sentence, counts, worst datapoints.

    Each line is safe on a terminal or CI log: the strings of run data in it are
    shown escaped, and no line starts a workflow command.
    """
    verdict = result.verdict
    lines = [message(result)]
    if verdict.reason is None:
        lines.append(
            f"datapoints: {verdict.degraded_count} regressed, {verdict.improved_count} "
            f"improved, {verdict.unchanged_count} unchanged (n = {verdict.n_paired})"
        )
        p = f"p = {text.p_value(verdict.p_value)}"
        if verdict.p_adjusted is not None:
            p += f", adjusted ({verdict.correction}) {text.p_value(verdict.p_adjusted)}"
        lines.append(
            f"test: {verdict.test} ({verdict.tests_what}), mode {verdict.mode}, "
            f"margin {verdict.margin_text or '-'}, {p}"
        )
    if comparison is not None:
        worst = worst_regressions(comparison, verdict)
        if worst:
            lines.append(
                "worst regressed datapoints (metric old -> new, output old -> new):"
            )
            lines.extend(worst)
    for warning in verdict.warnings:
        lines.append(f"warning: {_sentence(warning)}")
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)
