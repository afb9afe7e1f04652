"""``runcompare plan``: power from the baseline alone, exit 0, or 2 on bad input."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from scipy import stats

from pytest_runcompare.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "sklearn_classifier"
BASELINE = str(EXAMPLE / "runs" / "baseline")
CONFIG = str(EXAMPLE / "runcompare.yaml")


def _chance(cells: list[str]) -> float:
    """The pass chance of a gate row: its last cell that is a percentage."""
    found = [c for c in cells if re.fullmatch(r"[<>]?\d+%", c)]
    return float(found[-1].strip("<>%"))


def _row(out: str, key: str) -> list[str]:
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] == key:
            return cells
    raise AssertionError(f"no row {key!r} in:\n{out}")


def test_example_plan_prints_gates_and_metrics(capsys) -> None:
    assert main(["plan", BASELINE, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert "baseline: baseline (C=1.0) (899 datapoints)" in out
    assert "correlate 0 with the baseline's" in out
    assert "gates (pass chance if nothing changed; MDE at 80% power):" in out
    # correct: binary, p = 0.9633 on 899 datapoints; independent re-draw
    p = 866 / 899
    se = math.sqrt(2 * p * (1 - p) * 899 / 898 / 899)
    mde = (stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) * se
    row = _row(out, "correct")
    assert row[1] == "0.02"
    assert float(row[2]) == pytest.approx(mde, abs=5e-5)
    assert row[3] == "899"
    assert row[6].startswith("LOW")
    assert "smallest margin each metric's n supports (alpha = 0.05, 80% power):" in out
    assert _row(out, "p_true[digit:8]")[2] == "87"
    assert "chance that every gate passes if nothing changed:" in out


def test_power_alpha_and_correlation_change_the_figures(capsys) -> None:
    main(["plan", BASELINE, "--config", CONFIG])
    default = _row(capsys.readouterr().out, "p_true")
    main(["plan", BASELINE, "--config", CONFIG, "--correlation", "0.9"])
    out = capsys.readouterr().out
    close = _row(out, "p_true")
    assert "correlate 0.9" in out
    assert _chance(close) > _chance(default)
    main(["plan", BASELINE, "--power", "0.9", "--alpha", "0.025"])
    out = capsys.readouterr().out
    assert "alpha = 0.025, 90% power" in out
    assert "gates (" not in out  # no gates file: only the metrics


def test_the_gates_file_sets_the_target_power(tmp_path: Path, capsys) -> None:
    config = tmp_path / "g.yaml"
    config.write_text(
        "defaults:\n  power_warn_below: 0.9\n  power_correlation: 0.5\n"
        "metrics:\n  p_true:\n    margin: 2%\n"
    )
    assert main(["plan", BASELINE, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "MDE at 90% power" in out
    assert "correlate 0.5" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "nope/run"], "nope/run"),
        (["plan", BASELINE, "--power", "1.5"], "--power: expected a number in (0, 1)"),
        (["plan", BASELINE, "--power", "0"], "--power: expected a number in (0, 1)"),
        (
            ["plan", BASELINE, "--correlation", "1"],
            "--correlation: expected a number in [0, 1)",
        ),
        (["plan", BASELINE, "--alpha", "0.6"], "--alpha: 0.6 is out of range"),
        (["plan", BASELINE, "--config", "missing.yaml"], "gates file not found"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message, capsys) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_bad_power_key_in_the_gates_file_names_file_line_and_key(
    tmp_path: Path, capsys
) -> None:
    config = tmp_path / "g.yaml"
    config.write_text("defaults:\n  alpha: 0.05\n  power: loud\nmetrics: {}\n")
    assert main(["plan", BASELINE, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{config}:3: defaults.power: invalid value 'loud' (accepted: warn, fail, off)"
        in err
    )


def test_compare_json_report_carries_the_plan(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    code = main(
        [
            "compare",
            BASELINE,
            str(EXAMPLE / "runs" / "candidate"),
            "--config",
            CONFIG,
            "--json",
            str(out),
        ]
    )
    assert code == 0
    plan = json.loads(out.read_text())["plan"]
    assert plan["power"] == 0.8
    assert plan["correlation"] == 0
    keys = [g["key"] for g in plan["gates"]]
    assert keys == ["correct", "correct[even]", "correct[odd]", "p_true", "log_loss"]
    assert set(plan["underpowered"]) <= set(keys)
    gate = plan["gates"][3]
    assert gate["n_units"] == 899
    assert gate["mde"] > gate["margin"] > 0
    assert 0 < gate["pass_chance"] < 1
    assert {m["key"] for m in plan["metrics"]} >= {"p_true", "p_true[even]"}


def test_readme_shows_the_real_output_of_the_example(capsys) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("```text\nbaseline: baseline (C=1.0)")
    shown = readme[start + len("```text\n") : readme.index("```", start + 7)]
    assert main(["plan", BASELINE, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert out.startswith(shown)  # the README shows the first lines, verbatim
