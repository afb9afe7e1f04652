"""lm-eval output folders with a damaged samples file: a clear error, never a task
dropped in silence."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders.registry import load_run

RUN = "lm-eval_negotiationtom_qwen3-8b_rerun/run_17-52-34.622576/Qwen__Qwen3-8B"


@pytest.fixture
def folder(real: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(real / RUN, tmp_path / "Qwen__Qwen3-8B"))


def test_the_intact_folder_reads_sixty_datapoints(folder: Path) -> None:
    assert len(load_run(folder).ids) == 60


def test_empty_samples_file_is_an_error_naming_the_task(folder: Path) -> None:
    empty = next(folder.glob("samples_negotiationtom_desire_*.jsonl"))
    empty.write_bytes(b"")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{empty}: the samples file of task 'negotiationtom_desire' holds no "
            "samples: its datapoints and its metrics would be missing from the run "
            "(lm-eval writes every sample with --log_samples; restore the file or "
            "re-run the task, or read the other tasks alone "
            "(::task=negotiationtom_belief+negotiationtom_intention))"
        ),
    ):
        load_run(folder)


def test_the_other_tasks_still_read_with_a_task_selector(folder: Path) -> None:
    next(folder.glob("samples_negotiationtom_desire_*.jsonl")).write_bytes(b"\n\n")
    run = load_run(f"{folder}::task=negotiationtom_belief+negotiationtom_intention")
    assert len(run.ids) == 40


def test_duplicate_key_in_a_samples_line_names_the_line(folder: Path) -> None:
    samples = next(folder.glob("samples_negotiationtom_belief_*.jsonl"))
    lines = samples.read_text("utf-8").splitlines()
    lines[2] = lines[2].replace('{"doc_id": ', '{"doc_id": 99, "doc_id": ', 1)
    samples.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(
        RunFormatError, match=re.escape(f"{samples}:3: field 'doc_id': duplicate key")
    ):
        load_run(folder)
