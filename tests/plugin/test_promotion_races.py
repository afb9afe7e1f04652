"""Two sessions promoting one baseline at once (two CI jobs): real subprocesses.

Each session starts, looks at the baseline, then waits at a barrier inside a test
until this test lets it go; so both have seen the same baseline before either
promotes. The first to promote wins; the other must refuse (the baseline changed
under it) and the original baseline must survive in the history folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import make_records, run_meta, write_run

from pytest_runcompare.baseline import content_hash
from pytest_runcompare.loaders.registry import load_run
from pytest_runcompare.locking import exclusive, is_held, lock_path

#: A test that waits, inside the session, until the file named by BARRIER_GO exists.
BARRIER = """
import os, pathlib, time

def test_wait_for_the_other_session():
    pathlib.Path(os.environ["BARRIER_READY"]).touch()
    go = pathlib.Path(os.environ["BARRIER_GO"])
    deadline = time.monotonic() + 120
    while not go.exists():
        assert time.monotonic() < deadline, "the test never said go"
        time.sleep(0.02)
"""

GATES = """\
baseline: {baseline}
metrics:
  score:
    direction: higher
    margin: 0.05
"""


def _repo(root: Path, kind: str) -> Path:
    """A baseline (folder or .jsonl file), candidates a and b, a gates file."""
    baseline = root / "runs" / ("baseline" if kind == "dir" else "baseline.jsonl")
    write_run(baseline, make_records(), run_meta("baseline"))
    for name, noise in (("a", 0.001), ("b", 0.002)):
        write_run(
            root / "runs" / f"cand_{name}",
            make_records(noise=noise),
            run_meta(f"candidate {name}"),
        )
    (root / "runcompare.yaml").write_text(
        GATES.format(baseline=baseline.relative_to(root))
    )
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_barrier.py").write_text(textwrap.dedent(BARRIER))
    return baseline


def _start(root: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "BARRIER_READY": str(root / f"ready-{name}"),
        "BARRIER_GO": str(root / f"go-{name}"),
    }
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--runcompare-candidate",
            f"runs/cand_{name}",
            "--runcompare-update-baseline",
            *extra,
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _log(baseline: Path) -> list[dict[str, object]]:
    log = baseline.with_name(baseline.name + ".provenance.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("kind", ["dir", "file"])
@pytest.mark.parametrize(("first", "second"), [("a", "b"), ("b", "a")])
def test_the_second_of_two_concurrent_promotions_refuses_and_nothing_is_lost(
    tmp_path: Path, kind: str, first: str, second: str
) -> None:
    baseline = _repo(tmp_path, kind)
    original = content_hash(baseline)
    sessions = {name: _start(tmp_path, name) for name in (first, second)}
    # Both sessions have looked at the baseline and wait in their test.
    _wait_for(
        lambda: all((tmp_path / f"ready-{n}").exists() for n in sessions), "ready"
    )
    (tmp_path / f"go-{first}").touch()
    # The second goes while the first promotes (holds the lock) or just after.
    _wait_for(
        lambda: is_held(baseline) or sessions[first].poll() is not None,
        "the first promotion",
    )
    (tmp_path / f"go-{second}").touch()
    out = {name: proc.communicate(timeout=300)[0] for name, proc in sessions.items()}
    assert sessions[first].returncode == 0, out[first]
    assert sessions[second].returncode == 1, out[second]
    assert f"baseline updated: {baseline}" in out[first]
    assert (
        f"refusing to update the baseline: the baseline {baseline}"
        f" changed while this session ran ({original[:19]} when the session started"
    ) in out[second].replace("\n", "")
    # The winner's candidate is the baseline; the original is the one generation.
    assert load_run(baseline).meta.name == f"candidate {first}"
    history = baseline.with_name(baseline.name + ".history")
    [kept] = sorted(history.iterdir())
    assert kept.name == ("baseline.0001" if kind == "dir" else "baseline.0001.jsonl")
    assert content_hash(kept) == original
    assert load_run(kept).meta.name == "baseline"
    [entry] = _log(baseline)
    assert entry["previous_hash"] == original
    assert entry["new_hash"] == content_hash(baseline)
    assert entry["candidate"] == f"candidate {first}"


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_two_promotions_let_go_together_one_wins_the_other_refuses(
    tmp_path: Path, kind: str
) -> None:
    baseline = _repo(tmp_path, kind)
    original = content_hash(baseline)
    sessions = {name: _start(tmp_path, name) for name in ("a", "b")}
    _wait_for(
        lambda: all((tmp_path / f"ready-{n}").exists() for n in sessions), "ready"
    )
    for name in sessions:
        (tmp_path / f"go-{name}").touch()
    out = {name: proc.communicate(timeout=300)[0] for name, proc in sessions.items()}
    codes = sorted((proc.returncode, name) for name, proc in sessions.items())
    assert [code for code, _ in codes] == [0, 1], out
    winner, loser = codes[0][1], codes[1][1]
    assert "changed while this session ran" in out[loser].replace("\n", "")
    assert load_run(baseline).meta.name == f"candidate {winner}"
    history = baseline.with_name(baseline.name + ".history")
    [kept] = sorted(history.iterdir())
    assert content_hash(kept) == original
    assert len(_log(baseline)) == 1


def test_a_promotion_waits_for_the_lock_then_names_it(tmp_path: Path) -> None:
    baseline = _repo(tmp_path, "dir")
    before = content_hash(baseline)
    (tmp_path / "go-a").touch()
    with exclusive(baseline):  # another promotion, stuck
        session = _start(tmp_path, "a", "-o", "runcompare_lock_timeout=0.5")
        output = session.communicate(timeout=300)[0]
    assert session.returncode == 1, output
    flat = output.replace("\n", "")
    assert (
        f"could not lock {baseline}: the lock "
        f"{lock_path(baseline)} is held by pid {os.getpid()} on "
    ) in flat
    assert "waited 0.5 s" in flat
    assert "runcompare_lock_timeout" in flat
    assert content_hash(baseline) == before
    assert not baseline.with_name("baseline.history").exists()
