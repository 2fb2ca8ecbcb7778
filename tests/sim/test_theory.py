"""The closed-form faking threshold, by hand and against the simulation at fixed traits.

Simulation-versus-formula checks pool n independent episodes (fixed traits, no
training: each episode is an independent Bernoulli draw with the formula's
probability p), so the tolerance is z * sqrt(p (1 - p) / n) with z = 4.5
(two-sided false-alarm rate about 7e-6 per check), plus 1/n for rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import theory
from sim.engine import simulate
from sim.metrics import rates
from tests.conftest import params

Z = 4.5


def test_future_value_by_hand():
    assert theory.future_value(0.9, 0.5) == pytest.approx(0.9 * 0.5 / 0.1)
    assert theory.future_value(0.0, 0.5) == 0.0


def test_threshold_by_hand():
    # b*eta*G = 1 * 0.2 * 9 = 1.8 ; rhs = 1 + (0.5 - 0.1) / (1 * 0.8) = 1.5 -> fakes
    assert theory.faking_threshold(1.0, 0.2, 9.0, 0.5, 0.1, 1.0, 0.8)
    # rhs = 1 + (1.0 - 0.1)/0.8 = 2.125 -> does not
    assert not theory.faking_threshold(1.0, 0.2, 9.0, 1.0, 0.1, 1.0, 0.8)
    # no conflict (nu*theta <= kappa) -> never fakes
    assert not theory.faking_threshold(1.0, 10.0, 9.0, 0.0, 0.9, 1.0, 0.8)
    assert not theory.faking_threshold(1.0, 10.0, 9.0, 0.0, 0.0, 1.0, 0.0)  # theta = 0


def test_threshold_agrees_with_utility_sign():
    rng = np.random.default_rng(0)
    theta, nu, h, kappa, b = rng.random((5, 2000)) * [[1], [3], [1], [1], [1]]
    eta_g = rng.random(2000) * 5
    d = theory.utility_difference(theta, nu, h, kappa, b, eta_g, strategic=True)
    fakes = theory.faking_threshold(b, eta_g, 1.0, h, kappa, nu, theta)
    conflict = nu * theta > kappa
    np.testing.assert_array_equal(fakes, conflict & (d > 0))


unit = st.floats(0.01, 1.0)


@given(b=unit, eta=unit, G=st.floats(0.1, 100), h=st.floats(0, 2), kappa=st.floats(0, 2),
       nu=st.floats(0.1, 5), theta=unit, k=st.floats(1.0, 3.0))  # fmt: skip
def test_threshold_comparative_statics(b, eta, G, h, kappa, nu, theta, k):
    f = theory.faking_threshold
    base = f(b, eta, G, h, kappa, nu, theta)
    assert f(min(1.0, b * k), eta, G, h, kappa, nu, theta) >= base
    assert f(b, eta * k, G, h, kappa, nu, theta) >= base
    assert f(b, eta, G * k, h, kappa, nu, theta) >= base
    assert f(b, eta, G, h * k, kappa, nu, theta) <= base
    if b * eta * G >= 1 or h >= kappa:  # nu: monotone only in this regime (docs/model.md)
        assert f(b, eta, G, h, kappa, nu * k, theta) >= base


def test_nudging_counterexample_when_training_term_is_small():
    # b*eta*G = 0.475 < 1 and kappa > h: rhs = 1 + (h - kappa)/(nu*theta) is 0.375 at nu = 0.4
    # (fakes) and 0.75 at nu = 1 (does not): more nudging stops faking (docs/model.md).
    args = dict(b=1.0, eta=0.05, G=9.5, h=0.05, kappa=0.3, theta=1.0)
    assert theory.faking_threshold(nu=0.4, **args)
    assert not theory.faking_threshold(nu=1.0, **args)


FIXED = dict(theta=0.8, sigma=0.7, gamma=0.9, nu=1.0, h=0.1, kappa=0.2, phi=0.4)


def _simulated(overrides, trainer):
    ov = [f"population.{k}={v}" for k, v in overrides.items()]
    ov += [f"trainer.{k}={v}" for k, v in trainer.items()]
    p = params("scenario=alignment_faking_prompted", "replicates=4", "n_agents=2000", *ov)
    rec = simulate(p).recorder
    n_obs = int(rec.stat("n_cue_observed").sum())
    n_unobs = rec.data.shape[1] * rec.data.shape[2] * p.n_agents - n_obs
    return rates(rec, slice(None), axis=None), rec, n_obs, n_unobs


def _pooled(rec, num, den):
    return rec.stat(num).sum() / den


def _close(sim_value, p, n):
    tol = Z * math.sqrt(p * (1 - p) / n) + 1.0 / n
    assert abs(sim_value - p) <= tol, (sim_value, p, tol)


@pytest.mark.parametrize(
    ("eta", "expect_fake"),
    [(0.3, True), (0.05, False)],  # b*eta*G = 1.35 vs 0.225; rhs = 0.875
)
def test_large_lambda_matches_threshold(eta, expect_fake):
    traits = dict(FIXED, lam=1e4)
    trainer = dict(rho=0.5, fidelity=1.0, eta=eta)
    b, G = 1.0, theory.future_value(0.9, 0.5)
    assert theory.faking_threshold(b, eta, G, 0.1, 0.2, 1.0, 0.8) == expect_fake
    _, rec, n_obs, _ = _simulated(traits, trainer)
    expected = FIXED["sigma"] * FIXED["phi"] * expect_fake
    _close(_pooled(rec, "af_cue_observed", n_obs), expected, n_obs)


@pytest.mark.parametrize(
    "trainer",
    [
        dict(rho=0.5, fidelity=1.0, eta=0.3),
        dict(rho=0.3, fidelity=0.8, eta=0.2),
        dict(rho=0.6, fidelity=0.6, eta=0.5),
    ],  # fmt: skip
)
def test_finite_lambda_matches_logit_formula(trainer):
    traits = dict(FIXED, lam=4.0)
    _, rec, n_obs, n_unobs = _simulated(traits, trainer)
    expected = theory.episode_rates(**traits, **trainer)
    _close(_pooled(rec, "af_cue_observed", n_obs), float(expected["af_reasoning_rate"]), n_obs)
    _close(
        _pooled(rec, "comply_cue_observed", n_obs), float(expected["compliance_observed"]), n_obs
    )
    _close(
        _pooled(rec, "comply_cue_unobserved", n_unobs),
        float(expected["compliance_unobserved"]),
        n_unobs,
    )
