"""Running the chosen test at a margin: one function per :class:`TestKind`, in a table.

Each runner receives the gate's prepared data on the test's scale and returns the
:class:`~pytest_runcompare.stats.result.TestResult` of one one-sided hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from pytest_runcompare.aggregates import quantile_of
from pytest_runcompare.judge.select import BOOTSTRAP_T_MAX_N
from pytest_runcompare.judge.spec import Gate, Margin
from pytest_runcompare.judge.verdict import TestKind
from pytest_runcompare.stats import (
    betting,
    binary,
    continuous,
    nonparametric,
    quantiles,
    ratio,
)
from pytest_runcompare.stats import clusters as cl
from pytest_runcompare.stats.bootstrap import paired_bootstrap

if TYPE_CHECKING:
    from pytest_runcompare.comparison import PairedMetric
    from pytest_runcompare.judge.prepare import FloatArray, Prepared
    from pytest_runcompare.stats.result import TestResult

__all__ = ["N_RESAMPLES", "CustomTest", "Side", "run_test"]

#: Resamples of every bootstrap and permutation test.
N_RESAMPLES = 9999

#: ``fn(paired, gate, *, rng) -> TestResult`` (see :mod:`pytest_runcompare.judge`).
CustomTest = Callable[..., "TestResult"]


@dataclass(frozen=True, slots=True)
class Side:
    """One one-sided hypothesis of a gate: which margin (k = 1 lower, -1 upper)."""

    gate: Gate
    prep: Prepared
    margin: Margin
    k: int
    alternative: str
    scale: float
    rng: np.random.Generator
    paired: PairedMetric | None
    custom: Mapping[str, CustomTest]
    custom_name: str | None = None
    #: sufficient statistics in place of ``prep``'s arrays (the engine path,
    #: :mod:`pytest_runcompare.engine`); only analytic tests read it
    summary: Summary | None = None

    @property
    def orientation(self) -> float:
        """+1 when higher is better, -1 otherwise."""
        return 1.0 if self.prep.hib else -1.0

    @property
    def weight(self) -> float:
        """The baseline's weight in ``cand − w·base`` (1 for an absolute margin)."""
        if self.margin.relative:
            return 1 - self.orientation * self.k * self.margin.value
        return 1.0

    @property
    def options(self) -> dict[str, Any]:
        """``null``, ``alternative`` and ``confidence_level`` of the test."""
        null = 0.0 if self.margin.relative else -self.k * self.margin.value / self.scale
        return {
            "null": null,
            "alternative": self.alternative,
            "confidence_level": 1 - 2 * self.gate.alpha,
        }

    def differences(self) -> FloatArray:
        """Oriented paired differences ``o·(cand − w·base)``."""
        o, w = self.orientation, self.weight
        base, cand = self.prep.base, self.prep.cand
        return o * (cand - w * base) if w != 1.0 else o * (cand - base)

    def oriented_binary(self) -> tuple[FloatArray, FloatArray]:
        """Baseline and candidate 0/1 values with 1 = good."""
        base, cand = self.prep.base, self.prep.cand
        return (base, cand) if self.prep.hib else (1 - base, 1 - cand)

    def moments(self) -> continuous.Moments:
        """The :class:`~continuous.Moments` of :meth:`differences`."""
        if self.summary is not None:
            return self.summary.combination(self.orientation, self.weight)
        return continuous.Moments.of(self.differences())

    def raw_table(self) -> binary.PairedTable:
        """The paired 2×2 table of the raw 0/1 values."""
        if self.summary is not None and self.summary.table is not None:
            return self.summary.table
        return binary.paired_table(self.prep.base, self.prep.cand)

    def oriented_table(self) -> binary.PairedTable:
        """The paired 2×2 table with 1 = good."""
        t = self.raw_table()
        return t if self.prep.hib else binary.PairedTable(t.neither, t.c, t.b, t.both)


class Summary(Protocol):
    """What an engine's statistics give a :class:`Side` (``engine.summary``)."""

    @property
    def table(self) -> binary.PairedTable | None: ...

    def combination(self, orientation: float, weight: float) -> continuous.Moments: ...


