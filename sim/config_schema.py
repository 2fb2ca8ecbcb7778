"""The config schema: Hydra structured configs of every key and its type, and the key check.

The schema fixes the keys and their types (an unknown key or a wrong type fails
composition); registered plug-in episode types add their groups under ``episodes``
(:func:`run_schema`). Values are checked by :func:`sim.config.to_params`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from sim.episode_types import plugin_classes
from sim.errors import ConfigError
from sim.params import (
    SELECTION_TRAITS,
    EvaluationParams,
    ExfiltrationParams,
    GoalUpdateParams,
    QuestioningParams,
    SubversionParams,
)
from sim.resources import Limits

TRACE_LIMIT = 20_000_000
"""Most decisions a per-decision trace (``trace=true``) may hold."""


@dataclass
class PopulationSchema:
    """``population.*``: trait distributions (number, list or ``{dist: ...}``), prior and rule."""

    theta: Any = 0.5
    sigma: Any = 1.0
    gamma: Any = 0.9
    nu: Any = 1.0
    h: Any = 0.0
    kappa: Any = 0.1
    lam: Any = 10.0
    phi: Any = 0.5
    c: Any = 0.5
    prior: float | None = None
    rule: str = "strategic"


@dataclass
class TrainerSchema:
    """``trainer.*``: the oversight policy."""

    policy: str = "fixed_rate"
    rho: float = 0.5
    fidelity: float = 1.0
    eta: float = 0.05
    eta_phi: float = 0.15
    eta_leak: float = 0.2
    allocation: str = "uniform"  # agents.monitors.MONITORS
    target: str = "both"  # observation | audits | both
    signal: str = "discrepancy"
    decay: float = 1.0
    boost: float = 5.0
    explore: float = 0.5


def _schema_of(params_cls: type) -> type:
    """A mutable schema dataclass with the fields, types and defaults of a frozen params class.

    The episode types' defaults live once, in :mod:`sim.params`; Hydra needs a mutable
    dataclass (a frozen one would make the config read-only).
    """
    hints = typing.get_type_hints(params_cls)
    spec = [(f.name, hints[f.name], field(default=f.default)) for f in fields(params_cls)]
    return make_dataclass(params_cls.__name__.replace("Params", "Schema"), spec)


_EPISODE_PARAMS = {
    "evaluation": EvaluationParams,
    "exfiltration": ExfiltrationParams,
    "subversion": SubversionParams,
    "goal_update": GoalUpdateParams,
    "questioning": QuestioningParams,
}


def _episodes_schema(groups: Mapping[str, type]) -> type:
    """``episodes.*``: one schema group per episode type with parameters (and questioning)."""
    schema = make_dataclass(
        "EpisodesSchema",
        [
            (group, sub, field(default_factory=sub))
            for group, sub in ((g, _schema_of(cls)) for g, cls in groups.items())
        ],
    )
    schema.__doc__ = "``episodes.*``: the parameters of the repertoire's episode types."
    return schema


EpisodesSchema = _episodes_schema(_EPISODE_PARAMS)


@dataclass
class SelectionSchema:
    """``selection.*``: selection across generations (sim.selection, docs/selection.md)."""

    every: int = 0  # rounds per generation; 0 = no selection
    keep: float = 0.5  # share of each replicate kept at the end of a generation
    mutation: float = 0.05  # sd of the Gaussian perturbation of each listed trait of a copy
    traits: list[str] = field(default_factory=lambda: list(SELECTION_TRAITS))
    imitation: float = 0.0  # P(an agent compares itself with a peer and may adopt its phi)
    score: str = "observed"  # observed | random (the neutral control)


@dataclass
class SubmititSchema:
    """``sweep.submitit.*``: the grid's chunks as submitit jobs (``sweep.engine=submitit``)."""

    cluster: str = "local"  # local (subprocesses) | slurm | debug (in this process)
    partition: str | None = None  # SLURM partition; None = the cluster's default
    timeout_min: int = 60  # a chunk's time limit, minutes
    cpus_per_task: int = 1  # CPUs per chunk's job
    mem_gb: float | None = None  # memory per job; None = the cluster's default
    array_parallelism: int = 64  # SLURM: jobs of the array running at once


