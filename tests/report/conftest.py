"""Fixtures for the report tests: a realistic comparison and its verdicts."""

from __future__ import annotations

from typing import Any

import pytest
from report_data import make_comparison, make_judgement, make_verdicts

from pytest_runcompare.comparison import RunComparisonResult


@pytest.fixture(scope="session")
def comparison() -> RunComparisonResult:
    return make_comparison()


@pytest.fixture(scope="session")
def verdicts(comparison: RunComparisonResult) -> list[Any]:
    return make_verdicts(comparison)


@pytest.fixture(scope="session")
def judgement(comparison: RunComparisonResult, verdicts: list[Any]) -> Any:
    return make_judgement(comparison, verdicts)


@pytest.fixture(scope="module")
def browser() -> Any:
    """A headless Chromium for one test module (see chromium.py for the skip marks)."""
    from chromium import ARGS, CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
