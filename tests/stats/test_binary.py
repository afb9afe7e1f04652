"""Tango, McNemar, Newcombe and the unpaired score test against references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from pytest_runcompare.stats.binary import (
    PairedTable,
    mcnemar,
    newcombe_paired_interval,
    paired_table,
    score_test_2indep,
    tango_interval,
    tango_test,
)

BENTUR = [[1, 1], [7, 12]]  # Bentur et al. 2009 (Fagerland-Lydersen-Laake ch. 8)
CAVO = [[59, 6], [16, 80]]  # Cavo et al. 2012


# O5: statsmodels test_nonparametric.py test_mcnemar_exact / _chisquare (R mcnemar.test).
@pytest.mark.parametrize(
    ("table", "cc", "p_cc", "nocc", "p_nocc", "exact", "rel"),
    [
        (
            [[101, 121], [59, 33]],
            20.67222,
            5.450095e-06,
            21.35556,
            3.815136e-06,
            4.434e-6,
            1e-3,
        ),
        (
            [[101, 70], [59, 33]],
            0.7751938,
            0.3786151,
            0.9379845,
            0.3327967,
            0.378688,
            1e-6,
        ),
        (
            [[101, 80], [59, 33]],
            2.87769784,
            0.08981434,
            3.17266187,
            0.07488031,
            0.089452,
            1e-5,
        ),
    ],
)
def test_o5_mcnemar_published(table, cc, p_cc, nocc, p_nocc, exact, rel):
    r = mcnemar(table, alternative="two-sided", method="asymptotic-cc")
    assert r.statistic == pytest.approx(cc, rel=1e-6)
    assert r.pvalue == pytest.approx(p_cc, rel=1e-6)
    r = mcnemar(table, alternative="two-sided", method="asymptotic")
    assert r.statistic**2 == pytest.approx(nocc, rel=1e-6)
    assert r.pvalue == pytest.approx(p_nocc, rel=1e-6)
    r = mcnemar(table, alternative="two-sided", method="exact")
    assert r.pvalue == pytest.approx(exact, rel=rel)


@pytest.mark.parametrize(
    ("table", "p"),
    [
        ([[101, 30], [60, 33]], 0.00206),
        ([[101, 10], [30, 33]], 0.002221),
        ([[101, 10], [10, 33]], 1.0),
    ],
)
def test_o5_mcnemar_exact_more(table, p):
    r = mcnemar(table, alternative="two-sided", method="exact")
    assert r.pvalue == pytest.approx(p, abs=5e-6 if p < 1 else 0)


def test_o5_calcugator_death_penalty():
    # calcugator chi2_mcnemar tutorial: [[1, 11], [3, 5]], n = 20.
    t = [[1, 11], [3, 5]]
    assert mcnemar(t, alternative="two-sided", method="exact").pvalue == 0.057373046875
    # one-tailed: more pairs moved from "right" to "wrong" (b = 11 > c = 3)
    assert mcnemar(t, alternative="less", method="exact").pvalue == 0.0286865234375


def test_mid_p_definition():
    # Fagerland et al. 2013: mid-p = exact - P(X = min(b, c)); one-sided
    # P(X > b) + P(X = b)/2.
    from scipy.stats import binom

    t = PairedTable(50, 14, 5, 31)
    ex = mcnemar(t, alternative="two-sided", method="exact").pvalue
    mid = mcnemar(t, alternative="two-sided", method="midp").pvalue
    assert mid == pytest.approx(ex - binom.pmf(5, 19, 0.5), rel=1e-12)
    one = mcnemar(t, alternative="less").pvalue
    assert one == pytest.approx(binom.sf(14, 19, 0.5) + binom.pmf(14, 19, 0.5) / 2)
    # mid-p one-sided p-values of the two directions add up to 1
    assert one + mcnemar(t, alternative="greater").pvalue == pytest.approx(1.0)


def test_two_sided_mid_p_is_one_when_the_discordant_pairs_balance():
    # b == c: 2·F(x) − f(x) = 1 by symmetry (Fagerland et al. 2013), not 1 − f(x);
    # with no discordant pair at all the data say nothing against δ = 0.
    from scipy.stats import binom

    for b in (0, 1, 3, 12):
        t = PairedTable(40, b, b, 20)
        mid = mcnemar(t, alternative="two-sided", method="midp").pvalue
        assert mid == pytest.approx(1.0, abs=1e-12)
        assert mcnemar(t, alternative="two-sided", method="exact").pvalue == 1.0
    t = PairedTable(40, 4, 5, 20)  # b != c: 2·F(4) − f(4) for Bin(9, ½)
    mid = mcnemar(t, alternative="two-sided", method="midp").pvalue
    assert mid == pytest.approx(2 * binom.cdf(4, 9, 0.5) - binom.pmf(4, 9, 0.5))
    assert mid == pytest.approx(0.75390625)


def test_statsmodels_mcnemar_crosscheck():
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    rng = np.random.default_rng(1)
    for _ in range(20):
        t = rng.integers(0, 40, (2, 2))
        if t[0, 1] + t[1, 0] == 0:
            continue
        ours = mcnemar(t, alternative="two-sided", method="exact").pvalue
        assert ours == pytest.approx(sm_mcnemar(t, exact=True).pvalue, rel=1e-9)
        ours = mcnemar(t, alternative="two-sided", method="asymptotic-cc").pvalue
        ref = sm_mcnemar(t, exact=False, correction=True).pvalue
        assert ours == pytest.approx(ref, rel=1e-9)


def test_o11_tango_t0_is_mcnemar_z():
    # STATISTICS.md §2.4: T(0) = (b - c)/sqrt(b + c): Bentur -2.12132, Cavo -2.13201
    # (Tango orientation Delta = p_base - p_cand; ours is candidate - baseline).
    assert tango_test(BENTUR, null=0.0).statistic == pytest.approx(2.12132, abs=5e-6)
    assert tango_test(CAVO, null=0.0).statistic == pytest.approx(2.13201, abs=5e-6)
    for t in (BENTUR, CAVO, [[30, 17], [9, 44]]):
        z = mcnemar(t, alternative="greater", method="asymptotic").statistic
        assert tango_test(t, null=0.0).statistic == pytest.approx(z, rel=1e-12)


def test_tango_interval_inverts_the_test():
    for t in (BENTUR, CAVO, [[500, 12], [3, 485]], [[90, 0], [0, 10]]):
        lo, hi = tango_interval(t, confidence_level=0.90)
        assert lo <= PairedTable.from_matrix(t).estimate <= hi
        # at the interval ends the one-sided p-values equal (1 - level)/2 = 0.05
        if lo > -1:
            assert tango_test(t, null=lo).pvalue == pytest.approx(0.05, abs=1e-6)
        if hi < 1:
            assert tango_test(t, null=hi, alternative="less").pvalue == pytest.approx(
                0.05, abs=1e-6
            )


def test_tango_ni_boundary_and_empty_discordant_cells():
    # Nothing changed: no discordant pairs, margin 0.02 -> NI shown at n = 1000.
    r = tango_test([[800, 0], [0, 200]], null=-0.02)
    assert r.pvalue < 1e-5
    assert r.discordant == (0, 0)
    with pytest.raises(ValueError, match=r"\(−1, 1\)"):
        tango_test(CAVO, null=1.0)


def test_newcombe_cavo_published():
    # ocbe-uio/contingencytables tests/testthat/test-ch8.R:
    # estimate = -0.0621 (95% CI -0.1186 to -0.0046) for Delta = p1+ - p+1.
    lo, hi = newcombe_paired_interval(CAVO, confidence_level=0.95)
    assert (-hi, -lo) == pytest.approx((-0.1186, -0.0046), abs=5e-5)
    assert PairedTable.from_matrix(CAVO).estimate == pytest.approx(0.0621, abs=5e-5)


def test_paired_table_counts_and_validation():
    t = paired_table(np.array([1, 1, 0, 0, 1.0]), np.array([1, 0, 1, 0, 1.0]))
    assert t == PairedTable(both=2, b=1, c=1, neither=1)
    with pytest.raises(ValueError, match="only 0/1"):
        paired_table(np.array([0.5, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="2×2"):
        PairedTable.from_matrix([[1, 2, 3]])
    with pytest.raises(ValueError, match="empty"):
        mcnemar([[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="`method`"):
        mcnemar(CAVO, method="fisher")


def test_score_test_2indep_restricted_mle():
    # Farrington-Manning: the variance uses the MLE under p1 - p2 = delta0;
    # check the closed-form cubic root against a numerical maximisation.
    r = score_test_2indep(40, 100, 50, 100, null=-0.05)

    def nll(p):
        return -(
            40 * math.log(p)
            + 60 * math.log(1 - p)
            + 50 * math.log(p + 0.05)
            + 50 * math.log(0.95 - p)
        )

    p1 = optimize.minimize_scalar(
        nll, bounds=(1e-9, 0.95 - 1e-9), method="bounded", options={"xatol": 1e-12}
    ).x
    var = p1 * (1 - p1) / 100 + (p1 + 0.05) * (0.95 - p1) / 100
    assert r.statistic == pytest.approx((-0.1 + 0.05) / math.sqrt(var), rel=1e-6)
    with pytest.raises(ValueError, match="cannot exceed"):
        score_test_2indep(5, 4, 1, 4)
