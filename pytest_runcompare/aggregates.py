"""Aggregations of a metric over datapoints: mean, median, sum, rate and percentiles.

The one place aggregate names are parsed: :func:`compare_runs` and the gates both
validate with :func:`check_aggregate`, read quantile levels with
:func:`quantile_of` and aggregate with :func:`aggregate`.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from pytest_runcompare.errors import ConfigError

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
NAMED = ("mean", "median", "sum", "rate")
ACCEPTED = "mean, median, sum, rate (share of truthy values), or a percentile pNN (p50, p90, p95, p99)"


def check_aggregate(name: str) -> str:
    """Return ``name`` if it is a known aggregate, else raise :class:`ConfigError`."""
    if name in NAMED or quantile_of(name) is not None:
        return name
    raise ConfigError(f"unknown aggregate {name!r}; accepted: {ACCEPTED}")


def quantile_of(name: str) -> float | None:
    """The quantile an aggregate stands for (``p95`` -> 0.95, ``median`` -> 0.5), else None."""
    if name == "median":
        return 0.5
    match = _PERCENTILE.match(name)
    if match is None:
        return None
    q = float(match.group(1)) / 100
    return q if 0 < q < 1 else None


def aggregate(values: npt.NDArray[np.float64], name: str) -> float | None:
    """Aggregate finite ``values``; ``None`` when there are none to aggregate."""
    if values.size == 0:
        return None
    if name == "mean":
        return float(values.mean())
    if name == "sum":
        return float(values.sum())
    if name == "rate":
        return float(np.count_nonzero(values) / values.size)
    q = quantile_of(name)
    if q is None:
        # mean, sum, rate and median are handled above: anything else is unknown.
        raise ConfigError(f"unknown aggregate {name!r}; accepted: {ACCEPTED}")
    return float(np.quantile(values, q))
