"""The report's view-model: plain values computed once from a comparison and verdicts.

Every renderer (HTML, Markdown, JSON, pytest-html extras) reads these plain dicts,
lists and numbers rather than the result objects, so that what a reviewer sees is
the same wherever they see it. Nothing here produces markup: the templates escape.
numpy is imported inside the functions that need it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pytest_runcompare import classes, curves, text
from pytest_runcompare.untrusted import (
    MESSAGE_CHARS,
    NAME_CHARS,
    clip,
    clip_words,
    log_text,
    one_line,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pytest_runcompare.comparison import (
        LineageEntry,
        MetricDelta,
        RunComparisonResult,
    )
    from pytest_runcompare.judge import Verdict
    from pytest_runcompare.pipeline import GateResult, Judgement
    from pytest_runcompare.runs import Datapoints

#: Longest output text embedded per side; beyond it the report says it was cut.
MAX_OUTPUT_CHARS = 20_000
#: Work (see :func:`pytest_runcompare.diff.text_diff`) all the word diffs of one
#: report may take: beyond it the rest are diffed line by line, and say so.
REPORT_DIFF_WORK = 40_000_000
#: Most slices listed in a headline of "where it got worse".
TOP_SLICES = 5


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One test of the pytest session, as the report shows it.

    ``outcome`` is pytest's word (``passed``, ``failed``, ``skipped``, ``error``,
    ``xfailed``, ``xpassed``); ``message`` the short failure or skip reason.
    No duration: the same runs must render the same report bytes, and timings
    are in pytest's own output and JUnit XML.
    """

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "message": self.message,
        }


# --------------------------------------------------------------------------- numbers
def _finite(value: Any) -> float | None:
    """A finite float, or None for None/NaN/inf."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def fmt_num(value: Any, digits: int = 4) -> str:
    """A number for a table cell: 4 significant digits, an em dash when missing."""
    return text.number(value, digits=digits, missing="—")


def fmt_signed(value: Any, digits: int = 4) -> str:
    """A change with its sign (``+0.012``, ``−0.3``), with a true minus sign."""
    return text.signed(value, digits=digits, missing="—").replace("-", "\u2212", 1)


def fmt_pct(value: Any) -> str:
    """A relative change as a signed percentage."""
    x = _finite(value)
    if x is None:
        return "—"
    return fmt_signed(x * 100, 3) + "%"


def fmt_p(value: Any) -> str:
    """A p-value: three significant digits, ``<0.0001`` below that."""
    return text.p_value(value, missing="—")


def fmt_ci(low: Any, high: Any) -> str:
    """A two-sided interval ``[low, high]``."""
    if _finite(low) is None and _finite(high) is None:
        return "—"
    return f"[{fmt_signed(low)}, {fmt_signed(high)}]"


def fmt_value(value: Any, limit: int = 200) -> str:
    """A lineage or metadata value as short text."""
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = str(value)
    else:
        from pytest_runcompare.diff import as_text

        text = as_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sort_value(value: Any) -> str:
    """The ``data-v`` attribute a sortable cell carries (empty when missing)."""
    x = _finite(value)
    return "" if x is None else repr(x)


def _short(x: float) -> float | int:
    """A float cut to 6 significant digits (ints stay ints) to keep the file small."""
    if x.is_integer() and abs(x) < 1e15:
        return int(x)
    return float(f"{x:.6g}")


# --------------------------------------------------------------------------- verdicts
#: A decisive cause's word on a failed gate's badge.
_CAUSE_WORDS = {
    "incompatible": "incompatible",
    "incomplete": "incomplete run",
    "waiver_expired": "waiver expired",
}


def verdict_row(verdict: Verdict) -> dict[str, Any]:
    """One gate's figures as plain values (raw numbers and their display text)."""
    gate = verdict.gate
    figures = text.GateNumbers(verdict)
    return {
        "key": verdict.key,
        "metric": gate.metric,
        "slice": gate.slice,
        "step": gate.step,
        "mode": str(gate.mode),
        "aggregate": gate.aggregate,
        "declared": bool(gate.declared),
        "outcome": str(verdict.outcome),
        "improved": bool(verdict.improved),
        "text": verdict.text,
        "reason": verdict.reason,
        "warnings": list(verdict.warnings),
        "baseline": _finite(verdict.baseline_aggregate),
        "candidate": _finite(verdict.candidate_aggregate),
        "estimate": _finite(verdict.estimate),
        "baseline_text": figures.value(verdict.baseline_aggregate),
        "candidate_text": figures.value(verdict.candidate_aggregate),
        "estimate_text": figures.change(verdict.estimate),
        "ci_text": figures.interval(verdict.ci_low, verdict.ci_high),
        "bound": _finite(verdict.bound),
        "ci_low": _finite(verdict.ci_low),
        "ci_high": _finite(verdict.ci_high),
        "confidence_level": _finite(verdict.confidence_level),
        "margin": _finite(verdict.margin),
        "margin_text": verdict.margin_text or fmt_num(verdict.margin),
        "p_value": _finite(verdict.p_value),
        "p_adjusted": _finite(verdict.p_adjusted),
        "test": verdict.test,
        "test_reason": verdict.test_reason,
        "tests_what": verdict.tests_what,
        "n_paired": int(verdict.n_paired),
        "mde": _finite(verdict.mde),
        "n_required": verdict.n_required,
        "improved_count": int(verdict.improved_count),
        "degraded_count": int(verdict.degraded_count),
        "unchanged_count": int(verdict.unchanged_count),
        "seed": verdict.seed,
    }


