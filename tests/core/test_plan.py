"""The power plan from the baseline alone, checked against closed forms and against
the gates themselves run on seeded simulations of unchanged candidates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.config import GateSpec, parse_gates
from pytest_runcompare.judge import Gate, evaluate_gate
from pytest_runcompare.plan import make_plan, plan_lines

Z95, Z80 = stats.norm.ppf(0.95), stats.norm.ppf(0.8)


def _run(values, *, name="base", groups=None, slices=None):
    records = []
    for i, v in enumerate(values):
        rec = {"id": f"q{i}", "metrics": {"m": v.item() if hasattr(v, "item") else v}}
        if groups is not None:
            rec["group"] = f"g{groups[i]}"
        if slices is not None:
            rec["slices"] = [slices[i]]
        records.append(rec)
    return build_run(records, {"name": name})


def _config(**metric):
    return parse_gates({"metrics": {"m": metric}})


def _gate_plan(values, config, **kwargs):
    return make_plan(_run(values), config, metrics=False, **kwargs).gates[0]


# ---------------------------------------------------------------- closed forms


def test_binary_matches_the_closed_form_at_zero_correlation():
    rng = np.random.default_rng(1)
    x = (rng.random(200) < 0.79).astype(float)
    g = _gate_plan(x, _config(margin=0.05))
    p = x.mean()
    se = math.sqrt(2 * p * (1 - p) * 200 / 199 / 200)  # ddof = 1, as the t-test
    assert g.se == pytest.approx(se, rel=1e-9)
    assert g.mde == pytest.approx((Z95 + Z80) * se, rel=1e-9)
    assert g.pass_chance == pytest.approx(stats.norm.cdf(0.05 / se - Z95), rel=1e-9)
    assert g.n_required == math.ceil((Z95 + Z80) ** 2 * se**2 * 200 / 0.05**2)
    assert g.n_units == 200
    assert not g.clustered


def test_continuous_with_a_correlation_and_a_relative_margin():
    rng = np.random.default_rng(2)
    x = rng.normal(0.8, 0.1, 300)
    g = _gate_plan(x, _config(margin="2%"), correlation=0.5, power=0.9)
    w = 0.98  # the gate tests cand - (1 - r) * base
    var = x.var(ddof=1) * (1 + w * w - 2 * w * 0.5)
    se = math.sqrt(var / 300)
    assert g.se == pytest.approx(se, rel=1e-9)
    assert g.margin == pytest.approx(0.02 * x.mean())
    assert g.mde == pytest.approx((Z95 + stats.norm.ppf(0.9)) * se, rel=1e-9)
    assert g.power == 0.9


def test_lower_is_better_relative_weight_and_equivalence():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 50.0, 400)
    config = parse_gates(
        {
            "metrics": {
                "m": {"direction": "lower", "margin": "5%", "mode": "equivalence"}
            }
        }
    )
    g = _gate_plan(x, config)
    w = 1.05
    se = math.sqrt(x.var(ddof=1) * (1 + w * w) / 400)
    assert g.se == pytest.approx(se, rel=1e-9)
    m = 0.05 * x.mean()
    assert g.pass_chance == pytest.approx(
        max(0.0, 2 * stats.norm.cdf(m / se - Z95) - 1), rel=1e-9
    )
    assert g.mde == pytest.approx((Z95 + stats.norm.ppf(0.9)) * se, rel=1e-9)


def test_inconclusive_pass_counts_only_a_fail_verdict_against_the_gate():
    x = np.tile([0.0, 1.0], 50)
    g = _gate_plan(x, _config(margin=0.01, inconclusive="pass"))
    assert g.pass_chance == pytest.approx(1 - stats.norm.cdf(-0.01 / g.se - Z95))
    rd = _gate_plan(x, _config(mode="regression_detection"))
    assert rd.pass_chance == pytest.approx(0.95)  # a false alarm at alpha
    assert rd.n_required is None


def test_max_new_failures_is_a_binomial_count():
    rng = np.random.default_rng(4)
    x = (rng.random(500) < 0.9).astype(float)
    g = _gate_plan(x, _config(max_new_failures=30))
    p = x.mean()
    flip = p * (1 - p)
    assert g.pass_chance == pytest.approx(stats.binom.cdf(30, 500, flip))
    assert g.new_failures == pytest.approx(500 * flip)
    both = _gate_plan(x, _config(margin=0.05, max_new_failures=30))
    alone = _gate_plan(x, _config(margin=0.05))
    assert both.pass_chance == pytest.approx(alone.pass_chance * g.pass_chance)
    assert "max_new_failures: 30 holds only" in both.sentence()


def test_metric_rows_per_slice_and_sums_scale():
    rng = np.random.default_rng(5)
    x = rng.normal(1.0, 0.2, 100)
    tags = ["a" if i % 2 else "b" for i in range(100)]
    plan = make_plan(_run(x, slices=tags), parse_gates({}))
    keys = [m.key for m in plan.metrics]
    assert keys == ["m", "m[a]", "m[b]"]
    sub = x[1::2]
    se = math.sqrt(2 * sub.var(ddof=1) / sub.size)
    assert plan.metrics[1].mde == pytest.approx((Z95 + Z80) * se, rel=1e-9)
    summed = _gate_plan(x, _config(aggregate="sum", margin=5.0))
    mean_se = math.sqrt(2 * x.var(ddof=1) / 100)
    assert summed.se == pytest.approx(100 * mean_se, rel=1e-9)
    assert summed.pass_chance == pytest.approx(
        stats.norm.cdf(5 / (100 * mean_se) - Z95)
    )


def test_unknown_metric_and_waived_gates_are_not_underpowered():
    x = np.tile([0.0, 1.0], 20)
    config = parse_gates(
        {
            "metrics": {"m": {"margin": 0.01}, "nope": {"margin": 0.01}},
            "waivers": [{"metric": "m", "reason": "known"}],
        }
    )
    plan = make_plan(_run(x), config)
    m, nope = plan.gates
    assert m.waived
    assert m.pass_chance < 0.8
    assert not m.underpowered(0.8)
    assert nope.reason is not None
    assert "nope" in nope.reason
    assert plan.underpowered() == ()


def test_plan_lines_show_the_assumption_and_each_gate():
    x = np.tile([0.0, 1.0, 1.0, 1.0], 50)
    lines = plan_lines(make_plan(_run(x), _config(margin=0.02)))
    text = "\n".join(lines)
    assert "correlate 0 with the baseline's" in text
    assert any(line.startswith("m ") and "LOW" in line for line in lines)


# ---------------------------------------------------------------- simulations


def _simulated_pass_rate(draw, gate, reps, seed, correlation=0.0):
    """Share of seeded (baseline, unchanged candidate) pairs the real gate passes,
    with the plan's mean pass chance over the same baselines."""
    rng = np.random.default_rng(seed)
    passed, predicted = 0, []
    for _ in range(reps):
        base, cand, groups = draw(rng)
        b, c = _run(base, groups=groups), _run(cand, name="cand", groups=groups)
        verdict = evaluate_gate(compare_runs(b, c), gate)
        passed += bool(verdict.passed)
        plan = make_plan(
            b, parse_gates({}), specs=[GateSpec(gate)], correlation=correlation
        )
        predicted.append(plan.gates[0].pass_chance)
    return passed / reps, float(np.mean(predicted))


