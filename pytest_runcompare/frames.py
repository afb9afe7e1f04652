"""Runs from tables in memory: a pandas or polars DataFrame, a Hugging Face Dataset.

``from_pandas(df, id="qid", metrics=["exact_match"], output="answer")`` names the
columns that play each part of a datapoint; the rows are validated as a run file's
are, and an error names the row (its index label) and the column. A missing value
is what the library says it is: ``NaN``/``None``/``pd.NA`` in pandas (pandas has no
other marker), ``null`` in polars and Arrow, where ``NaN`` is a float like any other
and, as in a native run file, refused unless the metric is declared ``allow_nan``.
The libraries are imported here only, when a frame is converted.

These are functions, exported by the package, rather than classmethods of ``Run``:
validating needs :mod:`~pytest_runcompare.building`, which builds on the run model,
and the model importing it back would be an import cycle.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run

Columns = str | Sequence[str] | None
_ROW_RE = re.compile(r"datapoints\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Table:
    """A table in memory seen the same way whatever library holds it."""

    source: str
    format: str
    columns: list[str]
    labels: list[Any]
    column: Callable[[str], list[Any]]  # a column's values, missing ones as None
    nan_is_missing: bool


def _missing_extra(package: str, what: str) -> ImportError:
    return ImportError(
        f"{what} needs {package}, which is not installed: "
        f"pip install 'pytest-runcompare[{package}]' (or pip install {package})"
    )


def pandas_table(df: Any) -> Table:
    """A pandas DataFrame; its index labels name the rows."""
    try:
        import pandas as pd
    except ImportError:
        raise _missing_extra("pandas", "from_pandas") from None
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"from_pandas takes a pandas DataFrame, got {type(df).__name__}"
        )
    columns = [str(c) for c in df.columns]
    _check_unique_columns(columns, "pandas DataFrame")
    by_name = dict(zip(columns, df.columns, strict=True))

    def column(name: str) -> list[Any]:
        series = df[by_name[name]]
        values = series.tolist()
        missing = series.isna().tolist()
        # A float NaN stays NaN here: run_from_table decides (missing, or allow_nan).
        return [
            None if m and not isinstance(v, float) else v
            for v, m in zip(values, missing, strict=True)
        ]

    return Table(
        source="pandas DataFrame",
        format="pandas",
        columns=columns,
        labels=df.index.tolist(),
        column=column,
        nan_is_missing=True,
    )


def polars_table(df: Any) -> Table:
    """A polars DataFrame; rows are named by position (polars has no index)."""
    try:
        import polars as pl
    except ImportError:
        raise _missing_extra("polars", "from_polars") from None
    if not isinstance(df, pl.DataFrame):
        raise TypeError(
            f"from_polars takes a polars DataFrame, got {type(df).__name__}"
        )
    return Table(
        source="polars DataFrame",
        format="polars",
        columns=list(df.columns),
        labels=list(range(df.height)),
        column=lambda name: df.get_column(name).to_list(),
        nan_is_missing=False,
    )


def dataset_table(ds: Any) -> Table:
    """A Hugging Face ``datasets.Dataset``; rows are named by position."""
    try:
        import datasets
    except ImportError:
        raise _missing_extra("datasets", "from_dataset") from None
    if not isinstance(ds, datasets.Dataset):
        raise TypeError(
            f"from_dataset takes a datasets.Dataset, got {type(ds).__name__} "
            "(pick a split of a DatasetDict: ds['test'])"
        )
    return Table(
        source="datasets.Dataset",
        format="datasets",
        columns=list(ds.column_names),
        labels=list(range(ds.num_rows)),
        column=lambda name: list(ds[name]),
        nan_is_missing=False,
    )


def _is_number(value: Any) -> bool:
    """Whether a column value can be a metric value (missing ones can)."""
    import numbers

    return value is None or isinstance(value, numbers.Real)


def _blank_nan(values: list[Any], nan_is_missing: bool) -> list[Any]:
    """A column outside the metrics, with pandas' NaN (its missing marker) as None."""
    if not nan_is_missing:
        return values
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def _check_unique_columns(columns: list[str], source: str) -> None:
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise RunFormatError(
            f"duplicate column name(s) {dupes}: a column must say one thing",
            path=source,
        )


def _names(value: Columns) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _require(table: Table, role: str, names: list[str]) -> None:
    known = set(table.columns)
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise RunFormatError(
                f"no column {name!r} (columns: {table.columns})",
                path=table.source,
                field=role,
                hint=f"name one of the table's columns as {role}=",
            )


