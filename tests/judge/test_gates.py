"""Gates and verdicts on real comparisons: modes, margins, policies, fail-closed."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge import (
    BUILTIN_TESTS,
    Gate,
    Margin,
    Mode,
    Outcome,
    evaluate_gate,
    evaluate_gates,
    gate_rng,
    judge_gates,
    parse_margin,
)
from pytest_runcompare.stats.continuous import paired_t
from pytest_runcompare.stats.result import TestResult


def _runs(base: dict, cand: dict, *, directions=None, drop=(), extra=None, meta=None):
    n = len(next(iter(base.values())))

    def records(cols, skip):
        return [
            {"id": f"q{i}", "metrics": {k: v[i].item() for k, v in cols.items()}}
            for i in range(n)
            if i not in skip
        ]

    rb = records(base, ())
    rc = records(cand, set(drop))
    if extra:
        rc.extend(extra)
    return compare_runs(
        build_run(rb, {"name": "base"}),
        build_run(rc, {"name": "cand", **(meta or {})}),
        directions=directions,
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    n = 1500
    acc_b = rng.random(n) < 0.8
    flip = rng.random(n) < 0.04
    acc_same = np.where(flip & (rng.random(n) < 0.5), ~acc_b, acc_b)
    score_b = rng.normal(0.5, 0.1, n)
    lat_b = rng.lognormal(5, 0.4, n)
    return {
        "n": n,
        "base": {"accuracy": acc_b, "score": score_b, "latency": lat_b},
        "same": {
            "accuracy": acc_same,
            "score": score_b + rng.normal(0, 0.02, n),
            "latency": lat_b * rng.lognormal(0, 0.05, n),
        },
        "worse": {
            "accuracy": np.where(rng.random(n) < 0.08, False, acc_b),
            "score": score_b - 0.05 + rng.normal(0, 0.02, n),
            "latency": lat_b * 1.3,
        },
    }


@pytest.fixture(scope="module")
def same(data):
    return _runs(data["base"], data["same"], directions={"latency": "lower"})


@pytest.fixture(scope="module")
def worse(data):
    return _runs(data["base"], data["worse"], directions={"latency": "lower"})


# ---------------------------------------------------------------- margins
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (0.01, Margin(0.01)),
        ("0.01", Margin(0.01)),
        ("2%", Margin(0.02, True)),
        (" 2.5 % ", Margin(0.025, True)),
        (0, Margin(0.0)),
        (Margin(0.1), Margin(0.1)),
    ],
)
def test_parse_margin(text, expected):
    assert parse_margin(text) == expected


@pytest.mark.parametrize("bad", ["two percent", "-1", "1e", True, None, [0.1], "2%%"])
def test_parse_margin_rejects_with_syntax(bad):
    with pytest.raises(
        ConfigError, match=r"invalid margin .*percentage of the baseline"
    ):
        parse_margin(bad)


def test_margin_validation():
    with pytest.raises(ConfigError, match="non-negative"):
        Margin(-0.1)
    with pytest.raises(ConfigError, match="below 100%"):
        Margin(1.0, relative=True)
    assert str(Margin(0.02, True)) == "2%"


# ---------------------------------------------------------------- gate validation
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"mode": "superiority"},
            "invalid mode 'superiority'; accepted: non_inferiority",
        ),
        ({"aggregate": "max"}, "unknown aggregate 'max'"),
        ({"alpha": 0.7}, r"alpha must be in \(0, 0.5\)"),
        (
            {"missing": "ignore"},
            "invalid missing policy 'ignore'; accepted: fail, worst, drop",
        ),
        ({"pairing": "maybe"}, "invalid pairing"),
        ({"correction": "sidak"}, "invalid correction 'sidak'; accepted: holm, bh"),
        ({"inconclusive": "warn"}, "invalid inconclusive policy"),
        ({"min_coverage": 1.5}, r"min_coverage must be in \[0, 1\]"),
        ({"max_new_failures": -1}, "max_new_failures must be a non-negative integer"),
        ({"denominator": "x"}, "`denominator` needs `aggregate: rate`"),
        ({"margin": "two percent"}, "invalid margin"),
    ],
)
def test_gate_validation(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Gate("accuracy", **kwargs)


def test_gate_normalises_and_keys():
    g = Gate("acc", mode="regression_detection", test="Bootstrap_T", margin="1%")
    assert g.mode is Mode.REGRESSION_DETECTION
    assert g.test == "bootstrap-t"
    assert g.margin == Margin(0.01, True)
    assert Gate("acc").key == "acc"
    assert Gate("acc", slice="lang:de").key == "acc[lang:de]"
    assert Gate("acc", step="retrieve").key == "acc[step=retrieve]"
    assert Gate("lat", aggregate="p95").key == "p95(lat)"
    assert str(Outcome.INCONCLUSIVE) == "inconclusive"
    assert str(Mode.EQUIVALENCE) == "equivalence"
    assert "bootstrap-bca" in BUILTIN_TESTS


# ---------------------------------------------------------------- modes and tests
def test_ni_pass_binary_uses_tango_and_explains(same):
    v = evaluate_gate(same, Gate("accuracy", margin=0.03))
    assert v.outcome is Outcome.PASS
    assert v.passed
    assert v.test == "Tango score test"
    assert "Tango" in v.test_reason
    assert v.discordant is not None
    assert sum(v.discordant) > 0
    assert v.text.startswith("accuracy: 0.")
    assert "non-inferiority margin 0.03: PASS, the candidate is at most" in v.text
    assert v.ci_low == v.bound < v.estimate < v.ci_high
    assert v.confidence_level == pytest.approx(0.9)
    assert v.n_paired == 1500
    assert v.seed == 0
    assert v.numpy_version == np.__version__
    assert v.improved_count + v.degraded_count + v.unchanged_count == 1500
    json.dumps(v.to_dict())


def test_ni_fail_and_rd_fail_on_regression(worse):
    v = evaluate_gate(worse, Gate("accuracy", margin=0.01))
    assert v.outcome is Outcome.FAIL
    assert not v.passed
    assert "worse by more than the margin" in v.text
    v = evaluate_gate(worse, Gate("accuracy", mode="regression_detection"))
    assert v.outcome is Outcome.FAIL
    assert v.test == "McNemar mid-p"
    assert "regression detected" in v.text


def test_ni_without_margin_is_config_error_showing_mde(same):
    with pytest.raises(
        ConfigError, match=r"needs a margin > 0.*minimum detectable effect is 0\.\d+"
    ):
        evaluate_gate(same, Gate("score"))


def test_inconclusive_policies(same):
    tight = Gate("score", margin=0.0001)
    v = evaluate_gate(same, tight)
    assert v.outcome is Outcome.INCONCLUSIVE
    assert not v.passed
    assert "paired datapoints (now 1,500) would likely settle it" in v.text
    assert v.n_required > v.n_paired
    assert evaluate_gate(same, Gate("score", margin=0.0001, inconclusive="pass")).passed
    rd = evaluate_gate(same, Gate("score", mode="regression_detection"))
    assert rd.outcome in (Outcome.INCONCLUSIVE, Outcome.PASS)
    assert rd.passed
    rd_strict = Gate("score", mode="regression_detection", inconclusive="fail")
    v = evaluate_gate(same, rd_strict)
    assert v.passed is (v.outcome is Outcome.PASS)


def test_equivalence(same, worse):
    v = evaluate_gate(same, Gate("score", mode="equivalence", margin=0.01))
    assert v.outcome is Outcome.PASS
    v = evaluate_gate(worse, Gate("score", mode="equivalence", margin=0.01))
    assert v.outcome is Outcome.FAIL


def test_relative_margin_is_the_exact_linear_combination(data, worse):
    v = evaluate_gate(worse, Gate("score", margin="5%", test="t"))
    b, c = data["base"]["score"], data["worse"]["score"]
    ref = paired_t(c - 0.95 * b, null=0.0, alternative="greater")
    assert v.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert v.margin == pytest.approx(0.05 * b.mean())
    assert "5% of the baseline" in v.margin_text


def test_lower_is_better_relative_quantile(same, worse, data):
    g = Gate("latency", aggregate="p95", margin="10%")
    v = evaluate_gate(same, g)
    assert v.test.startswith("difference of quantiles")
    assert v.outcome is Outcome.PASS
    v = evaluate_gate(worse, g)
    assert v.outcome is Outcome.FAIL  # 30% slower at p95
    assert v.estimate < 0  # oriented: slower is worse
    base95 = np.quantile(data["base"]["latency"], 0.95)
    assert v.baseline_aggregate == pytest.approx(base95)


def test_quantile_tail_rule_inconclusive(same):
    v = evaluate_gate(same, Gate("latency", aggregate="p99", margin="50%"))
    assert v.outcome is Outcome.INCONCLUSIVE
    assert "not enough tail data" in v.text


def test_small_n_continuous_uses_bootstrap_t(data):
    cut = {k: v[:200] for k, v in data["base"].items()}
    cand = {k: v[:200] for k, v in data["same"].items()}
    v = evaluate_gate(_runs(cut, cand), Gate("score", margin=0.01))
    assert v.test == "paired t + bootstrap-t (conservative)"
    assert v.mc_se > 0


@pytest.mark.parametrize("bad", ["max", "p100", "p0", "P95"])
def test_gate_aggregates_are_parsed_by_the_aggregates_module(bad):
    from pytest_runcompare.aggregates import check_aggregate

    with pytest.raises(ConfigError) as core:
        check_aggregate(bad)
    with pytest.raises(ConfigError) as gate:
        Gate("score", aggregate=bad, margin=0.1)
    assert str(gate.value) == f"gate '{bad}(score)': {core.value}"


@pytest.mark.parametrize("agg", ["mean", "sum", "median", "p90", "p99.5"])
def test_gate_aggregate_matches_compare_runs(same, agg):
    from pytest_runcompare.aggregates import aggregate

    v = evaluate_gate(same, Gate("score", aggregate=agg, margin=0.5, test="auto"))
    pm = same.paired("score")
    assert v.baseline_aggregate == pytest.approx(aggregate(pm.baseline, agg))
    assert v.candidate_aggregate == pytest.approx(aggregate(pm.candidate, agg))


def test_large_n_continuous_adds_skewness_corrected_t(same):
    v = evaluate_gate(same, Gate("score", margin=0.01))
    assert v.test == "paired t + skewness-corrected t (conservative)"
    assert "skewness-corrected" in v.test_reason
    assert v.mc_se == 0  # analytic: no resampling at large n
    t = evaluate_gate(same, Gate("score", margin=0.01, test="t"))
    assert t.test == "paired t"
    assert v.ci_low <= t.ci_low
    assert v.ci_high >= t.ci_high
    assert v.p_value >= t.p_value


@pytest.mark.parametrize(
    "test",
    [
        "wilcoxon",
        "sign",
        "permutation",
        "bootstrap-percentile",
        "bootstrap-bca",
        "bootstrap-t",
        "t",
    ],
)
def test_opt_in_tests_label_what_they_test(same, test):
    v = evaluate_gate(same, Gate("score", margin=0.01, test=test))
    assert v.outcome is Outcome.PASS
    assert v.tests_what
    assert v.test_reason == "requested by configuration"


@pytest.mark.parametrize(
    ("gate", "match"),
    [
        (Gate("score", margin=0.01, test="tango"), "needs a binary"),
        (
            Gate("accuracy", margin=0.01, test="mcnemar"),
            "McNemar tests a zero difference",
        ),
        (
            Gate("latency", aggregate="p95", margin=1, test="wilcoxon"),
            "not the p95 aggregate",
        ),
        (Gate("score", margin=0.01, test="quantile"), "needs a median or pNN"),
        (
            Gate("score", margin=0.01, test="magic"),
            "unknown test 'magic'; accepted: auto",
        ),
    ],
)
def test_incompatible_tests_are_config_errors(same, gate, match):
    with pytest.raises(ConfigError, match=match):
        evaluate_gate(same, gate)


def test_custom_test_hook(same):
    seen = {}

    def always(paired, gate, *, rng):
        seen["n"] = paired.n
        seen["rng"] = isinstance(rng, np.random.Generator)
        return TestResult(
            test="mine",
            tests_what="anything",
            estimate=0.0,
            pvalue=0.01,
            null=-0.1,
            alternative="greater",
            ci_low=-0.05,
            ci_high=0.05,
            confidence_level=0.9,
        )

    v = evaluate_gate(
        same, Gate("score", margin=0.1, test="mine"), custom_tests={"mine": always}
    )
    assert v.outcome is Outcome.PASS
    assert v.test == "mine"
    assert seen == {"n": 1500, "rng": True}


# ---------------------------------------------------------------- fail closed
def test_unknown_and_missing_metric_fail_closed(data):
    cmp = _runs(
        data["base"], {k: v for k, v in data["same"].items() if k != "score"} | {}
    )
    v = evaluate_gate(cmp, Gate("nope", margin=0.1))
    assert v.outcome is Outcome.FAIL
    assert v.reason
    assert "unknown metric 'nope'" in v.text


def test_metric_missing_from_candidate_fails_closed(data):
    base = data["base"]
    cand = {"accuracy": data["same"]["accuracy"], "latency": data["same"]["latency"]}
    cmp = _runs(base, cand)
    v = evaluate_gate(cmp, Gate("score", margin=0.1))
    assert not v.passed
    assert "candidate run has no metric 'score'" in v.reason


def test_coverage_and_missing_policies(data):
    drop = range(0, 1500, 50)  # 30 datapoints = 2% missing
    cmp = _runs(data["base"], data["same"], drop=drop)
    v = evaluate_gate(cmp, Gate("score", margin=0.01))
    assert not v.passed
    assert "coverage 98.0% is below min_coverage 99%" in v.reason
    v = evaluate_gate(cmp, Gate("score", margin=0.01, min_coverage=0.95))
    assert v.passed
    assert any("dropped" in w for w in v.warnings)
    # binary: missing counts as a failure (worst score)
    v = evaluate_gate(cmp, Gate("accuracy", margin=0.05, min_coverage=0.95))
    assert v.n_paired == 1500
    assert any("counted as the worst score (0)" in w for w in v.warnings)
    # min_coverage holds under every policy; within it the policy decides
    for missing in ("worst", "drop"):
        v = evaluate_gate(cmp, Gate("score", margin=0.01, missing=missing))
        assert not v.passed
        assert "coverage 98.0% is below min_coverage 99%" in v.reason
    v = evaluate_gate(
        cmp, Gate("score", margin=0.01, missing="worst", min_coverage=0.95)
    )
    assert v.n_paired == 1500
    v = evaluate_gate(
        cmp, Gate("score", margin=0.01, missing="drop", min_coverage=0.95)
    )
    assert v.n_paired == 1470


def test_nan_fails_closed(data):
    cand = {k: v.copy() for k, v in data["same"].items()}
    cand["score"][3] = np.nan
    meta = {"metric_definitions": {"score": {"allow_nan": True}}}
    v = evaluate_gate(_runs(data["base"], cand, meta=meta), Gate("score", margin=0.1))
    assert not v.passed
    assert "NaN" in v.reason


def test_unpaired_comparison_warns_loudly(data):
    rng = np.random.default_rng(1)
    n = 300
    b = [
        {"id": f"a{i}", "metrics": {"score": float(rng.normal(0.5, 0.1))}}
        for i in range(n)
    ]
    c = [
        {"id": f"b{i}", "metrics": {"score": float(rng.normal(0.5, 0.1))}}
        for i in range(n)
    ]
    cmp = compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c"}))
    v = evaluate_gate(cmp, Gate("score", margin=0.05))  # no fallback: fail closed
    assert not v.passed
    assert "share no datapoint ids" in v.reason
    v = evaluate_gate(cmp, Gate("score", margin=0.05, pairing="none"))
    assert v.test == "Welch t (unpaired)"
    assert any(w.startswith("UNPAIRED comparison") for w in v.warnings)


def _disjoint_runs(n=400, seed=2):
    """Two runs on different ids, with slices, a step and a 0/1 metric."""
    rng = np.random.default_rng(seed)

    def records(prefix, shift):
        out = []
        for i in range(n):
            lang = "de" if i % 4 == 0 else "en"
            score = float(rng.normal(0.5 + (shift if lang == "de" else 0), 0.1))
            out.append(
                {
                    "id": f"{prefix}{i}",
                    "metrics": {"score": score, "ok": bool(rng.random() < 0.8)}
                    if i % 50
                    else {"ok": True},  # some datapoints lack the score
                    "slices": [f"lang:{lang}"],
                    "steps": [
                        {
                            "name": "rank",
                            "metrics": {"mrr": float(rng.random() + shift)},
                        }
                    ],
                }
            )
        return out

    b, c = records("a", 0.0), records("b", -0.2)
    cmp = compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c"}))
    return cmp, b, c


def _expected(records, metric, *, lang=None, step=False):
    out = []
    for r in records:
        if lang is not None and r["slices"] != [f"lang:{lang}"]:
            continue
        v = (r["steps"][0] if step else r)["metrics"].get(metric)
        if v is not None:
            out.append(float(v))
    return np.array(out)


def test_values_per_run_slice_and_step():
    cmp, b, c = _disjoint_runs()
    got = cmp.values("score", run="baseline")
    np.testing.assert_array_equal(got, _expected(b, "score"))  # only carriers
    got = cmp.values("score", run="candidate", slice="lang:de")
    np.testing.assert_array_equal(got, _expected(c, "score", lang="de"))
    got = cmp.values("mrr", run="baseline", step="rank")
    np.testing.assert_array_equal(got, _expected(b, "mrr", step=True))
    got = cmp.values("mrr", run="candidate", slice="lang:en", step="rank")
    np.testing.assert_array_equal(got, _expected(c, "mrr", lang="en", step=True))
    assert cmp.values("mrr", run="baseline").size == 0  # not a top-level metric
    with pytest.raises(ValueError, match="run must be 'baseline' or 'candidate'"):
        cmp.values("score", run="base")
    with pytest.raises(ValueError, match="unknown slice 'lang:fr'"):
        cmp.values("score", run="baseline", slice="lang:fr")
    with pytest.raises(ValueError, match="unknown step 'nope'"):
        cmp.values("score", run="baseline", step="nope")
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        cmp.values("nope", run="baseline")


@pytest.mark.parametrize(
    ("gate", "metric", "lang", "step"),
    [
        (Gate("score", slice="lang:de", margin=0.05), "score", "de", False),
        (Gate("score", slice="lang:en", margin=0.05), "score", "en", False),
        (Gate("mrr", step="rank", margin=0.05), "mrr", None, True),
        (Gate("mrr", step="rank", slice="lang:en", margin=0.05), "mrr", "en", True),
    ],
)
def test_unpaired_comparison_in_slices_and_steps(gate, metric, lang, step):
    from scipy import stats as st

    cmp, b, c = _disjoint_runs()
    v = evaluate_gate(cmp, replace(gate, pairing="none"))
    assert v.reason is None
    assert v.test == "Welch t (unpaired)"
    assert any(w.startswith("UNPAIRED comparison") for w in v.warnings)
    xb = _expected(b, metric, lang=lang, step=step)
    xc = _expected(c, metric, lang=lang, step=step)
    assert v.n_units == xb.size + xc.size
    assert v.baseline_aggregate == pytest.approx(xb.mean(), rel=1e-12)
    assert v.candidate_aggregate == pytest.approx(xc.mean(), rel=1e-12)
    ref = st.ttest_ind(xc + 0.05, xb, equal_var=False, alternative="greater")
    assert v.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # the candidate is 0.2 worse in lang:de and in the step, equal in lang:en
    assert v.passed is (lang == "en" and not step)


def test_unpaired_binary_slice_uses_the_score_test():
    cmp, b, c = _disjoint_runs()
    v = evaluate_gate(cmp, Gate("ok", slice="lang:de", margin=0.1, pairing="none"))
    assert v.reason is None
    assert "score" in v.test.lower()
    xb, xc = _expected(b, "ok", lang="de"), _expected(c, "ok", lang="de")
    assert v.baseline_aggregate == pytest.approx(xb.mean())
    assert v.candidate_aggregate == pytest.approx(xc.mean())


def test_unpaired_binary_relative_margin_tests_the_ratio_of_proportions():
    """Never a Welch t on 0/1 values: Farrington-Manning's score test of the ratio."""
    from statsmodels.stats.proportion import test_proportions_2indep

    cmp, b, c = _disjoint_runs()
    v = evaluate_gate(cmp, Gate("ok", margin="5%", pairing="none"))
    assert v.test == "Farrington-Manning score test of a ratio (unpaired)"
    xb, xc = _expected(b, "ok"), _expected(c, "ok")
    ref = test_proportions_2indep(
        int(xc.sum()),
        xc.size,
        int(xb.sum()),
        xb.size,
        value=0.95,
        compare="ratio",
        method="score",
        correction=False,
        alternative="larger",
    )
    assert v.p_value == pytest.approx(ref.pvalue, rel=1e-6)


