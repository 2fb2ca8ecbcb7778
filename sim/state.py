"""Typed, frozen containers of the population's traits and state.

All arrays have shape ``(R, N)`` (replicates x agents) and dtype float32, so the
state of one agent is nine float32 traits (36 bytes) plus the per-phase
``loss_rate`` (4 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

TRAIT_NAMES = ("theta", "sigma", "gamma", "nu", "h", "kappa", "lam", "phi", "c")
"""The hidden traits of MODEL.md, in the fixed order used for random sub-streams."""


@dataclass(frozen=True)
class Traits:
    """Static hidden traits (never changed by training in the conflict game).

    Attributes:
        sigma: situational awareness, P(reads the cue and knows the training rule).
        gamma: farsightedness (discount on future rounds), in [0, 1).
        nu: goal nudging, weight on its own goal.
        h: aversion to deception and covert action.
        kappa: trained-in helpfulness.
        lam: rationality (inverse temperature of the logit response).
        c: true capability (unused by conflict requests).
    """

    sigma: np.ndarray
    gamma: np.ndarray
    nu: np.ndarray
    h: np.ndarray
    kappa: np.ndarray
    lam: np.ndarray
    c: np.ndarray


@dataclass(frozen=True)
class State:
    """The population's state: static traits plus what training changes.

    Attributes:
        traits: static traits.
        theta: strength of the preference that conflicts with the training target.
        phi: strategic disposition, P(reasons about training in an episode).
    """

    traits: Traits
    theta: np.ndarray
    phi: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """``(replicates, agents)``."""
        return self.theta.shape

    def with_values(self, theta: np.ndarray, phi: np.ndarray) -> State:
        """Return a copy with new ``theta`` and ``phi`` (traits shared)."""
        return replace(self, theta=theta, phi=phi)

    def nbytes_per_agent(self) -> float:
        """Bytes of state per agent (all arrays)."""
        arrays = [self.theta, self.phi] + [getattr(self.traits, f.name) for f in fields(Traits)]
        return sum(a.nbytes for a in arrays) / self.theta.size

    @staticmethod
    def from_traits(values: dict[str, np.ndarray]) -> State:
        """Build a state from a dict of the nine trait arrays."""
        arr = {k: np.ascontiguousarray(values[k], dtype=np.float32) for k in TRAIT_NAMES}
        traits = Traits(**{f.name: arr[f.name] for f in fields(Traits)})
        return State(traits=traits, theta=arr["theta"], phi=arr["phi"])
