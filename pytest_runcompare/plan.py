"""Power before the candidate: what the baseline alone says each gate can detect.

From the baseline run only, per gate (metric, slice, step) and per metric and slice:

* **mde**: the smallest margin an unchanged candidate passes with the target power
  (``(z_{1−α} + z_{power})·se``; equivalence uses ``z_{(1+power)/2}``), i.e. the
  margin this n can support (docs/statistics.md §9);
* **pass_chance**: the chance that an unchanged candidate passes the gate with
  its configured margin, mode and inconclusive policy;
* **n_required**: the datapoints (or groups) the configured margin needs for the
  target power, at the baseline's own spread.

``se`` is the standard error of the change between the baseline and an
*unchanged* candidate, estimated from the baseline alone. One run cannot show how
closely a candidate's per-datapoint values follow the baseline's, so the plan
assumes a correlation ρ between them (``correlation``, default 0):

* continuous metrics: ``Var(cand − w·base) = σ²·(1 + w² − 2wρ)`` with the
  baseline's own variance σ² (``w = 1`` for an absolute margin, ``1 ∓ r`` for a
  relative one, as the gate's test uses it, §2);
* binary metrics: the same with σ² = p(1 − p), so an unchanged candidate flips
  ``2p(1 − p)(1 − ρ)`` of the datapoints (the discordance of the paired 2×2
  table). ρ = 0 is an independent re-draw of every datapoint at the baseline's
  rate: the worst case for any candidate at least that close to the baseline;
* replicates (datapoint ``group``): the correlation is not assumed but measured.
  An unchanged candidate is another set of replicates of the same items, so the
  change has the baseline's pooled within-group variance σ_w² (the item effects
  cancel in the pairs): ``Var = (1 + w²)·σ_w²/n + (1 − w)²·B`` with ``B`` the
  part of the baseline mean's cluster-robust variance the items add; n counts
  groups;
* quantiles: the Bahadur variance ``q(1 − q)/f(Q)²`` of the baseline's quantile,
  with the same ρ; ratios of sums: the delta method's influence values.

Every figure is a normal approximation (like §9), for one gate on its own: the
regression-detection family's correction only makes false failures rarer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from pytest_runcompare import text
from pytest_runcompare.aggregates import aggregate, quantile_of
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.prepare import FailClosed, WithoutIds, prepare
from pytest_runcompare.judge.spec import Gate, InconclusivePolicy, Mode
from pytest_runcompare.stats.power import (
    minimum_detectable_effect,
    pass_probability,
    required_n,
)
from pytest_runcompare.stats.quantiles import MIN_TAIL, hall_sheather_bandwidth

if TYPE_CHECKING:
    from pytest_runcompare.config import GatesConfig, GateSpec
    from pytest_runcompare.runs import Run

__all__ = [
    "DEFAULT_POWER",
    "GatePlan",
    "MetricPlan",
    "Plan",
    "make_plan",
    "plan_gate",
    "unchanged_se",
]

DEFAULT_POWER = 0.8
NO_SPREAD = "every baseline value is the same: no spread to plan from"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Spread:
    """The baseline's spread, from which the SE of an unchanged candidate's change follows.

    ``within`` is the per-unit variance (σ², or σ_w² with replicates); ``between``
    the clustered part B of the mean's variance (replicates only); ``rho`` the
    assumed correlation (1 with replicates: the within part is all that moves).
    """

    n: int
    n_units: int
    within: float
    between: float = 0.0
    rho: float = 0.0
    clustered: bool = False
    scale: float = 1.0

    def se(self, w: float = 1.0) -> float:
        """SE of ``cand − w·base`` (times ``scale`` for sums) for an unchanged candidate."""
        if self.n < 2:
            return math.nan
        if self.clustered:
            var = (1 + w * w) * self.within / self.n + (1 - w) ** 2 * self.between
        else:
            var = (1 + w * w - 2 * w * self.rho) * self.within / self.n
        return self.scale * math.sqrt(max(var, 0.0))


@dataclass(frozen=True, slots=True)
class MetricPlan:
    """One metric (in one slice): the margin its n can support."""

    metric: str
    slice: str | None
    aggregate: str
    higher_is_better: bool
    binary: bool
    n: int
    n_units: int
    clustered: bool
    baseline: float
    se: float
    mde: float
    alpha: float
    power: float
    note: str | None = None

    @property
    def key(self) -> str:
        """``metric`` or ``metric[slice]`` (with the aggregate when not the mean)."""
        name = (
            self.metric
            if self.aggregate == "mean"
            else f"{self.aggregate}({self.metric})"
        )
        return name if self.slice is None else f"{name}[{self.slice}]"

    @property
    def relative_mde(self) -> float:
        """The MDE as a share of the baseline aggregate (NaN when that is not positive)."""
        return self.mde / self.baseline if self.baseline > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "key": self.key,
            "metric": self.metric,
            "slice": self.slice,
            "aggregate": self.aggregate,
            "higher_is_better": self.higher_is_better,
            "binary": self.binary,
            "n": self.n,
            "n_units": self.n_units,
            "clustered": self.clustered,
            "baseline": self.baseline,
            "se": self.se,
            "mde": self.mde,
            "relative_mde": self.relative_mde,
            "alpha": self.alpha,
            "power": self.power,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class GatePlan:
    """One gate: its margin against what the baseline's n can support."""

    key: str
    gate: Gate
    line: int | None
    n: int
    n_units: int
    clustered: bool
    baseline: float
    margin: float
    margin_text: str
    se: float
    mde: float
    n_required: int | None
    pass_chance: float
    alpha: float
    power: float
    waived: bool = False
    reason: str | None = None
    note: str | None = None
    #: binary gates with ``max_new_failures``: the chance the count holds, and the
    #: expected number of right-to-wrong flips of an unchanged candidate
    count_chance: float = math.nan
    new_failures: float = math.nan
    #: the correlation of an unchanged candidate with the baseline the figures assume
    correlation: float = 0.0

    @property
    def units(self) -> str:
        """What ``n`` counts: datapoints, or groups of replicates."""
        return "groups" if self.clustered else "datapoints"

    def underpowered(self, threshold: float) -> bool:
        """An unchanged candidate passes less often than ``threshold`` (waived: never)."""
        return (
            not self.waived
            and self.reason is None
            and math.isfinite(self.pass_chance)
            and self.pass_chance < threshold
        )

    def sentence(self) -> str:
        """``gate 'x': margin 0.0158 < MDE 0.0215 at n = 200 ...`` for a warning or error."""
        alpha, power = f"{self.alpha:g}", text.share(self.power)
        mde = text.number(self.mde, digits=3)
        out = (
            f"gate {self.key!r}: an unchanged candidate passes only "
            f"{chance(self.pass_chance)} of the time"
        )
        why = []
        if math.isfinite(self.mde) and self.margin < self.mde:
            clause = (
                f"the margin {self.margin_text} is below the minimum detectable "
                f"effect {mde} at n = {self.n_units} {self.units} (alpha = {alpha}, "
                f"{power} power)"
            )
            if self.n_required is not None and self.n_required > self.n_units:
                clause += (
                    f"; the margin needs about {self.n_required:,} {self.units}, "
                    f"or a margin of at least {mde}"
                )
            why.append(clause)
        if math.isfinite(self.count_chance) and self.count_chance < 1:
            why.append(
                f"max_new_failures: {self.gate.max_new_failures} holds only "
                f"{chance(self.count_chance)} of the time (about "
                f"{self.new_failures:.0f} of {self.n} datapoints flip from right to "
                "wrong)"
            )
        if not why and self.note:
            why.append(self.note)
        return out + (": " + "; and ".join(why) if why else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "key": self.key,
            "metric": self.gate.metric,
            "slice": self.gate.slice,
            "step": self.gate.step,
            "mode": str(self.gate.mode),
            "line": self.line,
            "n": self.n,
            "n_units": self.n_units,
            "units": self.units,
            "baseline": self.baseline,
            "margin": self.margin,
            "margin_text": self.margin_text,
            "se": self.se,
            "mde": self.mde,
            "n_required": self.n_required,
            "pass_chance": self.pass_chance,
            "alpha": self.alpha,
            "power": self.power,
            "waived": self.waived,
            "reason": self.reason,
            "note": self.note,
            "count_chance": self.count_chance,
            "expected_new_failures": self.new_failures,
            "correlation": self.correlation,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What the baseline alone says: per metric and slice, and per gate."""

    baseline: str
    n_datapoints: int
    power: float
    correlation: float
    metrics: tuple[MetricPlan, ...] = ()
    gates: tuple[GatePlan, ...] = ()
    warn_below: float = DEFAULT_POWER
    #: the correlation was measured per gate between the baseline and the candidate
    #: (``correlation`` is then NaN)
    measured: bool = False

    @property
    def assumption(self) -> str:
        """The assumption behind every figure, in one sentence."""
        if self.measured:
            return (
                "an unchanged candidate as correlated with the baseline as this "
                "candidate is (measured per gate on the paired datapoints; set "
                "defaults.power_correlation to assume a value instead); replicates "
                "(groups) measure the spread of each item instead"
            )
        return (
            "an unchanged candidate whose per-datapoint values correlate "
            f"{self.correlation:g} with the baseline's "
            + (
                "(0: every datapoint re-drawn independently, the worst case for a "
                "candidate at least that close)"
                if self.correlation == 0
                else "(binary: it flips 2p(1-p)(1-rho) of the datapoints)"
            )
            + "; replicates (groups) measure it instead"
        )

    @property
    def short_assumption(self) -> str:
        """The assumption in a few words, for warnings."""
        if self.measured:
            return (
                "from the baseline, with the correlation this candidate has with it; "
                "`runcompare plan` shows every figure"
            )
        return (
            "from the baseline alone, assuming a candidate correlated "
            f"{self.correlation:g} with it, set by defaults.power_correlation; "
            "`runcompare plan` shows every figure"
        )

    @property
    def all_pass(self) -> float | None:
        """Chance that every gate passes if nothing changed (gates taken independently)."""
        chances = [
            g.pass_chance
            for g in self.gates
            if g.reason is None and not g.waived and math.isfinite(g.pass_chance)
        ]
        return math.prod(chances) if chances else None

    def underpowered(self, threshold: float | None = None) -> tuple[GatePlan, ...]:
        """The gates an unchanged candidate passes less often than ``threshold``."""
        limit = self.warn_below if threshold is None else threshold
        return tuple(g for g in self.gates if g.underpowered(limit))

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report's ``plan`` section."""
        return {
            "baseline": self.baseline,
            "n_datapoints": self.n_datapoints,
            "power": self.power,
            "correlation": None if self.measured else self.correlation,
            "correlation_measured": self.measured,
            "assumption": self.assumption,
            "warn_below": self.warn_below,
            "all_pass": self.all_pass,
            "underpowered": [g.key for g in self.underpowered()],
            "gates": [g.to_dict() for g in self.gates],
            "metrics": [m.to_dict() for m in self.metrics],
        }


# --------------------------------------------------------------------------- spread


def chance(value: float) -> str:
    """A chance as a rounded percentage (``73%``, ``<1%``, ``>99%``; ``n/a``)."""
    if not math.isfinite(value):
        return text.MISSING
    if 0 < value < 0.005:
        return "<1%"
    if 0.995 <= value < 1:
        return ">99%"
    return f"{value:.0%}"


def _z(p: float) -> float:
    return float(special.ndtri(p))


def _within(values: FloatArray, codes: npt.NDArray[np.intp], g: int) -> float:
    """Pooled within-group variance ``Σ (x − x̄_g)² / (n − G)``."""
    counts = np.bincount(codes, minlength=g).astype(np.float64)
    means = np.bincount(codes, weights=values, minlength=g) / np.maximum(counts, 1)
    resid = values - means[codes]
    dof = values.size - g
    return float(np.dot(resid, resid)) / dof if dof > 0 else math.nan


def unchanged_spread(
    values: FloatArray,
    *,
    rho: float = 0.0,
    clusters: npt.NDArray[np.intp] | None = None,
    aggregate_name: str = "mean",
    denominator: FloatArray | None = None,
) -> Spread:
    """The baseline's spread for :meth:`Spread.se` (see the module docstring).

    ``values`` are one run's values of a gate's metric (0/1 for binary metrics);
    ``denominator`` the denominator metric of a ratio of sums.
    """
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    if n < 2:
        return Spread(n, n, math.nan, rho=rho)
    q = quantile_of(aggregate_name)
    if denominator is not None:
        den = np.asarray(denominator, dtype=np.float64)
        ratio = float(x.sum() / den.sum()) if den.sum() else math.nan
        x = (x - ratio * den) / den.mean()
    if q is not None:
        h = hall_sheather_bandwidth(n, q)
        lo, hi = max(q - h, 0.5 / n), min(q + h, 1 - 0.5 / n)
        q_lo, q_hi = np.quantile(x, [lo, hi])
        sparsity = float(q_hi - q_lo) / (hi - lo)
        return Spread(n, n, q * (1 - q) * sparsity * sparsity, rho=rho)
    scale = float(n) if aggregate_name == "sum" else 1.0
    if clusters is not None:
        _, codes = np.unique(np.asarray(clusters), return_inverse=True)
        codes = codes.astype(np.intp).reshape(-1)
        g = int(codes.max()) + 1
        if 2 <= g < n:
            within = _within(x, codes, g)
            resid = x - x.mean()
            sums = np.bincount(codes, weights=resid, minlength=g)
            cr1 = g / (g - 1) * float(np.dot(sums, sums)) / n**2
            between = max(0.0, cr1 - within / n)
            return Spread(n, g, within, between, 1.0, clustered=True, scale=scale)
    return Spread(n, n, float(x.var(ddof=1)), rho=rho, scale=scale)


def unchanged_se(values: FloatArray, *, rho: float = 0.0, w: float = 1.0) -> float:
    """SE of the mean change ``cand − w·base`` of an unchanged candidate (no groups)."""
    return unchanged_spread(values, rho=rho).se(w)


# --------------------------------------------------------------------------- chances


def _chances(mode: Mode, margin: float, se: float, alpha: float) -> tuple[float, float]:
    """(P(PASS), P(FAIL)) for an unchanged candidate, normal approximation."""
    z = _z(1 - alpha)
    if not math.isfinite(se):
        return math.nan, math.nan
    if se == 0:
        return (1.0, 0.0) if margin > 0 else (0.0, 0.0)
    if mode is Mode.EQUIVALENCE:
        one = pass_probability(se, margin, alpha=alpha)
        return max(0.0, 2 * one - 1), 2 * float(special.ndtr(-margin / se - z))
    # non-inferiority: PASS when the lower bound clears -m, FAIL when the upper is
    # below -m; regression detection: FAIL when the upper bound is below -m
    return pass_probability(se, margin, alpha=alpha), float(
        special.ndtr(-margin / se - z)
    )


def _supported(mode: Mode, se: float, alpha: float, power: float) -> float:
    """The smallest margin an unchanged candidate passes with ``power``."""
    if mode is Mode.EQUIVALENCE:
        if not math.isfinite(se):
            return math.nan
        return (_z(1 - alpha) + _z((1 + power) / 2)) * se
    return minimum_detectable_effect(se, alpha=alpha, power=power)


def _count_chance(values: FloatArray, spread: Spread, k: int) -> tuple[float, float]:
    """P(at most ``k`` new failures) for an unchanged binary candidate, and their mean.

    Each datapoint flips from right to wrong with probability ``p(1 − p)(1 − ρ)``
    (with replicates: the pooled within-group variance), independently.
    """
    p = float(values.mean()) if values.size else math.nan
    flip = spread.within if spread.clustered else p * (1 - p) * (1 - spread.rho)
    if not math.isfinite(flip):
        return math.nan, math.nan
    flip = min(max(flip, 0.0), 1.0)
    return float(stats.binom.cdf(k, values.size, flip)), flip * values.size


# --------------------------------------------------------------------------- gates


def _base_view(baseline: Run, config: GatesConfig) -> Any:
    """The baseline paired with itself: every gate's data, as its test would read it."""
    from pytest_runcompare.pipeline import compare

    return compare(baseline, baseline, config)


def _relative_weight(gate: Gate, hib: bool) -> float:
    if gate.margin is None or not gate.margin.relative:
        return 1.0
    r = gate.margin.value
    return 1 - r if hib else 1 + r


def plan_gate(
    view: Any,
    spec: GateSpec,
    *,
    power: float = DEFAULT_POWER,
    correlation: float | Callable[[Gate], float] = 0.0,
    waived: bool = False,
) -> GatePlan:
    """The plan of one gate on ``view`` (the baseline paired with itself).

    ``correlation`` is the assumed one, or a function that measures it for a gate.
    """
    gate = spec.gate
    alpha = gate.alpha

    def empty(reason: str | None, n: int = 0) -> GatePlan:
        return GatePlan(
            key=gate.key,
            gate=gate,
            line=spec.line,
            n=n,
            n_units=n,
            clustered=False,
            baseline=math.nan,
            margin=math.nan,
            margin_text="" if gate.margin is None else str(gate.margin),
            se=math.nan,
            mde=math.nan,
            n_required=None,
            pass_chance=math.nan,
            alpha=alpha,
            power=power,
            waived=waived,
            reason=reason,
        )

    try:
        prep = prepare(view, gate)
    except FailClosed as exc:
        return empty(str(exc))
    x = prep.base
    n = int(x.size)
    den = prep.den_base
    if den is not None:
        base_agg = float(x.sum() / den.sum()) if den.sum() else math.nan
    else:
        base_agg = aggregate(x, gate.aggregate) or math.nan
    clusters = None if prep.unpaired or gate.pairing.value == "none" else prep.clusters
    rho = 0.0 if prep.unpaired else _rho(correlation, gate)
    spread = unchanged_spread(
        x,
        rho=rho,
        clusters=clusters,
        aggregate_name=gate.aggregate,
        denominator=den,
    )
    notes: list[str] = []
    if gate.test not in ("auto", "t", "tango", "mcnemar", "quantile", "delta"):
        notes.append(f"normal approximation of the gate's {gate.test} test")
    count = gate.max_new_failures
    count_chance, new_failures = math.nan, math.nan
    if count is not None and prep.boolean:
        count_chance, new_failures = _count_chance(x, spread, count)
    if gate.margin is None and gate.mode is not Mode.REGRESSION_DETECTION:
        if count is None or not prep.boolean:
            return empty("no margin", n)
        return replace(
            empty(None, n),
            n_units=spread.n_units,
            clustered=spread.clustered,
            baseline=base_agg,
            margin_text=f"at most {count} new failures",
            pass_chance=count_chance,
            count_chance=count_chance,
            new_failures=new_failures,
            note="count of new failures (binomial)",
        )
    hib = prep.hib
    w = _relative_weight(gate, hib)
    margin = gate.margin.value if gate.margin is not None else 0.0
    if gate.margin is not None and gate.margin.relative:
        if not base_agg > 0:
            return empty(
                f"a relative margin needs a positive baseline {gate.aggregate}", n
            )
        margin = gate.margin.value * base_agg
        margin_text = f"{gate.margin} of the baseline ({text.number(margin, digits=3)})"
    else:
        margin_text = f"{margin:g}"
    se = spread.se(w)
    if se == 0:
        notes.append(NO_SPREAD)
    p_pass, p_fail = _chances(gate.mode, margin, se, alpha)
    q = quantile_of(gate.aggregate)
    if q is not None and den is None and n * min(q, 1 - q) < MIN_TAIL:
        p_pass = 0.0  # too little tail data: the gate is INCONCLUSIVE
        notes.append(f"too little tail data for the {gate.aggregate} (inconclusive)")
    if gate.inconclusive_policy is InconclusivePolicy.PASS:
        p_gate = 1 - p_fail if math.isfinite(p_fail) else math.nan
    else:
        p_gate = p_pass
    if math.isfinite(count_chance):
        p_gate *= count_chance
        notes.append(
            f"includes the chance of at most {count} new failures "
            f"({chance(count_chance)})"
        )
    two_sided = gate.mode is Mode.EQUIVALENCE
    n_req = (
        required_n(
            se, spread.n_units, margin, alpha=alpha, power=power, two_sided=two_sided
        )
        if margin > 0 and gate.mode is not Mode.REGRESSION_DETECTION
        else None
    )
    return GatePlan(
        key=gate.key,
        gate=gate,
        line=spec.line,
        n=n,
        n_units=spread.n_units,
        clustered=spread.clustered,
        baseline=base_agg,
        margin=margin,
        margin_text=margin_text,
        se=se,
        mde=_supported(gate.mode, se, alpha, power),
        n_required=n_req,
        pass_chance=p_gate,
        alpha=alpha,
        power=power,
        waived=waived,
        note="; ".join(notes) or None,
        count_chance=count_chance,
        new_failures=new_failures,
        correlation=rho,
    )


#: A measured correlation is capped here: a candidate identical to the baseline
#: says nothing about how much a re-run moves.
MAX_MEASURED_CORRELATION = 0.99


def _rho(correlation: float | Callable[[Gate], float], gate: Gate) -> float:
    return correlation(gate) if callable(correlation) else correlation


def measured_correlation(pair_view: Any) -> Callable[[Gate], float]:
    """Each gate's correlation of its paired values in ``pair_view``.

    ``pair_view`` pairs the baseline with the candidate; the value is clipped to
    [0, 0.99], and 0 when it cannot be measured.
    """

    def measure(gate: Gate) -> float:
        try:
            prep = prepare(pair_view, gate)
        except (FailClosed, ConfigError):
            return 0.0
        x, y = prep.base, prep.cand
        if prep.unpaired or x.size < 3 or x.size != y.size:
            return 0.0
        if float(x.std()) == 0 or float(y.std()) == 0:
            return 0.0
        r = float(np.corrcoef(x, y)[0, 1])
        return min(max(r, 0.0), MAX_MEASURED_CORRELATION) if math.isfinite(r) else 0.0

    return measure


def _metric_rows(
    view: Any,
    baseline: Run,
    config: GatesConfig,
    *,
    power: float,
    correlation: float | Callable[[Gate], float],
    alpha: float,
) -> list[MetricPlan]:
    out: list[MetricPlan] = []
    tags: list[str | None] = [None, *sorted(baseline.datapoints.slices)]
    denominators = {
        s.gate.metric: s.gate.denominator
        for s in config.gates
        if s.gate.denominator is not None
    }
    for metric in baseline.metrics:
        name = config.aggregates.get(metric, "mean")
        for tag in tags:
            try:
                gate = Gate(
                    metric=metric,
                    slice=tag,
                    aggregate=name,
                    higher_is_better=config.directions.get(metric),
                    alpha=alpha,
                    denominator=denominators.get(metric) if name == "rate" else None,
                )
                prep = prepare(view, gate)
            except (FailClosed, ConfigError):
                continue  # the metric is not in this slice, or cannot be planned
            x, den = prep.base, prep.den_base
            spread = unchanged_spread(
                x,
                rho=_rho(correlation, gate),
                clusters=prep.clusters,
                aggregate_name=name,
                denominator=den,
            )
            se = spread.se()
            q = quantile_of(name)
            note = None
            if q is not None and x.size * min(q, 1 - q) < MIN_TAIL:
                note = f"too little tail data for the {name}"
            elif se == 0:
                note = NO_SPREAD
            out.append(
                MetricPlan(
                    metric=metric,
                    slice=tag,
                    aggregate=name,
                    higher_is_better=prep.hib,
                    binary=prep.boolean,
                    n=int(x.size),
                    n_units=spread.n_units,
                    clustered=spread.clustered,
                    baseline=(
                        float(x.sum() / den.sum())
                        if den is not None and den.sum()
                        else aggregate(x, name) or math.nan
                    ),
                    se=se,
                    mde=minimum_detectable_effect(se, alpha=alpha, power=power),
                    alpha=alpha,
                    power=power,
                    note=note,
                )
            )
    return out


def make_plan(
    baseline: Run,
    config: GatesConfig,
    *,
    power: float | None = None,
    correlation: float | None = None,
    alpha: float | None = None,
    metrics: bool = True,
    specs: Sequence[GateSpec] | None = None,
    candidate: Run | None = None,
) -> Plan:
    """The plan of ``baseline`` for the gates of ``config`` (and, with ``metrics``, every metric and slice).

    ``power`` (default: the gates file's ``power_warn_below``, else 0.8) is the
    target power of the MDE and the required n; ``correlation`` (default: the gates
    file's ``power_correlation``, else 0) the assumed correlation ρ of an unchanged
    candidate with the baseline, measured per gate on ``candidate`` when one is
    given and neither is set; ``alpha`` overrides every gate's level (the gates
    of ``config`` otherwise keep their own; the metric rows use 0.05).
    ``specs`` are the gates to plan (default: ``config``'s, ``slices: all``
    expanded on the baseline).
    """
    from pytest_runcompare.pipeline import expand_gates

    target = config.power_warn_below if power is None else float(power)
    fixed = config.power_correlation if correlation is None else float(correlation)
    if alpha is not None:
        config = config.with_alpha(alpha)
    view = _base_view(baseline, config)
    rho: float | Callable[[Gate], float] = 0.0 if fixed is None else fixed
    measured = fixed is None and candidate is not None
    if measured:
        from pytest_runcompare.pipeline import compare

        assert candidate is not None
        rho = measured_correlation(compare(baseline, candidate, config))
    chosen = list(expand_gates(config, view) if specs is None else specs)
    gates = []
    views: dict[tuple[str, ...], Any] = {}
    for spec in chosen:
        if alpha is not None and spec.gate.alpha != alpha:
            spec = replace(spec, gate=replace(spec.gate, alpha=alpha))
        ids = config.excluded_ids(spec.gate)
        if ids not in views:
            views[ids] = WithoutIds(view, ids) if ids else view
        waiver = config.waiver_for(spec.gate)
        gates.append(
            plan_gate(
                views[ids],
                spec,
                power=target,
                correlation=rho,
                waived=waiver is not None and not waiver.expired(),
            )
        )
    rows: list[MetricPlan] = []
    if metrics:
        level = (
            alpha if alpha is not None else float(config.defaults.get("alpha", 0.05))
        )
        rows = _metric_rows(
            view, baseline, config, power=target, correlation=rho, alpha=level
        )
    return Plan(
        baseline=baseline.name,
        n_datapoints=len(baseline),
        power=target,
        correlation=math.nan if callable(rho) else rho,
        metrics=tuple(rows),
        gates=tuple(gates),
        warn_below=config.power_warn_below,
        measured=measured,
    )


def plan_lines(plan: Plan) -> list[str]:
    """The plan as text: the gates, then every metric and slice (``runcompare plan``)."""
    power = text.share(plan.power)
    out = [
        f"baseline: {plan.baseline} ({plan.n_datapoints} datapoints)",
        f"assumes {plan.assumption}",
    ]
    if plan.gates:
        out += ["", f"gates (pass chance if nothing changed; MDE at {power} power):"]
        rows = [("gate", "margin", "MDE", "n", "n needed", "pass chance", "")]
        for g in plan.gates:
            if g.reason is not None:
                rows.append((g.key, g.margin_text, "", "", "", "", g.reason))
                continue
            flags = ["LOW"] if g.underpowered(plan.warn_below) else []
            if g.waived:
                flags.append("waived")
            if g.note:
                flags.append(g.note)
            flag = "; ".join(flags)
            rows.append(
                (
                    g.key,
                    g.margin_text,
                    text.number(g.mde, digits=3),
                    f"{g.n_units}" + (" groups" if g.clustered else ""),
                    "" if g.n_required is None else f"{g.n_required:,}",
                    chance(g.pass_chance),
                    flag,
                )
            )
        out += _table(rows)
        every = plan.all_pass
        if every is not None and len(plan.gates) > 1:
            out.append(
                f"chance that every gate passes if nothing changed: {chance(every)}"
            )
    if plan.metrics:
        alpha = f"{plan.metrics[0].alpha:g}"
        out += [
            "",
            f"smallest margin each metric's n supports (alpha = {alpha}, {power} power):",
        ]
        rows = [("metric", "aggregate", "n", "baseline", "MDE", "relative", "")]
        for m in plan.metrics:
            rows.append(
                (
                    m.key,
                    m.aggregate,
                    f"{m.n_units}" + (" groups" if m.clustered else ""),
                    text.number(m.baseline, digits=4),
                    text.number(m.mde, digits=3),
                    f"{m.relative_mde:.1%}" if math.isfinite(m.relative_mde) else "",
                    m.note or "",
                )
            )
        out += _table(rows)
    return out


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows
    ]


def describe(plan: Plan, threshold: float | None = None) -> Mapping[str, str]:
    """Gate key -> the warning sentence of every underpowered gate."""
    return {g.key: g.sentence() for g in plan.underpowered(threshold)}