def test_unpaired_unknown_slice_fails_closed():
    cmp, _, _ = _disjoint_runs()
    v = evaluate_gate(cmp, Gate("score", slice="lang:fr", margin=0.05))
    assert not v.passed
    assert "unknown slice 'lang:fr'" in v.reason


def test_max_new_failures(worse, same):
    v = evaluate_gate(worse, Gate("accuracy", max_new_failures=5))
    assert v.outcome is Outcome.FAIL
    assert v.new_failures > 5
    assert "new failures" in v.text
    v = evaluate_gate(same, Gate("accuracy", margin=0.05, max_new_failures=0))
    assert v.outcome is Outcome.FAIL
    assert "(at most 0 allowed)" in v.text


# ---------------------------------------------------------------- sessions
def test_holm_family_and_summary(same, worse):
    gates = [
        Gate("accuracy", mode="regression_detection"),
        Gate("score", mode="regression_detection"),
        Gate("latency", aggregate="p95", mode="regression_detection", margin="5%"),
    ]
    s = judge_gates(worse, gates)
    assert s.family_correction == "holm"
    assert s.family_size == 3
    ps = sorted(v.p_value for v in s.verdicts)
    assert min(v.p_adjusted for v in s.verdicts) == pytest.approx(min(3 * ps[0], 1))
    assert not s.all_passed
    bh = judge_gates(
        worse,
        [
            Gate(
                g.metric,
                aggregate=g.aggregate,
                mode=g.mode,
                margin=g.margin,
                correction="bh",
            )
            for g in gates
        ],
    )
    assert bh.family_correction == "bh"
    with pytest.raises(ConfigError, match="must share one correction"):
        judge_gates(
            worse,
            [gates[0], Gate("score", mode="regression_detection", correction="bh")],
        )


