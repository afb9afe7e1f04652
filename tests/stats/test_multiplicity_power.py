"""Holm, BH, Bonferroni (O8) and the power formulas (§4.3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from pytest_runcompare.stats.multiplicity import adjust, benjamini_hochberg, holm
from pytest_runcompare.stats.power import (
    minimum_detectable_effect,
    pass_probability,
    required_n,
)

# O8(a): Benjamini & Hochberg (1995) worked example (Neuhaus et al. 1992), as in
# the scipy `false_discovery_control` docstring.
BH_P = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.000,
]


def test_o8_bh_worked_example():
    adj = benjamini_hochberg(BH_P)
    ref = [
        0.0015,
        0.003,
        0.0095,
        0.035625,
        0.0603,
        0.06385714,
        0.06385714,
        0.0645,
        0.0765,
        0.486,
        0.58118182,
        0.714875,
        0.75323077,
        0.81321429,
        1.0,
    ]
    assert adj == pytest.approx(ref, rel=1e-6)
    assert (adj <= 0.05).sum() == 4
    assert (adjust(BH_P, "bonferroni") <= 0.05).sum() == 3


def test_o8_holm_worked_example():
    adj = holm(BH_P)
    ref = [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1.0]
    assert adj[:10] == pytest.approx(ref, rel=1e-9)
    assert (adj <= 0.05).sum() == 3


def test_o8b_statsmodels_multipletests_crosscheck():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    for k in (1, 2, 7, 30):
        p = rng.random(k) ** 3
        for ours, theirs in (
            ("holm", "holm"),
            ("bh", "fdr_bh"),
            ("bonferroni", "bonferroni"),
        ):
            ref = multipletests(p, method=theirs)[1]
            assert adjust(p, ours) == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_o11_bh_monotone_and_scipy():
    p = np.random.default_rng(1).random(25)
    adj = benjamini_hochberg(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert adj == pytest.approx(st.false_discovery_control(p), rel=1e-15)


def test_multiplicity_validation():
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        holm([0.1, 1.5])
    with pytest.raises(ValueError, match="`method`"):
        adjust([0.1], "sidak")
    assert holm([]).size == 0


def test_power_formulas_statistics_md_examples():
    # §4.3: sigma_d = 0.1, m = 0.01 => n ≈ 618; m = 0.005 => 2 473.
    n = 1000
    se = 0.1 / np.sqrt(n)
    assert required_n(se, n, 0.01) == 619  # ceil(618.3)
    assert required_n(se, n, 0.005) == 2474
    # paired binary: psi = 0.10, m = 0.02 => n ≈ 1 545
    assert required_n(np.sqrt(0.10 / n), n, 0.02) == pytest.approx(1545, abs=2)
    z = st.norm.ppf(0.95) + st.norm.ppf(0.8)
    assert minimum_detectable_effect(se) == pytest.approx(z * se)
    # at n = n_required the pass probability is 80%
    n_req = required_n(se, n, 0.01)
    se_req = 0.1 / np.sqrt(n_req)
    assert pass_probability(se_req, 0.01) == pytest.approx(0.8, abs=0.005)
    assert required_n(se, n, 0.0) is None
