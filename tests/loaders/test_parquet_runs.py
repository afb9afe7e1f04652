"""Parquet and Arrow IPC runs written by hand with pyarrow: loading, folders, bad files."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from pytest_runcompare import RunFormatError, build_run, load_run, save_run
from pytest_runcompare.errors import RunNotFoundError

META = {
    "name": "candidate",
    "params": {"model": "m", "temperature": 0.0},
    "metric_definitions": {"loss": {"direction": "lower"}},
}


def table(n: int = 6, **extra: Any) -> pa.Table:
    """A run of ``n`` datapoints as a user would build it with pyarrow."""
    columns: dict[str, Any] = {
        "id": pa.array([f"q{i}" for i in range(n)]),
        "output": pa.array([f"answer {i}" for i in range(n)]),
        "metrics.exact_match": pa.array([i % 2 == 0 for i in range(n)]),
        "metrics.loss": pa.array([0.5 + i / 10 for i in range(n)], pa.float64()),
        "metrics.f1": pa.array([None if i == 1 else i / n for i in range(n)]),
        "slices": pa.array(
            [["lang:de", "len:short"] if i % 2 else ["lang:en"] for i in range(n)]
        ),
        "group": pa.array([f"g{i // 2}" for i in range(n)]),
    }
    columns.update(extra)
    return pa.table(columns).replace_schema_metadata(
        {"runcompare.run": json.dumps(META)}
    )


def write(path: Path, data: pa.Table, **kwargs: Any) -> Path:
    pq.write_table(data, path, **kwargs)
    return path


def test_a_file_written_with_pyarrow_loads(tmp_path: Path) -> None:
    run = load_run(write(tmp_path / "c.parquet", table()))
    assert run.ids == ["q0", "q1", "q2", "q3", "q4", "q5"]
    assert run.outputs[2] == "answer 2"
    assert run.meta.name == "candidate"
    assert run.meta.params == {"model": "m", "temperature": 0.0}
    assert run.meta.metric_definitions["loss"].higher_is_better is False
    assert run.meta.format == "native"  # one of our own formats: promotable
    em = run.metrics["exact_match"]
    assert em.boolean
    assert em.values.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    f1 = run.metrics["f1"]
    assert f1.present.tolist() == [True, False, True, True, True, True]
    assert np.isnan(f1.values[1])
    assert not f1.boolean
    assert (
        run.datapoints.slice_tags
        == [
            ("lang:en",),
            ("lang:de", "len:short"),
        ]
        * 3
    )
    assert run.datapoints.slices["lang:de"].tolist() == [1, 3, 5]
    assert run.datapoints.groups == ["g0", "g0", "g1", "g1", "g2", "g2"]
    assert run.datapoints.index["q4"] == 4


def test_integer_ids_categories_and_integer_metrics_are_read(tmp_path: Path) -> None:
    data = pa.table(
        {
            "id": pa.array([10, 11, 12], pa.int64()),
            "output": pa.array(["a", "b", "a"]).dictionary_encode(),
            "metrics.tokens": pa.array([3, None, 5], pa.int32()),
            "group": pa.array([1, 1, 2]),
        }
    )
    run = load_run(write(tmp_path / "r.parquet", data))
    assert run.ids == ["10", "11", "12"]
    assert run.outputs == ["a", "b", "a"]
    assert run.metrics["tokens"].present.tolist() == [True, False, True]
    assert run.metrics["tokens"].values[2] == 5.0
    assert run.datapoints.groups == ["1", "1", "2"]
    assert run.meta.name is None
    assert run.meta.complete


def test_nested_steps_written_by_hand_load_like_jsonl_steps(tmp_path: Path) -> None:
    step = pa.struct(
        [("name", pa.string()), ("output", pa.string()), ("metrics.ok", pa.bool_())]
    )
    steps = pa.array(
        [
            [{"name": "plan", "output": "p", "metrics.ok": True}],
            [
                {"name": "act", "output": "a1", "metrics.ok": False},
                {"name": "act", "output": "a2", "metrics.ok": True},
            ],
            None,
        ],
        pa.list_(step),
    )
    data = pa.table({"id": ["a", "b", "c"], "steps": steps})
    run = load_run(write(tmp_path / "s.parquet", data))
    assert list(run.steps) == ["plan", "act", "act#2"]
    assert run.steps["act#2"].ids == ["b"]
    assert run.steps["act#2"].outputs == ["a2"]
    assert run.steps["plan"].metrics["ok"].boolean
    assert [s.name for s in run.datapoint("b").steps] == ["act", "act#2"]
    jsonl = tmp_path / "s.jsonl"
    save_run(run, jsonl)
    assert list(load_run(jsonl).records()) == list(run.records())


def test_an_arrow_ipc_file_loads_like_the_parquet_file(tmp_path: Path) -> None:
    parquet = load_run(write(tmp_path / "c.parquet", table()))
    for name in ("c.arrow", "c.feather"):
        feather.write_feather(table(), tmp_path / name)
        arrow = load_run(tmp_path / name)
        assert list(arrow.records()) == list(parquet.records())
        assert arrow.meta.to_dict() == parquet.meta.to_dict()


def test_an_arrow_stream_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.arrow"
    data = table()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, data.schema) as w:
        w.write_table(data)
    assert load_run(path).ids == load_run(write(tmp_path / "c.parquet", data)).ids


def test_a_partitioned_folder_equals_the_single_file(tmp_path: Path) -> None:
    whole = table(9)
    single = load_run(write(tmp_path / "whole.parquet", whole))
    folder = tmp_path / "candidate"
    folder.mkdir()
    for k, start in enumerate((0, 4, 7)):
        part = whole.slice(start, {0: 4, 4: 3, 7: 2}[start])
        write(folder / f"part-{k}.parquet", part)
    (folder / "_SUCCESS").write_text("", encoding="utf-8")  # Spark's marker: ignored
    run = load_run(folder)
    assert list(run.records()) == list(single.records())
    assert run.meta.to_dict() == single.meta.to_dict()
    assert run.meta.source == str(folder)


def test_a_folder_with_run_yaml_takes_its_metadata_from_it(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "baseline"
    folder.mkdir(parents=True)
    plain = table(4).replace_schema_metadata(None)
    write(folder / "part-00000.parquet", plain.slice(0, 2))
    write(folder / "part-00001.parquet", plain.slice(2, 2))
    (folder / "run.yaml").write_text(
        "name: baseline\ndatapoint_count: 4\ncomplete: true\n", encoding="utf-8"
    )
    run = load_run(folder)
    assert run.meta.name == "baseline"
    assert len(run) == 4
    (folder / "run.yaml").write_text("datapoint_count: 5\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{folder}: field 'datapoint_count': the run's metadata says "
            "datapoint_count: 5 but the file holds 4 datapoints: the run looks "
            "truncated (restore the complete run or re-run the evaluation)"
        ),
    ):
        load_run(folder)


def test_parts_with_a_metric_missing_in_one_are_one_run(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    write(folder / "a.parquet", pa.table({"id": ["x"], "metrics.m": [1.0]}))
    write(
        folder / "b.parquet",
        pa.table({"id": ["y"], "metrics.m": [2.0], "metrics.extra": [True]}),
    )
    run = load_run(folder)
    assert run.ids == ["x", "y"]
    assert run.metrics["extra"].present.tolist() == [False, True]


# --------------------------------------------------------------------------- errors


def test_a_missing_id_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", table().drop_columns(["id"]))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: the file has no 'id' column (found ['output', "
            "'metrics.exact_match', 'metrics.loss', 'metrics.f1', 'slices', 'group']) "
            "(every row is one datapoint and needs a unique string 'id')"
        ),
    ):
        load_run(path)


def test_a_duplicate_id_names_the_row_and_row_group(tmp_path: Path) -> None:
    data = table(6, id=pa.array(["a", "b", "c", "d", "b", "f"]))
    path = write(tmp_path / "c.parquet", data, row_group_size=2)
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: datapoint 'b': field 'id': row 4 (row group 2): duplicate id (first "
        "seen at row 1) (datapoint ids must be unique within a run)"
    )


def test_ids_equal_under_nfc_are_refused(tmp_path: Path) -> None:
    data = table(2, id=pa.array(["caf\u00e9", "cafe\u0301"]))
    path = write(tmp_path / "c.parquet", data)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint 'cafe\u0301': field 'id': row 1 (row group 0): ids "
            "'caf\\xe9' and 'cafe\\u0301' are the same text in different Unicode "
            "normal forms"
        ),
    ):
        load_run(path)


def test_a_null_id_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", table(3, id=pa.array(["a", None, "c"])))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: field 'id': row 1 (row group 0): the datapoint has no id (null)"
        ),
    ):
        load_run(path)


def test_a_metric_column_of_text_is_refused(tmp_path: Path) -> None:
    data = table(3, **{"metrics.loss": pa.array([None, "0.5", "0.7"])})
    path = write(tmp_path / "c.parquet", data)
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: datapoint 'q1': field 'metrics.loss': row 1 (row group 0): metric "
        "values must be numbers or booleans, got a column of string (store metrics "
        "as float64 (or bool); null where a datapoint has no value)"
    )


def test_a_nan_metric_needs_allow_nan(tmp_path: Path) -> None:
    data = table(4, **{"metrics.f1": pa.array([0.1, 0.2, float("nan"), 0.4])})
    path = write(tmp_path / "c.parquet", data, row_group_size=2)
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: datapoint 'q2': field 'metrics.f1': row 2 (row group 1): metric "
        "value is nan, which is allowed only for metrics declared with allow_nan "
        "(declare it in the run's metadata (metric_definitions: {f1: {allow_nan: "
        "true}}) or fix the value)"
    )
    meta = {**META, "metric_definitions": {"f1": {"allow_nan": True}}}
    write(path, data.replace_schema_metadata({"runcompare.run": json.dumps(meta)}))
    f1 = load_run(path).metrics["f1"]
    assert f1.present.tolist() == [True, True, True, True]
    assert np.isnan(f1.values[2])


def test_an_error_in_a_part_names_that_part_and_its_row(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    write(
        folder / "part-0.parquet", pa.table({"id": ["a", "b"], "metrics.m": [1.0, 2]})
    )
    write(
        folder / "part-1.parquet",
        pa.table({"id": ["c", "d", "e"], "metrics.m": [1.0, float("inf"), 3.0]}),
    )
    with pytest.raises(RunFormatError) as caught:
        load_run(folder)
    assert str(caught.value).startswith(
        f"{folder / 'part-1.parquet'}: datapoint 'd': field 'metrics.m': row 1 (row "
        "group 0): metric value is inf, which is allowed only for metrics declared"
    )


def test_a_duplicate_id_across_parts_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    write(folder / "part-0.parquet", pa.table({"id": ["a", "b"]}))
    write(folder / "part-1.parquet", pa.table({"id": ["c", "a"]}))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{folder / 'part-1.parquet'}: datapoint 'a': field 'id': row 1 (row group "
            "0): duplicate id (first seen at row 0)"
        ),
    ):
        load_run(folder)


def test_parts_with_conflicting_types_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    write(folder / "part-0.parquet", pa.table({"id": ["a"], "metrics.m": [1.0]}))
    write(folder / "part-1.parquet", pa.table({"id": ["b"], "metrics.m": ["x"]}))
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{folder}: the part files' columns do not agree"),
    ):
        load_run(folder)


def test_an_unknown_column_is_refused_with_the_accepted_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", table(2, score=pa.array([1.0, 2.0])))
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: unknown column(s) ['score'] (accepted: id, metrics.<name>, output, "
        "input, expected, slices, group, meta, steps; put custom fields in the JSON "
        "'meta' column)"
    )


def test_slices_that_are_not_lists_of_strings_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", table(2, slices=pa.array(["a;b", "c"])))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: field 'slices': slices must be a list of strings per datapoint, "
            "got a column of string"
        ),
    ):
        load_run(path)


def test_too_many_tags_pass_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_TAGS", "1")
    path = write(tmp_path / "c.parquet", table(3))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint 'q1': field 'slices': row 1 (row group 0): more than 1 "
            "slice tags on one datapoint (2); raise the limit with RUNCOMPARE_MAX_TAGS"
        ),
    ):
        load_run(path)


def test_bad_json_in_a_marked_column_names_the_row(tmp_path: Path) -> None:
    data = table(2, output=pa.array(['"ok"', "{oops"])).replace_schema_metadata(
        {"runcompare.layout": json.dumps({"version": 1, "json": ["output"]})}
    )
    path = write(tmp_path / "c.parquet", data)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint 'q1': field 'output': row 1 (row group 0): not valid "
            "JSON text (JSONDecodeError: Expecting property name"
        ),
    ):
        load_run(path)


@pytest.mark.parametrize("name", ["c.parquet", "c.arrow"])
def test_a_truncated_file_is_named_as_damaged(tmp_path: Path, name: str) -> None:
    path = save_run(build_run([{"id": "a", "metrics": {"m": 1}}], {}), tmp_path / name)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    kind = "Parquet" if name.endswith("parquet") else "Arrow IPC"
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path}: not a readable {kind} file (Arrow")
        + r".*\(the file is truncated or damaged; write it again, or restore it\)$",
    ):
        load_run(path)


def test_a_text_file_named_parquet_is_damaged_not_unknown(tmp_path: Path) -> None:
    path = tmp_path / "notes.parquet"
    path.write_text("id,metrics\nq1,0.5\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: not a readable Parquet file (ArrowInvalid: Parquet magic bytes "
            "not found in footer"
        ),
    ):
        load_run(path)


def test_empty_file_has_no_datapoints(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", table(0))
    with pytest.raises(
        RunFormatError, match=re.escape(f"{path}: the run has no datapoints")
    ):
        load_run(path)


def test_metadata_that_is_not_json_is_named(tmp_path: Path) -> None:
    data = table(2).replace_schema_metadata({"runcompare.run": "{name: x"})
    path = write(tmp_path / "c.parquet", data)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: the file's 'runcompare.run' metadata is not valid JSON"
        ),
    ):
        load_run(path)


def test_a_selector_or_reader_options_do_not_apply(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", table(2))
    with pytest.raises(RunFormatError, match="a selector \\('::x'\\) does not apply"):
        load_run(f"{path}::x")
    with pytest.raises(
        RunFormatError, match=r"reader option\(s\) \['provider'\] do not apply"
    ):
        load_run(path, options={"provider": "p"})


def test_format_parquet_on_another_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "metrics": {"m": 1}}\n', encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: format: parquet reads Parquet or Arrow IPC files, and this path "
            "is not one (suffix .jsonl)"
        ),
    ):
        load_run(path, options={"format": "parquet"})


def test_without_pyarrow_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "c.parquet", table(2))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: reading a Parquet or Arrow run needs pyarrow, which is not "
        "installed (pip install 'pytest-runcompare[parquet]' (or pip install pyarrow))"
    )
    with pytest.raises(RunFormatError, match="writing a Parquet or Arrow run needs"):
        save_run(build_run([{"id": "a"}], {}), tmp_path / "out.parquet")


def test_a_native_run_folder_is_still_the_native_readers(tmp_path: Path) -> None:
    folder = save_run(build_run([{"id": "a", "metrics": {"m": 1}}], {}), tmp_path / "r")
    write(folder / "stray.parquet", table(2))  # not ours: datapoints.jsonl is there
    assert load_run(folder).ids == ["a"]


def test_a_folder_without_columnar_files_is_not_claimed(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RunNotFoundError, match="no reader recognises this run"):
        load_run(tmp_path)


def test_a_long_id_passes_the_text_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_TEXT_CHARS", "5")
    long = "q" * 50
    path = write(tmp_path / "c.parquet", pa.table({"id": ["q0", long]}))
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: datapoint '{'q' * 37}...': field 'id': row 1 (row group 0): "
            "more than 5 characters in an id, a metric name or a tag (an id of 50)"
        ),
    ):
        load_run(path)


# --------------------------------------------------------------------------- sessions


def _records(n: int, shift: float) -> list[dict[str, Any]]:
    return [
        {
            "id": f"q-{i:04d}",
            "output": f"answer {i}",
            "metrics": {"score": round(0.5 + 0.4 * ((i * 37) % 100) / 100 + shift, 6)},
            "slices": ["lang:de" if i % 2 == 0 else "lang:en"],
        }
        for i in range(n)
    ]


GATES = """\
baseline: runs/baseline.parquet
candidate: runs/candidate.parquet
metrics:
  score: {direction: higher, margin: 0.05}
