"""One judgement, every face: each scenario's verdict reads the same everywhere.

For every scenario (run policies, waivers, inconclusive policies, a count gate, a
custom test, a fixture assertion beside a gate on the same metric), the exit code,
the pytest outcomes, the terminal table, the JSON summary, the Markdown header, the
HTML badge, the JUnit properties, the GitHub annotations and the fixture assertion
say the same thing, in the plugin and in the ``runcompare`` command, in one process
and under ``-n 2``.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    datapoints,
    make_records,
    make_repo,
    outcomes_by_nodeid,
    run_meta,
    summary_section,
    write_jsonl,
)

from pytest_runcompare.cli import main

REGRESSED = make_records(shift={("score", "lang:de"): -0.2})
NOISY = make_records(noise=0.05, seed=0)

CUSTOM_TESTS = """
from pytest_runcompare import hookimpl
from pytest_runcompare.stats.result import TestResult

def tight(paired, gate, *, rng):
    # A test that is sure the change is within 0.001 of nothing.
    return TestResult(test="tight", tests_what="a custom test", estimate=0.0,
                      pvalue=0.001, null=-gate.margin.value, alternative="greater",
                      ci_low=-0.001, ci_high=0.001, confidence_level=0.9, n=paired.n)

@hookimpl
def pytest_runcompare_register_tests():
    return {"tight": tight}
"""


@dataclass(frozen=True)
class Scenario:
    """A model repository and the status every face must show for each gate."""

    name: str
    gates: str
    expected: dict[str, str]
    candidate: list[dict[str, Any]] | None = None
    candidate_meta: dict[str, Any] = field(default_factory=dict)
    binary: bool = False
    custom: bool = False

    @property
    def passes(self) -> bool:
        return not {"failed", "error"} & set(self.expected.values())

    @property
    def metric(self) -> str:
        return "exact_match" if self.binary else "score"


HEAD = "baseline: runs/baseline\ncandidate: runs/candidate\n"
JSONL_HEAD = "baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
SCORE = "metrics:\n  score:\n    direction: higher\n    margin: 0.05\n    slices: [lang:de]\n"
BOTH = {"score": "{0}", "score[lang:de]": "{0}"}


def both(status: str) -> dict[str, str]:
    return {k: v.format(status) for k, v in BOTH.items()}


SCENARIOS = [
    Scenario(
        "incompatible runs fail every gate",
        HEAD + SCORE,
        both("failed"),
        candidate_meta={"data_version": "qa-v2"},
    ),
    Scenario(
        "compatibility: warn judges them anyway",
        HEAD + "defaults: {compatibility: warn}\n" + SCORE,
        both("passed"),
        candidate_meta={"data_version": "qa-v2"},
    ),
    Scenario(
        "an incomplete candidate fails every gate",
        HEAD + SCORE,
        both("failed"),
        candidate_meta={"complete": False},
    ),
    Scenario(
        "an active waiver expects the regression",
        HEAD
        + SCORE
        + "waivers:\n  - metric: score\n    reason: new tokenizer\n    expires: 2999-12-31\n",
        both("waived"),
        candidate=REGRESSED,
    ),
    Scenario(
        "an expired waiver fails the gates",
        HEAD
        + SCORE
        + "waivers:\n  - metric: score\n    reason: new tokenizer\n    expires: 2020-01-31\n",
        both("failed"),
        candidate=REGRESSED,
    ),
    Scenario(
        "an id waiver applies to an unpaired gate",
        HEAD + "metrics:\n  score:\n    direction: higher\n    margin: 0.05\n"
        "    pairing: none\n"
        "waivers:\n  - ids: ["
        + ", ".join(f"q-{i:04d}" for i in range(0, 200, 4))
        + "]\n"
        "    reason: relabelled questions\n",
        {"score": "passed"},
        candidate=[
            {**r, "metrics": {"score": 0.0}} if i % 4 == 0 else r
            for i, r in enumerate(make_records())
        ],
    ),
    Scenario(
        "inconclusive fails by default in non-inferiority",
        HEAD + "metrics:\n  score:\n    direction: higher\n    margin: 0.001\n",
        {"score": "failed"},
        candidate=NOISY,
    ),
    Scenario(
        "inconclusive: pass passes it",
        HEAD + "metrics:\n  score:\n    direction: higher\n    margin: 0.001\n"
        "    inconclusive: pass\n",
        {"score": "passed"},
        candidate=NOISY,
    ),
    Scenario(
        "a count gate fails on too many new failures",
        JSONL_HEAD + "metrics:\n  exact_match:\n    max_new_failures: 3\n",
        {"exact_match": "failed"},
        binary=True,
    ),
    Scenario(
        "a custom test from the hook",
        HEAD + "metrics:\n  score:\n    direction: higher\n    margin: 0.05\n"
        "    test: tight\n",
        {"score": "passed"},
        candidate=REGRESSED,
        custom=True,
    ),
]


def _build(pytester: pytest.Pytester, s: Scenario) -> Path:
    assertion = f"""
        def test_assertion_beside_the_gate(runcompare):
            runcompare.assert_no_regression("{s.metric}")
    """
    if s.binary:
        root = pytester.path
        pytester.makeini("[pytest]\n")
        write_jsonl(root / "runs" / "baseline.jsonl", datapoints(200), {"name": "base"})
        worse = datapoints(200, correct=lambda i: i % 5 != 0 and i % 7 != 3)
        write_jsonl(root / "runs" / "candidate.jsonl", worse, {"name": "cand"})
        (root / "runcompare.yaml").write_text(s.gates, "utf-8")
        pytester.makepyfile(test_model=textwrap.dedent(assertion))
    else:
        root = make_repo(
            pytester,
            make_records(),
            make_records() if s.candidate is None else s.candidate,
            s.gates,
            candidate_meta={**run_meta("candidate"), **s.candidate_meta},
            tests=assertion,
        )
    if s.custom:
        (root / "custom_tests.py").write_text(CUSTOM_TESTS, "utf-8")
        pytester.makeconftest('pytest_plugins = ["custom_tests"]\n')
    return root


def _row_status(word: str) -> str:
    """The status a table row's last column stands for."""
    if word.startswith("fail"):
        return "failed"
    if word in ("pass", "inconclusive (passes)"):
        return "passed"
    return word


