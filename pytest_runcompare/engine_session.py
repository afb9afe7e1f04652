"""The pytest session's engine path (issue 15): where the engine reads, what it says.

Glue between the session's settings and :mod:`pytest_runcompare.engine`: which
engine reads the two runs (``--runcompare-engine``, or an ``engine:`` run location
of the gates file), their :class:`~pytest_runcompare.engine.EngineSource`, and the
wording of what goes wrong, so that a gate item names the gates file, the gate and
what to do. The session opens the runs once and judges them once
(``pipeline.judge_engine``); nothing here decides an outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_runcompare.errors import ConfigError, RunCompareError
from pytest_runcompare.untrusted import one_line

if TYPE_CHECKING:
    from pytest_runcompare.config import RunSource
    from pytest_runcompare.engine.source import EngineSource
    from pytest_runcompare.engine.view import EngineComparison
    from pytest_runcompare.pipeline import Judgement, Request
    from pytest_runcompare.settings import Settings

__all__ = [
    "EngineNotJudged",
    "engine_of",
    "judge_on_engine",
    "not_in_memory",
    "open_engine",
]

#: The longest engine error kept in a gate's message (Spark's carry Java traces).
ERROR_CHARS = 600


class EngineNotJudged(RunCompareError):
    """The engine could not open or judge the runs; the message says what to do."""


def engine_of(settings: Settings) -> str | None:
    """The engine that reads this session's runs, or None for the in-memory path.

    ``--runcompare-engine`` (or the ini key) first, else the first run location of
    the gates file that names an ``engine:``.
    """
    if settings.engine is not None:
        return settings.engine
    for source in (settings.baseline, settings.candidate):
        if source is not None and "engine" in source.options:
            return str(source.options["engine"])
    return None


def _source(
    source: RunSource | None, role: str, engine: str, settings: Settings
) -> EngineSource:
    """One run's engine location: its path (or table) and the engine options."""
    from pytest_runcompare.engine.source import ENGINE_KEYS, engine_source

    origin = settings.origins.get(role, role)
    if source is None:
        raise ConfigError(
            f"no {role} configured for the {engine} engine: give "
            f"--runcompare-{role} PATH or '{role}: {{engine: {engine}, path: ...}}' "
            "in the gates file"
        )
    options = {k: v for k, v in source.options.items() if k in ENGINE_KEYS}
    options.setdefault("engine", engine)
    if settings.engine is not None:  # the command line names the engine of both
        options["engine"] = settings.engine
    location = None if options.get("table") is not None else source.location
    try:
        return engine_source(location, options, key=role)
    except ConfigError as error:
        raise ConfigError(f"{error} (the {role} is set by {origin})") from None


def _first_lines(error: BaseException) -> str:
    """An engine's error: its first line, bounded (the SQL and Java traces dropped)."""
    lines = str(error).strip().splitlines()
    return one_line(lines[0] if lines else type(error).__name__, ERROR_CHARS)


def _hint(engine: str, error: BaseException, settings: Settings) -> str:
    """What to do when the engine could not open the runs."""
    if isinstance(error, RunCompareError):
        where = settings.gates.path or "the gates file"
        return (
            f"check the baseline and candidate locations of {where} (or "
            "--runcompare-baseline / --runcompare-candidate): the engine path reads "
            "existing runs and never creates a baseline"
        )
    if engine == "spark":
        return (
            "Spark local mode needs a working Java (17 or later on PATH, or "
            "JAVA_HOME) and pyspark ('pytest-runcompare[spark]'); or read the runs "
            "with engine: duckdb"
        )
    return "check that the engine is installed ('pytest-runcompare[engine]')"


def open_engine(settings: Settings, *, recording: bool) -> EngineComparison:
    """The two runs opened in their engine (``engine.open_comparison``).

    Raises :class:`EngineNotJudged` naming the engine, the run and what to do.
    """
    from pytest_runcompare.engine import open_comparison

    engine = engine_of(settings)
    assert engine is not None
    if recording:
        raise EngineNotJudged(
            f"the {engine} engine reads runs from files or tables, but this session "
            "records its candidate with the runcompare_recorder fixture (in memory): "
            "judge a recorded candidate without an engine, or save it and name it "
            f"as 'candidate: {{engine: {engine}, path: ...}}'"
        )
    try:
        baseline = _source(settings.baseline, "baseline", engine, settings)
        candidate = _source(settings.candidate, "candidate", engine, settings)
        comparison = open_comparison(baseline, candidate, settings.gates)
    except Exception as error:  # duckdb.Error, Py4J and Spark errors included
        raise EngineNotJudged(
            f"the {engine} engine could not open the runs: {_first_lines(error)}; "
            f"{_hint(engine, error, settings)}"
        ) from None
    return comparison


def judge_on_engine(comparison: EngineComparison, request: Request) -> Judgement:
    """``pipeline.judge_engine``; an engine failure mid-query as :class:`EngineNotJudged`."""
    from pytest_runcompare.pipeline import judge_engine

    try:
        return judge_engine(comparison, request)
    except RunCompareError:
        raise
    except Exception as error:  # the engine's own error (out of memory, SQL)
        raise EngineNotJudged(
            f"the {comparison.engine_name} engine failed while judging the gates: "
            f"{_first_lines(error)}; for DuckDB, raise the run location's "
            "memory_limit or give it a temp_directory to spill to"
        ) from None


def not_in_memory(engine: str, what: str, settings: Settings) -> str:
    """Why ``what`` (a fixture) cannot see this session's runs, and what to use."""
    gates = settings.gates.path
    where = f" ({gates})" if gates is not None else ""
    name = "runcompare.yaml" if gates is None else gates.name
    named = (
        "--runcompare-engine"
        if settings.engine is not None
        else f"the gates file's engine: locations{where}"
    )
    return (
        f"{what} needs the runs in memory, datapoint by datapoint, but this "
        f"session reads them with the {engine} engine (named by {named}), which "
        "judges the gates file's gates from sufficient statistics without loading "
        f"them. Gate the metric in the gates file instead (its item {name}::<gate> "
        "is judged on the engine), read the top changed "
        "datapoints in the JSON report (--runcompare-json FILE), or compare a pair "
        "that fits in memory with @pytest.mark.runcompare(baseline=..., "
        "candidate=...)"
    )