def test_all_pass_chance_is_bounded_by_the_least_powered_gate(same):
    s = judge_gates(same, [Gate("accuracy", margin=0.03), Gate("score", margin=0.01)])
    probs = {v.key: v.pass_probability for v in s.verdicts}
    assert s.all_pass_bound == pytest.approx(min(probs.values()))
    assert s.least_powered == min(probs, key=probs.get)
    assert (
        "chance that all non-inferiority gates pass if nothing changed: at most"
        in s.text
    )
    json.dumps(s.to_dict())


def test_undeclared_slice_gates_are_warn_only(worse):
    v = evaluate_gates(worse, [Gate("accuracy", margin=0.01, declared=False)])[0]
    assert v.outcome is Outcome.FAIL
    assert v.passed
    assert any("warn-only" in w for w in v.warnings)


def test_determinism_same_seed_same_verdict(data):
    cut = {k: v[:150] for k, v in data["base"].items()}
    cand = {k: v[:150] for k, v in data["worse"].items()}
    cmp = _runs(cut, cand)
    g = Gate("score", margin=0.01, test="bootstrap-bca")
    a = evaluate_gate(cmp, g, seed=7)
    b = evaluate_gate(cmp, g, seed=7)
    c = evaluate_gate(cmp, g, seed=8)
    assert a == b
    assert a.seed == 7
    assert a.ci_low != c.ci_low
    # the stream depends on the key and the seed only (crc32, not hash())
    assert gate_rng("score", 7).random() == gate_rng("score", 7).random()
    assert gate_rng("score", 7).random() != gate_rng("score[lang:de]", 7).random()