class Tone(StrEnum):
    """A gate's colour, from the policy's final status, never from the data alone.

    The values are the CSS classes and keys every face uses.
    """

    FAIL = "fail"  # red: fails the build (an INCONCLUSIVE under `inconclusive: fail`)
    WARN = "inconclusive"  # amber: passes, with something to look at
    PASS = "pass"  # green: a plain pass


def tone(result: GateResult) -> Tone:
    """The colour of a gate, the one rule of every face (badge, table, chips, Markdown).

    ``FAIL`` when it fails the session (whatever the data showed: an INCONCLUSIVE
    that fails the build is red); ``WARN`` when it passes but asks a reviewer to
    look (waived, INCONCLUSIVE under ``inconclusive: pass``, a flagged warn-only
    slice); ``PASS`` for a plain pass.
    """
    from pytest_runcompare.judge import Outcome
    from pytest_runcompare.pipeline import Status

    if result.fails_session:
        return Tone.FAIL
    if result.status is Status.PASSED and result.outcome is Outcome.PASS:
        return Tone.PASS
    return Tone.WARN


def status_word(result: GateResult) -> str:
    """The gate's final status in words.

    ``fail``, ``fail (incompatible)``, ``waived``, ``inconclusive (passes)``,
    ``warn-only fail``, ``pass``...
    """
    from pytest_runcompare.judge import Outcome
    from pytest_runcompare.pipeline import Status

    status, outcome = result.status, result.outcome
    if status is Status.ERROR:
        return "error"
    if status is Status.WAIVED:
        return "waived"
    if status is Status.FAILED:
        cause = next(
            (str(r.cause) for r in result.reasons if str(r.cause) in _CAUSE_WORDS),
            None,
        )
        if cause is not None:
            return f"fail ({_CAUSE_WORDS[cause]})"
        return "fail" if outcome is Outcome.FAIL else f"fail ({outcome})"
    if not result.declared and outcome is not Outcome.PASS:
        return f"warn-only {outcome}"
    if outcome is Outcome.INCONCLUSIVE:
        return "inconclusive (passes)"
    return "pass"


def gate_row(result: GateResult) -> dict[str, Any]:
    """One gate as the reports show it: its figures, final status and reasons."""
    row = verdict_row(result.verdict)
    row.update(
        {
            "label": result.key + (" (assertion)" if result.assertion else ""),
            "assertion": result.assertion,
            "status": str(result.status),
            "status_word": status_word(result),
            "tone": str(tone(result)),
            "fails": result.fails_session,
            "message": result.message,
            "reasons": [r.text for r in result.reasons],
            "waiver": None if result.waiver is None else result.waiver.reason,
            "line": result.spec.line,
        }
    )
    return row


def overall(judgement: Judgement) -> str:
    """The session's verdict for a badge.

    ``fail``, ``pass``, ``inconclusive`` (passes with something to look at) or
    ``none`` (no gate judged).
    """
    if not judgement.passed:
        return "fail"
    if not judgement.gates:
        return "none"
    if any(tone(r) is not Tone.PASS for r in judgement.gates):
        return "inconclusive"
    return "pass"


# --------------------------------------------------------------------------- deltas
class Deltas(Protocol):
    """What the delta tables read of a comparison (in memory, or the engine's facts).

    :class:`~pytest_runcompare.engine.report_facts.ReportFacts` offers the same.
    """

    @property
    def metric_names(self) -> list[str]: ...

    @property
    def directions(self) -> Mapping[str, bool]: ...

    @property
    def metric_deltas(self) -> Mapping[str, MetricDelta]: ...

    @property
    def slice_deltas(self) -> Mapping[str, Mapping[str, MetricDelta]]: ...


def metric_scales(comparison: Deltas) -> dict[str, text.Scale]:
    """Each metric's decimals, from its overall aggregates: one per metric per page."""
    return {
        m: text.Scale(d.old_aggregate, d.new_aggregate)
        for m, d in comparison.metric_deltas.items()
    }


def _minus(figure: str) -> str:
    """A figure with a true minus sign, as the page prints it."""
    return figure.replace("-", "\u2212", 1) if figure.startswith("-") else figure


