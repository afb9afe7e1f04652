"""The sweep report's view-model: plain values computed once from a SweepJudgement.

The HTML and Markdown sweep reports read these dicts, so that a candidate's verdict,
its change and its interval read the same in both. Colours follow the one rule of
:func:`pytest_runcompare.render.model.tone`, with the sweep's own twist: a gate of a
candidate excused under ``require: any`` does not fail the session, so it is amber,
not red. Nothing here produces markup.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_runcompare import text
from pytest_runcompare.render.model import (
    Tone,
    bounded,
    fmt_value,
    status_word,
    tone,
)

if TYPE_CHECKING:
    from pytest_runcompare.pipeline import GateResult
    from pytest_runcompare.sweep import CandidateResult, SweepJudgement

#: A numeric param is drawn on a log axis when its largest value is at least this
#: many times its smallest (all positive): a grid like 0.01, 0.1, 1, 10.
LOG_SPAN = 100.0
#: Failed gates named per candidate in the table (the rest counted).
FAILED_SHOWN = 5
#: Lineage differences named per candidate in the table (the rest counted).
LINEAGE_SHOWN = 4
#: Longest file name (before ``.html``) of a pair report.
PAIR_NAME_CHARS = 60
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: Names Windows refuses whatever the extension.
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
)


# --------------------------------------------------------------------------- pairs
def pair_file_names(labels: Sequence[str]) -> dict[str, str]:
    """A safe, unique file name (``<name>.html``) for each candidate's pair report.

    A label made only of letters, digits, ``.``, ``_`` and ``-`` (not starting with
    ``.``) keeps its name; any other, and any name that would collide with another
    one ignoring case (macOS and Windows file systems), gets its unsafe characters
    replaced by ``_`` and a short hash of the full label appended. Same labels, same
    names.
    """
    plain: dict[str, str] = {}
    for label in labels:
        safe = _UNSAFE_NAME.sub("_", label).strip("._")[:PAIR_NAME_CHARS] or "run"
        plain[label] = safe
    folded: dict[str, int] = {}
    for safe in plain.values():
        folded[safe.lower()] = folded.get(safe.lower(), 0) + 1
    names: dict[str, str] = {}
    taken: set[str] = set()
    for label, safe in plain.items():
        keep = (
            safe == label
            and folded[safe.lower()] == 1
            and safe.lower().split(".")[0] not in _RESERVED
        )
        name = safe
        if not keep:
            digest = hashlib.sha256(label.encode("utf-8", "surrogatepass")).hexdigest()
            name = f"{safe}-{digest[:10]}"
        while name.lower() in taken:  # a hash collision: never in practice
            name += "_"
        taken.add(name.lower())
        names[label] = name + ".html"
    return names


# --------------------------------------------------------------------------- gates
def top_gates(results: Sequence[GateResult]) -> list[GateResult]:
    """The gates on a whole metric (no slice, no step): the table's columns."""
    return [
        r
        for r in results
        if r.verdict.gate.slice is None and r.verdict.gate.step is None
    ]


def gate_tone(c: CandidateResult, result: GateResult) -> Tone:
    """One gate's colour in the sweep: red only when it fails the session.

    The rule of :meth:`SweepJudgement.fails_session`: a failing gate of a candidate
    excused under ``require: any`` does not.
    """
    shade = tone(result)
    if shade is Tone.FAIL and c.excused is not None:
        return Tone.WARN
    return shade


def _looks(c: CandidateResult) -> bool:
    """Whether a candidate asks a reviewer to look at it, though it passes.

    A declared gate not a plain pass (waived, inconclusive passed by policy) or a
    flagged warn-only slice; a warn-only gate merely inconclusive is not flagged
    (as the two-run summary counts).
    """
    from pytest_runcompare.judge import Outcome

    if any(gate_tone(c, r) is not Tone.PASS for r in c.judgement.blocking):
        return True
    return any(r.outcome is Outcome.FAIL for r in c.judgement.warn_only)


