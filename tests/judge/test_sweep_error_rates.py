"""A sweep's family error rates, by seeded simulation through ``judge_sweep``.

The quick cells of ``benchmarks/sweep_error_rates.py`` run here; each controlled cell
must hold α + 1 point within a binomial allowance, and without the correction across
candidates the family's rate must exceed α (the correction is what holds it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from sweep_error_rates import ALPHA, CELLS, allowance

SIMS = 250


@pytest.mark.parametrize(
    "cell", [c for c in CELLS if c.quick and c.controlled], ids=lambda c: c.name
)
def test_family_error_rate_holds(cell) -> None:
    wrong, sims = cell.rate(SIMS)
    assert wrong / sims <= allowance(sims), (
        f"{cell.name}: {cell.error} {wrong}/{sims} = {wrong / sims:.3f} "
        f"> {allowance(sims):.3f}"
    )


def test_without_the_correction_across_candidates_the_family_rate_exceeds_alpha() -> (
    None
):
    cell = next(c for c in CELLS if c.name == "a/a K=8 n=500 uncorrected")
    wrong, sims = cell.rate(150)
    # each candidate's family (Holm) at alpha: about 1 - 0.95^8 of A/A sweeps fail
    assert wrong / sims > ALPHA + 0.05