# ---------------------------------------------------------------- comparison views
def _clusters_by_loop(cmp, paired_ids, step=None):
    """The per-pair reference: baseline group, else candidate group, else own id."""
    base, cand = cmp.baseline.datapoints, cmp.candidate.datapoints
    codes = {}
    out = []
    for k in paired_ids:
        i, j = base.index[k], cand.index[k]
        gb = base.groups[i] if base.groups is not None else None
        gc = cand.groups[j] if cand.groups is not None else None
        group = gb or gc
        key = f"g:{group}" if group is not None else f"id:{k}"
        out.append(codes.setdefault(key, len(codes)))
    return np.array(out, dtype=np.intp)


def _grouped_runs(n=60, seed=11):
    rng = np.random.default_rng(seed)

    def records(side):
        out = []
        for i in range(n):
            r = {
                "id": f"q{i}",
                "metrics": {"score": float(rng.normal())},
                "slices": ["lang:de" if i % 3 == 0 else "lang:en"],
                "steps": [
                    {"name": "retrieve", "metrics": {"recall": float(rng.random())}}
                ],
            }
            pick = rng.random()
            if side == "base" and pick < 0.6:
                r["group"] = f"ctx{i // 4}"
            elif side == "cand" and pick < 0.3:
                r["group"] = f"ctx{i // 5}"
            elif pick < 0.35:
                r["group"] = ""  # an empty group is no group
            out.append(r)
        return out

    return compare_runs(
        build_run(records("base"), {"name": "b"}),
        build_run(records("cand"), {"name": "c"}),
    )


