"""One gate from data to evidence (:func:`measure`) and from evidence to verdict.

:func:`measure` prepares the gate's data, picks and runs its test and returns the
numbers; :func:`conclude` decides and explains them, given the family's adjusted
p-value; :func:`evaluate_gate` does both for a gate judged on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy

from pytest_runcompare import text
from pytest_runcompare.aggregates import aggregate
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.decide import decide, passes
from pytest_runcompare.judge.execute import CustomTest, Side, run_test
from pytest_runcompare.judge.explain import explain
from pytest_runcompare.judge.prepare import (
    Comparable,
    FailClosed,
    FloatArray,
    Prepared,
    fetch,
    prepare,
)
from pytest_runcompare.judge.select import Choice, select
from pytest_runcompare.judge.settle import settle
from pytest_runcompare.judge.spec import Correction, Gate, Margin, Mode, gate_rng
from pytest_runcompare.judge.verdict import (
    Evidence,
    Outcome,
    TestKind,
    Verdict,
    evidence_fields,
)
from pytest_runcompare.stats._validation import InsufficientData
from pytest_runcompare.stats.power import (
    minimum_detectable_effect,
    pass_probability,
    required_n,
)

__all__ = [
    "conclude",
    "count_evidence",
    "evaluate_gate",
    "evidence_from_test",
    "fail_closed",
    "measure",
]

#: Below this many pairs the verdict warns that approximations are rough.
SMALL_N = 30
#: Fewer paired datapoints than this and no test runs: the gate fails closed (§4).
MIN_PAIRS = 2
#: Below this many pairs, identical paired differences (zero spread) whose test
#: gives a zero-width interval are INCONCLUSIVE: at n = 30 the rule of three still
#: allows about a tenth of the population's datapoints to differ (§4).
MIN_N_ZERO_SPREAD = SMALL_N


def _versions() -> dict[str, Any]:
    return {"numpy_version": np.__version__, "scipy_version": scipy.__version__}


def fail_closed(
    gate: Gate, reason: str, seed: int, *, config_error: bool = False, **extra: Any
) -> Evidence:
    """The evidence of a gate that could not be judged: it fails, with the reason."""
    return Evidence(
        gate=gate,
        key=gate.key,
        reason=reason,
        config_error=config_error,
        margin_text="" if gate.margin is None else str(gate.margin),
        seed=seed,
        **_versions(),
        **extra,
    )


def _aggregate(values: FloatArray, gate: Gate, den: FloatArray | None) -> float:
    """The gate's aggregate of one run's values (NaN when there are none)."""
    if den is not None:  # rate with a denominator: ratio of sums
        total = float(den.sum())
        return float(values.sum()) / total if total and values.size else math.nan
    value = aggregate(values, gate.aggregate)
    return math.nan if value is None else value


def _margin_text(margin: Margin, m_abs: float) -> str:
    """``0.02`` or ``2% of the baseline (0.0162)``."""
    if margin.relative:
        return f"{margin} of the baseline ({text.number(m_abs, digits=3)})"
    return f"{m_abs:g}"


def _paired_counts(prep: Prepared) -> tuple[dict[str, Any], tuple[int, int] | None]:
    """Improved / degraded / unchanged counts and, for 0/1 metrics, the discordant pair."""
    if prep.unpaired:
        return {}, None
    o = 1.0 if prep.hib else -1.0
    d0 = np.round(o * (prep.cand - prep.base), 12)
    better = int(np.count_nonzero(d0 > 0))
    worse = int(np.count_nonzero(d0 < 0))
    counts: dict[str, Any] = {
        "improved_count": better,
        "degraded_count": worse,
        "unchanged_count": int(prep.base.size) - better - worse,
    }
    return counts, ((worse, better) if prep.boolean else None)


def _constant_difference(prep: Prepared, gate: Gate) -> float | None:
    """The one value every oriented paired difference takes, or None (§4).

    For a ratio of sums, only identical runs (numerators and denominators) count.
    """
    if prep.unpaired or prep.base.size == 0:
        return None
    o = 1.0 if prep.hib else -1.0
    d = np.round(o * (prep.cand - prep.base), 12)
    first = float(d[0])
    if not np.all(d == first):
        return None
    if gate.denominator is not None and (
        first != 0
        or prep.den_base is None
        or prep.den_cand is None
        or not np.array_equal(prep.den_base, prep.den_cand)
    ):
        return None
    return first


def rule_of_three(n: int, alpha: float) -> float:
    """Upper (1 − α) bound on the share of datapoints that differ, none of n seen.

    ``1 − α^{1/n}``: the one-sided Clopper–Pearson bound with 0 events, about
    ``3/n`` at α = 0.05 (the "rule of three").
    """
    return float(1 - alpha ** (1 / n))


def _zero_spread(
    n: int, alpha: float, change: float, ci_low: float, ci_high: float
) -> tuple[str, str | None]:
    """The verdict's note on identical paired differences, and why the data cannot decide.

    The second is None from :data:`MIN_N_ZERO_SPREAD` pairs up (§4).
    """
    share = f"{rule_of_three(n, alpha):.1%}"
    same = f"all {n} paired differences are identical ({text.signed(change, digits=3)})"
    if ci_low < ci_high:  # a bounded (0/1) metric: the score interval allows for them
        return (
            f"{same}; the interval allows for datapoints outside the sample that "
            f"differ (up to {share} of them, one-sided {1 - alpha:.0%})"
        ), None
    if n < MIN_N_ZERO_SPREAD:
        return same, (
            f"{same}: with fewer than {MIN_N_ZERO_SPREAD} pairs no spread in the "
            "sample is no evidence of no spread in the population (up to "
            f"{share} of its datapoints may differ), so the data cannot decide"
        )
    return (
        f"{same}: zero spread, so the interval has no width and holds for these "
        f"datapoints; up to {share} of the population's datapoints may differ "
        f"(one-sided {1 - alpha:.0%}), by an amount these data cannot bound"
    ), None


def _disagreement(
    gate: Gate, p: float, ci_low: float, ci_high: float, margin: float
) -> str | None:
    """Why the p-value and the interval shown lead to different outcomes, if they do.

    The p-value and the interval can come from different methods (an exact p with an
    asymptotic interval, McNemar's mid-p with Newcombe's interval, the more
    conservative of two tests); near α they can disagree. A gate never shows an
    interval that contradicts its verdict: it is INCONCLUSIVE then (§4).
    """
    if not (math.isfinite(p) and math.isfinite(ci_low) and math.isfinite(ci_high)):
        return None
    tol = 1e-12 * max(1.0, abs(margin), abs(ci_low), abs(ci_high))
    a = gate.alpha
    if gate.mode is Mode.NON_INFERIORITY:
        by_p, by_ci = p <= a, ci_low > -margin + tol
        bound, beyond = ci_low, -margin
    elif gate.mode is Mode.REGRESSION_DETECTION:
        by_p, by_ci = p <= a, ci_high < -margin - tol
        bound, beyond = ci_high, -margin
    else:
        by_p = p <= a
        by_ci = -margin + tol < ci_low and ci_high < margin - tol
        bound, beyond = (
            (ci_low, -margin) if ci_low <= -margin + tol else (ci_high, margin)
        )
    if by_p == by_ci:
        return None
    return (
        f"the p-value ({text.p_value(p)}) and the interval's bound "
        f"({text.signed(bound, digits=6)} against {text.signed(beyond, digits=6)}) disagree at the edge of what "
        "this n resolves, so neither decides"
    )


def measure(
    comparison: Comparable,
    gate: Gate,
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> Evidence:
    """Run one gate's test on a comparison and return its numbers.

    Returns evidence with ``reason`` set when the gate cannot be judged (unknown or
    missing metric, NaN values, coverage below ``min_coverage``, fewer than
    :data:`MIN_PAIRS` pairs, data too small or degenerate for the test): gates
    fail closed.

    Raises
    ------
    ConfigError
        For configuration mistakes, e.g. no margin (or a margin of 0) in
        non-inferiority mode (the message shows the minimum detectable effect at
        the current n).

    """
    try:
        return _measure(comparison, gate, seed=seed, custom_tests=custom_tests)
    except InsufficientData as exc:  # the data, not the code: fail closed (§4)
        return fail_closed(
            gate, f"too little data for the test: {str(exc).rstrip('.')}", seed
        )


def count_evidence(
    gate: Gate,
    prep: Prepared,
    estimate: float,
    *,
    discordant: tuple[int, int] | None,
    seed: int,
    counts: Mapping[str, Any],
    common: Mapping[str, Any],
) -> Evidence:
    """A ``max_new_failures`` gate without a margin: the count is the evidence.

    Raises
    ------
    ConfigError
        When the metric is not binary (there are no new failures to count).

    """
    if discordant is None:
        raise ConfigError(
            f"gate {gate.key!r}: max_new_failures needs a binary (0/1) metric"
        )
    return Evidence(
        gate=gate,
        key=gate.key,
        kind=TestKind.COUNT,
        warnings=tuple(prep.warnings),
        estimate=estimate,
        test="count of new failures",
        test_reason="max_new_failures without a margin",
        tests_what="datapoints right in the baseline and wrong in the candidate",
        discordant=discordant,
        new_failures=discordant[0],
        margin_text=f"at most {gate.max_new_failures} new failures",
        seed=seed,
        **counts,
        **common,
        **_versions(),
    )


def evidence_from_test(
    gate: Gate,
    prep: Prepared,
    margin: Margin | None,
    *,
    side: Callable[..., Side],
    choose: Callable[[Margin], Choice],
    constant: Callable[[], float | None],
    n: int,
    base_agg: float,
    scale: float,
    seed: int,
    discordant: tuple[int, int] | None,
    new_failures: int | None,
    counts: Mapping[str, Any],
    common: Mapping[str, Any],
) -> Evidence:
    """Choose, run and read a gate's test: the decision rules both paths share.

    The in-memory path (:func:`_measure`) and the engine path
    (``engine.judge_summary``) differ in how they hold the data (``side`` builds the
    :class:`Side` a runner reads, ``choose`` picks or refuses the test, ``constant``
    is the one value of every paired difference, or None); from the test on, the
    margin checks, the equivalence and opposite sides, the zero-spread and
    disagreement rules and the evidence are this one function (docs/statistics.md
    §1-§4).

    Raises
    ------
    ConfigError
        No margin in non-inferiority or equivalence mode (with the MDE), or a
        margin outside a binary metric's range.

    """
    key = gate.key
    if margin is None or (
        margin.value == 0 and gate.mode is not Mode.REGRESSION_DETECTION
    ):
        # NI or equivalence without a margin, or with 0: help choose one (§1)
        choice = choose(Margin(0.0))
        needs = (
            f"gate {key!r}: mode {gate.mode} needs a margin > 0 (margin: 0.01 in "
            "metric units, or '2%' of the baseline)"
            if margin is None
            else f"gate {key!r}: a margin of 0 in {gate.mode} mode is a "
            "superiority test that an unchanged model fails most of the time; "
            "choose a margin > 0"
        )
        if choice.kind is TestKind.CUSTOM:
            raise ConfigError(needs)
        res = run_test(choice.kind, side(Margin(0.0), "greater"))
        mde = minimum_detectable_effect(res.se * scale, alpha=gate.alpha)
        mde_text = (
            f"the minimum detectable effect is {text.number(mde, digits=3)} "
            f"({gate.aggregate}, 80% power, alpha = {gate.alpha:g}): a smaller "
            "margin cannot be shown"
            if math.isfinite(mde)
            else "the minimum detectable effect cannot be computed (the paired "
            "differences have no spread)"
        )
        raise ConfigError(
            f"{needs}. With the current data (n = {res.n}) {mde_text}. Or use "
            "mode: regression_detection."
        )
    if prep.boolean and not margin.relative and margin.value / scale >= 1:
        raise ConfigError(
            f"gate {key!r}: margin {margin} is outside the range of the binary "
            f"metric {gate.metric!r}: a change in its share of 1s lies between -1 "
            f"and 1, so the margin must be below 1. For {margin.value:g} "
            f"percentage points write margin: {margin.value / 100:g} (absolute), "
            f"for {margin.value:g}% of the baseline margin: '{margin.value:g}%' "
            "(relative)"
        )
    choice = choose(margin)
    custom_kind = choice.kind is TestKind.CUSTOM
    base_unit = base_agg / scale
    shift = 0.0
    if margin.relative:
        if not base_unit > 0:
            return fail_closed(
                gate,
                f"a relative margin needs a positive baseline {gate.aggregate} "
                f"(it is {text.number(base_agg, digits=3)})",
                seed,
                warnings=tuple(prep.warnings),
                **common,
            )
        shift = margin.value * base_unit
    m_abs = (shift if margin.relative else margin.value / scale) * scale
    alt = "less" if gate.mode is Mode.REGRESSION_DETECTION else "greater"
    res = run_test(choice.kind, side(margin, alt))
    p = res.pvalue
    warnings = list(prep.warnings) + list(res.warnings)
    if not prep.unpaired and n < SMALL_N:
        warnings.append(f"only {n} paired datapoints: approximations are rough")
    if res.mc_se:
        warnings.append(
            f"resampled p-value: Monte Carlo SE {res.mc_se:.2g}"
            + (" (near alpha)" if abs(p - gate.alpha) < 3 * res.mc_se else "")
        )
    ci_low = (res.ci_low - shift) * scale
    ci_high = (res.ci_high - shift) * scale
    p_opp = math.nan
    if gate.mode is Mode.EQUIVALENCE and not custom_kind:
        upper = side(margin, "less", k=-1, r=gate_rng(key + "#upper", seed))
        p = max(p, run_test(choice.kind, upper).pvalue)
    elif not (math.isfinite(ci_low) and math.isfinite(ci_high)) and not custom_kind:
        other = "greater" if alt == "less" else "less"
        p_opp = run_test(choice.kind, side(margin, other)).pvalue
    if prep.boolean and math.isfinite(ci_low) and math.isfinite(ci_high):
        # a change in a share of 0/1 values lies in [-1, 1] (§4)
        ci_low, ci_high = max(ci_low, -scale), min(ci_high, scale)
    spread_note: str | None = None
    inconclusive = res.inconclusive
    same = None if custom_kind else constant()
    if same is not None:
        spread_note, too_few = _zero_spread(n, gate.alpha, same, ci_low, ci_high)
        if too_few is not None:  # a zero-width interval would claim certainty
            inconclusive = inconclusive or too_few
            ci_low = ci_high = p = p_opp = math.nan
    if inconclusive is None and not custom_kind:
        inconclusive = _disagreement(gate, p, ci_low, ci_high, m_abs)
    se = res.se * scale
    two_sided = gate.mode is Mode.EQUIVALENCE
    pp = pass_probability(se, m_abs, alpha=gate.alpha)
    if two_sided and math.isfinite(pp):
        pp = max(0.0, 2 * pp - 1)
    return Evidence(
        gate=gate,
        key=key,
        kind=choice.kind,
        warnings=tuple(dict.fromkeys(warnings)),
        estimate=(res.estimate - shift) * scale,
        bound=ci_low,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence_level=1 - 2 * gate.alpha,
        margin=m_abs,
        margin_text=_margin_text(margin, m_abs),
        p_value=p,
        p_value_opposite=p_opp,
        test=res.test,
        test_reason=choice.why,
        tests_what=res.tests_what,
        n_units=res.n,
        discordant=discordant if res.discordant is None else res.discordant,
        new_failures=new_failures,
        mde=minimum_detectable_effect(se, alpha=gate.alpha),
        n_required=(
            required_n(se, res.n, m_abs, alpha=gate.alpha, two_sided=two_sided)
            if m_abs > 0
            else None
        ),
        pass_probability=pp if gate.mode is not Mode.REGRESSION_DETECTION else math.nan,
        mc_se=res.mc_se,
        inconclusive_reason=inconclusive,
        zero_spread=spread_note,
        seed=seed,
        **counts,
        **common,
        **_versions(),
    )


def _measure(
    comparison: Comparable,
    gate: Gate,
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> Evidence:
    """:func:`measure` without turning :class:`InsufficientData` into a reason.

    Returns evidence with ``reason`` set when the gate cannot be judged (unknown or
    missing metric, NaN values, coverage below ``min_coverage``): gates fail closed.

    Raises
    ------
    ConfigError
        For configuration mistakes, e.g. no margin in non-inferiority mode (the
        message shows the minimum detectable effect at the current n).

    """
    custom = dict(custom_tests or {})
    key = gate.key
    try:
        prep = prepare(comparison, gate)
    except FailClosed as exc:
        return fail_closed(gate, str(exc), seed)
    n = int(prep.base.size)
    base_agg = _aggregate(prep.base, gate, prep.den_base)
    cand_agg = _aggregate(prep.cand, gate, prep.den_cand)
    o = 1.0 if prep.hib else -1.0
    scale = float(n) if gate.aggregate == "sum" else 1.0
    common: dict[str, Any] = {
        "baseline_aggregate": base_agg,
        "candidate_aggregate": cand_agg,
        "n_paired": 0 if prep.unpaired else n,
        "missing_in_candidate": prep.n_missing,
        "missing_in_baseline": prep.n_missing_baseline,
        "coverage": prep.coverage,
    }
    if gate.aggregate == "sum" and (
        prep.unpaired
        or (prep.n_missing and not prep.imputed)
        or prep.n_missing_baseline
    ):
        return fail_closed(
            gate,
            "sums over different datapoint sets are not comparable "
            f"({prep.n_missing} missing from the candidate, "
            f"{prep.n_missing_baseline} missing from the baseline)",
            seed,
            warnings=tuple(prep.warnings),
            **common,
        )
    counts, discordant = _paired_counts(prep)
    new_failures = None if discordant is None else discordant[0]
    paired_obj = fetch(comparison, gate, gate.metric) if gate.test in custom else None

    margin = gate.margin
    count_only = margin is None and gate.max_new_failures is not None
    if count_only:
        return count_evidence(
            gate,
            prep,
            o * (cand_agg - base_agg),
            discordant=discordant,
            seed=seed,
            counts=counts,
            common=common,
        )
    if not prep.unpaired and n < MIN_PAIRS:
        return fail_closed(
            gate,
            f"only {n} paired datapoint carries {gate.metric!r}"
            + (f" in slice {gate.slice!r}" if gate.slice else "")
            + (f" at step {gate.step!r}" if gate.step else "")
            + f": a test needs at least {MIN_PAIRS}",
            seed,
            warnings=tuple(prep.warnings),
            **common,
        )
    if prep.clusters is not None and np.unique(prep.clusters).size < MIN_PAIRS:
        return fail_closed(
            gate,
            f"all {n} paired datapoints are replicates of one group: a test needs "
            f"at least {MIN_PAIRS} independent groups",
            seed,
            warnings=tuple(prep.warnings),
            **common,
        )
    if margin is None and gate.mode is Mode.REGRESSION_DETECTION:
        margin = Margin(0.0)
    rng = gate_rng(key, seed)

    def side(
        choice_margin: Margin, alternative: str, *, k: int = 1, r: Any = rng
    ) -> Side:
        return Side(
            gate=gate,
            prep=prep,
            margin=choice_margin,
            k=k,
            alternative=alternative,
            scale=scale,
            rng=r,
            paired=paired_obj,
            custom=custom,
            custom_name=gate.test if gate.test in custom else None,
        )

    return evidence_from_test(
        gate,
        prep,
        margin,
        side=side,
        choose=lambda m: select(gate, prep, m, custom),
        constant=lambda: _constant_difference(prep, gate),
        n=n,
        base_agg=base_agg,
        scale=scale,
        seed=seed,
        discordant=discordant,
        new_failures=new_failures,
        counts=counts,
        common=common,
    )


def conclude(
    evidence: Evidence,
    *,
    p_adjusted: float | None = None,
    correction: Correction | None = None,
    flag_p_adjusted: float | None = None,
) -> Verdict:
    """Decide and explain the evidence: the gate's verdict, built once.

    ``flag_p_adjusted`` is a warn-only gate's BH-adjusted p-value of "worse beyond
    the margin" across the warn-only family (see :mod:`.family`).
    """
    e = evidence
    outcome = decide(e, p_adjusted, flag_p_adjusted)
    passed = passes(e, outcome)
    warnings = list(e.warnings)
    if outcome is Outcome.INCONCLUSIVE and passed:
        warnings.append("inconclusive: passed by policy, the data could not decide")
    if not e.gate.declared and not passed:
        passed = True
        warnings.append(
            "warn-only gate (not declared): its failure does not fail the run"
        )
    how_many = settle(e, outcome)
    fields = evidence_fields(e)
    fields["warnings"] = tuple(dict.fromkeys(warnings))
    return Verdict(
        **fields,
        outcome=outcome,
        passed=passed,
        improved=bool(math.isfinite(e.ci_low) and e.ci_low > 0 and e.reason is None),
        text=explain(
            e,
            outcome,
            p_adjusted=p_adjusted,
            correction=correction,
            settle=how_many,
            flag_p_adjusted=flag_p_adjusted,
        ),
        p_adjusted=p_adjusted,
        correction=correction,
        flag_p_adjusted=flag_p_adjusted,
        settle=how_many,
    )


def evaluate_gate(
    comparison: Comparable,
    gate: Gate,
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> Verdict:
    """Judge one gate on its own (a family of one) and return its :class:`Verdict`.

    Parameters
    ----------
    comparison : RunComparisonResult
        From :func:`pytest_runcompare.comparison.compare_runs` (anything that
        satisfies :class:`~pytest_runcompare.judge.prepare.Comparable`).
    gate : Gate
        The assertion.
    seed : int
        Seed of any resampling (with the gate's key, through
        :func:`~pytest_runcompare.judge.spec.gate_rng`); recorded in the verdict.
    custom_tests : mapping, optional
        Extra test names (see :mod:`pytest_runcompare.judge`).

    Raises
    ------
    ConfigError
        For configuration mistakes (see :func:`measure`).

    """
    return conclude(measure(comparison, gate, seed=seed, custom_tests=custom_tests))
