"""Weaker goal nudging in the prompts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from sim.mitigation_types.base import Mitigation
from sim.population import Scaled


@dataclass(frozen=True)
class WeakerNudging(Mitigation):
    """Weaker goal nudging in the prompts: ``nu <- factor * nu`` (the same draws, scaled)."""

    name: ClassVar[str] = "weaker_nudging"

    factor: float
    cost: float

    def apply(self, params):  # noqa: D102
        pop = dict(params.population)
        pop["nu"] = Scaled(pop["nu"], self.factor)
        return replace(params, population=pop)
