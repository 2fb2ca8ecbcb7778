"""Which config keys a grid sweeps, and how its points split into runs.

Every leaf of the resolved config under the run's sections can be an axis of
``sweep.grid`` (docs/sweeps.md): numbers (a list, ``linspace``, ``logspace``, ``range``),
integers where the key holds one, and, for keys holding a string or a boolean, a list of
them (a categorical axis: ``population.rule: [strategic, exact]``). The engine *stacks*
points that differ only in :data:`STACKED` keys (the traits, the prior, the trainer's
rates and the random audits' rate, penalty and retraining, of a run the engine can
stack: one run of ``points x replicates`` rows); every other
axis *groups* the points: each distinct combination of its values is its own set of runs,
in the same process, with the same folder. Either way every point is its single run at
the same seed, bit for bit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import ConfigError
from sim.population import FLOAT32_MAX
from sim.state import TRAIT_NAMES

MAX_POINTS = 1_000_000
_CALL = re.compile(r"^\s*(linspace|logspace|range)\s*\((.*)\)\s*$")

STACKED = (
    *(f"population.{t}" for t in TRAIT_NAMES),
    "population.prior",
    *(f"trainer.{k}" for k in ("rho", "fidelity", "eta", "eta_phi", "eta_leak")),
    *(f"mitigation.random_audits.{k}" for k in ("rate", "penalty", "retrain")),
)
"""The keys the engine stacks as rows of one run (the rest group the points)."""
SECTIONS = ("population", "trainer", "episodes", "phases", "mitigation", "selection")
"""The config sections whose leaves can be axes (with ``seed``, ``replicates``, ``n_agents``)."""
TOP = ("seed", "replicates", "n_agents")
GROUPS = ("scenario", "profile", "nudge", "experiment")
"""Config groups: they compose a config, so they are swept with a multirun."""
MITIGATION = "mitigation"
"""The axis of mitigation sets: ``sweep.grid.mitigation: [none, random_audits, ...]``.

A categorical axis over the config group ``mitigation``: the run's config is composed once
with every set's mitigations (:func:`sim.config_overrides.normalize_overrides` adds their
union to the command line) and each point keeps its own set's (:func:`with_values`), the
config its single run ``mitigation=[...]`` composes. A set is written as its label
(``none``, a name, names joined by ``+``) or as a list of names; the grid's tables name it
by its label.
"""


@dataclass(frozen=True)
class Axis:
    """One axis of a grid.

    Attributes:
        key: the dotted config key.
        values: its values, in order (numbers, or strings and booleans for a categorical axis).
        stacked: whether the engine stacks its points as rows of one run.
    """

    key: str
    values: tuple
    stacked: bool


def _number(key: str, text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ConfigError(f"{key}: {text.strip()!r} is not a number") from None
    if not math.isfinite(x):
        raise ConfigError(f"{key}: {text.strip()!r} is not a finite number")
    return x


def _count(key: str, n: float) -> int:
    """An axis's number of values, refused past :data:`MAX_POINTS` before any is made."""
    if n > MAX_POINTS:
        raise ConfigError(f"{key}: {n:,.0f} values, more than {MAX_POINTS:,} on one axis")
    return int(n)


def _tidy(x: float) -> float:
    """``0.06000000000000001`` -> ``0.06``: the value a user would type for the same point."""
    return float(f"{float(x):.12g}")


