"""EleutherAI lm-evaluation-harness output (``--output_path ... --log_samples``).

A location is one of:

- a ``samples_<task>_<date>.jsonl`` file: one task; the results file of the same run
  (any ``*_<date>.json`` beside it) gives the metadata and the aggregates;
- a results file (``results_<date>.json``, or renamed ``<anything>_<date>.json``):
  every task of that run, from the ``samples_*_<date>.jsonl`` files beside it;
- the output folder (or the model folder inside it): every task of the one run it
  holds; a folder holding several runs needs ``::date=<date>`` (or ``model=``,
  ``task=a+b``), and the error lists what is there.

Datapoint ids are the ``doc_id``; ``<doc_id>/<filter>`` in a task logged with several
filters (one line per doc and filter; metrics are then named ``<metric>,<filter>``
as in the results file); ``<task>/...`` when several tasks are read, with a
``task:<name>`` slice. Per-sample metric values that are not numbers (corpus-level
metrics such as ``f1`` log ``[gold, prediction]`` pairs) are left out with a warning;
their aggregate comes from the results file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.loaders._common import (
    json_starts_with_key,
    merged_options,
    object_field,
    parse_selector,
    read_head,
    scalar,
    stable_hash,
    truncation_error,
)

if TYPE_CHECKING:
    from pytest_runcompare.building import RunBuilder
    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "lm_eval"
_FORMAT_NAMES = (FORMAT, "lm-eval", "lm_evaluation_harness", "lm-evaluation-harness")
_DATE = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
_SAMPLES_RE = re.compile(rf"^samples_(?P<task>.+)_(?P<date>{_DATE})\.jsonl$")
_RESULTS_RE = re.compile(rf"^(?P<stem>.*?)_?(?P<date>{_DATE})\.json$")
_RESULTS_HEAD_RE = re.compile(rb'^\s*\{\s*"results"\s*:\s*\{\s*"[^"]+"\s*:\s*\{')
_FILTER_RE = re.compile(rb'"filter": "((?:[^"\\]|\\.)*)", "metrics": \[')
_SELECTOR_KEYS = ("date", "task", "model")
#: Keys of a samples line that are not per-sample metrics (used when ``metrics`` is
#: absent, as in lm-eval releases before 0.4.2).
_NOT_METRICS = frozenset(
    {
        "doc_id",
        "doc",
        "target",
        "arguments",
        "resps",
        "filtered_resps",
        "filter",
        "metrics",
        "doc_hash",
        "prompt_hash",
        "target_hash",
    }
)


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read lm-evaluation-harness output, or ``None`` when the path is not that."""
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt not in _FORMAT_NAMES:
        return None
    path, selector = split_location(location)
    if fmt is None and not _looks_like_lm_eval(path):
        return None
    picked = merged_options(
        options,
        parse_selector(selector, path=path, accepted=_SELECTOR_KEYS),
        _SELECTOR_KEYS,
    )
    return read_lm_eval(path, **picked)


@hookimpl(trylast=True)
def pytest_runcompare_list_runs(
    location: str, options: Mapping[str, Any]
) -> list[tuple[str, str]] | None:
    """Every run of an output folder with several, as ``<folder>::date=<date>``.

    Labelled by the date when the runs share one folder, else by the folder (the
    model's, or the part of the path that differs), with ``@<date>`` when it holds
    several.
    """
    return list_dated_runs(location, options, _FORMAT_NAMES, _SELECTOR_KEYS, _scan_dir)


