"""Writing the reports a request asks for: each rendered from the judgement, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement, Outputs
    from pytest_runcompare.plan import Plan
    from pytest_runcompare.render.model import TestRecord


class ReportWriteError(RunCompareError):
    """A requested report could not be written (the path and the OS error named)."""


def write_reports(
    comparison: RunComparisonResult,
    judgement: Judgement,
    outputs: Outputs,
    *,
    tests: Sequence[TestRecord] = (),
    plan: Plan | None = None,
) -> dict[str, Path]:
    """Render the requested reports and write each atomically; returns what was written.

    ``plan`` (the power plan from the baseline alone) goes into the HTML and JSON
    reports.

    Raises
    ------
    ReportWriteError
        Naming the report that could not be written and why.

    """
    from pytest_runcompare.writer import atomic_file

    texts: dict[str, tuple[Path, str]] = {}
    if outputs.html is not None:
        from pytest_runcompare.render.html import render_html

        texts["html"] = (
            outputs.html,
            render_html(
                comparison,
                judgement,
                tests=tests,
                generated=outputs.generated,
                max_outputs=outputs.max_outputs,
                plan=plan,
            ),
        )
    if outputs.markdown is not None:
        from pytest_runcompare.render.markdown import render_markdown

        html = None if outputs.html is None else str(outputs.html)
        texts["markdown"] = (
            outputs.markdown,
            render_markdown(comparison, judgement, html_path=html),
        )
    if outputs.json is not None:
        from pytest_runcompare.render.json_report import render_json

        texts["json"] = (
            outputs.json,
            render_json(comparison, judgement, tests=tests, plan=plan),
        )
    written: dict[str, Path] = {}
    for kind, (path, text) in texts.items():
        try:
            with atomic_file(path) as handle:
                handle.write(text)
        except OSError as error:
            raise ReportWriteError(
                f"could not write the {kind} report {path}: {error.strerror or error}"
            ) from None
        written[kind] = path
    return written
