"""The session's report files: never over an input, failures fail it, umask modes."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import DEFAULT_GATES, make_records, make_repo, summary_section


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_report_over_the_gates_file_fails_the_session_and_keeps_it(
    pytester: pytest.Pytester,
) -> None:
    gates = DEFAULT_GATES + "report:\n  json: runcompare.yaml\n"
    repo = make_repo(pytester, make_records(), make_records(noise=0.001), gates)
    before = (repo / "runcompare.yaml").read_text()
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        f"refusing to write the json report {repo / 'runcompare.yaml'}: it is the "
        f"gates file {repo / 'runcompare.yaml'}; give the report another path"
    ) in summary_section(result)
    assert (repo / "runcompare.yaml").read_text() == before


def test_a_report_over_the_candidate_run_fails_the_session(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    data = repo / "runs" / "candidate" / "datapoints.jsonl"
    before = data.read_bytes()
    result = pytester.runpytest("--runcompare-markdown", str(data))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        f"refusing to write the markdown report {data}: it is inside the candidate "
        f"run {repo / 'runs' / 'candidate'}; write reports outside the runs"
    ) in summary_section(result)
    assert data.read_bytes() == before


def test_a_report_on_a_full_disk_fails_the_session_naming_it(
    pytester: pytest.Pytester,
) -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root to mount a small tmpfs (see the CLI's RLIMIT test)")
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    small = repo / "small"
    small.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)], check=True
    )
    try:
        (small / "filler").write_bytes(b"x" * 12_000)
        report = small / "report.html"
        result = pytester.runpytest("--runcompare-report", str(report))
        listing = sorted(p.name for p in small.iterdir())
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        f"could not write the html report {report}: No space left on device"
        in summary_section(result)
    )
    assert listing == ["filler"]  # no temporary left behind


def test_reports_runs_and_baselines_get_the_umask_permissions(
    pytester: pytest.Pytester, umask_022: None
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    result = pytester.runpytest(
        "--runcompare-update-baseline",
        "--runcompare-report",
        "out/r.html",
        "--runcompare-json",
        "out/r.json",
    )
    assert result.ret == pytest.ExitCode.OK
    runs = repo / "runs"

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(repo / "out" / "r.html") == 0o644
    assert mode(repo / "out" / "r.json") == 0o644
    assert mode(runs / "baseline") == 0o755
    assert mode(runs / "baseline" / "run.yaml") == 0o644
    assert mode(runs / "baseline" / "datapoints.jsonl") == 0o644
    assert mode(runs / "baseline.provenance.jsonl") == 0o644
    assert mode(runs / "baseline.history") == 0o755
    assert mode(runs / "baseline.history" / "baseline.0001") == 0o755
