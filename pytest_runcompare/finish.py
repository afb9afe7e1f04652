"""The end of a pytest session: terminal summary, reports, GitHub outputs, baseline update.

Runs on the controller (or the only process), never on xdist workers. Reporting never
raises; a refused baseline update turns the exit status into a failure.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from pytest_runcompare.config import RunSource
    from pytest_runcompare.pipeline import Judgement
    from pytest_runcompare.session import RunCompareSession

_STATUS_COLOUR = {
    "passed": "green",
    "failed": "red",
    "waived": "yellow",
    "warning": "yellow",
}


#: The judgement the session ended with, kept for the terminal summary: after a
#: baseline update the baseline on disk is the candidate, so judging again would
#: compare the candidate with itself.
_FINAL = pytest.StashKey["Judgement | None"]()


def _judgement(state: RunCompareSession) -> Judgement | None:
    if _FINAL in state.config.stash:
        return state.config.stash[_FINAL]
    if not state.settings.gates.gates or state.baseline_missing():
        return None
    if not (state.gates_ran or state.comparison_users):
        return None  # collection only, or every gate deselected
    try:
        return state.judgement()
    except RunCompareError as error:
        state.note(f"could not judge the gates: {error}")
        return None


def _where(state: RunCompareSession, line: int | None) -> str:
    """``runcompare.yaml:12: `` (relative to the rootdir), or nothing when unknown."""
    path = state.settings.gates.path
    if path is None:
        return ""
    try:
        name = Path(path).resolve().relative_to(state.settings.rootdir.resolve())
    except ValueError:
        name = Path(path)
    return f"{name}:{line}: " if line else f"{name}: "


def write_terminal_summary(terminalreporter: Any, state: RunCompareSession) -> None:
    """One table of every gate, coloured like pytest's own output, then the report paths."""
    from pytest_runcompare.summary import format_table, gate_rows

    tr = terminalreporter
    judgement = _judgement(state)
    if judgement is None and not state.notes and not state.written:
        return
    tr.write_sep("=", "runcompare")
    if judgement is not None and state.gates_ran:
        # Only the gates this session ran (not those deselected with -k); the family
        # correction still spans every gate of the gates file.
        ran = replace(
            judgement,
            results=tuple(r for r in judgement.results if r.key in state.ran_gate_keys),
        )
        rows = gate_rows(ran, warn_only=True)
        lines = format_table(rows)
        tr.write_line(lines[0], bold=True)
        for row, line in zip(rows, lines[1:], strict=True):
            status = row[-1].split(" ")[0]
            tr.write_line(line, **{_STATUS_COLOUR.get(status, "white"): True})
        undecided = sum(str(v.outcome) == "inconclusive" for v in judgement.warn_only)
        if judgement.warn_only:
            tr.write_line(
                f"slices without a gate (warn-only): {len(judgement.warn_only)} judged, "
                f"{undecided} inconclusive; declare `slices:` on a metric to gate them"
            )
        if judgement.all_pass_probability is not None:
            tr.write_line(
                "chance that every non-inferiority gate passes if nothing changed: "
                f"{judgement.all_pass_probability:.0%}"
            )
        for warning in judgement.warnings:
            tr.write_line(f"warning: {warning}", yellow=True)
        compat = judgement.compatibility
        for problem in compat.problems:
            tr.write_line(
                f"compatibility: {problem}",
                red=judgement.compatibility_policy == "fail",
                yellow=judgement.compatibility_policy != "fail",
            )
        for waiver in judgement.unmatched_waivers:
            tr.write_line(
                f"{_where(state, waiver.line)}waiver for {waiver.describe()} matches "
                f"nothing: {waiver.reason}",
                yellow=True,
            )
        if judgement.stale_metrics:
            tr.write_line(
                f"{len(judgement.stale_metrics)} baseline metric(s) not checked by any gate: "
                + ", ".join(judgement.stale_metrics),
                yellow=True,
            )
        assumed = sorted(
            state.comparison().assumed_directions
            & {r.verdict.gate.metric for r in judgement.results}
        )
        if assumed:
            tr.write_line(
                "assumed higher is better (nothing declared a direction): "
                + ", ".join(assumed)
            )
    for note in state.notes:
        tr.write_line(note, yellow=True)
    for kind, path in sorted(state.written.items()):
        tr.write_line(f"{kind} report: {path}")


