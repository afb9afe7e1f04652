"""Gates on replicated data (docs/statistics.md §6): every default path is
cluster-aware, and replicate information never makes a gate more lenient."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_runcompare.comparison import PairedMetric
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge import Gate, evaluate_gate
from pytest_runcompare.judge.verdict import TestKind


class Metrics:
    """A comparison of named paired metrics (enough for ``evaluate_gate``)."""

    def __init__(self, clusters: np.ndarray | None, **metrics: tuple) -> None:
        self.pms = {
            name: PairedMetric.from_arrays(
                name,
                np.asarray(base, dtype=float),
                np.asarray(cand, dtype=float),
                boolean=boolean,
                clusters=None if clusters is None else clusters.astype(np.intp),
            )
            for name, (base, cand, boolean) in metrics.items()
        }
        self.n_common = next(iter(self.pms.values())).n

    def paired(self, metric, *, slice=None, step=None):
        return self.pms[metric]


def _codes(groups: int, each: int = 4) -> np.ndarray:
    return np.repeat(np.arange(groups), each)


def _binary(groups: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = _codes(groups)
    p = rng.uniform(0.5, 1.0, groups)[codes]
    u = rng.random(codes.size)
    drop = np.where(rng.random(groups) < 0.1, 0.2, 0.0)[codes]
    return (u < p).astype(float), (u < p - drop).astype(float)


def test_binary_with_replicates_is_cluster_aware_and_not_more_lenient() -> None:
    base, cand = _binary(80)
    gate = Gate("m", margin=0.05, higher_is_better=True)
    with_groups = evaluate_gate(Metrics(_codes(80), m=(base, cand, True)), gate)
    without = evaluate_gate(Metrics(None, m=(base, cand, True)), gate)
    assert with_groups.kind is TestKind.TANGO
    assert "cluster means" in with_groups.test
    assert with_groups.n_units == 80
    assert without.n_units == 320
    assert with_groups.ci_low <= without.ci_low
    assert with_groups.p_value >= without.p_value


def test_binary_with_replicates_and_no_discordance_needs_enough_clusters() -> None:
    same = np.ones(40 * 4)
    gate = Gate("m", margin=0.05, higher_is_better=True)
    few = evaluate_gate(Metrics(_codes(40), m=(same, same, True)), gate)
    # 40 items seen 4 times agree everywhere: not proof of a 0.05 margin
    assert few.outcome != "pass"
    assert few.ci_low < -0.05
    assert not any("zero variance" in w for w in few.warnings)
    many = evaluate_gate(
        Metrics(_codes(200), m=(np.ones(800), np.ones(800), True)), gate
    )
    assert many.outcome == "pass"


def test_explicit_tango_and_mcnemar_with_replicates() -> None:
    base, cand = _binary(60)
    data = Metrics(_codes(60), m=(base, cand, True))
    tango = evaluate_gate(data, Gate("m", margin=0.05, test="tango"))
    assert "cluster means" in tango.test
    assert not any("independent" in w for w in tango.warnings)
    mcnemar = evaluate_gate(
        data, Gate("m", mode="regression_detection", test="mcnemar")
    )
    assert "cluster means" in mcnemar.test
    with pytest.raises(ConfigError, match=r"mcnemar-exact.*replicates"):
        evaluate_gate(
            data, Gate("m", mode="regression_detection", test="mcnemar-exact")
        )


def _continuous(groups: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = _codes(groups)
    item = rng.normal(size=groups)[codes]
    base = item + rng.normal(0, 0.3, codes.size)
    effect = np.where(rng.random(groups) < 0.1, -1.0, 0.1)[codes]
    return base, base + effect + rng.normal(0, 0.3, codes.size)


@pytest.mark.parametrize("groups", [60, 600])
def test_mean_with_replicates_uses_cluster_means(groups: int) -> None:
    base, cand = _continuous(groups)
    gate = Gate("m", margin=0.2, higher_is_better=True)
    res = evaluate_gate(Metrics(_codes(groups), m=(base, cand, False)), gate)
    rows = evaluate_gate(Metrics(None, m=(base, cand, False)), gate)
    assert res.kind is TestKind.AUTO_MEAN
    assert "on cluster means" in res.test
    second = "bootstrap-t" if groups < 500 else "skewness-corrected t"
    assert second in res.test
    assert res.n_units == groups
    assert res.ci_low <= rows.ci_low
    assert res.p_value >= rows.p_value


def test_explicit_t_with_replicates_keeps_the_larger_se() -> None:
    rng = np.random.default_rng(3)
    codes = _codes(50)
    # negative within-cluster correlation: the cluster-robust SE is the smaller
    d = np.tile([1.0, -1.0, 1.0, -1.0], 50) + rng.normal(0, 0.1, 200)
    base = rng.normal(size=200)
    data = Metrics(codes, m=(base, base + d, False))
    res = evaluate_gate(data, Gate("m", margin=0.1, test="t"))
    rows = evaluate_gate(
        Metrics(None, m=(base, base + d, False)), Gate("m", margin=0.1, test="t")
    )
    assert res.ci_low <= rows.ci_low
    assert res.n_units == 50


def test_p95_with_replicates_is_cluster_robust() -> None:
    base, cand = _continuous(150)
    gate = Gate("m", aggregate="p95", margin=0.3, higher_is_better=True)
    res = evaluate_gate(Metrics(_codes(150), m=(base, cand, False)), gate)
    rows = evaluate_gate(Metrics(None, m=(base, cand, False)), gate)
    assert "cluster-robust Bahadur" in res.test
    assert "cluster-robust" in res.test_reason
    assert res.n_units == 150
    assert res.ci_low <= rows.ci_low


@pytest.mark.parametrize(
    ("groups", "word"), [(60, "cluster and row bootstrap"), (200, "delta")]
)
def test_ratio_with_replicates_is_cluster_aware(groups: int, word: str) -> None:
    rng = np.random.default_rng(4)
    codes = _codes(groups)
    den = rng.integers(1, 10, codes.size).astype(float)
    item = rng.random(groups)[codes]
    yb = rng.binomial(den.astype(int), 0.2 + 0.5 * item).astype(float)
    yc = rng.binomial(den.astype(int), 0.2 + 0.5 * item).astype(float)
    data = Metrics(codes, m=(yb, yc, False), tokens=(den, den, False))
    gate = Gate("m", aggregate="rate", denominator="tokens", margin=0.05)
    res = evaluate_gate(data, gate)
    rows = evaluate_gate(
        Metrics(None, m=(yb, yc, False), tokens=(den, den, False)), gate
    )
    assert word in res.test
    assert res.n_units == groups
    assert res.ci_low <= rows.ci_low
    assert not any("independent" in w for w in res.warnings)


def test_left_skewed_small_n_warns_about_rare_tail_regressions() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(size=30)
    d = np.full(30, 0.2) + rng.normal(0, 0.05, 30)
    d[:3] = -2.0
    res = evaluate_gate(Metrics(None, m=(base, base + d, False)), Gate("m", margin=0.1))
    assert any("rare tail regressions" in w for w in res.warnings)
    calm = evaluate_gate(
        Metrics(None, m=(base, base + rng.normal(0, 0.1, 30), False)),
        Gate("m", margin=0.1),
    )
    assert not any("rare tail regressions" in w for w in calm.warnings)
