"""Full plugin sessions (pytester) gating a pair from DeepEval, OpenAI Evals, lmms-eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BEEAI = "deepeval/beeai_latest_test_run_{}.json"
MATCH = "openai_evals/230417220821DPM75QNS_auto_gpt_completion_fn_test-match.jsonl"


def _session(pytester: pytest.Pytester, gates: str) -> pytest.RunResult:
    (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")
    return pytester.runpytest(
        "-q", "-p", "no:cacheprovider", "--runcompare-report", "report.html"
    )


def test_deepeval_two_runs_of_one_test_case(
    pytester: pytest.Pytester, data: Path
) -> None:
    result = _session(
        pytester,
        f"""\
baseline: {data / BEEAI.format("cfbc9c3")}
candidate: {data / BEEAI.format("130e2d0")}
metrics:
  Exact Match: {{margin: 0.5}}
""",
    )
    # one test case cannot be tested statistically: the gate fails closed, saying so
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*Exact Match*fail closed*only 1 paired datapoint carries 'Exact Match'*"]
    )
    report = (pytester.path / "report.html").read_text("utf-8")
    assert "Jim Obergefell" in report  # the answer the candidate lost


def test_openai_evals_log_against_a_perturbed_copy(
    pytester: pytest.Pytester, data: Path
) -> None:
    lines = (data / MATCH).read_text("utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    for event in events:  # the candidate answers "time" and is right
        if event.get("sample_id") == "test-match.s1.0":
            event["data"]["sampled"] = "time"
            if event["type"] == "match":
                event["data"].update(correct=True, picked="time")
    candidate = pytester.path / "candidate.jsonl"
    candidate.write_text(
        "".join(json.dumps(e) + "\n" for e in events), encoding="utf-8"
    )
    result = _session(
        pytester,
        f"""\
baseline: {data / MATCH}
candidate: {candidate}
metrics:
  correct: {{margin: 0.5}}
""",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*correct*0.333*0.667*"])
    report = (pytester.path / "report.html").read_text("utf-8")
    assert "Once upon a time" in report  # the baseline's answer that changed


def test_lmms_eval_baseline_against_candidate(
    pytester: pytest.Pytester, data: Path
) -> None:
    result = _session(
        pytester,
        f"""\
baseline: {data / "lmms_eval" / "baseline"}
candidate: {data / "lmms_eval" / "candidate"}
metrics:
  mme_perception_score: {{margin: 0.5}}
  mme_cognition_score: {{margin: 0.5}}
""",
    )
    # three answers changed, two of them for the worse: six questions cannot rule
    # out a regression, and an inconclusive gate fails by default
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "mme_perception_score: 1.00 -> 0.75 (-0.25, *INCONCLUSIVE*n = 4*",
            "mme_cognition_score: 0.500 -> 0 (-0.500, *INCONCLUSIVE*n = 2*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
