"""DeepEval test runs: ``.deepeval/.latest_test_run.json`` and the exported test run.

``deepeval test run`` and ``evaluate()`` write the run to ``.deepeval/.latest_test_run.json``
as ``{"testRunData": <test run>}`` (only ``{"testRunLink": ...}`` when the run went to
Confident AI), and the export (``DEEPEVAL_RESULTS_FOLDER``, ``.latest_run_full.json``)
is the bare test run; both are DeepEval's ``TestRun`` model dumped by alias.

Each test case is a datapoint. Its id is the test case's ``name``, except a positional
name DeepEval made up (``test_case_<n>``, ``conversational_test_case_<n>``), which would
pair different test cases of two runs: then ``input:<hash of the input>`` (a
conversation: ``turns:<hash of its turns>``). Each entry of ``metricsData`` gives the
metric ``<name>`` (its ``score``) and ``<name>.success`` (passed its threshold); the
threshold, evaluation model and strict mode are kept as the metric's metadata.
Conversational test cases keep their turns as steps ``turn<order>``.
"""

from __future__ import annotations

import re
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
    replicate_ids,
    scalar,
    stable_hash,
)

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "deepeval"
#: DeepEval's own names for test cases it was given no name for (``test_case/api.py``).
_POSITIONAL = re.compile(r"^(conversational_)?test_case_\d+$")
_CASE_LISTS = ("testCases", "conversationalTestCases")
_EXPORT_HEAD = re.compile(
    rb'^\s*\{\s*(?:"testFile"\s*:\s*(?:"(?:[^"\\]|\\.)*"|null)\s*,\s*)?'
    rb'"(?:testCases|conversationalTestCases)"\s*:\s*\[\s*(?:\]|\{\s*"name"\s*:)'
)
#: Test-case fields kept in the datapoint's ``meta`` (DeepEval's alias -> ours).
_CASE_META = {
    "retrievalContext": "retrieval_context",
    "context": "context",
    "toolsCalled": "tools_called",
    "expectedTools": "expected_tools",
    "tokenCost": "token_cost",
    "completionTime": "completion_time",
    "additionalMetadata": "metadata",
    "metadata": "metadata",
    "comments": "comments",
    "userDescription": "user_description",
}


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read a DeepEval test run, or ``None`` when the file is not one."""
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt != FORMAT:
        return None
    path, _ = split_location(location)
    if path.is_dir():
        return None
    if fmt is None and not _looks_like_deepeval(path):
        return None
    return read_deepeval(path)


def _looks_like_deepeval(path: Path) -> bool:
    if path.suffix.lower() != ".json":
        return False
    head = read_head(path)
    if json_starts_with_key(head, "testRunData", "testRunLink"):
        return True
    # an export: TestRun dumped by alias, testFile (if any) first, then testCases
    return bool(_EXPORT_HEAD.match(head)) or (
        json_starts_with_key(head, *_CASE_LISTS)
        and (b'"metricsData"' in head or b'"metricsScores"' in head)
    )


def _preview(value: Any) -> str:
    from pytest_runcompare.untrusted import one_line

    text = repr(value)
    return one_line(text if len(text) <= 40 else text[:40] + "...")


# --------------------------------------------------------------------------- reading


def read_deepeval(path: Path) -> Run:
    """A DeepEval test run (the latest-run file or an export) as one run."""
    from dataclasses import replace

    from pytest_runcompare.building import build_run
    from pytest_runcompare.loaders._common import load_json

    run = _test_run(load_json(path), path)
    cases: list[tuple[str, dict[str, Any]]] = []
    for key in _CASE_LISTS:
        value = run.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise RunFormatError(
                f"must be a list of test cases, got {type(value).__name__}",
                path=path,
                field=key,
            )
        for i, case in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(case, dict):
                raise RunFormatError(
                    f"a test case must be an object, got {type(case).__name__}",
                    path=path,
                    field=where,
                )
            cases.append((where, case))
    if not cases:
        raise RunFormatError(
            "the test run holds no test cases (testCases and conversationalTestCases "
            "are empty)",
            path=path,
            hint="DeepEval writes every evaluated test case here; re-run the evaluation",
        )
    notes = _Notes()
    ids, groups = _ids(cases, path)
    records = []
    steps: set[str] = set()
    for (where, case), key, group in zip(cases, ids, groups, strict=True):
        record = _record(case, where, key, path, notes)
        if group is not None:
            record["group"] = group
        steps.update(s["name"] for s in record.get("steps", ()))
        _check_steps(steps, key, where, path)
        records.append(record)
    meta = _meta(run, path, notes)
    built = build_run(
        records, meta, path=str(path), warnings=notes.warnings(path), format=FORMAT
    )
    return replace(built, meta=replace(built.meta, source=str(path)))


def _check_steps(steps: set[str], key: str, where: str, path: Path) -> None:
    """Each turn number is a step of the run: bounded by ``STEPS``."""
    from pytest_runcompare import limits

    if len(steps) > limits.STEPS.value:
        raise RunFormatError(
            limits.STEPS.exceeded(f"{len(steps):,} turn numbers"),
            path=path,
            datapoint=key,
            field=f"{where}.turns",
        )


def _test_run(doc: Any, path: Path) -> dict[str, Any]:
    """The ``TestRun`` object: under ``testRunData``, or the document itself."""
    if not isinstance(doc, dict):
        raise RunFormatError(
            f"not a DeepEval test run: expected an object, got {type(doc).__name__}",
            path=path,
        )
    if "testRunData" in doc:
        data = doc["testRunData"]
        if not isinstance(data, dict):
            raise RunFormatError(
                f"must be a test run object, got {type(data).__name__}",
                path=path,
                field="testRunData",
            )
        return data
    if "testRunLink" in doc and not any(k in doc for k in _CASE_LISTS):
        raise RunFormatError(
            "holds only the link to the test run on Confident AI (testRunLink), not "
            "its results: DeepEval writes the results here only for runs it does not "
            "upload",
            path=path,
            field="testRunLink",
            hint="export the run locally (DEEPEVAL_RESULTS_FOLDER=<folder>) and point "
            "at the test_run_<date>.json it writes",
        )
    if not any(k in doc for k in _CASE_LISTS):
        raise RunFormatError(
            "not a DeepEval test run: expected 'testRunData' or 'testCases' (found "
            f"{sorted(map(str, doc))[:8]})",
            path=path,
        )
    return doc


def _case_name(case: dict[str, Any], where: str, path: Path) -> str:
    name = case.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RunFormatError(
            f"a test case needs a non-empty string 'name', got {_preview(name)}",
            path=path,
            datapoint=where,
            field="name",
            hint="DeepEval names every test case; the file is damaged",
        )
    return name


def _identity(case: dict[str, Any]) -> Any:
    """What a test case is about: its input, or a conversation's turns."""
    if "turns" in case:
        turns = case.get("turns")
        return [
            [t.get("role"), t.get("content")] if isinstance(t, dict) else t
            for t in (turns if isinstance(turns, list) else [])
        ]
    return case.get("input")


