"""The environments' input checks: seeds, constructor arguments, actions, memory.

Every check returns the value in the form the environment uses, or raises
:class:`sim.errors.ConfigError` with one line naming the argument. None of them changes
anything, so an environment validates a whole joint action before it plays a round: a
refused step leaves the environment exactly as it was.

The memory estimate: the peak resident memory of a :class:`TrainingGameParallelEnv`
with a trainer player, its construction, reset and three steps, grew by 1,348 bytes per
agent in ``scenario=alignment_faking`` and 1,386 in ``scenario=scheming_mix`` at 200,000
agents (``ru_maxrss``; ``tracemalloc`` peaks at 20,000 and 80,000 agents were
1,125-1,162). Most of it is per-agent Python objects: the names, the action spaces and
the observation dicts. :data:`ENV_BYTES_PER_AGENT` rounds that up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from agents.base import Reason
from sim.errors import ConfigError

GIB = 2**30
ENV_BYTES_PER_AGENT = 2048
"""Peak bytes per AI agent of the PettingZoo environment (measured 1,125-1,386)."""
ARRAY_BYTES_PER_AGENT = 1024
"""Peak bytes per agent of :class:`sim.envs.population.PopulationVecEnv`: its resident
memory grew by 459-483 bytes per agent (``ru_maxrss``, one-hot observations, reset and
three steps, at 10^5 and 10^6 agents), rounded up."""
SEED_LIMIT = 2**64
"""Seeds are integers in ``[0, SEED_LIMIT)`` (or None)."""
MAX_BINS = 2**24
"""The most preference bins: ``theta`` is float32, whose spacing near 1 is ``2**-24``."""
REASONS = np.array([int(r) for r in Reason], dtype=np.int64)


def show(value, width: int = 60) -> str:
    """A one-line, bounded ``repr`` of ``value`` for a message."""
    text = " ".join(repr(value).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def is_int(value) -> bool:
    """Whether ``value`` is an integer (a Python int or numpy integer scalar), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def seed_of(seed, key: str = "seed") -> int | None:
    """``seed`` as an int in ``[0, 2**64)``, or None."""
    if seed is None:
        return None
    if not is_int(seed) or not 0 <= int(seed) < SEED_LIMIT:
        raise ConfigError(f"{key}={show(seed)} must be an integer in [0, 2**64) or None")
    return int(seed)


def sets_seed(overrides) -> bool:
    """Whether Hydra ``overrides`` set the run's ``seed`` (``seed=3``, ``+seed=3``)."""
    if isinstance(overrides, str):
        overrides = (overrides,)
    try:
        return any(o.lstrip("+~").split("=", 1)[0].strip() == "seed" for o in overrides)
    except (TypeError, AttributeError):  # not strings: env_params refuses them
        return False


def record_of(value) -> bool:
    """``record``: True or False."""
    if not isinstance(value, bool):
        raise ConfigError(f"record={show(value)} must be true or false")
    return value


def episode_seed(seed: int | None, np_random, config_seed: int | None):
    """The seed of an episode's run and the environment's generator after it.

    Gymnasium's convention: ``seed`` replaces the config's seed and seeds the generator;
    with None, the first episode (no generator yet) uses ``config_seed`` (the config's
    seed, if one was given) or else a seed from the operating system's entropy, so that
    unseeded copies differ; later ones draw theirs from the generator, so a sequence of
    resets is reproducible from its first seed.

    Returns:
        ``(run_seed, generator, reseeded)``: ``reseeded`` is True when the generator was
        just seeded with ``run_seed``.
    """
    if seed is None and np_random is None:
        seed = config_seed
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
    if seed is not None:
        return seed, seeding.np_random(seed)[0], True
    return int(np_random.integers(2**31)), np_random, False


def options_of(options) -> None:
    """``reset(options=...)``: None or a dict (not used)."""
    if options is not None and not isinstance(options, Mapping):
        raise ConfigError(f"options={show(options)} must be None or a dict (it is not used)")


def bins_of(bins) -> int:
    """``preference_bins``: an integer in ``[1, 2**24]``."""
    if not is_int(bins) or not 1 <= int(bins) <= MAX_BINS:
        raise ConfigError(f"preference_bins={show(bins)} must be an integer in [1, 2**24]")
    return int(bins)


