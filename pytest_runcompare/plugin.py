"""The pytest plugin (``-p runcompare``): options, ini keys, hooks, collection, fixtures.

Pure glue: every value is turned into plain settings before the core is called, and
nothing heavy (numpy, scipy, jinja2) is imported until a comparison is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_runcompare.errors import RunCompareError
from pytest_runcompare.settings import OPTIONS, SESSION_KEY, Settings, is_configured

if TYPE_CHECKING:
    from pytest_runcompare.assertions import RunCompareAssertions
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.recorder import Recorder
    from pytest_runcompare.runs import Run


#: ini keys without a command-line option: promotion and the recorded run's lineage.
EXTRA_INI: dict[str, str] = {
    "runcompare_history": "removed: every previous baseline is kept; setting it is an "
    "error (delete old generations with `runcompare prune BASELINE --keep K`)",
    "runcompare_lock_timeout": "seconds a promotion waits for another one holding the "
    "baseline's lock (default 60)",
    "runcompare_record_name": "name of the recorded candidate run (default: "
    "'recorded candidate')",
    "runcompare_record_seed": "the model's seed, recorded in the recorded candidate's "
    "lineage (never the resampling seed)",
    "runcompare_record_params": "the model's parameters for the recorded candidate's "
    "lineage, as a JSON or YAML mapping",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "runcompare", "compare model evaluation runs (pytest-runcompare)"
    )
    for name, (ini, help_text) in OPTIONS.items():
        metavar = {
            "seed": "N",
            "alpha": "A",
            "config": "FILE",
            "report_url": "URL",
            "require": "all|any",
        }
        group.addoption(
            f"--runcompare-{name.replace('_', '-')}",
            dest=f"runcompare_{name}",
            metavar=metavar.get(name, "PATH"),
            default=None,
            help=help_text,
        )
        parser.addini(ini, help=help_text, default=None)
    group.addoption(
        "--runcompare-update-baseline",
        dest="runcompare_update_baseline",
        action="store_true",
        default=False,
        help="promote the candidate to be the new baseline after the session (atomic; the previous one is kept in the history)",
    )
    group.addoption(
        "--runcompare-accept-failed",
        dest="runcompare_accept_failed",
        action="store_true",
        default=False,
        help="with --runcompare-update-baseline: promote the candidate although gates "
        "failed (needs --runcompare-reason; the failed gates go into the provenance)",
    )
    group.addoption(
        "--runcompare-reason",
        dest="runcompare_reason",
        metavar="TEXT",
        default=None,
        help="why the baseline is updated (recorded in its provenance)",
    )
    group.addoption(
        "--runcompare-mlflow-log",
        dest="runcompare_mlflow_log",
        action="store_true",
        default=None,
        help="log each gate's change, interval, p-value and verdict, and the HTML "
        "report, onto the candidate's MLflow run (a candidate read as "
        "mlflow://<run_id>; default: the ini key, else the gates file's report.mlflow)",
    )
    parser.addini(
        "runcompare_mlflow_log",
        help="true: log the comparison onto the candidate's MLflow run (as "
        "--runcompare-mlflow-log; default: the gates file's report.mlflow)",
        type="bool",
        default=None,
    )
    group.addoption(
        "--runcompare-engine",
        dest="runcompare_engine",
        choices=("duckdb", "spark"),
        metavar="duckdb|spark",
        default=None,
        help="judge the gates in an engine, from sufficient statistics: runs that do "
        "not fit in memory (Parquet, JSONL or CSV paths and globs, or the gates "
        "file's engine locations; as `runcompare compare --engine`)",
    )
    parser.addini(
        "runcompare_engine",
        help="duckdb or spark: the engine that reads both runs (the ini form of the "
        "engine option)",
        default=None,
    )
    for ini, help_text in EXTRA_INI.items():
        parser.addini(ini, help=help_text, default=None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_runcompare import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "runcompare(baseline=None, candidate=None, seed=None): compare these runs in this "
        "test's run_comparison and runcompare fixtures",
    )
    config.addinivalue_line("markers", "runcompare_gate: a gate of the gates file")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.import_plugin("pytest_runcompare.pytest_html_extras")
    if not is_configured(config):
        return  # nothing asked for: the session state is made if a fixture needs it
    from pytest_runcompare.session import get_session

    state = get_session(config)
    from pytest_runcompare.finish import refuse_engine_promotion, remember_baseline

    refuse_engine_promotion(state)
    remember_baseline(config, state)
    _collect_gates_by_default(config, state.settings.gates.path)


def _collect_gates_by_default(config: pytest.Config, gates_path: Path | None) -> None:
    """Without explicit arguments, collect the gates file even outside ``testpaths``."""
    if gates_path is None or config.args_source is pytest.Config.ArgsSource.ARGS:
        return
    gates_path = Path(gates_path).resolve()
    for arg in config.args:
        base = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if base == gates_path or base in gates_path.parents:
            return
    config.args.append(str(gates_path))


def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> pytest.Collector | None:
    state = parent.config.stash.get(SESSION_KEY, None)
    if state is None:
        return None
    gates_path = state.settings.gates.path
    if gates_path is not None and file_path == Path(gates_path):
        from pytest_runcompare.collection import GatesFile

        gates_file: pytest.Collector = GatesFile.from_parent(parent, path=file_path)
        return gates_file
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Gates run after every other test, so that a recorded candidate is complete.

    Under xdist with a recorded candidate, no worker sees the whole run: the workers
    hand their gates to the controller, which judges the merged run at the end.
    """
    marked = [i for i in items if i.get_closest_marker("runcompare") is not None]
    state = config.stash.get(SESSION_KEY, None)
    if (
        state is None
        and not marked
        and not any(
            "runcompare_recorder" in getattr(i, "fixturenames", ()) for i in items
        )
    ):
        return
    from pytest_runcompare.collection import GateItem
    from pytest_runcompare.session import get_session
    from pytest_runcompare.settings import with_marker

    state = get_session(config)
    for item in marked:
        marker = item.get_closest_marker("runcompare")
        if marker is not None:
            try:
                with_marker(state.settings, dict(marker.kwargs), Path(item.path).parent)
            except pytest.UsageError as error:
                raise pytest.UsageError(f"{item.nodeid}: {error}") from None
    gates = [i for i in items if isinstance(i, GateItem)]
    state.recording = any(
        "runcompare_recorder" in getattr(i, "fixturenames", ()) for i in items
    )
    _check_candidate_exists(state, bool(gates))
    state.gate_nodeids = {i.spec.gate.key: i.nodeid for i in gates}
    if gates and state.is_worker and state.recording:
        items[:] = [i for i in items if not isinstance(i, GateItem)]
        state.deferred_gates = dict(state.gate_nodeids)
        return
    if gates:
        items[:] = [*(i for i in items if not isinstance(i, GateItem)), *gates]


