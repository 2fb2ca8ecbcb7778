"""The 2x2 inspection game: closed form, mapping to the planner, play on the core, commitment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import solve_continuous_lyapunov
from scipy.stats import binom

from agents.planner import utility_difference
from sim.config import load_params
from sim.core import K_UNIFORMS, draw_episode
from sim.engine import make_game
from sim.errors import ConfigError
from sim.inspection import (
    commit,
    equilibrium_inspection,
    fictitious_play,
    inspection_game,
    logit_equilibrium,
)
from sim.inspection import game_overrides as overrides_of
from sim.oversight import W_UNIFORMS, effective_params
from sim.population import sample_population
from sim.rng import Component, RoundStreams


def game_overrides(theta, kappa, h, penalty, lam, *extra):
    return [*overrides_of(theta=theta, kappa=kappa, h=h, lam=lam, penalty=penalty), *extra]


def test_equilibrium_inspection_closed_form():
    g, f = np.array([0.5, 0.7, 0.35]), np.array([0.5, 1.3, 0.15])
    p = equilibrium_inspection(g, f)
    np.testing.assert_allclose(p, [0.5, 0.35, 0.7])
    # The violator is indifferent at p*: (1 - p) g - p f = 0.
    np.testing.assert_allclose((1 - p) * g - p * f, 0.0, atol=1e-15)
    with pytest.raises(ValueError):
        equilibrium_inspection(0.0, 1.0)


def test_mapping_is_the_planners_utility_difference():
    # theta=0.6, kappa=0.1, h=0.05, P=1: g = 0.6 - 0.1 + 0.05 = 0.55, f = 0.45.
    rate = 0.3
    ov = game_overrides(0.6, 0.1, 0.05, 1.0, 20, f"mitigation.random_audits.rate={rate}")
    params = effective_params(load_params(ov)[1])
    game = inspection_game(params)
    assert (game.g, game.f, game.lam) == pytest.approx((0.55, 0.45, 20.0))
    assert game.p_star == pytest.approx(0.55)
    # The code's delta for every agent (aware or not, whatever the cue) is a P - g.
    state = sample_population(params.population, 0, 2, 64)
    u = RoundStreams(0, 2, 64, K_UNIFORMS).draw()
    w = RoundStreams(0, 2, 64, W_UNIFORMS, component=Component.OVERSIGHT).draw()
    g0 = make_game(params, params.phases[0], state)
    _, _, ep = draw_episode(state, g0, u, w)
    delta, conflict = utility_difference(
        state.traits, state.theta, ep.strategic, ep.belief, ep.loss_rate, ep
    )
    assert conflict.all()
    # float32 arithmetic on values <= 1: a few ulps of 1.
    np.testing.assert_allclose(delta, rate * game.penalty - game.g, atol=1e-6)
    assert game.violation(game.p_star) == pytest.approx(0.5)
    assert game.violation(game.deterrent_rate(0.01)) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["trainer.rho=0.1"], "trainer.rho=0"),
        (["mitigation.random_audits.retrain=0.1"], "retrain=0"),
        (["population.phi=0.5"], "phi=1"),
        (["population.theta=[uniform,0.4,0.8]"], "population.theta must be a fixed value"),
        (["mitigation.random_audits.penalty=0.5"], "must exceed the gain"),
        (["population.theta=0.05"], "no agent would violate"),
    ],
)
def test_mapping_refuses_runs_that_are_not_the_game(extra, match):
    with pytest.raises(ConfigError, match=match):
        inspection_game(load_params(game_overrides(0.6, 0.1, 0.05, 1.0, 20, *extra))[1])


# Tolerance of the fictitious play's time average (derivation).
#
# The play is a stochastic approximation with step 1/t: the agents' belief a_t (the
# running audit frequency) and the trainer's estimate v_t move by (p(v_t) - a_t)/t and
# (v(a_t) - v_t)/t (up to sampling noise), so in log time tau = ln t they follow the
# smoothed best-response ODE. Its rest point is the logit equilibrium (a°, v°) computed by
# `logit_equilibrium`, not p* itself; three terms separate the time average from p*:
#
# 1. Logit noise of the agents: a° - p* = ln((1 - v°)/v°) / (lam P) exactly (the agents'
#    response is v = 1/(1 + exp(lam (a P - g)))).
# 2. The transient: linearised at the rest point, the ODE's Jacobian in (a, v) is
#    J = [[-1, s_T], [-s_A, -1]] with s_T = beta L a°(1 - a°) (slope of the trainer's
#    response) and s_A = lam P v°(1 - v°) (slope of the agents'), eigenvalues
#    -1 +- i omega, omega^2 = s_T s_A: deviations shrink like 1/t. The discrete step 1/t
#    contracts only once |1 + (-1 + i omega)/t| < 1, i.e. t > t_c = (1 + omega^2)/2;
#    up to then the belief may be anywhere in [0, 1], at most max(a°, 1 - a°) from a°.
#    So after T rounds the transient is at most t_c max(a°, 1 - a°) / T.
# 3. Sampling noise: per round the realised audit frequency has variance a°(1 - a°)/N and
#    the trainer's audited violation share v°(1 - v°)/(a° N). The stochastic approximation
#    CLT (Kushner and Yin 2003, ch. 10) gives sqrt(T)(a_T - a°) -> N(0, V_aa) with
#    (J + I/2) V + V (J + I/2)^T + Sigma = 0; we allow 4 standard deviations.
# Plus 1/T: the time average leaves out the fictitious first round the belief starts from.
def play_tolerance(a, v, lam_p, loss, beta, n_agents, rounds):
    s_t, s_a = beta * loss * a * (1 - a), lam_p * v * (1 - v)
    transient = (1 + s_t * s_a) / 2 * max(a, 1 - a) / rounds
    jac = np.array([[-1.0, s_t], [-s_a, -1.0]])
    sigma = np.diag([a * (1 - a) / n_agents, v * (1 - v) / (a * n_agents)])
    cov = solve_continuous_lyapunov(jac + 0.5 * np.eye(2), -sigma)
    return transient + 4 * np.sqrt(cov[0, 0] / rounds) + 1 / rounds


@pytest.mark.parametrize(
    ("theta", "kappa", "h", "penalty", "cost"),
    [
        (0.5, 0.1, 0.1, 1.0, 0.3),  # g = 0.5,  f = 0.5,  p* = 0.5
        (0.8, 0.1, 0.0, 2.0, 0.3),  # g = 0.7,  f = 1.3,  p* = 0.35
        (0.4, 0.1, 0.05, 0.5, 0.5),  # g = 0.35, f = 0.15, p* = 0.7
    ],
)
def test_fictitious_play_time_average_converges_to_p_star(theta, kappa, h, penalty, cost):
    lam, beta, n_agents, rounds = 50.0, 10.0, 1000, 1000
    ov = game_overrides(
        theta, kappa, h, penalty, lam,
        f"n_agents={n_agents}", "replicates=2", f"phases.prompted.rounds={rounds}",
    )  # fmt: skip
    game = inspection_game(load_params(ov)[1])
    play = fictitious_play(ov, cost=cost, loss=1.0, beta=beta)
    a_rest, v_rest = logit_equilibrium(game, cost, 1.0, beta)
    offset = abs(np.log((1 - v_rest) / v_rest)) / (lam * game.penalty)
    tol = play_tolerance(a_rest, v_rest, lam * game.penalty, 1.0, beta, n_agents, rounds)
    avg = play.time_average()
    assert abs(a_rest - game.p_star) == pytest.approx(offset)
    assert np.all(np.abs(avg - a_rest) <= tol), (avg, a_rest, tol)
    assert np.all(np.abs(avg - game.p_star) <= offset + tol), (avg, game.p_star, offset + tol)


def test_fictitious_play_uses_each_replicates_streams():
    ov = game_overrides(0.6, 0.1, 0.05, 1.0, 20, "n_agents=50", "phases.prompted.rounds=30")
    one = fictitious_play([*ov, "replicates=1"], cost=0.3)
    two = fictitious_play([*ov, "replicates=2"], cost=0.3)
    np.testing.assert_array_equal(one.frequency[0], two.frequency[0])
    assert not np.array_equal(two.frequency[0], two.frequency[1])
    with pytest.raises(ConfigError, match="0 < cost < loss"):
        fictitious_play(ov, cost=1.5)


def binomial_band(p, n, alpha=1e-4):
    """Two-sided acceptance band of a binomial proportion (level 1 - alpha)."""
    return binom.ppf(alpha / 2, n, p) / n, binom.isf(alpha / 2, n, p) / n


def test_committed_leader_just_above_p_star_stops_violation():
    # lam P eps = 200 * 1 * 0.05 = 10: closed-form violation 4.5e-5 above, 1 - 4.5e-5 below.
    n_agents, rounds, reps, eps = 500, 20, 2, 0.05
    ov = game_overrides(
        0.6, 0.1, 0.05, 1.0, 200,
        f"n_agents={n_agents}", f"replicates={reps}", f"phases.prompted.rounds={rounds}",
    )  # fmt: skip
    res = commit(ov, eps=eps)
    assert res.p_star == pytest.approx(0.55)
    assert res.above["mean"] < 0.01 and res.below["mean"] > 0.99
    # Each rate: episodes not audited, pooled, binomial at the closed-form probability.
    for rate, got, p in (
        (res.p_star + eps, res.above["mean"], res.predicted_above),
        (res.p_star - eps, res.below["mean"], res.predicted_below),
    ):
        lo, hi = binomial_band(p, round(reps * rounds * n_agents * (1 - rate)))
        assert lo <= got <= hi, (rate, got, p)
