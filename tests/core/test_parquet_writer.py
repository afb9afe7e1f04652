"""save_run and RunWriter on .parquet/.arrow paths: the layout, round trips, atomicity."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_runcompare import RunFormatError, RunWriter, build_run, load_run, save_run
from pytest_runcompare.baseline import generations, promote
from pytest_runcompare.parquet_layout import LAYOUT_KEY, RUN_KEY

RECORDS: list[dict[str, Any]] = [
    {
        "id": "a",
        "input": {"q": "2+2", "ctx": ["x"]},
        "output": "4",
        "expected": "4",
        "metrics": {"acc": True, "f1": 0.5, "ppl": math.nan},
        "slices": ["lang:en", "hard"],
        "group": "g1",
        "meta": {"seen": 3},
    },
    {"id": "b", "output": ["list", 1], "metrics": {"acc": False}},
    {
        "id": "c",
        "output": "é ü 中",
        "metrics": {"acc": True, "f1": 1.0, "ppl": 3.5},
        "slices": ["lang:de"],
        "steps": [
            {"name": "plan", "output": "p", "metrics": {"ok": True}},
            {"name": "act", "input": "i", "output": "a", "metrics": {"cost": 0.25}},
            {"name": "act", "output": {"tool": "search"}, "metrics": {"cost": 0.5}},
        ],
    },
]
META: dict[str, Any] = {
    "name": "r",
    "params": {"lr": 0.001, "layers": [1, 2]},
    "code_version": {"commit": "abc", "dirty": True},
    "data_version": "v3",
    "environment": {"python": "3.11.7", "packages": {"numpy": "2.0"}},
    "seed": 7,
    "created": "2026-01-01T00:00:00+00:00",
    "metric_definitions": {"ppl": {"allow_nan": True, "higher_is_better": False}},
    "curves": {"loss": {"step": [0, 10], "value": [2.0, 0.5]}},
    "custom_key": {"kept": True},
}


def records_text(run: Any) -> str:
    """The run's records as JSON text (NaN equal to NaN)."""
    return json.dumps(list(run.records()), sort_keys=True)


@pytest.mark.parametrize("name", ["run.parquet", "run.arrow", "run.feather"])
def test_save_run_round_trips_values_masks_steps_and_metadata(
    tmp_path: Path, name: str
) -> None:
    run = build_run(RECORDS, META)
    again = load_run(save_run(run, tmp_path / name))
    assert records_text(again) == records_text(run)
    assert again.meta.to_dict() == run.meta.to_dict()
    assert again.meta.curves["loss"].to_dict() == {"step": [0, 10], "value": [2.0, 0.5]}
    assert again.meta.source == str(tmp_path / name)
    assert again.metrics["acc"].boolean
    assert not again.metrics["f1"].boolean
    assert again.metrics["f1"].present.tolist() == [True, False, True]
    assert np.isnan(again.metrics["ppl"].values[0])  # a NaN value, present
    assert again.metrics["ppl"].present.tolist() == [True, False, True]
    assert again.datapoints.slice_tags == [("lang:en", "hard"), (), ("lang:de",)]
    assert again.datapoints.groups == ["g1", None, None]
    assert again.datapoints.metas == [{"seen": 3}, None, None]
    assert list(again.steps) == ["plan", "act", "act#2"]
    assert again.steps["act#2"].outputs == [{"tool": "search"}]
    assert again.steps["act"].inputs == ["i"]
    assert again.datapoint("c").steps[1].metrics == {"cost": 0.25}


def test_the_parquet_file_has_the_documented_layout(tmp_path: Path) -> None:
    path = save_run(build_run(RECORDS, META), tmp_path / "run.parquet")
    table = pq.read_table(path)
    schema = table.schema
    assert schema.names == [
        "id",
        "input",
        "output",
        "expected",
        "meta",
        "metrics.acc",
        "metrics.f1",
        "metrics.ppl",
        "slices",
        "group",
        "steps",
    ]
    assert schema.field("metrics.acc").type == pa.bool_()
    assert schema.field("metrics.f1").type == pa.float64()
    assert schema.field("slices").type == pa.list_(pa.string())
    assert table.column("metrics.f1").to_pylist() == [0.5, None, 1.0]
    assert table.column("output").to_pylist() == ['"4"', '["list",1]', '"é ü 中"']
    assert table.column("input").to_pylist() == ['{"q":"2+2","ctx":["x"]}', None, None]
    assert json.loads(schema.metadata[LAYOUT_KEY]) == {
        "version": 1,
        "json": ["input", "output", "meta", "steps.output"],
    }
    meta = json.loads(schema.metadata[RUN_KEY])
    assert meta["params"] == {"lr": 0.001, "layers": [1, 2]}
    assert meta["complete"] is True
    step_type = schema.field("steps").type.value_type
    assert [step_type.field(i).name for i in range(step_type.num_fields)] == [
        "name",
        "input",
        "metrics.cost",
        "metrics.ok",
        "output",
    ]
    assert table.column("steps").to_pylist()[2][0] == {
        "name": "plan",
        "input": None,
        "metrics.cost": None,
        "metrics.ok": True,
        "output": '"p"',
    }


