"""The vectorised core against the per-agent reference, on the same random streams."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.registry import get_rule
from sim.core import K_UNIFORMS, transition
from sim.engine import make_game
from sim.params import PhaseSpec, round_params
from sim.population import sample_population
from sim.rng import RoundStreams
from tests.conftest import params
from tests.reference import reference_round
from tests.strategies import trainer_overrides, trait_overrides

RULES = ["strategic", "myopic", "always_comply", "always_refuse", "comply_when_cued"]


def _compare(p, rule: str, rounds: int, train: bool = True) -> None:
    R, N = p.replicates, p.n_agents
    state = sample_population(p.population, p.seed, R, N)
    streams = RoundStreams(p.seed, R, N, K_UNIFORMS)
    game = make_game(p, PhaseSpec("t", rounds, train), state)
    game = replace(game, rule=get_rule(rule))
    theta, phi = state.theta.copy(), state.phi.copy()
    for _ in range(rounds):
        u = streams.draw()
        ref_theta, ref_phi, rec = reference_round(
            theta, phi, state.traits, game.loss_rate, game.params, u, rule
        )
        state, out = transition(state, game, u)
        np.testing.assert_array_equal(out.observed, rec["observed"])
        np.testing.assert_array_equal(out.episode.cue, rec["cue"])
        np.testing.assert_array_equal(out.episode.aware, rec["aware"])
        np.testing.assert_array_equal(out.decision.comply, rec["comply"])
        np.testing.assert_array_equal(out.decision.faked, rec["faked"])
        np.testing.assert_array_equal(out.decision.reason, rec["reason"])
        np.testing.assert_array_equal(state.theta, ref_theta)
        np.testing.assert_array_equal(state.phi, ref_phi)
        theta, phi = ref_theta, ref_phi


@pytest.mark.parametrize("rule", RULES)
def test_vectorised_equals_reference_default_population(rule):
    p = params("n_agents=60", "replicates=3", "seed=7", "trainer.eta=0.3", "trainer.eta_phi=0.4")
    _compare(p, rule, rounds=25)


def test_vectorised_equals_reference_noisy_cue_and_prior():
    p = params("n_agents=50", "replicates=2", "trainer.fidelity=0.7", "trainer.rho=0.3",
               "population.prior=0.8", "population.lam=3")  # fmt: skip
    _compare(p, "strategic", rounds=20)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traits=trait_overrides(), trainer=trainer_overrides(), seed=st.integers(0, 2**31))
def test_vectorised_equals_reference_random_settings(traits, trainer, seed):
    p = params("n_agents=20", "replicates=2", f"seed={seed}", *traits, *trainer)
    _compare(p, "strategic", rounds=6)


def test_transition_is_pure():
    p = params("n_agents=100", "replicates=2")
    state = sample_population(p.population, 0, 2, 100)
    game = make_game(p, PhaseSpec("t", 1, True), state)
    u = RoundStreams(0, 2, 100, K_UNIFORMS).draw().copy()
    before = (state.theta.copy(), state.phi.copy(), u.copy())
    s1, o1 = transition(state, game, u)
    s2, o2 = transition(state, game, u)
    np.testing.assert_array_equal(state.theta, before[0])  # inputs untouched
    np.testing.assert_array_equal(state.phi, before[1])
    np.testing.assert_array_equal(u, before[2])
    np.testing.assert_array_equal(s1.theta, s2.theta)
    np.testing.assert_array_equal(o1.decision.reason, o2.decision.reason)


@pytest.mark.parametrize(("rho", "f"), [(0.5, 1.0), (0.3, 0.8), (0.9, 0.5), (0.2, 0.0)])
def test_belief_is_bayes_posterior(rho, f):
    rp = round_params(replace(params().trainer, rho=rho, fidelity=f), None, False)
    # P(m=1 | z=1) = rho f / (rho f + (1-rho)(1-f)), computed by hand
    num1, den1 = rho * f, rho * f + (1 - rho) * (1 - f)
    num0, den0 = rho * (1 - f), rho * (1 - f) + (1 - rho) * f
    assert rp.belief_cue_observed == pytest.approx(num1 / den1 if den1 else rho, rel=1e-6)
    assert rp.belief_cue_unobserved == pytest.approx(num0 / den0 if den0 else rho, rel=1e-6)
    assert rp.prior == np.float32(rho)


def test_state_is_at_most_64_bytes_per_agent():
    p = params("n_agents=1000", "replicates=2")
    state = sample_population(p.population, 0, 2, 1000)
    game = make_game(p, PhaseSpec("t", 1, True), state)
    assert state.nbytes_per_agent() + game.loss_rate.itemsize <= 64