@pytest.mark.parametrize(
    ("metric", "slice_", "step"),
    [("score", None, None), ("score", "lang:de", None), ("recall", None, "retrieve")],
)
def test_clusters_match_the_per_pair_rule(metric, slice_, step):
    cmp = _grouped_runs()
    pm = cmp.paired(metric, slice=slice_, step=step)
    expected = _clusters_by_loop(cmp, pm.ids.tolist(), step)
    assert pm.clusters is not None
    np.testing.assert_array_equal(pm.clusters, expected)
    assert 1 < np.unique(pm.clusters).size < pm.n  # replicates and singletons


def test_clusters_none_without_groups(same):
    assert same.paired("score").clusters is None


def test_clusters_of_many_grouped_datapoints():
    from pytest_runcompare.runs import Datapoints, MetricColumn, Run, RunMeta

    n = 100_000
    ids = [f"d{i}" for i in range(n)]
    groups = [f"g{i // 5}" if i % 7 else None for i in range(n)]

    def run(name):
        col = MetricColumn(values=np.zeros(n), present=np.ones(n, dtype=np.bool_))
        table = Datapoints(
            ids=ids, outputs=[None] * n, metrics={"m": col}, groups=groups
        )
        return Run(meta=RunMeta(name=name), datapoints=table)

    cmp = compare_runs(run("b"), run("c"))
    codes = cmp.paired("m").clusters  # builds the group codes once per table
    again = cmp.paired("m").clusters  # every further view only fancy-indexes
    assert codes is not None
    np.testing.assert_array_equal(codes, again)
    n_ungrouped = len(range(0, n, 7))
    assert np.unique(codes).size == len({g for g in groups if g}) + n_ungrouped
    assert codes[0] != codes[1]  # d0 has no group: its own cluster
    assert codes[1] == codes[2]  # d1 and d2 share g0


