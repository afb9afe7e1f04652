"""What the engine path's HTML and Markdown reports show besides the judgement.

A few SQL queries over the pairing join ``j`` (:mod:`.sql`): each metric's
aggregates and per-datapoint counts overall and per slice tag (the in-memory
report's ``MetricDelta``), the run sizes, and for the top changed datapoints per
metric (:attr:`EngineComparison.changed`) every metric's values and, when the runs
have an ``output`` column, their outputs, inputs and expected outputs. Nothing
here judges: the gates are the judgement's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_runcompare.aggregates import quantile_of
from pytest_runcompare.engine import sql

if TYPE_CHECKING:
    from pytest_runcompare.comparison import LineageEntry, MetricDelta
    from pytest_runcompare.engine.source import EngineSource
    from pytest_runcompare.engine.view import EngineComparison

__all__ = [
    "ChangedRow",
    "ReportFacts",
    "distributions",
    "report_facts",
    "worst_datapoints",
]

#: The text columns of a run fetched for the top changed datapoints.
TEXT_COLUMNS = ("output", "input", "expected")


@dataclass(frozen=True, slots=True)
class ChangedRow:
    """One of the top changed datapoints: every metric's values, and its texts."""

    id: str
    tags: tuple[str, ...]
    baseline: Mapping[str, float | None]
    candidate: Mapping[str, float | None]
    #: ``output`` / ``input`` / ``expected`` of each run, where the run has them
    old: Mapping[str, Any] = field(default_factory=dict)
    new: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """The runs as the engine reports see them (see the module docstring)."""

    baseline_name: str
    candidate_name: str
    n_baseline: int
    n_candidate: int
    n_common: int
    n_new_only: int
    n_old_only: int
    metric_deltas: Mapping[str, MetricDelta]
    slice_deltas: Mapping[str, Mapping[str, MetricDelta]]
    lineage: tuple[LineageEntry, ...]
    #: the top changed datapoints of every metric, in order of first listing
    rows: tuple[ChangedRow, ...]
    #: per metric, the ids of its top changed datapoints (largest change first)
    top: Mapping[str, tuple[str, ...]]
    #: which of ``TEXT_COLUMNS`` the runs have (either run)
    texts: tuple[str, ...]
    top_k: int
    directions: Mapping[str, bool]
    #: per metric, whether every finite value of either run is 0 or 1
    binary: Mapping[str, bool]
    #: per metric, its histograms (:func:`distributions`)
    distributions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def metric_names(self) -> list[str]:
        """Per-datapoint metrics, sorted."""
        return sorted(self.metric_deltas)

    @property
    def coverage(self) -> float:
        """Share of baseline datapoints the candidate also has (1.0 for none)."""
        return 1.0 if self.n_baseline == 0 else self.n_common / self.n_baseline


