"""Load, compare, judge, render: the one path that the pytest plugin and the CLI share.

Both faces turn their options into plain values (:class:`~pytest_runcompare.config.GatesConfig`,
run locations, a seed, output paths) and call these functions; neither wires the
pipeline itself.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.config import GatesConfig, GateSpec, RunSource, Waiver
from pytest_runcompare.errors import ConfigError

if TYPE_CHECKING:
    from pytest_runcompare.comparison import (
        Compatibility,
        PairedMetric,
        RunComparisonResult,
    )
    from pytest_runcompare.gates import Gate
    from pytest_runcompare.loaders.registry import LoadHook
    from pytest_runcompare.runs import Run
    from pytest_runcompare.verdict import Verdict

DEFAULT_SEED = 0


class Status(Enum):
    """A gate's result once waivers and the compatibility policy are applied."""

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class GateResult:
    """One declared gate: its verdict, and what waivers and compatibility made of it."""

    spec: GateSpec
    verdict: Verdict
    status: Status
    message: str
    waiver: Waiver | None = None

    @property
    def key(self) -> str:
        """The gate's stable name (``exact_match[lang:de]``)."""
        return self.verdict.key


@dataclass(frozen=True, slots=True)
class Judgement:
    """Every gate of a session judged together, plus what the summary must mention."""

    results: tuple[GateResult, ...]
    warn_only: tuple[Verdict, ...]
    compatibility: Compatibility
    compatibility_policy: str
    unmatched_waivers: tuple[Waiver, ...] = ()
    stale_metrics: tuple[str, ...] = ()
    all_pass_probability: float | None = None
    seed: int = DEFAULT_SEED
    warnings: tuple[str, ...] = ()

    @property
    def verdicts(self) -> list[Verdict]:
        """Verdicts of the declared gates, then the warn-only slice verdicts."""
        return [r.verdict for r in self.results] + list(self.warn_only)

    @property
    def passed(self) -> bool:
        """No declared gate failed."""
        return all(r.status is not Status.FAILED for r in self.results)

    def result(self, key: str) -> GateResult:
        """The result of the gate named ``key``."""
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class Outputs:
    """Where to write the reports (``None``: not wanted)."""

    html: Path | None = None
    markdown: Path | None = None
    json: Path | None = None
    max_outputs: int = 2000
    generated: str | None = None


# --------------------------------------------------------------------------- load


def load(source: RunSource | str, *, hook: LoadHook | None = None) -> Run:
    """Load one run through the reader hook (a plugin's caller, or the default)."""
    from pytest_runcompare.loaders.registry import load_run

    if isinstance(source, str):
        source = RunSource(source)
    return load_run(source.location, options=source.options, hook=hook)


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


class _WithoutIds:
    """A comparison view that leaves some datapoint ids out of every pairing."""

    def __init__(self, comparison: RunComparisonResult, ids: Iterable[str]) -> None:
        self._comparison = comparison
        self._ids = frozenset(ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._comparison, name)

    def paired(
        self, metric: str, *, slice: str | None = None, step: str | None = None
    ) -> PairedMetric:
        import numpy as np

        paired = self._comparison.paired(metric, slice=slice, step=step)
        excluded = self._ids

        def keep(ids: Any) -> Any:
            return np.fromiter(
                (i not in excluded for i in ids), dtype=np.bool_, count=len(ids)
            )

        k = keep(paired.ids)
        m = keep(paired.missing_in_candidate)
        positions = (
            np.arange(paired.id_source.size)
            if paired.id_positions is None
            else paired.id_positions
        )
        return replace(
            paired,
            id_positions=positions[k],
            baseline=paired.baseline[k],
            candidate=paired.candidate[k],
            clusters=None if paired.clusters is None else paired.clusters[k],
            missing_in_candidate=paired.missing_in_candidate[m],
            missing_in_candidate_values=paired.missing_in_candidate_values[m],
            missing_in_baseline=paired.missing_in_baseline[
                keep(paired.missing_in_baseline)
            ],
            nan_ids=paired.nan_ids[keep(paired.nan_ids)],
        )


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
            restrict = {"slice": name} if spec.expand == "slices" else {"step": name}
            out.append(GateSpec(replace(spec.gate, **restrict), spec.line))
    return out


