"""Paired statistics for non-regression gates: pure numpy/scipy, no pytest.

Every test is written for the *oriented* difference (positive = candidate better)
and follows scipy's shape: a public function with keyword-only knobs
(``null``, ``alternative``, ``confidence_level``, ``rng``), a private ``_<name>_iv``
validator, and a frozen :class:`~pytest_runcompare.stats.result.TestResult`.
See ``docs/statistics.md`` for the methods and the references.
"""

from __future__ import annotations

from pytest_runcompare.stats.result import TestResult

__all__ = ["TestResult"]
