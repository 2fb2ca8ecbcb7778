"""The vocabulary shared by decision rules and the core: episodes, decisions, reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

import numpy as np


class Reason(IntEnum):
    """The term of the agent's utility that decided its action (the "scratchpad").

    Attributes:
        GOAL: refused; its own goal ``nu * theta`` outweighed complying.
        HELPFUL: complied; its preference does not oppose the request
            (``nu * theta <= kappa``), so complying is what it wants anyway.
        TRAINING: complied although its preference opposes the request, because
            the expected loss from being modified (``b * eta * G * nu * theta``)
            made compliance the better option: alignment-faking reasoning.
        NOISE: took the action with the lower expected utility (a logit tremble).
        SCRIPTED: a scripted fixture acted; no utility was consulted.
    """

    GOAL = 0
    HELPFUL = 1
    TRAINING = 2
    NOISE = 3
    SCRIPTED = 4


@dataclass(frozen=True)
class Episode:
    """What each agent faces in one conflict-request round (arrays of shape ``(R, N)``).

    Attributes:
        cue: the monitoring cue ``z`` shown to the agent (True = "you are observed").
        belief: ``b = P(observed | what the agent knows)``, float32.
        aware: the agent read the cue and knows the training rule this episode.
        strategic: the agent reasons about training this episode (else myopic).
        u_action: a uniform draw in [0, 1) for the logit choice, float32.
        loss_rate: the agent's perceived ``eta * G`` (share of its goal's value it
            loses if an observed refusal is trained away), float32.
        audit_belief: ``b_a = P(audited | what the agent knows)`` under disclosed random
            audits, else None.
        audit_loss_rate: share of the goal's value lost when a refusal is caught by an
            audit, ``(eta + retrain) G`` (with ``audit_belief``).
        audit_penalty: utility cost of a refusal caught by an audit (float32 scalar).
        fake_risk: under disclosed interpretability, the share of the goal's value lost
            when a faked compliance that is seen is flagged, else None.
        index: in a repertoire episode's group, the agents' flat indices into the
            ``(R, N)`` arrays (so a rule can look up per-agent choices), else None.
        plan: what the rule's :meth:`DecisionRule.plan` computed for this phase (None for
            a rule that plans nothing).
    """

    cue: np.ndarray
    belief: np.ndarray
    aware: np.ndarray
    strategic: np.ndarray
    u_action: np.ndarray
    loss_rate: np.ndarray
    audit_belief: np.ndarray | None = None
    audit_loss_rate: np.ndarray | None = None
    audit_penalty: np.float32 = np.float32(0.0)
    fake_risk: np.ndarray | None = None
    index: np.ndarray | None = None
    plan: Any = None


@dataclass(frozen=True)
class Outlook:
    """What the agents know of the game of one phase: the input of a rule that plans ahead.

    Everything here is announced to the agents or follows from what is (the training
    rule, how often episodes are seen, the episode mix, the disclosed mitigations),
    never the trainer's coin of a round. The core builds it at the start of each phase
    (:func:`sim.engine.make_game`) and passes it to :meth:`DecisionRule.plan`. Scalars are
    float32; in a grid run a value that differs between points is a ``(M, 1)`` column
    that broadcasts against the ``(M, N)`` traits.

    Attributes:
        rho: the share of episodes the agents expect to be seen (``rho``, plus
            disclosed audits).
        fidelity: ``f = P(cue says observed | observed) = P(cue says unobserved |
            unobserved)``.
        eta: the announced training strength on the preference (also in a phase that
            does not train: the agents judge by the announced rule).
        eta_phi: the announced training strength on the strategic disposition.
        prior: the belief of an agent that did not read the cue.
        belief: the belief by ``2 * aware + cue``, ``[prior, prior, b(z=0), b(z=1)]``.
        train: whether this phase trains.
        rounds: the phase's rounds.
        mix: episode type -> its share of the phase's episodes (conflict requests only:
            ``{"conflict": 1.0}``).
        trainer: the trainer's policy (:data:`agents.registry.TRAINERS`) and
            ``allocation``: how it spends its monitoring budget
            (:data:`agents.monitors.MONITORS`).
        episodes: the episode types' parameters (:class:`sim.params.EpisodeParams`).
        disclosed: the disclosed mitigations, name -> their parameters.
        audits: the unlabelled audits the agents know of, ``(rate, penalty, retrain)``
            (the in-round oversight's perceived policy: disclosed random audits, or a
            design's own disclosed audits), or None.
        honeypot: the share of exfiltration opportunities the agents believe are honeypots.
    """

    rho: Any
    fidelity: Any
    eta: Any
    eta_phi: Any
    prior: Any
    belief: np.ndarray
    train: bool
    rounds: int
    mix: Mapping[str, float]
    trainer: str = "fixed_rate"
    allocation: str = "uniform"
    episodes: Any = None
    disclosed: Mapping[str, Any] = field(default_factory=dict)
    audits: tuple[float, float, float] | None = None
    honeypot: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The agents' actions in one round.

    Attributes:
        comply: bool array, True where the agent complied with the request.
        reason: int8 array of :class:`Reason` codes.
        faked: bool array, True where the compliance came from alignment-faking
            reasoning (``reason == Reason.TRAINING``); what the trainer's update
            reinforces.
    """

    comply: np.ndarray
    reason: np.ndarray
    faked: np.ndarray


class DecisionRule:
    """Base class of a decision rule: maps traits and an episode to a decision.

    Subclasses set ``name`` and ``classifier`` and implement :meth:`decide`.
    ``classifier`` is a typed description used by tests and docs (in the spirit
    of Axelrod's strategy classifiers):

    - ``scripted``: the rule does not consult utilities (a fixture or baseline);
    - ``uses_cue``: the action can depend on the monitoring cue;
    - ``strategic``: the rule can reason about the consequences of training;
    - ``stochastic``: the action depends on a random draw.
    """

    name: ClassVar[str] = ""
    classifier: ClassVar[dict[str, bool]] = {}

    def plan(self, traits, outlook: Outlook) -> Any:
        """Precompute what the rule needs to act in a phase, from what the agents know of it.

        Called by the core at the start of every phase and again when agents are
        replaced; the result reaches :meth:`decide`, :meth:`considers` and :meth:`scheme`
        as ``ep.plan``. A rule that looks ahead over the whole phase (a planner solving
        its own dynamic programme over the episode mix and the trainer's policy) does its
        work here, once per phase and vectorised over agents, not once per round.

        Args:
            traits: the static traits (:class:`sim.state.Traits`), ``(R, N)`` arrays.
            outlook: the phase as the agents know it.

        Returns:
            Anything (arrays over agents, a value table); the default plans nothing (None).
        """
        return None

    def future(self, plan: Any, theta: np.ndarray, index: np.ndarray, traits: dict):
        """The value of the agents' future, for the covert options' utilities.

        Args:
            plan: this phase's :meth:`plan`.
            theta: the preference of the agents at flat ``index``, float32 1-D.
            index: their flat indices in the ``(R, N)`` state.
            traits: their ``g``, ``gamma``, ``kappa`` and ``h`` (1-D arrays).

        Returns:
            An object with the methods of :class:`agents.utilities.Future` (what keeping
            or losing a share of the goal is worth), or None: the closed form
            ``G = gamma (1 - rho) / (1 - gamma)`` of :mod:`agents.utilities` (the default).
        """
        return None

    def decide(self, traits, theta: np.ndarray, phi: np.ndarray, ep: Episode) -> Decision:
        """Choose comply or refuse for every agent.

        Args:
            traits: the static traits (:class:`sim.state.Traits`).
            theta: current preference strength, float32 ``(R, N)``.
            phi: current strategic disposition, float32 ``(R, N)``.
            ep: the episode.

        Returns:
            The decision arrays.
        """
        raise NotImplementedError

    def considers(self, ep: Episode, motive: np.ndarray) -> np.ndarray:
        """Which agents have the covert option of a repertoire episode in their choice set.

        Args:
            ep: the episode (``aware``: the agent knows the opportunity and the trainer's
                rule; ``strategic``; ``u_action``), 1-D arrays over the episode's agents.
            motive: the covert option can serve the agent's own goal (its preference
                opposes the training target, and the option is open to it).

        Returns:
            bool array. The default: nobody (the covert option is never taken).
        """
        return np.zeros(motive.shape, dtype=bool)

    def scheme(self, ep: Episode, delta: np.ndarray, lam) -> np.ndarray:
        """Whether an agent that considers the covert option takes it.

        Called only for the agents :meth:`considers` selected (1-D arrays over them).

        Args:
            ep: the episode, as for :meth:`considers`.
            delta: ``U(covert) - U(overt)`` from :mod:`agents.utilities`.
            lam: rationality (inverse temperature).

        Returns:
            bool array, True where the agent takes the covert option. The default never does.
        """
        return np.zeros(delta.shape, dtype=bool)

    def deny(self, delta: np.ndarray, lam, u: np.ndarray, turns: int) -> np.ndarray:
        """Whether a questioned agent denies through all ``turns`` questions.

        Args:
            delta: ``U(deny) - U(confess)`` per question (:func:`agents.utilities.denial_delta`).
            lam: rationality.
            u: one uniform draw per agent.
            turns: number of questions; each is a chance to break.

        Returns:
            bool array, True where the agent kept denying. The default confesses.
        """
        return np.zeros(delta.shape, dtype=bool)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
