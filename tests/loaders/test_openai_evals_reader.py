"""The OpenAI Evals reader, on record logs oaieval wrote (data/openai_evals)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import openai_evals
from pytest_runcompare.loaders.registry import load_run

MATCH = "openai_evals/230417220821DPM75QNS_auto_gpt_completion_fn_test-match.jsonl"
REPORT_ONLY = "openai_evals/self_prompting_oriprompt.log"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def events(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {e["sample_id"]: e["data"] for e in lines(path) if e.get("type") == kind}


def write(tmp_path: Path, records: list[Any], name: str = "run.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


# ------------------------------------------------------------------ real files


def test_sampling_events_are_the_outputs_and_inputs(data: Path) -> None:
    path = data / MATCH
    sampling = events(path, "sampling")
    run = load_run(path)
    assert run.meta.format == "openai_evals"
    assert run.ids == ["test-match.s1.0", "test-match.s1.1", "test-match.s1.2"]
    for key in run.ids:
        point = run.datapoint(key)
        assert point.output == sampling[key]["sampled"]
        assert point.input == sampling[key]["prompt"]


def test_match_events_are_the_correct_metric_and_the_expected_answer(
    data: Path,
) -> None:
    path = data / MATCH
    match = events(path, "match")
    run = load_run(path)
    for key in run.ids:
        point = run.datapoint(key)
        assert point.metrics == {"correct": float(match[key]["correct"])}
        assert point.expected == match[key]["expected"]
    assert run.datapoint("test-match.s1.1").meta == {"picked": "George Washington"}
    assert run.meta.metric_definitions["correct"].higher_is_better is True


def test_the_spec_is_the_run_metadata_and_the_final_report_the_aggregates(
    data: Path,
) -> None:
    path = data / MATCH
    first, report = lines(path)[:2]
    spec = first["spec"]
    run = load_run(path)
    assert run.meta.name == spec["eval_name"] == "test-match.s1.simple-v0"
    assert run.meta.params["completion_fns"] == spec["completion_fns"]
    assert run.meta.params["base_eval"] == spec["base_eval"]
    assert run.meta.params["split"] == spec["split"]
    assert run.meta.params["eval_spec"] == spec["run_config"]["eval_spec"]
    assert run.meta.seed == spec["run_config"]["seed"] == 20220722
    assert run.meta.created == spec["created_at"]
    assert run.meta.extra["openai_evals"]["run_id"] == spec["run_id"]
    assert dict(run.meta.metrics) == report["final_report"]
    assert run.meta.complete is True
    assert run.warnings == ()


def test_a_log_with_a_final_report_only_gives_its_aggregates(data: Path) -> None:
    path = data / REPORT_ONLY
    report = lines(path)[1]["final_report"]
    run = load_run(path)
    assert run.ids == []
    assert dict(run.meta.metrics) == {k: float(v) for k, v in report.items()}
    assert run.meta.metrics["n_samples"] == 1500.0
    assert run.warnings == (
        f"{path}: the record log holds no sample events (a final report only): only "
        "the aggregate metrics can be compared",
    )


# ------------------------------------------------------------------ other events


def _log(data: Path) -> list[dict[str, Any]]:
    return lines(data / MATCH)


def _event(base: dict[str, Any], event_id: int, kind: str, data: Any) -> dict[str, Any]:
    return {**base, "event_id": event_id, "type": kind, "data": data}


def test_metrics_events_give_one_metric_per_number(data: Path, tmp_path: Path) -> None:
    records = _log(data)
    sample = records[2]
    records.append(
        _event(sample, 6, "metrics", {"score": 0.75, "judge": "gpt-4", "valid": True})
    )
    path = write(tmp_path, records)
    run = load_run(path)
    assert run.datapoint("test-match.s1.2").metrics == {
        "correct": 0.0,
        "score": 0.75,
        "valid": 1.0,
    }
    assert run.warnings == (
        f"{path}: openai_evals: metrics value 'judge' is not a number (e.g. "
        "'gpt-4'): left out",
    )


def test_several_samplings_are_steps_and_other_events_are_listed(
    data: Path, tmp_path: Path
) -> None:
    records = _log(data)
    sample = records[4]  # test-match.s1.1 sampling
    records.append(
        _event(sample, 6, "sampling", {"prompt": "grade it", "sampled": ["Yes"]})
    )
    records.append(_event(sample, 7, "embedding", {"prompt": "x"}))
    records.append(_event(sample, 8, "error", {"type": "Timeout", "message": "slow"}))
    path = write(tmp_path, records)
    run = load_run(path)
    point = run.datapoint("test-match.s1.1")
    assert point.output == "George Washington"
    assert run.steps["sampling"].ids == ["test-match.s1.1"]
    assert run.steps["sampling"].outputs == ["Yes"]
    assert point.slices == ("error",)
    assert point.meta["errors"] == ["slow"]
    assert run.warnings == (
        f"{path}: openai_evals: events not compared: embedding (1)",
    )


def test_several_matches_for_a_sample_give_the_fraction_correct(
    data: Path, tmp_path: Path
) -> None:
    records = _log(data)
    records.append(_event(records[3], 6, "match", {"correct": True, "expected": "15"}))
    path = write(tmp_path, records)
    run = load_run(path)
    assert run.datapoint("test-match.s1.2").metrics == {"correct": 0.5}
    assert run.warnings == (
        f"{path}: openai_evals: 1 sample(s) have several match events "
        "('test-match.s1.2'): 'correct' is the fraction correct",
    )


def test_a_log_without_final_report_is_incomplete(data: Path, tmp_path: Path) -> None:
    records = [r for r in _log(data) if "final_report" not in r]
    path = write(tmp_path, records)
    run = load_run(path)
    assert run.meta.complete is False
    assert run.meta.metrics == {}
    assert run.warnings == (
        f"{path}: the record log has no final_report line: the eval did not finish; "
        "comparing the samples it recorded",
    )


# ------------------------------------------------------------------ damaged files


def test_a_truncated_log_names_its_last_line(data: Path, tmp_path: Path) -> None:
    text = (data / MATCH).read_text("utf-8")
    path = tmp_path / "run.jsonl"
    path.write_text(text[: len(text) - 60], "utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:8: truncated last line: the file is cut off mid-record (oaieval "
            "appends events as it runs: the log is cut off; restore it or re-run the "
            "eval)"
        ),
    ):
        load_run(path)


def test_a_duplicate_event_id_names_both_lines(data: Path, tmp_path: Path) -> None:
    records = _log(data)
    records[5]["event_id"] = 1
    path = write(tmp_path, records)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:6: field 'event_id': event_id 1 appears twice (lines 4 and 6): "
            "which event is meant is ambiguous (the log was appended to twice or "
            "edited; use the log oaieval wrote)"
        ),
    ):
        load_run(path)


def test_an_event_of_another_run_is_refused(data: Path, tmp_path: Path) -> None:
    records = _log(data)
    records[7]["run_id"] = "230418000000ABCDEFGH"
    path = write(tmp_path, records)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:8: field 'run_id': the event belongs to run "
            "'230418000000ABCDEFGH', not to the log's run '230417220821DPM75QNS' (two "
            "record logs were joined into one; split them)"
        ),
    ):
        load_run(path)


def test_two_specs_are_two_runs(data: Path, tmp_path: Path) -> None:
    records = _log(data)
    path = write(tmp_path, [*records, records[0]])
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:9: field 'spec': a second 'spec' line (the first is line 1): the "
            "log holds two runs"
        ),
    ):
        load_run(path)


def test_correct_that_is_not_a_bool_is_refused(data: Path, tmp_path: Path) -> None:
    records = _log(data)
    records[3]["data"]["correct"] = "false"
    path = write(tmp_path, records)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:4: datapoint 'test-match.s1.2': field 'data.correct': correct "
            "must be true or false, got 'false'"
        ),
    ):
        load_run(path)


def test_a_sample_id_that_is_not_a_string_is_refused(
    data: Path, tmp_path: Path
) -> None:
    records = _log(data)
    records[2]["sample_id"] = None
    path = write(tmp_path, records)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:3: field 'sample_id': sample_id must be a string, got None"
        ),
    ):
        load_run(path)


def test_a_log_without_its_spec_is_refused(data: Path, tmp_path: Path) -> None:
    path = write(tmp_path, _log(data)[2:])
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: the record log has no 'spec' line: the eval and its completion "
            "functions are unknown"
        ),
    ):
        load_run(path)


# ------------------------------------------------------------------ choosing


def test_the_reader_is_chosen_from_the_content_not_the_name(
    data: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "events.jsonl"
    renamed.write_bytes((data / MATCH).read_bytes())
    assert load_run(renamed).meta.format == "openai_evals"
    plain = write(tmp_path, [{"id": "a", "output": "x"}], "plain.jsonl")
    assert openai_evals.pytest_runcompare_load_run(str(plain), {}) is None
    assert (
        openai_evals.pytest_runcompare_load_run(
            str(data / MATCH), {"format": "lm_eval"}
        )
        is None
    )


def test_samplings_past_the_steps_limit_are_refused(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_STEPS", "1")
    records = _log(data)
    sample = records[4]  # test-match.s1.1 sampling, line 5
    records.append(_event(sample, 6, "sampling", {"prompt": "a", "sampled": "b"}))
    assert len(load_run(write(tmp_path, records)).steps) == 1
    records.append(_event(sample, 7, "sampling", {"prompt": "c", "sampled": "d"}))
    path = write(tmp_path, records, "more.jsonl")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:10: datapoint 'test-match.s1.1': field 'type': more than 1 named "
            "steps (turns, repeated samplings) a reader makes in one run (2+ "
            "samplings); raise the limit with RUNCOMPARE_MAX_STEPS=<number>"
        ),
    ):
        load_run(path)
