"""Gates collected as test items: one per metric x slice x step of the gates file.

Each item's outcome is its gate's verdict, so ``-k``, ``--lf``, JUnit XML and xdist
work on gates as on any test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from pytest_runcompare.config import GateSpec
from pytest_runcompare.errors import RunCompareError
from pytest_runcompare.pipeline import Status
from pytest_runcompare.session import RunCompareSession, get_session
from pytest_runcompare.untrusted import log_text, one_line

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult


class GateFailed(Exception):
    """A gate's verdict is FAIL (or its waiver expired); the message is the verdict's."""


class GatesFile(pytest.File):
    """The gates file (``runcompare.yaml``)."""

    def collect(self) -> Any:
        state = get_session(self.config)
        try:
            if state.is_sweep():
                yield from self._candidates(state)
                return
            specs = state.gate_specs()
        except RunCompareError as error:
            raise self.CollectError(str(error)) from None
        _check_unique(self, specs)
        state.gates_collected = len(specs)
        figures = self._power(state)
        yield from gate_items(self, specs, figures)

    def _candidates(self, state: RunCompareSession) -> Any:
        """A sweep: one collector per candidate, its gates inside."""
        labels = [label for label, _ in state.sweep_candidates()]
        state.gates_collected = 0
        for label in labels:
            yield CandidateGates.from_parent(self, name=one_line(label), label=label)

    def _power(self, state: RunCompareSession) -> dict[str, list[tuple[str, str]]]:
        """The plan from the baseline alone: warn about (or fail on) underpowered gates.

        Returns each gate's power figures as JUnit properties.
        """
        from pytest_runcompare import text
        from pytest_runcompare.config import PowerPolicy
        from pytest_runcompare.plan import chance

        plan = state.plan()
        if plan is None:
            return {}
        gates = state.settings.gates
        low = plan.underpowered()
        where = {
            g.key: f"{self.path}:{g.line}: " if g.line else f"{self.path}: "
            for g in low
        }
        if low and gates.power is PowerPolicy.FAIL:
            lines = "\n".join(f"{where[g.key]}{g.sentence()}" for g in low)
            raise self.CollectError(
                f"{len(low)} gate(s) cannot be expected to pass even if nothing "
                f"changed (defaults.power: fail; {plan.short_assumption}):\n{lines}"
            )
        for g in low:
            line = next((s.line for s in gates.gates if s.gate.key == g.key), None)
            message = f"{where[g.key]}{g.sentence()} ({plan.short_assumption})"
            state.warn(message, line=line)
        return {
            g.key: [
                ("runcompare_plan_pass_chance", chance(g.pass_chance)),
                ("runcompare_plan_mde", text.number(g.mde, digits=3)),
            ]
            for g in plan.gates
            if g.reason is None
        }

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, self.CollectError | RunCompareError):
            return log_text(excinfo.value)
        return super().repr_failure(excinfo)


def _check_unique(node: pytest.Collector, specs: list[GateSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        key = spec.gate.key
        if key in seen:
            raise node.CollectError(f"{node.path}: gate {key!r} is declared twice")
        seen.add(key)


def gate_items(
    parent: pytest.Collector,
    specs: list[GateSpec],
    figures: dict[str, list[tuple[str, str]]],
    label: str | None = None,
) -> Any:
    """One item per gate under ``parent`` (a gates file, or a sweep's candidate)."""
    for spec in specs:
        key = spec.gate.key
        # The node id shows run data (a slice tag) escaped: pytest prints it.
        name = one_line(key)
        # A string node id, so that pytest parses ``acc[lang:de]`` into a name
        # and params as it does the ids in its cache: --lf, --ff and node-id
        # arguments then match slice gates like parametrized tests.
        item = GateItem.from_parent(
            parent,
            name=name,
            spec=spec,
            label=label,
            nodeid=f"{parent.nodeid}::{name}",
        )
        item.user_properties.extend(figures.get(key, ()))
        yield item


class CandidateGates(pytest.Collector):
    """One candidate of a sweep (``runcompare.yaml::cand-3``), its gates inside."""

    def __init__(self, *, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = label

    def collect(self) -> Any:
        state = get_session(self.config)
        try:
            specs = state.sweep_gate_specs(self.label)
        except RunCompareError as error:
            raise self.CollectError(str(error)) from None
        _check_unique(self, specs)
        state.gates_collected = (state.gates_collected or 0) + len(specs)
        yield from gate_items(self, specs, {}, self.label)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, self.CollectError | RunCompareError):
            return log_text(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"runcompare candidate {one_line(self.label)}"


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What a gate item reports: pytest's outcome word, its message and properties.

    The one function that turns a gate's result into a test outcome, shared by
    :meth:`GateItem.runtest` and the gates judged at the end of an xdist session.
    """

    outcome: Literal["passed", "failed", "skipped", "xfailed"]
    message: str = ""
    properties: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()


def gate_outcome(
    state: RunCompareSession, key: str, label: str | None = None
) -> ItemOutcome:
    """The outcome of the gate ``key``: a pure rendering of the session's judgement.

    ``label`` names the candidate of a sweep the gate belongs to.
    """
    from pytest_runcompare.render.junit import properties
    from pytest_runcompare.render.terminal import failure_message
    from pytest_runcompare.render.terminal import message as safe_message

    gate: tuple[tuple[str, str], ...] = (("runcompare_gate", key),)
    if state.baseline_missing():
        source = state.baseline_source()
        if label is not None:  # a sweep never creates (promotes) a baseline
            return ItemOutcome(
                "failed", state.sweep_missing_baseline_message(source), gate
            )
        if state.settings.update_baseline:
            return ItemOutcome(
                "skipped",
                f"no baseline yet: this session writes {source.location} from the "
                "candidate (--runcompare-update-baseline)",
                gate,
            )
        return ItemOutcome("failed", state.missing_baseline_message(source), gate)
    excused: str | None = None
    comparison: RunComparisonResult | None
    engine = state.engine_name()
    try:
        if engine is not None:
            result = state.gate_result(key)
            comparison = None  # the engine keeps the datapoints: the JSON report has
        elif label is None:  # the top changed ones
            result = state.gate_result(key)
            comparison = state.comparison()
        else:
            candidate = state.sweep().candidate(label)
            result = candidate.judgement.result(key)
            comparison = candidate.comparison
            excused = candidate.excused
            gate += (("runcompare_candidate", label),)
    except RunCompareError as error:
        if engine is not None:
            return ItemOutcome("failed", _not_judged(state, key, error), gate)
        return ItemOutcome("failed", str(error), gate)
    props = gate + tuple(properties(result))
    warnings = tuple(f"{one_line(key)}: {one_line(w)}" for w in result.verdict.warnings)
    if result.status is Status.WAIVED:
        return ItemOutcome("xfailed", safe_message(result), props, warnings)
    if result.fails_session:
        report = state.settings.html if engine is None else _engine_report(state)
        if report is not None and label is not None:
            from pytest_runcompare.render.write import sweep_pair_paths

            labels = [name for name, _ in state.sweep_candidates()]
            report = sweep_pair_paths(report, labels)[label]
        message = failure_message(
            result, comparison, report=None if report is None else str(report)
        )
        if excused is not None:
            props += (("runcompare_excused", excused),)
            return ItemOutcome("xfailed", f"{message}\n({excused})", props, warnings)
        return ItemOutcome("failed", message, props, warnings)
    return ItemOutcome("passed", "", props, warnings)


def _not_judged(state: RunCompareSession, key: str, error: RunCompareError) -> str:
    """An engine gate that was not judged: the gates file, the gate, the engine's why."""
    path = state.settings.gates.path
    where = f"{path}: " if path is not None else ""
    return f"{where}gate {key!r} was not judged: {error}"


def _engine_report(state: RunCompareSession) -> Path | None:
    """The report a failed engine gate points at: the first the engine path writes."""
    outputs = state.settings.request.outputs
    return outputs.html if outputs.html is not None else outputs.json


class GateItem(pytest.Item):
    """One gate; running it judges it (all gates are judged once, as one family)."""

    def __init__(
        self, *, spec: GateSpec, label: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.label = label
        self.add_marker(pytest.mark.runcompare_gate)
        self.user_properties.append(("runcompare_gate", spec.gate.key))

    def runtest(self) -> None:
        state = get_session(self.config)
        result = gate_outcome(state, self.spec.gate.key, self.label)
        for name, value in result.properties[1:]:
            self.user_properties.append((name, value))
        state.warn_session_once()
        for warning in result.warnings:
            state.warn(warning, line=self.spec.line)
        if result.outcome == "skipped":
            raise pytest.skip.Exception(result.message, _use_item_location=True)
        if result.outcome == "xfailed":
            pytest.xfail(result.message)
        if result.outcome == "failed":
            raise GateFailed(result.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, GateFailed | RunCompareError):
            return log_text(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.spec.line
        return (
            self.path,
            None if line is None else line - 1,
            f"runcompare gate {self.name}",
        )