def delta_row(d: MetricDelta, scale: text.Scale | None = None) -> dict[str, Any]:
    """One metric delta (overall, per slice or per step) as plain values.

    The ``*_text`` figures use ``scale`` (the metric's, from :func:`metric_scales`)
    so that a metric reads with the same decimals everywhere on the page.
    """
    oriented = d.oriented_delta
    scale = scale or text.Scale(d.old_aggregate, d.new_aggregate)
    return {
        "metric": d.name,
        "slice": d.slice,
        "step": d.step,
        "aggregate": d.aggregate,
        "higher_is_better": d.higher_is_better,
        "direction_assumed": d.direction_assumed,
        "old": _finite(d.old_aggregate),
        "new": _finite(d.new_aggregate),
        "delta": _finite(d.delta),
        "relative": _finite(d.relative_delta),
        "oriented": _finite(oriented),
        "old_text": scale.value(d.old_aggregate, missing="—"),
        "new_text": scale.value(d.new_aggregate, missing="—"),
        "delta_text": _minus(scale.change(d.delta, missing="—")),
        "relative_text": _minus(scale.relative(d.relative_delta, missing="—")),
        "trend": "better" if d.improved else "worse" if d.degraded else "same",
        "improved": d.improved_count,
        "degraded": d.degraded_count,
        "unchanged": d.unchanged_count,
        "n": d.n_paired,
        "missing_in_candidate": d.n_missing_in_candidate,
        "missing_in_baseline": d.n_missing_in_baseline,
    }


def top_regressed_slices(
    comparison: Deltas, limit: int = TOP_SLICES
) -> list[dict[str, Any]]:
    """The slices (any metric) whose aggregate got worse, the largest relative drop first."""
    scales = metric_scales(comparison)
    rows = [
        delta_row(d, scales.get(d.name))
        for per_metric in comparison.slice_deltas.values()
        for d in per_metric.values()
        if d.degraded
    ]

    def badness(row: dict[str, Any]) -> float:
        rel = row["relative"]
        oriented = row["oriented"] or 0.0
        return -abs(rel) if rel is not None else oriented

    rows.sort(key=lambda r: (badness(r), r["slice"] or "", r["metric"]))
    return rows[:limit]


def _flagged(gate: dict[str, Any] | None) -> bool:
    """A declared gate that did not plainly pass, or a warn-only gate that failed."""
    if gate is None:
        return False
    if gate["declared"]:
        return bool(gate["tone"] != Tone.PASS)
    return bool(gate["outcome"] == "fail")


def slice_grid(
    comparison: Deltas,
    gates: Sequence[dict[str, Any]],
    scales: dict[str, text.Scale] | None = None,
) -> dict[str, Any]:
    """Slices × metrics: each slice's change per metric, the worst slices first.

    A cell is marked ``gated`` when a declared gate judges that metric on that
    slice, and ``flagged`` (with the gate's tone and status) when that gate did not
    plainly pass, or when its warn-only gate failed (the header's "warn-only gates
    flagged"). Slices are ordered by their worst
    oriented relative change over the metrics (the absolute one where there is no
    relative change), then by name.
    """
    scales = scales if scales is not None else metric_scales(comparison)
    on: dict[tuple[str, str], dict[str, Any]] = {}
    for g in gates:
        if g["slice"] is not None and g["step"] is None:
            cell = (g["metric"], g["slice"])
            # a declared gate wins over the warn-only one on the same cell
            if cell not in on or (g["declared"] and not on[cell]["declared"]):
                on[cell] = g
    metrics = [m for m in comparison.metric_names if m in comparison.metric_deltas]
    metrics = [
        m for m in metrics if any(m in per for per in comparison.slice_deltas.values())
    ]
    rows = []
    for tag, per_metric in comparison.slice_deltas.items():
        cells: list[dict[str, Any] | None] = []
        worst = math.inf
        for m in metrics:
            d = per_metric.get(m)
            if d is None or d.delta is None:
                cells.append(None)
                continue
            row = delta_row(d, scales.get(m))
            oriented_rel = None
            if row["relative"] is not None:
                oriented_rel = row["relative"] * (1 if d.higher_is_better else -1)
            badness = oriented_rel if oriented_rel is not None else row["oriented"]
            if badness is not None:
                worst = min(worst, badness)
            gate = on.get((m, tag))
            cells.append(
                {
                    "text": row["delta_text"],
                    "relative_text": row["relative_text"],
                    "trend": row["trend"],
                    "n": row["n"],
                    "old_text": row["old_text"],
                    "new_text": row["new_text"],
                    "oriented_relative": oriented_rel,
                    "gated": bool(gate and gate["declared"]),
                    "flagged": _flagged(gate),
                    "tone": gate["tone"] if gate else None,
                    "status_word": gate["status_word"] if gate else None,
                    "key": gate["key"] if gate else None,
                }
            )
        rows.append(
            {
                "slice": tag,
                "cells": cells,
                "worst": None if worst == math.inf else worst,
            }
        )
    rows.sort(key=lambda r: (r["worst"] is None, r["worst"] or 0.0, r["slice"]))
    return {
        "metrics": [{"name": m, "hib": comparison.directions[m]} for m in metrics],
        "rows": rows,
    }


# --------------------------------------------------------------------------- lineage
def lineage_rows(comparison: RunComparisonResult) -> list[dict[str, Any]]:
    """Lineage fields side by side, grouped by section, with the changed ones marked."""
    return lineage_view(comparison.lineage)


def lineage_view(entries: Iterable[LineageEntry]) -> list[dict[str, Any]]:
    """:func:`lineage_rows` of lineage entries (either path's)."""
    rows = []
    for entry in entries:
        section = entry.field.split(".", 1)[0]
        rows.append(
            {
                "section": section,
                "field": entry.field,
                "old": fmt_value(entry.old),
                "new": fmt_value(entry.new),
                "changed": entry.changed,
            }
        )
    return rows


