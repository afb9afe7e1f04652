"""promptfoo results files (``promptfoo eval -o results.json``).

One file holds several *columns*, one per provider x prompt. A location picks one
with a selector, ``results.json::provider=openai:gpt-4o,prompt=pain_v2`` (or
``column=<n>``), or the same keys as reader options in the gates file; without one,
a file with several columns is refused with the list of its columns.

``provider`` matches a provider's id or label; ``prompt`` matches a prompt's label,
its raw text, its id (or a prefix of six or more characters of it), or its position
(0-based) among the file's distinct prompts; ``column`` is promptfoo's ``promptIdx``.

Datapoint ids are the test case (its ``description``, else a hash of its ``vars``;
option ``id_var`` names a var to use instead), never the row position. Outputs are
``response.output`` (objects as JSON); metrics are ``score``, ``success``,
``latencyMs``, ``cost``, each of ``namedScores``, and ``error``. Error rows (the
provider or the evaluation failed, ``failureReason`` 2) are kept with ``error`` true
and the slice ``outcome:error``, and are never scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.loaders._common import (
    array_field,
    as_text,
    json_starts_with_key,
    merged_options,
    object_field,
    parse_selector,
    read_head,
    replicate_ids,
    scalar,
    stable_hash,
)

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "promptfoo"
_SELECTOR_KEYS = ("provider", "prompt", "column")
_OPTION_KEYS = (*_SELECTOR_KEYS, "id_var")
#: promptfoo's ResultFailureReason: 0 none, 1 an assertion failed, 2 an error.
_FAILURE_ERROR = 2
_DEFINITIONS = {
    "score": {"higher_is_better": True},
    "success": {"higher_is_better": True},
    "latencyMs": {"higher_is_better": False},
    "cost": {"higher_is_better": False},
    "error": {"higher_is_better": False},
}


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read one column of a promptfoo results file, or ``None`` if it is not one."""
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt != FORMAT:
        return None
    path, selector = split_location(location)
    if path.is_dir():
        return None
    if fmt is None and not _looks_like_promptfoo(path):
        return None
    picked = merged_options(
        options,
        parse_selector(selector, path=path, accepted=_SELECTOR_KEYS),
        _OPTION_KEYS,
    )
    return read_promptfoo(path, **{k: str(v) for k, v in picked.items()})


def _looks_like_promptfoo(path: Path) -> bool:
    if path.suffix.lower() != ".json":
        return False
    head = read_head(path)
    if json_starts_with_key(head, "evalId"):
        return True
    return json_starts_with_key(head, "results", "config") and bool(
        re.search(rb'"(promptIdx|testIdx|promptfooVersion)"', head)
        or re.search(rb'"results"\s*:\s*\{\s*"version"', head)
    )


@hookimpl(trylast=True)
def pytest_runcompare_list_runs(
    location: str, options: Mapping[str, Any]
) -> list[tuple[str, str]] | None:
    """Every column of a results file with several, as ``path::column=<n>``."""
    from pytest_runcompare.loaders._common import load_json
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt != FORMAT:
        return None
    path, selector = split_location(location)
    if selector is not None or any(options.get(k) is not None for k in _SELECTOR_KEYS):
        return None  # one column is picked
    if path.is_dir() or (fmt is None and not _looks_like_promptfoo(path)):
        return None
    rows, _ = _rows(load_json(path), path)
    columns = list(columns_of(rows).values())
    if len(columns) < 2:
        return None
    labels = [c.label() for c in columns]
    return [
        (
            label if labels.count(label) == 1 else f"{label} [column={c.index}]",
            f"{path}::column={c.index}",
        )
        for label, c in zip(labels, columns, strict=True)
    ]


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Column:
    """One provider x prompt column of a results file."""

    index: int
    provider_id: str
    provider_label: str | None
    prompt_id: str | None
    prompt_raw: str | None
    prompt_label: str | None
    rows: int

    def label(self) -> str:
        """A sweep's name for the column: ``<provider> / <prompt>``."""
        provider = self.provider_label or self.provider_id
        prompt = self.prompt_label or _clip(self.prompt_raw or "") or self.prompt_id
        return f"{provider} / {prompt or f'prompt of column {self.index}'}"

    def describe(self) -> str:
        """One line for error messages."""
        prompt = self.prompt_label or _clip(self.prompt_raw or "")
        return (
            f"column={self.index} provider={self.provider_id} prompt={prompt!r} "
            f"({self.rows} rows)"
        )


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _provider(row: dict[str, Any]) -> tuple[str, str | None]:
    provider = row.get("provider")
    if isinstance(provider, dict):
        pid = provider.get("id")
        label = provider.get("label")
        return str(pid if pid is not None else label), (
            None if label is None else str(label)
        )
    return str(provider), None


