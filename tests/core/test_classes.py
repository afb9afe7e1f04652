"""Classification views: detection, confusion matrices and P/R/F1 (vs scikit-learn),
the paired bootstrap's coverage and the classes' Benjamini-Hochberg family."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_runcompare import classes
from pytest_runcompare.classes import class_report, detect, label_text
from pytest_runcompare.runs import Datapoints, MetricColumn, Run, RunMeta

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def draw(
    rng: np.random.Generator, n: int, k: int, right_b: float, right_c: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = rng.integers(0, k, n)
    b = np.where(rng.random(n) < right_b, y, rng.integers(0, k, n))
    c = np.where(rng.random(n) < right_c, b, rng.integers(0, k, n))
    return y, b, c


# --------------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    ("value", "label"),
    [
        (3, "3"),
        ("3", "3"),
        (True, "true"),
        ("cat", "cat"),
        ("x" * 64, "x" * 64),
        (3.0, None),
        ("x" * 65, None),
        ("two\nlines", None),
        ("", None),
        ({"label": 3}, None),
        (None, None),
    ],
)
def test_label_text_takes_ints_bools_and_short_one_line_strings(
    value: object, label: str | None
) -> None:
    assert label_text(value) == label


def test_detect_codes_labels_sorted_numerically_and_int_equals_its_text() -> None:
    found = detect([10, 2, "2"], ["10", 2, 9], [2, "9", 10])
    assert found.reason is None
    assert found.labels == ("2", "9", "10")
    assert found.expected == (2, 0, 0)
    assert found.baseline == (2, 0, 1)
    assert found.candidate == (0, 1, 2)


def test_detect_leaves_out_datapoints_without_expected_or_output() -> None:
    found = detect(["a", None, "b", "a"], ["a", "b", None, "b"], ["a", "b", "b", "a"])
    assert found.reason is None
    assert found.n_left_out == 2
    assert len(found.expected) == 2


@pytest.mark.parametrize(
    ("expected", "baseline", "candidate", "reason"),
    [
        (["a", "b"], ["a", 0.5], ["a", "b"], "baseline value of paired datapoint 2"),
        (["a", "b"], ["a", "b"], ["a", "long " * 20], "candidate value"),
        (
            ["a", "b"],
            ["a", "b"],
            [["a"], "b"],
            "value of paired datapoint 1 is not a label (list)",
        ),
        (["a", "a"], ["a", "a"], ["a", "a"], "one label only"),
        ([None], ["a"], ["b"], "no paired datapoint has labels"),
    ],
)
def test_detect_says_why_datapoints_are_not_classification(
    expected: list[object], baseline: list[object], candidate: list[object], reason: str
) -> None:
    found = detect(expected, baseline, candidate)
    assert found.reason is not None
    assert reason in found.reason


def test_detect_refuses_more_classes_than_the_limit_which_the_environment_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    labels = [f"c{i}" for i in range(51)]
    found = detect(labels, labels, labels)
    assert found.reason == (
        "more than 50 distinct labels (raise RUNCOMPARE_MAX_CLASSES for more classes)"
    )
    monkeypatch.setenv("RUNCOMPARE_MAX_CLASSES", "60")
    assert detect(labels, labels, labels).labels == tuple(sorted(labels))


def test_detect_needs_aligned_inputs() -> None:
    with pytest.raises(ValueError, match="must be aligned, got lengths 2, 1 and 1"):
        detect(["a", "b"], ["a"], ["a"])


# --------------------------------------------------------------------------- values
def test_matrices_and_scores_equal_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    y, b, c = draw(rng, 700, 6, 0.8, 0.85)
    c[c == 5] = 4  # the candidate never predicts class 5: its precision is undefined
    found = detect(y.tolist(), b.tolist(), c.tolist())
    report = class_report(found, seed=0, n_resamples=200)
    order = [int(label) for label in found.labels]
    for matrix, predicted in (
        (report.baseline_matrix, b),
        (report.candidate_matrix, c),
    ):
        expected = sklearn_metrics.confusion_matrix(y, predicted, labels=order)
        np.testing.assert_array_equal(np.array(matrix), expected)
    np.testing.assert_array_equal(
        np.array(report.difference),
        np.array(report.candidate_matrix) - np.array(report.baseline_matrix),
    )
    for role, predicted in (("baseline", b), ("candidate", c)):
        p, r, f, support = sklearn_metrics.precision_recall_fscore_support(
            y, predicted, labels=order, zero_division=np.nan
        )
        ours = report.classes
        np.testing.assert_allclose([getattr(x.precision, role) for x in ours], p)
        np.testing.assert_allclose([getattr(x.recall, role) for x in ours], r)
        np.testing.assert_allclose([getattr(x.f1, role) for x in ours], f)
        assert [x.support for x in ours] == support.tolist()
        macro = sklearn_metrics.f1_score(
            y, predicted, labels=order, average="macro", zero_division=np.nan
        )
        assert getattr(report.macro_f1, role) == pytest.approx(macro)
    assert np.isnan(report.classes[5].precision.candidate)
    assert np.isnan(report.classes[5].precision.ci_low)  # undefined in every resample
    assert report.classes[5].f1.candidate == 0.0  # the class occurs: F1 is 0


def test_deltas_are_candidate_minus_baseline_inside_their_interval() -> None:
    rng = np.random.default_rng(5)
    y, b, c = draw(rng, 500, 4, 0.7, 0.9)
    report = class_report(detect(y.tolist(), b.tolist(), c.tolist()), seed=1)
    for scores in report.classes:
        for change in (scores.precision, scores.recall, scores.f1):
            assert change.delta == pytest.approx(change.candidate - change.baseline)
            assert change.ci_low <= change.delta + 1e-12 <= change.ci_high + 2e-12
    assert report.confidence_level == pytest.approx(0.90)
    assert report.n_resamples == classes.DEFAULT_RESAMPLES


def test_the_same_seed_gives_the_same_interval_and_another_seed_another() -> None:
    rng = np.random.default_rng(8)
    found = detect(*(a.tolist() for a in draw(rng, 300, 3, 0.7, 0.8)))
    one, same = class_report(found, seed=4), class_report(found, seed=4)
    other = class_report(found, seed=5)
    assert one == same
    assert one.classes[0].f1.ci_low != other.classes[0].f1.ci_low


def test_work_is_bounded_by_fewer_resamples_over_many_cells() -> None:
    assert classes.resamples_for(27) == 2000
    assert classes.resamples_for(10_000) == 2000
    assert classes.resamples_for(20_000) == 1000
    assert classes.resamples_for(125_000) == classes.MIN_RESAMPLES


def test_bad_arguments_are_refused() -> None:
    found = detect(["a", "b"], ["a", "b"], ["a", "a"])
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 0.5\), got 0.7"):
        class_report(found, alpha=0.7)
    with pytest.raises(ValueError, match="not classification-style datapoints: one"):
        class_report(detect(["a"], ["a"], ["a"]))


# --------------------------------------------------------------------------- the family
def test_classes_that_got_worse_are_flagged_after_benjamini_hochberg() -> None:
    from pytest_runcompare.stats.multiplicity import benjamini_hochberg

    rng = np.random.default_rng(11)
    y, b, _ = draw(rng, 1000, 5, 0.9, 1.0)
    c = b.copy()
    broken = (y == 2) & (rng.random(y.size) < 0.4)
    c[broken] = 3  # the candidate mistakes 40% of the 2s for 3s
    report = class_report(detect(y.tolist(), b.tolist(), c.tolist()), seed=0)
    # 2 loses recall, 3 precision (the false 3s): both F1s got worse, no other
    assert [x.label for x in report.flagged] == ["2", "3"]
    p = np.array([x.p_value for x in report.classes])
    finite = np.isfinite(p)
    np.testing.assert_allclose(
        np.array([x.p_adjusted for x in report.classes])[finite],
        benjamini_hochberg(p[finite]),
    )
    assert report.classes[2].f1.ci_high < 0
    assert report.classes[0].p_value == 1.0  # the 0s did not change at all


def simulate_cells(
    pi: np.ndarray, right_b: np.ndarray, right_c: np.ndarray, rho: float
) -> np.ndarray:
    """P(expected, baseline, candidate): each run right w.p. right[y], else uniform
    over the other classes; the candidate repeats the baseline w.p. rho."""
    k = pi.size

    def confusion(right: np.ndarray) -> np.ndarray:
        m = np.tile(((1 - right) / (k - 1))[:, None], (1, k))
        m[np.arange(k), np.arange(k)] = right
        return m

    cb, cc = confusion(right_b), confusion(right_c)
    p = np.zeros((k, k, k))
    for y in range(k):
        for bb in range(k):
            for cand in range(k):
                p[y, bb, cand] = (
                    pi[y] * cb[y, bb] * ((1 - rho) * cc[y, cand] + rho * (bb == cand))
                )
    return p


def population_f1(p: np.ndarray, axis: int) -> np.ndarray:
    joint = p.sum(axis=3 - axis)  # (expected, this run)
    tp = np.diag(joint)
    return 2 * tp / (joint.sum(axis=0) + joint.sum(axis=1))


def run_simulation(
    p: np.ndarray, n: int, sims: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per class: how often the interval covers the true change, how often flagged."""
    k = p.shape[0]
    truth = population_f1(p, 2) - population_f1(p, 1)
    rng = np.random.default_rng(seed)
    flat = p.ravel() / p.sum()
    covered = np.zeros(k)
    flagged = np.zeros(k)
    any_flag = 0
    for s in range(sims):
        code = rng.choice(flat.size, size=n, p=flat)
        y, b, c = code // (k * k), (code // k) % k, code % k
        report = class_report(
            detect(y.tolist(), b.tolist(), c.tolist()), seed=s, n_resamples=1000
        )
        for i, x in enumerate(report.classes):
            covered[i] += x.f1.ci_low <= truth[i] <= x.f1.ci_high
            flagged[i] += x.flagged
        any_flag += bool(report.flagged)
    return covered / sims, flagged / sims, any_flag / sims


