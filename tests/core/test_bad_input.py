"""Each bad input gives a RunFormatError naming the file, the line or datapoint, the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_runcompare import RunFormatError, RunNotFoundError, build_run, load_run


def jsonl(tmp_path: Path, *lines: str, name: str = "run.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def doc(tmp_path: Path, datapoints: list[object], name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"run": {}, "datapoints": datapoints}), encoding="utf-8")
    return path


OK = '{"id": "ok", "output": "x", "metrics": {"acc": 1}}'


def where(path: Path, line: int) -> str:
    return re.escape(f"{path}:{line}")


# --------------------------------------------------------------------------- syntax


def test_malformed_jsonl_line(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path, OK, '{"id": "b", "metrics": {"acc": 1}', OK.replace("ok", "c")
    )
    with pytest.raises(
        RunFormatError, match=where(path, 2) + ".*malformed JSON"
    ) as info:
        load_run(path)
    assert info.value.line == 2
    assert info.value.path == str(path)


def test_malformed_jsonl_in_a_later_chunk(tmp_path: Path, monkeypatch) -> None:
    from pytest_runcompare.loaders import files

    monkeypatch.setattr(files, "CHUNK_LINES", 3)
    lines = [OK.replace("ok", f"i{i}") for i in range(10)]
    lines[7] = '{"id": "i7", "output": tru}'
    path = jsonl(tmp_path, *lines)
    with pytest.raises(RunFormatError, match=where(path, 8) + ".*malformed JSON"):
        load_run(path)


def test_malformed_json_document(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"run": {},\n "datapoints": [\n  {"id": 1,}\n]}', encoding="utf-8")
    with pytest.raises(RunFormatError, match=where(path, 3) + ".*malformed JSON"):
        load_run(path)


def test_malformed_yaml_document(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "run: {}\ndatapoints:\n  - id: 1\n    output: [unclosed\n", encoding="utf-8"
    )
    with pytest.raises(
        RunFormatError, match=re.escape(str(path)) + r":\d+: malformed YAML"
    ):
        load_run(path)


def test_malformed_run_yaml_in_directory(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    (d / "run.yaml").write_text("name: x\nparams: {lr: [1,\n", encoding="utf-8")
    (d / "datapoints.jsonl").write_text(OK + "\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError, match=re.escape(str(d / "run.yaml")) + r":\d+: malformed YAML"
    ):
        load_run(d)


def test_malformed_csv_row_width(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("id,acc\na,1\nb,1,extra\n", encoding="utf-8")
    with pytest.raises(RunFormatError, match=where(path, 3) + ": row has 3 fields"):
        load_run(path)


def test_csv_without_id_column(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("name,acc\na,1\n", encoding="utf-8")
    with pytest.raises(RunFormatError, match=where(path, 1) + ".*no 'id' column"):
        load_run(path)


def test_csv_metric_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("id,acc\na,1\nb,high\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=where(path, 3) + ": datapoint 'b': field 'metrics.acc': .*got str 'high'",
    ):
        load_run(path)


# --------------------------------------------------------------------------- records


def test_datapoint_without_id_jsonl(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK, '{"output": "x", "metrics": {"acc": 1}}')
    with pytest.raises(
        RunFormatError, match=where(path, 2) + ": field 'id': the datapoint has no id"
    ):
        load_run(path)


def test_datapoint_without_id_document(tmp_path: Path) -> None:
    path = doc(tmp_path, [{"id": 1, "output": ""}, {"output": "x"}])
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path}: field 'datapoints[1].id': the datapoint has no id"),
    ):
        load_run(path)


def test_id_of_wrong_type(tmp_path: Path) -> None:
    path = jsonl(tmp_path, '{"id": 1.5, "output": "x"}')
    with pytest.raises(
        RunFormatError,
        match=where(path, 1)
        + ": field 'id': id must be a string or an integer, got float",
    ):
        load_run(path)


def test_duplicate_ids(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK, OK.replace("ok", "b"), OK)
    with pytest.raises(
        RunFormatError,
        match=where(path, 3)
        + r": datapoint 'ok': field 'id': duplicate id \(first seen at line 1\)",
    ):
        load_run(path)


def test_duplicate_ids_int_and_string(tmp_path: Path) -> None:
    path = doc(tmp_path, [{"id": 1, "output": ""}, {"id": "1", "output": ""}])
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint '1': field 'datapoints[1].id': duplicate id (first seen at datapoints[0])"
        ),
    ):
        load_run(path)


def test_duplicate_ids_across_chunks(tmp_path: Path, monkeypatch) -> None:
    from pytest_runcompare.loaders import files

    monkeypatch.setattr(files, "CHUNK_LINES", 2)
    path = jsonl(tmp_path, *[OK.replace("ok", x) for x in "abcdec"])
    with pytest.raises(
        RunFormatError,
        match=where(path, 6) + ": datapoint 'c': field 'id': duplicate id",
    ):
        load_run(path)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"high"', "str 'high'"),
        ("[1, 2]", r"list \[1, 2\]"),
        ('{"a": 1}', "dict"),
        ("null", None),
    ],
)
def test_metric_value_not_a_number(
    tmp_path: Path, value: str, shown: str | None
) -> None:
    path = jsonl(
        tmp_path, OK, f'{{"id": "b", "output": "x", "metrics": {{"acc": {value}}}}}'
    )
    if shown is None:  # null is "missing", not an error
        assert load_run(path).metrics["acc"].present.tolist() == [True, False]
        return
    with pytest.raises(
        RunFormatError,
        match=where(path, 2)
        + f": datapoint 'b': field 'metrics.acc': metric value must be a number or a boolean, got {shown}",
    ):
        load_run(path)


def test_metric_value_not_a_number_in_document(tmp_path: Path) -> None:
    path = doc(tmp_path, [{"id": "a", "output": "", "metrics": {"acc": "0.5"}}])
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint 'a': field 'datapoints[0].metrics.acc': metric value must be"
        ),
    ):
        load_run(path)


def test_metric_value_not_a_number_in_step(tmp_path: Path) -> None:
    rec = {
        "id": "s",
        "output": "",
        "steps": [{"name": "plan", "output": "", "metrics": {"q": "bad"}}],
    }
    path = jsonl(tmp_path, json.dumps(rec))
    with pytest.raises(
        RunFormatError,
        match=where(path, 1) + r": datapoint 's': field 'steps\[plan\]\.metrics\.q'",
    ):
        load_run(path)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_inf_not_declared(tmp_path: Path, literal: str) -> None:
    path = jsonl(
        tmp_path, OK, f'{{"id": "b", "output": "x", "metrics": {{"acc": {literal}}}}}'
    )
    with pytest.raises(
        RunFormatError,
        match=where(path, 2)
        + f": datapoint 'b': field 'metrics.acc': metric value is {float(literal)!r}, which is allowed only for metrics declared with allow_nan",
    ):
        load_run(path)


def test_nan_in_yaml_not_declared(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "run: {}\ndatapoints:\n  - {id: a, output: x, metrics: {acc: .nan}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path}: datapoint 'a': field 'datapoints[0].metrics.acc'"),
    ):
        load_run(path)


def test_metric_too_large_for_float(tmp_path: Path) -> None:
    # 350 digits: within NUMBER_DIGITS, beyond a 64-bit float (1.8e308).
    path = jsonl(
        tmp_path, '{"id": "big", "output": "", "metrics": {"n": 1%s}}' % ("0" * 349)
    )
    with pytest.raises(
        RunFormatError,
        match=where(path, 1)
        + ": datapoint 'big': field 'metrics.n': metric value is too large",
    ):
        load_run(path)


def test_unknown_datapoint_field(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK, '{"id": "b", "output": "x", "metric": {"acc": 1}}')
    with pytest.raises(
        RunFormatError,
        match=where(path, 2) + r": datapoint 'b': unknown field\(s\) \['metric'\]",
    ):
        load_run(path)


def test_datapoint_not_an_object(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK, "[1, 2]")
    with pytest.raises(
        RunFormatError,
        match=where(path, 2) + ": a datapoint must be a JSON object, got list",
    ):
        load_run(path)


def test_metrics_not_a_mapping(tmp_path: Path) -> None:
    path = jsonl(tmp_path, '{"id": "a", "output": "", "metrics": [1]}')
    with pytest.raises(
        RunFormatError,
        match=where(path, 1) + ": datapoint 'a': field 'metrics': must be a mapping",
    ):
        load_run(path)


def test_empty_metric_name(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK, '{"id": "b", "output": "", "metrics": {"": 1}}')
    with pytest.raises(
        RunFormatError,
        match=where(path, 2)
        + ": datapoint 'b': field 'metrics': metric names must be non-empty",
    ):
        load_run(path)


@pytest.mark.parametrize("value", ['"lang:en"', "[1]", '[["a"]]'])
def test_bad_slices(tmp_path: Path, value: str) -> None:
    path = jsonl(tmp_path, OK, f'{{"id": "b", "output": "", "slices": {value}}}')
    with pytest.raises(
        RunFormatError,
        match=where(path, 2)
        + ": datapoint 'b': field 'slices': slices must be a list of tags",
    ):
        load_run(path)


def test_bad_steps(tmp_path: Path) -> None:
    path = jsonl(tmp_path, '{"id": "a", "output": "", "steps": [{"output": "x"}]}')
    with pytest.raises(
        RunFormatError,
        match=where(path, 1) + r": datapoint 'a': field 'steps\[0\]\.name'",
    ):
        load_run(path)


# --------------------------------------------------------------------------- files


def test_empty_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(
        RunFormatError, match=re.escape(str(path)) + ": the run has no datapoints"
    ):
        load_run(path)


def test_header_only_jsonl(tmp_path: Path) -> None:
    path = jsonl(tmp_path, '{"run": {"name": "x"}}')
    with pytest.raises(
        RunFormatError, match=re.escape(str(path)) + ": the run has no datapoints"
    ):
        load_run(path)


def test_empty_datapoints_document(tmp_path: Path) -> None:
    path = doc(tmp_path, [])
    with pytest.raises(
        RunFormatError, match=re.escape(str(path)) + ": the run has no datapoints"
    ):
        load_run(path)


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("id,acc\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError, match=re.escape(str(path)) + ": the run has no datapoints"
    ):
        load_run(path)


def test_empty_run_directory(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    (d / "run.yaml").write_text("name: x\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(str(d)) + ": the run directory has no datapoints.jsonl",
    ):
        load_run(d)


def test_build_run_empty() -> None:
    with pytest.raises(RunFormatError, match="the run has no datapoints"):
        build_run([])


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".yaml", ".csv"])
def test_non_utf8(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"run{suffix}"
    body = {
        ".jsonl": b'{"id": "a", "output": "x"}\n{"id": "b", "output": "caf\xe9"}\n',
        ".json": b'{"run": {},\n"datapoints": [{"id": "b", "output": "caf\xe9"}]}',
        ".yaml": b"run: {}\ndatapoints:\n  - {id: b, output: caf\xe9}\n",
        ".csv": b"id,output\nb,caf\xe9\n",
    }[suffix]
    path.write_bytes(body)
    line = 3 if suffix == ".yaml" else 2
    with pytest.raises(
        RunFormatError, match=where(path, line) + r": not valid UTF-8 \(byte 0xe9\)"
    ):
        load_run(path)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/name:os.system",
        "!custom {}",
    ],
)
def test_yaml_tags_refused(tmp_path: Path, tag: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"run: {{}}\ndatapoints:\n  - id: a\n    output: {tag}\n", encoding="utf-8"
    )
    with pytest.raises(RunFormatError, match=where(path, 4) + ": YAML tag not allowed"):
        load_run(path)


def test_yaml_tag_in_run_yaml(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    (d / "run.yaml").write_text(
        "name: !!python/object/apply:os.getcwd []\n", encoding="utf-8"
    )
    (d / "datapoints.jsonl").write_text(OK + "\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError, match=where(d / "run.yaml", 1) + ": YAML tag not allowed"
    ):
        load_run(d)


def test_path_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "run.jsonl"
    with pytest.raises(
        RunNotFoundError, match=re.escape(f"{missing}: no such file or directory")
    ):
        load_run(missing)


def test_document_without_datapoints(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"results": {}}', encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(str(path))
        + r": not a run: expected a mapping with 'run' and 'datapoints' keys, found \['results'\]",
    ):
        load_run(path)


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"seed": "x"}, "seed"),
        ({"params": [1]}, "params"),
        ({"metrics": {"acc": "high"}}, "metrics.acc"),
        ({"complete": "yes"}, "complete"),
        (
            {"metric_definitions": {"acc": {"direction": "up"}}},
            "metric_definitions.acc.direction",
        ),
        ({"metric_definitions": {"acc": {"higher": True}}}, "metric_definitions.acc"),
    ],
)
def test_bad_metadata(tmp_path: Path, meta: dict[str, object], field: str) -> None:
    path = jsonl(tmp_path, json.dumps({"run": meta}), OK)
    with pytest.raises(RunFormatError, match=re.escape(f"{path}: field {field!r}: ")):
        load_run(path)


def test_errors_never_leak_json_or_numpy_tracebacks(tmp_path: Path) -> None:
    """The error is ours, raised without a chained json/numpy exception."""
    path = jsonl(tmp_path, '{"id": "a", "output": "x", "metrics": {"m": 1e999}}')
    with pytest.raises(RunFormatError) as info:
        load_run(path)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None
