"""Baseline metrics that no gate checks are listed, like syrupy's unused snapshots."""

from __future__ import annotations

import pytest
from helpers import make_records, make_repo, strip_colour, summary_section

METRICS = ("score", "quality", "latency")
ONLY_SCORE = """\
baseline: runs/baseline
candidate: runs/candidate
metrics:
  score: {direction: higher, margin: 0.05}
"""


def test_unchecked_baseline_metrics_are_listed(pytester: pytest.Pytester) -> None:
    make_repo(
        pytester,
        make_records(metrics=METRICS),
        make_records(metrics=METRICS, noise=0.001),
        ONLY_SCORE,
    )
    result = pytester.runpytest("--color=yes")
    assert result.ret == pytest.ExitCode.OK
    line = next(s for s in result.outlines if "not checked by any gate" in s)
    assert line == (
        "\x1b[33m2 baseline metric(s) not checked by any gate: latency, quality\x1b[0m"
    )
    assert "score" not in strip_colour(line).split(": ", 1)[1]


def test_no_stale_line_when_every_metric_is_gated(pytester: pytest.Pytester) -> None:
    make_repo(
        pytester,
        make_records(metrics=("score", "quality")),
        make_records(metrics=("score", "quality"), noise=0.001),
        ONLY_SCORE + "  quality: {direction: higher, margin: 0.05}\n",
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    section = summary_section(result)
    assert section[0].startswith("gate")
    assert not [s for s in section if "not checked" in s]


def test_metrics_new_in_the_candidate_are_not_stale(pytester: pytest.Pytester) -> None:
    make_repo(
        pytester,
        make_records(metrics=("score",)),
        make_records(metrics=("score", "quality"), noise=0.001),
        ONLY_SCORE,
    )
    result = pytester.runpytest()
    assert not [s for s in summary_section(result) if "not checked" in s]


def test_stale_metrics_listed_even_when_gates_fail(pytester: pytest.Pytester) -> None:
    make_repo(
        pytester,
        make_records(metrics=METRICS),
        make_records(metrics=METRICS, shift={("score", None): -0.2}),
        ONLY_SCORE,
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "2 baseline metric(s) not checked by any gate: latency, quality"
        in summary_section(result)
    )
