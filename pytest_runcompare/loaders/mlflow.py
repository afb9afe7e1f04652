"""MLflow runs: the ``eval_results_table.json`` artifact, a local run folder, a run id.

- ``eval_results_table.json`` (what ``mlflow.evaluate`` logs, ``{"columns", "data"}``):
  one datapoint per row; columns ``<metric>/score`` or ``<metric>/v<n>/score`` are
  per-datapoint metrics (``.../justification`` columns are left out); the output is
  the first of ``outputs``/``prediction(s)``/``output``/``response`` (option
  ``output_column``), the expected value the first of ``targets``/``ground_truth``/
  ``target``/``expected`` (option ``target_column``), and the input the other columns
  (one value, or a mapping of column to value). The id is the column named by option
  ``id_column``, else a hash of the input.
- A run folder of a local file store (``mlruns/<experiment>/<run_id>/``): params,
  tags (``mlflow.source.git.commit``), the latest step of every metric, and the eval
  table from its artifacts when there is one.
- ``mlflow://<run_id>`` or ``runs:/<run_id>``: the same through the MLflow client
  (needs the ``mlflow`` extra; ``tracking_uri`` option or ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError, RunNotFoundError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.loaders._common import (
    json_starts_with_key,
    read_head,
    replicate_ids,
    scalar,
    stable_hash,
)

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "mlflow"
TABLE = "eval_results_table.json"
_URI_RE = re.compile(r"^(?:mlflow://|runs:/)(?P<run>[0-9A-Za-z_-]+)/?$")
_EXPERIMENT_RE = re.compile(r"^mlflow://experiments?/(?P<ref>[^/].*?)/?$")
_SCORE_RE = re.compile(r"^(?P<name>.+?)(?:/v(?P<version>\d+))?/score$")
_OUTPUT_COLUMNS = ("outputs", "prediction", "predictions", "output", "response")
_TARGET_COLUMNS = ("targets", "ground_truth", "target", "expected", "label", "answer")
#: Columns the default evaluator derives from the output: metrics, not inputs.
_DERIVED_METRICS = ("token_count", "latency")
_OPTION_KEYS = ("id_column", "output_column", "target_column", "input_columns")


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read an MLflow eval table, run folder or run id, or ``None`` if not MLflow."""
    fmt = options.get("format")
    if fmt is not None and fmt != FORMAT:
        return None
    columns = {k: options[k] for k in _OPTION_KEYS if options.get(k) is not None}
    uri = _URI_RE.match(location)
    if uri is not None:
        return read_tracking_run(
            uri["run"], tracking_uri=options.get("tracking_uri"), **columns
        )
    path = Path(location)
    if path.is_dir():
        if fmt is None and not _is_run_folder(path):
            return None
        return read_run_folder(path, **columns)
    if fmt is None and not _looks_like_table(path):
        return None
    return read_eval_table(path, **columns)


@hookimpl(trylast=True)
def pytest_runcompare_list_runs(
    location: str, options: Mapping[str, Any]
) -> list[tuple[str, str]] | None:
    """Every finished run of an experiment, labelled by run name.

    ``mlflow://experiment/<name or id>`` through the client, or the experiment folder
    of a local file store (``mlruns/<experiment id>/``), whose run folders it lists.
    """
    fmt = options.get("format")
    if fmt is not None and fmt != FORMAT:
        return None
    experiment = _EXPERIMENT_RE.match(location)
    if experiment is not None:
        return list_tracking_experiment(
            experiment["ref"], tracking_uri=options.get("tracking_uri")
        )
    path = Path(location)
    if "::" in location or not path.is_dir() or _is_run_folder(path):
        return None
    return list_experiment_folder(path)


def _is_run_folder(path: Path) -> bool:
    meta = path / "meta.yaml"
    if not meta.is_file():
        return False
    return b"run_id:" in read_head(meta) and any(
        (path / sub).is_dir() for sub in ("metrics", "params", "tags", "artifacts")
    )


def _looks_like_table(path: Path) -> bool:
    if path.suffix.lower() != ".json":
        return False
    head = read_head(path)
    if not json_starts_with_key(head, "columns"):
        return False
    return path.name == TABLE or b"/score" in head


# --------------------------------------------------------------------------- the table


def _pick(
    columns: list[str],
    given: str | None,
    defaults: tuple[str, ...],
    path: Path,
    what: str,
) -> str | None:
    if given is not None:
        if given not in columns:
            raise RunFormatError(
                f"the {what} column {given!r} is not in the table (columns: {columns})",
                path=path,
            )
        return given
    return next((c for c in defaults if c in columns), None)


