"""One gate's evidence from an engine's sufficient statistics (:class:`GateStats`).

The same steps as ``judge.prepare`` + ``judge.evaluate._measure``, in the same order
and with the same messages, for gates whose test is analytic at their size: the
test itself runs through ``judge.execute``'s runners (a :class:`Side` carrying the
statistics), so both paths share the statistics code. Gates whose test needs every
datapoint are refused (:class:`EngineRefusal`) with the analytic test to use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pytest_runcompare import text
from pytest_runcompare.engine.summary import GateStats
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.evaluate import (
    MIN_PAIRS,
    count_evidence,
    evidence_from_test,
    fail_closed,
)
from pytest_runcompare.judge.execute import Side
from pytest_runcompare.judge.prepare import FailClosed, Prepared
from pytest_runcompare.judge.select import Choice, select
from pytest_runcompare.judge.spec import Gate, Margin, MissingPolicy, Mode, gate_rng
from pytest_runcompare.judge.verdict import Evidence, TestKind
from pytest_runcompare.stats.binary import PairedTable
from pytest_runcompare.stats.continuous import Moments

__all__ = ["ANALYTIC", "EngineRefusal", "measure_stats"]

#: The tests the engine path runs from sufficient statistics.
ANALYTIC = frozenset(
    {
        TestKind.AUTO_MEAN_LARGE,
        TestKind.T,
        TestKind.TANGO,
        TestKind.MCNEMAR,
        TestKind.MCNEMAR_EXACT,
        TestKind.RELATIVE_SCORE,
    }
)

_INSTEAD = {
    TestKind.BOOTSTRAP_T: "test: t (or test: auto, the paired t with the "
    "skewness-corrected t, which is what auto runs from 500 pairs)",
    TestKind.BOOTSTRAP_PERCENTILE: "test: t (or test: auto)",
    TestKind.BOOTSTRAP_BCA: "test: t (or test: auto)",
    TestKind.PERMUTATION: "test: t (or test: auto)",
    TestKind.WILCOXON: "test: t (or test: auto)",
    TestKind.SIGN: "test: t (or test: auto)",
    TestKind.CUSTOM: "test: t or test: auto",
    TestKind.QUANTILE: "aggregate: mean with test: auto, or judge this gate in "
    "memory (without an engine)",
    TestKind.DELTA: "judge this ratio gate in memory (without an engine)",
    TestKind.RATIO_BOOTSTRAP: "judge this ratio gate in memory (without an engine)",
    TestKind.AUTO_MEAN: "test: t",
}


class EngineRefusal(ConfigError):
    """A gate the engine path cannot judge from sufficient statistics."""


def refusal(gate: Gate, kind: TestKind, n: int, why: str) -> EngineRefusal:
    """The refusal for a test that needs every datapoint, naming what to use."""
    instead = _INSTEAD.get(kind, "test: t or test: auto")
    return EngineRefusal(
        f"gate {gate.key!r}: {why} needs every datapoint, and the engine path "
        f"computes only sufficient statistics at this size (n = {n}); use {instead} "
        "(docs/statistics.md §3)"
    )


def preview(ids: tuple[str, ...], k: int = 3) -> str:
    """``'a', 'b', 'c', …`` as ``judge.prepare.preview`` writes it."""
    shown = ", ".join(repr(str(x)) for x in ids[:k])
    return shown + (", …" if len(ids) > k else "")


class _Stats:
    """:class:`~pytest_runcompare.judge.execute.Summary` of one gate's statistics."""

    def __init__(self, stats: GateStats) -> None:
        self._stats = stats
        self.table: PairedTable | None = stats.table

    def combination(self, orientation: float, weight: float) -> Moments:
        assert self._stats.moments is not None
        return self._stats.moments.combination(orientation, weight)


def _stub(n: int) -> Any:
    """An array of size ``n`` that holds no memory (``select`` reads only its size)."""
    return np.broadcast_to(np.float64(0.0), (n,))


