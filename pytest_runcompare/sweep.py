"""A sweep: several candidates judged against one baseline, as one family.

Each candidate goes through the two-run pipeline (:func:`pipeline.judge`) with every
gate's alpha divided by the number of candidates K (Bonferroni across candidates;
within a candidate the gates file's own family rules apply), so the verdicts hold
for all candidates at once: "these candidates pass" is a claim about each of them.
The sweep then ranks the candidates on one metric and tests the best against the
runner-up on their paired datapoints (two-sided, at the family's alpha).
docs/statistics.md §13 gives the reasoning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pytest_runcompare import text
from pytest_runcompare.config import (
    GatesConfig,
    Require,
    SweepCorrection,
    SweepSettings,
)
from pytest_runcompare.errors import ConfigError

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement, Request
    from pytest_runcompare.runs import Run

__all__ = [
    "BestComparison",
    "CandidateResult",
    "Standing",
    "SweepJudgement",
    "candidate_config",
    "judge_sweep",
]


@dataclass(frozen=True, slots=True)
class _Figures:
    """What :class:`text.GateNumbers` needs to pick the decimals of a difference."""

    baseline_aggregate: float
    candidate_aggregate: float
    margin: float | None
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class CandidateResult:
    """One candidate of the sweep: its run, its comparison with the baseline, its gates."""

    label: str
    run: Run
    comparison: RunComparisonResult
    judgement: Judgement
    #: under ``require: any``, why this candidate's failed gates do not fail the
    #: session (another candidate passes every gate); None otherwise
    excused: str | None = None

    @property
    def passed(self) -> bool:
        """Every gate of this candidate passed (or was waived)."""
        return self.judgement.passed

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        meta = self.run.meta
        return {
            "label": self.label,
            "name": self.run.name,
            "source": meta.source,
            "params": dict(meta.params),
            "code_version": dict(meta.code_version),
            "datapoints": len(self.run),
            "passed": self.passed,
            "excused": self.excused,
            "judgement": self.judgement.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Standing:
    """A candidate's place on the ranking metric: its aggregate and its change."""

    label: str
    #: the candidate's aggregate of the metric (on the datapoints paired with the
    #: baseline), NaN when the gate could not measure it
    value: float
    #: candidate minus baseline, oriented so that positive is better
    change: float
    ci_low: float
    ci_high: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        from pytest_runcompare.stats.result import _plain

        return {
            "label": self.label,
            "value": _plain(self.value),
            "change": _plain(self.change),
            "ci_low": _plain(self.ci_low),
            "ci_high": _plain(self.ci_high),
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class BestComparison:
    """The best candidate against the runner-up, paired on their common datapoints.

    ``difference`` is best minus runner-up, oriented so that positive is better;
    the interval is two-sided at ``confidence_level`` and the p-value two-sided.
    ``distinguishable`` when both say the difference is not zero.
    """

    metric: str
    higher_is_better: bool
    best: str
    runner_up: str
    difference: float
    ci_low: float
    ci_high: float
    confidence_level: float
    p_value: float
    n: int
    distinguishable: bool
    test: str
    #: the best among the candidates that pass every gate (False: none passes, so
    #: the best of all)
    among_passing: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        from pytest_runcompare.stats.result import _plain

        return {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "best": self.best,
            "runner_up": self.runner_up,
            "difference": _plain(self.difference),
            "ci_low": _plain(self.ci_low),
            "ci_high": _plain(self.ci_high),
            "confidence_level": self.confidence_level,
            "p_value": _plain(self.p_value),
            "n": self.n,
            "distinguishable": self.distinguishable,
            "test": self.test,
            "among_passing": self.among_passing,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class SweepJudgement:
    """Every candidate judged with the same gates, and what the sweep asks of them."""

    baseline: Run
    candidates: tuple[CandidateResult, ...]
    require: Require
    correction: SweepCorrection
    #: the family's level (the gates file's default alpha)
    alpha: float
    #: the level each candidate's gates are judged at (``alpha / K`` or ``alpha``)
    candidate_alpha: float
    metric: str | None = None
    ranking: tuple[Standing, ...] = ()
    best: BestComparison | None = None
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """K, the number of candidates."""
        return len(self.candidates)

    @property
    def passing(self) -> tuple[str, ...]:
        """The labels of the candidates that pass every gate."""
        return tuple(c.label for c in self.candidates if c.passed)

    @property
    def passed(self) -> bool:
        """Every candidate passes (``require: all``) or at least one does (``any``)."""
        if self.require is Require.ANY:
            return bool(self.passing)
        return len(self.passing) == len(self.candidates)

    def candidate(self, label: str) -> CandidateResult:
        """The candidate labelled ``label``."""
        for c in self.candidates:
            if c.label == label:
                return c
        raise KeyError(label)

    @property
    def sentence(self) -> str:
        """The sweep's outcome in words."""
        k, n = len(self.passing), len(self.candidates)
        asked = (
            "at least one must pass every gate"
            if self.require is Require.ANY
            else "every candidate must pass every gate"
        )
        verdict = "passed" if self.passed else "failed"
        return f"sweep {verdict}: {k} of {n} candidate(s) pass every gate ({asked})"

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "passed": self.passed,
            "sentence": self.sentence,
            "require": str(self.require),
            "correction": str(self.correction),
            "alpha": self.alpha,
            "candidate_alpha": self.candidate_alpha,
            "baseline": {
                "name": self.baseline.name,
                "source": self.baseline.meta.source,
                "params": dict(self.baseline.meta.params),
                "datapoints": len(self.baseline),
            },
            "passing": list(self.passing),
            "metric": self.metric,
            "ranking": [s.to_dict() for s in self.ranking],
            "best": None if self.best is None else self.best.to_dict(),
            "warnings": list(self.warnings),
            "candidates": [c.to_dict() for c in self.candidates],
        }


# --------------------------------------------------------------------------- judge


def candidate_config(
    config: GatesConfig, size: int, correction: SweepCorrection
) -> GatesConfig:
    """The gates as each of ``size`` candidates is judged: every alpha over K (Bonferroni).

    Judging one pair with this configuration gives exactly that candidate's verdicts
    in the sweep.
    """
    if correction is SweepCorrection.NONE or size <= 1:
        return config
    base = float(config.defaults.get("alpha", 0.05))
    return replace(
        config,
        gates=tuple(
            replace(s, gate=replace(s.gate, alpha=s.gate.alpha / size))
            for s in config.gates
        ),
        defaults={**config.defaults, "alpha": base / size},
    )


def _family_alpha(config: GatesConfig) -> float:
    return float(config.defaults.get("alpha", 0.05))


def _ranking_metric(config: GatesConfig, settings: SweepSettings) -> str | None:
    if settings.best is not None:
        return settings.best
    for spec in config.gates:
        gate = spec.gate
        if gate.slice is None and gate.step is None:
            return gate.metric
    return None


def _standing(label: str, judgement: Judgement, metric: str) -> Standing:
    """The candidate's aggregate and change on ``metric``, from its top-level gate.

    A gate failed closed by the run policies (runs not comparable, an incomplete
    run) leaves the candidate unranked: its figures are not a measurement of the
    same thing, so it can be neither the best nor the runner-up.
    """
    from pytest_runcompare.pipeline import Cause

    for result in judgement.results:
        gate = result.verdict.gate
        if gate.metric == metric and gate.slice is None and gate.step is None:
            v = result.verdict
            closed = any(
                r.cause in (Cause.INCOMPATIBLE, Cause.INCOMPLETE)
                for r in result.reasons
            )
            return Standing(
                label,
                math.nan if closed else v.candidate_aggregate,
                v.estimate,
                v.ci_low,
                v.ci_high,
                judgement.passed,
            )
    return Standing(label, math.nan, math.nan, math.nan, math.nan, judgement.passed)


def _oriented(value: float, higher_is_better: bool) -> float:
    return value if higher_is_better else -value


def _rank(
    standings: Sequence[Standing], higher_is_better: bool
) -> tuple[Standing, ...]:
    """Best first; unmeasured candidates last; ties by label (deterministic)."""

    def key(s: Standing) -> tuple[bool, float, str]:
        known = math.isfinite(s.value)
        score = _oriented(s.value, higher_is_better) if known else 0.0
        return (not known, -score, s.label)

    return tuple(sorted(standings, key=key))


def _zero_spread(n: int, alpha: float) -> str:
    """Why identical paired differences on too few pairs cannot decide (§4), or ""."""
    from pytest_runcompare.judge.evaluate import MIN_N_ZERO_SPREAD, rule_of_three

    if n >= MIN_N_ZERO_SPREAD:
        return ""
    return (
        f"all {n} paired differences are identical: with fewer than "
        f"{MIN_N_ZERO_SPREAD} pairs no spread in the sample is no evidence of no "
        "spread in the population (up to "
        f"{rule_of_three(n, alpha):.1%} of its datapoints may differ), so the data "
        "cannot decide"
    )


def _best_versus_runner_up(
    results: Mapping[str, CandidateResult],
    ranking: Sequence[Standing],
    metric: str,
    higher_is_better: bool,
    alpha: float,
    quantile: float | None = None,
) -> BestComparison | None:
    """Is the best distinguishable from the runner-up? A paired two-sided test.

    Of the means (paired t, McNemar for a binary metric), or of the quantile the
    ranking gate aggregates (``median``, ``p95``: Bahadur, as that gate's test).
    """
    from pytest_runcompare.comparison import compare_runs
    from pytest_runcompare.stats.binary import mcnemar, paired_table
    from pytest_runcompare.stats.continuous import paired_t

    measured = [s for s in ranking if math.isfinite(s.value)]
    passing = [s for s in measured if s.passed]
    pool = passing if len(passing) >= 2 else measured
    if len(pool) < 2:
        return None
    best, runner_up = pool[0], pool[1]
    pair = compare_runs(
        results[runner_up.label].run,
        results[best.label].run,
        directions={metric: higher_is_better},
    )
    paired = pair.paired(metric)
    n = int(paired.baseline.size)
    level = 1 - alpha
    among = len(passing) >= 2
    if n < 2:
        return None
    sign = 1.0 if higher_is_better else -1.0
    if paired.boolean:
        b, c = paired.baseline, paired.candidate
        if not higher_is_better:
            b, c = 1 - b, 1 - c
        table = paired_table(b, c)
        result = mcnemar(
            table, alternative="two-sided", method="midp", confidence_level=level
        )
    elif quantile is not None:
        # ranked by a quantile: compare the two candidates' quantiles, as the gate does
        from pytest_runcompare.stats import clusters as cl
        from pytest_runcompare.stats.quantiles import quantile_difference

        if paired.clusters is not None:
            result = cl.cluster_quantile_difference(
                paired.candidate,
                paired.baseline,
                paired.clusters,
                q=quantile,
                higher_is_better=higher_is_better,
                alternative="two-sided",
                confidence_level=level,
            )
        else:
            result = quantile_difference(
                paired.candidate,
                paired.baseline,
                q=quantile,
                higher_is_better=higher_is_better,
                alternative="two-sided",
                confidence_level=level,
            )
    else:
        d = sign * (paired.candidate - paired.baseline)
        result = paired_t(
            d,
            alternative="two-sided",
            confidence_level=level,
            clusters=paired.clusters,
        )
    low, high, p = result.ci_low, result.ci_high, result.pvalue
    undecided = ""
    if not paired.boolean and quantile is None and result.se == 0.0:
        undecided = _zero_spread(n, alpha)
        if undecided:  # too few pairs for zero spread to decide (§4)
            low = high = p = math.nan
    distinguishable = bool(
        math.isfinite(p) and p < alpha and math.isfinite(low) and (low > 0 or high < 0)
    )
    numbers = text.GateNumbers(
        _Figures(runner_up.value, best.value, None, float(low), float(high))
    )
    figure = (
        f"{numbers.change(result.estimate)} {numbers.interval(low, high)} "
        f"({level:.0%}), p {text.p_value(p)}"
    )
    pool_words = (
        "candidates that pass every gate"
        if among
        else "candidates (fewer than two pass every gate)"
    )
    if undecided:
        figure = f"{numbers.change(result.estimate)}; {undecided}"
    if distinguishable:
        sentence = (
            f"{best.label} is the best of the {pool_words} on {metric}, "
            f"distinguishable from {runner_up.label}: {figure}, {result.test}, "
            f"n = {n}"
        )
    else:
        sentence = (
            f"{best.label} ranks first of the {pool_words} on {metric}, but is not "
            f"distinguishable from {runner_up.label}: {figure}, {result.test}, "
            f"n = {n}"
        )
    return BestComparison(
        metric=metric,
        higher_is_better=higher_is_better,
        best=best.label,
        runner_up=runner_up.label,
        difference=float(result.estimate),
        ci_low=float(low),
        ci_high=float(high),
        confidence_level=level,
        p_value=float(p),
        n=n,
        distinguishable=distinguishable,
        test=result.test,
        among_passing=among,
        text=sentence,
    )


def judge_sweep(
    baseline: Run,
    candidates: Sequence[tuple[str, Run]],
    request: Request,
    settings: SweepSettings | None = None,
) -> SweepJudgement:
    """Judge every candidate against ``baseline`` with the request's gates, as one family.

    Raises
    ------
    ConfigError
        With no candidate, duplicate labels, or a ranking metric no gate checks.

    """
    from pytest_runcompare import pipeline
    from pytest_runcompare.aggregates import quantile_of

    settings = settings or request.config.sweep
    if not candidates:
        raise ConfigError("a sweep needs at least one candidate")
    labels = [label for label, _ in candidates]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ConfigError(
            f"candidate label(s) {', '.join(twice)} given twice: label each "
            "candidate once (candidates: {label: location})"
        )
    size = len(candidates)
    config = candidate_config(request.config, size, settings.correction)
    each = replace(request, config=config)
    results: list[CandidateResult] = []
    for label, run in candidates:
        comparison = pipeline.compare(baseline, run, config)
        if not config.gates:
            raise ConfigError("a sweep needs gates: declare them under `metrics:`")
        judgement = pipeline.judge(comparison, each)
        results.append(CandidateResult(label, run, comparison, judgement))
    metric = _ranking_metric(config, settings)
    if metric is not None and not any(s.gate.metric == metric for s in config.gates):
        raise ConfigError(
            f"sweep.best: {metric!r} is not a gated metric (gated: "
            f"{', '.join(dict.fromkeys(s.gate.metric for s in config.gates))})"
        )
    ranking: tuple[Standing, ...] = ()
    best = None
    warnings: list[str] = []
    if metric is not None:
        directions = results[0].comparison.directions
        higher = bool(directions.get(metric, True))
        ranking = _rank(
            [_standing(c.label, c.judgement, metric) for c in results], higher
        )
        by_label = {c.label: c for c in results}
        gate = next(
            (
                s.gate
                for s in config.gates
                if s.gate.metric == metric
                and s.gate.slice is None
                and s.gate.step is None
            ),
            None,
        )
        if gate is not None and gate.denominator is not None:
            warnings.append(
                f"the best is not tested against the runner-up: {metric} is ranked by "
                f"a ratio of sums (denominator {gate.denominator}), which the paired "
                "test between two candidates does not compare"
            )
        else:
            best = _best_versus_runner_up(
                by_label,
                ranking,
                metric,
                higher,
                _family_alpha(request.config),
                quantile=None if gate is None else quantile_of(gate.aggregate),
            )
    if settings.require is Require.ANY:
        winners = [c.label for c in results if c.passed]
        if winners:
            shown = ", ".join(winners[:5]) + (" ..." if len(winners) > 5 else "")
            why = (
                "the sweep requires at least one candidate to pass every gate, and "
                f"{shown} {'does' if len(winners) == 1 else 'do'}"
            )
            results = [c if c.passed else replace(c, excused=why) for c in results]
    return SweepJudgement(
        baseline=baseline,
        candidates=tuple(results),
        require=settings.require,
        correction=settings.correction,
        alpha=_family_alpha(request.config),
        candidate_alpha=_family_alpha(config),
        metric=metric,
        ranking=ranking,
        best=best,
        warnings=tuple(warnings),
    )
