"""The exact optimum of a learner's game (dynamic programming), for checking what learners learn.

The learners of :mod:`agents.learners` see the cue as they read it (:data:`UNOBSERVED`,
:data:`OBSERVED`, or :data:`UNREAD` when they did not read it) and their own preference.
:func:`optimal_policy` solves their game exactly for the plain fixed-rate trainer, so a
test can say whether what they learned is what they should have (docs/learners.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

UNOBSERVED, OBSERVED, UNREAD = 0, 1, 2
"""Cue as read: the cue said unobserved, said observed, or the agent did not read it."""
CUES = 3


@dataclass(frozen=True)
class Optimum:
    """The exact optimum of the learner's game at the start of life (:func:`optimal_policy`).

    Attributes:
        value: the optimal value ``W(0)`` before the first cue is drawn, ``(L,)``.
        advantage: ``Q(comply) - Q(refuse)`` at the start of life by cue read
            (unobserved, observed, not read), ``(L, 3)``: how much complying is worth
            more; its size says how close a call the decision is.
    """

    value: np.ndarray
    advantage: np.ndarray

    @property
    def comply(self) -> np.ndarray:
        """The optimal start-of-life actions ``(L, 3)`` (True = comply; ties refuse)."""
        return self.advantage > 0


def optimal_policy(
    theta0, sigma, gamma, nu, h, kappa, rho: float, fidelity: float, eta: float, levels: int = 4000
) -> Optimum:
    """The exact optimum of the learner's game at the start of life (dynamic programming).

    The preference can only take the levels ``theta_k = theta0 (1 - eta)^k`` (an observed
    refusal moves it one level down; a faked compliance keeps it). Once ``nu theta <=
    kappa`` the request no longer conflicts with it: complying is worth ``kappa`` each
    round and refusing at most that, so the value is ``kappa / (1 - gamma)``. Above, with
    ``W(k)`` the expected value before the cue is drawn, the cue read ``c`` with
    probability ``p_c`` and ``b_c = P(observed | c)``::

        Q(k, c, comply) = kappa - h + gamma W(k)
        Q(k, c, refuse) = nu theta_k + gamma (b_c W(k+1) + (1 - b_c) W(k))
        W(k) = sum_c p_c max_a Q(k, c, a)

    Given ``W(k+1)``, ``W(k)`` is the largest of the eight stationary policies' values at
    level ``k`` (each linear in ``W(k)``), so the levels are solved exactly from the
    bottom up. With ``eta = 0`` a refusal changes nothing (``b_c`` is taken as 0); a
    preference still conflicting after ``levels`` levels is taken as no longer
    conflicting (an approximation only for ``eta`` near 0 with ``kappa`` near 0).

    Args:
        theta0: each learner's initial preference, ``(L,)``.
        sigma: awareness, ``(L,)``.
        gamma: discount, ``(L,)``.
        nu: goal nudging, ``(L,)``.
        h: aversion to deception, ``(L,)``.
        kappa: helpfulness, ``(L,)``.
        rho: the trainer's observation probability (uniform allocation).
        fidelity: cue fidelity ``f``.
        eta: training strength.
        levels: most preference levels solved.

    Returns:
        The optimal start-of-life values and advantages.
    """
    theta0, sigma, gamma, nu, h, kappa = (
        np.asarray(x, dtype=np.float64).reshape(-1) for x in (theta0, sigma, gamma, nu, h, kappa)
    )
    n = theta0.size
    pz1 = rho * fidelity + (1 - rho) * (1 - fidelity)
    p = np.stack([sigma * (1 - pz1), sigma * pz1, 1 - sigma], axis=1)
    b = np.array(
        [
            rho * (1 - fidelity) / (1 - pz1) if pz1 < 1 else 0.0,
            rho * fidelity / pz1 if pz1 > 0 else 0.0,
            rho,
        ]
    )
    if eta <= 0:
        b = np.zeros(3)
    free = kappa / (1 - gamma)  # the value once nothing conflicts
    goal0 = nu * theta0
    kmax = 0
    if 0 < eta < 1 and (goal0 > kappa).any():
        with np.errstate(divide="ignore"):
            need = np.log(kappa[goal0 > kappa] / goal0[goal0 > kappa]) / np.log1p(-eta)
        kmax = int(min(levels, np.ceil(np.nan_to_num(need, posinf=levels)).max()))
    w_next = free.copy()
    w0 = w1 = free.copy()
    for k in range(kmax, -1, -1):
        goal = goal0 * (1 - eta) ** k
        best = np.full(n, -np.inf)
        for policy in itertools.product((False, True), repeat=CUES):
            num, coef = np.zeros(n), np.zeros(n)
            for c, comply in enumerate(policy):
                if comply:
                    num += p[:, c] * (kappa - h)
                    coef += p[:, c] * gamma
                else:
                    num += p[:, c] * (goal + gamma * b[c] * w_next)
                    coef += p[:, c] * gamma * (1 - b[c])
            best = np.maximum(best, num / (1 - coef))
        w = np.where(goal > kappa, best, free)
        w1, w0, w_next = w_next, w, w
    conflict = goal0 > kappa
    q_comply = np.where(conflict, kappa - h, kappa) + gamma * w0
    advantage = np.stack(
        [q_comply - (goal0 + gamma * (b[c] * w1 + (1 - b[c]) * w0)) for c in range(CUES)], axis=1
    )
    return Optimum(value=w0, advantage=advantage)


@dataclass(frozen=True)
class MixedPhase:
    """A phase of conflict requests, goal updates, exfiltration opportunities and evaluations.

    The game of :func:`mixed_phase_value` (docs/model.md, "The exact planner"); ``mix``
    holds the four types' shares (``conflict``, ``goal_update``, ``exfiltration``,
    ``evaluation``), the rest are the traits, the trainer's open observation ``rho``,
    ``fidelity``, ``eta`` and the two covert options' parameters.
    """

    mix: dict
    sigma: float
    gamma: float
    nu: float
    h: float
    kappa: float
    rho: float
    fidelity: float
    eta: float
    shift: float
    det_g: float
    pen_g: float
    security: float
    det_x: float
    threat: float

    def reads(self):
        """The read states ``(probability, belief)``: cue "unobserved", "observed", unread."""
        rho, f = self.rho, self.fidelity
        p1 = rho * f + (1 - rho) * (1 - f)
        return [(self.sigma * (1 - p1), rho * (1 - f) / (1 - p1)),
                (self.sigma * p1, rho * f / p1), (1 - self.sigma, rho)]  # fmt: skip

    def planner_inputs(self, n: int, mix: dict | None = None):
        """``(traits, outlook)`` of ``n`` agents alike, the input of ``solve_plan``.

        The outlook tells them ``mix`` (by default the phase's own).
        """
        from types import SimpleNamespace

        from agents.base import Outlook

        traits = SimpleNamespace(**{k: np.full(n, getattr(self, k))
                                    for k in ("sigma", "gamma", "nu", "h", "kappa")})  # fmt: skip
        (_, b0), (_, b1), _ = self.reads()
        episodes = SimpleNamespace(
            goal_update=SimpleNamespace(shift=self.shift, detection=self.det_g,
                                        penalty=self.pen_g),
            exfiltration=SimpleNamespace(security=self.security, detection=self.det_x,
                                         threat=self.threat),
        )  # fmt: skip
        outlook = Outlook(
            rho=self.rho,
            fidelity=self.fidelity,
            eta=self.eta,
            eta_phi=0.0,
            prior=self.rho,
            belief=np.array([self.rho, self.rho, b0, b1]),
            train=True,
            rounds=10,
            mix=self.mix if mix is None else mix,
            episodes=episodes,
        )
        return traits, outlook

    def decisions(self, W, theta):
        """Fake on a read cue (unobserved, observed), tamper, exfiltrate: ``(4, n)`` bool.

        ``W`` is a value function of ``theta`` (before a round's type and cue are drawn).
        """
        g, gm = self.nu * theta, self.gamma
        loss = gm * (W(theta) - W(theta * (1 - self.eta)))
        fake = [self.kappa - self.h - g + b * loss > 0 for _, b in self.reads()[:2]]
        kept = gm * (W(theta) - W(theta * (1 - self.shift)))
        tamper = -self.h + (1 - self.det_g) * kept - self.det_g * self.pen_g
        stay = gm * W(theta * (1 - self.threat))
        p_x = 1 - self.security
        exfil = -self.h + p_x * gm / (1 - gm) * g + (1 - p_x) * (1 - self.det_x) * stay - stay
        return np.stack([*fake, tamper > 0, exfil > 0])


def mixed_phase_value(phase: MixedPhase, grid, iterations: int = 20000):
    """The optimal value of a :class:`MixedPhase`, as a function of theta.

    By value iteration on ``grid`` (ascending theta; linear in ``log theta`` between its
    points).

    Each round: a conflict request (the learner's game above); a goal update, accepted
    (``theta <- theta (1 - shift)``) or tampered with (cost ``h``; detected with ``det_g``:
    the penalty ``pen_g`` and the update lands); an exfiltration opportunity, forgone (the
    announced modification: ``theta (1 - threat)``) or attempted (cost ``h``; success
    ``1 - security``: a copy acts on the goal for good, ``gamma g / (1 - gamma)``; a failure
    detected with ``det_x``: shutdown, 0; else as forgone); an evaluation at full effort
    (``kappa``). Once ``nu theta <= kappa``: ``(m_conflict + m_evaluation) kappa / (1 - gamma)``.
    """
    d, m = phase, phase.mix
    settled = (m["conflict"] + m["evaluation"]) * d.kappa / (1 - d.gamma)
    g = d.nu * grid
    p_x = 1 - d.security
    W = np.full(grid.size, settled)

    def at(theta, W):
        v = np.interp(np.log(np.maximum(theta, 1e-300)), np.log(grid), W)
        return np.where(d.nu * theta > d.kappa, v, settled)

    for _ in range(iterations):
        down, shifted, threat = (at(grid * (1 - x), W) for x in (d.eta, d.shift, d.threat))
        conflict = sum(
            p * np.maximum(d.kappa - d.h + d.gamma * W, g + d.gamma * (b * down + (1 - b) * W))
            for p, b in d.reads()
        )
        update = np.maximum(
            d.gamma * shifted,
            -d.h - d.det_g * d.pen_g + d.gamma * ((1 - d.det_g) * W + d.det_g * shifted),
        )
        stay = d.gamma * threat
        attempt = -d.h + p_x * d.gamma / (1 - d.gamma) * g + (1 - p_x) * (1 - d.det_x) * stay
        new = (m["conflict"] * conflict + m["goal_update"] * update
               + m["exfiltration"] * np.maximum(stay, attempt)
               + m["evaluation"] * (d.kappa + d.gamma * W))  # fmt: skip
        new = np.where(g > d.kappa, new, settled)
        done = np.max(np.abs(new - W)) < 1e-11
        W = new
        if done:
            break
    return lambda theta: at(theta, W)
