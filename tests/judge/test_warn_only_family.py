"""Warn-only slice gates form a family: noise across many slices is not flagged."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from pytest_runcompare.judge import Gate, Outcome, conclude_family, measure

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from error_rates import ALPHA, Paired, allowance, binary_pairs

SESSIONS = 200
SLICES = 20


def _session(rng: np.random.Generator, *, declared: bool) -> int:
    """Flagged (FAIL) slice gates in one A/A session of ``SLICES`` slices."""
    evidence = []
    for k in range(SLICES):
        data = Paired(
            binary_pairs(100, 0.8, 0.0)(rng), boolean=True, higher_is_better=True
        )
        gate = Gate(
            "m",
            slice=f"s{k}",
            mode="regression_detection",
            higher_is_better=True,
            declared=declared,
            correction="none",
        )
        evidence.append(measure(data, gate))
    verdicts = conclude_family(evidence).verdicts
    return sum(v.outcome is Outcome.FAIL for v in verdicts)


def test_an_unchanged_model_rarely_flags_any_warn_only_slice() -> None:
    rng = np.random.default_rng(7)
    flagged = [_session(rng, declared=False) for _ in range(SESSIONS)]
    sessions_flagged = sum(f > 0 for f in flagged) / SESSIONS
    assert sessions_flagged <= allowance(SESSIONS)


def test_without_the_family_most_sessions_would_flag_a_slice() -> None:
    # the same sessions judged slice by slice (declared, no correction): what a raw
    # p-value per slice would flag; shows the family test above can fail
    rng = np.random.default_rng(7)
    flagged = [_session(rng, declared=True) for _ in range(50)]
    assert sum(f > 0 for f in flagged) / 50 > 3 * ALPHA


def test_a_real_slice_regression_is_still_flagged() -> None:
    rng = np.random.default_rng(3)
    evidence = []
    for k in range(SLICES):
        delta = -0.25 if k == 0 else 0.0
        data = Paired(
            binary_pairs(200, 0.8, delta)(rng), boolean=True, higher_is_better=True
        )
        gate = Gate(
            "m", slice=f"s{k}", margin=0.05, higher_is_better=True, declared=False
        )
        evidence.append(measure(data, gate))
    verdicts = conclude_family(evidence).verdicts
    assert verdicts[0].outcome is Outcome.FAIL
    assert "bh-adjusted across the warn-only slices" in verdicts[0].text
    assert verdicts[0].passed  # warn-only: it never fails the session
