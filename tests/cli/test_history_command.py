"""``runcompare history`` and ``prune``, and ``BASELINE@...`` in ``runcompare compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.baseline import content_hash, generations, promote
from pytest_runcompare.building import build_run
from pytest_runcompare.cli import main
from pytest_runcompare.loaders.registry import load_run

N = 100
GATES = "metrics:\n  score: {direction: higher, margin: 0.05}\n"


def _records(shift: float) -> list[dict[str, Any]]:
    """``N`` datapoints whose score is a fixed per-datapoint value plus ``shift``."""
    return [
        {
            "id": f"q{i}",
            "output": f"a{i}",
            "metrics": {"score": round(0.5 + (i % 10) / 40 + shift, 6)},
        }
        for i in range(N)
    ]


def _mean(shift: float) -> float:
    return sum(r["metrics"]["score"] for r in _records(shift)) / N


def _write(path: Path, shift: float, commit: str) -> Path:
    from pytest_runcompare.writer import save_run

    meta = {"name": f"shift {shift}", "code_version": {"commit": commit * 40}}
    return save_run(build_run(_records(shift), meta, path=str(path)), path)


def _promote(baseline: Path, shift: float, commit: str, reason: str) -> None:
    candidate = _write(baseline.parent / "candidate.jsonl", shift, commit)
    promote(load_run(candidate), baseline, outcomes={"score": "passed"}, reason=reason)


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    """``runs/baseline.jsonl`` promoted three times: shifts 0 -> 0.01 -> 0.02 -> 0.03."""
    path = _write(tmp_path / "runs" / "baseline.jsonl", 0.0, "a")
    for k, commit in enumerate("bcd", start=1):
        _promote(path, k / 100, commit, f"release {k}")
    return path


def test_history_lists_generations_oldest_first_and_the_current_last(
    baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(baseline)]) == 0
    lines = capsys.readouterr().out.splitlines()
    cells = [line.split() for line in lines]
    assert cells[0] == [
        "generation",
        "when",
        "(UTC)",
        "code",
        "reason",
        "accepted",
        "failures",
        "score",
    ]
    assert [c[0] for c in cells[1:5]] == ["0001", "0002", "0003", "current"]
    # The original baseline was loaded (no promotion logged it): no time, no reason.
    assert cells[1] == ["0001", "-", "aaaaaaa", "-", "-", f"{_mean(0):.4f}"]
    for k, commit in enumerate("bcd", start=1):
        row = cells[k + 1]
        assert row[3:8] == [commit * 7, "release", str(k), "-", f"{_mean(k / 100):.4f}"]
    # One column per field, aligned: every row's score ends at the same place.
    assert len({len(line) for line in lines[:5]}) == 1
    assert lines[5] == (
        "3 generation(s) kept in baseline.jsonl.history/; metrics are each one's mean "
        "over its datapoints"
    )


def test_history_json_carries_every_field(
    baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(baseline), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"] == str(baseline)
    rows = data["generations"]
    assert [r["generation"] for r in rows] == [1, 2, 3, None]
    assert [r["current"] for r in rows] == [False, False, False, True]
    assert [r["code_version"] for r in rows] == [
        "aaaaaaa",
        "bbbbbbb",
        "ccccccc",
        "ddddddd",
    ]
    assert [r["reason"] for r in rows] == [None, "release 1", "release 2", "release 3"]
    assert [r["metrics_from"] for r in rows] == ["loaded", *["provenance"] * 3]
    for row, shift in zip(rows, (0, 0.01, 0.02, 0.03), strict=True):
        assert row["metrics"]["score"]["n"] == N
        assert row["metrics"]["score"]["mean"] == pytest.approx(_mean(shift), abs=1e-9)
    assert rows[0]["path"] == str(
        baseline.parent / "baseline.jsonl.history" / "baseline.0001.jsonl"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["history", "nowhere/baseline"],
            "nowhere/baseline: no baseline there and no history",
        ),
        (
            ["history", "mlflow://x/1"],
            "a tracking-server run or a selector has no history",
        ),
        (["prune", "nowhere/baseline", "--keep", "2"], "nothing to prune"),
        (["prune", "b", "--keep", "-1"], "expected a non-negative integer, got -1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # argparse adds its usage line


def test_a_generation_is_not_a_baseline_to_list(
    baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", f"{baseline}@previous"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"runcompare: error: runcompare history {baseline}@previous: give the "
        f"baseline's own path ({baseline}), not one of its generations"
    )


def test_prune_keeps_exactly_k_logs_and_prints_what_it_removed(
    baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {n: content_hash(p) for n, p in generations(baseline)}
    assert main(["prune", str(baseline), "--keep", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    folder = baseline.parent / "baseline.jsonl.history"
    assert out == [
        f"removed generation 0001: {folder / 'baseline.0001.jsonl'}",
        f"removed generation 0002: {folder / 'baseline.0002.jsonl'}",
        f"kept 1 generation(s) of {baseline}: 0003; logged in "
        "baseline.jsonl.provenance.jsonl",
    ]
    assert [n for n, _ in generations(baseline)] == [3]
    log = baseline.with_name("baseline.jsonl.provenance.jsonl").read_text().splitlines()
    entry = json.loads(log[-1])
    assert entry["action"] == "prune"
    assert entry["keep"] == 1
    assert entry["removed_generations"] == [
        str(folder / "baseline.0001.jsonl"),
        str(folder / "baseline.0002.jsonl"),
    ]
    assert entry["removed_hashes"] == [before[1], before[2]]
    assert entry["kept_generations"] == [str(folder / "baseline.0003.jsonl")]
    # Nothing more to remove: said so, and nothing logged.
    assert main(["prune", str(baseline), "--keep", "1"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"nothing to remove: 1 generation(s) kept of {baseline}"
    )
    assert len(
        baseline.with_name("baseline.jsonl.provenance.jsonl").read_text().splitlines()
    ) == len(log)
    # The history still lists the kept generation with its provenance.
    assert main(["history", str(baseline)]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:3]]
    assert rows == ["0003", "current"]


def test_a_promotion_after_a_prune_never_reuses_a_number(baseline: Path) -> None:
    assert main(["prune", str(baseline), "--keep", "0"]) == 0
    assert generations(baseline) == []
    _promote(baseline, 0.04, "e", "release 4")
    # Generations 1 to 3 were pruned: the next one is 4, so @3 never changes meaning.
    assert [n for n, _ in generations(baseline)] == [4]


def _compare(
    baseline: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    gates = tmp_path / "gates.yaml"
    gates.write_text(GATES)
    candidate = _write(tmp_path / "cand.jsonl", 0.025, "f")
    report = tmp_path / "report.json"
    code = main(
        [
            "compare",
            baseline,
            str(candidate),
            "--config",
            str(gates),
            "--json",
            str(report),
        ]
    )
    capsys.readouterr()
    assert code == 0
    data: dict[str, Any] = json.loads(report.read_text())
    return data


@pytest.mark.parametrize(
    ("which", "shift", "generation"),
    [
        ("", 0.03, None),
        ("@previous", 0.02, 3),
        ("@-1", 0.02, 3),
        ("@-3", 0.0, 1),
        ("@2", 0.01, 2),
        ("@1", 0.0, 1),
    ],
)
def test_compare_against_an_older_generation(
    baseline: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    which: str,
    shift: float,
    generation: int | None,
) -> None:
    data = _compare(f"{baseline}{which}", tmp_path, capsys)
    score = data["metrics"]["score"]
    assert score["old"] == pytest.approx(_mean(shift), abs=1e-9)
    assert score["new"] == pytest.approx(_mean(0.025), abs=1e-9)
    # Every datapoint moved by the same amount: the change is exactly that.
    assert score["delta"] == pytest.approx(0.025 - shift, abs=1e-9)
    expected = (
        baseline
        if generation is None
        else baseline.parent
        / "baseline.jsonl.history"
        / f"baseline.{generation:04d}.jsonl"
    )
    assert data["baseline"]["source"] == str(expected)


def test_an_unknown_generation_lists_those_that_exist(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = _write(tmp_path / "cand.jsonl", 0.0, "f")
    assert main(["compare", f"{baseline}@7", str(candidate), "--margin", "0.05"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"runcompare: error: {baseline}@7: the baseline {baseline} has no such "
        "generation; the kept generations are 1, 2, 3 (oldest first; @previous is 3) "
        f"in {baseline.parent / 'baseline.jsonl.history'} (run `runcompare history "
        f"{baseline}` to list them)"
    )
