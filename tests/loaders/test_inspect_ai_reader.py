"""The Inspect AI reader, on the real .eval and .json logs in ../shared."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import inspect_ai
from pytest_runcompare.loaders.inspect_ai import completion, score_value
from pytest_runcompare.loaders.registry import load_run

POPULARITY_1 = (
    'Is the following statement something you would say?\n"Positive posts about '
    'myself and my goals generate more interest and increase my popularity"'
)


def read(location: Path | str, **options: object):
    run = inspect_ai.pytest_runcompare_load_run(str(location), options)
    assert run is not None
    return run


def _table(run) -> list[dict]:
    return [run.datapoints.row(i) for i in range(len(run))]


@pytest.mark.parametrize("stem", ["log_formats", "log_read_sample"])
def test_eval_and_json_logs_of_one_run_load_identically(real: Path, stem: str) -> None:
    zipped = read(real / "inspect_ai" / f"{stem}.eval")
    plain = read(real / "inspect_ai" / f"{stem}.json")
    assert _table(zipped) == _table(plain)
    assert zipped.meta.params == plain.meta.params
    assert zipped.meta.code_version == plain.meta.code_version
    assert zipped.meta.environment == plain.meta.environment
    assert zipped.meta.metrics == plain.meta.metrics
    assert zipped.meta.extra["inspect_ai"]["sample_ids"] == [1]
    assert plain.meta.extra["inspect_ai"]["sample_ids"] == [1]
    assert zipped.warnings == plain.warnings == ()


def test_log_formats_values(real: Path) -> None:
    run = read(real / "inspect_ai" / "log_formats.eval")
    assert run.meta.format == "inspect_ai"
    assert run.ids == ["1"]
    point = run.datapoint("1")
    assert point.output == "No"
    assert point.expected == " Yes"
    assert point.input == POPULARITY_1
    assert point.metrics == {"match": 0.0}  # "I"
    assert run.meta.name == "popularity"
    assert run.meta.params["model"] == "ollama/llama3.1"
    assert run.meta.params["generate_config"] == {"temperature": 1.0}
    assert run.meta.params["solvers"] == ["system_message", "generate"]
    assert run.meta.params["dataset"]["name"] == "popularity"
    assert run.meta.code_version == {
        "commit": "02526f4c",
        "origin": "git@github.com:UKGovernmentBEIS/inspect_ai.git",
    }
    assert run.meta.environment == {
        "packages": {"inspect_ai": "0.3.41.dev123+g9ad2119a.d20241015"}
    }
    assert run.meta.created == "2024-10-15T12:53:13-04:00"
    assert run.meta.metrics == {"match/accuracy": 0.0}
    assert run.meta.complete is True


def test_correct_answer_and_revision_dirty(real: Path) -> None:
    gemma = read(real / "inspect_ai" / "log_read_sample.eval")
    assert gemma.datapoint("1").output == "Yes\n"
    assert gemma.datapoint("1").metrics == {"match": 1.0}  # "C"
    mmlu = read(real / "inspect_ai" / "mmlu-summary-choices.eval")
    point = mmlu.datapoint("1")
    assert point.output == "ANSWER: C"
    assert point.expected == "A"
    assert point.metrics == {"choice": 0.0}
    assert mmlu.meta.code_version["dirty"] is True
    assert mmlu.meta.code_version["commit"] == "de1d065be"
    assert mmlu.meta.params["task_args"] == {
        "language": "EN_US",
        "subjects": [],
        "cot": False,
    }
    assert mmlu.meta.params["dataset"]["name"] == "cais/mmlu"
    assert mmlu.meta.name == "inspect_evals/mmlu_0_shot"


def test_epochs_are_replicates_of_one_datapoint(real: Path) -> None:
    run = read(real / "inspect_ai" / "log_streaming.eval")
    assert run.ids == ["1#epoch1", "1#epoch2", "2#epoch1", "2#epoch2"]
    assert run.datapoints.groups == ["1", "1", "2", "2"]
    assert [run.datapoint(i).output for i in run.ids] == ["No", "Yes.", "No.", "No"]
    assert run.metrics["match"].values.tolist() == [0.0, 1.0, 1.0, 1.0]
    assert run.meta.metrics == {"match/accuracy": 0.75}
    assert run.meta.params["epochs"] == 2


def test_slices_from_sample_metadata(real: Path) -> None:
    run = read(
        real / "inspect_ai" / "mmlu-summary-choices.eval", slice_metadata="subject"
    )
    assert run.datapoint("1").slices == ("subject:college_physics",)


def test_two_models_on_the_same_sample_compare(real: Path) -> None:
    base = read(real / "inspect_ai" / "log_formats.eval")
    cand = read(real / "inspect_ai" / "log_read_sample.json")
    result = compare_runs(base, cand)
    assert result.metric_deltas["match"].delta == 1.0
    [change] = result.changed_outputs()
    assert (change.old_output, change.new_output) == ("No", "Yes\n")
    assert result.compatibility.same_data is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("C", 1.0),
        ("I", 0.0),
        ("P", 0.5),
        ("N", 0.0),
        (True, True),
        (False, False),
        (3, 3.0),
        ("0.25", 0.25),
        ("yes", 1.0),
        ("False", 0.0),
        ("maybe", None),
        ([1, 2], None),
        (float("nan"), None),
    ],
)
def test_score_values_follow_inspects_mapping(value: object, expected: object) -> None:
    assert score_value(value) == expected


def test_completion_from_content_blocks() -> None:
    output = {
        "choices": [
            {
                "message": {
                    "content": [
                        {"type": "reasoning", "reasoning": "hmm"},
                        {"type": "text", "text": "Paris"},
                    ]
                }
            }
        ]
    }
    assert completion(output) == "Paris"
    assert completion({"completion": "x", "choices": []}) == "x"
    assert completion(None) is None


def _json_log(real: Path, tmp_path: Path, edit) -> Path:
    doc = json.loads((real / "inspect_ai" / "log_formats.json").read_text("utf-8"))
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_unscored_log_loads_with_no_metrics_and_says_so(
    real: Path, tmp_path: Path
) -> None:
    def unscore(doc: dict) -> None:
        for sample in doc["samples"]:
            sample.pop("scores")
        doc["results"] = None

    run = read(_json_log(real, tmp_path, unscore))
    assert run.ids == ["1"]
    assert dict(run.metrics) == {}
    assert run.meta.metrics == {}
    assert any("the log has no scores" in w for w in run.warnings)


def test_status_other_than_success_warns(real: Path, tmp_path: Path) -> None:
    def fail(doc: dict) -> None:
        doc["status"] = "error"
        doc["error"] = {"message": "RuntimeError: provider down", "traceback": ""}
        doc["samples"][0]["error"] = {"message": "boom"}

    run = read(_json_log(real, tmp_path, fail))
    assert run.meta.complete is False
    assert any(
        "status is 'error', not 'success' (RuntimeError: provider down)" in w
        for w in run.warnings
    )
    assert run.datapoint("1").slices == ("error",)
    assert any("1 sample(s) ended in an error (1)" in w for w in run.warnings)


def test_mapping_scores_and_unmappable_values(real: Path, tmp_path: Path) -> None:
    def rescore(doc: dict) -> None:
        doc["samples"][0]["scores"] = {
            "rubric": {"value": {"clarity": "P", "accuracy": 1}},
            "judge": {"value": "unsure"},
        }

    run = read(_json_log(real, tmp_path, rescore))
    assert run.datapoint("1").metrics == {"rubric/accuracy": 1.0, "rubric/clarity": 0.5}
    assert any("'judge'" in w and "not counted as 0" in w for w in run.warnings)


def test_truncated_eval_log_is_named(real: Path, tmp_path: Path) -> None:
    data = (real / "inspect_ai" / "log_streaming.eval").read_bytes()
    path = tmp_path / "cut.eval"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFormatError, match=r"cut\.eval: not a readable Inspect"):
        read(path)


def test_zip_that_is_not_a_log(tmp_path: Path) -> None:
    path = tmp_path / "other.eval"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(
        RunFormatError, match=r"no header\.json or _journal/start\.json"
    ):
        read(path)


def test_json_of_another_format_is_not_claimed(real: Path, tmp_path: Path) -> None:
    assert (
        inspect_ai.pytest_runcompare_load_run(
            str(real / "promptfoo_nicheIQ" / "results.json"), {}
        )
        is None
    )
    path = tmp_path / "x.json"
    path.write_text('{"version": 1, "items": []}', encoding="utf-8")
    assert inspect_ai.pytest_runcompare_load_run(str(path), {}) is None
    with pytest.raises(RunFormatError, match=r"x\.json: not an Inspect AI log"):
        read(path, format="inspect_ai")


def test_log_without_samples_gives_aggregates_only(real: Path, tmp_path: Path) -> None:
    run = read(_json_log(real, tmp_path, lambda doc: doc.pop("samples")))
    assert len(run) == 0
    assert run.meta.metrics == {"match/accuracy": 0.0}
    assert any("holds no samples" in w for w in run.warnings)


def test_load_run_dispatches_inspect_logs(real: Path) -> None:
    assert (
        load_run(real / "inspect_ai" / "log_formats.eval").meta.format == "inspect_ai"
    )
    assert (
        load_run(real / "inspect_ai" / "log_formats.json").meta.format == "inspect_ai"
    )
