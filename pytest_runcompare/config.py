"""The gates file (``runcompare.yaml``), validated into plain values.

Every problem is a :class:`ConfigError` naming the file, the line, the key and what
is accepted. Example::

    baseline: runs/baseline          # or {path: results.json, format: promptfoo, ...}
    candidate: runs/candidate
    defaults:
      alpha: 0.05
      mode: non_inferiority          # regression_detection | equivalence
      correction: holm               # bh | bonferroni | none (regression_detection family)
      missing: fail                  # worst | drop
      min_coverage: 0.99
      compatibility: fail            # warn
    metrics:
      exact_match:
        margin: 2%                   # or 0.02 (metric units)
        slices: [lang:de]            # also gate these slices
        max_new_failures: 3
      latency_ms:
        direction: lower
        aggregate: p95
        margin: 10%
    waivers:
      - metric: exact_match
        slice: lang:de
        reason: "new tokenizer, accepted in #123"
        expires: 2026-12-31
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.spec import (
    BUILTIN_TESTS,
    Correction,
    Gate,
    Mode,
    RunPolicy,
    parse_choice,
)

TOP_KEYS = (
    "baseline",
    "candidate",
    "candidates",
    "sweep",
    "defaults",
    "metrics",
    "waivers",
    "report",
    "seed",
)
SWEEP_KEYS = ("require", "best", "correction")
DEFAULT_KEYS = (
    "alpha",
    "mode",
    "correction",
    "missing",
    "min_coverage",
    "compatibility",
    "incomplete_runs",
    "inconclusive",
    "aggregate",
    "test",
    "pairing",
    "margin",
    "slices",
    "power",
    "power_warn_below",
    "power_correlation",
)
METRIC_KEYS = (
    "direction",
    "aggregate",
    "margin",
    "mode",
    "test",
    "alpha",
    "missing",
    "min_coverage",
    "inconclusive",
    "pairing",
    "correction",
    "slices",
    "steps",
    "max_new_failures",
    "denominator",
    "gate",
)
WAIVER_KEYS = ("metric", "slice", "step", "ids", "reason", "expires")
REPORT_KEYS = ("html", "markdown", "json", "max_outputs", "url", "mlflow")
#: What a report URL (``report.url``) may be, in an error message.
REPORT_URL_SYNTAX = (
    "an http:// or https:// URL without spaces, e.g. a CI artifact's URL"
)


def report_url_problem(value: object) -> str | None:
    """Why ``value`` is not a report URL the Markdown summary may link, or None.

    Only http(s) with a host: a PR comment must not link ``javascript:`` or a path
    of the CI machine, and a space or control character would end the link.
    """
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return f"must be a URL, got {type(value).__name__} {value!r}"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return f"must not hold spaces or control characters, got {value!r}"
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f"must be an http:// or https:// URL with a host, got {value!r}"
    return None


#: An absolute margin is 0 or within these bounds: beyond them a margin's square (in
#: the power and sample-size figures) overflows or the n it needs is infinite.
ABSOLUTE_MARGIN = (1e-100, 1e100)
#: The smallest relative margin (a fraction of the baseline: 1e-10 is 1e-8%).
RELATIVE_MARGIN_MIN = 1e-10
#: ``alpha`` in [1e-10, 0.5): below 1e-10 the two-sided interval ``1 - 2 alpha`` would
#: round to certainty.
ALPHA = (1e-10, 0.5)
#: The largest count or seed a gates file may give (exact in a float and in int64).
MAX_COUNT = 2**53


class PowerPolicy(StrEnum):
    """What an underpowered gate does at collection (``defaults.power``)."""

    WARN = "warn"
    FAIL = "fail"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Waiver:
    """An expected change: a metric, a slice or datapoint ids, with a reason and expiry."""

    reason: str
    metric: str | None = None
    slice: str | None = None
    step: str | None = None
    ids: tuple[str, ...] = ()
    expires: _dt.date | None = None
    line: int | None = None

    def expired(self, today: _dt.date | None = None) -> bool:
        """Whether the expiry date has passed."""
        today = today or _dt.date.today()
        return self.expires is not None and self.expires < today

    def covers(self, gate: Gate) -> bool:
        """Whether this waiver excuses ``gate`` as a whole (not just some of its ids)."""
        if self.ids:
            return False
        return (
            (self.metric is None or self.metric == gate.metric)
            and (self.slice is None or self.slice == gate.slice)
            and (self.step is None or self.step == gate.step)
        )

    def excludes_from(self, gate: Gate) -> tuple[str, ...]:
        """The datapoint ids this waiver takes out of ``gate``'s test."""
        if not self.ids:
            return ()
        if self.metric is not None and self.metric != gate.metric:
            return ()
        if self.slice is not None and self.slice != gate.slice:
            return ()
        if self.step is not None and self.step != gate.step:
            return ()
        return self.ids

    def describe(self) -> str:
        """One line naming what is waived."""
        what = []
        if self.metric:
            what.append(self.metric)
        if self.slice:
            what.append(f"slice {self.slice}")
        if self.step:
            what.append(f"step {self.step}")
        if self.ids:
            what.append(f"{len(self.ids)} datapoint(s)")
        return " / ".join(what) or "everything"