def _column_key(row: dict[str, Any]) -> Any:
    idx = row.get("promptIdx")
    if isinstance(idx, int) and not isinstance(idx, bool):
        return idx
    return (_provider(row)[0], row.get("promptId"))


def columns_of(rows: list[dict[str, Any]]) -> dict[Any, Column]:
    """The columns of a results file, keyed by ``promptIdx``, in column order."""
    found: dict[Any, Column] = {}
    counts: dict[Any, int] = {}
    for row in rows:
        key = _column_key(row)
        counts[key] = counts.get(key, 0) + 1
        if key in found:
            continue
        prompt = object_field(row, "prompt")
        pid, plabel = _provider(row)
        found[key] = Column(
            index=key if isinstance(key, int) else len(found),
            provider_id=pid,
            provider_label=plabel,
            prompt_id=row.get("promptId") or prompt.get("id"),
            prompt_raw=prompt.get("raw"),
            prompt_label=prompt.get("label"),
            rows=0,
        )
    ordered = sorted(found.items(), key=lambda kv: kv[1].index)
    return {k: Column(**{**_as_dict(c), "rows": counts[k]}) for k, c in ordered}


def _as_dict(column: Column) -> dict[str, Any]:
    return {name: getattr(column, name) for name in Column.__slots__}


def _prompt_matches(column: Column, wanted: str, position: int) -> bool:
    if wanted in (column.prompt_label, column.prompt_raw, column.prompt_id):
        return True
    if column.prompt_id and len(wanted) >= 6 and column.prompt_id.startswith(wanted):
        return True
    return wanted.isdigit() and int(wanted) == position


def select_column(
    columns: dict[Any, Column],
    path: Path,
    *,
    provider: str | None,
    prompt: str | None,
    column: str | None,
) -> Any:
    """The key of the one column the selector picks, or an error listing the columns."""
    prompts: list[str | None] = []
    for c in columns.values():
        if c.prompt_id not in prompts:
            prompts.append(c.prompt_id)
    chosen = [
        key
        for key, c in columns.items()
        if (column is None or str(c.index) == column)
        and (provider is None or provider in (c.provider_id, c.provider_label))
        and (prompt is None or _prompt_matches(c, prompt, prompts.index(c.prompt_id)))
    ]
    listing = "; ".join(c.describe() for c in columns.values())
    given = {"provider": provider, "prompt": prompt, "column": column}
    asked = ",".join(f"{k}={v}" for k, v in given.items() if v is not None)
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise RunFormatError(
            f"the selector {asked!r} matches no column; the file holds {listing}",
            path=path,
            hint=f"pick one with {path}::provider=<id>,prompt=<label or id>",
        )
    what = f"the selector {asked!r} matches" if asked else "the file holds"
    matched = "; ".join(columns[k].describe() for k in chosen)
    raise RunFormatError(
        f"{what} {len(chosen)} columns (provider x prompt): {matched}",
        path=path,
        hint=f"pick one with {path}::provider=<id>,prompt=<label or id> "
        "(or column=<n>), or provider:/prompt: options in the gates file",
    )