def candidate_tone(c: CandidateResult) -> Tone:
    """A candidate's colour: red when it fails the session, amber when it asks a look.

    Amber too for a candidate whose gates fail but that is excused under
    ``require: any`` (another candidate passes): it does not fail the session.
    """
    if not c.passed:
        return Tone.WARN if c.excused is not None else Tone.FAIL
    return Tone.WARN if _looks(c) else Tone.PASS


def candidate_word(c: CandidateResult) -> str:
    """``pass``, ``fail``, ``fail (excused)`` or ``pass, with warnings``, for the badge."""
    if not c.passed:
        return "fail (excused)" if c.excused is not None else "fail"
    return "pass, with warnings" if _looks(c) else "pass"


def sweep_overall(sweep: SweepJudgement) -> str:
    """The sweep's badge: ``fail``, ``pass`` or ``inconclusive`` (passes, look)."""
    if not sweep.passed:
        return "fail"
    if any(candidate_tone(c) is not Tone.PASS for c in sweep.candidates):
        return "inconclusive"
    return "pass"


@dataclass(frozen=True, slots=True)
class _ColumnFigures:
    """One gate column's figures, so that every candidate's change reads alike."""

    baseline_aggregate: float
    candidate_aggregate: float
    margin: float | None
    ci_low: float
    ci_high: float


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _column_numbers(results: Sequence[GateResult]) -> text.GateNumbers:
    """The decimals of one gate column: the largest aggregate, the narrowest interval."""
    values = [
        abs(x)
        for r in results
        for x in (r.verdict.baseline_aggregate, r.verdict.candidate_aggregate)
        if math.isfinite(x)
    ]
    widths = [
        r.verdict.ci_high - r.verdict.ci_low
        for r in results
        if math.isfinite(r.verdict.ci_high - r.verdict.ci_low)
        and r.verdict.ci_high > r.verdict.ci_low
    ]
    margin = next((r.verdict.margin for r in results if r.verdict.margin), None)
    width = min(widths, default=math.nan)
    return text.GateNumbers(
        _ColumnFigures(
            max(values, default=math.nan),
            0.0,
            margin,
            0.0 if math.isnan(width) else -width / 2,
            0.0 if math.isnan(width) else width / 2,
        )
    )


# --------------------------------------------------------------------------- params
def _param_text(value: Any) -> str:
    return fmt_value(value, 80)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return _finite(value)


