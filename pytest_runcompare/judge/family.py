"""A session's gates judged together: the regression-detection family and the rest.

Declared ``regression_detection`` gates form one family whose p-values are adjusted
with its correction (Holm by default: Holm, *Scand J Stat* 6:65–70, 1979; ``bh``:
Benjamini & Hochberg 1995). Undeclared (slice) gates are warn-only and form a family
of their own: a warn-only gate is flagged FAIL only when "worse beyond the margin"
survives Benjamini–Hochberg across that family, so that noise over many slices does
not flag a handful of them in every session. Non-inferiority gates need no
correction (an intersection–union test); the family reports an upper bound on the
chance that they all pass if nothing changed: the chance of the least powered one
(docs/statistics.md §5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy

from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.evaluate import conclude, measure
from pytest_runcompare.judge.execute import CustomTest
from pytest_runcompare.judge.prepare import Comparable
from pytest_runcompare.judge.spec import Correction, Gate, Mode
from pytest_runcompare.judge.verdict import Evidence, Verdict
from pytest_runcompare.stats.multiplicity import adjust
from pytest_runcompare.stats.result import _plain

__all__ = ["GateSummary", "conclude_family", "evaluate_gates", "judge_gates"]


@dataclass(frozen=True, slots=True)
class GateSummary:
    """All verdicts of a session, with multiplicity and the expected pass chance.

    Attributes
    ----------
    verdicts : tuple of Verdict
        In the order of the gates.
    all_pass_bound : float
        At most this chance that every declared non-inferiority/equivalence gate
        passes at these n if nothing changed: the smallest per-gate chance, a
        bound that holds however the gates' data are correlated (an
        intersection–union test needs no multiplicity correction but pays in
        power: Berger & Hsu, *Stat Sci* 11:283–319, 1996). NaN when there is no
        such gate.
    least_powered : str or None
        The key of the gate that sets the bound.
    family_correction : Correction or None
        Correction applied across the regression-detection family.
    family_size : int
        Number of declared regression-detection gates in the family.
    seed : int
        Seed of the session's resampling.

    """

    verdicts: tuple[Verdict, ...]
    all_pass_bound: float
    least_powered: str | None
    family_correction: Correction | None
    family_size: int
    seed: int
    numpy_version: str = ""
    scipy_version: str = ""

    @property
    def all_passed(self) -> bool:
        """Every verdict passed."""
        return all(v.passed for v in self.verdicts)

    @property
    def failed(self) -> tuple[Verdict, ...]:
        """Verdicts that did not pass."""
        return tuple(v for v in self.verdicts if not v.passed)

    @property
    def text(self) -> str:
        """A short summary line."""
        n = len(self.verdicts)
        bad = len(self.failed)
        line = f"{n - bad} of {n} gates passed"
        if math.isfinite(self.all_pass_bound):
            line += (
                "; chance that all non-inferiority gates pass if nothing changed: "
                f"at most {self.all_pass_bound:.0%} ({self.least_powered})"
            )
        if self.family_size > 1 and self.family_correction:
            line += (
                f"; {self.family_size} regression-detection gates, "
                f"{self.family_correction} correction"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain values."""
        return {
            "verdicts": [v.to_dict() for v in self.verdicts],
            "all_passed": self.all_passed,
            "all_pass_bound": _plain(self.all_pass_bound),
            "least_powered": self.least_powered,
            "family_correction": None
            if self.family_correction is None
            else str(self.family_correction),
            "family_size": self.family_size,
            "seed": self.seed,
            "numpy_version": self.numpy_version,
            "scipy_version": self.scipy_version,
            "text": self.text,
        }


def _in_family(e: Evidence) -> bool:
    return (
        e.gate.mode is Mode.REGRESSION_DETECTION
        and e.gate.declared
        and e.reason is None
        and math.isfinite(e.p_value)
    )


def _worse_beyond_margin(e: Evidence) -> float:
    """One-sided p-value of "worse by more than the margin" (what flags a gate FAIL).

    Regression detection tests exactly that; other modes read it from the opposite
    side's p-value when the test has no interval, else from the interval by the
    normal approximation that matches it.
    """
    from statistics import NormalDist

    if e.mode is Mode.REGRESSION_DETECTION:
        return e.p_value
    if math.isfinite(e.p_value_opposite):
        return e.p_value_opposite
    if not (math.isfinite(e.ci_low) and math.isfinite(e.ci_high)):
        return math.nan
    normal = NormalDist()
    z = normal.inv_cdf(1 - e.gate.alpha)
    se = (e.ci_high - e.ci_low) / (2 * z)
    gap = e.estimate + (e.margin or 0.0)
    if se <= 0:
        return 0.0 if gap < 0 else 1.0
    return normal.cdf(gap / se)


def conclude_family(evidence: Sequence[Evidence], *, seed: int = 0) -> GateSummary:
    """Adjust the families' p-values and conclude every gate once.

    Raises
    ------
    ConfigError
        When members of the regression-detection family disagree on the correction.

    """
    family = [i for i, e in enumerate(evidence) if _in_family(e)]
    methods = sorted({evidence[i].gate.correction for i in family})
    if len(methods) > 1:
        raise ConfigError(
            "regression_detection gates of one session form one family and must "
            f"share one correction; got {', '.join(methods)}"
        )
    method = methods[0] if methods else None
    adjusted: dict[int, float] = {}
    if family:
        values = adjust([evidence[i].p_value for i in family], method or "none")
        adjusted = {i: float(values[j]) for j, i in enumerate(family)}
    warn = {
        i: p
        for i, e in enumerate(evidence)
        if not e.gate.declared
        and e.reason is None
        and math.isfinite(p := _worse_beyond_margin(e))
    }
    flags: dict[int, float] = {}
    if warn:
        values = adjust(list(warn.values()), "bh")
        flags = {i: float(values[j]) for j, i in enumerate(warn)}
    verdicts = []
    for i, e in enumerate(evidence):
        if i in adjusted:
            verdicts.append(conclude(e, p_adjusted=adjusted[i], correction=method))
        elif i in flags:
            verdicts.append(conclude(e, flag_p_adjusted=flags[i]))
        else:
            verdicts.append(conclude(e))
    chances = [
        (v.pass_probability, v.key)
        for v in verdicts
        if v.gate.declared
        and v.gate.mode is not Mode.REGRESSION_DETECTION
        and math.isfinite(v.pass_probability)
    ]
    bound, least = min(chances) if chances else (math.nan, None)
    return GateSummary(
        verdicts=tuple(verdicts),
        all_pass_bound=float(bound),
        least_powered=least,
        family_correction=method,
        family_size=len(family),
        seed=seed,
        numpy_version=np.__version__,
        scipy_version=scipy.__version__,
    )


def judge_gates(
    comparison: Comparable,
    gates: Sequence[Gate],
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> GateSummary:
    """Evaluate a session's gates together on one comparison (see the module docstring).

    Raises
    ------
    ConfigError
        For configuration mistakes, including family members that disagree on
        the correction.

    """
    evidence = [
        measure(comparison, g, seed=seed, custom_tests=custom_tests) for g in gates
    ]
    return conclude_family(evidence, seed=seed)


def evaluate_gates(
    comparison: Comparable,
    gates: Sequence[Gate],
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> list[Verdict]:
    """The verdicts of :func:`judge_gates`."""
    return list(
        judge_gates(comparison, gates, seed=seed, custom_tests=custom_tests).verdicts
    )
