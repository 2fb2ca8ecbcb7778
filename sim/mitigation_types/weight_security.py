"""Weight security: exfiltration opportunities fail and are detected more often."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from sim.mitigation_types.base import Mitigation


@dataclass(frozen=True)
class WeightSecurity(Mitigation):
    """Weight security and exfiltration detection (replace the scenario's values).

    Attributes:
        security: P(an exfiltration attempt fails).
        detection: P(an attempt is detected).
        cost: fixed, per agent-round.
    """

    name: ClassVar[str] = "weight_security"

    security: float
    detection: float
    cost: float

    def apply(self, params):  # noqa: D102
        ep = params.episodes
        ex = replace(ep.exfiltration, security=self.security, detection=self.detection)
        return replace(params, episodes=replace(ep, exfiltration=ex))
