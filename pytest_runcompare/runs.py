"""The Run model, stored in columns: ids once, one float array per metric, outputs aligned.

A run is one evaluation of a model over a dataset. Datapoints are held column-wise
(:class:`Datapoints`) so that a million of them load, align and compare in seconds;
:func:`build_datapoints` turns parsed records into that shape and validates them,
naming the file, line, datapoint and field of the first problem it finds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from pytest_runcompare.curves import Curve

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.intp]
HashArray = npt.NDArray[np.int64]


def id_hashes(ids: Sequence[str]) -> HashArray:
    """Python's hash of each id, as int64 keys for pairing and the uniqueness check.

    The values differ between processes (string hashing is salted); nothing computed
    from them depends on them, only on which ids share one, and equal hashes are
    always confirmed by comparing the ids themselves.
    """
    return np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids))


def hashes_distinct(hashes: HashArray) -> bool:
    """No two entries equal (then no two ids are equal either)."""
    ordered = np.sort(hashes)
    return not bool((ordered[1:] == ordered[:-1]).any())


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """What a run says about one metric: its direction and how its values may look."""

    higher_is_better: bool | None = None
    allow_nan: bool = False
    kind: str | None = None
    version: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for writing the definition back to a run file."""
        out: dict[str, Any] = {}
        if self.higher_is_better is not None:
            out["higher_is_better"] = self.higher_is_better
        if self.allow_nan:
            out["allow_nan"] = True
        for key in ("kind", "version", "description"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class RunMeta:
    """A run's metadata: what produced it (lineage) and what it says about its metrics."""

    name: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    code_version: Mapping[str, Any] = field(default_factory=dict)
    data_version: str | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    created: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    metric_definitions: Mapping[str, MetricDefinition] = field(default_factory=dict)
    complete: bool = True
    source: str | None = None
    format: str = "native"
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: metric histories (``curves:`` in ``run.yaml``, MLflow metric steps)
    curves: Mapping[str, Curve] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain values in the native ``run.yaml`` layout (source and format left out)."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        for key in ("params", "code_version"):
            value = getattr(self, key)
            if value:
                out[key] = dict(value)
        if self.data_version is not None:
            out["data_version"] = self.data_version
        if self.environment:
            out["environment"] = dict(self.environment)
        if self.seed is not None:
            out["seed"] = self.seed
        if self.created is not None:
            out["created"] = self.created
        if self.metrics:
            out["metrics"] = dict(self.metrics)
        if self.metric_definitions:
            out["metric_definitions"] = {
                k: v.to_dict() for k, v in self.metric_definitions.items()
            }
        out["complete"] = self.complete
        if self.curves:
            out["curves"] = {k: v.to_dict() for k, v in self.curves.items()}
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class MetricColumn:
    """One metric over all datapoints: values (NaN where missing) and a presence mask."""

    values: FloatArray
    present: BoolArray
    boolean: bool = False

    @property
    def count(self) -> int:
        """How many datapoints carry this metric."""
        return int(self.present.sum())


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a multi-step trace, as a row view."""

    name: str
    output: Any
    metrics: Mapping[str, float]
    input: Any = None


@dataclass(frozen=True, slots=True)
class Datapoint:
    """One datapoint, as a row view built on demand from the columns."""

    id: str
    output: Any
    metrics: Mapping[str, float]
    input: Any = None
    expected: Any = None
    slices: tuple[str, ...] = ()
    group: str | None = None
    steps: tuple[Step, ...] = ()
    meta: Mapping[str, Any] | None = None


def _tag_positions(slice_tags: list[tuple[str, ...]]) -> dict[str, IndexArray]:
    """Positions of the rows carrying each tag, ascending."""
    n = len(slice_tags)
    combos: dict[tuple[str, ...], int] = dict.fromkeys(slice_tags, 0)
    if len(combos) > max(64, n // 16):
        # Mostly distinct combinations: one pass over the rows.
        found: dict[str, list[int]] = {}
        for i, tags in enumerate(slice_tags):
            for tag in tags:
                found.setdefault(tag, []).append(i)
        return {tag: np.asarray(pos, dtype=np.intp) for tag, pos in found.items()}
    # Few combinations (the usual case): group the rows by combination in numpy.
    for k, combo in enumerate(combos):
        combos[combo] = k
    codes = np.fromiter(map(combos.__getitem__, slice_tags), dtype=np.intp, count=n)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(combos) + 1))
    by_tag: dict[str, list[IndexArray]] = {}
    for combo, k in combos.items():
        rows = order[bounds[k] : bounds[k + 1]]
        for tag in dict.fromkeys(combo):
            by_tag.setdefault(tag, []).append(rows)
    out: dict[str, IndexArray] = {}
    for tag, parts in by_tag.items():
        if len(parts) == 1:
            out[tag] = parts[0]
        else:
            mask = np.zeros(n, dtype=np.bool_)
            for rows in parts:
                mask[rows] = True
            out[tag] = np.flatnonzero(mask)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Datapoints:
    """A table of datapoints in columns; also used for the rows of one trace step."""

    ids: list[str]
    outputs: list[Any]
    metrics: Mapping[str, MetricColumn]
    inputs: list[Any] | None = None
    expected: list[Any] | None = None
    slice_tags: list[tuple[str, ...]] | None = None
    groups: list[str | None] | None = None
    metas: list[Any] | None = None
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _slices: dict[str, IndexArray] = field(default_factory=dict, repr=False)
    _hashes: list[HashArray] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def index(self) -> dict[str, int]:
        """Position of each id, built once on first use."""
        if not self._index and self.ids:
            self._index.update(zip(self.ids, range(len(self.ids)), strict=True))
        return self._index

    @property
    def hashes(self) -> HashArray:
        """:func:`id_hashes` of the ids, computed once on first use.

        Pairing two runs by these costs a sort and a search; a dict of a million
        ids costs twice the time and some 70 MB.
        """
        if not self._hashes:
            self._hashes.append(id_hashes(self.ids))
        return self._hashes[0]

    @property
    def slices(self) -> dict[str, IndexArray]:
        """Positions of the datapoints carrying each slice tag, built once on first use."""
        if not self._slices and self.slice_tags is not None:
            self._slices.update(sorted(_tag_positions(self.slice_tags).items()))
        return self._slices

    def row(self, i: int) -> dict[str, Any]:
        """The record at position ``i`` as a plain dict (the native JSONL layout)."""
        record: dict[str, Any] = {"id": self.ids[i]}
        if self.inputs is not None and self.inputs[i] is not None:
            record["input"] = self.inputs[i]
        record["output"] = self.outputs[i]
        if self.expected is not None and self.expected[i] is not None:
            record["expected"] = self.expected[i]
        metrics: dict[str, Any] = {}
        for name, col in self.metrics.items():
            if col.present[i]:
                value = float(col.values[i])
                metrics[name] = bool(value) if col.boolean else value
        record["metrics"] = metrics
        if self.slice_tags is not None and self.slice_tags[i]:
            record["slices"] = list(self.slice_tags[i])
        if self.groups is not None and self.groups[i] is not None:
            record["group"] = self.groups[i]
        if self.metas is not None and self.metas[i] is not None:
            record["meta"] = self.metas[i]
        return record

    def metric_values(self, i: int) -> dict[str, float]:
        """The metrics present at position ``i``."""
        return {
            name: float(col.values[i])
            for name, col in self.metrics.items()
            if col.present[i]
        }


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """One evaluation of a model over a dataset: metadata, datapoints and trace steps."""

    meta: RunMeta
    datapoints: Datapoints
    steps: Mapping[str, Datapoints] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.datapoints)

    @property
    def name(self) -> str:
        """The run's name, or its source path when it has none."""
        return self.meta.name or self.meta.source or "run"

    @property
    def ids(self) -> list[str]:
        """Datapoint ids in file order."""
        return self.datapoints.ids

    @property
    def metrics(self) -> Mapping[str, MetricColumn]:
        """Per-datapoint metric columns."""
        return self.datapoints.metrics

    @property
    def outputs(self) -> list[Any]:
        """Model outputs aligned with :attr:`ids`."""
        return self.datapoints.outputs

    @property
    def metric_names(self) -> list[str]:
        """Per-datapoint metrics, then aggregate-only metrics, each sorted."""
        names = sorted(self.datapoints.metrics)
        return names + sorted(set(self.meta.metrics) - set(names))

    def datapoint(self, id: str | int) -> Datapoint:
        """The datapoint with this id, as a row view (``KeyError`` if absent)."""
        key = str(id)
        i = self.datapoints.index[key]
        table = self.datapoints
        steps = tuple(
            Step(
                name=name,
                output=step.outputs[j],
                metrics=step.metric_values(j),
                input=None if step.inputs is None else step.inputs[j],
            )
            for name, step in self.steps.items()
            if (j := step.index.get(key)) is not None
        )
        return Datapoint(
            id=key,
            output=table.outputs[i],
            metrics=table.metric_values(i),
            input=None if table.inputs is None else table.inputs[i],
            expected=None if table.expected is None else table.expected[i],
            slices=() if table.slice_tags is None else table.slice_tags[i],
            group=None if table.groups is None else table.groups[i],
            steps=steps,
            meta=None if table.metas is None else table.metas[i],
        )

    def records(self) -> Iterable[dict[str, Any]]:
        """Every datapoint as a native JSONL record, steps included."""
        step_items = list(self.steps.items())
        for i, key in enumerate(self.datapoints.ids):
            record = self.datapoints.row(i)
            steps = []
            for name, step in step_items:
                j = step.index.get(key)
                if j is not None:
                    row = step.row(j)
                    row.pop("id")
                    steps.append({"name": name, **row})
            if steps:
                record["steps"] = steps
            yield record
