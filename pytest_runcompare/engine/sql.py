"""The SQL both engines run: one pairing join and two aggregations, in one dialect layer.

DuckDB and Spark SQL differ in a handful of spellings (finite test, list functions,
unnesting); :class:`Dialect` holds them, and every query is built here once, so the
two engines compute the same statistics by the same expressions.

The joined view ``j`` has one row per id of either run: ``inb`` / ``inc`` (present
in the baseline / candidate), ``grp`` (the baseline's group, else the candidate's),
``tags`` (slice tags of either run) and ``b_<k>`` / ``c_<k>`` per metric ``k``.
Pass 1 (:func:`pass_one`) counts and sums per scope (all rows, and each slice tag);
pass 2 (:func:`pass_two`) takes central sums about pass 1's means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DUCKDB", "SPARK", "Dialect", "Variant", "literal", "quote"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The spellings one engine needs."""

    name: str
    finite: str  # format with {x}
    tags_union: str  # format with {b}, {c}
    explode: str  # format with {x}: a table function in a SELECT list
    same: str  # null-safe equality, format with {a}, {b}
    text: str  # the string type
    size: str  # list length, format with {x}
    #: the k smallest of {x} in a group as a list (format with {x}, {k}), or ""
    first_ids: str = ""


DUCKDB = Dialect(
    name="duckdb",
    finite="isfinite({x})",
    tags_union="list_distinct(list_concat(coalesce({b}, []), coalesce({c}, [])))",
    explode="unnest({x})",
    same="{a} IS NOT DISTINCT FROM {b}",
    text="VARCHAR",
    size="len({x})",
    first_ids="min({x}, {k})",
)
SPARK = Dialect(
    name="spark",
    finite="(NOT isnan({x}) AND abs({x}) != CAST('Infinity' AS DOUBLE))",
    tags_union=(
        "array_distinct(concat(coalesce({b}, array()), coalesce({c}, array())))"
    ),
    explode="explode({x})",
    same="{a} <=> {b}",
    text="STRING",
    size="size({x})",
)


def quote(name: str) -> str:
    """A SQL identifier (backquotes for Spark are added by its engine)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def joined(dialect: Dialect, k: int, q: str = '"') -> str:
    """The pairing join of the normalised views ``b_run`` and ``c_run``."""

    def col(name: str) -> str:
        return q + name + q

    metrics = ", ".join(
        f"b.{col(f'm_{i}')} AS {col(f'b_{i}')}, c.{col(f'm_{i}')} AS {col(f'c_{i}')}"
        for i in range(k)
    )
    tags = dialect.tags_union.format(b="b.tags", c="c.tags")
    return (
        "SELECT coalesce(b.id, c.id) AS id, b.id IS NOT NULL AS inb, "
        "c.id IS NOT NULL AS inc, coalesce(b.grp, c.grp) AS grp, "
        f"{tags} AS tags" + (", " + metrics if metrics else "") + " "
        "FROM b_run b FULL OUTER JOIN c_run c ON b.id = c.id"
    )


def _excluded(ids: Sequence[str]) -> str:
    if not ids:
        return "TRUE"
    return "id NOT IN (" + ", ".join(literal(i) for i in ids) + ")"


def scoped(dialect: Dialect, excluded: Sequence[str], with_tags: bool) -> str:
    """Rows of ``j`` with a ``scope`` column: NULL for all rows, else one per tag."""
    where = _excluded(excluded)
    overall = f"SELECT CAST(NULL AS {dialect.text}) AS scope, * FROM j WHERE {where}"
    if not with_tags:
        return overall
    tagged = (
        f"SELECT {dialect.explode.format(x='tags')} AS scope, * FROM j "
        f"WHERE {where} AND {dialect.size.format(x='tags')} > 0"
    )
    return f"{overall} UNION ALL {tagged}"


#: Pass 1's columns per metric: (suffix, aggregate), with {b}, {c}, {P}, {M}, {F}.
PASS_ONE: tuple[tuple[str, str], ...] = (
    ("n", "count_if({P})"),
    ("nan", "count_if({both} AND NOT ({fb} AND {fc}))"),
    ("miss", "count_if({M})"),
    ("missfin", "count_if({M} AND {fb})"),
    ("miss_sum", "sum(CASE WHEN {M} AND {fb} THEN {b} END)"),
    ("miss_nz", "count_if({M} AND {fb} AND {b} <> 0)"),
    ("miss_min", "min(CASE WHEN {M} AND {fb} THEN {b} END)"),
    ("miss_max", "max(CASE WHEN {M} AND {fb} THEN {b} END)"),
    (
        "missb",
        "count_if(inc AND {c} IS NOT NULL AND NOT (inb AND {b} IS NOT NULL))",
    ),
    ("bc", "count_if(inb AND {b} IS NOT NULL)"),
    ("cc", "count_if(inc AND {c} IS NOT NULL)"),
    ("nonbin_b", "count_if({P} AND {b} <> 0 AND {b} <> 1)"),
    ("nonbin_c", "count_if({P} AND {c} <> 0 AND {c} <> 1)"),
    ("sd", "sum(CASE WHEN {P} THEN {c} - {b} END)"),
    ("sb", "sum(CASE WHEN {P} THEN {b} END)"),
    ("sc", "sum(CASE WHEN {P} THEN {c} END)"),
    ("nzb", "count_if({P} AND {b} <> 0)"),
    ("nzc", "count_if({P} AND {c} <> 0)"),
    ("min_b", "min(CASE WHEN {P} THEN {b} END)"),
    ("max_b", "max(CASE WHEN {P} THEN {b} END)"),
    ("min_c", "min(CASE WHEN {P} THEN {c} END)"),
    ("max_c", "max(CASE WHEN {P} THEN {c} END)"),
    ("t_both", "count_if({P} AND {b} <> 0 AND {c} <> 0)"),
    ("t_b", "count_if({P} AND {b} <> 0 AND {c} = 0)"),
    ("t_c", "count_if({P} AND {b} = 0 AND {c} <> 0)"),
)


def conditions(dialect: Dialect, i: int, q: str = '"') -> dict[str, str]:
    """The row conditions of metric ``i``: paired finite, missing, and the rest."""
    b, c = f"{q}b_{i}{q}", f"{q}c_{i}{q}"
    fb, fc = dialect.finite.format(x=b), dialect.finite.format(x=c)
    both = f"(inb AND inc AND {b} IS NOT NULL AND {c} IS NOT NULL)"
    return {
        "b": b,
        "c": c,
        "fb": fb,
        "fc": fc,
        "both": both,
        "P": f"({both} AND {fb} AND {fc})",
        "M": f"(inb AND {b} IS NOT NULL AND NOT (inc AND {c} IS NOT NULL))",
    }


def flagged(dialect: Dialect, k: int, source: str, q: str = '"') -> str:
    """``source`` with each metric's row conditions computed once, as columns."""
    cols = ["s.*"]
    for i in range(k):
        cond = conditions(dialect, i, q)
        for name in ("P", "M", "both", "fb", "fc"):
            cols.append(f"{cond[name]} AS {q}{name.lower()}_{i}_{q}")
    return f"SELECT {', '.join(cols)} FROM ({source}) s"


