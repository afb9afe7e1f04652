"""Writing runs as Parquet or Arrow IPC: ``save_run`` and ``RunWriter`` on ``.parquet``.

The table follows :mod:`pytest_runcompare.parquet_layout`; metric columns are made
from the Run's arrays and masks without a loop over rows. ``ParquetRunWriter``
(what ``RunWriter`` becomes for a ``.parquet``/``.arrow`` path) keeps the validated
datapoints in columns and writes the file atomically when its block ends.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
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
from pytest_runcompare.writer import RunWriter, atomic_file, remove_leftovers

if TYPE_CHECKING:
    from pytest_runcompare.building import RunBuilder
    from pytest_runcompare.runs import Datapoints, Run

#: Datapoints a ParquetRunWriter validates and stores in columns at a time.
_CHUNK = 10_000


def _json_text(value: Any, datapoint: object) -> str:
    from pytest_runcompare.writer import _encodable, _json_default

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

    from pytest_runcompare.writer import _encodable

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

    from pytest_runcompare.writer import _json_default

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


def save_columnar(run: Run, path: Path) -> None:
    """Write ``run`` at ``path`` atomically (a temporary beside it, then a rename)."""
    require_pyarrow(path, writing=True)
    with atomic_file(path, "wb") as handle:
        write_columnar(run, handle, path)


class ParquetRunWriter(RunWriter):
    """``RunWriter`` for a ``.parquet`` or ``.arrow`` path (``RunWriter`` picks it).

    Each datapoint is validated as it is added and kept in columns; the file is
    written atomically when the block ends, marked complete. After an exception the
    datapoints so far are written marked incomplete: at the path when nothing was
    there, else beside it (``<name>.writing-<pid>-<host>-partial<suffix>``), so that
    an existing baseline is never replaced by a crashed evaluation.
    """

    _builder: RunBuilder | None = None
    _chunk: list[dict[str, Any]]

    def __enter__(self) -> ParquetRunWriter:
        from pytest_runcompare.building import RunBuilder, parse_meta

        require_pyarrow(self.path, writing=True)
        if self._capture:
            from pytest_runcompare.lineage import capture_lineage

            self._meta.update(capture_lineage(cwd=self._cwd, packages=self._packages))
        parse_meta(self._meta, path=str(self.path))  # validate before any datapoint
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            remove_leftovers(self.path)
        self._builder = RunBuilder(path=str(self.path), definitions=self._definitions)
        self._chunk = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from pytest_runcompare.writer import temp_prefix

        if self._builder is None:
            raise RuntimeError("RunWriter.__exit__ without __enter__")
        meta: dict[str, Any] = {
            **self._meta,
            "complete": exc_type is None,
            "datapoint_count": self.count,
        }
        if exc_type is not None:
            meta["error"] = f"{exc_type.__name__}: {exc}"
        run = self._finish(meta)
        self._builder = None
        target = self.path
        if exc_type is not None and self.path.exists():
            name = temp_prefix(self.path.name, hidden=False)
            target = self.path.with_name(f"{name}partial{self.path.suffix}")
        save_columnar(run, target)

    def _finish(self, meta: Mapping[str, Any]) -> Run:
        from pytest_runcompare.building import parse_meta
        from pytest_runcompare.runs import Datapoints, Run

        assert self._builder is not None
        parsed = parse_meta(dict(meta), path=str(self.path))
        if self._chunk:
            self._builder.add(self._chunk)
            self._chunk = []
        if not self.count:
            empty = Datapoints(ids=[], outputs=[], metrics={})
            return Run(meta=parsed, datapoints=empty)
        return self._builder.finish(parsed)

    def add_record(self, record: Mapping[str, Any]) -> None:
        """Validate one datapoint (a native record mapping) and keep it."""
        from pytest_runcompare.building import check_record

        if self._builder is None:
            raise RuntimeError("RunWriter.add_record() outside its 'with' block")
        record = dict(record)
        key = check_record(record, path=str(self.path), definitions=self._definitions)
        if key in self._ids:
            raise RunFormatError(
                "duplicate id: this datapoint was already written",
                path=self.path,
                datapoint=key,
                field="id",
            )
        for name in ("input", "output", "expected", "meta"):
            value = record.get(name)
            if value is not None and type(value) is not str:
                try:
                    _json_text(value, key)
                except RunFormatError as error:
                    raise RunFormatError(
                        error.reason, path=self.path, datapoint=key, field=name
                    ) from None
        self._ids.add(key)
        self._chunk.append(record)
        self.count += 1
        if len(self._chunk) >= _CHUNK:
            self._builder.add(self._chunk)
            self._chunk = []


def is_parquet_writer_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``RunWriter``/``save_run`` write ``path`` as Parquet or Arrow IPC."""
    from pytest_runcompare.parquet_layout import is_columnar

    return is_columnar(Path(path))
