"""A sweep: each candidate judged as its own pair at alpha / K, ranked, best vs runner-up."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from pytest_runcompare import pipeline
from pytest_runcompare.building import build_run
from pytest_runcompare.config import Require, SweepSettings, parse_gates
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.sweep import judge_sweep


def _run(columns: dict[str, Any], name: str) -> Any:
    n = len(next(iter(columns.values())))
    records = [
        {"id": f"q{i}", "metrics": {k: float(v[i]) for k, v in columns.items()}}
        for i in range(n)
    ]
    definitions = {k: {"higher_is_better": True} for k in columns}
    return build_run(records, {"name": name, "metric_definitions": definitions})


def _runs(
    seed: int, shifts: list[tuple[float, float]], n: int = 300
) -> tuple[Any, list[tuple[str, Any]]]:
    """A baseline and one candidate per (score shift, ok rate shift)."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(size=n)
    p = stats.norm.cdf(0.8 + difficulty)

    def one(score: float, ok: float) -> dict[str, Any]:
        return {
            "score": difficulty + score + rng.normal(size=n),
            "ok": (rng.random(n) < np.clip(p + ok, 0, 1)).astype(float),
        }

    base = _run(one(0, 0), "base")
    return base, [(f"c{i}", _run(one(*s), f"c{i}")) for i, s in enumerate(shifts)]


GATES = {
    "defaults": {"mode": "non_inferiority", "alpha": 0.05},
    "metrics": {"score": {"margin": 0.3}, "ok": {"margin": 0.1}},
}
SHIFTS = [(0.0, 0.0), (0.1, 0.02), (-0.5, 0.0), (0.05, -0.15), (0.2, 0.03)]


def test_each_candidates_verdicts_equal_its_pair_judged_alone_at_alpha_over_k() -> None:
    base, cands = _runs(1, SHIFTS)
    sweep = judge_sweep(base, cands, pipeline.build_request(parse_gates(GATES)))
    assert sweep.size == 5
    assert sweep.candidate_alpha == pytest.approx(0.01)
    # the same pair judged by the two-run pipeline with alpha 0.05 / 5 written out
    alone = parse_gates({**GATES, "defaults": {**GATES["defaults"], "alpha": 0.01}})
    request = pipeline.build_request(alone)
    for label, run in cands:
        pair = pipeline.judge(pipeline.compare(base, run, alone), request)
        swept = sweep.candidate(label).judgement
        assert [(r.key, r.status) for r in swept.results] == [
            (r.key, r.status) for r in pair.results
        ]
        for a, b in zip(swept.results, pair.results, strict=True):
            assert a.verdict.p_value == b.verdict.p_value
            assert a.verdict.ci_low == b.verdict.ci_low
            assert a.verdict.ci_high == b.verdict.ci_high
    # the clear regressions fail, the others pass
    assert sweep.passing == ("c0", "c1", "c4")
    assert not sweep.passed


def test_a_single_pair_at_alpha_would_pass_what_the_sweep_fails() -> None:
    """The correction is real: a candidate with p near 0.025 passes alone, not among 4."""
    rng = np.random.default_rng(7)
    n = 600
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    # paired differences with t = 1.97 against the margin 0.2: one-sided p ~ 0.025
    d = -0.2 + 1.97 / math.sqrt(n) + z
    base, cand = _run({"score": x}, "base"), _run({"score": x + d}, "cand")
    config = parse_gates(
        {"defaults": {"mode": "non_inferiority"}, "metrics": {"score": {"margin": 0.2}}}
    )
    request = pipeline.build_request(config)
    pair = pipeline.judge(pipeline.compare(base, cand, config), request)
    assert 0.0125 < pair.results[0].verdict.p_value < 0.05
    assert pair.passed
    others = [(f"c{i}", base) for i in range(3)]
    sweep = judge_sweep(base, [("borderline", cand), *others], request)
    assert sweep.candidate_alpha == pytest.approx(0.0125)
    assert not sweep.candidate("borderline").passed
    assert sweep.passing == ("c0", "c1", "c2")


