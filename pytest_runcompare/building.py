"""Validate parsed datapoint records and store them in columns, chunk by chunk.

Readers parse their format into native records (``{"id", "output", "metrics", ...}``)
and feed them to a :class:`RunBuilder` in chunks, so that a million datapoints never
sit in memory as a million dicts. Every problem is reported with the file, the line
(or ``datapoints[i]``), the datapoint id and the field.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any, cast

import numpy as np

from pytest_runcompare import limits
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.runs import (
    Datapoints,
    MetricColumn,
    MetricDefinition,
    Run,
    RunMeta,
    hashes_distinct,
    id_hashes,
)

#: Keys a datapoint record may carry; anything else is a typo until proven otherwise.
DATAPOINT_KEYS = frozenset(
    {"id", "input", "output", "expected", "metrics", "slices", "steps", "group", "meta"}
)
STEP_KEYS = frozenset({"name", "input", "output", "expected", "metrics", "meta"})
_META_KEYS = frozenset(
    {
        "name",
        "params",
        "code_version",
        "data_version",
        "environment",
        "seed",
        "created",
        "metrics",
        "metric_definitions",
        "complete",
    }
)
_DEFINITION_KEYS = frozenset(
    {"higher_is_better", "direction", "allow_nan", "kind", "version", "description"}
)
_EMPTY: dict[str, Any] = {}
_NO_TAGS: tuple[str, ...] = ()
_NUMBER_TYPES = frozenset({float, int, bool, type(None)})


def plain_number(value: object) -> object:
    """A real number of any type (numpy scalars, ``numbers.Real``) as Python's own.

    ``numpy.bool_`` becomes ``bool``, integers ``int``, other reals ``float``;
    anything else is returned unchanged for the caller to reject.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


#: Distinct slice-tag combinations shared between datapoints (beyond: one per datapoint).
_MAX_TAG_SETS = 100_000


def short(value: object, limit: int = 40) -> str:
    """``repr`` of a value, cut to ``limit`` characters for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- metadata


def parse_metric_definitions(
    raw: object, *, path: str | None
) -> dict[str, MetricDefinition]:
    """Validate the ``metric_definitions`` mapping of a run's metadata."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RunFormatError(
            f"must be a mapping of metric name to definition, got {type(raw).__name__}",
            path=path,
            field="metric_definitions",
        )
    out: dict[str, MetricDefinition] = {}
    for name, spec in raw.items():
        where = f"metric_definitions.{name}"
        if not isinstance(spec, Mapping):
            raise RunFormatError("must be a mapping", path=path, field=where)
        unknown = set(spec) - _DEFINITION_KEYS
        if unknown:
            raise RunFormatError(
                f"unknown key(s) {sorted(map(str, unknown))}",
                path=path,
                field=where,
                hint=f"accepted: {sorted(_DEFINITION_KEYS)}",
            )
        hib = spec.get("higher_is_better")
        direction = spec.get("direction")
        if direction is not None:
            if direction not in ("higher", "lower"):
                raise RunFormatError(
                    f"direction must be 'higher' or 'lower', got {direction!r}",
                    path=path,
                    field=f"{where}.direction",
                )
            hib = direction == "higher"
        for key, value in (
            ("higher_is_better", hib),
            ("allow_nan", spec.get("allow_nan")),
        ):
            if value is not None and not isinstance(value, bool):
                raise RunFormatError(
                    f"must be true or false, got {value!r}",
                    path=path,
                    field=f"{where}.{key}",
                )
        out[str(name)] = MetricDefinition(
            higher_is_better=hib,
            allow_nan=bool(spec.get("allow_nan", False)),
            kind=None if spec.get("kind") is None else str(spec["kind"]),
            version=None if spec.get("version") is None else str(spec["version"]),
            description=None
            if spec.get("description") is None
            else str(spec["description"]),
        )
    return out