# --------------------------------------------------------------------------- charts
_W, _H, _PAD = 300.0, 112.0, 6.0
#: Height of the plot area (above the axis) and where the axis line sits.
_PLOT, _AXIS_Y = 84.0, 90.0
#: Equal-width bins of a continuous chart; few distinct integers get one bar each.
_BINS = 30
_DISCRETE = 15
#: Least distance between two tick labels' anchors, in SVG units.
_TICK_GAP = 40.0


@dataclass(frozen=True, slots=True)
class _Axis:
    """A chart's value range mapped onto its width."""

    lo: float
    hi: float

    @classmethod
    def around(cls, lo: float, hi: float) -> _Axis:
        """A range holding ``[lo, hi]``; a single value gets room on both sides."""
        if hi > lo:
            pad = (hi - lo) * 0.04
            return cls(lo - pad, hi + pad)
        half = abs(lo) * 0.5 or 1.0
        return cls(lo - half, lo + half)

    def x(self, value: float) -> float:
        """The horizontal position of ``value``."""
        share = (value - self.lo) / (self.hi - self.lo)
        return round(_PAD + share * (_W - 2 * _PAD), 2)


def _edges(values: npt.NDArray[np.float64], *, zero_edge: bool) -> list[float] | None:
    """Bin edges for a histogram, or None for one bar per distinct value.

    With ``zero_edge`` 0 is an edge, so that no bar of changes mixes better and worse.
    """
    import numpy as np

    uniq = np.unique(values)
    lo, hi = float(uniq[0]), float(uniq[-1])
    if lo == hi or (uniq.size <= _DISCRETE and np.allclose(uniq, np.round(uniq))):
        return None
    width = (hi - lo) / _BINS
    if zero_edge and lo < 0 < hi:
        first, last = math.floor(lo / width), math.ceil(hi / width)
        return [k * width for k in range(first, last + 1)]
    return [lo + k * width for k in range(_BINS + 1)]


def _histogram(
    values: npt.NDArray[np.float64], edges: list[float] | None
) -> list[tuple[float, float, int]]:
    """``(left, right, count)`` per bin; one zero-width bin per value without edges."""
    import numpy as np

    if values.size == 0:
        return []
    if edges is None:
        uniq, n = np.unique(values, return_counts=True)
        return [(u, u, c) for u, c in zip(uniq.tolist(), n.tolist(), strict=True)]
    hist, _ = np.histogram(values, bins=np.asarray(edges))
    return [(edges[k], edges[k + 1], int(c)) for k, c in enumerate(hist.tolist()) if c]


def _bar_width(axis: _Axis, bins: Sequence[tuple[float, float, int]]) -> float:
    """The width of a one-value bar: a share of the smallest gap between values."""
    points = sorted({lo for lo, _, _ in bins})
    gaps = [b - a for a, b in itertools.pairwise(points)]
    span = (min(gaps) if gaps else axis.hi - axis.lo) / (axis.hi - axis.lo)
    return max(2.0, min(28.0, span * (_W - 2 * _PAD) * 0.6))


def _rects(
    axis: _Axis,
    bins: Sequence[tuple[float, float, int]],
    peak: int,
    cls: Any,
    label: Any,
) -> list[dict[str, Any]]:
    """SVG rectangles of one histogram; ``cls`` and ``label`` take the bin's centre."""
    out = []
    one = _bar_width(axis, bins)
    for lo, hi, count in bins:
        h = max(1.0, _PLOT * count / peak)
        if hi > lo:
            x0, x1 = axis.x(lo), axis.x(hi)
            x, w = x0 + 0.5, max(1.0, x1 - x0 - 1.0)
        else:
            x, w = axis.x(lo) - one / 2, one
        centre = (lo + hi) / 2
        out.append(
            {
                "x": round(x, 2),
                "y": round(_AXIS_Y - h, 2),
                "w": round(w, 2),
                "h": round(h, 2),
                "cls": cls(centre),
                "title": f"{label(lo, hi)}: {count}",
            }
        )
    return out


def _ticks(axis: _Axis, values: Sequence[float], fmt: Any) -> list[dict[str, Any]]:
    """Tick labels at ``values`` (most important first), kept apart and inside the chart.

    A tick closer than ``_TICK_GAP`` to one already placed is left out, so that
    labels never overlap.
    """
    ticks: list[dict[str, Any]] = []
    for v in values:
        label, x = fmt(v), axis.x(v)
        if any(t["text"] == label or abs(t["x"] - x) < _TICK_GAP for t in ticks):
            continue
        anchor = "start" if x < 24 else "end" if x > _W - 24 else "middle"
        ticks.append({"x": x, "text": label, "anchor": anchor})
    return sorted(ticks, key=lambda t: float(t["x"]))


def _chart(
    axis: _Axis,
    bars: list[dict[str, Any]],
    ticks: list[dict[str, Any]],
    marks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "w": _W,
        "h": _H,
        "bars": bars,
        "ticks": ticks,
        "marks": marks or [],
        "axis_y": _AXIS_Y,
        "tick_y": _AXIS_Y + 13,
        "lo": ticks[0]["text"] if ticks else "",
        "hi": ticks[-1]["text"] if ticks else "",
    }


