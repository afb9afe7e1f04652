"""Compatibility: a metric measured differently in the two runs, and ids that differ
only in their Unicode normal form, are said, not passed over."""

from __future__ import annotations

from pytest_runcompare import build_run
from pytest_runcompare.comparison import compare_runs


def runs(base: list[object], cand: list[object]):
    b = build_run([{"id": f"p{i}", "metrics": {"m": v}} for i, v in enumerate(base)])
    c = build_run([{"id": f"p{i}", "metrics": {"m": v}} for i, v in enumerate(cand)])
    return compare_runs(b, c).compatibility


def test_boolean_against_continuous_is_defined_differently() -> None:
    compat = runs([True, False, True], [0.9, 1, 0.25])
    assert not compat.same_metrics
    assert compat.problems == (
        "metric 'm' is defined differently: boolean (true/false) in the baseline, "
        "continuous (values such as 0.9) in the candidate",
    )


def test_continuous_against_boolean_is_defined_differently() -> None:
    compat = runs([0.5, 0.7], [True, False])
    assert compat.problems == (
        "metric 'm' is defined differently: continuous (values such as 0.5) in the "
        "baseline, boolean (true/false) in the candidate",
    )


def test_boolean_against_zero_one_numbers_is_the_same_metric() -> None:
    compat = runs([True, False, True], [1, 0, 1.0])
    assert compat.same_metrics
    assert compat.problems == ()


def test_ids_equal_after_nfc_across_runs_are_noted_with_both_forms() -> None:
    b = build_run([{"id": "caf\u00e9", "metrics": {"m": 1}}, {"id": "x"}])
    c = build_run([{"id": "cafe\u0301", "metrics": {"m": 1}}, {"id": "x"}])
    result = compare_runs(b, c)
    assert result.n_common == 1
    assert (
        "1 baseline id(s) equal a candidate id once Unicode-normalised (NFC) but are "
        "written differently, so they are not paired: 'caf\\xe9' and 'cafe\\u0301'; "
        "normalise ids to NFC where the runs are written"
    ) in result.compatibility.notes


def test_plain_ascii_unpaired_ids_give_no_normal_form_note() -> None:
    b = build_run([{"id": "a"}, {"id": "x"}])
    c = build_run([{"id": "b"}, {"id": "x"}])
    assert not any("NFC" in n for n in compare_runs(b, c).compatibility.notes)
