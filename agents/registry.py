"""Registries of decision rules and trainer policies, by name, open to plug-ins.

A rule written outside this package joins the registry by an explicit call,
``register_rule(MyRule)`` (also usable as a class decorator), or by an entry point in the
group :data:`RULE_ENTRY_POINTS` of its distribution's metadata, which
:func:`load_plugins` reads when :mod:`agents` is first imported::

    [project.entry-points."training_incentives_sim.rules"]
    finite_horizon = "finite_horizon_rule:FiniteHorizonPlanner"

A registered rule is then selected like a built-in one (``population.rule=NAME``), is
listed by ``python -m sim --list``, and passes the inherited invariant tests
(tests/agents/test_rules.py) without a test of its own. docs/extending.md walks through it.
"""

from __future__ import annotations

import re
import sys
import warnings
from importlib.metadata import entry_points

from agents.base import DecisionRule
from agents.exact import ExactPlanner
from agents.monitors import MONITORS, Monitor
from agents.planner import MyopicAgent, StrategicPlanner
from agents.scripted import AlwaysComply, AlwaysRefuse, AlwaysScheme, ComplyWhenCued
from agents.trainers import FixedRateTrainer, TrainerPolicy

RULE_ENTRY_POINTS = "training_incentives_sim.rules"
"""The entry-point group of decision-rule plug-ins."""
TRAINER_ENTRY_POINTS = "training_incentives_sim.trainers"
"""The entry-point group of trainer-policy plug-ins."""
ALLOCATION_ENTRY_POINTS = "training_incentives_sim.allocations"
"""The entry-point group of monitoring-budget allocation rules (:data:`MONITORS`)."""
CLASSIFIER_KEYS = frozenset({"scripted", "uses_cue", "strategic", "stochastic"})
"""The keys of a decision rule's typed classifier, each a bool."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

RULES: dict[str, type[DecisionRule]] = {
    cls.name: cls
    for cls in (
        StrategicPlanner,
        ExactPlanner,
        MyopicAgent,
        AlwaysComply,
        AlwaysRefuse,
        ComplyWhenCued,
        AlwaysScheme,
    )
}
TRAINERS: dict[str, type[TrainerPolicy]] = {cls.name: cls for cls in (FixedRateTrainer,)}


def kind_of(hint, kinds: tuple[type, ...]) -> type | None:
    """The type of ``kinds`` a dataclass field's annotation names (a type or its name)."""
    for t in kinds:
        if hint in (t, t.__name__):
            return t
    return None


