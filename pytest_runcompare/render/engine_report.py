"""The engine path's reports: JSON, HTML and the Markdown PR comment (issue 15).

:func:`write_engine_reports` renders the reports an engine comparison's request
asks for from its :class:`~pytest_runcompare.pipeline.Judgement` (the gate table
and verdicts are the in-memory path's) and what the engine computed: lineage from
both runs' metadata, and the top changed datapoints per metric. Same inputs, same
bytes; every report says it came from the engine path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare import text

if TYPE_CHECKING:
    from pytest_runcompare.engine.report_facts import ReportFacts
    from pytest_runcompare.engine.view import EngineComparison
    from pytest_runcompare.pipeline import GateResult, Judgement, Outputs

__all__ = [
    "ENGINE_NOTE",
    "engine_view_model",
    "render_engine_html",
    "render_engine_json",
    "render_engine_markdown",
    "report_dict",
    "write_engine_reports",
]

#: What every engine report says of where its figures come from.
ENGINE_NOTE = (
    "judged from sufficient statistics computed in the engine; gates with fewer "
    "than 500 units were judged in memory on their rows. Per-datapoint detail is "
    "limited to the top changed datapoints."
)


def report_dict(comparison: EngineComparison, judgement: Judgement) -> dict[str, Any]:
    """The engine path's JSON report: the judgement and the engine's own facts."""
    return {
        "engine": {
            "name": comparison.engine_name,
            "paths": dict(comparison.paths),
            "note": ENGINE_NOTE,
        },
        "judgement": judgement.to_dict(),
        "changed": {
            metric: [
                {"id": c.id, "baseline": c.baseline, "candidate": c.candidate}
                for c in changed
            ]
            for metric, changed in sorted(comparison.changed.items())
        },
    }


def render_engine_json(comparison: EngineComparison, judgement: Judgement) -> str:
    """The JSON report as text (keys in a stable order: same inputs, same text)."""
    return json.dumps(report_dict(comparison, judgement), indent=2, default=str) + "\n"


def engine_words(comparison: EngineComparison, facts: ReportFacts) -> str:
    """The sentence every engine report opens with: where its figures come from."""
    paths = comparison.paths
    shown = len(facts.rows)
    if not shown:
        detail = "(no datapoint changed)."
    elif "output" in facts.texts:
        detail = f"({shown} datapoints), with their outputs."
    else:
        detail = f"({shown} datapoints); the runs have no output column."
    return (
        f"Engine path ({comparison.engine_name}): {paths['statistics']} gates judged "
        f"from sufficient statistics computed in the engine, {paths['in memory']} "
        f"in memory on their rows (small), {paths['refused']} refused. The gates, "
        "metrics, slices and distributions cover every datapoint; per-datapoint "
        "detail is limited "
        f"to the top {facts.top_k} changed datapoints per metric {detail}"
    )


def _status(old: float | None, new: float | None, hib: bool) -> str:
    if old is None or new is None:
        return "-"
    if abs(new - old) <= 1e-12 + 1e-12 * abs(old):
        return "u"
    return "i" if (new > old) == hib else "d"


def _short(value: float | None) -> float | int | None:
    if value is None:
        return None
    if value.is_integer() and abs(value) < 1e15:
        return int(value)
    return float(f"{value:.6g}")


def _explorer(facts: ReportFacts, max_outputs: int) -> dict[str, Any]:
    """The explorer's data (the in-memory ``model.explorer`` shape) of the top rows."""
    from pytest_runcompare.render.model import REPORT_DIFF_WORK, output_detail

    rows = facts.rows
    metrics = facts.metric_names
    names = sorted({t for r in rows for t in r.tags})
    position = {t: k for k, t in enumerate(names)}
    combos: dict[tuple[str, ...], int] = {}
    tag_of = [combos.setdefault(r.tags, len(combos)) for r in rows]
    changed = [
        int("output" in facts.texts and r.old.get("output") != r.new.get("output"))
        for r in rows
    ]
    details = []
    budget = REPORT_DIFF_WORK
    for k, r in enumerate(rows[: max(0, max_outputs)]):
        entry, budget = output_detail(
            k,
            0,
            r.old.get("output"),
            r.new.get("output"),
            r.old.get("input"),
            r.old.get("expected"),
            budget,
        )
        details.append(entry)
    return {
        "metrics": [
            {
                "name": m,
                "hib": facts.directions.get(m, True),
                "binary": bool(facts.binary.get(m)),
                "gated": False,
            }
            for m in metrics
        ],
        "ids": [r.id for r in rows],
        "tags": names,
        "tag_sets": [[position[t] for t in combo] for combo in combos],
        "tag_of": tag_of,
        "kind": [0] * len(rows),
        "changed": changed,
        "old": {m: [_short(r.baseline.get(m)) for r in rows] for m in metrics},
        "new": {m: [_short(r.candidate.get(m)) for r in rows] for m in metrics},
        "status": {
            m: "".join(
                _status(r.baseline.get(m), r.candidate.get(m), facts.directions[m])
                for r in rows
            )
            for m in metrics
        },
        "details": details,
        "max_outputs": max_outputs,
        "omitted": max(0, len(rows) - len(details)),
        "n_changed": int(sum(changed)),
        "n_common": len(rows),
        "n_new_only": 0,
        "n_old_only": 0,
    }


