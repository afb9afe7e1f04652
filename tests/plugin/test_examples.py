"""The shipped examples run as real sessions, so they never rot."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("sklearn")


def test_sklearn_classifier_example(pytester: pytest.Pytester) -> None:
    pytester.copy_example("sklearn_classifier")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(
        [
            "*= runcompare =*",
            "correct *0.963*0.963* pass",
            "log_loss *0.127*0.136* pass",
            "html report: *runcompare.html",
        ]
    )
    html = (pytester.path / "report" / "runcompare.html").read_text()
    assert "Content-Security-Policy" in html


def test_sklearn_classifier_regenerates_its_runs(pytester: pytest.Pytester) -> None:
    """make_runs.py writes runs that the gates accept (a harsher candidate fails)."""
    pytester.copy_example("sklearn_classifier")
    result = pytester.run(
        sys.executable,
        "make_runs.py",
        "--out",
        str(pytester.path / "fresh"),
        "--candidate-C",
        "0.001",
    )
    assert result.ret == 0
    result = pytester.runpytest(
        "-q",
        "--runcompare-baseline",
        "fresh/baseline",
        "--runcompare-candidate",
        "fresh/candidate",
        "-p",
        "no:cacheprovider",
        "runcompare.yaml",
    )
    # C=0.001 underfits badly: accuracy and loss gates must fail.
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 2
    result.stdout.fnmatch_lines(["*correct: 0.963 -> 0.*FAIL*"])


def test_same_runs_render_the_same_report_bytes(pytester: pytest.Pytester) -> None:
    pytester.copy_example("sklearn_classifier")
    outputs = []
    for _ in range(2):
        pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=9)
        outputs.append(
            {
                name: (pytester.path / "report" / name).read_bytes()
                for name in ("runcompare.html", "runcompare.json", "runcompare.md")
            }
        )
    assert outputs[0] == outputs[1]


def test_regressed_candidate_fails_the_gates_it_regresses(
    pytester: pytest.Pytester,
) -> None:
    """The bundled regression (most 3s dropped from training) fails in its slice."""
    pytester.copy_example("sklearn_classifier")
    result = pytester.runpytest(
        "-q",
        "-p",
        "no:cacheprovider",
        "--runcompare-candidate=runs/candidate_regressed",
    )
    result.assert_outcomes(passed=4, failed=5, warnings=3)
    result.stdout.fnmatch_lines(
        [
            "correct: 0.963 -> 0.943 (-0.020, 90% CI [[]-0.030, -0.011]); *: FAIL*",
            "  digit-226: 1 -> 0   3 -> 7",
            "*= runcompare =*",
            "correct *0.963*0.943*-0.020*0.502 *fail",
            "correct[[]even] *0.962*0.964*+0.002*pass",
            "correct[[]digit:3] *0.935*0.728*-0.207*warn-only fail",
        ]
    )
    markdown = (pytester.path / "report" / "runcompare.md").read_text()
    # The summary names the regressed run and its slice (escaping aside).
    assert "fewer 3s" in markdown
    assert "digit:3" in markdown
    html = (pytester.path / "report" / "runcompare.html").read_text()
    assert "fewer 3s" in html
    assert "digit-226" in html