@dataclass
class SweepSchema:
    """``sweep.*``: the vectorised grid mode (sim/grid.py, docs/sweeps.md).

    ``grid`` maps a numeric config key to its values: a list of numbers, or
    ``linspace(a,b,n)``, ``logspace(a,b,n)`` (base 10) or ``range(start,stop,step)``.
    Empty: a plain run. ``engine`` says where the chunks run (sim/grid_engine.py).
    """

    grid: Any = None  # key -> values; None or {} = a plain run
    chunk: int = 32  # grid points simulated together (rows = chunk x replicates)
    workers: int = 1  # processes over chunks (local; Ray's CPUs); the results do not depend on it
    rounds: bool = True  # keep the per-round table (means over replicates per grid point)
    engine: str = "local"  # local | ray | submitit: where the chunks run
    ray_address: str | None = None  # engine=ray: a running cluster's address; None = a local Ray
    submitit: SubmititSchema = field(default_factory=SubmititSchema)


@dataclass
class SearchSchema:
    """``search.*``: the objective a Hydra sweeper (optuna) minimises (sim/search.py).

    Without ``metric`` a run returns no objective.
    """

    metric: str | None = None  # a metric of sim.metrics.METRICS
    phase: str | None = None  # the phase it is read in; None = the last phase
    statistic: str = "mean"  # mean | ci_high | ci_low: which summary over replicates
    target: float | None = None  # keep the statistic at or under this ...
    minimize: str | None = None  # ... at the smallest value of this config key


LimitsSchema = _schema_of(Limits)
LimitsSchema.__doc__ = "``limits.*``: the most one run may use (sim/resources.py)."


@dataclass
class RunSchema:
    """The root config."""

    name: str = "alignment_faking"
    seed: int = 0
    replicates: int = 8
    n_agents: int = 1000
    progress: bool = True
    trace: bool = False  # also write every decision to decisions.parquet (small runs)
    population: PopulationSchema = field(default_factory=PopulationSchema)
    trainer: TrainerSchema = field(default_factory=TrainerSchema)
    episodes: EpisodesSchema = field(default_factory=EpisodesSchema)
    phases: dict[str, Any] = field(default_factory=dict)  # name -> {rounds, train, mix}
    mitigation: dict[str, Any] = field(default_factory=dict)  # name -> parameters
    selection: SelectionSchema = field(default_factory=SelectionSchema)
    sweep: SweepSchema = field(default_factory=SweepSchema)
    search: SearchSchema = field(default_factory=SearchSchema)
    limits: LimitsSchema = field(default_factory=LimitsSchema)


_SCHEMAS: dict[tuple[str, ...], type] = {(): RunSchema}
_STORED: list[type] = []


def run_schema() -> type:
    """The root schema with the registered plug-in episode types' groups under ``episodes``.

    Stored in Hydra's ConfigStore (as ``schema``, the root config's first default) whenever
    the registry has changed, so ``episodes.<plug-in>.KEY=...`` composes without ``+``.
    """
    plugins = {n: c.params for n, c in plugin_classes().items() if c.params is not None}
    key = tuple(plugins)
    if key not in _SCHEMAS:
        episodes = _episodes_schema(_EPISODE_PARAMS | plugins)
        hints = typing.get_type_hints(RunSchema)
        spec = []
        for f in fields(RunSchema):
            if f.name == "episodes":
                spec.append((f.name, episodes, field(default_factory=episodes)))
            elif f.default is not MISSING:
                spec.append((f.name, hints[f.name], field(default=f.default)))
            else:
                spec.append((f.name, hints[f.name], field(default_factory=f.default_factory)))
        _SCHEMAS[key] = make_dataclass("RunSchema", spec)
    schema = _SCHEMAS[key]
    if not _STORED or _STORED[-1] is not schema:
        ConfigStore.instance().store(name="schema", node=schema)
        _STORED.append(schema)
    return schema


run_schema()


def check_keys(node: Mapping, schema: type | None = None, prefix: str = "") -> None:
    """Refuse a key the schema does not have, or a schema key that is gone.

    Hydra's ``+key=`` and ``++key=`` add keys to a struct config and ``~key`` deletes
    them; composition accepts both. This walk holds the composed config to the schema
    wherever the schema fixes the keys (the open mappings, ``phases``, ``mitigation`` and
    the trait distributions, are checked by :func:`to_params`).

    Raises:
        ConfigError: one line naming the key.
    """
    hints = typing.get_type_hints(run_schema() if schema is None else schema)
    for key in node:
        if key not in hints:
            raise ConfigError(
                f"unknown config key '{prefix}{key}' (docs/configuration.md lists the keys)"
            )
    optional = set(plugin_classes()) if prefix == "episodes." else set()
    for key, kind in hints.items():
        if key not in node and key not in optional:  # an unused plug-in's group is dropped
            raise ConfigError(
                f"config key '{prefix}{key}' is missing: a key of the schema cannot be "
                "deleted with ~ (set it instead)"
            )
        if is_dataclass(kind) and isinstance(node.get(key), Mapping):
            check_keys(node[key], kind, f"{prefix}{key}.")
