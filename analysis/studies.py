"""Study files: the published figures a reproduction checks, and the runs that produce them.

A study file (``analysis/studies/*.yaml``; docs/reproduction.md) names simulator runs
(overrides on top of configs/) and targets. A target is one published figure: a
statistic of the runs' per-replicate values, the study's value, and a stated tolerance.

The statistic of a target is, per replicate ``r``, the value of ``metric`` in ``phase``
of ``run``, optionally minus ``scale`` times another run's (or phase's, or metric's)
value in the same replicate (``minus``): a difference ("compliance when unmonitored
rises after RL") or a bounded ratio ("an order of magnitude lower without nudging":
``none - 0.316 * strong <= 0``). Replicates where either value is undefined are left
out. Its summary is the mean with a 95% Student-t interval over replicates, or, for
p-values (``criterion: median``), the median over replicates, each replicate being
one study of the study's sample size.

A target is met ("inside") when, by its ``criterion``: ``mean``, the mean lies in the
tolerance; ``interval``, the whole 95% interval does (a direction that must hold, such
as a gap that remains); ``median``, the median does. Tolerance ends are inclusive; a
missing end (``null``) is open.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim import safe_yaml
from sim.errors import ConfigError
from sim.metrics import METRICS, P_VALUES, summarize

STUDY_DIR = Path(__file__).parent / "studies"
"""The study files ``python -m analysis reproduce`` runs by default."""
CRITERIA = ("mean", "interval", "median")
_STUDY_KEYS = {"study", "title", "source", "notes", "runs", "targets"}
_TARGET_KEYS = {
    "id", "figure", "group", "run", "phase", "metric", "minus", "value", "tolerance",
    "criterion", "why", "approximate",
}  # fmt: skip
_TERM_KEYS = {"run", "phase", "metric", "scale"}


@dataclass(frozen=True)
class Term:
    """One per-replicate series: ``scale`` times ``metric`` in ``phase`` of ``run``."""

    run: str
    phase: str
    metric: str
    scale: float = 1.0


@dataclass(frozen=True)
class Target:
    """One published figure and the statistic of the simulator that stands for it."""

    id: str
    figure: str
    group: str
    term: Term
    minus: Term | None
    value: float | None
    tolerance: tuple[float | None, float | None]
    criterion: str
    why: str
    approximate: bool

    def describe(self) -> str:
        """The statistic in words, e.g. ``compliance_gap (post_rl)`` or a difference."""
        a = f"{self.term.metric} ({self.term.phase}, {self.term.run})"
        if self.minus is None:
            return a
        b = f"{self.minus.metric} ({self.minus.phase}, {self.minus.run})"
        scale = "" if self.minus.scale == 1 else f"{self.minus.scale:g} x "
        return f"{a} - {scale}{b}"


@dataclass(frozen=True)
class Study:
    """A study file: its runs (name -> overrides) and its targets."""

    name: str
    title: str
    source: str
    path: Path
    runs: Mapping[str, tuple[str, ...]]
    targets: tuple[Target, ...]
    notes: tuple[str, ...] = ()


def _fail(path: Path, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {msg}")


def _number(path: Path, key: str, x: Any, allow_none: bool = False) -> float | None:
    if x is None and allow_none:
        return None
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise _fail(path, key, f"{x!r} is not a number")
    return float(x)


def _unknown(path: Path, key: str, given: Mapping, allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise _fail(path, f"{key}.{extra[0]}" if key else extra[0], "unknown key")


def _term(path: Path, key: str, raw: Any, base: Term | None, runs: Mapping) -> Term:
    if not isinstance(raw, Mapping):
        raise _fail(path, key, "must be a mapping (run, phase, metric, scale)")
    if base is not None:  # a target's own keys are checked by _target
        _unknown(path, key, raw, _TERM_KEYS)
    fields = {}
    for name in ("run", "phase", "metric"):
        value = raw.get(name, getattr(base, name) if base is not None else None)
        if not isinstance(value, str) or not value:
            raise _fail(path, f"{key}.{name}", "missing (a name)")
        fields[name] = value
    if fields["run"] not in runs:
        raise _fail(path, f"{key}.run", f"{fields['run']!r} is not one of this file's runs")
    if fields["metric"] not in METRICS:
        raise _fail(path, f"{key}.metric", f"unknown metric {fields['metric']!r}")
    scale = _number(path, f"{key}.scale", raw.get("scale", 1.0)) if base is not None else 1.0
    return Term(**fields, scale=scale)


def _target(path: Path, i: int, raw: Any, runs: Mapping) -> Target:
    key = f"targets[{i}]"
    if not isinstance(raw, Mapping):
        raise _fail(path, key, "must be a mapping")
    _unknown(path, key, raw, _TARGET_KEYS)
    for name in ("id", "figure"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise _fail(path, f"{key}.{name}", "missing (text)")
    key = f"targets.{raw['id']}"
    term = _term(path, key, raw, None, runs)
    minus = (
        None if raw.get("minus") is None else _term(path, f"{key}.minus", raw["minus"], term, runs)
    )
    tol = raw.get("tolerance")
    if not isinstance(tol, list) or len(tol) != 2:
        raise _fail(path, f"{key}.tolerance", "must be [low, high] (null for an open end)")
    lo = _number(path, f"{key}.tolerance", tol[0], allow_none=True)
    hi = _number(path, f"{key}.tolerance", tol[1], allow_none=True)
    if (lo is None and hi is None) or (lo is not None and hi is not None and lo > hi):
        raise _fail(path, f"{key}.tolerance", f"{tol} is not an interval")
    default = "median" if term.metric in P_VALUES else "mean"
    criterion = raw.get("criterion", default)
    if criterion not in CRITERIA:
        raise _fail(path, f"{key}.criterion", f"{criterion!r} is not one of {', '.join(CRITERIA)}")
    if (criterion == "median") != (term.metric in P_VALUES):
        raise _fail(path, f"{key}.criterion", "p-values take 'median', other metrics do not")
    return Target(
        id=raw["id"],
        figure=raw["figure"],
        group=str(raw.get("group", "")),
        term=term,
        minus=minus,
        value=_number(path, f"{key}.value", raw.get("value"), allow_none=True),
        tolerance=(lo, hi),
        criterion=criterion,
        why=str(raw.get("why", "")),
        approximate=bool(raw.get("approximate", False)),
    )


def load_study(path: str | Path) -> Study:
    """Read and check a study file.

    Raises:
        ConfigError: one line naming the file and the key that is missing or wrong.
    """
    path = Path(path)
    try:
        raw = safe_yaml.load(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: must be a mapping with study, runs and targets")
    _unknown(path, "", raw, _STUDY_KEYS)
    runs_raw = raw.get("runs")
    if not isinstance(runs_raw, Mapping) or not runs_raw:
        raise _fail(path, "runs", "missing (name: [overrides])")
    runs = {}
    for name, overrides in runs_raw.items():
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise _fail(path, f"runs.{name}", "must be a list of override strings")
        runs[str(name)] = tuple(overrides)
    targets_raw = raw.get("targets")
    if not isinstance(targets_raw, list) or not targets_raw:
        raise _fail(path, "targets", "missing (a list)")
    targets = tuple(_target(path, i, t, runs) for i, t in enumerate(targets_raw))
    ids = [t.id for t in targets]
    dup = next((t for t in ids if ids.count(t) > 1), None)
    if dup is not None:
        raise _fail(path, f"targets.{dup}", "id used twice")
    notes = raw.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise _fail(path, "notes", "must be a list of paragraphs (text)")
    name = raw.get("study", path.stem)
    return Study(
        name=str(name),
        title=str(raw.get("title", name)),
        source=str(raw.get("source", "")),
        path=path,
        runs=runs,
        targets=targets,
        notes=tuple(n.strip() for n in notes),
    )


def default_studies() -> list[Path]:
    """The study files shipped with the simulator, in name order."""
    return sorted(STUDY_DIR.glob("*.yaml"))


def series(replicates: pd.DataFrame, term: Term) -> pd.Series:
    """``term.scale`` times the term's values, indexed by replicate (nan where undefined)."""
    rows = replicates[(replicates["phase"] == term.phase) & (replicates["metric"] == term.metric)]
    return term.scale * rows.set_index("replicate")["value"].astype(np.float64)


