"""Every default path's error rate, by seeded simulation: the cells of
``benchmarks/error_rates.py`` run small here, and each must hold α + 1 point within a
binomial allowance (the benchmark runs them long and prints the table).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from error_rates import CELLS, allowance

SIMS = 300


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.name)
def test_error_rate_holds(cell) -> None:
    wrong, sims = cell.rate(SIMS)
    assert wrong / sims <= allowance(sims), (
        f"{cell.name}: {cell.error} {wrong}/{sims} = {wrong / sims:.3f} "
        f"> {allowance(sims):.3f}"
    )
