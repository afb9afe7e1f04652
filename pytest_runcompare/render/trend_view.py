"""The trend of each gated metric as the reports show it: an inline SVG, a Markdown line.

Pure functions of a :class:`~pytest_runcompare.trend.Trend`. The chart is a line
through the baseline's generations (oldest left), a dashed step to the candidate,
green or red by whether the candidate is better or worse than its baseline; it needs
no script and no network, and reuses the report's colours (``_trend.html.j2``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_runcompare.trend import MetricTrend, Trend

#: The chart's size in SVG units, and its margins (left for the value labels).
_W, _H = 280.0, 72.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 46.0, 12.0, 8.0, 18.0


def _tone(t: MetricTrend) -> str:
    """``better``, ``worse`` or ``same``: the candidate against its baseline."""
    base, cand = t.points[-2].mean, t.points[-1].mean
    if base is None or cand is None or base == cand:
        return "same"
    return "better" if (cand > base) == t.higher_is_better else "worse"


def _chart(t: MetricTrend) -> dict[str, Any]:
    """Coordinates of one metric's chart: points, the two lines, two value labels."""
    values = [p.mean for p in t.points if p.mean is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.01 or 0.5), hi + (abs(hi) * 0.01 or 0.5)
    step = (_W - _LEFT - _RIGHT) / max(1, len(t.points) - 1)

    def y(v: float) -> float:
        return round(_TOP + (hi - v) / (hi - lo) * (_H - _TOP - _BOTTOM), 2)

    dots: list[dict[str, Any]] = []
    for i, p in enumerate(t.points):
        if p.mean is None:
            continue
        who = {"candidate": "candidate", "baseline": f"baseline ({p.label})"}.get(
            str(p.role), f"generation {p.label}"
        )
        extra = "".join(f", {x}" for x in (p.code_version, p.time) if x)
        dots.append(
            {
                "x": round(_LEFT + i * step, 2),
                "y": y(p.mean),
                "cls": str(p.role),
                "title": f"{who}: {t.value_text(p)}{extra}",
            }
        )
    history = [d for d in dots if d["cls"] != "candidate"]
    last = [d for d in dots if d["cls"] in ("baseline", "candidate")]
    return {
        "w": _W,
        "h": _H,
        "line": " ".join(f"{d['x']},{d['y']}" for d in history),
        "step": last if len(last) == 2 else [],
        "dots": dots,
        "hi": {"y": y(hi) + 3, "text": t.value_text(_at(t, hi))},
        "lo": {"y": y(lo) + 3, "text": t.value_text(_at(t, lo))},
        "label_x": _LEFT - 6,
        "axis_y": _H - _BOTTOM + 12,
        "first": t.points[0].label,
        "last_x": _W - _RIGHT,
    }


def _at(t: MetricTrend, value: float) -> Any:
    from pytest_runcompare.trend import Role, TrendPoint

    return TrendPoint("", Role.GENERATION, value)


def sequence_text(t: MetricTrend, *, bold: tuple[str, str] = ("", "")) -> str:
    """``0.81 → 0.82 → 0.83 → 0.84`` (the candidate wrapped in ``bold``)."""
    parts = [t.value_text(p) for p in t.points]
    parts[-1] = f"{bold[0]}{parts[-1]}{bold[1]}"
    return " → ".join(parts)


def html_view(trend: Trend | None) -> dict[str, Any] | None:
    """What ``_trend.html.j2`` draws, or None without a trend."""
    if trend is None or not trend.metrics:
        return None
    from pytest_runcompare.untrusted import NAME_CHARS, one_line

    rows = []
    for t in trend.metrics:
        rows.append(
            {
                "metric": one_line(t.metric, NAME_CHARS),
                "tone": _tone(t),
                "text": sequence_text(t),
                "direction": "higher" if t.higher_is_better else "lower",
                "chart": _chart(t),
            }
        )
    return {
        "baseline": one_line(trend.baseline, NAME_CHARS),
        "generations": len(trend.metrics[0].points) - 1,
        "rows": rows,
    }


def markdown_lines(trend: Trend | None, escape: Callable[[str, int], str]) -> list[str]:
    """One line per gated metric: ``accuracy: 0.81 → 0.82 → **0.84** (candidate)``.

    ``escape`` makes a metric name safe in Markdown (the summary's ``md_escape``).
    """
    if trend is None or not trend.metrics:
        return []
    shown = len(trend.metrics[0].points) - 1
    lines = [
        "",
        f"**Trend** (mean over the last {shown} baselines, oldest first; "
        "`runcompare history` lists them):",
        "",
    ]
    for t in trend.metrics:
        text = sequence_text(t, bold=("**", "**"))
        lines.append(f"- {escape(t.metric, 60)}: {text} (candidate)")
    return lines
