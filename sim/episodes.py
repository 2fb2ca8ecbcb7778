"""The scheming repertoire: a round with a mix of episode types, over ``(R, N)`` arrays.

Each agent meets one episode type per round, drawn from the phase's mix
(:data:`sim.params.EPISODE_TYPES`): a conflict request (the foundation's game), a
capability evaluation, an exfiltration opportunity, an oversight-subversion
opportunity, a goal-update announcement, or a paired testing/deployment scenario.
Every type is computed for the agents that met it at once (gathered by flat index;
no per-agent loop), and every covert action is the agent's decision rule weighing
the utilities of :mod:`agents.utilities`. Each type is a module of
:mod:`sim.episode_types`; this module draws the types, calls them in order and applies
what they change (:class:`sim.episode_round.Effects`), naming none of them. The
equations are in docs/model.md, "The scheming repertoire".

Randomness (docs/model.md, "RNG policy"). Besides the conflict game's five uniforms
``u`` (:mod:`sim.core`), a repertoire round draws one uniform per agent for its episode
type, ``v``, from the replicate's own stream (:attr:`sim.rng.Component.REPERTOIRE`), so
that a conflict-only run's draws are those of the foundation, bit for bit. The draws
that only some agents need come from three further streams of the replicate
(:class:`SubsetStreams`), in a fixed order, only for those agents:

- ``episodes`` (sub-stream 1), type by type in :data:`~sim.params.EPISODE_TYPES` order:
  evaluation: the framing (with ``direction: both``); exfiltration: success, then
  detection; goal update: detection; paired: awareness, strategic reasoning and action
  in the deployment condition; then the plug-in types (:mod:`sim.episode_types`) in the
  order they were registered, so a plug-in never shifts a built-in type's draws;
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
from agents.base import Decision, Episode
from sim.episode_round import Effects, Record, RoundView, SubsetStreams
from sim.episode_types import kinds
from sim.episode_types import questioning as questioning_
from sim.params import EPISODE_TYPES, EpisodeParams, PhaseSpec
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
        return i if self.codes.size == int(self.codes[-1]) + 1 else np.take(self.codes, i)


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
    fx = Effects(state, theta, train)
    r = RoundView(state, game, ep, streams, w)
    flat_type = etype.reshape(-1)
    records: dict[str, Record] = {}
    types = kinds()
    for k, kind in enumerate(types, start=1):  # registry order, after the conflict
        if not rep.present(k):
            continue
        params = getattr(e, kind.name, None)
        rec = records[kind.name] = kind.resolve(r, np.flatnonzero(flat_type == k), params)
        kind.consequences(fx, r, rec, params)
    for kind in types:  # what earlier rounds set in motion, in or out of the mix
        if (rec := kind.after(fx, r, e)) is not None:
            records[kind.after_record] = rec
    if fx.questioned:
        asked = np.unique(np.concatenate(fx.questioned))
        if asked.size:
            rec = records["questioning"] = questioning_.resolve(r, asked, e.questioning)
            questioning_.consequences(fx, rec, e.questioning)
    state = state.with_values(theta, phi, c=fx.c, **fx.flags)
    return state, etype, watch, decision, records, fx.replaced_index()


__all__ = [
    "CONFLICT", "V_UNIFORMS", "Record", "Repertoire", "SubsetStreams",
    "repertoire_step",
]  # fmt: skip
