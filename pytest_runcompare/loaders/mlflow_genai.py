"""MLflow 3 GenAI evaluations (``mlflow.genai.evaluate``): a run's traces and assessments.

Point at ``mlflow://<run_id>::traces`` (or ``runs:/<run_id>::traces``, or
``mlflow://<run_id>`` with ``format: mlflow_genai``); the run is read through the
MLflow client (the ``mlflow`` extra; option ``tracking_uri`` or
``MLFLOW_TRACKING_URI``).

- One datapoint per trace the evaluation linked to the run. **id**: a hash of the
  trace's request (``in:<hash>``), so that two evaluations of the same data pair up:
  each evaluation makes new traces, whose ids never match across runs. Option
  ``id_from: trace`` uses the trace id instead (traces re-scored in place keep
  theirs), ``id_input: <key>`` the value of one key of the request. Requests asked
  twice become replicates ``<id>#1``, ``<id>#2`` grouped together.
- **input**: the trace's request; **output**: its response; **expected**: its
  expectations (one value, or a mapping of name to value when there are several).
- **metrics**: one per feedback name that this run logged: numbers as they are,
  booleans and ``yes``/``no`` (MLflow's ``CategoricalRating``) as binary metrics.
  Other values (categories such as ``formal``) map to no number: they are left out
  of the metrics with a warning naming them, and kept in the datapoint's
  ``meta.feedback``. A feedback that ended in an error is missing, with a warning.
- **metadata**: the run's params, tags and metrics (``<scorer>/mean`` aggregates), as
  the generic MLflow reader reads them; each scorer's source (type, id) and digest
  in ``meta.extra["mlflow_genai"]["scorers"]`` and its metric's description.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError, RunNotFoundError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.loaders._common import replicate_ids, stable_hash

if TYPE_CHECKING:
    from pytest_runcompare.runs import MetricDefinition, Run

FORMAT = "mlflow_genai"
_URI_RE = re.compile(
    r"^(?:mlflow://|runs:/)(?P<run>[0-9A-Za-z_-]+)/?(?:::(?P<sel>traces))?$"
)
_ID_FROM = ("inputs", "trace")
#: Feedback strings that MLflow's judges use for pass and fail (``CategoricalRating``).
_YES_NO = {"yes": True, "no": False}
_SOURCE_RUN = "mlflow.assessment.sourceRunId"
_DIGEST = "mlflow.assessment.scorerDigest"
_PAGE = 500


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read the GenAI traces of an MLflow run, or ``None`` if not asked for."""
    fmt = options.get("format")
    if fmt is not None and fmt != FORMAT:
        return None
    match = _URI_RE.match(location)
    if match is None or (match["sel"] is None and fmt != FORMAT):
        return None
    id_from = options.get("id_from", "inputs")
    if id_from not in _ID_FROM:
        raise RunFormatError(
            f"option id_from must be one of {list(_ID_FROM)}, got {id_from!r}",
            path=location,
            field="id_from",
        )
    id_input = options.get("id_input")
    return read_genai_run(
        match["run"],
        tracking_uri=options.get("tracking_uri"),
        id_from=str(id_from),
        id_input=None if id_input is None else str(id_input),
    )


# --------------------------------------------------------------------------- traces


@dataclass(slots=True)
class _Scorer:
    """What the traces say about one feedback name: its source, values and kind."""

    source_type: str | None = None
    source_id: str | None = None
    digest: str | None = None
    numbers: int = 0
    flags: int = 0
    errors: int = 0
    others: set[str] = field(default_factory=set)
    conflicts: int = 0