def _ids(
    cases: list[tuple[str, dict[str, Any]]], path: Path
) -> tuple[list[str], list[str | None]]:
    """Test-case ids: the name, or a hash of the input for positional names."""
    base = []
    for where, case in cases:
        name = _case_name(case, where, path)
        if _POSITIONAL.match(name):
            prefix = "turns" if "turns" in case else "input"
            base.append(f"{prefix}:{stable_hash(_identity(case))}")
        else:
            base.append(name)
    counts: dict[str, int] = {}
    for b in base:
        counts[b] = counts.get(b, 0) + 1
    # one name for different inputs (a test function evaluating several cases)
    keyed = [
        b
        if counts[b] == 1 or b.startswith(("input:", "turns:"))
        else f"{b} [{stable_hash(_identity(case), 8)}]"
        for b, (_, case) in zip(base, cases, strict=True)
    ]
    # the same test case run again (--repeat): replicates of one datapoint
    return replicate_ids(keyed)


@dataclass(slots=True)
class _Notes:
    """What the reader met across test cases: metric settings and what it left out."""

    settings: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    errored: dict[str, tuple[int, str]] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    conflicting: dict[str, list[str]] = field(default_factory=dict)
    traces: int = 0
    images: int = 0

    def setting(self, metric: str, key: str, value: Any) -> None:
        if value is not None:
            seen = self.settings.setdefault(metric, {}).setdefault(key, [])
            if value not in seen:
                seen.append(value)

    def warnings(self, path: Path) -> list[str]:
        left: list[str] = []
        for metric, (count, error) in self.errored.items():
            left.append(
                f"metric {metric!r} errored on {count} test case(s) (e.g. "
                f"{_preview(error)}): no score there"
            )
        for metric, where in self.conflicting.items():
            left.append(
                f"metric {metric!r} appears twice with different scores in "
                f"{_shown(where)}: the first entry is read"
            )
        for metric, where in self.duplicates.items():
            if metric not in self.conflicting:
                left.append(
                    f"metric {metric!r} appears twice with the same score in "
                    f"{_shown(where)}: read once"
                )
        if self.traces:
            left.append(f"the traces of {self.traces} test case(s) (span metrics)")
        if self.images:
            left.append(f"the images of {self.images} test case(s) (imagesMapping)")
        if not left:
            return []
        return [f"{path}: deepeval: " + "; ".join(left)]


