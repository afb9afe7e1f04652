"""The pytest layer's settings: command line over ini over gates file over default.

:func:`settings_from_config` is the only place that reads ``config.getoption`` or
``config.getini``; it parses every value at the boundary and raises
``pytest.UsageError`` with the accepted syntax when one is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_runcompare.config import Candidate, GatesConfig, RunSource
    from pytest_runcompare.pipeline import Request
    from pytest_runcompare.session import RunCompareSession

DEFAULT_GATES_FILE = "runcompare.yaml"
SESSION_KEY: pytest.StashKey[RunCompareSession] = pytest.StashKey()
DEFAULT_RECORD_PATH = ".runcompare/candidate.jsonl"
#: where the HTML report goes when no report path is configured (under the rootdir)
DEFAULT_REPORT_PATH = ".runcompare/report.html"

#: option name (without ``--runcompare-``) -> (ini key, help)
OPTIONS: dict[str, tuple[str, str]] = {
    "baseline": (
        "runcompare_baseline",
        "baseline run: a path (file or directory) or path::selector",
    ),
    "candidate": (
        "runcompare_candidate",
        "candidate run to judge against the baseline",
    ),
    "config": (
        "runcompare_config",
        f"gates file (default: {DEFAULT_GATES_FILE} in the rootdir, else beside the "
        "ini file, else in the current directory)",
    ),
    "report": (
        "runcompare_report",
        f"write the HTML report to this file (default: {DEFAULT_REPORT_PATH} in the "
        "rootdir)",
    ),
    "markdown": ("runcompare_markdown", "write the Markdown summary to this file"),
    "report_url": (
        "runcompare_report_url",
        "where reviewers open the HTML report (e.g. the CI artifact's URL): the "
        "Markdown summary links it and each datapoint (default: the gates file's "
        "report.url)",
    ),
    "json": ("runcompare_json", "write the JSON report to this file"),
    "seed": ("runcompare_seed", "seed for resampling tests (default: 0)"),
    "alpha": (
        "runcompare_alpha",
        "one-sided significance level of every gate (default: 0.05)",
    ),
    "require": (
        "runcompare_require",
        "a sweep (several candidates) passes when every candidate passes every gate "
        "(all) or when at least one does (any); default: the gates file's "
        "sweep.require, else all",
    ),
    "record": (
        "runcompare_record",
        f"where runcompare_recorder writes the recorded candidate (default: {DEFAULT_RECORD_PATH})",
    ),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The session's :class:`~pytest_runcompare.pipeline.Request` and the pytest-only values."""

    rootdir: Path
    request: Request
    record_path: Path
    update_baseline: bool
    reason: str | None
    accept_failed: bool = False
    #: where the baseline and candidate locations came from, for error messages
    origins: Mapping[str, str] = field(default_factory=dict)
    #: the ``--runcompare-*`` options given on the command line (they ask for a
    #: judgement: a session that judges nothing then fails)
    asked: tuple[str, ...] = ()
    #: the ini keys that are set
    ini_keys: tuple[str, ...] = ()
    #: where the default gates file was looked for
    searched: tuple[Path, ...] = ()
    #: the HTML report goes to :data:`DEFAULT_REPORT_PATH`: no path was configured
    default_report: bool = False
    #: the gates file's ``candidates:`` (a sweep), or the command line's candidate
    #: when it may hold several runs; unexpanded
    candidates: tuple[Candidate, ...] = ()
    #: the candidates come from the gates file's ``candidates:`` (always a sweep)
    sweep_declared: bool = False
    #: ``--runcompare-engine`` (or the ini key): the engine that reads both runs
    engine: str | None = None

    @property
    def gates(self) -> GatesConfig:
        """The gates file (with the command line's alpha)."""
        return self.request.config

    @property
    def baseline(self) -> RunSource | None:
        """Where the baseline is."""
        return self.request.baseline

    @property
    def candidate(self) -> RunSource | None:
        """Where the candidate is."""
        return self.request.candidate

    @property
    def seed(self) -> int:
        """The resampling seed."""
        return self.request.seed

    @property
    def html(self) -> Path | None:
        """Where the HTML report goes."""
        return self.request.outputs.html

    @property
    def enabled(self) -> bool:
        """Whether there is anything to compare (a baseline is configured)."""
        return self.baseline is not None


def _value(config: pytest.Config, name: str) -> str | None:
    """Command line first, then the ini key."""
    value = config.getoption(f"runcompare_{name}")
    if value is None:
        ini = config.getini(OPTIONS[name][0])
        value = ini or None
    return None if value is None else str(value)


