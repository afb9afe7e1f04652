"""The end of a pytest session: terminal summary, reports, GitHub outputs, baseline update.

Runs on the controller (or the only process), never on xdist workers. Everything here
renders the session's final :class:`~pytest_runcompare.pipeline.Judgement`; the
baseline update asks it whether the session passed. Reporting never raises; a report
that cannot be written or a refused baseline update turns the exit status into a
failure.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import pytest

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_runcompare.baseline import Seen
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.config import RunSource
    from pytest_runcompare.engine.view import EngineComparison
    from pytest_runcompare.pipeline import Judgement, Outputs
    from pytest_runcompare.session import RunCompareSession
    from pytest_runcompare.trend import Trend

Final = tuple["RunComparisonResult | EngineComparison", "Judgement"]

#: The judgement the session ended with, kept for the terminal summary: after a
#: baseline update the baseline on disk is the candidate, so judging again would
#: compare the candidate with itself.
_FINAL = pytest.StashKey["Final | None"]()


def _judge(state: RunCompareSession) -> Final | None:
    """The comparison and judgement of the session, or None when nothing was compared."""
    from pytest_runcompare.pipeline import empty_judgement

    settings = state.settings
    engine = state.engine_name() is not None
    if engine and settings.gates.gates and (state.gates_ran or state.deferred_gates):
        judgement = state.judgement()  # opens the engine first
        return _with_assertions(state, state.engine_comparison(), judgement)
    used = state.gates_ran or bool(state.comparison_users) or bool(state.deferred_gates)
    if not engine and settings.gates.gates and used and not state.baseline_missing():
        return _with_assertions(state, state.comparison(), state.judgement())
    compared = state.compared()
    if (
        compared is None
        and not engine
        and state.comparison_users
        and not state.baseline_missing()
    ):
        compared = state.comparison()  # an xdist controller: the workers compared
    if compared is None:
        return None
    return _with_assertions(state, compared, empty_judgement(compared, state.request))


def _with_assertions(
    state: RunCompareSession,
    comparison: RunComparisonResult | EngineComparison,
    judgement: Judgement,
) -> Final:
    """The judgement with the session's fixture assertions that are not its gates."""
    gates = {id(r) for r in judgement.results}
    assertions = [r for r in state.assertions.values() if id(r) not in gates]
    return comparison, judgement.with_assertions(assertions)


def final(state: RunCompareSession) -> Final | None:
    """The session's final comparison and judgement, computed once."""
    if _FINAL not in state.config.stash:
        try:
            state.config.stash[_FINAL] = _judge(state)
        except RunCompareError as error:
            state.note(f"could not judge the gates: {error}")
            state.config.stash[_FINAL] = None
    return state.config.stash[_FINAL]


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


def _write(tr: Any, line: Any) -> None:
    colour = {} if line.tone == "white" else {str(line.tone): True}
    tr.write_line(line.text, bold=line.bold, **colour)


def write_terminal_summary(terminalreporter: Any, state: RunCompareSession) -> None:
    """One table of every gate, coloured like pytest's own output, then the report paths."""
    from pytest_runcompare.render.terminal import gate_table, session_lines
    from pytest_runcompare.untrusted import log_text

    tr = terminalreporter
    if _sweep_done(state):
        _sweep_summary(tr, state)
        return
    done = final(state)
    if done is None and not state.notes and not state.written:
        return
    tr.write_sep("=", "runcompare")
    if done is not None:
        judgement = done[1]
        # Only the gates this session ran (not those deselected with -k); the family
        # correction still spans every gate of the gates file.
        if (judgement.results and state.gates_ran) or judgement.assertions:
            for line in gate_table(judgement, ran=state.ran_gate_keys):
                _write(tr, line)
        engine_line = _engine_line(done[0])
        if engine_line is not None:
            tr.write_line(engine_line)
        for line in session_lines(judgement, where=lambda n: _where(state, n)):
            _write(tr, line)
    for note in state.notes:
        tr.write_line(log_text(note), yellow=True)
    for kind, path in sorted(state.written.items()):
        tr.write_line(f"{kind} report: {path}")


def _engine(
    comparison: RunComparisonResult | EngineComparison,
) -> EngineComparison | None:
    """The engine comparison when the session judged in an engine, else None."""
    if getattr(comparison, "engine_name", None) is None:
        return None  # in memory (engine.view is not imported for it)
    from pytest_runcompare.engine.view import EngineComparison

    return comparison if isinstance(comparison, EngineComparison) else None