def _distribution(
    facts: ReportFacts, metric: str, scale: text.Scale | None
) -> dict[str, Any]:
    """One metric's charts from the histograms the engine binned."""
    from pytest_runcompare.render.model import distribution_view

    found = facts.distributions[metric]
    spread = found["spread"]
    if scale is None:
        means = (None, None) if spread is None else (spread.mean_old, spread.mean_new)
        scale = text.Scale(*means)
    return distribution_view(
        metric,
        found["n"],
        found["unchanged"],
        found["hib"],
        scale,
        found["change"],
        spread,
    )


def engine_view_model(
    comparison: EngineComparison,
    judgement: Judgement,
    facts: ReportFacts,
    *,
    generated: str | None = None,
    max_outputs: int = 2000,
) -> dict[str, Any]:
    """The report page's view-model on the engine path (the in-memory one's keys)."""
    from pytest_runcompare.render.model import (
        _bounded_explorer,
        bounded,
        delta_row,
        gate_row,
        lineage_view,
        metric_scales,
        overall,
        slice_grid,
        top_regressed_slices,
    )
    from pytest_runcompare.untrusted import NAME_CHARS, one_line

    rows = [gate_row(r) for r in judgement.gates]
    gated = {r["metric"] for r in rows}
    scales = metric_scales(facts)
    data = _explorer(facts, max_outputs)
    for m in data["metrics"]:
        m["gated"] = m["name"] in gated
    shown = {m["name"] for m in data["metrics"]}
    default_metric = next(
        (r["metric"] for r in rows if r["tone"] != "pass" and r["metric"] in shown),
        next((m["name"] for m in data["metrics"] if m["gated"]), None),
    )
    if default_metric is None and data["metrics"]:
        default_metric = data["metrics"][0]["name"]
    data["default_metric"] = default_metric
    compat = judgement.compatibility
    lineage = lineage_view(facts.lineage)
    base, cand = facts.baseline_name, facts.candidate_name
    vm = {
        "header": {
            "title": f"{one_line(cand, NAME_CHARS)} vs {one_line(base, NAME_CHARS)}",
            "baseline": base,
            "candidate": cand,
            "n_baseline": facts.n_baseline,
            "n_candidate": facts.n_candidate,
            "n_common": facts.n_common,
            "coverage": facts.coverage,
            "generated": generated,
            "seed": judgement.seed,
            "numpy_version": judgement.numpy_version,
            "scipy_version": judgement.scipy_version,
            "summary": judgement.counts(),
            "overall": overall(judgement),
        },
        "engine": {
            "name": comparison.engine_name,
            "text": engine_words(comparison, facts),
            "top_k": facts.top_k,
            "outputs": "output" in facts.texts,
            "new_only": facts.n_new_only,
            "old_only": facts.n_old_only,
        },
        "verdicts": rows,
        "headline": [r for r in rows if r["declared"] and r["tone"] != "pass"],
        "warn_only": [r for r in rows if not r["declared"] and r["outcome"] == "fail"],
        "declared": [r for r in rows if r["declared"]],
        "undeclared": [r for r in rows if not r["declared"]],
        "deltas": [
            delta_row(d, scales.get(d.name)) for d in facts.metric_deltas.values()
        ],
        "worst_slices": top_regressed_slices(facts),
        "lineage": lineage,
        "lineage_changed": sum(1 for r in lineage if r["changed"]),
        "compatibility": {
            "compatible": compat.compatible,
            "problems": list(compat.problems),
            "notes": list(compat.notes) + list(judgement.warnings),
        },
        "tests": [],
        "distributions": [
            _distribution(facts, m["name"], scales.get(m["name"]))
            for m in data["metrics"]
            if m["name"] in facts.distributions
        ],
        "slice_grid": slice_grid(facts, rows, scales),
        "slices": [
            delta_row(d, scales.get(d.name))
            for per_metric in facts.slice_deltas.values()
            for d in per_metric.values()
        ],
        "steps": {},
        "classes": None,
    }
    out: dict[str, Any] = bounded(vm)
    out["explorer"] = _bounded_explorer(data)
    out["curves"] = []
    return out


