"""The vectorised grid mode: a sweep over numeric parameters as an extra array axis.

``python -m sim sweep.grid={population.sigma:linspace(0,1,51),trainer.rho:[0.1,0.5]}``
runs every point of the grid (the product of the axes, first axis slowest) inside one
process. Points are simulated ``sweep.chunk`` at a time as one :class:`sim.engine.Run`
of ``chunk * R`` rows: row ``g * R + r`` is replicate ``r`` of point ``g``, with that
replicate's random streams and that point's trait draws and rates, so every point's
numbers are those of the single run ``python -m sim population.sigma=.. trainer.rho=..``
at the same seed, bit for bit (tested). The points share their draws (common random
numbers), which is also why the grid is fast: the uniforms are drawn once per
replicate, not once per point.

Grid axes: every leaf of the run's config (:mod:`sim.grid_axes`). The population's
traits (a value per point: every agent gets it), ``population.prior``, the trainer's
rates ``trainer.{rho, fidelity, eta, eta_phi, eta_leak}`` and the random audits'
``mitigation.random_audits.{rate, penalty, retrain}`` are stacked as rows of one run
where the run type allows it (the conflict game, any mitigation, the uniform allocation,
no selection); every other axis, and every point of a run type the engine cannot stack,
groups the points: a group's points run as their own runs, in the same process and folder.
docs/sweeps.md has the details.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from sim.config import UNIT, check, parse_limits, to_params
from sim.engine import Run
from sim.errors import ConfigError
from sim.grid_axes import (
    MAX_POINTS,
    MITIGATION,
    STACKED,
    categorical_values,
    check_sets,
    integer_values,
    leaf,
    mitigation_axis,
    parse_values,
    split,
    with_values,
)
from sim.grid_engine import check_engine, remove_store
from sim.metrics import RATES, phase_counts, phase_values, rates, summarize_metric
from sim.mitigations import Mitigations
from sim.mitigations import _value as mitigation_value
from sim.params import RunParams
from sim.population import parse_dist
from sim.resources import check_run
from sim.results import COMPLETE, config_hash, read_config, read_parquet, write_folder

GRID_KEYS = STACKED
"""The config keys the engine stacks as rows of one run (any other leaf groups the points)."""
SUMMARY_COLUMNS = ("mean", "ci_low", "ci_high", "n", "interval", "events", "trials")
"""A point's summary of a metric, as metrics.json has it (``metrics.parquet``'s columns)."""


def parse_grid(grid: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, tuple]:
    """The axes of ``sweep.grid`` (key -> values), checked against the resolved config ``base``.

    Without ``base`` (reading a grid folder's axes back) every axis is read as numbers.

    Raises:
        ConfigError: one line naming the ``sweep.grid`` key that is not allowed or bad.
    """
    axes = {}
    for key, spec in grid.items():
        name = f"sweep.grid.{key}"
        if base is None or key in GRID_KEYS:
            if base is not None and key.startswith(f"{MITIGATION}."):
                leaf(base, key)  # the mitigation is in the run's list
            axes[key] = parse_values(name, spec)
            continue
        if key == MITIGATION:
            axes[key] = mitigation_axis(spec, base)
            continue
        value = leaf(base, key)
        if isinstance(value, bool | str):
            axes[key] = categorical_values(key, spec, value)
        elif isinstance(value, int):
            axes[key] = integer_values(key, parse_values(name, spec))
        else:
            axes[key] = parse_values(name, spec)
    check_sets(axes)
    size = int(np.prod([len(v) for v in axes.values()])) if axes else 0
    if size > MAX_POINTS:
        raise ConfigError(f"sweep.grid has {size:,} points, more than {MAX_POINTS:,}")
    return axes


def grid_points(axes: Mapping[str, tuple[float, ...]]) -> list[dict[str, float]]:
    """Every point of the grid, first axis slowest (the order of a Hydra multirun)."""
    keys = list(axes)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes.values())]


def point_config(base: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """The config of the single run equivalent to one grid point (no ``sweep.grid``).

    Shares the untouched sections with ``base`` (treat the result as read-only).
    """
    cfg = with_values(base, point)
    cfg["sweep"] = {**cfg.get("sweep", {}), "grid": None}
    return cfg


def point_params(base: RunParams, point: Mapping[str, float]) -> RunParams:
    """The run parameters of one grid point: ``base`` with the point's values, checked.

    The same values :func:`sim.config.to_params` gives the point's config (tested), without
    composing a config per point.

    Raises:
        ConfigError: one line naming the key whose value is out of range.
    """
    population, trainer, prior = dict(base.population), base.trainer, base.prior
    selected = {m.name: m for m in base.mitigations.selected}
    for key, value in point.items():
        section, name = key.split(".", 1)
        where = f"sweep.grid.{key}"
        if key == "population.prior":
            prior = check(where, value, UNIT)
        elif section == "population":
            population[name] = parse_dist(where, value, name)
        elif section == MITIGATION:
            mname, k = name.split(".")
            m = selected[mname]
            selected[mname] = replace(m, **{k: mitigation_value(where, type(m), k, value, float)})
        else:
            trainer = replace(trainer, **{name: check(where, value, UNIT)})
    mitigations = Mitigations(tuple(selected.values()))
    return replace(base, population=population, trainer=trainer, prior=prior,
                   mitigations=mitigations)  # fmt: skip


def stackable(params: RunParams) -> bool:
    """Whether the engine can stack points of this run as rows of one run.

    The conflict game and the built-in episode types, with any mitigation, the uniform
    allocation and no selection; the points of any other run type (an allocation rule,
    selection, a plug-in episode type) run one by one (in the same process and folder).
    """
    from sim.episode_types import plugin_kinds

    return not (
        params.selection.enabled
        or params.trainer.allocation != "uniform"
        or plugin_kinds(params.phases)
    )


@dataclass
class GridResults:
    """What a grid run returns (its folder layout: :func:`sim.results.save_grid`).

    Attributes:
        config: the resolved base config (with ``sweep.grid``), plain containers.
        grid: one row per point: ``point``, one column per axis, ``config_hash`` (that of
            the equivalent single run).
        metrics: ``point, phase, metric`` and :data:`SUMMARY_COLUMNS` (as metrics.json).
        replicates: ``point, phase, replicate, metric, value``.
        rounds: ``point, round, phase, phase_round`` and each rate's mean over the
            replicates (None with ``sweep.rounds=false``).
    """

    config: dict[str, Any]
    grid: pd.DataFrame
    metrics: pd.DataFrame
    replicates: pd.DataFrame
    rounds: pd.DataFrame | None = None

    def save(self, folder) -> Path:
        """Write the grid folder (see :mod:`sim.results`, "A grid folder"); return its path."""
        files = {
            "config.yaml": lambda p: p.write_text(OmegaConf.to_yaml(OmegaConf.create(self.config))),
            "grid.parquet": lambda p: self.grid.to_parquet(p, index=False),
            "metrics.parquet": lambda p: self.metrics.to_parquet(p, index=False),
            "replicates.parquet": lambda p: self.replicates.to_parquet(p, index=False),
        }
        if self.rounds is not None:
            files["rounds.parquet"] = lambda p: self.rounds.to_parquet(p, index=False)
        out = write_folder(folder, files)
        remove_store(out)  # complete: the chunk store that resumed it is obsolete
        return out

    @classmethod
    def load(cls, folder) -> GridResults:
        """Read a grid folder written by :meth:`save`.

        Raises:
            ConfigError: one line naming the folder or file that is missing or corrupt.
        """
        folder = Path(folder)
        if not (folder / COMPLETE).exists():
            raise ConfigError(f"{folder}: not a complete grid folder (no {COMPLETE} marker)")
        tables = {
            k: read_parquet(folder / f"{k}.parquet") for k in ("grid", "metrics", "replicates")
        }
        rounds = folder / "rounds.parquet"
        return cls(
            config=read_config(folder / "config.yaml"),
            rounds=read_parquet(rounds) if rounds.exists() else None,
            **tables,
        )

    def point_metrics(self, point: int) -> dict[str, dict[str, dict[str, Any]]]:
        """``metrics[phase][metric]`` of one point, as a single run's metrics.json has them."""
        rows = self.metrics[self.metrics["point"] == point]
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for r in rows.to_dict("records"):
            s = {k: None if pd.isna(r.get(k)) else r.get(k) for k in SUMMARY_COLUMNS}
            s["n"] = int(s["n"])
            for k in ("events", "trials"):
                s[k] = None if s[k] is None else int(s[k])
            s["interval"] = None if s["interval"] is None else str(s["interval"])
            out.setdefault(str(r["phase"]), {})[str(r["metric"])] = s
        return out


def _chunk_tables(run: Run, base: RunParams, indices: tuple[int, ...], with_rounds: bool):
    """The long tables of one simulated chunk (the points ``indices``)."""
    R, phases = base.replicates, base.phases
    n_boot = base.episodes.evaluation.bootstrap
    C = len(indices)
    met, reps = [], []
    for g, point in enumerate(indices):
        rows = run.recorder.rows(g * R, (g + 1) * R)
        values = phase_values(rows, phases, base.seed, n_boot)
        counts = phase_counts(rows, phases)
        for phase, vals in values.items():
            for metric, v in vals.items():
                s = summarize_metric(metric, v, counts[phase].get(metric))
                met.append((point, phase, metric, *(s[k] for k in SUMMARY_COLUMNS)))
                reps.append((point, phase, metric, v))
    rounds = None
    if with_rounds:
        per_round = rates(run.recorder, slice(None), axis=None)
        T = run.total
        codes = np.repeat(np.arange(len(phases)), [p.rounds for p in phases])
        starts = np.cumsum([0] + [p.rounds for p in phases])[codes]
        cols = {
            "point": np.repeat(np.asarray(indices, dtype=np.int64), T),
            "round": np.tile(np.arange(T), C),
            "phase": np.tile(codes, C),
            "phase_round": np.tile(np.arange(T) - starts, C),
        }
        with warnings.catch_warnings():  # a round with no defined value in any replicate
            warnings.simplefilter("ignore", RuntimeWarning)
            for k in RATES:
                x = per_round[k].reshape(C, R, T)
                if not np.isnan(x).all():
                    cols[k] = np.nanmean(x, axis=1).ravel()
        rounds = cols
    return met, reps, rounds


@dataclass(frozen=True)
class Job:
    """One chunk of a grid: points of one group simulated as one run.

    Attributes:
        base: the group's parameters (phases, seed, replicates: what its tables read).
        points: each point's parameters.
        indices: the points' positions in the grid.
        stacked: whether the points are rows of one run (else one run, of one point).
    """

    base: RunParams
    points: tuple[RunParams, ...]
    indices: tuple[int, ...]
    stacked: bool


def _group_params(base_cfg: Mapping[str, Any], group: Mapping[str, Any]) -> RunParams:
    """The run parameters of a group's config, an error naming the axis that made it bad."""
    try:
        return to_params(OmegaConf.create(point_config(base_cfg, group)))
    except ConfigError as exc:
        msg = str(exc)
        if any(msg.startswith(k) for k in group):
            raise ConfigError(f"sweep.grid.{msg}") from None
        where = ", ".join(f"{k}={v}" for k, v in group.items())
        raise ConfigError(f"sweep.grid ({where}): {msg}") from None


def plan_grid(cfg: DictConfig, params: RunParams) -> tuple[dict, list[dict], list[Job]]:
    """Check ``sweep.*`` of a validated config; return its axes, points and chunks.

    Every point's parameters are made (and checked) before anything runs.

    Raises:
        ConfigError: a bad axis or value (one line naming the key); nothing was run.
    """
    sw = OmegaConf.to_container(cfg.sweep, resolve=True)
    if not isinstance(sw["grid"], dict):
        raise ConfigError("sweep.grid must be a mapping {key: values, ...}")
    base_cfg = OmegaConf.to_container(cfg, resolve=True)
    axes = parse_grid(sw["grid"], base_cfg)
    if not axes:
        raise ConfigError("sweep.grid is empty: give at least one axis")
    check_engine(sw)
    points = grid_points(axes)
    stacked_keys = set(axes) & set(GRID_KEYS)
    groups: dict[tuple, list[int]] = {}
    parts = []
    for i, point in enumerate(points):
        name, group, stacked = split(point, stacked_keys)
        groups.setdefault(name, []).append(i)
        parts.append((name, group, stacked))
    jobs = []
    limits = parse_limits(OmegaConf.to_container(cfg.limits, resolve=True))
    for indices in groups.values():
        group = parts[indices[0]][1]
        gp = _group_params(base_cfg, group) if group else params
        each = [point_params(gp, parts[i][2]) for i in indices]
        stack = stackable(gp)
        size = sw["chunk"] if stack else 1
        for k in range(0, len(indices), size):
            idx = tuple(indices[k : k + size])
            jobs.append(Job(gp, tuple(each[k : k + size]), idx, stack))
        rows = min(size, len(indices)) * gp.replicates * min(sw["workers"], len(jobs))
        check_run(limits, rows, gp.n_agents, sum(p.rounds for p in gp.phases),
                  what=f"the grid ({len(points):,} points; {rows:,} rows at a time over the "
                  "workers)", total_rows=len(points) * gp.replicates)  # fmt: skip
    return axes, points, jobs


def check_grid(cfg: DictConfig, params: RunParams) -> tuple[dict, list[RunParams]]:
    """Check ``sweep.*`` of a validated config; return the axes and every point's parameters.

    Raises:
        ConfigError: a bad axis or value (one line naming the key).
    """
    axes, points, jobs = plan_grid(cfg, params)
    each: list[RunParams | None] = [None] * len(points)
    for job in jobs:
        for i, p in zip(job.indices, job.points, strict=True):
            each[i] = p
    return axes, each


def _simulate_chunk(job: Job, rounds: bool):
    """Simulate one chunk: its points as rows of one run, or its one point alone."""
    run = Run(job.points[0], points=job.points) if job.stacked else Run(job.points[0])
    while not run.done:
        run.step()
    return _chunk_tables(run, job.base, job.indices, rounds)


def run_grid(
    cfg: DictConfig, progress: bool | None = None, folder: str | os.PathLike | None = None
) -> GridResults:
    """Simulate every point of ``cfg.sweep.grid`` and return the long tables.

    The chunks run on ``sweep.engine`` (:mod:`sim.grid_engine`). With a run folder
    (``folder``: the app's, :func:`sim.sweep.run_job`) each finished chunk is kept in its
    chunk store, and a rerun simulates only the chunks not there.

    Raises:
        ConfigError: a bad axis or value (one line naming the key); nothing was run.
    """
    from sim.grid_engine import ChunkStore, chunk_key, decode, run_chunks

    base_cfg = OmegaConf.to_container(cfg, resolve=True)
    sw = base_cfg["sweep"]
    params = to_params(cfg)
    axes, points, jobs = plan_grid(cfg, params)  # every point checked before any run
    show = bool(cfg.progress) if progress is None else progress
    with_rounds = bool(sw["rounds"])
    store = None if folder is None else ChunkStore(folder)
    hashes = [config_hash(point_config(base_cfg, p)) for p in points]  # each point's run
    keys = [chunk_key(j.indices, [hashes[i] for i in j.indices], with_rounds) for j in jobs]
    done: dict[int, tuple] = {}
    with tqdm(total=len(points), disable=not show, unit="point", desc="grid") as bar:
        for n, job in enumerate(jobs) if store is not None else ():
            stored = store.load(n, keys[n])
            if stored is not None:
                done[n] = stored
                bar.update(len(job.points))
        todo = [n for n in range(len(jobs)) if n not in done]
        for n, data in run_chunks(_simulate_chunk, sw, jobs, todo, keys, with_rounds, store):
            done[n] = decode(data)  # as a stored chunk reads back: resumed == uninterrupted
            bar.update(len(jobs[n].points))
    out = [done[k] for k in sorted(done)]
    return _assemble(base_cfg, params, axes, points, hashes, out)


def _assemble(base_cfg, base: RunParams, axes, points, hashes, out) -> GridResults:
    phases = [p.name for p in base.phases]
    grid = pd.DataFrame(
        {"point": np.arange(len(points))} | {k: [p[k] for p in points] for k in axes}
    )
    grid["config_hash"] = hashes
    met = sorted((row for m, _, _ in out for row in m), key=lambda r: r[0])  # stable
    metrics = pd.DataFrame(met, columns=["point", "phase", "metric", *SUMMARY_COLUMNS])
    metrics = metrics.astype({"interval": "string", "events": "Int64", "trials": "Int64"})
    reps = sorted((row for _, r, _ in out for row in r), key=lambda r: r[0])
    sizes = [len(r[3]) for r in reps]
    replicates = pd.DataFrame(
        {
            "point": np.repeat([r[0] for r in reps], sizes),
            "phase": np.repeat([r[1] for r in reps], sizes),
            "replicate": np.concatenate([np.arange(n) for n in sizes]) if reps else [],
            "metric": np.repeat([r[2] for r in reps], sizes),
            "value": np.concatenate([r[3] for r in reps]) if reps else [],
        }
    )
    for df in (metrics, replicates):
        df["phase"] = pd.Categorical(df["phase"], categories=phases)
        df["metric"] = pd.Categorical(df["metric"], categories=list(dict.fromkeys(df["metric"])))
    rounds = None
    if out and out[0][2] is not None:
        keys = list(dict.fromkeys(k for _, _, r in out for k in r))
        parts = [r for _, _, r in out]
        cols = {}
        for k in keys:
            cols[k] = np.concatenate(
                [r[k] if k in r else np.full(r["point"].size, np.nan) for r in parts]
            )
        order = np.argsort(cols["point"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        cols["phase"] = pd.Categorical.from_codes(cols["phase"], phases)
        rounds = pd.DataFrame(cols)
    return GridResults(base_cfg, grid, metrics, replicates, rounds)


__all__ = [
    "GRID_KEYS", "GridResults", "Job", "check_grid", "grid_points", "parse_grid", "parse_values",
    "plan_grid", "point_config", "point_params", "run_grid", "stackable",
]  # fmt: skip
