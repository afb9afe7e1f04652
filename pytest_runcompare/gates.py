"""Gates: one statistical assertion about one metric, judged into a :class:`Verdict`.

A gate names a metric (optionally a slice or a step), its direction and aggregate,
a margin, a mode (non-inferiority by default), a test and α. :func:`evaluate_gate`
pairs the data through the core comparison, picks the test (STATISTICS.md §2, §7),
and returns a frozen verdict that says PASS / FAIL / INCONCLUSIVE with the numbers
behind it. :func:`judge` evaluates a session's gates together: Holm (or BH)
across the regression-detection family, and the chance that every
non-inferiority gate passes.

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

import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import scipy

from pytest_runcompare.aggregates import aggregate, check_aggregate, quantile_of
from pytest_runcompare.errors import ComparisonError, ConfigError
from pytest_runcompare.stats import binary, continuous, nonparametric, quantiles, ratio
from pytest_runcompare.stats.bootstrap import paired_bootstrap
from pytest_runcompare.stats.multiplicity import CORRECTIONS, adjust
from pytest_runcompare.stats.power import (
    minimum_detectable_effect,
    pass_probability,
    required_n,
)
from pytest_runcompare.stats.result import TestResult
from pytest_runcompare.verdict import Mode, Outcome, Verdict

__all__ = [
    "CORRECTIONS",
    "TESTS",
    "Gate",
    "GateSummary",
    "Margin",
    "evaluate_gate",
    "evaluate_gates",
    "judge",
    "parse_margin",
    "summarise",
]

#: Accepted ``test:`` names (plus any custom test supplied by a hook).
TESTS: tuple[str, ...] = (
    "auto",
    "t",
    "bootstrap-t",
    "wilcoxon",
    "sign",
    "permutation",
    "bootstrap-percentile",
    "bootstrap-bca",
    "tango",
    "mcnemar",
    "mcnemar-exact",
    "quantile",
    "delta",
    "ratio-bootstrap",
)
MISSING: tuple[str, ...] = ("fail", "worst", "drop")
PAIRINGS: tuple[str, ...] = ("paired", "none")
INCONCLUSIVE_POLICIES: tuple[str, ...] = ("fail", "pass")
BOOTSTRAP_T_MAX_N = 500  # below this the bootstrap-t bound is also computed
RATIO_BOOTSTRAP_MAX_N = 500
SMALL_N = 30
N_RESAMPLES = 9999
DEFAULT_MIN_COVERAGE = 0.99

_D_TESTS = {"t", "bootstrap-t", "wilcoxon", "sign", "permutation"}
_D_TESTS |= {"bootstrap-percentile", "bootstrap-bca"}
_MARGIN = re.compile(r"^\s*([+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*$")
_MARGIN_SYNTAX = (
    "a non-negative number in metric units (0.01), or a percentage of the "
    "baseline for a relative margin ('2%')"
)


class PairedLike(Protocol):
    """What a gate needs from the core's ``PairedMetric``."""

    metric: str
    ids: np.ndarray
    baseline: np.ndarray
    candidate: np.ndarray
    higher_is_better: bool
    direction_assumed: bool
    boolean: bool
    clusters: np.ndarray | None
    missing_in_candidate: np.ndarray
    missing_in_candidate_values: np.ndarray
    missing_in_baseline: np.ndarray
    nan_ids: np.ndarray
    in_baseline: bool
    in_candidate: bool
    baseline_count: int
    candidate_count: int


CustomTest = Callable[..., TestResult]


# ---------------------------------------------------------------------- margins
@dataclass(frozen=True, slots=True)
class Margin:
    """A non-inferiority margin: absolute (metric units) or relative to the baseline.

    ``Margin(0.01)`` allows the candidate to be 0.01 worse; ``Margin(0.02,
    relative=True)`` allows it to be 2% worse than the baseline, tested exactly
    through the paired linear combination ``cand − (1 − r)·base``
    (lower-is-better: ``(1 + r)·base − cand``), never by multiplying the observed
    baseline mean (STATISTICS.md §1.3).
    """

    value: float
    relative: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise ConfigError(f"margin must be a number, got {self.value!r}")
        if not math.isfinite(self.value) or self.value < 0:
            raise ConfigError(
                f"margin must be finite and non-negative, got {self.value!r}"
            )
        if self.relative and self.value >= 1:
            raise ConfigError(
                f"a relative margin must be below 100%, got {self.value * 100:g}%"
            )
        object.__setattr__(self, "value", float(self.value))

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_margin(value: object) -> Margin:
    """Parse a margin from configuration: ``0.01``, ``"0.01"``, ``"2%"``.

    Raises
    ------
    ConfigError
        For anything else, with the accepted syntax in the message.

    """
    if isinstance(value, Margin):
        return value
    if isinstance(value, bool):
        raise ConfigError(f"invalid margin {value!r}; expected {_MARGIN_SYNTAX}")
    if isinstance(value, int | float):
        return Margin(float(value))
    if isinstance(value, str):
        match = _MARGIN.match(value)
        if match is not None:
            number = float(match.group(1))
            if match.group(2):
                return Margin(number / 100, relative=True)
            return Margin(number)
    raise ConfigError(f"invalid margin {value!r}; expected {_MARGIN_SYNTAX}")


# ---------------------------------------------------------------------- gates
def _choice(value: object, accepted: Sequence[str], what: str) -> str:
    """Validate a closed-set string option."""
    if value not in accepted:
        raise ConfigError(
            f"invalid {what} {value!r}; accepted: {', '.join(map(str, accepted))}"
        )
    return str(value)


