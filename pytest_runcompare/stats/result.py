"""The frozen result every statistical test returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Alternative = Literal["greater", "less", "two-sided"]
ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")


@dataclass(frozen=True, slots=True)
class TestResult:
    """Outcome of one test of the oriented difference δ (positive = candidate better).

    Attributes
    ----------
    test : str
        Human-readable name of the procedure ("paired t", "Tango score test", ...).
    tests_what : str
        The estimand the test speaks about ("mean of paired differences",
        "pseudo-median of paired differences", ...).
    estimate : float
        Point estimate of δ.
    pvalue : float
        p-value of ``H0: δ = null`` against ``alternative`` (NaN when the test
        gives none).
    null : float
        The null value δ0 the p-value refers to.
    alternative : str
        ``"greater"`` (H1: δ > null), ``"less"`` or ``"two-sided"``.
    ci_low, ci_high : float
        Two-sided interval for δ at ``confidence_level``; each end is the one-sided
        bound at level ``(1 + confidence_level) / 2``. NaN when not available.
    confidence_level : float
        Level of the two-sided interval (``1 - 2 alpha`` in a gate).
    se : float
        Standard error of ``estimate`` (NaN when the procedure has none); used for
        the minimum detectable effect and the required sample size.
    n : int
        Number of independent units used (pairs, or clusters when clustered).
    statistic, df : float
        Test statistic and degrees of freedom (NaN when not applicable).
    discordant : tuple of int or None
        ``(b, c)`` for paired binary data: pairs that got worse / better.
    mc_se : float
        Monte Carlo standard error of a resampled p-value (0 for analytic tests).
    warnings : tuple of str
        Caveats the report must show.
    inconclusive : str or None
        When set, the data cannot decide (e.g. not enough tail data for a
        quantile); the reason is the text.

    """

    __test__ = False  # not a pytest test class

    test: str
    tests_what: str
    estimate: float
    pvalue: float
    null: float
    alternative: str
    ci_low: float
    ci_high: float
    confidence_level: float
    se: float = math.nan
    n: int = 0
    statistic: float = math.nan
    df: float = math.nan
    discordant: tuple[int, int] | None = None
    mc_se: float = 0.0
    warnings: tuple[str, ...] = ()
    inconclusive: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe plain values (NaN becomes None)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            if name == "__test__":
                continue
            out[name] = _plain(getattr(self, name))
        return out


def _plain(value: Any) -> Any:
    """Convert numpy scalars, tuples and NaN to JSON-safe values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