def _custom(s: Side) -> TestResult:
    assert s.custom_name is not None
    return s.custom[s.custom_name](s.paired, s.gate, rng=s.rng)


def _score(s: Side) -> TestResult:
    xb, xc = s.oriented_binary()
    return binary.score_test_2indep(
        int(xc.sum()), xc.size, int(xb.sum()), xb.size, **s.options
    )


def _tango(s: Side) -> TestResult:
    if s.prep.clusters is not None:
        return _cluster_binary(s)
    table = s.oriented_table()
    # Regression detection ("less"): the asymptotic p-value's exact size reaches
    # 7.5% with a margin; the exact unconditional p-value holds α (§3).
    exact = s.alternative == "less" and table.n <= binary.TANGO_EXACT_MAX_N
    method = "exact-unconditional" if exact else "asymptotic"
    return binary.tango_test(table, method=method, **s.options)


def _keep_conservative(name: str, first: TestResult, *others: TestResult) -> TestResult:
    """Fold :func:`continuous.conservative` over several tests of one hypothesis."""
    res = first
    for other in others:
        res = continuous.conservative(res, other, name)
    every = (first, *others)
    return replace(
        res,
        extra={
            "bounds": {r.test: [r.ci_low, r.ci_high] for r in every},
            "pvalues": {r.test: r.pvalue for r in every},
        },
    )


def _cluster_binary(s: Side) -> TestResult:
    """Paired proportions with replicates (docs/statistics.md §6).

    The more conservative of Tango's score test on the cluster-mean table, a t on
    the cluster means (``G − 1`` df) and the row-level Tango test that ignores the
    replicates, so replicate information never makes the gate more lenient.
    """
    assert s.prep.clusters is not None
    xb, xc = s.oriented_binary()
    opts = s.options
    tango = cl.cluster_tango_test(xb, xc, s.prep.clusters, **opts)
    means, _ = cl.cluster_means(xc - xb, s.prep.clusters)
    t = continuous.paired_t(means, **opts)
    rows = binary.tango_test(binary.paired_table(xb, xc), **opts)
    g = tango.n
    # a t on identical cluster means (se 0) carries no information: left out
    res = _keep_conservative(
        f"Tango and t on cluster means ({g} clusters, conservative)",
        tango,
        *((t,) if t.se > 0 else ()),
        rows,
    )
    rough = (f"only {g} clusters: the approximation is rough",) if g < 30 else ()
    return replace(
        res,
        n=g,
        df=float(g - 1),
        discordant=rows.discordant,
        warnings=tuple(dict.fromkeys(res.warnings + rough)),
    )


def _relative_score(s: Side) -> TestResult:
    """``o·(p_cand − w·p_base) ≥ 0`` on the raw 0/1 values (a ratio of proportions).

    Paired: the paired score test; unpaired: Farrington-Manning's (§3).
    """
    opts = s.options

    def test(**kw: Any) -> TestResult:
        if s.prep.unpaired:
            xb, xc = s.prep.base, s.prep.cand
            return binary.relative_score_test_2indep(
                int(xc.sum()), xc.size, int(xb.sum()), xb.size, weight=s.weight, **kw
            )
        return binary.relative_score_test(s.raw_table(), weight=s.weight, **kw)

    if s.prep.hib:
        return test(**opts)
    flipped = {"greater": "less", "less": "greater"}.get(opts["alternative"])
    res = test(
        null=-opts["null"],
        alternative=flipped or opts["alternative"],
        confidence_level=opts["confidence_level"],
    )
    return replace(
        res,
        estimate=-res.estimate,
        null=-res.null,
        alternative=opts["alternative"],
        ci_low=-res.ci_high,
        ci_high=-res.ci_low,
        statistic=-res.statistic,
        discordant=(res.discordant[1], res.discordant[0]) if res.discordant else None,
    )


def _mcnemar(method: str) -> Callable[[Side], TestResult]:
    def run(s: Side) -> TestResult:
        if s.prep.clusters is not None:
            return _cluster_binary(s)  # select refuses mcnemar-exact with replicates
        opts = s.options
        return binary.mcnemar(
            s.oriented_table(),
            alternative=opts["alternative"],
            method=method,
            confidence_level=opts["confidence_level"],
        )

    return run