def flags(i: int, q: str = '"') -> dict[str, str]:
    """:func:`conditions` as the columns :func:`flagged` computed."""
    out = {
        name: f"{q}{name.lower()}_{i}_{q}" for name in ("P", "M", "both", "fb", "fc")
    }
    out["b"], out["c"] = f"{q}b_{i}{q}", f"{q}c_{i}{q}"
    return out


def pass_one(dialect: Dialect, k: int, source: str, q: str = '"') -> str:
    """Counts, sums and extremes per scope for ``k`` metrics, over ``source`` rows."""
    cols = ["scope", "count_if(inb AND inc) AS n_common"]
    source = flagged(dialect, k, source, q)
    for i in range(k):
        cond = flags(i, q)
        for suffix, expr in PASS_ONE:
            cols.append(f"{expr.format(**cond)} AS {q}{suffix}_{i}{q}")
    return f"SELECT {', '.join(cols)} FROM ({source}) s GROUP BY scope"


@dataclass(frozen=True, slots=True)
class Variant:
    """One pass-2 column set: metric ``i``, truthy values or not, imputation on."""

    index: int
    share: bool
    impute: str  # Scope.impute


def pass_two(
    dialect: Dialect,
    variants: Sequence[Variant],
    source: str,
    constants: str,
    q: str = '"',
) -> str:
    """Central sums of ``d = cand − base`` and ``base`` about pass 1's means.

    ``constants`` is a relation with ``scope`` and, per variant ``v``,
    ``mu_d_<v>``, ``mu_b_<v>`` and ``worst_<v>`` (the imputed candidate value).
    """
    cols = ["s.scope"]
    indices = sorted({var.index for var in variants})
    source = flagged(dialect, max(indices) + 1 if indices else 0, source, q)
    for v, var in enumerate(variants):
        cond = flags(var.index, q)
        b, c = cond["b"], cond["c"]
        x = f"(CASE WHEN {b} <> 0 THEN 1.0 ELSE 0.0 END)" if var.share else b
        y = f"(CASE WHEN {c} <> 0 THEN 1.0 ELSE 0.0 END)" if var.share else c
        keep = cond["P"]
        if var.impute != "none":
            keep = f"({cond['P']} OR ({cond['M']} AND {cond['fb']}))"
            y = f"(CASE WHEN {cond['P']} THEN {y} ELSE k.{q}worst_{v}{q} END)"
        d = f"({y} - {x} - k.{q}mu_d_{v}{q})"
        e = f"({x} - k.{q}mu_b_{v}{q})"
        raw = f"({y} - {x})"
        sums = {
            "sdd": f"{d} * {d}",
            "sdb": f"{d} * {e}",
            "sbb": f"{e} * {e}",
            "tddd": f"{d} * {d} * {d}",
            "tddb": f"{d} * {d} * {e}",
            "tdbb": f"{d} * {e} * {e}",
            "tbbb": f"{e} * {e} * {e}",
        }
        for name, expr in sums.items():
            cols.append(f"sum(CASE WHEN {keep} THEN {expr} END) AS {q}{name}_{v}{q}")
        cols += [
            f"count_if({keep} AND {raw} * 1e12 > 0.5) AS {q}up_{v}{q}",
            f"count_if({keep} AND {raw} * 1e12 < -0.5) AS {q}down_{v}{q}",
            f"min(CASE WHEN {keep} THEN {raw} END) AS {q}dmin_{v}{q}",
            f"max(CASE WHEN {keep} THEN {raw} END) AS {q}dmax_{v}{q}",
            f"min(CASE WHEN {keep} THEN {x} END) AS {q}xmin_{v}{q}",
            f"max(CASE WHEN {keep} THEN {x} END) AS {q}xmax_{v}{q}",
        ]
    join = dialect.same.format(a="k.scope", b="s.scope")
    return (
        f"SELECT {', '.join(cols)} FROM ({source}) s JOIN {constants} k "
        f"ON ({join}) GROUP BY s.scope"
    )