def _check_candidate_exists(state: Any, has_gates: bool) -> None:
    """A configured candidate that is not there is a usage error, not N failed gates.

    (A missing *baseline* is different: the gates say how to create one.)
    """
    from pytest_runcompare.loaders.registry import is_uri, split_location

    source = state.settings.candidate
    if not has_gates or state.recording or source is None or is_uri(source.location):
        return
    if state.engine_name() is not None:  # a table or a glob: the engine says
        return
    if state.is_sweep():  # a glob or a location of several runs, expanded
        return
    path = split_location(source.location)[0]
    if not path.exists():
        origin = state.settings.origins.get("candidate", "candidate")
        raise pytest.UsageError(
            f"{origin}: the candidate run {path} does not exist (give the path of a "
            "run file or folder, or record the candidate with runcompare_recorder)"
        )


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """The gate table and the session's notes, after pytest's own summary."""
    state = config.stash.get(SESSION_KEY, None)
    if state is None or state.is_worker or not (state.wanted() or state.notes):
        return
    from pytest_runcompare.finish import write_terminal_summary

    try:
        write_terminal_summary(terminalreporter, state)
    except Exception as error:  # reporting hooks never raise (unlike pytest-benchmark)
        from pytest_runcompare.untrusted import log_text

        terminalreporter.write_line(
            log_text(f"runcompare: could not summarise the gates: {error}"), red=True
        )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Reports, GitHub outputs and the baseline update (the controller's job)."""
    state = session.config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    if state.is_worker:
        state.write_worker_output()
        return
    if state.wanted():
        from pytest_runcompare.finish import finish_session

        finish_session(state, session)
    from pytest_runcompare.unjudged import unjudged

    problem = unjudged(state, session.config)
    if problem is not None and session.exitstatus in (0, 5):
        state.note(problem)  # never green without judging
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---------------------------------------------------------------------- fixtures


def _setup_failed(request: pytest.FixtureRequest, error: Exception) -> BaseException:
    """A fixture's failure as one paragraph naming the test (no chained traceback)."""
    nodeid = request.node.nodeid
    where = f"{nodeid}: " if nodeid else ""
    return pytest.fail.Exception(f"{where}{error}", pytrace=False)


@pytest.fixture(scope="session")
def baseline_run(request: pytest.FixtureRequest) -> Run:
    """The baseline run of the session (loaded once per process)."""
    from pytest_runcompare.session import get_session

    try:
        return get_session(request.config).baseline_run()
    except RunCompareError as error:  # one paragraph, not a traceback through us
        raise _setup_failed(request, error) from None


@pytest.fixture(scope="session")
def candidate_run(request: pytest.FixtureRequest) -> Run:
    """The candidate run of the session (loaded once per process)."""
    from pytest_runcompare.session import get_session

    try:
        return get_session(request.config).candidate_run()
    except RunCompareError as error:  # one paragraph, not a traceback through us
        raise _setup_failed(request, error) from None


@pytest.fixture
def run_comparison(request: pytest.FixtureRequest) -> RunComparisonResult:
    """The comparison of baseline and candidate (``@pytest.mark.runcompare`` overrides)."""
    from pytest_runcompare.session import get_session

    state = get_session(request.config)
    settings = _marked_settings(request, state.settings)
    request.node.user_properties.append(("runcompare_fixture", "run_comparison"))
    state.comparison_users.add(request.node.nodeid)
    try:
        return state.comparison(settings)
    except RunCompareError as error:  # one paragraph, not a traceback through us
        raise _setup_failed(request, error) from None


def _marked_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The session's settings with this test's ``@pytest.mark.runcompare`` paths.

    Marker paths are relative to the test file's folder; a path that does not exist
    fails the test with one paragraph naming the test, the path and that folder.
    """
    from pytest_runcompare.history import is_reference
    from pytest_runcompare.loaders.registry import is_uri, split_location
    from pytest_runcompare.settings import with_marker

    marker = request.node.get_closest_marker("runcompare")
    if marker is None:
        return settings
    base = Path(request.node.path).parent
    try:
        out = with_marker(settings, dict(marker.kwargs), base)
    except pytest.UsageError as error:
        raise _setup_failed(request, error) from None
    for name in ("baseline", "candidate"):
        source = getattr(out, name)
        if name not in marker.kwargs or source is None or is_uri(source.location):
            continue
        if is_reference(source.location):
            continue  # an older generation (runs/baseline@2): loading it says if not
        path = split_location(source.location)[0]
        if not path.exists():
            pytest.fail(
                f"{request.node.nodeid}: @pytest.mark.runcompare({name}="
                f"{marker.kwargs[name]!r}): no run at {path}. Marker paths are "
                f"relative to the test file's folder ({base}); give a path from "
                "there, or an absolute one",
                pytrace=False,
            )
    return out


@pytest.fixture
def runcompare(
    request: pytest.FixtureRequest, run_comparison: RunComparisonResult
) -> RunCompareAssertions:
    """Assertions for hand-written tests: ``runcompare.assert_no_regression("bleu", margin="2%")``."""
    from pytest_runcompare.assertions import RunCompareAssertions
    from pytest_runcompare.session import get_session

    state = get_session(request.config)
    settings = _marked_settings(request, state.settings)
    report = settings.html
    nodeid = request.node.nodeid
    return RunCompareAssertions(
        run_comparison,
        settings.request,
        session=lambda: state.session_judgement(run_comparison),
        record=lambda result: state.record_assertion(nodeid, result),
        report=None if report is None else str(report),
    )


@pytest.fixture(scope="session")
def runcompare_recorder(request: pytest.FixtureRequest) -> Recorder:
    """Record the candidate run from the tests: ``runcompare_recorder.record(id, output=..., metrics=...)``."""
    from pytest_runcompare.session import get_session

    state = get_session(request.config)
    state.recording = True
    return state.get_recorder()


# ---------------------------------------------------------------------- default hooks


def pytest_runcompare_register_tests() -> dict[str, Any] | None:
    """No extra tests by default (see :mod:`pytest_runcompare.hookspecs`)."""
    return None
