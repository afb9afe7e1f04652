"""Parquet and Arrow IPC runs: one file, or a folder of part files read as one run.

The Run's columns are built straight from Arrow arrays (ids, metric values and
presence masks without a loop over rows) and checked by the rules of the native
format: unique ids, NFC-distinct ids, finite values unless ``allow_nan``, numbers or
booleans, the bounds of :mod:`pytest_runcompare.limits`. Errors name the file, the
column, the row and its row group (or record batch), and the datapoint id.
The layout is in :mod:`pytest_runcompare.parquet_layout` and the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.parquet_layout import SUFFIXES, is_columnar

if TYPE_CHECKING:
    import numpy as np

    from pytest_runcompare.runs import (
        Datapoints,
        HashArray,
        MetricDefinition,
        Run,
        RunMeta,
    )

FORMATS = (None, "native", "parquet", "arrow")
_DATAPOINTS_FILE = "datapoints.jsonl"


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read a Parquet/Arrow run file or folder of parts; ``None`` for anything else."""
    fmt = options.get("format")
    if fmt not in FORMATS:
        return None
    name, _, selector = location.partition("::")
    path = Path(name)
    if path.is_dir():
        if (path / _DATAPOINTS_FILE).exists() or not part_files(path):
            return None  # a native run folder (or nothing columnar): not ours
    elif not is_columnar(path):
        if fmt in ("parquet", "arrow"):
            raise RunFormatError(
                f"format: {fmt} reads Parquet or Arrow IPC files, and this path is "
                f"not one (suffix {path.suffix or 'none'})",
                path=path,
                hint=f"name the file with one of {', '.join(SUFFIXES)}, or give a "
                "folder of such files",
            )
        return None
    if selector:
        raise RunFormatError(
            f"a selector ('::{selector}') does not apply to a Parquet or Arrow run, "
            "which holds one run",
            path=path,
            hint="give the path alone",
        )
    extra = sorted(k for k in options if k != "format")
    if extra:
        raise RunFormatError(
            f"reader option(s) {extra} do not apply to a Parquet or Arrow run",
            path=path,
            hint="remove them",
        )
    return read_columnar(path)