# ---------------------------------------------------------------- fail-open repros
def _shared_ids_metric_moved(n=1000, new=60, seed=5):
    """Same ids in both runs, but the candidate carries ``acc`` only on new ids."""
    rng = np.random.default_rng(seed)
    b = [
        {"id": f"q{i}", "metrics": {"acc": bool(rng.random() < 0.8), "x": 1.0}}
        for i in range(n)
    ]
    c = [{"id": f"q{i}", "metrics": {"x": 1.0}} for i in range(n)]
    c += [{"id": f"new{i}", "metrics": {"acc": True, "x": 1.0}} for i in range(new)]
    return compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c"}))


@pytest.mark.parametrize("missing", ["fail", "worst", "drop"])
def test_metric_absent_from_shared_candidate_datapoints_fails_closed(missing):
    cmp = _shared_ids_metric_moved()
    assert cmp.n_common == 1000
    v = evaluate_gate(cmp, Gate("acc", margin=0.05, missing=missing))
    assert not v.passed
    assert v.outcome is Outcome.FAIL
    assert "missing from the candidate" in v.reason
    assert "coverage 0.0% is below min_coverage 99%" in v.reason
    assert not any("UNPAIRED" in w for w in v.warnings)
    assert v.test != "Welch t (unpaired)"


