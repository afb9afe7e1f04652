"""The pytest layer's session state: runs loaded once, one judgement, the results.

A :class:`RunCompareSession` is registered as a plugin and kept in ``config.stash``.
It loads runs lazily (a session that never compares pays nothing), judges every gate
once per process as one family, collects what the session's tests did, and at the
end writes the reports, the GitHub outputs and, when asked, the new baseline.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_runcompare.errors import RunCompareError
from pytest_runcompare.settings import SESSION_KEY, Settings, settings_from_config
from pytest_runcompare.untrusted import log_text

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.config import GateSpec, RunSource
    from pytest_runcompare.engine.view import EngineComparison
    from pytest_runcompare.pipeline import GateResult, Judgement, Request
    from pytest_runcompare.plan import Plan
    from pytest_runcompare.recorder import Recorder
    from pytest_runcompare.runs import Run
    from pytest_runcompare.sweep import SweepJudgement

RECORDS_KEY = "runcompare_records"
DEFERRED_KEY = "runcompare_deferred_gates"
LINEAGE_KEY = "runcompare_recorded_lineage"


class RunCompareWarning(UserWarning):
    """A gate or waiver that needs attention without failing the build."""


def get_session(config: pytest.Config) -> RunCompareSession:
    """The session state, created and registered as a plugin on first use."""
    state = config.stash.get(SESSION_KEY, None)
    if state is None:
        state = RunCompareSession(config, settings_from_config(config))
        config.stash[SESSION_KEY] = state
        config.pluginmanager.register(state, "runcompare-session")
    return state


def similar_paths(path: Path, limit: int = 3) -> list[Path]:
    """Existing paths whose name is close to ``path``'s (its folder's too)."""
    import difflib

    def close(folder: Path, name: str) -> list[Path]:
        try:
            names = [p.name for p in folder.iterdir()]
        except OSError:
            return []
        found = difflib.get_close_matches(name, names, limit, cutoff=0.8)
        return [folder / n for n in found]

    if path.parent.is_dir():
        return close(path.parent, path.name)
    return [
        folder / path.name
        for folder in close(path.parent.parent, path.parent.name)
        if (folder / path.name).exists()
    ]


def _run_key(source: RunSource) -> str:
    return json.dumps(
        [source.location, dict(source.options)], sort_keys=True, default=str
    )


class RunCompareSession:
    """Lazily loaded runs, the session's judgement, and what the tests reported."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = bool(
            not self.is_worker and getattr(config.option, "numprocesses", None)
        )
        self._runs: dict[str, Run] = {}
        self._readers_registered = False
        self._comparisons: dict[tuple[str, str], RunComparisonResult] = {}
        self._judgement: Judgement | None = None
        self._engine: EngineComparison | None = None
        #: why the engine could not open or judge the runs (every gate says it)
        self._engine_error: RunCompareError | None = None
        self._sweep_labels: tuple[tuple[str, RunSource], ...] | None = None
        self._sweep: SweepJudgement | None = None
        self._plan: Plan | None = None
        self._plan_made = False
        #: fixture assertions judged in this process, by test node id and gate key
        self.assertions: dict[tuple[str, str], GateResult] = {}
        self.recorder: Recorder | None = None
        self.recording = False
        self._recorded_run: Run | None = None
        self.tests: dict[str, Any] = {}
        self.comparison_users: set[str] = set()
        self.gate_nodeids: dict[str, str] = {}
        self.deferred_gates: dict[str, str] = {}
        self.other_failures = 0
        self.gates_ran = False
        self.ran_gate_keys: set[str] = set()
        self.warned_session = False
        #: gate items the gates file gave (None: it was not collected here)
        self.gates_collected: int | None = None
        #: gate items that -k, -m, --lf or another plugin deselected
        self.gates_deselected = 0
        self.written: dict[str, Path] = {}
        self.notes: list[str] = []

    # ------------------------------------------------------------------ runs
    def load(self, source: RunSource) -> Run:
        """Load a run once per process, through the reader hook (conftests included)."""
        from pytest_runcompare.pipeline import load

        key = _run_key(source)
        if key not in self._runs:
            self._register_readers()
            hook = self.config.hook.pytest_runcompare_load_run
            self._runs[key] = load(source, hook=hook)
        return self._runs[key]

    def baseline_source(self, settings: Settings | None = None) -> RunSource:
        """Where the baseline is, or a clear error when nothing says."""
        settings = settings or self.settings
        if settings.baseline is None:
            raise RunCompareError(
                "no baseline configured: pass --runcompare-baseline PATH, set the "
                "runcompare_baseline ini key, or 'baseline:' in runcompare.yaml"
            )
        return settings.baseline

    def baseline_missing(self, settings: Settings | None = None) -> bool:
        """Whether the configured baseline path does not exist yet."""
        from pytest_runcompare.history import is_reference
        from pytest_runcompare.loaders.registry import is_uri, split_location

        settings = settings or self.settings
        source = settings.baseline
        if source is None or is_uri(source.location) or is_reference(source.location):
            return False  # an older generation: loading it says if it is not there
        if self.reads_engine(settings):
            return False  # a table, a glob: the engine says when it is not there
        return not split_location(source.location)[0].exists()

    def baseline_run(self, settings: Settings | None = None) -> Run:
        """The baseline run (loaded once)."""
        settings = settings or self.settings
        self._refuse_engine_runs(settings, "the baseline_run fixture")
        source = self.baseline_source(settings)
        if self.baseline_missing(settings):
            raise RunCompareError(self.missing_baseline_message(source))
        return self.load(source)

    def sweep_missing_baseline_message(self, source: RunSource) -> str:
        """No baseline for a sweep: it is never created from one of the candidates."""
        origin = self.settings.origins.get("baseline", "the baseline")
        return (
            f"no baseline at {source.location}: a sweep judges its "
            f"{len(self.sweep_candidates())} candidates against an existing baseline "
            "and never creates one; create it from one run with --runcompare-candidate"
            f" PATH --runcompare-update-baseline\n(the path is set by {origin})"
        )

    def missing_baseline_message(self, source: RunSource) -> str:
        """What to do when there is no baseline: fix a mistyped path, or create it.

        "Create it" is offered only when no similar path exists beside it: a typo
        (``runs/basline``) must not become a second, stray baseline.
        """
        from pytest_runcompare.loaders.registry import split_location

        origin = self.settings.origins.get("baseline", "the baseline")
        similar = similar_paths(split_location(source.location)[0])
        if similar:
            return (
                f"no baseline at {source.location} (set by {origin}), but similar "
                f"paths exist: {', '.join(str(p) for p in similar)}. Fix the path; "
                "--runcompare-update-baseline would create a new baseline at the "
                "mistyped one"
            )
        return (
            f"no baseline at {source.location}: run the session once with "
            "--runcompare-update-baseline to create it from this candidate\n"
            f"(the path is set by {origin})"
        )

    def candidate_run(self, settings: Settings | None = None) -> Run:
        """The candidate: the recorded run when tests record one, else the configured."""
        settings = settings or self.settings
        self._refuse_engine_runs(settings, "the candidate_run fixture")
        if self.recording and settings.candidate == self.settings.candidate:
            return self.recorded_run()
        if settings.candidate is None and self.settings.sweep_declared:
            raise RunCompareError(
                f"this session judges a sweep of {len(self.sweep_candidates())} "
                "candidates (the gates file's candidates:); a fixture compares one "
                "pair: name its candidate with @pytest.mark.runcompare(candidate=...)"
            )
        if settings.candidate is None:
            raise RunCompareError(
                "no candidate configured: pass --runcompare-candidate PATH, set the "
                "runcompare_candidate ini key or 'candidate:' in runcompare.yaml, or "
                "record one with the runcompare_recorder fixture"
            )
        return self.load(settings.candidate)

    def recorded_run(self) -> Run:
        """The datapoints recorded so far, frozen into a run and written to disk once."""
        if self._recorded_run is None:
            from pytest_runcompare.writer import save_run

            recorder = self.get_recorder()
            if not len(recorder):
                raise RunCompareError(
                    "the runcompare_recorder fixture recorded no datapoints, so there is "
                    "no candidate to compare"
                )
            run = recorder.to_run(cwd=self.settings.rootdir)
            save_run(run, self.settings.record_path)
            self._recorded_run = run
        return self._recorded_run

    def get_recorder(self) -> Recorder:
        """The session's recorder, created on first use."""
        if self.recorder is None:
            from pytest_runcompare.recorder import Recorder, options_from_ini

            # The model's own name, params and seed: never the resampling seed.
            self.recorder = Recorder(**options_from_ini(self.config.getini))
        return self.recorder

    # ------------------------------------------------------------------ sweep
    def sweep_candidates(self) -> tuple[tuple[str, RunSource], ...]:
        """The session's candidates, expanded (globs, folders of runs, multi-run files).

        Empty when the session compares one pair: no ``candidates:`` in the gates
        file and a command-line candidate that holds one run.
        """
        if self._sweep_labels is None and self.engine_name() is not None:
            if self.settings.sweep_declared:
                raise RunCompareError(
                    f"{self.settings.gates.path}: candidates: a sweep is judged in "
                    f"memory, but this session reads its runs with the "
                    f"{self.engine_name()} engine, which judges one pair: name one "
                    "'candidate:' for the engine, or drop the engine to judge the sweep"
                )
            self._sweep_labels = ()  # a glob is one run's files for an engine
        if self._sweep_labels is None:
            self._sweep_labels = ()
            entries = self.settings.candidates
            if entries and (self.settings.sweep_declared or self._may_hold_several()):
                from pytest_runcompare.loaders.multi import (
                    expand_candidates,
                    leave_out_baseline,
                )

                self._register_readers()
                found = expand_candidates(
                    entries, hook=self.config.hook.pytest_runcompare_list_runs
                )
                if self.settings.sweep_declared or len(found) > 1:
                    if self.settings.baseline is not None:  # a sweep, not an A/A pair
                        base = self.settings.baseline
                        found, left_out = leave_out_baseline(base, found)
                        if left_out is not None:
                            self.note(left_out)
                    self._sweep_labels = tuple((str(c.label), c.source) for c in found)
        return self._sweep_labels

    def _may_hold_several(self) -> bool:
        """Whether the command line's candidate may name several runs (worth expanding)."""
        from pytest_runcompare.loaders.registry import split_location

        source = self.settings.candidate
        if source is None or self.recording:
            return False
        if any(ch in source.location for ch in "*?["):
            return True
        return split_location(source.location)[0].exists()

    def is_sweep(self) -> bool:
        """Whether this session judges several candidates against one baseline."""
        return bool(self.sweep_candidates())

    def sweep(self) -> SweepJudgement:
        """Every candidate judged against the baseline as one family (computed once)."""
        if self._sweep is None:
            from pytest_runcompare.sweep import judge_sweep

            baseline = self.baseline_run()
            runs = [
                (label, self.load(source)) for label, source in self.sweep_candidates()
            ]
            self._sweep = judge_sweep(baseline, runs, self.request)
        return self._sweep

    def _register_readers(self) -> None:
        if not self._readers_registered:
            from pytest_runcompare.loaders.registry import register_builtin_readers

            register_builtin_readers(self.config.pluginmanager)
            self._readers_registered = True

    # ------------------------------------------------------------------ comparison
    def comparison(self, settings: Settings | None = None) -> RunComparisonResult:
        """The comparison of baseline and candidate (computed once per pair)."""
        from pytest_runcompare.pipeline import compare

        settings = settings or self.settings
        self._refuse_engine_runs(
            settings, "the run_comparison fixture (and runcompare)"
        )
        baseline = self.baseline_run(settings)
        candidate = self.candidate_run(settings)
        key = (str(id(baseline)), str(id(candidate)))
        if key not in self._comparisons:
            self._comparisons[key] = compare(baseline, candidate, settings.gates)
        return self._comparisons[key]

    @property
    def request(self) -> Request:
        """The session's request (runs, gates, policies, overrides)."""
        return self.settings.request

    def compared(self) -> RunComparisonResult | None:
        """The session's comparison if one was made (by a gate or a fixture), else None."""
        if not self._comparisons:
            return None
        try:
            return self.comparison()
        except RunCompareError:
            return next(iter(self._comparisons.values()))

    def judgement(self) -> Judgement:
        """Every gate of the session judged once, as one family (in its engine, if any)."""
        if self._judgement is None and self.engine_name() is not None:
            from pytest_runcompare.engine_session import judge_on_engine

            comparison = self.engine_comparison()
            try:
                self._judgement = judge_on_engine(comparison, self.request)
            except RunCompareError as error:
                self._engine_error = error
                raise
        if self._judgement is None:
            from pytest_runcompare.pipeline import judge

            self._judgement = judge(self.comparison(), self.request)
        return self._judgement

    # ------------------------------------------------------------------ engine
    def engine_name(self) -> str | None:
        """The engine that reads this session's runs (None: they are loaded in memory)."""
        from pytest_runcompare.engine_session import engine_of

        return engine_of(self.settings)

    def reads_engine(self, settings: Settings) -> bool:
        """Whether ``settings`` compare a run the session's engine reads.

        A test's ``@pytest.mark.runcompare`` that names both runs compares them in
        memory; one that keeps a session run keeps its engine.
        """
        if self.engine_name() is None:
            return False
        if settings is self.settings:
            return True
        return any(
            mine is not None and (theirs == mine or "engine" in theirs.options)
            for mine, theirs in (
                (self.settings.baseline, settings.baseline),
                (self.settings.candidate, settings.candidate),
            )
            if theirs is not None
        )

    def _refuse_engine_runs(self, settings: Settings, what: str) -> None:
        """Per-datapoint access to a run the engine reads: a clear error, not a load."""
        engine = self.engine_name()
        if engine is not None and self.reads_engine(settings):
            from pytest_runcompare.engine_session import not_in_memory

            raise RunCompareError(not_in_memory(engine, what, self.settings))

    def engine_comparison(self) -> EngineComparison:
        """The two runs opened in the session's engine, once (a failure is kept)."""
        if self._engine_error is not None:
            raise self._engine_error
        if self._engine is None:
            from pytest_runcompare.engine_session import open_engine

            try:
                self._engine = open_engine(self.settings, recording=self.recording)
            except RunCompareError as error:
                self._engine_error = error
                raise
        return self._engine

    def session_judgement(self, comparison: RunComparisonResult) -> Judgement | None:
        """The gates' judgement when ``comparison`` is the session's own, else None."""
        if not self.settings.gates.gates or self.baseline_missing():
            return None
        try:
            if comparison is not self.comparison():
                return None
        except RunCompareError:
            return None
        return self.judgement()

    def record_assertion(self, nodeid: str, result: GateResult) -> None:
        """Keep a fixture assertion's result for the reports."""
        self.assertions[(nodeid, result.key)] = result

    def gate_result(self, key: str) -> GateResult:
        """The judged result of one gate."""
        return self.judgement().result(key)

    def gate_specs(self) -> list[GateSpec]:
        """The gates to collect; ``slices: all`` needs the runs to know the names."""
        specs = self.settings.gates.gates
        if not any(s.expand for s in specs):
            return list(specs)
        from pytest_runcompare.pipeline import expand_gates

        if self.engine_name() is not None:
            engine: Any = self.engine_comparison()  # the pipeline's duck type
            return expand_gates(self.settings.gates, engine)
        return expand_gates(self.settings.gates, self.comparison())

    def sweep_gate_specs(self, label: str) -> list[GateSpec]:
        """One candidate's gates to collect (``slices: all`` expanded on its runs)."""
        specs = self.settings.gates.gates
        if not any(s.expand for s in specs):
            return list(specs)
        from pytest_runcompare.pipeline import expand_gates

        return expand_gates(
            self.settings.gates, self.sweep().candidate(label).comparison
        )

    def plan(self) -> Plan | None:
        """The power plan of the gates from the baseline alone (computed once).

        Its per-metric rows are computed only when a report will show them. None
        when the gates file turns it off (``defaults.power: off``), has no gates, or
        the baseline is missing or cannot be loaded: the gates themselves say so.
        """
        from pytest_runcompare.config import PowerPolicy

        if not self._plan_made:
            self._plan_made = True
            gates = self.settings.gates
            if (
                gates.gates
                and gates.power is not PowerPolicy.OFF
                and self.engine_name() is None  # it would load the baseline
                and self.settings.baseline is not None
                and not self.baseline_missing()
            ):
                from pytest_runcompare.plan import make_plan

                metrics = self.settings.request.outputs.wanted
                try:
                    self._plan = make_plan(
                        self.baseline_run(),
                        gates,
                        metrics=metrics,
                        candidate=self._planning_candidate(),
                    )
                except (RunCompareError, ValueError, ArithmeticError):
                    self._plan = None  # the gates say what is wrong with the baseline
        return self._plan

    def _planning_candidate(self) -> Run | None:
        """The candidate the plan measures correlations on, if it can be loaded.

        A configured file, not a run still being recorded; None when it cannot be
        loaded (the gates say why).
        """
        if self.recording or self.settings.candidate is None:
            return None
        try:
            return self.candidate_run()
        except (RunCompareError, ValueError, OSError):
            return None

    # ------------------------------------------------------------------ hooks
    @pytest.hookimpl
    def pytest_report_header(self, config: pytest.Config) -> list[str] | None:
        s = self.settings
        if not s.enabled and not s.gates.gates:
            return None
        parts = [
            f"baseline: {s.baseline.location if s.baseline else '(none)'}",
            f"candidates: {len(s.candidates)} location(s) (a sweep)"
            if s.sweep_declared
            else f"candidate: {s.candidate.location if s.candidate else '(recorded or none)'}",
            f"seed: {s.seed}",
        ]
        if s.gates.path is not None:
            parts.insert(0, f"gates: {s.gates.path}")
        engine = self.engine_name()
        if engine is not None:
            parts.append(f"engine: {engine}")
        return ["runcompare: " + ", ".join(parts)]

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        keys = [str(v) for k, v in report.user_properties if k == "runcompare_gate"]
        is_gate = bool(keys)
        self.gates_ran = self.gates_ran or is_gate
        self.ran_gate_keys.update(keys)
        uses = report.nodeid in self.comparison_users or any(
            k == "runcompare_fixture" for k, _ in report.user_properties
        )
        if report.when == "call" or report.outcome != "passed":
            if report.failed and not is_gate:
                self.other_failures += 1
            if not (is_gate or uses):
                return
            outcome: str = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            elif report.failed and report.when != "call":
                outcome = "error"
            message = ""
            if report.failed:
                message = report.longreprtext
            elif report.skipped and isinstance(report.longrepr, tuple):
                message = str(report.longrepr[2])
            if hasattr(report, "wasxfail"):
                message = str(report.wasxfail)
            from pytest_runcompare.render.model import TestRecord

            previous = self.tests.get(report.nodeid)
            if previous is not None and previous.outcome != "passed":
                return
            self.tests[report.nodeid] = TestRecord(
                nodeid=report.nodeid,
                outcome=outcome,
                message=message,
            )

    @pytest.hookimpl
    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.gates_deselected += sum(
            1 for i in items if i.get_closest_marker("runcompare_gate") is not None
        )

    def judged_anything(self) -> bool:
        """Whether a gate ran (here or on a worker) or a fixture compared runs."""
        return bool(
            self.gates_ran
            or self.deferred_gates
            or self.comparison_users
            or self.assertions
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """On the xdist controller: merge the datapoints a worker recorded."""
        output = getattr(node, "workeroutput", {})
        records = output.get(RECORDS_KEY)
        if records:
            self.recording = True
            self.get_recorder().merge(records)
            self.get_recorder().adopt(output.get(LINEAGE_KEY) or {})
        self.deferred_gates.update(output.get(DEFERRED_KEY) or {})

    def write_worker_output(self) -> None:
        """On an xdist worker: hand the recorded datapoints and deferred gates over."""
        output = self.config.workeroutput  # type: ignore[attr-defined]
        if self.recorder is not None and len(self.recorder):
            output[RECORDS_KEY] = self.recorder.records()
            output[LINEAGE_KEY] = self.recorder.lineage()
        if self.deferred_gates:
            output[DEFERRED_KEY] = self.deferred_gates

    def wanted(self) -> bool:
        """Whether this session compared, gated or recorded anything to finish."""
        return bool(
            self.gate_nodeids
            or self.gates_ran
            or self.deferred_gates
            or self.comparison_users
            or self.recording
            or self.settings.update_baseline
        )

    def warn_session_once(self) -> None:
        """The judgement's session-wide warnings, once per process."""
        if self.warned_session:
            return
        self.warned_session = True
        try:
            if self.is_sweep():
                warnings = tuple(
                    dict.fromkeys(
                        w for c in self.sweep().candidates for w in c.judgement.warnings
                    )
                )
            else:
                warnings = self.judgement().warnings
        except RunCompareError:
            return  # the gate's own outcome says what went wrong
        for warning in warnings:
            self.warn(warning)

    def warn(self, message: str, *, line: int | None = None) -> None:
        """A warning shown in pytest's warnings summary (run data in it shown escaped).

        It points at the gates file (at ``line``, else its first line), not at the
        plugin's code that noticed; without a gates file, at the caller.
        """
        path = self.settings.gates.path
        if path is None:
            warnings.warn(RunCompareWarning(log_text(message)), stacklevel=2)
            return
        warnings.warn_explicit(
            RunCompareWarning(log_text(message)),
            RunCompareWarning,
            filename=str(path),
            lineno=line or 1,
            module="runcompare",
        )

    def env(self, name: str) -> str | None:
        """An environment variable (kept here so tests can see what is read)."""
        return os.environ.get(name) or None

    def note(self, message: str) -> None:
        """A line for the terminal summary."""
        self.notes.append(message)

    def outcomes(self) -> Mapping[str, str]:
        """Gate key -> the status this session gave it."""
        if self._sweep is not None:
            return {
                f"{c.label}::{r.key}": str(r.status)
                for c in self._sweep.candidates
                for r in c.judgement.results
            }
        if self._judgement is None:
            return {}
        return {r.key: str(r.status) for r in self._judgement.results}