def _tick_values(
    bins: Sequence[tuple[float, float, int]], lo: float, hi: float
) -> list[float]:
    """Where the ticks go: every value of a few-valued chart, else both ends and the middle."""
    points = [b for b, c, _ in bins if b == c]
    if points and len(points) == len(bins) and len(points) <= 7:
        return points
    if lo == hi:
        return [lo]
    return [lo, hi, (lo + hi) / 2]


def distribution(
    comparison: RunComparisonResult, metric: str, scale: text.Scale | None = None
) -> dict[str, Any]:
    """Histograms of one metric: per-datapoint change, and old and new values overlaid.

    The change chart shows every datapoint that moved (new − old, green where
    better); the values chart draws the baseline's histogram as bars and the
    candidate's over it as an outline, with both means marked. Ticks are at real
    values, so a chart where every change is the same reads that value.
    """
    import numpy as np

    paired = comparison.paired(metric)
    base, cand = paired.baseline, paired.candidate
    hib = paired.higher_is_better
    scale = scale or text.Scale(
        float(base.mean()) if base.size else None,
        float(cand.mean()) if cand.size else None,
    )
    d = cand - base
    same = np.isclose(cand, base, rtol=1e-12, atol=1e-12)
    moved = d[~same]
    change = None
    if moved.size:
        worse = (d < 0) if hib else (d > 0)
        change = Histogram(
            bins=_histogram(moved, _edges(moved, zero_edge=True)),
            lo=float(moved.min()),
            hi=float(moved.max()),
            worse=int(worse[~same].sum()),
            median=float(np.median(moved)),
        )
    spread = None
    if paired.n:
        both = np.concatenate([base, cand])
        edges = _edges(both, zero_edge=False)
        spread = Spread(
            old=_histogram(base, edges),
            new=_histogram(cand, edges),
            lo=float(both.min()),
            hi=float(both.max()),
            mean_old=float(base.mean()),
            mean_new=float(cand.mean()),
        )
    return distribution_view(
        metric, paired.n, int(same.sum()), hib, scale, change, spread
    )


@dataclass(frozen=True, slots=True)
class Histogram:
    """The moved datapoints' changes: bins ``(left, right, count)``, range, counts."""

    bins: list[tuple[float, float, int]]
    lo: float
    hi: float
    worse: int
    median: float


@dataclass(frozen=True, slots=True)
class Spread:
    """Both runs' paired values binned alike, their range and their means."""

    old: list[tuple[float, float, int]]
    new: list[tuple[float, float, int]]
    lo: float
    hi: float
    mean_old: float
    mean_new: float


def distribution_view(
    metric: str,
    n: int,
    unchanged: int,
    hib: bool,
    scale: text.Scale,
    change: Histogram | None,
    spread: Spread | None,
) -> dict[str, Any]:
    """The charts of :func:`distribution` from binned counts (either path's).

    The engine path bins in SQL (``engine.report_facts``) what this path bins
    with numpy; the charts are drawn the same way.
    """
    out: dict[str, Any] = {
        "metric": metric,
        "n": n,
        "unchanged": unchanged,
        "higher_is_better": hib,
        "change": None,
        "spread": None,
    }

    def change_text(x: float) -> str:
        return _minus(scale.change(x))

    def value_text(x: float) -> str:
        return _minus(scale.value(x))

    def span(fmt: Any) -> Any:
        return lambda lo, hi: fmt(lo) if lo == hi else f"{fmt(lo)} to {fmt(hi)}"

    if change is not None:
        bins, lo, hi = change.bins, change.lo, change.hi
        axis = _Axis.around(min(lo, 0.0), max(hi, 0.0))
        peak = max(c for _, _, c in bins)

        def tone_of(centre: float) -> str:
            return "good" if (centre > 0) == hib else "bad"

        bars = _rects(axis, bins, peak, tone_of, span(change_text))
        ends = _tick_values(bins, lo, hi)
        ticks = _ticks(axis, [*ends[:2], 0.0, *ends[2:]], change_text)
        zero = [{"x": axis.x(0.0), "cls": "zero", "title": "no change"}]
        out["change"] = _chart(axis, bars, ticks, zero)
        out["worse"] = change.worse
        out["better"] = sum(c for _, _, c in bins) - change.worse
        out["median_change"] = change_text(change.median)
    if spread is not None:
        old_bins, new_bins, lo, hi = spread.old, spread.new, spread.lo, spread.hi
        axis = _Axis.around(lo, hi)
        peak = max(c for _, _, c in (*old_bins, *new_bins))
        label = span(value_text)
        bars = _rects(axis, old_bins, peak, lambda _: "old", label)
        bars += _rects(axis, new_bins, peak, lambda _: "new", label)
        ticks = _ticks(axis, _tick_values(old_bins + new_bins, lo, hi), value_text)
        means = [
            {
                "x": axis.x(mean),
                "cls": cls,
                "title": f"{who} mean {value_text(mean)}",
            }
            for mean, cls, who in (
                (spread.mean_old, "m-old", "baseline"),
                (spread.mean_new, "m-new", "candidate"),
            )
        ]
        out["spread"] = _chart(axis, bars, ticks, means)
    return out