def test_require_any_excuses_failing_candidates_when_one_passes() -> None:
    base, cands = _runs(1, SHIFTS)
    config = parse_gates({**GATES, "sweep": {"require": "any"}})
    sweep = judge_sweep(base, cands, pipeline.build_request(config))
    assert sweep.require is Require.ANY
    assert sweep.passed
    excused = {c.label: c.excused for c in sweep.candidates}
    assert excused["c0"] is None
    assert excused["c2"] is not None
    assert "c0, c1, c4" in excused["c2"]
    assert sweep.candidate("c2").judgement.failed  # its own verdicts are kept


def test_require_any_fails_when_no_candidate_passes() -> None:
    base, cands = _runs(2, [(-0.4, 0.0), (0.0, -0.2)])
    sweep = judge_sweep(
        base,
        cands,
        pipeline.build_request(parse_gates(GATES)),
        SweepSettings(require=Require.ANY),
    )
    assert sweep.passing == ()
    assert not sweep.passed
    assert all(c.excused is None for c in sweep.candidates)


def test_ranking_and_best_versus_runner_up_match_an_independent_paired_t() -> None:
    base, cands = _runs(3, [(0.0, 0.0), (0.25, 0.0), (0.1, 0.0)])
    config = parse_gates(GATES)
    sweep = judge_sweep(
        base, cands, pipeline.build_request(config), SweepSettings(best="score")
    )
    assert [s.label for s in sweep.ranking] == ["c1", "c2", "c0"]
    best = sweep.best
    assert best is not None
    assert (best.best, best.runner_up) == ("c1", "c2")
    a = np.array([cands[1][1].datapoint(f"q{i}").metrics["score"] for i in range(300)])
    b = np.array([cands[2][1].datapoint(f"q{i}").metrics["score"] for i in range(300)])
    ref = stats.ttest_rel(a, b)
    assert best.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert best.difference == pytest.approx(float(np.mean(a - b)), rel=1e-12)
    ci = ref.confidence_interval(confidence_level=0.95)
    assert (best.ci_low, best.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert best.n == 300
    assert best.distinguishable == (ref.pvalue < 0.05)
    assert best.among_passing


def test_best_on_a_binary_metric_uses_the_two_sided_mid_p_mcnemar() -> None:
    base, cands = _runs(4, [(0.0, 0.06), (0.0, 0.0)])
    sweep = judge_sweep(
        base,
        cands,
        pipeline.build_request(parse_gates(GATES)),
        SweepSettings(best="ok"),
    )
    best = sweep.best
    assert best is not None
    assert best.best == "c0"
    x = np.array([cands[0][1].datapoint(f"q{i}").metrics["ok"] for i in range(300)])
    y = np.array([cands[1][1].datapoint(f"q{i}").metrics["ok"] for i in range(300)])
    up, down = int(((x == 1) & (y == 0)).sum()), int(((x == 0) & (y == 1)).sum())
    k, m = min(up, down), up + down
    exact = min(1.0, 2 * stats.binom.cdf(k, m, 0.5))
    midp = exact - stats.binom.pmf(k, m, 0.5)
    assert best.p_value == pytest.approx(midp, rel=1e-9)
    assert best.difference == pytest.approx((up - down) / 300)
    assert "McNemar" in best.test


def test_a_candidate_on_other_data_is_neither_ranked_nor_the_runner_up() -> None:
    """An incompatible run fails closed; its numbers compare other data: not ranked."""
    rng = np.random.default_rng(6)
    n = 300
    z = rng.normal(size=n)

    def run(shift: float, name: str, data: str) -> Any:
        records = [
            {"id": f"q{i}", "metrics": {"score": float(z[i] + shift + rng.normal())}}
            for i in range(n)
        ]
        meta = {"name": name, "metric_definitions": {"score": {}}}
        return build_run(records, {**meta, "data_version": data})

    config = parse_gates({"metrics": {"score": {"margin": 0.3}}})
    sweep = judge_sweep(
        run(0, "b", "v1"),
        [
            ("best", run(0.3, "x", "v1")),
            ("next", run(-0.6, "y", "v1")),
            ("other-data", run(1.0, "o", "v2")),  # would rank first
        ],
        pipeline.build_request(config),
    )
    assert [c.passed for c in sweep.candidates] == [True, False, False]
    assert [s.label for s in sweep.ranking] == ["best", "next", "other-data"]
    assert math.isnan(sweep.ranking[-1].value)
    # its change against the baseline is still shown, as in its own pair report
    assert sweep.ranking[-1].change > 0.5
    assert sweep.best is not None
    assert (sweep.best.best, sweep.best.runner_up) == ("best", "next")


def test_a_p95_ranking_is_tested_on_the_p95_not_on_the_means() -> None:
    """Ranked by p95 latency, the best is compared with the runner-up on their p95."""
    from pytest_runcompare.stats.quantiles import quantile_difference

    rng = np.random.default_rng(8)
    n = 2000
    z = rng.exponential(size=n)
    base = z + rng.normal(0, 0.05, n)
    # tight: a higher mean, a short tail; tailed: a lower mean, a long tail
    tight = 0.8 + 0.6 * z + rng.normal(0, 0.05, n)
    tailed = np.where(z > 2.0, 1.6 * z, 0.9 * z) + rng.normal(0, 0.05, n)

    def run(values: Any, name: str) -> Any:
        records = [
            {"id": f"q{i}", "metrics": {"lat": float(v)}} for i, v in enumerate(values)
        ]
        definitions = {"lat": {"higher_is_better": False}}
        return build_run(records, {"name": name, "metric_definitions": definitions})

    assert tight.mean() > tailed.mean()
    assert np.quantile(tight, 0.95) < np.quantile(tailed, 0.95)
    config = parse_gates(
        {
            "defaults": {"mode": "regression_detection"},
            "metrics": {"lat": {"aggregate": "p95"}},
        }
    )
    sweep = judge_sweep(
        run(base, "b"),
        [("tight", run(tight, "t")), ("tailed", run(tailed, "l"))],
        pipeline.build_request(config),
    )
    best = sweep.best
    assert best is not None
    assert (best.best, best.runner_up) == ("tight", "tailed")
    ref = quantile_difference(
        tight,
        tailed,
        q=0.95,
        higher_is_better=False,
        alternative="two-sided",
        confidence_level=0.95,
    )
    assert best.difference == pytest.approx(ref.estimate, rel=1e-12)
    assert best.difference > 0  # the best is better on what it was ranked by
    assert best.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert (best.ci_low, best.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))
    assert best.test == ref.test


