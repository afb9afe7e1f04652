"""One gate's data, ready for its test: pairing, coverage, missing policy, waived ids.

:func:`prepare` pairs the gate's metric through the comparison, checks direction,
coverage and NaN values, applies the missing-data policy (docs/statistics.md §7) and
raises :class:`FailClosed` with the reason when the gate cannot be judged.
:class:`WithoutIds` is the view of a comparison that leaves waived datapoint ids out
of every pairing, paired or not.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from pytest_runcompare import text
from pytest_runcompare.errors import ComparisonError
from pytest_runcompare.judge.spec import Gate, MissingPolicy, Pairing

if TYPE_CHECKING:
    from pytest_runcompare.comparison import PairedMetric
    from pytest_runcompare.runs import Run

__all__ = ["Comparable", "FailClosed", "Prepared", "WithoutIds", "prepare"]

FloatArray = npt.NDArray[np.float64]


class Comparable(Protocol):
    """What a gate reads from a comparison (``RunComparisonResult`` is one)."""

    @property
    def baseline(self) -> Run: ...

    @property
    def candidate(self) -> Run: ...

    @property
    def n_common(self) -> int: ...

    def paired(
        self, metric: str, *, slice: str | None = None, step: str | None = None
    ) -> PairedMetric: ...

    def values(
        self,
        metric: str,
        *,
        run: str,
        slice: str | None = None,
        step: str | None = None,
        finite_only: bool = True,
        exclude: Collection[str] = (),
    ) -> FloatArray: ...


@dataclass(slots=True)
class Prepared:
    """Aligned raw data of one gate, after the missing-data policy (mutable while built)."""

    base: FloatArray
    cand: FloatArray
    hib: bool
    boolean: bool
    clusters: npt.NDArray[np.intp] | None = None
    den_base: FloatArray | None = None
    den_cand: FloatArray | None = None
    unpaired: bool = False
    n_missing: int = 0
    n_missing_baseline: int = 0
    coverage: float = math.nan
    imputed: bool = False
    warnings: list[str] = field(default_factory=list)


class FailClosed(Exception):
    """The gate cannot be judged on these data; the message is the reason."""


def preview(ids: npt.NDArray[np.object_], k: int = 3) -> str:
    """``'a', 'b', 'c', …`` for a message."""
    shown = ", ".join(repr(str(x)) for x in ids[:k].tolist())
    return shown + (", …" if ids.size > k else "")


def fetch(comparison: Comparable, gate: Gate, metric: str) -> PairedMetric:
    """``comparison.paired`` with unknown names turned into a fail-closed reason."""
    try:
        return comparison.paired(metric, slice=gate.slice, step=gate.step)
    except ComparisonError as exc:
        raise FailClosed(str(exc)) from None


def _run_values(comparison: Comparable, gate: Gate, run: str) -> FloatArray:
    """All values (NaN and infinite ones too) of the gate's metric in one run."""
    try:
        values = comparison.values(
            gate.metric, run=run, slice=gate.slice, step=gate.step, finite_only=False
        )
    except ComparisonError as exc:
        raise FailClosed(str(exc)) from None
    return np.asarray(values, dtype=np.float64)


def _aggregate_only(run: Run, metric: str) -> bool:
    """``metric`` is in the run's metadata ``metrics`` but on no datapoint or step."""
    if metric not in run.meta.metrics:
        return False
    tables = [run.datapoints, *run.steps.values()]
    return not any(metric in t.metrics for t in tables)


def _absent_reason(
    comparison: Comparable, paired: PairedMetric, name: str
) -> str | None:
    """Why the metric cannot be paired at all, or None when both runs carry it."""
    if paired.in_baseline and paired.in_candidate:
        return None
    only = [
        role
        for role in ("baseline", "candidate")
        if _aggregate_only(
            comparison.baseline if role == "baseline" else comparison.candidate, name
        )
    ]
    if only:
        where = (
            "the run metadata" if len(only) == 2 else f"the {only[0]} run's metadata"
        )
        return (
            f"{name!r} exists only as an aggregate in {where} (no per-datapoint "
            "values), so it cannot be tested; log it per datapoint to gate it"
        )
    if not paired.in_baseline:
        return f"the baseline run has no metric {name!r} to compare with"
    return (
        f"the candidate run has no metric {name!r} "
        f"({paired.baseline_count} baseline datapoints carry it)"
    )


def _zero_one(values: FloatArray) -> bool:
    """Non-empty and every value 0 or 1."""
    return bool(values.size) and bool(np.all((values == 0) | (values == 1)))