def _engine_line(comparison: RunComparisonResult | EngineComparison) -> str | None:
    """Which path judged how many gates, as ``runcompare compare --engine`` says."""
    engine = _engine(comparison)
    if engine is None:
        return None
    paths = engine.paths
    return (
        f"engine {engine.engine_name}: {paths['statistics']} gates judged from "
        f"sufficient statistics, {paths['in memory']} in memory (small), "
        f"{paths['refused']} refused"
    )


def refuse_engine_promotion(state: RunCompareSession) -> None:
    """--runcompare-update-baseline with an engine: refused before anything runs.

    A promotion writes the candidate with ``save_run``, in memory; the engine path
    never loads it.
    """
    engine = state.engine_name()
    if engine is None or not state.settings.update_baseline:
        return
    raise pytest.UsageError(
        f"--runcompare-update-baseline: this session reads its runs with the {engine} "
        "engine, which judges them without loading them, and a promotion writes the "
        "candidate from memory; promote without the engine (a run that fits in "
        "memory), or copy the candidate's files to the baseline's location yourself"
    )


def _is_sweep(state: RunCompareSession) -> bool:
    """Whether this session judges a sweep (False when its candidates cannot expand)."""
    try:
        return state.is_sweep()
    except RunCompareError:
        return False


def _sweep_done(state: RunCompareSession) -> bool:
    """Whether this session judged a sweep (its gates ran, here or on workers)."""
    try:
        return state.is_sweep() and state.gates_ran and not state.baseline_missing()
    except RunCompareError:
        return False


def _sweep_summary(tr: Any, state: RunCompareSession) -> None:
    """The sweep's table and outcome, then the notes and the report paths."""
    from pytest_runcompare.render.sweep_terminal import sweep_lines
    from pytest_runcompare.untrusted import log_text

    tr.write_sep("=", "runcompare")
    try:
        for line in sweep_lines(state.sweep()):
            _write(tr, line)
    except RunCompareError as error:
        why = f"could not judge the sweep: {error}"
        if why not in state.notes:  # the session's finish noted it already
            tr.write_line(log_text(why), red=True)
    for note in state.notes:
        tr.write_line(log_text(note), yellow=True)
    for kind, path in sorted(state.written.items()):
        tr.write_line(f"{kind} report: {path}")


