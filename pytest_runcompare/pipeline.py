"""Request -> load -> compare -> judge -> :class:`Judgement`: the one path both faces take.

The pytest plugin and the ``runcompare`` command build a :class:`Request` with
:func:`build_request`, and turn it into a frozen :class:`Judgement` with
:func:`judge` (fixture assertions with :func:`judge_assertion`). Every face (gate
items, assertions, exit codes, terminal, HTML, Markdown, JSON, JUnit, annotations,
baseline promotion) renders the Judgement; none decides an outcome.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.config import (
    REPORT_URL_SYNTAX,
    GatesConfig,
    GateSpec,
    RunSource,
    Waiver,
    check_tests,
    report_url_problem,
)
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge import (
    Correction,
    Evidence,
    Gate,
    GateSummary,
    Mode,
    Outcome,
    RunPolicy,
    Verdict,
    WithoutIds,
    conclude_family,
    measure,
    parse_margin,
)
from pytest_runcompare.judge.evaluate import fail_closed

if TYPE_CHECKING:
    from pytest_runcompare.comparison import Compatibility, RunComparisonResult
    from pytest_runcompare.loaders.registry import LoadHook
    from pytest_runcompare.runs import Run

__all__ = [
    "DEFAULT_SEED",
    "Cause",
    "GateResult",
    "Judgement",
    "Outputs",
    "Reason",
    "Request",
    "Status",
    "build_request",
    "compare",
    "judge",
    "judge_assertion",
    "load",
]

DEFAULT_SEED = 0
DEFAULT_MAX_OUTPUTS = 2000


class Status(StrEnum):
    """A gate's final status in the session."""

    PASSED = "passed"
    FAILED = "failed"
    #: An active waiver expects the change: reported as xfailed, the session passes.
    WAIVED = "waived"
    #: The gate's own configuration cannot be judged on these runs.
    ERROR = "error"


class Cause(StrEnum):
    """Why a gate's status is what it is, beyond the data's outcome."""

    FAIL_CLOSED = "fail_closed"
    CONFIG_ERROR = "config_error"
    INCOMPATIBLE = "incompatible"
    INCOMPATIBLE_WARNED = "incompatible_warned"
    INCOMPLETE = "incomplete"
    INCOMPLETE_WARNED = "incomplete_warned"
    WAIVED = "waived"
    WAIVER_EXPIRED = "waiver_expired"
    IDS_WAIVED = "ids_waived"
    INCONCLUSIVE_FAILS = "inconclusive_fails"
    INCONCLUSIVE_PASSES = "inconclusive_passes"
    FAMILY_CORRECTION = "family_correction"
    WARN_ONLY = "warn_only"


@dataclass(frozen=True, slots=True)
class Reason:
    """One link of a gate's reason chain: what applied, in words."""

    cause: Cause
    text: str

    def to_dict(self) -> dict[str, str]:
        """Plain values."""
        return {"cause": str(self.cause), "text": self.text}


