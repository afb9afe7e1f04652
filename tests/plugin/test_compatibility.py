"""Runs that evaluated different data or defined a metric differently."""

from __future__ import annotations

import pytest
from helpers import (
    DEFAULT_GATES,
    make_records,
    make_repo,
    outcomes_by_nodeid,
    summary_section,
)

EVERY_GATE = ("runcompare.yaml::score", "runcompare.yaml::score[lang:de]")
ADVICE = "(set defaults.compatibility: warn in the gates file to compare anyway)"


def _failures(result: pytest.RunResult) -> dict[str, str]:
    """Gate name -> the first line of its failure section."""
    out = {}
    lines = result.outlines
    for i, line in enumerate(lines):
        if line.startswith("_") and " runcompare gate " in line:
            out[line.strip("_ ").removeprefix("runcompare gate ")] = lines[i + 1]
    return out


def test_different_data_versions_fail_every_gate(pytester: pytest.Pytester) -> None:
    make_repo(
        pytester,
        make_records(),
        make_records(),  # identical values: only the data version differs
        candidate_meta={"data_version": "qa-v2"},
    )
    result = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(result) == dict.fromkeys(EVERY_GATE, "FAILED")
    problem = "different data versions: baseline 'qa-v1', candidate 'qa-v2'"
    assert _failures(result) == dict.fromkeys(
        ("score", "score[lang:de]"),
        f"the runs are not comparable: {problem} {ADVICE}",
    )
    assert f"compatibility: {problem}" in summary_section(result)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_different_expected_outputs_fail_naming_the_first(
    pytester: pytest.Pytester,
) -> None:
    make_repo(pytester, make_records(), make_records(relabel=(5, 6, 7)))
    result = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(result) == dict.fromkeys(EVERY_GATE, "FAILED")
    message = _failures(result)["score"]
    assert message.startswith("the runs are not comparable: ")
    assert (
        "3 of 200 common datapoints have a different input or expected output"
        in message
    )
    assert "(first: 'q-0005')" in message
    assert message.endswith(ADVICE)


def test_metric_defined_differently_fails(pytester: pytest.Pytester) -> None:
    make_repo(
        pytester,
        make_records(),
        make_records(),
        baseline_meta={"metric_definitions": {"score": {"version": "scorer-1"}}},
        candidate_meta={"metric_definitions": {"score": {"version": "scorer-2"}}},
    )
    result = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(result) == dict.fromkeys(EVERY_GATE, "FAILED")
    problem = (
        "metric 'score' is defined differently: version 'scorer-1' in the baseline, "
        "'scorer-2' in the candidate"
    )
    assert _failures(result)["score[lang:de]"] == (
        f"the runs are not comparable: {problem} {ADVICE}"
    )
    assert f"compatibility: {problem}" in summary_section(result)


def test_compatibility_warn_judges_the_gates_and_warns_in_the_summary(
    pytester: pytest.Pytester,
) -> None:
    make_repo(
        pytester,
        make_records(),
        make_records(noise=0.001),
        DEFAULT_GATES + "defaults:\n  compatibility: warn\n",
        candidate_meta={"data_version": "qa-v2"},
    )
    result = pytester.runpytest("-rA", "--color=yes")
    assert outcomes_by_nodeid(result) == dict.fromkeys(EVERY_GATE, "PASSED")
    assert result.ret == pytest.ExitCode.OK
    warning = next(line for line in result.outlines if "compatibility:" in line)
    assert warning == (
        "\x1b[33mcompatibility: different data versions: baseline 'qa-v1', "
        "candidate 'qa-v2'\x1b[0m"
    )


def test_compatibility_warn_still_fails_a_real_regression(
    pytester: pytest.Pytester,
) -> None:
    make_repo(
        pytester,
        make_records(),
        make_records(shift={(None, "lang:de"): -0.2}),
        DEFAULT_GATES + "defaults:\n  compatibility: warn\n",
        candidate_meta={"data_version": "qa-v2"},
    )
    result = pytester.runpytest("-rA")
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::score": "FAILED",
        "runcompare.yaml::score[lang:de]": "FAILED",
    }
    assert _failures(result)["score[lang:de]"].startswith(
        "score[lang:de]: 0.714363 -> 0.514363 "
    )


def test_compatible_runs_print_no_compatibility_line(pytester: pytest.Pytester) -> None:
    make_repo(pytester, make_records(), make_records(noise=0.001))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    # The report lines name this test's folder, which says "compatible".
    lines = [x for x in summary_section(result) if " report: " not in x]
    assert not [line for line in lines if "compatib" in line]