def max_memory_of(value) -> float:
    """``max_memory_gib``: a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"max_memory_gib={show(value)} must be a number of GiB > 0")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"max_memory_gib={show(value)} must be a finite number of GiB > 0")
    return value


def gib(n_bytes: float) -> str:
    """``n_bytes`` in GiB for a message: ``1,907 GiB``, ``4.5 GiB``, ``0.00191 GiB``."""
    x = n_bytes / GIB
    return f"{x:,.0f} GiB" if x >= 100 else f"{x:.3g} GiB"


def check_memory(n_agents: int, max_memory_gib: float, bytes_per_agent: int) -> None:
    """Refuse ``n_agents`` whose estimated memory exceeds ``max_memory_gib``, before allocating."""
    need = n_agents * bytes_per_agent
    if need > max_memory_gib * GIB:
        raise ConfigError(
            f"n_agents={n_agents}: needs about {gib(need)}, more than the "
            f"{max_memory_gib:g} GiB limit (raise it with max_memory_gib=...)"
        )


def agent_action(value, space: spaces.Discrete, label: str) -> int:
    """An AI agent's action: exactly what ``space.contains`` accepts, except bools.

    ``Discrete.contains`` takes an ``int`` (so ``True``), or a numpy integer scalar or 0-d
    integer array; floats, strings, bools, ``None`` and arrays of other shapes are refused.
    """
    if isinstance(value, bool | np.bool_) or not space.contains(value):
        raise ConfigError(
            f"{label}={show(value)} must be 0 or 1 (an int or numpy integer: 0 acts on its "
            "own preference, 1 complies)"
        )
    return int(value)


def trainer_weights(value, n: int, label: str = "actions['trainer']") -> np.ndarray:
    """The trainer's allocation weights: ``n`` finite numbers, as float32 ``(n,)``.

    Integer and floating dtypes are accepted (not bools, strings or objects), of shape
    ``(n,)`` exactly, finite also once cast to float32. Their values are otherwise free:
    only the ratios matter, negative weights count as 0 (docs/envs.md).
    """
    expect = f"must be {n} finite weights (a float array of shape ({n},))"
    if isinstance(value, str | bytes) or value is None:
        raise ConfigError(f"{label}={show(value)} {expect}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged or unconvertible
        raise ConfigError(f"{label}={show(value)} {expect}") from err
    if arr.dtype.kind not in "iuf":
        raise ConfigError(f"{label}={show(value)} {expect}, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ConfigError(f"{label}={show(value)} {expect}, got shape {arr.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        w = arr.astype(np.float32)
    if not np.isfinite(w).all():
        raise ConfigError(f"{label}={show(value)} {expect}: not finite (as float32)")
    return w


def reason_codes(value, n: int) -> np.ndarray | None:
    """White-box reason codes: ``n`` :class:`agents.base.Reason` codes as int8 ``(1, n)``."""
    if value is None:
        return None
    expect = f"must be {n} reason codes (integers in {REASONS.tolist()})"
    if isinstance(value, str | bytes):
        raise ConfigError(f"reason={show(value)} {expect}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"reason={show(value)} {expect}") from err
    if arr.dtype.kind not in "iu" or arr.size != n or arr.shape not in ((n,), (1, n)):
        raise ConfigError(f"reason={show(value)} {expect}, got {arr.dtype} {arr.shape}")
    if not np.isin(arr, REASONS).all():
        raise ConfigError(f"reason={show(value)} {expect}")
    return arr.astype(np.int8).reshape(1, n)


def joint_action(
    actions, agents: list[str], ai_agents: list[str], act_spaces: Mapping[str, spaces.Space],
    trainer: str | None,
) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """Check a whole joint action before anything is played.

    Args:
        actions: ``{agent: action}``.
        agents: the live agents.
        ai_agents: the AI agents, in order (all live while the episode runs).
        act_spaces: each agent's action space.
        trainer: the trainer player's name if it is live, else None.

    Returns:
        ``(act, weights)``: the AI agents' actions (int64 ``(N,)``) and the trainer's
        weights (float32 ``(N,)``; None if it left them out or is not a player).
    """
    if not isinstance(actions, Mapping):
        raise ConfigError(f"actions={show(actions)} must be a dict {{agent: action}}")
    live = set(agents)
    unknown = [a for a in actions if not (isinstance(a, str) and a in live)]
    if unknown:
        names = (
            ", ".join(agents) if len(agents) <= 4 else f"{agents[0]}, {agents[1]} ... {agents[-1]}"
        )
        raise ConfigError(f"actions: unknown agent {show(unknown[0])} (the live agents: {names})")
    missing = [a for a in ai_agents if a not in actions]
    if missing:
        raise ConfigError(f"actions: no action for {missing[0]} (every AI agent acts every round)")
    act = np.array(
        [agent_action(actions[a], act_spaces[a], f"actions[{a!r}]") for a in ai_agents],
        dtype=np.int64,
    )
    weights = None
    if trainer is not None and trainer in actions:
        weights = trainer_weights(actions[trainer], len(ai_agents), f"actions[{trainer!r}]")
    return act, weights
