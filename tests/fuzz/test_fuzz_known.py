"""Every failure a fuzz campaign found (``benchmarks/fuzz.py``'s ``KNOWN``) stays fixed:
rebuilt from its seed and case, it ends in a run or a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import fuzzlib
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from fuzz import KNOWN


@pytest.mark.parametrize(
    ("seed", "case"), [(seed, case) for seed, case, _ in KNOWN], ids=str
)
def test_known_failure_stays_fixed(tmp_path: Path, seed: int, case: int) -> None:
    result = fuzzlib.run_case(seed, case, tmp_path, timeout=60)
    assert result.outcomes
    assert not result.bugs, "\n".join(
        f"{o.detail} at {o.where}\n  reproduce: python benchmarks/fuzz.py {o.recipe}"
        for o in result.bugs
    )