def _shown(items: list[str]) -> str:
    from pytest_runcompare.untrusted import one_line

    shown = ", ".join(repr(one_line(i)) for i in items[:3])
    return shown + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _record(
    case: dict[str, Any], where: str, key: str, path: Path, notes: _Notes
) -> dict[str, Any]:
    conversational = "turns" in case
    metrics, reasons = _metrics(case, where, key, path, notes)
    meta = {
        ours: case[theirs]
        for theirs, ours in _CASE_META.items()
        if case.get(theirs) is not None
    }
    if reasons:
        meta["reasons"] = reasons
    if key != case["name"]:
        meta["name"] = case["name"]
    if case.get("trace") is not None:
        notes.traces += 1
    if case.get("imagesMapping"):
        notes.images += 1
    record: dict[str, Any] = {"id": key, "metrics": metrics}
    if conversational:
        steps = _turns(case, where, key, path)
        record["input"] = case.get("scenario")
        record["output"] = "\n".join(
            f"{s['meta']['role']}: {s['output']}" for s in steps
        )
        record["expected"] = case.get("expectedOutcome")
        if steps:
            record["steps"] = steps
    else:
        record["input"] = case.get("input")
        record["output"] = as_text(case.get("actualOutput"))
        record["expected"] = as_text(case.get("expectedOutput"))
    tags = case.get("tags")
    if isinstance(tags, list) and tags:
        record["slices"] = [f"tag:{t}" for t in tags if isinstance(t, str)]
    if meta:
        record["meta"] = meta
    return record


def _metrics(
    case: dict[str, Any], where: str, key: str, path: Path, notes: _Notes
) -> tuple[dict[str, float | bool], dict[str, str]]:
    entries = case.get("metricsData")
    if entries is None:
        return {}, {}
    if not isinstance(entries, list):
        raise RunFormatError(
            f"must be a list of metric results, got {type(entries).__name__}",
            path=path,
            datapoint=key,
            field=f"{where}.metricsData",
        )
    metrics: dict[str, float | bool] = {}
    reasons: dict[str, str] = {}
    for k, entry in enumerate(entries):
        place = f"{where}.metricsData[{k}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise RunFormatError(
                "a metric result must be an object with a string 'name', got "
                f"{_preview(entry)}",
                path=path,
                datapoint=key,
                field=place,
            )
        name = entry["name"]
        score = entry.get("score")
        number = scalar(score, path=path, datapoint=key, field=f"{place}.score")
        if score is not None and (number is None or isinstance(number, bool)):
            raise RunFormatError(
                f"a score must be a number, got {_preview(score)}",
                path=path,
                datapoint=key,
                field=f"{place}.score",
            )
        success = entry.get("success")
        if success is not None and not isinstance(success, bool):
            raise RunFormatError(
                f"success must be true or false, got {_preview(success)}",
                path=path,
                datapoint=key,
                field=f"{place}.success",
            )
        if name in metrics or f"{name}.success" in metrics:
            notes.duplicates.setdefault(name, []).append(key)
            if number is not None and metrics.get(name) != number:
                notes.conflicting.setdefault(name, []).append(key)
            continue
        notes.setting(name, "threshold", entry.get("threshold"))
        notes.setting(name, "evaluation_model", entry.get("evaluationModel"))
        notes.setting(name, "strict_mode", entry.get("strictMode"))
        if number is None:
            count, first = notes.errored.get(name, (0, str(entry.get("error"))))
            notes.errored[name] = (count + 1, first)
        else:
            metrics[name] = float(number)
        if success is not None and number is not None:
            metrics[f"{name}.success"] = success
        if isinstance(entry.get("reason"), str):
            reasons[name] = entry["reason"]
    return metrics, reasons


