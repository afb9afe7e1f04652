"""A damaged MLflow run folder: errors name the file, reads stay bounded."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders.registry import load_run

RUN = Path("mlruns") / "271828" / "0a1b2c3d4e5f"


@pytest.fixture
def folder(data: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(data / RUN, tmp_path / "run"))


def test_param_file_that_is_not_utf8_names_the_file(folder: Path) -> None:
    (folder / "params" / "model").write_bytes(b"gpt-\xff")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{folder / 'params' / 'model'}:1: not valid UTF-8 (byte 0xff)"
        ),
    ):
        load_run(folder)


def test_more_files_than_metrics_is_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_METRICS", "2")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{folder / 'metrics'}: more than 2 metrics in one run (3 files)"
        ),
    ):
        load_run(folder)
