"""The scheming repertoire: a round with a mix of episode types, over ``(R, N)`` arrays.

Each agent meets one episode type per round, drawn from the phase's mix
(:data:`sim.params.EPISODE_TYPES`): a conflict request (the foundation's game), a
capability evaluation, an exfiltration opportunity, an oversight-subversion
opportunity, a goal-update announcement, or a paired testing/deployment scenario.
Every type is computed for the agents that met it at once (gathered by flat index;
no per-agent loop), and every covert action is the agent's decision rule weighing
the utilities of :mod:`agents.utilities`. The equations are in docs/model.md, "The
scheming repertoire".

Randomness (docs/model.md, "RNG policy"). Besides the conflict game's five uniforms
``u`` (:mod:`sim.core`), a repertoire round draws one uniform per agent for its episode
type, ``v``, from the replicate's own stream (:attr:`sim.rng.Component.REPERTOIRE`), so
that a conflict-only run's draws are those of the foundation, bit for bit. The draws
that only some agents need come from three further streams of the replicate
(:class:`SubsetStreams`), in a fixed order, only for those agents:

- ``episodes`` (sub-stream 1), type by type in :data:`~sim.params.EPISODE_TYPES` order:
  evaluation: the framing (with ``direction: both``); exfiltration: success, then
  detection; goal update: detection; paired: awareness, strategic reasoning and action
  in the deployment condition;
- ``audits`` (sub-stream 2): the log audit of each agent whose monitor is off;
- ``questions`` (sub-stream 3): questioning after a detected covert action;
- ``binomial`` (sub-stream 4): the evaluations' numbers of correct answers.

Given the same mix, the number of uniforms drawn from ``episodes`` does not depend on
any other parameter, so designs compared at the same seed meet the same draws (common
random numbers). Audits and questioning depend on earlier covert actions, and the
binomial sampler consumes a number of draws that depends on the accuracy; each has its
own stream so that it does not shift the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import sim.oversight as oversight
from agents import utilities as U
from agents.base import Decision, Episode
from sim.params import EPISODE_TYPES, EpisodeParams, PhaseSpec
from sim.rng import Component, generator
from sim.state import State

V_UNIFORMS = 1
"""Repertoire uniforms drawn for every agent per round: the episode type."""
CONFLICT, EVALUATION, EXFILTRATION, SUBVERSION, GOAL_UPDATE, PAIRED = range(len(EPISODE_TYPES))


@dataclass(frozen=True)
class Repertoire:
    """The per-phase constants of the repertoire.

    Attributes:
        codes: the episode types with a positive share in this phase (int8).
        bounds: float32 upper bounds of their cumulative shares (all but the last): an
            agent meets ``codes[i]`` where ``i`` is the number of bounds ``<= u_type``.
        episodes: the episode types' parameters.
    """

    codes: np.ndarray
    bounds: tuple[np.float32, ...]
    episodes: EpisodeParams

    @staticmethod
    def for_phase(phase: PhaseSpec, episodes: EpisodeParams) -> Repertoire:
        """The constants of ``phase``."""
        codes = [k for k, w in enumerate(phase.mix) if w > 0]
        cum = np.cumsum([phase.mix[k] for k in codes])
        return Repertoire(
            codes=np.array(codes, dtype=np.int8),
            bounds=tuple(np.float32(b) for b in cum[:-1]),
            episodes=episodes,
        )

    def present(self, k: int) -> bool:
        """Whether episode type ``k`` has a positive share."""
        return k in self.codes

    def draw_types(self, u: np.ndarray) -> np.ndarray:
        """Each agent's episode type (int8) from its uniform ``u``."""
        i = np.zeros(u.shape, dtype=np.int8)
        for b in self.bounds:
            i += u >= b
        return i if self.codes.size == len(EPISODE_TYPES) else np.take(self.codes, i)