def _annotation(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: ``:`` and ``,`` are escaped as well."""
    return _annotation(text).replace(":", "%3A").replace(",", "%2C")


def _annotation_file(state: RunCompareSession) -> str:
    """The gates file relative to the workspace (where GitHub resolves paths), else rootdir."""
    gates_path = state.settings.gates.path
    if gates_path is None:
        return ""
    path = Path(gates_path).resolve()
    for base in (state.env("GITHUB_WORKSPACE"), state.settings.rootdir):
        if base:
            try:
                return path.relative_to(Path(base).resolve()).as_posix()
            except ValueError:
                continue
    return str(path)


def _emit(state: RunCompareSession, lines: list[str]) -> None:
    """Print workflow commands, each at the start of its own line (or GitHub ignores it)."""
    if not lines:
        return
    tr = state.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.ensure_newline()
        for line in lines:
            tr.write_line(line)
        return
    sys.stdout.write("\n" + "".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def _github(state: RunCompareSession, judgement: Judgement | None) -> None:
    from pytest_runcompare.pipeline import Status

    summary_file = state.env("GITHUB_STEP_SUMMARY")
    if summary_file and judgement is not None:
        from pytest_runcompare.report.markdown import render_markdown

        html = state.settings.html
        text = render_markdown(
            state.comparison(),
            judgement.verdicts,
            html_path=None if html is None else str(html),
        )
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n\n")
    if state.env("GITHUB_ACTIONS") and judgement is not None:
        file = _annotation_file(state)
        commands = []
        for result in judgement.results:
            if result.status is Status.PASSED and not result.verdict.warnings:
                continue
            level = "error" if result.status is Status.FAILED else "warning"
            where = []
            if file:
                where.append(f"file={_property(file)}")
                if result.spec.line:
                    where.append(f"line={result.spec.line}")
            where.append(f"title={_property(f'runcompare {result.key}')}")
            first = result.message.splitlines()[0] if result.message else result.key
            if result.status is Status.PASSED:
                first = f"{result.key}: {result.verdict.warnings[0]}"
            commands.append(f"::{level} {','.join(where)}::{_annotation(first)}")
        _emit(state, commands)


def _not_native(source: RunSource) -> list[str]:
    """Why a baseline location cannot be rewritten in the native format, if it cannot."""
    from pytest_runcompare.loaders.registry import is_uri

    options = {k: v for k, v in source.options.items() if k != "format"}
    if is_uri(source.location):
        return ["the baseline is a tracking-server run; point the baseline at a file"]
    if (
        "::" in source.location
        or options
        or source.options.get("format")
        not in (
            None,
            "native",
        )
    ):
        return [
            "the baseline is read from another tool's file (a selector, a format or "
            "reader options); writing it back would replace that file: point the "
            "baseline at a native run path to keep baselines this way"
        ]
    return []


def _update_baseline(state: RunCompareSession, session: pytest.Session) -> None:
    from pytest_runcompare.baseline import (
        BaselineUpdateRefused,
        check_promotable,
        promote,
    )

    settings = state.settings
    if settings.baseline is None:
        state.note(
            "--runcompare-update-baseline: no baseline path configured; nothing written"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    try:
        candidate = state.candidate_run()
        problems: list[str] = []
        if state.other_failures:
            problems.append(f"{state.other_failures} test(s) failed in this session")
        problems.extend(_not_native(settings.baseline))
        if not state.baseline_missing() and not problems:
            if state.baseline_run().meta.format != "native":
                problems.append(
                    f"the baseline was read by the {state.baseline_run().meta.format} "
                    "reader; writing it back in our format would replace that tool's "
                    "file"
                )
            compat = state.comparison().compatibility
            problems.extend(f"incompatible runs: {p}" for p in compat.problems)
        check_promotable(candidate, problems)
        outcomes = state.outcomes()
        provenance = promote(
            candidate,
            settings.baseline.location.partition("::")[0],
            outcomes=outcomes,
            reason=settings.reason,
        )
    except (RunCompareError, BaselineUpdateRefused, OSError) as error:
        state.note(str(error))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if provenance["backup"] is None:
        state.note(f"baseline created: {settings.baseline.location}")
    else:
        state.note(
            f"baseline updated: {settings.baseline.location} (previous kept as "
            f"{provenance['backup']})"
        )


def _judge_deferred_gates(state: RunCompareSession, session: pytest.Session) -> None:
    """Under xdist with a recorded candidate: judge the workers' gates on the merged run.

    Their reports go through ``pytest_runtest_logreport`` like any test's, so the
    terminal, JUnit XML, the exit status and the report all see them.
    """
    from pytest_runcompare.pipeline import Status
    from pytest_runcompare.summary import failure_message

    config = state.config
    gates_path = state.settings.gates.path
    for key, nodeid in sorted(state.deferred_gates.items(), key=lambda kv: kv[1]):
        location = (str(gates_path), 0, f"runcompare gate {key}")
        outcome, longrepr, props = "passed", None, [("runcompare_gate", key)]
        wasxfail = None
        try:
            if state.baseline_missing():
                if state.settings.update_baseline:
                    outcome = "skipped"
                    longrepr = (
                        str(gates_path),
                        0,
                        "Skipped: no baseline yet (written at the end)",
                    )
                else:
                    outcome = "failed"
                    longrepr = state.missing_baseline_message(state.baseline_source())
            else:
                result = state.gate_result(key)
                from pytest_runcompare.collection import _properties

                props += _properties(result.verdict, str(result.status))
                if result.status is Status.FAILED:
                    outcome = "failed"
                    report = state.settings.html
                    longrepr = failure_message(
                        result,
                        state.comparison(),
                        report=None if report is None else str(report),
                    )
                elif result.status is Status.WAIVED:
                    outcome, wasxfail = "skipped", result.message
                    longrepr = (str(gates_path), 0, result.message)
        except RunCompareError as error:
            outcome, longrepr = "failed", str(error)
        keywords = {key: 1, "runcompare_gate": 1}
        # setup, call and teardown, as for a test run here: JUnit XML records the
        # properties at teardown.
        for when in ("setup", "call", "teardown"):
            report = pytest.TestReport(
                nodeid=nodeid,
                location=location,
                keywords=keywords,
                outcome=outcome if when == "call" else "passed",  # type: ignore[arg-type]
                longrepr=longrepr if when == "call" else None,
                when=when,  # type: ignore[arg-type]
                user_properties=props,
            )
            if wasxfail is not None and when == "call":
                report.wasxfail = wasxfail  # type: ignore[attr-defined]
            config.hook.pytest_runtest_logreport(report=report)
        if outcome == "failed":
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def finish_session(state: RunCompareSession, session: pytest.Session) -> None:
    """Write reports and GitHub outputs, then update the baseline when asked."""
    from pytest_runcompare.pipeline import Outputs, write_reports

    if state.deferred_gates:
        _judge_deferred_gates(state, session)
    judgement = _judgement(state)
    state.config.stash[_FINAL] = judgement
    settings = state.settings
    if judgement is not None:
        outputs = Outputs(
            html=settings.html,
            markdown=settings.markdown,
            json=settings.json,
            max_outputs=settings.max_outputs,
        )
        try:
            state.written.update(
                write_reports(
                    state.comparison(),
                    judgement,
                    outputs,
                    tests=sorted(state.tests.values(), key=lambda t: t.nodeid),
                )
            )
        except (OSError, RunCompareError) as error:
            state.note(f"could not write the reports: {error}")
        try:
            _github(state, judgement)
        except OSError as error:
            state.note(f"could not write the GitHub step summary: {error}")
    if settings.update_baseline:
        _update_baseline(state, session)
