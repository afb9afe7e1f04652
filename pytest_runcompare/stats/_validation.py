"""Shared argument checks for the stats functions (raise ValueError/TypeError)."""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from pytest_runcompare.stats.result import ALTERNATIVES, Alternative


class InsufficientData(ValueError):
    """The data are too few or too degenerate for the test (not a programming error).

    A gate turns it into a fail-closed verdict with the message as its reason
    (docs/statistics.md §4); any other ``ValueError`` is a bug and propagates.
    """


def as_1d(x: object, name: str, *, min_size: int = 1) -> np.ndarray:
    """Return ``x`` as a finite 1-D float64 array or raise a clear error."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be an array of numbers: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}.")
    if arr.size < min_size:
        raise InsufficientData(
            f"`{name}` needs at least {min_size} observation(s), got {arr.size}."
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return arr


def check_alternative(alternative: object) -> Alternative:
    """Validate the ``alternative`` keyword."""
    if alternative not in ALTERNATIVES:
        raise ValueError(
            f"`alternative` must be one of {', '.join(map(repr, ALTERNATIVES))}; "
            f"got {alternative!r}."
        )
    return cast(Alternative, str(alternative))


def check_level(confidence_level: object) -> float:
    """Validate a confidence level in (0, 1)."""
    if isinstance(confidence_level, bool) or not isinstance(
        confidence_level, int | float
    ):
        raise TypeError("`confidence_level` must be a number in (0, 1).")
    if not 0.0 < float(confidence_level) < 1.0:
        raise ValueError(
            f"`confidence_level` must be in (0, 1), got {confidence_level!r}."
        )
    return float(confidence_level)


def check_number(value: object, name: str) -> float:
    """Validate a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"`{name}` must be a real number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    return out


def check_rng(rng: object) -> np.random.Generator:
    """Require an explicit ``numpy.random.Generator`` (no global state)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "`rng` must be a numpy.random.Generator, e.g. "
            "numpy.random.default_rng(seed)."
        )
    return rng


def check_resamples(n_resamples: object) -> int:
    """Validate a resample count."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer):
        raise TypeError("`n_resamples` must be an integer.")
    if int(n_resamples) < 99:
        raise ValueError(f"`n_resamples` must be at least 99, got {n_resamples}.")
    return int(n_resamples)
