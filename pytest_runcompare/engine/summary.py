"""The sufficient statistics an engine computes for one gate's data, as frozen values.

An engine (DuckDB, Spark) pairs the two runs by id and aggregates; these values are
all the analytic tests need (docs/statistics.md §3 rows 6–9). The central sums are
taken about the mean in a second pass, so no cancellation at 10⁸ rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pytest_runcompare.stats.binary import PairedTable
from pytest_runcompare.stats.continuous import Moments

__all__ = ["Changed", "ClusterMoments", "GateStats", "PairMoments", "Scope"]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a set of statistics covers: a metric, a slice tag (or all), left-out ids.

    ``share`` turns values into ``value != 0`` (``aggregate: rate``); ``impute`` is
    the candidate's worst-score rule for baseline datapoints it lacks (§7):
    ``"none"``, ``"low"`` (the minimum seen) or ``"high"`` (the maximum), or a
    binary worst ``"zero"`` / ``"one"``.
    """

    metric: str
    slice: str | None = None
    excluded: tuple[str, ...] = ()
    share: bool = False
    impute: str = "none"


@dataclass(frozen=True, slots=True)
class PairMoments:
    """Joint moments of ``d = cand − base`` and ``base`` over the paired rows.

    Central sums about the means (``sdd = Σ(d − d̄)²``, ``tddb = Σ(d − d̄)²(b − b̄)``,
    …) so that the moments of any ``o·(cand − w·base) = o·(d + (1 − w)·base)``
    follow exactly (:meth:`combination`): a relative margin needs them (§2).
    """

    n: int
    mean_d: float
    mean_b: float
    sdd: float
    sdb: float
    sbb: float
    tddd: float
    tddb: float
    tdbb: float
    tbbb: float
    d_constant: bool
    b_constant: bool

    def combination(self, orientation: float, weight: float) -> Moments:
        """The :class:`Moments` of ``o·(cand − w·base)``."""
        o, u = orientation, 1.0 - weight
        mean = o * (self.mean_d + u * self.mean_b)
        m2 = self.sdd + 2 * u * self.sdb + u * u * self.sbb
        m3 = o * (
            self.tddd + 3 * u * self.tddb + 3 * u * u * self.tdbb + u**3 * self.tbbb
        )
        constant = self.d_constant and (u == 0 or self.b_constant)
        return Moments(n=self.n, mean=mean, m2=max(m2, 0.0), m3=m3, constant=constant)


@dataclass(frozen=True, slots=True)
class ClusterMoments:
    """Replicates: the cluster-level statistics of §6.

    ``means`` are the joint moments of the cluster means of ``d`` and ``base``
    (G units); ``cr_dd``, ``cr_db``, ``cr_bb`` the sums over clusters of products
    of the within-cluster residual sums ``e_g = Σ_{i∈g}(d_i − d̄)``,
    ``f_g = Σ_{i∈g}(b_i − b̄)`` (the CR1 standard error); ``worse`` and ``better``
    the sums over clusters of each cluster's share of discordant pairs.
    """

    g: int
    means: PairMoments
    cr_dd: float
    cr_db: float
    cr_bb: float
    worse: float
    better: float

    def cr_se(self, n: int, weight: float) -> float:
        """CR1 standard error of the mean of ``o·(cand − w·base)`` over ``n`` rows."""
        u = 1.0 - weight
        ss = self.cr_dd + 2 * u * self.cr_db + u * u * self.cr_bb
        g = self.g
        return math.sqrt(g / (g - 1) * max(ss, 0.0) / n**2) if g > 1 else math.nan


@dataclass(frozen=True, slots=True)
class Changed:
    """One of the datapoints that changed most (for the report's top-k list)."""

    id: str
    baseline: float
    candidate: float


@dataclass(frozen=True, slots=True)
class GateStats:
    """Everything the engine path judges a gate from (one :class:`Scope`).

    Counts follow :meth:`RunComparisonResult.paired` and ``judge.prepare``:
    ``n`` finite pairs (after imputation: ``n_imputed`` of them imputed),
    ``n_nan`` pairs with a NaN or infinite value, ``n_missing`` baseline carriers
    the candidate lacks, ``n_missing_baseline`` candidate carriers without a
    baseline value. ``improved`` / ``degraded`` count ``cand − base`` above / below
    zero at 12 decimals (raw orientation: higher-is-better).
    """

    scope: Scope
    in_baseline: bool
    in_candidate: bool
    n: int
    n_imputed: int
    n_nan: int
    nan_ids: tuple[str, ...]
    n_missing: int
    missing_ids: tuple[str, ...]
    n_missing_baseline: int
    missing_baseline_ids: tuple[str, ...]
    baseline_count: int
    candidate_count: int
    boolean: bool
    base_sum: float
    cand_sum: float
    moments: PairMoments | None
    table: PairedTable | None
    improved: int
    degraded: int
    worst: float
    d_min: float
    d_max: float
    n_common: int
    clusters: ClusterMoments | None = None
    changed: tuple[Changed, ...] = ()