def read_eval_table(
    path: Path,
    *,
    id_column: str | None = None,
    output_column: str | None = None,
    target_column: str | None = None,
    input_columns: Any = None,
    meta: RunMeta | None = None,
    warnings: list[str] | None = None,
) -> Run:
    """An ``eval_results_table.json`` as a run (``meta`` from its run, if known)."""
    from dataclasses import replace

    from pytest_runcompare.building import build_run, parse_meta
    from pytest_runcompare.loaders._common import load_json

    doc = load_json(path)
    if not (
        isinstance(doc, dict)
        and isinstance(doc.get("columns"), list)
        and isinstance(doc.get("data"), list)
    ):
        found = sorted(map(str, doc)) if isinstance(doc, dict) else type(doc).__name__
        raise RunFormatError(
            f"not an MLflow eval table: expected an object with 'columns' and 'data' "
            f"lists, found {found}",
            path=path,
            hint="mlflow.evaluate logs it as the eval_results_table.json artifact",
        )
    columns = [str(c) for c in doc["columns"]]
    scores: dict[str, str] = {}
    versions: dict[str, str] = {}
    for column in columns:
        m = _SCORE_RE.match(column)
        if m is not None:
            scores[column] = m["name"]
            if m["version"]:
                versions[m["name"]] = m["version"]
    for column in _DERIVED_METRICS:
        if column in columns:
            scores[column] = column
    output = _pick(columns, output_column, _OUTPUT_COLUMNS, path, "output")
    target = _pick(columns, target_column, _TARGET_COLUMNS, path, "target")
    ident = _pick(columns, id_column, (), path, "id")
    if input_columns is not None:
        wanted = (
            [input_columns] if isinstance(input_columns, str) else list(input_columns)
        )
        for c in wanted:
            _pick(columns, str(c), (), path, "input")
        inputs = [str(c) for c in wanted]
    else:
        inputs = [
            c
            for c in columns
            if c not in scores
            and c not in (output, target)
            and not c.endswith("/justification")
        ]
    index = {c: i for i, c in enumerate(columns)}
    records: list[dict[str, Any]] = []
    for n, row in enumerate(doc["data"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise RunFormatError(
                f"row has {len(row) if isinstance(row, list) else type(row).__name__} "
                f"values, the table has {len(columns)} columns",
                path=path,
                field=f"data[{n}]",
            )
        values = {c: row[index[c]] for c in inputs}
        given_input = next(iter(values.values())) if len(values) == 1 else values
        metrics = {}
        for column, name in scores.items():
            value = scalar(
                row[index[column]],
                path=path,
                datapoint=row[index[ident]] if ident else f"data[{n}]",
                field=column,
            )
            if value is not None:
                metrics[name] = value
        records.append(
            {
                "id": row[index[ident]] if ident else f"in:{stable_hash(values)}",
                "input": given_input,
                "output": None if output is None else row[index[output]],
                "expected": None if target is None else row[index[target]],
                "metrics": metrics,
            }
        )
    _disambiguate(records)
    if meta is None:
        meta = parse_meta({}, path=str(path), format=FORMAT)
    definitions = dict(meta.metric_definitions)
    if versions:
        from pytest_runcompare.runs import MetricDefinition

        for name, version in versions.items():
            old = definitions.get(name, MetricDefinition())
            definitions[name] = replace(old, version=version)
        meta = replace(meta, metric_definitions=definitions)
    run = build_run(records, meta, path=str(path), warnings=warnings or [])
    return replace(run, meta=replace(run.meta, source=meta.source or str(path)))


def _disambiguate(records: list[dict[str, Any]]) -> None:
    """Rows with the same input (the same question asked twice) become replicates."""
    ids, groups = replicate_ids([r["id"] for r in records])
    for r, id_, group in zip(records, ids, groups, strict=True):
        r["id"] = id_
        if group is not None:
            r["group"] = group


# --------------------------------------------------------------------------- run folder


def _read_tree(folder: Path) -> dict[str, str]:
    """``{name: text}`` for the files under ``folder``; names keep their slashes."""
    from pytest_runcompare import limits
    from pytest_runcompare.loaders.files import read_text

    out: dict[str, str] = {}
    if not folder.is_dir():
        return out
    files = [file for file in sorted(folder.rglob("*")) if file.is_file()]
    if len(files) > limits.METRICS.value:  # one file per metric, param or tag
        raise RunFormatError(
            limits.METRICS.exceeded(f"{len(files):,} files"), path=folder
        )
    for file in files:
        # Bounded and UTF-8-checked like every run file; errors name the file.
        out[file.relative_to(folder).as_posix()] = read_text(file).strip()
    return out


def _latest(
    path: Path, text: str, history: list[tuple[int, int, float]] | None = None
) -> float | None:
    """The value at the latest step of a metric file (``<ts> <value> <step> ...``).

    ``history`` receives every ``(step, timestamp, value)`` read, for the curves.
    """
    best: tuple[int, int, float] | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            timestamp, value = int(parts[0]), float(parts[1])
            step = int(parts[2]) if len(parts) > 2 else 0
        except (IndexError, ValueError):
            raise RunFormatError(
                f"not an MLflow metric line (<timestamp> <value> <step>): {line[:60]!r}",
                path=path,
                line=n,
            ) from None
        if history is not None:
            history.append((step, timestamp, value))
        if best is None or (step, timestamp) >= best[:2]:
            best = (step, timestamp, value)
    return None if best is None else best[2]


def _curves(histories: Mapping[str, list[tuple[int, int, float]]]) -> dict[str, Any]:
    """The metrics logged at more than one step, as curves (at most ``CURVES``)."""
    from pytest_runcompare import limits
    from pytest_runcompare.curves import from_history

    out: dict[str, Any] = {}
    for name, points in sorted(histories.items()):
        curve = from_history(points)
        if curve is not None and len(out) < limits.CURVES.value:
            out[name] = curve
    return out


def _iso_ms(value: Any) -> str | None:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _run_meta(
    *,
    name: Any,
    run_id: Any,
    experiment_id: Any,
    status: Any,
    start_time: Any,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    metrics: Mapping[str, float],
    path: str,
) -> RunMeta:
    from pytest_runcompare.building import parse_meta

    commit = tags.get("mlflow.source.git.commit")
    seed = params.get("seed")
    environment = {
        k.removeprefix("mlflow."): v
        for k, v in tags.items()
        if k
        in (
            "mlflow.source.name",
            "mlflow.source.git.repoURL",
            "mlflow.source.git.branch",
        )
    }
    raw = {
        "name": name,
        "params": dict(params),
        "code_version": {"commit": commit} if commit else None,
        "environment": environment or None,
        "seed": int(seed) if seed is not None and seed.isdigit() else None,
        "created": _iso_ms(start_time),
        "metrics": dict(metrics),
        "mlflow": {
            "run_id": run_id,
            "experiment_id": experiment_id,
            "status": status,
            "tags": {k: v for k, v in tags.items() if k != "mlflow.loggedArtifacts"},
        },
    }
    return parse_meta(raw, path=path, format=FORMAT)


def read_run_folder(path: Path, **columns: Any) -> Run:
    """A run folder of a local file store (``mlruns/<experiment>/<run_id>/``)."""
    from dataclasses import replace

    from pytest_runcompare.loaders.files import parse_yaml, read_text
    from pytest_runcompare.runs import Datapoints, Run

    info = parse_yaml(read_text(path / "meta.yaml"), path / "meta.yaml")
    if not isinstance(info, dict) or "run_id" not in info:
        raise RunFormatError(
            "not an MLflow run folder: meta.yaml has no run_id", path=path / "meta.yaml"
        )
    metrics: dict[str, float] = {}
    histories: dict[str, list[tuple[int, int, float]]] = {}
    for name, text in _read_tree(path / "metrics").items():
        value = _latest(path / "metrics" / name, text, histories.setdefault(name, []))
        if value is not None and value == value and abs(value) != float("inf"):
            metrics[name] = value
    tags = _read_tree(path / "tags")
    meta = _run_meta(
        name=info.get("run_name") or tags.get("mlflow.runName"),
        run_id=info.get("run_id"),
        experiment_id=info.get("experiment_id"),
        status=info.get("status"),
        start_time=info.get("start_time"),
        params=_read_tree(path / "params"),
        tags=tags,
        metrics=metrics,
        path=str(path),
    )
    meta = replace(meta, source=str(path), curves=_curves(histories))
    warnings: list[str] = []
    if info.get("status") not in (None, 3, "FINISHED"):
        warnings.append(
            f"{path}: the MLflow run's status is {info.get('status')!r}, not FINISHED"
        )
    tables = (
        sorted((path / "artifacts").rglob(TABLE))
        if (path / "artifacts").is_dir()
        else []
    )
    if tables:
        return read_eval_table(tables[0], meta=meta, warnings=warnings, **columns)
    warnings.append(
        f"{path}: the run has no {TABLE} artifact: only its logged metrics can be "
        "compared"
    )
    return Run(
        meta=meta,
        datapoints=Datapoints(ids=[], outputs=[], metrics={}),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- experiments

_FINISHED = (3, "FINISHED")  # RunStatus.FINISHED, in meta.yaml and through the client


def _labelled(
    runs: list[tuple[Any, str, str, str]], where: str, statuses: list[str]
) -> list[tuple[str, str]]:
    """``(label, location)`` of ``(start time, run id, name, location)``, in start order.

    A run name that two runs share is followed by the run id's first 8 characters.
    """
    if not runs:
        seen = ", ".join(f"{n} {s}" for s, n in _count(statuses)) or "none"
        raise RunNotFoundError(
            f"{where}: the experiment holds no finished run (runs: {seen}); a sweep "
            "compares FINISHED runs only"
        )
    runs.sort(key=lambda r: (int(r[0] or 0), r[1]))
    names = [r[2] for r in runs]
    return [
        (name if names.count(name) == 1 else f"{name} ({run_id[:8]})", location)
        for _, run_id, name, location in runs
    ]


def _count(statuses: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return sorted(counts.items())


def list_experiment_folder(path: Path) -> list[tuple[str, str]] | None:
    """The finished runs of a file store's experiment folder (``None``: not one)."""
    from pytest_runcompare.loaders.files import parse_yaml, read_text

    folders = [c for c in sorted(path.iterdir()) if c.is_dir() and _is_run_folder(c)]
    if not folders:
        return None
    runs: list[tuple[Any, str, str, str]] = []
    statuses: list[str] = []
    for folder in folders:
        info = parse_yaml(read_text(folder / "meta.yaml"), folder / "meta.yaml")
        if not isinstance(info, dict) or "run_id" not in info:
            raise RunFormatError(
                "not an MLflow run folder: meta.yaml has no run_id",
                path=folder / "meta.yaml",
            )
        if info.get("lifecycle_stage") == "deleted":
            continue
        status = info.get("status")
        statuses.append(str(status))
        if status not in _FINISHED:
            continue
        name_tag = folder / "tags" / "mlflow.runName"
        name = info.get("run_name") or (
            read_text(name_tag).strip() if name_tag.is_file() else None
        )
        run_id = str(info["run_id"])
        runs.append((info.get("start_time"), run_id, str(name or run_id), str(folder)))
    return _labelled(runs, str(path), statuses)


def list_tracking_experiment(
    ref: str, *, tracking_uri: str | None = None
) -> list[tuple[str, str]]:
    """The finished runs of an experiment on a tracking server, by name or id."""
    from pytest_runcompare import limits

    where = f"mlflow://experiment/{ref}"
    try:
        from mlflow.entities import ViewType
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise RunNotFoundError(
            f"{where}: reading an experiment from a tracking server needs MLflow: "
            "pip install 'pytest-runcompare[mlflow]'"
        ) from None
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        experiment = client.get_experiment_by_name(ref)
        if experiment is None:
            try:
                experiment = client.get_experiment(ref)
            except MlflowException:
                experiment = None
        if experiment is None:
            raise RunNotFoundError(
                f"{where}: no experiment named {ref!r} (nor with that id) on "
                f"{client.tracking_uri}"
            )
        found = client.search_runs(
            [experiment.experiment_id],
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=min(limits.CANDIDATES.value + 1, 50_000),
        )
    except MlflowException as error:
        raise RunNotFoundError(f"{where}: {error.message}") from None
    runs = [
        (
            r.info.start_time,
            r.info.run_id,
            r.info.run_name or r.info.run_id,
            f"mlflow://{r.info.run_id}",
        )
        for r in found
        if r.info.status in _FINISHED
    ]
    return _labelled(runs, where, [str(r.info.status) for r in found])


# --------------------------------------------------------------------------- client


def read_tracking_run(
    run_id: str, *, tracking_uri: str | None = None, **columns: Any
) -> Run:
    """A run on a tracking server, through the MLflow client (the ``mlflow`` extra)."""
    import tempfile
    from dataclasses import replace

    from pytest_runcompare import limits

    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise RunNotFoundError(
            f"mlflow://{run_id}: reading runs from a tracking server needs MLflow: "
            "pip install 'pytest-runcompare[mlflow]'"
        ) from None
    client = MlflowClient(tracking_uri=tracking_uri)
    where = f"mlflow://{run_id}"
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        raise RunNotFoundError(f"{where}: {error.message}") from None
    data, info = run.data, run.info
    meta = _run_meta(
        name=info.run_name,
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        status=info.status,
        start_time=info.start_time,
        params=data.params,
        tags=data.tags,
        metrics=dict(data.metrics),
        path=where,
    )
    histories = {
        key: [
            (m.step, m.timestamp, m.value)
            for m in client.get_metric_history(run_id, key)
        ]
        for key in sorted(data.metrics)[: limits.CURVES.value]
    }
    meta = replace(meta, source=where, curves=_curves(histories))
    names = {a.path for a in client.list_artifacts(run_id)}
    if TABLE not in names:
        from pytest_runcompare.runs import Datapoints, Run

        return Run(
            meta=meta,
            datapoints=Datapoints(ids=[], outputs=[], metrics={}),
            warnings=(f"{where}: the run has no {TABLE} artifact",),
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, TABLE, tmp)
        return read_eval_table(Path(local), meta=meta, **columns)
