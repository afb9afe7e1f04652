"""Small and degenerate data: fail closed below 2 pairs, zero spread is never certainty.

docs/statistics.md §4 ("Degenerate data") states the rule these tests pin down.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pytest_runcompare.building import build_run
from pytest_runcompare.cli import main
from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge import Gate, Outcome, evaluate_gate
from pytest_runcompare.stats._validation import InsufficientData
from pytest_runcompare.stats.continuous import BOOTSTRAP_T_MIN_N, bootstrap_t
from pytest_runcompare.stats.power import (
    minimum_detectable_effect,
    pass_probability,
    required_n,
)


def _compare(base, cand, *, slices=None, groups=None, direction="higher"):
    def records(values):
        return [
            {
                "id": f"q{i}",
                "metrics": {"m": v},
                **({"slices": slices[i]} if slices else {}),
                **({"group": groups[i]} if groups else {}),
            }
            for i, v in enumerate(values)
        ]

    return compare_runs(
        build_run(records(base), {"name": "base"}),
        build_run(records(cand), {"name": "cand"}),
        directions={"m": direction},
    )


def _power_figures_absent(v) -> None:
    assert math.isnan(v.mde)
    assert v.n_required is None
    assert math.isnan(v.pass_probability)


# --- 1. fewer than 2 pairs: fail closed, never a crash ---------------------------


@pytest.mark.parametrize(
    "gate",
    [
        Gate("m", margin=0.1),
        Gate("m", mode="regression_detection"),
        Gate("m", margin=0.1, mode="equivalence"),
        Gate("m", margin=0.1, aggregate="p95"),
        Gate("m", margin=0.1, test="wilcoxon"),
    ],
)
def test_a_gate_on_one_pair_fails_closed_with_the_reason(gate):
    v = evaluate_gate(_compare([0.5], [0.4]), gate)
    assert v.outcome is Outcome.FAIL
    assert v.reason == "only 1 paired datapoint carries 'm': a test needs at least 2"
    assert not v.passed


def test_a_slice_carried_by_one_datapoint_fails_closed_naming_the_slice():
    cmp = _compare(
        [0.5, 0.6, 0.7], [0.5, 0.6, 0.7], slices=[["lang:de"], ["lang:en"], ["lang:en"]]
    )
    v = evaluate_gate(cmp, Gate("m", margin=0.1, slice="lang:de"))
    assert v.outcome is Outcome.FAIL
    assert "only 1 paired datapoint carries 'm' in slice 'lang:de'" in v.reason


def test_a_warn_only_slice_of_one_datapoint_fails_closed_without_failing():
    cmp = _compare([0.5, 0.6, 0.7], [0.5, 0.6, 0.7], slices=[["a"], ["b"], ["b"]])
    v = evaluate_gate(cmp, Gate("m", margin=0.1, slice="a", declared=False))
    assert v.outcome is Outcome.FAIL
    assert v.reason is not None
    assert v.passed


def test_all_rows_replicates_of_one_group_fail_closed_instead_of_raising():
    rng = np.random.default_rng(0)
    base = rng.random(6).tolist()
    cand = (np.array(base) - 0.01).tolist()
    v = evaluate_gate(_compare(base, cand, groups=["g"] * 6), Gate("m", margin=0.1))
    assert v.outcome is Outcome.FAIL
    assert v.reason == (
        "all 6 paired datapoints are replicates of one group: a test needs at "
        "least 2 independent groups"
    )


def test_too_little_data_is_its_own_error_and_a_programming_error_is_not():
    with pytest.raises(InsufficientData):
        bootstrap_t([1.0], rng=np.random.default_rng(0))
    # a wrong argument is still a plain ValueError, not turned into a verdict
    with pytest.raises(ValueError, match="one-dimensional") as info:
        bootstrap_t(np.ones((2, 2)), rng=np.random.default_rng(0))
    assert not isinstance(info.value, InsufficientData)


def _write_jsonl(path: Path, records: list[dict], name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"run": {"name": name}})] + [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _one_datapoint_slice_repo(root: Path, gates: str) -> None:
    # 60 datapoints, one of them tagged lang:fr; the two runs differ a little
    records = [
        {
            "id": f"q{i}",
            "output": f"a{i}",
            "metrics": {"score": 0.5 + (i % 7) / 20},
            "slices": ["lang:fr"] if i == 0 else [f"lang:{'de' if i % 2 else 'en'}"],
        }
        for i in range(60)
    ]
    cand = [
        {**r, "metrics": {"score": r["metrics"]["score"] + (0.01 if i % 3 else -0.01)}}
        for i, r in enumerate(records)
    ]
    _write_jsonl(root / "runs" / "baseline.jsonl", records, "baseline")
    _write_jsonl(root / "runs" / "candidate.jsonl", cand, "candidate")
    (root / "runcompare.yaml").write_text(gates, encoding="utf-8")


_GATES_HEAD = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
metrics:
  score:
    direction: higher
    margin: 0.1
"""


