"""``compare_runs``: pair two runs by datapoint id and describe what changed.

Pairing happens once (two index arrays into the runs' columns); metric deltas, slices,
steps, changed outputs, lineage and the compatibility check are all views over it.
The statistical judgement of those changes lives in :mod:`pytest_runcompare.judge`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import count, repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from pytest_runcompare.aggregates import aggregate, check_aggregate
from pytest_runcompare.errors import ComparisonError
from pytest_runcompare.runs import Datapoints, MetricColumn, Run, RunMeta

IndexArray = npt.NDArray[np.intp]
ObjectArray = npt.NDArray[np.object_]
_EMPTY_IDS: ObjectArray = np.array([], dtype=object)


def _ids_array(ids: list[str]) -> ObjectArray:
    out = np.empty(len(ids), dtype=object)
    out[:] = ids
    return out


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """How one metric changed over the common datapoints (or a slice or step of them).

    ``delta`` is ``new - old`` in the metric's units; ``improved``/``degraded`` honour
    the metric's direction. Counts and ids are per datapoint, over the pairs where both
    runs carry a finite value.
    """

    name: str
    aggregate: str
    higher_is_better: bool
    direction_assumed: bool
    old_aggregate: float | None
    new_aggregate: float | None
    delta: float | None
    relative_delta: float | None
    improved_count: int
    degraded_count: int
    unchanged_count: int
    id_source: ObjectArray = field(repr=False, compare=False)
    improved_positions: IndexArray = field(repr=False, compare=False)
    degraded_positions: IndexArray = field(repr=False, compare=False)
    n_paired: int
    n_missing_in_candidate: int = 0
    n_missing_in_baseline: int = 0
    in_baseline: bool = True
    in_candidate: bool = True
    slice: str | None = None
    step: str | None = None

    @property
    def improved_ids(self) -> tuple[str, ...]:
        """Ids of the datapoints that got better.

        Built on access: there may be millions, and gathering string objects from all
        over memory costs more than the rest of a comparison.
        """
        return tuple(self.id_source[self.improved_positions].tolist())

    @property
    def degraded_ids(self) -> tuple[str, ...]:
        """Ids of the datapoints that got worse."""
        return tuple(self.id_source[self.degraded_positions].tolist())

    @property
    def oriented_delta(self) -> float | None:
        """The change with the sign flipped for lower-is-better metrics (positive = better)."""
        if self.delta is None:
            return None
        return self.delta if self.higher_is_better else -self.delta

    @property
    def improved(self) -> bool:
        """The aggregate moved in the metric's good direction."""
        return (self.oriented_delta or 0.0) > 0

    @property
    def degraded(self) -> bool:
        """The aggregate moved in the metric's bad direction."""
        return (self.oriented_delta or 0.0) < 0


@dataclass(frozen=True, slots=True, eq=False)
class PairedMetric:
    """The paired values of one metric, ready for a statistical test.

    ``baseline`` and ``candidate`` are raw (not oriented) values of the datapoints where
    both runs carry a finite value, in baseline order. What could not be paired is
    listed, so that a gate can fail closed and say why.
    """

    metric: str
    slice: str | None
    step: str | None
    id_source: ObjectArray
    id_positions: IndexArray | None
    baseline: npt.NDArray[np.float64]
    candidate: npt.NDArray[np.float64]
    higher_is_better: bool
    direction_assumed: bool
    boolean: bool
    clusters: npt.NDArray[np.intp] | None
    missing_in_candidate: ObjectArray
    missing_in_candidate_values: npt.NDArray[np.float64]
    missing_in_baseline: ObjectArray
    nan_ids: ObjectArray
    in_baseline: bool
    in_candidate: bool
    baseline_count: int
    candidate_count: int

    @classmethod
    def from_arrays(
        cls,
        metric: str,
        baseline: npt.NDArray[np.float64],
        candidate: npt.NDArray[np.float64],
        *,
        higher_is_better: bool = True,
        boolean: bool = False,
        ids: ObjectArray | None = None,
        clusters: npt.NDArray[np.intp] | None = None,
    ) -> PairedMetric:
        """Complete pairs from two aligned arrays: nothing missing, nothing NaN.

        For scripts, simulations and custom tests that have paired values in hand.
        """
        empty = np.array([], dtype=object)
        n = int(np.asarray(baseline).size)
        return cls(
            metric=metric,
            slice=None,
            step=None,
            id_source=empty if ids is None else ids,
            id_positions=None,
            baseline=np.asarray(baseline, dtype=np.float64),
            candidate=np.asarray(candidate, dtype=np.float64),
            higher_is_better=higher_is_better,
            direction_assumed=False,
            boolean=boolean,
            clusters=clusters,
            missing_in_candidate=empty,
            missing_in_candidate_values=np.array([], dtype=np.float64),
            missing_in_baseline=empty,
            nan_ids=empty,
            in_baseline=True,
            in_candidate=True,
            baseline_count=n,
            candidate_count=n,
        )

    @property
    def ids(self) -> ObjectArray:
        """Ids of the pairs (``id_source`` at ``id_positions``; gathered on access)."""
        if self.id_positions is None:
            return self.id_source
        return self.id_source[self.id_positions]

    def id_at(self, i: int) -> str:
        """The id of pair ``i``, without gathering every id."""
        if self.id_positions is None:
            return str(self.id_source[i])
        return str(self.id_source[self.id_positions[i]])

    @property
    def n(self) -> int:
        """Number of pairs."""
        return int(self.baseline.size)


