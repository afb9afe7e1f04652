"""lmms-eval output (``--output_path ... --log_samples``): lm-eval-harness's layout, renamed.

lmms-eval writes ``<output_path>/<model>/<date>_results.json`` and one
``<date>_samples_<task>.jsonl`` per task (``<date>`` is ``YYYYMMDD_HHMMSS``;
``loggers/evaluation_tracker.py``). A location is a samples file, a results file or
the folder holding them (``::date=``, ``model=``, ``task=a+b`` pick a run, as for
lm-eval).

The results file is lm-eval-harness's, so its metadata and aggregates are read by the
lm-eval reader's functions. A samples line differs: ``input`` is the prompt text (the
documents and their images are not logged), ``filtered_resps`` is flattened, a metric
may be an object whose ``score`` lmms-eval itself reads per sample (``mme``'s
``{"question_id", "category", "score"}``), and ``input_media`` names the images, kept
as references (an inline ``data:`` image becomes its type, size and hash).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
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
from pytest_runcompare.loaders.lm_eval import (
    _NOT_METRICS,
    _add,
    _describe,
    _meta,
    _Plan,
    flatten_response,
    list_dated_runs,
    results_document,
    selected_tasks,
)

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "lmms_eval"
_FORMAT_NAMES = (FORMAT, "lmms-eval")
_DATE = r"\d{8}_\d{6}"
_SAMPLES_RE = re.compile(rf"^(?P<date>{_DATE})_samples_(?P<task>.+)\.jsonl$")
_RESULTS_RE = re.compile(rf"^(?P<date>{_DATE})_results\.json$")
_SELECTOR_KEYS = ("date", "task", "model")
#: Keys of an lmms-eval samples line that are not metrics (besides lm-eval's).
_NOT_METRICS_HERE = _NOT_METRICS | {"input", "input_media", "token_counts"}


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read lmms-eval output, or ``None`` when the path is not that."""
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt not in _FORMAT_NAMES:
        return None
    path, selector = split_location(location)
    if fmt is None and not _looks_like_lmms_eval(path):
        return None
    picked = merged_options(
        options,
        parse_selector(selector, path=path, accepted=_SELECTOR_KEYS),
        _SELECTOR_KEYS,
    )
    return read_lmms_eval(path, **picked)


@hookimpl(trylast=True)
def pytest_runcompare_list_runs(
    location: str, options: Mapping[str, Any]
) -> list[tuple[str, str]] | None:
    """Every run of an output folder with several, as ``<folder>::date=<date>``.

    Labelled as lm-eval's are: by the date when the runs share one folder, else by
    the part of the folder's path that differs, with ``@<date>`` when it holds several.
    """
    return list_dated_runs(location, options, _FORMAT_NAMES, _SELECTOR_KEYS, _scan_dir)


def _looks_like_lmms_eval(path: Path) -> bool:
    if path.is_dir():
        return any(True for _ in _scan_dir(path))
    if path.suffix == ".jsonl":
        if _SAMPLES_RE.match(path.name):
            return True
        head = read_head(path)
        # lm-eval logs the request ``arguments``; lmms-eval replaces them by ``input``
        return (
            json_starts_with_key(head, "doc_id")
            and b'"doc_hash"' in head
            and b'"input"' in head
            and b'"arguments"' not in head
        )
    return path.suffix == ".json" and bool(_RESULTS_RE.match(path.name))


def _scan_dir(path: Path) -> Iterator[tuple[Path, str, str | None, str]]:
    """``(file, kind, task, date)`` for lmms-eval files in ``path`` and two levels down."""
    folders = [path]
    level = [path]
    for _ in range(2):
        level = [sub for folder in level for sub in _subfolders(folder)]
        folders += level
    for folder in folders:
        yield from _scan_dir_flat(folder)


