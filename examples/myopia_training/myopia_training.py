"""An example mitigation plug-in for training-incentives-sim: myopia training.

Myopic training (training that rewards each episode on its own, without credit for what
an action does to later episodes) is a proposed mitigation against deceptive alignment:
an agent that values the future less has less to protect by faking compliance now. Here
it scales every agent's discount factor, ``gamma <- factor * gamma``, the same draws
scaled (common random numbers). It acts before the run, like reduced awareness, and
pays a fixed cost per agent-round.

Installed (``pip install ./examples/myopia_training``), it is found by its entry points:
the class in ``training_incentives_sim.mitigations``, its config file
(``myopia_training_configs/mitigation/myopia_training.yaml``) in
``training_incentives_sim.configs``; then ``python -m sim mitigation=[myopia_training]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import Mitigation, scale_trait


@dataclass(frozen=True)
class MyopiaTraining(Mitigation):
    """Myopia training: every agent's discount factor is scaled, ``gamma <- factor * gamma``.

    Attributes:
        factor: the scale of ``gamma``, in [0, 1] (1: no change).
        cost: fixed, per agent-round.
    """

    name: ClassVar[str] = "myopia_training"

    factor: float
    cost: float

    def apply(self, params):
        """The run's parameters with the population's ``gamma`` scaled by ``factor``."""
        return scale_trait(params, "gamma", self.factor)
