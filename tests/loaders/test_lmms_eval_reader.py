"""The lmms-eval reader, on --log_samples output laid out as lmms-eval writes it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.config import Candidate, RunSource
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import lmms_eval
from pytest_runcompare.loaders.multi import expand_candidates
from pytest_runcompare.loaders.registry import load_run

MODEL = "llava-hf__llava-1.5-7b-hf"
BASE = f"lmms_eval/baseline/{MODEL}"
CAND = f"lmms_eval/candidate/{MODEL}"
BASE_DATE = "20260601_101500"
SCORES = ("mme_perception_score", "mme_cognition_score")


def samples(folder: Path) -> list[dict[str, Any]]:
    [path] = folder.glob("*_samples_mme.jsonl")
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def results(folder: Path) -> dict[str, Any]:
    [path] = folder.glob("*_results.json")
    return json.loads(path.read_text("utf-8"))


@pytest.fixture
def copied(data: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(data / BASE, tmp_path / MODEL))


def rewrite(folder: Path, lines: list[Any]) -> Path:
    [path] = folder.glob("*_samples_mme.jsonl")
    path.write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8"
    )
    return path


# ------------------------------------------------------------------ the files


def test_the_output_folder_reads_every_sample(data: Path) -> None:
    raw = samples(data / BASE)
    run = load_run(data / "lmms_eval" / "baseline")
    assert run.meta.format == "lmms_eval"
    assert run.ids == [str(line["doc_id"]) for line in raw]
    for line in raw:
        point = run.datapoint(str(line["doc_id"]))
        assert point.output == line["filtered_resps"]
        assert point.input == line["input"]
        assert point.expected == line["target"]
        assert point.meta == {"input_media": line["input_media"]}
        # mme logs {"question_id", "category", "score"}: lmms-eval reads the score
        expected = {k: line[k]["score"] for k in SCORES if k in line}
        assert point.metrics == expected
    assert run.warnings == ()


def test_the_results_file_gives_the_metadata_and_aggregates(data: Path) -> None:
    doc = results(data / BASE)
    run = load_run(data / BASE)
    assert run.meta.name == doc["model_name"] == "llava-hf/llava-1.5-7b-hf"
    assert dict(run.meta.metrics) == {
        "mme_cognition_score": doc["results"]["mme"]["mme_cognition_score,none"],
        "mme_perception_score": doc["results"]["mme"]["mme_perception_score,none"],
    }
    assert run.meta.environment == {"lmms_eval": doc["lmms_eval_version"]}
    assert run.meta.seed == doc["config"]["random_seed"]
    assert run.meta.code_version == {"commit": doc["git_hash"]}
    assert run.meta.data_version == doc["task_hashes"]["mme"]
    assert run.meta.params["model_args"] == doc["config"]["model_args"]
    assert run.meta.params["limit"] == doc["config"]["limit"]
    for name in SCORES:
        definition = run.meta.metric_definitions[name]
        assert definition.higher_is_better is doc["higher_is_better"]["mme"][name]
        assert definition.version == doc["versions"]["mme"]
    assert run.meta.extra["lmms_eval"]["git_branch"] == doc["git_branch"]


def test_a_samples_file_or_the_results_file_reads_the_same_run(data: Path) -> None:
    folder = data / BASE
    whole = load_run(folder)
    one = load_run(folder / f"{BASE_DATE}_samples_mme.jsonl")
    other = load_run(folder / f"{BASE_DATE}_results.json")
    assert one.ids == other.ids == whole.ids
    assert one.meta.metrics == other.meta.metrics == whole.meta.metrics
    assert [one.datapoint(i) for i in one.ids] == [
        whole.datapoint(i) for i in whole.ids
    ]


def test_the_candidate_pairs_with_the_baseline_by_doc_id(data: Path) -> None:
    old, new = load_run(data / BASE), load_run(data / CAND)
    changed = [i for i in old.ids if old.datapoint(i).output != new.datapoint(i).output]
    raw_old, raw_new = samples(data / BASE), samples(data / CAND)
    assert changed == [
        str(a["doc_id"])
        for a, b in zip(raw_old, raw_new, strict=True)
        if a["filtered_resps"] != b["filtered_resps"]
    ]
    assert changed == ["1", "4"]


# ------------------------------------------------------------------ differences


def test_inline_images_are_kept_as_references(copied: Path) -> None:
    lines = samples(copied)
    picture = "data:image/png;base64," + "iVBORw0KGgo" * 100
    lines[0]["input_media"] = [picture, "https://example.org/cat.jpg"]
    lines[0]["resps"] = "<think>a train</think>Yes"
    rewrite(copied, lines)
    point = load_run(copied).datapoint("0")
    [inline, url] = point.meta["input_media"]
    assert inline.startswith("data:image/png;base64 (1,100 characters, sha256 ")
    assert "iVBORw0KGgo" not in inline
    assert url == "https://example.org/cat.jpg"
    assert point.meta["raw_response"] == "<think>a train</think>Yes"


def test_a_metric_that_is_not_a_number_per_sample_is_left_out(copied: Path) -> None:
    lines = samples(copied)
    for line in lines:
        line["bypass"] = [["B"], ["A"]]  # what lmms-eval's bypass metric logs
    rewrite(copied, lines)
    run = load_run(copied)
    assert all("bypass" not in run.datapoint(i).metrics for i in run.ids)
    assert run.warnings == (
        "lmms_eval: metric 'bypass' is not a number per sample (e.g. a list of 2, "
        "which the task aggregates over all samples): left out of the per-datapoint "
        "metrics; no aggregate for it was found in a results file",
    )


def test_several_tasks_are_prefixed_and_sliced(copied: Path) -> None:
    source = copied / f"{BASE_DATE}_samples_mme.jsonl"
    shutil.copy(source, copied / f"{BASE_DATE}_samples_mme_copy.jsonl")
    run = load_run(copied)
    assert run.ids[:2] == ["mme/0", "mme/1"]
    assert run.ids[-1] == "mme_copy/5"
    assert run.datapoint("mme_copy/0").slices == ("task:mme_copy",)
    only = load_run(f"{copied}::task=mme_copy")
    assert only.ids == ["0", "1", "2", "3", "4", "5"]


def test_a_folder_of_two_runs_needs_a_date(data: Path) -> None:
    folder = data / "lmms_eval"
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{folder}: the folder holds 2 lmms-eval runs: date=20260601_101500 (in "
            f"baseline/{MODEL}): mme; date=20260602_093012 (in candidate/{MODEL}): mme "
            f"(pick one with {folder}::date=<date> (and model=<folder> if needed))"
        ),
    ):
        load_run(folder)
    assert load_run(f"{folder}::date=20260602").ids == [str(i) for i in range(6)]


def test_a_sweep_lists_the_runs_of_a_folder(data: Path) -> None:
    folder = data / "lmms_eval"
    got = expand_candidates([Candidate(None, RunSource(str(folder), {}))])
    assert [(c.label, c.source.location) for c in got] == [
        ("baseline", f"{folder / 'baseline' / MODEL}::date=20260601_101500"),
        ("candidate", f"{folder / 'candidate' / MODEL}::date=20260602_093012"),
    ]
    assert [len(load_run(c.source.location)) for c in got] == [6, 6]


def test_lm_eval_output_is_left_to_the_lm_eval_reader(real: Path) -> None:
    folder = real / "lm-eval_negotiationtom_qwen3-8b_rerun" / "run_17-52-34.622576"
    assert lmms_eval.pytest_runcompare_load_run(str(folder), {}) is None
    assert load_run(folder).meta.format == "lm_eval"


def test_a_renamed_samples_file_is_recognised_by_its_lines(
    data: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "mme.jsonl"
    renamed.write_bytes((data / BASE / f"{BASE_DATE}_samples_mme.jsonl").read_bytes())
    run = load_run(renamed)
    assert run.meta.format == "lmms_eval"
    assert len(run.ids) == 6
    assert run.warnings[0].startswith(
        f"{renamed}: no lmms-eval results file of the same run found beside the samples"
    )


# ------------------------------------------------------------------ damaged files


def test_a_truncated_samples_file_names_the_line(copied: Path) -> None:
    path = copied / f"{BASE_DATE}_samples_mme.jsonl"
    text = path.read_text("utf-8")
    path.write_text(text[: len(text) - 30], "utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:6: truncated last line: the file is cut off mid-record"
        ),
    ):
        load_run(copied)


def test_a_doc_id_twice_is_refused(copied: Path) -> None:
    lines = samples(copied)
    lines[3]["doc_id"] = 2
    path = rewrite(copied, lines)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:4: datapoint '2': field 'id': duplicate id (first seen at line 3)"
        ),
    ):
        load_run(copied)


def test_a_doc_id_of_the_wrong_type_is_refused(copied: Path) -> None:
    lines = samples(copied)
    lines[1]["doc_id"] = [1]
    path = rewrite(copied, lines)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:2: field 'doc_id': doc_id must be an integer or a string, got [1]"
        ),
    ):
        load_run(copied)


def test_a_score_of_the_wrong_type_names_the_field(copied: Path) -> None:
    lines = samples(copied)
    lines[0]["mme_perception_score"]["score"] = 10**399  # past a 64-bit float
    path = rewrite(copied, lines)
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path}:1: datapoint '0': field 'mme_perception_score.score'"),
    ):
        load_run(copied)


def test_an_empty_samples_file_is_an_error_naming_the_task(copied: Path) -> None:
    path = rewrite(copied, [])
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: the samples file of task 'mme' holds no samples: its datapoints "
            "and its metrics would be missing from the run"
        ),
    ):
        load_run(copied)


def test_a_results_file_without_samples_is_an_error(copied: Path) -> None:
    (copied / f"{BASE_DATE}_samples_mme.jsonl").unlink()
    results_file = copied / f"{BASE_DATE}_results.json"
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{results_file}: no {BASE_DATE}_samples_<task>.jsonl beside the results "
            "file: lmms-eval writes them with --log_samples"
        ),
    ):
        load_run(results_file)