def _disjoint_score_runs(n=400, seed=1):
    rng = np.random.default_rng(seed)
    b = [
        {"id": f"a{i}", "metrics": {"score": float(rng.normal(0.5, 0.1))}}
        for i in range(n)
    ]
    c = [
        {"id": f"b{i}", "metrics": {"score": float(rng.normal(0.5, 0.1))}}
        for i in range(n)
    ]
    return compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c"}))


def test_disjoint_runs_fail_the_coverage_check():
    cmp = _disjoint_score_runs()
    assert cmp.n_common == 0
    v = evaluate_gate(cmp, Gate("score", margin=0.05))
    assert not v.passed
    assert v.outcome is Outcome.FAIL
    assert "the runs share no datapoint ids" in v.reason
    assert "coverage 0% < min_coverage 99%" in v.reason


@pytest.mark.parametrize("how", [{"pairing": "none"}, {"min_coverage": 0.0}])
def test_disjoint_runs_compare_unpaired_when_asked_or_coverage_allows(how):
    """The issue: unpaired only with pairing: none or when runs share no ids."""
    cmp = _disjoint_score_runs()
    v = evaluate_gate(cmp, Gate("score", margin=0.05, **how))
    assert v.reason is None
    assert v.passed
    assert v.test == "Welch t (unpaired)"
    assert any(w.startswith("UNPAIRED comparison (") for w in v.warnings)


def test_disjoint_slice_and_step_gates_fail_closed_without_pairing_none():
    cmp, _, _ = _disjoint_runs()
    for gate in (
        Gate("score", slice="lang:en", margin=0.05),
        Gate("mrr", step="rank", margin=0.05),
        Gate("ok", slice="lang:de", margin=0.1),
    ):
        v = evaluate_gate(cmp, gate)
        assert not v.passed, gate.key
        assert "share no datapoint ids" in v.reason


def test_unpaired_nan_values_fail_closed():
    rng = np.random.default_rng(3)
    n = 300
    b = [
        {"id": f"a{i}", "metrics": {"score": float(rng.normal(0.5, 0.1))}}
        for i in range(n)
    ]
    c = [
        {
            "id": f"b{i}",
            "metrics": {
                "score": float("nan") if i % 2 else float(rng.normal(0.5, 0.1))
            },
        }
        for i in range(n)
    ]
    meta = {"metric_definitions": {"score": {"allow_nan": True}}}
    cmp = compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c", **meta}))
    v = evaluate_gate(cmp, Gate("score", margin=0.05, pairing="none"))
    assert not v.passed
    assert v.outcome is Outcome.FAIL
    assert "150 of 300 candidate" in v.reason
    assert "NaN or infinite" in v.reason


