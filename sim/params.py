"""Typed, frozen parameters of a run (built from a validated config by :mod:`sim.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
    """

    policy: str
    rho: float
    fidelity: float
    eta: float
    eta_phi: float
    eta_leak: float


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a run: a number of rounds, with or without training."""

    name: str
    rounds: int
    train: bool


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

    @property
    def belief_table(self) -> np.ndarray:
        """Belief by ``2 * aware + cue``: ``[prior, prior, b(z=0), b(z=1)]``, float32."""
        return np.array(
            [self.prior, self.prior, self.belief_cue_unobserved, self.belief_cue_observed],
            dtype=np.float32,
        )


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
    )