def list_dated_runs(
    location: str,
    options: Mapping[str, Any],
    formats: Collection[str],
    selector_keys: Sequence[str],
    scan: Callable[[Path], Iterable[tuple[Path, str, str | None, str]]],
) -> list[tuple[str, str]] | None:
    """The runs of an output folder holding several (lm-eval's layout and lmms-eval's).

    ``scan`` lists the folder's ``(file, kind, task, date)``; None when the location
    picks one run, is not a folder, or holds fewer than two.
    """
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt not in formats:
        return None
    path, selector = split_location(location)
    if selector is not None or any(options.get(k) is not None for k in selector_keys):
        return None  # one run is picked
    if not path.is_dir():
        return None
    runs = sorted({(file.parent, date) for file, _, _, date in scan(path)})
    if len(runs) < 2:
        return None
    folders = _distinct_parts([folder.relative_to(path) for folder, _ in runs])
    dates: dict[Path, int] = {}
    for folder, _ in runs:
        dates[folder] = dates.get(folder, 0) + 1
    out = []
    for folder, date in runs:
        name = folders[folder.relative_to(path)]  # '': written straight into path
        many = dates[folder] > 1
        label = (f"{name}@{date}" if many else name) if name else date
        out.append((label, f"{folder}::date={date}"))
    return out


def _distinct_parts(folders: list[Path]) -> dict[Path, str]:
    """Each folder as the part of its path that tells it apart ('' for the top)."""
    distinct = sorted(set(folders))
    if len(distinct) == 1:
        return {distinct[0]: ""}
    parts = [list(f.parts) for f in distinct]
    while all(len(p) > 1 for p in parts) and len({p[-1] for p in parts}) == 1:
        for p in parts:
            p.pop()  # the same model folder under each run folder
    return {f: "/".join(p) for f, p in zip(distinct, parts, strict=True)}


# --------------------------------------------------------------------------- sniffing


def _looks_like_lm_eval(path: Path) -> bool:
    if path.is_dir():
        return any(True for _ in _scan_dir(path))
    if path.suffix == ".jsonl":
        return bool(_SAMPLES_RE.match(path.name)) or json_starts_with_key(
            read_head(path), "doc_id"
        )
    if path.suffix == ".json":
        return bool(_RESULTS_HEAD_RE.match(read_head(path)))
    return False


def _scan_dir(path: Path) -> Iterator[tuple[Path, str, str | None, str]]:
    """``(file, kind, task, date)`` for lm-eval files in ``path`` and its subfolders."""
    # lm-eval writes <output_path>/<model>/...; users point at either, or at a
    # folder of such outputs: look two levels down.
    folders = [path]
    level = [path]
    for _ in range(2):
        level = [sub for folder in level for sub in _subfolders(folder)]
        folders += level
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                names = sorted(e.name for e in entries if e.is_file())
        except OSError:
            continue
        for name in names:
            if (m := _SAMPLES_RE.match(name)) is not None:
                yield folder / name, "samples", m["task"], m["date"]
            elif name.startswith("results_") and (m := _RESULTS_RE.match(name)):
                yield folder / name, "results", None, m["date"]