"""


def _parquet_repo(pytester: pytest.Pytester, shift: float) -> Path:
    runs = pytester.path / "runs"
    for name, change in (("baseline", 0.0), ("candidate", shift)):
        meta = {
            "name": name,
            "complete": True,
            "code_version": {"commit": name[0] * 40},
        }
        save_run(build_run(_records(200, change), meta), runs / f"{name}.parquet")
    (pytester.path / "runcompare.yaml").write_text(GATES, encoding="utf-8")
    pytester.makeini("[pytest]\n")
    return runs


def test_a_session_gates_a_parquet_pair(pytester: pytest.Pytester) -> None:
    _parquet_repo(pytester, shift=0.0)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*score*pass*"])


def test_a_session_fails_a_worse_parquet_candidate_and_keeps_parquet_baselines(
    pytester: pytest.Pytester,
) -> None:
    runs = _parquet_repo(pytester, shift=-0.2)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*score*fail*"])
    promoted = pytester.runpytest(
        "-q",
        "-p",
        "no:cacheprovider",
        "--runcompare-update-baseline",
        "--runcompare-accept-failed",
        "--runcompare-reason",
        "new data",
    )
    promoted.stdout.fnmatch_lines(["*baseline updated: *baseline.parquet*"])
    assert pq.ParquetFile(runs / "baseline.parquet").metadata.num_rows == 200
    assert load_run(runs / "baseline.parquet").meta.name == "candidate"
    kept = runs / "baseline.parquet.history" / "baseline.0001.parquet"
    assert load_run(kept).meta.name == "baseline"


def test_text_that_is_not_utf8_is_named_with_its_column(tmp_path: Path) -> None:
    offsets = pa.array([0, 2, 4], pa.int32()).buffers()[1]
    bad = pa.Array.from_buffers(
        pa.string(), 2, [None, offsets, pa.py_buffer(b"ok\xff\xfe")]
    )
    path = write(tmp_path / "c.parquet", pa.table({"id": ["a", "b"], "output": bad}))
    with pytest.raises(RunFormatError) as caught:
        load_run(path)
    assert str(caught.value) == (
        f"{path}: field 'output': the column holds invalid data (In chunk 0: Invalid: "
        "Invalid UTF8 sequence at string index 1) (text must be valid UTF-8; the file "
        "may be damaged)"
    )


def test_the_reader_and_writer_modules_import_no_pyarrow_until_used() -> None:
    import subprocess

    code = (
        "import sys, json\n"
        "import pytest_runcompare.loaders.parquet, pytest_runcompare.parquet_writer\n"
        "from pytest_runcompare.loaders.registry import default_plugin_manager\n"
        "default_plugin_manager()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "pytest_runcompare" in loaded
    assert not loaded & {"pyarrow", "numpy", "pytest"}