def prepare(comparison: Comparable, gate: Gate) -> Prepared:
    """Pair, orient-check and apply the missing-data policy; raise FailClosed."""
    paired = fetch(comparison, gate, gate.metric)
    name = gate.metric
    absent = _absent_reason(comparison, paired, name)
    if absent is not None:
        raise FailClosed(absent)
    n_common = comparison.n_common
    # Runs that share no ids: compared unpaired when asked (pairing: none) or when
    # the gate accepts zero coverage; otherwise the coverage check fails them.
    unpaired = gate.pairing is Pairing.NONE or (
        n_common == 0 and gate.min_coverage == 0
    )
    if not unpaired and n_common == 0:
        raise FailClosed(
            "the runs share no datapoint ids, so nothing can be paired "
            f"(coverage 0% < min_coverage {text.share(gate.min_coverage)}); "
            "`pairing: none` compares them unpaired (far less power, and only "
            "valid if both runs sample the same population)"
        )
    if paired.nan_ids.size:
        raise FailClosed(
            f"{paired.nan_ids.size} paired datapoints have a NaN or infinite "
            f"{name!r} ({preview(paired.nan_ids)})"
        )
    warnings: list[str] = []
    hib = gate.higher_is_better
    if hib is None:
        hib = bool(paired.higher_is_better)
        if paired.direction_assumed:
            warnings.append(
                f"direction of {name!r} not declared: higher is better assumed"
            )
    share = gate.aggregate == "rate" and gate.denominator is None
    boolean = bool(paired.boolean) or share
    base = np.asarray(paired.baseline, dtype=np.float64)
    cand = np.asarray(paired.candidate, dtype=np.float64)
    n_base_only = int(paired.missing_in_baseline.size)
    if unpaired:
        base = _run_values(comparison, gate, "baseline")
        cand = _run_values(comparison, gate, "candidate")
        bad = [
            f"{int(k)} of {x.size} {role} values"
            for role, x in (("baseline", base), ("candidate", cand))
            if (k := np.count_nonzero(~np.isfinite(x)))
        ]
        if bad:
            raise FailClosed(
                f"{' and '.join(bad)} of {name!r} are NaN or infinite; an unpaired "
                "comparison does not drop them"
            )
        # nothing is paired, so the pairing could not tell a 0/1 metric: the runs can
        boolean = boolean or (_zero_one(base) and _zero_one(cand))
        if share:
            base, cand = (base != 0).astype(np.float64), (cand != 0).astype(np.float64)
        if base.size < 2 or cand.size < 2:
            raise FailClosed(f"too few values of {name!r} for an unpaired comparison")
        shared = (
            f"; the runs share {n_common} datapoint ids a paired test could use"
            if n_common
            else ""
        )
        why = (
            "pairing: none"
            if gate.pairing is Pairing.NONE
            else "the runs share no datapoint ids and min_coverage is 0"
        )
        warnings.append(
            f"UNPAIRED comparison ({why}): datapoints are not matched by "
            "id, so it has far less power than a paired one and is only valid if "
            f"both runs sample the same population{shared}"
        )
        return Prepared(base, cand, hib, boolean, unpaired=True, warnings=warnings)
    if share:
        base, cand = (base != 0).astype(np.float64), (cand != 0).astype(np.float64)
    clusters = None if paired.clusters is None else np.asarray(paired.clusters)
    n_missing = int(paired.missing_in_candidate.size)
    # NaN pairs failed closed above, so these are the baseline's carriers (also
    # in a view that leaves waived ids out of both)
    n_baseline = base.size + n_missing
    coverage = base.size / n_baseline if n_baseline else math.nan
    prep = Prepared(
        base,
        cand,
        hib,
        boolean,
        clusters=clusters,
        n_missing=n_missing,
        n_missing_baseline=n_base_only,
        coverage=coverage,
        warnings=warnings,
    )
    if n_base_only:
        warnings.append(
            f"{n_base_only} candidate datapoints have no baseline counterpart "
            f"({preview(paired.missing_in_baseline)}); they are not compared"
        )
    if n_missing:
        what = (
            f"{name!r} is missing from the candidate on {n_missing} of {n_baseline} "
            f"baseline datapoints ({preview(paired.missing_in_candidate)})"
        )
        if not coverage >= gate.min_coverage:
            if base.size == 0 and paired.candidate_count:
                what += (
                    f"; the {paired.candidate_count} candidate datapoints that "
                    "carry it have no baseline value to pair with"
                )
            raise FailClosed(
                f"coverage {text.coverage(coverage, gate.min_coverage)} is below "
                f"min_coverage {text.share(gate.min_coverage)} (enforced under every "
                f"missing policy, here missing: {gate.missing}): {what}"
            )
        impute = gate.denominator is None and (
            gate.missing is MissingPolicy.WORST
            or (gate.missing is MissingPolicy.FAIL and boolean)
        )
        if impute:
            values = np.asarray(paired.missing_in_candidate_values, dtype=np.float64)
            values = values[np.isfinite(values)]
            if share:
                values = (values != 0).astype(np.float64)
            if boolean:
                worst = 0.0 if hib else 1.0
            elif base.size:
                both = np.concatenate([base, cand, values])
                worst = float(both.min() if hib else both.max())
            else:
                raise FailClosed(f"{what}, and nothing is paired")
            prep.base = np.concatenate([base, values])
            prep.cand = np.concatenate([cand, np.full(values.size, worst)])
            if clusters is not None:
                start = int(clusters.max()) + 1 if clusters.size else 0
                prep.clusters = np.concatenate(
                    [clusters, np.arange(start, start + values.size)]
                )
            prep.imputed = True
            warnings.append(f"{what}: counted as the worst score ({worst:g})")
        else:
            warnings.append(f"{what}: dropped from the comparison")
    if gate.denominator is not None:
        den = fetch(comparison, gate, gate.denominator)
        if den.nan_ids.size or not (den.in_baseline and den.in_candidate):
            raise FailClosed(
                f"denominator {gate.denominator!r} is missing or has NaN values"
            )
        if np.array_equal(den.ids, paired.ids):
            db, dc = den.baseline, den.candidate
        else:
            where = {k: i for i, k in enumerate(den.ids.tolist())}
            pos = np.array(
                [where.get(k, -1) for k in paired.ids.tolist()], dtype=np.intp
            )
            keep = pos >= 0
            if not keep.all():
                lost = int((~keep).sum())
                kept = base.size - lost
                if n_baseline and not kept / n_baseline >= gate.min_coverage:
                    raise FailClosed(
                        f"coverage {text.coverage(kept / n_baseline, gate.min_coverage)}"
                        f" is below min_coverage {text.share(gate.min_coverage)}: "
                        f"{lost} paired datapoints lack the denominator "
                        f"{gate.denominator!r}"
                        + (f" and {n_missing} lack {name!r}" if n_missing else "")
                    )
                prep.coverage = kept / n_baseline if n_baseline else math.nan
                warnings.append(
                    f"{lost} datapoints lack the denominator "
                    f"{gate.denominator!r}: dropped"
                )
            prep.base, prep.cand = prep.base[keep], prep.cand[keep]
            if prep.clusters is not None:
                prep.clusters = prep.clusters[keep]
            db, dc = den.baseline[pos[keep]], den.candidate[pos[keep]]
        prep.den_base = np.asarray(db, dtype=np.float64)
        prep.den_cand = np.asarray(dc, dtype=np.float64)
    if prep.base.size == 0:
        raise FailClosed(f"no paired datapoints carry {name!r}")
    if prep.clusters is not None and np.unique(prep.clusters).size == prep.base.size:
        prep.clusters = None  # no replicates: every pair is its own cluster
    return prep