@dataclass(frozen=True, slots=True)
class MetricChange:
    """One metric's values on one datapoint, old and new."""

    old: float | None
    new: float | None

    @property
    def delta(self) -> float | None:
        """``new - old``, or ``None`` when either is missing."""
        if self.old is None or self.new is None:
            return None
        return self.new - self.old


@dataclass(frozen=True, slots=True)
class ChangedOutput:
    """A common datapoint whose output differs, with its metrics beside it."""

    id: str
    old_output: Any
    new_output: Any
    metrics: Mapping[str, MetricChange]
    input: Any = None
    expected: Any = None


@dataclass(frozen=True, slots=True)
class LineageEntry:
    """One lineage field side by side (``params.lr``, ``code_version.commit``...)."""

    field: str
    old: Any
    new: Any

    @property
    def changed(self) -> bool:
        """Whether the two runs differ in this field."""
        return bool(self.old != self.new)


@dataclass(frozen=True, slots=True)
class Compatibility:
    """Whether two runs evaluated the same data with the same metric definitions.

    ``same_data`` is ``None`` when nothing tells (no data version, no inputs); the
    ``problems`` say what differs, ``notes`` what could not be checked.
    """

    same_data: bool | None
    data_basis: str
    same_metrics: bool
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def compatible(self) -> bool:
        """No problem found."""
        return not self.problems


@dataclass(frozen=True, slots=True, eq=False)
class _Pairing:
    """Positions of the common datapoints in each table, and of the unmatched ones."""

    base: Datapoints
    cand: Datapoints
    bi: IndexArray
    ci: IndexArray
    old_only: IndexArray
    new_only: IndexArray


def _positions_by_hash(
    base: Datapoints, cand: Datapoints, base_ids: ObjectArray, cand_ids: ObjectArray
) -> IndexArray | None:
    """Baseline position of each candidate id (-1: none), found by sorting hashes.

    ``None`` when two baseline ids share a hash, or a matched pair's ids differ (a
    collision): then the caller pairs through a dict.
    """
    hb, hc = base.hashes, cand.hashes
    if hb.size == 0:
        return np.full(len(cand), -1, dtype=np.intp)
    order = np.argsort(hb, kind="stable")
    ordered = hb[order]
    if bool((ordered[1:] == ordered[:-1]).any()):
        return None
    at = np.searchsorted(ordered, hc)
    at[at == ordered.size] = 0
    hit = ordered[at] == hc
    pos = np.where(hit, order[at], -1)
    rows = np.flatnonzero(hit)
    if not bool(np.all(base_ids[pos[rows]] == cand_ids[rows])):
        return None
    return pos


