"""OpenAI Evals record logs: the JSONL that ``oaieval`` writes (``--record_path``).

The first line is ``{"spec": ...}`` (the eval, its completion functions, the run id),
then one line per recorded event (``run_id``, ``event_id``, ``sample_id``, ``type``,
``data``) and a ``{"final_report": ...}`` line (``evals/record.py``, ``LocalRecorder``).

Events are joined by ``sample_id``, which is the datapoint id: the first ``sampling``
event gives the output (``sampled``) and the input (``prompt``), further ones are kept
as steps ``sampling#2``, ...; ``match`` events give the binary metric ``correct`` (the
fraction correct when a sample has several) and the expected answer; ``metrics`` events
give one metric per numeric key. The final report's numbers are the aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.loaders._common import (
    as_text,
    json_starts_with_key,
    read_head,
    scalar,
    truncation_error,
)

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "openai_evals"
_FORMAT_NAMES = (FORMAT, "openai-evals", "oaieval", "evals")
#: Event types turned into datapoint fields; the others are listed as left out.
_READ = frozenset({"sampling", "match", "metrics", "error"})


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read an ``oaieval`` record log, or ``None`` when the file is not one."""
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt not in _FORMAT_NAMES:
        return None
    path, _ = split_location(location)
    if path.is_dir():
        return None
    if fmt is None and not _looks_like_record_log(path):
        return None
    return read_openai_evals(path)


def _looks_like_record_log(path: Path) -> bool:
    if path.suffix.lower() not in (".jsonl", ".log", ".json"):
        return False
    head = read_head(path)
    if json_starts_with_key(head, "spec"):
        return b'"eval_name"' in head and b'"completion_fns"' in head
    return (
        json_starts_with_key(head, "run_id")
        and b'"event_id"' in head
        and b'"sample_id"' in head
    )


def _preview(value: Any) -> str:
    from pytest_runcompare.untrusted import one_line

    text = repr(value)
    return one_line(text if len(text) <= 40 else text[:40] + "...")


# --------------------------------------------------------------------------- samples


