"""Running the chosen test at a margin: one function per :class:`TestKind`, in a table.

Each runner receives the gate's prepared data on the test's scale and returns the
:class:`~pytest_runcompare.stats.result.TestResult` of one one-sided hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_runcompare.aggregates import quantile_of
from pytest_runcompare.judge.spec import Gate, Margin
from pytest_runcompare.judge.verdict import TestKind
from pytest_runcompare.stats import binary, continuous, nonparametric, quantiles, ratio
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


def _custom(s: Side) -> TestResult:
    assert s.custom_name is not None
    return s.custom[s.custom_name](s.paired, s.gate, rng=s.rng)


def _score(s: Side) -> TestResult:
    xb, xc = s.oriented_binary()
    return binary.score_test_2indep(
        int(xc.sum()), xc.size, int(xb.sum()), xb.size, **s.options
    )


def _tango(s: Side) -> TestResult:
    return binary.tango_test(binary.paired_table(*s.oriented_binary()), **s.options)


def _mcnemar(method: str) -> Callable[[Side], TestResult]:
    def run(s: Side) -> TestResult:
        opts = s.options
        return binary.mcnemar(
            binary.paired_table(*s.oriented_binary()),
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
    return ratio.ratio_difference(
        *_ratio_args(s),
        higher_is_better=s.prep.hib,
        baseline_weight=s.weight,
        **s.options,
    )


def _ratio_bootstrap(s: Side) -> TestResult:
    return ratio.ratio_bootstrap(
        *_ratio_args(s),
        higher_is_better=s.prep.hib,
        baseline_weight=s.weight,
        rng=s.rng,
        n_resamples=N_RESAMPLES,
        **s.options,
    )


def _t(s: Side) -> TestResult:
    return continuous.paired_t(s.differences(), clusters=s.prep.clusters, **s.options)


def _auto_mean(s: Side) -> TestResult:
    d = s.differences()
    t = continuous.paired_t(d, **s.options)
    if t.se == 0:
        return t
    bt = continuous.bootstrap_t(d, rng=s.rng, n_resamples=N_RESAMPLES, **s.options)
    return continuous.conservative(t, bt, "paired t + bootstrap-t (conservative)")


def _auto_mean_large(s: Side) -> TestResult:
    d = s.differences()
    t = continuous.paired_t(d, **s.options)
    if t.se == 0:
        return t
    sk = continuous.skew_corrected_t(d, **s.options)
    return continuous.conservative(
        t, sk, "paired t + skewness-corrected t (conservative)"
    )


def _bootstrap_t(s: Side) -> TestResult:
    return continuous.bootstrap_t(
        s.differences(), rng=s.rng, n_resamples=N_RESAMPLES, **s.options
    )


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
    TestKind.MCNEMAR: _mcnemar("midp"),
    TestKind.MCNEMAR_EXACT: _mcnemar("exact"),
    TestKind.WELCH: _welch,
    TestKind.QUANTILE: _quantile,
    TestKind.DELTA: _delta,
    TestKind.RATIO_BOOTSTRAP: _ratio_bootstrap,
    TestKind.T: _t,
    TestKind.AUTO_MEAN: _auto_mean,
    TestKind.AUTO_MEAN_LARGE: _auto_mean_large,
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
