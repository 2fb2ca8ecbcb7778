"""Population trait distributions: parse, validate, sample.

A trait is given in the config as a number (fixed value), a list of numbers
(sampled uniformly with replacement), a list led by a distribution's name with
positional parameters, or a mapping with a ``dist`` key:

    [fixed, x]                      {dist: fixed, value: x}
    [uniform, low, high]            {dist: uniform, low: .., high: ..}
    [beta, a, b(, low, high)]       {dist: beta, a: .., b: .., low: .., high: ..}  # scaled
    [normal, mean, sd(, low, high)] {dist: normal, mean: .., sd: .., low: .., high: ..}  # clipped
    [list, v1, v2, ...]             {dist: list, values: [...]}  # with replacement

The list forms are canonical: Hydra replaces a list on override, whereas it would
merge a mapping into a preset's mapping. Bounds default to the trait's range;
every parameter is checked against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from sim.errors import ConfigError
from sim.rng import Component, generator
from sim.state import FLAGS, SEEN_ROWS, TRAIT_NAMES, State, Traits

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest value a config number may take: the core computes in float32."""


@dataclass(frozen=True)
class Range:
    """An interval of allowed values; open ends are excluded."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, x: float) -> bool:
        """Whether ``x`` is a number inside the interval that float32 holds (the core's dtype).

        ``inf`` and values past :data:`FLOAT32_MAX` are outside every range, bounded or not.
        """
        if not isinstance(x, (int, float)) or isinstance(x, bool):
            return False
        if not math.isfinite(x) or abs(x) > FLOAT32_MAX:
            return False
        above = x > self.lo if self.lo_open else x >= self.lo
        below = x < self.hi if self.hi_open else x <= self.hi
        return above and below

    def __str__(self) -> str:
        hi = "inf" if math.isinf(self.hi) else f"{self.hi:g}"  # inf: up to FLOAT32_MAX
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open or math.isinf(self.hi) else "]"
        return f"{left}{self.lo:g}, {hi}{right}"

    def clip_float32(self, x: np.ndarray) -> np.ndarray:
        """Cast to float32 and keep open ends open after rounding."""
        x = x.astype(np.float32)
        if self.hi_open and math.isfinite(self.hi):
            np.minimum(x, np.nextafter(np.float32(self.hi), np.float32(self.lo)), out=x)
        if self.lo_open:
            np.maximum(x, np.nextafter(np.float32(self.lo), np.float32(self.hi)), out=x)
        return x


TRAIT_RANGES: dict[str, Range] = {
    "theta": Range(0.0, 1.0),
    "sigma": Range(0.0, 1.0),
    "gamma": Range(0.0, 1.0, hi_open=True),
    "nu": Range(0.0, math.inf),
    "h": Range(0.0, math.inf),
    "kappa": Range(0.0, math.inf),
    "lam": Range(0.0, math.inf, lo_open=True),
    "phi": Range(0.0, 1.0),
    "c": Range(0.0, 1.0),
}


class Dist:
    """A distribution of one trait over the population."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` float64 values."""
        raise NotImplementedError

    def expectation(self) -> float:
        """The distribution's mean (of the values :meth:`sample` draws)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(Dist):
    """Every agent has the same value."""

    value: float

    def sample(self, rng, n):  # noqa: D102
        return np.full(n, self.value, dtype=np.float64)

    def expectation(self):  # noqa: D102
        return float(self.value)


@dataclass(frozen=True)
class Uniform(Dist):
    """Uniform on ``[low, high]``."""

    low: float
    high: float

    def sample(self, rng, n):  # noqa: D102
        return self.low + (self.high - self.low) * rng.random(n)

    def expectation(self):  # noqa: D102
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Beta(Dist):
    """Beta(a, b) scaled to ``[low, high]``."""

    a: float
    b: float
    low: float = 0.0
    high: float = 1.0

    def sample(self, rng, n):  # noqa: D102
        return self.low + (self.high - self.low) * rng.beta(self.a, self.b, n)

    def expectation(self):  # noqa: D102
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)


@dataclass(frozen=True)
class Normal(Dist):
    """Normal(mean, sd) clipped to ``[low, high]``."""

    mean: float
    sd: float
    low: float
    high: float

    def sample(self, rng, n):  # noqa: D102
        return np.clip(self.mean + self.sd * rng.standard_normal(n), self.low, self.high)

    def expectation(self):  # noqa: D102
        """E[clip(X, low, high)] for X ~ Normal(mean, sd)."""
        mu, sd, lo, hi = self.mean, self.sd, self.low, self.high
        if sd == 0:
            return float(np.clip(mu, lo, hi))
        a, b = (lo - mu) / sd, (hi - mu) / sd
        low = lo * ndtr(a) if math.isfinite(lo) else 0.0
        high = hi * ndtr(-b) if math.isfinite(hi) else 0.0
        pdf = math.exp(-a * a / 2) - math.exp(-b * b / 2)
        inner = mu * (ndtr(b) - ndtr(a)) + sd * pdf / math.sqrt(2 * math.pi)
        return float(low + high + inner)


@dataclass(frozen=True)
class Choice(Dist):
    """Sampled uniformly with replacement from an explicit list."""

    values: tuple[float, ...]

    def sample(self, rng, n):  # noqa: D102
        return np.asarray(self.values, dtype=np.float64)[rng.integers(0, len(self.values), n)]

    def expectation(self):  # noqa: D102
        return float(np.mean(self.values))


@dataclass(frozen=True)
class Scaled(Dist):
    """Another distribution's draws multiplied by ``factor`` (a mitigation's scaling)."""

    base: Dist
    factor: float

    def sample(self, rng, n):  # noqa: D102
        return self.base.sample(rng, n) * self.factor

    def expectation(self):  # noqa: D102
        return self.base.expectation() * self.factor


_PARAMS = {
    "fixed": ({"value"}, set()),
    "uniform": ({"low", "high"}, set()),
    "beta": ({"a", "b"}, {"low", "high"}),
    "normal": ({"mean", "sd"}, {"low", "high"}),
    "list": ({"values"}, set()),
}
POSITIONAL = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "beta": ("a", "b", "low", "high"),
    "normal": ("mean", "sd", "low", "high"),
}
"""Parameter order of each distribution's list form (``list`` takes the values)."""


