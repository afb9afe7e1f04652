"""save_run round trips and atomicity; RunWriter streaming, lineage and crashes."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_runcompare import RunFormatError, RunWriter, build_run, load_run, save_run
from pytest_runcompare.lineage import capture_lineage

RECORDS: list[dict[str, Any]] = [
    {
        "id": "a",
        "input": {"q": "2+2", "ctx": ["x"]},
        "output": "4",
        "expected": "4",
        "metrics": {"acc": True, "f1": 0.5, "ppl": math.nan},
        "slices": ["lang:en", "hard"],
        "group": "g1",
    },
    {"id": "b", "output": ["list", 1], "metrics": {"acc": False}},
    {
        "id": "c",
        "output": "é ü 中",
        "metrics": {"acc": True, "f1": 1.0, "ppl": 3.5},
        "steps": [
            {"name": "plan", "output": "p", "metrics": {"ok": True}},
            {"name": "act", "input": "i", "output": "a", "metrics": {"cost": 0.25}},
        ],
    },
]
META: dict[str, Any] = {
    "name": "r",
    "params": {"lr": 0.001, "layers": [1, 2]},
    "code_version": {"commit": "abc", "dirty": True},
    "data_version": "v3",
    "environment": {"python": "3.11.7", "packages": {"numpy": "2.0"}},
    "seed": 7,
    "created": "2026-01-01T00:00:00+00:00",
    "metric_definitions": {"ppl": {"allow_nan": True, "higher_is_better": False}},
    "custom_key": {"kept": True},
}


def same_records(a: Any, b: Any) -> None:
    """Records equal, NaN equal to NaN."""
    ra, rb = list(a.records()), list(b.records())
    assert json.dumps(ra, sort_keys=True) == json.dumps(rb, sort_keys=True)


@pytest.mark.parametrize("target", ["run", "run.jsonl", "run.json", "run.yaml"])
def test_save_run_round_trip(tmp_path: Path, target: str) -> None:
    run = build_run(RECORDS, META)
    path = save_run(run, tmp_path / target)
    again = load_run(path)
    same_records(run, again)
    assert again.meta.to_dict() == run.meta.to_dict()
    assert list(again.steps) == ["plan", "act"]
    assert again.metrics["acc"].boolean
    assert not again.metrics["f1"].boolean
    assert again.datapoints.groups == ["g1", None, None]


def test_save_run_round_trip_of_a_loaded_csv(tmp_path: Path) -> None:
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("id,output,acc\n1,x,true\n2,y,false\n", encoding="utf-8")
    run = load_run(csv_path)
    same_records(run, load_run(save_run(run, tmp_path / "out.jsonl")))


def test_save_run_jsonl_layout(tmp_path: Path) -> None:
    path = save_run(build_run(RECORDS[1:3], {"name": "n"}), tmp_path / "r.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"run": {"name": "n", "complete": True}}
    assert json.loads(lines[1]) == {
        "id": "b",
        "output": ["list", 1],
        "metrics": {"acc": False},
    }


class Boom(RuntimeError):
    pass


class ExplodingRun:
    """A run whose records fail half way through, as a crash while saving would."""

    def __init__(self, run: Any) -> None:
        self.meta = run.meta
        self._run = run

    def records(self):  # type: ignore[no-untyped-def]
        for k, record in enumerate(self._run.records()):
            if k == 2:
                raise Boom("disk full")
            yield record


@pytest.mark.parametrize("target", ["run", "run.jsonl", "run.json", "run.yaml"])
def test_save_run_is_atomic(tmp_path: Path, target: str) -> None:
    old = build_run(RECORDS[:1], {**META, "name": "old"})
    path = save_run(old, tmp_path / target)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(Boom):
        save_run(ExplodingRun(build_run(RECORDS, {**META, "name": "new"})), path)  # type: ignore[arg-type]
    again = load_run(path)
    assert again.meta.name == "old"
    assert again.ids == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary left


def test_save_run_replaces_directory_and_keeps_backup(tmp_path: Path) -> None:
    path = save_run(build_run(RECORDS[:1], {**META, "name": "old"}), tmp_path / "run")
    save_run(
        build_run(RECORDS, {**META, "name": "new"}), path, backup=tmp_path / "previous"
    )
    assert load_run(path).meta.name == "new"
    assert load_run(tmp_path / "previous").meta.name == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["previous", "run"]


# --------------------------------------------------------------------------- RunWriter


def test_writer_streams_datapoints(tmp_path: Path) -> None:
    path = tmp_path / "cand"
    with RunWriter(
        path, name="cand", params={"lr": 0.1}, seed=3, capture_lineage=False
    ) as w:
        w.add("a", output="x", metrics={"acc": True})
        # streamed: already on disk, and the run says it is not finished
        assert (path / "datapoints.jsonl").read_text(encoding="utf-8").count("\n") == 1
        assert yaml.safe_load((path / "run.yaml").read_text())["complete"] is False
        w.add(2, output="y", metrics={"acc": False}, slices=["s"], input="q")
        w.add_record({"id": "c", "output": "z", "metrics": {"acc": True}})
    run = load_run(path)
    assert run.meta.complete
    assert run.warnings == ()
    assert run.ids == ["a", "2", "c"]
    assert run.meta.params == {"lr": 0.1}
    assert run.meta.seed == 3
    assert run.meta.extra["datapoint_count"] == 3


def test_writer_validates_at_the_source(tmp_path: Path) -> None:
    with RunWriter(tmp_path / "r", capture_lineage=False) as w:
        w.add("a", output="x", metrics={"acc": 1})
        with pytest.raises(
            RunFormatError, match="datapoint 'a': field 'id': duplicate id"
        ):
            w.add("a", output="x")
        with pytest.raises(
            RunFormatError,
            match=re.escape("datapoint 'b': field 'metrics.acc': metric value must be"),
        ):
            w.add("b", output="x", metrics={"acc": "yes"})
        with pytest.raises(
            RunFormatError, match=re.escape("field 'metrics.m': metric value is nan")
        ):
            w.add("c", output="x", metrics={"m": math.nan})
        with pytest.raises(
            RunFormatError, match="datapoint 'd': not JSON-serialisable"
        ):
            w.add("d", output=object())
    assert load_run(tmp_path / "r").ids == ["a"]


def test_writer_outside_with(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "r", capture_lineage=False)
    with pytest.raises(RuntimeError, match="outside its 'with' block"):
        w.add("a", output="x")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_writer_captures_lineage(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "eval.py").write_text("print(1)\n", encoding="utf-8")
    git(repo, "add", "eval.py")
    git(repo, "commit", "-q", "-m", "init")
    head = git(repo, "rev-parse", "HEAD")

    with RunWriter(
        tmp_path / "clean", cwd=repo, params={"k": 1}, seed=5, packages=["pyyaml"]
    ) as w:
        w.add("a", output="x", metrics={"m": 1.0})
    meta = load_run(tmp_path / "clean").meta
    assert meta.code_version == {"commit": head, "dirty": False, "branch": "main"}
    assert meta.environment["python"] == platform.python_version()
    assert meta.environment["platform"] == platform.platform()
    assert meta.environment["packages"]["numpy"]
    assert meta.environment["packages"]["pyyaml"] == yaml.__version__
    assert meta.seed == 5
    assert meta.params == {"k": 1}
    assert meta.created is not None

    (repo / "eval.py").write_text("print(2)\n", encoding="utf-8")
    with RunWriter(tmp_path / "dirty", cwd=repo) as w:
        w.add("a", output="x")
    assert load_run(tmp_path / "dirty").meta.code_version["dirty"] is True


def test_lineage_outside_git(tmp_path: Path) -> None:
    lineage = capture_lineage(cwd=tmp_path)
    assert "code_version" not in lineage
    assert lineage["environment"]["python"] == platform.python_version()


def crash_while_writing(
    path: Path, ids: tuple[str, ...] = ("a", "b"), *, truncate: bool = True
) -> None:
    with RunWriter(path, capture_lineage=False) as w:
        for k, key in enumerate(ids):
            w.add(key, output="x", metrics={"m": float(k)})
        if truncate:  # the process dies in the middle of writing the next line
            assert w._handle is not None
            w._handle.write('{"id": "c", "output": "trunc')
        raise Boom("model server went away")


def test_crash_leaves_a_readable_incomplete_run(tmp_path: Path) -> None:
    path = tmp_path / "cand"
    with pytest.raises(Boom):
        crash_while_writing(path)
    meta = yaml.safe_load((path / "run.yaml").read_text(encoding="utf-8"))
    assert meta["complete"] is False
    assert meta["error"] == "Boom: model server went away"
    run = load_run(path)
    assert run.ids == ["a", "b"]
    assert not run.meta.complete
    assert any("marked incomplete" in w for w in run.warnings)
    assert any(
        "dropped a truncated last line" in w and ":3:" in w for w in run.warnings
    )


def test_truncated_line_in_a_complete_run_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "output": "x"}\n{"id": "b", "outp', encoding="utf-8")
    with pytest.raises(RunFormatError, match=f"{path}:2: truncated last line"):
        load_run(path)


def test_crashing_writer_does_not_clobber_an_existing_run(tmp_path: Path) -> None:
    path = save_run(
        build_run(RECORDS[:2], {**META, "name": "baseline"}), tmp_path / "baseline"
    )
    with pytest.raises(Boom):
        crash_while_writing(path, ids=("new",), truncate=False)
    run = load_run(path)
    assert run.meta.name == "baseline"
    assert run.ids == ["a", "b"]
    partial = [p for p in tmp_path.iterdir() if p.name.startswith("baseline.writing-")]
    assert len(partial) == 1
    kept = load_run(partial[0])
    assert kept.ids == ["new"]
    assert not kept.meta.complete


def test_successful_writer_replaces_an_existing_run(tmp_path: Path) -> None:
    path = save_run(build_run(RECORDS[:2], {**META, "name": "old"}), tmp_path / "run")
    with RunWriter(path, name="new", capture_lineage=False) as w:
        w.add("z", output="x")
    run = load_run(path)
    assert run.meta.name == "new"
    assert run.ids == ["z"]
    assert run.meta.complete
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_writer_flushes_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "r"
    with RunWriter(path, capture_lineage=False, flush_every=10) as w:
        for i in range(25):
            w.add(i, output=str(i))
        assert (path / "datapoints.jsonl").read_text(encoding="utf-8").count("\n") == 20
    assert len(load_run(path)) == 25


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_writer_removes_the_work_folders_of_killed_writers(tmp_path: Path) -> None:
    from pytest_runcompare.writer import temp_prefix

    path = save_run(build_run(RECORDS[:1], {**META, "name": "old"}), tmp_path / "run")
    live = temp_prefix("run", hidden=False)  # this process: still running
    host = live.split("-")[-2]
    dead = tmp_path / f"run.writing-{_dead_pid()}-{host}-abcd1234"
    dead.mkdir()
    (dead / "run.yaml").write_text("name: killed\ncomplete: false\n")
    elsewhere = tmp_path / "run.writing-4242-otherhost-abcd1234"
    elsewhere.mkdir()
    with pytest.raises(Boom):
        crash_while_writing(path, ids=("new",), truncate=False)
    with RunWriter(path, name="new", capture_lineage=False) as w:
        w.add("z", output="x")
    names = sorted(p.name for p in tmp_path.iterdir())
    # The killed writer's folder is gone; this process's crashed one and the other
    # host's are kept (their writers may still be running).
    assert dead.name not in names
    assert elsewhere.name in names
    assert len([n for n in names if n.startswith(live)]) == 1
    assert load_run(path).meta.name == "new"


def test_writer_files_get_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        save_run(build_run(RECORDS[:1], META), tmp_path / "run")
        with RunWriter(tmp_path / "run", name="new", capture_lineage=False) as w:
            w.add("z", output="x")
        save_run(build_run(RECORDS[:1], META), tmp_path / "r.jsonl")
    finally:
        os.umask(old)
    for path, mode in (
        (tmp_path / "run", 0o755),
        (tmp_path / "run" / "run.yaml", 0o644),
        (tmp_path / "run" / "datapoints.jsonl", 0o644),
        (tmp_path / "r.jsonl", 0o644),
    ):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


@pytest.mark.parametrize("suffix", [".jsonl", ".yaml", ""])
def test_a_lone_surrogate_is_refused_naming_the_datapoint_not_a_unicode_traceback(
    tmp_path, suffix
):
    from pytest_runcompare import build_run
    from pytest_runcompare.errors import RunFormatError
    from pytest_runcompare.writer import save_run

    run = build_run(
        [
            {"id": "q1", "output": "fine", "metrics": {"m": 1.0}},
            {"id": "q2", "output": "bad \ud800", "metrics": {"m": 0.0}},
        ],
        {"name": "r"},
    )
    with pytest.raises(RunFormatError, match="lone UTF-16 surrogate") as error:
        save_run(run, tmp_path / f"run{suffix}")
    if suffix != ".yaml":
        assert "datapoint 'q2'" in str(error.value)
