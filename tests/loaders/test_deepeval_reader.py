"""The DeepEval reader, on .latest_test_run.json files DeepEval wrote (data/deepeval)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import deepeval
from pytest_runcompare.loaders.registry import load_run

THESIS = "deepeval/thesis_latest_test_run.json"
BEEAI_OLD = "deepeval/beeai_latest_test_run_cfbc9c3.json"
BEEAI_NEW = "deepeval/beeai_latest_test_run_130e2d0.json"


def raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def input_id(value: Any) -> str:
    """The id the README promises for a positional test case: a hash of its input."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "input:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def write(tmp_path: Path, doc: Any, name: str = ".latest_test_run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), "utf-8")
    return path


# ------------------------------------------------------------------ real files


def test_a_positional_test_case_is_keyed_by_its_input(data: Path) -> None:
    path = data / THESIS
    case = raw(path)["testRunData"]["testCases"][0]
    run = load_run(path)
    assert run.meta.format == "deepeval"
    assert case["name"] == "test_case_0"
    assert run.ids == [input_id(case["input"])]
    point = run.datapoint(run.ids[0])
    assert point.input == case["input"]
    assert point.output == case["actualOutput"]
    assert point.expected is None
    assert point.meta["retrieval_context"] == case["retrievalContext"]
    assert point.meta["name"] == "test_case_0"
    [metric] = case["metricsData"]
    assert point.metrics == {
        "Faithfulness": metric["score"],
        "Faithfulness.success": float(metric["success"]),
    }
    assert point.meta["reasons"] == {"Faithfulness": metric["reason"]}
    assert run.warnings == ()


def test_threshold_judge_model_and_strict_mode_are_the_metrics_metadata(
    data: Path,
) -> None:
    run = load_run(data / THESIS)
    [metric] = raw(data / THESIS)["testRunData"]["testCases"][0]["metricsData"]
    score = run.meta.metric_definitions["Faithfulness"]
    success = run.meta.metric_definitions["Faithfulness.success"]
    assert (score.kind, score.higher_is_better) == ("continuous", True)
    assert (success.kind, success.higher_is_better) == ("binary", True)
    assert score.description == (
        "DeepEval score in [0, 1] (threshold 0.7, evaluation model qwen3:8b (Ollama), "
        "not strict)"
    )
    assert run.meta.extra["deepeval"]["metrics"]["Faithfulness"] == {
        "threshold": metric["threshold"],
        "evaluation_model": metric["evaluationModel"],
        "strict_mode": metric["strictMode"],
    }


def test_aggregates_come_from_metrics_scores(data: Path) -> None:
    doc = raw(data / BEEAI_NEW)["testRunData"]
    run = load_run(data / BEEAI_NEW)
    expected: dict[str, float] = {}
    for entry in doc["metricsScores"]:
        expected[entry["metric"]] = sum(entry["scores"]) / len(entry["scores"])
        total = entry["passes"] + entry["fails"]
        expected[entry["metric"] + ".success"] = entry["passes"] / total
    assert dict(run.meta.metrics) == expected
    assert run.meta.extra["deepeval"]["test_failed"] == doc["testFailed"]


def test_every_metrics_data_entry_is_a_score_and_a_success(data: Path) -> None:
    case = raw(data / BEEAI_NEW)["testRunData"]["testCases"][0]
    point = load_run(data / BEEAI_NEW).datapoint(input_id(case["input"]))
    expected = {}
    for entry in case["metricsData"]:
        expected[entry["name"]] = entry["score"]
        expected[entry["name"] + ".success"] = float(entry["success"])
    assert point.metrics == expected
    assert len(point.metrics) == 10


def test_tools_called_and_expected_tools_are_kept(data: Path) -> None:
    case = raw(data / BEEAI_NEW)["testRunData"]["testCases"][0]
    point = load_run(data / BEEAI_NEW).datapoint(input_id(case["input"]))
    assert point.meta["tools_called"] == case["toolsCalled"]
    assert point.meta["tools_called"][0]["inputParameters"]["full_text"] is False
    assert point.meta["expected_tools"] == case["expectedTools"]
    assert point.meta["context"] == case["context"]
    assert point.meta["metadata"] == case["additionalMetadata"]
    assert point.expected == case["expectedOutput"] == "Jim Obergefell"


def test_the_two_beeai_runs_pair_on_their_one_test_case(data: Path) -> None:
    old, new = load_run(data / BEEAI_OLD), load_run(data / BEEAI_NEW)
    assert old.ids == new.ids
    key = old.ids[0]
    assert (old.datapoint(key).output, new.datapoint(key).output) == (
        "Jim Obergefell",
        "",
    )
    assert old.datapoint(key).metrics["Exact Match"] == 1.0
    assert new.datapoint(key).metrics["Exact Match"] == 0.0
    # the metric without evaluationModel keeps only what DeepEval wrote
    assert old.meta.extra["deepeval"]["metrics"]["Exact Match"] == {
        "threshold": 1.0,
        "strict_mode": False,
    }


def test_the_exported_test_run_reads_like_the_latest_run_file(
    data: Path, tmp_path: Path
) -> None:
    export = write(
        tmp_path, raw(data / BEEAI_NEW)["testRunData"], "test_run_20260101_120000.json"
    )
    wrapped, bare = load_run(data / BEEAI_NEW), load_run(export)
    assert bare.meta.format == "deepeval"
    assert bare.ids == wrapped.ids
    assert bare.datapoint(bare.ids[0]) == wrapped.datapoint(wrapped.ids[0])


# ------------------------------------------------------------------ ids


def _cases(data: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = raw(data / BEEAI_NEW)
    return doc, doc["testRunData"]["testCases"][0]


def test_a_named_test_case_is_keyed_by_its_name(data: Path, tmp_path: Path) -> None:
    doc, case = _cases(data)
    case["name"] = "test_widow[obergefell]"
    run = load_run(write(tmp_path, doc))
    assert run.ids == ["test_widow[obergefell]"]
    assert "name" not in run.datapoint(run.ids[0]).meta


def test_one_name_for_different_inputs_is_told_apart_by_the_input(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    case["name"] = "test_agent"
    other = copy.deepcopy(case)
    other["input"] = "Who argued Obergefell v. Hodges?"
    doc["testRunData"]["testCases"].append(other)
    run = load_run(write(tmp_path, doc))
    short = [input_id(c["input"])[len("input:") :][:8] for c in (case, other)]
    assert run.ids == [f"test_agent [{short[0]}]", f"test_agent [{short[1]}]"]


def test_the_same_test_case_twice_gives_grouped_replicates(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    again = copy.deepcopy(case)
    again["actualOutput"] = "Jim Obergefell"
    doc["testRunData"]["testCases"].append(again)
    run = load_run(write(tmp_path, doc))
    key = input_id(case["input"])
    assert run.ids == [f"{key}#1", f"{key}#2"]
    assert [run.datapoint(i).group for i in run.ids] == [key, key]
    assert run.datapoint(f"{key}#2").output == "Jim Obergefell"


# ------------------------------------------------------------------ metrics twice


def test_a_metric_written_twice_with_one_score_is_read_once(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    case["metricsData"].append(copy.deepcopy(case["metricsData"][0]))
    path = write(tmp_path, doc)
    run = load_run(path)
    point = run.datapoint(run.ids[0])
    assert point.metrics["Exact Match"] == 0.0
    assert run.warnings == (
        f"{path}: deepeval: metric 'Exact Match' appears twice with the same score in "
        f"{run.ids[0]!r}: read once",
    )


def test_a_metric_written_twice_with_two_scores_keeps_the_first_and_says_so(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    second = copy.deepcopy(case["metricsData"][0])
    second.update(score=1.0, success=True)
    case["metricsData"].append(second)
    path = write(tmp_path, doc)
    run = load_run(path)
    point = run.datapoint(run.ids[0])
    assert (point.metrics["Exact Match"], point.metrics["Exact Match.success"]) == (
        0.0,
        0.0,
    )
    assert run.warnings == (
        f"{path}: deepeval: metric 'Exact Match' appears twice with different scores "
        f"in {run.ids[0]!r}: the first entry is read",
    )


def test_an_errored_metric_has_no_score_and_is_named(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    entry = case["metricsData"][1]
    entry.update(score=None, success=None, error="RateLimitError: 429")
    path = write(tmp_path, doc)
    run = load_run(path)
    point = run.datapoint(run.ids[0])
    assert "AnswerLLMJudgeMetric" not in point.metrics
    assert "AnswerLLMJudgeMetric.success" not in point.metrics
    assert run.warnings == (
        f"{path}: deepeval: metric 'AnswerLLMJudgeMetric' errored on 1 test case(s) "
        "(e.g. 'RateLimitError: 429'): no score there",
    )


# ------------------------------------------------------------------ conversations


def conversation() -> dict[str, Any]:
    """A conversational test case as ConversationalApiTestCase dumps it by alias."""
    return {
        "name": "conversational_test_case_0",
        "success": False,
        "metricsData": [
            {
                "name": "Role Adherence",
                "threshold": 0.5,
                "success": False,
                "score": 0.25,
                "strictMode": False,
                "evaluationModel": "gpt-4.1",
            }
        ],
        "runDuration": 2.5,
        "turns": [
            {"role": "user", "content": "I want to return my shoes.", "order": 0},
            {
                "role": "assistant",
                "content": "Sure, what is your order number?",
                "order": 1,
                "toolsCalled": [{"name": "lookup_order"}],
            },
        ],
        "order": 0,
        "scenario": "A customer returns shoes",
        "expectedOutcome": "The return is started",
    }


def test_conversational_test_cases_have_their_turns_as_steps(tmp_path: Path) -> None:
    case = conversation()
    path = write(
        tmp_path, {"testRunData": {"testCases": [], "conversationalTestCases": [case]}}
    )
    run = load_run(path)
    turns = [[t["role"], t["content"]] for t in case["turns"]]
    text = json.dumps(turns, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    key = "turns:" + hashlib.sha256(text.encode()).hexdigest()[:12]
    assert run.ids == [key]
    point = run.datapoint(key)
    assert point.input == "A customer returns shoes"
    assert point.expected == "The return is started"
    assert point.output == (
        "user: I want to return my shoes.\nassistant: Sure, what is your order number?"
    )
    assert point.metrics == {"Role Adherence": 0.25, "Role Adherence.success": 0.0}
    assert sorted(run.steps) == ["turn0", "turn1"]
    assert run.steps["turn1"].outputs == ["Sure, what is your order number?"]


# ------------------------------------------------------------------ damaged files


def test_a_run_uploaded_to_confident_ai_holds_only_its_link(tmp_path: Path) -> None:
    path = write(tmp_path, {"testRunLink": "https://app.confident-ai.com/x"})
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: field 'testRunLink': holds only the link to the test run on "
            "Confident AI (testRunLink), not its results: DeepEval writes the results "
            "here only for runs it does not upload (export the run locally "
            "(DEEPEVAL_RESULTS_FOLDER=<folder>) and point at the test_run_<date>.json "
            "it writes)"
        ),
    ):
        load_run(path)


def test_a_truncated_file_names_the_place(data: Path, tmp_path: Path) -> None:
    text = (data / BEEAI_OLD).read_text("utf-8")
    path = tmp_path / ".latest_test_run.json"
    path.write_text(text[: len(text) // 2], "utf-8")
    with pytest.raises(RunFormatError, match=re.escape(f"{path}:1: malformed JSON")):
        load_run(path)


def test_a_score_that_is_not_a_number_names_the_test_case_and_field(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    case["metricsData"][2]["score"] = "0.5"
    path = write(tmp_path, doc)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint {input_id(case['input'])!r}: field "
            "'testCases[0].metricsData[2].score': a score must be a number, got '0.5'"
        ),
    ):
        load_run(path)


def test_success_that_is_not_a_bool_is_refused(data: Path, tmp_path: Path) -> None:
    doc, case = _cases(data)
    case["metricsData"][0]["success"] = "no"
    path = write(tmp_path, doc)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            "field 'testCases[0].metricsData[0].success': success must be true or "
            "false, got 'no'"
        ),
    ):
        load_run(path)


def test_metrics_data_that_is_not_a_list_is_refused(data: Path, tmp_path: Path) -> None:
    doc, case = _cases(data)
    case["metricsData"] = {"Exact Match": 0.0}
    path = write(tmp_path, doc)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            "field 'testCases[0].metricsData': must be a list of metric results, got dict"
        ),
    ):
        load_run(path)


def test_a_test_case_without_a_name_is_refused(data: Path, tmp_path: Path) -> None:
    doc, case = _cases(data)
    del case["name"]
    path = write(tmp_path, doc)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint 'testCases[0]': field 'name': a test case needs a "
            "non-empty string 'name', got None (DeepEval names every test case; the "
            "file is damaged)"
        ),
    ):
        load_run(path)


def test_a_duplicate_key_is_refused_with_its_line(data: Path, tmp_path: Path) -> None:
    text = (data / BEEAI_OLD).read_text("utf-8")
    path = tmp_path / ".latest_test_run.json"
    path.write_text(text.replace('"order": 0', '"order": 0, "order": 1', 1), "utf-8")
    with pytest.raises(
        RunFormatError, match=re.escape(f"{path}:1: field 'order': duplicate key")
    ):
        load_run(path)


def test_no_test_cases_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, {"testRunData": {"testCases": [], "testPassed": 0}})
    with pytest.raises(RunFormatError, match="the test run holds no test cases"):
        load_run(path)


