"""Apache Spark: the same two aggregations over runs beyond one machine.

Each run is a DataFrame (Parquet, JSON lines or CSV files, or a catalog table with
an optional ``where`` filter) normalised to ``id``, ``grp``, ``tags``, ``m_0 … m_k``
and registered as a temporary view; :mod:`.compute` then runs the SQL of
:mod:`.sql` in Spark's dialect: one shuffle join on ``id`` and two grouped
aggregations, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_runcompare.engine import sql
from pytest_runcompare.engine.compute import RunShape
from pytest_runcompare.engine.source import EngineSource, reader_kind
from pytest_runcompare.errors import ConfigError, RunCompareError

__all__ = ["SparkEngine", "spark_session"]


def spark_session(master: str | None = None) -> Any:
    """The active Spark session, or a local one (``local[2]``) when none runs."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "the Spark engine needs pyspark (and Java): pip install "
            "'pytest-runcompare[spark]'"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    return (
        SparkSession.builder.master(master or "local[2]")
        .appName("runcompare")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def _frame(spark: Any, src: EngineSource) -> Any:
    if src.table is not None:
        return spark.table(src.table)
    kind, paths = reader_kind(src)
    if kind == "parquet":
        return spark.read.parquet(*paths)
    if kind == "csv":
        return spark.read.option("header", True).option("inferSchema", True).csv(paths)
    return spark.read.json(paths)


class SparkEngine:
    """Two runs as Spark views, paired by id in Spark SQL (see :mod:`.compute`)."""

    dialect = sql.SPARK
    q = "`"

    def __init__(
        self,
        baseline: EngineSource,
        candidate: EngineSource,
        *,
        master: str | None = None,
        session: Any = None,
    ) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        self._spark = session or spark_session(master)
        frames: dict[str, Any] = {}
        exprs: dict[str, dict[str, Any]] = {}
        shapes: dict[str, RunShape] = {}
        for role, src in (("baseline", baseline), ("candidate", candidate)):
            try:
                df = _frame(self._spark, src)
            except Exception as exc:  # AnalysisException: Spark names the problem
                raise RunCompareError(
                    f"{role} run {src.describe()}: Spark cannot read it: {exc}"
                ) from None
            if "id" not in df.columns:
                raise RunCompareError(
                    f"{role} run {src.describe()}: no 'id' column (columns: "
                    f"{', '.join(sorted(df.columns)) or 'none'})"
                )
            fields = {f.name: f.dataType for f in df.schema.fields}
            metrics: dict[str, Any] = {}
            booleans: set[str] = set()
            numeric = (T.NumericType, T.BooleanType)
            if isinstance(fields.get("metrics"), T.StructType):
                for f in fields["metrics"].fields:
                    if isinstance(f.dataType, numeric):
                        metrics[f.name] = F.col("metrics").getField(f.name)
                        if isinstance(f.dataType, T.BooleanType):
                            booleans.add(f.name)
            else:
                dotted = {n: t for n, t in fields.items() if n.startswith("metrics.")}
                skip = {"id", "group", "slices", "output", "input", "expected", "step"}
                chosen = dotted or {n: t for n, t in fields.items() if n not in skip}
                for name, kind in chosen.items():
                    if isinstance(kind, numeric):
                        short = name[len("metrics.") :] if dotted else name
                        metrics[short] = F.col(f"`{name}`")
                        if isinstance(kind, T.BooleanType):
                            booleans.add(short)
            # the rows' order in the files (see DuckDBEngine._normalised)
            # (Spark packs files into partitions by size, so the file name first)
            df = df.withColumn("__file", F.input_file_name()).withColumn(
                "__ord", F.monotonically_increasing_id()
            )
            if src.where:
                df = df.where(src.where)
            frames[role] = df.where(F.col("id").isNotNull())
            exprs[role] = metrics
            shapes[role] = RunShape(
                metrics=tuple(sorted(metrics)),
                booleans=frozenset(booleans),
                has_groups="group" in fields,
                has_tags="slices" in fields,
            )
        self.baseline, self.candidate = shapes["baseline"], shapes["candidate"]
        self.metrics = tuple(
            sorted(set(self.baseline.metrics) | set(self.candidate.metrics))
        )
        for role, view in (("baseline", "b_run"), ("candidate", "c_run")):
            shape, df = shapes[role], frames[role]
            cols = [
                F.col("id").cast("string").alias("id"),
                (
                    F.col("group").cast("string")
                    if shape.has_groups
                    else F.lit(None).cast("string")
                ).alias("grp"),
                (
                    F.col("slices").cast("array<string>")
                    if shape.has_tags
                    else F.array().cast("array<string>")
                ).alias("tags"),
                F.col("__file").alias("ord_file"),
                F.col("__ord").alias("ord"),
            ]
            for i, m in enumerate(self.metrics):
                expr = exprs[role].get(m)
                value = F.lit(None) if expr is None else expr
                cols.append(value.cast("double").alias(f"m_{i}"))
            # kept (memory, then disk) for the few passes that follow
            df.select(*cols).persist().createOrReplaceTempView(view)
        self._spark.sql(
            sql.joined(self.dialect, len(self.metrics), self.q)
        ).createOrReplaceTempView("j")

    def rows(self, query: str) -> list[dict[str, Any]]:
        """Run ``query``; rows as mappings."""
        return [r.asDict() for r in self._spark.sql(query).collect()]

    def register(
        self, name: str, query: str, rows: Sequence[Mapping[str, Any]] = ()
    ) -> str:
        """A temporary view ``name`` of ``rows`` (or of ``query``)."""
        from pyspark.sql import types as T

        if rows:
            keys = list(rows[0])
            schema = T.StructType(
                [
                    T.StructField(
                        k, T.StringType() if k == "scope" else T.DoubleType(), True
                    )
                    for k in keys
                ]
            )
            data = [
                tuple(r[k] if k == "scope" else float(r[k]) for k in keys) for r in rows
            ]
            self._spark.createDataFrame(data, schema).createOrReplaceTempView(name)
        else:
            self._spark.sql(query).createOrReplaceTempView(name)
        return name

    def close(self) -> None:
        """Nothing to release: the session is shared."""