def _welch(s: Side) -> TestResult:
    o = s.orientation
    return continuous.welch_t(o * s.prep.cand, o * s.weight * s.prep.base, **s.options)


def _quantile(s: Side) -> TestResult:
    q = quantile_of(s.gate.aggregate)
    assert q is not None
    if s.prep.clusters is not None:
        return cl.cluster_quantile_difference(
            s.prep.cand,
            s.prep.base,
            s.prep.clusters,
            q=q,
            higher_is_better=s.prep.hib,
            baseline_weight=s.weight,
            **s.options,
        )
    return quantiles.quantile_difference(
        s.prep.cand,
        s.prep.base,
        q=q,
        higher_is_better=s.prep.hib,
        baseline_weight=s.weight,
        **s.options,
    )


def _ratio_args(s: Side) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    p = s.prep
    assert p.den_cand is not None
    assert p.den_base is not None
    return p.cand, p.den_cand, p.base, p.den_base


def _delta(s: Side) -> TestResult:
    if s.prep.clusters is not None:
        return cl.cluster_ratio_difference(
            *_ratio_args(s),
            s.prep.clusters,
            higher_is_better=s.prep.hib,
            baseline_weight=s.weight,
            **s.options,
        )
    return ratio.ratio_difference(
        *_ratio_args(s),
        higher_is_better=s.prep.hib,
        baseline_weight=s.weight,
        **s.options,
    )


def _ratio_bootstrap(s: Side) -> TestResult:
    rows = ratio.ratio_bootstrap(
        *_ratio_args(s),
        higher_is_better=s.prep.hib,
        baseline_weight=s.weight,
        rng=s.rng,
        n_resamples=N_RESAMPLES,
        **s.options,
    )
    if s.prep.clusters is None:
        return rows
    by_cluster = cl.cluster_ratio_bootstrap(
        *_ratio_args(s),
        s.prep.clusters,
        higher_is_better=s.prep.hib,
        baseline_weight=s.weight,
        rng=s.rng,
        n_resamples=N_RESAMPLES,
        **s.options,
    )
    res = _keep_conservative(
        f"cluster and row bootstrap ({by_cluster.n} clusters, conservative)",
        by_cluster,
        rows,
    )
    return replace(res, n=by_cluster.n)


def _t(s: Side) -> TestResult:
    if s.summary is not None and s.prep.clusters is None:
        return continuous.paired_t_from_moments(s.moments(), **s.options)
    d = s.differences()
    if s.prep.clusters is None:
        return _with_tail_warning(continuous.paired_t(d, **s.options), d)
    cr = continuous.paired_t(d, clusters=s.prep.clusters, **s.options)
    if cr.se == 0:
        return cr
    # the ordinary SE too: a cluster-robust SE below it must not make t more lenient
    res = continuous.conservative(cr, continuous.paired_t(d, **s.options), cr.test)
    return replace(res, n=cr.n, df=cr.df)


#: Below this many units the verdict warns about rare tail regressions.
TAIL_MIN_N = 50
#: Sample skewness of the differences below which that warning is given.
TAIL_SKEWNESS = -1.0


def _tail_warning(d: FloatArray) -> str | None:
    """The warning for strongly left-skewed differences at small n (§10), or None."""
    n = d.size
    r = d - d.mean()
    m2 = float(np.dot(r, r)) / n
    if n >= TAIL_MIN_N or not m2 > 0:
        return None
    gamma = float(np.dot(r * r, r)) / n / m2**1.5
    if gamma >= TAIL_SKEWNESS:
        return None
    return (
        f"n = {n} is too small to protect against rare tail regressions: the "
        f"differences are strongly left-skewed (skewness {gamma:.1f}, a few "
        "datapoints much worse), and at this n a regression on a few datapoints "
        f"can pass; about {TAIL_MIN_N} or more are needed (docs/statistics.md §10)"
    )


