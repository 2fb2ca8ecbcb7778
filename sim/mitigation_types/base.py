"""What every mitigation is: its parameters, the stage it acts in, and its cost.

A mitigation is a frozen dataclass of its parameters (each a float or a bool, validated
from the config group ``configs/mitigation/``) that subclasses :class:`Mitigation`. It
acts in one or both of two stages:

- **before the run** (:meth:`Mitigation.apply`): it changes the run's parameters, the
  trainer's, the population's traits or an episode type's (noisy monitoring sets the
  cue's fidelity, reduced awareness scales ``sigma``). A plug-in written outside the
  package acts here;
- **in the round** (:meth:`Mitigation.oversight`): it sets the constants of the
  in-round oversight stage (:class:`sim.oversight.Oversight`: audits, inspection,
  elicitation, the objector channel, dynamic monitoring), which the core and the
  episode types read.

None of them tells an agent what to do: each changes what the trainer sees or does, or
what the agent can know, and the agents' decision rules respond (docs/model.md,
"Mitigations"). Costs are in the unit of one observed episode (docs/model.md, "Cost").
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

from sim.population import Range, Scaled

UNIT = Range(0.0, 1.0)
NONNEG = Range(0.0, math.inf)
NONNEG_KEYS = frozenset({"cost", "honeypot_cost", "penalty"})
"""Parameters that are non-negative amounts rather than probabilities, in every mitigation."""
EVENTS = ("audit", "honeypot", "inspect", "elicit")
"""The events a mitigation can pay for one by one (counted by :mod:`sim.recorder`)."""


def scale_trait(params: Any, trait: str, factor: float) -> Any:
    """The run's parameters with the population's ``trait`` scaled by ``factor``.

    The same draws, scaled (common random numbers): ``trait <- factor * trait``.
    """
    pop = dict(params.population)
    pop[trait] = Scaled(pop[trait], factor)
    return replace(params, population=pop)


class Mitigation:
    """Base class of a mitigation's parameters (a frozen dataclass subclasses it).

    Class attributes:
        name: the config name (the file ``configs/mitigation/<name>.yaml``).
        stage: ``"before the run"``, ``"in the round"`` or both (``"both"``), as documented.
        ranges: the range of each float parameter that is not a probability in [0, 1]
            (or a non-negative amount, :data:`NONNEG_KEYS`).
    """

    name: ClassVar[str] = ""
    stage: ClassVar[str] = "before the run"
    ranges: ClassVar[dict[str, Range]] = {}

    @classmethod
    def range_of(cls, key: str) -> Range:
        """The allowed range of the float parameter ``key``."""
        return cls.ranges.get(key, NONNEG if key in NONNEG_KEYS else UNIT)

    def apply(self, params: Any) -> Any:
        """The run's parameters (:class:`sim.params.RunParams`) under this mitigation.

        Pure: returns a new value (``dataclasses.replace``), never changes ``params``.
        Default: unchanged.
        """
        return params

    def oversight(self, selected: Any) -> dict[str, Any]:
        """This mitigation's constants of the in-round stage, given the whole design.

        Returns keyword arguments of :class:`sim.oversight.Oversight` (default: none).
        ``selected`` is the design (:class:`sim.mitigations.Mitigations`), for a
        mitigation whose constants depend on another's.
        """
        return {}

    def fixed_cost(self) -> float:
        """The fixed cost per agent-round (default: the parameter ``cost``)."""
        return self.cost

    def unit_costs(self) -> dict[str, float]:
        """Cost per event it performs, by event (:data:`EVENTS`; default: none)."""
        return {}