def _turns(
    case: dict[str, Any], where: str, key: str, path: Path
) -> list[dict[str, Any]]:
    turns = case.get("turns")
    if not isinstance(turns, list):
        raise RunFormatError(
            f"must be a list of turns, got {type(turns).__name__}",
            path=path,
            datapoint=key,
            field=f"{where}.turns",
        )
    steps = []
    for k, turn in enumerate(turns):
        place = f"{where}.turns[{k}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("role"), str):
            raise RunFormatError(
                f"a turn must be an object with a string 'role', got {_preview(turn)}",
                path=path,
                datapoint=key,
                field=place,
            )
        order = turn.get("order", k)
        if isinstance(order, bool) or not isinstance(order, int):
            raise RunFormatError(
                f"a turn's order must be an integer, got {_preview(order)}",
                path=path,
                datapoint=key,
                field=f"{place}.order",
            )
        meta = {"role": turn["role"]}
        for theirs, ours in (
            ("retrievalContext", "retrieval_context"),
            ("toolsCalled", "tools_called"),
            ("userId", "user_id"),
        ):
            if turn.get(theirs) is not None:
                meta[ours] = turn[theirs]
        steps.append(
            {
                "name": f"turn{order}",
                "output": as_text(turn.get("content")),
                "meta": meta,
            }
        )
    return steps


# --------------------------------------------------------------------------- metadata


def _one(values: list[Any]) -> Any:
    """One setting when every test case agrees, else the list of those seen."""
    return values[0] if len(values) == 1 else list(values)


def _describe(settings: dict[str, Any]) -> str:
    words = {"threshold": "threshold", "evaluation_model": "evaluation model"}
    parts = []
    for key, value in settings.items():
        if key == "strict_mode":
            parts.append("strict mode" if value is True else "not strict")
        else:
            parts.append(f"{words.get(key, key)} {value}")
    return ", ".join(parts)


def _aggregates(run: dict[str, Any]) -> dict[str, float]:
    """Mean score and pass rate per metric, from ``metricsScores``."""
    out: dict[str, float] = {}
    entries = run.get("metricsScores")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("metric"), str):
            continue
        name = entry["metric"]
        scores = [
            float(s)
            for s in (entry.get("scores") or [])
            if isinstance(s, int | float) and not isinstance(s, bool)
        ]
        if scores:
            out[name] = sum(scores) / len(scores)
        passes, fails = entry.get("passes"), entry.get("fails")
        if isinstance(passes, int) and isinstance(fails, int) and passes + fails > 0:
            out[f"{name}.success"] = passes / (passes + fails)
    return out


def _meta(run: dict[str, Any], path: Path, notes: _Notes) -> RunMeta:
    from pytest_runcompare.building import parse_meta

    definitions: dict[str, dict[str, Any]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for metric, found in notes.settings.items():
        kept = {k: _one(v) for k, v in found.items()}
        settings[metric] = kept
        described = _describe(kept)
        definitions[metric] = {
            "higher_is_better": True,
            "kind": "continuous",
            "description": f"DeepEval score in [0, 1] ({described})",
        }
        definitions[f"{metric}.success"] = {
            "higher_is_better": True,
            "kind": "binary",
            "description": f"DeepEval: the score passed its threshold ({described})",
        }
    for metric in notes.errored:
        definitions.setdefault(metric, {"higher_is_better": True, "kind": "continuous"})
    hyper = run.get("hyperparameters")
    raw = {
        "name": run.get("identifier") or run.get("testFile") or "deepeval",
        "params": {"hyperparameters": hyper} if isinstance(hyper, dict) else {},
        "metrics": _aggregates(run),
        "metric_definitions": definitions,
        "deepeval": {
            k: v
            for k, v in {
                "test_file": run.get("testFile"),
                "identifier": run.get("identifier"),
                "dataset_alias": run.get("datasetAlias"),
                "test_passed": run.get("testPassed"),
                "test_failed": run.get("testFailed"),
                "run_duration": run.get("runDuration"),
                "evaluation_cost": run.get("evaluationCost"),
                "prompts": run.get("prompts") or None,
                "metrics": settings,
            }.items()
            if v is not None
        },
    }
    return parse_meta(raw, path=str(path), format=FORMAT)