def _plugin_faces(
    pytester: pytest.Pytester, s: Scenario, *args: str
) -> tuple[dict[str, Any], pytest.RunResult]:
    """Run the session and read every face back; return the JSON judgement."""
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-rA",
        "-p",
        "no:cacheprovider",
        "--runcompare-json",
        str(out / "r.json"),
        "--runcompare-markdown",
        str(out / "r.md"),
        "--runcompare-report",
        str(out / "r.html"),
        f"--junitxml={out / 'junit.xml'}",
        *args,
    )
    # exit code
    expected_exit = pytest.ExitCode.OK if s.passes else pytest.ExitCode.TESTS_FAILED
    assert result.ret == expected_exit, result.stdout.str()
    # pytest outcomes of the gate items, and the fixture assertion beside them
    outcomes = outcomes_by_nodeid(result)
    word = {
        "passed": "PASSED",
        "failed": "FAILED",
        "waived": "XFAIL",
        "error": "FAILED",
    }
    for key, status in s.expected.items():
        assert outcomes[f"runcompare.yaml::{key}"] == word[status], key
    gate_fails = s.expected[s.metric] in ("failed", "error")
    assert outcomes["test_model.py::test_assertion_beside_the_gate"] == (
        "FAILED" if gate_fails else "PASSED"
    )
    # terminal table
    rows = {}
    for line in summary_section(result)[1:]:
        cells = line.split("  ")
        if line.split()[0] in s.expected and "(assertion)" not in line:
            rows[line.split()[0]] = _row_status(cells[-1].strip())
    assert rows == s.expected
    # JSON
    data = json.loads((out / "r.json").read_text())
    assert data["summary"]["passed"] is s.passes
    judged = {g["key"]: g["status"] for g in data["judgement"]["gates"]}
    assert judged == s.expected
    assert not data["judgement"]["assertions"]  # the assertion *is* the declared gate
    # Markdown header and HTML badge
    marker, header = (out / "r.md").read_text().splitlines()[:2]
    assert marker.startswith("<!-- runcompare:"), marker
    assert header.startswith("❌") is (not s.passes), header
    html = (out / "r.html").read_text()
    badge = '<div class="overall fail" id="overall">'
    assert (badge in html) is (not s.passes)
    # JUnit properties
    cases = {c.get("name"): c for c in ET.parse(out / "junit.xml").iter("testcase")}
    for key, status in s.expected.items():
        props = {p.get("name"): p.get("value") for p in cases[key].iter("property")}
        assert props["runcompare_status"] == status, key
        assert (cases[key].find("failure") is not None) is (status == "failed")
    # GitHub annotations: an error for exactly the gates that fail the session
    errors = {
        line.split("title=runcompare ")[1].split("::")[0].replace("%3A", ":")
        for line in result.outlines
        if line.startswith("::error ")
    }
    failing = {k for k, v in s.expected.items() if v in ("failed", "error")}
    assert errors == failing
    return data["judgement"], result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_face_says_the_same(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scenario: Scenario,
) -> None:
    root = _build(pytester, scenario)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    plugin, _ = _plugin_faces(pytester, scenario)
    # The command judges the same request into the same judgement.
    ext = ".jsonl" if scenario.binary else ""
    argv = [
        "compare",
        str(root / "runs" / f"baseline{ext}"),
        str(root / "runs" / f"candidate{ext}"),
        "--config",
        str(root / "runcompare.yaml"),
        "--json",
        str(root / "cli.json"),
    ]
    if scenario.custom:
        monkeypatch.syspath_prepend(str(root))
        argv += ["--plugin", "custom_tests"]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == (0 if scenario.passes else 1), out
    cli = json.loads((root / "cli.json").read_text())
    assert cli["summary"]["passed"] is scenario.passes
    assert cli["judgement"]["gates"] == plugin["gates"]
    for key, status in scenario.expected.items():
        row = next(line for line in out.splitlines() if line.startswith(f"{key} "))
        assert _row_status(row.split("  ")[-1].strip()) == status


@pytest.mark.parametrize(
    "scenario",
    [
        s
        for s in SCENARIOS
        if s.name.startswith(("an active", "an expired", "a custom"))
    ],
    ids=lambda s: s.name,
)
def test_every_face_says_the_same_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, scenario: Scenario
) -> None:
    _build(pytester, scenario)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    single, _ = _plugin_faces(pytester, scenario)
    parallel, _ = _plugin_faces(pytester, scenario, "-n", "2")
    assert parallel["gates"] == single["gates"]
