"""Metric values of any real number type: numpy scalars, fractions, Python numbers."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pytest_runcompare import load_run
from pytest_runcompare.building import build_run, plain_number
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.writer import RunWriter

REALS = [
    (np.float64(0.5), 0.5),
    (np.float32(0.25), 0.25),
    (np.float16(0.5), 0.5),
    (np.int64(3), 3),
    (np.int32(-2), -2),
    (np.uint8(7), 7),
    (Fraction(1, 4), 0.25),
]


@pytest.mark.parametrize(("value", "expected"), REALS)
def test_build_run_accepts_every_real_number_type(value, expected) -> None:
    run = build_run([{"id": "a", "metrics": {"m": value}}], {"name": "r"})
    assert run.datapoints.metrics["m"].values[0] == expected


@pytest.mark.parametrize("value", [np.bool_(True), np.bool_(False)])
def test_numpy_booleans_are_booleans(value) -> None:
    run = build_run(
        [{"id": "a", "metrics": {"ok": value}}, {"id": "b", "metrics": {"ok": True}}],
        {"name": "r"},
    )
    column = run.datapoints.metrics["ok"]
    assert column.boolean
    assert column.values[0] == float(bool(value))


def test_a_column_mixing_numpy_and_python_numbers_is_one_column() -> None:
    records = [
        {"id": "a", "metrics": {"m": np.float64(0.5)}},
        {"id": "b", "metrics": {"m": 1}},
        {"id": "c", "metrics": {"m": None}},
        {"id": "d", "metrics": {"m": np.int64(2)}},
    ]
    values = build_run(records, {"name": "r"}).datapoints.metrics["m"].values
    assert values[[0, 1, 3]].tolist() == [0.5, 1.0, 2.0]
    assert math.isnan(values[2])


def test_non_numbers_are_still_refused_with_their_type() -> None:
    with pytest.raises(RunFormatError, match="metric value must be a number"):
        build_run([{"id": "a", "metrics": {"m": "0.5"}}], {"name": "r"})
    with pytest.raises(RunFormatError, match="metric value must be a number"):
        build_run([{"id": "a", "metrics": {"m": np.array([0.5])}}], {"name": "r"})
    with pytest.raises(RunFormatError, match="allowed only for metrics"):
        build_run([{"id": "a", "metrics": {"m": np.float64("nan")}}], {"name": "r"})


def test_run_level_aggregates_accept_numpy_scalars() -> None:
    run = build_run(
        [{"id": "a", "metrics": {"m": 1.0}}],
        {"name": "r", "metrics": {"bleu": np.float32(0.5), "count": np.int64(3)}},
    )
    assert run.meta.metrics == {"bleu": 0.5, "count": 3.0}


def test_run_writer_add_accepts_numpy_scalars_and_writes_plain_json(
    tmp_path: Path,
) -> None:
    with RunWriter(tmp_path / "r", capture_lineage=False) as w:
        w.add("a", output="x", metrics={"m": np.float64(0.5), "ok": np.bool_(True)})
        w.add("b", output="y", metrics={"m": np.int64(1), "ok": np.bool_(False)})
    text = (tmp_path / "r" / "datapoints.jsonl").read_text(encoding="utf-8")
    assert '"ok":true' in text
    assert '"ok":false' in text
    run = load_run(tmp_path / "r")
    assert run.datapoints.metrics["m"].values.tolist() == [0.5, 1.0]
    assert run.datapoints.metrics["ok"].boolean


def test_run_writer_still_refuses_what_json_cannot_hold(tmp_path: Path) -> None:
    with (
        RunWriter(tmp_path / "r", capture_lineage=False) as w,
        pytest.raises(RunFormatError, match="not JSON-serialisable"),
    ):
        w.add("a", output=object())


def test_plain_number() -> None:
    assert type(plain_number(np.float32(0.5))) is float
    assert type(plain_number(np.int8(1))) is int
    assert type(plain_number(np.bool_(True))) is bool
    assert plain_number(True) is True
    marker = object()
    assert plain_number(marker) is marker
    assert plain_number("1") == "1"
