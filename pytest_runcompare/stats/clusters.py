"""Replicates as clusters: cluster-robust standard error of a mean.

Several seeds of one configuration, or Inspect-style epochs, give several rows per
datapoint. They are not independent datapoints: the standard error must treat each
datapoint (cluster) as the unit.
"""

from __future__ import annotations

import numpy as np


def cluster_codes(clusters: object, n: int) -> tuple[np.ndarray, int]:
    """Return dense cluster codes ``0..G-1`` aligned with ``n`` rows, and ``G``."""
    codes = np.asarray(clusters)
    if codes.ndim != 1 or codes.size != n:
        raise ValueError(
            f"`clusters` must be one code per observation ({n}), got shape "
            f"{codes.shape}."
        )
    _, dense = np.unique(codes, return_inverse=True)
    return dense.astype(np.intp, copy=False), int(dense.max()) + 1 if n else 0


def cluster_robust_se(x: np.ndarray, clusters: object) -> tuple[float, int]:
    """Cluster-robust (CR1) standard error of ``mean(x)``.

    ``SE² = G/(G−1) · Σ_g (Σ_{i∈g} (x_i − x̄))² / n²``: sum the residuals within
    each cluster, square, add (Miller, *Adding Error Bars to Evals*,
    arXiv:2411.00640, 2024, eq. for clustered SEs), with the usual ``G/(G−1)``
    small-sample factor so that singleton clusters give exactly the ordinary
    ``s/√n`` of the paired t-test.

    Returns
    -------
    se : float
        The standard error.
    n_clusters : int
        ``G``; use ``G − 1`` degrees of freedom for a t reference distribution.

    """
    n = x.size
    codes, g = cluster_codes(clusters, n)
    if g < 2:
        return float("nan"), g
    resid = x - x.mean()
    sums = np.bincount(codes, weights=resid, minlength=g)
    var = g / (g - 1) * float(np.dot(sums, sums)) / n**2
    return float(np.sqrt(var)), g


def has_replicates(clusters: object | None, n: int) -> bool:
    """Whether ``clusters`` groups at least two observations together."""
    if clusters is None:
        return False
    _, g = cluster_codes(clusters, n)
    return g < n