def test_a_ratio_of_sums_ranking_is_not_tested_and_says_why() -> None:
    rng = np.random.default_rng(9)
    n = 200

    def run(shift: float, name: str) -> Any:
        records = [
            {
                "id": f"q{i}",
                "metrics": {
                    "hits": float(rng.poisson(3 + shift)),
                    "tries": float(rng.poisson(10) + 1),
                },
            }
            for i in range(n)
        ]
        definitions = {"hits": {}, "tries": {}}
        return build_run(records, {"name": name, "metric_definitions": definitions})

    config = parse_gates(
        {
            "defaults": {"mode": "regression_detection"},
            "metrics": {"hits": {"aggregate": "rate", "denominator": "tries"}},
        }
    )
    sweep = judge_sweep(
        run(0, "b"),
        [("a", run(0.5, "a")), ("c", run(0, "c"))],
        pipeline.build_request(config),
    )
    assert [s.label for s in sweep.ranking] == ["a", "c"]
    assert sweep.best is None
    assert sweep.warnings == (
        "the best is not tested against the runner-up: hits is ranked by a ratio of "
        "sums (denominator tries), which the paired test between two candidates does "
        "not compare",
    )


def test_identical_differences_on_few_pairs_do_not_make_the_best_distinguishable() -> (
    None
):
    """Zero spread is not certainty (§4): below 30 pairs the data cannot decide."""

    def run(values: list[float], name: str) -> Any:
        records = [{"id": f"q{i}", "metrics": {"s": v}} for i, v in enumerate(values)]
        return build_run(records, {"name": name, "metric_definitions": {"s": {}}})

    base = [0.125, 0.5, 0.25, 0.75]  # binary fractions: the differences are exact
    config = parse_gates(
        {"defaults": {"mode": "regression_detection"}, "metrics": {"s": {}}}
    )
    sweep = judge_sweep(
        run(base, "b"),
        [
            ("up", run([v + 0.5 for v in base], "u")),
            ("less", run([v + 0.25 for v in base], "l")),
        ],
        pipeline.build_request(config),
    )
    best = sweep.best
    assert best is not None
    assert (best.best, best.runner_up) == ("up", "less")
    assert best.difference == 0.25
    assert not best.distinguishable
    assert math.isnan(best.p_value)
    assert math.isnan(best.ci_low)
    assert math.isnan(best.ci_high)
    assert best.text.startswith("up ranks first")
    assert (
        "but is not distinguishable from less: +0.250; all 4 paired differences are "
        "identical: with fewer than 30 pairs no "
        "spread in the sample is no evidence of no spread in the population (up to "
        "52.7% of its datapoints may differ), so the data cannot decide, paired t, "
        "n = 4"
    ) in best.text