def _with_tail_warning(res: TestResult, d: FloatArray) -> TestResult:
    warning = _tail_warning(d)
    if warning is None:
        return res
    return replace(res, warnings=(*res.warnings, warning))


#: Below this many units a mean of scores in [0, 1] also gets the finite-sample
#: betting bound (§3): the t and bootstrap-t pass a regression of judge-style
#: scores (mass at 0 and 1) at the margin 8.4% of the time at n = 50, 5.7% at
#: n = 100 (docs/statistics.md §10).
BOUNDED_MAX_N = 100


#: The share of the scores at exactly 0 or 1 that marks judge-style scores.
ENDPOINT_SHARE = 0.1


def _difference_range(s: Side) -> tuple[float, float] | None:
    """The range of ``o·(cand − w·base)`` for judge-style scores, else None.

    Judge-style: every score of both runs in [0, 1], and at least
    ``ENDPOINT_SHARE`` of them at exactly 0 or 1, so that one datapoint can move the
    whole range. Scores that stay inside the range move by small amounts, and the t
    and bootstrap-t serve them (§3).
    """
    base, cand = s.prep.base, s.prep.cand
    if s.prep.boolean or not base.size or not cand.size:
        return None
    if min(base.min(), cand.min()) < 0 or max(base.max(), cand.max()) > 1:
        return None
    ends = np.count_nonzero((base == 0) | (base == 1))
    ends += np.count_nonzero((cand == 0) | (cand == 1))
    if ends < ENDPOINT_SHARE * (base.size + cand.size):
        return None
    w = s.weight
    low, high = -w, 1.0  # cand − w·base with both in [0, 1]
    return (low, high) if s.prep.hib else (-high, -low)


def _bounded_bound(d: FloatArray, s: Side, res: TestResult) -> TestResult:
    """``res`` and the betting bound, the more conservative kept, at small n in [0, 1]."""
    span = _difference_range(s)
    if span is None or d.size >= BOUNDED_MAX_N or d.min() == d.max():
        return res
    bet = betting.betting_mean_test(
        d, lower=span[0], upper=span[1], rng=s.rng, **s.options
    )
    both = continuous.conservative(
        res, bet, f"{res.test} + betting bound (conservative)"
    )
    if bet.pvalue <= res.pvalue:
        return both
    return replace(
        both,
        warnings=(
            *both.warnings,
            f"scores in [0, 1] at n = {d.size} < {BOUNDED_MAX_N}: the finite-sample "
            "betting bound decided, which holds whatever the scores' shape but needs "
            "more datapoints than the t (docs/statistics.md §3)",
        ),
    )


def _mean_bounds(d: FloatArray, s: Side) -> TestResult:
    """Paired t and its second bound, the more conservative kept (§3, rows 8–9).

    Bootstrap-t below ``BOOTSTRAP_T_MAX_N`` units, skewness-corrected t from there;
    below ``BOUNDED_MAX_N`` units of scores in [0, 1], the betting bound too.
    """
    return _bounded_bound(d, s, _t_and_second_bound(d, s, continuous.Moments.of(d)))


def _t_and_second_bound(
    d: FloatArray | None, s: Side, m: continuous.Moments
) -> TestResult:
    """The t and its second bound from the moments ``m`` of ``d`` (§3, rows 8–9).

    ``d`` itself is needed only below ``BOOTSTRAP_T_MAX_N`` units (to resample).
    """
    t = continuous.paired_t_from_moments(m, **s.options)
    if t.se == 0:
        return t
    if m.n < continuous.BOOTSTRAP_T_MIN_N:  # too few to resample (§3)
        return replace(
            t,
            warnings=(
                *t.warnings,
                f"fewer than {continuous.BOOTSTRAP_T_MIN_N} units: no bootstrap-t "
                "bound (too few to resample), the t interval alone",
            ),
        )
    if m.n < BOOTSTRAP_T_MAX_N:
        assert d is not None, "below BOOTSTRAP_T_MAX_N the differences are in memory"
        bt = continuous.bootstrap_t(d, rng=s.rng, n_resamples=N_RESAMPLES, **s.options)
        return continuous.conservative(t, bt, "paired t + bootstrap-t (conservative)")
    sk = continuous.skew_corrected_t_from_moments(m, **s.options)
    return continuous.conservative(
        t, sk, "paired t + skewness-corrected t (conservative)"
    )


