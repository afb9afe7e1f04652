"""The statistics of every gate scope from two SQL passes, for any :class:`SqlEngine`.

An engine registers two normalised views, ``b_run`` and ``c_run`` (``id``, ``grp``,
``tags``, ``m_0 … m_k``), and answers queries; this module builds the queries
(:mod:`.sql`) and turns their rows into :class:`~.summary.GateStats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pytest_runcompare.engine import sql
from pytest_runcompare.engine.summary import Changed, GateStats, PairMoments, Scope
from pytest_runcompare.stats.binary import PairedTable

__all__ = ["RunShape", "SqlEngine", "summarize"]

#: Ids shown in a fail-closed reason (as ``judge.prepare.preview`` shows).
PREVIEW = 3


@dataclass(frozen=True, slots=True)
class RunShape:
    """What the engine found in one run: its metric names and which are boolean."""

    metrics: tuple[str, ...]
    booleans: frozenset[str]
    has_groups: bool
    has_tags: bool


class SqlEngine(Protocol):
    """What :func:`summarize` needs of an engine."""

    dialect: sql.Dialect
    #: the identifier quote of the dialect
    q: str
    metrics: tuple[str, ...]
    baseline: RunShape
    candidate: RunShape

    def rows(self, query: str) -> list[dict[str, Any]]:
        """Run ``query`` and return its rows as mappings."""
        ...

    def register(
        self, name: str, query: str, rows: Sequence[Mapping[str, Any]] = ()
    ) -> str:
        """A temporary view ``name`` of ``query``, or of ``rows`` when given."""
        ...


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _previews(
    engine: SqlEngine,
    source: str,
    wanted: Mapping[str, str],
) -> dict[tuple[str | None, str], tuple[str, ...]]:
    """The first ids (sorted) per scope of each condition in ``wanted``, in one query."""
    if not wanted:
        return {}
    arms = " UNION ALL ".join(
        f"SELECT scope, {sql.literal(kind)} AS kind, id FROM ({source}) s WHERE {cond}"
        for kind, cond in wanted.items()
    )
    out: dict[tuple[str | None, str], list[str]] = {}
    first = engine.dialect.first_ids
    if first:  # one scan, an aggregate keeping k ids per kind: no sort, no union
        kinds = list(wanted)
        cols = ", ".join(
            first.format(x=f"CASE WHEN {wanted[k]} THEN id END", k=PREVIEW + 1)
            + f" AS {engine.q}{k}{engine.q}"
            for k in kinds
        )
        for r in engine.rows(f"SELECT scope, {cols} FROM ({source}) s GROUP BY scope"):
            for k in kinds:
                if r[k]:
                    out[r["scope"], k] = sorted(str(i) for i in r[k])
        return {key: tuple(ids) for key, ids in out.items()}
    query = (
        "SELECT scope, kind, id FROM (SELECT scope, kind, id, row_number() OVER "
        f"(PARTITION BY scope, kind ORDER BY id) AS rn FROM ({arms}) a) r "
        f"WHERE rn <= {PREVIEW + 1} ORDER BY scope, kind, id"
    )
    for r in engine.rows(query):
        out.setdefault((r["scope"], str(r["kind"])), []).append(str(r["id"]))
    return {key: tuple(ids) for key, ids in out.items()}


def _conditions_with_rows(
    engine: SqlEngine, first: Mapping[str | None, Mapping[str, Any]], k: int
) -> dict[str, str]:
    """The preview conditions of metrics that have such rows in some scope."""
    wanted: dict[str, str] = {}
    for i in range(k):
        cond = sql.conditions(engine.dialect, i, engine.q)
        kinds = {
            "nan": f"{cond['both']} AND NOT ({cond['fb']} AND {cond['fc']})",
            "miss": cond["M"],
            "missb": (
                f"inc AND {cond['c']} IS NOT NULL AND NOT "
                f"(inb AND {cond['b']} IS NOT NULL)"
            ),
        }
        for kind, where in kinds.items():
            if any(_int(one[f"{kind}_{i}"]) for one in first.values()):
                wanted[f"{kind}_{i}"] = where
    return wanted


def _means(
    one: Mapping[str, Any], var: sql.Variant, worst: float
) -> tuple[float, float, int]:
    """Means of ``d`` and ``base`` over the paired (and imputed) rows, and their count."""
    i = var.index
    n = _int(one[f"n_{i}"])
    k = _int(one[f"missfin_{i}"]) if var.impute != "none" else 0
    if var.share:
        sum_d = float(_int(one[f"nzc_{i}"]) - _int(one[f"nzb_{i}"]))
        sum_b = float(_int(one[f"nzb_{i}"]))
        miss_sum = float(_int(one[f"miss_nz_{i}"]))
    else:
        sum_d, sum_b = _num(one[f"sd_{i}"]), _num(one[f"sb_{i}"])
        miss_sum = _num(one[f"miss_sum_{i}"])
    if not n:
        sum_d = sum_b = 0.0
    if k:
        sum_d += k * worst - miss_sum
        sum_b += miss_sum
    total = n + k
    return (sum_d / total, sum_b / total, total) if total else (0.0, 0.0, 0)


def _worst(one: Mapping[str, Any], i: int, impute: str) -> float:
    if impute == "zero":
        return 0.0
    if impute == "one":
        return 1.0
    if impute == "none":
        return math.nan
    vals = [
        _num(one[f"{p}_{i}"]) for p in ("min_b", "min_c", "miss_min") if impute == "low"
    ] or [_num(one[f"{p}_{i}"]) for p in ("max_b", "max_c", "miss_max")]
    vals = [v for v in vals if math.isfinite(v)]
    if not vals:
        return math.nan
    return min(vals) if impute == "low" else max(vals)


def summarize(
    engine: SqlEngine, scopes: Iterable[Scope], *, top_k: int = 0
) -> dict[Scope, GateStats]:
    """Two passes over the pairing join per set of left-out ids: every scope's stats."""
    index = {m: i for i, m in enumerate(engine.metrics)}
    by_excluded: dict[tuple[str, ...], list[Scope]] = {}
    for s in dict.fromkeys(scopes):
        by_excluded.setdefault(s.excluded, []).append(s)
    out: dict[Scope, GateStats] = {}
    for excluded, group in by_excluded.items():
        changed: dict[str, tuple[Changed, ...]] = {}
        with_tags = any(s.slice is not None for s in group)
        source = sql.scoped(engine.dialect, excluded, with_tags)
        first = {
            r["scope"]: r
            for r in engine.rows(
                sql.pass_one(engine.dialect, len(index), source, engine.q)
            )
        }
        variants = list(
            dict.fromkeys(
                sql.Variant(index[s.metric], s.share, s.impute)
                for s in group
                if s.metric in index
            )
        )
        # pass 2's constants: the means of d and base over the kept rows, and the
        # imputed value, per scope and variant
        consts: list[dict[str, Any]] = []
        worst_of: dict[tuple[str | None, Scope], float] = {}
        for scope_key, one in first.items():
            row: dict[str, Any] = {"scope": scope_key}
            for v, var in enumerate(variants):
                i = var.index
                matching = [
                    s
                    for s in group
                    if sql.Variant(index.get(s.metric, -1), s.share, s.impute) == var
                ]
                impute = var.impute
                worst = _worst(one, i, impute) if impute != "none" else 0.0
                for s in matching:
                    worst_of[scope_key, s] = worst
                mu_d, mu_b, _ = _means(one, var, worst)
                row[f"mu_d_{v}"] = mu_d
                row[f"mu_b_{v}"] = mu_b
                row[f"worst_{v}"] = worst if math.isfinite(worst) else 0.0
            consts.append(row)
        previews = _previews(
            engine, source, _conditions_with_rows(engine, first, len(index))
        )
        second: dict[str | None, dict[str, Any]] = {}
        if variants and consts:
            table = engine.register("k_consts", "", consts)
            second = {
                r["scope"]: r
                for r in engine.rows(
                    sql.pass_two(engine.dialect, variants, source, table, engine.q)
                )
            }
        for s in group:
            out[s] = _stats(
                engine, s, index, first, second, variants, previews, worst_of
            )
            if top_k and s.slice is None and s.metric in index:
                if s.metric not in changed:
                    changed[s.metric] = _changed(
                        engine, index[s.metric], excluded, top_k
                    )
                out[s] = replace(out[s], changed=changed[s.metric])
    return out