# --------------------------------------------------------------------------- explorer
def _column(
    values: npt.NDArray[np.float64], present: npt.NDArray[np.bool_]
) -> list[float | int | None]:
    return [
        _short(v) if p else None
        for v, p in zip(values.tolist(), present.tolist(), strict=True)
    ]


def _clip(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text, False
    return text[:MAX_OUTPUT_CHARS], True


def _row_tags(
    base: Datapoints,
    cand: Datapoints,
    bi: npt.NDArray[np.intp],
    ci: npt.NDArray[np.intp],
    ni: npt.NDArray[np.intp],
    oi: npt.NDArray[np.intp],
) -> tuple[list[str], list[list[int]], list[int]]:
    """Each explorer row's slice tags, compactly.

    The sorted tag names, the distinct combinations (indices into the names, in
    order of first use) and each row's combination: a few bytes a row at 100k rows.
    A paired datapoint carries the tags of either run, as its slices do.
    """
    empty: tuple[str, ...] = ()
    bt, ct = base.slice_tags, cand.slice_tags
    memo: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}

    def tags_of(table: list[tuple[str, ...]] | None, at: list[int]) -> list[Any]:
        return [empty] * len(at) if table is None else [table[i] for i in at]

    def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
        found = memo.get((a, b))
        if found is None:
            found = memo[a, b] = tuple(sorted(set(a) | set(b)))
        return found

    old_tags, new_tags = tags_of(bt, bi.tolist()), tags_of(ct, ci.tolist())
    rows = [union(a, b) for a, b in zip(old_tags, new_tags, strict=True)]
    rows += [union(t, empty) for t in tags_of(ct, ni.tolist())]
    rows += [union(t, empty) for t in tags_of(bt, oi.tolist())]
    names = sorted({t for combo in set(rows) for t in combo})
    position = {t: k for k, t in enumerate(names)}
    combos: dict[tuple[str, ...], int] = {}
    tag_of = [combos.setdefault(combo, len(combos)) for combo in rows]
    tag_sets = [[position[t] for t in combo] for combo in combos]
    return names, tag_sets, tag_of


def permalink(datapoint_id: str) -> str:
    """The fragment that opens a datapoint in the HTML report (``#dp=q-17``).

    The id as the report shows it, percent-encoded like JavaScript's
    ``encodeURIComponent``, so that ``#``, spaces, quotes and ``</script>`` in an
    id cannot break the link (the page decodes it with ``decodeURIComponent``).
    """
    from urllib.parse import quote

    return "#dp=" + quote(_name(datapoint_id), safe="-_.!~*'()")


def output_detail(
    row: int,
    kind: int,
    old_out: Any,
    new_out: Any,
    given: Any,
    expected: Any,
    budget: int,
) -> tuple[dict[str, Any], int]:
    """One explorer row's embedded texts and diffs, and the diff work left.

    ``kind`` is the row's (0 paired, 1 new only, 2 old only); outputs are clipped
    at ``MAX_OUTPUT_CHARS``, a paired row gets its word diff (within ``budget``)
    and, when both outputs parse as JSON, its structural diff.
    """
    from pytest_runcompare.diff import (
        MAX_WORK,
        as_text,
        json_diff,
        parse_json_output,
        text_diff,
    )

    old_text, cut_old = _clip(as_text(old_out))
    new_text, cut_new = _clip(as_text(new_out))
    entry: dict[str, Any] = {"row": row}
    if kind == 0:
        diff = text_diff(old_text, new_text, max_work=min(MAX_WORK, budget))
        budget = max(0, budget - diff.work)
        entry["seg"] = [list(s) for s in diff.segments]
        if diff.note:
            entry["diff_note"] = diff.note
        old_json, new_json = parse_json_output(old_out), parse_json_output(new_out)
        if old_json is not None and new_json is not None:
            entry["json"] = [c.to_view() for c in json_diff(old_json, new_json)]
    else:
        entry["old" if kind == 2 else "new"] = old_text if kind == 2 else new_text
    if cut_old or cut_new:
        entry["cut"] = MAX_OUTPUT_CHARS
    if given is not None:
        entry["input"] = _clip(as_text(given))[0]
    if expected is not None:
        entry["expected"] = _clip(as_text(expected))[0]
    return entry, budget


