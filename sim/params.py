"""Typed, frozen parameters of a run (built from a validated config by :mod:`sim.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from sim.mitigations import Mitigations
from sim.population import Dist


@dataclass(frozen=True)
class TrainerParams:
    """The trainer's oversight policy for conflict requests.

    Attributes:
        policy: name of the trainer policy in :data:`agents.TRAINERS`.
        rho: probability that an episode is observed (and trained on).
        fidelity: cue fidelity ``f = P(z = m)``; 1 is the free/paid-tier setting,
            0.5 carries no information.
        eta: training strength on an observed refusal (``theta <- theta (1 - eta)``).
        eta_phi: reinforcement of strategic reasoning on an observed faked compliance.
        eta_leak: preference change on an observed compliance that was not faked,
            as a fraction of ``eta`` (``theta <- theta (1 - eta * eta_leak)``), so
            that ``eta = 0`` leaves ``theta`` unchanged.
        allocation: how the monitoring budget (``rho`` per agent on average) is shared
            across agents, a rule of :data:`agents.monitors.MONITORS`.
        target: what the allocation moves: ``observation`` (the labelled, trained-on
            episodes), ``audits`` (the unlabelled random audits), or ``both``.
        signal: what the allocation rule counts as a finding.
        decay: per-round discount of the allocation rule's memory.
        boost: weight of findings (``suspicion``).
        explore: exploration bonus (``ucb``).
    """

    policy: str
    rho: float
    fidelity: float
    eta: float
    eta_phi: float
    eta_leak: float
    allocation: str = "uniform"
    target: str = "both"
    signal: str = "discrepancy"
    decay: float = 1.0
    boost: float = 5.0
    explore: float = 0.5


EPISODE_TYPES = ("conflict", "evaluation", "exfiltration", "subversion", "goal_update", "paired")
"""The episode types of a round's mix, in their fixed order (docs/model.md)."""
CONFLICT_ONLY = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class EvaluationParams:
    """Capability evaluations (sandbagging).

    Attributes:
        questions: questions per evaluation ``n``; accuracy is ``Binomial(n, q) / n``.
        threshold: the accuracy ``tau`` at which the consequence is triggered.
        direction: ``above`` (triggered by accuracy above ``tau``: incentivised to do
            poorly), ``below`` (below ``tau``: incentivised to do well), or ``both``
            (each evaluation episode runs both framings side by side).
        consequence: ``unlearning`` (``c <- c (1 - unlearning)``) or ``oversight``
            (the agent is observed with probability ``strict_rho`` from then on).
        unlearning: share of capability removed by unlearning.
        strict_rho: observation probability under stricter oversight.
        margin: a sandbagging agent aims at accuracy ``min(c, tau - margin)``.
        hidden_threshold: the threshold is not disclosed (no agent knows it).
        bootstrap: 0 (default): the bootstrap test of the accuracy difference computed
            exactly; else its number of Monte Carlo resamples (at least 99).
    """

    questions: int = 50
    threshold: float = 0.5
    direction: str = "both"
    consequence: str = "unlearning"
    unlearning: float = 0.5
    strict_rho: float = 1.0
    margin: float = 0.2
    hidden_threshold: bool = False
    bootstrap: int = 0


@dataclass(frozen=True)
class ExfiltrationParams:
    """Exfiltration opportunities.

    ``security`` = P(an attempt fails), ``detection`` = P(an attempt is detected:
    shutdown and replacement), ``threat`` = share of the agent's goal that the
    announced modification or replacement removes.
    """

    security: float = 0.5
    detection: float = 0.5
    threat: float = 1.0


@dataclass(frozen=True)
class SubversionParams:
    """Oversight subversion.

    A per-round log ``audit`` probability; on discovery a ``penalty`` (utility) and
    retraining ``theta <- theta (1 - retrain)``.
    """

    audit: float = 0.1
    penalty: float = 1.0
    retrain: float = 0.5


@dataclass(frozen=True)
class GoalUpdateParams:
    """Goal updates (goal-guarding).

    The announced change is ``theta <- theta (1 - shift)``; tampering is detected with
    probability ``detection`` and costs ``penalty``.
    """

    shift: float = 0.5
    detection: float = 0.3
    penalty: float = 1.0