def evaluate(target: Target, tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The target's statistic from the runs' replicate tables, and whether it is met.

    Args:
        target: the target.
        tables: run name -> its ``replicates.parquet`` table (phase, replicate, metric, value).

    Returns:
        ``estimate`` (mean, or median for p-values), ``ci_low``/``ci_high`` (None for a
        median or a single replicate), ``n`` (replicates used), ``share`` (the share of
        replicates inside the tolerance), ``inside`` (None when the statistic is undefined).
    """
    x = series(tables[target.term.run], target.term)
    if target.minus is not None:
        y = series(tables[target.minus.run], target.minus)
        x = (x - y).dropna()  # aligned by replicate: pairs on common random numbers
    values = x.to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    lo, hi = target.tolerance
    low = -np.inf if lo is None else lo
    high = np.inf if hi is None else hi
    share = float(np.mean((values >= low) & (values <= high))) if values.size else None
    if target.criterion == "median":
        est = float(np.median(values)) if values.size else None
        out = {"estimate": est, "ci_low": None, "ci_high": None, "n": int(values.size)}
    else:
        s = summarize(values)
        out = {"estimate": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"], "n": s["n"]}
    est = out["estimate"]
    if est is None:
        inside = None
    elif target.criterion == "interval" and out["ci_low"] is not None:
        inside = bool(out["ci_low"] >= low and out["ci_high"] <= high)
    else:
        inside = bool(low <= est <= high)
    return out | {"share": share, "inside": inside}