def _num(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _aggregate_sql(dialect: sql.Dialect, name: str, x: str) -> str:
    """The SQL aggregate of the in-memory ``aggregates.aggregate`` (numpy's rules)."""
    if name == "mean":
        return f"avg({x})"
    if name == "sum":
        return f"sum({x})"
    if name == "rate":
        return f"avg(CASE WHEN {x} <> 0 THEN 1.0 WHEN {x} = 0 THEN 0.0 END)"
    q = quantile_of(name)
    if q is None:
        raise ValueError(f"unknown aggregate {name!r}")
    # numpy's default quantile interpolates linearly, as these do
    if dialect.name == "spark":
        return f"percentile({x}, {q!r})"
    return f"quantile_cont({x}, {q!r})"


def _delta_query(comparison: EngineComparison, with_tags: bool) -> str:
    engine = comparison.engine
    q = engine.q
    cols = ["scope"]
    for i, metric in enumerate(engine.metrics):
        cond = sql.conditions(engine.dialect, i, q)
        b, c, p = cond["b"], cond["c"], cond["P"]
        name = comparison.config.aggregates.get(metric, "mean")
        same = f"abs({c} - {b}) <= 1e-12 + 1e-12 * abs({b})"
        cols += [
            f"count_if({p}) AS {q}n_{i}{q}",
            f"{_aggregate_sql(engine.dialect, name, f'CASE WHEN {p} THEN {b} END')}"
            f" AS {q}ab_{i}{q}",
            f"{_aggregate_sql(engine.dialect, name, f'CASE WHEN {p} THEN {c} END')}"
            f" AS {q}ac_{i}{q}",
            f"count_if({p} AND {same}) AS {q}same_{i}{q}",
            f"count_if({p} AND NOT ({same}) AND {c} > {b}) AS {q}up_{i}{q}",
            f"count_if({p} AND NOT ({same}) AND {c} < {b}) AS {q}down_{i}{q}",
            f"count_if({cond['M']}) AS {q}miss_{i}{q}",
            f"count_if(inb AND {cond['fb']}) + count_if(inc AND {cond['fc']})"
            f" AS {q}seen_{i}{q}",
            f"count_if(inb AND {cond['fb']} AND {b} <> 0 AND {b} <> 1) + "
            f"count_if(inc AND {cond['fc']} AND {c} <> 0 AND {c} <> 1)"
            f" AS {q}nonbin_{i}{q}",
            f"count_if(inc AND {c} IS NOT NULL AND NOT (inb AND {b} IS NOT NULL))"
            f" AS {q}missb_{i}{q}",
        ]
    source = sql.scoped(engine.dialect, (), with_tags)
    return f"SELECT {', '.join(cols)} FROM ({source}) s GROUP BY scope"


def _deltas(
    comparison: EngineComparison,
) -> tuple[dict[str, MetricDelta], dict[str, dict[str, MetricDelta]], dict[str, bool]]:
    """Every metric's delta overall and per slice tag, as ``compare_runs`` makes them.

    And which metrics are binary (every finite value of either run 0 or 1).
    """
    import numpy as np

    from pytest_runcompare.comparison import MetricDelta

    engine = comparison.engine
    with_tags = engine.baseline.has_tags or engine.candidate.has_tags
    rows = {r["scope"]: r for r in engine.rows(_delta_query(comparison, with_tags))}
    no_ids = np.array([], dtype=object)
    no_positions = np.array([], dtype=np.intp)
    metas = (comparison.baseline_meta, comparison.candidate_meta)

    def delta(row: Mapping[str, Any], i: int, scope: str | None) -> MetricDelta:
        metric = engine.metrics[i]
        hib = comparison.directions.get(metric, True)
        n = int(row[f"n_{i}"] or 0)
        old, new = _num(row[f"ab_{i}"]), _num(row[f"ac_{i}"])
        if n == 0 and scope is None:
            old, new = (_num(meta.metrics.get(metric)) for meta in metas)
        elif n == 0:
            old = new = None
        up, down = int(row[f"up_{i}"] or 0), int(row[f"down_{i}"] or 0)
        change = None if old is None or new is None else new - old
        return MetricDelta(
            name=metric,
            aggregate=comparison.config.aggregates.get(metric, "mean"),
            higher_is_better=hib,
            direction_assumed=metric in comparison.assumed_directions,
            old_aggregate=old,
            new_aggregate=new,
            delta=change,
            relative_delta=None if change is None or not old else change / abs(old),
            improved_count=up if hib else down,
            degraded_count=down if hib else up,
            unchanged_count=int(row[f"same_{i}"] or 0),
            id_source=no_ids,
            improved_positions=no_positions,
            degraded_positions=no_positions,
            n_paired=n,
            n_missing_in_candidate=int(row[f"miss_{i}"] or 0),
            n_missing_in_baseline=int(row[f"missb_{i}"] or 0),
            in_baseline=metric in engine.baseline.metrics,
            in_candidate=metric in engine.candidate.metrics,
            slice=scope,
        )

    overall = rows.get(None)
    metric_deltas = (
        {}
        if overall is None
        else {m: delta(overall, i, None) for i, m in enumerate(engine.metrics)}
    )
    slices: dict[str, dict[str, MetricDelta]] = {}
    for tag in sorted(t for t in rows if t is not None):
        row = rows[tag]
        slices[tag] = {m: delta(row, i, tag) for i, m in enumerate(engine.metrics)}
    binary = {
        m: overall is not None
        and int(overall[f"seen_{i}"] or 0) > 0
        and int(overall[f"nonbin_{i}"] or 0) == 0
        for i, m in enumerate(engine.metrics)
    }
    return metric_deltas, slices, binary


def _sizes(comparison: EngineComparison) -> dict[str, int]:
    query = (
        "SELECT count_if(inb) AS nb, count_if(inc) AS nc, "
        "count_if(inb AND inc) AS common, count_if(inc AND NOT inb) AS new_only, "
        "count_if(inb AND NOT inc) AS old_only FROM j"
    )
    row = comparison.engine.rows(query)[0]
    return {k: int(v or 0) for k, v in row.items()}


def _values(
    comparison: EngineComparison, ids: Sequence[str]
) -> dict[
    str, tuple[tuple[str, ...], dict[str, float | None], dict[str, float | None]]
]:
    """Every metric's two values and the tags of the datapoints ``ids``."""
    if not ids:
        return {}
    engine = comparison.engine
    q = engine.q
    cols = ", ".join(f"{q}b_{i}{q}, {q}c_{i}{q}" for i in range(len(engine.metrics)))
    listed = ", ".join(sql.literal(i) for i in ids)
    query = (
        f"SELECT id, tags{', ' + cols if cols else ''} FROM j WHERE id IN ({listed})"
    )
    out = {}
    for r in engine.rows(query):
        out[str(r["id"])] = (
            tuple(sorted(str(t) for t in (r["tags"] or ()))),
            {m: _num(r[f"b_{i}"]) for i, m in enumerate(engine.metrics)},
            {m: _num(r[f"c_{i}"]) for i, m in enumerate(engine.metrics)},
        )
    return out


def _texts(
    comparison: EngineComparison, src: EngineSource, ids: Sequence[str]
) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """The text columns one run has, and their values for ``ids`` (read by the engine)."""
    if comparison.engine_name == "spark":
        return _spark_texts(src, ids)
    from pytest_runcompare.engine.duckdb_engine import _reader

    reader = _reader(src)
    engine = comparison.engine
    names = {
        str(r["column_name"]) for r in engine.rows(f"DESCRIBE SELECT * FROM {reader}")
    }
    have = tuple(c for c in TEXT_COLUMNS if c in names)
    if not have or not ids:
        return have, {}
    listed = ", ".join(sql.literal(i) for i in ids)
    where = f"CAST(id AS VARCHAR) IN ({listed})"
    if src.where:
        where += f" AND ({src.where})"
    cols = ", ".join(sql.quote(c) for c in have)
    query = f"SELECT CAST(id AS VARCHAR) AS id, {cols} FROM {reader} WHERE {where}"
    out: dict[str, dict[str, Any]] = {}
    for r in engine.rows(query):
        out.setdefault(str(r["id"]), {c: r[c] for c in have})
    return have, out


def _spark_texts(
    src: EngineSource, ids: Sequence[str]
) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    from pyspark.sql import functions as F

    from pytest_runcompare.engine.spark_engine import _frame, spark_session

    df = _frame(spark_session(), src)
    have = tuple(c for c in TEXT_COLUMNS if c in df.columns)
    if not have or not ids:
        return have, {}
    if src.where:
        df = df.where(src.where)
    df = df.where(F.col("id").cast("string").isin(list(ids)))
    out: dict[str, dict[str, Any]] = {}
    for r in df.select(F.col("id").cast("string").alias("id"), *have).collect():
        row = r.asDict(recursive=True)
        out.setdefault(str(row["id"]), {c: row[c] for c in have})
    return have, out


def report_facts(comparison: EngineComparison, top_k: int) -> ReportFacts:
    """Everything the engine reports show of the runs (a few queries; see above)."""
    from pytest_runcompare.comparison import lineage_diff

    metric_deltas, slice_deltas, binary = _deltas(comparison)
    sizes = _sizes(comparison)
    top = {
        m: tuple(c.id for c in changed)
        for m, changed in sorted(comparison.changed.items())
    }
    ids = list(dict.fromkeys(i for listed in top.values() for i in listed))
    values = _values(comparison, ids)
    texts: tuple[str, ...] = ()
    old_texts: dict[str, dict[str, Any]] = {}
    new_texts: dict[str, dict[str, Any]] = {}
    sources = comparison.sources
    if sources is not None:
        have_b, old_texts = _texts(comparison, sources[0], ids)
        have_c, new_texts = _texts(comparison, sources[1], ids)
        texts = tuple(c for c in TEXT_COLUMNS if c in have_b or c in have_c)
    rows = tuple(
        ChangedRow(
            id=i,
            tags=values[i][0],
            baseline=values[i][1],
            candidate=values[i][2],
            old=old_texts.get(i, {}),
            new=new_texts.get(i, {}),
        )
        for i in ids
        if i in values
    )
    return ReportFacts(
        baseline_name=comparison.baseline.name,
        candidate_name=comparison.candidate.name,
        n_baseline=sizes["nb"],
        n_candidate=sizes["nc"],
        n_common=sizes["common"],
        n_new_only=sizes["new_only"],
        n_old_only=sizes["old_only"],
        metric_deltas=metric_deltas,
        slice_deltas=slice_deltas,
        lineage=lineage_diff(comparison.baseline_meta, comparison.candidate_meta),
        rows=rows,
        top=top,
        texts=texts,
        top_k=top_k,
        directions=dict(comparison.directions),
        binary=binary,
        distributions=distributions(comparison),
    )


def worst_datapoints(
    comparison: EngineComparison, metric: str, slice: str | None, k: int
) -> list[tuple[str, float, float, Any, Any]]:
    """The ``k`` paired datapoints whose ``metric`` regressed most, with their outputs.

    As the in-memory summary picks them (``render.markdown.worst_datapoints``): the
    most negative oriented change first, ties in the baseline's order; only those
    that got worse.
    """
    engine = comparison.engine
    if metric not in engine.metrics:
        return []
    i = engine.metrics.index(metric)
    q = engine.q
    cond = sql.conditions(engine.dialect, i, q)
    sign = "" if comparison.directions.get(metric, True) else "-"
    d = f"{sign}({cond['c']} - {cond['b']})"
    where = f"{cond['P']} AND {d} < 0"
    if slice is not None:
        tag = sql.literal(slice)
        contains = (
            "array_contains" if engine.dialect.name == "spark" else "list_contains"
        )
        where += f" AND {contains}(j.tags, {tag})"
    query = (
        f"SELECT j.id AS id, {cond['b']} AS b, {cond['c']} AS c FROM j "
        f"JOIN b_run o ON o.id = j.id WHERE {where} "
        f"ORDER BY {d}, o.ord_file, o.ord LIMIT {int(k)}"
    )
    found = [(str(r["id"]), float(r["b"]), float(r["c"])) for r in engine.rows(query)]
    ids = [f[0] for f in found]
    old: dict[str, dict[str, Any]] = {}
    new: dict[str, dict[str, Any]] = {}
    if comparison.sources is not None and ids:
        old = _texts(comparison, comparison.sources[0], ids)[1]
        new = _texts(comparison, comparison.sources[1], ids)[1]
    return [
        (key, b, c, old.get(key, {}).get("output"), new.get(key, {}).get("output"))
        for key, b, c in found
    ]


#: Distinct values below which a chart may draw one bar per value (model._DISCRETE).
_EXACT_BELOW = 64


def _integer_like(x: str) -> str:
    """SQL: ``x`` is not close to an integer (numpy.allclose's default tolerances)."""
    return f"abs({x} - round({x})) > 1e-8 + 1e-5 * abs(round({x}))"


def _bins_sql(x: str, edges: Sequence[float]) -> str:
    """SQL: the bin of ``x`` as ``numpy.histogram`` counts it (the last edge closed)."""
    arms = " ".join(f"WHEN {x} < {e!r} THEN {k}" for k, e in enumerate(edges[1:-1]))
    return f"CASE {arms} ELSE {len(edges) - 2} END" if arms else "0"


def distributions(comparison: EngineComparison) -> dict[str, dict[str, Any]]:
    """Each metric's change and value histograms, binned in SQL as in memory.

    The bins, ranges, medians and means of ``render.model.distribution`` over every
    paired datapoint: the finite pairs are kept once (a temporary table in DuckDB,
    which spills beyond its memory limit; a view in Spark, over its persisted runs),
    then one query for the ranges and one per chart (a grouped count over its bins).
    """
    from pytest_runcompare.render import model

    engine = comparison.engine
    q, dialect = engine.q, engine.dialect
    median = (
        "percentile({x}, 0.5)" if dialect.name == "spark" else "quantile_cont({x}, 0.5)"
    )
    if not engine.metrics:
        return {}
    kept = ", ".join(
        f"CASE WHEN {cond['P']} THEN {cond['b']} END AS {cond['b']}, "
        f"CASE WHEN {cond['P']} THEN {cond['c']} END AS {cond['c']}"
        for cond in (sql.conditions(dialect, i, q) for i in range(len(engine.metrics)))
    )
    pairs = engine.register(
        "rc_report_pairs", f"SELECT {kept} FROM j WHERE inb AND inc"
    )
    exprs: dict[int, dict[str, str]] = {}
    cols = []
    for i in range(len(engine.metrics)):
        cond = sql.conditions(dialect, i, q)
        b, c = cond["b"], cond["c"]
        p = f"{b} IS NOT NULL"  # both are, or neither: finite pairs only
        same = f"abs({c} - {b}) <= 1e-12 + 1e-12 * abs({b})"
        moved = f"{p} AND NOT ({same})"
        d = f"({c} - {b})"
        exprs[i] = {"p": p, "moved": moved, "d": d, "b": b, "c": c}
        for name, expr in {
            "n": f"count_if({p})",
            "same": f"count_if({p} AND {same})",
            "moved": f"count_if({moved})",
            "dlo": f"min(CASE WHEN {moved} THEN {d} END)",
            "dhi": f"max(CASE WHEN {moved} THEN {d} END)",
            "ddist": f"approx_count_distinct(CASE WHEN {moved} THEN {d} END)",
            "dfrac": f"count_if({moved} AND {_integer_like(d)})",
            "dmed": median.format(x=f"CASE WHEN {moved} THEN {d} END"),
            "down": f"count_if({moved} AND {c} < {b})",
            "blo": f"min(CASE WHEN {p} THEN {b} END)",
            "bhi": f"max(CASE WHEN {p} THEN {b} END)",
            "clo": f"min(CASE WHEN {p} THEN {c} END)",
            "chi": f"max(CASE WHEN {p} THEN {c} END)",
            "vdist": f"approx_count_distinct(CASE WHEN {p} THEN {b} END) + "
            f"approx_count_distinct(CASE WHEN {p} THEN {c} END)",
            "vfrac": f"count_if({p} AND ({_integer_like(b)} OR {_integer_like(c)}))",
            "mb": f"avg(CASE WHEN {p} THEN {b} END)",
            "mc": f"avg(CASE WHEN {p} THEN {c} END)",
        }.items():
            cols.append(f"{expr} AS {q}{name}_{i}{q}")
    if not cols:
        return {}
    one = engine.rows(f"SELECT {', '.join(cols)} FROM {pairs}")[0]

    def counts(
        where: str, x: str, edges: Sequence[float] | None
    ) -> list[tuple[float, float, int]]:
        if edges is None:  # one bar per distinct value
            found = engine.rows(
                f"SELECT {x} AS v, count(*) AS k FROM {pairs} WHERE {where} GROUP BY {x} ORDER BY v"
            )
            return [(float(r["v"]), float(r["v"]), int(r["k"])) for r in found]
        # numpy.histogram leaves out values beyond the outer edges (lo + 30 * width
        # may round below the maximum): so does this
        inside = f"{where} AND {x} >= {edges[0]!r} AND {x} <= {edges[-1]!r}"
        binned = engine.rows(
            f"SELECT {_bins_sql(x, edges)} AS bin, count(*) AS k FROM {pairs} WHERE {inside} "
            "GROUP BY 1 ORDER BY 1"
        )
        return [
            (edges[int(r["bin"])], edges[int(r["bin"]) + 1], int(r["k"]))
            for r in binned
        ]

    def distinct(where: str, xs: Sequence[str]) -> int:
        arms = " UNION ALL ".join(
            f"SELECT {x} AS v FROM {pairs} WHERE {where}" for x in xs
        )
        query = f"SELECT count(DISTINCT v) AS n FROM ({arms}) u"
        return int(engine.rows(query)[0]["n"])

    def edges_of(
        lo: float,
        hi: float,
        integer: bool,
        few: bool,
        where: str,
        xs: Sequence[str],
        zero_edge: bool,
    ) -> list[float] | None:
        # model._edges: one bar per value for few integers (or a single value)
        if lo == hi or (integer and few and distinct(where, xs) <= model._DISCRETE):
            return None
        width = (hi - lo) / model._BINS
        if zero_edge and lo < 0 < hi:
            first, last = math.floor(lo / width), math.ceil(hi / width)
            return [k * width for k in range(first, last + 1)]
        return [lo + k * width for k in range(model._BINS + 1)]

    out: dict[str, dict[str, Any]] = {}
    for i, metric in enumerate(engine.metrics):
        e = exprs[i]
        hib = comparison.directions.get(metric, True)
        n = int(one[f"n_{i}"] or 0)
        n_moved = int(one[f"moved_{i}"] or 0)
        change = None
        if n_moved:
            lo, hi = float(one[f"dlo_{i}"]), float(one[f"dhi_{i}"])
            edges = edges_of(
                lo,
                hi,
                not int(one[f"dfrac_{i}"] or 0),
                int(one[f"ddist_{i}"] or 0) <= _EXACT_BELOW,
                e["moved"],
                [e["d"]],
                True,
            )
            down = int(one[f"down_{i}"] or 0)
            change = model.Histogram(
                bins=counts(e["moved"], e["d"], edges),
                lo=lo,
                hi=hi,
                worse=down if hib else n_moved - down,
                median=float(one[f"dmed_{i}"]),
            )
        spread = None
        if n:
            lo = min(float(one[f"blo_{i}"]), float(one[f"clo_{i}"]))
            hi = max(float(one[f"bhi_{i}"]), float(one[f"chi_{i}"]))
            edges = edges_of(
                lo,
                hi,
                not int(one[f"vfrac_{i}"] or 0),
                int(one[f"vdist_{i}"] or 0) <= _EXACT_BELOW,
                e["p"],
                [e["b"], e["c"]],
                False,
            )
            spread = model.Spread(
                old=counts(e["p"], e["b"], edges),
                new=counts(e["p"], e["c"], edges),
                lo=lo,
                hi=hi,
                mean_old=float(one[f"mb_{i}"]),
                mean_new=float(one[f"mc_{i}"]),
            )
        out[metric] = {
            "n": n,
            "unchanged": int(one[f"same_{i}"] or 0),
            "hib": hib,
            "change": change,
            "spread": spread,
        }
    return out
