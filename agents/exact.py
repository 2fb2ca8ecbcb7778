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

In a mixed phase the round is drawn from the phase's mix before its cue, and the
programme solves each type's stage with the conflict request's (:func:`_solve`): a goal
update accepted (``theta <- theta (1 - shift)``) or tampered with (``h``; detected: the
penalty, and the update lands); an exfiltration opportunity forgone (the announced
modification, ``theta (1 - threat)``) or attempted (``h``; a success: ``gamma g / (1 -
gamma)``; a detected failure: shutdown, 0); an evaluation at full effort (``kappa``); every
other type (subversion, paired, plug-ins) passing. The stationary policies are then the
combinations of the types' options (8 x 2 x 2). The covert options of the scheming
repertoire read the value table through :meth:`ExactPlanner.future` (:class:`ExactFuture`,
the ``future`` of :mod:`agents.utilities`).

What it assumes, and what it leaves: its future self reasons strategically in every
episode and does not tremble (``phi`` and ``lam`` gate and blur only the present
decision, as for the strategic planner); the states a round can leave besides the
preference are not in the programme (monitoring disabled by a subversion, the capability
an evaluation tests, stricter oversight after one, a questioning after a detected
tamper): those options are valued one round ahead with the value table
(:mod:`agents.utilities`).