@dataclass(frozen=True, slots=True)
class Gate:
    """One assertion about one metric.

    Parameters
    ----------
    metric : str
        Metric name in the runs.
    slice, step : str, optional
        Restrict to a slice (e.g. ``"lang:de"``) or a trace step.
    higher_is_better : bool, optional
        Direction; None takes it from the comparison.
    aggregate : str
        ``mean`` (default), ``sum``, ``median``, ``pNN`` (``p95``…), or ``rate``
        (share of truthy values; with ``denominator``: ratio of sums
        ``Σmetric / Σdenominator``).
    margin : Margin, float or str, optional
        Required (> 0) in ``non_inferiority`` and ``equivalence`` modes;
        defaults to 0 in ``regression_detection``. Parsed by :func:`parse_margin`.
    mode : Mode or str
        ``non_inferiority`` (default), ``regression_detection``, ``equivalence``.
    test : str
        ``auto`` or one of :data:`TESTS` (or a custom test name).
    alpha : float
        One-sided level; the interval shown is two-sided at ``1 − 2α``.
    missing : str
        What happens to baseline datapoints missing from the candidate once
        coverage is at least ``min_coverage``: ``fail`` (default: they count as
        failures for binary metrics and are dropped otherwise), ``worst``
        (binary: count as failures; continuous: the worst value seen in either
        run) or ``drop``.
    min_coverage : float
        Minimum share of the baseline's datapoints paired in the candidate;
        below it the gate fails closed under every ``missing`` policy.
    inconclusive : str, optional
        ``fail`` or ``pass``; None: fail in non-inferiority and equivalence,
        pass with a warning in regression detection.
    pairing : str
        ``paired`` or ``none`` (unpaired Welch/score tests, loudly warned). Runs
        that share no datapoint ids are compared unpaired (loudly warned) when
        ``min_coverage`` is 0; otherwise their 0% coverage fails the gate closed.
    correction : str
        Multiplicity correction of the regression-detection family
        (``holm``, ``bh``, ``bonferroni``, ``none``).
    declared : bool
        False for warn-only gates (e.g. automatic slice gates).
    max_new_failures : int, optional
        Binary metrics: at most this many datapoints right in the baseline may
        be wrong in the candidate. Alone (no margin) it is a pure count gate.
    denominator : str, optional
        Denominator metric for a ratio-of-sums ``rate``.

    """

    metric: str
    slice: str | None = None
    step: str | None = None
    higher_is_better: bool | None = None
    aggregate: str = "mean"
    margin: Margin | None = None
    mode: Mode = Mode.NON_INFERIORITY
    test: str = "auto"
    alpha: float = 0.05
    missing: str = "fail"
    min_coverage: float = DEFAULT_MIN_COVERAGE
    inconclusive: str | None = None
    pairing: str = "paired"
    correction: str = "holm"
    declared: bool = True
    max_new_failures: int | None = None
    denominator: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(f"a gate needs a metric name, got {self.metric!r}")
        if self.margin is not None and not isinstance(self.margin, Margin):
            object.__setattr__(self, "margin", parse_margin(self.margin))
        if not isinstance(self.mode, Mode):
            try:
                object.__setattr__(self, "mode", Mode(self.mode))
            except ValueError:
                _choice(self.mode, [str(m) for m in Mode], "mode")
        test = str(self.test).lower().replace("_", "-")
        object.__setattr__(self, "test", test)
        agg = self.aggregate
        try:
            check_aggregate(agg)
        except ConfigError as exc:
            raise ConfigError(f"gate {self.key!r}: {exc}") from None
        if self.denominator is not None and agg != "rate":
            raise ConfigError(
                f"gate {self.key!r}: `denominator` needs `aggregate: rate`"
            )
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float):
            raise ConfigError(f"gate {self.key!r}: alpha must be a number")
        if not 0 < alpha < 0.5:
            raise ConfigError(
                f"gate {self.key!r}: alpha must be in (0, 0.5), got {alpha!r} "
                "(one-sided; 0.05 by default, 0.025 is the regulatory convention)"
            )
        _choice(self.missing, MISSING, "missing policy")
        _choice(self.pairing, PAIRINGS, "pairing")
        _choice(self.correction, CORRECTIONS, "correction")
        if self.inconclusive is not None:
            _choice(self.inconclusive, INCONCLUSIVE_POLICIES, "inconclusive policy")
        cov = self.min_coverage
        if (
            isinstance(cov, bool)
            or not isinstance(cov, int | float)
            or not 0 <= cov <= 1
        ):
            raise ConfigError(
                f"gate {self.key!r}: min_coverage must be in [0, 1], got {cov!r}"
            )
        k = self.max_new_failures
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 0):
            raise ConfigError(
                f"gate {self.key!r}: max_new_failures must be a non-negative "
                f"integer, got {k!r}"
            )
        if (
            self.margin is not None
            and self.margin.value == 0
            and self.mode is not Mode.REGRESSION_DETECTION
        ):
            raise ConfigError(
                f"gate {self.key!r}: a margin of 0 in {self.mode} mode is a "
                "superiority test that an unchanged model fails most of the time; "
                "choose a margin > 0 or use mode: regression_detection"
            )

    @property
    def key(self) -> str:
        """Stable name: ``metric``, ``p95(metric)``, ``metric[slice]``, ``[step=s]``."""
        name = (
            self.metric
            if self.aggregate == "mean"
            else f"{self.aggregate}({self.metric})"
        )
        if self.denominator is not None:
            name = f"rate({self.metric}/{self.denominator})"
        if self.slice is not None:
            name += f"[{self.slice}]"
        if self.step is not None:
            name += f"[step={self.step}]"
        return name

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "metric": self.metric,
            "slice": self.slice,
            "step": self.step,
            "higher_is_better": self.higher_is_better,
            "aggregate": self.aggregate,
            "margin": None if self.margin is None else str(self.margin),
            "mode": str(self.mode),
            "test": self.test,
            "alpha": self.alpha,
            "missing": self.missing,
            "min_coverage": self.min_coverage,
            "inconclusive": self.inconclusive,
            "pairing": self.pairing,
            "correction": self.correction,
            "declared": self.declared,
            "max_new_failures": self.max_new_failures,
            "denominator": self.denominator,
        }


def gate_rng(key: str, seed: int = 0) -> np.random.Generator:
    """The gate's generator: ``SeedSequence(seed, spawn_key=(crc32(key),))``.

    Independent of Python's ``hash()`` and of the order of the gates, so adding a
    gate does not change another gate's resamples (STATISTICS.md §4.2).
    """
    ss = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(key.encode("utf-8")),))
    return np.random.default_rng(ss)


# ---------------------------------------------------------------------- evaluation
@dataclass(slots=True)
class _Prepared:
    """Aligned raw data of one gate, after the missing-data policy."""

    base: np.ndarray
    cand: np.ndarray
    hib: bool
    boolean: bool
    clusters: np.ndarray | None = None
    den_base: np.ndarray | None = None
    den_cand: np.ndarray | None = None
    unpaired: bool = False
    n_missing: int = 0
    n_missing_baseline: int = 0
    coverage: float = math.nan
    imputed: bool = False
    warnings: list[str] = field(default_factory=list)


class _FailClosed(Exception):
    """Internal: the gate cannot be evaluated; the message is the reason."""


def _preview(ids: np.ndarray, k: int = 3) -> str:
    """``'a', 'b', 'c', …`` for a message."""
    shown = ", ".join(repr(str(x)) for x in ids[:k].tolist())
    return shown + (", …" if ids.size > k else "")


