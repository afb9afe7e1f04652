"""Automatic warn-only slice gates are bounded per metric (``AUTO_SLICES``): the
largest slices by n are judged and the notes say how many were left; declared
``slices: all`` gates are the user's request and are all kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_runcompare.cli import main
from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.loaders.registry import load_run

#: tag -> how many of the 12 datapoints carry it
SIZES = {"a_small": 2, "b_big": 6, "c_tiny": 1, "d_mid": 4}


def write_run(path: Path, shift: float, extra: int = 0) -> Path:
    lines = []
    for i in range(12 + extra):
        tags = [t for t, n in SIZES.items() if i < n]
        score = (i % 3) / 3 + shift
        lines.append(
            json.dumps({"id": f"d{i}", "metrics": {"m": score}, "slices": tags})
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def gate_keys(report: Path) -> tuple[list[str], list[str]]:
    """The keys of the declared gates and of the warn-only ones."""
    judgement = json.loads(report.read_text())["judgement"]
    return (
        [g["key"] for g in judgement["gates"]],
        [g["key"] for g in judgement["warn_only"]],
    )


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    return write_run(tmp_path / "a.jsonl", 0.0), write_run(tmp_path / "b.jsonl", 0.01)


def test_slice_sizes_count_paired_datapoints_carrying_the_tag(tmp_path: Path) -> None:
    base = load_run(write_run(tmp_path / "a.jsonl", 0.0, extra=0))
    # the candidate lacks d0 and d1: 'b_big' keeps 4 pairs, 'c_tiny' none
    cand_path = tmp_path / "b.jsonl"
    lines = write_run(cand_path, 0.0).read_text().splitlines()[2:]
    cand_path.write_text("\n".join(lines) + "\n")
    comparison = compare_runs(base, load_run(cand_path))
    assert comparison.slice_sizes == {"a_small": 0, "b_big": 4, "c_tiny": 0, "d_mid": 2}
    assert comparison.slice_names == ["a_small", "b_big", "c_tiny", "d_mid"]


def test_automatic_slice_gates_past_the_limit_keep_the_largest_and_say_so(
    runs: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("metrics:\n  m: {direction: higher, mode: regression_detection}\n")
    monkeypatch.setenv("RUNCOMPARE_MAX_AUTO_SLICES", "2")
    report = tmp_path / "r.json"
    main(["compare", *map(str, runs), "--config", str(gates), "--json", str(report)])
    assert gate_keys(report) == (["m"], ["m[b_big]", "m[d_mid]"])
    note = (
        "m: 2 of 4 slices left without a warn-only gate: at most 2 automatic slice "
        "gates per metric, the largest by n (raise with RUNCOMPARE_MAX_AUTO_SLICES="
        "<number>, or declare `slices:` on the metric to gate them)"
    )
    assert f"warning: {note}\n" in capsys.readouterr().err
    assert note in json.loads(report.read_text())["judgement"]["warnings"]


def test_automatic_slice_gates_within_the_limit_are_all_made(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("metrics:\n  m: {direction: higher, mode: regression_detection}\n")
    report = tmp_path / "r.json"
    main(["compare", *map(str, runs), "--config", str(gates), "--json", str(report)])
    assert gate_keys(report) == (
        ["m"],
        ["m[a_small]", "m[b_big]", "m[c_tiny]", "m[d_mid]"],
    )
    assert "slices left without" not in capsys.readouterr().err


def test_declared_slices_all_keeps_every_slice_past_the_limit(
    runs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text(
        "metrics:\n  m: {direction: higher, mode: regression_detection, slices: all}\n"
    )
    monkeypatch.setenv("RUNCOMPARE_MAX_AUTO_SLICES", "1")
    report = tmp_path / "r.json"
    main(["compare", *map(str, runs), "--config", str(gates), "--json", str(report)])
    assert gate_keys(report) == (
        ["m", "m[a_small]", "m[b_big]", "m[c_tiny]", "m[d_mid]"],
        [],
    )
    warnings = json.loads(report.read_text())["judgement"]["warnings"]
    assert not [w for w in warnings if "slices left without" in w]
