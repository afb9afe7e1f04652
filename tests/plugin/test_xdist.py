"""``pytest -n 2``: the same outcomes and adjusted p-values as one process, one report."""

from __future__ import annotations

import json

import pytest
from helpers import datapoints, write_jsonl

pytest.importorskip("xdist")

RD_GATES = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
defaults:
  mode: regression_detection
  correction: holm
metrics:
  exact_match:
    slices: [lang:de, lang:en]
  score: {}
report:
  json: out/report.json
  html: out/report.html
"""


def _verdicts(path) -> dict[str, tuple[str, str, float, float]]:
    data = json.loads(path.read_text())
    return {
        g["key"]: (
            g["status"],
            g["verdict"]["outcome"],
            g["verdict"]["p_value"],
            g["verdict"]["p_adjusted"],
        )
        for g in data["judgement"]["gates"]
    }


def test_same_outcomes_and_adjusted_p_values(model_repo) -> None:
    candidate = datapoints(400, correct=lambda i: i % 5 != 0 and i % 11 != 3)
    pytester = model_repo(candidate=candidate, gates=RD_GATES)
    one = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    single = _verdicts(pytester.path / "out" / "report.json")
    (pytester.path / "out" / "report.json").unlink()
    (pytester.path / "out" / "report.html").unlink()
    two = pytester.runpytest_subprocess("-q", "-n", "2", "-p", "no:cacheprovider")
    parallel = _verdicts(pytester.path / "out" / "report.json")
    assert parallel == single
    assert len(single) == 4
    assert all(p_adj is not None for *_, p_adj in single.values())
    assert one.parseoutcomes() == two.parseoutcomes()
    assert (pytester.path / "out" / "report.html").exists()
    # The table is printed once, by the controller.
    assert two.stdout.str().count("= runcompare =") == 1


RECORD_GATES = """\
baseline: baseline.jsonl
metrics:
  exact_match:
    margin: 0.05
"""

RECORDING_TESTS = """
import pytest

@pytest.mark.parametrize("i", range(300))
def test_eval(i, runcompare_recorder):
    right = i % 5 != 0 and {bad}
    runcompare_recorder.record(f"q{{i}}", output=str(right), metrics={{"exact_match": right}})
"""


@pytest.mark.parametrize(("bad", "failed"), [("True", 0), ("i % 3 != 0", 1)])
def test_recorded_candidate_is_merged_and_judged_on_the_controller(
    pytester: pytest.Pytester, bad: str, failed: int
) -> None:
    write_jsonl(pytester.path / "baseline.jsonl", datapoints(300), {"name": "baseline"})
    (pytester.path / "runcompare.yaml").write_text(RECORD_GATES)
    pytester.makepyfile(test_eval=RECORDING_TESTS.format(bad=bad))
    result = pytester.runpytest_subprocess(
        "-n", "2", "--junitxml", "junit.xml", "-p", "no:cacheprovider"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == 300 + 1 - failed
    assert outcomes.get("failed", 0) == failed
    assert result.ret == (1 if failed else 0)
    recorded = (
        (pytester.path / ".runcompare" / "candidate.jsonl").read_text().splitlines()
    )
    assert len(recorded) == 301  # header + every worker's datapoints
    junit = (pytester.path / "junit.xml").read_text()
    assert 'name="exact_match"' in junit
    assert 'name="runcompare_gate" value="exact_match"' in junit
    if failed:
        result.stdout.fnmatch_lines(["*exact_match: 0.800 -> 0.5*FAIL*"])