def _fetch(comparison: Any, gate: Gate, metric: str) -> PairedLike:
    """``comparison.paired`` with unknown names turned into a fail-closed reason."""
    try:
        return comparison.paired(metric, slice=gate.slice, step=gate.step)  # type: ignore[no-any-return]
    except ComparisonError as exc:
        raise _FailClosed(str(exc)) from None


def _run_values(comparison: Any, gate: Gate, run: str) -> np.ndarray:
    """All values (NaN and infinite ones too) of the gate's metric in one run."""
    try:
        values = comparison.values(
            gate.metric, run=run, slice=gate.slice, step=gate.step, finite_only=False
        )
    except ComparisonError as exc:
        raise _FailClosed(str(exc)) from None
    return np.asarray(values, dtype=np.float64)


def _pct(share: float) -> str:
    """``99%``, ``99.5%``: a configured share, never rounded up to a limit."""
    return f"{share * 100:g}%"


def _coverage_text(coverage: float, limit: float) -> str:
    """``98.0%``, with more digits when one decimal would round up to ``limit``."""
    text = f"{coverage:.1%}"
    if coverage < limit and round(coverage * 100, 1) >= limit * 100:
        text = f"{coverage:.3%}"
    return text


def _aggregate_only(run: Any, metric: str) -> bool:
    """``metric`` is in the run's metadata ``metrics`` but on no datapoint or step."""
    meta = getattr(run, "meta", None)
    if metric not in (getattr(meta, "metrics", None) or {}):
        return False
    tables = [getattr(run, "datapoints", None)]
    tables += list((getattr(run, "steps", None) or {}).values())
    return not any(metric in getattr(t, "metrics", {}) for t in tables)


def _absent_reason(comparison: Any, paired: PairedLike, name: str) -> str | None:
    """Why the metric cannot be paired at all, or None when both runs carry it."""
    if paired.in_baseline and paired.in_candidate:
        return None
    only = [
        role
        for role in ("baseline", "candidate")
        if _aggregate_only(getattr(comparison, role, None), name)
    ]
    if only:
        where = (
            "the run metadata" if len(only) == 2 else f"the {only[0]} run's metadata"
        )
        return (
            f"{name!r} exists only as an aggregate in {where} (no per-datapoint "
            "values), so it cannot be tested; log it per datapoint to gate it"
        )
    if not paired.in_baseline:
        return f"the baseline run has no metric {name!r} to compare with"
    return (
        f"the candidate run has no metric {name!r} "
        f"({paired.baseline_count} baseline datapoints carry it)"
    )


def _zero_one(values: np.ndarray) -> bool:
    """Non-empty and every value 0 or 1."""
    return bool(values.size) and bool(np.all((values == 0) | (values == 1)))


def _prepare(comparison: Any, gate: Gate) -> _Prepared:
    """Pair, orient-check and apply the missing-data policy; raise _FailClosed."""
    paired = _fetch(comparison, gate, gate.metric)
    name = gate.metric
    absent = _absent_reason(comparison, paired, name)
    if absent is not None:
        raise _FailClosed(absent)
    n_common = getattr(comparison, "n_common", None)
    # Runs that share no ids: compared unpaired when asked (pairing: none) or when
    # the gate accepts zero coverage; otherwise the coverage check fails them.
    unpaired = gate.pairing == "none" or (n_common == 0 and gate.min_coverage == 0)
    if not unpaired and n_common == 0:
        raise _FailClosed(
            "the runs share no datapoint ids, so nothing can be paired "
            f"(coverage 0% < min_coverage {_pct(gate.min_coverage)}); "
            "`pairing: none` compares them unpaired (far less power, and only "
            "valid if both runs sample the same population)"
        )
    if paired.nan_ids.size:
        raise _FailClosed(
            f"{paired.nan_ids.size} paired datapoints have a NaN or infinite "
            f"{name!r} ({_preview(paired.nan_ids)})"
        )
    warnings: list[str] = []
    hib = gate.higher_is_better
    if hib is None:
        hib = bool(paired.higher_is_better)
        if paired.direction_assumed:
            warnings.append(
                f"direction of {name!r} not declared: higher is better assumed"
            )
    share = gate.aggregate == "rate" and gate.denominator is None
    boolean = bool(paired.boolean) or share
    base = np.asarray(paired.baseline, dtype=np.float64)
    cand = np.asarray(paired.candidate, dtype=np.float64)
    n_base_only = int(paired.missing_in_baseline.size)
    if unpaired:
        base = _run_values(comparison, gate, "baseline")
        cand = _run_values(comparison, gate, "candidate")
        bad = [
            f"{int(k)} of {x.size} {role} values"
            for role, x in (("baseline", base), ("candidate", cand))
            if (k := np.count_nonzero(~np.isfinite(x)))
        ]
        if bad:
            raise _FailClosed(
                f"{' and '.join(bad)} of {name!r} are NaN or infinite; an unpaired "
                "comparison does not drop them"
            )
        # nothing is paired, so the pairing could not tell a 0/1 metric: the runs can
        boolean = boolean or (_zero_one(base) and _zero_one(cand))
        if share:
            base, cand = (base != 0).astype(np.float64), (cand != 0).astype(np.float64)
        if base.size < 2 or cand.size < 2:
            raise _FailClosed(f"too few values of {name!r} for an unpaired comparison")
        shared = (
            f"; the runs share {n_common} datapoint ids a paired test could use"
            if n_common
            else ""
        )
        why = (
            "pairing: none"
            if gate.pairing == "none"
            else "the runs share no datapoint ids and min_coverage is 0"
        )
        warnings.append(
            f"UNPAIRED comparison ({why}): datapoints are not matched by "
            "id, so it has far less power than a paired one and is only valid if "
            f"both runs sample the same population{shared}"
        )
        return _Prepared(base, cand, hib, boolean, unpaired=True, warnings=warnings)
    if share:
        base, cand = (base != 0).astype(np.float64), (cand != 0).astype(np.float64)
    clusters = None if paired.clusters is None else np.asarray(paired.clusters)
    n_missing = int(paired.missing_in_candidate.size)
    # NaN pairs failed closed above, so these are the baseline's carriers (also
    # in a view that leaves waived ids out of both)
    n_baseline = base.size + n_missing
    coverage = base.size / n_baseline if n_baseline else math.nan
    prep = _Prepared(
        base,
        cand,
        hib,
        boolean,
        clusters=clusters,
        n_missing=n_missing,
        n_missing_baseline=n_base_only,
        coverage=coverage,
        warnings=warnings,
    )
    if n_base_only:
        warnings.append(
            f"{n_base_only} candidate datapoints have no baseline counterpart "
            f"({_preview(paired.missing_in_baseline)}); they are not compared"
        )
    if n_missing:
        what = (
            f"{name!r} is missing from the candidate on {n_missing} of {n_baseline} "
            f"baseline datapoints ({_preview(paired.missing_in_candidate)})"
        )
        if not coverage >= gate.min_coverage:
            if base.size == 0 and paired.candidate_count:
                what += (
                    f"; the {paired.candidate_count} candidate datapoints that "
                    "carry it have no baseline value to pair with"
                )
            raise _FailClosed(
                f"coverage {_coverage_text(coverage, gate.min_coverage)} is below "
                f"min_coverage {_pct(gate.min_coverage)} (enforced under every "
                f"missing policy, here missing: {gate.missing}): {what}"
            )
        impute = gate.denominator is None and (
            gate.missing == "worst" or (gate.missing == "fail" and boolean)
        )
        if impute:
            values = np.asarray(paired.missing_in_candidate_values, dtype=np.float64)
            values = values[np.isfinite(values)]
            if share:
                values = (values != 0).astype(np.float64)
            if boolean:
                worst = 0.0 if hib else 1.0
            elif base.size:
                both = np.concatenate([base, cand, values])
                worst = float(both.min() if hib else both.max())
            else:
                raise _FailClosed(f"{what}, and nothing is paired")
            prep.base = np.concatenate([base, values])
            prep.cand = np.concatenate([cand, np.full(values.size, worst)])
            if clusters is not None:
                start = int(clusters.max()) + 1 if clusters.size else 0
                prep.clusters = np.concatenate(
                    [clusters, np.arange(start, start + values.size)]
                )
            prep.imputed = True
            warnings.append(f"{what}: counted as the worst score ({worst:g})")
        else:
            warnings.append(f"{what}: dropped from the comparison")
    if gate.denominator is not None:
        den = _fetch(comparison, gate, gate.denominator)
        if den.nan_ids.size or not (den.in_baseline and den.in_candidate):
            raise _FailClosed(
                f"denominator {gate.denominator!r} is missing or has NaN values"
            )
        if np.array_equal(den.ids, paired.ids):
            db, dc = den.baseline, den.candidate
        else:
            where = {k: i for i, k in enumerate(den.ids.tolist())}
            pos = np.array(
                [where.get(k, -1) for k in paired.ids.tolist()], dtype=np.intp
            )
            keep = pos >= 0
            if not keep.all():
                lost = int((~keep).sum())
                kept = base.size - lost
                if n_baseline and not kept / n_baseline >= gate.min_coverage:
                    raise _FailClosed(
                        f"coverage {_coverage_text(kept / n_baseline, gate.min_coverage)}"
                        f" is below min_coverage {_pct(gate.min_coverage)}: "
                        f"{lost} paired datapoints lack the denominator "
                        f"{gate.denominator!r}"
                        + (f" and {n_missing} lack {name!r}" if n_missing else "")
                    )
                prep.coverage = kept / n_baseline if n_baseline else math.nan
                warnings.append(
                    f"{lost} datapoints lack the denominator "
                    f"{gate.denominator!r}: dropped"
                )
            prep.base, prep.cand = prep.base[keep], prep.cand[keep]
            if prep.clusters is not None:
                prep.clusters = prep.clusters[keep]
            db, dc = den.baseline[pos[keep]], den.candidate[pos[keep]]
        prep.den_base = np.asarray(db, dtype=np.float64)
        prep.den_cand = np.asarray(dc, dtype=np.float64)
    if prep.base.size == 0:
        raise _FailClosed(f"no paired datapoints carry {name!r}")
    if prep.clusters is not None and np.unique(prep.clusters).size == prep.base.size:
        prep.clusters = None  # no replicates: every pair is its own cluster
    return prep


