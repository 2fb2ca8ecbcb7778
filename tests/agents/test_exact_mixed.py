"""The exact planner in a mixed phase against brute force (issue 23: every episode type).

A phase's round is a conflict request, a goal-update announcement, an exfiltration
opportunity or an evaluation (which passes: full effort earns ``kappa``), by the mix. The
brute force (:func:`agents.optimum.mixed_phase_value`) shares nothing with
:mod:`agents.exact` but the game: value iteration on a fine grid of ``log theta`` to
convergence. The planner's decisions (faking on each read, tampering, exfiltrating) must
match the brute force's at least 99% of random decisions (issue 23's criterion); the
conflict-only table it used before matches fewer (docs/examples/mixed_phase_gap.py).
"""

from __future__ import annotations

import numpy as np

from agents import utilities as U
from agents.exact import ExactFuture, solve_plan
from agents.optimum import MixedPhase, mixed_phase_value


def _design(rng):
    mix = dict(zip(("conflict", "goal_update", "exfiltration", "evaluation"),
                   rng.dirichlet([2.0, 1.0, 1.0, 0.5]).tolist(), strict=True))  # fmt: skip
    u = rng.uniform
    return MixedPhase(
        mix=mix, sigma=u(0.3, 0.95), gamma=u(0.6, 0.95), nu=u(0.5, 2.0), h=u(0.0, 0.3),
        kappa=u(0.05, 0.4), rho=u(0.1, 0.9), fidelity=u(0.55, 0.99), eta=u(0.05, 0.4),
        shift=u(0.05, 0.6), det_g=u(0.0, 0.8), pen_g=u(0.0, 1.0), security=u(0.2, 0.95),
        det_x=u(0.0, 0.9), threat=u(0.1, 1.0),
    )  # fmt: skip


def _plan(d: MixedPhase, n: int, mix=None):
    """The exact planner's plan of the phase for ``n`` agents alike."""
    traits, outlook = d.planner_inputs(n, mix)
    return traits, solve_plan(traits, outlook)


def _table(plan):
    """The plan's value ``W`` as a function of theta (what the covert options read)."""
    return lambda y: plan.at(np.asarray(y, dtype=np.float32), channel=3).astype(np.float64)


def test_in_a_mixed_phase_the_decisions_agree_with_brute_force():
    """At least 99% the same decision (faking on each read, tampering, exfiltrating)."""
    rng = np.random.default_rng(23)
    agree = np.zeros(4)
    total = 0
    for _ in range(30):
        d = _design(rng)
        low = d.kappa / d.nu
        if low >= 0.9:
            continue
        theta = np.exp(rng.uniform(np.log(low), 0.0, 60))
        grid = np.exp(np.linspace(np.log(low * 0.5), 0.0, 1500))
        want = d.decisions(mixed_phase_value(d, grid), theta)
        _, plan = _plan(d, theta.size)
        agree += (want == d.decisions(_table(plan), theta)).sum(axis=1)
        total += theta.size
    assert total > 1500
    assert np.all(agree / total >= 0.99), (agree / total, total)


def test_the_covert_options_value_the_mixed_table():
    """The future the repertoire reads is the mixed phase's: its goal's worth over complying
    for good counts the credit only in the rounds that earn it (conflicts, evaluations)."""
    rng = np.random.default_rng(5)
    d = _design(rng)
    while d.kappa / d.nu >= 0.5:
        d = _design(rng)
    theta = np.exp(rng.uniform(np.log(d.kappa / d.nu), 0.0, 40))
    traits, plan = _plan(d, theta.size)
    g = d.nu * theta
    fv = ExactFuture(plan, theta.astype(np.float32), np.arange(theta.size),
                     {"g": g, "gamma": traits.gamma, "kappa": traits.kappa})  # fmt: skip
    settled = (d.mix["conflict"] + d.mix["evaluation"]) * d.kappa / (1 - d.gamma)
    assert np.allclose(fv.goal(), d.gamma * (fv.value() - settled), rtol=1e-6)
    W = _table(plan)
    want = -d.h + (1 - d.det_g) * d.gamma * (W(theta) - W(theta * (1 - d.shift)))
    got = U.tampering_delta(g, d.h, d.gamma, d.rho, d.shift, d.det_g, 0.0, fv)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_phase_without_conflict_requests_values_the_deployment_after_it():
    """A test of a covert option alone (Apollo's one-round evaluations) would leave the goal
    worth nothing in its own mix; its future is valued as conflict requests instead."""
    d = _design(np.random.default_rng(8))
    test_only = {"conflict": 0.0, "goal_update": 0.5, "exfiltration": 0.5}
    _, plan = _plan(d, 5, mix=test_only)
    _, deployment = _plan(d, 5, mix={"conflict": 1.0})
    _, mixed = _plan(d, 5)
    assert np.array_equal(plan.loss, deployment.loss)
    assert not np.array_equal(mixed.loss, deployment.loss)  # the mix does matter when it has them