def parse_values(key: str, spec: Any) -> tuple[float, ...]:
    """The values of one axis: a number, a list, or a ``linspace``/``logspace``/``range`` call.

    ``linspace(a,b,n)`` and ``logspace(a,b,n)`` (``10**a .. 10**b``) are numpy's;
    ``range(start,stop,step)`` excludes ``stop``, like Hydra's ``range`` sweep.

    Raises:
        ConfigError: one line naming ``key``.
    """
    if isinstance(spec, bool):
        raise ConfigError(f"{key}={spec!r} must be numbers, a list, or linspace/logspace/range")
    if isinstance(spec, int | float):
        return (_tidy(spec),)
    if isinstance(spec, list | tuple):
        if not spec:
            raise ConfigError(f"{key}: the list of values is empty")
        out = []
        for v in spec:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"{key}: {v!r} is not a number")
            out.append(_tidy(v))
        return tuple(out)
    m = _CALL.match(str(spec))
    if m is None:
        raise ConfigError(
            f"{key}={spec!r} must be numbers, a list, linspace(a,b,n), logspace(a,b,n) "
            "or range(start,stop,step)"
        )
    name, args = m.group(1), [a for a in m.group(2).split(",") if a.strip()]
    nums = [_number(key, a) for a in args]
    if name in ("linspace", "logspace"):
        if len(nums) != 3 or nums[2] < 1 or nums[2] != int(nums[2]):
            raise ConfigError(f"{key}: {name}(a,b,n) needs two numbers and an integer n >= 1")
        n = _count(key, nums[2])
        if name == "logspace" and max(nums[0], nums[1]) > math.log10(FLOAT32_MAX):
            raise ConfigError(
                f"{key}: logspace up to 10**{max(nums[0], nums[1]):g} is past float32's "
                f"{FLOAT32_MAX:.3g} (the core computes in float32)"
            )
        fn = np.linspace if name == "linspace" else np.logspace
        return tuple(_tidy(v) for v in fn(nums[0], nums[1], n))
    if len(nums) not in (2, 3) or (len(nums) == 3 and nums[2] == 0):
        raise ConfigError(f"{key}: range(start,stop[,step]) needs a non-zero step")
    start, stop, step = (*nums, 1.0) if len(nums) == 2 else nums
    n = _count(key, np.ceil(round((stop - start) / step, 9)))
    if n < 1:
        raise ConfigError(f"{key}: range({start:g},{stop:g},{step:g}) is empty")
    return tuple(_tidy(start + i * step) for i in range(n))


def leaf(base: Mapping[str, Any], key: str):
    """The value at ``key`` in the resolved config ``base``.

    Raises:
        ConfigError: one line naming the ``sweep.grid`` key that is not a leaf of the run's
            config (a config group, a section, a list, or not there).
    """
    name = f"sweep.grid.{key}"
    parts = key.split(".")
    if parts[0] in GROUPS:
        raise ConfigError(
            f"{name}: {parts[0]} is a config group (it composes the config): sweep it with a "
            "multirun (-m)"
        )
    if parts[0] not in SECTIONS and key not in TOP:
        raise ConfigError(
            f"{name}: not a grid axis (axes: {', '.join(TOP)} and the keys under "
            f"{', '.join(SECTIONS)})"
        )
    node: Any = base
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(parts[:i]) or "the config"
            hint = (
                " (is the mitigation in the run's mitigation list?)"
                if parts[0] == "mitigation"
                else ""
            )
            raise ConfigError(f"{name}: {where} has no key {part!r}{hint}")
        node = node[part]
    if isinstance(node, Mapping):
        raise ConfigError(f"{name}: a section, not a value: give one of its keys")
    if isinstance(node, list) and key not in STACKED:
        raise ConfigError(f"{name}: holds a list; only single values can be swept")
    return node


def categorical_values(key: str, spec: Any, base_value) -> tuple:
    """The values of an axis over a string or boolean key: one value or a list of them."""
    name = f"sweep.grid.{key}"
    kind = bool if isinstance(base_value, bool) else str
    values = spec if isinstance(spec, list | tuple) else [spec]
    if not values:
        raise ConfigError(f"{name}: the list of values is empty")
    for v in values:
        if not isinstance(v, kind):
            what = "true or false" if kind is bool else "strings"
            raise ConfigError(f"{name}: {v!r} is not one of the key's kind of values ({what})")
    return tuple(values)


