"""Writing runs as Parquet or Arrow IPC: the table ``save_run`` and ``RunWriter`` write.

The table follows :mod:`pytest_runcompare.parquet_layout`; metric columns are made
from the Run's arrays and masks without a loop over rows. :class:`ColumnarBuffer`
keeps what a ``RunWriter`` on a ``.parquet``/``.arrow`` path was given, validated and
in columns, until its block ends. The file handling (atomic writes, leftovers) stays
in :mod:`pytest_runcompare.writer`, which calls this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.parquet_layout import (
    LAYOUT_KEY,
    METRIC_PREFIX,
    RUN_KEY,
    is_arrow,
    layout_json,
    require_pyarrow,
)

if TYPE_CHECKING:
    from pytest_runcompare.runs import Datapoints, MetricDefinition, Run

#: Datapoints a ColumnarBuffer validates and stores in columns at a time.
_CHUNK = 10_000


def _json_default(value: object) -> object:
    """Real numbers of other types (numpy scalars) as JSON numbers; else refused."""
    from pytest_runcompare.building import plain_number

    plain = plain_number(value)
    if plain is value:
        raise TypeError(
            f"Object of type {type(value).__name__} is not JSON serializable"
        )
    return plain


def _encodable(text: str, datapoint: object) -> str:
    """``text`` if UTF-8 can write it; a lone surrogate is refused, naming the datapoint."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RunFormatError(
            "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff without its "
            "pair), which no run file can hold",
            datapoint=datapoint,
            hint="fix the text where it was made; the readers refuse it too",
        ) from None
    return text


def _json_text(value: Any, datapoint: object) -> str:
    try:
        text = json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), default=_json_default
        )
    except (TypeError, ValueError) as error:
        raise RunFormatError(
            f"not JSON-serialisable: {error}", datapoint=datapoint
        ) from None
    return _encodable(text, datapoint)


def _value_array(values: Sequence[Any], ids: Sequence[str], force_json: bool) -> Any:
    """A string column of ``values``; JSON text when any is not a string."""
    import pyarrow as pa

    as_json = force_json or not set(map(type, values)) <= {str, type(None)}
    texts = (
        [None if v is None else _json_text(v, ids[i]) for i, v in enumerate(values)]
        if as_json
        else values
    )
    try:
        return pa.array(texts, pa.string()), as_json
    except (UnicodeEncodeError, pa.ArrowException):
        for i, text in enumerate(texts):
            if text is not None:
                _encodable(text, ids[i])
        raise


def _metric_array(values: Any, present: Any, boolean: bool) -> Any:
    import numpy as np
    import pyarrow as pa

    if boolean:
        return pa.array(np.where(present, values, 0.0) != 0.0, mask=~present)
    return pa.array(values, pa.float64(), mask=~present)


def _slice_array(tags: Sequence[tuple[str, ...]]) -> Any:
    """A list<string> column, built once per distinct combination of tags."""
    import numpy as np
    import pyarrow as pa

    combos: dict[tuple[str, ...], int] = {}
    codes = np.fromiter(
        (combos.setdefault(t, len(combos)) for t in tags),
        dtype=np.int64,
        count=len(tags),
    )
    distinct = pa.array([list(c) for c in combos], pa.list_(pa.string()))
    return distinct.take(pa.array(codes))