def render_engine_html(
    comparison: EngineComparison,
    judgement: Judgement,
    facts: ReportFacts,
    *,
    generated: str | None = None,
    max_outputs: int = 2000,
) -> str:
    """The self-contained HTML report of the engine path (the in-memory page)."""
    from pytest_runcompare.render.html import render_page

    vm = engine_view_model(
        comparison, judgement, facts, generated=generated, max_outputs=max_outputs
    )
    return render_page(vm)


def render_engine_markdown(
    comparison: EngineComparison,
    judgement: Judgement,
    facts: ReportFacts,
    *,
    html_path: str | None = None,
    report_url: str | None = None,
    marker: str = "runcompare",
) -> str:
    """The Markdown PR comment of the engine path (the in-memory summary's parts)."""
    from pytest_runcompare.engine.report_facts import worst_datapoints
    from pytest_runcompare.render.markdown import (
        WORST_DATAPOINTS,
        SummaryFacts,
        md_escape,
        render_summary,
    )

    def worst(result: GateResult) -> list[Any]:
        gate = result.verdict.gate
        if gate.step is not None:  # step gates are not read by the engine path
            return []
        return worst_datapoints(comparison, gate.metric, gate.slice, WORST_DATAPOINTS)

    summary = SummaryFacts(
        baseline=facts.baseline_name,
        candidate=facts.candidate_name,
        sizes=(
            f"{facts.n_common} paired datapoints ({facts.coverage:.1%} of the "
            f"baseline), {facts.n_new_only} new, {facts.n_old_only} dropped."
        ),
        deltas=facts,
        worst=worst,
        notes=("", f"ℹ️ *{md_escape(engine_words(comparison, facts), 600)}*"),
        full_report=(
            f"Full report (engine path: the top {facts.top_k} changed datapoints "
            "per metric)"
        ),
    )
    return render_summary(
        summary, judgement, html_path=html_path, report_url=report_url, marker=marker
    )


def write_engine_reports(
    comparison: EngineComparison,
    judgement: Judgement,
    outputs: Outputs,
    *,
    inputs: Sequence[tuple[str, Path]] = (),
) -> list[Path]:
    """Render the reports ``outputs`` asks for and write each atomically.

    Returns the written paths (HTML, Markdown, JSON, in that order, those asked
    for). No report may replace one of ``inputs`` (``(what, path)``: the runs and
    the gates file), another report or anything but a regular file.

    Raises
    ------
    ReportWriteError
        Naming the report that could not be written and why.

    """
    from pytest_runcompare.render.write import ReportWriteError, check_report_paths
    from pytest_runcompare.writer import atomic_file

    wanted = [
        (kind, path)
        for kind, path in (
            ("html", outputs.html),
            ("markdown", outputs.markdown),
            ("json", outputs.json),
        )
        if path is not None
    ]
    check_report_paths(dict(wanted), inputs)
    facts = None
    if outputs.html is not None or outputs.markdown is not None:
        from pytest_runcompare.engine.report_facts import report_facts
        from pytest_runcompare.engine.view import TOP_K

        facts = report_facts(comparison, TOP_K)
    texts: list[tuple[str, Path, str]] = []
    for kind, path in wanted:
        if kind == "html":
            assert facts is not None
            text = render_engine_html(
                comparison,
                judgement,
                facts,
                generated=outputs.generated,
                max_outputs=outputs.max_outputs,
            )
        elif kind == "markdown":
            assert facts is not None
            text = render_engine_markdown(
                comparison,
                judgement,
                facts,
                html_path=None if outputs.html is None else str(outputs.html),
                report_url=outputs.url,
                marker=outputs.marker,
            )
        else:
            text = render_engine_json(comparison, judgement)
        texts.append((kind, path, text))
    written = []
    for kind, path, text in texts:
        try:
            with atomic_file(path) as handle:
                handle.write(text)
        except OSError as error:
            raise ReportWriteError(
                f"could not write the {kind} report {path}: {error.strerror or error}"
            ) from None
        written.append(path)
    return written