def _subfolders(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(
                Path(e.path) for e in entries if e.is_dir() and e.name[:1] != "."
            )
    except OSError:
        return []


# --------------------------------------------------------------------------- planning


@dataclass(slots=True)
class _Plan:
    """The files of one lm-eval run: its results file and one samples file per task."""

    source: Path
    results: Path | None = None
    date: str | None = None
    tasks: dict[str, Path] = field(default_factory=dict)


def _results_beside(folder: Path, date: str) -> Path | None:
    """The results file of run ``date`` in ``folder`` (renamed ones too)."""
    found = sorted(
        p
        for p in folder.glob(f"*{date}.json")
        if (m := _RESULTS_RE.match(p.name)) and m["date"] == date
    )
    preferred = [p for p in found if p.name.startswith("results_")]
    if preferred:
        return preferred[0]
    return found[0] if found else None


def _samples_beside(folder: Path, date: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.glob(f"samples_*_{date}.jsonl")):
        m = _SAMPLES_RE.match(p.name)
        if m and m["date"] == date:
            out[m["task"]] = p
    return out


def _plan(path: Path, date: str | None, model: str | None) -> _Plan:
    if path.is_file():
        if path.suffix == ".jsonl":
            m = _SAMPLES_RE.match(path.name)
            if m is None:
                return _Plan(source=path, tasks={_task_from_name(path): path})
            return _Plan(
                source=path,
                results=_results_beside(path.parent, m["date"]),
                date=m["date"],
                tasks={m["task"]: path},
            )
        m = _RESULTS_RE.match(path.name)
        file_date = None if m is None else m["date"]
        tasks = {} if file_date is None else _samples_beside(path.parent, file_date)
        return _Plan(source=path, results=path, date=file_date, tasks=tasks)

    runs: dict[tuple[Path, str], _Plan] = {}
    for file, kind, task, file_date in _scan_dir(path):
        plan = runs.setdefault(
            (file.parent, file_date), _Plan(source=file.parent, date=file_date)
        )
        if kind == "samples":
            plan.tasks[task or _task_from_name(file)] = file
        else:
            plan.results = file
    if not runs:
        raise RunFormatError(
            "no lm-evaluation-harness output here: no samples_<task>_<date>.jsonl or "
            "results_<date>.json in the folder or its subfolders",
            path=path,
        )
    chosen = [
        (key, plan)
        for key, plan in runs.items()
        if (date is None or key[1] == date or key[1].startswith(date))
        and (model is None or key[0].name == model)
    ]
    if len(chosen) == 1:
        (folder, run_date), plan = chosen[0]
        if plan.results is None:  # a results file renamed by hand
            plan.results = _results_beside(folder, run_date)
        return plan

    def describe(key: tuple[Path, str], plan: _Plan) -> str:
        where = key[0].relative_to(path).as_posix()
        tasks = ", ".join(plan.tasks) or "no samples files"
        return (
            f"date={key[1]}"
            + ("" if where == "." else f" (in {where})")
            + (f": {tasks}")
        )

    listing = "; ".join(describe(k, p) for k, p in sorted(runs.items()))
    if not chosen:
        raise RunFormatError(
            f"the selector matches no run (date={date!r}, model={model!r}); the folder "
            f"holds {listing}",
            path=path,
            hint=f"pick one with {path}::date=<date>",
        )
    raise RunFormatError(
        f"the folder holds {len(chosen)} lm-eval runs: {listing}",
        path=path,
        hint=f"pick one with {path}::date=<date> (and model=<folder> if needed)",
    )


def _task_from_name(path: Path) -> str:
    stem = path.stem
    return stem[len("samples_") :] if stem.startswith("samples_") else stem


# --------------------------------------------------------------------------- reading


def results_document(path: Path | None, tool: str) -> dict[str, Any] | None:
    """The run's results file as a mapping with ``results`` (None: there is none)."""
    from pytest_runcompare.loaders._common import load_json

    if path is None:
        return None
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        found = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise RunFormatError(
            f"not an {tool} results file: expected an object with 'results', "
            f"found {found}",
            path=path,
        )
    return doc


def selected_tasks(
    tasks: Mapping[str, Any], task: str | None, path: Path
) -> dict[str, Any]:
    """The run's tasks by name, only those of ``task`` (``a+b``) when given."""
    found = dict(sorted(tasks.items()))
    if task is None:
        return found
    wanted = [t for t in re.split(r"[+\s]+", task) if t]
    missing = [t for t in wanted if t not in found]
    if missing:
        raise RunFormatError(
            f"task(s) {missing} not in this run (it has {sorted(found)})", path=path
        )
    return {t: found[t] for t in wanted}


def read_lm_eval(
    path: Path,
    *,
    date: str | None = None,
    task: str | None = None,
    model: str | None = None,
) -> Run:
    """Read an lm-eval samples file, results file or output folder as one run."""
    plan = _plan(path, date, model)
    results = results_document(plan.results, "lm-evaluation-harness")
    tasks = selected_tasks(plan.tasks, task, path)
    warnings: list[str] = []
    if plan.results is None:
        warnings.append(
            f"{plan.source}: no lm-eval results file of the same run found beside the "
            "samples; model, task versions, metric directions and corpus-level "
            "aggregates are unknown"
        )
    if not tasks and results is not None:
        return _aggregate_only(plan, results, warnings)
    forced: set[str] = set()
    while True:
        try:
            return _read_tasks(plan, tasks, results, warnings, forced)
        except _NeedFilterIds as need:
            forced.add(need.task)  # a filter the pre-scan missed: read again


class _NeedFilterIds(Exception):
    def __init__(self, task: str) -> None:
        self.task = task


def _filters_in(path: Path) -> list[str]:
    """The filters a samples file was logged with (a scan of the raw lines)."""
    import json

    from pytest_runcompare import limits
    from pytest_runcompare.loaders.files import check_regular

    check_regular(path)
    cap = limits.LINE_BYTES.value + 1  # a longer line is refused by iter_jsonl
    found: dict[str, None] = {}
    with path.open("rb") as handle:
        lines = iter(lambda: handle.readline(cap), b"")
        for number, line in enumerate(lines, start=1):
            if b'"filter": "' in line and (m := _FILTER_RE.search(line)):
                try:
                    name = json.loads(b'"' + m.group(1) + b'"')
                except UnicodeDecodeError as error:
                    bad = m.group(1)[error.start - 1 : error.start].hex()
                    raise RunFormatError(
                        f"not valid UTF-8 (byte 0x{bad})",
                        path=path,
                        line=number,
                        field="filter",
                        hint="run files must be UTF-8 encoded text",
                    ) from None
                except ValueError:  # a bad escape: iter_jsonl says where, exactly
                    continue
                found.setdefault(name, None)
    return list(found) or ["none"]


def _read_tasks(
    plan: _Plan,
    tasks: dict[str, Path],
    results: dict[str, Any] | None,
    warnings: list[str],
    forced: set[str],
) -> Run:
    from dataclasses import replace

    from pytest_runcompare.building import RunBuilder
    from pytest_runcompare.loaders.files import iter_jsonl

    with_task = len(tasks) > 1
    filters = {t: _filters_in(p) for t, p in tasks.items()}
    multi_filter = {t for t, f in filters.items() if len(f) > 1} | forced
    meta = _meta(plan, results, tasks, multi_filter)
    builder = RunBuilder(path=str(plan.source), definitions=meta.metric_definitions)
    skipped: dict[str, dict[str, str]] = {}
    for task_name, samples in tasks.items():
        truncated: list[str] = []
        with_filter = task_name in multi_filter
        seen_filters: set[str] = set()
        reader = _TaskReader(
            task=task_name,
            path=samples,
            with_task=with_task,
            with_filter=with_filter,
            skipped=skipped.setdefault(task_name, {}),
        )
        count = 0
        for records, lines in iter_jsonl(
            samples, tolerate_truncated_tail=True, warnings=truncated
        ):
            count += len(records)
            converted = [
                reader.convert(r, n) for r, n in zip(records, lines, strict=True)
            ]
            if not with_filter:
                seen_filters.update(reader.filters)
                if len(seen_filters) > 1:
                    raise _NeedFilterIds(task_name)
            _add(builder, converted, lines, samples)
        if truncated:
            raise truncation_error(
                truncated[0],
                samples,
                hint="lm-eval writes the samples file in one go at the end of a run: "
                "the file is cut off; restore it or re-run the evaluation",
            )
        if count == 0:
            others = [t for t in tasks if t != task_name]
            raise RunFormatError(
                f"the samples file of task {task_name!r} holds no samples: its "
                "datapoints and its metrics would be missing from the run",
                path=samples,
                hint="lm-eval writes every sample with --log_samples; restore the file "
                "or re-run the task"
                + (
                    f", or read the other tasks alone (::task={'+'.join(others)})"
                    if others
                    else ""
                ),
            )
    warnings.extend(_skipped_warnings(skipped, meta, with_task))
    builder.warnings.extend(warnings)
    return builder.finish(replace(meta, source=str(plan.source)))


def _add(
    builder: RunBuilder, records: list[dict[str, Any]], lines: list[int], path: Path
) -> None:
    # Several tasks share one builder, so its errors would name the folder: name the
    # samples file instead.
    try:
        builder.add(records, lines)
    except RunFormatError as error:
        if error.path == str(path):
            raise
        raise RunFormatError(
            error.reason,
            path=path,
            line=error.line,
            datapoint=error.datapoint,
            field=error.field,
            hint=error.hint,
        ) from None


@dataclass(slots=True)
class _TaskReader:
    """Turns the samples lines of one task into native records."""

    task: str
    path: Path
    with_task: bool
    with_filter: bool
    skipped: dict[str, str]
    filters: set[str] = field(default_factory=set)

    def convert(self, raw: Any, line: int) -> dict[str, Any]:
        if not isinstance(raw, dict) or "doc_id" not in raw:
            found = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
            raise RunFormatError(
                f"not an lm-evaluation-harness samples line: no 'doc_id' (found {found})",
                path=self.path,
                line=line,
                hint="lm-eval writes these files with --log_samples",
            )
        doc_id = raw["doc_id"]
        if isinstance(doc_id, bool) or not isinstance(doc_id, int | str):
            raise RunFormatError(
                f"doc_id must be an integer or a string, got {doc_id!r}",
                path=self.path,
                line=line,
                field="doc_id",
            )
        filter_name = raw.get("filter", "none")
        if not isinstance(filter_name, str):
            filter_name = str(filter_name)
        self.filters.add(filter_name)
        key = str(doc_id)
        tags: list[str] = []
        if self.with_filter:
            key = f"{key}/{filter_name}"
            tags.append(f"filter:{filter_name}")
        if self.with_task:
            key = f"{self.task}/{key}"
            tags.insert(0, f"task:{self.task}")
        names = raw.get("metrics")
        if not isinstance(names, list):
            names = [k for k in raw if k not in _NOT_METRICS]
        metrics: dict[str, float | bool] = {}
        for name in names:
            if not isinstance(name, str) or name not in raw:
                continue
            value = scalar(
                raw[name], path=self.path, line=line, datapoint=key, field=name
            )
            metric = f"{name},{filter_name}" if self.with_filter else name
            if value is None:
                self.skipped.setdefault(metric, _describe(raw[name]))
            else:
                metrics[metric] = value
        record: dict[str, Any] = {
            "id": key,
            "input": _prompt(raw.get("arguments")),
            "output": flatten_response(raw.get("filtered_resps")),
            "expected": raw.get("target"),
            "metrics": metrics,
        }
        if tags:
            record["slices"] = tags
        return record


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, float):
        return repr(value)
    return type(value).__name__