def _param_column(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """One param as a plot axis: linear, log (spans decades) or categories."""
    present = [v for v in values if v is not None]
    numbers = [_number(v) for v in present]
    if present and all(x is not None for x in numbers):
        xs = [x for x in numbers if x is not None]
        log = min(xs) > 0 and max(xs) / min(xs) >= LOG_SPAN
        return {
            "key": "p:" + name,
            "name": name,
            "group": "param",
            "kind": "log" if log else "linear",
            "categories": [],
            "hib": None,
            "values": [_number(v) for v in values],
        }
    shown = [None if v is None else _param_text(v) for v in values]
    categories = sorted({s for s in shown if s is not None}, key=_natural)
    if any(s is None for s in shown):
        categories.append("—")
    index = {c: i for i, c in enumerate(categories)}
    return {
        "key": "p:" + name,
        "name": name,
        "group": "param",
        "kind": "category",
        "categories": categories,
        "hib": None,
        "values": [index["—" if s is None else s] for s in shown],
    }


def _natural(s: str) -> tuple[Any, ...]:
    """Sort ``x2`` before ``x10``."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", s)
        if part
    )


def _varying(runs: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Param names that differ between the runs (baseline first), and the fixed ones."""
    names: dict[str, None] = {}
    for params in runs:
        for k in params:
            names.setdefault(str(k), None)
    varying: list[str] = []
    fixed: list[str] = []
    for name in names:
        shown = {_param_text(p.get(name)) if name in p else None for p in runs}
        (varying if len(shown) > 1 else fixed).append(name)
    return varying, fixed


# --------------------------------------------------------------------------- model
def _lineage(c: CandidateResult) -> list[dict[str, Any]]:
    """What else changed than the params: code version, data, environment."""
    return [
        {"field": e.field, "old": fmt_value(e.old, 80), "new": fmt_value(e.new, 80)}
        for e in c.comparison.lineage
        if e.changed and e.field != "name" and not e.field.startswith("params.")
    ]


def _cell(
    c: CandidateResult,
    result: GateResult | None,
    numbers: text.GateNumbers,
) -> dict[str, Any]:
    if result is None:
        return {
            "missing": True,
            "tone": "inconclusive",
            "word": "not judged",
            "value": None,
            "change": None,
            "value_text": "—",
            "change_text": "—",
            "ci_text": "",
            "trend": "same",
            "text": "",
        }
    v = result.verdict
    change = _finite(v.estimate)
    return {
        "missing": False,
        "tone": str(gate_tone(c, result)),
        "word": status_word(result),
        "value": _finite(v.candidate_aggregate),
        "change": change,
        "ci_low": _finite(v.ci_low),
        "ci_high": _finite(v.ci_high),
        "value_text": numbers.value(v.candidate_aggregate),
        "change_text": numbers.change(v.estimate),
        "ci_text": numbers.interval(v.ci_low, v.ci_high),
        "trend": "same" if not change else ("better" if change > 0 else "worse"),
        "text": v.text,
    }


def sweep_view(
    sweep: SweepJudgement,
    *,
    pair_links: Mapping[str, str] | None = None,
    title: str | None = None,
    generated: str | None = None,
) -> dict[str, Any]:
    """Everything the sweep reports show, as plain, bounded values.

    ``pair_links`` maps a candidate's label to the (relative) address of its two-run
    report; without it the table has no links.
    """
    links = dict(pair_links or {})
    candidates = sweep.candidates
    first = candidates[0]
    gate_keys: dict[str, GateResult] = {}
    for c in candidates:
        for r in top_gates(c.judgement.gates):
            gate_keys.setdefault(r.key, r)
    by_key = [{r.key: r for r in top_gates(c.judgement.gates)} for c in candidates]
    gates: list[dict[str, Any]] = []
    for key, example in gate_keys.items():
        results = [row[key] for row in by_key if key in row]
        numbers = _column_numbers(results)
        metric = example.verdict.gate.metric
        gates.append(
            {
                "key": key,
                "metric": metric,
                "hib": bool(first.comparison.directions.get(metric, True)),
                "baseline": _finite(example.verdict.baseline_aggregate),
                "baseline_text": numbers.value(example.verdict.baseline_aggregate),
                "margin_text": example.verdict.margin_text or "",
                "mode": str(example.verdict.gate.mode).replace("_", "-"),
                "numbers": numbers,
                "ranking": metric == sweep.metric,
            }
        )
    params = [dict(sweep.baseline.meta.params)] + [
        dict(c.run.meta.params) for c in candidates
    ]
    varying, fixed = _varying(params)
    base_params = params[0]
    standing = {s.label: i + 1 for i, s in enumerate(sweep.ranking)}
    best = sweep.best
    best_label = best.best if best is not None else None
    runner_label = best.runner_up if best is not None else None
    if best_label is None and sweep.ranking and math.isfinite(sweep.ranking[0].value):
        best_label = sweep.ranking[0].label
    rows = []
    for i, c in enumerate(candidates):
        counts = c.judgement.counts()
        failing = [r for r in c.judgement.gates if r.fails_session]
        cells = [_cell(c, by_key[i].get(g["key"]), g["numbers"]) for g in gates]
        cand_params = params[i + 1]
        rows.append(
            {
                "i": i,
                "label": c.label,
                "name": c.run.name,
                "href": links.get(c.label),
                "rank": standing.get(c.label),
                "mark": "best"
                if c.label == best_label
                else "runner-up"
                if c.label == runner_label
                else None,
                "tone": str(candidate_tone(c)),
                "word": candidate_word(c),
                "passed": c.passed,
                "excused": c.excused,
                "params": [
                    {
                        "name": name,
                        "value": _param_text(cand_params[name])
                        if name in cand_params
                        else "—",
                        "changed": _param_text(cand_params.get(name))
                        != _param_text(base_params.get(name))
                        or (name in cand_params) != (name in base_params),
                    }
                    for name in varying
                ],
                "lineage": _lineage(c)[:LINEAGE_SHOWN],
                "lineage_more": max(0, len(_lineage(c)) - LINEAGE_SHOWN),
                "cells": cells,
                "n_gates": counts["total"],
                "n_failed": counts["failed"] + counts["error"],
                "n_flagged": counts["warnings"],
                "failed": [r.key for r in failing[:FAILED_SHOWN]],
                "failed_more": max(0, len(failing) - FAILED_SHOWN),
                "n_datapoints": len(c.run),
                "n_common": c.comparison.n_common,
            }
        )
    # Ranking order (best first, unmeasured last); the table can be re-sorted.
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["i"]))
    view: dict[str, Any] = {
        "header": {
            "title": title
            or f"sweep of {len(candidates)} candidates vs {sweep.baseline.name}",
            "sentence": sweep.sentence,
            "overall": sweep_overall(sweep),
            "baseline": sweep.baseline.name,
            "n_baseline": len(sweep.baseline),
            "size": sweep.size,
            "n_passing": len(sweep.passing),
            "require": str(sweep.require),
            "correction": str(sweep.correction),
            "alpha": sweep.alpha,
            "candidate_alpha": sweep.candidate_alpha,
            "metric": sweep.metric,
            "generated": generated,
        },
        "best": None if best is None else best.to_dict(),
        "warnings": list(sweep.warnings),
        "gates": [{k: v for k, v in g.items() if k != "numbers"} for g in gates],
        "varying": varying,
        "fixed": [
            {"name": name, "value": _param_text(base_params.get(name))}
            for name in fixed
        ],
        "rows": rows,
    }
    out: dict[str, Any] = bounded(view)
    out["plot"] = bounded(_plot(sweep, gates, params, varying, links))
    return out