# ------------------------------------------------------------------ choosing


def test_the_reader_is_chosen_from_the_content_not_the_name(
    data: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "results.json"
    renamed.write_bytes((data / BEEAI_OLD).read_bytes())
    assert load_run(renamed).meta.format == "deepeval"
    other = write(tmp_path, {"cases": [{"name": "x"}], "testCases": []}, "plain.json")
    assert deepeval.pytest_runcompare_load_run(str(other), {}) is None
    with pytest.raises(RunFormatError, match="the test run holds no test cases"):
        deepeval.pytest_runcompare_load_run(str(other), {"format": "deepeval"})


def test_an_export_whose_first_test_case_is_long_is_recognised(
    data: Path, tmp_path: Path
) -> None:
    doc, case = _cases(data)
    case["input"] = "context " * 1000  # metricsData starts past the bytes sniffed
    export = write(tmp_path, doc["testRunData"], "test_run_20260101_120000.json")
    run = load_run(export)
    assert run.meta.format == "deepeval"
    assert run.datapoint(run.ids[0]).input == case["input"]


def test_another_format_forced_is_not_read_here(data: Path) -> None:
    path = str(data / BEEAI_OLD)
    assert deepeval.pytest_runcompare_load_run(path, {"format": "promptfoo"}) is None


def test_turns_past_the_steps_limit_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_STEPS", "1")
    case = conversation()
    doc = {"testRunData": {"conversationalTestCases": [case]}}
    path = write(tmp_path, doc)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            "field 'conversationalTestCases[0].turns': more than 1 named steps (turns, "
            "repeated samplings) a reader makes in one run (2 turn numbers)"
        ),
    ):
        load_run(path)
    case["turns"].pop()
    assert sorted(load_run(write(tmp_path, doc)).steps) == ["turn0"]