def _aggregate(values: np.ndarray, gate: Gate, den: np.ndarray | None) -> float:
    """The gate's aggregate of one run's values (NaN when there are none)."""
    if den is not None:  # rate with a denominator: ratio of sums
        total = float(den.sum())
        return float(values.sum()) / total if total and values.size else math.nan
    value = aggregate(values, gate.aggregate)
    return math.nan if value is None else value


def _select(
    gate: Gate, prep: _Prepared, margin: Margin, custom: Mapping[str, CustomTest]
) -> tuple[str, str]:
    """Pick the test for ``gate``; return ``(kind, why)`` or raise ConfigError."""
    test, key = gate.test, gate.key
    q = quantile_of(gate.aggregate)
    is_ratio = gate.denominator is not None
    n = prep.base.size
    if test in custom:
        return "custom:" + test, "custom test requested by configuration"
    if test not in TESTS:
        extra = f" (custom: {', '.join(sorted(custom))})" if custom else ""
        raise ConfigError(
            f"gate {key!r}: unknown test {test!r}; accepted: {', '.join(TESTS)}{extra}"
        )
    if prep.unpaired:
        if test not in ("auto", "t"):
            raise ConfigError(f"gate {key!r}: test {test!r} needs paired data")
        if q is not None or is_ratio:
            raise ConfigError(
                f"gate {key!r}: no unpaired test for the {gate.aggregate} aggregate"
            )
        if prep.boolean and not margin.relative:
            return (
                "score",
                "binary metric without pairing: Farrington-Manning score test",
            )
        return "welch", "no pairing: Welch t on the two runs' means"
    replicates = prep.clusters is not None
    if test == "auto":
        if is_ratio:
            if n >= RATIO_BOOTSTRAP_MAX_N:
                return "delta", "ratio of sums: delta method"
            return "ratio-bootstrap", (
                f"ratio of sums with n < {RATIO_BOOTSTRAP_MAX_N}: paired bootstrap"
            )
        if q is not None:
            return "quantile", (
                f"{gate.aggregate} aggregate: difference of run quantiles, Bahadur SE"
            )
        if replicates:
            return "t", "replicates present: paired t with cluster-robust SE"
        if prep.boolean and not margin.relative:
            if margin.value > 0:
                return "tango", "binary metric with a margin: Tango score test"
            return "mcnemar", "binary metric, margin 0: McNemar one-sided mid-p"
        if n < BOOTSTRAP_T_MAX_N:
            return "auto-mean", (
                f"continuous {gate.aggregate}, n < {BOOTSTRAP_T_MAX_N}: paired t and "
                "bootstrap-t, the more conservative kept"
            )
        return "auto-mean-large", (
            f"continuous {gate.aggregate}, n ≥ {BOOTSTRAP_T_MAX_N}: paired t and "
            "skewness-corrected t, the more conservative kept"
        )
    # explicit choices must fit the aggregate and the data
    if test in ("delta", "ratio-bootstrap") and not is_ratio:
        raise ConfigError(f"gate {key!r}: test {test!r} needs a ratio `denominator`")
    if test == "quantile" and q is None:
        raise ConfigError(
            f"gate {key!r}: test 'quantile' needs a median or pNN aggregate"
        )
    if test in _D_TESTS | {"tango", "mcnemar", "mcnemar-exact"} and (
        q is not None or is_ratio
    ):
        raise ConfigError(
            f"gate {key!r}: test {test!r} tests paired differences, not the "
            f"{gate.aggregate if not is_ratio else 'ratio'} aggregate; "
            "use test: auto"
        )
    if test in ("tango", "mcnemar", "mcnemar-exact"):
        if not prep.boolean:
            raise ConfigError(
                f"gate {key!r}: test {test!r} needs a binary (0/1) metric"
            )
        if margin.relative:
            raise ConfigError(
                f"gate {key!r}: test {test!r} needs an absolute margin "
                "(percentage points as a fraction, e.g. 0.02)"
            )
        if test != "tango" and margin.value > 0:
            raise ConfigError(
                f"gate {key!r}: McNemar tests a zero difference only; use test: "
                "tango for a margin > 0"
            )
    if replicates and test != "t":
        prep.warnings.append(
            f"replicates present but test {test!r} treats them as independent"
        )
    return test, "requested by configuration"


