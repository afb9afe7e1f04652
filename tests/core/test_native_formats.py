"""Every native shape loads into the same columns: ids, metrics with masks, outputs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from pytest_runcompare import build_run, load_run
from tests.core.conftest import write_jsonl

RECORDS = [
    {
        "id": "a",
        "input": "2+2?",
        "output": "4",
        "expected": "4",
        "metrics": {"acc": True, "f1": 0.5},
        "slices": ["lang:en"],
    },
    {
        "id": 7,
        "input": {"q": "x"},
        "output": {"answer": [1, 2]},
        "expected": "y",
        "metrics": {"acc": False},
        "slices": {"lang": "de"},
    },
    {
        "id": "c",
        "output": "z",
        "metrics": {"acc": True, "f1": 1.25},
        "steps": [
            {"name": "retrieve", "output": "doc", "metrics": {"recall": 0.5}},
            {"name": "answer", "output": "z", "metrics": {"acc": True}},
        ],
    },
]
META = {
    "name": "cand",
    "params": {"lr": 0.001, "model": "m"},
    "code_version": {"commit": "abc", "dirty": False},
    "data_version": "v1",
    "environment": {"python": "3.11"},
    "seed": 3,
    "created": "2026-01-01T00:00:00+00:00",
    "metric_definitions": {"f1": {"higher_is_better": True}},
}


def test_every_shape_loads_the_same_columns(write_run) -> None:
    run = load_run(write_run(RECORDS, META))
    assert run.ids == ["a", "7", "c"]
    assert run.outputs == ["4", {"answer": [1, 2]}, "z"]
    acc = run.metrics["acc"]
    assert acc.boolean
    np.testing.assert_array_equal(acc.values, [1.0, 0.0, 1.0])
    assert acc.present.all()
    f1 = run.metrics["f1"]
    assert not f1.boolean
    np.testing.assert_array_equal(f1.present, [True, False, True])
    assert f1.values[0] == 0.5
    assert math.isnan(f1.values[1])
    assert f1.values[2] == 1.25
    assert run.datapoints.inputs == ["2+2?", {"q": "x"}, None]
    assert run.datapoints.expected == ["4", "y", None]
    assert run.datapoints.slice_tags == [("lang:en",), ("lang:de",), ()]
    assert {k: v.tolist() for k, v in run.datapoints.slices.items()} == {
        "lang:de": [1],
        "lang:en": [0],
    }
    assert list(run.steps) == ["retrieve", "answer"]
    assert run.steps["retrieve"].ids == ["c"]
    assert run.steps["retrieve"].metrics["recall"].values.tolist() == [0.5]
    meta = run.meta
    assert meta.name == "cand"
    assert meta.params == {"lr": 0.001, "model": "m"}
    assert meta.code_version == {"commit": "abc", "dirty": False}
    assert (meta.data_version, meta.seed) == ("v1", 3)
    assert meta.environment == {"python": "3.11"}
    assert meta.metric_definitions["f1"].higher_is_better is True
    assert meta.complete


def test_datapoint_row_view(write_run) -> None:
    run = load_run(write_run(RECORDS, META))
    dp = run.datapoint("c")
    assert dp.output == "z"
    assert dp.metrics == {"acc": 1.0, "f1": 1.25}
    assert [s.name for s in dp.steps] == ["retrieve", "answer"]
    assert dp.steps[0].metrics == {"recall": 0.5}
    assert run.datapoint(7).id == "7"
    with pytest.raises(KeyError):
        run.datapoint("nope")


def test_jsonl_without_header_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"id": 1, "output": "x", "metrics": {"m": 1}}\n\n  \n'
        '{"id": 2, "output": "y", "metrics": {"m": 2}}',
        encoding="utf-8",
    )
    run = load_run(path)
    assert run.ids == ["1", "2"]
    assert run.meta.name is None
    assert run.name == str(path)
    np.testing.assert_array_equal(run.metrics["m"].values, [1.0, 2.0])


def test_jsonl_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_runcompare.loaders import files

    monkeypatch.setattr(files, "CHUNK_LINES", 7)
    rng = np.random.default_rng(0)
    records = []
    for i in range(100):
        metrics = {"x": float(rng.normal())}
        if i % 3:
            metrics["flag"] = bool(i % 2)
        rec = {"id": i, "output": str(i), "metrics": metrics}
        if i >= 50:
            rec["slices"] = ["late"]
            rec["input"] = i
        records.append(rec)
    run = load_run(write_jsonl(tmp_path / "r.jsonl", records, {"name": "n"}))
    assert run.ids == [str(i) for i in range(100)]
    np.testing.assert_array_equal(
        run.metrics["x"].values, [r["metrics"]["x"] for r in records]
    )
    flag = run.metrics["flag"]
    np.testing.assert_array_equal(flag.present, [bool(i % 3) for i in range(100)])
    assert flag.boolean
    assert run.datapoints.slices["late"].tolist() == list(range(50, 100))
    assert run.datapoints.inputs == [None] * 50 + list(range(50, 100))


def test_run_directory_with_run_json(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    (d / "run.json").write_text('{"name": "j", "seed": 1}', encoding="utf-8")
    write_jsonl(d / "datapoints.jsonl", [{"id": "a", "output": 1, "metrics": {"m": 1}}])
    run = load_run(d)
    assert run.meta.name == "j"
    assert run.meta.seed == 1
    assert run.meta.source == str(d)


def test_aggregate_only_run_directory(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    (d / "run.yaml").write_text("name: agg\nmetrics: {acc: 0.8}\n", encoding="utf-8")
    run = load_run(d)
    assert len(run) == 0
    assert run.metric_names == ["acc"]
    assert run.meta.metrics == {"acc": 0.8}


def test_json_list_document(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        '[{"id": "a", "output": "x", "metrics": {"m": 0.5}}]', encoding="utf-8"
    )
    run = load_run(path)
    assert run.ids == ["a"]


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "id,output,acc,score,slices\n"
        "a,hello,true,0.5,lang:en;len:short\n"
        'b,"with, comma",false,,lang:de\n'
        "3,,TRUE,2,\n",
        encoding="utf-8",
    )
    run = load_run(path)
    assert run.ids == ["a", "b", "3"]
    assert run.outputs == ["hello", "with, comma", ""]
    assert run.metrics["acc"].boolean
    np.testing.assert_array_equal(run.metrics["acc"].values, [1, 0, 1])
    score = run.metrics["score"]
    np.testing.assert_array_equal(score.present, [True, False, True])
    assert score.values[0] == 0.5
    assert score.values[2] == 2.0
    assert run.datapoints.slice_tags == [("lang:en", "len:short"), ("lang:de",), ()]


def test_records_round_trip_through_build_run() -> None:
    run = build_run(RECORDS, META)
    again = build_run(list(run.records()), run.meta)
    assert list(again.records()) == list(run.records())


def test_slices_shared_between_datapoints() -> None:
    """Equal tag lists become one shared tuple (memory), still per datapoint."""
    records = [{"id": i, "output": "", "slices": ["a", "b"]} for i in range(5)]
    records.append({"id": "x", "output": "", "slices": ["b"]})
    run = build_run(records)
    tags = run.datapoints.slice_tags
    assert tags[0] == ("a", "b")
    assert all(t is tags[0] for t in tags[:5])
    assert run.datapoints.slices["b"].tolist() == [0, 1, 2, 3, 4, 5]
    assert run.datapoints.slices["a"].tolist() == [0, 1, 2, 3, 4]


def test_slice_positions_with_many_distinct_combinations() -> None:
    records = [{"id": i, "output": "", "slices": [f"u{i}", "all"]} for i in range(300)]
    run = build_run(records)
    assert run.datapoints.slices["all"].tolist() == list(range(300))
    assert run.datapoints.slices["u17"].tolist() == [17]


def test_slice_positions_across_combinations() -> None:
    rng = np.random.default_rng(5)
    tags = ["a", "b", "c", "d"]
    records = []
    expected: dict[str, list[int]] = {t: [] for t in tags}
    for i in range(2000):
        chosen = [t for t in tags if rng.random() < 0.5]
        for t in chosen:
            expected[t].append(i)
        records.append({"id": i, "output": "", "slices": chosen})
    run = build_run(records)
    got = {k: v.tolist() for k, v in run.datapoints.slices.items()}
    assert got == {k: v for k, v in expected.items() if v}


def test_nan_allowed_where_declared(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"run": {"metric_definitions": {"ppl": {"allow_nan": true}}}}\n'
        '{"id": 1, "output": "", "metrics": {"ppl": NaN}}\n'
        '{"id": 2, "output": "", "metrics": {"ppl": Infinity}}\n'
        '{"id": 3, "output": "", "metrics": {"ppl": 2.0}}\n',
        encoding="utf-8",
    )
    run = load_run(path)
    col = run.metrics["ppl"]
    assert col.present.all()
    assert math.isnan(col.values[0])
    assert math.isinf(col.values[1])


def test_utf8_bom_accepted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"id": "a", "output": "\xc3\xa9", "metrics": {"m": 1}}\n'
    )
    assert load_run(path).outputs == ["é"]


def test_metrics_with_the_same_count_but_different_names(tmp_path) -> None:
    """A datapoint may swap one metric for another: both columns are kept."""
    from pytest_runcompare.building import build_run

    records = [
        {"id": i, "output": "", "metrics": {"a": 1.0, "b": 2.0}} for i in range(5)
    ]
    records[3]["metrics"] = {"a": 1.0, "c": 3.0}
    run = build_run(records, {})
    assert sorted(run.metrics) == ["a", "b", "c"]
    assert run.metrics["b"].present.tolist() == [True, True, True, False, True]
    assert run.metrics["c"].present.tolist() == [False, False, False, True, False]
    assert run.metrics["c"].values[3] == 3.0


def test_datapoint_meta_is_kept_and_saved(tmp_path) -> None:
    from pytest_runcompare import load_run, save_run
    from pytest_runcompare.building import build_run

    records = [
        {"id": "a", "output": "x", "metrics": {"m": 1}, "meta": {"doc": {"q": 1}}},
        {"id": "b", "output": "y", "metrics": {"m": 0}},
    ]
    run = build_run(records, {})
    assert run.datapoint("a").meta == {"doc": {"q": 1}}
    assert run.datapoint("b").meta is None
    again = load_run(save_run(run, tmp_path / "r.jsonl"))
    assert again.datapoint("a").meta == {"doc": {"q": 1}}


def test_datapoint_meta_must_be_a_mapping() -> None:
    from pytest_runcompare.building import build_run
    from pytest_runcompare.errors import RunFormatError

    with pytest.raises(
        RunFormatError,
        match=re.escape(
            "datapoint 'a': field 'datapoints[0].meta': meta must be a mapping of "
            "your own fields, got [1, 2]"
        ),
    ):
        build_run([{"id": "a", "output": "", "meta": [1, 2]}], {})