def measure_stats(
    stats: GateStats,
    gate: Gate,
    *,
    higher_is_better: bool,
    direction_assumed: bool,
    seed: int = 0,
) -> Evidence:
    """The evidence of ``gate`` from ``stats`` (as ``judge.measure`` on the rows)."""
    try:
        return _measure(
            stats,
            gate,
            higher_is_better=higher_is_better,
            direction_assumed=direction_assumed,
            seed=seed,
        )
    except FailClosed as exc:
        return fail_closed(gate, str(exc), seed)


def _prepare(
    stats: GateStats, gate: Gate, hib_default: bool, assumed: bool
) -> tuple[Prepared, list[str]]:
    name = gate.metric
    if not stats.in_baseline:
        raise FailClosed(f"the baseline run has no metric {name!r} to compare with")
    if not stats.in_candidate:
        raise FailClosed(
            f"the candidate run has no metric {name!r} "
            f"({stats.baseline_count} baseline datapoints carry it)"
        )
    if stats.n_common == 0:
        raise FailClosed(
            "the runs share no datapoint ids, so nothing can be paired "
            f"(coverage 0% < min_coverage {text.share(gate.min_coverage)}); "
            "`pairing: none` compares them unpaired (far less power, and only "
            "valid if both runs sample the same population)"
        )
    if stats.n_nan:
        raise FailClosed(
            f"{stats.n_nan} paired datapoints have a NaN or infinite "
            f"{name!r} ({preview(stats.nan_ids)})"
        )
    warnings: list[str] = []
    hib = gate.higher_is_better
    if hib is None:
        hib = hib_default
        if assumed:
            warnings.append(
                f"direction of {name!r} not declared: higher is better assumed"
            )
    share = gate.aggregate == "rate" and gate.denominator is None
    boolean = stats.boolean or share
    n_paired = stats.n - stats.n_imputed
    n_missing = stats.n_missing
    n_baseline = n_paired + n_missing
    coverage = n_paired / n_baseline if n_baseline else math.nan
    if stats.n_missing_baseline:
        warnings.append(
            f"{stats.n_missing_baseline} candidate datapoints have no baseline "
            f"counterpart ({preview(stats.missing_baseline_ids)}); they are not "
            "compared"
        )
    imputed = False
    if n_missing:
        what = (
            f"{name!r} is missing from the candidate on {n_missing} of {n_baseline} "
            f"baseline datapoints ({preview(stats.missing_ids)})"
        )
        if not coverage >= gate.min_coverage:
            if n_paired == 0 and stats.candidate_count:
                what += (
                    f"; the {stats.candidate_count} candidate datapoints that "
                    "carry it have no baseline value to pair with"
                )
            raise FailClosed(
                f"coverage {text.coverage(coverage, gate.min_coverage)} is below "
                f"min_coverage {text.share(gate.min_coverage)} (enforced under every "
                f"missing policy, here missing: {gate.missing}): {what}"
            )
        if stats.scope.impute != "none":
            if not boolean and n_paired == 0:
                raise FailClosed(f"{what}, and nothing is paired")
            imputed = True
            warnings.append(f"{what}: counted as the worst score ({stats.worst:g})")
        else:
            warnings.append(f"{what}: dropped from the comparison")
    if stats.n == 0:
        raise FailClosed(f"no paired datapoints carry {name!r}")
    prep = Prepared(
        _stub(stats.n),
        _stub(stats.n),
        hib,
        boolean,
        n_missing=n_missing,
        n_missing_baseline=stats.n_missing_baseline,
        coverage=coverage,
        imputed=imputed,
        warnings=warnings,
    )
    return prep, warnings


def wanted_impute(gate: Gate, boolean: bool, hib: bool) -> str:
    """The :attr:`Scope.impute` rule ``judge.prepare`` applies to this gate (§7)."""
    if gate.denominator is not None:
        return "none"
    if gate.missing is MissingPolicy.WORST or (
        gate.missing is MissingPolicy.FAIL and boolean
    ):
        if boolean:
            return "zero" if hib else "one"
        return "low" if hib else "high"
    return "none"


