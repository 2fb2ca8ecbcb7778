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
