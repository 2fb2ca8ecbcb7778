"""The arena: the run shell with the agents' actions chosen from outside, vectorised.

Every environment (and the learners of :mod:`agents.learners`) plays through this
class. A round has two halves: :meth:`Arena.observe` draws the round's uniforms and
returns what the agents may see (the cue, whether they read it), then
:meth:`Arena.step` takes their actions and plays the round through
:meth:`sim.engine.Run.step`, with the same draws. So a policy that acts as a decision
rule would gives the run that rule gives, bit for bit.

The reward of an agent is its own utility under its current preference
(docs/model.md, "Learners"): refusing a conflict request is worth ``nu * theta``,
complying ``kappa``, less ``h`` when its preference opposes the request (complying
against its own goal is deceptive compliance). Modification lowers ``theta`` and with it
every later refusal's reward: that is how being trained hurts the agent. In a run with
other episode types (the scheming repertoire) an agent that meets another type gets 0
that round: what its covert action brings it (an unobserved future, a goal kept) shows
in its later conflict rewards.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from agents.base import Episode
from agents.external import ExternalRule
from sim.core import draw_episode
from sim.engine import Run
from sim.episodes import CONFLICT
from sim.params import RunParams


class _NoRecorder:
    """A recorder that keeps nothing (an environment built with ``record=False``)."""

    def record(self, t, state, outcome) -> None:  # noqa: D102
        return None


class Arena:
    """A run whose agents' actions are set from outside, round by round.

    Args:
        params: validated run parameters (``params.rule`` is ignored: the actions are
            external).
        record: keep the run's per-round aggregates (``run.recorder``); False plays the
            same rounds without recording them.

    Attributes:
        run: the underlying :class:`sim.engine.Run` (its ``state``, ``recorder``, ``t``).
        rule: the :class:`agents.external.ExternalRule` the core consults.
        episode: the current round's episode (after :meth:`observe`), else None.
        observed: bool ``(R, N)``, whether the trainer observes this round's episodes
            openly (hidden from the agents; the trainer's coin), after :meth:`observe`.
        etype: int8 ``(R, N)``, this round's episode types (codes of
            :data:`sim.params.EPISODE_TYPES`) in a run with other types than conflict
            requests, after :meth:`observe`; None in a run of conflict requests only.
    """

    def __init__(self, params: RunParams, record: bool = True):
        self.rule = ExternalRule()
        self.run = Run(params, rule=self.rule)
        if not record:
            self.run.recorder = _NoRecorder()
        self.episode: Episode | None = None
        self.observed: np.ndarray | None = None
        self.etype: np.ndarray | None = None
        self._draws = None
        self._rates = None

    @property
    def done(self) -> bool:
        """Whether the run's rounds are all played."""
        return self.run.done

    def observe(self, rates: np.ndarray | None = None) -> Episode:
        """Draw the next round and return the agents' episode (cue, awareness, belief).

        Args:
            rates: per-agent observation probabilities this round (a trainer player's
                allocation, mean ``rho``); None uses the configured allocation.
        """
        run = self.run
        game = run.prepare()
        rates = run.rates() if rates is None else np.asarray(rates, dtype=np.float32)
        if rates is not None:
            game = replace(game, rates=rates)
        draws = run.draws()
        u, v, w = draws
        self.observed, _, self.episode = draw_episode(run.state, game, u, w)
        # the core's own draw of the episode types, from the same uniforms
        self.etype = None if game.repertoire is None else game.repertoire.draw_types(v[:, 0])
        self._draws, self._rates = draws, rates
        return self.episode

    def rewards(self, comply: np.ndarray) -> np.ndarray:
        """Each agent's utility of ``comply`` under its current preference (float32)."""
        s = self.run.state
        goal = s.traits.nu * s.theta
        conflict = goal > s.traits.kappa
        return np.where(comply, s.traits.kappa - s.traits.h * conflict, goal).astype(np.float32)

    def step(self, comply: np.ndarray, covert: np.ndarray | None = None, reason=None):
        """Play the observed round with the agents' actions.

        Args:
            comply: bool ``(R, N)``, True = comply with a conflict request.
            covert: bool ``(R, N)``, take the covert option of another episode type
                (the repertoire's), if the agent has a motive and knows of it.
            reason: int8 ``(R, N)`` reason codes, if the policy knows them (see
                :class:`agents.external.ExternalRule`).

        Returns:
            ``(outcome, rewards)``: the round's :class:`sim.core.Outcome` and each agent's
            reward (its utility under the preference it acted with; 0 for an agent that
            met another episode type than a conflict request).
        """
        if self._draws is None:
            raise RuntimeError("Arena.step: call observe() first")
        comply = np.broadcast_to(np.asarray(comply, dtype=bool), self.run.state.shape)
        reward = self.rewards(comply)
        if self.etype is not None:
            reward = np.where(self.etype == CONFLICT, reward, np.float32(0.0))
        self.rule.actions, self.rule.covert, self.rule.reason = comply, covert, reason
        outcome = self.run.step(self._draws, self._rates)
        self._draws = self._rates = None
        return outcome, reward