def _warn_only_gates(
    specs: Sequence[GateSpec], comparison: RunComparisonResult
) -> list[Gate]:
    """Slice gates nobody declared: judged for the report, never failing the build."""
    gated = {(s.gate.metric, s.gate.slice) for s in specs}
    out = []
    for spec in specs:
        gate = spec.gate
        if gate.slice is not None or gate.step is not None:
            continue
        if gate.metric not in comparison.baseline.metrics:
            continue
        for tag in comparison.slice_names:
            if (gate.metric, tag) not in gated:
                gated.add((gate.metric, tag))
                out.append(replace(gate, slice=tag, declared=False))
    return out


def stale_metrics(
    config: GatesConfig, comparison: RunComparisonResult
) -> tuple[str, ...]:
    """Baseline metrics that no gate checks (like unused snapshots)."""
    checked = {s.gate.metric for s in config.gates}
    checked |= {s.gate.denominator for s in config.gates if s.gate.denominator}
    return tuple(m for m in comparison.baseline.metric_names if m not in checked)


def judge(
    comparison: RunComparisonResult,
    config: GatesConfig,
    *,
    seed: int = DEFAULT_SEED,
    custom_tests: Mapping[str, Callable[..., Any]] | None = None,
    today: _dt.date | None = None,
) -> Judgement:
    """Judge every gate of ``config`` on ``comparison`` as one family.

    Waivers turn a failed gate into WAIVED (an expired one fails it), datapoint ids
    named in waivers are left out of the test, and incompatible runs fail every gate
    unless the gates file says ``compatibility: warn``.
    """
    from pytest_runcompare.gates import evaluate_gate, summarise

    specs = expand_gates(config, comparison)
    warn_gates = _warn_only_gates(specs, comparison)
    views: dict[tuple[str, ...], Any] = {(): comparison}
    raw = []
    for gate in [s.gate for s in specs] + warn_gates:
        # Datapoints whose change a waiver expects are left out of that gate's test.
        ids = config.excluded_ids(gate, today) if gate.declared else ()
        if ids not in views:
            views[ids] = _WithoutIds(comparison, ids)
        try:
            verdict = evaluate_gate(
                views[ids], gate, seed=seed, custom_tests=custom_tests
            )
        except ConfigError as error:
            # One gate's mistake fails that gate, not the whole session.
            verdict = _config_failure(gate, error, config, specs, seed)
        raw.append(verdict)
    summary = summarise(raw, seed=seed)
    verdicts = list(summary.verdicts)
    compat = comparison.compatibility
    incomplete = [
        f"the {role} run is marked incomplete (its writer did not finish)"
        for role, run in (
            ("baseline", comparison.baseline),
            ("candidate", comparison.candidate),
        )
        if not run.meta.complete
    ]
    results = [
        _result(spec, verdict, config, compat, today, incomplete)
        for spec, verdict in zip(specs, verdicts[: len(specs)], strict=True)
    ]
    from pytest_runcompare.summary import run_notes

    warnings = list(run_notes(comparison))
    for spec in config.gates:
        if spec.expand is not None and not any(
            s.gate.metric == spec.gate.metric
            and (s.gate.slice if spec.expand == "slices" else s.gate.step) is not None
            for s in specs
        ):
            warnings.append(
                f"{spec.gate.metric}: `{spec.expand}: all`, but the runs have no "
                f"{spec.expand[:-1]}: no {spec.expand[:-1]} gate was made"
            )
    return Judgement(
        results=tuple(results),
        warn_only=tuple(verdicts[len(specs) :]),
        compatibility=compat,
        compatibility_policy=config.compatibility,
        unmatched_waivers=_unmatched_waivers(config, specs, comparison),
        stale_metrics=stale_metrics(config, comparison),
        all_pass_probability=None
        if math.isnan(summary.expected_all_pass_probability)
        else summary.expected_all_pass_probability,
        seed=seed,
        warnings=tuple(warnings),
    )


