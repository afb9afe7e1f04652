"""Metric curves of a run (training loss, validation accuracy...) and their overlay.

A run carries its metric histories in ``run.yaml``'s ``curves:`` section, one
mapping per curve with equally long ``step`` and ``value`` lists::

    curves:
      loss: {step: [0, 100, 200], value: [2.31, 0.84, 0.52]}
      val_accuracy: {value: [0.61, 0.83, 0.88]}   # steps 0, 1, 2

(MLflow runs get theirs from the metric steps.) :func:`parse_curves` validates the
section, naming the file and the key of the first problem; :func:`overlay` draws a
baseline and a candidate curve of the same name on one chart, as plain numbers and
strings for the report's inline SVG. Nothing here imports numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_runcompare import limits, text
from pytest_runcompare.errors import RunFormatError

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run, RunMeta

#: The keys of one curve.
KEYS = ("step", "value")
#: Most points drawn per curve: longer curves keep each bucket's first, lowest,
#: highest and last point, so spikes stay visible.
MAX_DRAWN = 600
#: The chart's size and margins, in SVG units (pixels at 100%).
WIDTH, HEIGHT = 440, 210
LEFT, RIGHT, TOP, BOTTOM = 52, 10, 10, 24


@dataclass(frozen=True, slots=True)
class Curve:
    """One metric's history: strictly increasing steps and a finite value at each."""

    steps: tuple[int | float, ...]
    values: tuple[int | float, ...]

    def __post_init__(self) -> None:
        if len(self.steps) != len(self.values):
            raise ValueError(
                f"a curve needs as many steps as values, got {len(self.steps)} and "
                f"{len(self.values)}"
            )

    def __len__(self) -> int:
        return len(self.values)

    @property
    def last(self) -> float:
        """The value at the last step (NaN for an empty curve)."""
        return float(self.values[-1]) if self.values else math.nan

    def to_dict(self) -> dict[str, list[int | float]]:
        """The ``run.yaml`` layout: ``{"step": [...], "value": [...]}``."""
        return {"step": list(self.steps), "value": list(self.values)}


# --------------------------------------------------------------------------- reading
def _number(value: object) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        float(value)
    except OverflowError:
        return None
    return value


def _where(name: str) -> str:
    return f"curves.{name if len(name) <= 60 else name[:57] + '...'}"


def _numbers(raw: object, *, path: str | None, field: str) -> list[int | float]:
    if not isinstance(raw, list):
        raise RunFormatError(
            f"must be a list of numbers, got {type(raw).__name__}",
            path=path,
            field=field,
        )
    cap = limits.CURVE_POINTS.value
    if len(raw) > cap:
        raise RunFormatError(
            limits.CURVE_POINTS.exceeded(f"{len(raw):,}"), path=path, field=field
        )
    out: list[int | float] = []
    for i, item in enumerate(raw):
        number = _number(item)
        if number is None:
            raise RunFormatError(
                f"must be a finite number, got {_short(item)}",
                path=path,
                field=f"{field}[{i}]",
            )
        out.append(number)
    return out


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def parse_curve(raw: object, *, name: str, path: str | None) -> Curve:
    """One curve of the ``curves:`` section (see the module docstring)."""
    where = _where(name)
    if not isinstance(raw, Mapping):
        raise RunFormatError(
            f"must be a mapping with 'step' and 'value' lists, got {type(raw).__name__}",
            path=path,
            field=where,
            hint="write curves: {loss: {step: [0, 1, 2], value: [0.9, 0.5, 0.4]}}",
        )
    unknown = sorted(str(k) for k in raw if k not in KEYS)
    if unknown:
        raise RunFormatError(
            f"unknown key(s) {unknown}; a curve has 'step' (optional) and 'value'",
            path=path,
            field=where,
        )
    if "value" not in raw:
        raise RunFormatError(
            "has no 'value' list", path=path, field=where, hint="add value: [...]"
        )
    values = _numbers(raw["value"], path=path, field=f"{where}.value")
    if not values:
        raise RunFormatError("is empty", path=path, field=f"{where}.value")
    if raw.get("step") is None:
        steps: list[int | float] = list(range(len(values)))
    else:
        steps = _numbers(raw["step"], path=path, field=f"{where}.step")
        if len(steps) != len(values):
            raise RunFormatError(
                f"has {len(steps):,} steps for {len(values):,} values; give one step "
                "per value",
                path=path,
                field=f"{where}.step",
            )
        for i in range(1, len(steps)):
            if not float(steps[i]) > float(steps[i - 1]):
                raise RunFormatError(
                    f"steps must increase: {steps[i]!r} follows {steps[i - 1]!r}",
                    path=path,
                    field=f"{where}.step[{i}]",
                )
    return Curve(steps=tuple(steps), values=tuple(values))


