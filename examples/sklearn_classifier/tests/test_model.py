"""Hand-written checks beside the gates of runcompare.yaml."""

import pytest


def test_same_datapoints(runcompare):
    runcompare.assert_coverage(1.0, allow_new=False)


def test_accuracy_on_hard_digits(runcompare):
    # 8s and 9s are the digits this model confuses most: hold them to a looser margin.
    runcompare.assert_no_regression("correct", margin=0.05, slice="digit:8")


def test_confidence_does_not_drop(runcompare):
    runcompare.assert_no_regression("p_true", margin=0.02, mode="non_inferiority")


@pytest.mark.runcompare(candidate="../runs/baseline")
def test_baseline_against_itself(run_comparison):
    assert run_comparison.changed_output_count == 0
    assert not run_comparison.list_degraded_metrics()
