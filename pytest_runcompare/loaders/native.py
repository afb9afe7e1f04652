"""The native run format: a run directory, a ``.jsonl``, a ``.json``/``.yaml`` document, a ``.csv``.

- directory: ``run.yaml`` (or ``run.json``) metadata beside ``datapoints.jsonl``;
- ``.jsonl``: one datapoint per line, optionally a first line ``{"run": {...metadata}}``;
- ``.json`` / ``.yaml``: a document ``{"run": {...}, "datapoints": [...]}``;
- ``.csv``: an ``id`` column, metric columns, optional ``output``/``input``/``expected``
  and ``slices`` (tags separated by ``;``) columns.

This module is the fallback reader: it claims any of those shapes and explains what
is wrong with a file that is none of them.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.curves import with_curves
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.hookspecs import hookimpl

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run

META_FILES = ("run.yaml", "run.yml", "run.json")
DATAPOINTS_FILE = "datapoints.jsonl"
SUFFIXES = (".jsonl", ".json", ".yaml", ".yml", ".csv")
_CSV_RESERVED = {"id", "output", "input", "expected", "slices", "group"}


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read a native run, or ``None`` when the path is not one of the native shapes."""
    fmt = options.get("format")
    if fmt not in (None, "native"):
        return None
    name, _, selector = location.partition("::")
    path = Path(name)
    suffix = path.suffix.lower()
    native = (path.is_dir() and _is_run_dir(path)) or (
        not path.is_dir() and suffix in SUFFIXES
    )
    if not native and fmt is None:
        return None
    if selector and (fmt == "native" or path.suffix.lower() in (".jsonl", ".csv")):
        raise RunFormatError(
            f"a selector ('::{selector}') does not apply to a native run, which holds "
            "one run",
            path=path,
            hint="give the path alone, or format: <reader> for another tool's file",
        )
    if selector:
        return None  # another tool's multi-run file (promptfoo results.json...)
    extra = sorted(k for k in options if k != "format")
    if extra and (fmt == "native" or suffix in (".jsonl", ".csv") or path.is_dir()):
        raise RunFormatError(
            f"reader option(s) {extra} do not apply to a native run",
            path=path,
            hint="remove them, or set format: to the tool that wrote the file",
        )
    if path.is_dir():
        return read_run_dir(path)
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".csv":
        return read_csv(path)
    if suffix in (".yaml", ".yml"):
        return read_document(path, yaml=True)
    return read_document(path, yaml=False)


@hookimpl(trylast=True)
def pytest_runcompare_list_runs(
    location: str, options: Mapping[str, Any]
) -> list[tuple[str, str]] | None:
    """The run folders inside a folder that is not itself a run (a sweep's folder)."""
    from pytest_runcompare.loaders.multi import is_work_folder

    if options.get("format") not in (None, "native") or "::" in location:
        return None
    path = Path(location)
    if not path.is_dir() or _is_run_dir(path):
        return None
    children = sorted(
        child
        for child in path.iterdir()
        if child.is_dir()
        and not child.name.startswith(".")
        and not is_work_folder(child)
        and _is_run_dir(child)
    )
    # No run folder inside: not a folder of runs (another reader may read it whole).
    return [(child.name, str(child)) for child in children] or None


def _is_run_dir(path: Path) -> bool:
    return (path / DATAPOINTS_FILE).exists() or any(
        (path / name).exists() for name in META_FILES
    )


def _read_meta_file(path: Path) -> Any:
    from pytest_runcompare.loaders.files import parse_json, parse_yaml, read_text

    text = read_text(path)
    return parse_json(text, path) if path.suffix == ".json" else parse_yaml(text, path)


def read_run_dir(path: Path) -> Run:
    """A run directory: metadata file beside ``datapoints.jsonl``."""
    from pytest_runcompare.building import parse_meta

    meta_path = next((path / n for n in META_FILES if (path / n).exists()), None)
    raw_meta = {} if meta_path is None else _read_meta_file(meta_path)
    if meta_path is not None and raw_meta is None:
        raise RunFormatError(
            "the metadata file is empty: it cannot say whether the run is complete, how "
            "many datapoints it holds or which way its metrics point",
            path=meta_path,
            hint="write runs with RunWriter or save_run(); or give it at least "
            "'complete: true' and the metric_definitions, or delete it",
        )
    meta = parse_meta(raw_meta, path=str(meta_path or path))
    meta = with_curves(meta, raw_meta, path=meta_path)
    meta = _with_source(meta, path)
    points = path / DATAPOINTS_FILE
    if not points.exists():
        if meta.metrics:
            from pytest_runcompare.runs import Datapoints, Run

            return Run(meta=meta, datapoints=Datapoints(ids=[], outputs=[], metrics={}))
        raise RunFormatError(
            f"the run directory has no {DATAPOINTS_FILE}",
            path=path,
            hint="write datapoints with pytest_runcompare.RunWriter or save_run()",
        )
    try:
        return _read_jsonl_body(points, meta, header_allowed=False)
    except RunFormatError as error:
        if error.field != "datapoint_count" or meta_path is None:
            raise
        raise RunFormatError(
            error.reason.replace("the run's metadata", meta_path.name, 1),
            path=error.path,
            field=error.field,
            hint=error.hint,
        ) from None


