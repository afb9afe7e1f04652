"""Our hookspecs, implemented from a conftest: a run reader and a statistical test."""

from __future__ import annotations

import pytest
from helpers import datapoints, write_jsonl

READER_CONFTEST = """
from pytest_runcompare import build_run, hookimpl

@hookimpl
def pytest_runcompare_load_run(location, options):
    if not location.endswith(".tsv"):
        return None
    records = []
    for n, line in enumerate(open(location, encoding="utf-8"), 1):
        qid, output, score = line.rstrip("\\n").split("\\t")
        records.append({"id": qid, "output": output, "metrics": {"score": float(score)}})
    return build_run(records, {"name": "tsv " + location}, path=location)
"""


def test_conftest_reader(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(READER_CONFTEST)
    rows = "".join(f"q{i}\tout {i}\t{0.5 + (i % 3) / 10}\n" for i in range(100))
    (pytester.path / "base.tsv").write_text(rows)
    (pytester.path / "cand.tsv").write_text(rows)
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: base.tsv\ncandidate: cand.tsv\nmetrics:\n  score:\n    margin: 0.01\n"
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["score *0.599*0.599* pass"])


TEST_CONFTEST = """
import math
from pytest_runcompare import hookimpl
from pytest_runcompare.stats.result import TestResult

def always_worse(paired, gate, *, rng):
    # A deliberately pessimistic test: claims a big regression whatever the data.
    return TestResult(test="always worse", tests_what="nothing real", estimate=-1.0,
                      pvalue=1.0, null=-gate.margin.value, alternative="greater",
                      ci_low=-2.0, ci_high=-0.5, confidence_level=0.9, n=paired.n)

@hookimpl
def pytest_runcompare_register_tests():
    return {"always-worse": always_worse}
"""


def test_custom_test_from_a_hook(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(TEST_CONFTEST)
    write_jsonl(pytester.path / "b.jsonl", datapoints(50))
    write_jsonl(pytester.path / "c.jsonl", datapoints(50))
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: b.jsonl\ncandidate: c.jsonl\nmetrics:\n"
        "  score:\n    margin: 0.1\n    test: always-worse\n"
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*FAIL*always worse*", "test: always worse (nothing real)*"]
    )