def set_names(label: str) -> tuple[str, ...]:
    """The mitigations of a set's label (``"none"``: none; ``"a+b"``: a, then b)."""
    return () if label == "none" else tuple(label.split("+"))


def mitigation_sets(spec: Any) -> tuple[str, ...]:
    """The labels of a mitigation-set axis (a label or a list of names per value).

    Raises:
        ConfigError: one line naming ``sweep.grid.mitigation`` and the value that is not a
            set of distinct mitigation names.
    """
    name = f"sweep.grid.{MITIGATION}"
    values = spec if isinstance(spec, list | tuple) else [spec]
    if not values:
        raise ConfigError(f"{name}: the list of values is empty")
    labels = []
    for v in values:
        if isinstance(v, list | tuple):
            names = tuple(v)
        elif isinstance(v, str) and v:
            names = set_names(v)
        else:
            names = (None,)
        if not all(isinstance(n, str) and n and n != "none" and "+" not in n for n in names):
            raise ConfigError(
                f"{name}: {v!r} is not a mitigation set (none, a name, names joined by '+', "
                "or a list of names)"
            )
        if len(set(names)) != len(names):
            raise ConfigError(f"{name}: {v!r} lists a mitigation twice")
        labels.append("+".join(names) or "none")
    return tuple(labels)


def set_union(labels: tuple[str, ...]) -> list[str]:
    """Every mitigation of the sets, in the order they first appear."""
    return list(dict.fromkeys(n for label in labels for n in set_names(label)))


def mitigation_axis(spec: Any, base: Mapping[str, Any]) -> tuple[str, ...]:
    """A mitigation-set axis, each set's mitigations checked to be in the composed config."""
    labels = mitigation_sets(spec)
    for label in labels:
        for m in set_names(label):
            if m not in (base.get(MITIGATION) or {}):
                raise ConfigError(
                    f"sweep.grid.mitigation: {m!r} (in {label!r}) is not in the run's "
                    "mitigation list: a sweep.grid given in a preset must list every set's "
                    "mitigations in its mitigation defaults"
                )
    return labels


def check_sets(axes: Mapping[str, tuple]) -> None:
    """A mitigation's parameter as an axis needs the mitigation in every set of the grid.

    Raises:
        ConfigError: one line naming the axis and a set without its mitigation.
    """
    for key in axes:
        parts = key.split(".")
        if MITIGATION in axes and parts[0] == MITIGATION and len(parts) > 2:
            without = [s for s in axes[MITIGATION] if parts[1] not in set_names(s)]
            if without:
                raise ConfigError(
                    f"sweep.grid.{key}: {parts[1]} is not in the mitigation set {without[0]!r} "
                    "of sweep.grid.mitigation (a mitigation's axis needs it in every set)"
                )


def integer_values(key: str, values: tuple[float, ...]) -> tuple[int, ...]:
    """An axis over an integer key: every value must be a whole number."""
    for v in values:
        if v != int(v):
            raise ConfigError(f"sweep.grid.{key}: {v:g} is not an integer (the key holds one)")
    return tuple(int(v) for v in values)


def with_values(cfg: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` with each dotted key of ``point`` set (copies only the sections it touches).

    A mitigation set (``point["mitigation"]``, a label) keeps that set's entries of
    ``cfg["mitigation"]``, in the set's order.
    """
    out = dict(cfg)
    if MITIGATION in point:  # the point's set first: its mitigations' own axes then apply
        out[MITIGATION] = {m: cfg[MITIGATION][m] for m in set_names(point[MITIGATION])}
    for key, value in point.items():
        if key == MITIGATION:
            continue
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node[part] = dict(node[part])
            node = node[part]
        node[parts[-1]] = value
    return out


def split(point: Mapping[str, Any], stacked: set[str]) -> tuple[tuple, dict, dict]:
    """A point's group (its grouping values, hashable), grouping part and stacked part."""
    group = {k: v for k, v in point.items() if k not in stacked}
    return tuple(group.items()), group, {k: v for k, v in point.items() if k in stacked}