def _with_source(meta: Any, path: Path) -> Any:
    from dataclasses import replace

    return replace(meta, source=str(path))


def read_jsonl(path: Path) -> Run:
    """A ``.jsonl`` file of datapoints, optionally led by a ``{"run": {...}}`` line."""
    from pytest_runcompare.building import parse_meta

    return _read_jsonl_body(path, parse_meta({}, path=str(path)), header_allowed=True)


def _read_jsonl_body(path: Path, meta: Any, *, header_allowed: bool) -> Run:
    from pytest_runcompare.loaders.files import paused_gc

    with paused_gc():
        return _build_from_jsonl(path, meta, header_allowed=header_allowed)


def _build_from_jsonl(path: Path, meta: Any, *, header_allowed: bool) -> Run:
    from dataclasses import replace

    from pytest_runcompare.building import RunBuilder, parse_meta
    from pytest_runcompare.loaders.files import iter_jsonl
    from pytest_runcompare.loaders.native_fast import chunk_parser

    warnings: list[str] = []
    builder: RunBuilder | None = None
    chunks = iter_jsonl(
        path, tolerate_truncated_tail=True, warnings=warnings, fast_parse=chunk_parser()
    )
    for records, lines in chunks:
        if builder is None:
            first = records[0] if records else None
            if isinstance(first, dict) and set(first) == {"run"}:
                if not header_allowed:
                    raise RunFormatError(
                        "a 'run' header line belongs in a single .jsonl file; in a run "
                        "directory the metadata goes in run.yaml",
                        path=path,
                        line=lines[0],
                    )
                meta = parse_meta(first["run"], path=str(path))
                meta = with_curves(meta, first["run"], path=path)
                records, lines = records[1:], lines[1:]
            builder = RunBuilder(path=str(path), definitions=meta.metric_definitions)
        builder.add(records, lines)
    if builder is None:
        builder = RunBuilder(path=str(path))
    if warnings and meta.complete:
        # A truncated tail in a run that says it is complete is corruption, not a crash.
        # The warning reads "{path}:{line}: dropped a truncated last line (...)".
        line, _, text = warnings[0][len(str(path)) + 1 :].partition(": ")
        raise RunFormatError(
            text.replace("dropped a truncated", "truncated"),
            path=path,
            line=int(line) if line.isdigit() else None,
            hint="the file is cut off; re-run the evaluation or restore the file",
        )
    if not meta.complete:
        warnings.insert(
            0,
            f"{meta.source or path}: the run is marked incomplete (its writer did not "
            "finish); comparing the datapoints written so far",
        )
    builder.warnings.extend(warnings)
    return builder.finish(replace(meta, source=meta.source or str(path)))


def read_document(path: Path, *, yaml: bool) -> Run:
    """A single ``.json``/``.yaml`` document with ``run`` and ``datapoints`` keys."""
    from pytest_runcompare.loaders.files import (
        parse_json,
        parse_yaml,
        paused_gc,
        read_text,
    )

    with paused_gc():
        text = read_text(path)
        doc = parse_yaml(text, path) if yaml else parse_json(text, path)
        return _run_from_document(doc, path)


