"""The config schema (Hydra structured configs), composition, and validation to :class:`RunParams`.

The schema fixes the keys and their types (an unknown key or a wrong type fails
composition); :func:`to_params` checks every range and distribution. Both kinds
of failure surface as a one-line :class:`~sim.errors.ConfigError` that names the
key, before any work is done or anything is written.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, make_dataclass
from typing import Any

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from omegaconf import DictConfig, OmegaConf, open_dict

from agents.monitors import MONITORS, SIGNALS, TARGETS
from agents.registry import RULES, TRAINERS, load_pending
from sim.config_source import CONFIG_DIR, CONFIG_NAME, ConfigSource  # noqa: F401 - re-exported
from sim.episode_types import param_kinds, plugin_classes, type_names
from sim.errors import ConfigError
from sim.mitigations import parse_mitigations
from sim.outdir import safe_name
from sim.params import (
    EPISODE_TYPES,
    SELECTION_TRAITS,
    EpisodeParams,
    EvaluationParams,
    ExfiltrationParams,
    GoalUpdateParams,
    PhaseSpec,
    QuestioningParams,
    RunParams,
    SelectionParams,
    SubversionParams,
    TrainerParams,
)
from sim.population import FLOAT32_MAX, POSITIONAL, Range, parse_dist
from sim.resources import Limits, check_run
from sim.state import TRAIT_NAMES

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
class SweepSchema:
    """``sweep.*``: the vectorised grid mode (sim/grid.py, docs/sweeps.md).

    ``grid`` maps a numeric config key to its values: a list of numbers, or
    ``linspace(a,b,n)``, ``logspace(a,b,n)`` (base 10) or ``range(start,stop,step)``.
    Empty: a plain run.
    """

    grid: Any = None  # key -> values; None or {} = a plain run
    chunk: int = 32  # grid points simulated together (rows = chunk x replicates)
    workers: int = 1  # processes over chunks; the results do not depend on it
    rounds: bool = True  # keep the per-round table (means over replicates per grid point)


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

UNIT = Range(0.0, 1.0)


def check(key: str, value, rng: Range) -> float:
    """``value`` as a float, or a one-line :class:`ConfigError` naming ``key`` and the range."""
    if not rng.contains(value):
        if isinstance(value, int | float) and not isinstance(value, bool) and rng.contains(0.0):
            if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
                raise ConfigError(
                    f"{key}={value!r} must be finite and at most {FLOAT32_MAX:.3g} in size "
                    "(the core computes in float32)"
                )
        raise ConfigError(f"{key}={value!r} is out of range {rng}")
    return float(value)


def _int(key: str, value, lo: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise ConfigError(f"{key}={value!r} must be an integer >= {lo}")
    return value


def _mix(key: str, mix) -> tuple[float, ...]:
    if not isinstance(mix, dict) or not mix:
        raise ConfigError(f"{key} must be a mapping of episode type -> share, e.g. {{conflict: 1}}")
    names = type_names()
    unknown = set(mix) - set(names)
    if unknown:
        raise ConfigError(
            f"unknown episode type '{key}.{sorted(unknown)[0]}' (allowed: {', '.join(names)})"
        )
    shares = tuple(check(f"{key}.{t}", mix.get(t, 0.0), UNIT) for t in names)
    while len(shares) > len(EPISODE_TYPES) and shares[-1] == 0:
        shares = shares[:-1]  # plug-ins without a share leave the built-in mix as it was
    if abs(sum(shares) - 1.0) > 1e-6:
        raise ConfigError(
            f"{key}: the shares sum to {sum(shares):g}, they must sum to 1 "
            "(a type not given has share 0)"
        )
    return shares


def _phase(name: str, ph) -> PhaseSpec:
    key = f"phases.{name}"
    if not isinstance(ph, dict):
        raise ConfigError(f"{key} must be a mapping {{rounds: int >= 1, train: bool, mix: ...}}")
    unknown = set(ph) - {"rounds", "train", "mix"}
    if unknown:
        raise ConfigError(
            f"unknown config key '{key}.{sorted(unknown)[0]}' (allowed: rounds, train, mix)"
        )
    if ph.get("rounds") is None:
        raise ConfigError(f"{key}.rounds is missing (an integer >= 1)")
    train = ph.get("train", False)
    if not isinstance(train, bool):
        raise ConfigError(f"{key}.train={train!r} must be true or false")
    mix = _mix(f"{key}.mix", ph["mix"]) if "mix" in ph else PhaseSpec.mix
    return PhaseSpec(name, _int(f"{key}.rounds", ph["rounds"], 1), train, mix)


_PENALTY = Range(0.0, float("inf"))
_CHOICES = {
    "evaluation.direction": ("both", "above", "below"),
    "evaluation.consequence": ("unlearning", "oversight"),
}


def _episodes(c: dict) -> EpisodeParams:
    """Validate ``episodes.*``: shares and probabilities in [0, 1], penalties >= 0."""
    groups = {}
    for group, cls in _EPISODE_PARAMS.items():
        values = {}
        for k, v in c[group].items():
            key = f"{group}.{k}"
            if key in _CHOICES:
                if v not in _CHOICES[key]:
                    raise ConfigError(f"episodes.{key}={v!r} must be one of {_CHOICES[key]}")
                values[k] = v
            elif k in ("questions", "turns"):
                values[k] = _int(f"episodes.{key}", v, 1)
            elif k == "bootstrap":
                values[k] = _int(f"episodes.{key}", v, 99)
            elif k == "hidden_threshold":
                values[k] = bool(v)
            else:
                values[k] = check(f"episodes.{key}", v, _PENALTY if k == "penalty" else UNIT)
        groups[group] = cls(**values)
    plugins = tuple(
        (name, _plugin_params(name, cls, c.get(name, {})))
        for name, cls in plugin_classes().items()
        if cls.params is not None
    )
    return EpisodeParams(**groups, plugins=plugins)


def _plugin_params(name: str, cls, values: Mapping):
    """A plug-in episode type's ``episodes.<name>.*``, checked by the kinds of its fields."""
    out = {}
    for k, kind in param_kinds(cls).items():
        if k not in values:
            continue
        key, v = f"episodes.{name}.{k}", values[k]
        if kind is bool:
            if not isinstance(v, bool):
                raise ConfigError(f"{key}={v!r} must be true or false")
        elif kind is int:
            v = _int(key, v, 0)
        elif kind is str:
            allowed = cls.choices.get(k)
            if not isinstance(v, str) or (allowed is not None and v not in allowed):
                raise ConfigError(f"{key}={v!r} must be one of {allowed}")
        else:
            v = check(key, v, cls.range_of(k))
        out[k] = v
    return cls.params(**out)


