"""Assertion helpers for hand-written tests (the ``runcompare`` fixture).

``assert_no_regression`` is judged by the pipeline with the session's request: the
same waivers, run policies, alpha and custom tests as the gates file. An assertion
whose gate equals a declared gate gets that gate's result; any other is a family of
one (docs/statistics.md §5). ``__tracebackhide__`` keeps the helpers' frames out of
pytest's tracebacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pytest_runcompare.untrusted import one_line

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.judge import Verdict
    from pytest_runcompare.pipeline import GateResult, Judgement, Request


class RunCompareAssertions:
    """Non-regression assertions over one comparison."""

    def __init__(
        self,
        comparison: RunComparisonResult,
        request: Request,
        *,
        session: Callable[[], Judgement | None] | None = None,
        record: Callable[[GateResult], None] | None = None,
        report: str | None = None,
    ) -> None:
        self.comparison = comparison
        self.request = request
        self._session = session
        self._record = record
        self.report = report

    def result(
        self,
        metric: str,
        *,
        slice: str | None = None,
        step: str | None = None,
        **gate: Any,
    ) -> GateResult:
        """Judge one assertion without asserting: its final status and verdict.

        Keyword arguments are :class:`~pytest_runcompare.judge.Gate` fields over the
        gates file's settings for ``metric``.
        """
        from pytest_runcompare.pipeline import assertion_spec, judge_assertion

        spec = assertion_spec(
            self.request.config, metric, slice=slice, step=step, **gate
        )
        session = None if self._session is None else self._session()
        result = judge_assertion(self.comparison, self.request, spec, session=session)
        if self._record is not None:
            self._record(result)
        return result

    def verdict(
        self,
        metric: str,
        *,
        slice: str | None = None,
        step: str | None = None,
        **gate: Any,
    ) -> Verdict:
        """The verdict of :meth:`result` (its numbers and sentence)."""
        return self.result(metric, slice=slice, step=step, **gate).verdict

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
        (``mode``, ``test``, ``alpha``, ``aggregate``...) are gate settings. The
        assertion fails exactly when the same gate would fail the session.
        """
        __tracebackhide__ = True
        from pytest_runcompare.render.terminal import failure_message

        if margin is not None:
            gate["margin"] = margin
        result = self.result(metric, slice=slice, step=step, **gate)
        if result.fails_session:
            raise AssertionError(
                failure_message(result, self.comparison, report=self.report)
            )
        return result.verdict

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
                    f"{len(missing)} datapoint(s) are not in both runs: {_ids(missing, limit)}"
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
                    f"  {one_line(c.id)}: {_short(c.old_output)} -> {_short(c.new_output)}"
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
                f"datapoint(s) missing from the candidate, e.g. {_ids(old_only, limit)}"
            )
        if not allow_new and new_only:
            problems.append(
                f"{len(new_only)} datapoint(s) only in the candidate, e.g. "
                f"{_ids(new_only, limit)}"
            )
        if problems:
            raise AssertionError("; ".join(problems))


def _ids(ids: Sequence[str], limit: int) -> str:
    """The first ``limit`` datapoint ids, shown safely (run data on a terminal)."""
    return ", ".join(one_line(i) for i in ids[:limit])


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
