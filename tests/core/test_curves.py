"""Metric curves: the ``curves:`` section of run.yaml (validation, round trip through
save_run), MLflow metric steps, and the overlay chart's numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pytest_runcompare import load_run
from pytest_runcompare.curves import (
    Curve,
    CurvePair,
    from_history,
    overlay,
    pairs,
    parse_curves,
)
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.writer import save_run

RECORDS = [{"id": "a", "output": "x", "metrics": {"m": 1}}]
CURVES = {
    "loss": {"step": [0, 100, 200], "value": [2.3, 0.8, 0.5]},
    "val_accuracy": {"value": [0.6, 0.8]},
}


def write_dir(path: Path, records: list[dict], meta: dict) -> Path:
    """A run directory: ``run.yaml`` beside ``datapoints.jsonl``."""
    path.mkdir(parents=True)
    (path / "run.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (path / "datapoints.jsonl").write_text(lines, encoding="utf-8")
    return path


def test_run_yaml_curves_are_read_into_the_metadata_not_extra(tmp_path: Path) -> None:
    run = load_run(write_dir(tmp_path / "r", RECORDS, {"curves": CURVES}))
    assert run.meta.curves == {
        "loss": Curve(steps=(0, 100, 200), values=(2.3, 0.8, 0.5)),
        "val_accuracy": Curve(steps=(0, 1), values=(0.6, 0.8)),
    }
    assert "curves" not in run.meta.extra


def test_curves_in_every_native_shape_with_metadata(write_run) -> None:
    """A run directory, a jsonl header, a json or a yaml document (conftest's shapes)."""
    run = load_run(write_run(RECORDS, {"curves": CURVES}))
    assert run.meta.curves["loss"] == Curve(steps=(0, 100, 200), values=(2.3, 0.8, 0.5))
    assert "curves" not in run.meta.extra


def test_save_run_writes_the_curves_back(tmp_path: Path) -> None:
    run = load_run(write_dir(tmp_path / "r", RECORDS, {"curves": CURVES}))
    save_run(run, tmp_path / "copy")
    written = yaml.safe_load((tmp_path / "copy" / "run.yaml").read_text())
    assert written["curves"]["loss"] == {
        "step": [0, 100, 200],
        "value": [2.3, 0.8, 0.5],
    }
    assert load_run(tmp_path / "copy").meta.curves == run.meta.curves


@pytest.mark.parametrize(
    ("curves", "field", "message"),
    [
        ([1, 2], "curves", "must be a mapping of curve name to"),
        ({"loss": [1, 2]}, "curves.loss", "must be a mapping with 'step' and 'value'"),
        ({"loss": {"values": [1]}}, "curves.loss", r"unknown key\(s\) \['values'\]"),
        ({"loss": {"step": [1]}}, "curves.loss", "has no 'value' list"),
        ({"loss": {"value": []}}, "curves.loss.value", "is empty"),
        ({"loss": {"value": "0.5"}}, "curves.loss.value", "must be a list of numbers"),
        (
            {"loss": {"value": [0.5, None]}},
            "curves.loss.value[1]",
            "must be a finite number, got None",
        ),
        (
            {"loss": {"value": [0.5, True]}},
            "curves.loss.value[1]",
            "must be a finite number, got True",
        ),
        (
            {"loss": {"value": [0.5, float("nan")]}},
            "curves.loss.value[1]",
            "must be a finite number",
        ),
        (
            {"loss": {"step": [0, 1], "value": [1, 2, 3]}},
            "curves.loss.step",
            "has 2 steps for 3 values",
        ),
        (
            {"loss": {"step": [0, 5, 5], "value": [1, 2, 3]}},
            "curves.loss.step[2]",
            "steps must increase: 5 follows 5",
        ),
        ({3: {"value": [1]}}, "curves", "curve names must be non-empty strings"),
    ],
)
def test_bad_curves_name_the_file_and_the_key(
    tmp_path: Path, curves: object, field: str, message: str
) -> None:
    path = write_dir(tmp_path / "r", RECORDS, {"curves": curves})
    with pytest.raises(RunFormatError, match=message) as info:
        load_run(path)
    assert info.value.field == field
    assert info.value.path == str(path / "run.yaml")
    assert str(info.value).startswith(f"{path / 'run.yaml'}: field {field!r}")


def test_curve_bounds_are_limits_raisable_by_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_CURVE_POINTS", "3")
    with pytest.raises(
        RunFormatError, match="more than 3 points in one metric curve"
    ) as info:
        parse_curves({"loss": {"value": [1, 2, 3, 4]}}, path="run.yaml")
    assert "RUNCOMPARE_MAX_CURVE_POINTS" in str(info.value)
    assert info.value.field == "curves.loss.value"
    monkeypatch.setenv("RUNCOMPARE_MAX_CURVES", "1")
    with pytest.raises(RunFormatError, match=r"more than 1 metric curves in one run"):
        parse_curves({"a": {"value": [1]}, "b": {"value": [1]}}, path="run.yaml")


def test_from_history_keeps_the_last_value_per_step_and_needs_two_steps() -> None:
    points = [
        (2, 10, 0.4),
        (0, 1, 1.0),
        (2, 11, 0.3),
        (1, 5, float("nan")),
        (1, 6, 0.7),
    ]
    assert from_history(points) == Curve(steps=(0, 1, 2), values=(1.0, 0.7, 0.3))
    assert from_history([(0, 1, 0.5), (0, 2, 0.4)]) is None


def _log_stepped_run(mlflow, name: str) -> str:
    with mlflow.start_run(run_name=name) as run:
        for step in range(4):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step * 10)
        mlflow.log_metric("accuracy", 0.9)
    return str(run.info.run_id)