def run_from_table(
    table: Table,
    *,
    id: str,
    metrics: Columns = None,
    output: str | None = None,
    input: Columns = None,
    expected: str | None = None,
    slices: Columns = None,
    group: str | None = None,
    name: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Run:
    """A validated run from a table whose columns are named by part of a datapoint.

    ``metrics=None`` takes every column not named for another part that holds only
    numbers (or missing values), as a CSV run's metric columns; the others are left
    out with a warning. ``input`` is one column (its value) or several (a mapping);
    ``slices`` names columns whose values become tags ``<column>:<value>``.
    """
    from pytest_runcompare.building import build_run, parse_meta

    single = {"id": id, "output": output, "expected": expected, "group": group}
    for role, column in single.items():
        if column is not None:
            _require(table, role, [column])
    inputs, tags = _names(input), _names(slices)
    _require(table, "input", inputs)
    _require(table, "slices", tags)
    used = {c for c in single.values() if c is not None} | set(inputs) | set(tags)
    columns_of: dict[str, list[Any]] = {}
    left_out: list[str] = []
    if metrics is None:
        for c in table.columns:
            if c not in used:
                found = table.column(c)
                if all(_is_number(v) for v in found):
                    columns_of[c] = found
                else:
                    left_out.append(c)
    else:
        _require(table, "metrics", _names(metrics))
        columns_of = {c: table.column(c) for c in _names(metrics)}
    metric_names = list(columns_of)
    raw = {"name": name, **dict(meta or {})} if name is not None else dict(meta or {})
    run_meta = parse_meta(raw, path=table.source, format=table.format)
    allow_nan = {
        m for m, d in run_meta.metric_definitions.items() if d.allow_nan
    } & set(metric_names)
    n = len(table.labels)
    wanted = [c for c in single.values() if c is not None] + inputs + tags
    values = {
        c: _blank_nan(table.column(c), table.nan_is_missing)
        for c in dict.fromkeys(wanted)
    }
    warnings = (
        [
            f"{table.source}: column(s) {left_out} hold values that are not numbers: "
            "left out of the metrics (name the columns with metrics=[...], or give "
            "them a part: input=, expected=, slices=)"
        ]
        if left_out
        else []
    )
    records: list[dict[str, Any]] = []
    for i in range(n):
        record: dict[str, Any] = {"id": values[id][i]}
        record["output"] = None if output is None else values[output][i]
        if inputs:
            record["input"] = (
                values[inputs[0]][i]
                if isinstance(input, str)
                else {c: values[c][i] for c in inputs}
            )
        if expected is not None:
            record["expected"] = values[expected][i]
        if group is not None and values[group][i] is not None:
            record["group"] = values[group][i]
        row: dict[str, Any] = {}
        for m, column_values in columns_of.items():
            v = column_values[i]
            if (
                table.nan_is_missing
                and isinstance(v, float)
                and math.isnan(v)
                and m not in allow_nan
            ):
                v = None
            if v is not None:
                row[m] = v
        record["metrics"] = row
        if tags:
            record["slices"] = [
                f"{c}:{values[c][i]}" for c in tags if values[c][i] is not None
            ]
        records.append(record)
    try:
        return build_run(records, run_meta, path=None, warnings=warnings)
    except RunFormatError as error:
        roles = {"id": id, "group": group, "slices": ", ".join(tags) or None}
        raise _at_row(error, table, roles, metric_names) from None


def _at_row(
    error: RunFormatError,
    table: Table,
    roles: Mapping[str, str | None],
    metric_names: list[str],
) -> RunFormatError:
    """The builder's error, placed at the table's row (index label) and column."""
    field = error.field or ""
    match = _ROW_RE.match(field)
    if match is None:
        return RunFormatError(
            error.reason, path=table.source, field=error.field, hint=error.hint
        )
    label = table.labels[int(match[1])]
    rest = field[match.end() :].lstrip(".")
    column = (
        rest.removeprefix("metrics.")
        if rest.startswith("metrics.")
        else roles.get(rest, rest or None)
    )
    reason = _ROW_RE.sub(lambda m: f"row {table.labels[int(m[1])]!r}", error.reason)
    where = f"{table.source}, row {label!r}" + (
        f", column {column!r}" if column else ""
    )
    hint = error.hint
    if column in metric_names and "metric value" in reason:
        hint = (
            "metric columns hold numbers or booleans; name the metric columns with "
            "metrics=[...]" + (f"; or {hint}" if hint else "")
        )
    return RunFormatError(reason, path=where, datapoint=error.datapoint, hint=hint)


def from_pandas(df: Any, *, id: str, **columns: Any) -> Run:
    """A validated run from a pandas DataFrame; rows are named by their index label.

    ``id`` names the id column; ``metrics``, ``output``, ``input``, ``expected``,
    ``slices`` and ``group`` name columns, ``name`` and ``meta`` (a ``run.yaml``
    mapping: params, metric_definitions, ...) describe the run (see
    :func:`run_from_table`). Raises :class:`RunFormatError` naming the row and the
    column, and ``ImportError`` naming the extra when pandas is not installed.
    """
    return run_from_table(pandas_table(df), id=id, **columns)


def from_polars(df: Any, *, id: str, **columns: Any) -> Run:
    """A validated run from a polars DataFrame, with the keywords of :func:`from_pandas`."""
    return run_from_table(polars_table(df), id=id, **columns)


def from_dataset(ds: Any, *, id: str, **columns: Any) -> Run:
    """A validated run from a ``datasets.Dataset``, with the keywords of from_pandas."""
    return run_from_table(dataset_table(ds), id=id, **columns)
