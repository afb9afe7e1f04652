"""Which test a gate runs: a table of rules over the facts of its data.

``test: auto`` walks :data:`AUTO_RULES` in order and takes the first that fits;
an explicit ``test:`` is looked up in :data:`EXPLICIT` and checked against
:data:`REQUIREMENTS`. docs/statistics.md §3 explains each choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from pytest_runcompare.aggregates import quantile_of
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.prepare import Prepared
from pytest_runcompare.judge.spec import BUILTIN_TESTS, Gate, Margin
from pytest_runcompare.judge.verdict import TestKind

__all__ = ["AUTO_RULES", "EXPLICIT", "Choice", "Facts", "select"]

#: Below this many pairs the bootstrap-t bound is computed beside the t bound.
BOOTSTRAP_T_MAX_N = 500
#: Below this many pairs a ratio of sums is bootstrapped instead of the delta method.
RATIO_BOOTSTRAP_MAX_N = 500


@dataclass(frozen=True, slots=True)
class Choice:
    """The test to run and why; ``custom`` names a test added through the hook."""

    kind: TestKind
    why: str
    custom: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the choice depends on: the gate's aggregate and the shape of its data."""

    aggregate: str
    quantile: bool
    ratio: bool
    unpaired: bool
    replicates: bool
    binary: bool
    relative: bool
    margin_positive: bool
    n: int
    n_units: int = 0  # clusters when replicates are present, else pairs

    @classmethod
    def of(cls, gate: Gate, prep: Prepared, margin: Margin) -> Facts:
        """The facts of ``gate`` on its prepared data."""
        return cls(
            aggregate=gate.aggregate,
            quantile=quantile_of(gate.aggregate) is not None,
            ratio=gate.denominator is not None,
            unpaired=prep.unpaired,
            replicates=prep.clusters is not None,
            binary=prep.boolean,
            relative=margin.relative,
            margin_positive=margin.value > 0,
            n=int(prep.base.size),
            n_units=(
                int(prep.base.size)
                if prep.clusters is None
                else int(np.unique(prep.clusters).size)
            ),
        )


Rule = tuple[Callable[[Facts], bool], TestKind, Callable[[Facts], str]]


def _clustered(f: Facts) -> str:
    """The note a rule's reason gets when its test is cluster-aware (§6)."""
    return f", cluster-robust ({f.n_units} clusters)" if f.replicates else ""


#: ``test: auto`` on paired data: the first rule whose condition holds is taken.
AUTO_RULES: tuple[Rule, ...] = (
    (
        lambda f: f.ratio and f.n >= RATIO_BOOTSTRAP_MAX_N,
        TestKind.DELTA,
        lambda f: "ratio of sums: delta method" + _clustered(f),
    ),
    (
        lambda f: f.ratio,
        TestKind.RATIO_BOOTSTRAP,
        lambda f: (
            f"ratio of sums with n < {RATIO_BOOTSTRAP_MAX_N}: paired bootstrap"
            + _clustered(f)
        ),
    ),
    (
        lambda f: f.quantile,
        TestKind.QUANTILE,
        lambda f: (
            f"{f.aggregate} aggregate: difference of run quantiles, Bahadur SE"
            + _clustered(f)
        ),
    ),
    (
        lambda f: f.replicates and f.binary and not f.relative and f.margin_positive,
        TestKind.TANGO,
        lambda f: (
            f"binary metric with replicates ({f.n_units} clusters) and a margin: "
            "Tango score test and t on cluster means, the more conservative kept"
        ),
    ),
    (
        lambda f: f.replicates and f.binary and not f.relative,
        TestKind.MCNEMAR,
        lambda f: (
            f"binary metric with replicates ({f.n_units} clusters), margin 0: "
            "Tango score test (McNemar's z) and t on cluster means, the more "
            "conservative kept"
        ),
    ),
    (
        lambda f: f.replicates,
        TestKind.AUTO_MEAN,
        lambda f: (
            f"replicates ({f.n_units} clusters): paired t and "
            + (
                "bootstrap-t"
                if f.n_units < BOOTSTRAP_T_MAX_N
                else "skewness-corrected t"
            )
            + " on cluster means and cluster-robust t, the most conservative kept"
        ),
    ),
    (
        lambda f: f.binary and not f.relative and f.margin_positive,
        TestKind.TANGO,
        lambda f: "binary metric with a margin: Tango score test",
    ),
    (
        lambda f: f.binary and f.relative and f.margin_positive,
        TestKind.RELATIVE_SCORE,
        lambda f: (
            "binary metric with a relative margin: paired score test of the "
            "ratio of proportions"
        ),
    ),
    (
        lambda f: f.binary and not f.margin_positive,
        TestKind.MCNEMAR,
        lambda f: "binary metric, margin 0: McNemar one-sided mid-p",
    ),
    (
        lambda f: f.n < BOOTSTRAP_T_MAX_N,
        TestKind.AUTO_MEAN,
        lambda f: (
            f"continuous {f.aggregate}, n < {BOOTSTRAP_T_MAX_N}: paired t and "
            "bootstrap-t, the more conservative kept"
        ),
    ),
    (
        lambda f: True,
        TestKind.AUTO_MEAN_LARGE,
        lambda f: (
            f"continuous {f.aggregate}, n ≥ {BOOTSTRAP_T_MAX_N}: paired t and "
            "skewness-corrected t, the more conservative kept"
        ),
    ),
)