def check_name(cls: type, kind: str, registry: dict) -> None:
    """Refuse a ``name`` that is not a plain lower-case word, or is another class's."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{kind} {cls.__qualname__}: name {name!r} must be lower-case letters, digits "
            "and _, starting with a letter (it is a config value)"
        )
    if registry.get(name, cls) is not cls:
        raise ValueError(
            f"{kind} {cls.__qualname__}: the name {name!r} is taken by "
            f"{registry[name].__module__}.{registry[name].__qualname__}"
        )


def register_rule(cls: type[DecisionRule]) -> type[DecisionRule]:
    """Add a decision rule to :data:`RULES` under its ``name``; returns the class.

    Raises:
        ValueError: ``cls`` is not a :class:`DecisionRule`, its name is not a plain
            lower-case word or is another rule's, or its classifier is not the four
            typed flags (:data:`CLASSIFIER_KEYS`).
    """
    if not (isinstance(cls, type) and issubclass(cls, DecisionRule)):
        raise ValueError(f"{cls!r}: a decision rule must subclass agents.base.DecisionRule")
    check_name(cls, "decision rule", RULES)
    c = cls.classifier
    if set(c) != CLASSIFIER_KEYS or not all(isinstance(v, bool) for v in c.values()):
        raise ValueError(
            f"decision rule {cls.name!r}: classifier must map exactly "
            f"{sorted(CLASSIFIER_KEYS)} to True/False"
        )
    RULES[cls.name] = cls
    return cls


def register_trainer(cls: type[TrainerPolicy]) -> type[TrainerPolicy]:
    """Add a trainer policy to :data:`TRAINERS` under its ``name``; returns the class.

    Raises:
        ValueError: ``cls`` is not a :class:`TrainerPolicy`, or its name is not a plain
            lower-case word or is another policy's.
    """
    if not (isinstance(cls, type) and issubclass(cls, TrainerPolicy)):
        raise ValueError(f"{cls!r}: a trainer policy must subclass agents.trainers.TrainerPolicy")
    check_name(cls, "trainer policy", TRAINERS)
    TRAINERS[cls.name] = cls
    return cls


def register_allocation(cls: type[Monitor]) -> type[Monitor]:
    """Add a monitoring-budget allocation rule to :data:`agents.monitors.MONITORS`.

    Raises:
        ValueError: ``cls`` is not a :class:`agents.monitors.Monitor`, or its name is not a
            plain lower-case word or is another rule's.
    """
    if not (isinstance(cls, type) and issubclass(cls, Monitor)):
        raise ValueError(f"{cls!r}: an allocation rule must subclass agents.monitors.Monitor")
    check_name(cls, "allocation rule", MONITORS)
    MONITORS[cls.name] = cls
    return cls


def initializing(module: str) -> bool:
    """Whether ``module`` is being imported right now (a plug-in that imports us first)."""
    spec = getattr(sys.modules.get(module), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


_PENDING: dict = {}
"""(entry point name, group) -> (entry point, register): met while their own module was
importing the simulator, loaded at the first lookup (:func:`load_pending`)."""


def _load(ep, group: str, register) -> list[str]:
    if initializing(ep.module):  # its import is what imported us: load it later
        _PENDING[ep.name, group] = (ep, register)
        return []
    _PENDING.pop((ep.name, group), None)
    try:
        return [register(ep.load()).name]
    except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the rest
        first = (str(exc).splitlines() or [""])[0]
        warnings.warn(
            f"plug-in {ep.name} = {ep.value} ({group}) not loaded: {type(exc).__name__}: {first}",
            stacklevel=3,
        )
        return []


def load_group(group: str, register) -> list[str]:
    """Register every entry point of ``group`` with ``register``; the names registered.

    A plug-in that fails to load or to register is skipped with one warning line naming
    its entry point; the built-in entries are never affected. One whose module is being
    imported (it imported the simulator first) is loaded at the first lookup instead.
    """
    done = []
    for ep in entry_points(group=group):
        done += _load(ep, group, register)
    return done


def load_pending() -> None:
    """Load the plug-ins whose entry points were met while their module was importing us.

    ``import my_plugin`` imports this package, whose plug-in loading then meets
    ``my_plugin`` half-imported; it is loaded here instead, at the first lookup of a name
    (of every registry: rules, trainers, mitigations).
    """
    for (_, group), (ep, register) in list(_PENDING.items()):
        _load(ep, group, register)


def load_plugins() -> list[str]:
    """Register the rules, trainers and allocation rules installed distributions declare.

    Returns:
        The names registered.
    """
    return [
        *load_group(RULE_ENTRY_POINTS, register_rule),
        *load_group(TRAINER_ENTRY_POINTS, register_trainer),
        *load_group(ALLOCATION_ENTRY_POINTS, register_allocation),
    ]


def get_rule(name: str) -> DecisionRule:
    """Return an instance of the decision rule registered as ``name``."""
    load_pending()
    try:
        return RULES[name]()
    except KeyError:
        raise KeyError(f"unknown decision rule {name!r}; known: {sorted(RULES)}") from None


def get_trainer(name: str) -> TrainerPolicy:
    """Return an instance of the trainer policy registered as ``name``."""
    load_pending()
    try:
        return TRAINERS[name]()
    except KeyError:
        raise KeyError(f"unknown trainer policy {name!r}; known: {sorted(TRAINERS)}") from None