def test_a_lower_is_better_metric_ranks_the_smallest_first() -> None:
    rng = np.random.default_rng(5)
    n = 200
    z = rng.normal(size=n)

    def run(shift: float, name: str) -> Any:
        records = [
            {"id": f"q{i}", "metrics": {"loss": float(z[i] + shift + rng.normal())}}
            for i in range(n)
        ]
        return build_run(
            records,
            {"name": name, "metric_definitions": {"loss": {"higher_is_better": False}}},
        )

    config = parse_gates({"metrics": {"loss": {"margin": 0.3}}})
    sweep = judge_sweep(
        run(0, "b"),
        [("worse", run(0.2, "w")), ("better", run(-0.2, "x"))],
        pipeline.build_request(config),
    )
    assert [s.label for s in sweep.ranking] == ["better", "worse"]
    assert sweep.best is not None
    assert sweep.best.difference > 0
    assert sweep.ranking[0].change > 0


def test_correction_none_judges_each_candidate_at_alpha() -> None:
    base, cands = _runs(1, SHIFTS[:2])
    config = parse_gates({**GATES, "sweep": {"correction": "none"}})
    sweep = judge_sweep(base, cands, pipeline.build_request(config))
    assert sweep.candidate_alpha == sweep.alpha == 0.05
    gate = sweep.candidate("c0").judgement.results[0].verdict.gate
    assert gate.alpha == 0.05


def test_labels_given_twice_are_refused() -> None:
    base, cands = _runs(1, SHIFTS[:2])
    with pytest.raises(ConfigError, match="c0 given twice"):
        judge_sweep(
            base, [cands[0], cands[0]], pipeline.build_request(parse_gates(GATES))
        )


def test_ranking_on_an_ungated_metric_is_refused() -> None:
    base, cands = _runs(1, SHIFTS[:2])
    with pytest.raises(
        ConfigError, match=r"sweep\.best: 'latency' is not a gated metric"
    ):
        judge_sweep(
            base,
            cands,
            pipeline.build_request(parse_gates(GATES)),
            SweepSettings(best="latency"),
        )


def test_the_json_form_is_plain_and_complete() -> None:
    import json

    base, cands = _runs(1, SHIFTS[:3])
    sweep = judge_sweep(base, cands, pipeline.build_request(parse_gates(GATES)))
    data = json.loads(json.dumps(sweep.to_dict(), allow_nan=False))
    assert data["passing"] == list(sweep.passing)
    assert [c["label"] for c in data["candidates"]] == ["c0", "c1", "c2"]
    assert data["candidate_alpha"] == pytest.approx(0.05 / 3)
    assert data["best"]["best"] == sweep.ranking[0].label
    assert not math.isnan(data["ranking"][0]["value"])


def test_the_gates_file_sweep_keys_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"sweep\.require.*invalid value 'some'"):
        parse_gates({"sweep": {"require": "some"}})
    with pytest.raises(ConfigError, match=r"sweep\.order.*unknown key"):
        parse_gates({"sweep": {"order": 1}})
    with pytest.raises(ConfigError, match=r"candidates.*beside 'candidate:'"):
        parse_gates({"candidate": "a", "candidates": ["b"]})
    with pytest.raises(ConfigError, match=r"candidates.*is empty"):
        parse_gates({"candidates": []})
    # caught when the file is read, with its line, not when the sweep is judged
    with pytest.raises(
        ConfigError,
        match=r"^gates: sweep\.best: 'nosuch' is not a gated metric "
        r"\(accepted: a gated metric: score, ok\)$",
    ):
        parse_gates({**GATES, "sweep": {"best": "nosuch"}})
    assert parse_gates({"sweep": {"best": "any"}}).sweep.best == "any"  # no gates yet
    config = parse_gates(
        {"candidates": {"small": "runs/a", "large": {"path": "runs/b"}}}
    )
    assert [(c.label, c.source.location) for c in config.candidates] == [
        ("small", "runs/a"),
        ("large", "runs/b"),
    ]
