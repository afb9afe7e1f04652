"""``--runcompare-update-baseline``: promotion, backup, provenance, refusals, crashes."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    BASELINE_COMMIT,
    CANDIDATE_COMMIT,
    make_records,
    make_repo,
    outcomes_by_nodeid,
    run_meta,
    summary_section,
    write_run,
)

from pytest_runcompare.baseline import content_hash, promote
from pytest_runcompare.building import build_run
from pytest_runcompare.loaders.registry import load_run
from pytest_runcompare.runs import Run
from pytest_runcompare.writer import save_run

REGRESSED = {("score", "lang:de"): -0.2}
UPDATE = "--runcompare-update-baseline"
ACCEPT = "--runcompare-accept-failed"
#: Real runs of other tools, beside this repository (absent: those tests skip).
SHARED = Path(__file__).parents[2].parent / "shared" / "fixtures" / "real"


def fingerprint(path: Path) -> dict[str, str]:
    """File name -> SHA-256 of every file of a run (a directory or one file)."""
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    return {
        str(f.relative_to(path) if path.is_dir() else f.name): hashlib.sha256(
            f.read_bytes()
        ).hexdigest()
        for f in files
        if f.is_file()
    }


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Path:
    """Both gates fail: the candidate is 0.2 worse on lang:de."""
    return make_repo(pytester, make_records(), make_records(shift=REGRESSED))


def read_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a provenance log, oldest first."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_update_promotes_keeps_a_generation_and_logs_provenance(
    pytester: pytest.Pytester, repo: Path
) -> None:
    old = fingerprint(repo / "runs" / "baseline")
    new = fingerprint(repo / "runs" / "candidate")
    old_hash = content_hash(repo / "runs" / "baseline")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = pytester.runpytest(
        UPDATE, ACCEPT, "--runcompare-reason", "retrained on qa-v1, #7"
    )
    # The gates judged this session's candidate against the old baseline (and failed);
    # the update accepts that change explicitly, and says so.
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    first = repo / "runs" / "baseline.history" / "baseline.0001"
    assert (
        f"baseline updated: {repo / 'runs' / 'baseline'} (previous kept as "
        f"{first}); accepted with 2 failed gate(s)"
    ) in summary_section(result)
    baseline = repo / "runs" / "baseline"
    assert fingerprint(baseline) == new
    assert fingerprint(first) == old
    assert load_run(first).meta.code_version["commit"] == BASELINE_COMMIT
    promoted = load_run(baseline)
    assert promoted.meta.name == "candidate"
    assert promoted.meta.complete
    assert len(promoted) == 200
    [entry] = read_log(repo / "runs" / "baseline.provenance.jsonl")
    updated = dt.datetime.fromisoformat(entry.pop("time"))
    assert before <= updated <= dt.datetime.now(dt.UTC)
    by = entry.pop("by")
    assert by["host"] == socket.gethostname()
    assert by["user"] == getpass.getuser()
    assert isinstance(by["pid"], int)
    score = entry.pop("metrics")["score"]
    assert score["n"] == 200
    assert score["mean"] == pytest.approx(0.6081198, abs=1e-6)
    assert entry == {
        "action": "promote",
        "reason": "retrained on qa-v1, #7",
        "candidate": "candidate",
        "candidate_source": str(repo / "runs" / "candidate"),
        "code_version": {"commit": CANDIDATE_COMMIT, "dirty": False},
        "datapoints": 200,
        "previous_hash": old_hash,
        "new_hash": content_hash(baseline),
        "previous_generation": str(first),
        "gate_outcomes": {"score": "failed", "score[lang:de]": "failed"},
        "changed_outcomes": {
            "score": {"before": None, "after": "failed"},
            "score[lang:de]": {"before": None, "after": "failed"},
        },
        "accepted_failures": ["score", "score[lang:de]"],
    }
    assert entry["previous_hash"] != entry["new_hash"]
    # Again, with the same candidate: now the gates pass, and the log says so; the
    # original baseline is still kept, beside the second generation.
    again = pytester.runpytest(UPDATE)
    assert again.ret == pytest.ExitCode.OK
    log = read_log(repo / "runs" / "baseline.provenance.jsonl")
    assert len(log) == 2
    assert log[0]["reason"] == "retrained on qa-v1, #7"
    assert log[1]["reason"] is None
    assert log[1]["accepted_failures"] == []
    assert log[1]["changed_outcomes"] == {
        "score": {"before": "failed", "after": "passed"},
        "score[lang:de]": {"before": "failed", "after": "passed"},
    }
    assert log[1]["previous_hash"] == log[0]["new_hash"]
    assert fingerprint(first) == old
    assert fingerprint(repo / "runs" / "baseline.history" / "baseline.0002") == new
    assert sorted(p.name for p in (repo / "runs").iterdir()) == [
        ".baseline.lock",
        "baseline",
        "baseline.history",
        "baseline.provenance.jsonl",
        "candidate",
    ]


def test_without_the_flag_the_baseline_is_never_written(
    pytester: pytest.Pytester, repo: Path
) -> None:
    old = fingerprint(repo / "runs" / "baseline")
    mtime = (repo / "runs" / "baseline").stat().st_mtime_ns
    for args in ((), ("--runcompare-reason", "ignored without the flag")):
        result = pytester.runpytest(*args)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert not [line for line in result.outlines if "baseline updated" in line]
    assert fingerprint(repo / "runs" / "baseline") == old
    assert (repo / "runs" / "baseline").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in (repo / "runs").iterdir()) == [
        "baseline",
        "candidate",
    ]


def test_refuses_a_candidate_whose_gates_failed_naming_them(
    pytester: pytest.Pytester, repo: Path
) -> None:
    _assert_refused(
        pytester,
        repo,
        "2 gate(s) failed: score, score[lang:de] (pass --runcompare-accept-failed "
        "with --runcompare-reason to promote it anyway)",
        accept=False,
    )


def test_accepting_failed_gates_needs_a_reason(
    pytester: pytest.Pytester, repo: Path
) -> None:
    result = pytester.runpytest(UPDATE, ACCEPT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--runcompare-accept-failed needs --runcompare-reason*"]
    )
    assert not (repo / "runs" / "baseline.history").exists()


def _assert_refused(
    pytester: pytest.Pytester, repo: Path, why: str, *args: str, accept: bool = True
) -> pytest.RunResult:
    """The update is refused for ``why`` alone (failed gates accepted unless told)."""
    old = fingerprint(repo / "runs" / "baseline")
    flags = (ACCEPT,) if accept else ()
    result = pytester.runpytest(UPDATE, *flags, "--runcompare-reason", "try", *args)
    assert result.ret != pytest.ExitCode.OK
    notes = [line for line in summary_section(result) if "refusing" in line]
    assert notes == [
        f"refusing to update the baseline: {why} — the baseline was left as it was"
    ]
    assert fingerprint(repo / "runs" / "baseline") == old
    assert not (repo / "runs" / "baseline.history").exists()
    assert not (repo / "runs" / "baseline.provenance.jsonl").exists()
    return result


def test_refuses_an_incomplete_candidate(pytester: pytest.Pytester) -> None:
    repo = make_repo(
        pytester,
        make_records(),
        make_records(noise=0.001),
        candidate_meta={"complete": False},
    )
    result = _assert_refused(
        pytester,
        repo,
        "the candidate run is marked incomplete (its writer did not finish)",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # Gates judged on an incomplete candidate fail closed by default...
    again = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(again) == {
        "runcompare.yaml::score": "FAILED",
        "runcompare.yaml::score[lang:de]": "FAILED",
    }
    again.stdout.fnmatch_lines(
        ["*the candidate run is marked incomplete*defaults.incomplete_runs: warn*"]
    )
    # ...and pass with a warning when the gates file says so.
    gates = repo / "runcompare.yaml"
    gates.write_text(gates.read_text() + "\ndefaults:\n  incomplete_runs: warn\n")
    warned = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(warned) == {
        "runcompare.yaml::score": "PASSED",
        "runcompare.yaml::score[lang:de]": "PASSED",
    }
    warned.stdout.fnmatch_lines(["*warning: candidate: *marked incomplete*"])


def test_refuses_an_incompatible_candidate(pytester: pytest.Pytester) -> None:
    repo = make_repo(
        pytester,
        make_records(),
        make_records(noise=0.001),
        candidate_meta={"data_version": "qa-v2"},
    )
    _assert_refused(
        pytester,
        repo,
        "incompatible runs: different data versions: baseline 'qa-v1', candidate "
        "'qa-v2'",
    )


def test_refuses_when_a_test_failed(pytester: pytest.Pytester) -> None:
    repo = make_repo(
        pytester,
        make_records(),
        make_records(noise=0.001),
        tests="""
        def test_ok(candidate_run):
            assert len(candidate_run) == 200

        def test_broken():
            assert False, "the evaluation script broke"
        """,
    )
    _assert_refused(pytester, repo, "1 test(s) failed in this session")


def test_refuses_a_candidate_that_does_not_load(pytester: pytest.Pytester) -> None:
    repo = make_repo(pytester, make_records(), make_records())
    lines = (repo / "runs/candidate/datapoints.jsonl").read_text().splitlines()
    lines[3] = '{"id": "q-0003", "metrics": {"score": "high"}}'
    (repo / "runs/candidate/datapoints.jsonl").write_text("\n".join(lines) + "\n")
    old = fingerprint(repo / "runs" / "baseline")
    result = pytester.runpytest(UPDATE, "-p", "no:cacheprovider")
    assert result.ret != pytest.ExitCode.OK
    text = "\n".join(summary_section(result))
    assert "datapoints.jsonl:4" in text
    assert "'score'" in text or "metrics.score" in text
    assert fingerprint(repo / "runs" / "baseline") == old
    assert not (repo / "runs" / "baseline.provenance.jsonl").exists()


def test_refuses_to_rewrite_another_tools_file(
    pytester: pytest.Pytester,
) -> None:
    source = SHARED / "promptfoo_nicheIQ" / "results.json"
    if not source.exists():
        pytest.skip("../shared is absent")
    shutil.copy(source, pytester.path / "results.json")
    before = (pytester.path / "results.json").read_bytes()
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: {path: results.json, format: promptfoo, column: 0}\n"
        "candidate: {path: results.json, format: promptfoo, column: 1}\n"
        "defaults: {mode: regression_detection, compatibility: warn}\n"
        "metrics:\n  score: {}\n"
    )
    result = pytester.runpytest("-q", "--runcompare-update-baseline")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*refusing to update the baseline: the baseline is read from another tool's file*"
        ]
    )
    assert (pytester.path / "results.json").read_bytes() == before


def test_missing_baseline_fails_every_gate_saying_how_to_create_it(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, None, make_records())
    result = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::score": "FAILED",
        "runcompare.yaml::score[lang:de]": "FAILED",
    }
    message = (
        f"no baseline at {repo / 'runs' / 'baseline'}: run the session once with "
        "--runcompare-update-baseline to create it from this candidate"
    )
    assert result.outlines.count(message) == 2
    assert not (repo / "runs" / "baseline").exists()

    created = pytester.runpytest("-rA", UPDATE, "--runcompare-reason", "first baseline")
    assert created.ret == pytest.ExitCode.OK
    assert created.parseoutcomes() == {"skipped": 2}
    skip = (
        "no baseline yet: this session writes "
        f"{repo / 'runs' / 'baseline'} from the candidate (--runcompare-update-baseline)"
    )
    assert [line for line in created.outlines if line.endswith(skip)]
    # The summary says what happened, and judges nothing: there was nothing to judge
    # against (not the candidate against its own copy).
    assert summary_section(created) == [
        f"baseline created: {repo / 'runs' / 'baseline'}"
    ]
    assert fingerprint(repo / "runs" / "baseline") == fingerprint(
        repo / "runs" / "candidate"
    )
    assert not (repo / "runs" / "baseline.history").exists()
    [entry] = read_log(repo / "runs" / "baseline.provenance.jsonl")
    assert entry["reason"] == "first baseline"
    assert entry["previous_hash"] is None
    assert entry["previous_generation"] is None
    assert entry["datapoints"] == 200
    # From now on the gates compare against it.
    assert pytester.runpytest().ret == pytest.ExitCode.OK


def test_skipped_gate_points_at_its_line(pytester: pytest.Pytester) -> None:
    make_repo(pytester, None, make_records())
    result = pytester.runpytest("-rs", UPDATE)
    assert any(
        line.startswith("SKIPPED [2] runcompare.yaml:4: no baseline yet")
        for line in result.outlines
    )


def test_update_of_a_single_file_baseline(pytester: pytest.Pytester) -> None:
    repo = make_repo(
        pytester,
        None,
        make_records(shift=REGRESSED),
        "baseline: runs/baseline.jsonl\ncandidate: runs/candidate\n"
        "metrics:\n  score: {margin: 0.05, direction: higher}\n",
    )
    write_run(repo / "runs" / "baseline.jsonl", make_records(), run_meta("baseline"))
    old = (repo / "runs" / "baseline.jsonl").read_bytes()
    result = pytester.runpytest(UPDATE, ACCEPT, "--runcompare-reason", "new model")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the gate failed, as it should
    kept = repo / "runs" / "baseline.jsonl.history" / "baseline.0001.jsonl"
    assert kept.read_bytes() == old
    # The kept generation loads as it is, and the baseline is still one .jsonl file.
    assert load_run(kept).meta.name == "baseline"
    assert (repo / "runs" / "baseline.jsonl").is_file()
    promoted = load_run(repo / "runs" / "baseline.jsonl")
    assert promoted.meta.name == "candidate"
    assert promoted.meta.code_version["commit"] == CANDIDATE_COMMIT
    [entry] = read_log(repo / "runs" / "baseline.jsonl.provenance.jsonl")
    assert entry["previous_generation"] == str(kept)
    assert entry["gate_outcomes"] == {"score": "failed"}
    assert entry["accepted_failures"] == ["score"]


# ------------------------------------------------------------------ crash safety

N_BIG = 200_000
#: Kill after these fractions of an undisturbed promotion's duration: from before
#: anything is written to around the final rename.
KILL_AT = (0.0, 0.5, 0.9, 0.97, 1.0, 1.03)


def _run(name: str, commit: str, n: int) -> Run:
    records = [
        {
            "id": f"q-{i:06d}",
            "output": f"answer {i} from {name}",
            "metrics": {"score": (i % 97) / 97},
            "slices": ["lang:de" if i % 2 else "lang:en"],
        }
        for i in range(n)
    ]
    meta = {"name": name, "code_version": {"commit": commit}, "complete": True}
    return build_run(records, meta)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_promote_killed_midway_leaves_the_old_or_the_new_run(tmp_path: Path) -> None:
    """SIGKILL a process promoting a 200,000-datapoint run after various delays."""
    old_run = save_run(_run("old", BASELINE_COMMIT, 1000), tmp_path / "old")
    candidate = _run("new", CANDIDATE_COMMIT, N_BIG)
    whole = {"old": fingerprint(old_run)}

    def attempt(n: int, kill_after: float | None) -> tuple[Path, float]:
        runs = tmp_path / f"try{n}"
        runs.mkdir()
        shutil.copytree(old_run, runs / "baseline")
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child promotes (and is killed somewhere in the middle)
            try:
                os.write(ready_w, b"go")
                promote(candidate, runs / "baseline", outcomes={"score": "passed"})
            finally:
                os._exit(0)
        os.read(ready_r, 2)
        start = time.perf_counter()
        if kill_after is not None:
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(ready_r)
        os.close(ready_w)
        return runs, time.perf_counter() - start

    runs, duration = attempt(0, None)  # undisturbed: the new run, and the timing
    whole["new"] = fingerprint(runs / "baseline")
    assert whole["new"] != whole["old"]
    seen: list[str] = []
    for n, fraction in enumerate(KILL_AT, start=1):
        runs, _ = attempt(n, fraction * duration)
        state = fingerprint(runs / "baseline")
        # Byte for byte one of the two whole runs: never a mixture, never torn.
        assert state in whole.values(), (fraction, sorted(state))
        seen.append("old" if state == whole["old"] else "new")
        kept = runs / "baseline.history" / "baseline.0001"
        if kept.exists():
            assert fingerprint(kept) == whole["old"]
        if seen[-1] == "old":
            assert not (runs / "baseline.provenance.jsonl").exists()
    print(f"promotion {duration:.2f} s; state after each kill:", seen)
    # The first kill lands before the rename: the loop did interrupt a promotion.
    assert seen[0] == "old", seen
    new = load_run(tmp_path / "try0" / "baseline")
    assert new.meta.name == "new"
    assert new.meta.complete
    assert len(new) == N_BIG
