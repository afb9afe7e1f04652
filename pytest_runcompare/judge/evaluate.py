"""One gate from data to evidence (:func:`measure`) and from evidence to verdict.

:func:`measure` prepares the gate's data, picks and runs its test and returns the
numbers; :func:`conclude` decides and explains them, given the family's adjusted
p-value; :func:`evaluate_gate` does both for a gate judged on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
from pytest_runcompare.judge.select import select
from pytest_runcompare.judge.settle import settle
from pytest_runcompare.judge.spec import Correction, Gate, Margin, Mode, gate_rng
from pytest_runcompare.judge.verdict import (
    Evidence,
    Outcome,
    TestKind,
    Verdict,
    evidence_fields,
)
from pytest_runcompare.stats.power import (
    minimum_detectable_effect,
    pass_probability,
    required_n,
)

__all__ = ["conclude", "evaluate_gate", "fail_closed", "measure"]

#: Below this many pairs the verdict warns that approximations are rough.
SMALL_N = 30


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


def measure(
    comparison: Comparable,
    gate: Gate,
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> Evidence:
    """Run one gate's test on a comparison and return its numbers.

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
        if new_failures is None:
            raise ConfigError(
                f"gate {key!r}: max_new_failures needs a binary (0/1) metric"
            )
        return Evidence(
            gate=gate,
            key=key,
            kind=TestKind.COUNT,
            warnings=tuple(prep.warnings),
            estimate=o * (cand_agg - base_agg),
            test="count of new failures",
            test_reason="max_new_failures without a margin",
            tests_what="datapoints right in the baseline and wrong in the candidate",
            discordant=discordant,
            new_failures=new_failures,
            margin_text=f"at most {gate.max_new_failures} new failures",
            seed=seed,
            **counts,
            **common,
            **_versions(),
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

    if margin is None:  # NI or equivalence without a margin: help choose one
        choice = select(gate, prep, Margin(0.0), custom)
        needs = (
            f"gate {key!r}: mode {gate.mode} needs a margin > 0 (margin: 0.01 in "
            "metric units, or '2%' of the baseline)"
        )
        if choice.kind is TestKind.CUSTOM:
            raise ConfigError(needs)
        res = run_test(choice.kind, side(Margin(0.0), "greater"))
        mde = minimum_detectable_effect(res.se * scale, alpha=gate.alpha)
        raise ConfigError(
            f"{needs}. With the current data (n = {res.n}) the minimum detectable "
            f"effect is {text.number(mde, digits=3)} ({gate.aggregate}, 80% power, "
            f"alpha = {gate.alpha:g}): a smaller margin cannot be shown. Or use "
            "mode: regression_detection."
        )
    choice = select(gate, prep, margin, custom)
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
        inconclusive_reason=res.inconclusive,
        seed=seed,
        **counts,
        **common,
        **_versions(),
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