def _prompt(arguments: Any) -> Any:
    """The prompt of the first request: ``gen_args_0.arg_0`` (or ``[0][0]`` in old logs)."""
    if isinstance(arguments, dict):
        first = arguments.get("gen_args_0")
        if isinstance(first, dict):
            return first.get("arg_0")
        return None
    if isinstance(arguments, list) and arguments:
        first = arguments[0]
        if isinstance(first, list) and first:
            return first[0]
        return first
    return None


def _is_loglikelihood(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and str(value[1]) in ("True", "False")
        and not isinstance(value[0], list)
    )


def flatten_response(value: Any) -> str | None:
    """``filtered_resps`` as text, whatever its nesting.

    ``["text"]`` and ``[["text"]]`` give ``text``; log-likelihood responses
    (``[[logprob, is_greedy], ...]``, one pair per choice, numbers written as strings)
    give one ``logprob is_greedy`` line per choice.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list):
        if _is_loglikelihood(value):
            return f"{value[0]} {value[1]}"
        if len(value) == 1:
            return flatten_response(value[0])
        return "\n".join(flatten_response(v) or "" for v in value)
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _skipped_warnings(
    skipped: dict[str, dict[str, str]], meta: RunMeta, with_task: bool
) -> list[str]:
    out: list[str] = []
    for task_name, metrics in skipped.items():
        for metric, example in metrics.items():
            aggregate = meta.metrics.get(metric)
            where = f" in task {task_name!r}" if with_task else ""
            tail = (
                f"its aggregate ({aggregate:.4g}) comes from the results file"
                if aggregate is not None
                else "no aggregate for it was found in a results file"
            )
            out.append(
                f"lm_eval: metric {metric!r}{where} is not a number per sample (e.g. "
                f"{example}; corpus-level metrics log [gold, prediction] pairs): left "
                f"out of the per-datapoint metrics; {tail}"
            )
    return out


# --------------------------------------------------------------------------- metadata


def _split_key(key: str) -> tuple[str, str]:
    metric, _, filter_name = key.rpartition(",")
    return (metric, filter_name) if metric else (key, "none")


def _task_aggregates(entry: Any, with_filter: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    if not isinstance(entry, dict):
        return out
    for key, value in entry.items():
        if "," not in key:
            continue
        metric, filter_name = _split_key(key)
        if metric.endswith("_stderr"):
            continue
        number = scalar(value, field=f"results: {key}")
        if number is None or isinstance(number, bool):
            continue
        out[f"{metric},{filter_name}" if with_filter else metric] = float(number)
    return out


def _aggregates(
    results: dict[str, Any], tasks: list[str], multi_filter: set[str]
) -> dict[str, float]:
    """Aggregate metrics of the tasks read; across tasks only from a group's entry.

    A group's value is used for a metric when the group's tasks that report it are
    exactly the tasks read that report it: then it aggregates the same datapoints.
    """
    table = results.get("results") or {}
    per_task = {t: _task_aggregates(table.get(t), t in multi_filter) for t in tasks}
    if len(tasks) == 1:
        return per_task[tasks[0]]
    subtasks = results.get("group_subtasks")
    groups = {
        g: members
        for g, members in (subtasks.items() if isinstance(subtasks, dict) else ())
        if isinstance(members, list) and members and g in table
    }
    out: dict[str, float] = {}
    for name in sorted({n for values in per_task.values() for n in values}):
        having = {t for t in tasks if name in per_task[t]}
        if len(having) == 1:
            out[name] = per_task[next(iter(having))][name]
            continue
        for group, members in groups.items():
            reporting = {
                t
                for t in members
                if name in _task_aggregates(table.get(t), t in multi_filter)
            }
            value = _task_aggregates(table.get(group), False).get(name)
            if reporting == having and value is not None:
                out[name] = value
                break
    return out


def _iso_date(value: Any) -> str | None:
    from datetime import UTC, datetime

    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    return None if value is None else str(value)


def _python_version(env_info: Any) -> str | None:
    if not isinstance(env_info, str):
        return None
    m = re.search(r"^Python version: (\S+)", env_info, re.MULTILINE)
    return None if m is None else m.group(1)


def _per_task(value: Any, tasks: list[str]) -> Any:
    """One value when the tasks agree (or there is one task), else ``{task: value}``."""
    if not isinstance(value, dict):
        return None
    picked = {t: value[t] for t in tasks if t in value}
    if not picked:
        return None
    distinct = {repr(v) for v in picked.values()}
    if len(tasks) == 1 or (len(distinct) == 1 and len(picked) == len(tasks)):
        return next(iter(picked.values()))
    return picked


def _results_tasks(results: dict[str, Any]) -> list[str]:
    """The tasks (not groups) a results file reports."""
    subtasks = results.get("group_subtasks")
    groups = {
        g for g, m in (subtasks.items() if isinstance(subtasks, dict) else ()) if m
    }
    table = results.get("results")
    return sorted(
        k for k in (table if isinstance(table, dict) else ()) if k not in groups
    )


def _meta(
    plan: _Plan,
    results: dict[str, Any] | None,
    tasks: dict[str, Path],
    multi_filter: set[str],
) -> RunMeta:
    from pytest_runcompare.building import parse_meta

    names = list(tasks) or _results_tasks(results or {})
    if results is None:
        return parse_meta(
            {"lm_eval": {"tasks": names, "date": plan.date}},
            path=str(plan.source),
            format=FORMAT,
        )
    config = object_field(results, "config")
    model_args = config.get("model_args")
    model_name = results.get("model_name")
    if model_name is None and isinstance(model_args, dict):
        model_name = model_args.get("pretrained")
    params = {
        "model": config.get("model"),
        "model_args": model_args,
        "model_revision": config.get("model_revision"),
        "model_sha": config.get("model_sha"),
        "n-shot": _per_task(results.get("n-shot"), names),
        "limit": config.get("limit"),
        "gen_kwargs": config.get("gen_kwargs") or None,
        "batch_size": config.get("batch_size"),
        "system_instruction_sha": results.get("system_instruction_sha"),
        "chat_template_sha": results.get("chat_template_sha"),
        "fewshot_as_multiturn": results.get("fewshot_as_multiturn"),
        "seeds": {
            k: config[k]
            for k in ("random_seed", "numpy_seed", "torch_seed", "fewshot_seed")
            if config.get(k) is not None
        }
        or None,
    }
    environment = {
        "lm_eval": results.get("lm_eval_version"),
        "transformers": results.get("transformers_version"),
        "python": _python_version(results.get("pretty_env_info")),
    }
    task_hashes = results.get("task_hashes")
    hashes = (
        {t: task_hashes[t] for t in names if t in task_hashes}
        if isinstance(task_hashes, dict)
        else {}
    )
    if len(hashes) == 1:
        data_version: str | None = str(next(iter(hashes.values())))
    elif hashes:
        data_version = stable_hash(hashes, 64)
    else:
        data_version = None
    versions = object_field(results, "versions")
    version = _per_task({t: str(v) for t, v in versions.items()}, names)
    if isinstance(version, dict):
        version = ",".join(f"{t}={v}" for t, v in sorted(version.items()))
    hib_table = results.get("higher_is_better")
    hib_table = hib_table if isinstance(hib_table, dict) else {}
    try:
        metrics = _aggregates(results, names, multi_filter)
    except RunFormatError as error:  # a score beyond a float: the file is this one
        raise RunFormatError(
            error.reason, path=plan.source, field=error.field, hint=error.hint
        ) from None
    definitions: dict[str, dict[str, Any]] = {}
    for t in names:
        directions = object_field(hib_table, t)
        filters = {
            _split_key(k)[1]
            for k in ((results.get("results") or {}).get(t) or {})
            if isinstance(k, str) and "," in k
        }
        for metric, hib in directions.items():
            if not isinstance(hib, bool):
                continue
            keys = (
                [f"{metric},{f}" for f in sorted(filters)]
                if t in multi_filter
                else [metric]
            )
            for key in keys:
                spec = definitions.setdefault(key, {"higher_is_better": hib})
                if version is not None:
                    spec["version"] = version
    seed = config.get("random_seed")
    raw = {
        "name": model_name,
        "params": {k: v for k, v in params.items() if v is not None},
        "code_version": {"commit": results["git_hash"]}
        if results.get("git_hash")
        else None,
        "data_version": data_version,
        "environment": {k: v for k, v in environment.items() if v is not None},
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "created": _iso_date(results.get("date")),
        "metrics": metrics,
        "metric_definitions": definitions,
        "lm_eval": {
            "tasks": names,
            "date": plan.date,
            "results_file": str(plan.results),
            "task_versions": {t: versions[t] for t in names if t in versions},
            "task_hashes": hashes,
            "upper_git_hash": results.get("upper_git_hash"),
            "results": {
                t: (results.get("results") or {}).get(t)
                for t in names
                if t in (results.get("results") or {})
            },
        },
    }
    return parse_meta(raw, path=str(plan.results), format=FORMAT)


def _aggregate_only(plan: _Plan, results: dict[str, Any], warnings: list[str]) -> Run:
    """A results file without samples: the aggregates only."""
    from dataclasses import replace

    from pytest_runcompare.runs import Datapoints, Run

    meta = _meta(plan, results, {}, set())
    warnings.append(
        f"{plan.source}: no samples_<task>_{plan.date or '<date>'}.jsonl beside the "
        "results file (run lm_eval with --log_samples): only aggregate metrics can "
        "be compared"
    )
    return Run(
        meta=replace(meta, source=str(plan.source)),
        datapoints=Datapoints(ids=[], outputs=[], metrics={}),
        warnings=tuple(warnings),
    )
