"""Fixtures of the reader tests: the real files other tools wrote (../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).parents[2].parent / "shared"
REAL = SHARED / "fixtures" / "real"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def real() -> Path:
    """The folder of real evaluation files; skip only when ../shared is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the real tool fixtures live there")
    return REAL


@pytest.fixture(scope="session")
def data() -> Path:
    """Small hand-written fixtures kept with the tests."""
    return DATA