def test_interval_covers_the_true_change_near_its_nominal_level() -> None:
    """200 seeded samples of n = 400 from a known population (three classes, the
    candidate better on one, worse on another): each class's 90% interval for the
    change of F1 covers the population's change within 0.065 of 90% (three binomial
    standard errors at 200 simulations)."""
    p = simulate_cells(
        np.array([0.5, 0.3, 0.2]),
        np.array([0.85, 0.75, 0.7]),
        np.array([0.9, 0.7, 0.7]),
        rho=0.6,
    )
    coverage, _, _ = run_simulation(p, n=400, sims=200, seed=20)
    assert np.all(np.abs(coverage - 0.90) <= 0.065), coverage


def test_no_change_flags_a_class_at_most_about_alpha_of_the_time() -> None:
    """Both runs drawn from the same confusion (no change in any class): the share
    of simulations flagging any class stays within 0.05 + 0.045 (three binomial
    standard errors at 200 simulations): Benjamini-Hochberg controls it at alpha."""
    p = simulate_cells(
        np.array([0.4, 0.35, 0.25]),
        np.array([0.8, 0.8, 0.75]),
        np.array([0.8, 0.8, 0.75]),
        rho=0.5,
    )
    _, _, any_flag = run_simulation(p, n=300, sims=200, seed=40)
    assert any_flag <= 0.05 + 0.045, any_flag


# --------------------------------------------------------------------------- a comparison
def labelled_run(name: str, outputs: list[object], expected: list[object]) -> Run:
    n = len(outputs)
    return Run(
        meta=RunMeta(name=name),
        datapoints=Datapoints(
            ids=[f"d{i}" for i in range(n)],
            outputs=list(outputs),
            expected=list(expected),
            metrics={
                "correct": MetricColumn(
                    values=np.array(
                        [float(o == e) for o, e in zip(outputs, expected, strict=True)]
                    ),
                    present=np.ones(n, dtype=bool),
                    boolean=True,
                )
            },
        ),
    )


def test_paired_labels_leave_out_datapoints_whose_expected_value_changed() -> None:
    from pytest_runcompare.comparison import compare_runs

    base = labelled_run("b", ["a", "b", "a", "b"], ["a", "b", "b", "b"])
    cand = labelled_run("c", ["a", "b", "b", "a"], ["a", "b", "a", "b"])
    found = classes.paired_labels(compare_runs(base, cand))
    assert found.n_left_out == 1
    assert found.labels == ("a", "b")
    assert found.expected == (0, 1, 1)
    assert found.candidate == (0, 1, 0)