@pytest.fixture
def mlflow_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    yield mlflow
    mlflow.set_tracking_uri(None)


def test_mlflow_metric_steps_become_curves(mlflow_module, tmp_path: Path) -> None:
    """A metric logged at several steps is a curve, through the client (sqlite) and
    from a local file store's run folder; a metric logged once is not."""
    mlflow = mlflow_module
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("curves")
    run_id = _log_stepped_run(mlflow, "stepped")
    expected = {"loss": Curve(steps=(0, 10, 20, 30), values=(1.0, 0.5, 1 / 3, 0.25))}
    through_client = load_run(f"mlflow://{run_id}", options={"tracking_uri": uri})
    assert through_client.meta.curves == expected
    assert through_client.meta.metrics == {"loss": 0.25, "accuracy": 0.9}
    mlflow.set_tracking_uri(f"file://{tmp_path / 'mlruns'}")
    mlflow.set_experiment("curves")
    folder_id = _log_stepped_run(mlflow, "stepped")
    [folder] = (tmp_path / "mlruns").glob(f"*/{folder_id}")
    assert load_run(str(folder)).meta.curves == expected


# --------------------------------------------------------------------------- the chart
def test_pairs_list_both_runs_curves_baseline_order_first(tmp_path: Path) -> None:
    base = load_run(write_dir(tmp_path / "b", RECORDS, {"curves": CURVES}))
    cand = load_run(
        write_dir(
            tmp_path / "c",
            RECORDS,
            {
                "curves": {"lr": {"value": [1, 0.5]}, "loss": {"value": [2.0, 0.4]}},
                "metric_definitions": {"loss": {"higher_is_better": False}},
            },
        )
    )
    found = pairs(base, cand)
    assert [p.name for p in found] == ["loss", "val_accuracy", "lr"]
    assert found[0].higher_is_better is False
    assert found[1].candidate is None
    assert found[2].baseline is None


def test_overlay_draws_both_lines_within_the_plot_area_deterministically() -> None:
    pair = CurvePair(
        name="loss",
        baseline=Curve(steps=(0, 50, 100), values=(2.0, 1.0, 0.5)),
        candidate=Curve(steps=(0, 50, 100), values=(2.0, 0.9, 0.4)),
        higher_is_better=False,
    )
    chart = overlay(pair)
    assert chart == overlay(pair)
    assert [line["cls"] for line in chart["lines"]] == ["old", "new"]
    for line in chart["lines"]:
        for point in line["points"].split():
            x, y = map(float, point.split(","))
            assert chart["left"] <= x <= chart["right"]
            assert chart["top"] <= y <= chart["bottom"]
    # y runs from 2.08 (top, 10) to 0.32 (bottom, 186): 2.0 is 8 units down
    assert chart["lines"][0]["points"].split()[0] == "52.0,18.0"
    assert chart["last_baseline"] == "0.5"
    assert chart["last_candidate"] == "0.4"
    assert chart["change"] == "\u22120.1"
    assert chart["trend"] == "better"  # lower is better and the loss fell
    assert [t["text"] for t in chart["x_ticks"]] == ["0", "20", "40", "60", "80", "100"]


def test_a_long_curve_is_thinned_keeping_its_spike() -> None:
    values = [1.0] * 10_000
    values[6_543] = 9.0
    pair = CurvePair("loss", Curve(tuple(range(10_000)), tuple(values)), None)
    chart = overlay(pair)
    points = chart["lines"][0]["points"].split()
    assert len(points) <= 600
    ys = [float(p.split(",")[1]) for p in points]
    # y runs from 9.4 (top, 10) to 0.6 (bottom, 186): the spike at 9 is drawn at 18
    assert min(ys) == 18.0
    assert json.dumps(chart) == json.dumps(overlay(pair))
    assert re.fullmatch(r"[0-9. ,]+", chart["lines"][0]["points"])


def test_run_writer_logs_curves_into_run_yaml(tmp_path: Path) -> None:
    from pytest_runcompare import RunWriter

    with RunWriter(tmp_path / "run", name="r", capture_lineage=False) as w:
        w.add(id="a", output="x", metrics={"m": 1})
        for k in range(3):
            w.log_curve("loss", 1.0 / (k + 1), step=k * 10)
        w.log_curve("val_accuracy", 0.5)
        w.log_curve("val_accuracy", 0.7)
    run = load_run(tmp_path / "run")
    assert run.meta.curves == {
        "loss": Curve(steps=(0, 10, 20), values=(1.0, 0.5, 1 / 3)),
        "val_accuracy": Curve(steps=(0, 1), values=(0.5, 0.7)),
    }


def test_run_writer_refuses_a_bad_curve_point_naming_the_key(tmp_path: Path) -> None:
    from pytest_runcompare import RunWriter

    w = RunWriter(tmp_path / "run", capture_lineage=False)
    w.log_curve("loss", 0.9, step=5)
    with pytest.raises(
        RunFormatError, match="steps must increase: 5 follows 5"
    ) as info:
        w.log_curve("loss", 0.8, step=5)
    assert info.value.field == "curves.loss.step[1]"
    assert info.value.path == str(tmp_path / "run" / "run.yaml")
    with pytest.raises(RunFormatError, match="must be a finite number, got nan"):
        w.log_curve("loss", float("nan"))
    w.log_curve("loss", 0.7)  # the next step: 6
    assert w._meta["curves"]["loss"] == {"step": [5, 6], "value": [0.9, 0.7]}
