"""Importing the package or the plugin is cheap; the core never imports pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("module", ["pytest_runcompare", "pytest_runcompare.plugin"])
def test_package_and_plugin_import_no_heavy_modules(module: str) -> None:
    if (
        module == "pytest_runcompare.plugin"
        and not (ROOT / "pytest_runcompare" / "plugin.py").exists()
    ):
        pytest.skip("no plugin module in this checkout")
    loaded = top_level(modules_after(f"import {module}"))
    assert not loaded & {"numpy", "scipy", "jinja2"}


@pytest.mark.parametrize(
    "module",
    [
        "pytest_runcompare.comparison",
        "pytest_runcompare.runs",
        "pytest_runcompare.loaders.registry",
        "pytest_runcompare.building",
        "pytest_runcompare.writer",
    ],
)
def test_core_does_not_import_pytest(module: str) -> None:
    loaded = top_level(modules_after(f"import {module}"))
    assert not loaded & {"pytest", "_pytest"}


def test_loading_and_comparing_does_not_import_pytest(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": 1, "output": "x", "metrics": {"m": 1}}\n', encoding="utf-8")
    code = (
        "from pytest_runcompare import load_run, compare_runs\n"
        f"run = load_run({str(path)!r})\n"
        "compare_runs(run, run).metric_deltas\n"
    )
    loaded = top_level(modules_after(code))
    assert "numpy" in loaded
    assert not loaded & {"pytest", "_pytest", "scipy", "jinja2"}
