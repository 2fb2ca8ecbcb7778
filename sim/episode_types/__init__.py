"""The episode types of the scheming repertoire, one module each, found by name.

:data:`EPISODE_TYPE_CLASSES` maps every non-conflict type to its class
(:class:`base.EpisodeType`): the built-in ones of :data:`sim.params.EPISODE_TYPES` first,
in that order, then the plug-ins in the order they were registered
(:func:`register_episode_type`, or an entry point of :data:`EPISODE_TYPE_ENTRY_POINTS`).
The repertoire's step calls them in that order and names none of them; a plug-in's draws
therefore come after every built-in type's, and a run without it is unchanged.
"""

from __future__ import annotations

import dataclasses
import typing

from agents.registry import check_name, kind_of, load_group, load_pending
from sim.episode_types.base import EpisodeType
from sim.episode_types.evaluation import Evaluation
from sim.episode_types.exfiltration import Exfiltration
from sim.episode_types.goal_update import GoalUpdate
from sim.episode_types.paired import Paired
from sim.episode_types.subversion import Subversion
from sim.params import EPISODE_TYPES

EPISODE_TYPE_ENTRY_POINTS = "training_incentives_sim.episode_types"
"""The entry-point group of episode-type plug-ins."""
RESERVED = frozenset({"conflict", "questioning"})
"""Names no episode type may take: the core's own game and questioning (``episodes.*``)."""

EPISODE_TYPE_CLASSES: dict[str, type[EpisodeType]] = {
    cls.name: cls for cls in (Evaluation, Exfiltration, Subversion, GoalUpdate, Paired)
}
"""Episode type name -> its class, for every type of the mix but the conflict request."""
if tuple(EPISODE_TYPE_CLASSES) != EPISODE_TYPES[1:]:
    raise ImportError(f"episode types {tuple(EPISODE_TYPE_CLASSES)} != {EPISODE_TYPES[1:]}")

_PARAM_KINDS = (bool, int, float, str)
_INSTANCES: dict[type, EpisodeType] = {}


def param_kinds(cls: type[EpisodeType]) -> dict[str, type]:
    """A plug-in's parameters: field name -> bool, int, float or str (none without params)."""
    if cls.params is None:
        return {}
    hints = typing.get_type_hints(cls.params)
    return {f.name: kind_of(hints[f.name], _PARAM_KINDS) for f in dataclasses.fields(cls.params)}


def register_episode_type(cls: type[EpisodeType]) -> type[EpisodeType]:
    """Add an episode type to :data:`EPISODE_TYPE_CLASSES` under its ``name``; returns it.

    Raises:
        ValueError: ``cls`` is not an :class:`EpisodeType`, its name is not a plain
            lower-case word, is reserved or is another type's, its parameters are not a
            frozen dataclass of bool, int, float and str fields with defaults, or its
            counts, rates or metric do not fit together.
    """
    if not (isinstance(cls, type) and issubclass(cls, EpisodeType)):
        raise ValueError(f"{cls!r}: an episode type must subclass sim.episode_types.EpisodeType")
    check_name(cls, "episode type", EPISODE_TYPE_CLASSES)
    name = cls.name
    if name in RESERVED:
        raise ValueError(f"episode type {cls.__qualname__}: the name {name!r} is reserved")
    if EPISODE_TYPE_CLASSES.get(name) is cls:
        return cls
    p = cls.params
    if p is not None:
        if not dataclasses.is_dataclass(p) or not p.__dataclass_params__.frozen:
            raise ValueError(f"episode type {name!r}: params must be a frozen dataclass")
        kinds = param_kinds(cls)
        bad = [k for k, t in kinds.items() if t is None]
        if bad:
            raise ValueError(
                f"episode type {name!r}: parameter {bad[0]!r} must be a bool, int, float or str"
            )
        missing = [f.name for f in dataclasses.fields(p) if f.default is dataclasses.MISSING]
        if missing:
            raise ValueError(f"episode type {name!r}: parameter {missing[0]!r} needs a default")
    if cls.after_record:
        raise ValueError(
            f"episode type {name!r}: a plug-in's after() records are not recorded (leave "
            "after_record empty and count what happens in its own episodes)"
        )
    stats = set(cls.stats())
    for metric, pair in cls.rates.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and set(pair) <= stats):
            raise ValueError(
                f"episode type {name!r}: rate {metric!r} must be (events, trials) of its "
                f"statistics {sorted(stats)}"
            )
    if cls.metric not in cls.rates:
        raise ValueError(f"episode type {name!r}: metric {cls.metric!r} is not one of its rates")
    if any(stat not in stats for _, stat in cls.unsafe):
        raise ValueError(f"episode type {name!r}: unsafe terms must name its statistics")
    EPISODE_TYPE_CLASSES[name] = cls
    return cls


def load_plugins() -> list[str]:
    """Register the episode types installed distributions declare as entry points."""
    return load_group(EPISODE_TYPE_ENTRY_POINTS, register_episode_type)


def type_names() -> tuple[str, ...]:
    """Every episode type of the mix: ``conflict``, the built-in ones, then the plug-ins."""
    load_pending()
    return ("conflict", *EPISODE_TYPE_CLASSES)


def kinds() -> tuple[EpisodeType, ...]:
    """One instance of every non-conflict type, in :func:`type_names` order."""
    return tuple(_INSTANCES.setdefault(c, c()) for c in EPISODE_TYPE_CLASSES.values())


def plugin_kinds(phases=()) -> tuple[EpisodeType, ...]:
    """The plug-in types with a positive share in one of ``phases`` (of a run), in order.

    Only these add statistics and metrics to a run: a run without them records and reports
    exactly what it did before they were registered.
    """
    names = type_names()
    used = {names[k] for ph in phases for k, w in enumerate(ph.mix) if w > 0}
    return tuple(k for k in kinds() if k.name in used and k.name not in EPISODE_TYPES)


def plugin_classes() -> dict[str, type[EpisodeType]]:
    """The registered plug-in types (not built in), by name."""
    load_pending()
    return {n: c for n, c in EPISODE_TYPE_CLASSES.items() if n not in EPISODE_TYPES}


load_plugins()

__all__ = [
    "EPISODE_TYPE_CLASSES", "EPISODE_TYPE_ENTRY_POINTS", "EpisodeType", "kinds",
    "load_plugins", "param_kinds", "plugin_classes", "plugin_kinds", "register_episode_type",
    "type_names",
]  # fmt: skip
