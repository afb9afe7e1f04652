"""load_run dispatches through the pytest_runcompare_load_run hook; custom readers win."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pluggy
import pytest

from pytest_runcompare import (
    RunFormatError,
    RunNotFoundError,
    build_run,
    hookimpl,
    hookspecs,
    load_run,
)
from pytest_runcompare.loaders.registry import (
    default_plugin_manager,
    register_builtin_readers,
)

LINE = '{"id": "a", "output": "x", "metrics": {"m": 1}}\n'


def manager(*plugins: object) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("pytest")
    pm.add_hookspecs(hookspecs)
    register_builtin_readers(pm)
    for plugin in plugins:
        pm.register(plugin)
    return pm


class TakeOverJsonl:
    """Claims every .jsonl: a custom reader registered after the built-ins."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def pytest_runcompare_load_run(self, location: str, options: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.seen.append((location, dict(options)))
        if not location.endswith(".jsonl"):
            return None
        return build_run(
            [{"id": "custom", "output": "", "metrics": {"m": 0.0}}],
            {"name": "custom"},
            path=location,
        )


class TsvReader:
    @hookimpl
    def pytest_runcompare_load_run(self, location: str, options: dict[str, Any]):  # type: ignore[no-untyped-def]
        if not location.endswith(".tsv"):
            return None
        records = []
        for line in Path(location).read_text(encoding="utf-8").splitlines():
            key, output, score = line.split("\t")
            records.append(
                {"id": key, "output": output, "metrics": {"score": float(score)}}
            )
        return build_run(records, {"name": "tsv"}, path=location, format="tsv")


def test_custom_reader_wins_over_builtin(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(LINE, encoding="utf-8")
    plugin = TakeOverJsonl()
    pm = manager(plugin)
    run = load_run(path, hook=pm.hook.pytest_runcompare_load_run, options={"k": 1})
    assert run.meta.name == "custom"
    assert run.ids == ["custom"]
    assert plugin.seen == [(str(path), {"k": 1})]
    # without it the native reader reads the file
    assert load_run(path).ids == ["a"]


def test_custom_reader_returning_none_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,m\na,1\n", encoding="utf-8")
    plugin = TakeOverJsonl()
    run = load_run(path, hook=manager(plugin).hook.pytest_runcompare_load_run)
    assert run.ids == ["a"]
    assert plugin.seen


def test_new_format_through_the_hook(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text("a\tx\t0.5\nb\ty\t1.5\n", encoding="utf-8")
    with pytest.raises(RunNotFoundError, match="no reader recognises this run"):
        load_run(path)
    run = load_run(path, hook=manager(TsvReader()).hook.pytest_runcompare_load_run)
    assert run.ids == ["a", "b"]
    assert run.meta.format == "tsv"
    assert run.metrics["score"].values.tolist() == [0.5, 1.5]


def test_selector_is_passed_to_readers(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(LINE, encoding="utf-8")
    plugin = TakeOverJsonl()
    # The native reader explains that its files take no selector.
    with pytest.raises(
        RunFormatError, match=r"a selector \('::sel'\) does not apply to a native run"
    ):
        load_run(f"{path}::sel", hook=manager(plugin).hook.pytest_runcompare_load_run)
    assert plugin.seen[0][0] == f"{path}::sel"


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "gone.jsonl"
    with pytest.raises(
        RunNotFoundError, match=re.escape(f"{missing}: no such file or directory")
    ):
        load_run(missing)
    with pytest.raises(FileNotFoundError):  # RunNotFoundError is a FileNotFoundError
        load_run(str(missing) + "::sel")


@pytest.mark.parametrize("name", ["run.txt", "run.h5"])
def test_unknown_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("whatever\n", encoding="utf-8")
    with pytest.raises(
        RunNotFoundError,
        match=re.escape(
            f"{path}: no reader recognises this run; known formats: native"
        ),
    ):
        load_run(path)


def test_directory_without_run_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RunNotFoundError, match="no reader recognises this run"):
        load_run(tmp_path)


def test_format_option_forces_the_native_reader(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text(
        '{"run": {}, "datapoints": [{"id": 1, "output": ""}]}', encoding="utf-8"
    )
    assert load_run(path, options={"format": "native"}).ids == ["1"]


def test_default_manager_is_shared_and_has_the_native_reader() -> None:
    pm = default_plugin_manager()
    assert pm is default_plugin_manager()
    assert pm.get_plugin("pytest_runcompare.loaders.native") is not None


def test_unknown_format_name_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(LINE, encoding="utf-8")
    with pytest.raises(
        RunNotFoundError, match=r"no reader for format 'nosuch' \(built in: native"
    ):
        load_run(path, options={"format": "nosuch"})


def test_reader_options_on_a_native_run_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(LINE, encoding="utf-8")
    with pytest.raises(
        RunFormatError,
        match=r"reader option\(s\) \['provider'\] do not apply to a native run",
    ):
        load_run(path, options={"provider": "openai:gpt-4o"})