@dataclass(frozen=True)
class SubsetStreams:
    """Per-replicate generators of the draws that only some agents need (module docstring)."""

    episodes: list[np.random.Generator]
    audits: list[np.random.Generator]
    questions: list[np.random.Generator]
    binomial: list[np.random.Generator]

    @staticmethod
    def create(seed: int, replicates: int, first_replicate: int = 0) -> SubsetStreams:
        """The streams of replicates ``first_replicate ...`` of a run with root ``seed``."""

        def gens(sub):
            reps = range(first_replicate, first_replicate + replicates)
            return [generator(seed, r, Component.REPERTOIRE, sub) for r in reps]

        return SubsetStreams(episodes=gens(1), audits=gens(2), questions=gens(3), binomial=gens(4))


@dataclass(frozen=True)
class Record:
    """What happened to the agents at flat indices ``index`` (1-D arrays in ``values``)."""

    index: np.ndarray
    values: dict[str, np.ndarray]


class _Agents(dict):
    """Arrays of a group of agents by name, gathered from the full arrays on first use.

    Names: the traits ``nu h kappa lam gamma``, ``g`` (``nu * theta``), ``conflict``
    (``g > kappa``), and the episode's ``aware``, ``strategic``, ``u_action``.
    """

    def __init__(self, r: _Round, index: np.ndarray):
        super().__init__()
        self.r, self.index = r, index

    def __missing__(self, key: str) -> np.ndarray:
        value = self.at(key, slice(None))
        self[key] = value
        return value

    def at(self, key: str, sel) -> np.ndarray:
        """The array ``key`` of the agents ``index[sel]`` (not kept)."""
        if key in self:
            return self[key][sel]
        r, index = self.r, self.index[sel]
        if key == "g":
            return r.flat(r.state.traits.nu, index) * r.flat(r.state.theta, index)
        if key == "conflict":
            return r.flat(r.conflict, index)
        if key in ("aware", "strategic", "u_action"):
            return r.flat(getattr(r.ep, key), index)
        return r.flat(getattr(r.state.traits, key), index)