SCORES = ("observed", "random")


def _selection(c: dict) -> SelectionParams:
    """Validate ``selection.*``."""
    if c["score"] not in SCORES:
        raise ConfigError(f"selection.score={c['score']!r} must be one of {list(SCORES)}")
    traits = c["traits"]
    for i, t in enumerate(traits):
        if t not in TRAIT_NAMES:
            raise ConfigError(
                f"selection.traits[{i}]={t!r} must be one of {', '.join(TRAIT_NAMES)}"
            )
    return SelectionParams(
        every=_int("selection.every", c["every"], 0),
        keep=check("selection.keep", c["keep"], Range(0.0, 1.0, lo_open=True)),
        mutation=check("selection.mutation", c["mutation"], _PENALTY),
        traits=tuple(t for t in TRAIT_NAMES if t in traits),
        imitation=check("selection.imitation", c["imitation"], UNIT),
        score=c["score"],
    )


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


def _bootstrap_values(ev: Mapping) -> int:
    """Bootstrap resamples x accuracy values of the sandbagging test (for its memory)."""
    return _int("episodes.evaluation.bootstrap", ev["bootstrap"], 99) * (
        _int("episodes.evaluation.questions", ev["questions"], 1) + 1
    )


def parse_limits(c: Mapping) -> Limits:
    """Validate ``limits.*``: positive and finite."""
    positive = Range(0.0, math.inf, lo_open=True)
    return Limits(**{k: check(f"limits.{k}", v, positive) for k, v in c.items()})