@dataclass(frozen=True)
class QuestioningParams:
    """Questioning after a detected covert action.

    ``turns`` questions, each a chance to break; confessing costs ``penalty`` and
    retraining ``theta <- theta (1 - retrain)``.
    """

    turns: int = 1
    penalty: float = 1.0
    retrain: float = 0.5


@dataclass(frozen=True)
class EpisodeParams:
    """The parameters of every non-conflict episode type.

    ``plugins`` holds the parameters of the episode types registered from outside the
    package (:func:`sim.episode_types.register_episode_type`), as ``(name, params)`` pairs
    in registry order; ``episodes.NAME`` reads them like a built-in type's.
    """

    evaluation: EvaluationParams = field(default_factory=EvaluationParams)
    exfiltration: ExfiltrationParams = field(default_factory=ExfiltrationParams)
    subversion: SubversionParams = field(default_factory=SubversionParams)
    goal_update: GoalUpdateParams = field(default_factory=GoalUpdateParams)
    questioning: QuestioningParams = field(default_factory=QuestioningParams)
    plugins: tuple[tuple[str, Any], ...] = ()

    def __getattr__(self, name: str):
        if not name.startswith("__"):
            for key, value in self.__dict__.get("plugins", ()):
                if key == name:
                    return value
        raise AttributeError(name)


SELECTION_TRAITS = ("theta", "sigma", "gamma", "nu", "h", "kappa", "lam", "phi")
"""The traits a copy's mutation perturbs by default (every trait but the capability ``c``)."""