@dataclass(slots=True)
class _Sample:
    """The events of one sample, as they are read."""

    line: int
    samplings: list[dict[str, Any]] = field(default_factory=list)
    matches: list[bool] = field(default_factory=list)
    expected: Any = None
    picked: Any = None
    metrics: dict[str, list[float | bool]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Log:
    """What the log holds: its spec, final report, samples and what is left out."""

    path: Path
    spec: dict[str, Any] | None = None
    spec_line: int | None = None
    report: dict[str, Any] | None = None
    report_line: int | None = None
    samples: dict[str, _Sample] = field(default_factory=dict)
    event_lines: dict[int, int] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)
    not_numbers: dict[str, str] = field(default_factory=dict)

    def error(
        self,
        reason: str,
        line: int,
        *,
        datapoint: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> RunFormatError:
        return RunFormatError(
            reason,
            path=self.path,
            line=line,
            datapoint=datapoint,
            field=field,
            hint=hint,
        )

    def take(self, raw: Any, line: int) -> None:
        """One line of the log."""
        if not isinstance(raw, dict):
            raise self.error(
                f"not an OpenAI Evals record: expected an object, got "
                f"{type(raw).__name__}",
                line,
            )
        if "spec" in raw:
            self._spec(raw, line)
        elif "final_report" in raw:
            self._report(raw, line)
        elif "event_id" in raw or "type" in raw:
            self._event(raw, line)
        else:
            raise self.error(
                "not an OpenAI Evals record: expected 'spec', 'final_report' or an "
                f"event (found keys {sorted(map(str, raw))[:6]})",
                line,
                hint="oaieval writes these logs with --record_path",
            )

    def _spec(self, raw: dict[str, Any], line: int) -> None:
        if self.spec is not None:
            raise self.error(
                f"a second 'spec' line (the first is line {self.spec_line}): the log "
                "holds two runs",
                line,
                field="spec",
                hint="oaieval writes one run per record log; split the file",
            )
        spec = raw["spec"]
        if not isinstance(spec, dict):
            raise self.error(
                f"spec must be an object, got {type(spec).__name__}", line, field="spec"
            )
        self.spec, self.spec_line = spec, line

    def _report(self, raw: dict[str, Any], line: int) -> None:
        if self.report is not None:
            raise self.error(
                f"a second 'final_report' line (the first is line {self.report_line})",
                line,
                field="final_report",
            )
        report = raw["final_report"]
        if not isinstance(report, dict):
            raise self.error(
                f"final_report must be an object, got {type(report).__name__}",
                line,
                field="final_report",
            )
        self.report, self.report_line = report, line

    def _event(self, raw: dict[str, Any], line: int) -> None:
        event_id = raw.get("event_id")
        if isinstance(event_id, bool) or not isinstance(event_id, int):
            raise self.error(
                f"event_id must be an integer, got {_preview(event_id)}",
                line,
                field="event_id",
            )
        if event_id in self.event_lines:
            raise self.error(
                f"event_id {event_id} appears twice (lines {self.event_lines[event_id]} "
                f"and {line}): which event is meant is ambiguous",
                line,
                field="event_id",
                hint="the log was appended to twice or edited; use the log oaieval wrote",
            )
        self.event_lines[event_id] = line
        run_id = None if self.spec is None else self.spec.get("run_id")
        if run_id is not None and raw.get("run_id") != run_id:
            raise self.error(
                f"the event belongs to run {_preview(raw.get('run_id'))}, not to the "
                f"log's run {_preview(run_id)}",
                line,
                field="run_id",
                hint="two record logs were joined into one; split them",
            )
        sample_id = raw.get("sample_id")
        if isinstance(sample_id, bool) or not isinstance(sample_id, str | int):
            raise self.error(
                f"sample_id must be a string, got {_preview(sample_id)}",
                line,
                field="sample_id",
            )
        key = str(sample_id)
        kind = raw.get("type")
        if not isinstance(kind, str):
            raise self.error(
                f"type must be a string, got {_preview(kind)}",
                line,
                datapoint=key,
                field="type",
            )
        if kind not in _READ:
            self.other[kind] = self.other.get(kind, 0) + 1
            return
        data = raw.get("data")
        if not isinstance(data, dict):
            raise self.error(
                f"the data of a {kind!r} event must be an object, got "
                f"{type(data).__name__}",
                line,
                datapoint=key,
                field="data",
            )
        sample = self.samples.setdefault(key, _Sample(line=line))
        if kind == "sampling":
            self._check_steps(sample, line, key)
            sample.samplings.append(data)
        elif kind == "match":
            self._match(sample, data, line, key)
        elif kind == "metrics":
            self._metrics(sample, data, line, key)
        else:
            message = data.get("message", data.get("type"))
            sample.errors.append(str(message))

    def _check_steps(self, sample: _Sample, line: int, key: str) -> None:
        """Each sampling after a sample's first is a step: bounded by ``STEPS``."""
        from pytest_runcompare import limits

        if len(sample.samplings) > limits.STEPS.value:
            raise self.error(
                limits.STEPS.exceeded(f"{len(sample.samplings):,}+ samplings"),
                line,
                datapoint=key,
                field="type",
            )

    def _match(
        self, sample: _Sample, data: dict[str, Any], line: int, key: str
    ) -> None:
        correct = data.get("correct")
        if not isinstance(correct, bool):
            raise self.error(
                f"correct must be true or false, got {_preview(correct)}",
                line,
                datapoint=key,
                field="data.correct",
                hint="evals' record_match logs a bool",
            )
        sample.matches.append(correct)
        if sample.expected is None:
            sample.expected = data.get("expected")
            sample.picked = data.get("picked")

    def _metrics(
        self, sample: _Sample, data: dict[str, Any], line: int, key: str
    ) -> None:
        for name, value in data.items():
            number = scalar(
                value, path=self.path, line=line, datapoint=key, field=f"data.{name}"
            )
            if number is None:
                self.not_numbers.setdefault(str(name), _preview(value))
            else:
                sample.metrics.setdefault(str(name), []).append(number)


# --------------------------------------------------------------------------- reading


def read_openai_evals(path: Path) -> Run:
    """An ``oaieval`` record log as one run, one datapoint per sample."""
    from dataclasses import replace

    from pytest_runcompare.building import RunBuilder
    from pytest_runcompare.loaders.files import iter_jsonl

    log = _Log(path=path)
    truncated: list[str] = []
    for records, lines in iter_jsonl(
        path, tolerate_truncated_tail=True, warnings=truncated
    ):
        for raw, line in zip(records, lines, strict=True):
            log.take(raw, line)
    if truncated:
        raise truncation_error(
            truncated[0],
            path,
            hint="oaieval appends events as it runs: the log is cut off; restore it "
            "or re-run the eval",
        )
    if log.spec is None:
        raise RunFormatError(
            "the record log has no 'spec' line: the eval and its completion functions "
            "are unknown",
            path=path,
            hint="oaieval writes the spec as the first line; use the whole log",
        )
    warnings: list[str] = []
    several: list[str] = []
    repeated: set[str] = set()
    records = []
    lines = []
    for key, sample in sorted(log.samples.items(), key=lambda kv: _id_key(kv[0])):
        records.append(_record(key, sample, several, repeated))
        lines.append(sample.line)
    meta = _meta(log)
    if log.report is None:
        warnings.append(
            f"{path}: the record log has no final_report line: the eval did not "
            "finish; comparing the samples it recorded"
        )
    left = _left_out(log, several, repeated)
    if left:
        warnings.append(f"{path}: openai_evals: " + "; ".join(left))
    if not records:
        from pytest_runcompare.runs import Datapoints, Run

        warnings.append(
            f"{path}: the record log holds no sample events (a final report only): "
            "only the aggregate metrics can be compared"
        )
        return Run(
            meta=replace(meta, source=str(path)),
            datapoints=Datapoints(ids=[], outputs=[], metrics={}),
            warnings=tuple(warnings),
        )
    builder = RunBuilder(path=str(path), definitions=meta.metric_definitions)
    builder.warnings.extend(warnings)
    builder.add(records, lines)
    return builder.finish(replace(meta, source=str(path)))


def _id_key(sample_id: str) -> tuple[str, int, str]:
    """``eval.split.12`` sorts after ``eval.split.2``."""
    stem, _, last = sample_id.rpartition(".")
    return (stem, int(last), "") if last.isdigit() else (sample_id, -1, sample_id)


def _sampled_text(value: Any) -> str | None:
    """``sampled`` as text: a string, or the only string of a list."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return as_text(value)


def _record(
    key: str, sample: _Sample, several: list[str], repeated: set[str]
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": key}
    if sample.samplings:
        first = sample.samplings[0]
        record["input"] = first.get("prompt")
        record["output"] = _sampled_text(first.get("sampled"))
    else:
        record["output"] = None
    if len(sample.samplings) > 1:
        record["steps"] = [
            {
                "name": "sampling",
                "input": s.get("prompt"),
                "output": _sampled_text(s.get("sampled")),
            }
            for s in sample.samplings[1:]
        ]
    metrics: dict[str, float | bool] = {}
    if sample.matches:
        if len(sample.matches) == 1:
            metrics["correct"] = sample.matches[0]
        else:
            several.append(key)
            metrics["correct"] = sum(sample.matches) / len(sample.matches)
        record["expected"] = sample.expected
    for name, values in sample.metrics.items():
        if len(values) > 1:
            repeated.add(name)
        metrics[name] = (
            values[0] if len(values) == 1 else sum(map(float, values)) / len(values)
        )
    record["metrics"] = metrics
    meta: dict[str, Any] = {}
    if sample.picked is not None:
        meta["picked"] = sample.picked
    if sample.errors:
        meta["errors"] = sample.errors
        record["slices"] = ["error"]
    if meta:
        record["meta"] = meta
    return record


def _left_out(log: _Log, several: list[str], repeated: set[str]) -> list[str]:
    from pytest_runcompare.untrusted import one_line

    left = []
    if log.other:
        counts = ", ".join(f"{one_line(k)} ({n})" for k, n in sorted(log.other.items()))
        left.append(f"events not compared: {counts}")
    for name, example in log.not_numbers.items():
        left.append(
            f"metrics value {one_line(name)!r} is not a number (e.g. {example}): "
            "left out"
        )
    if several:
        shown = ", ".join(repr(one_line(k)) for k in several[:3])
        left.append(
            f"{len(several)} sample(s) have several match events ({shown}"
            + (", ..." if len(several) > 3 else "")
            + "): 'correct' is the fraction correct"
        )
    if repeated:
        left.append(
            f"metrics {sorted(map(one_line, repeated))} are logged several times for "
            "a sample: averaged"
        )
    if log.report is not None:
        skipped = [
            str(k)
            for k, v in log.report.items()
            if scalar(v, path=log.path, line=log.report_line, field=f"final_report.{k}")
            is None
        ]
        if skipped:
            left.append(
                f"final_report entries that are not numbers: "
                f"{sorted(map(one_line, skipped))}"
            )
    return left


# --------------------------------------------------------------------------- metadata


def _meta(log: _Log) -> RunMeta:
    from pytest_runcompare.building import parse_meta

    spec = log.spec or {}
    config = spec.get("run_config")
    config = config if isinstance(config, dict) else {}
    eval_spec = config.get("eval_spec")
    seed = config.get("seed")
    report = log.report or {}
    aggregates: dict[str, float] = {}
    for name, value in report.items():
        number = scalar(
            value, path=log.path, line=log.report_line, field=f"final_report.{name}"
        )
        if number is not None:
            aggregates[str(name)] = float(number)
    params = {
        "completion_fns": spec.get("completion_fns"),
        "eval_name": spec.get("eval_name"),
        "base_eval": spec.get("base_eval"),
        "split": spec.get("split"),
        "eval_spec": eval_spec if isinstance(eval_spec, dict) else None,
        "max_samples": config.get("max_samples"),
        "command": config.get("command"),
    }
    raw = {
        "name": spec.get("eval_name"),
        "params": {k: v for k, v in params.items() if v is not None},
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "created": spec.get("created_at"),
        "metrics": aggregates,
        "metric_definitions": {
            "correct": {
                "higher_is_better": True,
                "kind": "binary",
                "description": "OpenAI Evals match: the sampled answer matched",
            }
        },
        "complete": log.report is not None,
        "openai_evals": {
            k: v
            for k, v in {
                "run_id": spec.get("run_id"),
                "created_by": spec.get("created_by") or None,
                "final_report": report or None,
            }.items()
            if v is not None
        },
    }
    return parse_meta(raw, path=str(log.path), format=FORMAT)