def _plot(
    sweep: SweepJudgement,
    gates: Sequence[dict[str, Any]],
    params: Sequence[Mapping[str, Any]],
    varying: Sequence[str],
    links: Mapping[str, str],
) -> dict[str, Any]:
    """The plots' data, column by column: index 0 is the baseline, then each candidate.

    Params and metric values are the parallel-coordinates axes; params are the
    scatter's x, metric values and changes its y.
    """
    columns = [_param_column(name, [p.get(name) for p in params]) for name in varying]
    by_key = [
        {r.key: r for r in top_gates(c.judgement.gates)} for c in sweep.candidates
    ]
    for g in gates:
        found = [row.get(g["key"]) for row in by_key]
        decimals = g["numbers"].decimals
        columns.append(
            {
                "key": "m:" + g["key"],
                "name": g["key"],
                "group": "metric",
                "kind": "linear",
                "categories": [],
                "hib": g["hib"],
                "decimals": decimals,
                "values": [
                    g["baseline"],
                    *(
                        None if r is None else _short(r.verdict.candidate_aggregate)
                        for r in found
                    ),
                ],
            }
        )
        columns.append(
            {
                "key": "d:" + g["key"],
                "name": f"change in {g['key']} (+ = better)",
                "axis": g["key"],
                "group": "change",
                "kind": "linear",
                "categories": [],
                "hib": True,
                "decimals": decimals,
                "values": [
                    0.0,
                    *(None if r is None else _short(r.verdict.estimate) for r in found),
                ],
            }
        )
    return {
        "ranking": sweep.metric,
        "runs": [
            {"label": sweep.baseline.name, "tone": "baseline", "href": None},
            *(
                {
                    "label": c.label,
                    "tone": str(candidate_tone(c)),
                    "href": links.get(c.label),
                }
                for c in sweep.candidates
            ),
        ],
        "columns": columns,
    }


def _short(x: float) -> float | None:
    """A figure cut to 6 significant digits (a smaller page), None when not finite."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.6g}")