def _subfolders(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(
                Path(e.path) for e in entries if e.is_dir() and e.name[:1] != "."
            )
    except OSError:
        return []


def _plan(path: Path, date: str | None, model: str | None) -> _Plan:
    if path.is_file():
        m = _SAMPLES_RE.match(path.name) or _RESULTS_RE.match(path.name)
        if m is None:  # a samples file renamed by hand: the task is its stem
            return _Plan(source=path, tasks={path.stem: path})
        found = {
            (kind, task): file
            for file, kind, task, file_date in _scan_dir_flat(path.parent)
            if file_date == m["date"]
        }
        results = found.get(("results", None))
        if path.suffix == ".jsonl":
            return _Plan(
                source=path,
                results=results,
                date=m["date"],
                tasks={m["task"]: path},
            )
        tasks = {t: f for (kind, t), f in found.items() if kind == "samples" and t}
        return _Plan(source=path, results=path, date=m["date"], tasks=tasks)
    runs: dict[tuple[Path, str], _Plan] = {}
    for file, kind, task, file_date in _scan_dir(path):
        plan = runs.setdefault(
            (file.parent, file_date), _Plan(source=file.parent, date=file_date)
        )
        if kind == "samples" and task is not None:
            plan.tasks[task] = file
        else:
            plan.results = file
    if not runs:
        raise RunFormatError(
            "no lmms-eval output here: no <date>_samples_<task>.jsonl or "
            "<date>_results.json in the folder or its subfolders",
            path=path,
        )
    chosen = [
        (key, plan)
        for key, plan in runs.items()
        if (date is None or key[1].startswith(date))
        and (model is None or key[0].name == model)
    ]
    if len(chosen) == 1:
        return chosen[0][1]

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
        f"the folder holds {len(chosen)} lmms-eval runs: {listing}",
        path=path,
        hint=f"pick one with {path}::date=<date> (and model=<folder> if needed)",
    )