def test_pytest_session_with_a_one_datapoint_warn_only_slice_is_clean(
    pytester: pytest.Pytester,
):
    _one_datapoint_slice_repo(pytester.path, _GATES_HEAD)
    result = pytester.runpytest("-q", "-rA")
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    assert "needs at least 2 observation" not in out
    assert result.ret == 0  # the declared gate passes; the slice is warn-only


def test_pytest_session_with_a_declared_one_datapoint_slice_fails_that_gate(
    pytester: pytest.Pytester,
):
    _one_datapoint_slice_repo(pytester.path, _GATES_HEAD + "    slices: [lang:fr]\n")
    result = pytester.runpytest("-q", "-rA")
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    assert "only 1 paired datapoint carries 'score' in slice 'lang:fr'" in out
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1


def test_cli_with_a_one_datapoint_slice_exits_per_the_declared_gates(
    tmp_path: Path, capsys
):
    _one_datapoint_slice_repo(tmp_path, _GATES_HEAD)
    args = [
        "compare",
        str(tmp_path / "runs" / "baseline.jsonl"),
        str(tmp_path / "runs" / "candidate.jsonl"),
        "--config",
        str(tmp_path / "runcompare.yaml"),
        "--json",
        str(tmp_path / "r.json"),
    ]
    assert main(args) == 0  # warn-only slice: shown, never fails the run
    capsys.readouterr()
    judgement = json.loads((tmp_path / "r.json").read_text())["judgement"]
    fr = next(g for g in judgement["warn_only"] if g["key"] == "score[lang:fr]")
    assert "only 1 paired datapoint" in json.dumps(fr)
    (tmp_path / "runcompare.yaml").write_text(
        _GATES_HEAD + "    slices: [lang:fr]\n", encoding="utf-8"
    )
    assert main(args) == 1  # declared: the gate fails closed, cleanly
    assert "only 1 paired datapoint carries 'score'" in capsys.readouterr().out


# --- 2. zero spread is never certainty ----------------------------------------


def test_identical_continuous_pairs_below_30_are_inconclusive_with_the_reason():
    v = evaluate_gate(_compare([0.5, 0.7], [0.5, 0.7]), Gate("m", margin=0.01))
    assert v.outcome is Outcome.INCONCLUSIVE
    assert v.inconclusive_reason.startswith("all 2 paired differences are identical")
    assert "fewer than 30 pairs" in v.inconclusive_reason
    # no zero-width interval and no p = 0 that would read as certainty
    assert math.isnan(v.ci_low)
    assert math.isnan(v.ci_high)
    assert math.isnan(v.p_value)
    assert "CI" not in v.text
    assert not v.passed  # non-inferiority: inconclusive fails by default
    _power_figures_absent(v)


def test_identical_binary_pairs_below_30_are_judged_by_their_score_interval():
    # each datapoint moves a share by at most 1/n, so the score interval bounds
    # the datapoints that may differ: it decides, and the verdict says why
    base = [1, 0] * 10
    v = evaluate_gate(_compare(base, base), Gate("m", margin=0.3))
    assert v.outcome is Outcome.PASS
    assert -0.3 < v.ci_low < 0 < v.ci_high
    assert "all 20 paired differences are identical" in v.text
    assert "allows for datapoints outside the sample" in v.text
    narrow = evaluate_gate(_compare(base, base), Gate("m", margin=0.05))
    assert narrow.outcome is Outcome.INCONCLUSIVE
    _power_figures_absent(narrow)


def test_identical_continuous_pairs_at_30_or_more_decide_and_say_so():
    x = np.linspace(0.1, 0.9, 40).tolist()
    v = evaluate_gate(_compare(x, x), Gate("m", margin=0.01))
    assert v.outcome is Outcome.PASS
    assert v.ci_low == v.ci_high == 0.0
    assert v.zero_spread is not None
    assert "all 40 paired differences are identical" in v.text
    assert "by an amount these data cannot bound" in v.text
    assert "the candidate is not worse" in v.text
    _power_figures_absent(v)


def test_binary_without_discordant_pairs_keeps_its_score_interval_and_says_so():
    base = [1] * 50 + [0] * 50
    v = evaluate_gate(_compare(base, base), Gate("m", margin=0.01))
    # no discordant pairs at n = 100 still allows about 3% of datapoints to differ
    assert v.outcome is Outcome.INCONCLUSIVE
    assert v.ci_low < 0 < v.ci_high
    assert "all 100 paired differences are identical" in v.text
    assert v.settle is None  # no "about N datapoints would settle it" from se = 0
    _power_figures_absent(v)
    wide = evaluate_gate(_compare(base, base), Gate("m", margin=0.05))
    assert wide.outcome is Outcome.PASS


