"""The baseline's history: every generation kept, the provenance log, formats, leftovers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import (
    make_records,
    make_repo,
    outcomes_by_nodeid,
    run_meta,
    summary_section,
    write_run,
)

from pytest_runcompare import cli
from pytest_runcompare.baseline import content_hash
from pytest_runcompare.loaders.registry import load_run
from pytest_runcompare.text import number

UPDATE = "--runcompare-update-baseline"


def _log(path: Path) -> list[dict[str, object]]:
    log = path.with_name(path.name + ".provenance.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()]


def _scores(run_path: Path) -> dict[str, float]:
    run = load_run(run_path)
    column = run.metrics["score"]
    return dict(zip(run.ids, column.values.tolist(), strict=True))


def test_ten_promotions_keep_every_generation_loadable_and_listed_in_order(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    baseline = repo / "runs" / "baseline"
    # What the baseline was before each promotion: the original, then each candidate.
    promoted = [(content_hash(baseline), _scores(baseline))]
    for k in range(10):
        write_run(
            repo / "runs" / "candidate",
            make_records(noise=0.001 * (k + 1)),
            run_meta("candidate", seed=k),
        )
        result = pytester.runpytest(UPDATE, "--runcompare-reason", f"step {k}")
        assert result.ret == pytest.ExitCode.OK, result.outlines
        promoted.append((content_hash(baseline), _scores(baseline)))
    history = repo / "runs" / "baseline.history"
    # Nothing was deleted: ten promotions kept ten previous baselines.
    assert sorted(p.name for p in history.iterdir()) == [
        f"baseline.{n:04d}" for n in range(1, 11)
    ]
    for n in range(1, 11):
        generation = history / f"baseline.{n:04d}"
        digest, scores = promoted[n - 1]
        assert content_hash(generation) == digest
        assert _scores(generation) == scores
    log = _log(baseline)
    assert [e["previous_hash"] for e in log] == [d for d, _ in promoted[:10]]
    assert [e["new_hash"] for e in log] == [d for d, _ in promoted[1:]]
    # Each promotion logged the promoted run's metric means.
    for entry, (_, scores) in zip(log, promoted[1:], strict=True):
        mean = sum(scores.values()) / len(scores)
        assert entry["metrics"]["score"]["n"] == 200
        assert entry["metrics"]["score"]["mean"] == pytest.approx(mean, abs=1e-12)

    capsys.readouterr()
    assert cli.main(["history", str(baseline)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["generation", "when", "(UTC)"]
    labels = [line.split()[0] for line in lines[1:12]]
    assert labels == [f"{n:04d}" for n in range(1, 11)] + ["current"]
    # The original baseline was not promoted by us: no reason; then step 0 to 9.
    reasons = [re.findall(r"step \d", line) for line in lines[1:12]]
    assert reasons == [[]] + [[f"step {k}"] for k in range(10)]
    for line, (_, scores) in zip(lines[1:12], promoted, strict=True):
        assert line.split()[-1] == number(sum(scores.values()) / len(scores))

    assert cli.main(["history", str(baseline), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [g["generation"] for g in data["generations"]] == [*range(1, 11), None]
    assert [g["reason"] for g in data["generations"]] == [None] + [
        f"step {k}" for k in range(10)
    ]
    # Generation 1 (the original) was loaded; the others come from the log.
    assert [g["metrics_from"] for g in data["generations"]] == ["loaded"] + [
        "provenance"
    ] * 10


def test_the_removed_history_ini_key_is_an_error_naming_prune(
    pytester: pytest.Pytester,
) -> None:
    make_repo(pytester, make_records(), make_records(noise=0.001))
    result = pytester.runpytest(UPDATE, "-o", "runcompare_history=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*ini key runcompare_history: promotions no longer delete previous "
            "baselines*`runcompare prune BASELINE --keep K`*"
        ]
    )


def test_a_generation_as_baseline_cannot_be_promoted(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    assert pytester.runpytest(UPDATE).ret == pytest.ExitCode.OK
    before = content_hash(repo / "runs" / "baseline")
    result = pytester.runpytest(
        UPDATE, "--runcompare-baseline", "runs/baseline@previous"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*refusing --runcompare-update-baseline with the baseline "
            "*runs/baseline@previous: the candidate was judged against an older "
            "generation*"
        ]
    )
    assert content_hash(repo / "runs" / "baseline") == before


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


def _shifted(k: int) -> list[dict[str, object]]:
    return make_records(shift={(None, None): k / 100})


def _two_promotions(pytester: pytest.Pytester) -> tuple[Path, float]:
    """Baseline shift 0 -> 0.01 -> 0.02 (generations 1 and 2 kept); candidate 0.03.

    Returns the repository and the original baseline's mean score.
    """
    repo = make_repo(pytester, make_records(), _shifted(1))
    original = load_run(repo / "runs" / "baseline")
    for k in (1, 2):
        write_run(repo / "runs" / "candidate", _shifted(k), run_meta("candidate"))
        assert pytester.runpytest(UPDATE).ret == pytest.ExitCode.OK
    write_run(repo / "runs" / "candidate", _shifted(3), run_meta("candidate"))
    return repo, float(original.metrics["score"].values.mean())


@pytest.mark.parametrize(
    ("baseline", "back"),
    [("runs/baseline", 1), ("runs/baseline@previous", 2), ("runs/baseline@1", 3)],
)
def test_a_session_judges_against_the_generation_named(
    pytester: pytest.Pytester, baseline: str, back: int
) -> None:
    repo, mean = _two_promotions(pytester)
    result = pytester.runpytest(
        "--runcompare-baseline", baseline, "--runcompare-json", "out.json"
    )
    assert result.ret == pytest.ExitCode.OK, result.outlines
    data = json.loads((repo / "out.json").read_text())
    score = data["metrics"]["score"]
    assert score["old"] == pytest.approx(mean + (3 - back) / 100, abs=1e-6)
    assert score["delta"] == pytest.approx(back / 100, abs=1e-6)
    [gate] = [g for g in data["judgement"]["gates"] if g["key"] == "score"]
    assert gate["status"] == "passed"


def test_the_gates_files_baseline_may_name_a_generation(
    pytester: pytest.Pytester,
) -> None:
    repo, mean = _two_promotions(pytester)
    gates = (repo / "runcompare.yaml").read_text()
    (repo / "runcompare.yaml").write_text(
        gates.replace("baseline: runs/baseline", "baseline: runs/baseline@1")
    )
    result = pytester.runpytest("--runcompare-json", "out.json")
    assert result.ret == pytest.ExitCode.OK, result.outlines
    score = json.loads((repo / "out.json").read_text())["metrics"]["score"]
    assert score["old"] == pytest.approx(mean, abs=1e-6)
    (repo / "runcompare.yaml").write_text(
        gates.replace("baseline: runs/baseline", "baseline: runs/baseline@9")
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*runcompare.yaml:1: baseline: *runs/baseline@9: the baseline "
            "*runs/baseline has no such generation; the kept generations are 1, 2 "
            "(oldest first; @previous is 2)*"
        ]
    )


def test_the_sessions_markdown_summaries_show_the_trend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, mean = _two_promotions(pytester)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(repo / "step.md"))
    result = pytester.runpytest("--runcompare-markdown", "out.md")
    assert result.ret == pytest.ExitCode.OK, result.outlines
    values = [f"{mean + k / 100:.3f}" for k in range(4)]
    line = (
        f"- score: {values[0]} → {values[1]} → {values[2]} → **{values[3]}** "
        "(candidate)"
    )
    assert line in (repo / "out.md").read_text().splitlines()
    assert line in (repo / "step.md").read_text().splitlines()


def test_a_marker_may_name_a_generation(pytester: pytest.Pytester) -> None:
    repo, mean = _two_promotions(pytester)
    (repo / "test_marked.py").write_text(
        textwrap.dedent(
            f"""
            import pytest

            @pytest.mark.runcompare(baseline="runs/baseline@1")
            def test_first_generation(run_comparison):
                delta = run_comparison.metric_deltas["score"]
                assert delta.old_aggregate == pytest.approx({mean!r}, abs=1e-6)

            @pytest.mark.runcompare(baseline="runs/baseline@5")
            def test_unknown_generation(run_comparison):
                pass
            """
        )
    )
    result = pytester.runpytest("test_marked.py", "-rA")
    assert outcomes_by_nodeid(result) == {
        "test_marked.py::test_first_generation": "PASSED",
        "test_marked.py::test_unknown_generation": "ERROR",  # in its fixture
    }
    result.stdout.fnmatch_lines(
        [
            "*test_unknown_generation: *runs/baseline@5: the baseline *runs/baseline has "
            "no such generation; the kept generations are 1, 2*"
        ]
    )
