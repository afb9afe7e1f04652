"""The ``runcompare`` command never passes without judging, and exits 1 only on a gate.

0: every gate passed; 1: a gate failed; 2: bad input, bad configuration or any
error, with a one-line message and never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_runcompare import cli
from pytest_runcompare.cli import main


def _write(
    path: Path, records: list[dict], name: str, meta: dict | None = None
) -> Path:
    head = {"run": {"name": name, **(meta or {})}}
    lines = [json.dumps(head)] + [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(n: int, *, accuracy: float, latency: float = 100.0) -> list[dict]:
    """``n`` datapoints, the first ``accuracy`` share right; latency grows with i."""
    right = round(n * accuracy)
    return [
        {
            "id": f"q{i}",
            "metrics": {"ok": i < right, "latency_ms": latency + i % 7},
        }
        for i in range(n)
    ]


DIRECTIONS = {
    "metric_definitions": {
        "ok": {"direction": "higher"},
        "latency_ms": {"direction": "lower"},
    }
}


def test_without_a_gates_file_a_slower_model_fails_on_latency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = _write(tmp_path / "b.jsonl", _records(300, accuracy=0.8), "b", DIRECTIONS)
    slow = _records(300, accuracy=0.8, latency=400.0)
    cand = _write(tmp_path / "c.jsonl", slow, "c", DIRECTIONS)
    code = main(["compare", str(base), str(cand)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED latency_ms: latency_ms: 103 -> 403" in out
    assert "FAILED ok" not in out


def test_without_a_gates_file_an_undeclared_direction_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    only_ok = {"metric_definitions": {"ok": {"direction": "higher"}}}
    base = _write(tmp_path / "b.jsonl", _records(50, accuracy=0.8), "b", only_ok)
    cand = _write(tmp_path / "c.jsonl", _records(50, accuracy=0.8), "c", only_ok)
    code = main(["compare", str(base), str(cand)])
    err = capsys.readouterr().err
    assert code == 2
    assert "whether higher or lower is better for: latency_ms; it is not guessed" in err
    assert "metric_definitions: {latency_ms: {direction: higher}}" in err


def test_runcompare_yaml_in_the_current_directory_is_used_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = _write(tmp_path / "b.jsonl", _records(300, accuracy=0.78), "b")
    cand = _write(tmp_path / "c.jsonl", _records(300, accuracy=0.3), "c")
    (tmp_path / "runcompare.yaml").write_text("metrics:\n  ok:\n    margin: 0.05\n")
    code = main(["compare", str(base), str(cand)])
    captured = capsys.readouterr()
    assert code == 1
    assert (
        f"runcompare: using the gates file {tmp_path / 'runcompare.yaml'}"
        in captured.err
    )
    assert "FAILED ok: ok: 0.780 -> 0.300" in captured.out
    assert "latency_ms" not in captured.out.split("FAILED")[0].split("status")[1]


def test_a_gates_file_without_metrics_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = _write(tmp_path / "b.jsonl", _records(300, accuracy=0.78), "b")
    cand = _write(tmp_path / "c.jsonl", _records(300, accuracy=0.3), "c")
    gates = tmp_path / "gates.yaml"
    gates.write_text(f"baseline: {base}\ncandidate: {cand}\nmetrics: {{}}\n")
    code = main(["compare", str(base), str(cand), "--config", str(gates)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{gates}: declares no gate (`metrics:` is missing or empty" in err


def test_a_baseline_with_aggregates_only_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # datapoints without per-datapoint metrics, as a results file of aggregates gives
    records = [{"id": f"q{i}", "output": "a"} for i in range(30)]
    base = _write(tmp_path / "b.jsonl", records, "b", {"metrics": {"accuracy": 0.78}})
    cand = _write(tmp_path / "c.jsonl", _records(30, accuracy=0.3), "c", DIRECTIONS)
    code = main(["compare", str(base), str(cand)])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "baseline b: no per-datapoint metric to gate (it holds aggregates only: "
        "accuracy), so nothing would be judged"
    ) in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--max-outputs", "abc"],
            "argument --max-outputs: expected a non-negative integer, got abc",
        ),
        (
            ["--max-outputs", "1e3"],
            "argument --max-outputs: expected a non-negative integer, got 1e3",
        ),
        (
            ["--max-outputs", "-1"],
            "argument --max-outputs: expected a non-negative integer, got -1",
        ),
        (["--alpha", "1e-320"], "argument --alpha: 1e-320 is out of range"),
        (["--alpha", "0.5"], "argument --alpha: 0.5 is out of range"),
        (["--alpha", "nan"], "argument --alpha: invalid value 'nan'"),
        (["--seed", "-1"], "argument --seed: expected a non-negative integer, got -1"),
        (
            ["--seed", "1e3"],
            "argument --seed: expected a non-negative integer, got 1e3",
        ),
    ],
)
def test_a_bad_numeric_option_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["compare", "b.jsonl", "c.jsonl", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--power", "1.5"], "argument --power: expected a number in (0, 1), got 1.5"),
        (
            ["--correlation", "-0.1"],
            "argument --correlation: expected a number in [0, 1), got -0.1",
        ),
        (["--alpha", "1e-320"], "argument --alpha: 1e-320 is out of range"),
    ],
)
def test_a_bad_plan_option_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["plan", "b.jsonl", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_crash_exits_2_with_one_line_not_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(args: object) -> int:
        raise KeyError("boom\nsecond line")

    monkeypatch.setattr(cli, "run_compare", crash)
    code = main(["compare", "b.jsonl", "c.jsonl"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("runcompare: error: KeyError:")
    assert err.count("\n") == 1
    assert "Traceback" not in err