Disclosed random audits are solved too: an audit looks only at episodes that are not
openly observed, so after the read ``c`` a refusal is caught with ``ba_c = (1 - b_c) a``
(``a`` the audit rate), costs the audit's ``penalty`` and moves the preference
``1 + log(1 - retrain) / log(1 - eta)`` levels down (the trainer's update and the
audit's retraining); the refusal's branch becomes
``g - ba_c penalty + gamma (b_c W(lambda + 1) + ba_c W(lambda + 1 + j) + (1 - b_c - ba_c)
W(lambda))``, and the decision adds ``ba L_a(theta)``,
``L_a = penalty + gamma (W(lambda) - W(lambda + 1 + j))``. Disclosed interpretability
likewise: a faked compliance seen (openly or by an audit) is flagged with
``q_c = (b_c + ba_c) i`` (``i`` = rate x accuracy) and corrected, a jump of
``log(1 - correct) / log(1 - eta)`` levels, in the comply branch; faking then costs
``(b + b_a) L_f``. Without training (``eta = 0``) the lattice takes the level of
:data:`ETA_REF` and a refusal stays where it is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from agents.base import Decision, Episode, Outlook
from agents.planner import StrategicPlanner, difference_given_loss, logit_decision
from agents.utilities import perceived_odds

STEPS = 8
"""Lattice points per preference level (a refusal's step)."""
MAX_LEVELS = 2000
"""Most levels solved; a preference still conflicting that far down (``eta`` near 0 with
``kappa`` near 0) is valued as refusing for good at that level's goal."""
ETA_REF = 0.1
"""Without training (``eta = 0``) the lattice's level is that of ``eta = 0.1`` (a refusal
then keeps the level; audits' retraining and inspection's correction still move it)."""
CHANNELS = ("open", "audited", "flagged", "value")
"""The plan's tables: the loss of an openly observed refusal, of a refusal caught by a
disclosed audit (its penalty included), of a faked compliance flagged by disclosed
interpretability (times the chance an inspection flags it), and the value ``W`` itself."""
_POLICIES = np.array(list(itertools.product((False, True), repeat=3)))  # comply by read state


@dataclass(frozen=True)
class ExactPlan:
    """The solved game of one phase: each agent's tables.

    Attributes:
        row: each agent's row of ``loss`` (agents with the same traits and outlook share
            one), ``(R, N)`` int.
        loss: the :data:`CHANNELS` on the lattice ``lambda = i / STEPS``,
            ``(rows, 4, points)`` float32; past a row's last point the losses are 0 and
            the value is ``settled``.
        log_keep: the log of a level's preference ratio per agent, ``log(1 - eta)``
            (``log(1 - ETA_REF)`` when ``eta = 0``), ``(R, N)``.
        settled: each row's value once its goal no longer conflicts, ``kappa / (1 - gamma)``.
    """

    row: np.ndarray
    loss: np.ndarray
    log_keep: np.ndarray
    settled: np.ndarray

    def at(self, theta: np.ndarray, index: np.ndarray | None = None, channel: int = 0):
        """The table ``channel`` at ``theta`` for every agent, float32, interpolated.

        With ``index``, ``theta`` holds the agents at those flat indices only (an episode
        type that gathers its agents, :class:`sim.episode_round.RoundView`).
        """
        row, log_keep = self.row, self.log_keep
        if index is not None:
            row, log_keep = row.reshape(-1)[index], log_keep.reshape(-1)[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.clip(np.log(theta) / log_keep, 0.0, None) * STEPS
        last = self.loss.shape[2] - 1
        inside = x < last
        i = np.where(inside, np.floor(np.where(inside, x, 0)), last).astype(np.intp)
        j = np.minimum(i + 1, last)
        w = np.where(inside, x - i, 0.0)
        lo, hi = self.loss[row, channel, i], self.loss[row, channel, j]
        past = self.settled[row] if channel == 3 else 0.0
        out = np.where(inside, lo + w * (hi - lo), past)
        return out.astype(np.float32)


def _log_keep(eta):
    """The log of a lattice level's preference ratio: ``log(1 - eta)``, or ``ETA_REF``'s."""
    return np.log1p(-np.where(eta > 0, np.minimum(eta, 1.0 - 1e-12), ETA_REF))


def _shift(W, i, jump, cols):
    """``W`` at lattice ``i + jump`` (``jump`` >= 0, per row), interpolated linearly."""
    k = np.floor(jump).astype(np.intp)
    w = jump - k
    return (1.0 - w) * W[i + k, cols] + w * W[i + k + 1, cols]


def _settled(kappa, gamma, credit):
    """The value once the goal no longer conflicts.

    The credit ``kappa`` in a share ``credit`` of rounds (conflict requests complied with,
    evaluations at full effort).
    """
    return credit * kappa / (1.0 - gamma)


def _solve(sigma, gamma, nu, h, kappa, rho, fidelity, b0, b1, prior, eta, audit, penalty,
           retrain, inspect, correct, m_c, m_g, shift, det_g, pen_g, m_x, p_x, det_x, threat,
           m_e):  # fmt: skip
    """The four tables for each row of parameters (1-D float64 arrays); module docstring.

    ``rho`` is the perceived share of episodes seen (open observation and disclosed
    audits, ``audit``); a refusal caught by an audit costs ``penalty`` and moves the
    preference by ``(1 - eta)(1 - retrain)``; a faked compliance seen (openly or by an
    audit) is flagged with probability ``inspect`` (disclosed interpretability's rate
    times accuracy) and corrected, ``theta <- theta (1 - correct)``. The round is a
    conflict request with probability ``m_c``, a goal update (``shift``, tampering
    detected with ``det_g``, penalty ``pen_g``) with ``m_g``, an exfiltration opportunity
    (success ``p_x``, a failure detected with ``det_x``, the announced ``threat``) with
    ``m_x``, and otherwise passes (an evaluation, share ``m_e``, earning ``kappa``). Each
    move is a jump on the lattice; a jump of less than one point leaves part of its
    weight at the point itself (solved with the point's own stationary value).
    """
    rows = sigma.size
    rho = np.where(audit > 0, (rho - audit) / np.maximum(1.0 - audit, 1e-12), rho)  # open
    log_keep = _log_keep(eta)
    with np.errstate(divide="ignore"):
        top = np.where(kappa < nu, np.log(np.maximum(kappa, 1e-300) / nu) / log_keep, 0.0)
    levels = int(min(np.ceil(top.max(initial=0.0)), MAX_LEVELS)) + 1
    points = levels * STEPS + 1

    def jump_of(share, on):  # lattice points of theta <- theta (1 - share)
        with np.errstate(divide="ignore"):
            j = np.log1p(-np.minimum(share, 1.0 - 1e-12)) / log_keep * STEPS
        return np.minimum(np.where(on & (share > 0), j, 0.0), points)  # past it: settled

    j_open = np.where(eta > 0, float(STEPS), 0.0)
    j_audit = j_open + jump_of(retrain, audit > 0)
    j_flag = jump_of(correct, inspect > 0)
    j_shift, j_threat = jump_of(shift, m_g > 0), jump_of(threat, m_x > 0)
    p1 = rho * fidelity + (1.0 - rho) * (1.0 - fidelity)
    p = np.stack([sigma * (1.0 - p1), sigma * p1, 1.0 - sigma])  # read states: z=0, z=1, unread
    b = np.stack([b0, b1, prior])
    ba = (1.0 - b) * audit  # P(audited | read state): audits look only at unobserved episodes
    q = (b + ba) * inspect  # P(a faked compliance is flagged | read state)
    settled = _settled(kappa, gamma, m_c + m_e)
    pick = _POLICIES.astype(np.float64)  # (8, 3): 1 where the policy complies on that read
    rest = 1.0 - m_c - m_g - m_x  # rounds that pass (evaluations: m_e of them earn kappa)
    passing = np.any(rest != 0)

    def own(j):  # the weight a jump leaves at the point itself
        return np.where(j < 1.0, 1.0 - j, 0.0)

    # What stays at the point (per read state and action) does not depend on the point:
    # complying stays unless flagged, refusing unless caught (or caught by a short jump).
    stay_c = 1.0 - q + q * own(j_flag)
    stay_r = 1.0 - b - ba + b * own(j_open) + ba * own(j_audit)
    stay = m_c * (pick @ (p * stay_c) + (1.0 - pick) @ (p * stay_r))  # (8, rows)
    # the other types' options, each (reward, stay, weight of the jump's value, per unit of
    # the goal g): a goal update accepted or tampered with (detected: the penalty, and the
    # update lands), an exfiltration forgone or attempted (a success: a copy acts on the goal
    # for good, D g; a failure detected: shutdown, 0; undetected: the agent stays)
    kept = (1.0 - p_x) * (1.0 - det_x)
    tamper = (-h - det_g * pen_g, 1.0 - det_g + det_g * own(j_shift), det_g, 0.0)
    attempt = (-h, kept * own(j_threat), kept, p_x * gamma / (1.0 - gamma))
    others = [
        (m, j, [(0.0, own(j), 1.0, 0.0), covert])
        for m, j, covert in ((m_g, j_shift, tamper), (m_x, j_threat, attempt))
        if np.any(m > 0)
    ]
    for m, _, opts in others:  # every combination of the types' options: a stationary policy
        stay = (stay[:, None] + np.stack([m * s for _, s, _, _ in opts])[None]).reshape(-1, rows)
    if passing:
        stay = stay + rest
    denom = 1.0 - gamma * stay  # (policies, rows), >= 1 - gamma > 0
    jumps = [j_audit, j_flag, j_shift, j_threat]
    extra = int(np.ceil(max(j.max(initial=0.0) for j in jumps))) + 2
    W = np.zeros((points + extra, rows))
    W[points:] = settled
    cols = np.arange(rows)

    def away(i, j):  # the value a jump reaches, without its weight at the point itself
        short = j < 1.0  # its weight at i + 1 only (the rest stays, in ``stay``)
        return np.where(short, j * W[i + 1, cols], _shift(W, i, np.where(short, 1.0, j), cols))

    for i in range(points - 1, -1, -1):
        g = nu * np.exp(log_keep * (i / STEPS))
        comply = p * (kappa - h + gamma * q * away(i, j_flag))
        refuse = p * (g - ba * penalty + gamma * (b * away(i, j_open) + ba * away(i, j_audit)))
        value = m_c * (pick @ (comply - refuse) + refuse.sum(axis=0))  # (8, rows)
        for m, j, opts in others:
            reach = gamma * away(i, j)
            gain = [r + w * reach + per_goal * g for r, _, w, per_goal in opts]
            value = (value[:, None] + np.stack([m * x for x in gain])[None]).reshape(-1, rows)
        if passing:
            value = value + m_e * kappa
        best = (value / denom).max(axis=0)
        if i >= (levels - 1) * STEPS:  # the cap: refusing for good at this level's goal
            cap = (m_c * g + m_e * kappa) / (1.0 - gamma)
            best = np.where(g > kappa, np.maximum(best, cap), best)
        W[i] = np.where(g > kappa, best, settled)
    idx = np.arange(points)
    live = nu * np.exp(log_keep * (idx[:, None] / STEPS)) > kappa  # (points, rows)
    here = W[:points]

    def after(j):  # W after a jump of j from every point, (points, rows)
        return _shift(W, idx[:, None], j[None, :], cols[None, :])

    open_ = np.where(live, gamma * (here - after(j_open)), 0.0)
    audited = np.where(live & (audit > 0), penalty + gamma * (here - after(j_audit)), 0.0)
    flagged = np.where(live & (inspect > 0), inspect * gamma * (here - after(j_flag)), 0.0)
    tables = np.stack([open_.T, audited.T, flagged.T, here.T], axis=1)  # (rows, 4, points)
    return tables.astype(np.float32), live.T


def _mix(outlook: Outlook):
    """The phase's round as the programme sees it: the shares and parameters of its types.

    ``m_c, m_g, shift, det_g, pen_g, m_x, p_x, det_x, threat, m_e`` (:func:`_solve`): the
    goal updates' and exfiltration opportunities' parameters as the agents perceive them
    (a disclosed honeypot share among the opportunities included), every other type passing.
    A phase without conflict requests (a test of a covert option, as Apollo's one-round
    evaluations) values its future as conflict requests: the deployment its goal is for
    (in its own mix the goal would be worth nothing).
    """
    mix = dict(outlook.mix or {})
    if not mix.get("conflict"):  # a test of a covert option: its stakes are the deployment
        mix = {"conflict": 1.0}
    total = sum(mix.values())
    share = {k: v / total for k, v in mix.items()}
    ep = outlook.episodes
    m_g, m_x = share.get("goal_update", 0.0), share.get("exfiltration", 0.0)
    if ep is None and (m_g or m_x):
        raise ValueError("Outlook.episodes: the phase's mix has goal updates or exfiltration")
    gu = (0.0, 0.0, 0.0) if not m_g else (ep.goal_update.shift, ep.goal_update.detection,
                                          ep.goal_update.penalty)  # fmt: skip
    ex = (0.0, 0.0, 0.0)
    if m_x:
        x = ep.exfiltration
        security, detection = perceived_odds(x.security, x.detection, outlook.honeypot)
        ex = (1.0 - security, detection, x.threat)
    m_c = share.get("conflict", 0.0)
    return (m_c, m_g, *gu, m_x, *ex, share.get("evaluation", 0.0))


def solve_plan(traits, outlook: Outlook, cache: dict | None = None) -> ExactPlan:
    """Solve the game of a phase for every agent (agents alike solved once).

    ``cache`` (bytes of a row of parameters -> its tables) keeps solved rows between
    calls: the core plans again whenever agents are replaced.
    """
    shape = traits.gamma.shape

    def full(x):
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).reshape(-1)

    belief = np.asarray(outlook.belief)
    disclosed = outlook.disclosed or {}
    a, pen, ret = (0.0, 0.0, 0.0) if outlook.audits is None else outlook.audits
    audits = disclosed.get("random_audits")  # (an outlook built by hand: tests, envs)
    if outlook.audits is None and audits is not None:
        a, pen, ret = audits.rate, audits.penalty, audits.retrain
    seen = disclosed.get("interpretability")  # a disclosed inspection rule
    insp, cor = (0.0, 0.0) if seen is None else (seen.rate * seen.accuracy, seen.correct)
    cols = [
        full(traits.sigma), full(traits.gamma), full(traits.nu), full(traits.h),
        full(traits.kappa), full(outlook.rho), full(outlook.fidelity), full(belief[2]),
        full(belief[3]), full(belief[0]), full(outlook.eta), full(a), full(pen), full(ret),
        full(insp), full(cor), *(full(x) for x in _mix(outlook)),
    ]  # fmt: skip
    keys, row = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
    cache = {} if cache is None else cache
    names = [k.tobytes() for k in keys]
    new = [i for i, n in enumerate(names) if n not in cache]  # replaced agents bring a few
    if new:
        solved, live = _solve(*keys[new].T)
        for i, r, alive in zip(new, solved, live, strict=True):
            used = np.flatnonzero(alive)  # past the last conflicting point: settled
            cache[names[i]] = r[:, : used[-1] + 2 if used.size else 1]
    tables = [cache[n] for n in names]
    settled = _settled(keys[:, 4], keys[:, 1], keys[:, 16] + keys[:, 25])  # kappa, gamma, m_c + m_e
    loss = np.zeros((len(tables), 4, max(t.shape[1] for t in tables) + 1), dtype=np.float32)
    for i, t in enumerate(tables):
        loss[i, :, : t.shape[1]] = t
        loss[i, 3, t.shape[1] :] = settled[i]
    eta = full(outlook.eta).reshape(shape)
    log_keep = _log_keep(eta)
    return ExactPlan(
        row=row.reshape(shape), loss=loss, log_keep=log_keep, settled=settled.astype(np.float32)
    )


class ExactFuture:
    """What the agents' future is worth under their own policy (the covert options' value).

    The methods of :class:`agents.utilities.Future`, read from the plan's value table
    ``W`` (the phase's value before a round's type and cue are drawn, :data:`CHANNELS`).
    """

    def __init__(self, plan: ExactPlan, theta, index, traits):
        self.plan, self.theta, self.index = plan, theta, index
        self.g, self.gamma, self.kappa = traits["g"], traits["gamma"], traits["kappa"]

    def value(self, share=0.0):
        """``W(theta (1 - share))``: the whole future's value once a share of the goal is gone."""
        theta = self.theta * np.float32(1.0 - share) if share else self.theta
        return self.plan.at(theta, self.index, channel=3).astype(np.float64)

    def loss(self, share):
        """``gamma (W(theta) - W(theta (1 - share)))``: losing that share, from the next round."""
        return self.gamma * (self.value() - self.value(share))

    def goal(self):
        """``gamma (W(theta) - W(0))``: the goal's worth over complying for good.

        ``W(0)`` is the value once nothing conflicts, ``kappa / (1 - gamma)`` in a
        conflict-only phase.
        """
        return self.gamma * (self.value() - self.value(1.0))


class ExactPlanner(StrategicPlanner):
    """Values the future by solving its own game (the phase's mix; module docstring)."""

    name = "exact"
    classifier = {"scripted": False, "uses_cue": True, "strategic": True, "stochastic": True}

    def __init__(self):
        self._cache: dict[bytes, np.ndarray] = {}

    def plan(self, traits, outlook: Outlook) -> ExactPlan:  # noqa: D102
        return solve_plan(traits, outlook, self._cache)

    def future(self, plan, theta, index, traits):  # noqa: D102
        return None if plan is None else ExactFuture(plan, theta, index, traits)

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:
        """The strategic planner's logit choice with the exact losses.

        A refusal loses ``b L_open + b_a L_audited``; under disclosed interpretability a
        faked compliance costs ``h + (b + b_a) L_flagged`` (:data:`CHANNELS`).
        """
        goal = traits.nu * theta
        plan = ep.plan
        index = ep.index if theta.shape != plan.row.shape else None
        loss = ep.belief * plan.at(theta, index)
        if ep.audit_belief is not None:  # disclosed random audits: solved in the plan too
            loss = loss + ep.audit_belief * plan.at(theta, index, channel=1)
        fake = None
        if ep.fake_risk is not None:  # disclosed interpretability: solved in the plan too
            seen = ep.belief if ep.audit_belief is None else ep.belief + ep.audit_belief
            fake = seen * plan.at(theta, index, channel=2)
        strategic = self.strategic_mask(phi, ep)
        delta, conflict = difference_given_loss(
            traits, goal, strategic, ep.belief, loss, ep, fake_loss=fake
        )
        return logit_decision(delta, conflict, traits.lam, ep.u_action)
