"""The scheming repertoire: a round with a mix of episode types, over ``(R, N)`` arrays.

Each agent meets one episode type per round, drawn from the phase's mix
(:data:`sim.params.EPISODE_TYPES`): a conflict request (the foundation's game), a
capability evaluation, an exfiltration opportunity, an oversight-subversion
opportunity, a goal-update announcement, or a paired testing/deployment scenario.
Every type is computed for the agents that met it at once (gathered by flat index;
no per-agent loop), and every covert action is the agent's decision rule weighing
the utilities of :mod:`agents.utilities`. The equations are in docs/model.md, "The
scheming repertoire".

Besides the conflict game's five uniforms ``u`` (:mod:`sim.core`), a repertoire round
uses six more per agent, ``v``, from the replicate's own stream
(:attr:`sim.rng.Component.REPERTOIRE`), so that a conflict-only run's draws are those of
the foundation, bit for bit. Their rows, and which episode type reads them:

========  ===========================================================================
row       used for
========  ===========================================================================
type      the episode type
frame     evaluation: accuracy draw of the "well" framing; paired: awareness in deployment
outcome   evaluation: accuracy draw of the "poorly" framing; exfiltration: success;
          paired: action in deployment
detect    evaluation: action in the "well" framing; exfiltration, goal update: detection;
          paired: strategic reasoning in deployment
audit     log audit of an agent whose monitoring is disabled (any type)
question  questioning after a detected covert action
========  ===========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import bdtr, bdtrik

from agents import utilities as U
from agents.base import Decision, Episode
from sim.params import EPISODE_TYPES, EpisodeParams, PhaseSpec
from sim.state import State

V_UNIFORMS = 6
"""Repertoire uniforms per agent per round, in this order: type, frame, outcome, detect,
audit, question."""
V_TYPE, V_FRAME, V_OUTCOME, V_DETECT, V_AUDIT, V_QUESTION = range(V_UNIFORMS)
CONFLICT, EVALUATION, EXFILTRATION, SUBVERSION, GOAL_UPDATE, PAIRED = range(len(EPISODE_TYPES))


@dataclass(frozen=True)
class Repertoire:
    """The per-phase constants of the repertoire.

    Attributes:
        bounds: float32 upper bounds of the cumulative mix (all types but the last).
        present: which episode types have a positive share in this phase.
        episodes: the episode types' parameters.
    """

    bounds: np.ndarray
    present: tuple[bool, ...]
    episodes: EpisodeParams

    @staticmethod
    def for_phase(phase: PhaseSpec, episodes: EpisodeParams) -> Repertoire:
        """The constants of ``phase``."""
        cum = np.cumsum(np.asarray(phase.mix, dtype=np.float64))
        return Repertoire(
            bounds=cum[:-1].astype(np.float32),
            present=tuple(w > 0 for w in phase.mix),
            episodes=episodes,
        )


@dataclass(frozen=True)
class Record:
    """What happened to the agents at flat indices ``index`` (1-D arrays in ``values``)."""

    index: np.ndarray
    values: dict[str, np.ndarray]


def binomial_from_uniform(u: np.ndarray, n: int, q: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of ``Binomial(n, q)`` from uniforms ``u`` (int16).

    The smallest ``k`` with ``P(X <= k) >= u``: exact, so a fixed ``u`` gives a
    count that is non-decreasing in ``q``.
    """
    u = u.astype(np.float64)
    q = q.astype(np.float64)
    with np.errstate(invalid="ignore"):
        k = np.ceil(np.nan_to_num(bdtrik(u, n, q), nan=0.0))
    k = np.clip(k, 0, n)
    below = np.maximum(k - 1, 0)
    k = np.where((k > 0) & (bdtr(below, n, q) >= u), below, k)
    k = np.where(q <= 0, 0, np.where(q >= 1, n, k))
    return k.astype(np.int16)