def _path(config: pytest.Config, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _number(
    name: str, text: str | None, kind: type, accepted: str
) -> float | int | None:
    if text is None:
        return None
    try:
        return kind(text)  # type: ignore[no-any-return]
    except ValueError:
        raise pytest.UsageError(
            f"--runcompare-{name}: invalid value {text!r} (expected {accepted})"
        ) from None


#: files that mark a project's root: the search for a gates file stops there
PROJECT_MARKERS = (".git", "pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def gates_file_dirs(config: pytest.Config) -> list[Path]:
    """Where the default gates file is looked for, in order.

    The rootdir, the ini file's folder, then the current directory and its parents
    up to the first that holds a project marker (:data:`PROJECT_MARKERS`). The
    rootdir alone is not enough: pytest fixes it before it knows this plugin's
    options, so ``--runcompare-candidate /ci/artifacts/run`` (the space form) counts
    the value as a path argument and moves the rootdir (and the ini file) away.
    """
    dirs = [Path(config.rootpath)]
    if config.inipath is not None:
        dirs.append(Path(config.inipath).parent)
    here = Path(config.invocation_params.dir)
    for directory in (here, *here.parents):
        dirs.append(directory)
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            break
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in {o.resolve() for o in out}:
            out.append(d)
    return out


def default_gates_file(config: pytest.Config) -> Path | None:
    """The first ``runcompare.yaml`` of :func:`gates_file_dirs`, if there is one."""
    for directory in gates_file_dirs(config):
        if (directory / DEFAULT_GATES_FILE).is_file():
            return directory / DEFAULT_GATES_FILE
    return None


def _key_line(path: Path, key: str) -> int | None:
    """The line of a top-level key of the gates file (None when it cannot be read).

    A top-level key of a block mapping starts its line, which is all this needs.
    """
    import re

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(
        rf"""^(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*:"""
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def is_configured(config: pytest.Config) -> bool:
    """Whether this session asks for anything: an option, an ini key or a gates file.

    Sessions that do not pay nothing beyond importing this module.
    """
    for name, (ini, _) in OPTIONS.items():
        if config.getoption(f"runcompare_{name}") is not None or config.getini(ini):
            return True
    if config.getoption("runcompare_update_baseline"):
        return True
    return default_gates_file(config) is not None


def settings_from_config(config: pytest.Config) -> Settings:
    """Read options, ini keys and the gates file into :class:`Settings`."""
    from pytest_runcompare.config import (
        GatesConfig,
        RunSource,
        resolve_location,
    )
    from pytest_runcompare.errors import ConfigError

    rootdir = Path(config.rootpath)
    config_value = _value(config, "config")
    if config_value is not None:
        gates_path = _path(config, config_value)
        if gates_path is None or not gates_path.is_file():
            raise pytest.UsageError(
                f"--runcompare-config: gates file {config_value!r} not found"
            )
    else:
        gates_path = default_gates_file(config)
    gates = GatesConfig()
    if gates_path is not None:
        from pytest_runcompare.config import load_gates_file

        try:
            gates = load_gates_file(gates_path)
        except ConfigError as error:
            raise pytest.UsageError(str(error)) from None

    origins: dict[str, str] = {}

    def source(name: str) -> RunSource | None:
        value = _value(config, name)
        from_file = gates.baseline if name == "baseline" else gates.candidate
        if value is None:
            if from_file is not None and gates.path is not None:
                line = _key_line(gates.path, name)
                where = f"{gates.path}:{line}" if line else str(gates.path)
                origins[name] = f"{where}: {name}"
            return from_file
        origins[name] = (
            f"--runcompare-{name}"
            if config.getoption(f"runcompare_{name}") is not None
            else f"ini key {OPTIONS[name][0]}"
        )
        base = Path(config.invocation_params.dir)
        if config.getoption(f"runcompare_{name}") is None:
            base = rootdir  # an ini value is relative to the rootdir
        options = {} if from_file is None else dict(from_file.options)
        return RunSource(resolve_location(value, base), options)

    from pytest_runcompare.pipeline import build_request, registered_tests

    def given(name: str) -> Path | None:
        value = _value(config, name)
        return None if value is None else _path(config, value)

    seed_text = _value(config, "seed")
    alpha_text = _value(config, "alpha")
    baseline = source("baseline")
    if baseline is not None:
        from pytest_runcompare.history import reference_problem

        problem = reference_problem(
            baseline.location,
            promoting=bool(config.getoption("runcompare_update_baseline")),
        )
        if problem is not None:
            raise pytest.UsageError(f"{origins.get('baseline', 'baseline')}: {problem}")
    candidate = source("candidate")
    from pytest_runcompare.config import Candidate, Require

    require = _value(config, "require")
    if require is not None:
        if require not in ("all", "any"):
            raise pytest.UsageError(
                f"--runcompare-require: invalid value {require!r} (expected all or any)"
            )
        sweep = replace(gates.sweep, require=Require(require))
        gates = replace(gates, sweep=sweep)
    sweep_declared = candidate is None and bool(gates.candidates)
    if sweep_declared:
        candidates = gates.candidates
    elif candidate is not None:
        candidates = (Candidate(None, candidate),)
    else:
        candidates = ()
    try:
        request = build_request(
            gates,
            baseline=baseline,
            candidate=candidate,
            seed=_number("seed", seed_text, int, "a non-negative integer"),
            alpha=_number("alpha", alpha_text, float, "a number in (0, 0.5)"),
            html=given("report"),
            markdown=given("markdown"),
            json=given("json"),
            report_url=_value(config, "report_url"),
            # command line, else the ini key, else the gates file's report.mlflow
            mlflow_log=config.getoption("runcompare_mlflow_log")
            or config.getini("runcompare_mlflow_log"),
            custom_tests=registered_tests(
                config.hook.pytest_runcompare_register_tests()
            ),
            option_names={
                "seed": "--runcompare-seed",
                "alpha": "--runcompare-alpha",
                "report_url": "--runcompare-report-url",
            },
        )
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    default_report = request.outputs.html is None
    if default_report:
        # A comparison always leaves a report a reviewer can open.
        outputs = replace(request.outputs, html=rootdir / DEFAULT_REPORT_PATH)
        request = replace(request, outputs=outputs)
    record = _value(config, "record") or DEFAULT_RECORD_PATH
    record_path = Path(record) if Path(record).is_absolute() else rootdir / record
    accept = bool(config.getoption("runcompare_accept_failed"))
    reason = config.getoption("runcompare_reason")
    if accept and not (reason and str(reason).strip()):
        raise pytest.UsageError(
            "--runcompare-accept-failed needs --runcompare-reason TEXT: say why a "
            "candidate whose gates failed becomes the baseline (it goes into the "
            "provenance record)"
        )
    if accept and not config.getoption("runcompare_update_baseline"):
        raise pytest.UsageError(
            "--runcompare-accept-failed applies to --runcompare-update-baseline"
        )
    asked = [
        f"--runcompare-{name.replace('_', '-')}"
        for name in OPTIONS
        if config.getoption(f"runcompare_{name}") is not None
    ]
    engine = _engine(config)
    if config.getoption("runcompare_engine") is not None:
        asked.append("--runcompare-engine")
    return Settings(
        rootdir=rootdir,
        request=request,
        record_path=record_path,
        update_baseline=bool(config.getoption("runcompare_update_baseline")),
        reason=reason,
        accept_failed=accept,
        origins=origins,
        asked=tuple(asked),
        ini_keys=tuple(ini for ini, _ in OPTIONS.values() if config.getini(ini)),
        searched=tuple(gates_file_dirs(config)),
        default_report=default_report,
        candidates=candidates,
        sweep_declared=sweep_declared,
        engine=engine,
    )


#: the engines ``--runcompare-engine`` accepts (``engine.source.Engine``)
ENGINES = ("duckdb", "spark")


def _engine(config: pytest.Config) -> str | None:
    """``--runcompare-engine``, else the ``runcompare_engine`` ini key, checked."""
    value = config.getoption("runcompare_engine") or config.getini("runcompare_engine")
    if not value:
        return None
    if str(value) not in ENGINES:
        raise pytest.UsageError(
            f"ini key runcompare_engine: invalid value {value!r} (expected "
            f"{' or '.join(ENGINES)})"
        )
    return str(value)


def with_marker(
    settings: Settings, kwargs: dict[str, object], rootdir: Path
) -> Settings:
    """Settings for one test carrying ``@pytest.mark.runcompare(...)``."""
    from pytest_runcompare.config import RunSource, resolve_location

    accepted = {"baseline", "candidate", "seed"}
    unknown = set(kwargs) - accepted
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.runcompare: unknown argument(s) {sorted(unknown)} "
            f"(accepted: {', '.join(sorted(accepted))})"
        )
    out = settings
    for name in ("baseline", "candidate"):
        if name in kwargs:
            value = kwargs[name]
            if not isinstance(value, str | Path):
                raise pytest.UsageError(
                    f"@pytest.mark.runcompare({name}=...): expected a path, got {value!r}"
                )
            located = RunSource(resolve_location(str(value), rootdir))
            request = (
                replace(out.request, baseline=located)
                if name == "baseline"
                else replace(out.request, candidate=located)
            )
            out = replace(out, request=request)
    if "seed" in kwargs:
        seed = kwargs["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise pytest.UsageError(
                "@pytest.mark.runcompare(seed=...): expected a non-negative integer, "
                f"got {seed!r}"
            )
        out = replace(out, request=replace(out.request, seed=seed))
    return out
