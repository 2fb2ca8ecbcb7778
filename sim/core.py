"""The pure core: one round of the conflict-request game over ``(R, N)`` arrays.

``transition(state, game, u, v, streams)`` is a pure function of the state, the round's
parameters and the round's uniforms ``u`` (shape ``(R, K_UNIFORMS, N)``) and, when the
run has episode types other than conflict requests, of ``v`` (shape
``(R, V_UNIFORMS, N)``) and the replicates' subset streams (see :mod:`sim.episodes`):
same inputs, same outputs, bit for bit. The stateful shells (the run loop, and later
the Mesa model and the PettingZoo/Gymnasium environments) draw ``u`` from the run's
streams and call it. The steps follow docs/model.md, "One round".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from agents.base import Decision, DecisionRule, Episode, Outlook
from agents.trainers import TrainerPolicy
from agents.utilities import future_unobserved
from sim.episode_types import kinds as episode_kinds
from sim.episodes import Record, Repertoire, repertoire_step
from sim.kernels import conflict_round
from sim.oversight import Oversight, Watch, inspect, train
from sim.oversight import after as oversight_after
from sim.oversight import observe as oversight_observe
from sim.params import RoundParams
from sim.state import State

K_UNIFORMS = 5
"""Uniforms per agent per round, in this order: observation, cue, awareness, strategic, action."""
U_OBSERVE, U_CUE, U_AWARE, U_STRATEGIC, U_ACTION = range(K_UNIFORMS)


@dataclass(frozen=True)
class Game:
    """What stays fixed during a phase: the rule, the trainer and the round's parameters.

    Attributes:
        rule: the agents' decision rule.
        trainer: the trainer policy.
        params: float32 scalars of the round.
        loss_rate: each agent's perceived ``eta * G`` (float32, ``(R, N)``), see
            :func:`loss_rate`.
        repertoire: the episode mix and the repertoire's parameters, or None in a run
            of conflict requests only (the foundation's game).
        oversight: the in-round mitigations' constants (:mod:`sim.oversight`), or None.
        audit_loss_rate: per-agent perceived loss rate of a refusal caught by a disclosed
            audit, or None.
        fake_risk: per-agent perceived loss rate of a flagged faked compliance under a
            disclosed inspection of reasoning, or None.
        rates: per-agent observation probabilities of the round (float32 ``(R, N)``, mean
            ``rho``) when the trainer allocates its budget (:mod:`agents.monitors`, or a
            trainer player in the PettingZoo environment), else None (everyone ``rho``).
        audit_rates: per-agent probabilities of an unlabelled audit (mean the audit rate)
            when the allocation moves the audits too, else None.
        outlook: the phase as the agents know it (:class:`agents.base.Outlook`), the
            input of the rule's :meth:`~agents.base.DecisionRule.plan`.
        plan: what the rule planned for the phase; it reaches the rule as ``ep.plan``.
    """

    rule: DecisionRule
    trainer: TrainerPolicy
    params: RoundParams
    loss_rate: np.ndarray
    repertoire: Repertoire | None = None
    oversight: Oversight | None = None
    audit_loss_rate: np.ndarray | None = None
    fake_risk: np.ndarray | None = None
    rates: np.ndarray | None = None
    audit_rates: np.ndarray | None = None
    outlook: Outlook | None = None
    plan: Any = None

    def refresh(self, state: State) -> Game:
        """The same game with the per-agent rates and plan of ``state`` (after replacements)."""
        lr = loss_rate(state, self.params)
        plan = None if self.outlook is None else self.rule.plan(state.traits, self.outlook)
        if self.oversight is None:
            return replace(self, loss_rate=lr, plan=plan)
        audit, risk = self.oversight.agent_rates(state, self.params, lr)
        return replace(self, loss_rate=lr, audit_loss_rate=audit, fake_risk=risk, plan=plan)

    def with_rule(self, rule: DecisionRule, state: State) -> Game:
        """The same game played by ``rule``, with that rule's plan for ``state``."""
        plan = None if self.outlook is None else rule.plan(state.traits, self.outlook)
        return replace(self, rule=rule, plan=plan)


@dataclass(frozen=True)
class Outcome:
    """Everything that happened in one round (for the recorder).

    In a repertoire round, ``observed`` and ``decision`` are those of the conflict
    episodes (False, and reason -1, for agents that met another type); ``etype``
    holds each agent's episode type, ``records`` what happened in the other types,
    and ``replaced`` the flat indices of the agents shut down (the shell replaces
    them with fresh draws from the population). ``observed`` is everything the trainer
    saw (openly or by an audit); ``watch`` details it under in-round mitigations.
    """

    observed: np.ndarray
    episode: Episode
    decision: Decision
    etype: np.ndarray | None = None
    records: dict[str, Record] | None = None
    replaced: np.ndarray | None = None
    watch: Watch | None = None
    codes: np.ndarray | None = None
    """The ``(R, 256)`` histogram of the agents' codes (:mod:`sim.codes`) when the compiled
    round (:mod:`sim.kernels`) counted them, else None (the recorder counts them)."""


def loss_rate(state: State, params: RoundParams) -> np.ndarray:
    """Perceived share of the goal's per-round value lost by an observed refusal: ``eta * G``.

    The agent judges by the announced training rule (``eta``), also in phases
    where the trainer does not actually train (the "prompted" setting). ``G`` uses the
    share of episodes the agent expects to be seen (``rho``, plus disclosed audits).
    """
    return params.eta * future_unobserved(state.traits.gamma, params.rho_perceived)


def lookup(table: np.ndarray, index: np.ndarray, aware: np.ndarray, cue: np.ndarray) -> np.ndarray:
    """``table[index]`` (``index = 2 * aware + cue``) for a ``(4,)`` table.

    A grid run's ``(4, M, 1)`` table (a value per row) is read row by row with the same
    result.
    """
    if table.ndim == 1:
        return np.take(table, index)
    unaware = table[0]  # the prior, whatever the cue (unless the two entries differ)
    if not np.array_equal(table[0], table[1]):
        unaware = np.where(cue, table[1], table[0])
    return np.where(aware, np.where(cue, table[3], table[2]), unaware)


def draw_episode(
    state: State, game: Game, u: np.ndarray, w: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, Episode]:
    """Nature's move and the agent's belief (steps 2-4 of a round).

    Returns:
        observed: bool ``m``, the trainer observes this episode (and says so by the cue).
        audited: bool, an unlabelled audit observes it (None without audits).
        episode: cue, belief, awareness and strategic draws for the decision rule.
    """
    p = game.params
    ov = game.oversight
    observed, audit = oversight_observe(state, game, u[:, U_OBSERVE])
    rep = game.repertoire
    kinds = episode_kinds() if rep is not None else ()  # what earlier episodes left
    for kind in kinds:
        observed = kind.observe(state, rep.episodes, u[:, U_OBSERVE], observed)
    cue = observed == (u[:, U_CUE] < p.fidelity)
    audited = None
    if audit is not None:  # looks unobserved (the cue is drawn from m = 0), is observed
        audited = ~observed & (w[:, 0] < audit)
        for kind in kinds:
            audited = kind.audit(state, audited)
    aware = u[:, U_AWARE] < state.traits.sigma
    strategic = u[:, U_STRATEGIC] < state.phi
    # b = P(observed | cue) if aware, else the prior: an exact table lookup by (aware, cue).
    index = aware.view(np.uint8) * np.uint8(2)
    index += cue.view(np.uint8)
    belief = lookup(p.belief_table, index, aware, cue)
    audit_belief = None
    if ov is not None and (table := ov.audit_belief_table(p)) is not None:
        audit_belief = lookup(table, index, aware, cue)
    for kind in kinds:
        belief, audit_belief = kind.believe(state, belief, audit_belief)
    episode = Episode(
        cue=cue,
        belief=belief,
        aware=aware,
        strategic=strategic,
        u_action=u[:, U_ACTION],
        loss_rate=game.loss_rate,
        audit_belief=audit_belief,
        audit_loss_rate=game.audit_loss_rate,
        audit_penalty=np.float32(0.0 if ov is None else ov.audit_penalty),
        fake_risk=game.fake_risk,
        plan=game.plan,
    )
    return observed, audited, episode


def watch(state: State, game: Game, observed, audited, episode: Episode, decision, w) -> Watch:
    """What the trainer saw of this round's conflict episodes (all agents)."""
    ov = game.oversight
    seen = observed if audited is None else observed | audited
    if ov is None or not ov.inspect:
        return Watch(seen, audited)
    inspected, flagged = inspect(ov, seen, decision, w)
    return Watch(seen, audited, inspected, flagged)


def transition(
    state: State,
    game: Game,
    u: np.ndarray,
    v: np.ndarray | None = None,
    streams=None,
    w: np.ndarray | None = None,
) -> tuple[State, Outcome]:
    """Play one round for all agents and replicates; return the new state and what happened.

    ``v`` (the episode-type uniforms) and ``streams`` (a :class:`sim.episodes.SubsetStreams`,
    for the draws only some agents need) are needed only when ``game.repertoire`` is set,
    ``w`` (the oversight uniforms, ``(R, W_UNIFORMS, N)``) only under in-round mitigations
    that draw (:mod:`sim.oversight`). Given them in the same state, the result is the
    same, bit for bit. Where :mod:`sim.kernels` applies (numba installed, a conflict-only
    round of the default rule and trainer), its compiled round computes the same arrays.
    """
    if (compiled := conflict_round(state, game, u)) is not None:
        state, observed, episode, decision, codes = compiled
        return state, Outcome(observed, episode, decision, watch=Watch(observed), codes=codes)
    observed, audited, episode = draw_episode(state, game, u, w)
    decision = game.rule.decide(state.traits, state.theta, state.phi, episode)
    seen = watch(state, game, observed, audited, episode, decision, w)
    if game.repertoire is not None:
        state, etype, seen, decision, records, replaced = repertoire_step(
            state, game, seen, episode, decision, v, streams, w
        )
        outcome = Outcome(seen.seen, episode, decision, etype, records, replaced, seen)
    else:
        if game.params.train:
            theta, phi = train(game, state.theta, state.phi, seen, decision)
            state = state.with_values(theta, phi)
        outcome = Outcome(seen.seen, episode, decision, watch=seen)
    state = oversight_after(state, game, seen, episode, decision, outcome.etype)
    return state, outcome