# --------------------------------------------------------------------------- reading


def _rows(doc: Any, path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The result rows and the ``results`` object (v2+ layout, or a bare list)."""
    if not isinstance(doc, dict):
        raise RunFormatError(
            f"not a promptfoo results file: expected an object, got {type(doc).__name__}",
            path=path,
        )
    results = doc.get("results")
    if isinstance(results, dict) and isinstance(results.get("results"), list):
        rows, holder = results["results"], results
    elif isinstance(results, list):
        rows, holder = results, {}
    else:
        raise RunFormatError(
            "not a promptfoo results file: expected 'results.results' to be a list of "
            f"rows (top-level keys: {sorted(map(str, doc))})",
            path=path,
            hint="write it with promptfoo eval -o results.json",
        )
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RunFormatError(
                f"a result row must be an object, got {type(row).__name__}",
                path=path,
                field=f"results.results[{i}]",
            )
    return rows, holder


def read_promptfoo(
    path: Path,
    *,
    provider: str | None = None,
    prompt: str | None = None,
    column: str | None = None,
    id_var: str | None = None,
) -> Run:
    """One provider x prompt column of a promptfoo results file, as a run."""
    from dataclasses import replace

    from pytest_runcompare.building import build_run
    from pytest_runcompare.loaders._common import load_json

    doc = load_json(path)
    rows, holder = _rows(doc, path)
    if not rows:
        raise RunFormatError("the results file holds no result rows", path=path)
    columns = columns_of(rows)
    key = select_column(columns, path, provider=provider, prompt=prompt, column=column)
    picked = [r for r in rows if _column_key(r) == key]
    picked.sort(key=_test_index)
    ids, groups = _ids(picked, path, id_var)
    records = []
    errors: list[str] = []
    for row, key_id, group in zip(picked, ids, groups, strict=True):
        try:
            record = _record(row, key_id)
        except RunFormatError as error:  # a score beyond a float: name the file
            raise RunFormatError(
                error.reason,
                path=path,
                datapoint=key_id,
                field=error.field,
                hint=error.hint,
            ) from None
        if group is not None:
            record["group"] = group
        if record["slices"] == ["outcome:error"]:
            errors.append(key_id)
        records.append(record)
    warnings = []
    if errors:
        shown = ", ".join(repr(e) for e in errors[:3]) + (
            ", ..." if len(errors) > 3 else ""
        )
        warnings.append(
            f"{path}: {len(errors)} row(s) are errors (the provider or the evaluation "
            f"failed: {shown}): kept with error=true and the slice outcome:error, "
            "not scored"
        )
    meta = _meta(doc, holder, columns[key], path)
    run = build_run(records, meta, path=str(path), warnings=warnings, format=FORMAT)
    return replace(run, meta=replace(run.meta, source=str(path)))


def _test_case(row: dict[str, Any]) -> dict[str, Any]:
    test = row.get("testCase")
    return test if isinstance(test, dict) else {}


def _vars(row: dict[str, Any]) -> Any:
    value = row.get("vars")
    return value if value is not None else _test_case(row).get("vars")


def _ids(
    rows: list[dict[str, Any]], path: Path, id_var: str | None
) -> tuple[list[str], list[str | None]]:
    """Test-case ids: the description, else a hash of the vars; repeats grouped."""
    base: list[str] = []
    for i, row in enumerate(rows):
        if id_var is not None:
            variables = _vars(row)
            if not isinstance(variables, dict) or id_var not in variables:
                raise RunFormatError(
                    f"the test case has no var {id_var!r} (option id_var)",
                    path=path,
                    field=f"row testIdx={row.get('testIdx', i)}",
                )
            base.append(str(variables[id_var]))
            continue
        description = _test_case(row).get("description") or row.get("description")
        if isinstance(description, str) and description.strip():
            base.append(description)
        else:
            base.append(f"vars:{stable_hash(_vars(row))}")
    counts: dict[str, int] = {}
    for b in base:
        counts[b] = counts.get(b, 0) + 1
    # one description for different vars: tell them apart by their vars
    keyed = [
        b
        if counts[b] == 1 or b.startswith("vars:")
        else f"{b} [{stable_hash(_vars(r), 8)}]"
        for b, r in zip(base, rows, strict=True)
    ]
    # the same test case run again (--repeat): replicates of one datapoint
    return replicate_ids(keyed)


def _test_index(row: dict[str, Any]) -> int:
    """Sort key of a result row: its ``testIdx`` (0 when it has none)."""
    index = row.get("testIdx")
    return index if isinstance(index, int) else 0


def _is_error(row: dict[str, Any]) -> bool:
    reason = row.get("failureReason")
    if isinstance(reason, int) and not isinstance(reason, bool):
        return reason == _FAILURE_ERROR
    # before failureReason: an error with no grading result is a failed call
    response = object_field(row, "response")
    return bool(row.get("error") or response.get("error")) and not row.get(
        "gradingResult"
    )


def _record(row: dict[str, Any], key: str) -> dict[str, Any]:
    response = object_field(row, "response")
    error = _is_error(row)
    metrics: dict[str, Any] = {"error": error}
    if not error:
        for name in ("score", "success", "latencyMs", "cost"):
            value = scalar(row.get(name), field=name)
            if value is None and name in ("latencyMs", "cost"):
                value = scalar(response.get(name), field=f"response.{name}")
            if value is not None:
                metrics[name] = value
        named = row.get("namedScores")
        for name, value in named.items() if isinstance(named, dict) else ():
            number = scalar(value, field=f"namedScores.{name}")
            if number is not None and name not in metrics:
                metrics[str(name)] = number
        outcome = "pass" if row.get("success") is True else "fail"
    else:
        outcome = "error"
    return {
        "id": key,
        "input": _vars(row),
        "output": as_text(response.get("output")),
        "metrics": metrics,
        "slices": [f"outcome:{outcome}"],
    }


def _meta(
    doc: dict[str, Any], holder: dict[str, Any], column: Column, path: Path
) -> RunMeta:
    from pytest_runcompare.building import parse_meta

    metadata = object_field(doc, "metadata")
    config = object_field(doc, "config")
    prompts = array_field(holder, "prompts")
    summary = prompts[column.index] if 0 <= column.index < len(prompts) else None
    summary = summary if isinstance(summary, dict) else {}
    environment = {
        "promptfoo": metadata.get("promptfooVersion"),
        "node": metadata.get("nodeVersion"),
        "platform": metadata.get("platform"),
    }
    provider_config = next(
        (
            p.get("config")
            for p in config.get("providers") or []
            if isinstance(p, dict) and p.get("id") == column.provider_id
        ),
        None,
    )
    params = {
        "provider": column.provider_id,
        "provider_label": column.provider_label,
        "provider_config": provider_config,
        "prompt": column.prompt_label or _clip(column.prompt_raw or "", 200),
        "prompt_id": column.prompt_id,
    }
    label = column.provider_label or column.provider_id
    raw = {
        "name": f"{label} / {column.prompt_label or _clip(column.prompt_raw or '')}",
        "params": {k: v for k, v in params.items() if v is not None},
        "environment": {k: v for k, v in environment.items() if v is not None},
        "created": holder.get("timestamp") or metadata.get("evaluationCreatedAt"),
        "metric_definitions": _DEFINITIONS,
        "promptfoo": {
            "eval_id": doc.get("evalId"),
            "description": config.get("description"),
            "column": column.index,
            "results_version": holder.get("version"),
            "column_metrics": summary.get("metrics"),
        },
    }
    return parse_meta(raw, path=str(path), format=FORMAT)
