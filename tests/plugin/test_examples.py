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


def test_sklearn_sweep_example_equals_its_pairs_judged_alone(
    pytester: pytest.Pytester,
) -> None:
    """Every candidate of the grid gets the verdicts of its own two-run comparison at
    alpha / K, and the sweep passes because at least one candidate does."""
    import json

    from pytest_runcompare.cli import main

    pytester.copy_example("sklearn_sweep")
    result = pytester.runpytest(
        "-q", "-p", "no:cacheprovider", "--runcompare-json", "sweep.json"
    )
    sweep = json.loads((pytester.path / "sweep.json").read_text())
    labels = [c["label"] for c in sweep["candidates"]]
    assert len(labels) == 8
    assert sweep["require"] == "any"
    assert sweep["passed"] is True
    assert result.ret == 0
    k = len(labels)
    statuses = [
        g["status"] for c in sweep["candidates"] for g in c["judgement"]["gates"]
    ]
    # the failed gates of candidates that lose to a passing one are expected failures
    result.assert_outcomes(
        passed=statuses.count("passed"), xfailed=statuses.count("failed")
    )
    assert 0 < len(sweep["passing"]) < k
    assert sweep["candidate_alpha"] == pytest.approx(0.05 / k)
    for candidate in sweep["candidates"]:
        pair_json = pytester.path / f"{candidate['label']}.json"
        code = main(
            [
                "compare",
                str(pytester.path / "runs" / "baseline"),
                str(pytester.path / "runs" / "sweep" / candidate["label"]),
                "--config",
                str(pytester.path / "runcompare.yaml"),
                "--alpha",
                repr(0.05 / k),
                "--json",
                str(pair_json),
            ]
        )
        pair = json.loads(pair_json.read_text())
        assert code == (0 if candidate["passed"] else 1)
        swept = candidate["judgement"]["gates"]
        alone = pair["judgement"]["gates"] if "judgement" in pair else pair["gates"]
        assert [(g["key"], g["status"]) for g in swept] == [
            (g["key"], g["status"]) for g in alone
        ]
        assert [g["verdict"]["p_value"] for g in swept] == [
            g["verdict"]["p_value"] for g in alone
        ]
