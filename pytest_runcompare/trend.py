"""Each gated metric's trend over the baseline's generations, the candidate last.

Built from :mod:`pytest_runcompare.history` (the means the provenance log recorded at
each promotion, or loaded for older entries) for the two-run report: the HTML draws
one small chart per metric, the Markdown one line, the JSON report carries
:meth:`Trend.to_dict`. A baseline without kept generations has no trend.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.config import RunSource
    from pytest_runcompare.pipeline import Judgement
    from pytest_runcompare.runs import Run

#: Baselines shown before the candidate: the compared one and those before it.
DEFAULT_POINTS = 10


class Role(StrEnum):
    """What a point of a trend is."""

    GENERATION = "generation"  # an older baseline, kept in the history
    BASELINE = "baseline"  # the baseline this comparison judged against
    CANDIDATE = "candidate"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One point: a generation (``0003``), the compared baseline, or the candidate."""

    label: str
    role: Role
    mean: float | None
    time: str | None = None
    code_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "label": self.label,
            "role": str(self.role),
            "mean": self.mean,
            "time": self.time,
            "code_version": self.code_version,
        }


@dataclass(frozen=True, slots=True)
class MetricTrend:
    """One gated metric's means, oldest baseline first, the candidate last."""

    metric: str
    higher_is_better: bool
    points: tuple[TrendPoint, ...]

    @property
    def decimals(self) -> int:
        """Decimals that tell the points apart (three significant digits at least)."""
        from pytest_runcompare.text import scale_decimals

        values = [p.mean for p in self.points if p.mean is not None]
        decimals = scale_decimals(*values)
        steps = [abs(b - a) for a, b in itertools.pairwise(values) if b != a]
        if steps:
            decimals = max(decimals, 1 - math.floor(math.log10(min(steps))))
        return min(decimals, 6)

    def value_text(self, point: TrendPoint) -> str:
        """A point's mean at the trend's decimals."""
        from pytest_runcompare.text import fixed

        return fixed(point.mean, self.decimals)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "metric": self.metric,
            "statistic": "mean",
            "higher_is_better": self.higher_is_better,
            "points": [p.to_dict() for p in self.points],
        }


@dataclass(frozen=True, slots=True)
class Trend:
    """The trends of every gated metric, for the baseline at ``baseline``."""

    baseline: str
    metrics: tuple[MetricTrend, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the JSON report's ``trend``)."""
        return {
            "baseline": self.baseline,
            "metrics": [m.to_dict() for m in self.metrics],
        }


def _mean(metrics: Mapping[str, Any] | None, name: str) -> float | None:
    if metrics is None or name not in metrics:
        return None
    value = metrics[name]
    mean = value.mean if hasattr(value, "mean") else value.get("mean")
    return float(mean) if isinstance(mean, int | float) else None


def baseline_trend(
    location: str,
    baseline: Run,
    candidate: Run,
    metrics: Sequence[tuple[str, bool]],
    *,
    points: int = DEFAULT_POINTS,
) -> Trend | None:
    """The trend of ``metrics`` (``(name, higher_is_better)``) for the baseline at ``location``.

    ``location`` is the baseline as configured: a path, or ``NAME@...`` for an older
    generation (its trend stops at that generation). ``baseline`` and ``candidate``
    are the compared runs: their means are the last two points, whatever the log
    says. None when the baseline keeps no generation (no history, nothing to show).
    """
    from pytest_runcompare.baseline import generations, metric_means
    from pytest_runcompare.history import (
        parse_reference,
        read_history,
        resolve_location,
    )

    reference = parse_reference(location)
    base = Path(location if reference is None else reference.baseline)
    if not metrics or not generations(base):
        return None  # no history: nothing to read (nor the baseline to hash)
    compared = Path(resolve_location(location))
    history = read_history(
        base,
        load_limit=points,
        load=lambda where: baseline if Path(where) == compared else _load(where),
    )
    if not history.kept or not metrics:
        return None
    rows = list(history.generations)
    at = next((i for i, g in enumerate(rows) if g.path == compared), len(rows) - 1)
    rows = rows[: at + 1][-max(1, points) :]
    now = {"baseline": metric_means(baseline), "candidate": metric_means(candidate)}
    out: list[MetricTrend] = []
    for name, higher in metrics:
        line: list[TrendPoint] = []
        for i, g in enumerate(rows):
            last = i == len(rows) - 1
            line.append(
                TrendPoint(
                    g.label,
                    Role.BASELINE if last else Role.GENERATION,
                    _mean(now["baseline"], name) if last else _mean(g.metrics, name),
                    g.time,
                    g.code_version,
                )
            )
        line.append(
            TrendPoint(
                "candidate",
                Role.CANDIDATE,
                _mean(now["candidate"], name),
                candidate.meta.created,
                _short(candidate.meta.code_version),
            )
        )
        out.append(MetricTrend(name, higher, tuple(line)))
    return Trend(str(base), tuple(out))


def _short(code_version: Mapping[str, Any]) -> str | None:
    commit = code_version.get("commit")
    return commit[:7] if isinstance(commit, str) and commit else None


def _load(location: str) -> Run:
    from pytest_runcompare.loaders.registry import load_run

    return load_run(location)


def for_report(
    source: RunSource | None,
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    points: int = DEFAULT_POINTS,
) -> Trend | None:
    """The report's trend: the judgement's gated metrics, None when there is none.

    Only a local native baseline has a history; any problem reading it leaves the
    trend out rather than failing the report.
    """
    from pytest_runcompare.loaders.registry import is_uri

    if source is None or is_uri(source.location) or "::" in source.location:
        return None
    if source.options.get("format") not in (None, "native"):
        return None
    names: list[tuple[str, bool]] = []
    for result in judgement.blocking:
        metric = result.verdict.gate.metric
        delta = comparison.metric_deltas.get(metric)
        if delta is not None and all(metric != n for n, _ in names):
            names.append((metric, bool(delta.higher_is_better)))
    try:
        return baseline_trend(
            source.location,
            comparison.baseline,
            comparison.candidate,
            names,
            points=points,
        )
    except (RunCompareError, OSError, ValueError, TypeError, KeyError):
        return None  # a damaged history never fails the report: it goes without