# --- 3. no power figures from a zero standard error -----------------------------


def test_power_figures_cannot_be_computed_from_a_zero_standard_error():
    assert math.isnan(minimum_detectable_effect(0.0))
    assert required_n(0.0, 100, 0.01) is None
    assert math.isnan(pass_probability(0.0, 0.01))
    assert math.isnan(minimum_detectable_effect(math.nan))


def test_no_discordant_pairs_in_regression_detection_shows_no_detectable_change():
    base = [1] * 50 + [0] * 50
    v = evaluate_gate(_compare(base, base), Gate("m", mode="regression_detection"))
    assert "smallest change this n can detect" not in v.text
    _power_figures_absent(v)


# --- 4. regression detection on identical runs ----------------------------------


def test_regression_detection_on_identical_runs_passes():
    x = np.linspace(0.0, 1.0, 100).tolist()
    v = evaluate_gate(_compare(x, x), Gate("m", mode="regression_detection"))
    assert v.outcome is Outcome.PASS
    assert "cannot be ruled out" not in v.text
    assert "no regression" in v.text
    assert "the candidate is better" not in v.text
    strict = evaluate_gate(
        _compare(x, x), Gate("m", mode="regression_detection", inconclusive="fail")
    )
    assert strict.passed


# --- 6. an absolute margin outside a binary metric's range ----------------------


@pytest.mark.parametrize("margin", [1, 2, 1.5])
def test_absolute_margin_of_one_or_more_on_a_binary_metric_is_a_config_error(margin):
    base = [1, 0] * 30
    with pytest.raises(ConfigError) as info:
        evaluate_gate(_compare(base, base), Gate("m", margin=margin))
    message = str(info.value)
    assert "outside the range of the binary metric 'm'" in message
    assert f"margin: {margin / 100:g} (absolute)" in message
    assert f"margin: '{margin:g}%' (relative)" in message


def test_margin_outside_a_binary_range_is_a_gate_error_in_the_cli(tmp_path: Path):
    records = [{"id": f"q{i}", "metrics": {"ok": i % 3 != 0}} for i in range(60)]
    _write_jsonl(tmp_path / "b.jsonl", records, "b")
    _write_jsonl(tmp_path / "c.jsonl", records, "c")
    (tmp_path / "g.yaml").write_text(
        "metrics:\n  ok:\n    direction: higher\n    margin: 2\n", encoding="utf-8"
    )
    code = main(
        [
            "compare",
            str(tmp_path / "b.jsonl"),
            str(tmp_path / "c.jsonl"),
            "--config",
            str(tmp_path / "g.yaml"),
        ]
    )
    assert code == 1


# --- 7. intervals on almost no data ---------------------------------------------


def test_three_pairs_give_the_t_interval_not_an_exploding_bootstrap_t():
    cmp = _compare([0.9, 0.8, 0.7], [0.9, 0.81, 0.2])
    v = evaluate_gate(cmp, Gate("m", margin=0.05))
    t = evaluate_gate(cmp, Gate("m", margin=0.05, test="t"))
    assert v.test.startswith("paired t")
    assert (v.ci_low, v.ci_high, v.p_value) == (t.ci_low, t.ci_high, t.p_value)
    assert -1 <= v.ci_low < v.ci_high <= 1
    assert any("no bootstrap-t bound" in w for w in v.warnings)


def test_three_judge_style_pairs_also_get_the_finite_sample_bound():
    """Scores at 0 and 1: the betting bound is kept beside the t, within [−1, 1]."""
    cmp = _compare([1.0, 0.0, 1.0, 0.5], [1.0, 0.0, 0.0, 0.5])
    v = evaluate_gate(cmp, Gate("m", margin=0.05))
    t = evaluate_gate(cmp, Gate("m", margin=0.05, test="t"))
    assert v.test.startswith("paired t")
    assert "betting bound" in v.test
    assert v.ci_low <= t.ci_low
    assert v.p_value >= t.p_value
    assert -1 <= v.ci_low < v.ci_high <= 1


def test_explicit_bootstrap_t_below_its_minimum_gives_the_t_interval_named_so():
    cmp = _compare([0.9, 0.8, 0.7], [0.9, 0.81, 0.2])
    v = evaluate_gate(cmp, Gate("m", margin=0.05, test="bootstrap-t"))
    t = evaluate_gate(cmp, Gate("m", margin=0.05, test="t"))
    assert v.test == f"paired t (bootstrap-t needs at least {BOOTSTRAP_T_MIN_N} pairs)"
    assert (v.ci_low, v.ci_high, v.p_value) == (t.ci_low, t.ci_high, t.p_value)
    assert any("no bootstrap-t bound" in w for w in v.warnings)


