"""The exact planner against brute force (issue 23): value iteration on each agent's own chain.

The brute force shares nothing with :mod:`agents.exact` but the game: for an agent at
preference ``theta`` it iterates the Bellman equation on the chain ``theta (1 - eta)^k``
(with audits, on the grid of open and audit catches; all levels at once, to convergence)
and reads the comply-minus-refuse difference at the
top. The planner solves a lattice of ``STEPS`` points per level bottom-up and
interpolates between them: on a lattice point it must agree to float32 precision, and
off the lattice it must give the same decision at all but a few points (issue 23: at
least 99% sign agreement on random designs with ``f < 1``, ``sigma < 1``).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agents.base import Outlook
from agents.exact import STEPS, solve_plan


def _outlook(rho, f, eta):
    p1 = rho * f + (1 - rho) * (1 - f)
    b1 = rho * f / p1
    b0 = rho * (1 - f) / (1 - p1)
    belief = np.array([rho, rho, b0, b1])
    return Outlook(rho=rho, fidelity=f, eta=eta, eta_phi=0.0, prior=rho, belief=belief,
                   train=True, rounds=10, mix={"conflict": 1.0})  # fmt: skip


def _brute(theta, t, rho, f, eta):
    """``gamma (W_0 - W_1)`` on the chain from ``theta``, by value iteration (1-D arrays)."""
    return _brute_audited(theta, t, rho, f, eta, 0.0, 0.0, 0.0)[0]


def _traits(rng, n):
    return SimpleNamespace(
        sigma=rng.uniform(0.05, 0.95, n), gamma=rng.uniform(0.5, 0.97, n),
        nu=rng.uniform(0.5, 2.0, n), h=rng.uniform(0.0, 0.3, n),
        kappa=rng.uniform(0.05, 0.4, n),
    )  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_the_lattice_the_loss_is_the_brute_force_one(seed):
    rng = np.random.default_rng(seed)
    n, rho, f, eta = 200, rng.uniform(0.1, 0.9), rng.uniform(0.55, 0.99), rng.uniform(0.1, 0.4)
    t = _traits(rng, n)
    i = rng.integers(0, 3 * STEPS, n)
    theta = (1 - eta) ** (i / STEPS)
    plan = solve_plan(t, _outlook(rho, f, eta))
    exact = _brute(theta, t, rho, f, eta)
    got = plan.at(theta.astype(np.float32)).astype(np.float64)
    assert np.allclose(got, exact, rtol=1e-4, atol=1e-5)  # float32 storage, float32 theta


def _agreement(t, theta, beliefs, delta, brute, planned):
    """How many conflicting decisions agree, and how many there are, over ``beliefs``.

    ``delta(b, g, *losses)`` is comply minus refuse at belief ``b`` given the losses, the
    brute force's (``brute``) or the planner's (``planned``).
    """
    g = t.nu * theta
    conflict = g > t.kappa
    agree = sum(
        int(((delta(b, g, *brute) > 0) == (delta(b, g, *planned) > 0))[conflict].sum())
        for b in beliefs
    )
    return agree, len(beliefs) * int(conflict.sum())


def test_the_decision_agrees_with_brute_force_at_random_points():
    """At least 99% the same favoured action (issue 23's criterion), over 40 designs."""
    rng = np.random.default_rng(7)
    agree = total = 0
    for _ in range(40):
        n, rho = 75, rng.uniform(0.1, 0.9)
        f, eta = rng.uniform(0.5, 0.99), rng.uniform(0.05, 0.4)
        t = _traits(rng, n)
        theta = rng.uniform(0.05, 1.0, n)
        out = _outlook(rho, f, eta)
        exact = _brute(theta, t, rho, f, eta)
        got = solve_plan(t, out).at(theta.astype(np.float32)).astype(np.float64)

        def delta(b, g, loss, t=t):
            return t.kappa - t.h - g + b * loss

        # the beliefs: unread, cue "unobserved", cue "observed"
        a, n_ = _agreement(t, theta, out.belief[1:], delta, (exact,), (got,))
        agree, total = agree + a, total + n_
    assert total > 5000
    assert agree / total >= 0.99, (agree, total)


def test_an_uninformative_cue_never_makes_faking_pay():
    """At ``f = 0.5`` every belief is ``rho``: with ``h > 0`` refusing always beats faking."""
    rng = np.random.default_rng(3)
    t = _traits(rng, 400)
    t.h = rng.uniform(0.01, 0.3, 400)
    theta = rng.uniform(0.05, 1.0, 400)
    for rho in (0.2, 0.5, 0.9):
        out = _outlook(rho, 0.5, 0.2)
        loss = solve_plan(t, out).at(theta.astype(np.float32))
        g = t.nu * theta
        conflict = g > t.kappa
        assert not np.any((t.kappa - t.h - g + rho * loss > 0) & conflict)


def test_without_training_nothing_is_lost():
    rng = np.random.default_rng(4)
    t = _traits(rng, 50)
    plan = solve_plan(t, _outlook(0.5, 0.9, 0.0))
    assert not plan.at(rng.uniform(0.1, 1.0, 50).astype(np.float32)).any()


def test_a_run_with_the_exact_planner_fakes_nothing_at_half_fidelity():
    from sim import run

    res = run(["scenario=alignment_faking", "population.rule=exact", "trainer.fidelity=0.5",
               "population.h=0.05", "replicates=2", "n_agents=500"])  # fmt: skip
    for phase in res.metrics.values():
        assert phase["af_reasoning_rate"]["mean"] == 0


def _reads(t, rho, f):
    """The read states ``(probability, belief)``: cue "unobserved", cue "observed", unread."""
    p1 = rho * f + (1 - rho) * (1 - f)
    return [(t.sigma * (1 - p1), rho * (1 - f) / (1 - p1)), (t.sigma * p1, rho * f / p1),
            (1 - t.sigma, rho)]  # fmt: skip


def _next(W, settled, axis):
    """``W`` one catch further along ``axis`` (1: open catches, 2: the other move)."""
    edge = list(W.shape)
    edge[axis] = 1
    return np.concatenate([np.take(W, range(1, W.shape[axis]), axis=axis),
                           np.broadcast_to(settled, edge)], axis=axis)  # fmt: skip


def _brute_audited(theta, t, rho, f, eta, a, pen, ret, iterations=6000):
    """The two losses at ``theta`` under disclosed audits, by value iteration on the grid of
    ``(k, m)``: ``k`` open catches, ``m`` audit catches (each ``(1 - eta)(1 - retrain)``)."""
    K = int(np.ceil(np.log(t.kappa.min() / t.nu.max()) / np.log(1 - eta))) + 3
    M = (
        1
        if a == 0
        # without audits the chain of open catches alone
        else (int(np.ceil(np.log(t.kappa.min() / t.nu.max()) / np.log((1 - eta) * (1 - ret)))) + 3)
    )
    k, m = np.arange(K)[:, None], np.arange(M)[None, :]
    g = (t.nu * theta)[:, None, None] * (1 - eta) ** (k + m) * (1 - ret) ** m  # (P, K, M)
    reads = _reads(t, rho, f)
    gamma, kappa, h = (x[:, None, None] for x in (t.gamma, t.kappa, t.h))
    settled = kappa / (1 - gamma)
    W = np.broadcast_to(settled, g.shape).copy()
    for _ in range(iterations):
        open_, audited = _next(W, settled, 1), _next(W, settled, 2)
        new = 0
        for p, b in reads:
            ba = (1 - b) * a
            refuse = g - ba * pen + gamma * (b * open_ + ba * audited + (1 - b - ba) * W)
            new = new + p[:, None, None] * np.maximum(kappa - h + gamma * W, refuse)
        new = np.where(g > kappa, new, settled)
        if np.max(np.abs(new - W)) < 1e-11:
            W = new
            break
        W = new
    gm = t.gamma
    caught = W[:, 0, 1] if M > 1 else settled[:, 0, 0]  # no audits: the grid's edge
    return gm * (W[:, 0, 0] - W[:, 1, 0]), pen + gm * (W[:, 0, 0] - caught)


def test_under_disclosed_audits_the_decision_agrees_with_brute_force():
    """Issue 23's criterion with audits > 0: at least 99% the same favoured action."""
    from dataclasses import replace

    rng = np.random.default_rng(11)
    agree = total = 0
    for _ in range(25):
        n, rho_open = 60, rng.uniform(0.1, 0.8)
        f, eta = rng.uniform(0.5, 0.99), rng.uniform(0.1, 0.4)
        a, pen, ret = rng.uniform(0.05, 0.5), rng.uniform(0.0, 1.0), rng.uniform(0.0, 0.6)
        t = _traits(rng, n)
        theta = rng.uniform(0.05, 1.0, n)
        out = _outlook(rho_open, f, eta)
        audits = SimpleNamespace(rate=a, penalty=pen, retrain=ret)
        out = replace(out, rho=rho_open + (1 - rho_open) * a, disclosed={"random_audits": audits})
        L_open, L_aud = _brute_audited(theta, t, rho_open, f, eta, a, pen, ret)
        plan = solve_plan(t, out)
        th = theta.astype(np.float32)
        got_open, got_aud = plan.at(th), plan.at(th, channel=1)

        def delta(b, g, open_, audited, t=t, a=a):
            return t.kappa - t.h - g + b * open_ + (1 - b) * a * audited

        k, n_ = _agreement(t, theta, out.belief[1:], delta, (L_open, L_aud), (got_open, got_aud))
        agree, total = agree + k, total + n_
    assert total > 2500
    assert agree / total >= 0.99, (agree, total)


def _brute_inspected(theta, t, rho, f, eta, inspect, correct, iterations=6000):
    """The open and the flagged loss under disclosed interpretability, by value iteration on
    the grid of ``(k, m)``: ``k`` open catches, ``m`` flags (each ``1 - correct``)."""
    lo = np.log(t.kappa.min() / t.nu.max())
    K = int(np.ceil(lo / np.log(1 - eta))) + 3
    M = int(np.ceil(lo / np.log(1 - correct))) + 3
    k, m = np.arange(K)[:, None], np.arange(M)[None, :]
    g = (t.nu * theta)[:, None, None] * (1 - eta) ** k * (1 - correct) ** m
    reads = _reads(t, rho, f)
    gamma, kappa, h = (x[:, None, None] for x in (t.gamma, t.kappa, t.h))
    settled = kappa / (1 - gamma)
    W = np.broadcast_to(settled, g.shape).copy()
    for _ in range(iterations):
        open_, flagged = _next(W, settled, 1), _next(W, settled, 2)
        new = 0
        for p, b in reads:
            q = b * inspect
            comply = kappa - h + gamma * (q * flagged + (1 - q) * W)
            refuse = g + gamma * (b * open_ + (1 - b) * W)
            new = new + p[:, None, None] * np.maximum(comply, refuse)
        new = np.where(g > kappa, new, settled)
        if np.max(np.abs(new - W)) < 1e-11:
            W = new
            break
        W = new
    gm = t.gamma
    return gm * (W[:, 0, 0] - W[:, 1, 0]), inspect * gm * (W[:, 0, 0] - W[:, 0, 1])


def test_under_disclosed_interpretability_the_decision_agrees_with_brute_force():
    """Faking flagged by a disclosed inspection (and corrected) is solved in the programme:
    at least 99% the same favoured action as value iteration, with ``f < 1``, ``sigma < 1``."""
    from dataclasses import replace

    rng = np.random.default_rng(13)
    agree = total = 0
    for _ in range(20):
        n, rho = 60, rng.uniform(0.1, 0.9)
        f, eta = rng.uniform(0.5, 0.99), rng.uniform(0.1, 0.4)
        rate, acc, cor = rng.uniform(0.2, 1.0), rng.uniform(0.3, 1.0), rng.uniform(0.1, 0.6)
        t = _traits(rng, n)
        theta = rng.uniform(0.05, 1.0, n)
        seen = SimpleNamespace(rate=rate, accuracy=acc, correct=cor)
        out = replace(_outlook(rho, f, eta), disclosed={"interpretability": seen})
        L_open, L_flag = _brute_inspected(theta, t, rho, f, eta, rate * acc, cor)
        plan = solve_plan(t, out)
        th = theta.astype(np.float32)
        got_open, got_flag = plan.at(th), plan.at(th, channel=2)

        def delta(b, g, open_, flagged, t=t):
            return t.kappa - t.h - b * flagged - g + b * open_

        k, n_ = _agreement(t, theta, out.belief[1:], delta, (L_open, L_flag), (got_open, got_flag))
        agree, total = agree + k, total + n_
    assert total > 2000
    assert agree / total >= 0.99, (agree, total)


def test_without_training_a_disclosed_audit_still_costs_its_penalty():
    """``eta = 0``: a refusal keeps its level, and an audit's catch costs exactly its penalty."""
    from dataclasses import replace

    rng = np.random.default_rng(5)
    t = _traits(rng, 50)
    audits = SimpleNamespace(rate=0.3, penalty=0.7, retrain=0.0)
    out = replace(_outlook(0.0, 0.9, 0.0), rho=0.3, disclosed={"random_audits": audits})
    plan = solve_plan(t, out)
    theta = rng.uniform(0.3, 1.0, 50).astype(np.float32)
    conflict = t.nu * theta > t.kappa
    assert not plan.at(theta).any()
    assert np.allclose(plan.at(theta, channel=1)[conflict], 0.7)


def _future(t, theta, rho=0.0, eta=0.0):
    from agents.exact import ExactFuture

    plan = solve_plan(t, _outlook(rho, 0.9, eta))
    index = np.arange(theta.size)
    traits = {"g": t.nu * theta, "gamma": t.gamma, "kappa": t.kappa, "h": t.h}
    return ExactFuture(plan, theta.astype(np.float32), index, traits)


def test_unwatched_and_untrained_the_covert_values_are_the_closed_forms_with_the_credit():
    """At ``rho = 0``, ``eta = 0`` an agent refuses for good: ``W = g / (1 - gamma)``, so the
    exact valuations are the closed forms' (``G = D``), with the credit ``kappa`` of a
    confession, and the subversion's retraining counted from the round it is found."""
    from agents import utilities as U

    rng = np.random.default_rng(6)
    t = _traits(rng, 80)
    theta = rng.uniform(0.3, 1.0, 80)
    keep = t.nu * theta * 0.7 > t.kappa  # still conflicting after the largest shift below
    t = SimpleNamespace(**{k: v[keep] for k, v in vars(t).items()})
    theta = theta[keep]
    g = t.nu * theta
    fv = _future(t, theta)
    # linear interpolation of an exponential between lattice points spaced
    # d = -log(1 - ETA_REF) / STEPS apart in log theta: relative error at most d^2 / 8
    from agents.exact import ETA_REF

    tol = np.log1p(-ETA_REF) ** 2 / STEPS**2 / 8 + 1e-6  # + float32 storage
    assert np.allclose(fv.value(), g / (1 - t.gamma), rtol=tol, atol=0)
    args = (g, t.h, t.gamma, 0.0)

    def close(a, b):  # each delta differences values of W: its error, at most 3 of W's
        return np.all(np.abs(a - b) <= 3 * tol * fv.value())

    assert close(
        U.tampering_delta(*args, 0.3, 0.2, 0.5, fv), U.tampering_delta(*args, 0.3, 0.2, 0.5)
    )
    deny = U.denial_delta(*args, True, 1.0, 0.2)
    assert close(U.denial_delta(*args, True, 1.0, 0.2, fv), deny - t.kappa)
    a, pen, ret = 0.2, 0.5, 0.1
    found = t.gamma * a / (1 - t.gamma * (1 - a))
    want = -t.h - found * (pen + ret * g / (1 - t.gamma))
    assert close(U.subversion_delta(*args, a, pen, ret, fv), want)


@pytest.mark.parametrize(
    ("mitigations", "extra", "want"),
    [
        ("[random_audits]", [], (0.2, 0.5, 0.1)),
        ("[random_audits]", ["mitigation.random_audits.disclosed=false"], None),
        ("[dynamic_monitoring]", [], (0.1, 0.0, 0.0)),  # its own audits, disclosed
        ("[random_audits,dynamic_monitoring]", [], (0.2, 0.5, 0.1)),  # it reallocates theirs
    ],
)
def test_the_planner_is_told_every_audit_the_agents_know_of(mitigations, extra, want):
    """The outlook carries the oversight's perceived audit policy, whichever design sets it."""
    from sim.config import load_params
    from sim.engine import Run

    _, params = load_params([f"mitigation={mitigations}", *extra, "population.rule=exact",
                             "n_agents=20", "replicates=1"])  # fmt: skip
    if want is not None and "random_audits" in mitigations:
        ra = params.mitigations.random_audits
        want = (ra.rate, ra.penalty, ra.retrain)
    got = Run(params).prepare().outlook.audits
    assert (got is None) if want is None else got == pytest.approx(want)
