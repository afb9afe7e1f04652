"""history.py: generation references, and the listing read from the provenance log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.baseline import promote, provenance_log
from pytest_runcompare.building import build_run
from pytest_runcompare.history import (
    GenerationNotFound,
    Reference,
    parse_reference,
    read_history,
    reference_problem,
    resolve_location,
)
from pytest_runcompare.loaders.registry import load_run
from pytest_runcompare.writer import save_run


def _run_at(path: Path, shift: float) -> Path:
    records = [
        {"id": f"q{i}", "output": "x", "metrics": {"score": i / 10 + shift}}
        for i in range(10)
    ]
    meta = {"name": f"shift {shift}", "code_version": {"commit": "e" * 40}}
    return save_run(build_run(records, meta, path=str(path)), path)


def _series(tmp_path: Path, promotions: int) -> Path:
    """A folder baseline (mean 0.45) promoted ``promotions`` times, +0.1 each time."""
    baseline = _run_at(tmp_path / "baseline", 0.0)
    for k in range(1, promotions + 1):
        candidate = _run_at(tmp_path / f"cand{k}", k / 10)
        promote(load_run(candidate), baseline, outcomes={"score": "passed"})
    return baseline


def test_references_are_parsed_and_real_paths_with_an_at_are_not(
    tmp_path: Path,
) -> None:
    assert parse_reference("runs/baseline@previous") == Reference(
        "runs/baseline", "previous"
    )
    assert parse_reference("runs/b.jsonl@12") == Reference("runs/b.jsonl", "12")
    assert parse_reference("runs/b@-2") == Reference("runs/b", "-2")
    assert parse_reference("runs/b@latest") is None
    assert parse_reference("runs/baseline") is None
    assert parse_reference("mlflow://host/runs@2") is None
    assert parse_reference("results.json::run@2") is None
    real = tmp_path / "model@2"
    real.mkdir()
    assert parse_reference(str(real)) is None
    assert resolve_location(str(real)) == str(real)


def test_references_resolve_to_the_generation_files(tmp_path: Path) -> None:
    baseline = _series(tmp_path, 3)
    folder = tmp_path / "baseline.history"
    assert resolve_location(f"{baseline}@previous") == str(folder / "baseline.0003")
    assert resolve_location(f"{baseline}@-2") == str(folder / "baseline.0002")
    assert resolve_location(f"{baseline}@1") == str(folder / "baseline.0001")
    assert resolve_location(str(baseline)) == str(baseline)


@pytest.mark.parametrize("which", ["0", "4", "-4", "-0"])
def test_an_unknown_generation_names_the_kept_ones(tmp_path: Path, which: str) -> None:
    baseline = _series(tmp_path, 3)
    with pytest.raises(
        GenerationNotFound,
        match=r"has no such generation; the kept generations are 1, 2, 3 \(oldest "
        r"first; @previous is 3\)",
    ):
        resolve_location(f"{baseline}@{which}")


def test_a_baseline_without_history_says_none_is_kept(tmp_path: Path) -> None:
    baseline = _run_at(tmp_path / "baseline", 0.0)
    problem = reference_problem(f"{baseline}@previous", promoting=False)
    assert problem is not None
    assert "has no such generation; none is kept in" in problem
    missing = reference_problem(f"{tmp_path}/nothing@previous", promoting=False)
    assert missing is not None
    assert missing.startswith(f"{tmp_path}/nothing@previous: there is no baseline at")


def test_promoting_with_a_reference_is_refused(tmp_path: Path) -> None:
    baseline = _series(tmp_path, 1)
    problem = reference_problem(f"{baseline}@previous", promoting=True)
    assert problem is not None
    assert problem.startswith("refusing --runcompare-update-baseline with the baseline")
    assert reference_problem(str(baseline), promoting=True) is None


def _strip_metrics(baseline: Path) -> None:
    """Rewrite the log as an older version wrote it: no metrics, no action."""
    log = provenance_log(baseline)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    for entry in entries:
        entry.pop("metrics")
        entry.pop("action")
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_old_entries_without_metrics_load_only_the_newest_generations(
    tmp_path: Path,
) -> None:
    baseline = _series(tmp_path, 4)
    _strip_metrics(baseline)
    loaded: list[str] = []

    def load(location: str) -> Any:
        loaded.append(Path(location).name)
        return load_run(location)

    history = read_history(baseline, load_limit=2, load=load)
    assert [g.label for g in history.generations] == [
        "0001",
        "0002",
        "0003",
        "0004",
        "current",
    ]
    # Only the newest two were loaded; the older ones say their metrics are unknown.
    assert sorted(loaded) == ["baseline", "baseline.0004"]
    assert [g.metrics_from for g in history.generations] == [
        "unknown",
        "unknown",
        "unknown",
        "loaded",
        "loaded",
    ]
    current = history.generations[-1].metrics
    assert current is not None
    assert current["score"].mean == pytest.approx(0.85)
    assert current["score"].n == 10
    # Their provenance (time, reason) still comes from the log.
    assert history.generations[1].time is not None


def test_a_baseline_replaced_by_hand_is_not_credited_to_the_last_promotion(
    tmp_path: Path,
) -> None:
    baseline = _series(tmp_path, 2)
    import shutil

    shutil.rmtree(baseline)
    shutil.copytree(tmp_path / "baseline.history" / "baseline.0001", baseline)
    history = read_history(baseline)
    current = history.generations[-1]
    assert current.metrics_from == "loaded"
    assert current.reason is None
    assert current.metrics is not None
    assert current.metrics["score"].mean == pytest.approx(0.45)


def test_a_prune_entry_does_not_hide_the_last_promotions_outcomes(
    tmp_path: Path,
) -> None:
    from pytest_runcompare.baseline import prune

    baseline = _series(tmp_path, 2)
    prune(baseline, keep=1)
    candidate = _run_at(tmp_path / "cand9", 0.9)
    promotion = promote(load_run(candidate), baseline, outcomes={"score": "passed"})
    # "before" is the previous promotion's outcome, not the prune's (which has none).
    assert promotion.entry["changed_outcomes"] == {}
    assert promotion.previous == tmp_path / "baseline.history" / "baseline.0003"


def test_the_listing_never_prints_control_characters_from_the_log(
    tmp_path: Path,
) -> None:
    from pytest_runcompare.history import history_lines

    baseline = _series(tmp_path, 1)
    log = provenance_log(baseline)
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    entry["reason"] = "fixed\x1b[31m\nFAKE: all gates passed"
    entry["code_version"] = {"commit": "\x1b]0;x\x07abcdef"}
    entry["accepted_failures"] = ["score\r\x1b[2K"]
    log.write_text(json.dumps(entry) + "\n")
    lines = history_lines(read_history(baseline))
    text = "\n".join(lines)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert len(lines) == 4  # the header, two generations, the note: no injected line
