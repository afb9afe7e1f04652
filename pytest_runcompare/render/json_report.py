"""The machine-readable JSON report: the whole comparison and every verdict.

Named ``json_report`` so that it never shadows the standard library's ``json``.
The layout carries ``schema_version``; a change that removes or renames a field
bumps it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_runcompare.comparison import MetricDelta, RunComparisonResult
    from pytest_runcompare.pipeline import Judgement
    from pytest_runcompare.plan import Plan
    from pytest_runcompare.render.model import TestRecord
    from pytest_runcompare.runs import Run
    from pytest_runcompare.trend import Trend

SCHEMA_VERSION = 2


#: Levels of nesting written; deeper values become :data:`DEEPER` (the readers refuse
#: metadata past ``limits.NESTING``, this keeps the report itself from recursing).
MAX_DEPTH = 100
DEEPER = "<nested deeper than 100 levels: not written>"


def _plain(value: Any, depth: int = 0) -> Any:
    """JSON-safe values: numpy scalars unwrapped, NaN/inf None, others as text."""
    if isinstance(value, Mapping | list | tuple | set | frozenset) and (
        depth >= MAX_DEPTH
    ):
        return DEEPER
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v, depth + 1) for v in items]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def _delta(d: MetricDelta) -> dict[str, Any]:
    return {
        "aggregate": d.aggregate,
        "higher_is_better": d.higher_is_better,
        "direction_assumed": d.direction_assumed,
        "old": d.old_aggregate,
        "new": d.new_aggregate,
        "delta": d.delta,
        "relative_delta": d.relative_delta,
        "n_paired": d.n_paired,
        "improved_count": d.improved_count,
        "degraded_count": d.degraded_count,
        "unchanged_count": d.unchanged_count,
        "n_missing_in_candidate": d.n_missing_in_candidate,
        "n_missing_in_baseline": d.n_missing_in_baseline,
        "improved_ids": list(d.improved_ids),
        "degraded_ids": list(d.degraded_ids),
    }


def _run(run: Run) -> dict[str, Any]:
    return {
        "name": run.name,
        "n_datapoints": len(run),
        "meta": run.meta.to_dict(),
        "source": run.meta.source,
        "format": run.meta.format,
        "warnings": list(run.warnings),
    }


def report_dict(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    tests: Sequence[TestRecord] = (),
    plan: Plan | None = None,
) -> dict[str, Any]:
    """The JSON report as plain values (see :func:`render_json`)."""
    from pytest_runcompare import __version__, classes, curves

    compat = comparison.compatibility
    classified = classes.cached(comparison, judgement)
    data: dict[str, Any] = _plain(
        {
            "schema_version": SCHEMA_VERSION,
            "generator": {"name": "pytest-runcompare", "version": __version__},
            "baseline": _run(comparison.baseline),
            "candidate": _run(comparison.candidate),
            "summary": {"passed": judgement.passed, "counts": judgement.counts()},
            "compatibility": {
                "compatible": compat.compatible,
                "same_data": compat.same_data,
                "data_basis": compat.data_basis,
                "same_metrics": compat.same_metrics,
                "problems": list(compat.problems),
                "notes": list(compat.notes),
            },
            "lineage": [
                {"field": e.field, "old": e.old, "new": e.new, "changed": e.changed}
                for e in comparison.lineage
            ],
            "datapoints": {
                "n_common": comparison.n_common,
                "coverage": comparison.coverage,
                "changed_outputs": comparison.changed_output_count,
                "new_only": comparison.new_only_datapoints,
                "old_only": comparison.old_only_datapoints,
            },
            "metrics": {k: _delta(d) for k, d in comparison.metric_deltas.items()},
            "slices": {
                tag: {k: _delta(d) for k, d in per.items()}
                for tag, per in comparison.slice_deltas.items()
            },
            "steps": {
                step: {k: _delta(d) for k, d in per.items()}
                for step, per in comparison.step_deltas.items()
            },
            "judgement": judgement.to_dict(),
            "classes": None if classified is None else classified.to_dict(),
            "curves": {
                pair.name: curves.summary(pair)
                for pair in curves.pairs(comparison.baseline, comparison.candidate)
            },
            "tests": [t.to_dict() for t in tests],
            "plan": None if plan is None else plan.to_dict(),
        }
    )
    return data


def render_json(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    tests: Sequence[TestRecord] = (),
    plan: Plan | None = None,
    trend: Trend | None = None,
) -> str:
    """Render the whole comparison and its judgement as JSON.

    The top-level object carries ``"schema_version": 2``, the two runs' metadata,
    compatibility, lineage, datapoint sets, per-metric, per-slice and per-step
    deltas (with the ids that improved and regressed), the judgement (every
    gate's final status, reasons and verdict), the classification view (``classes``:
    confusion matrices and per-class scores, null unless the datapoints are labels),
    the metric ``curves`` of either run, the session's test records and the
    power ``plan`` from the baseline alone (null without one). NaN and infinities become
    ``null``; keys keep a stable order, so equal inputs give equal text. A lone
    surrogate in a string is written as its JSON escape (``\ud800``): it reads back
    the same, and the text can be encoded as UTF-8.
    """
    from pytest_runcompare.untrusted import no_surrogates

    data = report_dict(comparison, judgement, tests=tests, plan=plan)
    if trend is not None:  # each gated metric over the baseline's generations
        data["trend"] = _plain(trend.to_dict())
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return no_surrogates(text)
