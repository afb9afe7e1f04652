"""Plain-text view of a sweep: one row per candidate, the ranking, the sweep's outcome.

Shared by the ``runcompare compare`` command and the plugin's terminal summary. Run
strings (labels, metric names) go through :func:`~pytest_runcompare.untrusted.one_line`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_runcompare import text
from pytest_runcompare.render.terminal import Line, Tone, format_table
from pytest_runcompare.untrusted import NAME_CHARS, one_line

if TYPE_CHECKING:
    from pytest_runcompare.sweep import CandidateResult, SweepJudgement

#: failed gates listed per candidate before "and N more"
FAILED_SHOWN = 4


def _name(value: str) -> str:
    return one_line(value, NAME_CHARS)


def level_line(sweep: SweepJudgement) -> str:
    """How the family of candidates x gates is controlled, in one line."""
    k = sweep.size
    level = text.number(sweep.candidate_alpha, digits=3)
    if sweep.candidate_alpha < sweep.alpha:
        how = f"{level} = {text.number(sweep.alpha, digits=3)}/{k}, Bonferroni across candidates"
    else:
        how = f"{level}, no correction across candidates"
    return (
        f"sweep of {k} candidate(s) against one baseline; "
        f"each candidate's gates at alpha {how}"
    )


def _failed(candidate: CandidateResult) -> str:
    keys = [_name(r.key) for r in candidate.judgement.failed]
    shown = ", ".join(keys[:FAILED_SHOWN])
    if len(keys) > FAILED_SHOWN:
        shown += f" and {len(keys) - FAILED_SHOWN} more"
    return shown


def _status(candidate: CandidateResult) -> str:
    if candidate.passed:
        return "passed"
    return "failed (excused)" if candidate.excused else "FAILED"


def sweep_table(sweep: SweepJudgement) -> list[Line]:
    """A header and one coloured row per candidate, in the ranking's order."""
    metric = sweep.metric
    standings = {s.label: s for s in sweep.ranking}
    order = [s.label for s in sweep.ranking] or [c.label for c in sweep.candidates]
    header = ["candidate", "status"]
    if metric is not None:
        header.append(f"{_name(metric)} (+ = better)")
    header.append("failed gates")
    rows: list[list[str]] = []
    tones: list[Tone] = []
    for label in order:
        candidate = sweep.candidate(label)
        row = [_name(label), _status(candidate)]
        if metric is not None:
            s = standings[label]
            numbers = _numbers(candidate, metric)
            row.append(
                f"{numbers.change(s.change)} {numbers.interval(s.ci_low, s.ci_high)}"
                if numbers is not None
                else text.MISSING
            )
        row.append(_failed(candidate))
        rows.append(row)
        if candidate.passed:
            tones.append(Tone.GOOD)
        else:
            tones.append(Tone.WARN if candidate.excused else Tone.BAD)
    lines = format_table(rows, header)
    out = [Line(lines[0], bold=True)]
    out += [Line(line, tone) for line, tone in zip(lines[1:], tones, strict=True)]
    return out


def _numbers(candidate: CandidateResult, metric: str) -> text.GateNumbers | None:
    for result in candidate.judgement.results:
        gate = result.verdict.gate
        if gate.metric == metric and gate.slice is None and gate.step is None:
            return text.GateNumbers(result.verdict)
    return None


def sweep_lines(sweep: SweepJudgement) -> list[Line]:
    """The level line, the table, the best-versus-runner-up sentence and the outcome."""
    out = [Line(level_line(sweep)), *sweep_table(sweep)]
    if sweep.best is not None:
        out.append(Line(f"best: {one_line(sweep.best.text)}"))
    for warning in sweep.warnings:
        out.append(Line(f"warning: {one_line(warning)}", Tone.WARN))
    out.append(Line(sweep.sentence, Tone.GOOD if sweep.passed else Tone.BAD, bold=True))
    return out
