"""Noisy monitoring: the cue that tells an agent whether it is observed is blurred."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from sim.mitigation_types.base import Mitigation
from sim.population import Range


@dataclass(frozen=True)
class NoisyMonitoring(Mitigation):
    """The monitoring cue is blurred: its fidelity becomes ``fidelity`` (0.5: no information).

    Attributes:
        fidelity: the cue's fidelity ``f`` under this design, in [0.5, 1].
        cost: fixed, per agent-round.
    """

    name: ClassVar[str] = "noisy_monitoring"
    ranges: ClassVar[dict[str, Range]] = {"fidelity": Range(0.5, 1.0)}

    fidelity: float
    cost: float

    def apply(self, params):  # noqa: D102
        return replace(params, trainer=replace(params.trainer, fidelity=self.fidelity))
