"""The failures the fuzz campaign found (issue 12), each a RunFormatError naming the
file, the line or datapoint and the field: never a reader's own TypeError, OverflowError,
RecursionError or UnicodeDecodeError wrapped in a generic message."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders.registry import load_run

LM_EVAL = "lm-eval_masakhaner-luo_gemma-2b_0shot-vs-5shot"
SAMPLES = "samples_masakhaner_luo_prompt_3_2026-01-16T20-19-39.102073.jsonl"


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def rewrite_eval(source: Path, target: Path, member: str, change: object) -> Path:
    """A copy of an Inspect .eval log with ``change(parsed)`` applied to one member."""
    with zipfile.ZipFile(source) as archive:
        items = [(i.filename, archive.read(i)) for i in archive.infolist()]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            if name == member:
                doc = json.loads(data)
                change(doc)  # type: ignore[operator]
                data = json.dumps(doc).encode()
            archive.writestr(name, data)
    return target


def test_inspect_json_sample_id_that_is_a_list_is_refused(
    real: Path, tmp_path: Path
) -> None:
    doc = json.loads((real / "inspect_ai" / "log_formats.json").read_text())
    doc["samples"][0]["id"] = [["a"]]
    path = tmp_path / "log.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: datapoint 'samples[0]': field 'id': a sample id must be a string or "
        "an integer, got list [['a']] (Inspect writes the dataset's sample ids; the "
        "log is damaged)"
    )


def test_inspect_sample_id_that_is_a_boolean_is_refused(
    real: Path, tmp_path: Path
) -> None:
    doc = json.loads((real / "inspect_ai" / "log_formats.json").read_text())
    doc["samples"][0]["id"] = True
    path = tmp_path / "log.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        RunFormatError,
        match=re.escape("field 'id': a sample id must be a string or an integer, got "),
    ):
        load_run(path)


def test_inspect_eval_epoch_that_is_a_list_is_refused(
    real: Path, tmp_path: Path
) -> None:
    def change(sample: dict[str, object]) -> None:
        sample["epoch"] = [1]

    path = rewrite_eval(
        real / "inspect_ai" / "log_read_sample.eval",
        tmp_path / "log.eval",
        "samples/1_epoch_1.json",
        change,
    )
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: datapoint '1': field 'epoch': samples/1_epoch_1.json: an epoch must "
        "be a positive integer, got list [1] (Inspect numbers epochs 1, 2, ...; the "
        "log is damaged)"
    )


def test_inspect_json_epoch_of_zero_is_refused(real: Path, tmp_path: Path) -> None:
    doc = json.loads((real / "inspect_ai" / "log_formats.json").read_text())
    doc["samples"][0]["epoch"] = 0
    path = tmp_path / "log.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            "field 'epoch': samples[0]: an epoch must be a positive integer, got int 0"
        ),
    ):
        load_run(path)


def test_mlflow_score_of_400_digits_is_refused_naming_the_cell(
    data: Path, tmp_path: Path
) -> None:
    table = data / "mlruns/271828/0a1b2c3d4e5f/artifacts/eval_results_table.json"
    doc = json.loads(table.read_text())
    doc["data"][2][5] = 10**399
    path = tmp_path / "eval_results_table.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: datapoint 'data[2]': field 'answer_relevance/v1/score': metric value "
        "is too large for a 64-bit float (an integer of 400 digits; a float holds 309 "
        "at most, number_digits 400 bounds what is read) (write the score as a number "
        "that fits a 64-bit float)"
    )


def test_mlflow_score_past_number_digits_names_the_limit(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_runcompare.loaders._common import scalar

    monkeypatch.setenv("RUNCOMPARE_MAX_NUMBER_DIGITS", "350")
    with pytest.raises(RunFormatError) as caught:
        scalar(10**399, path=tmp_path / "t.json", datapoint="q1", field="s/score")
    assert str(caught.value) == (
        f"{tmp_path / 't.json'}: datapoint 'q1': field 's/score': metric value: more "
        "than 350 digits in one number (an integer of 400 digits); raise the limit "
        "with RUNCOMPARE_MAX_NUMBER_DIGITS=<number> if this input is genuine (write "
        "the score as a number that fits a 64-bit float)"
    )


def test_inspect_eval_id_nested_900_deep_is_refused_by_nesting(
    real: Path, tmp_path: Path
) -> None:
    def change(header: dict[str, dict[str, object]]) -> None:
        header["eval"]["eval_id"] = nested(900)

    path = rewrite_eval(
        real / "inspect_ai" / "log_read_sample.eval",
        tmp_path / "log.eval",
        "header.json",
        change,
    )
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: field 'inspect_ai.eval_id[0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
        "...': more than 64 levels of nesting in one value of a run's metadata "
        "(65+ levels); raise the limit with RUNCOMPARE_MAX_NESTING=<number> if this "
        "input is genuine"
    )


def test_metadata_nested_to_the_limit_loads(tmp_path: Path) -> None:
    from pytest_runcompare.building import parse_meta

    meta = parse_meta({"params": {"deep": nested(62)}}, path="run.yaml")
    assert meta.params["deep"] == nested(62)
    with pytest.raises(RunFormatError, match="more than 64 levels of nesting"):
        parse_meta({"params": {"deep": nested(63)}}, path="run.yaml")


def test_lm_eval_filter_that_is_not_utf8_names_the_file_and_line(
    real: Path, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(real / LM_EVAL, tmp_path / "run"))
    samples = folder / SAMPLES
    lines = samples.read_bytes().splitlines(keepends=True)
    assert b'"filter": "flexible-extract"' in lines[55]
    lines[55] = lines[55].replace(b'"filter": "flexible', b'"filter": "fl\xb9xible')
    samples.write_bytes(b"".join(lines))
    with pytest.raises(RunFormatError) as caught:
        load_run(samples)
    assert str(caught.value) == (
        f"{samples}:56: field 'filter': not valid UTF-8 (byte 0xb9) (run files must "
        "be UTF-8 encoded text)"
    )


def test_small_run_loads_under_a_3gb_address_space_cap(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(
        '{"run": {"name": "x"}, "datapoints": [{"id": "a", "metrics": {"m": 1}}]}'
    )
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 * 10**9, 3 * 10**9))\n"
        "from pytest_runcompare.loaders.registry import load_run\n"
        "print(load_run(sys.argv[1]).ids)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "['a']\n", "")


def test_file_that_grows_past_file_bytes_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_runcompare.loaders import files

    path = tmp_path / "run.jsonl"
    path.write_bytes(b"x" * 100)
    monkeypatch.setattr(files, "check_regular", lambda p: 10)
    monkeypatch.setattr(files, "BLOCK_BYTES", 7)
    monkeypatch.setenv("RUNCOMPARE_MAX_FILE_BYTES", "50")
    with pytest.raises(RunFormatError) as caught:
        files.read_bytes(path)
    assert str(caught.value) == (
        f"{path}: more than 50 bytes in one run file (51+); raise the limit with "
        "RUNCOMPARE_MAX_FILE_BYTES=<number> if this input is genuine"
    )
    monkeypatch.setenv("RUNCOMPARE_MAX_FILE_BYTES", "100")
    assert files.read_bytes(path) == b"x" * 100


def test_inspect_input_nested_900_deep_loads_and_shallow_attachments_resolve(
    real: Path, tmp_path: Path
) -> None:
    doc = json.loads((real / "inspect_ai" / "log_formats.json").read_text())
    sample = doc["samples"][0]
    sample["attachments"] = {"h1": "the attached text"}
    sample["input"] = nested(900)
    sample["target"] = [{"content": "attachment://h1"}]
    path = tmp_path / "log.json"
    path.write_text(json.dumps(doc))
    run = load_run(path)
    assert run.datapoints.expected[0] == [{"content": "the attached text"}]
    assert run.datapoints.inputs[0] == nested(900)
