"""Without a configured report path, a comparison still leaves an HTML report."""

from __future__ import annotations

import pytest
from helpers import DEFAULT_GATES, make_records, make_repo, summary_section


def test_a_comparison_without_a_report_path_writes_the_default_report(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(pytester, make_records(), make_records(noise=0.001))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    report = repo / ".runcompare" / "report.html"
    assert f"html report: {report}" in summary_section(result)
    html = report.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html
    assert sorted(p.name for p in (repo / ".runcompare").iterdir()) == ["report.html"]


def test_a_failing_gate_names_the_default_report(pytester: pytest.Pytester) -> None:
    repo = make_repo(pytester, make_records(), make_records(shift={(None, None): -0.2}))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"report: {repo / '.runcompare' / 'report.html'}"])
    assert (repo / ".runcompare" / "report.html").is_file()


def test_a_configured_report_path_replaces_the_default(
    pytester: pytest.Pytester,
) -> None:
    repo = make_repo(
        pytester,
        make_records(),
        make_records(noise=0.001),
        DEFAULT_GATES + "report:\n  markdown: out/summary.md\n",
    )
    result = pytester.runpytest("--runcompare-report", "out/report.html")
    assert result.ret == pytest.ExitCode.OK
    assert (repo / "out" / "report.html").is_file()
    assert (repo / "out" / "summary.md").is_file()
    assert not (repo / ".runcompare").exists()


def test_the_default_report_never_replaces_an_input(pytester: pytest.Pytester) -> None:
    """A candidate run kept at .runcompare/report.html is left alone, with a note."""
    gates = DEFAULT_GATES.replace(
        "candidate: runs/candidate", "candidate: .runcompare/report.html"
    )
    repo = make_repo(pytester, make_records(), make_records(noise=0.001), gates)
    (repo / ".runcompare").mkdir()
    (repo / "runs" / "candidate").rename(repo / ".runcompare" / "report.html")
    before = (repo / ".runcompare" / "report.html" / "datapoints.jsonl").read_bytes()
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    report = repo / ".runcompare" / "report.html"
    assert (
        f"refusing to write the html report {report}: it is a directory, not a "
        "regular file; give the path of a file to write (the default location; set "
        "--runcompare-report or the gates file's report.html to write it elsewhere)"
    ) in summary_section(result)
    assert (report / "datapoints.jsonl").read_bytes() == before
    assert not any(line.startswith("html report:") for line in summary_section(result))


def test_a_session_that_compares_nothing_writes_no_report(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    assert not (pytester.path / ".runcompare").exists()
