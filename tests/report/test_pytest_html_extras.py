"""pytest-html shows each gate's figures in its own report (pytester, real session)."""

from __future__ import annotations

import html
import importlib.util

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pytest_html") is None,
    reason="pytest-html is not installed (pip install pytest-html; CI installs it)",
)


def test_gate_figures_appear_in_pytest_html_report(pytester: pytest.Pytester) -> None:
    pytester.copy_example("sklearn_classifier")
    result = pytester.runpytest(
        "-p",
        "pytest_runcompare.pytest_html_extras",
        "--html=out/pytest-report.html",
        "--self-contained-html",
        "runcompare.yaml",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) >= 3
    text = html.unescape((pytester.path / "out" / "pytest-report.html").read_text())
    assert text.count("runcompare-gates") >= 3  # one table per gate, JSON-encoded
    assert "runcompare-verdict" in text
    assert "log_loss" in text
    assert "p (adj.)" in text


def test_other_tests_get_no_extras(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest(
        "-p",
        "pytest_runcompare.pytest_html_extras",
        "--html=r.html",
        "--self-contained-html",
    )
    result.assert_outcomes(passed=1)
    assert "runcompare-gates" not in (pytester.path / "r.html").read_text()