def _pair(
    base: Datapoints,
    cand: Datapoints,
    base_ids: ObjectArray | None = None,
    cand_ids: ObjectArray | None = None,
) -> _Pairing:
    pos = _positions_by_hash(
        base,
        cand,
        _ids_array(base.ids) if base_ids is None else base_ids,
        _ids_array(cand.ids) if cand_ids is None else cand_ids,
    )
    if pos is None:
        index = base.index
        pos = np.fromiter(
            map(index.get, cand.ids, repeat(-1)), dtype=np.intp, count=len(cand)
        )
    matched = pos >= 0
    ci = np.flatnonzero(matched)
    bi = pos[matched]
    order = np.argsort(bi, kind="stable")
    bi, ci = bi[order], ci[order]
    in_cand = np.zeros(len(base), dtype=np.bool_)
    in_cand[bi] = True
    return _Pairing(
        base=base,
        cand=cand,
        bi=bi,
        ci=ci,
        old_only=np.flatnonzero(~in_cand),
        new_only=np.flatnonzero(~matched),
    )


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for key in sorted(value, key=str):
            _flatten(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    else:
        out[prefix] = value


def lineage_diff(old: RunMeta, new: RunMeta) -> tuple[LineageEntry, ...]:
    """Params, code version, data version, environment and seed side by side."""
    rows: list[LineageEntry] = []
    for section in (
        "name",
        "params",
        "code_version",
        "data_version",
        "environment",
        "seed",
    ):
        a: dict[str, Any] = {}
        b: dict[str, Any] = {}
        _flatten(section, getattr(old, section), a)
        _flatten(section, getattr(new, section), b)
        for key in sorted(set(a) | set(b)):
            va, vb = a.get(key), b.get(key)
            if va in ({}, None) and vb in ({}, None):
                continue
            rows.append(
                LineageEntry(key, None if va == {} else va, None if vb == {} else vb)
            )
    return tuple(rows)


class RunComparisonResult:
    """Two runs paired by datapoint id, with per-metric, per-slice and per-step deltas.

    Build it with :func:`compare_runs`. Every number is computed on the common
    datapoints; ``new_only_datapoints`` and ``old_only_datapoints`` list the rest.
    """

    def __init__(
        self,
        baseline: Run,
        candidate: Run,
        *,
        directions: Mapping[str, bool] | None = None,
        aggregates: Mapping[str, str] | None = None,
    ) -> None:
        self.baseline = baseline
        self.candidate = candidate
        self._ids = _ids_array(baseline.ids)
        self._cand_ids = _ids_array(candidate.ids)
        self._pairing = _pair(
            baseline.datapoints, candidate.datapoints, self._ids, self._cand_ids
        )
        names = set(baseline.metric_names) | set(candidate.metric_names)
        for run in (baseline, candidate):
            for table in run.steps.values():
                names |= set(table.metrics)
        self.metric_names: list[str] = sorted(names)
        self.directions: dict[str, bool] = {}
        self.assumed_directions: set[str] = set()
        self.direction_conflicts: dict[str, tuple[bool, bool]] = {}
        for name in self.metric_names:
            self.directions[name] = self._direction(name, directions or {})
        self.aggregates: dict[str, str] = {
            name: check_aggregate((aggregates or {}).get(name, "mean"))
            for name in self.metric_names
        }
        self._step_pairings: dict[str, _Pairing] = {}
        self._row_groups: tuple[IndexArray, IndexArray, int] | None = None
        self._parents: dict[int, IndexArray] = {}
        self._views: dict[
            tuple[str, str | None],
            tuple[IndexArray, IndexArray, IndexArray, IndexArray],
        ] = {}

    # ------------------------------------------------------------------ directions
    def _direction(self, name: str, given: Mapping[str, bool]) -> bool:
        if name in given:
            return bool(given[name])
        declared = [
            d.higher_is_better
            for run in (self.baseline, self.candidate)
            if (d := run.meta.metric_definitions.get(name)) is not None
            and d.higher_is_better is not None
        ]
        if len(declared) == 2 and declared[0] != declared[1]:
            self.direction_conflicts[name] = (declared[0], declared[1])
        if declared:
            return declared[0]
        self.assumed_directions.add(name)
        return True

    # ------------------------------------------------------------------ datapoint sets
    @property
    def common_datapoints(self) -> list[str]:
        """Ids present in both runs, in baseline order."""
        return self._ids[self._pairing.bi].tolist()  # type: ignore[no-any-return]

    @property
    def new_only_datapoints(self) -> list[str]:
        """Ids only the candidate has."""
        return self._cand_ids[self._pairing.new_only].tolist()  # type: ignore[no-any-return]

    @property
    def old_only_datapoints(self) -> list[str]:
        """Ids only the baseline has."""
        return self._ids[self._pairing.old_only].tolist()  # type: ignore[no-any-return]

    @property
    def n_common(self) -> int:
        """How many datapoints the two runs share."""
        return int(self._pairing.bi.size)

    @property
    def coverage(self) -> float:
        """Share of baseline datapoints the candidate also has (1.0 for an empty baseline)."""
        n = len(self.baseline.datapoints)
        return 1.0 if n == 0 else self.n_common / n

    @property
    def slice_names(self) -> list[str]:
        """Slice tags carried by either run, sorted."""
        return list(self._slice_names)

    @cached_property
    def _slice_names(self) -> tuple[str, ...]:
        # sorted once: looked up for every slice gate, 3,000 tags made it quadratic
        return tuple(sorted(self._slice_set))

    @cached_property
    def slice_sizes(self) -> dict[str, int]:
        """Per slice tag, the paired datapoints carrying it in either run (a gate's n).

        Read from each tag's positions, never a mask over every datapoint per tag:
        linear in the number of (datapoint, tag) pairs.
        """
        pairing = self._pairing
        pair_of: list[npt.NDArray[np.intp]] = []
        for table, rows in ((pairing.base, pairing.bi), (pairing.cand, pairing.ci)):
            of = np.full(len(table), -1, dtype=np.intp)
            of[rows] = np.arange(rows.size, dtype=np.intp)
            pair_of.append(of)
        empty = np.array([], dtype=np.intp)
        sizes = {}
        for tag in self._slice_names:
            pb = pair_of[0][pairing.base.slices.get(tag, empty)]
            pc = pair_of[1][pairing.cand.slices.get(tag, empty)]
            pairs = np.concatenate([pb[pb >= 0], pc[pc >= 0]])
            sizes[tag] = int(np.unique(pairs).size)
        return sizes

    @cached_property
    def _slice_set(self) -> frozenset[str]:
        return frozenset(self.baseline.datapoints.slices) | frozenset(
            self.candidate.datapoints.slices
        )

    @property
    def step_names(self) -> list[str]:
        """Step names of either run, in the baseline's trace order, then new ones."""
        names = list(self.baseline.steps)
        return names + [s for s in self.candidate.steps if s not in self.baseline.steps]

    # ------------------------------------------------------------------ pairing views
    def _step_pairing(self, step: str) -> _Pairing:
        if step not in self._step_pairings:
            base = self.baseline.steps.get(step)
            cand = self.candidate.steps.get(step)
            if base is None and cand is None:
                raise ComparisonError(
                    f"unknown step {step!r}; the runs have steps: "
                    f"{', '.join(self.step_names) or '(none)'}"
                )
            empty = Datapoints(ids=[], outputs=[], metrics={})
            self._step_pairings[step] = _pair(base or empty, cand or empty)
        return self._step_pairings[step]

    def _slice_masks(
        self, tag: str, pairing: _Pairing
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Membership of each base and candidate row of ``pairing`` in slice ``tag``."""
        if tag not in self._slice_set:
            raise ComparisonError(
                f"unknown slice {tag!r}; the runs have slices: "
                f"{', '.join(self.slice_names) or '(none)'}"
            )
        masks = []
        for run, table in (
            (self.baseline, pairing.base),
            (self.candidate, pairing.cand),
        ):
            top = np.zeros(len(run.datapoints), dtype=np.bool_)
            positions = run.datapoints.slices.get(tag)
            if positions is not None:
                top[positions] = True
            if table is run.datapoints:
                masks.append(top)
            else:  # a step table: its ids are the parent datapoints' ids
                index = run.datapoints.index
                parents = np.fromiter(
                    (index[k] for k in table.ids), dtype=np.intp, count=len(table)
                )
                masks.append(top[parents])
        return masks[0], masks[1]

    def _view(
        self, slice: str | None, step: str | None
    ) -> tuple[_Pairing, IndexArray, IndexArray, IndexArray, IndexArray]:
        """Pairing restricted to a slice: (pairing, bi, ci, old_only, new_only)."""
        pairing = self._pairing if step is None else self._step_pairing(step)
        bi, ci, old_only, new_only = (
            pairing.bi,
            pairing.ci,
            pairing.old_only,
            pairing.new_only,
        )
        if slice is not None:
            view = self._views.get((slice, step))
            if view is None:  # computed once per slice, shared by its metrics
                mb, mc = self._slice_masks(slice, pairing)
                keep = mb[bi] | mc[ci]
                view = self._views[slice, step] = (
                    bi[keep],
                    ci[keep],
                    old_only[mb[old_only]],
                    new_only[mc[new_only]],
                )
            bi, ci, old_only, new_only = view
        return pairing, bi, ci, old_only, new_only

    def paired(
        self, metric: str, *, slice: str | None = None, step: str | None = None
    ) -> PairedMetric:
        """The paired values of ``metric`` (optionally within a slice and/or a step)."""
        if metric not in self.directions:
            raise ComparisonError(
                f"unknown metric {metric!r}; the runs have: {', '.join(self.metric_names)}"
            )
        pairing, bi, ci, old_only, new_only = self._view(slice, step)
        colb = pairing.base.metrics.get(metric)
        colc = pairing.cand.metrics.get(metric)
        base_ids = _ids_array(pairing.base.ids) if step is not None else self._ids
        cand_ids = _ids_array(pairing.cand.ids) if step is not None else self._cand_ids
        empty = np.array([], dtype=np.float64)
        if colb is None or colc is None:
            missing = np.array([], dtype=np.intp)
            if colb is not None:
                missing = np.concatenate([bi, old_only])
                missing = missing[colb.present[missing]]
            return PairedMetric(
                metric=metric,
                slice=slice,
                step=step,
                id_source=_EMPTY_IDS,
                id_positions=None,
                baseline=empty,
                candidate=empty,
                higher_is_better=self.directions[metric],
                direction_assumed=metric in self.assumed_directions,
                boolean=False,
                clusters=None,
                missing_in_candidate=base_ids[missing],
                missing_in_candidate_values=empty
                if colb is None
                else colb.values[missing],
                missing_in_baseline=_EMPTY_IDS,
                nan_ids=_EMPTY_IDS,
                in_baseline=colb is not None,
                in_candidate=colc is not None,
                baseline_count=0
                if colb is None
                else int(colb.present[np.concatenate([bi, old_only])].sum()),
                candidate_count=0
                if colc is None
                else int(colc.present[np.concatenate([ci, new_only])].sum()),
            )
        pb, pc = colb.present[bi], colc.present[ci]
        vb, vc = colb.values[bi], colc.values[ci]
        both = pb & pc
        finite = both & np.isfinite(vb) & np.isfinite(vc)
        nan = both & ~finite
        lost = pb & ~pc
        old_missing = old_only[colb.present[old_only]]
        missing_pos = np.concatenate([bi[lost], old_missing])
        b, c = vb[finite], vc[finite]
        boolean = (colb.boolean or _is_binary(b)) and (colc.boolean or _is_binary(c))
        return PairedMetric(
            metric=metric,
            slice=slice,
            step=step,
            id_source=base_ids,
            id_positions=bi[finite],
            baseline=b,
            candidate=c,
            higher_is_better=self.directions[metric],
            direction_assumed=metric in self.assumed_directions,
            boolean=bool(boolean and b.size > 0),
            clusters=self._clusters(pairing, bi[finite], ci[finite]),
            missing_in_candidate=base_ids[missing_pos],
            missing_in_candidate_values=colb.values[missing_pos],
            missing_in_baseline=np.concatenate(
                [base_ids[bi[pc & ~pb]], cand_ids[new_only[colc.present[new_only]]]]
            ),
            nan_ids=base_ids[bi[nan]],
            in_baseline=True,
            in_candidate=True,
            baseline_count=int(pb.sum() + old_missing.size),
            candidate_count=int(pc.sum() + colc.present[new_only].sum()),
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
    ) -> npt.NDArray[np.float64]:
        """Values of ``metric`` in one run, optionally within a slice and/or step.

        Every datapoint of that run that carries the metric counts, paired or not:
        what an unpaired comparison (``pairing: none``) tests. ``run`` is
        ``"baseline"`` or ``"candidate"``. With ``finite_only`` (the default) NaN
        and infinite values are left out; ``finite_only=False`` keeps them, so that
        a caller (a gate) can count them and fail closed instead of testing fewer
        values than the run holds. ``exclude`` names datapoint ids to leave out
        (a waiver's ids; in a step, the steps of those datapoints).

        Raises
        ------
        ComparisonError
            For an unknown metric, run, slice or step.

        """
        if metric not in self.directions:
            raise ComparisonError(
                f"unknown metric {metric!r}; the runs have: {', '.join(self.metric_names)}"
            )
        if run not in ("baseline", "candidate"):
            raise ComparisonError(f"run must be 'baseline' or 'candidate', got {run!r}")
        which = self.baseline if run == "baseline" else self.candidate
        table: Datapoints | None = which.datapoints
        if step is not None:
            self._step_pairing(step)  # an unknown step raises
            table = which.steps.get(step)
        if slice is not None and slice not in self._slice_set:
            raise ComparisonError(
                f"unknown slice {slice!r}; the runs have slices: "
                f"{', '.join(self.slice_names) or '(none)'}"
            )
        col = None if table is None else table.metrics.get(metric)
        if table is None or col is None:
            return np.array([], dtype=np.float64)
        keep = np.asarray(col.present, dtype=np.bool_)
        if slice is not None or exclude:
            top = np.ones(len(which.datapoints), dtype=np.bool_)
            if slice is not None:
                top[:] = False
                positions = which.datapoints.slices.get(slice)
                if positions is not None:
                    top[positions] = True
            if exclude:
                left_out = frozenset(exclude)
                top &= np.fromiter(
                    (i not in left_out for i in which.datapoints.ids),
                    dtype=np.bool_,
                    count=len(which.datapoints),
                )
            if table is not which.datapoints:  # a step: the parent's datapoints
                top = top[self._parent_positions(which, table)]
            keep = keep & top
        out = np.asarray(col.values, dtype=np.float64)[keep]
        return out[np.isfinite(out)] if finite_only else out

    def _parent_positions(self, run: Run, table: Datapoints) -> IndexArray:
        """Position in ``run.datapoints`` of each row of a step table (built once)."""
        pos = self._parents.get(id(table))
        if pos is None:
            index = run.datapoints.index
            pos = np.fromiter(
                map(index.__getitem__, table.ids), dtype=np.intp, count=len(table)
            )
            self._parents[id(table)] = pos
        return pos

    def _group_codes(self) -> tuple[IndexArray, IndexArray, int]:
        """Group code of each datapoint of both runs (-1: none), and the group count.

        One dict over the distinct group strings of both runs (a group the runs
        share gets one code), applied once per table: pairing views then only
        fancy-index these arrays.
        """
        if self._row_groups is None:
            tables = (self.baseline.datapoints, self.candidate.datapoints)
            distinct: dict[str | None, Any] = {}
            for t in tables:
                if t.groups is not None:
                    distinct.update(dict.fromkeys(t.groups))
            # codes by position among the distinct strings (C-level zip, no loop)
            codes: dict[str | None, int] = dict(zip(distinct, count()))
            codes[None] = codes[""] = -1  # an empty group is no group
            per_table = [
                np.full(len(t), -1, dtype=np.intp)
                if t.groups is None
                else np.fromiter(
                    map(codes.__getitem__, t.groups), dtype=np.intp, count=len(t)
                )
                for t in tables
            ]
            # ungrouped datapoints get codes from len(codes) up: above every group
            self._row_groups = (per_table[0], per_table[1], len(codes))
        return self._row_groups

    def _clusters(
        self, pairing: _Pairing, bi: IndexArray, ci: IndexArray
    ) -> npt.NDArray[np.intp] | None:
        """Cluster codes from the datapoints' ``group`` (replicates share one).

        The baseline's group, else the candidate's; a datapoint with neither is its
        own cluster. Codes are dense, in order of first appearance.
        """
        base, cand = self.baseline.datapoints, self.candidate.datapoints
        if base.groups is None and cand.groups is None:
            return None
        if pairing.base is not base:  # a step: the parent datapoint's group
            bi = self._parent_positions(self.baseline, pairing.base)[bi]
            ci = self._parent_positions(self.candidate, pairing.cand)[ci]
        codes_b, codes_c, n_groups = self._group_codes()
        group = codes_b[bi]
        group = np.where(group >= 0, group, codes_c[ci])
        key = np.where(group >= 0, group, n_groups + bi)  # ungrouped: its own
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.intp)
        return rank[inverse.reshape(-1)]

    # ------------------------------------------------------------------ deltas
    def _delta(self, metric: str, slice: str | None, step: str | None) -> MetricDelta:
        paired = self.paired(metric, slice=slice, step=step)
        name = self.aggregates[metric]
        hib = paired.higher_is_better
        if paired.n == 0 and step is None and slice is None:
            old = self.baseline.meta.metrics.get(metric)
            new = self.candidate.meta.metrics.get(metric)
        else:
            old = aggregate(paired.baseline, name)
            new = aggregate(paired.candidate, name)
        d = paired.candidate - paired.baseline
        # np.isclose(candidate, baseline, rtol=1e-12, atol=1e-12) on finite values
        unchanged = np.abs(d) <= 1e-12 + 1e-12 * np.abs(paired.baseline)
        oriented = d if hib else -d
        improved = (oriented > 0) & ~unchanged
        degraded = (oriented < 0) & ~unchanged
        delta = None if old is None or new is None else new - old
        relative = None if delta is None or not old else delta / abs(old)
        return MetricDelta(
            name=metric,
            aggregate=name,
            higher_is_better=hib,
            direction_assumed=paired.direction_assumed,
            old_aggregate=old,
            new_aggregate=new,
            delta=delta,
            relative_delta=relative,
            improved_count=int(improved.sum()),
            degraded_count=int(degraded.sum()),
            unchanged_count=int(unchanged.sum()),
            id_source=paired.id_source,
            improved_positions=_positions(paired, improved),
            degraded_positions=_positions(paired, degraded),
            n_paired=paired.n,
            n_missing_in_candidate=int(paired.missing_in_candidate.size),
            n_missing_in_baseline=int(paired.missing_in_baseline.size),
            in_baseline=metric in self.baseline.metric_names or paired.in_baseline,
            in_candidate=metric in self.candidate.metric_names or paired.in_candidate,
            slice=slice,
            step=step,
        )

    def _table_metrics(self, step: str | None) -> list[str]:
        if step is None:
            return [
                m
                for m in self.metric_names
                if m in self.baseline.metric_names or m in self.candidate.metric_names
            ]
        pairing = self._step_pairing(step)
        return sorted(set(pairing.base.metrics) | set(pairing.cand.metrics))

    @cached_property
    def metric_deltas(self) -> dict[str, MetricDelta]:
        """Per metric over all common datapoints."""
        return {m: self._delta(m, None, None) for m in self._table_metrics(None)}

    @cached_property
    def slice_deltas(self) -> dict[str, dict[str, MetricDelta]]:
        """Per slice tag, per metric, restricted to the datapoints carrying the tag."""
        metrics = [m for m in self._table_metrics(None) if self._has_column(m)]
        return {
            tag: {m: self._delta(m, tag, None) for m in metrics}
            for tag in self._slice_names
        }

    @cached_property
    def step_deltas(self) -> dict[str, dict[str, MetricDelta]]:
        """Per trace step name, per metric of that step."""
        return {
            step: {m: self._delta(m, None, step) for m in self._table_metrics(step)}
            for step in self.step_names
        }

    def _has_column(self, metric: str) -> bool:
        return metric in self.baseline.metrics or metric in self.candidate.metrics

    def get_metric_delta(
        self, name: str, *, slice: str | None = None, step: str | None = None
    ) -> MetricDelta:
        """The delta of one metric, optionally within a slice and/or a step."""
        if slice is None and step is None:
            if name not in self.metric_deltas:
                raise ComparisonError(
                    f"unknown metric {name!r}; the runs have: "
                    f"{', '.join(self.metric_deltas) or '(none)'}"
                )
            return self.metric_deltas[name]
        if step is not None:
            self._step_pairing(step)
            if name not in self._table_metrics(step):
                raise ComparisonError(
                    f"step {step!r} has no metric {name!r}; it has: "
                    f"{', '.join(self._table_metrics(step)) or '(none)'}"
                )
        return self._delta(name, slice, step)

    def list_improved_metrics(self) -> list[str]:
        """Metrics whose aggregate moved in the good direction."""
        return [m for m, d in self.metric_deltas.items() if d.improved]

    def list_degraded_metrics(self) -> list[str]:
        """Metrics whose aggregate moved in the bad direction."""
        return [m for m, d in self.metric_deltas.items() if d.degraded]

    # ------------------------------------------------------------------ outputs
    def _changed_positions(self) -> list[int]:
        p = self._pairing
        ob, oc = p.base.outputs, p.cand.outputs
        return [
            k
            for k, (i, j) in enumerate(zip(p.bi.tolist(), p.ci.tolist(), strict=True))
            if ob[i] != oc[j]
        ]

    @cached_property
    def changed_output_count(self) -> int:
        """How many common datapoints have a different output."""
        return len(self._changed_positions())

    def changed_outputs(
        self, *, limit: int | None = None, sort_by: str | None = None
    ) -> list[ChangedOutput]:
        """Common datapoints whose output differs, with their metric values old and new.

        In baseline order, or by the largest regression of ``sort_by`` first; ``limit``
        keeps the first ones.
        """
        p = self._pairing
        positions = self._changed_positions()
        if sort_by is not None:
            if (
                sort_by not in self.baseline.metrics
                and sort_by not in self.candidate.metrics
            ):
                raise ComparisonError(f"unknown metric {sort_by!r} to sort by")
            sign = 1.0 if self.directions[sort_by] else -1.0
            signed = {
                k: (c.delta if c.delta is not None else 0.0) * sign
                for k in positions
                if (c := self._change(sort_by, k)) is not None
            }
            positions.sort(key=lambda k: signed.get(k, 0.0))
        if limit is not None:
            positions = positions[:limit]
        base, cand = p.base, p.cand
        out = []
        for k in positions:
            i, j = int(p.bi[k]), int(p.ci[k])
            metrics = {
                m: change
                for m in sorted(set(base.metrics) | set(cand.metrics))
                if (change := self._change(m, k)) is not None
            }
            out.append(
                ChangedOutput(
                    id=base.ids[i],
                    old_output=base.outputs[i],
                    new_output=cand.outputs[j],
                    metrics=metrics,
                    input=None if base.inputs is None else base.inputs[i],
                    expected=None if base.expected is None else base.expected[i],
                )
            )
        return out

    def _change(self, metric: str, k: int) -> MetricChange | None:
        p = self._pairing
        i, j = int(p.bi[k]), int(p.ci[k])
        colb, colc = p.base.metrics.get(metric), p.cand.metrics.get(metric)
        old = float(colb.values[i]) if colb is not None and colb.present[i] else None
        new = float(colc.values[j]) if colc is not None and colc.present[j] else None
        return None if old is None and new is None else MetricChange(old, new)

    def iter_pairs(self) -> Iterator[tuple[str, int, int]]:
        """``(id, baseline position, candidate position)`` for each common datapoint."""
        p = self._pairing
        for i, j in zip(p.bi.tolist(), p.ci.tolist(), strict=True):
            yield p.base.ids[i], i, j

    # ------------------------------------------------------------------ lineage, compatibility
    @cached_property
    def lineage(self) -> tuple[LineageEntry, ...]:
        """Params, code version, data version, environment and seed side by side."""
        return lineage_diff(self.baseline.meta, self.candidate.meta)

    @cached_property
    def compatibility(self) -> Compatibility:
        """Whether the runs evaluated the same data with the same metric definitions."""
        problems: list[str] = []
        notes: list[str] = []
        mb, mc = self.baseline.meta, self.candidate.meta
        same_data: bool | None = None
        basis = "none"
        if mb.data_version is not None and mc.data_version is not None:
            basis = "data_version"
            same_data = mb.data_version == mc.data_version
            if not same_data:
                problems.append(
                    f"different data versions: baseline {mb.data_version!r}, candidate "
                    f"{mc.data_version!r}"
                )
        content = self._content_mismatches()
        if content is not None:
            differing, checked, example = content
            basis = "data_version+content" if basis == "data_version" else "content"
            if differing:
                same_data = False
                problems.append(
                    f"{differing} of {checked} common datapoints have a different input or "
                    f"expected output (first: {example!r})"
                )
            elif same_data is None:
                same_data = True
        if basis == "none":
            notes.append(
                "neither a data version nor inputs/expected outputs in both runs: could not "
                "check that they evaluated the same data"
            )
        same_metrics = True
        for name in sorted(set(mb.metric_definitions) & set(mc.metric_definitions)):
            db, dc = mb.metric_definitions[name], mc.metric_definitions[name]
            for key in ("higher_is_better", "kind", "version"):
                vb, vc = getattr(db, key), getattr(dc, key)
                if vb is not None and vc is not None and vb != vc:
                    same_metrics = False
                    problems.append(
                        f"metric {name!r} is defined differently: {key} {vb!r} in the "
                        f"baseline, {vc!r} in the candidate"
                    )
        for name, kind_b, kind_c in self._kind_mismatches():
            same_metrics = False
            problems.append(
                f"metric {name!r} is defined differently: {kind_b} in the baseline, "
                f"{kind_c} in the candidate"
            )
        notes.extend(self._normal_form_notes())
        for name in self.metric_names:
            in_b = name in self.baseline.metric_names
            in_c = name in self.candidate.metric_names
            if in_b and not in_c:
                notes.append(
                    f"metric {name!r} is in the baseline but not in the candidate"
                )
            elif in_c and not in_b:
                notes.append(f"metric {name!r} is new in the candidate")
        return Compatibility(
            same_data=same_data,
            data_basis=basis,
            same_metrics=same_metrics,
            problems=tuple(problems),
            notes=tuple(notes),
        )

    def _kind_mismatches(self) -> list[tuple[str, str, str]]:
        """Metrics boolean in one run and continuous (not only 0 and 1) in the other.

        A pass/fail flag and a score are different measurements under one name;
        booleans against 0/1 numbers are the same thing written two ways.
        """
        out: list[tuple[str, str, str]] = []
        mb, mc = self.baseline.datapoints.metrics, self.candidate.datapoints.metrics
        for name in sorted(set(mb) & set(mc)):
            kinds = [_kind(mb[name]), _kind(mc[name])]
            if {"boolean", "continuous"} <= {k.split(" ")[0] for k in kinds}:
                out.append((name, kinds[0], kinds[1]))
        return out

    def _normal_form_notes(self) -> list[str]:
        """Unpaired ids that equal an unpaired id of the other run once NFC-normalised.

        They are not paired (an id is what the run says), but said, naming both forms:
        a writer that changed its Unicode normalisation looks like lost datapoints.
        """
        import unicodedata

        pairing = self._pairing
        old = [pairing.base.ids[i] for i in pairing.old_only]
        new = [pairing.cand.ids[i] for i in pairing.new_only]
        if not old or not new or ("".join(old).isascii() and "".join(new).isascii()):
            return []
        by_form = {unicodedata.normalize("NFC", k): k for k in old if not k.isascii()}
        found = [
            (by_form[form], k)
            for k in new
            if not k.isascii() and (form := unicodedata.normalize("NFC", k)) in by_form
        ]
        if not found:
            return []
        shown = ", ".join(f"{b!a} and {c!a}" for b, c in found[:3])
        return [
            f"{len(found)} baseline id(s) equal a candidate id once Unicode-normalised "
            f"(NFC) but are written differently, so they are not paired: {shown}"
            + (", ..." if len(found) > 3 else "")
            + "; normalise ids to NFC where the runs are written"
        ]

    def _content_mismatches(self) -> tuple[int, int, str] | None:
        """Count common datapoints whose input or expected output differs."""
        base, cand = self._pairing.base, self._pairing.cand
        columns = [
            (cb, cc)
            for cb, cc in ((base.inputs, cand.inputs), (base.expected, cand.expected))
            if cb is not None and cc is not None
        ]
        if not columns:
            return None
        differing = 0
        example = ""
        for key, i, j in self.iter_pairs():
            if any(_content(cb[i]) != _content(cc[j]) for cb, cc in columns):
                differing += 1
                example = example or key
        return differing, self.n_common, example


def _content(value: Any) -> Any:
    """Canonical form for comparing inputs: equal JSON values compare equal."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def _positions(paired: PairedMetric, mask: npt.NDArray[np.bool_]) -> IndexArray:
    """Positions in ``paired.id_source`` of the pairs selected by ``mask``."""
    if paired.id_positions is None:
        return np.flatnonzero(mask)
    return paired.id_positions[mask]


def _kind(column: MetricColumn) -> str:
    """``boolean``, ``binary`` (numbers, only 0 and 1) or ``continuous (e.g. 0.9)``."""
    if column.boolean:
        return "boolean (true/false)"
    values = column.values[column.present & np.isfinite(column.values)]
    other = values[(values != 0) & (values != 1)]
    if other.size == 0:
        return "binary (0/1 numbers)"
    return f"continuous (values such as {float(other[0]):g})"


def _is_binary(values: npt.NDArray[np.float64]) -> bool:
    return bool(values.size) and bool(np.all((values == 0) | (values == 1)))


def compare_runs(
    baseline: Run,
    candidate: Run,
    *,
    directions: Mapping[str, bool | str] | None = None,
    aggregates: Mapping[str, str] | None = None,
) -> RunComparisonResult:
    """Pair ``baseline`` and ``candidate`` by datapoint id and compute what changed.

    ``directions`` maps metric names to ``True``/``"higher"`` or ``False``/``"lower"``
    (otherwise a run's metric definitions decide, else higher-is-better is assumed and
    recorded in ``assumed_directions``); ``aggregates`` maps metric names to ``mean``
    (default), ``median``, ``sum``, ``rate`` or ``pNN``.
    """
    parsed: dict[str, bool] = {}
    for name, value in (directions or {}).items():
        if isinstance(value, bool):
            parsed[name] = value
        elif value in ("higher", "lower"):
            parsed[name] = value == "higher"
        else:
            raise ComparisonError(
                f"direction of {name!r} must be 'higher' or 'lower', got {value!r}"
            )
    return RunComparisonResult(
        baseline, candidate, directions=parsed, aggregates=aggregates
    )
