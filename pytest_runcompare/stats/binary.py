"""Paired binary outcomes: Tango's score test, McNemar (exact, mid-p), Newcombe.

The paired 2×2 table counts ``both`` (both runs right), ``b`` (baseline right,
candidate wrong: a regression), ``c`` (baseline wrong, candidate right) and
``neither``; data must already be oriented so that 1 = good. The difference is
``δ = p_cand − p_base = (c − b)/N``. Also the unpaired fallback: a
Farrington–Manning score test and Newcombe's hybrid score interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy import stats as st

from pytest_runcompare.stats._validation import (
    check_alternative,
    check_level,
    check_number,
)
from pytest_runcompare.stats.result import TestResult

DIFF_OF_PROPORTIONS = "difference of proportions (paired)"


@dataclass(frozen=True, slots=True)
class PairedTable:
    """Counts of a paired 2×2 table (rows baseline, columns candidate; 1 first)."""

    both: int
    b: int
    c: int
    neither: int

    @property
    def n(self) -> int:
        """Number of pairs N."""
        return self.both + self.b + self.c + self.neither

    @property
    def estimate(self) -> float:
        """``δ̂ = (c − b)/N``, candidate minus baseline."""
        return (self.c - self.b) / self.n if self.n else math.nan

    @classmethod
    def from_matrix(cls, table: object) -> PairedTable:
        """Build from ``[[both, b], [c, neither]]`` (R/statsmodels layout)."""
        arr = np.asarray(table)
        if arr.shape != (2, 2):
            raise ValueError(f"a paired table must be 2×2, got shape {arr.shape}.")
        if (arr < 0).any() or (arr != np.round(arr)).any():
            raise ValueError("a paired table holds non-negative integer counts.")
        (a, b), (c, d) = arr.astype(int).tolist()
        return cls(a, b, c, d)


def paired_table(baseline: object, candidate: object) -> PairedTable:
    """Count the paired 2×2 table of two aligned 0/1 (or boolean) arrays."""
    base = np.asarray(baseline)
    cand = np.asarray(candidate)
    if base.shape != cand.shape or base.ndim != 1:
        raise ValueError("`baseline` and `candidate` must be aligned 1-D arrays.")
    bb = base.astype(bool) if base.dtype == bool else base == 1
    cc = cand.astype(bool) if cand.dtype == bool else cand == 1
    if base.dtype != bool and not (bb | (base == 0)).all():
        raise ValueError("`baseline` must contain only 0/1 values.")
    if cand.dtype != bool and not (cc | (cand == 0)).all():
        raise ValueError("`candidate` must contain only 0/1 values.")
    n = base.size
    n_b = int(np.count_nonzero(bb))
    n_c = int(np.count_nonzero(cc))
    both = int(np.count_nonzero(bb & cc))
    b = n_b - both
    c = n_c - both
    return PairedTable(both, b, c, n - both - b - c)


def _table_iv(table: object) -> PairedTable:
    """Accept a :class:`PairedTable` or a 2×2 matrix."""
    t = table if isinstance(table, PairedTable) else PairedTable.from_matrix(table)
    if t.n == 0:
        raise ValueError("the paired table is empty (N = 0).")
    return t


def _p_from_z(z: float, alternative: str) -> float:
    """Normal p-value for a statistic that grows with δ."""
    if alternative == "greater":
        return float(st.norm.sf(z))
    if alternative == "less":
        return float(st.norm.cdf(z))
    return float(min(1.0, 2 * st.norm.sf(abs(z))))


def _tango_t(delta0: float, b: float, c: float, n: float) -> float:
    """Tango's T(Δ0) for Δ = p_base − p_cand (Tango 1998, eq. 5).

    The restricted maximum-likelihood estimate solves the same quadratic when the
    counts are not integers (cluster-level tables), so real counts are accepted.
    """
    a_ = 2.0 * n
    b_ = -b - c + (2.0 * n - b + c) * delta0
    c_ = -c * delta0 * (1.0 - delta0)
    p21 = (math.sqrt(max(b_ * b_ - 4 * a_ * c_, 0.0)) - b_) / (2 * a_)
    var = n * (2 * p21 + delta0 * (1 - delta0))
    num = b - c - n * delta0
    if var <= 0:
        return 0.0 if num == 0 else math.copysign(math.inf, num)
    return num / math.sqrt(var)


#: Above this many pairs the exact unconditional p-value is replaced by the
#: asymptotic one (exact size then at most about 5.6% at α = 0.05, §3).
TANGO_EXACT_MAX_N = 1000
TANGO_METHODS = ("asymptotic", "exact-unconditional")


def _tango_z_grid(delta0: float, n: int) -> np.ndarray:
    """``z = −T(Δ0)`` of every table, vectorised :func:`_tango_t`.

    Entry ``[k, b]`` has ``b`` of ``k`` discordant pairs regressed (NaN where
    ``b > k``).
    """
    k = np.arange(n + 1, dtype=float)[:, None]
    b = np.arange(n + 1, dtype=float)[None, :]
    c = k - b
    a_ = 2.0 * n
    b_ = -k + (2.0 * n - b + c) * delta0
    c_ = -c * delta0 * (1.0 - delta0)
    p21 = (np.sqrt(np.maximum(b_ * b_ - 4 * a_ * c_, 0.0)) - b_) / (2 * a_)
    var = n * (2 * p21 + delta0 * (1 - delta0))
    num = b - c - n * delta0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
        t = np.where((var <= 0) & (num != 0), np.sign(num) * np.inf, t)
    z = -t
    z[b > k] = np.nan
    return z


def _tango_exact_pvalue(t: PairedTable, null: float, alternative: str) -> float:
    """Exact unconditional p-value of Tango's statistic at ``δ = null``.

    ``sup_ψ P_ψ(Z ≤ z_obs)`` (``"less"``; ``Z ≥ z_obs`` for ``"greater"``) over the
    discordance probability ``ψ = p_b + p_c`` on the null boundary
    ``p_c − p_b = null``, with ``(b, c)`` trinomial (Suissa & Shuster 1991; Sidik
    2003 for a non-zero margin). The probability factorises as
    ``Σ_k Bin(k; N, ψ)·P(B ≥ b*(k) | k)`` with ``B | k ~ Bin(k, p_b/ψ)``, where
    ``b*(k)`` is the fewest regressions among ``k`` discordant pairs that reach
    ``z_obs``; counting every ``b ≥ b*(k)`` can only add tables, so the p-value
    stays valid even where Z is not monotone in ``b``. The supremum is taken over
    a grid of 201 values of ψ and refined by bounded scalar minimisation.
    """
    return tango_null_tail(t.n, null, -_tango_t(-null, t.b, t.c, t.n), alternative)


def tango_null_tail(n: int, null: float, z_obs: float, alternative: str) -> float:
    """``sup_ψ P_ψ(Z ≤ z_obs)`` at ``δ = null`` (``Z ≥ z_obs`` for ``"greater"``).

    The exact unconditional tail of Tango's ``z`` over N pairs
    (:func:`_tango_exact_pvalue`); at ``z_obs = −z_{1−α}`` it is the exact size of
    the asymptotic one-sided test.
    """
    sign = 1.0 if alternative == "less" else -1.0  # regressions make z smaller
    z = _tango_z_grid(-null, n) * sign
    reach = np.nan_to_num(z, nan=np.inf) <= sign * z_obs + 1e-9
    if alternative == "greater":  # few regressions: b ≤ b_max(k)
        reach = reach[:, ::-1]
    ks = np.arange(n + 1)
    first = np.where(reach.any(axis=1), reach.argmax(axis=1), n + 1)
    if alternative == "greater":
        first = np.where(first <= n, n - first, -1)  # largest b that reaches
    lo_psi = abs(null)

    def probs(psi: np.ndarray) -> np.ndarray:
        psi = psi[:, None]
        pi = np.clip(
            np.divide(psi - null, 2 * psi, where=psi > 0, out=np.full_like(psi, 0.5)),
            0.0,
            1.0,
        )
        wk = st.binom.pmf(ks[None, :], n, psi)
        if alternative == "less":
            tail = st.binom.sf(first[None, :] - 1, ks[None, :], pi)
        else:
            tail = st.binom.cdf(first[None, :], ks[None, :], pi)
        out: np.ndarray = np.sum(wk * np.where(np.isfinite(tail), tail, 0.0), axis=1)
        return out

    grid = np.linspace(lo_psi, 1.0, 201)
    vals = probs(grid)
    i = int(vals.argmax())
    best = float(vals[i])
    lo_g, hi_g = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    if hi_g > lo_g:  # refine between the grid's neighbours of the maximum
        best = max(best, float(probs(np.linspace(lo_g, hi_g, 41)).max()))
    return min(1.0, best)


def tango_interval(
    table: object, *, confidence_level: float = 0.90
) -> tuple[float, float]:
    """Tango's score interval for ``δ = p_cand − p_base``: ``{δ0 : |T(−δ0)| ≤ z}``.

    Root-finds Tango's statistic with ``scipy.optimize.brentq``, as the reference
    implementation does with ``uniroot`` (Fagerland, Lydersen & Laake,
    *Statistical Analysis of Contingency Tables*, 2017, ch. 8; R package
    ocbe-uio/contingencytables ``Tango_asymptotic_score_CI_paired_2x2``).
    """
    t = _table_iv(table)
    level = check_level(confidence_level)
    z = float(st.norm.ppf((1 + level) / 2))
    tol = 1e-12
    lo_d, hi_d = -1 + tol, 1 - tol
    est_delta = (t.b - t.c) / t.n  # Δ̂ = p_base − p_cand

    def f(x: float, target: float) -> float:
        return _tango_t(x, t.b, t.c, t.n) - target

    # T decreases in Δ0: the lower Δ limit solves T = z, the upper T = −z.
    if est_delta <= -1 or f(lo_d, z) <= 0:
        low_delta = -1.0
    else:
        low_delta = optimize.brentq(
            f, lo_d, min(est_delta + tol, hi_d), args=(z,), xtol=1e-14
        )
    if est_delta >= 1 or f(hi_d, -z) >= 0:
        high_delta = 1.0
    else:
        high_delta = optimize.brentq(
            f, max(est_delta - tol, lo_d), hi_d, args=(-z,), xtol=1e-14
        )
    return -high_delta, -low_delta


def tango_test(
    table: object,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    method: str = "asymptotic",
) -> TestResult:
    """Tango's score test for a difference of paired proportions with a margin.

    With ``Δ = p_base − p_cand = (b − c)/N`` and null value ``Δ0 = −null``::

        A = 2N;  B = −b − c + (2N − b + c)·Δ0;  C = −c·Δ0·(1 − Δ0)
        p̃21 = (√(B² − 4AC) − B) / (2A)
        T(Δ0) = (b − c − N·Δ0) / √(N·(2·p̃21 + Δ0·(1 − Δ0)))

    and ``z = −T`` is referred to N(0, 1) (Tango, "Equivalence test and confidence
    interval for the difference in proportions for the paired-sample design",
    *Stat Med* 17:891–908, 1998; formula as in ocbe-uio/contingencytables
    ``test_statistic.4``/``ML_estimate.4``). ``T(0)`` is McNemar's z. It keeps its
    level when the runs rarely disagree, where a paired t on {−1, 0, 1} does not
    (docs/statistics.md §3), and works with empty discordant cells.

    Parameters
    ----------
    table : PairedTable or array_like
        The oriented paired table ``[[both, b], [c, neither]]``.
    null : float
        δ0 in (−1, 1); ``-m`` for a non-inferiority margin ``m``.
    alternative : {"greater", "less", "two-sided"}
        H1 relative to ``null`` for ``δ = p_cand − p_base``.
    confidence_level : float
        Level of the two-sided score interval.
    method : {"asymptotic", "exact-unconditional"}
        ``"asymptotic"`` refers ``z`` to N(0, 1). Its exact size with a margin
        reaches 7.5% for ``alternative="less"`` (regression detection) at
        20 ≤ N ≤ 200. ``"exact-unconditional"`` (one-sided only) gives the exact
        unconditional p-value ``sup_ψ P(Z ≤ z_obs)`` over the discordance
        probability ψ at the null boundary (Suissa, S. & Shuster, J. J. (1991),
        "The 2 x 2 matched-pairs trial: exact unconditional design and analysis",
        *Biometrics* 47:361–372; Sidik, K. (2003), "Exact unconditional tests for
        testing non-inferiority in matched-pairs design", *Stat Med* 22:265–278),
        whose size is at most α by construction. The interval stays Tango's.

    Returns
    -------
    TestResult

    """
    t = _table_iv(table)
    null = check_number(null, "null")
    if not -1 < null < 1:
        raise ValueError(f"`null` must lie in (−1, 1) for proportions, got {null}.")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    if method not in TANGO_METHODS:
        raise ValueError(
            f"`method` must be one of {', '.join(map(repr, TANGO_METHODS))}; "
            f"got {method!r}."
        )
    if method != "asymptotic" and alternative == "two-sided":
        raise ValueError("`method='exact-unconditional'` is one-sided only.")
    z = -_tango_t(-null, t.b, t.c, t.n)
    low, high = tango_interval(t, confidence_level=level)
    psi = (t.b + t.c) / t.n
    se = math.sqrt(max(psi - t.estimate**2, 0.0) / t.n)
    exact = method == "exact-unconditional"
    return TestResult(
        test="Tango score test" + (" (exact unconditional p)" if exact else ""),
        tests_what=DIFF_OF_PROPORTIONS,
        estimate=t.estimate,
        pvalue=(
            _tango_exact_pvalue(t, null, alternative)
            if exact
            else _p_from_z(z, alternative)
        ),
        null=null,
        alternative=alternative,
        ci_low=low,
        ci_high=high,
        confidence_level=level,
        se=se,
        n=t.n,
        statistic=z,
        discordant=(t.b, t.c),
    )


MCNEMAR_METHODS = ("midp", "exact", "asymptotic", "asymptotic-cc")


def mcnemar(
    table: object,
    *,
    alternative: str = "less",
    method: str = "midp",
    confidence_level: float = 0.90,
) -> TestResult:
    """McNemar's test of ``δ = 0`` for paired proportions (no margin).

    Under H0 the regressions ``X = b`` among ``b + c`` discordant pairs follow
    Bin(b + c, ½). One-sided (``alternative="less"``, a regression):
    exact ``P(X ≥ b)``, mid-p ``P(X > b) + ½·P(X = b)``; two-sided exact
    ``min(1, 2·F(min(b, c)))`` and mid-p ``min(1, 2·F(min(b, c)) − f(min(b, c)))``
    (1 when ``b = c``; Fagerland,
    Lydersen & Laake, "The McNemar test for binary matched-pairs data: mid-p and
    asymptotic are better than exact conditional", *BMC Med Res Methodol* 13:91,
    2013, and its supplementary note). ``"asymptotic"`` is
    ``z = (c − b)/√(b + c)``; ``"asymptotic-cc"`` (two-sided only) is the
    continuity-corrected χ² of R's ``mcnemar.test``. statsmodels' ``mcnemar`` has
    no mid-p, hence this implementation on ``scipy.stats.binom``.

    The interval shown is Newcombe's paired square-and-add interval
    (:func:`newcombe_paired_interval`).

    Returns
    -------
    TestResult
        ``statistic`` is the count ``b`` (or ``c`` for ``"greater"``,
        ``min(b, c)`` two-sided) for the exact/mid-p methods, z or χ² otherwise.

    """
    t = _table_iv(table)
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    if method not in MCNEMAR_METHODS:
        raise ValueError(
            f"`method` must be one of {', '.join(map(repr, MCNEMAR_METHODS))}; "
            f"got {method!r}."
        )
    b, c = t.b, t.c
    k = b + c
    if method in ("exact", "midp"):
        dist = st.binom(k, 0.5)
        if alternative == "two-sided":
            x = min(b, c)
            twice = 2 * float(dist.cdf(x))
            # mid-p is 2·F(x) − f(x), capped after the subtraction: capping first
            # (1 − f(x)) would make b = c = 0 look like p = 0
            midp = twice - float(dist.pmf(x))
            p = min(1.0, twice) if method == "exact" else min(1.0, midp)
        else:
            x = b if alternative == "less" else c
            if method == "exact":
                p = float(dist.sf(x - 1))
            else:
                p = float(dist.sf(x)) + 0.5 * float(dist.pmf(x))
        stat = float(x)
    elif method == "asymptotic":
        stat = (c - b) / math.sqrt(k) if k else 0.0
        p = _p_from_z(stat, alternative)
    else:
        if alternative != "two-sided":
            raise ValueError("`method='asymptotic-cc'` is two-sided only.")
        stat = (abs(b - c) - 1) ** 2 / k if k else 0.0
        p = float(st.chi2.sf(stat, 1)) if k else 1.0
    low, high = newcombe_paired_interval(t, confidence_level=level)
    psi = k / t.n
    label = {
        "midp": "McNemar mid-p",
        "exact": "McNemar exact",
        "asymptotic": "McNemar asymptotic",
        "asymptotic-cc": "McNemar asymptotic (continuity-corrected)",
    }[method]
    return TestResult(
        test=label,
        tests_what=DIFF_OF_PROPORTIONS,
        estimate=t.estimate,
        pvalue=min(1.0, p),
        null=0.0,
        alternative=alternative,
        ci_low=low,
        ci_high=high,
        confidence_level=level,
        se=math.sqrt(max(psi - t.estimate**2, 0.0) / t.n),
        n=t.n,
        statistic=stat,
        discordant=(b, c),
    )


def wilson_interval(
    count: int, n: int, *, confidence_level: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for one proportion (Wilson 1927)."""
    z = float(st.norm.ppf((1 + confidence_level) / 2))
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def newcombe_paired_interval(
    table: object, *, confidence_level: float = 0.90
) -> tuple[float, float]:
    """Newcombe's square-and-add interval for ``δ = p_cand − p_base`` (paired).

    Method 10 of Newcombe, "Improved confidence intervals for the difference
    between binomial proportions based on paired data", *Stat Med*
    17:2635–2650 (1998): Wilson intervals for both margins combined with the
    correlation correction φ (0 when ``0 ≤ ad − bc ≤ N/2``, ``(A − N/2)/√…``
    above). Follows ocbe-uio/contingencytables
    ``Newcombe_square_and_add_CI_paired_2x2``.
    """
    t = _table_iv(table)
    level = check_level(confidence_level)
    n = t.n
    r1, r2 = t.both + t.b, t.c + t.neither  # baseline right / wrong
    c1, c2 = t.both + t.c, t.b + t.neither  # candidate right / wrong
    p1, p2 = r1 / n, c1 / n
    l1, u1 = wilson_interval(r1, n, confidence_level=level)
    l2, u2 = wilson_interval(c1, n, confidence_level=level)
    if 0 in (r1, r2, c1, c2):
        phi = 0.0
    else:
        a = t.both * t.neither - t.b * t.c
        denom = math.sqrt(float(r1) * r2 * c1 * c2)
        phi = (a - n / 2) / denom if a > n / 2 else (0.0 if a >= 0 else a / denom)
    est = p1 - p2  # Δ = p_base − p_cand, as in the reference
    low = est - math.sqrt(
        max((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2), 0.0)
    )
    high = est + math.sqrt(
        max((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1), 0.0)
    )
    return -high, -low


def _fm_restricted(
    p1: float, p2: float, n1: int, n2: int, delta0: float
) -> tuple[float, float]:
    """Farrington–Manning restricted MLE of (p1, p2) under ``p1 − p2 = δ0``."""
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p2 + delta0 * (theta + 2))
    c = delta0**2 + delta0 * (2 * p1 + theta + 1) + p1 + theta * p2
    d = -p1 * delta0 * (1 + delta0)
    v = b**3 / (27 * a**3) - b * c / (6 * a**2) + d / (2 * a)
    u2 = b**2 / (9 * a**2) - c / (3 * a)
    u = math.copysign(math.sqrt(max(u2, 0.0)), v) if v != 0 else math.sqrt(max(u2, 0.0))
    if u == 0:
        p1t = -b / (3 * a)
    else:
        w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3
        p1t = 2 * u * math.cos(w) - b / (3 * a)
    p1t = min(max(p1t, 0.0), 1.0)
    return p1t, min(max(p1t - delta0, 0.0), 1.0)


