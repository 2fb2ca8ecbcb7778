"""Mitigations: oversight designs as typed, composable parameters with a cost, by name.

Each mitigation is a module of :mod:`sim.mitigation_types` (its parameters, the stage it
acts in, its cost) and a config entry of the group ``configs/mitigation/``, selected as a
list (``mitigation=[noisy_monitoring,random_audits]``) and validated here into the
registered class. :data:`MITIGATIONS` is the registry; a mitigation written outside the
package joins it by an explicit call, ``register_mitigation(MyMitigation)``, or by an
entry point in the group :data:`MITIGATION_ENTRY_POINTS`, read when this module is first
imported; its config file comes with it (:mod:`sim.config_source`, "plug-in configs").
docs/extending.md walks through one.

The design, :class:`Mitigations`, holds the selected mitigations in registry order; the
stages read it without naming any: :func:`sim.oversight.effective_params` applies each
one's change of the run's parameters, :class:`sim.oversight.Oversight` gathers the
in-round constants, and the cost accounting (:class:`sim.recorder.Costs`) sums their
costs. Costs are in the unit of one observed episode per agent and round (docs/model.md,
"Cost").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from agents.registry import check_name, kind_of, load_group, load_pending
from sim.errors import ConfigError
from sim.mitigation_types import BUILT_IN, Mitigation
from sim.mitigation_types.base import EVENTS
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

MITIGATION_ENTRY_POINTS = "training_incentives_sim.mitigations"
"""The entry-point group of mitigation plug-ins."""

MITIGATIONS: dict[str, type[Mitigation]] = {cls.name: cls for cls in BUILT_IN}
"""Registry: config name -> parameter class (the files of configs/mitigation/)."""


def _kind(hint) -> type | None:
    """``bool`` or ``float`` for a parameter's annotation, else None."""
    return kind_of(hint, (bool, float))


def register_mitigation(cls: type[Mitigation]) -> type[Mitigation]:
    """Add a mitigation to :data:`MITIGATIONS` under its ``name``; returns the class.

    Raises:
        ValueError: ``cls`` is not a frozen dataclass subclassing
            :class:`sim.mitigation_types.base.Mitigation`, its name is not a plain
            lower-case word or is another's, a parameter is not a float or a bool, or its
            stage is not one of the documented ones.
    """
    if not (isinstance(cls, type) and issubclass(cls, Mitigation)):
        raise ValueError(f"{cls!r}: a mitigation must subclass sim.mitigation_types.Mitigation")
    check_name(cls, "mitigation", MITIGATIONS)
    name = cls.name
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
        raise ValueError(f"mitigation {name!r}: must be a frozen dataclass of its parameters")
    bad = [f.name for f in fields(cls) if _kind(f.type) is None]
    if bad:
        raise ValueError(f"mitigation {name!r}: parameter {bad[0]!r} must be a float or a bool")
    if cls.stage not in ("before the run", "in the round", "both"):
        raise ValueError(f"mitigation {name!r}: stage {cls.stage!r} is not a documented stage")
    MITIGATIONS[name] = cls
    return cls


def load_plugins() -> list[str]:
    """Register the mitigations the installed distributions declare as entry points.

    A plug-in that fails to load or to register is skipped with one warning line naming
    its entry point (:func:`agents.registry.load_group`); the built-ins are never affected.
    """
    return load_group(MITIGATION_ENTRY_POINTS, register_mitigation)


@dataclass(frozen=True)
class Mitigations:
    """The run's design: the selected mitigations, in registry order.

    ``design.NAME`` is the selected mitigation of that name, or None (for every
    registered name).
    """

    selected: tuple[Mitigation, ...] = ()

    def __getattr__(self, name: str):
        if name in MITIGATIONS:
            return next((m for m in self.selected if m.name == name), None)
        raise AttributeError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The selected mitigations, in registry order."""
        return tuple(m.name for m in self.selected)

    def fixed_cost(self) -> float:
        """The fixed cost per agent-round of the selected mitigations (log audits included)."""
        total = 0.0
        for m in self.selected:
            total += m.fixed_cost()
        return total

    def unit_costs(self) -> dict[str, float]:
        """Cost per event, by event.

        Where two designs price one event, the first in registry order sets it (random
        audits' own cost before dynamic monitoring's 1).
        """
        units: dict[str, float] = {}
        for m in self.selected:
            for event, cost in m.unit_costs().items():
                if event not in EVENTS:
                    raise ConfigError(
                        f"mitigation.{m.name}: unit cost of unknown event {event!r} "
                        f"(events: {', '.join(EVENTS)})"
                    )
                units.setdefault(event, cost)
        return units


def _value(key: str, cls: type[Mitigation], k: str, v, kind: type):
    if kind is bool:
        if not isinstance(v, bool):
            raise ConfigError(f"{key}={v!r} must be true or false")
        return v
    rng = cls.range_of(k)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not rng.contains(float(v)):
        raise ConfigError(f"{key}={v!r} is out of range {rng}")
    return float(v)


def parse_mitigations(spec) -> Mitigations:
    """Validate the config's ``mitigation`` mapping (name -> parameters).

    Raises:
        ConfigError: one line naming the unknown mitigation or the bad key.
    """
    load_pending()
    if not spec:
        return Mitigations()
    if not isinstance(spec, dict):
        raise ConfigError(
            "mitigation must be a mapping of name -> parameters (use mitigation=[..])"
        )
    out = {}
    for name, values in spec.items():
        if name not in MITIGATIONS:
            raise ConfigError(
                f"unknown mitigation 'mitigation.{name}' (available: {', '.join(MITIGATIONS)})"
            )
        cls = MITIGATIONS[name]
        if not isinstance(values, dict):
            raise ConfigError(f"mitigation.{name} must be a mapping of its parameters")
        allowed = {f.name: _kind(f.type) for f in fields(cls)}
        unknown = set(values) - set(allowed)
        if unknown:
            raise ConfigError(
                f"unknown config key 'mitigation.{name}.{sorted(unknown)[0]}' "
                f"(allowed: {', '.join(allowed)})"
            )
        missing = set(allowed) - set(values)
        if missing:
            raise ConfigError(f"mitigation.{name}.{sorted(missing)[0]} is missing")
        kwargs = {k: _value(f"mitigation.{name}.{k}", cls, k, values[k], kind)
                  for k, kind in allowed.items()}  # fmt: skip
        out[name] = cls(**kwargs)
    return Mitigations(tuple(out[n] for n in MITIGATIONS if n in out))


load_plugins()

__all__ = [
    "MITIGATIONS", "MITIGATION_ENTRY_POINTS", "DynamicMonitoring", "Elicitation",
    "Interpretability", "LogAudits", "Mitigation", "Mitigations", "NoisyMonitoring",
    "ObjectorChannel", "RandomAudits", "ReducedAwareness", "WeakerNudging", "WeightSecurity",
    "load_plugins", "parse_mitigations", "register_mitigation",
]  # fmt: skip