#: ``test: auto`` without pairing.
UNPAIRED_RULES: tuple[Rule, ...] = (
    (
        lambda f: f.binary and not f.relative,
        TestKind.SCORE,
        lambda f: "binary metric without pairing: Farrington-Manning score test",
    ),
    (
        lambda f: f.binary and f.relative,
        TestKind.RELATIVE_SCORE,
        lambda f: (
            "binary metric with a relative margin, without pairing: "
            "Farrington-Manning score test of the ratio of proportions"
        ),
    ),
    (
        lambda f: True,
        TestKind.WELCH,
        lambda f: "no pairing: Welch t on the two runs' means",
    ),
)

#: Explicit ``test:`` names and the procedure each runs.
EXPLICIT: Mapping[str, TestKind] = {
    "t": TestKind.T,
    "bootstrap-t": TestKind.BOOTSTRAP_T,
    "wilcoxon": TestKind.WILCOXON,
    "sign": TestKind.SIGN,
    "permutation": TestKind.PERMUTATION,
    "bootstrap-percentile": TestKind.BOOTSTRAP_PERCENTILE,
    "bootstrap-bca": TestKind.BOOTSTRAP_BCA,
    "tango": TestKind.TANGO,
    "mcnemar": TestKind.MCNEMAR,
    "mcnemar-exact": TestKind.MCNEMAR_EXACT,
    "quantile": TestKind.QUANTILE,
    "delta": TestKind.DELTA,
    "ratio-bootstrap": TestKind.RATIO_BOOTSTRAP,
}

DIFFERENCE_TESTS = frozenset(
    {
        TestKind.T,
        TestKind.BOOTSTRAP_T,
        TestKind.WILCOXON,
        TestKind.SIGN,
        TestKind.PERMUTATION,
        TestKind.BOOTSTRAP_PERCENTILE,
        TestKind.BOOTSTRAP_BCA,
    }
)
BINARY_TESTS = frozenset({TestKind.TANGO, TestKind.MCNEMAR, TestKind.MCNEMAR_EXACT})
#: Explicit tests whose runner uses the replicate groups (docs/statistics.md §6).
REPLICATE_AWARE = frozenset(
    {
        TestKind.T,
        TestKind.TANGO,
        TestKind.MCNEMAR,
        TestKind.QUANTILE,
        TestKind.DELTA,
        TestKind.RATIO_BOOTSTRAP,
    }
)