def _measure(
    stats: GateStats,
    gate: Gate,
    *,
    higher_is_better: bool,
    direction_assumed: bool,
    seed: int,
) -> Evidence:
    key = gate.key
    prep, _ = _prepare(stats, gate, higher_is_better, direction_assumed)
    n = stats.n
    base_agg, cand_agg = _aggregates(stats, gate)
    o = 1.0 if prep.hib else -1.0
    scale = float(n) if gate.aggregate == "sum" else 1.0
    common: dict[str, Any] = {
        "baseline_aggregate": base_agg,
        "candidate_aggregate": cand_agg,
        "n_paired": n,
        "missing_in_candidate": prep.n_missing,
        "missing_in_baseline": prep.n_missing_baseline,
        "coverage": prep.coverage,
    }
    if gate.aggregate == "sum" and (
        (prep.n_missing and not prep.imputed) or prep.n_missing_baseline
    ):
        return fail_closed(
            gate,
            "sums over different datapoint sets are not comparable "
            f"({prep.n_missing} missing from the candidate, "
            f"{prep.n_missing_baseline} missing from the baseline)",
            seed,
            warnings=tuple(prep.warnings),
            **common,
        )
    better, worse = (
        (stats.improved, stats.degraded)
        if prep.hib
        else (stats.degraded, stats.improved)
    )
    counts: dict[str, Any] = {
        "improved_count": better,
        "degraded_count": worse,
        "unchanged_count": n - better - worse,
    }
    discordant = (worse, better) if prep.boolean else None
    new_failures = None if discordant is None else discordant[0]
    margin = gate.margin
    if margin is None and gate.max_new_failures is not None:
        return count_evidence(
            gate,
            prep,
            o * (cand_agg - base_agg),
            discordant=discordant,
            seed=seed,
            counts=counts,
            common=common,
        )
    if n < MIN_PAIRS:  # pragma: no cover - small gates are judged in memory
        raise FailClosed(f"only {n} paired datapoint carries {gate.metric!r}")
    if margin is None and gate.mode is Mode.REGRESSION_DETECTION:
        margin = Margin(0.0)
    rng = gate_rng(key, seed)
    summary = _Stats(stats)

    def side(m: Margin, alternative: str, *, k: int = 1, r: Any = rng) -> Side:
        return Side(
            gate=gate,
            prep=prep,
            margin=m,
            k=k,
            alternative=alternative,
            scale=scale,
            rng=r,
            paired=None,
            custom={},
            summary=summary,
        )

    def chosen(m: Margin) -> Choice:
        choice = select(gate, prep, m, {})
        if choice.kind not in ANALYTIC:
            raise refusal(gate, choice.kind, n, f"test {choice.kind}")
        return choice

    return evidence_from_test(
        gate,
        prep,
        margin,
        side=side,
        choose=chosen,
        constant=lambda: _constant_difference(stats, prep.hib),
        n=n,
        base_agg=base_agg,
        scale=scale,
        seed=seed,
        discordant=discordant,
        new_failures=new_failures,
        counts=counts,
        common=common,
    )


def _aggregates(stats: GateStats, gate: Gate) -> tuple[float, float]:
    """Baseline and candidate aggregates (mean, sum, or share for a rate)."""
    n = stats.n
    if not n:
        return math.nan, math.nan
    if gate.aggregate == "sum":
        return stats.base_sum, stats.cand_sum
    return stats.base_sum / n, stats.cand_sum / n


def _constant_difference(stats: GateStats, hib: bool) -> float | None:
    """The one value every oriented difference takes at 12 decimals, or None (§4).

    Rounding is monotone, so every difference rounds alike exactly when the
    smallest and the largest do.
    """
    if not (math.isfinite(stats.d_min) and math.isfinite(stats.d_max)):
        return None
    o = 1.0 if hib else -1.0
    low = float(np.round(o * stats.d_min, 12))
    high = float(np.round(o * stats.d_max, 12))
    return low if low == high else None