def _run_from_document(doc: Any, path: Path) -> Run:
    from dataclasses import replace

    from pytest_runcompare.building import build_run

    if isinstance(doc, list):
        return build_run(doc, {}, path=str(path))
    if not isinstance(doc, dict) or "datapoints" not in doc:
        keys = sorted(map(str, doc)) if isinstance(doc, dict) else type(doc).__name__
        raise RunFormatError(
            f"not a run: expected a mapping with 'run' and 'datapoints' keys, found {keys}",
            path=path,
            hint="no reader for another tool's format recognised this file either; pass "
            "format: <reader> in the gates file if it comes from one",
        )
    unknown = set(doc) - {"run", "datapoints"}
    if unknown:
        raise RunFormatError(
            f"unknown top-level key(s) {sorted(map(str, unknown))}",
            path=path,
            hint="a run document has only 'run' (metadata) and 'datapoints'",
        )
    datapoints = doc["datapoints"]
    if not isinstance(datapoints, list):
        raise RunFormatError(
            f"must be a list of datapoints, got {type(datapoints).__name__}",
            path=path,
            field="datapoints",
        )
    run = build_run(datapoints, doc.get("run"), path=str(path))
    meta = with_curves(run.meta, doc.get("run"), path=path)
    return run if meta is run.meta else replace(run, meta=meta)


#: A CSV number is a plain ASCII decimal: ``float()`` would also take ``1_000``,
#: Arabic-Indic digits (``٣``) and surrounding spaces, which no writer of metrics means.
_CSV_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_CSV_FLOAT = re.compile(
    r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII
)
_CSV_SPECIAL = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


class _LongCsvNumber(ValueError):
    """A CSV number with more digits than ``NUMBER_DIGITS``."""


def _csv_value(text: str, digits: int) -> Any:
    if text == "":
        return None
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if _CSV_INT.fullmatch(text):
        if len(text) - (text[0] in "+-") > digits:
            raise _LongCsvNumber(text)
        return int(text)
    if _CSV_FLOAT.fullmatch(text):
        return float(text)  # a float's digits are bounded by the float itself
    special = _CSV_SPECIAL.get(low)
    # Anything else is left as text: the builder names it as a bad metric value.
    return text if special is None else special


def read_csv(path: Path) -> Run:
    """A ``.csv`` file: ``id``, metric columns, optional output/input/expected/slices."""
    from pytest_runcompare.loaders.files import paused_gc

    with paused_gc():
        return _read_csv(path)


def _read_csv(path: Path) -> Run:
    from pytest_runcompare import limits
    from pytest_runcompare.building import RunBuilder, parse_meta
    from pytest_runcompare.loaders.files import read_text

    text = read_text(path)
    if "\x00" in text:
        raise RunFormatError(
            "a field holds a NUL byte (\\x00), which is not text",
            path=path,
            line=text.count("\n", 0, text.index("\x00")) + 1,
            hint="a CSV run is plain UTF-8 text; was a binary file renamed to .csv?",
        )
    digits = limits.NUMBER_DIGITS.value
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RunFormatError("the CSV file is empty", path=path) from None
    except csv.Error as error:
        raise RunFormatError(f"malformed CSV: {error}", path=path, line=1) from None
    header = [h.strip() for h in header]
    if "id" not in header:
        raise RunFormatError(
            f"the CSV header has no 'id' column (found {header})",
            path=path,
            line=1,
            hint="the first row names the columns: id, metric columns, optional output",
        )
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise RunFormatError(f"duplicate column(s) {dupes}", path=path, line=1)
    metric_cols = [(k, h) for k, h in enumerate(header) if h not in _CSV_RESERVED]
    other_cols = [(k, h) for k, h in enumerate(header) if h in _CSV_RESERVED]
    builder = RunBuilder(path=str(path))
    records: list[dict[str, Any]] = []
    lines: list[int | None] = []
    width = len(header)
    try:
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != width:
                raise RunFormatError(
                    f"row has {len(row)} fields, the header has {width}",
                    path=path,
                    line=line,
                )
            try:
                metrics = {h: _csv_value(row[k], digits) for k, h in metric_cols}
            except _LongCsvNumber as error:
                column = next(h for k, h in metric_cols if row[k] == error.args[0])
                raise RunFormatError(
                    limits.NUMBER_DIGITS.exceeded(
                        f"an integer of {len(error.args[0].lstrip('+-')):,} digits"
                    ),
                    path=path,
                    line=line,
                    field=f"metrics.{column}",
                ) from None
            record: dict[str, Any] = {"metrics": metrics}
            for k, h in other_cols:
                value = row[k]
                if h == "slices":
                    record[h] = [t for t in value.split(";") if t] if value else None
                elif value != "" or h == "output":
                    record[h] = value
            records.append(record)
            lines.append(line)
            if len(records) >= 20_000:
                builder.add(records, lines)
                records, lines = [], []
    except csv.Error as error:
        raise RunFormatError(
            f"malformed CSV: {error}", path=path, line=reader.line_num
        ) from None
    builder.add(records, lines)
    return builder.finish(parse_meta({}, path=str(path)))