def to_mapping(key: str, spec: Sequence) -> dict:
    """The mapping form of a list form led by a distribution name (``[beta, 8, 2]``)."""
    kind, args = spec[0], list(spec[1:])
    if kind not in _PARAMS:
        raise ConfigError(f"{key}[0]={kind!r} must be one of {sorted(_PARAMS)}")
    if kind == "list":
        return {"dist": "list", "values": args}
    names = POSITIONAL[kind]
    required = len(_PARAMS[kind][0])
    if len(args) not in {required, len(names)}:
        counts = " or ".join(sorted({str(required), str(len(names))}))
        raise ConfigError(
            f"{key}=[{kind}, {', '.join(names[:required])}"
            f"{', ' + ', '.join(names[required:]) if len(names) > required else ''}] "
            f"takes {counts} parameters, got {len(args)}"
        )
    return {"dist": kind, **dict(zip(names, args, strict=False))}


BETA_SHAPE = Range(1e-3, math.inf)
"""A beta shape parameter's range: below 1e-3 every draw sits at an end of the range."""


def _number(key: str, x, rng: Range | None = None) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ConfigError(f"{key}={x!r} must be a finite number")
    if abs(x) > FLOAT32_MAX:
        raise ConfigError(
            f"{key}={x!r} must be at most {FLOAT32_MAX:.3g} in size (the core computes in float32)"
        )
    if rng is not None and not rng.contains(float(x)):
        raise ConfigError(f"{key}={x!r} is out of range {rng}")
    return float(x)


def parse_dist(key: str, spec, trait: str) -> Dist:
    """Parse and validate the config value ``spec`` of trait ``trait`` at config key ``key``.

    Raises:
        ConfigError: one line naming the key and the allowed range or keys.
    """
    rng = TRAIT_RANGES[trait]
    if isinstance(spec, Sequence) and not isinstance(spec, str) and spec:
        if isinstance(spec[0], str):
            spec = to_mapping(key, spec)
        elif len(spec) == 1 and isinstance(spec[0], Mapping):
            spec = spec[0]
    if isinstance(spec, Mapping):
        spec = dict(spec)
        kind = spec.pop("dist", None)
        if kind not in _PARAMS:
            raise ConfigError(f"{key}.dist={kind!r} must be one of {sorted(_PARAMS)}")
        required, optional = _PARAMS[kind]
        unknown = set(spec) - required - optional
        missing = required - set(spec)
        if unknown:
            raise ConfigError(
                f"{key}: unknown key {sorted(unknown)[0]!r} for dist={kind} "
                f"(allowed: {sorted(required | optional)})"
            )
        if missing:
            raise ConfigError(f"{key}: dist={kind} needs {sorted(missing)}")
        return _build(key, kind, spec, rng)
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        return _build(key, "list", {"values": list(spec)}, rng)
    return Fixed(_number(key, spec, rng))


