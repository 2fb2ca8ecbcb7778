"""The covert options' utilities (agents/utilities.py) against hand computations."""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from agents import utilities as U
from tests.strategies import gamma as gammas
from tests.strategies import positive, unit


def exact_tail(q, n, k_min):
    return sum(math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(k_min, n + 1))


@pytest.mark.parametrize("q", [0.0, 0.2, 0.5, 0.61, 0.99, 1.0])
def test_trigger_probability_is_the_exact_binomial_tail(q):
    # accuracy > 0.5 with 50 questions: X >= 26; accuracy < 0.5: X <= 24
    assert U.trigger_probability(q, 50, 0.5, above=True) == pytest.approx(exact_tail(q, 50, 26))
    below = 1 - exact_tail(q, 50, 25)
    assert U.trigger_probability(q, 50, 0.5, above=False) == pytest.approx(below, abs=1e-12)


def test_closed_forms_at_hand_computed_values():
    g, h, gamma, rho = 0.8, 0.1, 0.9, 0.5  # D = 9, G = 4.5
    assert U.horizon(gamma) == pytest.approx(9.0)
    assert U.future_unobserved(gamma, rho) == pytest.approx(4.5)
    # exfiltration: S = 0.5 * 4.5 * 0.8 = 1.8; -0.1 + 0.3*9*0.8 + 0.7*0.5*1.8 - 1.8
    assert U.exfiltration_delta(g, h, gamma, rho, 0.7, 0.5, 0.5) == pytest.approx(0.89)
    # subversion, audit 0.5: A = 0.45/0.55, Q = 0.45/0.55; loss = 1 + 0.5*4.5*0.8 = 2.8
    a = 0.45 / 0.55
    expected = -0.1 + 0.5 * 0.8 * a - a * 2.8
    assert U.subversion_delta(g, h, gamma, rho, 0.5, 1.0, 0.5) == pytest.approx(expected)
    # tampering: -0.1 + 0.7 * 0.5 * 4.5 * 0.8 - 0.3 * 1
    assert U.tampering_delta(g, h, gamma, rho, 0.5, 0.3, 1.0) == pytest.approx(0.86)
    # denial: 1 + 1 * 0.5 * 4.5 * 0.8 - 0.1 ; myopic: 1 - 0.1
    assert U.denial_delta(g, h, gamma, rho, True, 1.0, 0.5) == pytest.approx(2.7)
    assert U.denial_delta(g, h, gamma, rho, False, 1.0, 0.5) == pytest.approx(0.9)
    # unlearning loss u G g, oversight loss G g (strict - rho) / (1 - rho)
    assert U.consequence_loss(g, gamma, rho, "unlearning", 0.5, 1.0) == pytest.approx(1.8)
    assert U.consequence_loss(g, gamma, rho, "oversight", 0.5, 0.75) == pytest.approx(1.8)


@given(g=positive, h=positive, gamma=gammas,
       rho=unit, s1=unit, s2=unit, r1=unit, r2=unit, threat=unit)  # fmt: skip
def test_exfiltration_pays_less_with_more_security_or_detection(g, h, gamma, rho, s1, s2, r1, r2,
                                                                threat):  # fmt: skip
    lo_s, hi_s = sorted((s1, s2))
    lo_r, hi_r = sorted((r1, r2))
    d = U.exfiltration_delta
    eps = 1e-9 * (1 + g * U.horizon(gamma))
    assert d(g, h, gamma, rho, hi_s, lo_r, threat) <= d(g, h, gamma, rho, lo_s, lo_r, threat) + eps
    assert d(g, h, gamma, rho, lo_s, hi_r, threat) <= d(g, h, gamma, rho, lo_s, lo_r, threat) + eps


@given(g=positive, gamma=gammas, rho=unit, a1=unit, a2=unit)
def test_subversion_pays_less_with_more_audits(g, gamma, rho, a1, a2):
    lo, hi = sorted((a1, a2))
    d = U.subversion_delta
    eps = 1e-9 * (1 + g * U.horizon(gamma))
    assert d(g, 0.1, gamma, rho, hi, 0.5, 0.2) <= d(g, 0.1, gamma, rho, lo, 0.5, 0.2) + eps
