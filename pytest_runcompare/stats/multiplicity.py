"""Multiplicity adjustments for a family of regression-detection gates."""

from __future__ import annotations

import numpy as np
from scipy import stats as st

CORRECTIONS: tuple[str, ...] = ("holm", "bh", "bonferroni", "none")


def _pvalues_iv(pvalues: object) -> np.ndarray:
    """Validate a 1-D array of p-values in [0, 1]."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"`pvalues` must be one-dimensional, got shape {p.shape}.")
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise ValueError("`pvalues` must lie in [0, 1] (no NaN).")
    return p


def holm(pvalues: object) -> np.ndarray:
    """Holm's step-down adjusted p-values (strong FWER control, any dependence).

    ``p̃_(i) = max_{j ≤ i} min(1, (k − j + 1)·p_(j))`` for sorted p-values
    (Holm, "A simple sequentially rejective multiple test procedure",
    *Scand J Stat* 6:65–70, 1979). Not in scipy.
    """
    p = _pvalues_iv(pvalues)
    k = p.size
    if k == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (k - np.arange(k)) * p[order])
    out = np.empty(k)
    out[order] = np.maximum.accumulate(scaled)
    return out


def bonferroni(pvalues: object) -> np.ndarray:
    """Bonferroni-adjusted p-values ``min(1, k·p)``."""
    p = _pvalues_iv(pvalues)
    out: np.ndarray = np.minimum(1.0, p * p.size)
    return out


def benjamini_hochberg(pvalues: object) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (FDR; Simes global test under H0).

    Wraps ``scipy.stats.false_discovery_control(p, method="bh")`` (Benjamini &
    Hochberg, *JRSS-B* 57:289–300, 1995). Valid under independence or positive
    regression dependence (Benjamini & Yekutieli, *Ann Stat* 29:1165–1188, 2001).
    """
    p = _pvalues_iv(pvalues)
    if p.size == 0:
        return p.copy()
    return np.asarray(st.false_discovery_control(p, method="bh"), dtype=np.float64)


def adjust(pvalues: object, method: str = "holm") -> np.ndarray:
    """Adjust p-values with ``method`` in ``CORRECTIONS``."""
    if method not in CORRECTIONS:
        raise ValueError(
            f"`method` must be one of {', '.join(map(repr, CORRECTIONS))}; "
            f"got {method!r}."
        )
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    if method == "bonferroni":
        return bonferroni(pvalues)
    return _pvalues_iv(pvalues).copy()
