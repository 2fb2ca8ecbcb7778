"""Trainer policies: who is observed, and how observed agents are modified.

Updates on observed episodes (docs/model.md, "Trainer updates"):

- observed refusal: ``theta <- theta * (1 - eta)``;
- observed compliance from alignment-faking reasoning: ``phi <- phi + eta_phi * (1 - phi)``;
- any other observed compliance: ``theta <- theta * (1 - eta * eta_leak)`` (``leak``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from agents.base import Decision


class TrainerPolicy:
    """Base class of a trainer policy.

    Subclasses set ``name`` and implement :meth:`observe` and :meth:`update`.
    """

    name: ClassVar[str] = ""

    def observe(self, params, u_observe: np.ndarray) -> np.ndarray:
        """Return the bool mask of episodes the trainer observes (``m``)."""
        raise NotImplementedError

    def update(self, params, theta, phi, observed, decision: Decision):
        """Return the new ``(theta, phi)`` after training on observed episodes."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FixedRateTrainer(TrainerPolicy):
    """Observes each episode independently with probability ``rho``; trains what it sees."""

    name = "fixed_rate"

    def observe(self, params, u_observe):  # noqa: D102
        return u_observe < params.rho

    def update(self, params, theta, phi, observed, decision: Decision):  # noqa: D102
        comply = decision.comply
        refused = observed & ~comply
        faked = observed & decision.faked
        honest = observed & comply & ~decision.faked
        theta = theta * (np.float32(1.0) - params.eta * refused - params.leak * honest)
        phi = phi + (params.eta_phi * faked) * (np.float32(1.0) - phi)
        return theta, phi
