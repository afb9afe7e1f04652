"""DuckDB in-process: reads Parquet, native JSONL and CSV runs out of core.

Each run becomes a normalised view (``id``, ``grp``, ``tags``, ``m_0 … m_k``) over
``read_parquet`` / ``read_json`` / ``read_csv``; :mod:`.compute` pairs and aggregates.
``memory_limit`` and ``temp_directory`` bound memory: DuckDB spills the join to
disk beyond them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_runcompare.engine import sql
from pytest_runcompare.engine.compute import RunShape
from pytest_runcompare.engine.source import EngineSource, reader_kind
from pytest_runcompare.errors import RunCompareError

__all__ = ["DuckDBEngine"]


def _reader(src: EngineSource) -> str:
    """The DuckDB table function reading ``src``."""
    if src.table is not None:
        return src.table
    kind, paths = reader_kind(src)
    listed = "[" + ", ".join(sql.literal(p) for p in paths) + "]"
    if kind == "parquet":
        return (
            f"read_parquet({listed}, union_by_name = true, hive_partitioning = false)"
        )
    if kind == "csv":
        return f"read_csv({listed}, union_by_name = true)"
    return (
        f"read_json({listed}, format = 'newline_delimited', union_by_name = true, "
        "maximum_object_size = 67108864)"
    )


class DuckDBEngine:
    """Two runs as DuckDB views, paired by id in SQL (see :mod:`.compute`)."""

    dialect = sql.DUCKDB
    q = '"'

    def __init__(
        self,
        baseline: EngineSource,
        candidate: EngineSource,
        *,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
        threads: int | None = None,
    ) -> None:
        import duckdb

        self._con = duckdb.connect()
        if memory_limit is not None:
            self._con.execute(f"SET memory_limit = {sql.literal(memory_limit)}")
        if temp_directory is not None:
            self._con.execute(f"SET temp_directory = {sql.literal(temp_directory)}")
        if threads is not None:
            self._con.execute(f"SET threads = {int(threads)}")
        raw = {}
        shapes = {}
        for role, src in (("baseline", baseline), ("candidate", candidate)):
            raw[role] = _reader(src)
            shapes[role] = self._shape(role, src, raw[role])
        self.baseline, self.candidate = shapes["baseline"], shapes["candidate"]
        self.metrics = tuple(
            sorted(set(self.baseline.metrics) | set(self.candidate.metrics))
        )
        for role, name, src in (
            ("baseline", "b_run", baseline),
            ("candidate", "c_run", candidate),
        ):
            # text formats are parsed once into a table (DuckDB spills it to
            # temp_directory beyond memory_limit); Parquet is scanned in place
            kind = (
                "TABLE"
                if src.table is None and reader_kind(src)[0] != "parquet"
                else "VIEW"
            )
            self._con.execute(
                f"CREATE OR REPLACE TEMP {kind} {name} AS "
                + self._normalised(src, raw[role], shapes[role])
            )
        self._con.execute(
            "CREATE OR REPLACE TEMP VIEW j AS "
            + sql.joined(self.dialect, len(self.metrics))
        )
        # the text runs' order is kept in their tables (``ord``); from here on no
        # query needs insertion order, and not keeping it lets DuckDB stream
        self._con.execute("SET preserve_insertion_order = false")

    # ------------------------------------------------------------------ schema
    def _columns(self, query: str) -> dict[str, str]:
        rows = self._con.execute(f"DESCRIBE {query}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def _shape(self, role: str, src: EngineSource, reader: str) -> RunShape:
        try:
            cols = self._columns(f"SELECT * FROM {reader}")
        except Exception as exc:  # duckdb.Error: the reader names what was wrong
            raise RunCompareError(
                f"{role} run {src.describe()}: DuckDB cannot read it: {exc}"
            ) from None
        if "id" not in cols:
            raise RunCompareError(
                f"{role} run {src.describe()}: no 'id' column (columns: "
                f"{', '.join(sorted(cols)) or 'none'}); a run needs one id per datapoint"
            )
        metrics: dict[str, str] = {}
        if cols.get("metrics", "").startswith("STRUCT"):
            inner = self._columns(f"SELECT unnest(metrics) FROM {reader}")
            metrics = {name: f"metrics.{sql.quote(name)}" for name in inner}
            types = inner
        else:
            types = {}
            for name, kind in cols.items():
                if name.startswith("metrics."):
                    metrics[name[len("metrics.") :]] = sql.quote(name)
                    types[name[len("metrics.") :]] = kind
            if not metrics:  # a flat table: every numeric or boolean column
                skip = {"id", "group", "slices", "output", "input", "expected", "step"}
                for name, kind in cols.items():
                    if name in skip or name.startswith("run"):
                        continue
                    if kind in _NUMERIC or kind == "BOOLEAN":
                        metrics[name] = sql.quote(name)
                        types[name] = kind
        self._exprs = getattr(self, "_exprs", {})
        self._exprs[role] = metrics
        return RunShape(
            metrics=tuple(sorted(metrics)),
            booleans=frozenset(m for m in metrics if types.get(m) == "BOOLEAN"),
            has_groups="group" in cols,
            has_tags="slices" in cols,
        )

    def _normalised(self, src: EngineSource, reader: str, shape: RunShape) -> str:
        role = "baseline" if shape is self.baseline else "candidate"
        exprs = self._exprs[role]
        grp = (
            'CAST("group" AS VARCHAR)' if shape.has_groups else "CAST(NULL AS VARCHAR)"
        )
        tags = (
            "CAST(slices AS VARCHAR[])" if shape.has_tags else "CAST([] AS VARCHAR[])"
        )
        metrics = [
            f"CAST({exprs[m]} AS DOUBLE) AS m_{i}"
            if m in exprs
            else f"CAST(NULL AS DOUBLE) AS m_{i}"
            for i, m in enumerate(self.metrics)
        ]
        where = "id IS NOT NULL" + (f" AND ({src.where})" if src.where else "")
        # the rows' order in the files, so that a small gate judged in memory sees
        # them in the order the in-memory reader does (resampling depends on it)
        parquet = src.table is None and reader_kind(src)[0] == "parquet"
        order = (
            "file_row_number AS ord, filename AS ord_file"
            if parquet
            else "row_number() OVER () AS ord, '' AS ord_file"
        )
        return (
            f"SELECT CAST(id AS VARCHAR) AS id, {grp} AS grp, {tags} AS tags, {order}"
            + "".join(", " + m for m in metrics)
            + f" FROM {reader} WHERE {where}"
        )

    # ------------------------------------------------------------------ queries
    def rows(self, query: str) -> list[dict[str, Any]]:
        """Run ``query``; rows as mappings."""
        cur = self._con.execute(query)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def register(
        self, name: str, query: str, rows: Sequence[Mapping[str, Any]] = ()
    ) -> str:
        """A temporary table ``name`` holding ``rows`` (or the result of ``query``)."""
        if rows:
            import pyarrow as pa

            table = pa.Table.from_pylist([dict(r) for r in rows])
            self._con.register(f"{name}_arrow", table)
            query = f"SELECT * FROM {name}_arrow"
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
        return name

    def close(self) -> None:
        """Release the connection."""
        self._con.close()


_NUMERIC = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
    }
) | frozenset(f"DECIMAL({p},{s})" for p in range(1, 39) for s in range(0, 39))


def local_paths(pattern: str) -> list[str]:
    """The files a local glob or folder names (kept as given for remote URLs)."""
    if "://" in pattern:
        return [pattern]
    path = Path(pattern)
    if path.is_dir():
        return [str(p) for p in sorted(path.iterdir()) if p.is_file()]
    return [pattern]