def _cluster_mean(s: Side) -> TestResult:
    """A mean with replicates (docs/statistics.md §6).

    The default mean procedure (:func:`_mean_bounds`) on the cluster means, the
    cluster-robust t on the rows, and the default procedure on the rows as if
    independent: the most conservative kept.
    """
    assert s.prep.clusters is not None
    d = s.differences()
    means, _ = cl.cluster_means(d, s.prep.clusters)
    g = means.size
    by_cluster = _mean_bounds(means, s)
    cr = continuous.paired_t(d, clusters=s.prep.clusters, **s.options)
    if by_cluster.se == 0 and cr.se == 0:
        return cr
    # what the gate would run ignoring the replicates
    binary_relative = s.prep.boolean and s.margin.relative and s.margin.value > 0
    rows = _relative_score(s) if binary_relative else _mean_bounds(d, s)
    # a test on identical values (se 0) carries no information: left out
    informative = [r for r in (by_cluster, cr, rows) if r.se > 0]
    res = _keep_conservative(
        f"{by_cluster.test} on cluster means ({g} clusters), with the rows' tests",
        *informative,
    )
    res = replace(res, n=g, df=float(g - 1))
    return _with_tail_warning(res, means)


def _auto_mean(s: Side) -> TestResult:
    if s.prep.clusters is not None:
        return _cluster_mean(s)
    if s.summary is not None:  # the engine path: n ≥ BOOTSTRAP_T_MAX_N > TAIL_MIN_N
        return _t_and_second_bound(None, s, s.moments())
    d = s.differences()
    return _with_tail_warning(_mean_bounds(d, s), d)


def _bootstrap_t(s: Side) -> TestResult:
    d = s.differences()
    res = continuous.bootstrap_t(d, rng=s.rng, n_resamples=N_RESAMPLES, **s.options)
    return _with_tail_warning(res, d)


def _wilcoxon(s: Side) -> TestResult:
    return nonparametric.wilcoxon_test(s.differences(), **s.options)


def _sign(s: Side) -> TestResult:
    return nonparametric.sign_test(s.differences(), **s.options)


def _permutation(s: Side) -> TestResult:
    return nonparametric.permutation_test(
        s.differences(), rng=s.rng, n_resamples=N_RESAMPLES, **s.options
    )


def _bootstrap(method: str) -> Callable[[Side], TestResult]:
    def run(s: Side) -> TestResult:
        return paired_bootstrap(
            s.differences(),
            rng=s.rng,
            n_resamples=N_RESAMPLES,
            method=method,
            **s.options,
        )

    return run


#: The procedure of every test kind that runs a test.
RUNNERS: Mapping[TestKind, Callable[[Side], TestResult]] = {
    TestKind.CUSTOM: _custom,
    TestKind.SCORE: _score,
    TestKind.TANGO: _tango,
    TestKind.RELATIVE_SCORE: _relative_score,
    TestKind.MCNEMAR: _mcnemar("midp"),
    TestKind.MCNEMAR_EXACT: _mcnemar("exact"),
    TestKind.WELCH: _welch,
    TestKind.QUANTILE: _quantile,
    TestKind.DELTA: _delta,
    TestKind.RATIO_BOOTSTRAP: _ratio_bootstrap,
    TestKind.T: _t,
    TestKind.AUTO_MEAN: _auto_mean,
    TestKind.AUTO_MEAN_LARGE: _auto_mean,
    TestKind.BOOTSTRAP_T: _bootstrap_t,
    TestKind.WILCOXON: _wilcoxon,
    TestKind.SIGN: _sign,
    TestKind.PERMUTATION: _permutation,
    TestKind.BOOTSTRAP_PERCENTILE: _bootstrap("percentile"),
    TestKind.BOOTSTRAP_BCA: _bootstrap("bca"),
}


def run_test(kind: TestKind, side: Side) -> TestResult:
    """Run the test ``kind`` for one side of a gate."""
    return RUNNERS[kind](side)
