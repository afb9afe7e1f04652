"""Judging gates: one statistical assertion about one metric, into a :class:`Verdict`.

The modules follow the flow of one gate: :mod:`.spec` (what a gate asserts),
:mod:`.prepare` (its data: coverage, missing policy, waived ids, pairing),
:mod:`.select` (which test, as a table), :mod:`.execute` (running it),
:mod:`.decide` (the outcome, pure), :mod:`.explain` (the sentence), :mod:`.settle`
(how much data would settle it) and :mod:`.family` (the session's gates together).

Custom tests
------------
``evaluate_gate(..., custom_tests={"name": fn})`` makes ``test: name`` available.
``fn(paired, gate, *, rng) -> TestResult`` receives the core's ``PairedMetric``
(raw, not oriented values) and the gate, and must return a
:class:`~pytest_runcompare.stats.result.TestResult` whose ``estimate``,
``ci_low`` and ``ci_high`` are in the metric's units, oriented so that positive is
better, at ``confidence_level = 1 − 2·gate.alpha``, and whose ``pvalue`` tests the
gate's hypothesis at ``null = −margin`` (``alternative="greater"`` for
non-inferiority, ``"less"`` for regression detection). Equivalence gates with a
custom test are judged from the interval alone.
"""

from __future__ import annotations

from pytest_runcompare.judge.evaluate import conclude, evaluate_gate, measure
from pytest_runcompare.judge.execute import CustomTest
from pytest_runcompare.judge.family import (
    GateSummary,
    conclude_family,
    evaluate_gates,
    judge_gates,
)
from pytest_runcompare.judge.prepare import Comparable, WithoutIds
from pytest_runcompare.judge.spec import (
    BUILTIN_TESTS,
    Correction,
    Gate,
    InconclusivePolicy,
    Margin,
    MissingPolicy,
    Mode,
    Pairing,
    RunPolicy,
    gate_rng,
    parse_margin,
)
from pytest_runcompare.judge.verdict import Evidence, Outcome, Settle, TestKind, Verdict

__all__ = [
    "BUILTIN_TESTS",
    "Comparable",
    "Correction",
    "CustomTest",
    "Evidence",
    "Gate",
    "GateSummary",
    "InconclusivePolicy",
    "Margin",
    "MissingPolicy",
    "Mode",
    "Outcome",
    "Pairing",
    "RunPolicy",
    "Settle",
    "TestKind",
    "Verdict",
    "WithoutIds",
    "conclude",
    "conclude_family",
    "evaluate_gate",
    "evaluate_gates",
    "gate_rng",
    "judge_gates",
    "measure",
    "parse_margin",
]
