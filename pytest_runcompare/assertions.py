"""Assertion helpers for hand-written tests (the ``runcompare`` fixture).

Each helper judges with the same gates as the gates file and raises ``AssertionError``
with the verdict's text; ``__tracebackhide__`` keeps their frames out of pytest's
tracebacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_runcompare.config import GatesConfig

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.verdict import Verdict


class RunCompareAssertions:
    """Non-regression assertions over one comparison."""

    def __init__(
        self,
        comparison: RunComparisonResult,
        *,
        gates: GatesConfig | None = None,
        seed: int = 0,
        custom_tests: Mapping[str, Callable[..., Any]] | None = None,
        report: str | None = None,
    ) -> None:
        self.comparison = comparison
        self.gates = gates or GatesConfig()
        self.seed = seed
        self.custom_tests = dict(custom_tests or {})
        self.report = report

    def _defaults(self, metric: str) -> dict[str, Any]:
        """The gates file's settings for ``metric`` (top-level gate), if it has one."""
        from dataclasses import fields

        for spec in self.gates.gates:
            gate = spec.gate
            if gate.metric == metric and gate.slice is None and gate.step is None:
                return {f.name: getattr(gate, f.name) for f in fields(gate)}
        out: dict[str, Any] = {"metric": metric}
        out.update(
            {k: v for k, v in self.gates.defaults.items() if k not in ("slices",)}
        )
        return out

    def verdict(
        self,
        metric: str,
        *,
        slice: str | None = None,
        step: str | None = None,
        **gate: Any,
    ) -> Verdict:
        """Judge one gate without asserting (keyword arguments are :class:`Gate` fields)."""
        from pytest_runcompare.gates import Gate, evaluate_gate

        settings = {**self._defaults(metric), **gate, "metric": metric}
        settings["slice"] = slice
        settings["step"] = step
        settings.setdefault("higher_is_better", None)
        return evaluate_gate(
            self.comparison,
            Gate(**settings),
            seed=self.seed,
            custom_tests=self.custom_tests,
        )

    def assert_no_regression(
        self,
        metric: str,
        *,
        margin: float | str | None = None,
        slice: str | None = None,
        step: str | None = None,
        **gate: Any,
    ) -> Verdict:
        """Assert the gate on ``metric`` passes; returns the verdict.

        ``margin`` is absolute (``0.01``) or relative (``"2%"``); other keywords
        (``mode``, ``test``, ``alpha``, ``aggregate``...) are gate settings.
        """
        __tracebackhide__ = True
        from pytest_runcompare.config import GateSpec
        from pytest_runcompare.pipeline import GateResult, Status
        from pytest_runcompare.summary import failure_message

        if margin is not None:
            gate["margin"] = margin
        verdict = self.verdict(metric, slice=slice, step=step, **gate)
        if not verdict.passed:
            result = GateResult(
                GateSpec(verdict.gate), verdict, Status.FAILED, verdict.text
            )
            raise AssertionError(
                failure_message(result, self.comparison, report=self.report)
            )
        return verdict

    def assert_outputs_unchanged(
        self, ids: Iterable[str | int] | None = None, *, limit: int = 5
    ) -> None:
        """Assert that the datapoints ``ids`` (default: all common ones) kept their output."""
        __tracebackhide__ = True
        wanted = None if ids is None else {str(i) for i in ids}
        if wanted is not None:
            known = set(self.comparison.common_datapoints)
            missing = sorted(wanted - known)
            if missing:
                raise AssertionError(
                    f"{len(missing)} datapoint(s) are not in both runs: {', '.join(missing[:limit])}"
                )
        changed = [
            c
            for c in self.comparison.changed_outputs()
            if wanted is None or c.id in wanted
        ]
        if changed:
            lines = [f"{len(changed)} output(s) changed:"]
            for c in changed[:limit]:
                lines.append(
                    f"  {c.id}: {_short(c.old_output)} -> {_short(c.new_output)}"
                )
            if len(changed) > limit:
                lines.append(f"  ... and {len(changed) - limit} more")
            raise AssertionError("\n".join(lines))

    def assert_coverage(
        self, min_coverage: float = 1.0, *, allow_new: bool = True, limit: int = 5
    ) -> None:
        """Assert that the candidate has at least ``min_coverage`` of the baseline's datapoints."""
        __tracebackhide__ = True
        coverage = self.comparison.coverage
        old_only = self.comparison.old_only_datapoints
        new_only = self.comparison.new_only_datapoints
        problems = []
        if coverage < min_coverage:
            problems.append(
                f"coverage {coverage:.1%} < {min_coverage:.1%}: {len(old_only)} baseline "
                f"datapoint(s) missing from the candidate, e.g. {', '.join(old_only[:limit])}"
            )
        if not allow_new and new_only:
            problems.append(
                f"{len(new_only)} datapoint(s) only in the candidate, e.g. "
                f"{', '.join(new_only[:limit])}"
            )
        if problems:
            raise AssertionError("; ".join(problems))


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