class WithoutIds:
    """A comparison that leaves some datapoint ids out of every pairing and run value.

    Waivers that name datapoint ids take them out of a gate's test this way, paired
    or unpaired (``pairing: none`` reads :meth:`values`).
    """

    def __init__(self, comparison: Comparable, ids: Iterable[str]) -> None:
        self._comparison = comparison
        self._ids = frozenset(ids)

    @property
    def baseline(self) -> Run:
        """The baseline run."""
        return self._comparison.baseline

    @property
    def candidate(self) -> Run:
        """The candidate run."""
        return self._comparison.candidate

    @property
    def n_common(self) -> int:
        """Datapoint ids in both runs, less the ones left out."""
        common = set(self.baseline.ids) & set(self.candidate.ids)
        return len(common - self._ids)

    def _keep(self, ids: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
        excluded = self._ids
        return np.fromiter(
            (i not in excluded for i in ids.tolist()), dtype=np.bool_, count=len(ids)
        )

    def paired(
        self, metric: str, *, slice: str | None = None, step: str | None = None
    ) -> PairedMetric:
        """The comparison's pairing of ``metric`` without the left-out ids."""
        paired = self._comparison.paired(metric, slice=slice, step=step)
        k = self._keep(paired.ids)
        m = self._keep(paired.missing_in_candidate)
        positions = (
            np.arange(paired.id_source.size)
            if paired.id_positions is None
            else paired.id_positions
        )
        return replace(
            paired,
            id_positions=positions[k],
            baseline=paired.baseline[k],
            candidate=paired.candidate[k],
            clusters=None if paired.clusters is None else paired.clusters[k],
            missing_in_candidate=paired.missing_in_candidate[m],
            missing_in_candidate_values=paired.missing_in_candidate_values[m],
            missing_in_baseline=paired.missing_in_baseline[
                self._keep(paired.missing_in_baseline)
            ],
            nan_ids=paired.nan_ids[self._keep(paired.nan_ids)],
        )

    def values(
        self,
        metric: str,
        *,
        run: str,
        slice: str | None = None,
        step: str | None = None,
        finite_only: bool = True,
        exclude: Collection[str] = (),
    ) -> FloatArray:
        """One run's values of ``metric`` without the left-out ids."""
        return self._comparison.values(
            metric,
            run=run,
            slice=slice,
            step=step,
            finite_only=finite_only,
            exclude=self._ids | frozenset(exclude),
        )