def _stats(
    engine: SqlEngine,
    s: Scope,
    index: Mapping[str, int],
    first: Mapping[str | None, Mapping[str, Any]],
    second: Mapping[str | None, Mapping[str, Any]],
    variants: Sequence[sql.Variant],
    previews: Mapping[tuple[str | None, str], tuple[str, ...]],
    worst_of: Mapping[tuple[str | None, Scope], float],
) -> GateStats:
    in_b = s.metric in engine.baseline.metrics
    in_c = s.metric in engine.candidate.metrics
    one = first.get(s.slice)
    overall = first.get(None)
    n_common = _int(overall["n_common"]) if overall else 0
    if s.metric not in index or one is None:
        return _empty(s, in_b, in_c, n_common)
    i = index[s.metric]
    n = _int(one[f"n_{i}"])
    n_nan = _int(one[f"nan_{i}"])
    n_missing = _int(one[f"miss_{i}"])
    n_missing_b = _int(one[f"missb_{i}"])

    def ids(count: int, kind: str) -> tuple[str, ...]:
        return previews.get((s.slice, f"{kind}_{i}"), ()) if count else ()

    boolean = (
        n > 0
        and (s.metric in engine.baseline.booleans or _int(one[f"nonbin_b_{i}"]) == 0)
        and (s.metric in engine.candidate.booleans or _int(one[f"nonbin_c_{i}"]) == 0)
    )
    var = sql.Variant(i, s.share, s.impute)
    two = second.get(s.slice)
    k = _int(one[f"missfin_{i}"]) if s.impute != "none" else 0
    moments = None
    improved = degraded = 0
    d_min = d_max = math.nan
    if two is not None and var in variants:
        v = variants.index(var)
        total = n + k
        d_min, d_max = _num(two[f"dmin_{v}"]), _num(two[f"dmax_{v}"])
        improved, degraded = _int(two[f"up_{v}"]), _int(two[f"down_{v}"])
        if total:
            sums = {
                name: _num(two[f"{name}_{v}"])
                for name in ("sdd", "sdb", "sbb", "tddd", "tddb", "tdbb", "tbbb")
            }
            mu_d, mu_b, _ = _means(one, var, worst_of.get((s.slice, s), 0.0))
            moments = PairMoments(
                n=total,
                mean_d=mu_d,
                mean_b=mu_b,
                d_constant=d_min == d_max,
                b_constant=_num(two[f"xmin_{v}"]) == _num(two[f"xmax_{v}"]),
                **{key: 0.0 if math.isnan(val) else val for key, val in sums.items()},
            )
    if s.share:
        base_sum = float(_int(one[f"nzb_{i}"]))
        cand_sum = float(_int(one[f"nzc_{i}"]))
    else:
        base_sum, cand_sum = _num(one[f"sb_{i}"]), _num(one[f"sc_{i}"])
    table = None
    worst = worst_of.get((s.slice, s), math.nan)
    if boolean or s.share:
        both, tb, tc = (_int(one[f"t_{x}_{i}"]) for x in ("both", "b", "c"))
        neither = n - both - tb - tc
        if k:  # imputed candidate values: all worst
            nz = _int(one[f"miss_nz_{i}"])
            if worst == 0.0:
                tb, neither = tb + nz, neither + (k - nz)
            else:
                both, tc = both + nz, tc + (k - nz)
        table = PairedTable(both=both, b=tb, c=tc, neither=neither)
    if k:
        miss_sum = (
            float(_int(one[f"miss_nz_{i}"])) if s.share else _num(one[f"miss_sum_{i}"])
        )
        base_sum = (base_sum if n else 0.0) + miss_sum
        cand_sum = (cand_sum if n else 0.0) + k * worst
    return GateStats(
        scope=s,
        in_baseline=in_b,
        in_candidate=in_c,
        n=n + k,
        n_imputed=k,
        n_nan=n_nan,
        nan_ids=ids(n_nan, "nan"),
        n_missing=n_missing,
        missing_ids=ids(n_missing, "miss"),
        n_missing_baseline=n_missing_b,
        missing_baseline_ids=ids(n_missing_b, "missb"),
        baseline_count=_int(one[f"bc_{i}"]),
        candidate_count=_int(one[f"cc_{i}"]),
        boolean=bool(boolean),
        base_sum=base_sum,
        cand_sum=cand_sum,
        moments=moments,
        table=table,
        improved=improved,
        degraded=degraded,
        worst=worst,
        d_min=d_min,
        d_max=d_max,
        n_common=n_common,
    )


