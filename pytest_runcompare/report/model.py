"""The report's view-model: plain values computed once from a comparison and verdicts.

Every renderer (HTML, Markdown, JSON, pytest-html extras) reads these plain dicts,
lists and numbers rather than the result objects, so that what a reviewer sees is
the same wherever they see it. Nothing here produces markup: the templates escape.
numpy is imported inside the functions that need it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pytest_runcompare.comparison import MetricDelta, RunComparisonResult
    from pytest_runcompare.verdict import Verdict

#: Longest output text embedded per side; beyond it the report says it was cut.
MAX_OUTPUT_CHARS = 20_000
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
    x = _finite(value)
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if abs(x) >= 1e6 or abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def fmt_signed(value: Any, digits: int = 4) -> str:
    """A change with its sign (``+0.012``, ``−0.3``)."""
    x = _finite(value)
    if x is None:
        return "—"
    text = fmt_num(abs(x), digits)
    if x > 0:
        return "+" + text
    if x < 0:
        return "\u2212" + text
    return text


def fmt_pct(value: Any) -> str:
    """A relative change as a signed percentage."""
    x = _finite(value)
    if x is None:
        return "—"
    return fmt_signed(x * 100, 3) + "%"


def fmt_p(value: Any) -> str:
    """A p-value: three significant digits, ``<0.0001`` below that."""
    x = _finite(value)
    if x is None:
        return "—"
    if x < 1e-4:
        return "<0.0001"
    return f"{x:.3g}"


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
def _outcome(verdict: Verdict) -> str:
    return str(verdict.outcome)


def verdict_row(verdict: Verdict) -> dict[str, Any]:
    """One gate's figures as plain values (raw numbers and their display text)."""
    gate = verdict.gate
    return {
        "key": verdict.key,
        "metric": gate.metric,
        "slice": gate.slice,
        "step": gate.step,
        "mode": str(gate.mode),
        "aggregate": gate.aggregate,
        "declared": bool(getattr(gate, "declared", True)),
        "outcome": _outcome(verdict),
        "passed": bool(verdict.passed),
        "improved": bool(verdict.improved),
        "text": verdict.text,
        "reason": getattr(verdict, "reason", None),
        "warnings": list(verdict.warnings),
        "baseline": _finite(verdict.baseline_aggregate),
        "candidate": _finite(verdict.candidate_aggregate),
        "estimate": _finite(verdict.estimate),
        "bound": _finite(verdict.bound),
        "ci_low": _finite(verdict.ci_low),
        "ci_high": _finite(verdict.ci_high),
        "confidence_level": _finite(getattr(verdict, "confidence_level", None)),
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


def verdict_summary(verdicts: Sequence[Verdict]) -> dict[str, int]:
    """Counts of the declared gates by outcome, and of the rest.

    ``pass``/``fail``/``inconclusive`` count declared gates; ``warn_only`` counts
    the gates that cannot fail the run (automatic slice gates) and ``warnings``
    those of them that did not pass; ``blocking`` the gates that fail the run.
    """
    counts = {"pass": 0, "fail": 0, "inconclusive": 0}
    warn_only = [v for v in verdicts if not getattr(v.gate, "declared", True)]
    for v in verdicts:
        if getattr(v.gate, "declared", True):
            counts[_outcome(v)] = counts.get(_outcome(v), 0) + 1
    counts["total"] = len(verdicts) - len(warn_only)
    counts["warn_only"] = len(warn_only)
    counts["warnings"] = sum(1 for v in warn_only if _outcome(v) != "pass")
    counts["blocking"] = sum(1 for v in verdicts if not v.passed)
    counts["blocking_fail"] = sum(
        1 for v in verdicts if not v.passed and _outcome(v) == "fail"
    )
    return counts


def overall_outcome(counts: Mapping[str, int]) -> str:
    """The run's outcome from :func:`verdict_summary` counts.

    ``fail`` when a gate that fails the run failed, ``inconclusive`` when only
    inconclusive ones do, ``pass`` when none does, ``none`` without gates.
    """
    if counts["blocking_fail"]:
        return "fail"
    if counts["blocking"]:
        return "inconclusive"
    return "pass" if counts["total"] or counts["warn_only"] else "none"


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
    counts, _ = np.histogram(values, bins=np.asarray(edges))
    return [int(c) for c in counts.tolist()]


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
        as_text,
        json_diff,
        parse_json_output,
        word_diff,
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
            entry["seg"] = [list(s) for s in word_diff(old_text, new_text)]
            old_json, new_json = parse_json_output(old_out), parse_json_output(new_out)
            if old_json is not None and new_json is not None:
                entry["json"] = [c.to_list() for c in json_diff(old_json, new_json)]
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
    verdicts: Sequence[Verdict],
    *,
    title: str | None,
    generated: str | None,
    seed: int | None,
) -> dict[str, Any]:
    """Names, sizes, seed and the overall verdict."""
    if seed is None and verdicts:
        seed = verdicts[0].seed
    versions = next(
        (
            (v.numpy_version, v.scipy_version)
            for v in verdicts
            if v.numpy_version or v.scipy_version
        ),
        ("", ""),
    )
    summary = verdict_summary(verdicts)
    overall = overall_outcome(summary)
    baseline, candidate = comparison.baseline.name, comparison.candidate.name
    return {
        "title": title or f"{candidate} vs {baseline}",
        "baseline": baseline,
        "candidate": candidate,
        "n_baseline": len(comparison.baseline),
        "n_candidate": len(comparison.candidate),
        "n_common": comparison.n_common,
        "coverage": comparison.coverage,
        "generated": generated,
        "seed": seed,
        "numpy_version": versions[0],
        "scipy_version": versions[1],
        "summary": summary,
        "overall": overall,
    }