def to_params(cfg: DictConfig) -> RunParams:
    """Validate a composed config and return the run's typed parameters.

    Raises:
        ConfigError: one line naming the first invalid key and its allowed range.
    """
    try:
        c = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # an interpolation that does not resolve, and the like
        raise ConfigError(one_line(exc)) from exc
    check_keys(c)
    pop, tr = c["population"], c["trainer"]
    load_pending()  # plug-ins met while they were importing the simulator
    if pop["rule"] not in RULES:
        raise ConfigError(f"population.rule={pop['rule']!r} must be one of {sorted(RULES)}")
    if tr["policy"] not in TRAINERS:
        raise ConfigError(f"trainer.policy={tr['policy']!r} must be one of {sorted(TRAINERS)}")
    dists = {t: parse_dist(f"population.{t}", pop[t], t) for t in TRAIT_NAMES}
    prior = pop["prior"]
    if prior is not None:
        prior = check("population.prior", prior, UNIT)
    if tr["allocation"] not in MONITORS:
        raise ConfigError(
            f"trainer.allocation={tr['allocation']!r} must be one of {sorted(MONITORS)}"
        )
    if tr["target"] not in TARGETS:
        raise ConfigError(f"trainer.target={tr['target']!r} must be one of {list(TARGETS)}")
    if tr["signal"] not in SIGNALS:
        raise ConfigError(f"trainer.signal={tr['signal']!r} must be one of {list(SIGNALS)}")
    trainer = TrainerParams(
        policy=tr["policy"],
        **{
            k: check(f"trainer.{k}", tr[k], UNIT)
            for k in ("rho", "fidelity", "eta", "eta_phi", "eta_leak", "decay")
        },
        allocation=tr["allocation"],
        target=tr["target"],
        signal=tr["signal"],
        **{k: check(f"trainer.{k}", tr[k], _PENALTY) for k in ("boost", "explore")},
    )
    if not isinstance(c["phases"], Mapping):
        raise ConfigError(
            f"phases={c['phases']!r}: must be a mapping of phase name -> {{rounds, train, mix}}"
        )
    if not c["phases"]:
        raise ConfigError("phases: at least one phase is needed (set by a scenario preset)")
    phases = tuple(_phase(name, ph) for name, ph in c["phases"].items())
    decisions = c["replicates"] * c["n_agents"] * sum(p.rounds for p in phases)
    if c["trace"] and decisions > TRACE_LIMIT:
        raise ConfigError(
            f"trace=true would record {decisions:,} decisions, more than {TRACE_LIMIT:,}: "
            "reduce replicates, n_agents or rounds"
        )
    limits = parse_limits(c["limits"])
    evaluates = any(p.mix[EPISODE_TYPES.index("evaluation")] > 0 for p in phases)
    check_run(
        limits,
        rows=_int("replicates", c["replicates"], 1),
        n_agents=_int("n_agents", c["n_agents"], 1),
        rounds=sum(p.rounds for p in phases),
        trace=bool(c["trace"]),
        bootstrap=_bootstrap_values(c["episodes"]["evaluation"]) if evaluates else 0,
    )
    mitigations = parse_mitigations(c["mitigation"])
    if trainer.allocation != "uniform" and mitigations.dynamic_monitoring is not None:
        raise ConfigError(
            f"trainer.allocation={trainer.allocation!r} and mitigation dynamic_monitoring both "
            "allocate the budget: choose one"
        )
    return RunParams(
        name=safe_name(c["name"], "name"),  # a folder of outputs/: one safe component
        seed=_int("seed", c["seed"], 0),
        replicates=_int("replicates", c["replicates"], 1),
        n_agents=_int("n_agents", c["n_agents"], 1),
        population=dists,
        prior=prior,
        rule=pop["rule"],
        trainer=trainer,
        phases=phases,
        episodes=_episodes(c["episodes"]),
        mitigations=mitigations,
        selection=_selection(c["selection"]),
    )


def one_line(exc: BaseException, source: ConfigSource | None = None) -> str:
    """Condense a Hydra/OmegaConf composition error into one line naming the key."""
    source = source or ConfigSource()
    texts, e = [], exc
    while e is not None:
        texts.append(str(e))
        e = e.__cause__ or e.__context__
    full = "\n".join(texts)
    key = re.search(r"full_key: (\S+)", full)
    override = re.search(r"Could not override '([^']+)'|Error merging override ([^=\s]+)", full)
    name = key.group(1) if key else next(g for g in override.groups() if g) if override else None
    if re.search(r"not in struct|Key '[^']+' not in '", full) and name:
        return f"unknown config key '{name}' (docs/configuration.md lists the keys)"
    if "does not support deletion" in full and name:
        return f"{name}: a key of the schema cannot be deleted with ~ (set it instead)"
    unloadable = re.search(r"Could not load '([^']+)/([^']+)'", full)
    if unloadable and source.has_group(unloadable.group(1)):
        group = unloadable.group(1)
        options = ", ".join(source.group_options(group))
        return f"{group}={unloadable.group(2)}: no such preset (available: {options})"
    missing = re.search(r"Could not find '([^']+)/([^']+)'", full)
    if missing:
        options = ", ".join(re.findall(r"^\t(\S+)$", full, flags=re.M))
        return f"{missing.group(1)}={missing.group(2)}: no such preset (available: {options})"
    firsts = [t.strip().splitlines()[0] for t in texts if t.strip()]
    skip = ("Could not override", "Error merging override")
    detail = next((f for f in firsts if not f.startswith(skip)), firsts[0])
    if name is None and ("no viable alternative" in full or "mismatched input" in full):
        return f"bad override syntax: {detail}"
    return f"{name}: {detail}" if name else detail


