"""The lm-evaluation-harness reader, on the real files in ../shared/fixtures/real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import lm_eval
from pytest_runcompare.loaders.lm_eval import flatten_response
from pytest_runcompare.loaders.registry import load_run

QWEN = "lm-eval_negotiationtom_qwen3-8b_rerun"
QWEN_BASE = f"{QWEN}/run_17-52-34.622576"
QWEN_CAND = f"{QWEN}/run_18-15-33.115417"
MASAKHANER = "lm-eval_masakhaner-luo_gemma-2b_0shot-vs-5shot"
ZERO_SHOT = "2026-01-16T20-19-39.102073"
FIVE_SHOT = "2026-01-16T20-39-07.271056"


def read(location: Path | str, **options: object):
    run = lm_eval.pytest_runcompare_load_run(str(location), options)
    assert run is not None
    return run


# ----------------------------------------------------------------- one samples file


def test_samples_file_reads_ids_outputs_targets_and_prompt(real: Path) -> None:
    path = real / MASAKHANER / f"samples_masakhaner_luo_prompt_3_{ZERO_SHOT}.jsonl"
    run = read(path)
    assert run.meta.format == "lm_eval"
    assert len(run) == 185
    assert run.ids[:3] == ["0", "1", "2"]
    assert run.ids[-1] == "184"
    first = run.datapoint("0")
    # filtered_resps is [["text"]] here (a regex filter without take_first)
    assert first.output.startswith("per: kwan jii maromo $ loc: 796 mane $ org:")
    assert first.expected == "DATE: kawuononi"
    assert first.input.startswith("You are a Named Entity Recognition expert in Luo")
    assert first.input.endswith(
        "Text: Kwan jii maromo 796 mane oyudi ni nigi Covid-19 ei kawuononi"
    )
    assert first.slices == ()


def test_corpus_level_metric_is_left_out_with_a_warning_and_its_aggregate_kept(
    real: Path,
) -> None:
    path = real / MASAKHANER / f"samples_masakhaner_luo_prompt_3_{ZERO_SHOT}.jsonl"
    run = read(path)
    assert dict(run.metrics) == {}
    assert run.meta.metrics == {"f1": 0.035071942446013374}
    assert run.metric_names == ["f1"]
    [warning] = run.warnings
    assert "'f1'" in warning
    assert "not a number per sample" in warning
    assert "aggregate (0.03507) comes from the results file" in warning


def test_results_file_beside_the_samples_gives_the_metadata(real: Path) -> None:
    zero = read(
        real / MASAKHANER / f"samples_masakhaner_luo_prompt_3_{ZERO_SHOT}.jsonl"
    )
    five = read(
        real / MASAKHANER / f"samples_masakhaner_luo_prompt_3_{FIVE_SHOT}.jsonl"
    )
    meta = zero.meta
    assert meta.name == "google/gemma-2b"
    assert meta.params["model"] == "vllm"
    assert meta.params["model_args"] == {
        "pretrained": "google/gemma-2b",
        "dtype": "bfloat16",
        "gpu_memory_utilization": 0.7,
    }
    assert meta.params["n-shot"] == 0
    assert five.meta.params["n-shot"] == 5
    assert meta.params["seeds"] == {
        "random_seed": 0,
        "numpy_seed": 1234,
        "torch_seed": 1234,
        "fewshot_seed": 1234,
    }
    assert meta.seed == 0
    assert meta.code_version == {"commit": "01dff1e"}
    assert meta.environment["lm_eval"] == "0.4.10.dev0"
    assert meta.environment["transformers"] == "4.57.5"
    assert (
        meta.data_version
        == "039b89a282e97dbcaa2054b5f6db98307c8377d3fbf108d20b13205db332bef2"
    )
    assert meta.metric_definitions["f1"].higher_is_better is True
    assert meta.metric_definitions["f1"].version == "1.0"
    assert str(meta.created).startswith("2026-01-16T")
    assert five.meta.metrics == {"f1": 0.0689655172413405}
    # the results file was renamed by the PR author: it is found by the run's date
    assert meta.extra["lm_eval"]["results_file"].endswith(
        f"masakhaner_luo_prompt_3_0shot_{ZERO_SHOT}.json"
    )


def test_loglikelihood_rows_render_one_line_per_choice(real: Path) -> None:
    folder = real / QWEN_BASE / "Qwen__Qwen3-8B"
    run = read(
        folder / "samples_negotiationtom_belief_2026-07-08T17-52-34.622576.jsonl"
    )
    assert len(run) == 20
    point = run.datapoint("0")
    assert point.output == "-10.0 False\n-17.625 False\n-21.0 False\n-17.75 False"
    assert point.expected == "3"
    assert point.metrics == {"acc": 0.0}
    assert run.metrics["acc"].boolean is False
    assert float(run.metrics["acc"].values.mean()) == pytest.approx(0.45)
    assert run.meta.metrics == {"acc": 0.45}


def test_generate_until_with_take_first_is_a_plain_string(real: Path) -> None:
    folder = real / QWEN_BASE / "Qwen__Qwen3-8B"
    run = read(
        folder / "samples_negotiationtom_intention_2026-07-08T17-52-34.622576.jsonl"
    )
    assert run.datapoint("19").output == "Answer: A, C, D, F, G"
    assert run.datapoint("17").output == "A  "
    assert run.datapoint("10").metrics == {"exact_match": 1.0}
    assert sorted(run.metrics) == ["exact_match"]
    assert run.meta.metrics == {
        "exact_match": 0.2,
        "macro_f1": 0.2523809523809524,
        "micro_f1": 0.30188679245283023,
    }
    skipped = sorted(w.split("'")[1] for w in run.warnings)
    assert skipped == ["macro_f1", "micro_f1"]


def test_flatten_response_shapes() -> None:
    assert flatten_response(["A  "]) == "A  "
    assert flatten_response([["text"]]) == "text"
    assert flatten_response([["-1.5", "True"], ["-2.0", "False"]]) == (
        "-1.5 True\n-2.0 False"
    )
    assert flatten_response([["a", "b"]]) == "a\nb"  # repeats
    assert flatten_response([-3.25]) == "-3.25"  # loglikelihood_rolling
    assert flatten_response(None) is None


# ----------------------------------------------------------------- a whole run


@pytest.mark.parametrize(
    "where",
    [
        QWEN_BASE,
        f"{QWEN_BASE}/Qwen__Qwen3-8B",
        f"{QWEN_BASE}/Qwen__Qwen3-8B/results_2026-07-08T17-52-34.622576.json",
        f"{QWEN}::date=2026-07-08T17-52-34.622576",
    ],
)
def test_output_folder_or_results_file_reads_every_task(real: Path, where: str) -> None:
    run = read(f"{real}/{where}")
    assert len(run) == 60
    assert run.ids[0] == "negotiationtom_belief/0"
    assert run.ids[-1] == "negotiationtom_intention/19"
    assert run.datapoint("negotiationtom_desire/3").slices == (
        "task:negotiationtom_desire",
    )
    assert sorted(run.datapoints.slices) == [
        "task:negotiationtom_belief",
        "task:negotiationtom_desire",
        "task:negotiationtom_intention",
    ]
    assert run.metrics["acc"].count == 40
    assert run.metrics["exact_match"].count == 20
    # acc spans two tasks: its aggregate is the group's, which covers exactly them
    assert run.meta.metrics == {
        "acc": 0.525,
        "exact_match": 0.2,
        "macro_f1": 0.2523809523809524,
        "micro_f1": 0.30188679245283023,
    }
    assert run.meta.name == "Qwen/Qwen3-8B"
    assert run.meta.code_version == {
        "commit": "eb02ba327fb7c76475b12c8cdcf88623ec013a24"
    }
    assert run.meta.params["model_sha"] == "b968826d9c46dd6066d109eabc6255188de91218"
    assert run.meta.params["limit"] == 20.0
    assert run.meta.params["n-shot"] == 0
    assert run.meta.environment == {
        "lm_eval": "0.4.13.dev0",
        "transformers": "5.12.1",
        "python": "3.13.13",
    }
    hashes = run.meta.extra["lm_eval"]["task_hashes"]
    assert hashes["negotiationtom_belief"].startswith("c39025f3a090")
    assert len(run.meta.data_version) == 64
    assert run.meta.metric_definitions["micro_f1"].higher_is_better is True
    assert any(
        "'micro_f1' in task 'negotiationtom_intention'" in w for w in run.warnings
    )


def test_task_selector_reads_a_subset(real: Path) -> None:
    run = read(f"{real}/{QWEN_BASE}::task=negotiationtom_belief+negotiationtom_desire")
    assert len(run) == 40
    assert run.meta.metrics == {"acc": 0.525}
    options_run = read(real / QWEN_BASE, task="negotiationtom_intention")
    assert options_run.ids[0] == "0"  # one task: plain doc ids


def test_qwen_rerun_pair_compares_as_the_source_describes(real: Path) -> None:
    base, cand = read(real / QWEN_BASE), read(real / QWEN_CAND)
    result = compare_runs(base, cand)
    deltas = result.metric_deltas
    assert deltas["acc"].n_paired == 40
    assert deltas["acc"].degraded_count == deltas["acc"].improved_count == 0
    assert deltas["exact_match"].delta == 0.0
    changed = [c.id for c in result.changed_outputs()]
    # bf16 jitter changes every log-likelihood row; one generated answer changed
    assert len(changed) == 41
    assert [c for c in changed if "intention" in c] == ["negotiationtom_intention/17"]
    change = result.changed_outputs()[-1]
    assert (change.old_output, change.new_output) == ("A  ", "Answer: A, C, F, G")
    assert result.compatibility.same_data is True


# ----------------------------------------------------------------- several filters


def _sample(doc_id: int, filter_name: str, text: str, em: float) -> dict:
    return {
        "doc_id": doc_id,
        "doc": {"question": f"q{doc_id}", "answer": "4"},
        "target": "4",
        "arguments": {"gen_args_0": {"arg_0": f"Q: q{doc_id}\nA:", "arg_1": {}}},
        "resps": [[text]],
        "filtered_resps": [text],
        "filter": filter_name,
        "metrics": ["exact_match"],
        "doc_hash": "x",
        "prompt_hash": "y",
        "target_hash": "z",
        "exact_match": em,
    }


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_several_filters_give_one_datapoint_per_doc_and_filter(tmp_path: Path) -> None:
    rows = [_sample(i, "strict-match", "4", 1.0) for i in range(3)]
    rows += [_sample(i, "flexible-extract", "4", float(i != 1)) for i in range(3)]
    path = _write_jsonl(
        tmp_path / "samples_gsm8k_2024-05-01T10-00-00.000001.jsonl", rows
    )
    run = read(path)
    assert run.ids == [
        "0/strict-match",
        "1/strict-match",
        "2/strict-match",
        "0/flexible-extract",
        "1/flexible-extract",
        "2/flexible-extract",
    ]
    assert sorted(run.metrics) == [
        "exact_match,flexible-extract",
        "exact_match,strict-match",
    ]
    assert run.datapoint("1/flexible-extract").metrics == {
        "exact_match,flexible-extract": 0.0
    }
    assert run.datapoint("1/flexible-extract").slices == ("filter:flexible-extract",)
    assert any("no lm-eval results file" in w for w in run.warnings)


def test_filters_missed_by_the_prescan_still_get_their_own_ids(tmp_path: Path) -> None:
    # keys in another order: the raw-line scan finds no filter, the parse does
    rows = [
        dict(reversed(list(_sample(i, f, "4", 1.0).items())))
        for f in ("strict-match", "flexible-extract")
        for i in range(2)
    ]
    path = _write_jsonl(
        tmp_path / "samples_gsm8k_2024-05-01T10-00-00.000001.jsonl", rows
    )
    run = read(path)
    assert run.ids[0] == "0/strict-match"
    assert len(run) == 4


# ----------------------------------------------------------------- errors


def test_truncated_samples_file_names_the_file_and_line(
    real: Path, tmp_path: Path
) -> None:
    src = real / QWEN_BASE / "Qwen__Qwen3-8B"
    name = "samples_negotiationtom_belief_2026-07-08T17-52-34.622576.jsonl"
    data = (src / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) - 500])
    with pytest.raises(RunFormatError, match=r"belief.*\.jsonl:20: truncated") as info:
        read(tmp_path / name)
    assert "cut off" in str(info.value)


def test_a_file_of_another_format_is_refused_clearly(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "other.jsonl", [{"id": 1, "output": "x"}])
    assert lm_eval.pytest_runcompare_load_run(str(path), {}) is None
    with pytest.raises(
        RunFormatError,
        match=r"other\.jsonl:1: not an lm-evaluation-harness samples line: no 'doc_id'",
    ):
        read(path, format="lm_eval")


def test_results_json_of_another_tool_is_not_claimed(real: Path) -> None:
    assert (
        lm_eval.pytest_runcompare_load_run(
            str(real / "promptfoo_nicheIQ" / "results.json"), {}
        )
        is None
    )
    assert (
        lm_eval.pytest_runcompare_load_run(
            str(real / "inspect_ai" / "log_formats.json"), {}
        )
        is None
    )
    assert lm_eval.pytest_runcompare_load_run(str(real / "inspect_ai"), {}) is None
    assert (
        lm_eval.pytest_runcompare_load_run(
            str(real / QWEN_BASE), {"format": "promptfoo"}
        )
        is None
    )


def test_folder_with_several_runs_lists_them(real: Path) -> None:
    with pytest.raises(RunFormatError, match="the folder holds 2 lm-eval runs") as info:
        read(real / MASAKHANER)
    message = str(info.value)
    assert f"date={ZERO_SHOT}: masakhaner_luo_prompt_3" in message
    assert "::date=<date>" in message
    run = read(f"{real / MASAKHANER}::date={FIVE_SHOT}")
    assert run.meta.metrics == {"f1": 0.0689655172413405}


def test_selector_matching_nothing_says_what_is_there(real: Path) -> None:
    with pytest.raises(RunFormatError, match="the selector matches no run"):
        read(f"{real / QWEN}::date=2030-01-01")
    with pytest.raises(RunFormatError, match=r"task\(s\) \['nope'\] not in this run"):
        read(f"{real / QWEN_BASE}::task=nope")
    with pytest.raises(RunFormatError, match="'colour=red' is not key=value"):
        read(f"{real / QWEN_BASE}::colour=red")


def test_results_file_without_samples_gives_aggregates_only(
    real: Path, tmp_path: Path
) -> None:
    name = "results_2026-07-08T17-52-34.622576.json"
    shutil.copy(real / QWEN_BASE / "Qwen__Qwen3-8B" / name, tmp_path / name)
    run = read(tmp_path / name)
    assert len(run) == 0
    assert run.meta.metrics["micro_f1"] == 0.30188679245283023
    assert any("--log_samples" in w for w in run.warnings)


def test_malformed_results_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "results_2024-05-01T10-00-00.000001.json"
    path.write_text('{"results": {"gsm8k": {"acc,none": 0.5}', encoding="utf-8")
    with pytest.raises(RunFormatError, match=r"results_2024.*\.json:1: malformed JSON"):
        read(path)


def test_load_run_dispatches_lm_eval_files(real: Path) -> None:
    path = real / MASAKHANER / f"samples_masakhaner_luo_prompt_3_{ZERO_SHOT}.jsonl"
    assert load_run(path).meta.format == "lm_eval"
    assert load_run(real / QWEN_BASE).meta.format == "lm_eval"
