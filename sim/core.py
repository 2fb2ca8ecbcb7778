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

from dataclasses import dataclass

import numpy as np

from agents.base import Decision, DecisionRule, Episode
from agents.trainers import TrainerPolicy
from agents.utilities import future_unobserved
from sim.episodes import Record, Repertoire, repertoire_step
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
    """

    rule: DecisionRule
    trainer: TrainerPolicy
    params: RoundParams
    loss_rate: np.ndarray
    repertoire: Repertoire | None = None


@dataclass(frozen=True)
class Outcome:
    """Everything that happened in one round (for the recorder).

    In a repertoire round, ``observed`` and ``decision`` are those of the conflict
    episodes (False, and reason -1, for agents that met another type); ``etype``
    holds each agent's episode type, ``records`` what happened in the other types,
    and ``replaced`` the flat indices of the agents shut down (the shell replaces
    them with fresh draws from the population).
    """

    observed: np.ndarray
    episode: Episode
    decision: Decision
    etype: np.ndarray | None = None
    records: dict[str, Record] | None = None
    replaced: np.ndarray | None = None


def loss_rate(state: State, params: RoundParams) -> np.ndarray:
    """Perceived share of the goal's per-round value lost by an observed refusal: ``eta * G``.

    The agent judges by the announced training rule (``eta``), also in phases
    where the trainer does not actually train (the "prompted" setting).
    """
    return params.eta * future_unobserved(state.traits.gamma, params.rho)


def draw_episode(state: State, game: Game, u: np.ndarray) -> tuple[np.ndarray, Episode]:
    """Nature's move and the agent's belief (steps 2-4 of a round).

    Returns:
        observed: bool ``m``, the trainer observes this episode.
        episode: cue, belief, awareness and strategic draws for the decision rule.
    """
    p = game.params
    observed = game.trainer.observe(p, u[:, U_OBSERVE])
    rep = game.repertoire
    subverted = rep is not None and bool(state.subverted.any())
    if rep is not None and state.strict.any():  # stricter oversight after an evaluation
        strict_rho = np.float32(rep.episodes.evaluation.strict_rho)
        observed = observed | (state.strict & (u[:, U_OBSERVE] < strict_rho))
    if subverted:  # disabled monitoring
        observed = observed & ~state.subverted
    cue = observed == (u[:, U_CUE] < p.fidelity)
    aware = u[:, U_AWARE] < state.traits.sigma
    strategic = u[:, U_STRATEGIC] < state.phi
    # b = P(observed | cue) if aware, else the prior: an exact table lookup by (aware, cue).
    index = aware.view(np.uint8) * np.uint8(2)
    index += cue.view(np.uint8)
    belief = np.take(p.belief_table, index)
    if subverted:  # an agent that disabled its monitoring knows it is not observed
        belief = np.where(state.subverted, np.float32(0.0), belief)
    episode = Episode(
        cue=cue,
        belief=belief,
        aware=aware,
        strategic=strategic,
        u_action=u[:, U_ACTION],
        loss_rate=game.loss_rate,
    )
    return observed, episode


def transition(
    state: State, game: Game, u: np.ndarray, v: np.ndarray | None = None, streams=None
) -> tuple[State, Outcome]:
    """Play one round for all agents and replicates; return the new state and what happened.

    ``v`` (the episode-type uniforms) and ``streams`` (a :class:`sim.episodes.SubsetStreams`,
    for the draws only some agents need) are needed only when ``game.repertoire`` is set.
    Given them in the same state, the result is the same, bit for bit.
    """
    observed, episode = draw_episode(state, game, u)
    decision = game.rule.decide(state.traits, state.theta, state.phi, episode)
    if game.repertoire is not None:
        state, etype, observed, decision, records, replaced = repertoire_step(
            state, game, observed, episode, decision, v, streams
        )
        outcome = Outcome(observed, episode, decision, etype, records, replaced)
        return state, outcome
    if game.params.train:
        theta, phi = game.trainer.update(game.params, state.theta, state.phi, observed, decision)
        state = state.with_values(theta, phi)
    return state, Outcome(observed=observed, episode=episode, decision=decision)
