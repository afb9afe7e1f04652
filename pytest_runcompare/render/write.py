"""Writing the reports a request asks for: each rendered from the judgement, atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement, Outputs
    from pytest_runcompare.plan import Plan
    from pytest_runcompare.render.model import TestRecord
    from pytest_runcompare.sweep import SweepJudgement
    from pytest_runcompare.trend import Trend


class ReportWriteError(RunCompareError):
    """A requested report could not be written (the path and the OS error named)."""


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def _same(report: Path, other: Path) -> bool:
    try:
        return os.path.samefile(report, other)
    except OSError:
        return report.resolve() == other.resolve()


def check_report_paths(
    reports: Mapping[str, Path], inputs: Sequence[tuple[str, Path]] = ()
) -> None:
    """Refuse report paths that would replace an input, another report or a non-file.

    ``inputs`` are ``(what, path)`` pairs: the runs and the gates file of the request.

    Raises
    ------
    ReportWriteError
        Naming the report, and the input or the kind of file it would replace.

    """
    seen: dict[Path, str] = {}
    for kind, path in reports.items():
        where = f"refusing to write the {kind} report {path}"
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as error:
            raise ReportWriteError(f"{where}: {error.strerror or error}") from None
        if mode is not None and not stat.S_ISREG(mode):
            raise ReportWriteError(
                f"{where}: it is a {_kind_of(mode)}, not a regular file; give the "
                "path of a file to write"
            )
        resolved = path.resolve()
        for what, source in inputs:
            source_resolved = source.resolve()
            if source.is_dir():
                inside = source_resolved in resolved.parents
                if inside or resolved == source_resolved:
                    raise ReportWriteError(
                        f"{where}: it is inside the {what} {source}; write reports "
                        "outside the runs"
                    )
            elif (
                source.exists() and mode is not None and _same(path, source)
            ) or resolved == source_resolved:
                raise ReportWriteError(
                    f"{where}: it is the {what} {source}; give the report another path"
                )
        if resolved in seen:
            raise ReportWriteError(
                f"{where}: the {seen[resolved]} report is written there too; give "
                "each report its own path"
            )
        seen[resolved] = kind


def write_reports(
    comparison: RunComparisonResult,
    judgement: Judgement,
    outputs: Outputs,
    *,
    tests: Sequence[TestRecord] = (),
    plan: Plan | None = None,
    inputs: Sequence[tuple[str, Path]] = (),
    trend: Trend | None = None,
) -> dict[str, Path]:
    """Render the requested reports and write each atomically; returns what was written.

    ``plan`` (the power plan from the baseline alone) goes into the HTML and JSON
    reports, ``trend`` (the gated metrics over the baseline's generations) into all
    three. No report may replace one of ``inputs`` (``(what, path)``: the runs and
    the gates file), another report or anything but a regular file.

    Raises
    ------
    ReportWriteError
        Naming the report that could not be written and why.

    """
    from pytest_runcompare.writer import atomic_file

    check_report_paths(
        {
            kind: path
            for kind, path in (
                ("html", outputs.html),
                ("markdown", outputs.markdown),
                ("json", outputs.json),
            )
            if path is not None
        },
        inputs,
    )

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
                trend=trend,
            ),
        )
    if outputs.markdown is not None:
        from pytest_runcompare.render.markdown import render_markdown

        html = None if outputs.html is None else str(outputs.html)
        texts["markdown"] = (
            outputs.markdown,
            render_markdown(
                comparison,
                judgement,
                html_path=html,
                report_url=outputs.url,
                marker=outputs.marker,
                trend=trend,
            ),
        )
    if outputs.json is not None:
        from pytest_runcompare.render.json_report import render_json

        texts["json"] = (
            outputs.json,
            render_json(comparison, judgement, tests=tests, plan=plan, trend=trend),
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


# --------------------------------------------------------------------------- sweep
#: The folder beside a sweep's HTML report that holds each candidate's two-run
#: report: ``report.html`` -> ``report.pairs/<candidate>.html``.
PAIRS_SUFFIX = ".pairs"


def sweep_pair_paths(html: Path, labels: Sequence[str]) -> dict[str, Path]:
    """Where each candidate's two-run report goes, beside the sweep's HTML report.

    File names are the labels made safe and unique
    (:func:`~pytest_runcompare.render.sweep_model.pair_file_names`).
    """
    from pytest_runcompare.render.sweep_model import pair_file_names

    folder = html.with_name(html.stem + PAIRS_SUFFIX)
    return {label: folder / name for label, name in pair_file_names(labels).items()}


def _write_all(texts: Sequence[tuple[str, Path, str]]) -> None:
    """Write each ``(kind, path, text)`` atomically, naming the one that failed."""
    from pytest_runcompare.writer import atomic_file

    for kind, path, text in texts:
        try:
            with atomic_file(path) as handle:
                handle.write(text)
        except OSError as error:
            raise ReportWriteError(
                f"could not write the {kind} report {path}: {error.strerror or error}"
            ) from None


def write_sweep_reports(
    sweep: SweepJudgement,
    outputs: Outputs,
    *,
    inputs: Sequence[tuple[str, Path]] = (),
) -> dict[str, Path]:
    """Render a sweep's reports and write each atomically; returns what was written.

    With an HTML report, each candidate's two-run report is written beside it
    (``report.pairs/<candidate>.html``, see :func:`sweep_pair_paths`) before the
    sweep's page that links them, so that no link is ever broken. ``"pairs"`` in the
    result names that folder. The refusals of :func:`write_reports`: no report may
    replace one of ``inputs`` (``(what, path)``: the runs and the gates file), go
    inside a run's folder, replace another report or anything but a regular file.

    Raises
    ------
    ReportWriteError
        Naming the report that could not be written and why.

    """
    pairs: dict[str, Path] = {}
    if outputs.html is not None:
        pairs = sweep_pair_paths(outputs.html, [c.label for c in sweep.candidates])
    reports = {
        kind: path
        for kind, path in (
            ("html", outputs.html),
            ("markdown", outputs.markdown),
            ("json", outputs.json),
        )
        if path is not None
    }
    for label, path in pairs.items():
        reports[f"two-run ({label})"] = path
    folder = next(iter(pairs.values())).parent if pairs else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise ReportWriteError(
            f"refusing to write the two-run reports of the sweep into {folder}: it "
            "exists and is not a directory; move it or give the HTML report another "
            "path"
        )
    check_report_paths(reports, inputs)
    links = {label: f"{path.parent.name}/{path.name}" for label, path in pairs.items()}
    texts: list[tuple[str, Path, str]] = []
    if pairs and outputs.html is not None:
        from pytest_runcompare.render.html import render_html
        from pytest_runcompare.render.sweep_html import with_back_link

        base = sweep.baseline.name
        for c in sweep.candidates:
            page = render_html(
                c.comparison,
                c.judgement,
                title=f"{c.label} vs {base}",
                generated=outputs.generated,
                max_outputs=outputs.max_outputs,
            )
            page = with_back_link(
                page, f"../{outputs.html.name}", c.label, excused=c.excused
            )
            texts.append((f"two-run ({c.label})", pairs[c.label], page))
    if outputs.html is not None:
        from pytest_runcompare.render.sweep_html import render_sweep_html

        texts.append(
            (
                "html",
                outputs.html,
                render_sweep_html(sweep, pair_links=links, generated=outputs.generated),
            )
        )
    if outputs.markdown is not None:
        from pytest_runcompare.render.sweep_markdown import render_sweep_markdown

        texts.append(
            (
                "markdown",
                outputs.markdown,
                render_sweep_markdown(
                    sweep,
                    html_path=None if outputs.html is None else str(outputs.html),
                    report_url=outputs.url,
                    marker=outputs.marker,
                ),
            )
        )
    if outputs.json is not None:
        from pytest_runcompare.render.sweep_json import render_sweep_json

        texts.append(("json", outputs.json, render_sweep_json(sweep, pairs=links)))
    _write_all(texts)
    written = dict(reports)
    for label in pairs:
        del written[f"two-run ({label})"]
    if folder is not None:
        written["pairs"] = folder
    return written
