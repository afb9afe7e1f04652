"""The promptfoo reader, on the real results.json in ../shared (nicheIQ)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import promptfoo
from pytest_runcompare.loaders.registry import load_run

PAIN_TESTS = [
    "[pain] HIGH — compliance fine + audit failure",
    "[pain] MEDIUM — manual AP reconciliation with known dollar loss",
    "[pain] LOW — cosmetic UI preference, no financial impact",
    "[pain] BOUNDARY — output discipline: must be integer, no extra text",
]


@pytest.fixture
def results(real: Path) -> Path:
    return real / "promptfoo_nicheIQ" / "results.json"


def read(location: Path | str, **options: object):
    run = promptfoo.pytest_runcompare_load_run(str(location), options)
    assert run is not None
    return run


def test_without_a_selector_the_columns_are_listed(results: Path) -> None:
    with pytest.raises(RunFormatError, match="the file holds 8 columns") as info:
        read(results)
    message = str(info.value)
    assert str(results) in message
    assert (
        "column=0 provider=openai:gpt-4o-mini prompt='Pain Scorer v1 (word anchors)' "
        "(4 rows)" in message
    )
    assert (
        "column=6 provider=openai:gpt-4o prompt='Product Ideas v1 (current)' (3 rows)"
        in message
    )
    assert "::provider=<id>,prompt=<label or id>" in message


def test_selector_picks_one_column(results: Path) -> None:
    run = read(f"{results}::provider=openai:gpt-4o,prompt=pain_v2")
    assert run.meta.format == "promptfoo"
    assert run.ids == PAIN_TESTS  # test descriptions, in test order
    point = run.datapoint(PAIN_TESTS[0])
    assert point.output.startswith('It seems like you\'re referring to "Pain v2,"')
    assert point.metrics == {
        "score": 0.0,
        "success": 0.0,
        "latencyMs": 1177.0,
        "cost": 0.000755,
        "error": 0.0,
    }
    assert run.metrics["success"].boolean is True
    assert point.slices == ("outcome:fail",)
    assert (
        point.input["niche"]
        == "HIPAA compliance documentation for small medical practices"
    )
    meta = run.meta
    assert meta.name == "gpt-4o / Pain Scorer v2 (dollar-band rubric)"
    assert meta.params["provider"] == "openai:gpt-4o"
    assert meta.params["prompt"] == "Pain Scorer v2 (dollar-band rubric)"
    assert meta.params["prompt_id"].startswith("1069d7b7da17")
    assert meta.environment == {
        "promptfoo": "0.121.2",
        "node": "v24.14.0",
        "platform": "win32",
    }
    assert meta.created == "2026-03-21T20:25:02.992Z"
    assert meta.extra["promptfoo"]["eval_id"] == "eval-SQx-2026-03-21T20:25:02"
    assert meta.extra["promptfoo"]["column"] == 5
    assert meta.metric_definitions["latencyMs"].higher_is_better is False
    assert meta.metric_definitions["error"].higher_is_better is False


@pytest.mark.parametrize(
    "selector",
    [
        "provider=gpt-4o,prompt=Pain Scorer v2 (dollar-band rubric)",
        "provider=openai:gpt-4o,prompt=1069d7b7",
        "provider=openai:gpt-4o,prompt=1",
        "column=5",
    ],
)
def test_ways_to_name_a_column(results: Path, selector: str) -> None:
    run = read(f"{results}::{selector}")
    assert run.meta.extra["promptfoo"]["column"] == 5


def test_keyword_options_from_the_gates_file(results: Path) -> None:
    run = read(
        results, format="promptfoo", provider="openai:gpt-4o-mini", prompt="ideas_v1"
    )
    assert run.ids == [
        "[ideas] JSON structure is valid and complete",
        "[ideas] Target users must be hyper-specific",
        "[ideas] MVP scope must be realistic for 1-2 devs in 4-6 weeks",
    ]
    assert run.datapoint(run.ids[0]).metrics["cost"] == pytest.approx(3.63e-05)


def test_selector_matching_nothing_lists_the_columns(results: Path) -> None:
    with pytest.raises(
        RunFormatError, match="'prompt=pain_v9' matches no column"
    ) as info:
        read(f"{results}::prompt=pain_v9")
    assert "column=7 provider=openai:gpt-4o" in str(info.value)
    with pytest.raises(RunFormatError, match="matches 4 columns"):
        read(f"{results}::provider=openai:gpt-4o")
    with pytest.raises(RunFormatError, match="'model=x' is not key=value"):
        read(f"{results}::model=x")


def test_prompt_change_pair_pairs_by_test_case_not_row(results: Path) -> None:
    base = read(f"{results}::provider=openai:gpt-4o,prompt=pain_v1")
    cand = read(f"{results}::provider=openai:gpt-4o,prompt=pain_v2")
    result = compare_runs(base, cand)
    assert result.n_common == 4
    deltas = result.metric_deltas
    assert deltas["score"].delta == 0.0  # every row failed in both
    assert deltas["success"].unchanged_count == 4
    assert result.changed_output_count == 4
    assert result.compatibility.same_data is True  # same vars per test case
    model_change = compare_runs(
        read(f"{results}::provider=openai:gpt-4o-mini,prompt=pain_v1"), base
    )
    assert model_change.n_common == 4


def _edited(results: Path, tmp_path: Path, edit) -> Path:
    doc = json.loads(results.read_text("utf-8"))
    edit(doc)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_error_rows_are_kept_flagged_and_not_scored(
    results: Path, tmp_path: Path
) -> None:
    def break_row(doc: dict) -> None:
        for row in doc["results"]["results"]:
            if row["promptIdx"] == 5 and row["testIdx"] == 2:
                row["failureReason"] = 2
                row["error"] = "API error: 429 Too Many Requests"
                row["response"] = {"error": "429"}
                row["score"] = 0

    run = read(f"{_edited(results, tmp_path, break_row)}::column=5")
    point = run.datapoint(PAIN_TESTS[2])
    assert point.metrics == {"error": 1.0}
    assert point.slices == ("outcome:error",)
    assert point.output is None
    assert run.metrics["score"].count == 3
    [warning] = run.warnings
    assert "1 row(s) are errors" in warning
    assert "not scored" in warning


def test_named_scores_and_json_outputs(results: Path, tmp_path: Path) -> None:
    def enrich(doc: dict) -> None:
        for row in doc["results"]["results"]:
            if row["promptIdx"] == 5:
                row["namedScores"] = {"relevance": 0.75, "label": "x"}
                row["response"]["output"] = {"score": 7}
                row["success"] = True
                row["failureReason"] = 0

    run = read(f"{_edited(results, tmp_path, enrich)}::column=5")
    point = run.datapoint(PAIN_TESTS[0])
    assert point.metrics["relevance"] == 0.75
    assert "label" not in point.metrics
    assert point.output == '{"score": 7}'
    assert point.slices == ("outcome:pass",)


def test_ids_without_descriptions_hash_the_vars_and_repeats_are_replicates(
    results: Path, tmp_path: Path
) -> None:
    def strip(doc: dict) -> None:
        rows = doc["results"]["results"]
        for row in rows:
            row["testCase"].pop("description")
        # promptfoo eval --repeat 2: the same test twice in one column
        twice = [dict(r) for r in rows if r["promptIdx"] == 5 and r["testIdx"] == 0]
        rows.extend(twice)

    run = read(f"{_edited(results, tmp_path, strip)}::column=5")
    assert len(run) == 5
    repeated = [i for i in run.ids if i.endswith(("#1", "#2"))]
    assert len(repeated) == 2
    assert all(i.startswith("vars:") for i in run.ids)
    group = run.datapoint(repeated[0]).group
    assert group == repeated[0][:-2]
    by_var = read(f"{_edited(results, tmp_path, strip)}::column=1", id_var="niche")
    assert (
        "HIPAA compliance documentation for small medical practices#1" not in by_var.ids
    )
    assert "HIPAA compliance documentation for small medical practices" in by_var.ids


def test_not_a_promptfoo_file(real: Path, tmp_path: Path) -> None:
    assert (
        promptfoo.pytest_runcompare_load_run(
            str(real / "inspect_ai" / "log_formats.json"), {}
        )
        is None
    )
    path = tmp_path / "x.json"
    path.write_text('{"evalId": "e", "results": {"version": 3}}', encoding="utf-8")
    with pytest.raises(RunFormatError, match=r"x\.json: not a promptfoo results file"):
        read(path)
    path.write_text('{"evalId": "e", "results": {"version": 3, "results": [', "utf-8")
    with pytest.raises(RunFormatError, match=r"x\.json:1: malformed JSON"):
        read(path)


def test_load_run_dispatches_promptfoo(results: Path) -> None:
    run = load_run(f"{results}::column=0")
    assert run.meta.format == "promptfoo"
