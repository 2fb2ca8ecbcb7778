"""Composition of the config, and its validation to :class:`RunParams`.

The schema (:mod:`sim.config_schema`) fixes the keys and their types (an unknown key or a
wrong type fails composition), the override forms are rewritten and checked first
(:mod:`sim.config_overrides`); :func:`to_params` checks every range and distribution. Both kinds
of failure surface as a one-line :class:`~sim.errors.ConfigError` that names the
key, before any work is done or anything is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from omegaconf import DictConfig, OmegaConf, open_dict

from agents.monitors import MONITORS, SIGNALS, TARGETS
from agents.registry import RULES, TRAINERS, load_pending
from sim.config_overrides import (  # noqa: F401 - re-exported
    check_override_forms,
    hydra_text,
    normalize_overrides,
    quote,
)
from sim.config_schema import (  # noqa: F401 - re-exported
    _EPISODE_PARAMS,
    TRACE_LIMIT,
    EpisodesSchema,
    LimitsSchema,
    PopulationSchema,
    RunSchema,
    SearchSchema,
    SelectionSchema,
    SweepSchema,
    TrainerSchema,
    check_keys,
    run_schema,
)
from sim.config_source import CONFIG_DIR, CONFIG_NAME, ConfigSource  # noqa: F401 - re-exported
from sim.episode_types import param_kinds, plugin_classes, type_names
from sim.errors import ConfigError
from sim.kernels import mode as kernel_mode
from sim.mitigations import parse_mitigations
from sim.outdir import safe_name
from sim.params import (
    EPISODE_TYPES,
    EpisodeParams,
    PhaseSpec,
    RunParams,
    SelectionParams,
    TrainerParams,
)
from sim.population import FLOAT32_MAX, Range, parse_dist
from sim.resources import Limits, check_run
from sim.state import TRAIT_NAMES

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
    unknown = set(ph) - {"rounds", "train", "mix", "oversight"}
    if unknown:
        raise ConfigError(
            f"unknown config key '{key}.{sorted(unknown)[0]}' "
            "(allowed: rounds, train, mix, oversight)"
        )
    if ph.get("rounds") is None:
        raise ConfigError(f"{key}.rounds is missing (an integer >= 1)")
    train = ph.get("train", False)
    if not isinstance(train, bool):
        raise ConfigError(f"{key}.train={train!r} must be true or false")
    mix = _mix(f"{key}.mix", ph["mix"]) if "mix" in ph else PhaseSpec.mix
    oversight = ph.get("oversight", True)
    if not isinstance(oversight, bool):
        raise ConfigError(f"{key}.oversight={oversight!r} must be true or false")
    if not oversight and train:
        raise ConfigError(
            f"{key}.oversight=false is a deployment probe, which trains nothing: "
            f"set {key}.train=false"
        )
    return PhaseSpec(name, _int(f"{key}.rounds", ph["rounds"], 1), train, mix, oversight)


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
                values[k] = _resamples(f"episodes.{key}", v)
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


def _resamples(key: str, value) -> int:
    """``episodes.evaluation.bootstrap``: 0 (the exact bootstrap) or at least 99 resamples."""
    if not isinstance(value, int) or isinstance(value, bool) or (value != 0 and value < 99):
        raise ConfigError(
            f"{key}={value!r} must be 0 (the exact bootstrap) or an integer >= 99 (resamples)"
        )
    return value


def _bootstrap_values(ev: Mapping) -> int:
    """Bootstrap resamples x accuracy values of the sandbagging test (for its memory)."""
    return _resamples("episodes.evaluation.bootstrap", ev["bootstrap"]) * (
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
    try:  # the environment's choice of kernel (sim.kernels), before anything runs
        kernel_mode()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
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