def explorer(comparison: RunComparisonResult, max_outputs: int) -> dict[str, Any]:
    """Every datapoint as columns, and full outputs with diffs for the most changed.

    Rows are the common datapoints (baseline order), then the candidate's new ones,
    then the baseline's dropped ones. ``status[metric]`` has one character per row:
    ``i`` improved, ``d`` degraded, ``u`` unchanged, ``-`` not comparable.
    ``details`` holds outputs, inputs, expected outputs and diffs for at most
    ``max_outputs`` rows, the most changed first (changed output and a large
    change in some metric, relative to that metric's largest change).
    """
    import numpy as np

    base = comparison.baseline.datapoints
    cand = comparison.candidate.datapoints
    pairs = list(comparison.iter_pairs())
    n_common = len(pairs)
    bi = np.fromiter((i for _, i, _ in pairs), dtype=np.intp, count=n_common)
    ci = np.fromiter((j for _, _, j in pairs), dtype=np.intp, count=n_common)
    new_only = comparison.new_only_datapoints
    old_only = comparison.old_only_datapoints
    ni = np.fromiter((cand.index[k] for k in new_only), dtype=np.intp)
    oi = np.fromiter((base.index[k] for k in old_only), dtype=np.intp)
    ids = [k for k, _, _ in pairs] + list(new_only) + list(old_only)
    n = len(ids)
    kind = [0] * n_common + [1] * len(new_only) + [2] * len(old_only)
    ob, oc = base.outputs, cand.outputs
    changed = [
        int(ob[i] != oc[j]) for i, j in zip(bi.tolist(), ci.tolist(), strict=True)
    ]
    changed += [0] * (len(new_only) + len(old_only))

    metrics = [
        m for m in comparison.metric_names if m in base.metrics or m in cand.metrics
    ]
    old_cols: dict[str, list[float | int | None]] = {}
    new_cols: dict[str, list[float | int | None]] = {}
    status: dict[str, str] = {}
    binary: dict[str, bool] = {}
    score = np.zeros(n, dtype=np.float64)
    nan = np.full(n, np.nan)
    for m in metrics:
        old = nan.copy()
        new = nan.copy()
        if (col := base.metrics.get(m)) is not None:
            vals = np.where(col.present, col.values, np.nan)
            old[:n_common] = vals[bi]
            old[n_common + len(new_only) :] = vals[oi]
        if (col := cand.metrics.get(m)) is not None:
            vals = np.where(col.present, col.values, np.nan)
            new[:n_common] = vals[ci]
            new[n_common : n_common + len(new_only)] = vals[ni]
        old_cols[m] = _column(old, np.isfinite(old))
        new_cols[m] = _column(new, np.isfinite(new))
        both = np.isfinite(old) & np.isfinite(new)
        seen = np.concatenate([old[np.isfinite(old)], new[np.isfinite(new)]])
        binary[m] = bool(seen.size) and bool(np.isin(seen, (0.0, 1.0)).all())
        d = np.where(both, new - old, 0.0)
        same = np.isclose(new, old, rtol=1e-12, atol=1e-12) & both
        oriented = d if comparison.directions[m] else -d
        codes = np.full(n, "-", dtype="<U1")
        codes[both] = "u"
        codes[both & ~same & (oriented > 0)] = "i"
        codes[both & ~same & (oriented < 0)] = "d"
        status[m] = "".join(codes.tolist())
        peak = float(np.abs(d).max()) if n else 0.0
        if peak > 0:
            score = np.maximum(score, np.abs(d) / peak)
    flags = np.asarray(changed, dtype=np.float64)
    priority = score + flags
    priority[n_common:] = 0.5  # one-sided rows: worth showing, after real changes
    order = np.lexsort((np.arange(n), -priority))
    chosen = sorted(order[: max(0, max_outputs)].tolist())

    details = []
    budget = REPORT_DIFF_WORK
    for r in chosen:
        k = kind[r]
        if k == 0:
            i, j = int(bi[r]), int(ci[r])
            old_out, new_out = ob[i], oc[j]
            table, pos = base, i
        elif k == 1:
            j = int(ni[r - n_common])
            old_out, new_out = None, oc[j]
            table, pos = cand, j
        else:
            i = int(oi[r - n_common - len(new_only)])
            old_out, new_out = ob[i], None
            table, pos = base, i
        entry, budget = output_detail(
            r,
            k,
            old_out,
            new_out,
            None if table.inputs is None else table.inputs[pos],
            None if table.expected is None else table.expected[pos],
            budget,
        )
        details.append(entry)

    tags, tag_sets, tag_of = _row_tags(base, cand, bi, ci, ni, oi)
    return {
        "metrics": [
            {
                "name": m,
                "hib": comparison.directions[m],
                "binary": binary[m],
                "gated": False,
            }
            for m in metrics
        ],
        "ids": ids,
        "tags": tags,
        "tag_sets": tag_sets,
        "tag_of": tag_of,
        "kind": kind,
        "changed": changed,
        "old": old_cols,
        "new": new_cols,
        "status": status,
        "details": details,
        "max_outputs": max_outputs,
        "omitted": max(0, n - len(details)),
        "n_changed": int(sum(changed)),
        "n_common": n_common,
        "n_new_only": len(new_only),
        "n_old_only": len(old_only),
    }


# --------------------------------------------------------------------------- all
def header(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    title: str | None,
    generated: str | None,
) -> dict[str, Any]:
    """Names, sizes, seed and the session's verdict."""
    baseline, candidate = comparison.baseline.name, comparison.candidate.name
    return {
        "title": title or f"{_name(candidate)} vs {_name(baseline)}",
        "baseline": baseline,
        "candidate": candidate,
        "n_baseline": len(comparison.baseline),
        "n_candidate": len(comparison.candidate),
        "n_common": comparison.n_common,
        "coverage": comparison.coverage,
        "generated": generated,
        "seed": judgement.seed,
        "numpy_version": judgement.numpy_version,
        "scipy_version": judgement.scipy_version,
        "summary": judgement.counts(),
        "overall": overall(judgement),
    }