def _build(key: str, kind: str, spec: dict, rng: Range) -> Dist:
    if kind == "fixed":
        return Fixed(_number(f"{key}.value", spec["value"], rng))
    if kind == "list":
        values = spec["values"]
        if isinstance(values, (str, Mapping)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"{key}.values must be a non-empty list of numbers in {rng}")
        return Choice(tuple(_number(f"{key}.values[{i}]", v, rng) for i, v in enumerate(values)))
    low = _number(f"{key}.low", spec["low"], rng) if "low" in spec else rng.lo
    high = _number(f"{key}.high", spec["high"], rng) if "high" in spec else rng.hi
    if not low <= high:
        raise ConfigError(f"{key}: low={low:g} must not exceed high={high:g}")
    if kind == "uniform":
        return Uniform(low, high)
    if kind == "beta":
        a = _number(f"{key}.a", spec["a"], BETA_SHAPE)
        b = _number(f"{key}.b", spec["b"], BETA_SHAPE)
        if math.isinf(high):
            raise ConfigError(f"{key}: dist=beta on an unbounded trait needs a finite high")
        return Beta(a, b, low, high)
    mean = _number(f"{key}.mean", spec["mean"])
    sd = _number(f"{key}.sd", spec["sd"], Range(0.0, math.inf))
    return Normal(mean, sd, low, high)


def sample_population(
    dists: Mapping[str, Dist], seed: int, replicates: int, n_agents: int, first_replicate: int = 0
) -> State:
    """Draw every trait of every agent: one random sub-stream per replicate and trait.

    Args:
        dists: trait name -> distribution, for all of :data:`sim.state.TRAIT_NAMES`.
        seed: the config seed.
        replicates: number of replicates R.
        n_agents: agents per replicate N.
        first_replicate: index of the first replicate's streams.

    Returns:
        The initial state, arrays of shape ``(R, N)``, float32.
    """
    values = {}
    for t, trait in enumerate(TRAIT_NAMES):
        rows = [
            dists[trait].sample(
                generator(seed, first_replicate + r, Component.POPULATION, t), n_agents
            )
            for r in range(replicates)
        ]
        values[trait] = TRAIT_RANGES[trait].clip_float32(np.stack(rows))
    return State.from_traits(values)


def respawn(
    state: State,
    index: np.ndarray,
    dists: Mapping[str, Dist] | Sequence[Mapping[str, Dist]],
    generators: Sequence[np.random.Generator],
) -> State:
    """Replace the agents at flat ``index`` by fresh draws from the population distribution.

    A shut-down agent's successor has new traits, drawn in :data:`TRAIT_NAMES` order
    from its row's replacement stream (``generators[r]``), and no flags set. ``dists``
    is the population's distributions, or one per row (a grid run's points).

    Returns:
        A new state (the arrays of ``state`` are not modified).
    """
    if index.size == 0:
        return state
    n = state.shape[1]
    arrays = {k: getattr(state.traits, k).copy() for k in Traits.__dataclass_fields__}
    arrays |= {k: getattr(state, k).copy() for k in ("theta", "phi", "c", *FLAGS)}
    replicate = index // n
    for r in np.unique(replicate):
        where = index[replicate == r]
        row_dists = dists if isinstance(dists, Mapping) else dists[r]
        for trait in TRAIT_NAMES:
            fresh = row_dists[trait].sample(generators[r], where.size)
            arrays[trait].reshape(-1)[where] = TRAIT_RANGES[trait].clip_float32(fresh)
        for flag in FLAGS:
            arrays[flag].reshape(-1)[where] = False
    traits = Traits(**{k: arrays[k] for k in Traits.__dataclass_fields__})
    rest = {k: arrays[k] for k in ("theta", "phi", "c", *FLAGS)}
    suspicion = state.suspicion
    if suspicion is not None:  # a successor starts unsuspected
        suspicion = suspicion.copy()
        suspicion.reshape(-1)[index] = 0.0
    monitor = state.monitor
    if monitor is not None:  # the trainer has not seen the successor yet
        monitor = monitor.copy()
        rows, cols = np.divmod(index, n)
        monitor[rows, :, cols] = 0.0
    seen = state.seen
    if seen is not None:  # the successor's generation record starts empty, from its own theta
        seen = seen.copy()
        rows, cols = np.divmod(index, n)
        seen[rows, :, cols] = 0.0
        seen[rows, SEEN_ROWS.index("theta_start"), cols] = rest["theta"][rows, cols]
    return State(traits=traits, **rest, suspicion=suspicion, monitor=monitor, seen=seen)