def parse_curves(raw: object, *, path: str | None) -> dict[str, Curve]:
    """Validate a run's ``curves:`` section; ``None`` is no curves.

    Raises
    ------
    RunFormatError
        Naming ``path`` and the key (``curves.loss.step[3]``) of the first problem;
        more than ``limits.CURVES`` curves or ``limits.CURVE_POINTS`` points in one
        curve are refused with the variable that raises the bound.

    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RunFormatError(
            f"must be a mapping of curve name to {{step: [...], value: [...]}}, got "
            f"{type(raw).__name__}",
            path=path,
            field="curves",
        )
    if len(raw) > limits.CURVES.value:
        raise RunFormatError(
            limits.CURVES.exceeded(f"{len(raw):,}"), path=path, field="curves"
        )
    out: dict[str, Curve] = {}
    for name, spec in raw.items():
        if type(name) is not str or not name:
            raise RunFormatError(
                f"curve names must be non-empty strings, got {_short(name)}",
                path=path,
                field="curves",
            )
        if len(name) > limits.TEXT_CHARS.value:
            raise RunFormatError(
                limits.TEXT_CHARS.exceeded(f"a name of {len(name):,}"),
                path=path,
                field=_where(name),
            )
        out[name] = parse_curve(spec, name=name, path=path)
    return out


def from_history(points: Sequence[tuple[int, int, float]]) -> Curve | None:
    """A curve from logged ``(step, timestamp, value)`` points, or ``None``.

    The last value logged at each step is kept (MLflow allows several); non-finite
    values are left out. ``None`` unless at least two steps remain: a metric logged
    once is a number, not a history.
    """
    by_step: dict[int, tuple[int, float]] = {}
    for step, timestamp, value in points:
        if not math.isfinite(value):
            continue
        old = by_step.get(step)
        if old is None or timestamp >= old[0]:
            by_step[step] = (timestamp, value)
    if len(by_step) < 2:
        return None
    steps = sorted(by_step)[: limits.CURVE_POINTS.value]
    return Curve(steps=tuple(steps), values=tuple(by_step[s][1] for s in steps))


# --------------------------------------------------------------------------- drawing
@dataclass(frozen=True, slots=True)
class CurvePair:
    """The baseline's and the candidate's curve of one name (either may be absent)."""

    name: str
    baseline: Curve | None
    candidate: Curve | None
    higher_is_better: bool | None = None


def pairs(baseline: Run, candidate: Run) -> list[CurvePair]:
    """Every curve name of either run, the baseline's order first.

    The direction is the run's metric definition of the same name, when it has one.
    """
    cb, cc = baseline.meta.curves, candidate.meta.curves
    names = list(cb) + [n for n in cc if n not in cb]
    out = []
    for name in names:
        definition = baseline.meta.metric_definitions.get(
            name
        ) or candidate.meta.metric_definitions.get(name)
        out.append(
            CurvePair(
                name=name,
                baseline=cb.get(name),
                candidate=cc.get(name),
                higher_is_better=None
                if definition is None
                else definition.higher_is_better,
            )
        )
    return out


def _thin(curve: Curve, limit: int = MAX_DRAWN) -> list[tuple[float, float]]:
    """At most about ``limit`` points: per bucket its first, lowest, highest, last."""
    points = [
        (float(s), float(v)) for s, v in zip(curve.steps, curve.values, strict=True)
    ]
    if len(points) <= limit:
        return points
    buckets = max(1, limit // 4)
    size = math.ceil(len(points) / buckets)
    kept: list[tuple[float, float]] = []
    for start in range(0, len(points), size):
        chunk = range(start, min(start + size, len(points)))
        lo = min(chunk, key=lambda i: points[i][1])
        hi = max(chunk, key=lambda i: points[i][1])
        for i in sorted({chunk[0], lo, hi, chunk[-1]}):
            kept.append(points[i])
    return kept


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values within ``[lo, hi]`` (1, 2 or 5 times a power of ten apart)."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def _range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _fmt(x: float) -> str:
    """An SVG coordinate: one decimal, no ``-0.0``."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def overlay(pair: CurvePair) -> dict[str, Any]:
    """One chart of plain values: polylines, ticks and the last values, for the SVG.

    Same curves, same strings: every coordinate is rounded to 0.1 unit.
    """
    drawn = {
        role: _thin(curve)
        for role, curve in (("baseline", pair.baseline), ("candidate", pair.candidate))
        if curve is not None
    }
    xs = [x for pts in drawn.values() for x, _ in pts]
    ys = [y for pts in drawn.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = _range(ys)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * inner_w

    def py(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * inner_h

    lines = []
    for role, pts in drawn.items():
        lines.append(
            {
                "cls": "old" if role == "baseline" else "new",
                "role": role,
                "points": " ".join(f"{_fmt(px(x))},{_fmt(py(y))}" for x, y in pts),
                "single": len(pts) == 1,
                "x": _fmt(px(pts[-1][0])),
                "y": _fmt(py(pts[-1][1])),
            }
        )
    x_ticks = [
        {"x": _fmt(px(t)), "text": text.number(t, digits=3)}
        for t in _nice_ticks(min(xs), max(xs))
    ]
    y_ticks = [
        {"y": _fmt(py(t)), "text": text.number(t, digits=3)}
        for t in _nice_ticks(y0, y1)
    ]
    last_b = math.nan if pair.baseline is None else pair.baseline.last
    last_c = math.nan if pair.candidate is None else pair.candidate.last
    change = last_c - last_b
    trend = "same"
    if pair.higher_is_better is not None and math.isfinite(change) and change != 0:
        trend = "better" if (change > 0) == pair.higher_is_better else "worse"
    return {
        "name": pair.name,
        "w": WIDTH,
        "h": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "tick_y": HEIGHT - BOTTOM + 14,
        "lines": lines,
        "x_ticks": x_ticks,
        "y_ticks": y_ticks,
        "n_baseline": 0 if pair.baseline is None else len(pair.baseline),
        "n_candidate": 0 if pair.candidate is None else len(pair.candidate),
        "last_baseline": text.number(last_b, missing="—"),
        "last_candidate": text.number(last_c, missing="—"),
        "change": text.signed(change).replace("-", "\u2212", 1)
        if math.isfinite(change)
        else "",
        "trend": trend,
        "direction": None
        if pair.higher_is_better is None
        else ("higher" if pair.higher_is_better else "lower"),
    }


def summary(pair: CurvePair) -> dict[str, Any]:
    """A curve pair for the JSON report: per run its length, last step and value, range.

    The points themselves are in each run's metadata (``meta.curves``).
    """

    def side(curve: Curve | None) -> dict[str, Any] | None:
        if curve is None:
            return None
        return {
            "n_points": len(curve),
            "first_step": curve.steps[0],
            "last_step": curve.steps[-1],
            "last": curve.last,
            "min": min(curve.values),
            "max": max(curve.values),
        }

    return {
        "baseline": side(pair.baseline),
        "candidate": side(pair.candidate),
        "higher_is_better": pair.higher_is_better,
    }


def with_curves(meta: RunMeta, raw: object, *, path: object) -> RunMeta:
    """``meta`` with the ``curves:`` section of its raw mapping validated and typed.

    The section leaves ``extra`` (where an unknown key would be kept) for
    ``meta.curves``; ``to_dict`` writes it back, so a saved or promoted run keeps it.
    """
    from dataclasses import replace

    if not isinstance(raw, Mapping) or raw.get("curves") is None:
        return meta
    curves = parse_curves(raw["curves"], path=None if path is None else str(path))
    extra = {k: v for k, v in meta.extra.items() if k != "curves"}
    return replace(meta, curves=curves, extra=extra)


def views(baseline: Run, candidate: Run) -> list[dict[str, Any]]:
    """Every curve pair of two runs as a chart (:func:`overlay`), names made safe.

    Names are bounded and their control characters escaped like every name of the
    report; the templates escape the rest.
    """
    from pytest_runcompare.untrusted import NAME_CHARS, one_line

    out = []
    for pair in pairs(baseline, candidate):
        chart = overlay(pair)
        chart["name"] = one_line(pair.name, NAME_CHARS)
        out.append(chart)
    return out


def append_point(
    curves: dict[str, dict[str, list[int | float]]],
    name: str,
    value: object,
    *,
    step: object = None,
    path: object = None,
) -> None:
    """Append one point to ``curves[name]`` (the ``run.yaml`` layout), validated.

    For :meth:`RunWriter.log_curve`: the point is checked as :func:`parse_curves`
    checks a whole section (finite numbers, steps increasing, the limits), at the
    cost of that point only. Without ``step`` the next step is the last plus 1.
    """
    where = None if path is None else str(path)
    spec = curves.get(name)
    if spec is None:
        if len(curves) >= limits.CURVES.value:
            raise RunFormatError(
                limits.CURVES.exceeded(f"{len(curves) + 1:,}"),
                path=where,
                field="curves",
            )
        spec = {"step": [], "value": []}
    steps = spec["step"]
    if step is None:
        step = steps[-1] + 1 if steps else 0
    checked = parse_curves({name: {"step": [step], "value": [value]}}, path=where)
    point = checked[name]
    if steps and not float(point.steps[0]) > float(steps[-1]):
        raise RunFormatError(
            f"steps must increase: {step!r} follows {steps[-1]!r}",
            path=where,
            field=f"{_where(name)}.step[{len(steps)}]",
        )
    if len(steps) >= limits.CURVE_POINTS.value:
        raise RunFormatError(
            limits.CURVE_POINTS.exceeded(f"{len(steps) + 1:,}"),
            path=where,
            field=f"{_where(name)}.value",
        )
    steps.append(point.steps[0])
    spec["value"].append(point.values[0])
    curves[name] = spec
