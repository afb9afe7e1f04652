"""A seeded, bounded fuzz campaign over every reader, the gates file and the reports.

Each case mutates a seed input (a native run in each shape, lm-eval, Inspect ``.eval``
and ``.json``, promptfoo, an MLflow table and run folder, a gates file): bytes flipped,
inserted, deleted, duplicated or truncated; one node of the parsed data deleted,
duplicated, retyped or replaced with a huge number, deep nesting or odd Unicode; YAML
hazards added. Every input must end in a loaded run (then two of them are compared and
rendered to the terminal, HTML, Markdown and JSON) or a clear error naming the file;
never another exception, never past the time limit. ``benchmarks/fuzz.py`` runs the
same cases for longer, memory-capped; ``--seed S --case I`` rebuilds a failing one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import fuzzlib
import pytest

SEED = int(os.environ.get("RUNCOMPARE_FUZZ_SEED", "20261202"))
CASES = int(os.environ.get("RUNCOMPARE_FUZZ_CASES", "2"))  # per seed input


def test_every_seed_input_loads_before_it_is_mutated(tmp_path: Path) -> None:
    for seed in fuzzlib.run_seeds():
        base = tmp_path / seed.name
        fuzzlib.write_files(base, seed.files)
        outcome, run = fuzzlib.check_load(seed.target, base, seed.files, seed.name)
        assert outcome.status == "ok", outcome
        assert len(run) > 0


def test_the_same_case_rebuilds_the_same_input(tmp_path: Path) -> None:
    import random

    seed = fuzzlib.native_seeds()[0]
    made = []
    for _ in range(2):
        log: list[str] = []
        made.append(fuzzlib.mutate_seed(random.Random("7:3"), seed, 3, log))
    assert made[0] == made[1]
    assert made[0] != seed.files


def test_oracle_reports_an_exception_that_is_not_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "run.jsonl").write_text('{"id": "a", "metrics": {"m": 1}}\n')
    assert fuzzlib.check_load("run.jsonl", tmp_path, {}, "r")[0].status == "ok"
    outcome, _ = fuzzlib.check_load("missing.jsonl", tmp_path, {}, "r")
    assert outcome.status == "clear"
    assert "missing.jsonl" in outcome.detail

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("id")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pytest_runcompare.load_run", broken)
        outcome, _ = fuzzlib.check_load("run.jsonl", tmp_path, {}, "r")
    assert (outcome.status, outcome.detail) == ("bug", "KeyError: 'id'")


def _spin() -> None:
    while True:
        pass


def test_time_limit_stops_a_hang() -> None:
    with pytest.raises(fuzzlib.CaseTimeout), fuzzlib.time_limit(0.2):
        _spin()


@pytest.mark.parametrize("index", range(len(fuzzlib.all_seeds()) * CASES))
def test_fuzzed_input_ends_in_a_run_or_a_clear_error(
    tmp_path: Path, index: int
) -> None:
    result = fuzzlib.run_case(SEED, index, tmp_path, timeout=60)
    assert result.outcomes
    assert not result.bugs, "\n".join(
        f"{o.detail} at {o.where}\n  reproduce: python benchmarks/fuzz.py {o.recipe}"
        for o in result.bugs
    )


def test_benchmark_script_runs_a_short_campaign_and_rebuilds_a_case() -> None:
    import subprocess
    import sys

    script = Path(__file__).parents[2] / "benchmarks" / "fuzz.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--seed",
            "3",
            "--cases",
            "4",
            "--seconds",
            "120",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.match(
        r"fuzz campaign --seed 3: 4 cases in \d+ s \(cases 0\.\.3\)", done.stdout
    ), done.stdout
    one = subprocess.run(
        [sys.executable, str(script), "--seed", "3", "--case", "2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert one.returncode == 0, one.stdout + one.stderr
    assert "--seed 3 --case 2 (" in one.stdout