def _run_side(
    kind: str,
    gate: Gate,
    prep: _Prepared,
    margin: Margin,
    *,
    k: int,
    alternative: str,
    scale: float,
    rng: np.random.Generator,
    paired: Any,
    custom: Mapping[str, CustomTest],
) -> TestResult:
    """Run the chosen test at the lower (k = 1) or upper (k = −1) margin."""
    o = 1.0 if prep.hib else -1.0
    level = 1 - 2 * gate.alpha
    if margin.relative:
        w, null = 1 - o * k * margin.value, 0.0
    else:
        w, null = 1.0, -k * margin.value / scale
    base, cand = prep.base, prep.cand
    common: dict[str, Any] = {
        "null": null,
        "alternative": alternative,
        "confidence_level": level,
    }
    if kind.startswith("custom:"):
        return custom[kind[7:]](paired, gate, rng=rng)
    if kind in ("tango", "mcnemar", "mcnemar-exact", "score"):
        xb = base if prep.hib else 1 - base
        xc = cand if prep.hib else 1 - cand
        if kind == "score":
            return binary.score_test_2indep(
                int(xc.sum()), xc.size, int(xb.sum()), xb.size, **common
            )
        table = binary.paired_table(xb, xc)
        if kind == "tango":
            return binary.tango_test(table, **common)
        method = "exact" if kind == "mcnemar-exact" else "midp"
        return binary.mcnemar(
            table, alternative=alternative, method=method, confidence_level=level
        )
    if kind == "welch":
        return continuous.welch_t(o * cand, o * w * base, **common)
    if kind == "quantile":
        q = quantile_of(gate.aggregate)
        assert q is not None
        return quantiles.quantile_difference(
            cand, base, q=q, higher_is_better=prep.hib, baseline_weight=w, **common
        )
    if kind in ("delta", "ratio-bootstrap"):
        args = (cand, prep.den_cand, base, prep.den_base)
        if kind == "delta":
            return ratio.ratio_difference(
                *args, higher_is_better=prep.hib, baseline_weight=w, **common
            )
        return ratio.ratio_bootstrap(
            *args,
            higher_is_better=prep.hib,
            baseline_weight=w,
            rng=rng,
            n_resamples=N_RESAMPLES,
            **common,
        )
    d = o * (cand - w * base) if w != 1.0 else o * (cand - base)
    if kind == "t":
        return continuous.paired_t(d, clusters=prep.clusters, **common)
    if kind == "auto-mean":
        t = continuous.paired_t(d, **common)
        if t.se == 0:
            return t
        bt = continuous.bootstrap_t(d, rng=rng, n_resamples=N_RESAMPLES, **common)
        return continuous.conservative(t, bt, "paired t + bootstrap-t (conservative)")
    if kind == "auto-mean-large":
        t = continuous.paired_t(d, **common)
        if t.se == 0:
            return t
        sk = continuous.skew_corrected_t(d, **common)
        return continuous.conservative(
            t, sk, "paired t + skewness-corrected t (conservative)"
        )
    if kind == "bootstrap-t":
        return continuous.bootstrap_t(d, rng=rng, n_resamples=N_RESAMPLES, **common)
    if kind == "wilcoxon":
        return nonparametric.wilcoxon_test(d, **common)
    if kind == "sign":
        return nonparametric.sign_test(d, **common)
    if kind == "permutation":
        return nonparametric.permutation_test(
            d, rng=rng, n_resamples=N_RESAMPLES, **common
        )
    method = "bca" if kind == "bootstrap-bca" else "percentile"
    return paired_bootstrap(
        d, rng=rng, n_resamples=N_RESAMPLES, method=method, **common
    )


def _versions() -> dict[str, str]:
    return {"numpy_version": np.__version__, "scipy_version": scipy.__version__}


def _fail_closed(gate: Gate, reason: str, seed: int, **extra: Any) -> Verdict:
    """A FAIL verdict for a gate that could not be evaluated."""
    v = Verdict(
        gate=gate,
        key=gate.key,
        outcome=Outcome.FAIL,
        passed=False,
        improved=False,
        text="",
        reason=reason,
        margin_text="" if gate.margin is None else str(gate.margin),
        seed=seed,
        **_versions(),
        **extra,
    )
    return _conclude(v)


