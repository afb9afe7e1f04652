"""Hostile or broken native runs end in a RunFormatError naming the place, never a hang,
unbounded memory, a traceback or a silent drop (issues 11 and 12, reader side)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pytest_runcompare import RunFormatError, build_run, load_run
from pytest_runcompare.loaders.files import iter_jsonl
from tests.core.conftest import write_jsonl

OK = '{"id": "ok", "output": "x", "metrics": {"acc": 1}}'


def jsonl(tmp_path: Path, *lines: str, name: str = "run.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_dir(tmp_path: Path, meta_text: str, lines: list[str]) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    (path / "run.yaml").write_text(meta_text, encoding="utf-8")
    (path / "datapoints.jsonl").write_text(
        "".join(line + "\n" for line in lines), encoding="utf-8"
    )
    return path


def point(key: str, acc: float = 1) -> str:
    return json.dumps({"id": key, "output": "x", "metrics": {"acc": acc}})


# --------------------------------------------------------------------- not a file


def test_fifo_as_run_path_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "run.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(RunFormatError, match=r"run\.jsonl: is a FIFO, not a regular"):
        load_run(fifo)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_device_as_run_path_is_refused(device: str) -> None:
    with pytest.raises(RunFormatError, match=f"^{device}: is a device, not a regular"):
        load_run(device)


def test_fifo_as_datapoints_file_of_a_run_dir_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run"
    path.mkdir()
    (path / "run.yaml").write_text("complete: true\n", encoding="utf-8")
    os.mkfifo(path / "datapoints.jsonl")
    with pytest.raises(RunFormatError, match=r"datapoints\.jsonl: is a FIFO"):
        load_run(path)


def test_file_over_file_bytes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = jsonl(tmp_path, *[point(f"p{i}") for i in range(40)])
    monkeypatch.setenv("RUNCOMPARE_MAX_FILE_BYTES", "1000")
    with pytest.raises(
        RunFormatError,
        match=r"run\.jsonl: more than 1,000 bytes in one run file \(\d[\d,]+\); raise "
        r"the limit with RUNCOMPARE_MAX_FILE_BYTES",
    ):
        load_run(path)
    monkeypatch.setenv("RUNCOMPARE_MAX_FILE_BYTES", "1MB")
    assert len(load_run(path).datapoints.ids) == 40


def test_line_over_line_bytes_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = json.dumps({"id": "b", "output": "y" * 500, "metrics": {"acc": 1}})
    path = jsonl(tmp_path, OK, long, OK.replace("ok", "c"))
    monkeypatch.setenv("RUNCOMPARE_MAX_LINE_BYTES", "200")
    with pytest.raises(
        RunFormatError, match=r"run\.jsonl:2: more than 200 bytes in one line"
    ):
        load_run(path)


def test_endless_line_stops_at_line_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No newline at all (what /dev/zero would give): read in blocks, stopped at the cap.
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"\0" * (3 * 2**20))
    monkeypatch.setenv("RUNCOMPARE_MAX_LINE_BYTES", "1MiB")
    with pytest.raises(RunFormatError, match=r"run\.jsonl:1: more than 1,048,576"):
        list(iter_jsonl(path))


def test_block_reading_keeps_line_numbers_and_the_truncated_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytest_runcompare.loaders.files as files

    monkeypatch.setattr(files, "BLOCK_BYTES", 7)  # lines straddle every block
    monkeypatch.setattr(files, "CHUNK_LINES", 2)
    path = tmp_path / "run.jsonl"
    path.write_bytes(b'{"id": "a"}\n\n{"id": "b"}\r\n{"id": "c"}\n{"id": "d"')
    warnings: list[str] = []
    chunks = list(iter_jsonl(path, tolerate_truncated_tail=True, warnings=warnings))
    assert [(r, n) for r, n in chunks] == [
        ([{"id": "a"}], [1]),
        ([{"id": "b"}, {"id": "c"}], [3, 4]),
        ([], []),
    ]
    assert warnings == [
        f"{path}:5: dropped a truncated last line (the run was still "
        "being written or its writer crashed)"
    ]


# --------------------------------------------------------------------- JSON values


def test_duplicate_key_in_a_jsonl_record_names_line_and_key(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK, '{"id": "a", "id": "b", "output": "x"}')
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path}:2: field 'id': duplicate key 'id' in one JSON object"),
    ):
        load_run(path)


def test_duplicate_metric_key_is_refused(tmp_path: Path) -> None:
    path = jsonl(tmp_path, '{"id": "a", "metrics": {"acc": 0, "acc": 1}}')
    with pytest.raises(RunFormatError, match=r":1: field 'acc': duplicate key 'acc'"):
        load_run(path)


def test_duplicate_key_in_a_json_document_names_the_likely_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.json"
    path.write_text(
        '{"run": {},\n "datapoints": [\n  {"id": "a",\n   "id": "b"}\n]}\n',
        encoding="utf-8",
    )
    with pytest.raises(RunFormatError, match=r"run\.json:4: field 'id': duplicate"):
        load_run(path)


def test_integer_over_number_digits_anywhere_names_the_line(tmp_path: Path) -> None:
    big = "9" * 5000  # past Python's own int-string limit (4,300 digits) too
    path = jsonl(tmp_path, OK, '{"id": "b", "output": "x", "meta": {"n": ' + big + "}}")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:2: more than 400 digits in one number (an integer of 5,000 digits)"
        ),
    ):
        load_run(path)
    doc = tmp_path / "run.json"
    doc.write_text(
        '{"run": {},\n"datapoints": [{"id": ' + big + "}]}", encoding="utf-8"
    )
    with pytest.raises(RunFormatError, match=r"run\.json:2: more than 400 digits"):
        load_run(doc)


def test_lone_surrogate_is_refused_with_its_place(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        '{"id": "ok", "output": "\\ud83d\\ude00"}',  # a pair: a real emoji, kept
        '{"id": "b", "output": "x", "meta": {"note": ["fine", "\\ud800"]}}',
    )
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:2: field 'meta.note[1]': a string holds a lone UTF-16"
        ),
    ):
        load_run(path)
    assert load_run(
        jsonl(tmp_path, '{"id": "e", "output": "\\ud83d\\ude00"}', name="pair.jsonl")
    ).datapoints.outputs == ["\U0001f600"]


def test_lone_surrogate_in_a_json_document_key(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"run": {}, "datapoints": [{"id": "\\udc00"}]}', encoding="utf-8")
    with pytest.raises(RunFormatError, match=r"field 'datapoints\[0\]\.id': a string"):
        load_run(path)


# --------------------------------------------------------------------- aggregates


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            10**400,
            "aggregate metric is too large for a 64-bit float (an integer of 401",
        ),
        (float("nan"), "aggregate metric is nan: an aggregate must be a finite number"),
        (float("inf"), "aggregate metric is inf: an aggregate must be a finite number"),
    ],
)
def test_bad_aggregate_is_refused_with_its_field(value: float, message: str) -> None:
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"run.yaml: field 'metrics.acc': {message}"),
    ):
        build_run([{"id": "a"}], {"metrics": {"acc": value}}, path="run.yaml")


def test_huge_aggregate_in_run_yaml_is_a_format_error(tmp_path: Path) -> None:
    # 350 digits: within NUMBER_DIGITS (the YAML reader bounds more), past a float.
    path = run_dir(tmp_path, f"metrics: {{acc: {'9' * 350}}}\n", [point("a")])
    with pytest.raises(
        RunFormatError,
        match=r"run\.yaml: field 'metrics\.acc': aggregate metric is too large for a "
        r"64-bit float \(an integer of 350 digits\)",
    ):
        load_run(path)


def test_nan_aggregate_in_run_yaml_is_refused(tmp_path: Path) -> None:
    path = run_dir(tmp_path, "metrics: {acc: .nan}\n", [point("a")])
    with pytest.raises(RunFormatError, match="aggregate metric is nan"):
        load_run(path)


# --------------------------------------------------------------------- metadata


def test_datapoint_count_larger_than_the_file_says_truncated(tmp_path: Path) -> None:
    lines = [point(f"p{i}") for i in range(300)]
    path = run_dir(tmp_path, "complete: true\ndatapoint_count: 600\n", lines)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path / 'datapoints.jsonl'}: field 'datapoint_count': run.yaml "
            "says datapoint_count: 600 but the file holds 300 datapoints: the run "
            "looks truncated"
        ),
    ):
        load_run(path)


def test_datapoint_count_that_agrees_loads(tmp_path: Path) -> None:
    path = run_dir(tmp_path, "datapoint_count: 2\n", [point("a"), point("b")])
    assert load_run(path).datapoints.ids == ["a", "b"]


def test_datapoint_count_of_an_incomplete_run_is_not_checked(tmp_path: Path) -> None:
    # A writer that crashed wrote fewer lines than it had counted: loud, not refused.
    path = run_dir(tmp_path, "complete: false\ndatapoint_count: 5\n", [point("a")])
    run = load_run(path)
    assert run.datapoints.ids == ["a"]
    assert "marked incomplete" in run.warnings[0]


def test_bad_datapoint_count_is_refused(tmp_path: Path) -> None:
    path = run_dir(tmp_path, "datapoint_count: many\n", [point("a")])
    with pytest.raises(
        RunFormatError, match=r"field 'datapoint_count': must be a whole number"
    ):
        load_run(path)


@pytest.mark.parametrize("text", ["", "\n# nothing here\n", "~\n"])
def test_empty_run_yaml_is_refused(tmp_path: Path, text: str) -> None:
    path = run_dir(tmp_path, text, [point("a")])
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path / 'run.yaml'}: the metadata file is empty: it cannot"),
    ):
        load_run(path)


# --------------------------------------------------------------------- ids, names, tags


def test_ids_equal_after_nfc_are_refused_naming_both_forms(tmp_path: Path) -> None:
    path = jsonl(tmp_path, point("caf\u00e9"), point("b"), point("cafe\u0301"))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:3: datapoint 'cafe\u0301': field 'id': ids 'caf\\xe9' and "
            "'cafe\\u0301' are the same text in different Unicode normal forms"
        ),
    ):
        load_run(path)


def test_two_decomposed_spellings_of_one_id_are_refused() -> None:
    # Neither is NFC: U+0041 U+0301 and the ordering of two combining marks.
    with pytest.raises(RunFormatError, match="different Unicode normal forms"):
        build_run([{"id": "a\u0323\u0302"}, {"id": "a\u0302\u0323"}])


def test_nfd_ids_alone_load_unchanged() -> None:
    run = build_run([{"id": "cafe\u0301"}, {"id": "caf\u00e9s"}])
    assert run.datapoints.ids == ["cafe\u0301", "caf\u00e9s"]


def test_long_metric_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "m" * 10_001
    with pytest.raises(
        RunFormatError,
        match=r"datapoint 'a': field 'datapoints\[0\]\.metrics': more than 10,000 "
        r"characters in an id, a metric name or a tag \(a metric name of 10,001\)",
    ):
        build_run([{"id": "a", "metrics": {name: 1}}])


def test_long_id_and_long_tag_are_refused() -> None:
    with pytest.raises(RunFormatError, match=r"field 'datapoints\[1\]\.id': more than"):
        build_run([{"id": "a"}, {"id": "x" * 10_001}])
    with pytest.raises(RunFormatError, match=r"\(a tag of 10,001\)"):
        build_run([{"id": "a", "slices": ["ok", "t" * 10_001]}])
    with pytest.raises(RunFormatError, match=r"\(a tag of 10,003\)"):
        build_run([{"id": "a", "slices": {"k": "v" * 10_001}}])


def test_too_many_tags_on_one_datapoint_are_refused() -> None:
    tags = [f"t{i}" for i in range(10_001)]
    with pytest.raises(
        RunFormatError,
        match=r"datapoint 'b': field 'datapoints\[1\]\.slices': more than 10,000 slice "
        r"tags on one datapoint \(10,001\)",
    ):
        build_run([{"id": "a", "slices": ["x"]}, {"id": "b", "slices": tags}])


def test_too_many_metrics_are_refused_in_one_chunk_and_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = {f"m{i}": 1 for i in range(10_001)}
    with pytest.raises(RunFormatError, match=r"more than 10,000 metrics in one run"):
        build_run([{"id": "a", "metrics": metrics}])
    monkeypatch.setenv("RUNCOMPARE_MAX_METRICS", "3")
    records = [{"id": f"p{i}", "metrics": {f"m{i}": 1}} for i in range(4)]
    path = write_jsonl(tmp_path / "run.jsonl", records)
    import pytest_runcompare.loaders.files as files

    monkeypatch.setattr(files, "CHUNK_LINES", 1)
    with pytest.raises(
        RunFormatError, match=r"run\.jsonl:4: datapoint 'p3'.*more than 3 metrics"
    ):
        load_run(path)


def test_too_many_aggregate_metrics_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_METRICS", "2")
    with pytest.raises(RunFormatError, match=r"field 'metrics': more than 2 metrics"):
        build_run([{"id": "a"}], {"metrics": {"a": 1, "b": 2, "c": 3}})


# --------------------------------------------------------------------- CSV


def test_nul_byte_in_a_csv_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("id,acc\na,1\nb\x00,0\n", encoding="utf-8")
    with pytest.raises(RunFormatError, match=r"run\.csv:3: a field holds a NUL byte"):
        load_run(path)


@pytest.mark.parametrize("text", ["1_000", "\u0663", " 1", "0x10", "1e"])
def test_csv_number_must_be_a_plain_decimal(tmp_path: Path, text: str) -> None:
    path = tmp_path / "run.csv"
    path.write_text(f"id,acc\na,1\nb,{text}\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:3: datapoint 'b': field 'metrics.acc': metric value must be a "
            f"number or a boolean, got str {text!r}"
        ),
    ):
        load_run(path)


def test_csv_plain_decimals_and_words_load(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("id,acc,x\na,1,-2.5e3\nb,true,.5\nc,0,+7\n", encoding="utf-8")
    run = load_run(path)
    assert run.datapoints.metrics["x"].values.tolist() == [-2500.0, 0.5, 7.0]
    assert run.datapoints.metrics["acc"].values.tolist() == [1.0, 1.0, 0.0]


def test_csv_number_over_number_digits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text(f"id,acc\na,{'1' * 401}\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=r"run\.csv:2: field 'metrics\.acc': more than 400 digits in one number "
        r"\(an integer of 401 digits\)",
    ):
        load_run(path)


# --------------------------------------------------------------------- the last net


def test_a_readers_own_crash_is_a_format_error_naming_the_file(tmp_path: Path) -> None:
    path = jsonl(tmp_path, OK)

    def broken_reader(location: str, options: object) -> None:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: could not be read (ZeroDivisionError: division by zero) (the "
            "reader failed on this file; please report it with the file)"
        ),
    ) as caught:
        load_run(path, hook=broken_reader)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
