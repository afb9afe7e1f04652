"""Where an engine reads a run: files (Parquet, native JSONL, CSV), or a table.

Given in the gates file as ``baseline: {engine: duckdb, path: "runs/*.parquet"}`` or
``candidate: {engine: spark, table: evals.runs, where: "run_id = 'abc'"}``, or on the
command line with ``--engine``. :func:`engine_source` validates those keys.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_runcompare.errors import ConfigError

__all__ = ["ENGINE_KEYS", "Engine", "EngineSource", "engine_source", "reader_kind"]


class Engine(StrEnum):
    """The engines a run can be compared in."""

    DUCKDB = "duckdb"
    SPARK = "spark"


#: The keys of an engine run location (besides ``path``).
ENGINE_KEYS = ("engine", "table", "where", "format", "memory_limit", "temp_directory")
FORMATS = ("parquet", "jsonl", "csv")


@dataclass(frozen=True, slots=True)
class EngineSource:
    """One run for an engine: a path or glob, or a table, and an optional filter."""

    engine: Engine
    path: str | None = None
    table: str | None = None
    where: str | None = None
    format: str | None = None
    memory_limit: str | None = None
    temp_directory: str | None = None

    def describe(self) -> str:
        """``'runs/*.parquet'`` or ``table evals.runs where run_id = 'abc'``."""
        what = f"table {self.table}" if self.table else repr(self.path)
        return what + (f" where {self.where}" if self.where else "")


def engine_source(
    location: str | None, options: Mapping[str, Any], *, key: str = "run"
) -> EngineSource:
    """An :class:`EngineSource` from a run location's path and options.

    Raises :class:`ConfigError` naming ``key.<option>`` for an unknown engine or
    option, a value of the wrong type, or neither ``path`` nor ``table``.
    """
    unknown = sorted(set(options) - set(ENGINE_KEYS))
    if unknown:
        raise ConfigError(
            f"{key}: unknown engine option(s) {', '.join(map(repr, unknown))}; "
            f"accepted: path, {', '.join(ENGINE_KEYS)}"
        )
    name = options.get("engine", "duckdb")
    if name not in tuple(Engine):
        raise ConfigError(
            f"{key}.engine: {name!r} is not an engine; accepted: "
            f"{', '.join(e.value for e in Engine)}"
        )
    values: dict[str, str | None] = {}
    for option in ("table", "where", "format", "memory_limit", "temp_directory"):
        value = options.get(option)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"{key}.{option}: must be a string, got {type(value).__name__}"
            )
        values[option] = value
    if values["format"] is not None and values["format"] not in FORMATS:
        raise ConfigError(
            f"{key}.format: {values['format']!r} is not an engine format; accepted: "
            f"{', '.join(FORMATS)}"
        )
    table = values["table"]
    if (location is None) == (table is None):
        raise ConfigError(
            f"{key}: an engine run needs exactly one of 'path' (files or a glob) and "
            "'table' (a table the engine knows), e.g. {engine: duckdb, path: "
            "'runs/candidate/*.parquet'}"
        )
    return EngineSource(
        engine=Engine(name),
        path=location,
        table=table,
        where=values["where"],
        format=values["format"],
        memory_limit=values["memory_limit"],
        temp_directory=values["temp_directory"],
    )


def _kind_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith(".csv"):
        return "csv"
    return "jsonl"


def reader_kind(src: EngineSource) -> tuple[str, list[str]]:
    """The reader (``parquet``, ``jsonl``, ``csv``) and the files of ``src``.

    A folder is read as one run: its ``datapoints.jsonl`` (a native run folder) or
    every Parquet file below it (a partitioned run).
    """
    assert src.path is not None
    path = Path(src.path)
    if "://" not in src.path and path.is_dir():
        if (path / "datapoints.jsonl").is_file():
            return "jsonl", [str(path / "datapoints.jsonl")]
        parquet = sorted(glob.glob(str(path / "**" / "*.parquet"), recursive=True))
        if parquet:
            return "parquet", parquet
        raise ConfigError(
            f"run folder {src.path!r} has neither datapoints.jsonl nor Parquet files"
        )
    if "://" not in src.path and any(ch in src.path for ch in "*?["):
        files = sorted(glob.glob(src.path, recursive=True))
        if not files:
            raise ConfigError(f"run glob {src.path!r} matches no file")
        return src.format or _kind_of(files[0]), files
    if "://" not in src.path and not path.exists():
        raise ConfigError(f"run {src.path!r} does not exist")
    return src.format or _kind_of(src.path), [src.path]


def read_meta(src: EngineSource) -> dict[str, Any] | None:
    """The run's metadata: ``run.yaml`` beside the files, or a JSONL header line."""
    if src.path is None or "://" in src.path:
        return None
    path = Path(src.path)
    folder = path if path.is_dir() else path.parent
    if any(ch in src.path for ch in "*?["):
        folder = Path(glob.escape(src.path)).parent
        while any(ch in str(folder) for ch in "*?[") and folder != folder.parent:
            folder = folder.parent
    yaml_path = folder / "run.yaml"
    if yaml_path.is_file():
        import yaml

        loaded = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else None
    try:
        kind, files = reader_kind(src)
    except ConfigError:
        return None
    if kind == "parquet" and files:  # the file's key-value metadata (parquet_layout)
        import pyarrow.parquet as pq

        from pytest_runcompare.parquet_layout import RUN_KEY

        stored = (pq.read_schema(files[0]).metadata or {}).get(RUN_KEY)
        if stored:
            loaded = json.loads(stored)
            return loaded if isinstance(loaded, dict) else None
    if kind == "jsonl" and files:
        with open(files[0], encoding="utf-8") as handle:
            first = handle.readline()
        try:
            head = json.loads(first)
        except ValueError:
            return None
        if isinstance(head, dict) and isinstance(head.get("run"), dict):
            return dict(head["run"])
    return None