def _check_counts(
    count_candidate: int, n_candidate: int, count_baseline: int, n_baseline: int
) -> None:
    """Two unpaired samples' counts: non-negative integers, each at most its n."""
    for name, val in (
        ("count_candidate", count_candidate),
        ("n_candidate", n_candidate),
        ("count_baseline", count_baseline),
        ("n_baseline", n_baseline),
    ):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 0:
            raise TypeError(f"`{name}` must be a non-negative integer, got {val!r}.")
    if n_candidate == 0 or n_baseline == 0:
        raise ValueError("both samples need at least one observation.")
    if count_candidate > n_candidate or count_baseline > n_baseline:
        raise ValueError("a count cannot exceed its number of observations.")


def score_test_2indep(
    count_candidate: int,
    n_candidate: int,
    count_baseline: int,
    n_baseline: int,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Unpaired score test for ``p_cand − p_base = null`` with a margin.

    Farrington & Manning, "Test statistics and sample size formulae for
    comparative binomial trials with null hypothesis of non-zero risk
    difference or non-unity relative risk", *Stat Med* 9:1447–1454 (1990): the
    variance uses the closed-form restricted MLE under the null (the same as
    statsmodels ``test_proportions_2indep(method="score", correction=False)``).
    The interval shown is Newcombe's hybrid score interval (Newcombe 1998,
    *Stat Med* 17:873–890, method 10). Only for runs that cannot be paired.

    Returns
    -------
    TestResult

    """
    _check_counts(count_candidate, n_candidate, count_baseline, n_baseline)
    null = check_number(null, "null")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    p1, p2 = count_candidate / n_candidate, count_baseline / n_baseline
    p1t, p2t = _fm_restricted(p1, p2, int(n_candidate), int(n_baseline), null)
    var = p1t * (1 - p1t) / n_candidate + p2t * (1 - p2t) / n_baseline
    est = p1 - p2
    z = (
        (est - null) / math.sqrt(var)
        if var > 0
        else (0.0 if est == null else math.copysign(math.inf, est - null))
    )
    l1, u1 = wilson_interval(count_candidate, n_candidate, confidence_level=level)
    l2, u2 = wilson_interval(count_baseline, n_baseline, confidence_level=level)
    low = est - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = est + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return TestResult(
        test="Farrington-Manning score test (unpaired)",
        tests_what="difference of proportions (unpaired)",
        estimate=est,
        pvalue=_p_from_z(z, alternative),
        null=null,
        alternative=alternative,
        ci_low=low,
        ci_high=high,
        confidence_level=level,
        se=math.sqrt(p1 * (1 - p1) / n_candidate + p2 * (1 - p2) / n_baseline),
        n=n_candidate + n_baseline,
        statistic=z,
        warnings=("unpaired comparison: much less power than a paired one",),
    )


WEIGHTED_DIFFERENCE = "p_cand − w·p_base of paired proportions (relative margin)"


def _cell_weights(weight: float) -> np.ndarray:
    """Per-pair value of ``X_cand − w·X_base`` in the cells (both, b, c, neither)."""
    return np.array([1.0 - weight, -weight, 1.0, 0.0])


def restricted_mle(table: object, *, weight: float, null: float = 0.0) -> np.ndarray:
    """Multinomial MLE of the paired cells under ``p_cand − w·p_base = null``.

    Maximises ``Σ n_k log p_k`` subject to ``Σ p_k = 1`` and ``Σ a_k p_k = θ0`` with
    ``a = (1 − w, −w, 1, 0)`` for the cells (both, b, c, neither). The Lagrange
    conditions give ``p_k = n_k / (N + λ·(a_k − θ0))`` with ``λ`` the root of the
    decreasing function ``Σ n_k (a_k − θ0) / (N + λ (a_k − θ0))``; when the root
    lies beyond the pole of an empty cell, ``λ`` stops at that pole and the empty
    cell takes the remaining mass (the Karush–Kuhn–Tucker solution). For ``w = 1``
    this is Tango's (1998) restricted MLE; for ``θ0 = 0`` it is the restricted MLE
    of the ratio ``p_cand / p_base = w`` of Nam & Blackwelder (2002) and Tang, Tang
    & Chan (2003), found numerically instead of in closed form.

    Returns
    -------
    numpy.ndarray
        The four cell probabilities (both, b, c, neither).

    """
    t = _table_iv(table)
    return np.array(_restricted_cells(t, weight, null))


def _restricted_cells(t: PairedTable, weight: float, null: float) -> list[float]:
    """:func:`restricted_mle` in plain floats (it runs inside root-finding loops)."""
    counts = [float(t.both), float(t.b), float(t.c), float(t.neither)]
    n = float(t.n)
    g = [1.0 - weight - null, -weight - null, 1.0 - null, -null]
    obs = [k for k in range(4) if counts[k] > 0]
    pos = [-n / g[k] for k in range(4) if g[k] > 0]
    neg = [-n / g[k] for k in range(4) if g[k] < 0]
    if not (pos and neg):
        raise ValueError(f"`null` = {null} lies outside the parameter space.")
    lo, hi = max(pos), min(neg)

    def h(lam: float) -> float:
        return sum(counts[k] * g[k] / (n + lam * g[k]) for k in obs)

    span = hi - lo
    lo_in, hi_in = lo + 1e-13 * span, hi - 1e-13 * span
    edge: list[int] = []
    if h(lo_in) <= 0:
        lam, top = lo, max(g)
        edge = [k for k in range(4) if g[k] == top and counts[k] == 0]
    elif h(hi_in) >= 0:
        lam, bottom = hi, min(g)
        edge = [k for k in range(4) if g[k] == bottom and counts[k] == 0]
    else:
        lam = optimize.brentq(h, lo_in, hi_in, xtol=1e-13 * max(1.0, abs(span)))
    p = [0.0] * 4
    for k in obs:
        p[k] = counts[k] / (n + lam * g[k])
    if edge:
        rest = max(1.0 - sum(p), 0.0) / len(edge)
        for k in edge:
            p[k] = rest
    total = sum(p)
    return [x / total for x in p]


#: Continuity correction of the relative score test, in datapoints: the estimate is
#: moved half a datapoint (0.5/N, Yates's amount) toward the null. Chosen by exact
#: enumeration over every nuisance configuration (rates 0.002–0.998, every
#: correlation the margins allow, weights 0.8–1.5, N = 20–50): the uncorrected
#: test's worst size is 5.2–6.8% for runs that are at least independent (6.9% over
#: every correlation), a quarter datapoint reaches 6.1%; half a datapoint keeps it
#: at most 4.5% for runs at least independent and 5.8% for runs that never agree
#: (docs/statistics.md §3).
RELATIVE_CONTINUITY = 0.5


def _weighted_z(
    t: PairedTable, weight: float, null: float, shift: float = 0.0
) -> float:
    """Score statistic of ``θ = p_cand − w·p_base`` at ``θ0 = null``.

    ``shift`` is subtracted from the estimate (a continuity correction).
    """
    a = (1.0 - weight, -weight, 1.0, 0.0)
    counts = (t.both, t.b, t.c, t.neither)
    est = sum(x * k for x, k in zip(a, counts, strict=True)) / t.n
    p = _restricted_cells(t, weight, null)
    var = sum((x - null) ** 2 * q for x, q in zip(a, p, strict=True))
    num = est - null - shift
    if var <= 1e-300:
        return 0.0 if abs(num) < 1e-15 else math.copysign(math.inf, num)
    return num / math.sqrt(var / t.n)


def relative_score_interval(
    table: object,
    *,
    weight: float,
    confidence_level: float = 0.90,
    continuity: float = RELATIVE_CONTINUITY,
) -> tuple[float, float]:
    """Score interval for ``θ = p_cand − w·p_base``: ``{θ0 : |z(θ0)| ≤ z}``.

    Inverts :func:`relative_score_test` (with its continuity correction, so the
    bound clears a null exactly when the one-sided test rejects it) by
    ``scipy.optimize.brentq`` over ``θ0 ∈ (−w, 1)``, as :func:`tango_interval`
    does for ``w = 1``.
    """
    t = _table_iv(table)
    cc = continuity / t.n
    level = check_level(confidence_level)
    zc = float(st.norm.ppf((1 + level) / 2))
    lo_t, hi_t = -weight, 1.0
    eps = 1e-10 * (hi_t - lo_t)
    a = _cell_weights(weight)
    est = float(a @ np.array([t.both, t.b, t.c, t.neither], dtype=float)) / t.n
    est = min(max(est, lo_t + eps), hi_t - eps)

    def f(x: float, target: float) -> float:
        # the lower limit tests "greater" (estimate moved down), the upper "less"
        return _weighted_z(t, weight, x, cc if target > 0 else -cc) - target

    # z decreases in θ0: the lower limit solves z = zc, the upper z = −zc.
    low = (
        lo_t
        if f(lo_t + eps, zc) <= 0
        else optimize.brentq(f, lo_t + eps, est, args=(zc,), xtol=1e-12)
    )
    high = (
        hi_t
        if f(hi_t - eps, -zc) >= 0
        else optimize.brentq(f, est, hi_t - eps, args=(-zc,), xtol=1e-12)
    )
    return float(low), float(high)


def relative_score_test(
    table: object,
    *,
    weight: float,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    continuity: float = RELATIVE_CONTINUITY,
) -> TestResult:
    """Score test of ``θ = p_cand − w·p_base`` for paired proportions.

    A relative margin ``r`` on a proportion is the null ``p_cand = (1 − r)·p_base``
    (higher is better; ``w = 1 − r``) or ``p_cand = (1 + r)·p_base`` (lower is
    better; ``w = 1 + r``), i.e. ``θ = 0``: a hypothesis about the ratio of the two
    paired proportions. The statistic is the score (Wald-with-null-variance)
    statistic of the multinomial paired 2×2 table::

        θ̂ = (c + (1 − w)·both − w·b) / N
        z  = (θ̂ − θ0) / √(Σ_k (a_k − θ0)²·p̃_k / N)

    with ``a = (1 − w, −w, 1, 0)`` the per-pair value of ``X_cand − w·X_base`` in
    the cells (both, b, c, neither) and ``p̃`` the restricted MLE under ``θ = θ0``
    (:func:`restricted_mle`). At ``θ0 = 0`` this is the score test for the ratio
    of paired proportions of Nam, J. & Blackwelder, W. C. (2002), "Analysis of the
    ratio of marginal probabilities in a matched-pair setting", *Stat Med*
    21:689–699, and Tang, N.-S., Tang, M.-L. & Chan, I. S. F. (2003), "On tests
    of equivalence via non-unity relative risk for matched-pair design", *Stat Med*
    22:1217–1233; with ``w = 1`` it is Tango's (1998) test (:func:`tango_test`).
    Like Tango's it keeps its level when the runs rarely disagree, where a t
    test or a bootstrap of the 0/1 differences does not (docs/statistics.md §3).
    The estimate is moved ``continuity/N`` toward the null (toward it from either
    side for a two-sided test): without it the exact size reaches 6.9% for rare
    outcomes at small N, at most 5.8% with it (:data:`RELATIVE_CONTINUITY`).

    Parameters
    ----------
    table : PairedTable or array_like
        The paired table ``[[both, b], [c, neither]]`` of the raw 0/1 values.
    weight : float
        ``w > 0``, the baseline's weight.
    null : float
        θ0 in (−w, 1); 0 for a relative margin.
    alternative : {"greater", "less", "two-sided"}
        H1 relative to ``null`` for ``θ``.
    confidence_level : float
        Level of the two-sided score interval for ``θ``.
    continuity : float
        The continuity correction in datapoints (0 for the plain score test).

    Returns
    -------
    TestResult
        ``estimate``, ``ci_low``, ``ci_high`` are for ``θ``; ``se`` is the
        unrestricted ``√(Σ a_k² p̂_k − θ̂²)/√N``.

    """
    t = _table_iv(table)
    weight = check_number(weight, "weight")
    if weight <= 0:
        raise ValueError(f"`weight` must be positive, got {weight}.")
    null = check_number(null, "null")
    if not -weight < null < 1:
        raise ValueError(f"`null` must lie in (−w, 1) = (−{weight:g}, 1), got {null}.")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    a = _cell_weights(weight)
    phat = np.array([t.both, t.b, t.c, t.neither], dtype=float) / t.n
    est = float(a @ phat)
    continuity = check_number(continuity, "continuity")
    cc = continuity / t.n
    shift = {
        "greater": cc,
        "less": -cc,
        "two-sided": math.copysign(min(cc, abs(est - null)), est - null),
    }[alternative]
    z = _weighted_z(t, weight, null, shift)
    low, high = relative_score_interval(
        t, weight=weight, confidence_level=level, continuity=continuity
    )
    se = math.sqrt(max(float((a**2) @ phat) - est**2, 0.0) / t.n)
    return TestResult(
        test="paired score test of a ratio of proportions",
        tests_what=WEIGHTED_DIFFERENCE,
        estimate=est,
        pvalue=_p_from_z(z, alternative),
        null=null,
        alternative=alternative,
        ci_low=low,
        ci_high=high,
        confidence_level=level,
        se=se,
        n=t.n,
        statistic=z,
        discordant=(t.b, t.c),
        extra={"weight": weight},
    )


def _restricted_2indep(
    xc: int, nc: int, xb: int, nb: int, weight: float, null: float
) -> tuple[float, float]:
    """Binomial MLE of ``(p_cand, p_base)`` under ``p_cand − w·p_base = null``.

    The log-likelihood is concave in ``p_base`` along the constraint, so a bounded
    scalar search finds the maximum (closed forms exist only for ``null = 0``,
    Farrington & Manning 1990, and ``w = 1``).
    """
    lo = max(0.0, -null / weight)
    hi = min(1.0, (1.0 - null) / weight)

    def negloglik(pb: float) -> float:
        pc = min(max(weight * pb + null, 0.0), 1.0)
        return -float(
            special.xlogy(xc, pc)
            + special.xlog1py(nc - xc, -pc)
            + special.xlogy(xb, pb)
            + special.xlog1py(nb - xb, -pb)
        )

    res = optimize.minimize_scalar(
        negloglik, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    pb = float(res.x)
    for edge in (lo, hi):  # the maximum may sit on the boundary
        if negloglik(edge) < negloglik(pb):
            pb = edge
    return min(max(weight * pb + null, 0.0), 1.0), pb


def _weighted_z_2indep(
    xc: int, nc: int, xb: int, nb: int, weight: float, null: float
) -> float:
    pc_t, pb_t = _restricted_2indep(xc, nc, xb, nb, weight, null)
    var = pc_t * (1 - pc_t) / nc + weight**2 * pb_t * (1 - pb_t) / nb
    num = xc / nc - weight * xb / nb - null
    if var <= 1e-300:
        return 0.0 if abs(num) < 1e-15 else math.copysign(math.inf, num)
    return num / math.sqrt(var)


def relative_score_test_2indep(
    count_candidate: int,
    n_candidate: int,
    count_baseline: int,
    n_baseline: int,
    *,
    weight: float,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> TestResult:
    """Unpaired score test of ``θ = p_cand − w·p_base`` (a relative margin).

    At ``θ0 = 0`` it is the Farrington & Manning (1990) score test of the ratio
    ``p_cand / p_base = w`` (statsmodels ``test_proportions_2indep(compare="ratio",
    method="score", correction=False)``); the variance uses the restricted MLE
    under ``θ = θ0``. The interval inverts the test over ``θ0 ∈ (−w, 1)``, so its
    bound clears 0 exactly when the one-sided test rejects. Never a t on 0/1 data.
    """
    _check_counts(count_candidate, n_candidate, count_baseline, n_baseline)
    weight = check_number(weight, "weight")
    if weight <= 0:
        raise ValueError(f"`weight` must be positive, got {weight}.")
    null = check_number(null, "null")
    if not -weight < null < 1:
        raise ValueError(f"`null` must lie in (−w, 1) = (−{weight:g}, 1), got {null}.")
    alternative = check_alternative(alternative)
    level = check_level(confidence_level)
    counts = (
        int(count_candidate),
        int(n_candidate),
        int(count_baseline),
        int(n_baseline),
    )
    pc, pb = counts[0] / counts[1], counts[2] / counts[3]
    est = pc - weight * pb
    z = _weighted_z_2indep(*counts, weight, null)
    zc = float(st.norm.ppf((1 + level) / 2))
    eps = 1e-10 * (1 + weight)
    lo_t, hi_t = -weight + eps, 1.0 - eps
    mid = min(max(est, lo_t), hi_t)

    def f(x: float, target: float) -> float:
        return _weighted_z_2indep(*counts, weight, x) - target

    low = lo_t if f(lo_t, zc) <= 0 else optimize.brentq(f, lo_t, mid, args=(zc,))
    high = hi_t if f(hi_t, -zc) >= 0 else optimize.brentq(f, mid, hi_t, args=(-zc,))
    se = math.sqrt(pc * (1 - pc) / counts[1] + weight**2 * pb * (1 - pb) / counts[3])
    return TestResult(
        test="Farrington-Manning score test of a ratio (unpaired)",
        tests_what="p_cand − w·p_base of unpaired proportions (relative margin)",
        estimate=est,
        pvalue=_p_from_z(z, alternative),
        null=null,
        alternative=alternative,
        ci_low=float(low),
        ci_high=float(high),
        confidence_level=level,
        se=se,
        n=counts[1] + counts[3],
        statistic=z,
        warnings=("unpaired comparison: much less power than a paired one",),
        extra={"weight": weight},
    )