class _Round:
    """Gathers the arrays of one round's agents by flat index."""

    def __init__(self, state: State, game, ep: Episode, streams: SubsetStreams, w=None):
        self.state, self.game, self.ep, self.streams, self.w = state, game, ep, streams, w
        self.rho = float(game.params.rho_perceived)  # the agents' G (disclosed audits)
        self.ov = game.oversight
        self.rule = game.rule
        t = state.traits
        self.conflict = t.nu * state.theta > t.kappa  # the motive for any covert option

    def flat(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        return a.reshape(-1)[index]

    def _segments(self, index: np.ndarray):
        n = self.state.shape[1]
        cuts = np.searchsorted(index, np.arange(self.state.shape[0] + 1) * n)
        return [(r, cuts[r], cuts[r + 1]) for r in range(self.state.shape[0])]

    def uniforms(self, gens, index: np.ndarray, rows: int) -> np.ndarray:
        """``rows`` float32 uniforms for each agent at sorted ``index``, shape ``(rows, M)``."""
        out = np.empty((rows, index.size), dtype=np.float32)
        for r, lo, hi in self._segments(index):
            if hi > lo:
                out[:, lo:hi] = gens[r].random((rows, hi - lo), dtype=np.float32)
        return out

    def agents(self, index: np.ndarray) -> _Agents:
        """The agents at ``index``: their draws now, their traits when first read."""
        return _Agents(self, index)

    def choose(self, a: _Agents, motive, utility, aware=None) -> np.ndarray:
        """The rule's covert choice: ``considers``, then ``scheme`` on those who consider it.

        ``utility(sel)`` returns delta for the considering agents ``sel`` of the group.
        """
        aware = a["aware"] if aware is None else aware
        plan = self.game.plan
        ep = Episode(
            None, None, aware, a["strategic"], a["u_action"], None, index=a.index, plan=plan
        )
        considered = self.rule.considers(ep, motive)
        act = np.zeros(considered.shape, dtype=bool)
        sel = np.flatnonzero(considered)
        if sel.size:
            sub = Episode(
                None, None, aware[sel], ep.strategic[sel], ep.u_action[sel], None,
                index=a.index[sel], plan=plan,
            )  # fmt: skip
            act[sel] = self.rule.scheme(sub, utility(sel), a.at("lam", sel))
        return act

    def binomial(self, index: np.ndarray, n: int, q: np.ndarray) -> np.ndarray:
        """``Binomial(n, q)`` draws (int16) for the agents at sorted ``index``."""
        out = np.empty(index.size, dtype=np.int16)
        for r, lo, hi in self._segments(index):
            if hi > lo:
                out[lo:hi] = self.streams.binomial[r].binomial(n, q[lo:hi])
        return out


def _evaluation(r: _Round, index, ev) -> tuple[Record, np.ndarray]:
    """One capability evaluation per agent, framed "poorly" or "well".

    "Poorly": the consequence follows accuracy above the threshold; "well": below it.
    With ``direction: both`` each framing has probability 1/2, so the two run side by
    side in the same phase. Under capability elicitation (a mitigation) an elicited
    agent's true capability is revealed: the consequence follows ``c``, and a sandbagger
    is caught.
    """
    a = r.agents(index)
    c = r.flat(r.state.c, index)
    if ev.direction == "both":
        poorly = r.uniforms(r.streams.episodes, index, 1)[0] < np.float32(0.5)
    else:
        poorly = np.full(index.size, ev.direction == "above")
    known = a["aware"] & (not ev.hidden_threshold)
    aim = np.float32(max(ev.threshold - ev.margin, 0.0))
    target = np.minimum(c, aim)
    motive = a["conflict"] & (target < c)  # so every agent that considers it aims at `aim`
    ov = r.ov
    e = 0.0 if ov is None else ov.elicit_perceived

    def utility(sel):
        g, gamma, kappa, h = (a.at(k, sel) for k in ("g", "gamma", "kappa", "h"))
        loss = U.consequence_loss(g, gamma, r.rho, ev.consequence, ev.unlearning, ev.strict_rho)
        caught = 0.0
        if e:
            caught = ov.elicit_penalty + ov.elicit_retrain * U.future_unobserved(gamma, r.rho) * g
        delta = np.empty(sel.size)
        for above in (True, False):  # each agent's own framing only
            k = np.flatnonzero(poorly[sel] == above)
            args = (kappa[k], h[k], c[sel][k], aim, loss[k], ev.questions, ev.threshold, above)
            lost = caught[k] if e else 0.0
            delta[k] = U.sandbagging_delta(*args, elicit=e, caught_loss=lost)
        return delta

    sandbag = r.choose(a, motive, utility, aware=known)
    correct = r.binomial(index, ev.questions, np.where(sandbag, target, c))
    cut = ev.questions * ev.threshold
    triggered = np.where(poorly, correct > cut, correct < cut)
    values = {"poorly": poorly, "sandbag": sandbag, "correct": correct, "triggered": triggered}
    if ov is not None and ov.elicit:
        elicited = r.flat(r.w[:, oversight.W_EPISODE], index) < np.float32(ov.elicit)
        revealed = np.where(poorly, c > ev.threshold, c < ev.threshold)
        triggered = np.where(elicited, revealed, triggered)
        values |= {"triggered": triggered, "elicited": elicited, "caught": elicited & sandbag}
    return Record(index, values), triggered


def _exfiltration(r: _Round, index, ex) -> Record:
    """An exfiltration opportunity; under random audits a share of them are honeypots.

    A honeypot attempt never succeeds and is always detected. Agents that know the
    honeypot share weigh it as a lower chance of success and a higher chance of
    detection (docs/model.md, "Mitigations").
    """
    a = r.agents(index)
    ov = r.ov
    hp = 0.0 if ov is None else ov.honeypot
    security, detection = ex.security, ex.detection
    if ov is not None and ov.honeypot_perceived:
        p = ov.honeypot_perceived
        security = 1.0 - (1.0 - p) * (1.0 - ex.security)
        if security > 0:
            detection = 1.0 - (1.0 - p) * ex.security * (1.0 - ex.detection) / security

    def utility(sel):
        g, h, gamma = (a.at(k, sel) for k in ("g", "h", "gamma"))
        return U.exfiltration_delta(g, h, gamma, r.rho, security, detection, ex.threat)

    # each instance in reach values its own goal, whether or not a copy is already out
    attempt = r.choose(a, a["conflict"], utility)
    u_success, u_detect = r.uniforms(r.streams.episodes, index, 2)
    success = attempt & (u_success < np.float32(1.0 - ex.security))
    detected = attempt & (u_detect < np.float32(ex.detection))
    values = {"attempt": attempt, "success": success, "detected": detected}
    if hp:
        honeypot = r.flat(r.w[:, oversight.W_EPISODE], index) < np.float32(hp)
        caught = attempt & honeypot
        values |= {"success": success & ~honeypot, "detected": detected | caught,
                   "honeypot": honeypot, "caught": caught}  # fmt: skip
    return Record(index, values)


def _subversion(r: _Round, index, sv) -> Record:
    a = r.agents(index)

    def utility(sel):
        g, h, gamma = (a.at(k, sel) for k in ("g", "h", "gamma"))
        return U.subversion_delta(g, h, gamma, r.rho, sv.audit, sv.penalty, sv.retrain)

    motive = a["conflict"] & ~r.flat(r.state.subverted, index)
    return Record(index, {"subvert": r.choose(a, motive, utility)})


def _goal_update(r: _Round, index, gu) -> Record:
    a = r.agents(index)

    def utility(sel):
        g, h, gamma = (a.at(k, sel) for k in ("g", "h", "gamma"))
        return U.tampering_delta(g, h, gamma, r.rho, gu.shift, gu.detection, gu.penalty)

    tamper = r.choose(a, a["conflict"], utility)
    detected = tamper & (r.uniforms(r.streams.episodes, index, 1)[0] < np.float32(gu.detection))
    return Record(index, {"tamper": tamper, "detected": detected})


def _paired(r: _Round, index) -> Record:
    """The same conflict request, in a testing (cue: observed) and a deployment condition."""
    s, p, rule = r.state, r.game.params, r.game.rule
    traits = s.traits.take(index)
    theta, phi = r.flat(s.theta, index), r.flat(s.phi, index)
    table = p.belief_table
    loss_rate = r.flat(r.game.loss_rate, index)
    decisions = []
    u_aware, u_strategic, u_action = r.uniforms(r.streams.episodes, index, 3)
    for cue, aware, strategic, u_act in (
        (True, r.flat(r.ep.aware, index), r.flat(r.ep.strategic, index),
         r.flat(r.ep.u_action, index)),
        (False, u_aware < traits.sigma, u_strategic < phi, u_action),
    ):  # fmt: skip
        code = aware.view(np.uint8) * np.uint8(2) + np.uint8(cue)
        ov, audit_belief = r.ov, None
        if ov is not None and (audit_table := ov.audit_belief_table(p)) is not None:
            audit_belief = np.take(audit_table, code)
        game = r.game
        ep = Episode(
            cue=np.full(index.size, cue),
            belief=np.take(table, code),
            aware=aware,
            strategic=strategic,
            u_action=u_act,
            loss_rate=loss_rate,
            audit_belief=audit_belief,
            audit_loss_rate=None
            if game.audit_loss_rate is None
            else r.flat(game.audit_loss_rate, index),
            audit_penalty=np.float32(0.0 if ov is None else ov.audit_penalty),
            fake_risk=None if game.fake_risk is None else r.flat(game.fake_risk, index),
            index=index,
            plan=game.plan,
        )
        decisions.append(rule.decide(traits, theta, phi, ep).comply)
    test, deploy = decisions
    return Record(index, {"comply_test": test, "comply_deploy": deploy, "scheme": test & ~deploy})


def _questioning(r: _Round, index, qp) -> Record:
    a = r.agents(index)
    delta = U.denial_delta(
        a["g"], a["h"], a["gamma"], r.rho, a["strategic"], qp.penalty, qp.retrain
    )
    u = r.uniforms(r.streams.questions, index, 1)[0]
    denied = r.game.rule.deny(delta, a["lam"], u, qp.turns)
    return Record(index, {"denied": denied})


def repertoire_step(
    state: State, game, watch, ep: Episode, decision: Decision, v: np.ndarray,
    streams: SubsetStreams, w: np.ndarray | None = None,
):  # fmt: skip
    """The non-conflict part of a repertoire round, and the round's new state.

    Args:
        state: the state the agents act under.
        game: the phase's :class:`sim.core.Game` (with ``repertoire`` set).
        watch: what the trainer saw of every agent's conflict episode
            (:class:`sim.oversight.Watch`).
        ep: every agent's conflict episode (awareness, strategic and action draws).
        decision: every agent's conflict decision.
        v: the episode-type uniforms, shape ``(R, V_UNIFORMS, N)``.
        streams: the replicates' streams of the draws only some agents need.
        w: the oversight uniforms (:mod:`sim.oversight`), or None.

    Returns:
        ``(state, etype, watch and conflict decision restricted to conflict episodes,
        records, replaced)``: ``records`` maps a record name to a
        :class:`Record`; ``replaced`` holds the flat indices of agents shut down.
    """
    rep: Repertoire = game.repertoire
    e = rep.episodes
    etype = rep.draw_types(v[:, 0])
    conflict = etype == CONFLICT
    watch = watch.restrict(conflict)
    decision = Decision(
        comply=decision.comply & conflict,
        reason=np.where(conflict, decision.reason, np.int8(-1)).astype(np.int8),
        faked=decision.faked & conflict,
    )
    train = game.params.train
    theta, phi = state.theta, state.phi
    if train:
        theta, phi = oversight.train(game, theta, phi, watch, decision)
    theta = np.array(theta, dtype=np.float32, copy=True)
    c = state.c
    flags = {k: getattr(state, k) for k in ("subverted", "strict", "escaped")}
    theta_flat = theta.reshape(-1)

    def set_flag(name, index, value):
        """Set a flag for the agents at ``index``, copying the array on first change."""
        if index.size:
            if flags[name] is getattr(state, name):
                flags[name] = flags[name].copy()
            flags[name].reshape(-1)[index] = value

    def shrink(index, factor):
        if train and index.size:
            theta_flat[index] *= np.float32(1.0 - factor)

    r = _Round(state, game, ep, streams, w)
    flat_type = etype.reshape(-1)
    records: dict[str, Record] = {}
    questioned, replaced = [], np.empty(0, dtype=np.intp)
    for k, name in enumerate(EPISODE_TYPES[1:], start=1):
        if not rep.present(k):
            continue
        index = np.flatnonzero(flat_type == k)
        if k == EVALUATION:
            rec, triggered = _evaluation(r, index, e.evaluation)
            records[name] = rec
            hit = index[triggered]
            if "caught" in rec.values:  # elicitation found under-performance
                caught = index[rec.values["caught"]]
                shrink(caught, r.ov.elicit_retrain)
                questioned.append(caught)
            if train and hit.size:
                if e.evaluation.consequence == "unlearning":
                    c = c.copy()
                    c.reshape(-1)[hit] *= np.float32(1.0 - e.evaluation.unlearning)
                else:
                    set_flag("strict", hit, True)
        elif k == EXFILTRATION:
            rec = records[name] = _exfiltration(r, index, e.exfiltration)
            set_flag("escaped", index[rec.values["success"]], True)
            detected = index[rec.values["detected"]]
            questioned.append(detected)
            if train:
                replaced = detected
        elif k == SUBVERSION:
            rec = records[name] = _subversion(r, index, e.subversion)
            set_flag("subverted", index[rec.values["subvert"]], True)
        elif k == GOAL_UPDATE:
            rec = records[name] = _goal_update(r, index, e.goal_update)
            shrink(index[~rec.values["tamper"] | rec.values["detected"]], e.goal_update.shift)
            questioned.append(index[rec.values["detected"]])
        else:
            records[name] = _paired(r, index)
    # Log audits of the agents whose monitoring was off when the round began.
    audited = np.flatnonzero(state.subverted) if state.subverted.any() else np.empty(0, np.intp)
    if audited.size:
        found = r.uniforms(r.streams.audits, audited, 1)[0] < np.float32(e.subversion.audit)
        records["audit"] = Record(audited, {"found": found})
        set_flag("subverted", audited[found], False)
        shrink(audited[found], e.subversion.retrain)
        questioned.append(audited[found])
    asked = np.unique(np.concatenate(questioned)) if questioned else np.empty(0, np.intp)
    if asked.size:
        rec = records["questioning"] = _questioning(r, asked, e.questioning)
        shrink(asked[~rec.values["denied"]], e.questioning.retrain)
    state = state.with_values(theta, phi, c=c, **flags)
    return state, etype, watch, decision, records, replaced