def test_text_outputs_stay_a_plain_string_column(tmp_path: Path) -> None:
    records = [{"id": i, "output": f"o{i}", "metrics": {"m": i}} for i in range(3)]
    path = save_run(build_run(records, {}), tmp_path / "run.parquet")
    table = pq.read_table(path)
    assert table.column("output").to_pylist() == ["o0", "o1", "o2"]
    assert json.loads(table.schema.metadata[LAYOUT_KEY])["json"] == []
    assert load_run(path).outputs == ["o0", "o1", "o2"]


def test_save_run_parquet_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_run(
        build_run(RECORDS[:1], {**META, "name": "old"}), tmp_path / "run.parquet"
    )
    before = sorted(p.name for p in tmp_path.iterdir())

    def torn(table: Any, where: Any, **kwargs: Any) -> None:
        where.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", torn)
    with pytest.raises(OSError, match="disk full"):
        save_run(build_run(RECORDS, {**META, "name": "new"}), path)
    assert load_run(path).meta.name == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary left


def test_a_lone_surrogate_is_refused_naming_the_datapoint(tmp_path: Path) -> None:
    run = build_run([{"id": "x", "output": "bad \ud800", "metrics": {"m": 1}}], {})
    with pytest.raises(
        RunFormatError,
        match=r"datapoint 'x': a string holds a lone UTF-16 surrogate",
    ):
        save_run(run, tmp_path / "run.parquet")
    assert not list(tmp_path.iterdir())


def test_run_writer_writes_parquet_with_lineage_and_count(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "candidate.parquet"
    with RunWriter(
        path,
        name="cand",
        params={"lr": 3e-4},
        seed=1,
        metric_definitions={"ppl": {"allow_nan": True}},
    ) as writer:
        for record in RECORDS:
            writer.add_record(record)
        writer.add("d", output="x", metrics={"acc": True}, slices={"lang": "fr"})
        writer.log_curve("loss", 2.0)
        writer.log_curve("loss", 0.5, step=10)
    run = load_run(path)
    assert run.meta.curves["loss"].to_dict() == {"step": [0, 10], "value": [2.0, 0.5]}
    assert run.ids == ["a", "b", "c", "d"]
    assert run.meta.name == "cand"
    assert run.meta.params == {"lr": 3e-4}
    assert run.meta.complete
    assert run.meta.extra["datapoint_count"] == 4
    assert "python" in run.meta.environment  # the lineage RunWriter captures
    assert run.datapoints.slice_tags is not None
    assert run.datapoints.slice_tags[3] == ("lang:fr",)
    assert list(run.steps) == ["plan", "act", "act#2"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["candidate.parquet"]


def write_twice(path: Path) -> None:
    with RunWriter(path, capture_lineage=False) as writer:
        writer.add("a", output="x", metrics={"m": 1.0})
        writer.add("a", output="y", metrics={"m": 2.0})


def crash_while_writing(path: Path, error: BaseException) -> None:
    with RunWriter(path, name="new", capture_lineage=False) as writer:
        writer.add("z", output="x", metrics={"m": 1.0})
        raise error


def test_run_writer_parquet_refuses_a_duplicate_id_at_its_source(
    tmp_path: Path,
) -> None:
    with pytest.raises(
        RunFormatError,
        match=r"datapoint 'a': field 'id': duplicate id: this datapoint was "
        "already written",
    ):
        write_twice(tmp_path / "c.parquet")


def test_run_writer_parquet_crash_keeps_the_old_baseline(tmp_path: Path) -> None:
    path = save_run(
        build_run(RECORDS[:1], {**META, "name": "old"}), tmp_path / "b.parquet"
    )
    with pytest.raises(RuntimeError, match="model crashed"):
        crash_while_writing(path, RuntimeError("model crashed"))
    assert load_run(path).meta.name == "old"
    (partial,) = (p for p in tmp_path.iterdir() if p.name != "b.parquet")
    assert partial.name.startswith("b.parquet.writing-")
    assert partial.name.endswith("-partial.parquet")
    run = load_run(partial)
    assert not run.meta.complete
    assert run.meta.extra["error"] == "RuntimeError: model crashed"
    assert run.ids == ["z"]
    assert run.warnings[0].endswith(
        "the run is marked incomplete (its writer did not finish); comparing the "
        "datapoints written so far"
    )


def test_run_writer_parquet_crash_without_a_previous_run_leaves_it_incomplete(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.parquet"
    with pytest.raises(KeyError):
        crash_while_writing(path, KeyError("oops"))
    run = load_run(path)
    assert not run.meta.complete
    assert run.ids == ["z"]


def test_run_writer_on_other_paths_still_writes_a_run_folder(tmp_path: Path) -> None:
    with RunWriter(tmp_path / "run", capture_lineage=False) as writer:
        writer.add("a", output="x", metrics={"m": 1.0})
    assert type(writer) is RunWriter
    assert (tmp_path / "run" / "datapoints.jsonl").exists()


def test_promotion_keeps_a_parquet_baseline_in_parquet(tmp_path: Path) -> None:
    path = save_run(
        build_run(RECORDS[:2], {**META, "name": "old"}), tmp_path / "b.parquet"
    )
    candidate = build_run(RECORDS, {**META, "name": "new"})
    done = promote(candidate, path, outcomes={"acc": "pass"})
    assert pq.ParquetFile(path).metadata.num_rows == 3  # still a Parquet file
    assert load_run(path).meta.name == "new"
    ((number, kept),) = generations(path)
    assert (number, kept.name) == (1, "b.0001.parquet")
    assert load_run(kept).meta.name == "old"
    assert done.previous == kept