@dataclass(frozen=True, slots=True)
class RunSource:
    """Where a run comes from: a location and reader options."""

    location: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate of a sweep: a location and, when given, its label.

    ``label=None``: a glob, a folder of runs or a file holding several runs, named
    (and expanded) by :func:`pytest_runcompare.loaders.multi.expand_candidates`.
    """

    label: str | None
    source: RunSource


class Require(StrEnum):
    """What a sweep asks of its candidates for the session to pass."""

    #: every candidate passes every gate
    ALL = "all"
    #: at least one candidate passes every gate (the sweep found a good one)
    ANY = "any"


class SweepCorrection(StrEnum):
    """How a sweep controls its family of candidates x gates."""

    #: each candidate's gates at alpha / K: the verdicts hold for all K at once
    BONFERRONI = "bonferroni"
    #: each candidate at alpha, as K separate two-run comparisons
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """The gates file's ``sweep:`` section."""

    require: Require = Require.ALL
    #: the metric the sweep ranks candidates by (default: the first gated metric)
    best: str | None = None
    correction: SweepCorrection = SweepCorrection.BONFERRONI


@dataclass(frozen=True, slots=True)
class GateSpec:
    """A gate with the line of the gates file it comes from (for annotations).

    ``expand`` is ``"slices"`` or ``"steps"`` for ``slices: all`` / ``steps: all``:
    one gate per slice tag or step name the runs have, known once they are loaded.
    """

    gate: Gate
    line: int | None = None
    expand: str | None = None