def _finish_sweep(state: RunCompareSession, session: pytest.Session) -> None:
    """A sweep's reports and GitHub outputs; a sweep never promotes a baseline."""
    from pytest_runcompare.render.github import workflow_commands
    from pytest_runcompare.render.write import write_sweep_reports

    try:
        sweep = state.sweep()
    except RunCompareError as error:
        state.note(f"could not judge the sweep: {error}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    try:
        state.written.update(
            write_sweep_reports(sweep, _outputs(state), inputs=_inputs(state))
        )
    except RunCompareError as error:
        state.note(str(error))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if state.settings.request.outputs.mlflow_log:
        pairs = [(c.comparison, c.judgement, None) for c in sweep.candidates]
        _log_to_mlflow(state, session, pairs)
    summary_file = state.env("GITHUB_STEP_SUMMARY")
    if summary_file:
        from pytest_runcompare.render.sweep_markdown import render_sweep_markdown

        html = state.settings.html
        outputs = state.settings.request.outputs
        text = render_sweep_markdown(
            sweep,
            html_path=None if html is None else str(html),
            report_url=outputs.url,
            marker=outputs.marker,
        )
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(text.rstrip("\n") + "\n\n")
        except OSError as error:
            state.note(f"could not write the GitHub step summary: {error}")
    if state.env("GITHUB_ACTIONS"):
        commands: list[str] = []
        for c in sweep.candidates:
            commands += workflow_commands(
                c.judgement,
                _annotation_file(state),
                label=c.label,
                excused=c.excused is not None,
            )
        _emit(state, commands)
    if state.settings.update_baseline:
        state.note(
            "--runcompare-update-baseline: this session judged a sweep of "
            f"{sweep.size} candidates; promote one of them by comparing it alone "
            "(--runcompare-candidate PATH --runcompare-update-baseline)"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _log_to_mlflow(
    state: RunCompareSession,
    session: pytest.Session,
    judged: Sequence[tuple[RunComparisonResult, Judgement, Path | None]],
) -> None:
    """Log each judgement onto its candidate's MLflow run; a failure fails the session."""
    from pytest_runcompare.render.mlflow_log import log_judgement, logged_line

    settings = state.settings
    sources = [settings.candidate] if settings.candidate else []
    sources += [c.source for c in settings.candidates]
    uri = next((s.options.get("tracking_uri") for s in sources if s.options), None)
    for comparison, judgement, html in judged:
        try:
            logged = log_judgement(comparison, judgement, tracking_uri=uri, html=html)
        except RunCompareError as error:
            state.note(str(error))
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        else:
            state.note(logged_line(logged))


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
        # xdist's progress line is not tracked by ensure_newline: look at the writer.
        writer = getattr(tr, "_tw", None)
        if writer is not None and writer.width_of_current_line:
            tr.write("\n")
        else:
            tr.ensure_newline()
        for line in lines:
            tr.write_line(line)
        return
    sys.stdout.write("\n" + "".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def _github(
    state: RunCompareSession,
    done: tuple[RunComparisonResult, Judgement],
    trend: Trend | None = None,
) -> None:
    from pytest_runcompare.render.github import workflow_commands

    comparison, judgement = done
    summary_file = state.env("GITHUB_STEP_SUMMARY")
    if summary_file:
        from pytest_runcompare.render.markdown import render_markdown

        html = state.settings.html
        outputs = state.settings.request.outputs
        text = render_markdown(
            comparison,
            judgement,
            html_path=None if html is None else str(html),
            report_url=outputs.url,
            marker=outputs.marker,
            trend=trend,
        )
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n\n")
    if state.env("GITHUB_ACTIONS"):
        _emit(state, workflow_commands(judgement, _annotation_file(state)))


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


def _update_baseline(
    state: RunCompareSession, session: pytest.Session, done: Final | None
) -> None:
    from pytest_runcompare.baseline import (
        BaselineUpdateRefused,
        check_promotable,
        promote,
    )
    from pytest_runcompare.locking import DEFAULT_TIMEOUT

    settings = state.settings
    if _is_sweep(state):  # here only when the sweep's baseline is missing
        state.note(
            "--runcompare-update-baseline: this session judges a sweep of "
            f"{len(state.sweep_candidates())} candidates, which never creates or "
            "promotes a baseline; nothing written"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if settings.baseline is None:
        state.note(
            "--runcompare-update-baseline: no baseline path configured; nothing written"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    failed = [] if done is None else [r.key for r in done[1].failed]
    try:
        candidate = state.candidate_run()
        problems: list[str] = []
        if state.other_failures:
            problems.append(f"{state.other_failures} test(s) failed in this session")
        if failed and not settings.accept_failed:
            problems.append(
                f"{len(failed)} gate(s) failed: {', '.join(failed)} (pass "
                "--runcompare-accept-failed with --runcompare-reason to promote it "
                "anyway)"
            )
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
        options = state.config.stash.get(_PROMOTION, None) or PromotionOptions(
            None, DEFAULT_TIMEOUT
        )
        promotion = promote(
            candidate,
            settings.baseline.location.partition("::")[0],
            outcomes=state.outcomes(),
            reason=settings.reason,
            accepted_failures=failed,
            seen=options.seen,
            lock_timeout=options.lock_timeout,
        )
    except (RunCompareError, BaselineUpdateRefused, OSError) as error:
        state.note(str(error))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if promotion.removed:
        state.note(
            f"removed {len(promotion.removed)} temporary file(s) left by a killed "
            f"promotion or writer: {', '.join(map(str, promotion.removed))}"
        )
    if promotion.kept:
        state.note(
            "left alone (their writer may still be running elsewhere): "
            + ", ".join(map(str, promotion.kept))
        )
    accepted = f"; accepted with {len(failed)} failed gate(s)" if failed else ""
    if promotion.previous is None:
        state.note(f"baseline created: {settings.baseline.location}{accepted}")
    else:
        state.note(
            f"baseline updated: {settings.baseline.location} (previous kept as "
            f"{promotion.previous}){accepted}"
        )


@dataclass(frozen=True, slots=True)
class PromotionOptions:
    """How this session promotes: the baseline as first seen, the lock wait."""

    seen: Seen | None
    lock_timeout: float


_PROMOTION = pytest.StashKey[PromotionOptions]()


def _ini_number(config: pytest.Config, key: str, default: float, kind: type) -> Any:
    text = config.getini(key)
    if not text:
        return kind(default)
    try:
        value = kind(str(text).strip())
    except ValueError:
        value = -1
    if value < (1 if kind is int else 0):
        accepted = "a whole number >= 1" if kind is int else "seconds >= 0"
        raise pytest.UsageError(f"ini key {key}: expected {accepted}, got {text!r}")
    return value


def remember_baseline(config: pytest.Config, state: RunCompareSession) -> None:
    """At configure, with --runcompare-update-baseline: note the baseline as it is now.

    Its content hash is taken before anything loads it, so a promotion by another
    session in between is seen, and refused, when this session promotes.
    """
    from pytest_runcompare.baseline import Seen
    from pytest_runcompare.loaders.registry import is_uri
    from pytest_runcompare.locking import DEFAULT_TIMEOUT

    if config.getini("runcompare_history"):
        raise pytest.UsageError(
            "ini key runcompare_history: promotions no longer delete previous "
            "baselines (every generation stays in <baseline>.history/); remove the "
            "key, and delete old generations explicitly with "
            "`runcompare prune BASELINE --keep K`"
        )
    timeout = _ini_number(config, "runcompare_lock_timeout", DEFAULT_TIMEOUT, float)
    seen = None
    source = state.settings.baseline
    if (
        state.settings.update_baseline
        and not state.is_worker
        and source is not None
        and not is_uri(source.location)
    ):
        try:
            seen = Seen.now(Path(source.location.partition("::")[0]))
        except OSError as error:
            raise pytest.UsageError(
                f"cannot read the baseline {source.location}: {error}"
            ) from None
    config.stash[_PROMOTION] = PromotionOptions(seen, timeout)


def _judge_deferred_gates(state: RunCompareSession, session: pytest.Session) -> None:
    """Under xdist with a recorded candidate: judge the workers' gates on the merged run.

    Their outcomes come from the same function as a gate item's, and their reports
    go through ``pytest_runtest_logreport`` like any test's, so the terminal, JUnit
    XML, the exit status and the report all see them.
    """
    from pytest_runcompare.collection import gate_outcome
    from pytest_runcompare.untrusted import one_line

    config = state.config
    gates_path = str(state.settings.gates.path)
    lines = {s.gate.key: s.line for s in state.settings.gates.gates}
    for key, nodeid in sorted(state.deferred_gates.items(), key=lambda kv: kv[1]):
        result = gate_outcome(state, key)
        line = lines.get(key)
        index = 0 if line is None else line - 1
        location = (gates_path, index, f"runcompare gate {one_line(key)}")
        state.warn_session_once()
        for warning in result.warnings:
            state.warn(warning, line=line)
        outcome: Literal["passed", "failed", "skipped"] = (
            "skipped" if result.outcome == "xfailed" else result.outcome
        )
        longrepr: Any = None
        if result.outcome == "failed":
            longrepr = result.message
        elif result.outcome in ("skipped", "xfailed"):
            longrepr = (gates_path, index + 1, f"Skipped: {result.message}")
        keywords: dict[str, Any] = {key: 1, "runcompare_gate": 1}
        # setup, call and teardown, as for a test run here: JUnit XML records the
        # properties at teardown.
        for when in ("setup", "call", "teardown"):
            report = pytest.TestReport(
                nodeid=nodeid,
                location=location,
                keywords=keywords,
                outcome=outcome if when == "call" else "passed",
                longrepr=longrepr if when == "call" else None,
                when=when,
                user_properties=list(result.properties),
            )
            if result.outcome == "xfailed" and when == "call":
                report.wasxfail = result.message
            config.hook.pytest_runtest_logreport(report=report)
        if result.outcome == "failed":
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _inputs(state: RunCompareSession) -> list[tuple[str, Path]]:
    """What a report must never replace: the runs, the recorded run, the gates file."""
    from pytest_runcompare.loaders.registry import is_uri, split_location

    settings = state.settings
    inputs: list[tuple[str, Path]] = []
    for what, source in (
        ("baseline run", settings.baseline),
        ("candidate run", settings.candidate),
    ):
        if source is not None and not is_uri(source.location):
            inputs.append((what, split_location(source.location)[0]))
    if state.recording:
        inputs.append(("recorded candidate", settings.record_path))
    if settings.gates.path is not None:
        inputs.append(("gates file", Path(settings.gates.path)))
    return inputs


def _outputs(state: RunCompareSession) -> Outputs:
    """The reports to write; the default HTML report is dropped, with a note, if refused.

    Nobody asked for it, so a default path that would replace an input or a
    non-file is skipped rather than failing the session.
    """
    from pytest_runcompare.render.write import ReportWriteError, check_report_paths

    outputs = state.settings.request.outputs
    if not state.settings.default_report or outputs.html is None:
        return outputs
    try:
        check_report_paths({"html": outputs.html}, _inputs(state))
    except ReportWriteError as error:
        state.note(
            f"{error} (the default location; set --runcompare-report or the gates "
            "file's report.html to write it elsewhere)"
        )
        return replace(outputs, html=None)
    return outputs


def finish_session(state: RunCompareSession, session: pytest.Session) -> None:
    """Write reports and GitHub outputs, then update the baseline when asked."""
    from pytest_runcompare.render.write import write_reports
    from pytest_runcompare.trend import for_report

    if _sweep_done(state):
        _finish_sweep(state, session)
        return
    if state.deferred_gates:
        _judge_deferred_gates(state, session)
    done = final(state)
    settings = state.settings
    engine = None if done is None else _engine(done[0])
    if done is not None and engine is not None:
        _finish_engine(state, session, engine, done[1])
    elif done is not None:
        comparison = cast("RunComparisonResult", done[0])  # not the engine's
        judgement = done[1]
        trend = for_report(settings.baseline, comparison, judgement)
        try:
            state.written.update(
                write_reports(
                    comparison,
                    judgement,
                    _outputs(state),
                    tests=sorted(state.tests.values(), key=lambda t: t.nodeid),
                    plan=state.plan() if judgement.results else None,
                    inputs=_inputs(state),
                    trend=trend,
                )
            )
        except RunCompareError as error:
            state.note(str(error))
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if settings.request.outputs.mlflow_log:
            html = state.written.get("html")
            _log_to_mlflow(state, session, [(comparison, judgement, html)])
        try:
            _github(state, (comparison, judgement), trend)
        except OSError as error:
            state.note(f"could not write the GitHub step summary: {error}")
    if settings.update_baseline:
        _update_baseline(state, session, done)


def _finish_engine(
    state: RunCompareSession,
    session: pytest.Session,
    comparison: EngineComparison,
    judgement: Judgement,
) -> None:
    """The engine path's reports and GitHub outputs, from the same judgement.

    ``render.engine_report`` renders them; no trend (the history is read in memory)
    and no MLflow log (the candidate is no MLflow run), which fail the session
    when asked for rather than being skipped in silence.
    """
    from pytest_runcompare.render.engine_report import write_engine_reports
    from pytest_runcompare.render.github import workflow_commands

    outputs = _outputs(state)
    kinds = {outputs.html: "html", outputs.markdown: "markdown", outputs.json: "json"}
    try:
        written = write_engine_reports(
            comparison, judgement, outputs, inputs=_inputs(state)
        )
    except RunCompareError as error:
        state.note(str(error))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        state.written.update({kinds[path]: path for path in written})
    if outputs.mlflow_log:
        state.note(
            "report.mlflow / --runcompare-mlflow-log: the engine path does not log "
            "onto an MLflow run (its candidate is read from files or a table); "
            "nothing logged"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    summary_file = state.env("GITHUB_STEP_SUMMARY")
    if summary_file:
        try:
            text = _engine_markdown(comparison, judgement, outputs)
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(text.rstrip("\n") + "\n\n")
        except (OSError, RunCompareError) as error:
            state.note(f"could not write the GitHub step summary: {error}")
    if state.env("GITHUB_ACTIONS"):
        _emit(state, workflow_commands(judgement, _annotation_file(state)))


def _engine_markdown(
    comparison: EngineComparison, judgement: Judgement, outputs: Outputs
) -> str:
    """The engine path's Markdown summary (``render.engine_report``)."""
    from pytest_runcompare.engine.report_facts import report_facts
    from pytest_runcompare.engine.view import TOP_K
    from pytest_runcompare.render.engine_report import render_engine_markdown

    return render_engine_markdown(
        comparison,
        judgement,
        report_facts(comparison, TOP_K),
        html_path=None if outputs.html is None else str(outputs.html),
        report_url=outputs.url,
        marker=outputs.marker,
    )
