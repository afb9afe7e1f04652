"""What a session prints and writes: the gate table, JUnit XML, GitHub outputs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from helpers import make_records, make_repo, outcomes_by_nodeid, summary_section

# Line 4: score (passes), line 7: quality and quality[lang:de] (the slice fails).
GATES = """\
baseline: runs/baseline
candidate: runs/candidate
metrics:
  score:
    direction: higher
    margin: 0.05
  quality:
    direction: higher
    margin: 0.05
    slices: [lang:de]
"""
METRICS = ("score", "quality")


@pytest.fixture
def repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """``score`` unchanged, ``quality`` 0.2 worse on ``lang:de`` (0.1 overall)."""
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    make_repo(
        pytester,
        make_records(metrics=METRICS),
        make_records(
            metrics=METRICS, shift={("quality", "lang:de"): -0.2}, noise=0.001
        ),
        GATES,
    )
    return pytester


def test_terminal_summary_is_one_table_of_every_gate(repo: pytest.Pytester) -> None:
    result = repo.runpytest("-rA", "--runcompare-report", "out/report.html")
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::score": "PASSED",
        "runcompare.yaml::quality": "FAILED",
        "runcompare.yaml::quality[lang:de]": "FAILED",
    }
    section = summary_section(result)
    assert section[0].split() == [
        "gate",
        "old",
        "new",
        "change",
        "(+",
        "=",
        "better)",
        "interval",
        "p",
        "(adj)",
        "status",
    ]
    rows = {line.split()[0]: line for line in section[1:4]}
    assert list(rows) == ["score", "quality", "quality[lang:de]"]
    # The figures: old and new aggregates, the change and its interval, p, status.
    cells = rows["quality[lang:de]"].split()
    assert float(cells[1]) - float(cells[2]) == pytest.approx(0.2, abs=1e-3)
    assert cells[3].startswith("-0.200")
    assert re.fullmatch(r"\[-0\.2\d*,", cells[4])
    assert re.fullmatch(r"-0\.19\d*\]", cells[5])
    assert cells[6:] == ["1", "fail"]
    assert rows["score"].endswith("  pass")
    assert abs(float(rows["score"].split()[3])) < 1e-3
    # Columns line up: every row starts its columns where the header does.
    header = section[0]
    status_col = header.index("status")
    assert all(
        row.rindex("  pass" if row.endswith("pass") else "  fail") + 2 == status_col
        for row in rows.values()
    )
    # The slice nobody gated is a warn-only row, and the report path is listed.
    assert any(line.startswith("quality[lang:en]") for line in section) is False
    assert f"html report: {repo.path / 'out' / 'report.html'}" in section
    assert (repo.path / "out" / "report.html").is_file()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_table_rows_are_coloured_like_pytest(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--color=yes")
    raw = result.outlines
    start = next(
        i for i, line in enumerate(raw) if "runcompare" in line and "=" in line
    )
    table = raw[start + 1 : start + 5]
    assert table[0].startswith("\x1b[1mgate"), table[0]  # bold header
    colours = {
        re.sub(r"\x1b\[[0-9;]*m", "", line).split()[0]: line for line in table[1:]
    }
    assert colours["score"].startswith("\x1b[32m")  # green
    assert colours["quality"].startswith("\x1b[31m")  # red
    assert colours["quality[lang:de]"].startswith("\x1b[31m")


def test_no_summary_when_no_gate_ran(repo: pytest.Pytester) -> None:
    result = repo.runpytest("-k", "no_such_gate")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert summary_section(result) == []
    collected = repo.runpytest("--collect-only", "-q")
    assert "runcompare.yaml::quality[lang:de]" in collected.outlines
    assert summary_section(collected) == []


def test_junitxml_records_every_gates_figures(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    tree = ET.parse(repo.path / "junit.xml")
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    assert set(cases) == {"score", "quality", "quality[lang:de]"}
    props = {
        name: {p.get("name"): p.get("value") for p in case.iter("property")}
        for name, case in cases.items()
    }
    slice_props = props["quality[lang:de]"]
    assert slice_props["runcompare_gate"] == "quality[lang:de]"
    assert slice_props["runcompare_status"] == "failed"
    assert slice_props["runcompare_outcome"] == "fail"
    assert slice_props["runcompare_mode"] == "non_inferiority"
    assert slice_props["runcompare_n_paired"] == "100"
    assert slice_props["runcompare_degraded_count"] == "100"
    assert slice_props["runcompare_margin"] == "0.05"
    change = float(slice_props["runcompare_candidate_aggregate"]) - float(
        slice_props["runcompare_baseline_aggregate"]
    )
    assert change == pytest.approx(-0.2, abs=1e-3)
    assert float(slice_props["runcompare_estimate"]) == pytest.approx(change, abs=1e-6)
    low, high = (
        float(slice_props["runcompare_ci_low"]),
        float(slice_props["runcompare_ci_high"]),
    )
    assert low <= float(slice_props["runcompare_estimate"]) <= high
    assert "paired t" in slice_props["runcompare_test"]
    assert props["score"]["runcompare_status"] == "passed"
    assert props["score"]["runcompare_n_paired"] == "200"
    assert float(props["score"]["runcompare_p_value"]) < 0.05
    # The failure text is the gate's sentence.
    failure = cases["quality[lang:de]"].find("failure")
    assert failure is not None
    assert "non-inferiority margin 0.05: FAIL" in failure.get("message", "")


def test_github_step_summary_gets_the_markdown_appended(
    repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = repo.path / "step_summary.md"
    summary.write_text("## earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    repo.runpytest()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## earlier step\n")
    appended = text[len("## earlier step\n") :]
    assert "runcompare" in appended.splitlines()[0]
    assert "| gate | status | baseline | candidate |" in appended
    rows = {
        line.split(" | ")[1]: line
        for line in appended.splitlines()
        if line.startswith("| ")
    }
    assert rows["quality\\[lang:de\\]"].startswith(
        "| ❌ | quality\\[lang:de\\] | fail | 0.6894"
    )
    assert rows["score"].startswith("| ✅ | score | pass | 0.71")
    assert appended.startswith("<!-- runcompare:")  # a CI step finds its comment
    assert "2 of 3 gates failed" in appended.splitlines()[1]
    # A second session appends again rather than overwriting.
    repo.runpytest()
    again = summary.read_text(encoding="utf-8")
    assert again.startswith(text)
    assert again[len(text) :] == appended


def test_step_summary_headline_agrees_with_the_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quality is 0.06 worse on lang:de only: the declared gate (-0.03) passes, the
    # warn-only slice lang:de fails without failing the build.
    make_repo(
        pytester,
        make_records(metrics=METRICS),
        make_records(metrics=METRICS, shift={("quality", "lang:de"): -0.06}),
        GATES.replace("    slices: [lang:de]\n", ""),
    )
    summary = pytester.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    assert "warn-only fail" in "\n".join(summary_section(result))
    headline = summary.read_text(encoding="utf-8").splitlines()[0]
    assert "failed" not in headline
    assert "❌" not in headline


def test_github_actions_annotations_point_at_the_gates_line(
    repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = repo.runpytest()
    commands = [line for line in result.outlines if "::error" in line]
    # Workflow commands only count at the start of a line.
    assert all(line.startswith("::error ") for line in commands), commands
    assert len(commands) == 2
    quality, quality_de = sorted(commands)
    assert quality.startswith(
        "::error file=runcompare.yaml,line=7,title=runcompare quality::quality: "
    )
    # Property values escape ':' and ',' (the title), the message escapes '%'.
    assert quality_de.startswith(
        "::error file=runcompare.yaml,line=7,title=runcompare quality[lang%3Ade]::"
        "quality[lang:de]: 0.6894"
    )
    assert "90%25 CI" in quality_de
    assert "FAIL" in quality_de
    # A passing gate is no error (a warning at most, when its verdict has one).
    warnings = [line for line in result.outlines if "::warning" in line]
    assert all(
        line.startswith(
            "::warning file=runcompare.yaml,line=4,title=runcompare score::"
        )
        for line in warnings
    ), warnings


def test_github_annotations_name_the_file_from_the_workspace(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workspace is the repository; pytest's rootdir is its evals/ sub-folder.
    make_repo(
        pytester,
        make_records(),
        make_records(shift={(None, None): -0.2}),
        "baseline: ../runs/baseline\ncandidate: ../runs/candidate\nmetrics:\n"
        "  score: {margin: 0.05, direction: higher}\n",
    )
    evals = pytester.mkdir("evals")
    for name in ("runcompare.yaml", "tox.ini"):
        (pytester.path / name).rename(evals / name)
    monkeypatch.chdir(evals)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = pytester.runpytest()
    commands = [line for line in result.outlines if line.startswith("::error")]
    assert len(commands) == 1
    assert commands[0].startswith(
        "::error file=evals/runcompare.yaml,line=4,title=runcompare score::score: "
    )


def test_no_github_outputs_outside_github(repo: pytest.Pytester) -> None:
    result = repo.runpytest()
    assert not [line for line in result.outlines if "::error" in line]
    assert not (repo.path / "step_summary.md").exists()


def test_summary_printed_once_by_the_xdist_controller(repo: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = repo.runpytest("-n", "1", "-p", "xdist")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    headers = [line for line in result.outlines if line.strip("= ") == "runcompare"]
    assert len(headers) == 1
    rows = [line.split()[0] for line in summary_section(result)[1:4]]
    assert rows == ["score", "quality", "quality[lang:de]"]