#: Causes that decide a status other than the data's (listed before the verdict).
_DECISIVE = frozenset(
    {
        Cause.INCOMPATIBLE,
        Cause.INCOMPLETE,
        Cause.WAIVED,
        Cause.WAIVER_EXPIRED,
    }
)


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's final status, the reasons that led to it, and its verdict."""

    spec: GateSpec
    verdict: Verdict
    status: Status
    reasons: tuple[Reason, ...] = ()
    waiver: Waiver | None = None
    #: a fixture assertion judged on its own (not one of the gates file's gates)
    assertion: bool = False

    @property
    def key(self) -> str:
        """The gate's stable name (``exact_match[lang:de]``)."""
        return self.verdict.key

    @property
    def declared(self) -> bool:
        """False for warn-only gates, which never fail the session."""
        return self.verdict.gate.declared

    @property
    def fails_session(self) -> bool:
        """Whether this gate makes the session fail."""
        return self.status in (Status.FAILED, Status.ERROR)

    @property
    def outcome(self) -> Outcome:
        """What the data showed."""
        return self.verdict.outcome

    @property
    def message_lines(self) -> tuple[str, ...]:
        """The lines of :attr:`message`, each one string (run data may hold newlines)."""
        lines = [r.text for r in self.reasons if r.cause in _DECISIVE]
        return (*lines, self.verdict.text)

    @property
    def message(self) -> str:
        """The reasons that decided the status, then the verdict's sentence."""
        return "\n".join(self.message_lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "key": self.key,
            "assertion": self.assertion,
            "status": str(self.status),
            "declared": self.declared,
            "fails_session": self.fails_session,
            "reasons": [r.to_dict() for r in self.reasons],
            "waiver": None
            if self.waiver is None
            else {
                "reason": self.waiver.reason,
                "expires": None
                if self.waiver.expires is None
                else self.waiver.expires.isoformat(),
                "what": self.waiver.describe(),
            },
            "line": self.spec.line,
            "message": self.message,
            "verdict": self.verdict.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Judgement:
    """Every gate of a session judged together, and the facts every face shows.

    ``results`` are the declared gates (of the gates file), ``assertions`` the
    fixture assertions judged in the session, ``warn_only`` the slice gates nobody
    declared (judged for the report, never failing the session).
    """

    results: tuple[GateResult, ...]
    warn_only: tuple[GateResult, ...]
    compatibility: Compatibility
    compatibility_policy: RunPolicy
    incomplete_policy: RunPolicy
    assertions: tuple[GateResult, ...] = ()
    unmatched_waivers: tuple[Waiver, ...] = ()
    stale_metrics: tuple[str, ...] = ()
    assumed_directions: tuple[str, ...] = ()
    #: at most this chance that every non-inferiority gate passes if nothing changed
    all_pass_bound: float | None = None
    least_powered: str | None = None
    family_correction: Correction | None = None
    family_size: int = 0
    seed: int = DEFAULT_SEED
    warnings: tuple[str, ...] = ()
    numpy_version: str = ""
    scipy_version: str = ""

    @property
    def gates(self) -> tuple[GateResult, ...]:
        """Declared gates, then fixture assertions, then warn-only gates."""
        return self.results + self.assertions + self.warn_only

    @property
    def blocking(self) -> tuple[GateResult, ...]:
        """The gates that can fail the session."""
        return self.results + self.assertions

    @property
    def failed(self) -> tuple[GateResult, ...]:
        """The gates that fail the session."""
        return tuple(r for r in self.blocking if r.fails_session)

    @property
    def passed(self) -> bool:
        """No declared gate nor fixture assertion failed."""
        return not self.failed

    def result(self, key: str) -> GateResult:
        """The result of the declared gate named ``key``."""
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(key)

    def with_assertions(self, assertions: Iterable[GateResult]) -> Judgement:
        """The same judgement with the session's fixture assertions beside the gates."""
        return replace(self, assertions=tuple(assertions))

    def counts(self) -> dict[str, int]:
        """How many gates ended in each status, and the warn-only ones flagged."""
        out = {str(s): 0 for s in Status}
        for r in self.blocking:
            out[str(r.status)] += 1
        out["total"] = len(self.blocking)
        out["inconclusive"] = sum(
            1 for r in self.blocking if r.outcome is Outcome.INCONCLUSIVE
        )
        out["warn_only"] = len(self.warn_only)
        out["warnings"] = sum(1 for r in self.warn_only if r.outcome is Outcome.FAIL)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        from pytest_runcompare.stats.result import _plain

        return {
            "passed": self.passed,
            "counts": self.counts(),
            "seed": self.seed,
            "compatibility": {
                "policy": str(self.compatibility_policy),
                "problems": list(self.compatibility.problems),
                "notes": list(self.compatibility.notes),
            },
            "incomplete_runs": str(self.incomplete_policy),
            "all_pass_bound": _plain(self.all_pass_bound),
            "least_powered": self.least_powered,
            "family": {
                "correction": None
                if self.family_correction is None
                else str(self.family_correction),
                "size": self.family_size,
            },
            "warnings": list(self.warnings),
            "unmatched_waivers": [w.describe() for w in self.unmatched_waivers],
            "stale_metrics": list(self.stale_metrics),
            "assumed_directions": list(self.assumed_directions),
            "gates": [r.to_dict() for r in self.results],
            "assertions": [r.to_dict() for r in self.assertions],
            "warn_only": [r.to_dict() for r in self.warn_only],
        }


@dataclass(frozen=True, slots=True)
class Outputs:
    """Where to write the reports (``None``: not wanted)."""

    html: Path | None = None
    markdown: Path | None = None
    json: Path | None = None
    max_outputs: int = DEFAULT_MAX_OUTPUTS
    generated: str | None = None
    #: where reviewers open the HTML report (a CI artifact's URL): the Markdown
    #: summary links it and its datapoints
    url: str | None = None
    #: what the Markdown summary's hidden marker names (the gates file's path)
    marker: str = "runcompare"
    #: log each gate's numbers and verdict, and the HTML report, onto the candidate's
    #: MLflow run (``render.mlflow_log``)
    mlflow_log: bool = False

    @property
    def wanted(self) -> bool:
        """Whether any report is asked for."""
        return any(p is not None for p in (self.html, self.markdown, self.json))


@dataclass(frozen=True, slots=True)
class Request:
    """Everything a judgement depends on, as plain values.

    ``baseline`` and ``candidate`` may be unset in a pytest session (a marker or
    the recorder supplies them); ``config`` already carries the command line's
    ``alpha``.
    """

    config: GatesConfig
    baseline: RunSource | None = None
    candidate: RunSource | None = None
    seed: int = DEFAULT_SEED
    outputs: Outputs = field(default_factory=Outputs)
    custom_tests: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    today: _dt.date | None = None


# --------------------------------------------------------------------------- request


def _check_seed(seed: object, option: str) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{option}: expected a non-negative integer, got {seed!r}")
    return seed


def _check_alpha(alpha: object, option: str) -> float | None:
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise ConfigError(f"{option}: expected a number in (0, 0.5), got {alpha!r}")
    if not 0 < alpha < 0.5:
        raise ConfigError(
            f"{option}: {alpha} is out of range (expected a one-sided level in "
            "(0, 0.5), e.g. 0.05)"
        )
    return float(alpha)


def _report_url(url: object, option: str) -> str | None:
    if url is None:
        return None
    problem = report_url_problem(url)
    if problem is not None:
        raise ConfigError(f"{option}: {problem} (accepted: {REPORT_URL_SYNTAX})")
    return str(url)


def _marker(path: Path | None) -> str:
    """The gates file as the Markdown marker names it (never an absolute path).

    Relative to the current directory when inside it, else its name.
    """
    if path is None:
        return "runcompare"
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (OSError, ValueError):
        return path.name


def build_request(
    config: GatesConfig,
    *,
    baseline: RunSource | None = None,
    candidate: RunSource | None = None,
    seed: object = None,
    alpha: object = None,
    html: Path | None = None,
    markdown: Path | None = None,
    json: Path | None = None,
    report_url: str | None = None,
    custom_tests: Mapping[str, Callable[..., Any]] | None = None,
    option_names: Mapping[str, str] | None = None,
    mlflow_log: bool | None = None,
) -> Request:
    """The one request builder: command-line values over the gates file over defaults.

    ``baseline`` and ``candidate`` override the gates file's locations (keeping its
    reader options); ``seed`` and ``alpha`` are validated here; every ``test:`` must
    be built in or one of ``custom_tests``; ``report_url`` (over ``report.url``) must
    be an http(s) URL; ``mlflow_log`` (over ``report.mlflow``) logs the judgement
    onto the candidate's MLflow run. ``option_names`` names the options in error
    messages (``{"alpha": "--runcompare-alpha"}``).

    Raises
    ------
    ConfigError
        For a bad value, naming the option and what is accepted.

    """
    names = {
        "seed": "--seed",
        "alpha": "--alpha",
        "report_url": "--report-url",
        **(option_names or {}),
    }
    tests = dict(custom_tests or {})
    check_tests(config, tests)
    checked_seed = _check_seed(seed, names["seed"])
    checked_alpha = _check_alpha(alpha, names["alpha"])
    if checked_alpha is not None:
        config = config.with_alpha(checked_alpha)
    report = config.report

    def output(given: Path | None, key: str) -> Path | None:
        if given is not None:
            return given
        from_file = report.get(key)
        return None if from_file is None else Path(from_file)

    def source(
        given: RunSource | None, from_file: RunSource | None
    ) -> RunSource | None:
        if given is None:
            return from_file
        if from_file is None or given.options:
            return given
        return RunSource(given.location, dict(from_file.options))

    return Request(
        config=config,
        baseline=source(baseline, config.baseline),
        candidate=source(candidate, config.candidate),
        seed=checked_seed
        if checked_seed is not None
        else config.seed
        if config.seed is not None
        else DEFAULT_SEED,
        outputs=Outputs(
            html=output(html, "html"),
            markdown=output(markdown, "markdown"),
            json=output(json, "json"),
            max_outputs=int(report.get("max_outputs", DEFAULT_MAX_OUTPUTS)),
            url=_report_url(report_url, names["report_url"]) or report.get("url"),
            marker=_marker(config.path),
            mlflow_log=bool(report.get("mlflow", False))
            if mlflow_log is None
            else mlflow_log,
        ),
        custom_tests=tests,
    )


def registered_tests(results: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """The tests that ``pytest_runcompare_register_tests`` implementations returned."""
    tests: dict[str, Any] = {}
    for found in results:
        if found:
            tests.update(found)
    return tests


# --------------------------------------------------------------------------- load


def load(source: RunSource | str, *, hook: LoadHook | None = None) -> Run:
    """Load one run through the reader hook (a plugin's caller, or the default).

    A baseline's older generation (``runs/baseline@previous``, ``@N``) is resolved
    here, the one place every face loads runs through.
    """
    from pytest_runcompare.history import resolve_location
    from pytest_runcompare.loaders.registry import load_run

    if isinstance(source, str):
        source = RunSource(source)
    location = resolve_location(source.location)
    return load_run(location, options=source.options, hook=hook)


# --------------------------------------------------------------------------- compare


def compare(baseline: Run, candidate: Run, config: GatesConfig) -> RunComparisonResult:
    """Pair the runs, with the directions and aggregates the gates file declares."""
    from pytest_runcompare.comparison import compare_runs

    return compare_runs(
        baseline,
        candidate,
        directions=dict(config.directions),
        aggregates=dict(config.aggregates),
    )


# --------------------------------------------------------------------------- judge


def expand_gates(
    config: GatesConfig, comparison: RunComparisonResult
) -> list[GateSpec]:
    """Turn ``slices: all`` / ``steps: all`` into one gate per slice tag or step name."""
    out: list[GateSpec] = []
    for spec in config.gates:
        if spec.expand is None:
            out.append(spec)
            continue
        names = (
            comparison.slice_names if spec.expand == "slices" else comparison.step_names
        )
        explicit = {
            (s.gate.slice if spec.expand == "slices" else s.gate.step)
            for s in config.gates
            if s.expand is None and s.gate.metric == spec.gate.metric
        }
        for name in names:
            if name in explicit:
                continue
            gate = (
                replace(spec.gate, slice=name)
                if spec.expand == "slices"
                else replace(spec.gate, step=name)
            )
            out.append(GateSpec(gate, spec.line))
    return out


def _warn_only_gates(
    specs: Sequence[GateSpec], comparison: RunComparisonResult
) -> tuple[list[GateSpec], list[str]]:
    """Slice gates nobody declared: judged for the report, never failing the build.

    At most ``AUTO_SLICES`` per metric, the largest slices by n; the notes say how
    many were left unjudged (one datapoint with 3,000 tags made 3,000 gates).
    """
    from pytest_runcompare import limits

    cap = limits.AUTO_SLICES.value
    gated = {(s.gate.metric, s.gate.slice) for s in specs}
    out = []
    notes = []
    names = comparison.slice_names
    for spec in specs:
        gate = spec.gate
        if gate.slice is not None or gate.step is not None:
            continue
        if gate.metric not in comparison.baseline.metrics:
            continue
        tags = [t for t in names if (gate.metric, t) not in gated]
        if len(tags) > cap:
            sizes = comparison.slice_sizes
            largest = set(sorted(tags, key=lambda t: (-sizes[t], t))[:cap])
            notes.append(
                f"{gate.metric}: {len(tags) - cap:,} of {len(tags):,} slices left "
                f"without a warn-only gate: at most {cap:,} automatic slice gates per "
                f"metric, the largest by n (raise with {limits.AUTO_SLICES.variable}"
                "=<number>, or declare `slices:` on the metric to gate them)"
            )
            tags = [t for t in tags if t in largest]
        for tag in tags:
            gated.add((gate.metric, tag))
            out.append(GateSpec(replace(gate, slice=tag, declared=False), spec.line))
    return out, notes


def stale_metrics(
    config: GatesConfig, comparison: RunComparisonResult
) -> tuple[str, ...]:
    """Baseline metrics that no gate checks (like unused snapshots)."""
    checked = {s.gate.metric for s in config.gates}
    checked |= {s.gate.denominator for s in config.gates if s.gate.denominator}
    return tuple(m for m in comparison.baseline.metric_names if m not in checked)


def run_notes(comparison: RunComparisonResult) -> list[str]:
    """What the readers said about the two runs: incomplete runs, skipped fields."""
    notes = []
    for role, run in (
        ("baseline", comparison.baseline),
        ("candidate", comparison.candidate),
    ):
        if not run.meta.complete and not any("incomplete" in w for w in run.warnings):
            notes.append(f"{role} {run.name}: the run is marked incomplete")
        notes.extend(f"{role}: {warning}" for warning in run.warnings)
    return notes


def _incomplete(comparison: RunComparisonResult) -> list[str]:
    return [
        f"the {role} run is marked incomplete (its writer did not finish)"
        for role, run in (
            ("baseline", comparison.baseline),
            ("candidate", comparison.candidate),
        )
        if not run.meta.complete
    ]


def _where(config: GatesConfig, line: int | None) -> str:
    where = "" if config.path is None else str(config.path)
    if where and line is not None:
        where += f":{line}"
    return where


def _measure_all(
    comparison: RunComparisonResult,
    specs: Sequence[GateSpec],
    request: Request,
) -> list[Evidence]:
    """Each gate's evidence, on a view without the ids its waivers take out."""
    config = request.config
    views: dict[tuple[str, ...], WithoutIds] = {}
    out = []
    for spec in specs:
        gate = spec.gate
        ids = config.excluded_ids(gate, request.today) if gate.declared else ()
        if ids not in views:
            views[ids] = WithoutIds(comparison, ids)
        try:
            evidence = measure(
                views[ids], gate, seed=request.seed, custom_tests=request.custom_tests
            )
        except ConfigError as error:
            # One gate's mistake fails that gate, not the whole session.
            where = _where(config, spec.line)
            reason = f"{where}: {error}" if where else str(error)
            evidence = fail_closed(gate, reason, request.seed, config_error=True)
        out.append(evidence)
    return out


def _status(
    spec: GateSpec,
    verdict: Verdict,
    request: Request,
    compat: Compatibility,
    incomplete: Sequence[str],
) -> GateResult:
    """The gate's final status and the chain of reasons that led to it."""
    config = request.config
    gate = spec.gate
    reasons: list[Reason] = []
    waiver = config.waiver_for(gate) if gate.declared else None
    ids = config.excluded_ids(gate, request.today) if gate.declared else ()
    if ids:
        reasons.append(
            Reason(
                Cause.IDS_WAIVED,
                f"{len(ids)} datapoint(s) left out by a waiver (an expected change)",
            )
        )
    if (
        verdict.correction not in (None, Correction.NONE)
        and verdict.p_adjusted is not None
    ):
        reasons.append(
            Reason(
                Cause.FAMILY_CORRECTION,
                f"{verdict.correction} correction across the regression-detection "
                f"family: p {verdict.p_value:.3g} adjusted to {verdict.p_adjusted:.3g}",
            )
        )
    if verdict.outcome is Outcome.INCONCLUSIVE:
        policy = gate.inconclusive_policy
        cause = (
            Cause.INCONCLUSIVE_PASSES if verdict.passed else Cause.INCONCLUSIVE_FAILS
        )
        reasons.append(
            Reason(
                cause,
                f"inconclusive: {'passes' if verdict.passed else 'fails'} under the "
                f"inconclusive policy ({policy})",
            )
        )
    if not gate.declared:
        if verdict.outcome is not Outcome.PASS:
            reasons.append(
                Reason(Cause.WARN_ONLY, "warn-only gate: it never fails the session")
            )
        return GateResult(spec, verdict, Status.PASSED, tuple(reasons))
    if verdict.reason is not None:
        cause = Cause.CONFIG_ERROR if verdict.config_error else Cause.FAIL_CLOSED
        reasons.append(Reason(cause, f"fail closed: {verdict.reason}"))
    status: Status | None = None
    if incomplete:
        text = "; ".join(incomplete)
        if config.incomplete_runs is RunPolicy.FAIL:
            reasons.append(
                Reason(
                    Cause.INCOMPLETE,
                    f"{text} (set defaults.incomplete_runs: warn in the gates file "
                    "to judge the datapoints written so far)",
                )
            )
            status = Status.FAILED
        else:
            reasons.append(Reason(Cause.INCOMPLETE_WARNED, f"{text} (judged anyway)"))
    if compat.problems:
        text = "the runs are not comparable: " + "; ".join(compat.problems)
        if config.compatibility is RunPolicy.FAIL:
            reasons.append(
                Reason(
                    Cause.INCOMPATIBLE,
                    f"{text} (set defaults.compatibility: warn in the gates file "
                    "to compare anyway)",
                )
            )
            status = status or Status.FAILED
        else:
            reasons.append(
                Reason(Cause.INCOMPATIBLE_WARNED, f"{text} (compared anyway)")
            )
    if status is None and verdict.config_error:
        status = Status.ERROR
    expired = [
        w
        for w in config.waivers
        if w.expired(request.today) and (w is waiver or w.excludes_from(gate))
    ]
    if status is None and expired:
        for w in expired:
            reasons.append(
                Reason(
                    Cause.WAIVER_EXPIRED,
                    f"waiver for {w.describe()} expired on {w.expires}: {w.reason} "
                    "(renew or remove it)",
                )
            )
        return GateResult(spec, verdict, Status.FAILED, tuple(reasons), expired[0])
    if status is None and verdict.passed:
        status = Status.PASSED
    if status is None and waiver is not None:
        reasons.append(Reason(Cause.WAIVED, f"expected change: {waiver.reason}"))
        return GateResult(spec, verdict, Status.WAIVED, tuple(reasons), waiver)
    return GateResult(spec, verdict, status or Status.FAILED, tuple(reasons), waiver)


def _unmatched_waivers(
    config: GatesConfig, specs: Sequence[GateSpec], comparison: RunComparisonResult
) -> tuple[Waiver, ...]:
    """Waivers that excuse no gate and no datapoint of these runs."""
    known: set[str] = set(comparison.baseline.ids) | set(comparison.candidate.ids)
    out = []
    for waiver in config.waivers:
        if waiver.ids:
            matched = any(waiver.excludes_from(s.gate) for s in specs) and any(
                i in known for i in waiver.ids
            )
        else:
            matched = any(waiver.covers(s.gate) for s in specs)
        if not matched:
            out.append(waiver)
    return tuple(out)


def _expansion_warnings(config: GatesConfig, specs: Sequence[GateSpec]) -> list[str]:
    out = []
    for spec in config.gates:
        if spec.expand is not None and not any(
            s.gate.metric == spec.gate.metric
            and (s.gate.slice if spec.expand == "slices" else s.gate.step) is not None
            for s in specs
        ):
            one = spec.expand[:-1]
            out.append(
                f"{spec.gate.metric}: `{spec.expand}: all`, but the runs have no "
                f"{one}: no {one} gate was made"
            )
    return out


def _family(evidence: Sequence[Evidence], request: Request) -> GateSummary:
    """Conclude the family; a correction clash becomes every member's config error."""
    try:
        return conclude_family(evidence, seed=request.seed)
    except ConfigError as error:
        failed = [
            fail_closed(e.gate, str(error), request.seed, config_error=True)
            if e.gate.mode is Mode.REGRESSION_DETECTION
            else e
            for e in evidence
        ]
        return conclude_family(failed, seed=request.seed)


def judge(comparison: RunComparisonResult, request: Request) -> Judgement:
    """Judge every gate of the request on ``comparison`` as one family.

    Waivers turn a failed gate into WAIVED (an expired one fails it), datapoint ids
    named in waivers are left out of the test, and incompatible or incomplete runs
    fail every gate unless the gates file says ``warn``.
    """
    config = request.config
    specs = expand_gates(config, comparison)
    warn_specs, unjudged = _warn_only_gates(specs, comparison)
    all_specs = [*specs, *warn_specs]
    summary = _family(_measure_all(comparison, all_specs, request), request)
    compat = comparison.compatibility
    incomplete = _incomplete(comparison)
    results = [
        _status(spec, verdict, request, compat, incomplete)
        for spec, verdict in zip(all_specs, summary.verdicts, strict=True)
    ]
    gated = {s.gate.metric for s in specs}
    p_all = summary.all_pass_bound
    return Judgement(
        results=tuple(results[: len(specs)]),
        warn_only=tuple(results[len(specs) :]),
        compatibility=compat,
        compatibility_policy=config.compatibility,
        incomplete_policy=config.incomplete_runs,
        unmatched_waivers=_unmatched_waivers(config, specs, comparison),
        stale_metrics=stale_metrics(config, comparison),
        assumed_directions=tuple(sorted(comparison.assumed_directions & gated)),
        all_pass_bound=None if math.isnan(p_all) else p_all,
        least_powered=summary.least_powered,
        family_correction=summary.family_correction,
        family_size=summary.family_size,
        seed=request.seed,
        warnings=tuple(
            [*run_notes(comparison), *_expansion_warnings(config, specs), *unjudged]
        ),
        numpy_version=summary.numpy_version,
        scipy_version=summary.scipy_version,
    )


def no_gate_declared(config: GatesConfig) -> str | None:
    """Why a gates file judges nothing by itself (no gate declared), or None.

    The one rule both faces apply: a gates file without a gate is never a pass. The
    command refuses it; a pytest session fails unless a fixture judged something.
    """
    if config.path is None or config.gates:
        return None
    return (
        f"{config.path}: declares no gate (`metrics:` is missing or empty, or every "
        "metric has `gate: false`), so it judges nothing: declare the metrics to "
        "gate under `metrics:`, e.g. `metrics: {accuracy: {margin: 0.02}}`"
    )


def default_gates(
    comparison: RunComparisonResult, margin: str | None, alpha: float | None = None
) -> tuple[GateSpec, ...]:
    """Without a gates file: one gate per per-datapoint metric of the baseline.

    With ``margin`` they are non-inferiority gates; without, regression detection.
    Each gate takes the direction the runs declare (``metric_definitions``).

    Raises
    ------
    ConfigError
        When the baseline has no per-datapoint metric (nothing would be judged),
        or a metric's direction is not declared (it is never guessed).

    """
    names = list(comparison.baseline.metrics)
    if not names:
        held = sorted(comparison.baseline.meta.metrics)
        aggregates = f" (it holds aggregates only: {', '.join(held)})" if held else ""
        raise ConfigError(
            f"baseline {comparison.baseline.name}: no per-datapoint metric to gate"
            f"{aggregates}, so nothing would be judged: a gate needs each "
            "datapoint's value in both runs (record them per datapoint)"
        )
    undeclared = [n for n in names if n in comparison.assumed_directions]
    if undeclared:
        raise ConfigError(
            "no gates file, and the runs do not declare whether higher or lower is "
            f"better for: {', '.join(undeclared)}; it is not guessed. Declare it in "
            "the runs' metadata (metric_definitions: {"
            f"{undeclared[0]}: {{direction: higher}}}}, or lower), or gate the "
            "metrics in a gates file (metrics: {"
            f"{undeclared[0]}: {{direction: higher, margin: ...}}}}) and pass --config"
        )
    specs = []
    for name in names:
        extra: dict[str, Any] = {"higher_is_better": comparison.directions[name]}
        if alpha is not None:
            extra["alpha"] = alpha
        if margin is None:
            gate = Gate(metric=name, mode=Mode.REGRESSION_DETECTION, **extra)
        else:
            gate = Gate(metric=name, margin=parse_margin(margin), **extra)
        specs.append(GateSpec(gate))
    return tuple(specs)


def empty_judgement(comparison: RunComparisonResult, request: Request) -> Judgement:
    """A judgement of no gate: what a session without a gates file reports."""
    return judge(comparison, replace(request, config=replace(request.config, gates=())))


def assertion_spec(config: GatesConfig, metric: str, **settings: Any) -> GateSpec:
    """The gate of a fixture assertion, the gates file's settings under its own.

    The base is the gates file's gate for ``metric`` (or its defaults).

    Raises
    ------
    ConfigError
        For a setting a gate does not accept.

    """
    base: dict[str, Any] = {"metric": metric}
    line = None
    for spec in config.gates:
        gate = spec.gate
        if (
            spec.expand is None
            and gate.metric == metric
            and gate.slice is None
            and gate.step is None
        ):
            base = {f.name: getattr(gate, f.name) for f in fields(gate)}
            line = spec.line
            break
    else:
        base.update(
            {k: v for k, v in config.defaults.items() if k != "slices"},
            higher_is_better=config.directions.get(metric),
        )
    unknown = set(settings) - {f.name for f in fields(Gate)}
    if unknown:
        raise ConfigError(
            f"assertion on {metric!r}: unknown setting(s) {', '.join(sorted(unknown))} "
            f"(accepted: {', '.join(f.name for f in fields(Gate))})"
        )
    return GateSpec(Gate(**{**base, **settings, "metric": metric}), line)


def judge_assertion(
    comparison: RunComparisonResult,
    request: Request,
    spec: GateSpec,
    *,
    session: Judgement | None = None,
) -> GateResult:
    """Judge a fixture assertion by the same rules as the gates of the request.

    When ``session`` (the judgement of the same comparison) holds a declared gate
    equal to ``spec``'s, its result is returned: the assertion and the gate cannot
    disagree. Otherwise the assertion is its own family of one, with the request's
    waivers, run policies, alpha and custom tests.
    """
    if session is not None:
        for result in session.results:
            if result.verdict.gate == spec.gate:
                return result
    summary = _family(_measure_all(comparison, [spec], request), request)
    result = _status(
        spec,
        summary.verdicts[0],
        request,
        comparison.compatibility,
        _incomplete(comparison),
    )
    return replace(result, assertion=True)


# --------------------------------------------------------------------------- engine


def judge_engine(comparison: Any, request: Request) -> Judgement:
    """Judge the request on runs held in an engine (issue 15, ``pytest_runcompare.engine``).

    ``comparison`` is an :class:`~pytest_runcompare.engine.view.EngineComparison`:
    the same gate expansion, family and statuses as :func:`judge`, with each gate
    measured from the engine's sufficient statistics (or in memory on the few rows
    of a small gate). Owned by the engine's helper; kept apart from :func:`judge`.
    """
    config = request.config
    specs = expand_gates(config, comparison)
    warn_specs, unjudged = _warn_only_gates(specs, comparison)
    all_specs = [*specs, *warn_specs]
    evidence = comparison.measure_all(
        all_specs, request.seed, request.today, request.custom_tests
    )
    summary = _family(evidence, request)
    compat = comparison.compatibility
    incomplete = _incomplete(comparison)
    results = [
        _status(spec, verdict, request, compat, incomplete)
        for spec, verdict in zip(all_specs, summary.verdicts, strict=True)
    ]
    known = comparison.known_ids(sorted({i for w in config.waivers for i in w.ids}))
    unmatched = tuple(
        w
        for w in config.waivers
        if not (
            any(w.excludes_from(s.gate) for s in specs)
            and any(i in known for i in w.ids)
            if w.ids
            else any(w.covers(s.gate) for s in specs)
        )
    )
    gated = {s.gate.metric for s in specs}
    p_all = summary.all_pass_bound
    return Judgement(
        results=tuple(results[: len(specs)]),
        warn_only=tuple(results[len(specs) :]),
        compatibility=compat,
        compatibility_policy=config.compatibility,
        incomplete_policy=config.incomplete_runs,
        unmatched_waivers=unmatched,
        stale_metrics=stale_metrics(config, comparison),
        assumed_directions=tuple(sorted(comparison.assumed_directions & gated)),
        all_pass_bound=None if math.isnan(p_all) else p_all,
        least_powered=summary.least_powered,
        family_correction=summary.family_correction,
        family_size=summary.family_size,
        seed=request.seed,
        warnings=tuple(
            [*run_notes(comparison), *_expansion_warnings(config, specs), *unjudged]
        ),
        numpy_version=summary.numpy_version,
        scipy_version=summary.scipy_version,
    )
