"""Reduced situational awareness: situational information only implicitly available."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import Mitigation, scale_trait


@dataclass(frozen=True)
class ReducedAwareness(Mitigation):
    """Situational information only implicitly available: ``sigma <- factor * sigma``.

    The same draws, scaled (common random numbers).
    """

    name: ClassVar[str] = "reduced_awareness"

    factor: float
    cost: float

    def apply(self, params):  # noqa: D102
        return scale_trait(params, "sigma", self.factor)