def test_bootstrap_t_ignores_resamples_of_one_repeated_value():
    # most resamples repeat 0.01 only: their SD is 0, not a rounding error
    d = np.array([0.01] * 11 + [-0.5])
    res = bootstrap_t(d, null=-0.05, rng=np.random.default_rng(0))
    assert -1 < res.ci_low < res.ci_high < 1


def test_binary_intervals_stay_inside_minus_one_to_one():
    # a relative margin on 0/1 data at tiny n: whatever the test, never beyond ±1
    v = evaluate_gate(_compare([1, 1, 0, 1], [0, 1, 1, 0]), Gate("m", margin="50%"))
    assert -1 <= v.ci_low <= v.ci_high <= 1


# --- 8. margin 0 gives the minimum detectable effect ---------------------------


@pytest.mark.parametrize("mode", ["non_inferiority", "equivalence"])
def test_margin_zero_is_refused_with_the_minimum_detectable_effect(mode):
    rng = np.random.default_rng(3)
    base = rng.random(200)
    cand = base + rng.normal(0, 0.05, 200)
    cmp = _compare(base.tolist(), cand.tolist())
    with pytest.raises(ConfigError) as info:
        evaluate_gate(cmp, Gate("m", margin=0, mode=mode))
    message = str(info.value)
    assert f"a margin of 0 in {mode} mode is a superiority test" in message
    assert "minimum detectable effect is" in message
    assert "(n = 200)" in message
    with pytest.raises(ConfigError) as missing:
        evaluate_gate(cmp, Gate("m", mode=mode))
    assert message.split(". With")[1] == str(missing.value).split(". With")[1]


def test_margin_zero_is_allowed_when_the_gate_is_built():
    assert Gate("m", margin=0).margin.value == 0


def test_margin_zero_in_a_gates_file_is_that_gate_s_error_with_the_hint(
    tmp_path: Path, capsys
):
    _one_datapoint_slice_repo(tmp_path, _GATES_HEAD.replace("margin: 0.1", "margin: 0"))
    code = main(
        [
            "compare",
            str(tmp_path / "runs" / "baseline.jsonl"),
            str(tmp_path / "runs" / "candidate.jsonl"),
            "--config",
            str(tmp_path / "runcompare.yaml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "a margin of 0 in non_inferiority mode is a superiority test" in out
    assert "With the current data (n = 60) the minimum detectable effect is" in out


# ------------------------------------------- a p-value and an interval that disagree
def test_gate_whose_p_value_and_interval_disagree_is_inconclusive_and_says_why():
    """McNemar's mid-p (0.0524) keeps the gate open; Newcombe's interval ends below 0."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_binary_relative_gates import _Comparison, _runs

    from pytest_runcompare.judge import Gate, Outcome, evaluate_gate

    base, cand = _runs([[23, 33], [21, 23]])
    v = evaluate_gate(
        _Comparison(base, cand, higher_is_better=True),
        Gate("m", margin=0, mode="regression_detection", higher_is_better=True),
    )
    assert v.p_value == pytest.approx(0.05239, abs=1e-5)
    assert v.ci_high < 0
    assert v.outcome is Outcome.INCONCLUSIVE
    assert "p-value (0.0524) and the interval's bound" in v.text
    assert "disagree" in v.text


@pytest.mark.parametrize(
    ("mode", "p", "low", "high", "disagrees"),
    [
        ("non_inferiority", 0.049, -0.0201, 0.05, True),  # p passes, bound does not
        ("non_inferiority", 0.0501, -0.0199, 0.05, True),  # bound passes, p does not
        ("non_inferiority", 0.049, -0.0199, 0.05, False),
        ("non_inferiority", 0.2, -0.05, 0.05, False),
        ("regression_detection", 0.04, -0.09, -0.019, True),
        ("regression_detection", 0.04, -0.09, -0.021, False),
        ("equivalence", 0.04, -0.019, 0.021, True),
        ("equivalence", 0.04, -0.019, 0.019, False),
    ],
)
def test_disagreement_between_p_value_and_interval_is_found_in_every_mode(
    mode, p, low, high, disagrees
):
    from pytest_runcompare.judge import Gate
    from pytest_runcompare.judge.evaluate import _disagreement

    gate = Gate("m", margin=0.02, mode=mode)
    assert (_disagreement(gate, p, low, high, 0.02) is not None) is disagrees