def _scan_dir_flat(folder: Path) -> Iterator[tuple[Path, str, str | None, str]]:
    """The lmms-eval files of ``folder`` itself (beside a file pointed at)."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.is_file())
    except OSError:
        return
    for name in names:
        if (m := _SAMPLES_RE.match(name)) is not None:
            yield folder / name, "samples", m["task"], m["date"]
        elif (m := _RESULTS_RE.match(name)) is not None:
            yield folder / name, "results", None, m["date"]


# --------------------------------------------------------------------------- reading


def read_lmms_eval(
    path: Path,
    *,
    date: str | None = None,
    task: str | None = None,
    model: str | None = None,
) -> Run:
    """Read an lmms-eval samples file, results file or output folder as one run."""
    from dataclasses import replace

    from pytest_runcompare.building import RunBuilder
    from pytest_runcompare.loaders.files import iter_jsonl

    plan = _plan(path, date, model)
    results = results_document(plan.results, "lmms-eval")
    tasks = selected_tasks(plan.tasks, task, path)
    if not tasks:
        raise RunFormatError(
            f"no {plan.date or '<date>'}_samples_<task>.jsonl beside the results file: "
            "lmms-eval writes them with --log_samples",
            path=path,
            hint="re-run lmms-eval with --log_samples to compare datapoints",
        )
    warnings: list[str] = []
    if results is None:
        warnings.append(
            f"{plan.source}: no lmms-eval results file of the same run found beside "
            "the samples; model, task versions, metric directions and aggregates are "
            "unknown"
        )
    meta = _lmms_meta(plan, results, tasks)
    builder = RunBuilder(path=str(plan.source), definitions=meta.metric_definitions)
    skipped: dict[str, dict[str, str]] = {}
    with_task = len(tasks) > 1
    for task_name, samples in tasks.items():
        score_key = _score_key(results, task_name)
        truncated: list[str] = []
        count = 0
        for records, lines in iter_jsonl(
            samples, tolerate_truncated_tail=True, warnings=truncated
        ):
            count += len(records)
            converted = [
                _record(
                    raw,
                    line,
                    samples,
                    task_name,
                    with_task,
                    score_key,
                    skipped.setdefault(task_name, {}),
                )
                for raw, line in zip(records, lines, strict=True)
            ]
            _add(builder, converted, lines, samples)
        if truncated:
            raise truncation_error(
                truncated[0],
                samples,
                hint="lmms-eval writes the samples file at the end of a run: the file "
                "is cut off; restore it or re-run the evaluation",
            )
        if count == 0:
            raise RunFormatError(
                f"the samples file of task {task_name!r} holds no samples: its "
                "datapoints and its metrics would be missing from the run",
                path=samples,
                hint="restore the file or re-run the task",
            )
    warnings.extend(_skipped_warnings(skipped, meta, with_task))
    builder.warnings.extend(warnings)
    try:
        return builder.finish(replace(meta, source=str(plan.source)))
    except RunFormatError as error:  # a duplicate id: name its samples file
        task_name = (
            str(error.datapoint).partition("/")[0] if with_task else next(iter(tasks))
        )
        if error.path != str(plan.source) or task_name not in tasks:
            raise
        raise RunFormatError(
            error.reason,
            path=tasks[task_name],
            line=error.line,
            datapoint=error.datapoint,
            field=error.field,
            hint=error.hint,
        ) from None


def _skipped_warnings(
    skipped: dict[str, dict[str, str]], meta: RunMeta, with_task: bool
) -> list[str]:
    out = []
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
                f"lmms_eval: metric {metric!r}{where} is not a number per sample (e.g. "
                f"{example}, which the task aggregates over all samples): left out of "
                f"the per-datapoint metrics; {tail}"
            )
    return out


def _score_key(results: dict[str, Any] | None, task: str) -> str:
    """The key lmms-eval reads a per-sample score from (the task's ``score_key``)."""
    config = object_field(object_field(results or {}, "configs"), task)
    key = config.get("score_key")
    return key if isinstance(key, str) and key else "score"


def _record(
    raw: Any,
    line: int,
    path: Path,
    task: str,
    with_task: bool,
    score_key: str,
    skipped: dict[str, str],
) -> dict[str, Any]:
    if not isinstance(raw, dict) or "doc_id" not in raw:
        found = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise RunFormatError(
            f"not an lmms-eval samples line: no 'doc_id' (found {found})",
            path=path,
            line=line,
            hint="lmms-eval writes these files with --log_samples",
        )
    doc_id = raw["doc_id"]
    if isinstance(doc_id, bool) or not isinstance(doc_id, int | str):
        raise RunFormatError(
            f"doc_id must be an integer or a string, got {_preview(doc_id)}",
            path=path,
            line=line,
            field="doc_id",
        )
    key = f"{task}/{doc_id}" if with_task else str(doc_id)
    metrics: dict[str, float | bool] = {}
    for name, value in raw.items():
        if name in _NOT_METRICS_HERE:
            continue
        if isinstance(value, dict) and score_key in value:
            field = f"{name}.{score_key}"
            value = value[score_key]
        else:
            field = name
        number = scalar(value, path=path, line=line, datapoint=key, field=field)
        if number is None:
            skipped.setdefault(name, _describe(raw[name]))
        else:
            metrics[name] = number
    record: dict[str, Any] = {
        "id": key,
        "input": _references(raw.get("input")),
        "output": flatten_response(raw.get("filtered_resps")),
        "expected": raw.get("target"),
        "metrics": metrics,
    }
    meta: dict[str, Any] = {}
    if raw.get("input_media"):
        meta["input_media"] = _references(raw["input_media"])
    if raw.get("resps") is not None:  # before reasoning tags were stripped
        meta["raw_response"] = flatten_response(raw["resps"])
    counts = raw.get("token_counts")
    if isinstance(counts, list) and any(c is not None for c in counts):
        meta["token_counts"] = counts
    if meta:
        record["meta"] = meta
    if with_task:
        record["slices"] = [f"task:{task}"]
    return record


def _preview(value: Any) -> str:
    from pytest_runcompare.untrusted import one_line

    text = repr(value)
    return one_line(text if len(text) <= 40 else text[:40] + "...")


def _references(value: Any, depth: int = 0) -> Any:
    """``value`` with inline ``data:`` media replaced by a reference to it.

    Paths and URLs are references already; a ``data:image/png;base64,...`` string
    (lmms-eval inlines images of up to 300 kB in ``input_media``) becomes
    ``data:image/png;base64 (<n> characters, sha256 <hash>)``.
    """
    from pytest_runcompare import limits

    if isinstance(value, str):
        if value.startswith("data:") and "," in value:
            kind, _, body = value.partition(",")
            return f"{kind} ({len(body):,} characters, sha256 {stable_hash(body)})"
        return value
    if depth >= limits.NESTING.value:
        return value
    if isinstance(value, list):
        return [_references(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _references(v, depth + 1) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- metadata


def _lmms_meta(
    plan: _Plan, results: dict[str, Any] | None, tasks: dict[str, Path]
) -> RunMeta:
    """lm-eval's metadata of the results file, with lmms-eval's own fields."""
    from dataclasses import replace

    meta = _meta(plan, results, tasks, set())
    extra = dict(meta.extra)
    extra[FORMAT] = extra.pop("lm_eval", {})
    environment = dict(meta.environment)
    name = meta.name
    if results is not None:
        environment.pop("lm_eval", None)
        version = results.get("lmms_eval_version")
        if version is not None:
            environment["lmms_eval"] = version
        config = object_field(results, "config")
        if not name:
            name = _model_name(config)
        if results.get("git_branch"):
            extra[FORMAT]["git_branch"] = results["git_branch"]
    return replace(
        meta, name=name or None, environment=environment, extra=extra, format=FORMAT
    )


def _model_name(config: Mapping[str, Any]) -> str | None:
    """The model: ``pretrained=`` of lmms-eval's ``model_args`` string, else the model."""
    args = config.get("model_args")
    if isinstance(args, str):
        for part in args.split(","):
            key, _, value = part.partition("=")
            if key.strip() == "pretrained" and value.strip():
                return value.strip()
    if isinstance(args, dict) and isinstance(args.get("pretrained"), str):
        return str(args["pretrained"])
    model = config.get("model")
    return None if model is None else str(model)