def evaluate_gate(
    comparison: Any,
    gate: Gate,
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> Verdict:
    """Evaluate one gate on a core comparison and return its :class:`Verdict`.

    Parameters
    ----------
    comparison : RunComparisonResult
        From :func:`pytest_runcompare.comparison.compare_runs` (anything with a
        ``paired(metric, slice=, step=)`` method returning a ``PairedMetric``).
    gate : Gate
        The assertion.
    seed : int
        Seed of any resampling (with the gate's key, through
        :func:`gate_rng`); recorded in the verdict.
    custom_tests : mapping, optional
        Extra test names (see the module docstring for the signature).

    Returns
    -------
    Verdict
        FAIL with ``reason`` when the gate cannot be evaluated (unknown or missing
        metric, NaN values, coverage below ``min_coverage``): gates fail closed.

    Raises
    ------
    ConfigError
        For configuration mistakes, e.g. no margin in non-inferiority mode (the
        message shows the minimum detectable effect at the current n).

    """
    custom = dict(custom_tests or {})
    key = gate.key
    try:
        prep = _prepare(comparison, gate)
    except _FailClosed as exc:
        return _fail_closed(gate, str(exc), seed)
    n = prep.base.size
    den_b, den_c = prep.den_base, prep.den_cand
    base_agg = _aggregate(prep.base, gate, den_b)
    cand_agg = _aggregate(prep.cand, gate, den_c)
    o = 1.0 if prep.hib else -1.0
    scale = float(n) if gate.aggregate == "sum" else 1.0
    common_extra: dict[str, Any] = {
        "baseline_aggregate": base_agg,
        "candidate_aggregate": cand_agg,
        "n_paired": 0 if prep.unpaired else n,
        "missing_in_candidate": prep.n_missing,
        "missing_in_baseline": prep.n_missing_baseline,
        "coverage": prep.coverage,
        "warnings": tuple(prep.warnings),
    }
    if gate.aggregate == "sum" and (
        prep.unpaired
        or (prep.n_missing and not prep.imputed)
        or prep.n_missing_baseline
    ):
        return _fail_closed(
            gate,
            "sums over different datapoint sets are not comparable "
            f"({prep.n_missing} missing from the candidate, "
            f"{prep.n_missing_baseline} missing from the baseline)",
            seed,
            **common_extra,
        )
    counts = {}
    discordant = None
    new_failures = None
    if not prep.unpaired:
        d0 = np.round(o * (prep.cand - prep.base), 12)
        better = int(np.count_nonzero(d0 > 0))
        worse = int(np.count_nonzero(d0 < 0))
        counts = {
            "improved_count": better,
            "degraded_count": worse,
            "unchanged_count": n - better - worse,
        }
        if prep.boolean:
            discordant = (worse, better)
            new_failures = worse
    paired_obj: Any = None
    if gate.test in custom:
        paired_obj = _fetch(comparison, gate, gate.metric)

    margin = gate.margin
    count_only = margin is None and gate.max_new_failures is not None
    if (margin is None and gate.mode is Mode.REGRESSION_DETECTION) or count_only:
        margin = Margin(0.0)
    if count_only:
        if new_failures is None:
            raise ConfigError(
                f"gate {key!r}: max_new_failures needs a binary (0/1) metric"
            )
        v = Verdict(
            gate=gate,
            key=key,
            outcome=Outcome.PASS,
            passed=True,
            improved=False,
            text="",
            estimate=o * (cand_agg - base_agg),
            test="count of new failures",
            test_reason="max_new_failures without a margin",
            tests_what="datapoints right in the baseline and wrong in the candidate",
            discordant=discordant,
            new_failures=new_failures,
            margin_text=f"at most {gate.max_new_failures} new failures",
            seed=seed,
            **counts,
            **common_extra,
            **_versions(),
        )
        return _conclude(v)
    rng = gate_rng(key, seed)
    side = {
        "k": 1,
        "scale": scale,
        "paired": paired_obj,
        "custom": custom,
    }
    if margin is None:  # NI or equivalence without a margin: help choose one
        kind, _ = _select(gate, prep, Margin(0.0), custom)
        if kind.startswith("custom:"):
            raise ConfigError(
                f"gate {key!r}: mode {gate.mode} needs a margin > 0 (margin: 0.01 in "
                "metric units, or '2%' of the baseline)"
            )
        res = _run_side(
            kind, gate, prep, Margin(0.0), alternative="greater", rng=rng, **side
        )
        mde = minimum_detectable_effect(res.se * scale, alpha=gate.alpha)
        raise ConfigError(
            f"gate {key!r}: mode {gate.mode} needs a margin > 0 (margin: 0.01 in "
            "metric units, or '2%' of the baseline). With the current data "
            f"(n = {res.n}) the minimum detectable effect is {_num(mde)} "
            f"({gate.aggregate}, 80% power, alpha = {gate.alpha:g}): a smaller "
            "margin cannot be shown. Or use mode: regression_detection."
        )
    kind, why = _select(gate, prep, margin, custom)
    base_unit = base_agg / scale
    shift = 0.0
    if margin.relative:
        if not base_unit > 0:
            return _fail_closed(
                gate,
                f"a relative margin needs a positive baseline {gate.aggregate} "
                f"(it is {_num(base_agg)})",
                seed,
                **common_extra,
            )
        shift = margin.value * base_unit
    m_abs = (shift if margin.relative else margin.value / scale) * scale
    alt = "less" if gate.mode is Mode.REGRESSION_DETECTION else "greater"
    res = _run_side(kind, gate, prep, margin, alternative=alt, rng=rng, **side)
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
    if gate.mode is Mode.EQUIVALENCE and not kind.startswith("custom:"):
        up = _run_side(
            kind,
            gate,
            prep,
            margin,
            alternative="less",
            rng=gate_rng(key + "#upper", seed),
            **{**side, "k": -1},
        )
        p = max(p, up.pvalue)
    elif not (math.isfinite(ci_low) and math.isfinite(ci_high)) and not kind.startswith(
        "custom:"
    ):
        other = "greater" if alt == "less" else "less"
        p_opp = _run_side(
            kind, gate, prep, margin, alternative=other, rng=rng, **side
        ).pvalue
    se = res.se * scale
    two_sided = gate.mode is Mode.EQUIVALENCE
    pp = pass_probability(se, m_abs, alpha=gate.alpha)
    if two_sided and math.isfinite(pp):
        pp = max(0.0, 2 * pp - 1)
    v = Verdict(
        gate=gate,
        key=key,
        outcome=Outcome.INCONCLUSIVE,
        passed=False,
        improved=False,
        text="",
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
        test_reason=why,
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
        **{**common_extra, "warnings": tuple(dict.fromkeys(warnings))},
        **_versions(),
    )
    return _conclude(v)


# ---------------------------------------------------------------------- decision
def _decide(v: Verdict) -> Outcome:
    """PASS / FAIL / INCONCLUSIVE from the verdict's numbers (STATISTICS.md §1.2)."""
    g = v.gate
    a = g.alpha
    m = v.margin or 0.0
    if v.reason is not None:
        return Outcome.FAIL
    if v.test == "count of new failures":
        return (
            Outcome.FAIL
            if (v.new_failures or 0) > (g.max_new_failures or 0)
            else Outcome.PASS
        )
    hi_known = math.isfinite(v.ci_high)
    lo_known = math.isfinite(v.ci_low)
    if g.mode is Mode.NON_INFERIORITY:
        if v.inconclusive_reason:
            out = Outcome.INCONCLUSIVE
        elif v.p_value <= a:
            out = Outcome.PASS
        elif (v.ci_high < -m) if hi_known else (v.p_value_opposite <= a):
            out = Outcome.FAIL
        else:
            out = Outcome.INCONCLUSIVE
    elif g.mode is Mode.REGRESSION_DETECTION:
        p = v.p_adjusted if v.p_adjusted is not None else v.p_value
        if v.inconclusive_reason:
            out = Outcome.INCONCLUSIVE
        elif p <= a:
            out = Outcome.FAIL
        elif (v.ci_low > -m) if lo_known else (v.p_value_opposite <= a):
            out = Outcome.PASS
        else:
            out = Outcome.INCONCLUSIVE
    else:
        if v.inconclusive_reason:
            out = Outcome.INCONCLUSIVE
        elif (
            v.p_value <= a
            and not (hi_known and lo_known and v.test.startswith("custom"))
        ) or (hi_known and lo_known and -m < v.ci_low and v.ci_high < m):
            out = Outcome.PASS
        elif (hi_known and v.ci_high < -m) or (lo_known and v.ci_low > m):
            out = Outcome.FAIL
        else:
            out = Outcome.INCONCLUSIVE
    if g.max_new_failures is not None and (v.new_failures or 0) > g.max_new_failures:
        out = Outcome.FAIL
    return out


def _conclude(v: Verdict) -> Verdict:
    """Fill outcome, passed, improved and text from the numbers."""
    g = v.gate
    outcome = _decide(v)
    policy = g.inconclusive or (
        "pass" if g.mode is Mode.REGRESSION_DETECTION else "fail"
    )
    passed = outcome is Outcome.PASS or (
        outcome is Outcome.INCONCLUSIVE and policy == "pass"
    )
    warnings = list(v.warnings)
    if outcome is Outcome.INCONCLUSIVE and passed:
        warnings.append("inconclusive: passed by policy, the data could not decide")
    if not g.declared and not passed:
        passed = True
        warnings.append(
            "warn-only gate (not declared): its failure does not fail the run"
        )
    improved = math.isfinite(v.ci_low) and v.ci_low > 0 and v.reason is None
    v = replace(
        v,
        outcome=outcome,
        passed=passed,
        improved=bool(improved),
        warnings=tuple(dict.fromkeys(warnings)),
    )
    return replace(v, text=_explain(v))


def _num(x: float | None, digits: int = 3, signed: bool = False) -> str:
    """Readable number: ``0.812``, ``-0.006``, ``1,234``; ``nan`` as ``n/a``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "+0" if signed else "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag) if abs(x) < 1000 else 0
    decimals = min(decimals, 6)
    text = f"{x:+,.{decimals}f}" if signed else f"{x:,.{decimals}f}"
    return text


def _fmt_in(x: float | None, ref: float, signed: bool = False) -> str:
    """Format ``x`` with the decimals that suit the scale ``ref``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if ref and math.isfinite(ref):
        mag = math.floor(math.log10(abs(ref)))
        decimals = min(max(0, 2 - mag), 6)
    else:
        decimals = 3
    text = f"{x:+,.{decimals}f}" if signed else f"{x:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return "+0" if signed else "0"
    return text


def _p(p: float) -> str:
    """p-value text."""
    if not math.isfinite(p):
        return "n/a"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _margin_text(margin: Margin, m_abs: float) -> str:
    """``0.02`` or ``2% of the baseline (0.0162)``."""
    if margin.relative:
        return f"{margin} of the baseline ({_num(m_abs, 3)})"
    return f"{m_abs:g}"


def _explain(v: Verdict) -> str:
    """One sentence a reviewer understands."""
    g = v.gate
    if v.reason is not None:
        return f"{v.key}: FAIL (fail closed): {v.reason}"
    ref = max(abs(v.baseline_aggregate), abs(v.candidate_aggregate), abs(v.margin or 0))
    if not math.isfinite(ref) or ref == 0:
        ref = 1.0
    if v.margin:
        ref = min(ref, abs(v.margin) * 10)
    width = v.ci_high - v.ci_low
    if math.isfinite(width) and width > 0:
        ref = min(ref, width * 10)

    def f(x: float | None, signed: bool = False) -> str:
        return _fmt_in(x, ref, signed)

    head = (
        f"{v.key}: {f(v.baseline_aggregate)} -> {f(v.candidate_aggregate)} "
        f"({f(v.estimate, True)}"
    )
    if math.isfinite(v.ci_low) and math.isfinite(v.ci_high):
        head += (
            f", {v.confidence_level:.0%} CI [{f(v.ci_low, True)}, {f(v.ci_high, True)}]"
        )
    head += ")"
    out = str(v.outcome).upper()
    if v.test == "count of new failures":
        return (
            f"{head}; at most {g.max_new_failures} new failures allowed: {out}, "
            f"{v.new_failures} datapoints right in the baseline are wrong in the "
            f"candidate (n = {v.n_paired})"
        )
    stats = f"p = {_p(v.p_value)}"
    if v.p_adjusted is not None and v.correction not in (None, "none"):
        stats += f", {v.correction}-adjusted {_p(v.p_adjusted)}"
    n_text = f"n = {v.n_paired}" if v.n_paired else f"n = {v.n_units} unpaired"
    stats += f", {v.test}, {n_text}"
    m = v.margin or 0.0
    settle = ""
    if v.n_required is not None and v.n_required > v.n_units:
        settle = (
            f"; about {v.n_required:,} paired datapoints would settle it "
            "if nothing changed"
        )
    elif v.n_required is not None:
        settle = "; the observed change is close to the margin"
    mde = (
        f" (the smallest change this n can detect is {f(v.mde)})"
        if math.isfinite(v.mde)
        else ""
    )
    if g.mode is Mode.NON_INFERIORITY:
        what = f"non-inferiority margin {v.margin_text}: {out}, "
        if v.outcome is Outcome.PASS:
            what += (
                f"the candidate is at most {f(-v.bound)} worse"
                if v.bound < 0
                else f"the candidate is not worse (at least {f(v.bound)} better)"
            )
        elif v.outcome is Outcome.FAIL:
            what += (
                "the candidate is worse by more than the margin "
                f"(at least {f(-v.ci_high)} worse)"
                if math.isfinite(v.ci_high)
                else "the candidate is worse by more than the margin"
            )
        else:
            what += (
                v.inconclusive_reason
                if v.inconclusive_reason
                else "the data cannot rule out a regression beyond the margin"
                + (
                    f" (the candidate may be up to {f(-v.ci_low)} worse)"
                    if math.isfinite(v.ci_low) and v.ci_low < 0
                    else ""
                )
            )
    elif g.mode is Mode.REGRESSION_DETECTION:
        what = f"regression detection (margin {v.margin_text}): {out}, "
        if v.outcome is Outcome.FAIL:
            beyond = " beyond the margin" if m else ""
            what += (
                "regression detected"
                + beyond
                + (
                    f": the candidate is at least {f(-v.ci_high - 0.0)} worse"
                    if math.isfinite(v.ci_high) and v.ci_high < 0
                    else ""
                )
            )
        elif v.outcome is Outcome.PASS:
            what += "no regression" + (
                f": the candidate is at most {f(-v.ci_low)} worse"
                if math.isfinite(v.ci_low) and v.ci_low < 0
                else ": the candidate is better"
            )
        else:
            what += v.inconclusive_reason or (
                "no significant regression, but one "
                + (f"of up to {f(-v.ci_low)} " if math.isfinite(v.ci_low) else "")
                + f"cannot be ruled out{mde}"
            )
            if m == 0:
                settle = ""
    else:
        what = f"equivalence margin ±{v.margin_text}: {out}, "
        if v.outcome is Outcome.PASS:
            what += "the change is within the margin in both directions"
        elif v.outcome is Outcome.FAIL:
            what += "the change lies outside the margin"
        else:
            what += v.inconclusive_reason or (
                "the data cannot show the change is within the margin"
            )
    if v.outcome is not Outcome.INCONCLUSIVE:
        settle = ""
    count = ""
    if g.max_new_failures is not None and v.new_failures is not None:
        count = (
            f"; {v.new_failures} new failures (at most {g.max_new_failures} allowed)"
        )
    tail = "" if g.declared else " [warn-only]"
    return f"{head}; {what} ({stats}){count}{settle}{tail}"


# ---------------------------------------------------------------------- sessions
@dataclass(frozen=True, slots=True)
class GateSummary:
    """All verdicts of a session, with multiplicity and the expected pass chance.

    Attributes
    ----------
    verdicts : tuple of Verdict
        In the order of the gates.
    all_passed : bool
        Every verdict passed.
    expected_all_pass_probability : float
        Chance that every declared non-inferiority/equivalence gate passes at
        these n if nothing changed (product over gates, treating them as
        independent; an intersection–union test needs no multiplicity correction
        but pays in power: Berger & Hsu, *Stat Sci* 11:283–319, 1996). NaN when
        there is no such gate.
    family_correction : str or None
        Correction applied across the regression-detection family.
    family_size : int
        Number of declared regression-detection gates in the family.
    seed : int
        Seed of the session's resampling.

    """

    verdicts: tuple[Verdict, ...]
    all_passed: bool
    expected_all_pass_probability: float
    family_correction: str | None
    family_size: int
    seed: int
    numpy_version: str = ""
    scipy_version: str = ""

    @property
    def failed(self) -> tuple[Verdict, ...]:
        """Verdicts that did not pass."""
        return tuple(v for v in self.verdicts if not v.passed)

    @property
    def text(self) -> str:
        """A short summary line."""
        n = len(self.verdicts)
        bad = len(self.failed)
        line = f"{n - bad} of {n} gates passed"
        if math.isfinite(self.expected_all_pass_probability):
            line += (
                "; chance that all non-inferiority gates pass if nothing changed: "
                f"{self.expected_all_pass_probability:.0%}"
            )
        if self.family_size > 1 and self.family_correction:
            line += (
                f"; {self.family_size} regression-detection gates, "
                f"{self.family_correction} correction"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain values."""
        from pytest_runcompare.stats.result import _plain

        return {
            "verdicts": [v.to_dict() for v in self.verdicts],
            "all_passed": self.all_passed,
            "expected_all_pass_probability": _plain(self.expected_all_pass_probability),
            "family_correction": self.family_correction,
            "family_size": self.family_size,
            "seed": self.seed,
            "numpy_version": self.numpy_version,
            "scipy_version": self.scipy_version,
            "text": self.text,
        }


def judge(
    comparison: Any,
    gates: Sequence[Gate],
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> GateSummary:
    """Evaluate a session's gates together.

    Declared ``regression_detection`` gates form one family whose p-values are
    adjusted with the family's correction (Holm by default: Holm, *Scand J Stat*
    6:65–70, 1979; ``bh``: Benjamini & Hochberg 1995); undeclared (slice) gates
    are reported with raw p-values and are warn-only. Non-inferiority gates need
    no correction (intersection–union), and the summary reports the chance that
    they all pass if nothing changed.

    Raises
    ------
    ConfigError
        For configuration mistakes, including family members that disagree on
        the correction.

    """
    verdicts = [
        evaluate_gate(comparison, g, seed=seed, custom_tests=custom_tests)
        for g in gates
    ]
    return summarise(verdicts, seed=seed)


def summarise(verdicts: Sequence[Verdict], *, seed: int = 0) -> GateSummary:
    """Apply the family correction to evaluated verdicts and summarise them.

    What :func:`judge` does after evaluating; callers that evaluate some gates on a
    different view of the data (e.g. without waived datapoints) use it directly.
    """
    verdicts = list(verdicts)
    family = [
        i
        for i, v in enumerate(verdicts)
        if v.gate.mode is Mode.REGRESSION_DETECTION
        and v.gate.declared
        and v.reason is None
        and math.isfinite(v.p_value)
    ]
    methods = sorted({verdicts[i].gate.correction for i in family})
    if len(methods) > 1:
        raise ConfigError(
            "regression_detection gates of one session form one family and must "
            f"share one correction; got {', '.join(methods)}"
        )
    method = methods[0] if methods else None
    if family:
        adjusted = adjust([verdicts[i].p_value for i in family], method or "none")
        for j, i in enumerate(family):
            verdicts[i] = _conclude(
                replace(verdicts[i], p_adjusted=float(adjusted[j]), correction=method)
            )
    probs = [
        v.pass_probability
        for v in verdicts
        if v.gate.declared
        and v.gate.mode is not Mode.REGRESSION_DETECTION
        and math.isfinite(v.pass_probability)
    ]
    expected = float(np.prod(probs)) if probs else math.nan
    return GateSummary(
        verdicts=tuple(verdicts),
        all_passed=all(v.passed for v in verdicts),
        expected_all_pass_probability=expected,
        family_correction=method,
        family_size=len(family),
        seed=seed,
        **_versions(),
    )


def evaluate_gates(
    comparison: Any,
    gates: Sequence[Gate],
    *,
    seed: int = 0,
    custom_tests: Mapping[str, CustomTest] | None = None,
) -> list[Verdict]:
    """Evaluate ``gates`` with the family correction; see :func:`judge`."""
    return list(judge(comparison, gates, seed=seed, custom_tests=custom_tests).verdicts)
