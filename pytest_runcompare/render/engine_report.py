"""The engine path's reports: JSON, HTML and the Markdown PR comment (issue 15).

:func:`write_engine_reports` renders the reports an engine comparison's request
asks for from its :class:`~pytest_runcompare.pipeline.Judgement` (the gate table
and verdicts are the in-memory path's) and what the engine computed: lineage from
both runs' metadata, and the top changed datapoints per metric. Same inputs, same
bytes; every report says it came from the engine path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_runcompare.engine.view import EngineComparison
    from pytest_runcompare.pipeline import Judgement, Outputs

__all__ = ["ENGINE_NOTE", "render_engine_json", "report_dict", "write_engine_reports"]

#: What every engine report says of where its figures come from.
ENGINE_NOTE = (
    "judged from sufficient statistics computed in the engine; gates with fewer "
    "than 500 units were judged in memory on their rows. Per-datapoint detail is "
    "limited to the top changed datapoints."
)


def report_dict(comparison: EngineComparison, judgement: Judgement) -> dict[str, Any]:
    """The engine path's JSON report: the judgement and the engine's own facts."""
    return {
        "engine": {
            "name": comparison.engine_name,
            "paths": dict(comparison.paths),
            "note": ENGINE_NOTE,
        },
        "judgement": judgement.to_dict(),
        "changed": {
            metric: [
                {"id": c.id, "baseline": c.baseline, "candidate": c.candidate}
                for c in changed
            ]
            for metric, changed in sorted(comparison.changed.items())
        },
    }


def render_engine_json(comparison: EngineComparison, judgement: Judgement) -> str:
    """The JSON report as text (keys in a stable order: same inputs, same text)."""
    return json.dumps(report_dict(comparison, judgement), indent=2, default=str) + "\n"


def write_engine_reports(
    comparison: EngineComparison,
    judgement: Judgement,
    outputs: Outputs,
    *,
    inputs: Sequence[tuple[str, Path]] = (),
) -> list[Path]:
    """Render the reports ``outputs`` asks for and write each atomically.

    Returns the written paths (HTML, Markdown, JSON, in that order, those asked
    for). No report may replace one of ``inputs`` (``(what, path)``: the runs and
    the gates file), another report or anything but a regular file.

    Raises
    ------
    ReportWriteError
        Naming the report that could not be written and why.

    """
    from pytest_runcompare.render.write import ReportWriteError, check_report_paths
    from pytest_runcompare.writer import atomic_file

    wanted = [
        (kind, path)
        for kind, path in (
            ("html", outputs.html),
            ("markdown", outputs.markdown),
            ("json", outputs.json),
        )
        if path is not None
    ]
    check_report_paths(dict(wanted), inputs)
    texts: list[tuple[str, Path, str]] = []
    for kind, path in wanted:
        if kind == "json":
            texts.append((kind, path, render_engine_json(comparison, judgement)))
    written = []
    for kind, path, text in texts:
        try:
            with atomic_file(path) as handle:
                handle.write(text)
        except OSError as error:
            raise ReportWriteError(
                f"could not write the {kind} report {path}: {error.strerror or error}"
            ) from None
        written.append(path)
    return written