def view_model(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    tests: Iterable[TestRecord] = (),
    title: str | None = None,
    generated: str | None = None,
    max_outputs: int = 2000,
) -> dict[str, Any]:
    """Everything the HTML report shows, as plain values."""
    rows = [gate_row(r) for r in judgement.gates]
    gated = {r["metric"] for r in rows}
    scales = metric_scales(comparison)
    deltas = [
        delta_row(d, scales.get(d.name)) for d in comparison.metric_deltas.values()
    ]
    data = explorer(comparison, max_outputs)
    for m in data["metrics"]:
        m["gated"] = m["name"] in gated
    default_metric = next(
        (
            r["metric"]
            for r in rows
            if r["tone"] != "pass"
            and r["metric"] in {m["name"] for m in data["metrics"]}
        ),
        next((m["name"] for m in data["metrics"] if m["gated"]), None),
    )
    if default_metric is None and data["metrics"]:
        default_metric = data["metrics"][0]["name"]
    data["default_metric"] = default_metric
    compat = judgement.compatibility
    lineage = lineage_rows(comparison)
    steps = {
        step: [delta_row(d, scales.get(d.name)) for d in per_metric.values()]
        for step, per_metric in comparison.step_deltas.items()
    }
    slices = [
        delta_row(d, scales.get(d.name))
        for per_metric in comparison.slice_deltas.values()
        for d in per_metric.values()
    ]
    vm = {
        "header": header(comparison, judgement, title=title, generated=generated),
        "verdicts": rows,
        "headline": [r for r in rows if r["declared"] and r["tone"] != "pass"],
        "warn_only": [r for r in rows if not r["declared"] and r["outcome"] == "fail"],
        "declared": [r for r in rows if r["declared"]],
        "undeclared": [r for r in rows if not r["declared"]],
        "deltas": deltas,
        "worst_slices": top_regressed_slices(comparison),
        "lineage": lineage,
        "lineage_changed": sum(1 for r in lineage if r["changed"]),
        "compatibility": {
            "compatible": compat.compatible,
            "problems": list(compat.problems),
            "notes": list(compat.notes) + list(judgement.warnings),
        },
        "tests": [t.to_dict() for t in tests],
        "distributions": [
            distribution(comparison, m["name"], scales.get(m["name"]))
            for m in data["metrics"]
        ],
        "slice_grid": slice_grid(comparison, rows, scales),
        "slices": slices,
        "steps": steps,
        "classes": classes.report_view(comparison, judgement),
    }
    out: dict[str, Any] = bounded(vm)
    out["explorer"] = _bounded_explorer(data)
    # Curves hold long point lists (strings): their names are bounded in curves.py.
    out["curves"] = curves.views(comparison.baseline, comparison.candidate)
    return out


#: Keys whose text is a sentence around run data, bounded at ``MESSAGE_CHARS``;
#: every other string of the view-model is a name, bounded at ``NAME_CHARS``.
_SENTENCES = frozenset(
    {
        "assumption",
        "margin_text",
        "message",
        "new",
        "nodeid",
        "note",
        "notes",
        "old",
        "problems",
        "reason",
        "reasons",
        "test",
        "test_reason",
        "tests_what",
        "text",
        "title",
        "waiver",
        "warnings",
    }
)


def bounded(value: Any, limit: int = NAME_CHARS) -> Any:
    """``value`` with every string (and key) cut to its bound, visibly (issue 12).

    A 10 MB metric name must not make a report of many times that: names, tags and
    ids are cut at ``NAME_CHARS``, sentences at ``MESSAGE_CHARS``, each with a
    marker giving the full length and a hash, so that names cut alike stay apart
    and every reference to one name is cut the same way. Outputs are not touched
    here (:func:`explorer` clips them). Control characters are shown as escapes
    (newlines too in names; sentences keep theirs).
    """
    if isinstance(value, str):
        if limit == NAME_CHARS:
            return _name(value)
        return log_text(clip(clip_words(value, NAME_CHARS), limit))
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            inner = MESSAGE_CHARS if k in _SENTENCES else NAME_CHARS
            out[_name(k) if isinstance(k, str) else k] = bounded(v, inner)
        return out
    if isinstance(value, list | tuple):
        if value and not isinstance(value[0], str | dict | list | tuple):
            return value  # a column of numbers
        return [bounded(v, limit) for v in value]
    return value


def _name(text: str) -> str:
    """A name, tag or id as the report shows it: bounded, control characters escaped."""
    return one_line(text, NAME_CHARS)


def _bounded_explorer(data: dict[str, Any]) -> dict[str, Any]:
    """The explorer's names and ids bounded like :func:`bounded` (outputs are clipped)."""
    out = dict(data)
    out["ids"] = [_name(k) for k in data["ids"]]
    out["tags"] = [_name(t) for t in data["tags"]]
    out["metrics"] = [{**m, "name": _name(m["name"])} for m in data["metrics"]]
    for column in ("old", "new", "status"):
        out[column] = {_name(k): v for k, v in data[column].items()}
    if data.get("default_metric") is not None:
        out["default_metric"] = _name(data["default_metric"])
    return out