def view_model(
    comparison: RunComparisonResult,
    verdicts: Sequence[Verdict],
    *,
    tests: Iterable[TestRecord] = (),
    title: str | None = None,
    generated: str | None = None,
    max_outputs: int = 2000,
    seed: int | None = None,
) -> dict[str, Any]:
    """Everything the HTML report shows, as plain values."""
    verdicts = list(verdicts)
    rows = [verdict_row(v) for v in verdicts]
    gated = {r["metric"] for r in rows}
    deltas = [delta_row(d) for d in comparison.metric_deltas.values()]
    data = explorer(comparison, max_outputs)
    for m in data["metrics"]:
        m["gated"] = m["name"] in gated
    default_metric = next(
        (
            r["metric"]
            for r in rows
            if r["outcome"] != "pass"
            and r["metric"] in {m["name"] for m in data["metrics"]}
        ),
        next((m["name"] for m in data["metrics"] if m["gated"]), None),
    )
    if default_metric is None and data["metrics"]:
        default_metric = data["metrics"][0]["name"]
    data["default_metric"] = default_metric
    from pytest_runcompare.summary import run_notes

    compat = comparison.compatibility
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
    return {
        "header": header(
            comparison, verdicts, title=title, generated=generated, seed=seed
        ),
        "verdicts": rows,
        "headline": [r for r, v in zip(rows, verdicts, strict=True) if not v.passed],
        "warn_only": [r for r in rows if not r["declared"] and r["outcome"] != "pass"],
        "declared": [r for r in rows if r["declared"]],
        "undeclared": [r for r in rows if not r["declared"]],
        "deltas": deltas,
        "worst_slices": top_regressed_slices(comparison),
        "lineage": lineage,
        "lineage_changed": sum(1 for r in lineage if r["changed"]),
        "compatibility": {
            "compatible": compat.compatible,
            "problems": list(compat.problems),
            "notes": list(compat.notes) + run_notes(comparison),
        },
        "tests": [t.to_dict() for t in tests],
        "distributions": [distribution(comparison, m["name"]) for m in data["metrics"]],
        "slices": slices,
        "steps": steps,
        "explorer": data,
    }
