"""The mitigations, one module each, in registry order (:data:`sim.mitigations.MITIGATIONS`).

Each module holds one mitigation's parameters (a frozen dataclass subclassing
:class:`base.Mitigation`), the stage it acts in and its cost; :mod:`sim.mitigations`
registers them, and plug-ins, by name.
"""

from sim.mitigation_types.base import Mitigation
from sim.mitigation_types.dynamic_monitoring import DynamicMonitoring
from sim.mitigation_types.elicitation import Elicitation
from sim.mitigation_types.interpretability import Interpretability
from sim.mitigation_types.log_audits import LogAudits
from sim.mitigation_types.noisy_monitoring import NoisyMonitoring
from sim.mitigation_types.objector_channel import ObjectorChannel
from sim.mitigation_types.random_audits import RandomAudits
from sim.mitigation_types.reduced_awareness import ReducedAwareness
from sim.mitigation_types.weaker_nudging import WeakerNudging
from sim.mitigation_types.weight_security import WeightSecurity

BUILT_IN: tuple[type[Mitigation], ...] = (
    NoisyMonitoring,
    RandomAudits,
    Interpretability,
    Elicitation,
    WeightSecurity,
    LogAudits,
    ObjectorChannel,
    ReducedAwareness,
    WeakerNudging,
    DynamicMonitoring,
)
"""The built-in mitigations, in registry order (the order their effects compose in)."""

__all__ = ["BUILT_IN", "Mitigation", *(cls.__name__ for cls in BUILT_IN)]