def parse_meta(raw: object, *, path: str | None, format: str = "native") -> RunMeta:
    """Validate run metadata (the ``run.yaml`` mapping); unknown keys are kept in ``extra``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise RunFormatError(
            f"run metadata must be a mapping, got {type(raw).__name__}", path=path
        )
    _check_nesting(raw, path)

    def mapping(key: str) -> dict[str, Any]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise RunFormatError(
                f"must be a mapping, got {type(value).__name__}", path=path, field=key
            )
        return dict(value)

    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RunFormatError(
            f"must be an integer, got {seed!r}", path=path, field="seed"
        )
    metrics = mapping("metrics")
    if len(metrics) > limits.METRICS.value:
        raise RunFormatError(
            limits.METRICS.exceeded(f"{len(metrics):,}"), path=path, field="metrics"
        )
    for name, value in metrics.items():
        metrics[name] = _aggregate(name, value, path)
    count = raw.get("datapoint_count")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or count < 0
    ):
        raise RunFormatError(
            f"must be a whole number of datapoints, got {short(count)}",
            path=path,
            field="datapoint_count",
        )
    complete = raw.get("complete", True)
    if not isinstance(complete, bool):
        raise RunFormatError(
            f"must be true or false, got {complete!r}", path=path, field="complete"
        )
    code_version = raw.get("code_version")
    if isinstance(code_version, str):
        code_version = {"commit": code_version}
    elif code_version is not None and not isinstance(code_version, Mapping):
        raise RunFormatError(
            "must be a commit string or a mapping with 'commit' and 'dirty'",
            path=path,
            field="code_version",
        )

    def text(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else str(value)

    return RunMeta(
        name=text("name"),
        params=mapping("params"),
        code_version=dict(code_version or {}),
        data_version=text("data_version"),
        environment=mapping("environment"),
        seed=seed,
        created=text("created"),
        metrics={str(k): v for k, v in metrics.items()},
        metric_definitions=parse_metric_definitions(
            raw.get("metric_definitions"), path=path
        ),
        complete=complete,
        source=path,
        format=format,
        extra={k: v for k, v in raw.items() if k not in _META_KEYS},
    )


def _check_nesting(raw: Mapping[Any, Any], path: str | None) -> None:
    """Refuse metadata nested past ``NESTING``, checked without recursion.

    Every face renders the metadata: a value 900 levels deep would end in a
    ``RecursionError`` there.
    """
    cap = limits.NESTING.value
    stack: list[tuple[Any, int, str]] = [(v, 1, str(k)) for k, v in raw.items()]
    while stack:
        value, depth, where = stack.pop()
        if depth > cap:
            raise RunFormatError(
                limits.NESTING.exceeded(f"{depth:,}+ levels"),
                path=path,
                field=where if len(where) <= 60 else where[:60] + "...",
            )
        # the place named stops growing after 60 characters: it may be 900 deep
        if isinstance(value, Mapping):
            children = [(v, _deeper(where, f".{k}")) for k, v in value.items()]
        elif isinstance(value, list | tuple):
            children = [(v, _deeper(where, f"[{i}]")) for i, v in enumerate(value)]
        else:
            continue
        stack.extend((v, depth + 1, w) for v, w in children)


def _deeper(where: str, step: str) -> str:
    return where + step if len(where) <= 60 else where


def _aggregate(name: object, value: object, path: str | None) -> float:
    """One aggregate metric of a run's metadata as a finite float, or an error."""
    if type(name) is not str or not name:
        raise RunFormatError(
            f"metric names must be non-empty strings, got {short(name)}",
            path=path,
            field="metrics",
        )
    where = f"metrics.{name if len(name) <= 60 else name[:57] + '...'}"
    if len(name) > limits.TEXT_CHARS.value:
        raise RunFormatError(
            limits.TEXT_CHARS.exceeded(f"a name of {len(name):,}"),
            path=path,
            field=where,
        )
    value = plain_number(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RunFormatError(
            f"aggregate metric must be a number, got {short(value)}",
            path=path,
            field=where,
        )
    try:
        number = float(value)
    except OverflowError:
        raise RunFormatError(
            f"aggregate metric is too large for a 64-bit float (an integer of "
            f"{len(str(abs(value))):,} digits)",
            path=path,
            field=where,
        ) from None
    if not math.isfinite(number):
        raise RunFormatError(
            f"aggregate metric is {value!r}: an aggregate must be a finite number",
            path=path,
            field=where,
            hint="leave the metric out when the run could not compute it",
        )
    return number


# --------------------------------------------------------------------------- columns


@dataclass(slots=True)
class _MetricParts:
    """The chunks seen so far of one metric column."""

    offsets: list[int] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    present: list[np.ndarray] = field(default_factory=list)
    boolean: bool = True
    any_value: bool = False


class _TableBuilder:
    """Accumulates validated chunks of one table (the datapoints, or one trace step)."""

    def __init__(
        self,
        *,
        path: str | None,
        definitions: Mapping[str, MetricDefinition],
        field_prefix: str = "",
    ) -> None:
        self.path = path
        self.index_in_errors = True  # False for a lone record: no position to name
        self.definitions = definitions
        self.field_prefix = field_prefix
        self.ids: list[str] = []
        # Line of each datapoint (-1: none), kept compact for the duplicate-id message.
        self.lines = array("q")
        self.outputs: list[Any] = []
        self.inputs: list[Any] = []
        self.expected: list[Any] = []
        self.metas: list[Any] = []
        self.slice_tags: list[tuple[str, ...]] = []
        self.groups: list[str | None] = []
        self.metrics: dict[str, _MetricParts] = {}
        self._tag_sets: dict[tuple[str, ...], tuple[str, ...]] = {}
        # Read once: a limit's value looks at the environment.
        self.text_cap = limits.TEXT_CHARS.value
        self.tags_cap = limits.TAGS.value
        self.metrics_cap = limits.METRICS.value
        self.has = {
            "input": False,
            "expected": False,
            "slices": False,
            "group": False,
            "meta": False,
        }

    # error helpers -----------------------------------------------------------------
    def error(
        self,
        message: str,
        line: int | None,
        *,
        index: int | None = None,
        datapoint: object | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> RunFormatError:
        if line is None and index is not None and self.index_in_errors:
            prefix = f"datapoints[{index}]"
            field = prefix if field is None else f"{prefix}.{field}"
        return RunFormatError(
            message,
            path=self.path,
            line=line,
            datapoint=datapoint,
            field=field,
            hint=hint,
        )

    # chunk intake ------------------------------------------------------------------
    def add(self, records: Sequence[Any], lines: Sequence[int | None]) -> set[Any]:
        """Validate one chunk of records, append it to the columns; return its keys."""
        start = len(self.ids)
        if set(map(type, records)) != {dict}:
            for i, record in enumerate(records):
                if not isinstance(record, Mapping):
                    raise self.error(
                        f"a datapoint must be a JSON object, got {type(record).__name__} "
                        f"{short(record)}",
                        lines[i],
                        index=start + i,
                    )
        keys = set(chain.from_iterable(records))
        allowed = DATAPOINT_KEYS if not self.field_prefix else STEP_KEYS | {"id"}
        if keys - allowed:
            for i, record in enumerate(records):
                extra = set(record) - allowed
                if extra:
                    raise self.error(
                        f"unknown field(s) {sorted(map(str, extra))}",
                        lines[i],
                        index=start + i,
                        datapoint=record.get("id"),
                        field=self.field_prefix.rstrip(".") or None,
                        hint=f"accepted: {sorted(allowed - {'id'} if self.field_prefix else allowed)}"
                        + (
                            ""
                            if self.field_prefix
                            else "; put custom fields under 'meta'"
                        ),
                    )
        plain = set(map(type, records)) == {dict}

        def column(key: str) -> list[Any]:
            if plain:
                return list(map(dict.get, records, repeat(key)))
            return [r.get(key) for r in records]

        ids = self._ids(records, lines, start, column("id"))
        self.ids.extend(ids)
        self._add_lines(lines)
        self.outputs.extend(column("output"))
        # Optional columns exist only once some datapoint carries the field.
        optional: tuple[tuple[str, list[Any], object], ...] = (
            ("input", self.inputs, None),
            ("expected", self.expected, None),
            ("slices", self.slice_tags, _NO_TAGS),
            ("group", self.groups, None),
            ("meta", self.metas, None),
        )
        for key, values, blank in optional:
            if key in keys:
                if not self.has[key]:
                    self.has[key] = True
                    values.extend([blank] * start)
                if key == "slices":
                    values.extend(self._slices(column(key), lines, ids, start))
                elif key == "group":
                    values.extend(self._groups(column(key), lines, ids, start))
                elif key == "meta":
                    values.extend(self._metas(column(key), lines, ids, start))
                else:
                    values.extend(column(key))
            elif self.has[key]:
                values.extend([blank] * len(records))
        if "metrics" in keys:
            self._metrics(records, lines, ids, start)
        return keys

    def _add_lines(self, lines: Sequence[int | None]) -> None:
        size = len(self.lines)
        try:
            # Fast path: every record has a line. A None makes ``array.extend`` raise
            # TypeError, and the slow path below maps it to -1.
            self.lines.extend(cast("Sequence[int]", lines))
        except TypeError:  # some records have no line
            del self.lines[size:]
            self.lines.extend([-1 if n is None else n for n in lines])

    def _line(self, i: int) -> int | None:
        n = self.lines[i]
        return None if n < 0 else n

    def _ids(
        self,
        records: Sequence[Mapping[str, Any]],
        lines: Sequence[int | None],
        start: int,
        raw: list[Any],
    ) -> list[str]:
        kinds = set(map(type, raw))
        if not kinds <= {str, int}:
            for i, value in enumerate(raw):
                if type(value) in (str, int):
                    continue
                if value is None:
                    raise self.error(
                        "the datapoint has no id",
                        lines[i],
                        index=start + i,
                        field="id",
                        hint="every datapoint needs a unique string or integer 'id'",
                    )
                raise self.error(
                    f"id must be a string or an integer, got {type(value).__name__} "
                    f"{short(value)}",
                    lines[i],
                    index=start + i,
                    field="id",
                )
        ids = raw if kinds == {str} else [v if type(v) is str else str(v) for v in raw]
        if ids and max(map(len, ids)) > self.text_cap:
            i = next(i for i, v in enumerate(ids) if len(v) > self.text_cap)
            raise self.error(
                limits.TEXT_CHARS.exceeded(f"an id of {len(ids[i]):,}"),
                lines[i],
                index=start + i,
                datapoint=short(ids[i]),
                field="id",
            )
        return ids

    def _slices(
        self,
        raw: list[Any],
        lines: Sequence[int | None],
        ids: list[str],
        start: int,
    ) -> list[tuple[str, ...]]:
        # Runs repeat a few tag combinations over many datapoints: keep one tuple per
        # combination (validated once) instead of a tuple and strings per datapoint.
        known = self._tag_sets
        if set(map(type, raw)) == {list}:
            try:
                found = list(map(known.get, map(tuple, raw)))
            except TypeError:  # an unhashable tag: reported below
                found = [None]
            if None not in found:
                return cast("list[tuple[str, ...]]", found)
        out: list[tuple[str, ...]] = []
        for i, value in enumerate(raw):
            if value is None:
                out.append(_NO_TAGS)
                continue
            if type(value) is list:
                if len(value) > self.tags_cap:
                    raise self._tags_error(len(value), lines[i], start + i, ids[i])
                tags = tuple(value)
                try:
                    shared = known.get(tags)
                except TypeError:  # an unhashable tag: reported just below
                    shared = None
                if shared is not None:
                    out.append(shared)
                    continue
                if all(type(t) is str for t in tags):
                    self._check_tags(tags, lines[i], start + i, ids[i])
                    if len(known) < _MAX_TAG_SETS:
                        known[tags] = tags
                    out.append(tags)
                    continue
            elif isinstance(value, Mapping):
                if len(value) > self.tags_cap:
                    raise self._tags_error(len(value), lines[i], start + i, ids[i])
                tags = tuple(f"{k}:{v}" for k, v in value.items())
                self._check_tags(tags, lines[i], start + i, ids[i])
                out.append(known.setdefault(tags, tags))
                continue
            raise self.error(
                "slices must be a list of tags (strings such as 'lang:de') or a "
                f"mapping such as {{lang: de}}, got {short(value)}",
                lines[i],
                index=start + i,
                datapoint=ids[i],
                field="slices",
            )
        return out

    def _tags_error(
        self, count: int, line: int | None, index: int, key: str
    ) -> RunFormatError:
        return self.error(
            limits.TAGS.exceeded(f"{count:,}"),
            line,
            index=index,
            datapoint=key,
            field="slices",
        )

    def _check_tags(
        self, tags: tuple[str, ...], line: int | None, index: int, key: str
    ) -> None:
        if tags and max(map(len, tags)) > self.text_cap:
            longest = max(tags, key=len)
            raise self.error(
                limits.TEXT_CHARS.exceeded(f"a tag of {len(longest):,}"),
                line,
                index=index,
                datapoint=key,
                field="slices",
            )

    def _groups(
        self,
        raw: list[Any],
        lines: Sequence[int | None],
        ids: list[str],
        start: int,
    ) -> list[str | None]:
        out: list[str | None] = []
        for i, value in enumerate(raw):
            if value is None or type(value) is str:
                out.append(value)
            elif type(value) is int:
                out.append(str(value))
            else:
                raise self.error(
                    f"group must be a string or an integer, got {short(value)}",
                    lines[i],
                    index=start + i,
                    datapoint=ids[i],
                    field="group",
                )
        return out

    def _metas(
        self,
        raw: list[Any],
        lines: Sequence[int | None],
        ids: list[str],
        start: int,
    ) -> list[Any]:
        if set(map(type, raw)) <= {dict, type(None)}:
            return raw
        i = next(i for i, v in enumerate(raw) if v is not None and type(v) is not dict)
        raise self.error(
            f"meta must be a mapping of your own fields, got {short(raw[i])}",
            lines[i],
            index=start + i,
            datapoint=ids[i],
            field="meta",
        )

    def _metrics(
        self,
        records: Sequence[Mapping[str, Any]],
        lines: Sequence[int | None],
        ids: list[str],
        start: int,
    ) -> None:
        raw: list[object] = (
            list(map(dict.get, records, repeat("metrics")))
            if type(records) is list and set(map(type, records)) == {dict}
            else [r.get("metrics") for r in records]
        )
        dict_kinds = set(map(type, raw))
        if not dict_kinds <= {dict, type(None)}:
            for i, value in enumerate(raw):
                if value is not None and not isinstance(value, Mapping):
                    raise self.error(
                        f"must be a mapping of metric name to value, got "
                        f"{type(value).__name__} {short(value)}",
                        lines[i],
                        index=start + i,
                        datapoint=ids[i],
                        field=f"{self.field_prefix}metrics",
                    )
        if type(None) in dict_kinds:
            raw = [_EMPTY if d is None else d for d in raw]
        # Checked above: every value is a mapping now, the missing ones the empty one.
        dicts = cast("list[Mapping[Any, Any]]", raw)
        plain = dict_kinds <= {dict, type(None)}
        # Runs usually log the same metrics on every datapoint. When every mapping has
        # as many keys as the first, and none of the first's keys is missing anywhere
        # (no None below), they all have the same keys: no key-by-key union needed.
        first = dicts[0] if dicts else _EMPTY
        same_size = bool(first) and plain and set(map(len, dicts)) == {len(first)}
        names = (
            sorted(first, key=str)
            if same_size
            else sorted(set(chain.from_iterable(dicts)), key=str)
        )
        if len(names) > self.metrics_cap:
            raise self._too_many_metrics(len(names), dicts, lines, ids, start)
        done: set[Any] = set()
        while names:
            saw_none = any(
                [self._metric(name, dicts, plain, lines, ids, start) for name in names]
            )
            done.update(names)
            names = (
                sorted(set(chain.from_iterable(dicts)) - done, key=str)
                if same_size and saw_none
                else []
            )
            same_size = False

    def _too_many_metrics(
        self,
        count: int,
        dicts: list[Any],
        lines: Sequence[int | None],
        ids: list[str],
        start: int,
    ) -> RunFormatError:
        i = max(range(len(dicts)), key=lambda k: len(dicts[k])) if dicts else 0
        return self.error(
            limits.METRICS.exceeded(f"{count:,}"),
            lines[i] if dicts else None,
            index=start + i,
            datapoint=ids[i] if dicts else None,
            field=f"{self.field_prefix}metrics",
        )

    def _metric(
        self,
        name: Any,
        dicts: list[Any],
        plain: bool,
        lines: Sequence[int | None],
        ids: list[str],
        start: int,
    ) -> bool:
        """Validate and store one metric column of a chunk; True if a value was missing."""
        field_name = f"{self.field_prefix}metrics.{name}"
        if type(name) is not str or not name:
            i = next(i for i, d in enumerate(dicts) if name in d)
            raise self.error(
                f"metric names must be non-empty strings, got {name!r}",
                lines[i],
                index=start + i,
                datapoint=ids[i],
                field=f"{self.field_prefix}metrics",
            )
        if name not in self.metrics:
            if len(name) > self.text_cap:
                i = next(i for i, d in enumerate(dicts) if name in d)
                raise self.error(
                    limits.TEXT_CHARS.exceeded(f"a metric name of {len(name):,}"),
                    lines[i],
                    index=start + i,
                    datapoint=ids[i],
                    field=f"{self.field_prefix}metrics",
                )
            if len(self.metrics) >= self.metrics_cap:
                raise self._too_many_metrics(
                    len(self.metrics) + 1, dicts, lines, ids, start
                )
        values = (
            list(map(dict.get, dicts, repeat(name)))
            if plain
            else [d.get(name) for d in dicts]
        )
        kinds = set(map(type, values))
        if not kinds <= _NUMBER_TYPES:  # numpy scalars and other reals: as Python's
            values = [plain_number(v) for v in values]
            kinds = set(map(type, values))
        if not kinds <= _NUMBER_TYPES:
            for i, value in enumerate(values):
                if type(value) not in _NUMBER_TYPES:
                    raise self.error(
                        "metric value must be a number or a boolean, got "
                        f"{type(value).__name__} {short(value)}",
                        lines[i],
                        index=start + i,
                        datapoint=ids[i],
                        field=field_name,
                    )
        n = len(values)
        if type(None) in kinds:
            present = np.fromiter((v is not None for v in values), np.bool_, count=n)
            values = [0.0 if v is None else v for v in values]
        else:
            present = np.ones(n, dtype=np.bool_)
        try:
            column = np.array(values, dtype=np.float64)
        except OverflowError:
            i = next(
                i for i, v in enumerate(values) if v is not None and abs(v) > 1.7e308
            )
            raise self.error(
                "metric value is too large for a 64-bit float",
                lines[i],
                index=start + i,
                datapoint=ids[i],
                field=field_name,
            ) from None
        bad = present & ~np.isfinite(column)
        definition = self.definitions.get(name)
        if bad.any() and not (definition is not None and definition.allow_nan):
            i = int(np.argmax(bad))
            raise self.error(
                f"metric value is {values[i]!r}, which is allowed only for metrics "
                "declared with allow_nan",
                lines[i],
                index=start + i,
                datapoint=ids[i],
                field=field_name,
                hint=f"declare it in the run's metadata (metric_definitions: "
                f"{{{name}: {{allow_nan: true}}}}) or fix the value",
            )
        column[~present] = np.nan
        parts = self.metrics.setdefault(name, _MetricParts())
        parts.offsets.append(start)
        parts.values.append(column)
        parts.present.append(present)
        present_kinds = kinds - {type(None)}
        if present_kinds:
            parts.any_value = True
            parts.boolean = parts.boolean and present_kinds == {bool}
        return type(None) in kinds

    # finishing ---------------------------------------------------------------------
    def _check_unique(self) -> None:
        ids = self.ids
        if len(set(ids)) == len(ids):
            return
        seen: dict[str, int] = {}
        for i, key in enumerate(ids):
            if key in seen:
                j = seen[key]
                first = (
                    f"line {self._line(j)}"
                    if self._line(j) is not None
                    else f"datapoints[{j}]"
                )
                raise self.error(
                    f"duplicate id (first seen at {first})",
                    self._line(i),
                    index=i,
                    datapoint=key,
                    field="id",
                    hint="datapoint ids must be unique within a run",
                )
            seen[key] = i

    def _check_normal_forms(self) -> None:
        """Refuse two ids that are the same text in different Unicode forms.

        ``'caf\u00e9'`` (NFC) and ``'cafe\u0301'`` (NFD) print alike and are one id
        to a reader; kept apart, a run would hold the same datapoint twice.
        """
        if "".join(self.ids).isascii():
            return
        index = dict(zip(self.ids, range(len(self.ids)), strict=True))
        seen: dict[str, str] = {}
        for key in self.ids:
            if key.isascii() or unicodedata.is_normalized("NFC", key):
                continue
            form = unicodedata.normalize("NFC", key)
            other = form if form in index else seen.get(form)
            if other is not None:
                i, j = sorted((index[key], index[other]))
                first = self._line(i)
                raise self.error(
                    f"ids {self.ids[i]!a} and {self.ids[j]!a} are the same "
                    "text in different Unicode normal forms (NFC and NFD): they would "
                    "be two datapoints that print alike"
                    + ("" if first is None else f" (first at line {first})"),
                    self._line(j),
                    index=j,
                    datapoint=self.ids[j],
                    field="id",
                    hint="normalise ids to NFC (unicodedata.normalize('NFC', id)) "
                    "where the run is written",
                )
            seen[form] = key

    def finish(self) -> Datapoints:
        """Check ids across all chunks and concatenate the metric columns."""
        n = len(self.ids)
        # The id hashes double as the uniqueness check (pairing needs them anyway);
        # distinct ids that share a hash pass _check_unique.
        hashes = id_hashes(self.ids)
        if not hashes_distinct(hashes):
            self._check_unique()
        self._check_normal_forms()
        metrics: dict[str, MetricColumn] = {}
        for name, parts in self.metrics.items():
            if (
                len(parts.offsets) == 1
                and parts.offsets[0] == 0
                and len(parts.values[0]) == n
            ):
                values, present = parts.values[0], parts.present[0]
            else:
                values = np.full(n, np.nan)
                present = np.zeros(n, dtype=np.bool_)
                for offset, v, p in zip(
                    parts.offsets, parts.values, parts.present, strict=True
                ):
                    values[offset : offset + len(v)] = v
                    present[offset : offset + len(p)] = p
            metrics[name] = MetricColumn(
                values=values,
                present=present,
                boolean=parts.boolean and parts.any_value,
            )
        return Datapoints(
            ids=self.ids,
            outputs=self.outputs,
            metrics=metrics,
            inputs=self.inputs if self.has["input"] else None,
            expected=self.expected if self.has["expected"] else None,
            slice_tags=self.slice_tags if self.has["slices"] else None,
            groups=self.groups if self.has["group"] else None,
            metas=self.metas if self.has["meta"] else None,
            _hashes=[hashes],
        )


class RunBuilder:
    """Builds a :class:`Run` from chunks of native records, validating as it goes.

    ``add(records, lines)`` takes one chunk (``lines`` gives each record's line in the
    file, or ``None`` where records have no line); ``finish(meta)`` returns the run.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        definitions: Mapping[str, MetricDefinition] | None = None,
    ) -> None:
        self.path = path
        self.definitions = definitions or {}
        self._table = _TableBuilder(path=path, definitions=self.definitions)
        self._steps: dict[str, _TableBuilder] = {}
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return len(self._table.ids)

    def add(
        self, records: Sequence[Any], lines: Sequence[int | None] | None = None
    ) -> None:
        """Validate a chunk of records (datapoints) and append it."""
        if lines is None:
            lines = [None] * len(records)
        start = len(self._table.ids)
        if "steps" in self._table.add(records, lines):
            self._add_steps(records, lines, start)

    def _add_steps(
        self,
        records: Sequence[Mapping[str, Any]],
        lines: Sequence[int | None],
        start: int,
    ) -> None:
        pending: dict[str, tuple[list[dict[str, Any]], list[int | None]]] = {}
        ids = self._table.ids
        for i, record in enumerate(records):
            steps = record.get("steps")
            if steps is None:
                continue
            key_id = ids[start + i]
            if not isinstance(steps, list):
                raise self._table.error(
                    f"steps must be a list of step objects, got {type(steps).__name__}",
                    lines[i],
                    index=start + i,
                    datapoint=key_id,
                    field="steps",
                )
            seen: dict[str, int] = {}
            for k, step in enumerate(steps):
                where = f"steps[{k}]"
                if not isinstance(step, Mapping):
                    raise self._table.error(
                        "a step must be an object with 'name', 'output' and 'metrics', "
                        f"got {short(step)}",
                        lines[i],
                        index=start + i,
                        datapoint=key_id,
                        field=where,
                    )
                name = step.get("name")
                if type(name) is not str or not name:
                    raise self._table.error(
                        "a step needs a non-empty string 'name'",
                        lines[i],
                        index=start + i,
                        datapoint=key_id,
                        field=f"{where}.name",
                    )
                seen[name] = seen.get(name, 0) + 1
                key = name if seen[name] == 1 else f"{name}#{seen[name]}"
                rows, row_lines = pending.setdefault(key, ([], []))
                row = {k2: v for k2, v in step.items() if k2 != "name"}
                row["id"] = key_id
                rows.append(row)
                row_lines.append(lines[i])
        for key, (rows, row_lines) in pending.items():
            builder = self._steps.get(key)
            if builder is None:
                builder = self._steps[key] = _TableBuilder(
                    path=self.path,
                    definitions=self.definitions,
                    field_prefix=f"steps[{key}].",
                )
            builder.add(rows, row_lines)

    def finish(self, meta: RunMeta) -> Run:
        """Check the whole run (non-empty, unique ids) and return it."""
        if not self._table.ids:
            raise RunFormatError(
                "the run has no datapoints",
                path=self.path,
                hint="a run needs at least one datapoint",
            )
        count = meta.extra.get("datapoint_count")
        if meta.complete and isinstance(count, int) and count != len(self._table.ids):
            raise RunFormatError(
                f"the run's metadata says datapoint_count: {count:,} but the file holds "
                f"{len(self._table.ids):,} datapoints: the run looks truncated"
                if count > len(self._table.ids)
                else f"the run's metadata says datapoint_count: {count:,} but the file "
                f"holds {len(self._table.ids):,} datapoints",
                path=self.path,
                field="datapoint_count",
                hint="restore the complete run or re-run the evaluation",
            )
        table = self._table.finish()
        steps = {name: builder.finish() for name, builder in self._steps.items()}
        return Run(
            meta=meta, datapoints=table, steps=steps, warnings=tuple(self.warnings)
        )


def build_run(
    records: Sequence[Any],
    meta: RunMeta | Mapping[str, Any] | None = None,
    *,
    path: str | None = None,
    lines: Sequence[int | None] | None = None,
    warnings: Iterable[str] = (),
    format: str = "native",
) -> Run:
    """Make a validated :class:`Run` from native records and metadata, in one chunk.

    What most readers end with: parse your format into native records and metadata,
    then call this. Errors name ``path``, the record's line (or ``datapoints[i]``),
    the datapoint and the field.
    """
    if not isinstance(meta, RunMeta):
        meta = parse_meta(meta, path=path, format=format)
    builder = RunBuilder(path=path, definitions=meta.metric_definitions)
    builder.warnings.extend(warnings)
    builder.add(records, lines)
    return builder.finish(meta)


class DatapointSink:
    """Takes datapoints one at a time as keyword fields (``RunWriter``, ``Recorder``).

    Subclasses implement :meth:`add_record` for a native record mapping.
    """

    def add_record(self, record: Mapping[str, Any]) -> None:
        """Take one datapoint given as a native record."""
        raise NotImplementedError

    def add(
        self,
        id: str | int,
        *,
        output: Any = None,
        metrics: Mapping[str, float | bool] | None = None,
        input: Any = None,
        expected: Any = None,
        slices: Sequence[str] | Mapping[str, Any] | None = None,
        steps: Sequence[Mapping[str, Any]] | None = None,
        group: str | int | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Take one datapoint (validated now, so a bad value fails at its source)."""
        __tracebackhide__ = True
        record: dict[str, Any] = {"id": id}
        if input is not None:
            record["input"] = input
        record["output"] = output
        if expected is not None:
            record["expected"] = expected
        if metrics is not None:
            record["metrics"] = dict(metrics)
        if slices is not None:
            record["slices"] = (
                dict(slices) if isinstance(slices, Mapping) else list(slices)
            )
        if steps is not None:
            record["steps"] = [dict(step) for step in steps]
        if group is not None:
            record["group"] = group
        if meta is not None:
            record["meta"] = dict(meta)
        self.add_record(record)


def check_record(
    record: Mapping[str, Any],
    *,
    path: str | None = None,
    definitions: Mapping[str, MetricDefinition] | None = None,
) -> str:
    """Validate one native record as a run would; returns its id as a string."""
    builder = RunBuilder(path=path, definitions=definitions)
    builder._table.index_in_errors = False
    builder.add([dict(record)], [None])
    return builder._table.ids[0]
