"""Numbers as text, the same way in every face.

Every renderer (the verdict's sentence, the failure message, the terminal table,
Markdown, HTML, annotations) formats a gate's figures through :class:`GateNumbers`,
so one gate's change reads the same everywhere, and every p-value through
:func:`p_value`. Nothing here imports numpy.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = [
    "MISSING",
    "GateNumbers",
    "Scale",
    "coverage",
    "number",
    "p_value",
    "share",
    "signed",
]

#: What a missing or non-finite figure reads as.
MISSING = "n/a"


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def number(value: object, *, digits: int = 4, missing: str = MISSING) -> str:
    """A figure with ``digits`` significant digits (``0.8123``, ``1,234``, ``1.2e-05``)."""
    x = _finite(value)
    if x is None:
        return missing
    if x == 0:
        return "0"
    if abs(x) >= 1e6 or abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return (
        f"{x:,.{decimals}f}"
        if decimals == 0
        else f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    )


def signed(value: object, *, digits: int = 4, missing: str = MISSING) -> str:
    """A change with its sign: ``+0.012``, ``-0.3``, ``0``."""
    x = _finite(value)
    if x is None:
        return missing
    text = number(abs(x), digits=digits)
    if text == "0":
        return "0"
    return ("+" if x > 0 else "-") + text


def p_value(value: object, *, missing: str = MISSING) -> str:
    """A p-value: three significant digits, ``<0.0001`` below that."""
    x = _finite(value)
    if x is None:
        return missing
    if x < 1e-4:
        return "<0.0001"
    return f"{x:.3g}"


def share(value: float) -> str:
    """A configured share as a percentage (``99%``, ``99.5%``), never rounded."""
    return f"{value * 100:g}%"


def coverage(value: float, limit: float) -> str:
    """An observed share (``98.0%``), with more digits where one would round up to ``limit``."""
    text = f"{value:.1%}"
    if value < limit and round(value * 100, 1) >= limit * 100:
        text = f"{value:.3%}"
    return text


def scale_decimals(*references: float | None) -> int:
    """Decimals giving three significant digits at the largest reference (0 to 6)."""
    refs = [abs(x) for x in (_finite(r) for r in references) if x is not None]
    ref = max(refs, default=0.0)
    mag = math.floor(math.log10(ref)) if ref > 0 else 0
    return min(max(0, 2 - mag), 6)


def fixed(
    value: object, decimals: int, *, sign: bool = False, missing: str = MISSING
) -> str:
    """``value`` with ``decimals`` decimals; a zero (or float noise) reads ``0``.

    A change smaller than float noise at that scale (``1.388e-17`` on figures near
    0.8) is zero; a real change too small for the decimals keeps two significant
    digits (``+4.3e-05``) rather than read as no change.
    """
    x = _finite(value)
    if x is None:
        return missing
    text = f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"
    if float(text.replace(",", "")) != 0:
        return text
    if abs(x) < 10.0 ** -(decimals + 6):
        return "0"
    return signed(x, digits=2) if sign else number(x, digits=2)


class Scale:
    """One metric's decimals, so that its values and changes read alike on a page.

    Built from the metric's overall aggregates (three significant digits at their
    scale): the metric's slices, steps and charts use the same decimals.
    """

    __slots__ = ("decimals",)

    def __init__(self, *references: float | None) -> None:
        self.decimals = scale_decimals(*references)

    def value(self, x: object, *, missing: str = MISSING) -> str:
        """An aggregate or a bin edge: ``0.848``, ``12.0``."""
        return fixed(x, self.decimals, missing=missing)

    def change(self, x: object, *, missing: str = MISSING) -> str:
        """A signed change: ``-0.105``, ``+0.020``, ``0``."""
        return fixed(x, self.decimals, sign=True, missing=missing)

    @staticmethod
    def relative(x: object, *, missing: str = MISSING) -> str:
        """A relative change as a percentage with one decimal: ``-38.7%``, ``0%``."""
        share = _finite(x)
        if share is None:
            return missing
        text = fixed(share * 100, 1, sign=True)
        return text if text == "0" else text + "%"


class _Figures(Protocol):
    @property
    def baseline_aggregate(self) -> float: ...
    @property
    def candidate_aggregate(self) -> float: ...
    @property
    def margin(self) -> float | None: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float: ...


class GateNumbers:
    """One gate's figures, all with the decimals that suit the gate's scale.

    The scale is the largest of the aggregates and the margin, capped at ten times
    the margin and ten times the interval's width, so that a change of 0.0122 on
    aggregates near 0.8 reads ``-0.0122`` and not ``-0.01``.
    """

    def __init__(self, figures: _Figures) -> None:
        refs = [
            abs(x)
            for x in (
                figures.baseline_aggregate,
                figures.candidate_aggregate,
                figures.margin or 0.0,
            )
            if math.isfinite(x)
        ]
        ref = max(refs, default=0.0) or 1.0
        if figures.margin:
            ref = min(ref, abs(figures.margin) * 10)
        width = figures.ci_high - figures.ci_low
        if math.isfinite(width) and width > 0:
            ref = min(ref, width * 10)
        mag = math.floor(math.log10(ref)) if ref > 0 else 0
        self.decimals = min(max(0, 2 - mag), 6)

    def value(self, x: float | None, *, sign: bool = False) -> str:
        """``x`` at the gate's scale; ``n/a`` when missing; a zero change is ``0``."""
        if x is None or not math.isfinite(x):
            return MISSING
        text = f"{x:+,.{self.decimals}f}" if sign else f"{x:,.{self.decimals}f}"
        if float(text.replace(",", "")) == 0:
            return "0"
        return text

    def change(self, x: float | None) -> str:
        """A signed change at the gate's scale."""
        return self.value(x, sign=True)

    def interval(self, low: float, high: float) -> str:
        """``[-0.031, +0.004]`` (``[0, 0]`` for no change), or ``n/a`` without both ends."""
        if not (math.isfinite(low) and math.isfinite(high)):
            return MISSING
        return f"[{self.change(low)}, {self.change(high)}]"