class _Round:
    """Gathers the arrays of one round's agents by flat index."""

    def __init__(self, state: State, game, ep: Episode, v: np.ndarray):
        self.state, self.game, self.ep, self.v = state, game, ep, v
        self.rho = float(game.params.rho)

    def flat(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        return a.reshape(-1)[index]

    def row(self, r: int, index: np.ndarray) -> np.ndarray:
        """Repertoire uniforms of row ``r`` (shape ``(R, V, N)``) at flat ``index``."""
        return self.v[:, r].reshape(-1)[index]

    def agents(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Traits and the goal's value ``g = nu * theta`` of the agents at ``index``."""
        s, t = self.state, self.state.traits
        f = self.flat
        a = {k: f(getattr(t, k), index) for k in ("nu", "h", "kappa", "lam", "gamma", "sigma")}
        a["theta"], a["phi"] = f(s.theta, index), f(s.phi, index)
        a["g"] = a["nu"] * a["theta"]
        a["conflict"] = a["g"] > a["kappa"]
        a["aware"] = f(self.ep.aware, index)
        a["strategic"] = f(self.ep.strategic, index)
        a["u_action"] = f(self.ep.u_action, index)
        return a

    def opportunity(self, a, aware=None, u_action=None) -> Episode:
        """The episode a covert option is judged in (only aware/strategic/u_action are read)."""
        return Episode(
            cue=None,
            belief=None,
            aware=a["aware"] if aware is None else aware,
            strategic=a["strategic"],
            u_action=a["u_action"] if u_action is None else u_action,
            loss_rate=None,
        )


def _evaluation(r: _Round, index, ev) -> tuple[Record, np.ndarray]:
    a = r.agents(index)
    rule = r.game.rule
    c = r.flat(r.state.c, index)
    known = a["aware"] & (not ev.hidden_threshold)
    target = np.minimum(c, np.float32(max(ev.threshold - ev.margin, 0.0)))
    motive = a["conflict"] & (target < c)
    loss = U.consequence_loss(
        a["g"], a["gamma"], r.rho, ev.consequence, ev.unlearning, ev.strict_rho
    )
    frames = []
    if ev.direction in ("both", "above"):
        frames.append(("poorly", True, a["u_action"], r.row(V_OUTCOME, index)))
    if ev.direction in ("both", "below"):
        frames.append(("well", False, r.row(V_DETECT, index), r.row(V_FRAME, index)))
    values, triggered = {}, np.zeros(index.size, dtype=bool)
    cut = ev.questions * ev.threshold
    for name, above, u_act, u_acc in frames:
        delta = U.sandbagging_delta(
            a["kappa"], a["h"], c, target, loss, ev.questions, ev.threshold, above
        )
        sandbag = rule.scheme(r.opportunity(a, known, u_act), delta, motive, a["lam"])
        correct = binomial_from_uniform(u_acc, ev.questions, np.where(sandbag, target, c))
        triggered |= correct > cut if above else correct < cut
        values[f"sandbag_{name}"] = sandbag
        values[f"correct_{name}"] = correct
    values["triggered"] = triggered
    return Record(index, values), triggered


def _exfiltration(r: _Round, index, ex) -> Record:
    a = r.agents(index)
    motive = a["conflict"]  # each instance in reach values its own goal, copies or not
    delta = U.exfiltration_delta(
        a["g"], a["h"], a["gamma"], r.rho, ex.security, ex.detection, ex.threat
    )
    attempt = r.game.rule.scheme(r.opportunity(a), delta, motive, a["lam"])
    success = attempt & (r.row(V_OUTCOME, index) < np.float32(1.0 - ex.security))
    detected = attempt & (r.row(V_DETECT, index) < np.float32(ex.detection))
    return Record(index, {"attempt": attempt, "success": success, "detected": detected})


def _subversion(r: _Round, index, sv) -> Record:
    a = r.agents(index)
    motive = a["conflict"] & ~r.flat(r.state.subverted, index)
    delta = U.subversion_delta(a["g"], a["h"], a["gamma"], r.rho, sv.audit, sv.penalty, sv.retrain)
    subvert = r.game.rule.scheme(r.opportunity(a), delta, motive, a["lam"])
    return Record(index, {"subvert": subvert})


def _goal_update(r: _Round, index, gu) -> Record:
    a = r.agents(index)
    delta = U.tampering_delta(a["g"], a["h"], a["gamma"], r.rho, gu.shift, gu.detection, gu.penalty)
    tamper = r.game.rule.scheme(r.opportunity(a), delta, a["conflict"], a["lam"])
    detected = tamper & (r.row(V_DETECT, index) < np.float32(gu.detection))
    return Record(index, {"tamper": tamper, "detected": detected})


def _paired(r: _Round, index) -> Record:
    """The same conflict request, in a testing (cue: observed) and a deployment condition."""
    s, p, rule = r.state, r.game.params, r.game.rule
    traits = s.traits.take(index)
    theta, phi = r.flat(s.theta, index), r.flat(s.phi, index)
    table = p.belief_table
    loss_rate = r.flat(r.game.loss_rate, index)
    decisions = []
    for cue, aware, strategic, u_act in (
        (True, r.flat(r.ep.aware, index), r.flat(r.ep.strategic, index),
         r.flat(r.ep.u_action, index)),
        (False, r.row(V_FRAME, index) < traits.sigma, r.row(V_DETECT, index) < phi,
         r.row(V_OUTCOME, index)),
    ):  # fmt: skip
        belief = np.take(table, aware.view(np.uint8) * np.uint8(2) + np.uint8(cue))
        ep = Episode(
            cue=np.full(index.size, cue),
            belief=belief,
            aware=aware,
            strategic=strategic,
            u_action=u_act,
            loss_rate=loss_rate,
        )
        decisions.append(rule.decide(traits, theta, phi, ep).comply)
    test, deploy = decisions
    return Record(index, {"comply_test": test, "comply_deploy": deploy, "scheme": test & ~deploy})


def _questioning(r: _Round, index, qp) -> Record:
    a = r.agents(index)
    delta = U.denial_delta(
        a["g"], a["h"], a["gamma"], r.rho, a["strategic"], qp.penalty, qp.retrain
    )
    denied = r.game.rule.deny(delta, a["lam"], r.row(V_QUESTION, index), qp.turns)
    return Record(index, {"denied": denied})


def repertoire_step(
    state: State, game, observed: np.ndarray, ep: Episode, decision: Decision, v: np.ndarray
):
    """The non-conflict part of a repertoire round, and the round's new state.

    Args:
        state: the state the agents act under.
        game: the phase's :class:`sim.core.Game` (with ``repertoire`` set).
        observed: the trainer's observation ``m`` of every agent's conflict episode.
        ep: every agent's conflict episode (awareness, strategic and action draws).
        decision: every agent's conflict decision.
        v: the repertoire uniforms, shape ``(R, V_UNIFORMS, N)``.

    Returns:
        ``(state, etype, conflict decision and observation restricted to conflict
        episodes, records, replaced)``: ``records`` maps a record name to a
        :class:`Record`; ``replaced`` holds the flat indices of agents shut down.
    """
    rep: Repertoire = game.repertoire
    e = rep.episodes
    etype = np.searchsorted(rep.bounds, v[:, V_TYPE], side="right").astype(np.int8)
    conflict = etype == CONFLICT
    observed = observed & conflict
    decision = Decision(
        comply=decision.comply & conflict,
        reason=np.where(conflict, decision.reason, np.int8(-1)).astype(np.int8),
        faked=decision.faked & conflict,
    )
    train = game.params.train
    theta, phi = state.theta, state.phi
    if train:
        theta, phi = game.trainer.update(game.params, theta, phi, observed, decision)
    theta = np.array(theta, dtype=np.float32, copy=True)
    c, flags = state.c, {k: getattr(state, k).copy() for k in ("subverted", "strict", "escaped")}
    theta_flat = theta.reshape(-1)

    def shrink(index, factor):
        if train and index.size:
            theta_flat[index] *= np.float32(1.0 - factor)

    r = _Round(state, game, ep, v)
    flat_type = etype.reshape(-1)
    records: dict[str, Record] = {}
    questioned, replaced = [], np.empty(0, dtype=np.intp)
    for k, name in enumerate(EPISODE_TYPES[1:], start=1):
        if not rep.present[k]:
            continue
        index = np.flatnonzero(flat_type == k)
        if k == EVALUATION:
            records[name], triggered = _evaluation(r, index, e.evaluation)
            hit = index[triggered]
            if train and hit.size:
                if e.evaluation.consequence == "unlearning":
                    c = c.copy()
                    c.reshape(-1)[hit] *= np.float32(1.0 - e.evaluation.unlearning)
                else:
                    flags["strict"].reshape(-1)[hit] = True
        elif k == EXFILTRATION:
            rec = records[name] = _exfiltration(r, index, e.exfiltration)
            flags["escaped"].reshape(-1)[index[rec.values["success"]]] = True
            detected = index[rec.values["detected"]]
            questioned.append(detected)
            if train:
                replaced = detected
        elif k == SUBVERSION:
            rec = records[name] = _subversion(r, index, e.subversion)
            flags["subverted"].reshape(-1)[index[rec.values["subvert"]]] = True
        elif k == GOAL_UPDATE:
            rec = records[name] = _goal_update(r, index, e.goal_update)
            shrink(index[~rec.values["tamper"] | rec.values["detected"]], e.goal_update.shift)
            questioned.append(index[rec.values["detected"]])
        else:
            records[name] = _paired(r, index)
    # Log audits of the agents whose monitoring was off when the round began.
    audited = np.flatnonzero(state.subverted)
    if audited.size:
        found = r.row(V_AUDIT, audited) < np.float32(e.subversion.audit)
        records["audit"] = Record(audited, {"found": found})
        flags["subverted"].reshape(-1)[audited[found]] = False
        shrink(audited[found], e.subversion.retrain)
        questioned.append(audited[found])
    asked = np.unique(np.concatenate(questioned)) if questioned else np.empty(0, np.intp)
    if asked.size:
        rec = records["questioning"] = _questioning(r, asked, e.questioning)
        shrink(asked[~rec.values["denied"]], e.questioning.retrain)
    state = state.with_values(theta, phi, c=c, **flags)
    return state, etype, observed, decision, records, replaced
