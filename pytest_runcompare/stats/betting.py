"""A finite-sample test and interval for the mean of bounded differences, by betting.

The t and bootstrap-t references are asymptotic: for scores in [0, 1] with mass at 0
and 1 (judge-style scores) and a regression that turns a few 1s into 0s, they pass a
regression at the margin far more often than α at small n (docs/statistics.md §10).
A bound that uses only the known range of the differences holds at every n, whatever
their shape: the predictable plug-in betting martingale of Waudby-Smith & Ramdas
(2024), "Estimating means of bounded random variables by betting", *JRSS B*
86:1–27, §4 and eq. (26)–(27).

For a candidate mean ``m`` the capital ``K(m) = Π_i (1 + λ_i (x_i − m))`` with
``λ_i ≥ 0`` chosen from ``x_1..x_{i−1}`` only has expectation at most 1 whenever the
true mean is at most ``m``, so ``1/K(m)`` is a p-value for ``μ ≤ m`` (Ville /
Markov). Averaging the capital over random orders of the data keeps that (an average
of e-values is an e-value) and removes most of the dependence on the order.
"""

from __future__ import annotations

import math

import numpy as np

from pytest_runcompare.stats._validation import (
    as_1d,
    check_alternative,
    check_level,
    check_number,
    check_rng,
)
from pytest_runcompare.stats.continuous import MEAN_OF_D
from pytest_runcompare.stats.result import TestResult

__all__ = ["BETTING", "betting_mean_test"]

BETTING = "betting bound (finite-sample, bounded differences)"

#: Orders of the data whose capital is averaged.
ORDERS = 32
#: Points of the grid of candidate means the interval is read from.
GRID = 201
#: The bet never risks more than this share of the capital (λ ≤ c/m).
TRUNCATION = 0.75


def _bets(x: np.ndarray, alpha: float) -> np.ndarray:
    """The untruncated predictable bets ``λ_i`` of each order: shape (orders, n).

    ``λ_i = √(2·log(1/α) / (n·σ̂²_{i−1}))`` with the running mean and variance
    regularised by one pseudo-observation at mean 1/2, variance 1/4 (eq. 26–27).
    """
    orders, n = x.shape
    i = np.arange(1, n + 1)
    mu = (0.5 + np.cumsum(x, axis=1)) / (i + 1)
    var = (0.25 + np.cumsum((x - mu) ** 2, axis=1)) / (i + 1)
    var_prev = np.concatenate([np.full((orders, 1), 0.25), var[:, :-1]], axis=1)
    out: np.ndarray = np.sqrt(2 * math.log(1 / alpha) / (n * var_prev))
    return out


def _log_capital(
    x: np.ndarray, means: np.ndarray, alpha: float, bets: np.ndarray | None = None
) -> np.ndarray:
    """``log K(m)`` for "mean > m", each order and each m: shape (orders, means)."""
    lam = _bets(x, alpha) if bets is None else bets
    cap = TRUNCATION / np.maximum(means, 1e-12)  # (means,)
    lam_m = np.minimum(lam[:, :, None], cap[None, None, :])
    out: np.ndarray = np.log1p(lam_m * (x[:, :, None] - means[None, None, :])).sum(
        axis=1
    )
    return out


def _p_and_bound(
    x: np.ndarray, m0: float, alpha: float, rng: np.random.Generator
) -> tuple[float, float]:
    """One side ("mean > m0"): the p-value and the lower confidence bound at 1 − α.

    ``p = sup_{m ≤ m0} 1/K̄(m)`` (valid for the composite null ``μ ≤ m0``) and
    ``L = inf{m : K̄(m) < 1/α}``, read on one grid that contains ``m0``, so ``L``
    clears ``m0`` exactly when ``p ≤ α``.
    """
    grid = np.unique(np.concatenate([np.linspace(0.0, 1.0, GRID), [m0]]))
    perms = np.stack([rng.permutation(x) for _ in range(ORDERS)])
    threshold = math.log(1 / alpha)

    bets = _bets(perms, alpha)

    def log_mean(means: np.ndarray) -> np.ndarray:
        log_k = _log_capital(perms, means, alpha, bets)
        top = log_k.max(axis=0)
        out: np.ndarray = top + np.log(np.mean(np.exp(log_k - top), axis=0))
        return out  # log K̄(m)

    values = log_mean(grid)
    p = float(min(1.0, math.exp(-float(values[grid <= m0].min()))))
    kept = np.flatnonzero(values < threshold)  # means the data cannot rule out
    if not kept.size:
        return p, 1.0
    first = int(kept[0])
    if first == 0:
        return p, 0.0
    lo, hi = float(grid[first - 1]), float(grid[first])  # ruled out, not ruled out
    for _ in range(30):  # the crossing, between two grid points
        mid = (lo + hi) / 2
        if log_mean(np.array([mid]))[0] >= threshold:
            lo = mid
        else:
            hi = mid
    return p, hi


def betting_mean_test(
    d: object,
    *,
    lower: float,
    upper: float,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    rng: np.random.Generator,
) -> TestResult:
    """Finite-sample test and interval for the mean of differences in ``[lower, upper]``.

    Valid at every n for any distribution on that range (no normal approximation);
    wider than the t at large n, so gates use it as a second bound only at small n
    on bounded scores (docs/statistics.md §3).

    Parameters
    ----------
    d : array_like
        Oriented paired differences, each in ``[lower, upper]``.
    lower, upper : float
        The range the differences can take (``[−1, 1]`` for scores in [0, 1]).
    null, alternative, confidence_level
        As in :func:`pytest_runcompare.stats.continuous.paired_t`.
    rng : numpy.random.Generator
        Source of the random orders (seed it for reproducibility).

    Returns
    -------
    TestResult

    """
    arr = as_1d(d, "d", min_size=2)
    lower = check_number(lower, "lower")
    upper = check_number(upper, "upper")
    if not upper > lower:
        raise ValueError(f"`upper` must exceed `lower`, got [{lower}, {upper}].")
    if arr.min() < lower or arr.max() > upper:
        raise ValueError(f"every difference must lie in [{lower}, {upper}].")
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    rng = check_rng(rng)
    width = upper - lower
    x = (arr - lower) / width
    m0 = min(max((null - lower) / width, 0.0), 1.0)
    tail = (1 - level) / 2
    p_greater, low_x = _p_and_bound(x, m0, tail, rng)
    p_less, high_flipped = _p_and_bound(1 - x, 1 - m0, tail, rng)
    p = {
        "greater": p_greater,
        "less": p_less,
        "two-sided": min(1.0, 2 * min(p_greater, p_less)),
    }[alternative]
    est = float(arr.mean())
    return TestResult(
        test=BETTING,
        tests_what=MEAN_OF_D,
        estimate=est,
        pvalue=p,
        null=null,
        alternative=alternative,
        ci_low=lower + width * low_x,
        ci_high=lower + width * (1 - high_flipped),
        confidence_level=level,
        se=float(arr.std(ddof=1)) / math.sqrt(arr.size),
        n=arr.size,
        extra={"range": [lower, upper], "orders": ORDERS},
    )