def _columns(
    table: Datapoints,
    json_columns: list[str],
    prefix: str,
    force: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The Arrow arrays of one table (the datapoints or one step), by column name."""
    import pyarrow as pa

    ids = table.ids
    out: dict[str, Any] = {}
    for key, values in (
        ("input", table.inputs),
        ("output", table.outputs),
        ("expected", table.expected),
        ("meta", table.metas),
    ):
        if values is None:
            continue
        out[key], as_json = _value_array(values, ids, key in force or key == "meta")
        if as_json and key != "meta":
            json_columns.append(f"{prefix}{key}")
    for name in sorted(table.metrics):
        col = table.metrics[name]
        out[METRIC_PREFIX + name] = _metric_array(col.values, col.present, col.boolean)
    if table.slice_tags is not None:
        out["slices"] = _slice_array(table.slice_tags)
    if table.groups is not None:
        out["group"] = pa.array(table.groups, pa.string())
    return out


def _steps_array(run: Run, json_columns: list[str]) -> Any:
    """The nested ``steps`` column: per datapoint a list of step structs, in key order."""
    import numpy as np
    import pyarrow as pa

    index = run.datapoints.index
    # A field is JSON text in every step once one step's values need it.
    marks = frozenset(
        key
        for step in run.steps.values()
        for key, values in (
            ("input", step.inputs),
            ("output", step.outputs),
            ("expected", step.expected),
        )
        if values is not None and not set(map(type, values)) <= {str, type(None)}
    )
    json_columns.extend(f"steps.{m}" for m in sorted(marks))
    parents, orders, parts = [], [], []
    for k, (name, step) in enumerate(run.steps.items()):
        rows = np.fromiter(map(index.__getitem__, step.ids), np.intp, len(step.ids))
        parents.append(rows)
        orders.append(np.full(len(rows), k, dtype=np.intp))
        columns = _columns(step, [], "steps.", marks)
        columns["name"] = pa.array([name] * len(rows), pa.string())
        parts.append(columns)
    names = list(dict.fromkeys(n for part in parts for n in part))
    names = ["name", *sorted(n for n in names if n != "name")]
    types: dict[str, Any] = {}
    for n in names:
        found = {str(p[n].type): p[n].type for p in parts if n in p}
        types[n] = (
            next(iter(found.values())) if len(found) == 1 else pa.float64()
        )  # a metric boolean in one step, numeric in another: numbers
    fields = []
    for n in names:
        arrays = [
            part[n].cast(types[n]) if n in part else pa.nulls(len(parents[i]), types[n])
            for i, part in enumerate(parts)
        ]
        fields.append(pa.concat_arrays(arrays))
    parent = np.concatenate(parents)
    order = np.lexsort((np.concatenate(orders), parent))
    struct = pa.StructArray.from_arrays(fields, names=names).take(pa.array(order))
    offsets = np.searchsorted(parent[order], np.arange(len(run.datapoints) + 1))
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), struct)


def run_table(run: Run) -> Any:
    """The run as one Arrow table in the documented layout, metadata included."""
    import pyarrow as pa

    json_columns: list[str] = []
    columns: dict[str, Any] = {"id": pa.array(run.ids, pa.string())}
    columns.update(_columns(run.datapoints, json_columns, ""))
    if run.datapoints.metas is not None:
        json_columns.append("meta")
    if run.steps:
        columns["steps"] = _steps_array(run, json_columns)
    meta = json.dumps(
        run.meta.to_dict(), ensure_ascii=False, default=_json_default
    ).encode("utf-8")
    return pa.table(columns).replace_schema_metadata(
        {RUN_KEY: meta, LAYOUT_KEY: layout_json(json_columns)}
    )


def write_columnar(run: Run, handle: IO[bytes], path: Path) -> None:
    """Write ``run`` to an open binary file: Arrow IPC for ``.arrow``, else Parquet."""
    pa = require_pyarrow(path, writing=True)
    try:
        table = run_table(run)
    except RunFormatError as error:
        raise RunFormatError(
            error.reason,
            path=path,
            datapoint=error.datapoint,
            field=error.field,
            hint=error.hint,
        ) from None
    if is_arrow(path):
        with pa.ipc.new_file(handle, table.schema) as sink:
            sink.write_table(table)
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, handle, compression="zstd")


class ColumnarBuffer:
    """What a ``RunWriter`` on a ``.parquet``/``.arrow`` path was given, in columns.

    Each datapoint is checked as it comes (so a bad value fails at its source) and
    stored by a :class:`~pytest_runcompare.building.RunBuilder` every ``_CHUNK``
    datapoints; :meth:`run` returns the run to write when the block ends.
    """

    def __init__(self, path: Path, definitions: Mapping[str, MetricDefinition]) -> None:
        from pytest_runcompare.building import RunBuilder

        require_pyarrow(path, writing=True)
        self.path = path
        self._builder = RunBuilder(path=str(path), definitions=definitions)
        self._chunk: list[dict[str, Any]] = []
        self.count = 0

    def add(self, record: Mapping[str, Any], key: str) -> None:
        """Keep one datapoint already checked by ``check_record`` (its id is ``key``)."""
        for name in ("input", "output", "expected", "meta"):
            value = record.get(name)
            if value is not None and type(value) is not str:
                try:
                    _json_text(value, key)
                except RunFormatError as error:
                    raise RunFormatError(
                        error.reason, path=self.path, datapoint=key, field=name
                    ) from None
        self._chunk.append(dict(record))
        self.count += 1
        if len(self._chunk) >= _CHUNK:
            self._builder.add(self._chunk)
            self._chunk = []

    def run(self, meta: Mapping[str, Any]) -> Run:
        """The run of every datapoint kept so far, with this metadata."""
        from pytest_runcompare.building import parse_meta
        from pytest_runcompare.curves import with_curves
        from pytest_runcompare.runs import Datapoints, Run

        parsed = with_curves(
            parse_meta(dict(meta), path=str(self.path)), meta, path=self.path
        )
        if self._chunk:
            self._builder.add(self._chunk)
            self._chunk = []
        if not self.count:
            return Run(
                meta=parsed, datapoints=Datapoints(ids=[], outputs=[], metrics={})
            )
        return self._builder.finish(parsed)
