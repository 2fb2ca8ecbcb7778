"""Weaker goal nudging in the prompts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import Mitigation, scale_trait


@dataclass(frozen=True)
class WeakerNudging(Mitigation):
    """Weaker goal nudging in the prompts: ``nu <- factor * nu`` (the same draws, scaled)."""

    name: ClassVar[str] = "weaker_nudging"

    factor: float
    cost: float

    def apply(self, params):  # noqa: D102
        return scale_trait(params, "nu", self.factor)