def _json_value(text: Any) -> Any:
    """A trace's request or response, parsed when it is JSON text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _mine(assessment: Any, run_id: str) -> bool:
    """Whether this run logged the assessment (a re-scored trace holds several runs')."""
    owner = (assessment.metadata or {}).get(_SOURCE_RUN) or assessment.run_id
    return owner is None or owner == run_id


def _latest(assessments: Iterable[Any]) -> dict[str, list[Any]]:
    """Valid assessments by name, newest last."""
    out: dict[str, list[Any]] = {}
    for a in sorted(assessments, key=lambda a: a.last_update_time_ms or 0):
        if a.valid is False:  # overridden by a newer assessment
            continue
        out.setdefault(a.name, []).append(a)
    return out


def _metric_value(value: Any, scorer: _Scorer) -> float | bool | None:
    """A feedback value as a metric value, counting what kind it was."""
    if isinstance(value, bool):
        scorer.flags += 1
        return value
    if isinstance(value, int | float):
        scorer.numbers += 1
        return value
    if isinstance(value, str) and value.strip().lower() in _YES_NO:
        scorer.flags += 1
        return _YES_NO[value.strip().lower()]
    scorer.others.add(
        value if isinstance(value, str) else json.dumps(value, default=str)
    )
    return None


def _record(
    trace: Any, run_id: str, scorers: dict[str, _Scorer], id_from: str
) -> dict[str, Any]:
    """One trace as a native record (its id is settled afterwards)."""
    info = trace.info
    request = _json_value(trace.data.request if trace.data else None)
    preview = request is None
    if preview:  # no root span: MLflow's preview of the inputs (250 characters)
        request = _json_value((info.trace_metadata or {}).get("mlflow.traceInputs"))
    response = _json_value(trace.data.response if trace.data else None)
    metrics: dict[str, float | bool] = {}
    labels: dict[str, Any] = {}
    expectations: dict[str, Any] = {}
    by_name = _latest(info.assessments or [])
    for name, found in by_name.items():
        expect = [a for a in found if a.expectation is not None]
        if expect:
            expectations[name] = expect[-1].expectation.value
        feedback = [a for a in found if a.feedback is not None and _mine(a, run_id)]
        if not feedback:
            continue
        last = feedback[-1]
        scorer = scorers.setdefault(name, _Scorer())
        if last.source is not None:
            scorer.source_type = str(last.source.source_type)
            scorer.source_id = last.source.source_id
        scorer.digest = (last.metadata or {}).get(_DIGEST, scorer.digest)
        if len({json.dumps(a.feedback.value, default=str) for a in feedback}) > 1:
            scorer.conflicts += 1
        if last.feedback.error is not None and last.feedback.value is None:
            scorer.errors += 1
            continue
        value = _metric_value(last.feedback.value, scorer)
        if value is None:
            labels[name] = last.feedback.value
        else:
            metrics[name] = value
    record: dict[str, Any] = {
        "input": request,
        "output": response,
        "metrics": metrics,
        "meta": {"trace_id": info.trace_id},
    }
    if labels:
        record["meta"]["feedback"] = labels
    if expectations:
        record["expected"] = (
            next(iter(expectations.values()))
            if len(expectations) == 1
            else expectations
        )
    record["id"] = info.trace_id if id_from == "trace" else None
    if preview:
        record["meta"]["request_from_preview"] = True
    return record


def _settle_ids(
    records: list[dict[str, Any]], id_input: str | None, where: str
) -> None:
    """Ids from the request (hashed, or one of its keys); repeats become replicates."""
    for r in records:
        if r["id"] is not None:
            continue
        if id_input is None:
            r["id"] = f"in:{stable_hash(r['input'])}"
            continue
        request = r["input"]
        if not isinstance(request, dict) or id_input not in request:
            keys = sorted(request) if isinstance(request, dict) else []
            raise RunFormatError(
                f"the request has no key {id_input!r} (keys: {keys})",
                path=where,
                datapoint=r["meta"]["trace_id"],
                field="id_input",
                hint="name a key every request carries, or leave id_input out",
            )
        value = request[id_input]
        r["id"] = value if type(value) in (str, int) else stable_hash(value)
    ids, groups = replicate_ids([r["id"] for r in records])
    for r, id_, group in zip(records, ids, groups, strict=True):
        r["id"] = id_
        if group is not None:
            r["group"] = group


def _warnings(scorers: Mapping[str, _Scorer], where: str) -> list[str]:
    out: list[str] = []
    for name, s in sorted(scorers.items()):
        if s.others:
            shown = sorted(s.others)
            listed = ", ".join(repr(v) for v in shown[:10])
            more = f" and {len(shown) - 10} more" if len(shown) > 10 else ""
            out.append(
                f"{where}: feedback {name!r} has values that map to no number "
                f"({listed}{more}): left out of the metrics (kept in each datapoint's "
                "meta.feedback)"
            )
        if s.errors:
            out.append(
                f"{where}: feedback {name!r} ended in an error on {s.errors} "
                f"trace(s): missing there"
            )
        if s.conflicts:
            out.append(
                f"{where}: feedback {name!r} was logged more than once with different "
                f"values on {s.conflicts} trace(s): the latest is read"
            )
    return out


def _definitions(scorers: Mapping[str, _Scorer]) -> dict[str, MetricDefinition]:
    from pytest_runcompare.runs import MetricDefinition

    out: dict[str, MetricDefinition] = {}
    for name, s in scorers.items():
        if not (s.flags or s.numbers):
            continue
        binary = s.flags > 0 and s.numbers == 0
        source = f"{s.source_type}:{s.source_id}" if s.source_type else "unknown"
        out[name] = MetricDefinition(
            # A passing boolean or "yes" is the good outcome; numbers say nothing.
            higher_is_better=True if binary else None,
            kind="binary" if binary else "continuous",
            description=f"MLflow GenAI scorer {name!r} (source {source})",
        )
    return out


def records_from_traces(
    traces: Iterable[Any],
    run_id: str,
    *,
    id_from: str = "inputs",
    id_input: str | None = None,
    where: str = "",
) -> tuple[
    list[dict[str, Any]], dict[str, MetricDefinition], dict[str, Any], list[str]
]:
    """Native records, metric definitions, scorer facts and warnings from traces."""
    scorers: dict[str, _Scorer] = {}
    records = [_record(t, run_id, scorers, id_from) for t in traces]
    _settle_ids(records, id_input, where)
    facts = {
        name: {
            "source_type": s.source_type,
            "source_id": s.source_id,
            "digest": s.digest,
        }
        for name, s in sorted(scorers.items())
    }
    warnings = _warnings(scorers, where)
    previews = sum(1 for r in records if r["meta"].get("request_from_preview"))
    if previews:
        warnings.append(
            f"{where}: {previews} trace(s) have no root span: their request is "
            "MLflow's preview of the inputs (at most 250 characters), and their id "
            "a hash of it"
        )
    return records, _definitions(scorers), facts, warnings


# --------------------------------------------------------------------------- client


def _all_traces(client: Any, experiment_id: str, run_id: str) -> list[Any]:
    traces: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_traces(
            locations=[experiment_id],
            run_id=run_id,
            max_results=_PAGE,
            page_token=token,
        )
        traces.extend(page)
        token = page.token
        if not token:
            return traces


def read_genai_run(
    run_id: str,
    *,
    tracking_uri: str | None = None,
    id_from: str = "inputs",
    id_input: str | None = None,
) -> Run:
    """The traces of an ``mlflow.genai.evaluate`` run, through the MLflow client."""
    from dataclasses import replace

    where = f"mlflow://{run_id}::traces"
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise RunNotFoundError(
            f"{where}: reading runs from a tracking server needs MLflow: "
            "pip install 'pytest-runcompare[mlflow]'"
        ) from None
    from pytest_runcompare.building import build_run
    from pytest_runcompare.loaders.mlflow import _run_meta

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        run = client.get_run(run_id)
        traces = _all_traces(client, run.info.experiment_id, run_id)
    except MlflowException as error:
        raise RunNotFoundError(f"{where}: {error.message}") from None
    if not traces:
        raise RunNotFoundError(
            f"{where}: the run has no traces: it is not an mlflow.genai.evaluate run "
            "(point at mlflow://<run_id> without ::traces for its eval table and metrics)"
        )
    records, definitions, facts, warnings = records_from_traces(
        traces, run_id, id_from=id_from, id_input=id_input, where=where
    )
    info, data = run.info, run.data
    meta = _run_meta(
        name=info.run_name,
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        status=info.status,
        start_time=info.start_time,
        params=data.params,
        tags=data.tags,
        metrics={k: v for k, v in data.metrics.items() if math.isfinite(v)},
        path=where,
    )
    meta = replace(
        meta,
        source=where,
        format=FORMAT,
        metric_definitions={**meta.metric_definitions, **definitions},
        extra={**meta.extra, "mlflow_genai": {"scorers": facts}},
    )
    if info.status not in (None, "FINISHED"):
        warnings.append(f"{where}: the MLflow run's status is {info.status!r}")
    return build_run(records, meta, path=where, warnings=warnings)
