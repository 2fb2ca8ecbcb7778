"""A calibration spec: the base, the parameters to fit with their values, and the targets.

A spec (docs/calibration.md) names the simulator's base overrides, the parameters to fit
with their candidate values, and the target rates with their sample sizes or standard
errors. Every candidate (a point of the product of the parameters' values) is simulated on
common random numbers; the best is the one with the smallest deviance; profile-deviance
intervals say how well each parameter is pinned (:mod:`analysis.calibrate_fit`), and the
output folder holds the fit, every candidate and a report (:mod:`analysis.calibrate_report`).

This module reads and checks the spec (:func:`load_spec`); :mod:`analysis.calibrate`
runs the command. The fit and the report read the spec's types from here, so that data
flows one way: spec -> fit -> report -> command.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from sim.config import hydra_text
from sim.errors import ConfigError
from sim.grid import GRID_KEYS, parse_values
from sim.metrics import RATES
from sim.population import TRAIT_RANGES
from sim.results import first_line
from sim.safe_yaml import check_size

SPEC_KEYS = ("base", "parameters", "targets")
TARGET_KEYS = ("phase", "metric", "value", "n", "sd")
DIST_FIELDS = {"beta": ("mean", "concentration"), "normal": ("mean", "sd")}
"""The fitted fields of each distribution a trait may be given by (``low``/``high`` are fixed)."""
SIGNED = ("compliance_gap", "alignment_illusion", "sandbag_gap")
"""Rates that are differences, in [-1, 1]: a target on one needs ``sd`` (not a proportion)."""


def tidy(x: float) -> float:
    """``1.5000000000000002`` -> ``1.5``: the value a user would type (12 significant digits)."""
    return float(f"{float(x):.12g}")


@dataclass(frozen=True)
class Axis:
    """One fitted number: a scalar parameter, or one field of a trait's distribution.

    Attributes:
        name: ``population.phi.mean``, ``population.phi.concentration``, ``trainer.rho``.
        values: the candidate values, sorted ascending, without duplicates.
    """

    name: str
    values: tuple[float, ...]

    @property
    def fitted(self) -> bool:
        """Whether the axis has more than one value (a single value is held fixed)."""
        return len(self.values) > 1


@dataclass(frozen=True)
class Parameter:
    """A config key and how its candidate values are built from its axes.

    Attributes:
        key: the config key (``population.phi``, ``trainer.rho``).
        dist: ``value`` (a plain number), ``beta`` (by mean and concentration) or ``normal``
            (by mean and sd).
        axes: one axis (``value``) or two (the distribution's fields, :data:`DIST_FIELDS`).
        low: the lower end of a scaled beta (None: the trait's; a normal is clipped to the
            trait's range, as :class:`sim.population.Normal` does).
        high: the upper end (None: the trait's).
    """

    key: str
    dist: str
    axes: tuple[Axis, ...]
    low: float | None = None
    high: float | None = None

    def config_value(self, coords: Sequence[float]) -> float | list:
        """The config value at one value per axis: ``0.3``, ``[beta, a, b]``, ``[normal, m, sd]``.

        A beta's ``a = m·k`` and ``b = (1 − m)·k``, with ``m`` the mean rescaled to [0, 1]
        when ``low``/``high`` are given, rounded to 12 significant digits so that the
        overrides line in the report reproduces the candidate exactly.
        """
        if self.dist == "value":
            return coords[0]
        if self.dist == "normal":
            return ["normal", coords[0], coords[1]]
        ends = [] if self.low is None and self.high is None else [self.lower, self.upper]
        mean, k = coords
        m = (mean - self.lower) / (self.upper - self.lower)
        return ["beta", tidy(m * k), tidy((1 - m) * k), *ends]

    @property
    def lower(self) -> float:
        """``low``, or the trait's lower end."""
        return TRAIT_RANGES[self.key.split(".")[1]].lo if self.low is None else self.low

    @property
    def upper(self) -> float:
        """``high``, or the trait's upper end."""
        return TRAIT_RANGES[self.key.split(".")[1]].hi if self.high is None else self.high


@dataclass(frozen=True)
class Target:
    """One target rate.

    Attributes:
        phase: the phase it is read in.
        metric: a rate of :data:`sim.metrics.RATES`.
        value: the target value.
        n: its sample size (a binomial target), or None.
        sd: its standard error (a normal target), or None.
    """

    phase: str
    metric: str
    value: float
    n: int | None = None
    sd: float | None = None

    @property
    def label(self) -> str:
        """``phase.metric``."""
        return f"{self.phase}.{self.metric}"


@dataclass(frozen=True)
class Spec:
    """A calibration spec, parsed and checked (phases resolved by :func:`prepare`).

    Attributes:
        name: the spec file's stem (the default output folder's name).
        path: the spec file.
        base: the simulator's overrides (the spec's ``base``, then the command line's).
        parameters: what to fit, in the spec's order.
        targets: the targets; a target without a phase has ``phase=""`` until prepared.
    """

    name: str
    path: Path
    base: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    targets: tuple[Target, ...]

    @property
    def axes(self) -> tuple[Axis, ...]:
        """Every axis, in the spec's order (the candidates' product order, first slowest)."""
        return tuple(a for p in self.parameters for a in p.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The number of values of each axis."""
        return tuple(len(a.values) for a in self.axes)

    def coords(self) -> np.ndarray:
        """Every candidate's axis values, ``(candidates, axes)``, first axis slowest."""
        return np.array(list(itertools.product(*(a.values for a in self.axes))), dtype=float)

    def points(self, coords: np.ndarray) -> list[dict[str, Any]]:
        """Every candidate as config values (key -> value) from :meth:`coords`."""
        out = []
        for row in coords.tolist():
            point, i = {}, 0
            for p in self.parameters:
                point[p.key] = p.config_value(row[i : i + len(p.axes)])
                i += len(p.axes)
            out.append(point)
        return out

    def digest(self) -> str:
        """A short hash of the spec's content (base, parameters, targets)."""
        body = {
            "base": list(self.base),
            "parameters": [asdict(p) for p in self.parameters],
            "targets": [asdict(t) for t in self.targets],
        }
        text = json.dumps(body, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _values(key: str, spec: Any) -> tuple[float, ...]:
    values = tuple(sorted(set(parse_values(key, spec))))
    bad = next((v for v in values if not math.isfinite(v)), None)
    if bad is not None:
        raise ConfigError(f"{key}: {bad!r} is not a finite number")
    return values


def _parameter(key: str, spec: Any) -> Parameter:
    where = f"parameters.{key}"
    if key not in GRID_KEYS:
        raise ConfigError(
            f"{where}: not a parameter the simulator has (allowed: population.<trait> "
            f"({', '.join(TRAIT_RANGES)}), population.prior, trainer.rho|fidelity|eta|eta_phi|"
            "eta_leak)"
        )
    if not isinstance(spec, Mapping):
        return Parameter(key, "value", (Axis(key, _values(where, spec)),))
    spec = dict(spec)
    dist = spec.pop("dist", None)
    trait = key.split(".")[1]
    if dist not in DIST_FIELDS or trait not in TRAIT_RANGES:
        if trait not in TRAIT_RANGES:
            raise ConfigError(f"{where}: a distribution is for a population trait; give values")
        raise ConfigError(f"{where}.dist={dist!r} must be one of {sorted(DIST_FIELDS)}")
    fields = DIST_FIELDS[dist]
    allowed = (*fields, "low", "high") if dist == "beta" else fields
    unknown = sorted(map(str, set(spec) - set(allowed)))
    if unknown:
        hint = (
            "; quote linspace(...) inside {...}"
            if any(c in s for s in unknown for c in "()")
            else ""
        )
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} for dist={dist} "
            f"(allowed: {', '.join(allowed)}{hint})"
        )
    missing = [f for f in fields if f not in spec]
    if missing:
        raise ConfigError(f"{where}: dist={dist} needs {missing[0]!r}")
    ends = {e: _number(f"{where}.{e}", spec[e]) for e in ("low", "high") if e in spec}
    param = Parameter(
        key, dist, tuple(Axis(f"{key}.{f}", _values(f"{where}.{f}", spec[f])) for f in fields),
        ends.get("low"), ends.get("high"),
    )  # fmt: skip
    lo, hi = param.lower, param.upper
    if dist == "beta":
        if not (math.isfinite(hi) and lo < hi):
            raise ConfigError(
                f"{where}: dist=beta needs a finite low < high (low={lo:g}, high={hi:g})"
            )
        for f, ok, rule in (
            ("mean", lambda v: lo < v < hi, f"inside ({lo:g}, {hi:g})"),
            ("concentration", lambda v: v > 0, "> 0"),
        ):
            bad = next((v for v in param.axes[fields.index(f)].values if not ok(v)), None)
            if bad is not None:
                raise ConfigError(f"{where}.{f}={bad:g} must be {rule}")
    elif param.axes[1].values[0] < 0:
        raise ConfigError(f"{where}.sd={param.axes[1].values[0]:g} must be >= 0")
    return param


def _number(where: str, x: Any) -> float:
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            raise ConfigError(f"{where}={x!r} is not a number") from None
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ConfigError(f"{where}={x!r} is not a finite number")
    return float(x)


def _target(where: str, row: Mapping[str, Any]) -> Target:
    """One target from a mapping (YAML) or a CSV row (strings; empty cells are missing)."""
    row = {k: v for k, v in row.items() if v is not None and v != ""}
    unknown = set(row) - set(TARGET_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(TARGET_KEYS)})"
        )
    for key in ("metric", "value"):
        if key not in row:
            raise ConfigError(f"{where}: {key!r} is missing")
    metric = str(row["metric"]).strip()
    if metric not in RATES:
        raise ConfigError(f"{where}.metric={metric!r} is not a rate of sim.metrics.RATES")
    value = _number(f"{where}.value", row["value"])
    if ("n" in row) == ("sd" in row):
        raise ConfigError(f"{where}: give either n (a sample size) or sd (a standard error)")
    lo = -1.0 if metric in SIGNED and "sd" in row else 0.0
    if not lo <= value <= 1:
        raise ConfigError(f"{where}.value={value:g} is outside [{lo:g}, 1]")
    n = sd = None
    if "n" in row:
        if metric in SIGNED:
            raise ConfigError(f"{where}: {metric} is a difference, not a proportion: give sd")
        n = _number(f"{where}.n", row["n"])
        if n < 1 or n != int(n):
            raise ConfigError(f"{where}.n={n:g} must be an integer >= 1")
        n = int(n)
    else:
        sd = _number(f"{where}.sd", row["sd"])
        if not sd > 0:
            raise ConfigError(f"{where}.sd={sd:g} must be > 0")
    return Target(str(row.get("phase", "")).strip(), metric, value, n, sd)


def read_targets_csv(path: Path) -> tuple[Target, ...]:
    """Targets from a CSV with the columns ``phase, metric, value, n|sd`` (empty cell: not given).

    Raises:
        ConfigError: one line naming the file, or the row and column that is bad.
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start})") from exc
    except (OSError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read the targets ({first_line(exc)})") from exc
    if not rows:
        raise ConfigError(f"{path}: no targets (a header phase,metric,value,n,sd and rows)")
    return tuple(_target(f"{path}: row {i + 2}", r) for i, r in enumerate(rows))


MAX_REFINE = 10
"""The most rounds of ``--refine`` (each one re-evaluates every candidate)."""

_CALL = re.compile(r"(?<!['\"])\b(?:linspace|logspace|range)\([^)]*\)")


def _read_yaml(path: Path) -> dict[str, Any]:
    """The spec as plain containers; ``linspace(..)`` calls are quoted first (flow mappings)."""
    try:
        text = _CALL.sub(lambda m: f'"{m.group(0)}"', path.read_text(encoding="utf-8"))
        check_size(text, str(path))
        raw = OmegaConf.to_container(OmegaConf.create(text), resolve=False)
    except ConfigError:
        raise
    except Exception as exc:  # OSError, YAML and OmegaConf errors: all unreadable input
        raise ConfigError(f"{path}: unreadable ({first_line(exc)})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: unreadable (not a mapping)")
    return raw


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> Spec:
    """Read and check a spec file; ``overrides`` are appended to its ``base``.

    Raises:
        ConfigError: one line naming the file or the key that is bad.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such spec file")
    raw = _read_yaml(path)
    unknown = set(raw) - set(SPEC_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(SPEC_KEYS)})"
        )
    base = raw.get("base") or []
    if isinstance(base, Mapping):
        base = [f"{k}={hydra_text(v)}" for k, v in base.items()]
    if not isinstance(base, list) or not all(isinstance(b, str) for b in base):
        raise ConfigError("base must be a list of overrides ([scenario=..., n_agents=...])")
    params = raw.get("parameters")
    if not isinstance(params, Mapping) or not params:
        raise ConfigError("parameters must be a non-empty mapping {key: values, ...}")
    parameters = tuple(_parameter(str(k), v) for k, v in params.items())
    targets = raw.get("targets")
    if isinstance(targets, str):
        csv_path = Path(targets) if Path(targets).is_absolute() else path.parent / targets
        if not csv_path.is_file():
            raise ConfigError(f"targets: {csv_path}: no such file")
        found = read_targets_csv(csv_path)
    elif isinstance(targets, list) and targets:
        for i, t in enumerate(targets):
            if not isinstance(t, Mapping):
                raise ConfigError(f"targets[{i}] must be a mapping {{phase, metric, value, n|sd}}")
        found = tuple(_target(f"targets[{i}]", t) for i, t in enumerate(targets))
    else:
        raise ConfigError("targets must be a non-empty list or the path of a CSV file")
    return Spec(path.stem, path, (*base, *overrides), parameters, found)


__all__ = [
    "DIST_FIELDS", "MAX_REFINE", "SIGNED", "SPEC_KEYS", "TARGET_KEYS", "Axis", "Parameter",
    "Spec", "Target", "load_spec", "read_targets_csv", "tidy",
]  # fmt: skip