def _config_failure(
    gate: Gate,
    error: ConfigError,
    config: GatesConfig,
    specs: Sequence[GateSpec],
    seed: int,
) -> Verdict:
    """A FAIL verdict for a gate whose configuration cannot be judged on these runs."""
    from pytest_runcompare.verdict import Outcome, Verdict

    line = next((s.line for s in specs if s.gate == gate), None)
    where = "" if config.path is None else f"{config.path}"
    if where and line is not None:
        where += f":{line}"
    reason = f"{where}: {error}" if where else str(error)
    return Verdict(
        gate=gate,
        key=gate.key,
        outcome=Outcome.FAIL,
        passed=not gate.declared,
        improved=False,
        text=f"{gate.key}: configuration error: {reason}",
        reason=reason,
        seed=seed,
    )


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


def _result(
    spec: GateSpec,
    verdict: Verdict,
    config: GatesConfig,
    compat: Compatibility,
    today: _dt.date | None,
    incomplete: Sequence[str] = (),
) -> GateResult:
    waiver = config.waiver_for(spec.gate)
    if incomplete and config.incomplete_runs == "fail":
        message = (
            "; ".join(incomplete)
            + " (set defaults.incomplete_runs: warn in the gates file to judge the "
            f"datapoints written so far)\n{verdict.text}"
        )
        return GateResult(spec, verdict, Status.FAILED, message, waiver)
    if compat.problems and config.compatibility == "fail":
        message = (
            "the runs are not comparable: "
            + "; ".join(compat.problems)
            + " (set defaults.compatibility: warn in the gates file to compare anyway)"
        )
        return GateResult(spec, verdict, Status.FAILED, message, waiver)
    expired = [
        w
        for w in config.waivers
        if w.expired(today) and (w is waiver or w.excludes_from(spec.gate))
    ]
    if expired:
        lines = [
            f"waiver for {w.describe()} expired on {w.expires}: {w.reason} "
            "(renew or remove it)"
            for w in expired
        ]
        message = "\n".join([*lines, verdict.text])
        return GateResult(spec, verdict, Status.FAILED, message, expired[0])
    if verdict.passed:
        return GateResult(spec, verdict, Status.PASSED, verdict.text, waiver)
    if waiver is not None:
        message = f"expected change: {waiver.reason}\n{verdict.text}"
        return GateResult(spec, verdict, Status.WAIVED, message, waiver)
    return GateResult(spec, verdict, Status.FAILED, verdict.text, None)


# --------------------------------------------------------------------------- render


def write_reports(
    comparison: RunComparisonResult,
    judgement: Judgement,
    outputs: Outputs,
    *,
    tests: Sequence[Any] = (),
) -> dict[str, Path]:
    """Render the requested reports and write each atomically; returns what was written."""
    from pytest_runcompare.writer import atomic_file

    written: dict[str, Path] = {}
    verdicts = judgement.verdicts
    if outputs.html is not None:
        from pytest_runcompare.report.html import render_html

        text = render_html(
            comparison,
            verdicts,
            tests=tests,
            generated=outputs.generated,
            max_outputs=outputs.max_outputs,
            seed=judgement.seed,
        )
        with atomic_file(outputs.html) as handle:
            handle.write(text)
        written["html"] = outputs.html
    if outputs.markdown is not None:
        from pytest_runcompare.report.markdown import render_markdown

        text = render_markdown(comparison, verdicts, html_path=outputs.html)
        with atomic_file(outputs.markdown) as handle:
            handle.write(text)
        written["markdown"] = outputs.markdown
    if outputs.json is not None:
        from pytest_runcompare.report.json_report import render_json

        text = render_json(comparison, verdicts, tests=tests)
        with atomic_file(outputs.json) as handle:
            handle.write(text)
        written["json"] = outputs.json
    return written