@dataclass(frozen=True, slots=True)
class GatesConfig:
    """A validated gates file."""

    path: Path | None = None
    baseline: RunSource | None = None
    candidate: RunSource | None = None
    #: a sweep's candidates (``candidates:``), unexpanded
    candidates: tuple[Candidate, ...] = ()
    sweep: SweepSettings = field(default_factory=SweepSettings)
    gates: tuple[GateSpec, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    directions: Mapping[str, bool] = field(default_factory=dict)
    aggregates: Mapping[str, str] = field(default_factory=dict)
    compatibility: RunPolicy = RunPolicy.FAIL
    incomplete_runs: RunPolicy = RunPolicy.FAIL
    defaults: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    #: ``defaults.power``: warn about, fail on, or ignore underpowered gates
    power: PowerPolicy = PowerPolicy.WARN
    #: ``defaults.power_warn_below``: the pass chance (of an unchanged candidate)
    #: below which a gate is underpowered; also the target power of the plan's MDE
    power_warn_below: float = 0.8
    #: ``defaults.power_correlation``: the plan's assumed correlation of an
    #: unchanged candidate with the baseline (docs: pytest_runcompare.plan); None:
    #: measured from the candidate when there is one, else 0
    power_correlation: float | None = None

    def with_alpha(self, alpha: float) -> GatesConfig:
        """The same gates with every ``alpha`` replaced (the command line wins)."""
        return replace(
            self,
            gates=tuple(
                replace(s, gate=replace(s.gate, alpha=alpha)) for s in self.gates
            ),
            defaults={**self.defaults, "alpha": alpha},
        )

    def waiver_for(self, gate: Gate) -> Waiver | None:
        """The first waiver that covers ``gate`` as a whole."""
        return next((w for w in self.waivers if w.covers(gate)), None)

    def excluded_ids(
        self, gate: Gate, today: _dt.date | None = None
    ) -> tuple[str, ...]:
        """Datapoint ids whose change is expected, for ``gate`` (expired waivers: none)."""
        out: list[str] = []
        for waiver in self.waivers:
            if not waiver.expired(today):
                out.extend(waiver.excludes_from(gate))
        return tuple(dict.fromkeys(out))


class _Where:
    """Names the file, the line and the key in error messages."""

    def __init__(self, path: Path | None, lines: Mapping[str, int]) -> None:
        self.path = path
        self.lines = lines

    def line(self, key: str) -> int | None:
        """The line of ``key``, else of the nearest enclosing key that has one."""
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return None

    def error(self, key: str, message: str, accepted: str | None = None) -> ConfigError:
        where = str(self.path) if self.path is not None else "gates"
        line = self.line(key)
        if line is not None:
            where += f":{line}"
        text = f"{where}: {key}: {message}"
        if accepted:
            text += f" (accepted: {accepted})"
        return ConfigError(text)


def _key_lines(root: Any) -> dict[str, int]:
    """Line of every mapping key and list item, as dotted paths (``metrics.acc.margin``).

    Each node is walked once: the keys under an alias are not expanded again (an
    error there names the alias's own line, through :meth:`_Where.line`), so the walk
    costs as much as the text, however far its aliases would expand.
    """
    import yaml

    from pytest_runcompare import yaml_text

    lines: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [] if root is None else [(root, "")]
    while stack:
        node, prefix = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                if isinstance(key_node, yaml.ScalarNode):
                    key = yaml_text.construct(key_node)  # `null:` is the key None
                name = f"{prefix}.{key}" if prefix else str(key)
                lines.setdefault(name, key_node.start_mark.line + 1)
                stack.append((value_node, name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                name = f"{prefix}[{i}]"
                lines.setdefault(name, item.start_mark.line + 1)
                stack.append((item, name))
    return lines


def load_gates_file(path: str | Path) -> GatesConfig:
    """Read and validate a gates file; relative run paths resolve against its folder."""
    from pytest_runcompare import yaml_text
    from pytest_runcompare.errors import RunFormatError
    from pytest_runcompare.loaders.files import read_text

    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            f"{file}: gates file not found (give an existing file to "
            "--runcompare-config or the runcompare_config ini key)"
        )
    try:
        root = yaml_text.compose(read_text(file), file)
        data = yaml_text.construct(root, file)
    except RunFormatError as error:
        raise ConfigError(str(error)) from None
    return parse_gates(data, path=file, lines=_key_lines(root))


def _check_keys(
    where: _Where, prefix: str, value: Mapping[str, Any], accepted: Sequence[str]
) -> None:
    for key in value:
        if key not in accepted:
            name = f"{prefix}.{key}" if prefix else str(key)
            raise where.error(name, "unknown key", ", ".join(accepted))


def _mapping(where: _Where, key: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise where.error(key, f"must be a mapping, got {type(value).__name__}")
    return value


def _run_source(
    where: _Where, key: str, value: Any, base: Path | None
) -> RunSource | None:
    if value is None:
        return None
    if isinstance(value, str):
        location, options = _text_value(where, key, value, "a run path"), {}
    elif isinstance(value, Mapping) and "engine" in value:
        return _engine_run_source(where, key, value, base)
    elif isinstance(value, Mapping):
        if "path" not in value:
            raise where.error(
                key,
                "needs a 'path'",
                "a path, or {path: ..., format: ..., <reader options>}",
            )
        options = {k: v for k, v in value.items() if k != "path"}
        location = _text_value(where, f"{key}.path", value["path"], "a run path")
        if "format" in options:
            _text_value(where, f"{key}.format", options["format"], "a reader name")
    else:
        raise where.error(
            key, f"must be a path or a mapping, got {type(value).__name__}"
        )
    return RunSource(location=resolve_location(location, base), options=options)


def _engine_run_source(
    where: _Where, key: str, value: Mapping[str, Any], base: Path | None
) -> RunSource:
    """``{engine: duckdb|spark, path: ... | table: ..., where: ...}`` (issue 15)."""
    from pytest_runcompare.engine.source import engine_source

    path = value.get("path")
    if path is not None:
        path = resolve_location(
            _text_value(where, f"{key}.path", path, "a run path"), base
        )
    options = {k: v for k, v in value.items() if k != "path"}
    try:
        src = engine_source(path, options, key=key)
    except ConfigError as exc:
        field_ = str(exc).split(":", 1)[0]
        raise where.error(field_, str(exc).split(": ", 1)[1]) from None
    return RunSource(location=src.path or src.table or "", options=options)


def _candidates(
    where: _Where, data: Mapping[str, Any], base: Path | None
) -> tuple[Candidate, ...]:
    """``candidates:``: a list of locations (globs allowed) or a mapping label -> location."""
    value = data.get("candidates")
    if value is None:
        return ()
    if data.get("candidate") is not None:
        raise where.error(
            "candidates",
            "is given beside 'candidate:'",
            "one of them: 'candidate:' for one run, 'candidates:' for a sweep",
        )
    out: list[Candidate] = []
    if isinstance(value, Mapping):
        for label, entry in value.items():
            key = f"candidates.{label}"
            _text_value(where, key, label, "a candidate label")
            source = _run_source(where, key, entry, base)
            if source is None:
                raise where.error(key, "needs a run location")
            out.append(Candidate(str(label), source))
    elif isinstance(value, list):
        for index, entry in enumerate(value):
            key = f"candidates[{index}]"
            label = None
            if isinstance(entry, Mapping) and "label" in entry:
                label = _text_value(where, f"{key}.label", entry["label"], "a label")
                entry = {k: v for k, v in entry.items() if k != "label"}
            source = _run_source(where, key, entry, base)
            if source is None:
                raise where.error(key, "needs a run location")
            out.append(Candidate(label, source))
    else:
        raise where.error(
            "candidates",
            f"must be a list or a mapping, got {type(value).__name__}",
            "a list of run locations or globs, or {label: location}",
        )
    if not out:
        raise where.error("candidates", "is empty", "at least one run location")
    return tuple(out)


def _sweep(where: _Where, value: Any) -> SweepSettings:
    """``sweep:``: what the session requires, the metric to rank by, the correction."""
    data = dict(_mapping(where, "sweep", value))
    _check_keys(where, "sweep", data, SWEEP_KEYS)
    choices: dict[str, Any] = {}
    for key, kind in (("require", Require), ("correction", SweepCorrection)):
        if key in data:
            try:
                choices[key] = parse_choice(kind, data[key], "value")
            except ConfigError:
                raise where.error(
                    f"sweep.{key}",
                    f"invalid value {data[key]!r}",
                    ", ".join(c.value for c in kind),
                ) from None
    best = data.get("best")
    if best is not None:
        best = _text_value(where, "sweep.best", best, "a metric name")
    return SweepSettings(best=best, **choices)


def resolve_location(location: str, base: Path | None) -> str:
    """Resolve a run location relative to ``base`` (keeping ``::selector`` and URIs)."""
    from pytest_runcompare.loaders.registry import is_uri

    if base is None or is_uri(location):
        return location
    path, sep, selector = location.partition("::")
    resolved = Path(path) if Path(path).is_absolute() else base / path
    return f"{resolved}{sep}{selector}"


def _tags(where: _Where, key: str, value: Any) -> tuple[str, ...] | str:
    if value is None or value is False or value == ():
        return ()
    if isinstance(value, tuple):
        return value
    if value == "all":
        return "all"
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise where.error(key, f"must be a list of names or 'all', got {value!r}")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _count(where: _Where, key: str, value: Any) -> int:
    """A whole number in [0, MAX_COUNT] (a YAML float such as ``1e3`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.error(
            key,
            f"must be a non-negative integer, got {_shown(value)}",
            f"0 to {MAX_COUNT:,}",
        )
    if value > MAX_COUNT:
        raise where.error(
            key,
            f"is too large (a {len(str(value))}-digit number)",
            f"0 to {MAX_COUNT:,}",
        )
    return value


def _shown(value: Any) -> str:
    """``value`` for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _text_value(where: _Where, key: str, value: Any, what: str) -> str:
    """A non-empty string (a YAML number is its decimal text: ``metric: 5``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"must be {what}, got {_shown(value)}")
    return value


def _check_settings(where: _Where, prefix: str, settings: Mapping[str, Any]) -> None:
    """The types and ranges of a metric's (or the defaults') gate settings.

    ``Gate`` checks the choices; this catches what would otherwise surface later as a
    ``TypeError`` or ``OverflowError`` inside the statistics.
    """
    from pytest_runcompare.aggregates import ACCEPTED, check_aggregate

    if "aggregate" in settings:
        value = settings["aggregate"]
        if not isinstance(value, str):
            raise where.error(
                f"{prefix}.aggregate", f"must be a name, got {_shown(value)}", ACCEPTED
            )
        try:
            check_aggregate(value)
        except ConfigError:
            raise where.error(
                f"{prefix}.aggregate", f"unknown aggregate {_shown(value)}", ACCEPTED
            ) from None
    if "test" in settings:
        what = "a test name (auto, t, bootstrap-t, tango, ...)"
        _text_value(where, f"{prefix}.test", settings["test"], what)
    if settings.get("denominator") is not None:
        _text_value(where, f"{prefix}.denominator", settings["denominator"], "a metric")
    if "alpha" in settings:
        alpha = settings["alpha"]
        low, high = ALPHA
        if not _is_number(alpha) or not low <= alpha < high:
            raise where.error(
                f"{prefix}.alpha",
                f"must be a number in [{low:g}, {high:g}), got {_shown(alpha)}",
                "one-sided level: 0.05 by default, 0.025 is the regulatory convention",
            )
    if settings.get("margin") is not None:
        _check_margin(where, f"{prefix}.margin", settings["margin"])
    if "min_coverage" in settings:
        cov = settings["min_coverage"]
        if not _is_number(cov) or not 0 <= cov <= 1:
            raise where.error(
                f"{prefix}.min_coverage",
                f"must be a number in [0, 1], got {_shown(cov)}",
                "a share of the baseline's datapoints, 0.99 by default",
            )
    if settings.get("max_new_failures") is not None:
        _count(where, f"{prefix}.max_new_failures", settings["max_new_failures"])


def _check_margin(where: _Where, key: str, value: Any) -> None:
    """A margin that parses and whose size the statistics can work with."""
    from pytest_runcompare.judge.spec import parse_margin

    accepted = (
        f"0, or an absolute margin from {ABSOLUTE_MARGIN[0]:g} to "
        f"{ABSOLUTE_MARGIN[1]:g} in metric units (0.01), or a relative one from "
        f"{RELATIVE_MARGIN_MIN * 100:g}% to below 100% ('2%')"
    )
    try:
        margin = parse_margin(value)
    except ConfigError:
        raise where.error(key, f"invalid margin {_shown(value)}", accepted) from None
    except OverflowError:  # an integer beyond any float
        raise where.error(
            key, f"margin {_shown(value)} is out of range", accepted
        ) from None
    if margin.value == 0:
        return
    if margin.relative:
        ok = RELATIVE_MARGIN_MIN <= margin.value < 1
    else:
        ok = ABSOLUTE_MARGIN[0] <= margin.value <= ABSOLUTE_MARGIN[1]
    if not ok:
        raise where.error(key, f"margin {_shown(value)} is out of range", accepted)


def _make_gate(where: _Where, key: str, **kwargs: Any) -> Gate:
    try:
        return Gate(**kwargs)
    except ConfigError as error:
        raise where.error(_culprit(Gate, key, kwargs), str(error)) from None


def _culprit(gate_type: Any, key: str, kwargs: dict[str, Any]) -> str:
    """The key of the one setting that makes the gate invalid on its own, else ``key``."""
    for name, value in kwargs.items():
        if name in ("metric", "slice", "step", "higher_is_better"):
            continue
        try:
            gate_type(metric=kwargs["metric"], **{name: value})
        except ConfigError:
            return f"{key}.{name}"
    return key


def parse_gates(
    data: Any, *, path: Path | None = None, lines: Mapping[str, int] | None = None
) -> GatesConfig:
    """Validate the parsed gates file ``data`` (see the module docstring)."""
    where = _Where(path, lines or {})
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise where.error(
            "(top level)", f"must be a mapping, got {type(data).__name__}"
        )
    _check_keys(where, "", data, TOP_KEYS)
    base = None if path is None else path.parent
    defaults = dict(_mapping(where, "defaults", data.get("defaults")))
    _check_keys(where, "defaults", defaults, DEFAULT_KEYS)
    policies: dict[str, RunPolicy] = {}
    for name in ("compatibility", "incomplete_runs"):
        value = defaults.pop(name, "fail")
        try:
            policies[name] = parse_choice(RunPolicy, value, "value")
        except ConfigError:
            raise where.error(
                f"defaults.{name}", f"invalid value {value!r}", "fail, warn"
            ) from None
    default_slices = _tags(where, "defaults.slices", defaults.pop("slices", None))
    power = _power_settings(where, defaults)
    _check_settings(where, "defaults", defaults)
    _make_gate(where, "defaults", metric="defaults", **defaults)
    report = dict(_mapping(where, "report", data.get("report")))
    _check_keys(where, "report", report, REPORT_KEYS)
    for key in ("html", "markdown", "json"):
        if report.get(key) is not None:
            if not isinstance(report[key], str) or not report[key].strip():
                raise where.error(
                    f"report.{key}", f"must be a file path, got {report[key]!r}"
                )
            report[key] = resolve_location(report[key], base)
    if "max_outputs" in report:
        _count(where, "report.max_outputs", report["max_outputs"])
    if report.get("url") is not None:
        problem = report_url_problem(report["url"])
        if problem is not None:
            raise where.error("report.url", problem, REPORT_URL_SYNTAX)
    if "mlflow" in report and not isinstance(report["mlflow"], bool):
        raise where.error(
            "report.mlflow",
            f"must be true or false, got {report['mlflow']!r}",
            "true: log the comparison onto the candidate's MLflow run",
        )
    seed = data.get("seed")
    if seed is not None:
        _count(where, "seed", seed)

    metrics = _mapping(where, "metrics", data.get("metrics"))
    specs: list[GateSpec] = []
    directions: dict[str, bool] = {}
    aggregates: dict[str, str] = {}
    for name, raw in metrics.items():
        key = f"metrics.{name}"
        _text_value(where, key, name, "a metric name")
        spec = dict(_mapping(where, key, raw))
        _check_keys(where, key, spec, METRIC_KEYS)
        direction = spec.pop("direction", None)
        if direction is not None:
            if direction not in ("higher", "lower"):
                raise where.error(
                    f"{key}.direction", f"invalid value {direction!r}", "higher, lower"
                )
            directions[str(name)] = direction == "higher"
        slices = _tags(where, f"{key}.slices", spec.pop("slices", default_slices))
        steps = _tags(where, f"{key}.steps", spec.pop("steps", None))
        enabled = spec.pop("gate", True)
        if not isinstance(enabled, bool):
            raise where.error(f"{key}.gate", f"must be true or false, got {enabled!r}")
        _check_settings(where, key, spec)
        settings = {**{k: v for k, v in defaults.items()}, **spec}
        mode = settings.get("mode")
        if mode is not None and mode not in [m.value for m in Mode]:
            raise where.error(
                f"{key}.mode",
                f"invalid value {mode!r}",
                ", ".join(m.value for m in Mode),
            )
        if "aggregate" in settings:
            aggregates[str(name)] = str(settings["aggregate"])
        gate_kwargs = {
            "metric": str(name),
            "higher_is_better": directions.get(str(name)),
            **settings,
        }
        if not enabled:
            continue
        line = where.lines.get(key)
        top = _make_gate(where, key, **gate_kwargs)
        specs.append(GateSpec(top, line))
        for expand, names in (("slices", slices), ("steps", steps)):
            if names == "all":
                specs.append(GateSpec(top, line, expand=expand))
                continue
            for name_ in names:
                restrict = {"slice": name_} if expand == "slices" else {"step": name_}
                gate = _make_gate(where, f"{key}.{expand}", **restrict, **gate_kwargs)
                specs.append(GateSpec(gate, line))
    _check_family(where, specs)
    sweep = _sweep(where, data.get("sweep"))
    gated = list(dict.fromkeys(spec.gate.metric for spec in specs))
    if sweep.best is not None and gated and sweep.best not in gated:
        raise where.error(
            "sweep.best",
            f"{sweep.best!r} is not a gated metric",
            f"a gated metric: {', '.join(gated)}",
        )
    waivers = _waivers(where, data.get("waivers"))
    return GatesConfig(
        path=path,
        baseline=_run_source(where, "baseline", data.get("baseline"), base),
        candidate=_run_source(where, "candidate", data.get("candidate"), base),
        candidates=_candidates(where, data, base),
        sweep=sweep,
        gates=tuple(specs),
        waivers=waivers,
        directions=directions,
        aggregates=aggregates,
        compatibility=policies["compatibility"],
        incomplete_runs=policies["incomplete_runs"],
        defaults=defaults,
        report=report,
        seed=seed,
        **power,
    )


def _share(where: _Where, key: str, value: Any, low: float, high: float) -> float:
    """A number in the open interval (low, high) (``low`` itself allowed when 0)."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and (isinstance(value, int) or math.isfinite(value))
        and (low <= value if low == 0 else low < value)
        and value < high
    )
    if not ok:
        interval = f"[{low:g}, {high:g})" if low == 0 else f"({low:g}, {high:g})"
        raise where.error(key, f"must be a number in {interval}, got {_shown(value)}")
    return float(value)


def _power_settings(where: _Where, defaults: dict[str, Any]) -> dict[str, Any]:
    """``defaults.power``, ``power_warn_below`` and ``power_correlation``, validated."""
    value = defaults.pop("power", "warn")
    if value is False:  # YAML reads a bare `off` as false
        value = "off"
    try:
        policy = parse_choice(PowerPolicy, value, "value")
    except ConfigError:
        raise where.error(
            "defaults.power",
            f"invalid value {value!r}",
            ", ".join(p.value for p in PowerPolicy),
        ) from None
    below = _share(
        where, "defaults.power_warn_below", defaults.pop("power_warn_below", 0.8), 0, 1
    )
    if below == 0:
        raise where.error(
            "defaults.power_warn_below", "must be above 0 (use power: off instead)"
        )
    raw_rho = defaults.pop("power_correlation", None)
    rho = (
        None
        if raw_rho is None
        else _share(where, "defaults.power_correlation", raw_rho, 0, 1)
    )
    return {"power": policy, "power_warn_below": below, "power_correlation": rho}


def _waivers(where: _Where, raw: Any) -> tuple[Waiver, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.error("waivers", f"must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        key = f"waivers[{i}]"
        item = _mapping(where, key, item)
        _check_keys(where, key, item, WAIVER_KEYS)
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise where.error(
                f"{key}.reason", "a waiver needs a reason (why the change is expected)"
            )
        expires = item.get("expires")
        if expires is not None:
            if isinstance(expires, str):
                try:
                    expires = _dt.date.fromisoformat(expires)
                except ValueError:
                    raise where.error(
                        f"{key}.expires", f"invalid date {expires!r}", "YYYY-MM-DD"
                    ) from None
            if isinstance(expires, _dt.datetime):
                expires = expires.date()
            if not isinstance(expires, _dt.date):
                raise where.error(
                    f"{key}.expires", f"invalid date {expires!r}", "YYYY-MM-DD"
                )
        for name in ("metric", "slice", "step"):
            if item.get(name) is not None:
                _text_value(where, f"{key}.{name}", item[name], f"a {name} name")
        ids = item.get("ids") or ()
        if not isinstance(ids, list | tuple) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in ids
        ):
            raise where.error(
                f"{key}.ids",
                f"must be a list of datapoint ids, got {_shown(ids)}",
                "[q-17, q-243]",
            )
        if not any(item.get(k) for k in ("metric", "slice", "step", "ids")):
            raise where.error(
                key, "a waiver must name a metric, a slice, a step or ids"
            )
        out.append(
            Waiver(
                reason=reason.strip(),
                metric=None if item.get("metric") is None else str(item["metric"]),
                slice=None if item.get("slice") is None else str(item["slice"]),
                step=None if item.get("step") is None else str(item["step"]),
                ids=tuple(str(v) for v in ids),
                expires=expires,
                line=where.lines.get(key),
            )
        )
    return tuple(out)


def _check_family(where: _Where, specs: Sequence[GateSpec]) -> None:
    """Regression-detection gates form one family: one correction for all of them."""
    family: dict[Correction, Gate] = {
        s.gate.correction: s.gate
        for s in specs
        if s.gate.mode is Mode.REGRESSION_DETECTION and s.gate.declared
    }
    if len(family) > 1:
        gate = next(iter(family.values()))
        raise where.error(
            f"metrics.{gate.metric}.correction",
            "regression_detection gates form one family and share one correction; "
            f"found {', '.join(sorted(family))}",
            "set it once under defaults",
        )


def check_tests(config: GatesConfig, extra: Iterable[str] = ()) -> None:
    """Raise :class:`ConfigError` for a ``test:`` that is neither built in nor added.

    ``extra`` names the tests added through ``pytest_runcompare_register_tests``.
    """
    known = [*BUILTIN_TESTS, *extra]
    for spec in config.gates:
        if spec.gate.test not in known:
            where = str(config.path) if config.path is not None else "gates"
            if spec.line is not None:
                where += f":{spec.line}"
            raise ConfigError(
                f"{where}: metrics.{spec.gate.metric}.test: unknown test "
                f"{spec.gate.test!r} (accepted: {', '.join(known)})"
            )
