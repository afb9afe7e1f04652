"""The baseline's history: bounded generations, the provenance log, formats, leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import make_records, make_repo, run_meta, summary_section, write_run

from pytest_runcompare.baseline import content_hash
from pytest_runcompare.loaders.registry import load_run

UPDATE = "--runcompare-update-baseline"


def _log(path: Path) -> list[dict[str, object]]:
    log = path.with_name(path.name + ".provenance.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_history_keeps_the_configured_number_of_generations(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    baseline = repo / "runs" / "baseline"
    hashes = [content_hash(baseline)]
    for k in range(4):
        # A new candidate each time, so that every generation differs.
        write_run(
            repo / "runs" / "candidate",
            make_records(noise=0.001 * (k + 1)),
            run_meta("candidate", seed=k),
        )
        result = pytester.runpytest(UPDATE, "-o", "runcompare_history=2")
        assert result.ret == pytest.ExitCode.OK, result.outlines
        hashes.append(content_hash(baseline))
    history = repo / "runs" / "baseline.history"
    # Four promotions kept four previous baselines; the two oldest were dropped.
    assert sorted(p.name for p in history.iterdir()) == [
        "baseline.0003",
        "baseline.0004",
    ]
    assert content_hash(history / "baseline.0003") == hashes[2]
    assert content_hash(history / "baseline.0004") == hashes[3]
    log = _log(baseline)
    assert [e["previous_hash"] for e in log] == hashes[:4]
    assert [e["new_hash"] for e in log] == hashes[1:]
    assert log[0]["previous_generation"] == str(history / "baseline.0001")


def test_a_history_of_zero_generations_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    make_repo(pytester, make_records(), make_records(noise=0.001))
    result = pytester.runpytest(UPDATE, "-o", "runcompare_history=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini key runcompare_history: expected a whole number >= 1, got '0'*"]
    )


def test_restoring_a_generation_by_copying_it_back(pytester: pytest.Pytester) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    baseline = repo / "runs" / "baseline"
    original = content_hash(baseline)
    assert pytester.runpytest(UPDATE).ret == pytest.ExitCode.OK
    kept = repo / "runs" / "baseline.history" / "baseline.0001"
    # The generation is a run as it is: the gates run against it unchanged.
    assert pytester.runpytest("--runcompare-baseline", str(kept)).ret == 0
    subprocess.run(["cp", "-a", str(kept), str(repo / "runs" / "restored")], check=True)
    assert content_hash(repo / "runs" / "restored") == original


def test_a_csv_baseline_is_never_turned_into_a_folder(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(
        pytester,
        None,
        make_records(noise=0.001),
        "baseline: runs/baseline.csv\ncandidate: runs/candidate\n"
        "metrics:\n  score: {margin: 0.05, direction: higher}\n",
    )
    rows = ["id,score"] + [f"{r['id']},{r['metrics']['score']}" for r in make_records()]
    csv = repo / "runs" / "baseline.csv"
    csv.write_text("\n".join(rows) + "\n")
    before = csv.read_bytes()
    result = pytester.runpytest(UPDATE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert [n for n in summary_section(result) if n.startswith("refusing")] == [
        f"refusing to update the baseline: the baseline {csv} is a .csv file, a format "
        "the update cannot write (it has no place for the run's lineage): convert it "
        "once to a .jsonl baseline and point the baseline there — the baseline was "
        "left as it was"
    ]
    assert csv.is_file()
    assert csv.read_bytes() == before
    assert sorted(p.name for p in (repo / "runs").iterdir()) == [
        "baseline.csv",
        "candidate",
    ]


KILLED_WRITER = """
import sys, time
from pytest_runcompare import RunWriter
with RunWriter(sys.argv[1], name="never finished", capture_lineage=False) as w:
    for i in range(10**9):
        w.add(f"q-{i}", output="x", metrics={"score": 0.5})
        if i == 10:
            print("writing", flush=True)
            time.sleep(600)
"""

KILLED_PROMOTION = """
import sys, time
from pytest_runcompare import writer
from pytest_runcompare.baseline import promote
from pytest_runcompare.loaders.registry import load_run

def stuck(new, target, **kw):
    print("promoting", flush=True)
    time.sleep(600)
writer.replace_dir = stuck
promote(load_run(sys.argv[2]), sys.argv[1], outcomes={})
"""


def _killed(script: str, *args: str, says: str) -> None:
    """Run ``script`` and SIGKILL it once it prints ``says``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == says
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _left(runs: Path) -> list[str]:
    return sorted(p.name for p in runs.iterdir() if p.name not in KEPT)


KEPT = ("baseline", "candidate", "baseline.history", ".baseline.lock")


def test_killed_promotions_and_writers_leave_nothing_behind_the_next_one(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    runs = repo / "runs"
    baseline = runs / "baseline"
    original = content_hash(baseline)
    _killed(KILLED_PROMOTION, str(baseline), str(runs / "candidate"), says="promoting")
    [hidden] = _left(runs)
    assert hidden.startswith(".baseline.tmp-")
    # The killed promotion had already kept the previous baseline: nothing is lost.
    assert content_hash(runs / "baseline.history" / "baseline.0001") == original
    assert content_hash(baseline) == original
    # A writer of the same path removes the dead promotion's folder, then is killed.
    _killed(KILLED_WRITER, str(baseline), says="writing")
    [writing] = _left(runs)
    assert writing.startswith("baseline.writing-")
    result = pytester.runpytest(UPDATE)
    assert result.ret == pytest.ExitCode.OK
    assert (
        f"removed 1 temporary file(s) left by a killed promotion or writer: "
        f"{runs / writing}"
    ) in summary_section(result)
    assert sorted(p.name for p in runs.iterdir()) == [
        ".baseline.lock",
        "baseline",
        "baseline.history",
        "baseline.provenance.jsonl",
        "candidate",
    ]
    assert load_run(baseline).meta.name == "candidate"
    # The killed promotion's generation is kept; this promotion added the next.
    assert sorted(p.name for p in (runs / "baseline.history").iterdir()) == [
        "baseline.0001",
        "baseline.0002",
    ]


def test_leftovers_of_another_host_are_named_not_removed(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    # A RunWriter's work folder on another machine (a shared disk) and a promotion's
    # temporary there: the lock says no promotion runs, but a writer takes no lock.
    other = repo / "runs" / "baseline.writing-4242-elsewhere-abcd1234"
    other.mkdir()
    promotion = repo / "runs" / ".baseline.tmp-4242-elsewhere-abcd1234"
    promotion.mkdir()
    result = pytester.runpytest(UPDATE)
    assert result.ret == pytest.ExitCode.OK
    assert (
        f"left alone (their writer may still be running elsewhere): {other}"
        in summary_section(result)
    )
    assert other.is_dir()
    assert (
        f"removed 1 temporary file(s) left by a killed promotion or writer: {promotion}"
        in summary_section(result)
    )
    assert not promotion.exists()