Requirement = tuple[Callable[[TestKind, Facts], bool], Callable[[str, Facts], str]]

#: An explicit test must fit the aggregate and the data: (violated?, message).
REQUIREMENTS: tuple[Requirement, ...] = (
    (
        lambda k, f: k in (TestKind.DELTA, TestKind.RATIO_BOOTSTRAP) and not f.ratio,
        lambda t, f: f"test {t!r} needs a ratio `denominator`",
    ),
    (
        lambda k, f: k is TestKind.QUANTILE and not f.quantile,
        lambda t, f: "test 'quantile' needs a median or pNN aggregate",
    ),
    (
        lambda k, f: k in DIFFERENCE_TESTS | BINARY_TESTS and (f.quantile or f.ratio),
        lambda t, f: (
            f"test {t!r} tests paired differences, not the "
            f"{'ratio' if f.ratio else f.aggregate} aggregate; use test: auto"
        ),
    ),
    (
        lambda k, f: k in BINARY_TESTS and not f.binary,
        lambda t, f: f"test {t!r} needs a binary (0/1) metric",
    ),
    (
        lambda k, f: k in BINARY_TESTS and f.relative,
        lambda t, f: (
            f"test {t!r} needs an absolute margin "
            "(percentage points as a fraction, e.g. 0.02)"
        ),
    ),
    (
        lambda k, f: (
            k in (TestKind.MCNEMAR, TestKind.MCNEMAR_EXACT) and f.margin_positive
        ),
        lambda t, f: (
            "McNemar tests a zero difference only; use test: tango for a margin > 0"
        ),
    ),
)


def _first(rules: tuple[Rule, ...], facts: Facts) -> Choice:
    for holds, kind, why in rules:
        if holds(facts):
            return Choice(kind, why(facts))
    raise AssertionError("the last rule always holds")  # pragma: no cover


def select(
    gate: Gate, prep: Prepared, margin: Margin, custom: Mapping[str, object]
) -> Choice:
    """The test for ``gate`` on ``prep``; a :class:`ConfigError` when it cannot fit.

    A replicate-unaware explicit choice on replicated data adds a warning to
    ``prep``.
    """
    test, key = gate.test, gate.key
    if test in custom:
        return Choice(TestKind.CUSTOM, "custom test requested by configuration", test)
    if test not in BUILTIN_TESTS:
        extra = f" (custom: {', '.join(sorted(custom))})" if custom else ""
        raise ConfigError(
            f"gate {key!r}: unknown test {test!r}; accepted: "
            f"{', '.join(BUILTIN_TESTS)}{extra}"
        )
    facts = Facts.of(gate, prep, margin)
    if facts.unpaired:
        if test not in ("auto", "t"):
            raise ConfigError(f"gate {key!r}: test {test!r} needs paired data")
        if facts.quantile or facts.ratio:
            raise ConfigError(
                f"gate {key!r}: no unpaired test for the {gate.aggregate} aggregate"
            )
        return _first(UNPAIRED_RULES, facts)
    if test == "auto":
        return _first(AUTO_RULES, facts)
    kind = EXPLICIT[test]
    for violated, message in REQUIREMENTS:
        if violated(kind, facts):
            raise ConfigError(f"gate {key!r}: {message(test, facts)}")
    if facts.replicates and kind is TestKind.MCNEMAR_EXACT:
        raise ConfigError(
            f"gate {key!r}: test 'mcnemar-exact' assumes independent pairs, but the "
            f"data have replicates ({facts.n_units} groups); use test: mcnemar or "
            "auto, which are cluster-aware (docs/statistics.md §6)"
        )
    if facts.replicates and kind in REPLICATE_AWARE:
        return Choice(
            kind,
            f"requested by configuration; replicates ({facts.n_units} clusters): "
            "cluster-aware (docs/statistics.md §6)",
        )
    if facts.replicates:
        prep.warnings.append(
            f"replicates present but test {test!r} treats them as independent"
        )
    return Choice(kind, "requested by configuration")
