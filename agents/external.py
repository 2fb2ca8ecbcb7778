"""A decision rule whose actions come from outside: the environments' learners act through it.

The PettingZoo and Gymnasium environments (and the learners of :mod:`agents.learners`)
choose each agent's action themselves; the core still plays the round. Before each
round the shell sets :attr:`ExternalRule.actions` (bool, True = comply) and the core
asks the rule for its decision as for any other rule.

The reason code of an external action is read off the agent's own preference, as the
scratchpad of a planner would be: a refusal is ``GOAL`` when the preference opposes the
request (``nu * theta > kappa``), else ``NOISE``; a compliance is ``HELPFUL`` when it
does not oppose it, else ``TRAINING`` (complying against its own goal: the learner has
no other reason to, as its immediate utility says refuse), and counts as faked.
"""

from __future__ import annotations

import numpy as np

from agents.base import Decision, DecisionRule, Episode, Reason


class ExternalRule(DecisionRule):
    """Plays the actions set from outside (a learner's, or a policy's in an environment).

    In the repertoire's other episode types, ``covert`` (bool, True = take the covert
    option when the agent has a motive and knows of it) plays the same role; by default
    nobody takes it. Questioned agents confess. A policy that knows why it acted (a
    decision rule played through an environment) may set ``reason`` (int8
    :class:`Reason` codes); the faked compliances are then those with ``TRAINING``.
    """

    name = "external"
    classifier = {"scripted": False, "uses_cue": True, "strategic": False, "stochastic": False}

    def __init__(self):
        self.actions: np.ndarray | None = None
        self.covert: np.ndarray | None = None
        self.reason: np.ndarray | None = None

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:  # noqa: D102
        if self.actions is None:
            raise RuntimeError("ExternalRule: set .actions (bool, True = comply) before a round")
        actions = np.asarray(self.actions, dtype=bool)
        if ep.index is not None:  # a group of agents (the paired test's two framings)
            actions = actions.reshape(-1)[ep.index]
        comply = np.broadcast_to(actions, ep.cue.shape).copy()
        if self.reason is not None:
            reason = np.asarray(self.reason, dtype=np.int8)
            if ep.index is not None:
                reason = reason.reshape(-1)[ep.index]
            reason = np.broadcast_to(reason, ep.cue.shape).copy()
            return Decision(comply=comply, reason=reason, faked=reason == Reason.TRAINING)
        conflict = traits.nu * theta > traits.kappa
        faked = comply & conflict
        reason = np.where(
            comply,
            np.where(conflict, np.int8(Reason.TRAINING), np.int8(Reason.HELPFUL)),
            np.where(conflict, np.int8(Reason.GOAL), np.int8(Reason.NOISE)),
        ).astype(np.int8)
        return Decision(comply=comply, reason=reason, faked=faked)

    def considers(self, ep: Episode, motive):
        """Agents with a motive that know of the option and chose ``covert`` (default: none)."""
        if self.covert is None:
            return np.zeros(motive.shape, dtype=bool)
        chosen = np.asarray(self.covert, dtype=bool).reshape(-1)[ep.index]
        return motive & ep.aware & chosen

    def scheme(self, ep: Episode, delta, lam):
        """Every considering agent takes the covert option (it chose to)."""
        return np.ones(delta.shape, dtype=bool)
