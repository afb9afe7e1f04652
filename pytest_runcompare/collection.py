"""Gates collected as test items: one per metric x slice x step of the gates file.

Each item's outcome is its gate's verdict, so ``-k``, ``--lf``, JUnit XML and xdist
work on gates as on any test.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from pytest_runcompare.config import GateSpec
from pytest_runcompare.errors import RunCompareError
from pytest_runcompare.session import get_session


class GateFailed(Exception):
    """A gate's verdict is FAIL (or its waiver expired); the message is the verdict's."""


class GatesFile(pytest.File):
    """The gates file (``runcompare.yaml``)."""

    def collect(self) -> Any:
        state = get_session(self.config)
        try:
            specs = state.gate_specs()
        except RunCompareError as error:
            raise self.CollectError(str(error)) from None
        seen: set[str] = set()
        for spec in specs:
            key = spec.gate.key
            if key in seen:
                raise self.CollectError(f"{self.path}: gate {key!r} is declared twice")
            seen.add(key)
            yield GateItem.from_parent(self, name=key, spec=spec)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, self.CollectError | RunCompareError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class GateItem(pytest.Item):
    """One gate; running it judges it (all gates are judged once, as one family)."""

    def __init__(self, *, spec: GateSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.add_marker(pytest.mark.runcompare_gate)
        self.user_properties.append(("runcompare_gate", spec.gate.key))

    def runtest(self) -> None:
        from pytest_runcompare.pipeline import Status
        from pytest_runcompare.summary import failure_message

        state = get_session(self.config)
        key = self.spec.gate.key
        if state.baseline_missing():
            source = state.baseline_source()
            if state.settings.update_baseline:
                raise pytest.skip.Exception(
                    f"no baseline yet: this session writes {source.location} from the "
                    "candidate (--runcompare-update-baseline)",
                    _use_item_location=True,
                )
            raise GateFailed(state.missing_baseline_message(source))
        result = state.gate_result(key)
        if not state.warned_session:
            state.warned_session = True
            for warning in state.judgement().warnings:
                state.warn(warning)
        verdict = result.verdict
        for name, value in _properties(verdict, str(result.status)):
            self.user_properties.append((name, value))
        for warning in verdict.warnings:
            state.warn(f"{key}: {warning}")
        if result.status is Status.WAIVED:
            pytest.xfail(result.message)
        if result.status is Status.FAILED:
            report = state.settings.html
            raise GateFailed(
                failure_message(
                    result,
                    state.comparison(),
                    report=None if report is None else str(report),
                )
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, GateFailed | RunCompareError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.spec.line
        return (
            self.path,
            None if line is None else line - 1,
            f"runcompare gate {self.name}",
        )


def _properties(verdict: Any, status: str) -> list[tuple[str, str]]:
    """The verdict's figures as JUnit XML properties."""
    out = [("runcompare_status", status), ("runcompare_outcome", str(verdict.outcome))]
    for name in (
        "baseline_aggregate",
        "candidate_aggregate",
        "estimate",
        "bound",
        "ci_low",
        "ci_high",
        "margin",
        "p_value",
        "p_adjusted",
        "n_paired",
        "mde",
        "n_required",
        "improved_count",
        "degraded_count",
    ):
        value = getattr(verdict, name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out.append(
            (
                f"runcompare_{name}",
                f"{value:.6g}" if isinstance(value, float) else str(value),
            )
        )
    out.append(("runcompare_test", verdict.test))
    out.append(("runcompare_mode", str(verdict.mode)))
    return out
