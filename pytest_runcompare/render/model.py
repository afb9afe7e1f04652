"""The report's view-model: plain values computed once from a comparison and verdicts.

Every renderer (HTML, Markdown, JSON, pytest-html extras) reads these plain dicts,
lists and numbers rather than the result objects, so that what a reviewer sees is
the same wherever they see it. Nothing here produces markup: the templates escape.
numpy is imported inside the functions that need it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_runcompare import text
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

    from pytest_runcompare.comparison import MetricDelta, RunComparisonResult
    from pytest_runcompare.judge import Verdict
    from pytest_runcompare.pipeline import GateResult, Judgement

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


def tone(result: GateResult) -> str:
    """The colour of a gate: ``fail``, ``pass`` or ``inconclusive``.

    ``fail`` fails the session; ``inconclusive`` passes but asks a reviewer to look
    (waived, inconclusive, warn-only flagged); ``pass`` is a plain pass.
    """
    from pytest_runcompare.judge import Outcome
    from pytest_runcompare.pipeline import Status

    if result.fails_session:
        return "fail"
    if result.status is Status.PASSED and result.outcome is Outcome.PASS:
        return "pass"
    return "inconclusive"


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
            "tone": tone(result),
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
    if any(tone(r) != "pass" for r in judgement.gates):
        return "inconclusive"
    return "pass"


# --------------------------------------------------------------------------- deltas
def delta_row(d: MetricDelta) -> dict[str, Any]:
    """One metric delta (overall, per slice or per step) as plain values."""
    oriented = d.oriented_delta
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
        "trend": "better" if d.improved else "worse" if d.degraded else "same",
        "improved": d.improved_count,
        "degraded": d.degraded_count,
        "unchanged": d.unchanged_count,
        "n": d.n_paired,
        "missing_in_candidate": d.n_missing_in_candidate,
        "missing_in_baseline": d.n_missing_in_baseline,
    }


def top_regressed_slices(
    comparison: RunComparisonResult, limit: int = TOP_SLICES
) -> list[dict[str, Any]]:
    """The slices (any metric) whose aggregate got worse, the largest relative drop first."""
    rows = [
        delta_row(d)
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


# --------------------------------------------------------------------------- lineage
def lineage_rows(comparison: RunComparisonResult) -> list[dict[str, Any]]:
    """Lineage fields side by side, grouped by section, with the changed ones marked."""
    rows = []
    for entry in comparison.lineage:
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
_W, _H, _PAD = 300.0, 96.0, 2.0


def _bins(
    values: npt.NDArray[np.float64], edges_hint: int = 30
) -> tuple[list[float], list[float], bool]:
    """Bin centres and widths: one per distinct value when few, else equal bins."""
    import numpy as np

    uniq = np.unique(values)
    if uniq.size <= 15 and np.all(np.isclose(uniq, np.round(uniq))):
        return uniq.tolist(), [1.0] * int(uniq.size), True
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return [lo], [1.0], True
    edges = np.linspace(lo, hi, edges_hint + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return centres.tolist(), [float(edges[1] - edges[0])] * edges_hint, False


def _count(
    values: npt.NDArray[np.float64], centres: list[float], discrete: bool
) -> list[int]:
    import numpy as np

    if values.size == 0:
        return [0] * len(centres)
    if discrete:
        index = {c: k for k, c in enumerate(centres)}
        counts = [0] * len(centres)
        uniq, n = np.unique(values, return_counts=True)
        for u, c in zip(uniq.tolist(), n.tolist(), strict=True):
            k = index.get(u)
            if k is None:  # a value between the bins: the nearest bin
                k = int(np.argmin(np.abs(np.asarray(centres) - u)))
            counts[k] += c
        return counts
    half = (centres[1] - centres[0]) / 2 if len(centres) > 1 else 0.5
    edges = [c - half for c in centres] + [centres[-1] + half]
    hist, _ = np.histogram(values, bins=np.asarray(edges))
    return [int(c) for c in hist.tolist()]


def _bars(
    series: Sequence[tuple[str, Sequence[int]]], centres: list[float]
) -> list[dict[str, Any]]:
    """SVG rectangles for one or two count series over the same bins."""
    peak = max((max(c) for _, c in series if c), default=0) or 1
    n = len(centres)
    slot = (_W - 2 * _PAD) / max(n, 1)
    width = slot / len(series)
    out = []
    for s, (cls, counts) in enumerate(series):
        for k, count in enumerate(counts):
            if count == 0:
                continue
            h = max(1.0, (_H - 14) * count / peak)
            out.append(
                {
                    "x": round(_PAD + k * slot + s * width + 0.5, 2),
                    "y": round(_H - 12 - h, 2),
                    "w": round(max(width - 1.0, 1.0), 2),
                    "h": round(h, 2),
                    "cls": cls,
                    "title": f"{fmt_num(centres[k])}: {count}",
                }
            )
    return out


def _chart(centres: list[float], bars: list[dict[str, Any]]) -> dict[str, Any]:
    lo, hi = (centres[0], centres[-1]) if centres else (0.0, 0.0)
    return {
        "w": _W,
        "h": _H,
        "bars": bars,
        "lo": fmt_num(lo),
        "hi": fmt_num(hi),
        "axis_y": _H - 12,
    }


def distribution(comparison: RunComparisonResult, metric: str) -> dict[str, Any]:
    """Histograms of one metric: per-datapoint change, and old vs new values."""
    import numpy as np

    paired = comparison.paired(metric)
    base, cand = paired.baseline, paired.candidate
    hib = paired.higher_is_better
    d = cand - base
    same = np.isclose(cand, base, rtol=1e-12, atol=1e-12)
    moved = d[~same]
    out: dict[str, Any] = {
        "metric": metric,
        "n": paired.n,
        "unchanged": int(same.sum()),
        "higher_is_better": hib,
        "change": None,
        "spread": None,
    }
    if moved.size:
        centres, _, discrete = _bins(moved)
        counts = _count(moved, centres, discrete)
        bars = _bars([("bar", counts)], centres)
        for bar, c in zip(
            bars, [c for c, n in zip(centres, counts, strict=True) if n], strict=True
        ):
            good = c > 0 if hib else c < 0
            bar["cls"] = "good" if good else "bad" if c != 0 else "bar"
        out["change"] = _chart(centres, bars)
        out["worse"] = int(((d < 0) if hib else (d > 0))[~same].sum())
        out["better"] = int(moved.size - out["worse"])
    if paired.n:
        both = np.concatenate([base, cand])
        centres, _, discrete = _bins(both)
        old_counts = _count(base, centres, discrete)
        new_counts = _count(cand, centres, discrete)
        out["spread"] = _chart(
            centres, _bars([("old", old_counts), ("new", new_counts)], centres)
        )
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

    from pytest_runcompare.diff import (
        MAX_WORK,
        as_text,
        json_diff,
        parse_json_output,
        text_diff,
    )

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
        old_text, cut_old = _clip(as_text(old_out))
        new_text, cut_new = _clip(as_text(new_out))
        entry: dict[str, Any] = {"row": r}
        if k == 0:
            diff = text_diff(old_text, new_text, max_work=min(MAX_WORK, budget))
            budget = max(0, budget - diff.work)
            entry["seg"] = [list(s) for s in diff.segments]
            if diff.note:
                entry["diff_note"] = diff.note
            old_json, new_json = parse_json_output(old_out), parse_json_output(new_out)
            if old_json is not None and new_json is not None:
                entry["json"] = [c.to_view() for c in json_diff(old_json, new_json)]
        else:
            entry["old" if k == 2 else "new"] = old_text if k == 2 else new_text
        if cut_old or cut_new:
            entry["cut"] = MAX_OUTPUT_CHARS
        if table.inputs is not None and table.inputs[pos] is not None:
            entry["input"] = _clip(as_text(table.inputs[pos]))[0]
        if table.expected is not None and table.expected[pos] is not None:
            entry["expected"] = _clip(as_text(table.expected[pos]))[0]
        details.append(entry)

    return {
        "metrics": [
            {
                "name": m,
                "hib": comparison.directions[m],
                "gated": False,
            }
            for m in metrics
        ],
        "ids": ids,
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
    deltas = [delta_row(d) for d in comparison.metric_deltas.values()]
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
        step: [delta_row(d) for d in per_metric.values()]
        for step, per_metric in comparison.step_deltas.items()
    }
    slices = [
        delta_row(d)
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
        "distributions": [distribution(comparison, m["name"]) for m in data["metrics"]],
        "slices": slices,
        "steps": steps,
    }
    out: dict[str, Any] = bounded(vm)
    out["explorer"] = _bounded_explorer(data)
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
    out["metrics"] = [{**m, "name": _name(m["name"])} for m in data["metrics"]]
    for column in ("old", "new", "status"):
        out[column] = {_name(k): v for k, v in data[column].items()}
    if data.get("default_metric") is not None:
        out["default_metric"] = _name(data["default_metric"])
    return out