def part_files(folder: Path) -> list[Path]:
    """The Parquet/Arrow files directly inside ``folder`` (hidden ones left out), sorted."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "_")) and is_columnar(p)
    )


def read_columnar(path: Path) -> Run:
    """A Parquet or Arrow IPC run: a file, or a folder of part files (one run)."""
    from pytest_runcompare.loaders.files import paused_gc
    from pytest_runcompare.parquet_layout import require_pyarrow

    require_pyarrow(path)
    with paused_gc():
        if path.is_dir():
            return _read_folder(path)
        piece = _read_file(path, start=0)
        raw = _run_metadata([piece], where=path)
        meta = _parse_meta(raw, meta_path=path, source=path)
        table = piece.table.replace_schema_metadata(None)
        return _Builder(meta, [piece], _layout([piece], path), table).run(path)


# --------------------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class _Piece:
    """One file of a run: its table, where its rows start in the run, its row groups."""

    path: Path
    table: Any  # pyarrow.Table
    start: int
    groups: tuple[int, ...]  # rows in each row group (record batch)
    unit: str  # "row group" or "record batch"
    metadata: Mapping[bytes, bytes]


def _damaged(path: Path, what: str, error: BaseException) -> RunFormatError:
    return RunFormatError(
        f"not a readable {what} file ({type(error).__name__}: {error})",
        path=path,
        hint="the file is truncated or damaged; write it again, or restore it",
    )


def _read_file(path: Path, *, start: int) -> _Piece:
    import pyarrow as pa

    from pytest_runcompare.loaders.files import check_regular
    from pytest_runcompare.parquet_layout import is_arrow

    check_regular(path)
    if is_arrow(path):
        try:
            source = pa.memory_map(str(path))
            try:
                reader: Any = pa.ipc.open_file(source)
                batches = [
                    reader.get_batch(i) for i in range(reader.num_record_batches)
                ]
            except pa.ArrowInvalid:
                source.seek(0)
                reader = pa.ipc.open_stream(source)  # the streaming format
                batches = list(reader)
            table = pa.Table.from_batches(batches, schema=reader.schema)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise _damaged(path, "Arrow IPC", error) from None
        groups = tuple(b.num_rows for b in batches)
        unit = "record batch"
    else:
        import pyarrow.parquet as pq

        try:
            handle = pq.ParquetFile(path)
            table = handle.read()
        except (pa.ArrowException, OSError, ValueError) as error:
            raise _damaged(path, "Parquet", error) from None
        info = handle.metadata
        groups = tuple(info.row_group(i).num_rows for i in range(info.num_row_groups))
        unit = "row group"
    return _Piece(path, table, start, groups, unit, table.schema.metadata or {})


def _read_folder(folder: Path) -> Run:
    import pyarrow as pa

    from pytest_runcompare.loaders.native import META_FILES, _read_meta_file

    pieces: list[_Piece] = []
    start = 0
    for part in part_files(folder):
        piece = _read_file(part, start=start)
        pieces.append(piece)
        start += piece.table.num_rows
    meta_path = next((folder / n for n in META_FILES if (folder / n).exists()), None)
    if meta_path is not None:
        raw = _read_meta_file(meta_path)
        if raw is None:
            raise RunFormatError(
                "the metadata file is empty: it cannot say whether the run is "
                "complete or which way its metrics point",
                path=meta_path,
                hint="give it at least 'complete: true', or delete it to use the "
                "parts' own metadata",
            )
    else:
        raw = _run_metadata(pieces, where=folder)
    meta = _parse_meta(raw, meta_path=meta_path or pieces[0].path, source=folder)
    layout = _layout(pieces, folder)
    tables = [p.table.replace_schema_metadata(None) for p in pieces]
    try:
        # A column missing from a part is null there; int64 and float64 unify.
        merged = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, ValueError) as error:
        raise RunFormatError(
            f"the part files' columns do not agree ({error})",
            path=folder,
            hint="every part needs the same type for a column of the same name",
        ) from None
    return _Builder(meta, pieces, layout, merged).run(folder)


def _run_metadata(pieces: Sequence[_Piece], *, where: Path) -> Any:
    """The ``runcompare.run`` JSON of the files (which must agree), or ``None``."""
    from pytest_runcompare.loaders.files import loads
    from pytest_runcompare.parquet_layout import RUN_KEY

    found: list[tuple[Path, Any]] = []
    for piece in pieces:
        text = piece.metadata.get(RUN_KEY)
        if text is None:
            continue
        try:
            raw = loads(text)
        except (ValueError, RecursionError) as error:
            raise RunFormatError(
                f"the file's '{RUN_KEY.decode()}' metadata is not valid JSON ({error})",
                path=piece.path,
                hint="it holds the run.yaml mapping as JSON; write the run with "
                "save_run() or fix the value",
            ) from None
        if not isinstance(raw, dict):
            raise RunFormatError(
                f"the file's '{RUN_KEY.decode()}' metadata must be a JSON object, got "
                f"{type(raw).__name__}",
                path=piece.path,
            )
        found.append((piece.path, raw))
    if not found:
        return None
    if len(pieces) == 1:
        return found[0][1]
    # Parts of one run carry the same metadata; each counts only its own rows.
    first_path, first = found[0]
    plain = {k: v for k, v in first.items() if k != "datapoint_count"}
    for other_path, other in found[1:]:
        if {k: v for k, v in other.items() if k != "datapoint_count"} != plain:
            raise RunFormatError(
                f"the part files carry different run metadata ({first_path.name} and "
                f"{other_path.name})",
                path=where,
                hint="put one run.yaml in the folder, or give every part the same "
                "metadata",
            )
    counts = [raw.get("datapoint_count") for _, raw in found]
    if len(found) == len(pieces) and all(type(c) is int for c in counts):
        plain["datapoint_count"] = sum(counts)
    return plain


def _parse_meta(raw: Any, *, meta_path: Path, source: Path) -> RunMeta:
    from dataclasses import replace

    from pytest_runcompare.building import parse_meta
    from pytest_runcompare.curves import with_curves

    meta = parse_meta(raw, path=str(meta_path))
    meta = with_curves(meta, raw, path=meta_path)
    return replace(meta, source=str(source))


def _layout(pieces: Sequence[_Piece], where: Path) -> frozenset[str]:
    """The columns marked as holding JSON text (the same in every part)."""
    import json

    from pytest_runcompare.parquet_layout import LAYOUT_KEY

    marks: set[frozenset[str]] = set()
    for piece in pieces:
        text = piece.metadata.get(LAYOUT_KEY)
        if text is None:
            marks.add(frozenset())
            continue
        try:
            layout = json.loads(text)
            columns = layout.get("json", [])
            if not isinstance(columns, list) or not all(
                isinstance(c, str) for c in columns
            ):
                raise ValueError("'json' must be a list of column names")
        except (ValueError, AttributeError) as error:
            raise RunFormatError(
                f"the file's '{LAYOUT_KEY.decode()}' metadata is malformed ({error})",
                path=piece.path,
            ) from None
        marks.add(frozenset(columns))
    if len(marks) > 1:
        raise RunFormatError(
            "the part files disagree on which columns hold JSON text "
            f"('{LAYOUT_KEY.decode()}' metadata)",
            path=where,
        )
    return next(iter(marks), frozenset())


# --------------------------------------------------------------------------- columns


class _Builder:
    """Turns the Arrow table(s) of one run into a validated :class:`Run`."""

    def __init__(
        self,
        meta: RunMeta,
        pieces: Sequence[_Piece],
        json_columns: frozenset[str],
        table: Any,  # pyarrow.Table: the pieces' rows, one after the other
    ) -> None:
        from pytest_runcompare import limits

        self.meta = meta
        self.pieces = pieces
        self.json_columns = json_columns
        self.definitions: Mapping[str, MetricDefinition] = meta.metric_definitions
        self.table = table
        self.text_cap = limits.TEXT_CHARS.value
        self.tags_cap = limits.TAGS.value
        self.metrics_cap = limits.METRICS.value
        self.ids: list[str] = []

    # where ---------------------------------------------------------------------------
    def _locate(self, row: int) -> tuple[Path, str]:
        piece = next(
            p for p in reversed(self.pieces) if p.start <= row or p is self.pieces[0]
        )
        local = row - piece.start
        group, first = 0, 0
        for group, size in enumerate(piece.groups):  # noqa: B007 (used after)
            if local < first + size:
                break
            first += size
        return piece.path, f"row {local:,} ({piece.unit} {group})"

    def error(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        datapoint: object | None = None,
        hint: str | None = None,
    ) -> RunFormatError:
        path: Path = self.pieces[0].path
        if row is not None:
            path, place = self._locate(row)
            message = f"{place}: {message}"
            if datapoint is None and row < len(self.ids):
                datapoint = self.ids[row]
        return RunFormatError(
            message, path=path, datapoint=datapoint, field=column, hint=hint
        )

    # the run -------------------------------------------------------------------------
    def run(self, where: Path) -> Run:
        from dataclasses import replace

        from pytest_runcompare.runs import Run

        n = self.table.num_rows
        self._check_columns(self.table.column_names)
        self._check_utf8()
        if n == 0:
            raise RunFormatError(
                "the run has no datapoints", path=where, hint="a run needs at least one"
            )
        count = self.meta.extra.get("datapoint_count")
        if self.meta.complete and isinstance(count, int) and count != n:
            raise RunFormatError(
                f"the run's metadata says datapoint_count: {count:,} but the file holds "
                f"{n:,} datapoints"
                + (": the run looks truncated" if count > n else ""),
                path=where,
                field="datapoint_count",
                hint="restore the complete run or re-run the evaluation",
            )
        columns = {name: self.table.column(name) for name in self.table.column_names}
        self.ids, hashes = self._ids(columns["id"])
        table = self._table(
            columns, rows=None, ids=self.ids, index=None, prefix="", hashes=hashes
        )
        steps = self._steps(columns["steps"]) if "steps" in columns else {}
        warnings: tuple[str, ...] = ()
        if not self.meta.complete:
            warnings = (
                f"{where}: the run is marked incomplete (its writer did not finish); "
                "comparing the datapoints written so far",
            )
        return Run(
            meta=replace(self.meta), datapoints=table, steps=steps, warnings=warnings
        )

    def _check_columns(self, names: list[str], *, step: bool = False) -> None:
        from pytest_runcompare.parquet_layout import COLUMNS, METRIC_PREFIX, STEP_FIELDS

        where = "steps" if step else None
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise self.error(f"duplicate column(s) {dupes}", column=where)
        allowed = STEP_FIELDS if step else COLUMNS
        unknown = [
            n for n in names if n not in allowed and not n.startswith(METRIC_PREFIX)
        ]
        if unknown:
            accepted = ", ".join(a for a in allowed if a != "id")
            raise self.error(
                f"unknown {'step field' if step else 'column'}(s) {unknown}",
                column=where,
                hint=f"accepted: {'' if step else 'id, '}metrics.<name>, {accepted}"
                + ("" if step else "; put custom fields in the JSON 'meta' column"),
            )
        if not step and "id" not in names:
            raise self.error(
                f"the file has no 'id' column (found {names})",
                hint="every row is one datapoint and needs a unique string 'id'",
            )
        if step and "name" not in names:
            raise self.error(
                "a step needs a 'name' field",
                column="steps",
                hint="steps is a list of structs with name, output and metrics.<name>",
            )
        metrics = [n for n in names if n.startswith(METRIC_PREFIX)]
        if len(metrics) > self.metrics_cap:
            raise self.error(
                self._limits().METRICS.exceeded(f"{len(metrics):,}"), column=where
            )
        for name in metrics:
            if name == METRIC_PREFIX:
                raise self.error(
                    "a metric column needs a name after 'metrics.'", column=name
                )
            if len(name) - len(METRIC_PREFIX) > self.text_cap:
                raise self.error(
                    self._limits().TEXT_CHARS.exceeded(
                        f"a metric name of {len(name) - len(METRIC_PREFIX):,}"
                    ),
                    column=name if len(name) <= 60 else name[:57] + "...",
                )

    @staticmethod
    def _limits() -> Any:
        from pytest_runcompare import limits

        return limits

    def _check_utf8(self) -> None:
        import pyarrow as pa

        try:
            self.table.validate(full=True)
        except pa.ArrowInvalid:
            for name in self.table.column_names:
                try:
                    self.table.column(name).validate(full=True)
                except pa.ArrowInvalid as error:
                    raise self.error(
                        f"the column holds invalid data ({error})",
                        column=name,
                        hint="text must be valid UTF-8; the file may be damaged",
                    ) from None
            raise

    # ids -----------------------------------------------------------------------------
    def _ids(self, col: Any) -> tuple[list[str], HashArray]:
        import pyarrow as pa
        import pyarrow.compute as pc

        from pytest_runcompare.runs import hashes_distinct, id_hashes

        col = _decoded(col)
        if pa.types.is_integer(col.type):
            col = pc.cast(col, pa.string())
        elif not _is_text(col.type):
            raise self.error(
                f"ids must be strings (or integers), got a column of {col.type}",
                column="id",
            )
        if col.null_count:
            row = _first(pc.is_null(col))
            raise self.error(
                "the datapoint has no id (null)",
                row=row,
                column="id",
                hint="every datapoint needs a unique string or integer 'id'",
            )
        lengths = pc.utf8_length(col)
        if (pc.max(lengths).as_py() or 0) > self.text_cap:
            row = _first(pc.greater(lengths, self.text_cap))
            raise self.error(
                self._limits().TEXT_CHARS.exceeded(
                    f"an id of {lengths[row].as_py():,}"
                ),
                row=row,
                column="id",
                datapoint=_cut(col[row].as_py()),
            )
        ids: list[str] = col.to_pylist()
        hashes = id_hashes(ids)
        if not hashes_distinct(hashes) and len(set(ids)) != len(ids):
            seen: dict[str, int] = {}
            for i, key in enumerate(ids):
                if key in seen:
                    raise self.error(
                        f"duplicate id (first seen at row {seen[key]:,})",
                        row=i,
                        column="id",
                        datapoint=key,
                        hint="datapoint ids must be unique within a run",
                    )
                seen[key] = i
        if not pc.all(pc.string_is_ascii(col)).as_py():
            self._check_normal_forms(ids, dict(zip(ids, range(len(ids)), strict=True)))
        return ids, hashes

    def _check_normal_forms(self, ids: list[str], index: Mapping[str, int]) -> None:
        import unicodedata

        seen: dict[str, str] = {}
        for key in ids:
            if key.isascii() or unicodedata.is_normalized("NFC", key):
                continue
            form = unicodedata.normalize("NFC", key)
            other = form if form in index else seen.get(form)
            if other is not None:
                i, j = sorted((index[key], index[other]))
                raise self.error(
                    f"ids {ids[i]!a} and {ids[j]!a} are the same text in different "
                    "Unicode normal forms (NFC and NFD): they would be two datapoints "
                    f"that print alike (first at row {i:,})",
                    row=j,
                    column="id",
                    datapoint=ids[j],
                    hint="normalise ids to NFC (unicodedata.normalize('NFC', id)) "
                    "where the run is written",
                )
            seen[form] = key

    # one table (the datapoints or one step) -----------------------------------------
    def _table(
        self,
        columns: Mapping[str, Any],
        *,
        rows: np.ndarray | None,
        ids: list[str],
        index: dict[str, int] | None,
        prefix: str,
        hashes: HashArray | None = None,
    ) -> Datapoints:
        from pytest_runcompare.parquet_layout import METRIC_PREFIX
        from pytest_runcompare.runs import Datapoints

        n = len(ids)
        place = _Place(self, rows, ids, prefix)
        metrics = {
            name[len(METRIC_PREFIX) :]: self._metric(name, columns[name], place)
            for name in sorted(columns)
            if name.startswith(METRIC_PREFIX)
        }

        def values(key: str) -> list[Any] | None:
            if key not in columns:
                return None
            return self._values(key, columns[key], place)

        outputs = values("output")
        metas = values("meta")
        if metas is not None:
            for i, value in enumerate(metas):
                if value is not None and type(value) is not dict:
                    raise place.error(
                        f"meta must be a mapping of your own fields, got "
                        f"{_short(value)}",
                        i,
                        "meta",
                    )
        return Datapoints(
            ids=ids,
            outputs=[None] * n if outputs is None else outputs,
            metrics=metrics,
            inputs=values("input"),
            expected=values("expected"),
            slice_tags=self._slices(columns["slices"], place)
            if "slices" in columns
            else None,
            groups=self._groups(columns["group"], place)
            if "group" in columns
            else None,
            metas=metas,
            _index=index or {},
            _hashes=[] if hashes is None else [hashes],
        )

    def _metric(self, name: str, col: Any, place: _Place) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from pytest_runcompare.parquet_layout import METRIC_PREFIX
        from pytest_runcompare.runs import MetricColumn

        col = _decoded(col)
        kind = col.type
        boolean = pa.types.is_boolean(kind)
        if not (
            boolean
            or pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_null(kind)
        ):
            row = _first(pc.is_valid(col)) if col.null_count < len(col) else None
            raise place.error(
                f"metric values must be numbers or booleans, got a column of {kind}",
                row,
                name,
                hint="store metrics as float64 (or bool); null where a datapoint "
                "has no value",
            )
        present = np.asarray(pc.is_valid(col), dtype=np.bool_)
        if not present.flags.writeable:
            present = present.copy()
        filled = pc.fill_null(pc.cast(col, pa.float64(), safe=False), 0.0)
        values = np.asarray(filled, dtype=np.float64)
        bad = present & ~np.isfinite(values)
        metric = name[len(METRIC_PREFIX) :]
        definition = self.definitions.get(metric)
        if bad.any() and not (definition is not None and definition.allow_nan):
            i = int(np.argmax(bad))
            raise place.error(
                f"metric value is {float(values[i])!r}, which is allowed only for "
                "metrics declared with allow_nan",
                i,
                name,
                hint=f"declare it in the run's metadata (metric_definitions: "
                f"{{{metric}: {{allow_nan: true}}}}) or fix the value",
            )
        values = np.where(present, values, np.nan)  # a fresh, writable array
        return MetricColumn(
            values=values, present=present, boolean=boolean and bool(present.any())
        )

    def _values(self, key: str, col: Any, place: _Place) -> list[Any]:
        """An output/input/expected/meta column as Python values (JSON text parsed)."""
        import pyarrow as pa

        from pytest_runcompare.loaders.files import loads

        col = _decoded(col)
        marked = f"{place.prefix_key}{key}" in self.json_columns or key == "meta"
        if marked and _is_text(col.type):
            texts = col.to_pylist()
            out: list[Any] = []
            for i, text in enumerate(texts):
                if text is None:
                    out.append(None)
                    continue
                try:
                    out.append(loads(text))
                except (ValueError, RecursionError) as error:
                    raise place.error(
                        f"not valid JSON text ({type(error).__name__}: {error})",
                        i,
                        key,
                        hint=f"'{key}' is marked as a JSON column in the file's "
                        "runcompare.layout metadata",
                    ) from None
            return out
        if (
            pa.types.is_binary(col.type)
            or pa.types.is_large_binary(col.type)
            or pa.types.is_temporal(col.type)
            or pa.types.is_decimal(col.type)
        ):
            raise place.error(
                f"must be text or a JSON value, got a column of {col.type}",
                None,
                key,
                hint="store it as a string column (JSON text for other values)",
            )
        values: list[Any] = col.to_pylist()
        return values

    def _slices(self, col: Any, place: _Place) -> list[tuple[str, ...]]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        lists = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        kind = lists.type
        if not (
            (pa.types.is_list(kind) or pa.types.is_large_list(kind))
            and (_is_text(kind.value_type) or pa.types.is_null(kind.value_type))
        ):
            raise place.error(
                f"slices must be a list of strings per datapoint, got a column of "
                f"{kind}",
                None,
                "slices",
                hint="e.g. ['lang:de', 'math'] in a list<string> column",
            )
        flat = pc.list_flatten(lists)
        parents = pc.list_parent_indices(lists)
        if flat.null_count:
            k = _first(pc.is_null(flat))
            raise place.error("a slice tag is null", parents[k].as_py(), "slices")
        counts = pc.list_value_length(lists)
        if (pc.max(counts).as_py() or 0) > self.tags_cap:
            row = _first(pc.greater(counts, self.tags_cap))
            raise place.error(
                self._limits().TAGS.exceeded(f"{counts[row].as_py():,}"), row, "slices"
            )
        if len(flat):
            lengths = pc.utf8_length(flat)
            if (pc.max(lengths).as_py() or 0) > self.text_cap:
                k = _first(pc.greater(lengths, self.text_cap))
                raise place.error(
                    self._limits().TEXT_CHARS.exceeded(
                        f"a tag of {lengths[k].as_py():,}"
                    ),
                    parents[k].as_py(),
                    "slices",
                )
        awkward = len(flat) and (
            pc.any(pc.match_substring(flat, "\x1f")).as_py()
            or pc.any(pc.equal(pc.utf8_length(flat), 0)).as_py()
        )
        if awkward:  # an empty tag or the separator in one: tuples row by row
            shared: dict[tuple[str, ...], tuple[str, ...]] = {}
            return [
                shared.setdefault(t, t)
                for t in (tuple(v or ()) for v in lists.to_pylist())
            ]
        # Few distinct combinations: encode each row's tags as one key, decode once.
        keys = pc.fill_null(pc.binary_join(lists, "\x1f"), "").dictionary_encode()
        combos = [
            tuple(text.split("\x1f")) if text else ()
            for text in keys.dictionary.to_pylist()
        ]
        codes = np.asarray(keys.indices, dtype=np.intp)
        return list(map(combos.__getitem__, codes.tolist()))

    def _groups(self, col: Any, place: _Place) -> list[str | None]:
        import pyarrow as pa
        import pyarrow.compute as pc

        col = _decoded(col)
        if pa.types.is_integer(col.type):
            col = pc.cast(col, pa.string())
        elif not (_is_text(col.type) or pa.types.is_null(col.type)):
            raise place.error(
                f"group must be a string or an integer, got a column of {col.type}",
                None,
                "group",
            )
        groups: list[str | None] = col.to_pylist()
        return groups

    # steps ---------------------------------------------------------------------------
    def _steps(self, col: Any) -> dict[str, Datapoints]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        lists = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        kind = lists.type
        if not (
            (pa.types.is_list(kind) or pa.types.is_large_list(kind))
            and pa.types.is_struct(kind.value_type)
        ):
            raise self.error(
                f"steps must be a list of structs per datapoint, got a column of {kind}",
                column="steps",
                hint="list<struct<name: string, output: string, metrics.<name>: double>>",
            )
        parents = np.asarray(pc.list_parent_indices(lists), dtype=np.intp)
        flat = pc.list_flatten(lists)
        if flat.null_count:
            k = _first(pc.is_null(flat))
            raise self.error("a step is null", row=int(parents[k]), column="steps")
        struct_type = flat.type
        names = [struct_type.field(i).name for i in range(struct_type.num_fields)]
        self._check_columns(names, step=True)
        fields = dict(zip(names, flat.flatten(), strict=True))
        step_names = _decoded(fields["name"])
        if not _is_text(step_names.type):
            raise self.error(
                f"a step's name must be a string, got {step_names.type}",
                column="steps.name",
            )
        empty = pc.or_kleene(
            pc.is_null(step_names), pc.equal(pc.utf8_length(step_names), 0)
        )
        if pc.any(empty).as_py():
            k = _first(empty)
            raise self.error(
                "a step needs a non-empty string 'name'",
                row=int(parents[k]),
                column="steps.name",
            )
        encoded = step_names.dictionary_encode()
        labels: list[str] = encoded.dictionary.to_pylist()
        codes = np.asarray(encoded.indices, dtype=np.intp)
        # The k-th step of one name in a datapoint is "name#k" (k > 1), as in JSONL.
        key = parents * len(labels) + codes
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        run_of = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
        occurrence = np.empty(len(key), dtype=np.intp)
        occurrence[order] = np.arange(len(key)) - starts[run_of] + 1
        pair = codes * (int(occurrence.max(initial=1)) + 1) + occurrence
        uniques, first_at = np.unique(pair, return_index=True)
        ids_of = np.array(self.ids, dtype=object)
        steps: dict[str, Datapoints] = {}
        for k in np.argsort(first_at, kind="stable"):
            value = int(uniques[k])
            code, occ = divmod(value, int(occurrence.max(initial=1)) + 1)
            label = labels[code] if occ == 1 else f"{labels[code]}#{occ}"
            sel = np.flatnonzero(pair == value)
            take = pa.array(sel)
            rows = parents[sel]
            columns = {
                name: arr.take(take) for name, arr in fields.items() if name != "name"
            }
            step_ids: list[str] = ids_of[rows].tolist()
            steps[label] = self._table(
                columns,
                rows=rows,
                ids=step_ids,
                index=dict(zip(step_ids, range(len(step_ids)), strict=True)),
                prefix=f"steps[{label}].",
            )
        return steps


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the rows of one table are: the run's rows, or a step's rows."""

    builder: _Builder
    rows: np.ndarray | None  # the datapoint row of each step row; None: the same
    ids: list[str]
    prefix: str  # "" or "steps[name]."

    @property
    def prefix_key(self) -> str:
        """The prefix of a column's name in the JSON marks: "" or "steps."."""
        return "" if not self.prefix else "steps."

    def error(
        self,
        message: str,
        i: int | None,
        column: str,
        *,
        hint: str | None = None,
    ) -> RunFormatError:
        row = None if i is None or self.rows is None else int(self.rows[i])
        row = i if self.rows is None else row
        return self.builder.error(
            message,
            row=row,
            column=f"{self.prefix}{column}",
            datapoint=None if i is None else self.ids[i],
            hint=hint,
        )


def _decoded(col: Any) -> Any:
    """A dictionary-encoded column (a pandas category) as its plain values."""
    import pyarrow as pa

    if pa.types.is_dictionary(col.type):
        return col.cast(col.type.value_type)
    return col


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
    )


def _first(mask: Any) -> int:
    """The position of the first true value of a boolean Arrow array."""
    import pyarrow.compute as pc

    return int(pc.index(mask, True).as_py())


def _cut(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters, for naming a datapoint with a huge id."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: object) -> str:
    from pytest_runcompare.building import short

    return short(value)