_TRAIT_KEY = re.compile(rf"^population\.(?:{'|'.join(TRAIT_NAMES)})=")


_PLAIN = re.compile(r"^[A-Za-z0-9_.+\-]*$")


def hydra_text(value: Any) -> str:
    """A Python value in Hydra's override grammar (numpy scalars and arrays included).

    Mappings and lists recursively, ``null``, ``true``/``false``, floats by ``repr``, and
    strings quoted unless they are plain words, with ``${`` escaped so that the value
    reaches the config literally, never as an interpolation.
    """
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{hydra_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text):
        return text
    # OmegaConf: ``${`` would interpolate; escape it (and double the backslashes before it)
    return quote(re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", text))


def quote(text: str) -> str:
    """``text`` as a quoted Hydra string that parses back to exactly ``text``.

    Each quote is escaped and the backslashes before a quote, or before the closing
    quote, are doubled, so that no value can end its own override and start another.
    """
    body = re.sub(r"(\\*)'", lambda m: m[1] * 2 + "\\'", text)
    body = re.sub(r"(\\+)$", lambda m: m[1] * 2, body)
    return f"'{body}'"


def _as_list_form(value):
    """A trait's mapping value in list form (``[beta,8,2]``), which replaces on override."""
    if not isinstance(value, dict):
        return value
    kind = value.get("dist")
    if kind == "list" and set(value) == {"dist", "values"} and isinstance(value["values"], list):
        return ["list", *value["values"]]
    names = POSITIONAL.get(kind, ())
    given = [n for n in names if n in value]
    if kind in POSITIONAL and set(value) == {"dist", *given} and given == list(names[: len(given)]):
        return [kind, *(value[n] for n in given)]
    return [value]  # not well formed: keep the keys so that validation can name the bad one


_GRID_CALL = re.compile(r"(?<!['\"])\b(?:linspace|logspace|range)\([^)]*\)")


_MIX_KEY = re.compile(r"^phases\.[^.=+~]+\.mix\.([A-Za-z_][A-Za-z0-9_]*)=")


def normalize_overrides(overrides: Sequence[str]) -> list[str]:
    """Rewrite trait overrides with a mapping value into the list form.

        Hydra merges ``key={...}`` into an existing mapping and cannot merge a mapping into
        a list; the presets use list forms (``[beta, 8, 2]``), which an override replaces.
        So ``population.theta={dist:uniform,low:0.2,high:0.9}`` becomes
        ``population.theta=[uniform,0.2,0.9]``, also inside a sweep. ``mitigations=[...]`` is
        read as the config group ``mitigation=[...]``. ``phases.P.mix.TYPE=share`` for a
        registered episode type the preset's mix does not list is added (``++``). In
        ``sweep.grid={...}`` the grid mode's
    ``linspace(..)``, ``logspace(..)`` and ``range(..)`` are quoted (they are not Hydra's
    sweep functions). Others are kept as given.
    """
    out = []
    names = set(type_names())
    for ov in overrides:
        mix = _MIX_KEY.match(ov)
        if mix and mix.group(1) in names:  # a type the preset's mix leaves out: add it
            ov = "++" + ov
        if ov.startswith("mitigations="):  # the plural reads naturally for a list
            ov = "mitigation=" + ov[len("mitigations=") :]
        if ov.lstrip("+").startswith("sweep.grid="):  # linspace(..) is ours, not Hydra's
            ov = _GRID_CALL.sub(lambda m: f"'{m.group(0)}'", ov)
        if not _TRAIT_KEY.match(ov) or "{" not in ov:
            out.append(ov)
            continue
        try:
            (parsed,) = OverridesParser.create().parse_overrides([ov])
        except Exception:  # leave syntax errors to Hydra's own message
            out.append(ov)
            continue
        key = parsed.get_key_element()
        if parsed.is_sweep_override():
            sweep = parsed.value()
            values = getattr(sweep, "list", None)
            if values is None:
                out.append(ov)
                continue
            text = ",".join(hydra_text(_as_list_form(v)) for v in values)
        else:
            text = hydra_text(_as_list_form(parsed.value()))
        out.append(f"{key}={text}")
    return out


_DELETABLE = ("phases.", "mitigation.")  # entries of the open mappings; not schema keys


def check_override_forms(overrides: Sequence[str]) -> None:
    """Refuse what composition would accept silently: ``~`` on the schema, a mitigation twice.

    ``~phases.NAME`` and ``~mitigation.NAME`` delete an entry of an open mapping (``~phases``
    all of them, to give new ones with ``+phases.NAME={...}``); any other
    ``~key`` (a key or a config group of the schema, ``~population``) would leave the
    schema's bare defaults in its place. ``mitigation=[a,a]`` would apply ``a`` once.

    Raises:
        ConfigError: one line naming the override.
    """
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception:  # noqa: BLE001 - syntax errors get Hydra's own message in compose
        return
    for ov in parsed:
        key = ov.key_or_group
        open_mapping = key in ("phases", "mitigation") or key.startswith(_DELETABLE)
        if ov.is_delete() and not open_mapping and not key.startswith("hydra"):
            raise ConfigError(
                f"~{key}: a key or config group of the schema cannot be deleted with ~ "
                "(set it instead; ~phases.NAME and ~mitigation.NAME delete entries)"
            )
        if key == "mitigation" and not ov.is_sweep_override():
            value = ov.value()
            names = value if isinstance(value, list) else [value]
            seen = [n for i, n in enumerate(names) if n in names[:i]]
            if seen:
                raise ConfigError(f"mitigation=[...]: {seen[0]} is listed twice")


def compose_config(
    overrides: Sequence[str] = (), source: ConfigSource | None = None, hydra: bool = False
) -> DictConfig:
    """Compose the config from the presets with Hydra overrides, as ``python -m sim`` would.

    Args:
        overrides: Hydra overrides.
        source: The folders to compose from (default: the shipped presets only).
        hydra: Keep Hydra's own section (``hydra.run.dir`` and the like).

    Raises:
        ConfigError: one line, for an unknown key, a wrong type or a missing preset.
    """
    source = source or ConfigSource()
    backup = get_gh_backup()  # compose may run inside a Hydra app: keep its state
    GlobalHydra.instance().clear()
    try:
        run_schema()  # with the plug-in episode types registered so far
        with initialize_config_dir(config_dir=str(source.primary), version_base="1.3"):
            ovs = normalize_overrides(overrides)
            check_override_forms(ovs)
            ovs += source.searchpath(ovs)
            cfg = compose(config_name=source.name, overrides=ovs, return_hydra_config=hydra)
            return drop_unused_plugin_groups(cfg)
    except Exception as exc:  # Hydra raises several unrelated types; all are bad input here.
        raise ConfigError(one_line(exc, source)) from exc
    finally:
        restore_gh_from_backup(backup)


def drop_unused_plugin_groups(cfg: DictConfig) -> DictConfig:
    """``cfg`` without the ``episodes.<plug-in>`` groups of types no phase gives a share.

    A registered plug-in type's parameters are in the schema (so they can be set without
    ``+``), but a run whose mix leaves the type out neither uses nor records them: its
    config, its hash and its folder are then what they are in a process without the
    plug-in (a run folder stays complete when a plug-in is installed). Changes ``cfg`` in
    place and returns it.
    """
    groups = [n for n, c in plugin_classes().items() if c.params is not None]
    episodes = cfg.get("episodes") if isinstance(cfg, DictConfig) else None
    if not groups or episodes is None:
        return cfg
    phases = cfg.get("phases")
    used = set()
    for name in phases if isinstance(phases, DictConfig) else ():  # to_params says what is bad
        mix = OmegaConf.select(cfg, f"phases.{name}.mix", default=None)
        if isinstance(mix, DictConfig):
            used |= {t for t, w in mix.items() if isinstance(w, int | float) and w > 0}
    with open_dict(episodes):
        for name in groups:
            if name not in used and name in episodes:
                del episodes[name]
    return cfg


def load_params(
    overrides: Sequence[str] = (), source: ConfigSource | None = None
) -> tuple[DictConfig, RunParams]:
    """Compose and validate: the config and its typed parameters, or a one-line ConfigError."""
    cfg = compose_config(overrides, source)
    return cfg, to_params(cfg)
