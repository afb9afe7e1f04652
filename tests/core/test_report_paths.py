"""Report files: never over an input or a non-file, failures named, umask permissions.

Through the ``runcompare`` command (exit 2 on any of these); the plugin's side is in
``tests/plugin/test_report_files.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_runcompare.cli import main

DEFS = {"score": {"direction": "higher"}}


def _jsonl(path: Path, name: str, shift: float = 0.0) -> Path:
    lines = [
        json.dumps(
            {"run": {"name": name, "data_version": "d1", "metric_definitions": DEFS}}
        )
    ]
    for i in range(60):
        value = round(0.5 + 0.3 * ((i * 37) % 11) / 11 + shift, 4)
        lines.append(json.dumps({"id": f"q{i}", "metrics": {"score": value}}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    return _jsonl(tmp_path / "base.jsonl", "base"), _jsonl(
        tmp_path / "cand.jsonl", "cand", 0.001
    )


@pytest.mark.parametrize("flag", ["--json", "--html", "--markdown"])
def test_a_report_over_the_baseline_is_refused(
    runs: tuple[Path, Path], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = runs
    before = base.read_bytes()
    assert main(["compare", str(base), str(cand), flag, str(base)]) == 2
    kind = flag.removeprefix("--")
    assert capsys.readouterr().err == (
        f"runcompare: error: refusing to write the {kind} report {base}: it is the "
        f"baseline run {base}; give the report another path\n"
    )
    assert base.read_bytes() == before


def test_a_report_over_the_candidate_through_another_name_is_refused(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = runs
    alias = cand.with_name("alias.jsonl")
    alias.symlink_to(cand.name)
    before = cand.read_bytes()
    assert main(["compare", str(base), str(cand), "--json", str(alias)]) == 2
    assert f"it is the candidate run {cand}" in capsys.readouterr().err
    assert cand.read_bytes() == before
    assert alias.is_symlink()


def test_a_report_over_the_gates_file_is_refused(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = runs
    gates = tmp_path / "runcompare.yaml"
    gates.write_text("metrics:\n  score: {margin: 0.05}\n")
    code = main(
        ["compare", str(base), str(cand), "--config", str(gates), "--json", str(gates)]
    )
    assert code == 2
    assert f"it is the gates file {gates}" in capsys.readouterr().err
    assert gates.read_text() == "metrics:\n  score: {margin: 0.05}\n"


def test_a_report_inside_a_run_folder_is_refused(
    tmp_path: Path, runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, cand = runs
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "run.yaml").write_text("name: base\n")
    (folder / "datapoints.jsonl").write_text(
        "".join(line + "\n" for line in cand.read_text().splitlines()[1:])
    )
    report = folder / "report.html"
    assert main(["compare", str(folder), str(cand), "--html", str(report)]) == 2
    assert f"it is inside the baseline run {folder}" in capsys.readouterr().err
    assert not report.exists()


@pytest.mark.parametrize("target", ["/dev/full", "/dev/null", "."])
def test_a_report_over_a_device_or_a_folder_is_refused(
    runs: tuple[Path, Path], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = runs
    kinds = {"/dev/full": "character device", "/dev/null": "character device"}
    assert main(["compare", str(base), str(cand), "--json", target]) == 2
    kind = kinds.get(target, "directory")
    assert capsys.readouterr().err == (
        f"runcompare: error: refusing to write the json report {target}: it is a "
        f"{kind}, not a regular file; give the path of a file to write\n"
    )
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_two_reports_at_one_path_are_refused(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = runs
    out = tmp_path / "out.txt"
    code = main(
        ["compare", str(base), str(cand), "--json", str(out), "--markdown", str(out)]
    )
    assert code == 2
    assert "the markdown report is written there too" in capsys.readouterr().err
    assert not out.exists()


CLI = (sys.executable, "-m", "pytest_runcompare.cli", "compare")


@contextlib.contextmanager
def full_disk(root: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    """A folder on a 16 KiB tmpfs, as root; else one under a 16 KiB file-size limit.

    Yields the folder and the ``subprocess.run`` keywords that apply the limit.
    """
    where = root / "small"
    where.mkdir()
    mounted = os.geteuid() == 0 and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(where)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        if mounted:
            (where / "filler").write_bytes(b"x" * 12_000)
            yield where, {}
        else:

            def limit() -> None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (16_384, 16_384))

            yield where, {"preexec_fn": limit}
    finally:
        if mounted:
            subprocess.run(["umount", str(where)], check=True)


def test_a_report_on_a_full_disk_exits_2_naming_the_report(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    base, cand = runs
    with full_disk(tmp_path) as (folder, limit):
        report = folder / "report.html"
        done = subprocess.run(
            [*CLI, str(base), str(cand), "--html", str(report)],
            capture_output=True,
            text=True,
            check=False,
            **limit,  # type: ignore[call-overload]
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(
            f"runcompare: error: could not write the html report {report}: "
        )
        assert (
            "No space left on device" in done.stderr or "File too large" in done.stderr
        )
        assert ".tmp" not in done.stderr  # the report is named, not its temporary
        assert sorted(p.name for p in folder.iterdir() if p.name != "filler") == []


def test_reports_get_the_permissions_the_umask_gives(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    base, cand = runs
    old = os.umask(0o022)
    try:
        code = main(
            [
                *("compare", str(base), str(cand), "--json", str(tmp_path / "r.json")),
                *(
                    "--html",
                    str(tmp_path / "r.html"),
                    "--markdown",
                    str(tmp_path / "r.md"),
                ),
            ]
        )
    finally:
        os.umask(old)
    assert code == 0
    for name in ("r.json", "r.html", "r.md"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
