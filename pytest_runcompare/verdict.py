"""Outcomes, modes and the frozen :class:`Verdict` a gate evaluates to."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import Enum
from typing import TYPE_CHECKING, Any

from pytest_runcompare.stats.result import _plain

if TYPE_CHECKING:
    from pytest_runcompare.gates import Gate


class Outcome(Enum):
    """What the data showed: PASS, FAIL or INCONCLUSIVE."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:
        return self.value


class Mode(Enum):
    """Which hypothesis a gate tests (STATISTICS.md §1)."""

    NON_INFERIORITY = "non_inferiority"
    REGRESSION_DETECTION = "regression_detection"
    EQUIVALENCE = "equivalence"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement of one gate, with the numbers behind it.

    All differences (``estimate``, ``bound``, ``ci_low``, ``ci_high``, ``margin``,
    ``mde``) are in the metric's units, oriented so that positive means the
    candidate is better (for a ``sum`` aggregate: in units of the sum).

    Attributes
    ----------
    gate : Gate
        The gate evaluated.
    key : str
        Stable name, e.g. ``"accuracy"``, ``"accuracy[lang:de]"``,
        ``"accuracy[step=retrieve]"``, ``"p95(latency)"``; also seeds resampling.
    outcome : Outcome
        What the data showed.
    passed : bool
        The gate's result after the inconclusive policy (and warn-only slices).
    improved : bool
        The interval shows the candidate better (``ci_low > 0``).
    text : str
        One sentence a reviewer understands.
    reason : str or None
        Why the gate failed closed (missing metric, NaN, coverage), if it did.
    bound : float
        One-sided (1 − α) lower bound of the change (upper bound for nothing:
        ``ci_high`` is the other side).
    ci_low, ci_high : float
        Two-sided (1 − 2α) interval of the change.
    margin : float or None
        Margin in metric units actually used (for a relative margin: ``r`` times
        the baseline aggregate, for display; the test itself is exact).
    p_value : float
        p-value of the gate's hypothesis (NI: H0 "worse by at least the margin";
        RD: H0 "not worse than the margin"; equivalence: TOST, max of two).
    p_adjusted : float or None
        Multiplicity-adjusted p-value within the regression-detection family.
    mde : float
        Minimum detectable effect at this n (80% power, one-sided α).
    n_required : int or None
        Paired datapoints needed for this margin at 80% power if nothing changed.
    pass_probability : float
        Chance of PASS at this n if the candidate is unchanged (NI/equivalence).
    p_value_opposite : float
        p-value of the opposite one-sided hypothesis, computed only for tests
        without an interval (it then decides the other side).
    new_failures : int or None
        Binary metrics: datapoints right in the baseline, wrong in the candidate.
    inconclusive_reason : str or None
        Why the data cannot decide whatever the p-value (e.g. too little tail
        data for a quantile).

    """

    gate: Gate
    key: str
    outcome: Outcome
    passed: bool
    improved: bool
    text: str
    warnings: tuple[str, ...] = ()
    reason: str | None = None
    baseline_aggregate: float = math.nan
    candidate_aggregate: float = math.nan
    estimate: float = math.nan
    bound: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    confidence_level: float = math.nan
    margin: float | None = None
    margin_text: str = ""
    p_value: float = math.nan
    p_adjusted: float | None = None
    p_value_opposite: float = math.nan
    correction: str | None = None
    test: str = ""
    test_reason: str = ""
    tests_what: str = ""
    n_paired: int = 0
    n_units: int = 0
    discordant: tuple[int, int] | None = None
    mde: float = math.nan
    n_required: int | None = None
    pass_probability: float = math.nan
    improved_count: int = 0
    degraded_count: int = 0
    unchanged_count: int = 0
    missing_in_candidate: int = 0
    missing_in_baseline: int = 0
    coverage: float = math.nan
    new_failures: int | None = None
    inconclusive_reason: str | None = None
    mc_se: float = 0.0
    seed: int = 0
    numpy_version: str = ""
    scipy_version: str = ""

    @property
    def mode(self) -> Mode:
        """The gate's mode."""
        return self.gate.mode

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe plain values (NaN/inf become None, enums strings)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "gate":
                out["gate"] = value.to_dict()
            elif isinstance(value, Enum):
                out[f.name] = str(value)
            else:
                out[f.name] = _plain(value)
        out["mode"] = str(self.mode)
        return out
