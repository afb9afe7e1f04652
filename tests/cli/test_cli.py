"""The ``runcompare`` command: the same pipeline as the plugin, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_runcompare.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "sklearn_classifier"


#: the runs declare their metric's direction: without a gates file, none is guessed
DIRECTIONS = {"metric_definitions": {"ok": {"direction": "higher"}}}


def _write(path: Path, records: list[dict], name: str) -> Path:
    head = {"run": {"name": name, **DIRECTIONS}}
    lines = [json.dumps(head)] + [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(n: int, *, worse: bool = False) -> list[dict]:
    return [
        {
            "id": f"q{i}",
            "output": f"a{i}",
            "metrics": {"ok": (i % 4 != 0) and not (worse and i % 3 == 0)},
        }
        for i in range(n)
    ]


def test_passing_gates_exit_0_and_write_every_report(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "compare",
            str(EXAMPLE / "runs" / "baseline"),
            str(EXAMPLE / "runs" / "candidate"),
            "--config",
            str(EXAMPLE / "runcompare.yaml"),
            "--html",
            str(tmp_path / "r.html"),
            "--markdown",
            str(tmp_path / "r.md"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "paired: 899, only in baseline: 0, only in candidate: 0" in out
    assert sum(line.endswith("  pass") for line in out.splitlines()) == 5
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["schema_version"] == 2
    assert data["summary"]["passed"] is True
    assert {g["key"] for g in data["judgement"]["gates"]} == {
        "correct",
        "correct[even]",
        "correct[odd]",
        "p_true",
        "log_loss",
    }
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert "correct" in (tmp_path / "r.md").read_text()


def test_same_verdicts_as_the_plugin(tmp_path: Path, pytester: pytest.Pytester) -> None:
    """Both faces judge through the same pipeline: identical JSON verdicts."""
    main(
        [
            "compare",
            str(EXAMPLE / "runs" / "baseline"),
            str(EXAMPLE / "runs" / "candidate"),
            "--config",
            str(EXAMPLE / "runcompare.yaml"),
            "--json",
            str(tmp_path / "cli.json"),
        ]
    )
    pytester.copy_example("sklearn_classifier")
    pytester.runpytest("-q", "--runcompare-json", str(tmp_path / "plugin.json"))
    cli = json.loads((tmp_path / "cli.json").read_text())["judgement"]
    plugin = json.loads((tmp_path / "plugin.json").read_text())["judgement"]
    # the plugin's session also judged the example's fixture assertions
    assert plugin.pop("assertions")
    assert cli.pop("assertions") == []
    assert cli["gates"] == plugin["gates"]
    assert cli["warn_only"] == plugin["warn_only"]


def test_regression_exits_1(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path / "b.jsonl", _records(600), "base")
    cand = _write(tmp_path / "c.jsonl", _records(600, worse=True), "cand")
    code = main(["compare", str(base), str(cand), "--margin", "0.02"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED ok: ok: 0.750 -> 0.500" in out


def test_without_margin_runs_regression_detection(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path / "b.jsonl", _records(200), "base")
    cand = _write(tmp_path / "c.jsonl", _records(200), "cand")
    assert main(["compare", str(base), str(cand)]) == 0
    assert "inconclusive (passes)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.jsonl", "missing.jsonl: no such file or directory"),
        (
            lambda p: (
                (p / "bad.jsonl").write_text('{"id": 1, "metrics": {"ok": "yes"}}\n')
                and p / "bad.jsonl"
            ),
            "bad.jsonl:1: datapoint '1': field 'metrics.ok': metric value must be a number or a boolean",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys, make, message
) -> None:
    good = _write(tmp_path / "good.jsonl", _records(10), "good")
    code = main(["compare", str(good), str(make(tmp_path))])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_bad_gates_file_exits_2(tmp_path: Path, capsys) -> None:
    good = _write(tmp_path / "good.jsonl", _records(10), "good")
    gates = tmp_path / "g.yaml"
    gates.write_text("metrics:\n  ok:\n    margin: lots\n")
    assert main(["compare", str(good), str(good), "--config", str(gates)]) == 2
    assert (
        "g.yaml:3: metrics.ok.margin: invalid margin 'lots'" in capsys.readouterr().err
    )


def test_console_script_is_installed(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jsonl", _records(50), "good")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_runcompare.cli",
            "compare",
            str(good),
            str(good),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "gate" in done.stdout


def test_alpha_applies_to_default_gates_and_is_validated(
    tmp_path: Path, capsys
) -> None:
    base = _write(tmp_path / "b.jsonl", _records(200), "base")
    assert (
        main(
            [
                "compare",
                str(base),
                str(base),
                "--alpha",
                "0.2",
                "--json",
                str(tmp_path / "a.json"),
            ]
        )
        == 0
    )
    gates = json.loads((tmp_path / "a.json").read_text())["judgement"]["gates"]
    assert {g["verdict"]["gate"]["alpha"] for g in gates} == {0.2}
    assert main(["compare", str(base), str(base), "--alpha", "0.7"]) == 2
    assert "--alpha: 0.7 is out of range" in capsys.readouterr().err


def test_margin_with_a_gates_file_is_refused(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path / "b.jsonl", _records(20), "base")
    gates = tmp_path / "g.yaml"
    gates.write_text("metrics:\n  ok:\n    margin: 0.1\n")
    assert (
        main(
            ["compare", str(base), str(base), "--config", str(gates), "--margin", "1%"]
        )
        == 2
    )
    assert "--margin applies without a gates file" in capsys.readouterr().err


def test_negative_seed_is_refused(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path / "b.jsonl", _records(20), "base")
    assert main(["compare", str(base), str(base), "--seed", "-1"]) == 2
    assert "--seed: expected a non-negative integer, got -1" in capsys.readouterr().err


def test_unwritable_report_path_exits_2(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path / "b.jsonl", _records(20), "base")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["compare", str(base), str(base), "--html", str(blocker / "r.html")])
    assert code == 2
    assert "runcompare: error:" in capsys.readouterr().err


def test_warnings_and_aggregate_only_metrics_are_printed(
    tmp_path: Path, capsys
) -> None:
    records = _records(100)
    base = tmp_path / "b.jsonl"
    base.write_text(
        "\n".join(
            [
                json.dumps(
                    {"run": {"name": "b", "metrics": {"accuracy": 0.9}, **DIRECTIONS}}
                )
            ]
            + [json.dumps(r) for r in records]
        )
        + "\n"
    )
    cand = tmp_path / "c.jsonl"
    cand.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "run": {
                            "name": "c",
                            "complete": False,
                            "metrics": {"accuracy": 0.5},
                            **DIRECTIONS,
                        }
                    }
                )
            ]
            + [json.dumps(r) for r in records]
        )
        + "\n"
    )
    code = main(["compare", str(base), str(cand)])
    captured = capsys.readouterr()
    assert code == 1  # an incomplete candidate fails its gates by default
    assert "the candidate run is marked incomplete" in captured.out
    assert "warning: candidate:" in captured.err
    assert (
        "aggregate-only metrics, not gated (no per-datapoint values): accuracy"
        in captured.err
    )


@pytest.mark.parametrize("face", ["cli", "plugin"])
def test_a_bad_report_setting_is_the_same_clean_error_in_both_faces(
    tmp_path: Path, capsys, pytester: pytest.Pytester, face: str
) -> None:
    base = _write(tmp_path / "b.jsonl", _records(20), "base")
    gates = pytester.path / "runcompare.yaml"
    gates.write_text(
        f"baseline: {base}\ncandidate: {base}\nmetrics:\n  ok: {{margin: 0.1}}\n"
        "report:\n  max_outputs: lots\n"
    )
    expected = "runcompare.yaml:6: report.max_outputs: must be a non-negative integer"
    if face == "cli":
        assert main(["compare", str(base), str(base), "--config", str(gates)]) == 2
        err = capsys.readouterr().err
    else:
        result = pytester.runpytest_subprocess()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        err = result.stderr.str()
    assert expected in err
    assert "Traceback" not in err
