"""The column layout of a run stored as Parquet or Arrow IPC, shared by reader and writer.

One row per datapoint: ``id``, ``metrics.<name>`` columns, optional ``output``,
``input``, ``expected``, ``slices``, ``group``, ``meta`` and a nested ``steps`` column;
the run's metadata (the ``run.yaml`` mapping) as JSON under the file's key-value
metadata key :data:`RUN_KEY`. The README's "Parquet and Arrow IPC runs" section is
the reference. pyarrow is optional: :func:`require_pyarrow` says how to get it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_runcompare.errors import RunFormatError

#: File key-value metadata: the run's metadata (what ``run.yaml`` holds), as JSON.
RUN_KEY = b"runcompare.run"
#: File key-value metadata: ``{"version": 1, "json": [columns holding JSON text]}``.
LAYOUT_KEY = b"runcompare.layout"
LAYOUT_VERSION = 1
PARQUET_SUFFIXES = (".parquet", ".pq")
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc")
SUFFIXES = PARQUET_SUFFIXES + ARROW_SUFFIXES
METRIC_PREFIX = "metrics."
#: Columns of a datapoint row besides ``metrics.<name>``.
COLUMNS = ("id", "output", "input", "expected", "slices", "group", "meta", "steps")
#: Fields of one step (a struct in the ``steps`` list) besides ``metrics.<name>``.
STEP_FIELDS = ("name", "output", "input", "expected", "meta")
#: Columns that may hold any JSON value (as JSON text when the layout says so).
VALUE_COLUMNS = ("output", "input", "expected", "meta")
INSTALL_HINT = "pip install 'pytest-runcompare[parquet]'"


def is_columnar(path: Path) -> bool:
    """Whether ``path`` names a Parquet or Arrow IPC file by its suffix."""
    return path.suffix.lower() in SUFFIXES


def is_arrow(path: Path) -> bool:
    """Whether ``path`` is an Arrow IPC (Feather v2) file rather than Parquet."""
    return path.suffix.lower() in ARROW_SUFFIXES


def require_pyarrow(path: object, *, writing: bool = False) -> Any:
    """The ``pyarrow`` module, or an error saying how to install it."""
    try:
        import pyarrow
    except ModuleNotFoundError as error:
        if error.name != "pyarrow":
            raise
        verb = "writing" if writing else "reading"
        raise RunFormatError(
            f"{verb} a Parquet or Arrow run needs pyarrow, which is not installed",
            path=path,
            hint=f"{INSTALL_HINT} (or pip install pyarrow)",
        ) from None
    return pyarrow


def layout_json(json_columns: list[str]) -> bytes:
    """The :data:`LAYOUT_KEY` value naming the columns that hold JSON text."""
    return json.dumps({"version": LAYOUT_VERSION, "json": json_columns}).encode()
