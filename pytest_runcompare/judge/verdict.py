"""What a gate's test measured (:class:`Evidence`) and what it concluded (:class:`Verdict`).

A verdict is built once, complete: the family's adjusted p-value is known before it
is made, so nothing fills in a placeholder later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from pytest_runcompare.judge.spec import Correction, Mode
from pytest_runcompare.stats.result import _plain

if TYPE_CHECKING:
    from pytest_runcompare.judge.spec import Gate

__all__ = ["Evidence", "Outcome", "Settle", "TestKind", "Verdict"]


class Outcome(StrEnum):
    """What the data showed: PASS, FAIL or INCONCLUSIVE."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class TestKind(StrEnum):
    """The procedure a gate ran (docs/statistics.md §3)."""

    __test__ = False  # not a pytest test class

    NONE = "none"  # nothing ran: the gate failed closed
    COUNT = "count"  # max_new_failures without a margin
    CUSTOM = "custom"
    T = "t"
    AUTO_MEAN = "auto-mean"
    AUTO_MEAN_LARGE = "auto-mean-large"
    BOOTSTRAP_T = "bootstrap-t"
    WILCOXON = "wilcoxon"
    SIGN = "sign"
    PERMUTATION = "permutation"
    BOOTSTRAP_PERCENTILE = "bootstrap-percentile"
    BOOTSTRAP_BCA = "bootstrap-bca"
    TANGO = "tango"
    RELATIVE_SCORE = "relative-score"  # binary metric, relative margin
    MCNEMAR = "mcnemar"
    MCNEMAR_EXACT = "mcnemar-exact"
    SCORE = "score"
    WELCH = "welch"
    QUANTILE = "quantile"
    DELTA = "delta"
    RATIO_BOOTSTRAP = "ratio-bootstrap"


@dataclass(frozen=True, slots=True)
class Settle:
    """``n_needed`` pairs would likely settle a gate ``toward`` PASS or FAIL.

    ``n_needed`` is None when the observed change sits on the margin, where more
    data would not settle it.
    """

    n_needed: int | None
    toward: Outcome | None
    n_now: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        return {
            "n_needed": self.n_needed,
            "toward": None if self.toward is None else str(self.toward),
            "n_now": self.n_now,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """The numbers one gate's test produced, before the family and the decision.

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
    kind : TestKind
        The procedure that ran (``NONE`` when the gate failed closed).
    reason : str or None
        Why the gate failed closed (missing metric, NaN, coverage), if it did.
    config_error : bool
        The gate's own configuration cannot be judged on these runs.
    bound : float
        One-sided (1 − α) lower bound of the change.
    ci_low, ci_high : float
        Two-sided (1 − 2α) interval of the change.
    margin : float or None
        Margin in metric units actually used (for a relative margin: ``r`` times
        the baseline aggregate, for display; the test itself is exact).
    p_value : float
        p-value of the gate's hypothesis (NI: H0 "worse by at least the margin";
        RD: H0 "not worse than the margin"; equivalence: TOST, max of two).
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
        data for a quantile, or identical paired differences at small n).
    zero_spread : str or None
        When every paired difference is identical, what that does and does not
        show (docs/statistics.md §4); the verdict's sentence carries it.

    """

    gate: Gate
    key: str
    kind: TestKind = TestKind.NONE
    warnings: tuple[str, ...] = ()
    reason: str | None = None
    config_error: bool = False
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
    p_value_opposite: float = math.nan
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
    zero_spread: str | None = None
    mc_se: float = 0.0
    seed: int = 0
    numpy_version: str = ""
    scipy_version: str = ""

    @property
    def mode(self) -> Mode:
        """The gate's mode."""
        return self.gate.mode

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe plain values (NaN/inf become None, enums strings)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "gate" or (f.name == "settle" and value is not None):
                out[f.name] = value.to_dict()
            elif isinstance(value, Enum):
                out[f.name] = str(value)
            else:
                out[f.name] = _plain(value)
        out["mode"] = str(self.mode)
        return out


def evidence_fields(evidence: Evidence) -> dict[str, Any]:
    """The evidence's fields by name, to build a :class:`Verdict` from."""
    return {f.name: getattr(evidence, f.name) for f in fields(Evidence)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict(Evidence):
    """The judgement of one gate: the evidence, the family's adjustment, the decision.

    Attributes
    ----------
    outcome : Outcome
        What the data showed.
    passed : bool
        The gate's statistical result after its inconclusive policy (warn-only
        gates pass). The session's final status of a gate (waivers, run
        policies) is :class:`~pytest_runcompare.pipeline.GateResult.status`.
    improved : bool
        The interval shows the candidate better (``ci_low > 0``).
    text : str
        One sentence a reviewer understands.
    p_adjusted : float or None
        Multiplicity-adjusted p-value within the regression-detection family.
    correction : Correction or None
        The family's correction, when it applied to this gate.
    flag_p_adjusted : float or None
        Warn-only gates: the Benjamini–Hochberg-adjusted p-value of "worse beyond
        the margin" across the warn-only family; the gate is flagged FAIL only when
        it is at most α.
    settle : Settle or None
        INCONCLUSIVE gates: the paired datapoints that would likely settle the gate
        if the change stays as observed (:func:`~pytest_runcompare.judge.settle.settle`).

    """

    outcome: Outcome
    passed: bool
    improved: bool = False
    text: str = ""
    p_adjusted: float | None = None
    correction: Correction | None = None
    flag_p_adjusted: float | None = None
    settle: Settle | None = None

    def __str__(self) -> str:
        return self.text
