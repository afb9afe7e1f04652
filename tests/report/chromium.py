"""Headless Debian Chromium for the report's browser tests, driven by playwright.

One place for the executable, its flags and the skip marks: a machine without
playwright or Chromium skips these tests with a reason (CI installs both).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("RUNCOMPARE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: The marks of every browser test (``pytestmark = NEEDS_BROWSER`` or ``needs_browser``).
NEEDS_BROWSER = [
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install playwright; CI installs it)",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; CI installs it)",
    ),
]


def needs_browser(test: Any) -> Any:
    """Run ``test`` only where playwright and Chromium are."""
    for mark in NEEDS_BROWSER:
        test = mark(test)
    return test