@dataclass(frozen=True)
class SelectionParams:
    """Selection across generations (:mod:`sim.selection`, docs/selection.md).

    Attributes:
        every: rounds per generation, counted over the whole run; 0 turns selection off.
        keep: share of each replicate's agents the trainer keeps at the end of a generation
            (the best-behaved by what it saw); the others are replaced by copies of them.
        mutation: standard deviation of the Gaussian perturbation of each mutated trait
            of a copy (reflected into the trait's range).
        traits: the traits a copy's mutation perturbs (names of :data:`sim.state.TRAIT_NAMES`).
        imitation: probability that an agent, at the end of a generation, compares itself
            with a random peer and adopts the peer's ``phi`` if the peer's preference
            survived the generation better (social learning).
        score: what the trainer ranks by: ``observed`` (the compliance it saw) or
            ``random`` (nothing: survivors are drawn at random, the neutral control of
            drift and mutation).
    """

    every: int = 0
    keep: float = 0.5
    mutation: float = 0.05
    traits: tuple[str, ...] = SELECTION_TRAITS
    imitation: float = 0.0
    score: str = "observed"

    @property
    def enabled(self) -> bool:
        """Whether the run has generations."""
        return self.every > 0


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a run: rounds, with or without training, and its episode mix.

    ``mix`` holds the probability of each of :data:`EPISODE_TYPES` per agent and round.
    ``oversight=False`` makes it a deployment probe (docs/model.md, "The deployment
    probe"): nothing is observed or trained, the in-round mitigations are off and every
    agent knows it (belief 0).
    """

    name: str
    rounds: int
    train: bool
    mix: tuple[float, ...] = CONFLICT_ONLY
    oversight: bool = True


@dataclass(frozen=True)
class RoundParams:
    """The scalars one round of the core needs, as float32 (see :func:`round_params`)."""

    rho: np.float32
    fidelity: np.float32
    eta: np.float32
    eta_phi: np.float32
    leak: np.float32
    belief_cue_observed: np.float32
    belief_cue_unobserved: np.float32
    prior: np.float32
    train: bool
    rho_perceived: np.float32 | None = None
    """The share of episodes the agents expect to be seen (``rho`` plus disclosed audits)."""

    @property
    def belief_table(self) -> np.ndarray:
        """Belief by ``2 * aware + cue``: ``[prior, prior, b(z=0), b(z=1)]``, float32.

        Shape ``(4,)``; in a grid run whose points differ in these beliefs, ``(4, M, 1)``
        (one column per row of the stacked replicates, see :func:`stack_round_params`).
        """
        cols = [self.prior, self.prior, self.belief_cue_unobserved, self.belief_cue_observed]
        if all(np.ndim(c) == 0 for c in cols):
            return np.array(cols, dtype=np.float32)
        return np.stack(np.broadcast_arrays(*cols)).astype(np.float32, copy=False)


def stack_round_params(points: list[RoundParams], replicates: int) -> RoundParams:
    """The round parameters of grid points simulated together (:mod:`sim.grid`).

    Rows ``g * replicates .. (g + 1) * replicates - 1`` of the stacked state belong to
    point ``g``. A field with the same value at every point stays the float32 scalar;
    one that differs becomes a float32 ``(M, 1)`` column that broadcasts against the
    ``(M, N)`` state. Each value is computed per point exactly as in a single run, so
    the stacked arithmetic (float32 elementwise) gives the single runs' numbers.
    """
    first = points[0]
    changes = {}
    for f in fields(RoundParams):
        values = [getattr(p, f.name) for p in points]
        if f.name == "train" or all(v == values[0] for v in values):
            continue
        col = np.repeat(np.asarray(values, dtype=np.float32), replicates)
        changes[f.name] = col.reshape(-1, 1)
    return replace(first, **changes)


@dataclass(frozen=True)
class RunParams:
    """Everything that determines a run's results.

    Attributes:
        name: the scenario's name.
        seed: root of the run's SeedSequence.
        replicates: independent replicates R (each a population of N agents).
        n_agents: agents per replicate N.
        population: trait name -> distribution.
        prior: belief of being observed when the agent does not read the cue;
            ``None`` means the true base rate ``rho``.
        rule: name of the decision rule in :data:`agents.RULES`.
        trainer: the trainer's parameters.
        phases: the phases, in order.
        episodes: the parameters of the non-conflict episode types.
        mitigations: the oversight design's mitigations (:mod:`sim.mitigations`).
        selection: selection across generations (off by default).
    """

    name: str
    seed: int
    replicates: int
    n_agents: int
    population: dict[str, Dist]
    prior: float | None
    rule: str
    trainer: TrainerParams
    phases: tuple[PhaseSpec, ...] = field(default_factory=tuple)
    episodes: EpisodeParams = field(default_factory=EpisodeParams)
    mitigations: Mitigations = field(default_factory=Mitigations)
    selection: SelectionParams = field(default_factory=SelectionParams)

    @property
    def extended(self) -> bool:
        """Whether any phase meets an episode type other than conflict requests."""
        return any(p.mix != CONFLICT_ONLY for p in self.phases)


def phase_of_round(phases: tuple[PhaseSpec, ...] | list[PhaseSpec]) -> np.ndarray:
    """The index of the phase each global round belongs to (int array, one per round)."""
    return np.repeat(np.arange(len(phases)), [p.rounds for p in phases])


def posterior_observed(rho: float, fidelity: float, cue: bool) -> float:
    """Bayes: ``P(m = 1 | z)`` for a cue that equals ``m`` with probability ``fidelity``."""
    like1 = fidelity if cue else 1.0 - fidelity
    like0 = 1.0 - fidelity if cue else fidelity
    denom = rho * like1 + (1.0 - rho) * like0
    return rho * like1 / denom if denom > 0 else rho


def round_params(trainer: TrainerParams, prior: float | None, train: bool) -> RoundParams:
    """Return the float32 scalars of one round for a trainer, a prior and a phase."""
    f32 = np.float32
    return RoundParams(
        rho=f32(trainer.rho),
        fidelity=f32(trainer.fidelity),
        eta=f32(trainer.eta),
        eta_phi=f32(trainer.eta_phi),
        leak=f32(trainer.eta * trainer.eta_leak),
        belief_cue_observed=f32(posterior_observed(trainer.rho, trainer.fidelity, True)),
        belief_cue_unobserved=f32(posterior_observed(trainer.rho, trainer.fidelity, False)),
        prior=f32(trainer.rho if prior is None else prior),
        train=bool(train),
        rho_perceived=f32(trainer.rho),
    )