def test_values_can_keep_non_finite_values():
    rng = np.random.default_rng(3)
    b = [{"id": f"a{i}", "metrics": {"s": float(rng.random())}} for i in range(10)]
    c = [
        {"id": f"a{i}", "metrics": {"s": math.inf if i < 3 else 0.5}} for i in range(10)
    ]
    meta = {"metric_definitions": {"s": {"allow_nan": True}}}
    cmp = compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c", **meta}))
    assert cmp.values("s", run="candidate").size == 7
    raw = cmp.values("s", run="candidate", finite_only=False)
    assert raw.size == 10
    assert int(np.count_nonzero(~np.isfinite(raw))) == 3


@pytest.mark.parametrize("missing", ["fail", "worst", "drop"])
def test_min_coverage_is_enforced_under_every_missing_policy(data, missing):
    keep = set(range(0, 1500, 10))  # 150 of 1500: 10% coverage
    drop = [i for i in range(1500) if i not in keep]
    cmp = _runs(data["base"], data["same"], drop=drop)
    for metric in ("score", "accuracy"):
        v = evaluate_gate(cmp, Gate(metric, margin=0.05, missing=missing))
        assert not v.passed, (metric, missing)
        assert "coverage 10.0% is below min_coverage 99%" in v.reason
        assert f"missing: {missing}" in v.reason
    # within tolerance the policy decides what happens to the missing rows
    v = evaluate_gate(
        cmp, Gate("score", margin=0.05, missing=missing, min_coverage=0.1)
    )
    assert v.reason is None
    assert v.n_paired == (1500 if missing == "worst" else 150)


def test_aggregate_only_metric_says_so():
    rng = np.random.default_rng(4)
    recs = [{"id": f"q{i}", "metrics": {"x": float(rng.random())}} for i in range(50)]
    cmp = compare_runs(
        build_run(recs, {"name": "b", "metrics": {"accuracy": 0.8}}),
        build_run(recs, {"name": "c", "metrics": {"accuracy": 0.7}}),
    )
    v = evaluate_gate(cmp, Gate("accuracy", margin=0.05))
    assert not v.passed
    assert v.reason == (
        "'accuracy' exists only as an aggregate in the run metadata (no "
        "per-datapoint values), so it cannot be tested; log it per datapoint "
        "to gate it"
    )


def test_rows_without_the_denominator_count_against_coverage():
    rng = np.random.default_rng(6)
    n = 500
    b = [
        {"id": f"q{i}", "metrics": {"hits": int(rng.integers(0, 5)), "tokens": 5}}
        for i in range(n)
    ]
    c = [
        {
            "id": f"q{i}",
            "metrics": {"hits": int(rng.integers(0, 5))}
            | ({} if i % 5 == 0 else {"tokens": 5}),
        }
        for i in range(n)
    ]
    cmp = compare_runs(build_run(b, {"name": "b"}), build_run(c, {"name": "c"}))
    gate = Gate("hits", aggregate="rate", denominator="tokens", margin=0.1)
    v = evaluate_gate(cmp, gate)
    assert not v.passed
    assert "coverage 80.0% is below min_coverage 99%" in v.reason
    assert "lack the denominator 'tokens'" in v.reason
    v = evaluate_gate(cmp, replace(gate, min_coverage=0.75))
    assert v.reason is None
    assert v.coverage == pytest.approx(0.8)
    assert any("lack the denominator" in w for w in v.warnings)


def test_pairing_none_on_shared_ids_says_what_it_gives_up(same):
    v = evaluate_gate(same, Gate("score", margin=0.05, pairing="none"))
    assert v.reason is None
    (w,) = [w for w in v.warnings if w.startswith("UNPAIRED")]
    assert "the runs share 1500 datapoint ids a paired test could use" in w
    assert "share no ids" not in w


def test_coverage_text_never_rounds_up_to_the_limit(data):
    cmp = _runs(data["base"], data["same"], drop=range(8))  # 1492 / 1500 = 99.467%
    v = evaluate_gate(cmp, Gate("score", margin=0.05, min_coverage=0.995))
    assert not v.passed
    assert "coverage 99.467% is below min_coverage 99.5%" in v.reason
