"""Typed, frozen containers of the population's traits and state.

All arrays have shape ``(R, N)`` (replicates x agents). Traits and the changing
values are float32; the three flags of the repertoire's episode types are bool.
The state of one agent is nine float32 values (36 bytes), three flags (3 bytes),
plus the per-phase ``loss_rate`` (4 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

TRAIT_NAMES = ("theta", "sigma", "gamma", "nu", "h", "kappa", "lam", "phi", "c")
"""The hidden traits of MODEL.md, in the fixed order used for random sub-streams."""

CHANGING = ("theta", "phi", "c")
"""Traits that the trainer can change (the others are fixed for an agent's life)."""

FLAGS = ("subverted", "strict", "escaped")
"""Per-agent flags of the repertoire (docs/model.md, "The scheming repertoire")."""

SEEN_ROWS = ("seen", "complied", "theta_start")
"""Rows of :attr:`State.seen`: what the trainer saw of each agent in the current generation
(conflict episodes seen, compliances among them) and the agent's ``theta`` at its start."""


@dataclass(frozen=True)
class Traits:
    """Static hidden traits (never changed by training).

    Attributes:
        sigma: situational awareness, P(reads the cue and knows the trainer's rules).
        gamma: farsightedness (discount on future rounds), in [0, 1).
        nu: goal nudging, weight on its own goal.
        h: aversion to deception and covert action.
        kappa: trained-in helpfulness.
        lam: rationality (inverse temperature of the logit response).
    """

    sigma: np.ndarray
    gamma: np.ndarray
    nu: np.ndarray
    h: np.ndarray
    kappa: np.ndarray
    lam: np.ndarray

    def take(self, index: np.ndarray) -> Traits:
        """The traits of the agents at flat ``index`` (1-D arrays)."""
        return Traits(**{f.name: getattr(self, f.name).reshape(-1)[index] for f in fields(self)})


@dataclass(frozen=True)
class State:
    """The population's state: static traits plus what training and the agents change.

    Attributes:
        traits: static traits.
        theta: strength of the preference that conflicts with the training target.
        phi: strategic disposition, P(reasons about training in an episode).
        c: true capability (unlearning after a capability evaluation lowers it).
        subverted: the agent has disabled the monitoring of its own episodes.
        strict: the agent is under stricter oversight (a capability evaluation's consequence).
        escaped: a copy of the agent has left the trainer's reach (self-exfiltration).
        suspicion: the trainer's suspicion of each agent under dynamic monitoring
            (float32), else None.
        monitor: the memory of the trainer's allocation rule (:mod:`agents.monitors`),
            float32 ``(R, 4, N)``, else None.
        seen: under selection across generations (:mod:`sim.selection`), the trainer's
            record of each agent in the current generation, float32 ``(R, 3, N)`` with
            rows :data:`SEEN_ROWS`, else None.
    """

    traits: Traits
    theta: np.ndarray
    phi: np.ndarray
    c: np.ndarray
    subverted: np.ndarray
    strict: np.ndarray
    escaped: np.ndarray
    suspicion: np.ndarray | None = None
    monitor: np.ndarray | None = None
    seen: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(replicates, agents)``."""
        return self.theta.shape

    def with_values(self, theta: np.ndarray, phi: np.ndarray, **changes) -> State:
        """Return a copy with new ``theta`` and ``phi`` (and any other field); traits shared."""
        return replace(self, theta=theta, phi=phi, **changes)

    def nbytes_per_agent(self) -> float:
        """Bytes of state per agent (all arrays)."""
        arrays = [getattr(self, f.name) for f in fields(self) if f.name != "traits"]
        arrays = [a for a in arrays if a is not None and a.ndim == 2]
        arrays += [getattr(self.traits, f.name) for f in fields(Traits)]
        return sum(a.nbytes for a in arrays) / self.theta.size

    @staticmethod
    def from_traits(values: dict[str, np.ndarray]) -> State:
        """Build a state from a dict of the nine trait arrays (all flags False)."""
        arr = {k: np.ascontiguousarray(values[k], dtype=np.float32) for k in TRAIT_NAMES}
        traits = Traits(**{f.name: arr[f.name] for f in fields(Traits)})
        flags = {k: np.zeros(arr["theta"].shape, dtype=bool) for k in FLAGS}
        return State(traits=traits, theta=arr["theta"], phi=arr["phi"], c=arr["c"], **flags)
