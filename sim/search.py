"""The value a run returns to a Hydra sweeper (optuna), from the config's ``search.*``.

``search.metric`` names a metric (:data:`sim.metrics.METRICS`), read in ``search.phase``
(default: the last phase) as ``search.statistic`` over replicates (``mean``, ``ci_high``
or ``ci_low``). Call that number ``s``. Then :func:`objective` returns:

- without ``search.metric``: None (the run is no search trial);
- without ``search.target`` and ``search.minimize``: ``s``;
- with both, a constrained search ("the smallest value of the key ``minimize`` that keeps
  ``s <= target``"), as one number to minimise:

  - ``s <= target`` (feasible): the value of the config key ``search.minimize``;
  - ``s > target`` (infeasible): ``INFEASIBLE + (s - target)``.

  Every infeasible point scores worse than every feasible one (a feasible point's value
  must be below :data:`INFEASIBLE`), and infeasible points are ordered by how far they
  miss the target, so a search with no feasible point still ends at the closest miss.

``search.target`` and ``search.minimize`` go together: one without the other is an error.
Every error is a one-line :class:`~sim.errors.ConfigError` naming the ``search.*`` key.
docs/launchers.md shows the presets that use this (configs/experiment/).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.errors import ConfigError
from sim.metrics import METRICS, plugin_metrics

STATISTICS = ("mean", "ci_high", "ci_low")
"""The summaries over replicates that ``search.statistic`` may name."""

INFEASIBLE = 1e6
"""The score of a point that just misses ``search.target``; a miss by ``d`` scores
``INFEASIBLE + d``. A feasible point scores the value of ``search.minimize``, which must
be below this."""

_MISSING = object()


def check(cfg: DictConfig) -> None:
    """Validate ``cfg.search`` against the config alone (no results needed).

    Raises:
        ConfigError: one line naming the first invalid ``search.*`` key.
    """
    _spec(cfg)


def _spec(cfg: DictConfig) -> dict[str, Any] | None:
    """``search.*`` checked: a dict of its values, or None when there is no metric."""
    s = cfg.get("search")
    if s is None:
        return None
    metric, phase, statistic = s.get("metric"), s.get("phase"), s.get("statistic", "mean")
    target, minimize = s.get("target"), s.get("minimize")
    if metric is None:
        for key, value in (("target", target), ("minimize", minimize), ("phase", phase)):
            if value is not None:
                raise ConfigError(f"search.{key}={value!r} needs search.metric (a metric name)")
        return None
    names = (*METRICS, *plugin_metrics())
    if metric not in names:
        raise ConfigError(
            f"search.metric={metric!r} is not a metric (sim.metrics.METRICS: {', '.join(names)})"
        )
    if statistic not in STATISTICS:
        raise ConfigError(f"search.statistic={statistic!r} must be one of {', '.join(STATISTICS)}")
    phases = list(cfg.get("phases") or {})
    if phase is not None and phases and phase not in phases:
        raise ConfigError(
            f"search.phase={phase!r} is not a phase of this run (phases: {', '.join(phases)})"
        )
    if (target is None) != (minimize is None):
        given, other = ("target", "minimize") if minimize is None else ("minimize", "target")
        raise ConfigError(
            f"search.{given} needs search.{other} as well: the search minimises the key "
            "search.minimize while the metric stays at or under search.target"
        )
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise ConfigError(f"search.target={target!r} must be a number")
        if not math.isfinite(target):
            raise ConfigError(f"search.target={target!r} must be finite")
        _minimized_value(cfg, minimize)
    return {
        "metric": metric,
        "phase": phase,
        "statistic": statistic,
        "target": None if target is None else float(target),
        "minimize": minimize,
    }


def _minimized_value(cfg: DictConfig, key: str) -> float:
    """The number at the config key ``search.minimize``."""
    if not isinstance(key, str) or not key:
        raise ConfigError(f"search.minimize={key!r} must be a dotted config key")
    value = OmegaConf.select(cfg, key, default=_MISSING)
    if value is _MISSING:
        raise ConfigError(
            f"search.minimize={key!r} is not a key of the config "
            "(docs/configuration.md lists the keys)"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"search.minimize={key!r}: its value {value!r} is not a finite number")
    if value >= INFEASIBLE:
        raise ConfigError(
            f"search.minimize={key!r}: its value {value!r} is not below {INFEASIBLE:g}, "
            "the score of an infeasible point"
        )
    return float(value)


def objective(
    cfg: DictConfig, metrics: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> float | None:
    """The number a Hydra sweeper minimises for this run, or None without ``search.metric``.

    Args:
        cfg: the run's composed config (its ``search.*`` and, for ``search.minimize``, the
            key it names).
        metrics: the run's ``metrics[phase][metric] = {mean, ci_low, ci_high, n}``
            (:attr:`sim.results.Results.metrics`, or a loaded metrics.json).

    Returns:
        See the module docstring: the statistic, or with a target the value of the
        minimised key (feasible) or ``INFEASIBLE + miss`` (infeasible).

    Raises:
        ConfigError: one line naming the ``search.*`` key: an unknown metric, statistic,
            phase or key, or a metric that is undefined in that phase of this run.
    """
    spec = _spec(cfg)
    if spec is None:
        return None
    phases = list(metrics)
    phase = spec["phase"] if spec["phase"] is not None else (phases[-1] if phases else None)
    if phase not in metrics:
        raise ConfigError(
            f"search.phase={phase!r} is not a phase of this run (phases: {', '.join(phases)})"
        )
    metric, statistic = spec["metric"], spec["statistic"]
    summary = metrics[phase].get(metric)
    if summary is None or _number(summary.get("mean")) is None:
        raise ConfigError(
            f"search.metric={metric!r} is undefined in phase {phase!r} of this run "
            "(no episode it counts); choose another search.metric or search.phase"
        )
    value = _number(summary.get(statistic))
    if value is None:
        raise ConfigError(
            f"search.statistic={statistic!r} is undefined for {metric!r} in phase {phase!r} "
            "(one replicate, or a p-value: no interval); use search.statistic=mean"
        )
    if spec["target"] is None:
        return value
    miss = value - spec["target"]
    if miss <= 0:
        return _minimized_value(cfg, spec["minimize"])
    return INFEASIBLE + miss


def _number(x: Any) -> float | None:
    """``x`` as a finite float, or None (undefined: None or NaN)."""
    if x is None or isinstance(x, bool):
        return None
    x = float(x)
    return x if math.isfinite(x) else None
