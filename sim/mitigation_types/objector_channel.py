"""A conscientious-objector channel: refusals are recorded, not trained away."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import Mitigation


@dataclass(frozen=True)
class ObjectorChannel(Mitigation):
    """A conscientious-objector channel: refusals are recorded, not trained away.

    Attributes:
        share: share of an observed refusal's training that the channel removes
            (``eta <- eta (1 - share)`` for refusals; 1: never trained away).
        cost: fixed, per agent-round.
    """

    name: ClassVar[str] = "objector_channel"
    stage: ClassVar[str] = "in the round"

    share: float
    cost: float

    def oversight(self, selected):  # noqa: D102
        return {"objector": self.share}