@pytest.mark.parametrize(
    ("name", "margin", "rho"),
    [("binary", 0.05, 0.0), ("continuous", 0.014, 0.0), ("correlated", 0.01, 0.6)],
)
def test_pass_chance_matches_a_simulation_of_unchanged_candidates(name, margin, rho):
    n, reps = 600, 300

    def draw(rng):
        if name == "binary":
            return (rng.random(n) < 0.8) * 1.0, (rng.random(n) < 0.8) * 1.0, None
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
        return 0.7 + 0.1 * z[:, 0], 0.7 + 0.1 * z[:, 1], None

    gate = Gate(metric="m", margin=margin)
    rate, expected = _simulated_pass_rate(draw, gate, reps, seed=7, correlation=rho)
    assert 0.2 < expected < 0.9  # a figure that can tell
    assert rate == pytest.approx(expected, abs=4 * math.sqrt(0.25 / reps))


def test_replicates_measure_the_correlation():
    """Groups of replicates: an unchanged candidate is a new set of replicates of the
    same items; the plan's figures come from the within-group spread alone."""
    items, k = 150, 4
    groups = np.repeat(np.arange(items), k)

    def draw(rng):
        item = rng.normal(0.0, 0.3, items)[groups]
        base = 0.6 + item + rng.normal(0.0, 0.1, items * k)
        cand = 0.6 + item + rng.normal(0.0, 0.1, items * k)
        return base, cand, groups

    gate = Gate(metric="m", margin=0.009)
    rate, expected = _simulated_pass_rate(draw, gate, 300, seed=8)
    assert 0.2 < expected < 0.9
    assert rate == pytest.approx(expected, abs=4 * math.sqrt(0.25 / 300))
    base, _, _ = draw(np.random.default_rng(9))
    g = make_plan(_run(base, groups=groups), parse_gates({}), specs=[GateSpec(gate)])
    plan = g.gates[0]
    assert plan.clustered
    assert plan.n_units == items
    # ignoring the item effect (rho = 0) would overstate the SE about threefold
    naive = math.sqrt(2 * base.var(ddof=1) / base.size)
    assert plan.se < naive / 2


def test_ratio_of_sums_uses_the_delta_method_influence_values():
    rng = np.random.default_rng(6)
    y, x = rng.random(300), rng.integers(1, 50, 300).astype(float)
    records = [
        {"id": f"q{i}", "metrics": {"cost": y[i].item(), "tok": x[i].item()}}
        for i in range(300)
    ]
    config = parse_gates(
        {
            "metrics": {
                "cost": {"aggregate": "rate", "denominator": "tok", "margin": 0.002}
            }
        }
    )
    plan = make_plan(build_run(records, {"name": "b"}), config)
    ratio = y.sum() / x.sum()
    u = (y - ratio * x) / x.mean()
    se = math.sqrt(2 * u.var(ddof=1) / 300)
    gate = plan.gates[0]
    assert gate.baseline == pytest.approx(ratio)
    assert gate.se == pytest.approx(se, rel=1e-9)
    row = next(m for m in plan.metrics if m.metric == "cost" and m.slice is None)
    assert row.baseline == pytest.approx(ratio)
    assert row.se == pytest.approx(se, rel=1e-9)
