"""``runcompare compare BASELINE C1 C2 ...``: a sweep, exit 0 / 1 / 2 like a pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_runcompare.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "sklearn_classifier"
SWEEP = Path(__file__).parents[2] / "examples" / "sklearn_sweep"


def _gates(tmp_path: Path) -> Path:
    path = tmp_path / "gates.yaml"
    path.write_text(
        "defaults: {mode: non_inferiority}\n"
        "metrics:\n  correct: {margin: 0.02}\n  log_loss: {margin: 15%}\n",
        encoding="utf-8",
    )
    return path


def _compare(tmp_path: Path, *args: str) -> int:
    return main(
        [
            "compare",
            str(EXAMPLE / "runs" / "baseline"),
            str(EXAMPLE / "runs" / "candidate"),
            str(EXAMPLE / "runs" / "candidate_regressed"),
            "--config",
            str(_gates(tmp_path)),
            *args,
        ]
    )


def test_a_regressed_candidate_fails_the_sweep_with_exit_1(
    tmp_path: Path, capsys
) -> None:
    assert _compare(tmp_path) == 1
    out = capsys.readouterr().out
    assert "each candidate's gates at alpha 0.025 = 0.05/2, Bonferroni" in out
    rows = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if line.startswith("candidate")
    }
    assert rows == {"candidate": "passed", "candidate_regressed": "FAILED"}
    assert "sweep failed: 1 of 2 candidate(s) pass every gate" in out


def test_require_any_passes_with_exit_0_and_marks_the_excused(
    tmp_path: Path, capsys
) -> None:
    assert _compare(tmp_path, "--require", "any") == 0
    out = capsys.readouterr().out
    assert "candidate_regressed  failed (excused)" in out
    assert "sweep passed: 1 of 2" in out


def test_every_report_is_written_with_a_pair_report_per_candidate(
    tmp_path: Path,
) -> None:
    html, md, js = tmp_path / "s.html", tmp_path / "s.md", tmp_path / "s.json"
    _compare(tmp_path, "--html", str(html), "--markdown", str(md), "--json", str(js))
    data = json.loads(js.read_text())
    assert data["kind"] == "sweep"
    assert data["passing"] == ["candidate"]
    pairs = sorted(p.name for p in (tmp_path / "s.pairs").iterdir())
    assert pairs == ["candidate.html", "candidate_regressed.html"]
    assert 'href="s.pairs/candidate_regressed.html"' in html.read_text()
    assert md.read_text().startswith("<!-- runcompare")


def test_a_glob_expands_to_the_runs_it_matches(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "compare",
            str(SWEEP / "runs" / "baseline"),
            str(SWEEP / "runs" / "sweep" / "c1*"),
            "--config",
            str(SWEEP / "runcompare.yaml"),
        ]
    )
    out = capsys.readouterr().out
    assert "sweep of 4 candidate(s)" in out
    assert {"c1-minmax", "c1-standard", "c10-minmax", "c10-standard"} <= set(
        out.split()
    )
    assert code == 0  # require: any in the example's gates file, and c1-standard passes


def test_ranking_on_an_ungated_metric_is_bad_input(tmp_path: Path, capsys) -> None:
    assert _compare(tmp_path, "--best", "p_true") == 2
    err = capsys.readouterr().err
    assert (
        "sweep.best: 'p_true' is not a gated metric (gated: correct, log_loss)" in err
    )
    assert "Traceback" not in err


def test_an_empty_glob_is_bad_input(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "compare",
            str(EXAMPLE / "runs" / "baseline"),
            str(tmp_path / "none*"),
            "--config",
            str(_gates(tmp_path)),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'none*'}: the glob matches no file or folder" in err


def test_the_baseline_among_the_candidates_is_left_out_and_said(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runs/* matches the baseline too: judged, it would pass the sweep under any."""
    monkeypatch.chdir(SWEEP)
    code = main(["compare", "runs/baseline", "runs/*", "--config", "runcompare.yaml"])
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == (
        "runcompare: candidates: left out 'baseline' (runs/baseline): it is the "
        "baseline itself (it would pass every gate and, under require: any, pass the "
        "sweep alone)"
    )
    assert "sweep of 8 candidate(s)" in captured.out
    assert "\nbaseline " not in captured.out
    assert "sweep passed: 2 of 8" in captured.out
    assert code == 0


def test_the_baseline_as_the_only_candidate_is_bad_input(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SWEEP)
    code = main(["compare", "runs/baseline", "runs/baseline", "--require", "any"])
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "runcompare: error: candidates: 'baseline' (runs/baseline) is the baseline "
        "itself, and there is no other candidate to judge against it"
    )


def test_a_promptfoo_column_that_is_the_baseline_is_left_out(capsys) -> None:
    results = Path(__file__).parents[3] / "shared/fixtures/real/promptfoo_nicheIQ"
    results = results / "results.json"
    if not results.is_file():  # as tests/loaders/conftest.py: the real files
        pytest.skip("../shared/fixtures/real is not here")
    main(["compare", f"{results}::column=0", str(results), "--require", "any"])
    captured = capsys.readouterr()
    assert (
        "candidates: left out 'gpt-4o-mini / Pain Scorer v1 (word anchors)' "
        f"({results}::column=0): it is the baseline itself" in captured.err
    )
    assert "sweep of 7 candidate(s)" in captured.out


@pytest.mark.parametrize("value", ["some", "ALL"])
def test_require_takes_all_or_any(tmp_path: Path, capsys, value: str) -> None:
    assert _compare(tmp_path, "--require", value) == 2
    assert "invalid choice" in capsys.readouterr().err