def _empty(s: Scope, in_b: bool, in_c: bool, n_common: int) -> GateStats:
    return GateStats(
        scope=s,
        in_baseline=in_b,
        in_candidate=in_c,
        n=0,
        n_imputed=0,
        n_nan=0,
        nan_ids=(),
        n_missing=0,
        missing_ids=(),
        n_missing_baseline=0,
        missing_baseline_ids=(),
        baseline_count=0,
        candidate_count=0,
        boolean=False,
        base_sum=math.nan,
        cand_sum=math.nan,
        moments=None,
        table=None,
        improved=0,
        degraded=0,
        worst=math.nan,
        d_min=math.nan,
        d_max=math.nan,
        n_common=n_common,
    )


def _changed(
    engine: SqlEngine, i: int, excluded: Sequence[str], k: int
) -> tuple[Changed, ...]:
    """The ``k`` paired datapoints whose metric ``i`` changed most."""
    cond = sql.conditions(engine.dialect, i, engine.q)
    where = sql.scoped(engine.dialect, excluded, False)
    query = (
        f"SELECT id, {cond['b']} AS b, {cond['c']} AS c FROM ({where}) s "
        f"WHERE {cond['P']} AND {cond['c']} <> {cond['b']} "
        f"ORDER BY abs({cond['c']} - {cond['b']}) DESC, id LIMIT {int(k)}"
    )
    return tuple(
        Changed(str(r["id"]), float(r["b"]), float(r["c"])) for r in engine.rows(query)
    )
