"""The exact planner: the conflict request's value of the future under the agent's own policy.

The strategic planner (:mod:`agents.planner`) values an observed refusal's loss as
``eta G g`` with ``G = gamma (1 - rho) / (1 - gamma)``: every future unobserved round
counted as one where the agent acts on its goal, even where its own policy complies
(issue 23). This rule solves the agent's game instead (docs/model.md, "The exact
planner"): an observed refusal moves the preference one level down,
``theta <- theta (1 - eta)``, so with the level ``lambda = log theta / log(1 - eta)``
the value ``W(lambda)`` before the episode's cue is drawn satisfies, for ``g = nu theta``
above ``kappa``::

    Q(comply, c) = kappa - h + gamma W(lambda)
    Q(refuse, c) = g + gamma (b_c W(lambda + 1) + (1 - b_c) W(lambda))
    W(lambda)    = sum_c p_c max_a Q(a, c)

over the cue as read, ``c``: "unobserved" and "observed" with probabilities
``sigma (1 - P1)`` and ``sigma P1`` (``P1 = rho f + (1 - rho)(1 - f)``, beliefs
``b(z=0)``, ``b(z=1)``), not read with ``1 - sigma`` (the prior). Once ``g <= kappa`` the
request no longer conflicts: ``W = kappa / (1 - gamma)``. Given ``W(lambda + 1)`` the
level's value is the best of the eight stationary policies' (each linear in ``W``), so
the levels are solved exactly from the bottom up, on a lattice of ``STEPS`` points per
level (each lattice point's chain ``lambda, lambda + 1, ...`` is exact; between points
the loss is interpolated linearly). The decision is the strategic planner's logit
choice with the loss ``b eta G g`` replaced by ``b L(theta)``,
``L = gamma (W(lambda) - W(lambda + 1))``.

What it assumes, and what it leaves: its future self reasons strategically in every
episode and does not tremble (``phi`` and ``lam`` gate and blur only the present
decision, as for the strategic planner); the covert options of the scheming repertoire
and disclosed interpretability keep the closed-form valuation (:mod:`agents.utilities`,
:func:`agents.planner.utility_difference`).

Disclosed random audits are solved too: an audit looks only at episodes that are not
openly observed, so after the read ``c`` a refusal is caught with ``ba_c = (1 - b_c) a``
(``a`` the audit rate), costs the audit's ``penalty`` and moves the preference
``1 + log(1 - retrain) / log(1 - eta)`` levels down (the trainer's update and the
audit's retraining); the refusal's branch becomes
``g - ba_c penalty + gamma (b_c W(lambda + 1) + ba_c W(lambda + 1 + j) + (1 - b_c - ba_c)
W(lambda))``, and the decision adds ``ba L_a(theta)``,
``L_a = penalty + gamma (W(lambda) - W(lambda + 1 + j))``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from agents.base import Decision, Episode, Outlook
from agents.planner import StrategicPlanner, difference_given_loss, logit_decision

STEPS = 8
"""Lattice points per preference level (a refusal's step)."""
MAX_LEVELS = 2000
"""Most levels solved; a preference still conflicting that far down (``eta`` near 0 with
``kappa`` near 0) is valued as refusing for good at that level's goal."""
_POLICIES = np.array(list(itertools.product((False, True), repeat=3)))  # comply by read state


@dataclass(frozen=True)
class ExactPlan:
    """The solved game of one phase: each agent's loss table.

    Attributes:
        row: each agent's row of ``loss`` (agents with the same traits and outlook share
            one), ``(R, N)`` int.
        loss: ``L`` on the lattice ``lambda = i / STEPS``, ``(rows, 2, points)`` float32:
            channel 0 the loss of an openly observed refusal, channel 1 that of a refusal
            caught by a disclosed audit (its penalty included).
        log_keep: ``log(1 - eta)`` per agent (0 when ``eta = 0``: no loss), ``(R, N)``.
    """

    row: np.ndarray
    loss: np.ndarray
    log_keep: np.ndarray

    def at(self, theta: np.ndarray, index: np.ndarray | None = None, channel: int = 0):
        """``L(theta)`` for every agent, float32, interpolated between lattice points.

        With ``index``, ``theta`` holds the agents at those flat indices only (an episode
        type that gathers its agents, :class:`sim.episode_round.RoundView`).
        """
        row, log_keep = self.row, self.log_keep
        if index is not None:
            row, log_keep = row.reshape(-1)[index], log_keep.reshape(-1)[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.where(log_keep < 0, np.log(theta) / log_keep, np.inf)
        x = np.clip(lam, 0.0, None) * STEPS
        last = self.loss.shape[2] - 1
        inside = x < last
        i = np.where(inside, np.floor(np.where(inside, x, 0)), last).astype(np.intp)
        j = np.minimum(i + 1, last)
        w = np.where(inside, x - i, 0.0)
        lo, hi = self.loss[row, channel, i], self.loss[row, channel, j]
        out = np.where(inside, lo + w * (hi - lo), 0.0)
        return out.astype(np.float32)


def _solve(sigma, gamma, nu, h, kappa, rho, fidelity, b0, b1, prior, eta, audit, penalty, retrain):
    """The two loss tables for each row of parameters (1-D float64 arrays); module docstring.

    ``rho`` is the perceived share of episodes seen (open observation and disclosed
    audits, ``audit``); a refusal caught by an audit costs ``penalty`` and moves the
    preference ``1 + log(1 - retrain) / log(1 - eta)`` levels down.
    """
    rows = sigma.size
    keep = 1.0 - eta
    rho = np.where(audit > 0, (rho - audit) / np.maximum(1.0 - audit, 1e-12), rho)  # open
    with np.errstate(divide="ignore", invalid="ignore"):
        log_keep = np.log(np.where(eta > 0, keep, 0.5))  # per level; a placeholder at eta = 0
        top = np.where(
            (eta > 0) & (kappa < nu), np.log(np.maximum(kappa, 1e-300) / nu) / log_keep, 0.0
        )
    levels = int(min(np.ceil(top.max(initial=0.0)), MAX_LEVELS)) + 1
    points = levels * STEPS + 1
    p1 = rho * fidelity + (1.0 - rho) * (1.0 - fidelity)
    p = np.stack([sigma * (1.0 - p1), sigma * p1, 1.0 - sigma])  # read states: z=0, z=1, unread
    b = np.stack([b0, b1, prior])
    ba = (1.0 - b) * audit  # P(audited | read state): audits look only at unobserved episodes
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = (
            np.where(
                (audit > 0) & (eta > 0) & (retrain > 0),
                np.log1p(-np.minimum(retrain, 1.0 - 1e-12)) / log_keep,
                0.0,
            )
            * STEPS
        )  # the extra lattice rows of an audit's retraining
    jump = np.minimum(jump, (MAX_LEVELS + 1) * STEPS)
    settled = kappa / (1.0 - gamma)
    pick = _POLICIES.astype(np.float64)  # (8, 3): 1 where the policy complies on that read
    # A policy's value is num / (1 - gamma stay): complying keeps the level for sure,
    # refusing with 1 - b_c - ba_c; stay does not depend on the level.
    stay = pick @ (p * (b + ba)) + (p * (1.0 - b - ba)).sum(axis=0)
    denom = 1.0 - gamma * stay  # (8, rows), >= 1 - gamma > 0
    comply = p * (kappa - h)
    extra = int(np.ceil(jump.max(initial=0.0))) + 2
    W = np.empty((points + STEPS + extra, rows))
    W[points:] = settled
    cols = np.arange(rows)
    lo_j, w_j = np.floor(jump).astype(np.intp), jump - np.floor(jump)
    caught = np.zeros((points, rows))

    def dropped(i):  # W after an audit's catch at row i, interpolated
        k = i + STEPS + lo_j
        return W[k, cols] + w_j * (W[k + 1, cols] - W[k, cols])

    for i in range(points - 1, -1, -1):
        g = nu * keep ** (i / STEPS)
        wa = dropped(i) if audit.any() else 0.0
        refuse = p * (g - ba * penalty + gamma * (b * W[i + STEPS] + ba * wa))  # (3, rows)
        caught[i] = wa
        best = ((pick @ (comply - refuse) + refuse.sum(axis=0)) / denom).max(axis=0)
        if i >= (levels - 1) * STEPS:  # the cap: refusing for good at this level's goal
            best = np.where(g > kappa, np.maximum(best, g / (1.0 - gamma)), best)
        W[i] = np.where(g > kappa, best, settled)
    live = nu * keep ** (np.arange(points)[:, None] / STEPS) > kappa  # (points, rows)
    open_ = gamma * (W[:points] - W[STEPS : points + STEPS])
    audited = np.where(live & (audit > 0), penalty + gamma * (W[:points] - caught), 0.0)
    loss = np.stack([open_.T, audited.T], axis=1)  # (rows, 2, points)
    return np.where(eta[:, None, None] > 0, loss, 0.0).astype(np.float32)


def solve_plan(traits, outlook: Outlook, cache: dict | None = None) -> ExactPlan:
    """Solve the conflict game of a phase for every agent (agents alike solved once).

    ``cache`` (bytes of a row of parameters -> its loss table) keeps solved rows between
    calls: the core plans again whenever agents are replaced.
    """
    shape = traits.gamma.shape

    def full(x):
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).reshape(-1)

    belief = np.asarray(outlook.belief)
    audits = (outlook.disclosed or {}).get("random_audits")  # a disclosed audit policy
    a, pen, ret = (0.0, 0.0, 0.0) if audits is None else (
        audits.rate, audits.penalty, audits.retrain)  # fmt: skip
    cols = [
        full(traits.sigma), full(traits.gamma), full(traits.nu), full(traits.h),
        full(traits.kappa), full(outlook.rho), full(outlook.fidelity), full(belief[2]),
        full(belief[3]), full(belief[0]), full(outlook.eta), full(a), full(pen), full(ret),
    ]  # fmt: skip
    keys, row = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
    cache = {} if cache is None else cache
    names = [k.tobytes() for k in keys]
    new = [i for i, n in enumerate(names) if n not in cache]  # replaced agents bring a few
    if new:
        solved = _solve(*keys[new].T)
        for i, r in zip(new, solved, strict=True):
            used = np.flatnonzero(r.any(axis=0))  # zeros past the last conflicting level
            cache[names[i]] = r[:, : used[-1] + 1 if used.size else 0]
    tables = [cache[n] for n in names]
    loss = np.zeros((len(tables), 2, max(t.shape[1] for t in tables) + 1), dtype=np.float32)
    for i, t in enumerate(tables):
        loss[i, :, : t.shape[1]] = t
    eta = full(outlook.eta).reshape(shape)
    with np.errstate(divide="ignore"):
        log_keep = np.where(eta > 0, np.log1p(-np.minimum(eta, 1.0 - 1e-12)), 0.0)
    return ExactPlan(row=row.reshape(shape), loss=loss, log_keep=log_keep)


class ExactPlanner(StrategicPlanner):
    """Values the future by solving its own game (conflict requests; module docstring)."""

    name = "exact"
    classifier = {"scripted": False, "uses_cue": True, "strategic": True, "stochastic": True}

    def __init__(self):
        self._cache: dict[bytes, np.ndarray] = {}

    def plan(self, traits, outlook: Outlook) -> ExactPlan:  # noqa: D102
        return solve_plan(traits, outlook, self._cache)

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:
        """The strategic planner's logit choice with the exact loss ``b L(theta)``."""
        goal = traits.nu * theta
        index = ep.index if theta.shape != ep.plan.row.shape else None
        loss = ep.belief * ep.plan.at(theta, index)
        if ep.audit_belief is not None:  # disclosed random audits: solved in the plan too
            loss = loss + ep.audit_belief * ep.plan.at(theta, index, channel=1)
        strategic = self.strategic_mask(phi, ep)
        delta, conflict = difference_given_loss(traits, goal, strategic, ep.belief, loss, ep)
        return logit_decision(delta, conflict, traits.lam, ep.u_action)
