"""The calibration's evaluation and fit: candidates on common random numbers, deviance, profiles.

Every candidate runs at the base config's seed, so it meets the same per-replicate uniforms
and the same trait sub-streams (common random numbers, sim/rng.py). A base config that grid
mode supports (the conflict game, :mod:`sim.grid`) is simulated ``chunk`` candidates at a
time as one :class:`sim.engine.Run` with ``points`` (each candidate's numbers are those of
its single run, bit for bit); any other (the scheming repertoire, selection, an allocation
rule) runs one :func:`sim.engine.simulate` per candidate at the same seed.

The objective is the deviance (minus twice the log-likelihood ratio against the saturated
model), summed over the targets:

- a target with a sample size ``n``: ``2·[k·ln(k/(n·p)) + (n−k)·ln((n−k)/(n·(1−p)))]``,
  ``k = value·n``, ``p`` the simulated rate clipped to ``[1e-9, 1 − 1e-9]``;
- a target with a standard error ``sd``: ``((p − value)/sd)²``.

It treats the simulated rate as exact: the simulation's own Monte Carlo error is reported
next to each target's standard error, not added to it.
"""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from scipy.special import chdtrc, chdtri, xlogy
from tqdm.auto import tqdm

from analysis.calibrate_spec import Axis, Spec, Target, tidy
from sim.config import compose_config, parse_limits, to_params
from sim.engine import Run, simulate
from sim.errors import ConfigError
from sim.grid import point_params, stackable
from sim.metrics import phase_slices, rates
from sim.params import RunParams
from sim.resources import check_run

EPS = 1e-9
"""The simulated rate is clipped to ``[EPS, 1 − EPS]`` in a binomial deviance."""
CHI2_95 = float(chdtri(1, 0.05))
"""3.841...: the 95% quantile of chi-square with 1 degree of freedom (profile intervals)."""
MC_WARN = 0.3
"""Warn when a target's Monte Carlo standard error exceeds this share of its standard error
(the deviance, which ignores it, is then off by more than about ``0.3² = 9%`` of its scale)."""


@dataclass(frozen=True)
class Prepared:
    """A spec ready to simulate.

    Attributes:
        spec: the spec, every target's phase resolved.
        base: the base run's parameters (``progress=false``).
        coords: every candidate's axis values, ``(candidates, axes)``.
        points: every candidate's config values (key -> value).
        params: every candidate's run parameters (checked).
    """

    spec: Spec
    base: RunParams
    coords: np.ndarray
    points: list[dict[str, Any]]
    params: list[RunParams]


MAX_CANDIDATES = 200_000


def prepare(spec: Spec) -> Prepared:
    """Compose the base config, resolve the targets' phases, check every candidate.

    Raises:
        ConfigError: one line naming the key, target or candidate value that is bad;
            nothing has been simulated.
    """
    size = int(np.prod(spec.shape))
    if size > MAX_CANDIDATES:
        raise ConfigError(f"parameters: {size:,} candidates, more than {MAX_CANDIDATES:,}")
    cfg = compose_config([*spec.base, "progress=false"])
    base = to_params(cfg)
    check_run(parse_limits(OmegaConf.to_container(cfg.limits)), base.replicates, base.n_agents,
              sum(p.rounds for p in base.phases), what=f"the calibration ({size:,} candidates)",
              total_rows=size * base.replicates)  # fmt: skip
    phases = [p.name for p in base.phases]
    targets = []
    for i, t in enumerate(spec.targets):
        phase = t.phase or phases[-1]
        if phase not in phases:
            raise ConfigError(
                f"targets[{i}].phase={phase!r} is not a phase of this run "
                f"(phases: {', '.join(phases)})"
            )
        targets.append(Target(phase, t.metric, t.value, t.n, t.sd))
    labels = [t.label for t in targets]
    dup = next((x for x in labels if labels.count(x) > 1), None)
    if dup is not None:
        raise ConfigError(f"targets: {dup} is given twice (combine the two into one target)")
    spec = replace(spec, targets=tuple(targets))
    coords = spec.coords()
    points = spec.points(coords)
    params = []
    for point in points:
        try:
            params.append(point_params(base, point))
        except ConfigError as err:
            raise ConfigError(str(err).replace("sweep.grid.", "parameters.", 1)) from None
    return Prepared(spec, base, coords, points, params)


def grid_mode(base: RunParams) -> bool:
    """Whether the engine stacks the base run's candidates as rows (:func:`sim.grid.stackable`)."""
    return stackable(base)


@dataclass(frozen=True)
class Evaluation:
    """Every candidate's simulated targets.

    Attributes:
        values: ``(candidates, replicates, targets)``: each replicate's value (nan where
            undefined in that replicate).
        path: ``grid`` (stacked runs) or ``per-candidate`` (one run each).
    """

    values: np.ndarray
    path: str

    @property
    def mean(self) -> np.ndarray:
        """``(candidates, targets)``: the mean over the replicates with a value."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.values, axis=1)

    @property
    def mc_se(self) -> np.ndarray:
        """``(candidates, targets)``: the mean's Monte Carlo standard error, sd / sqrt(R).

        nan with fewer than two replicates with a value.
        """
        n = np.isfinite(self.values).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sd = np.nanstd(self.values, axis=1, ddof=1)
        return np.where(n >= 2, sd / np.sqrt(np.maximum(n, 1)), np.nan)


def _simulate(
    points: tuple[RunParams, ...], stacked: bool, reads: tuple[tuple[slice, str], ...]
) -> np.ndarray:
    """Simulate candidates; ``(len(points), R, targets)`` values of the ``(rounds, metric)``."""
    if stacked:
        run = Run(points[0], points=points)
        while not run.done:
            run.step()
        recorders = [run.recorder]
    else:
        recorders = [simulate(p).recorder for p in points]
    out = []
    for rec in recorders:
        by_slice: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        cols = []
        for sl, metric in reads:
            key = (sl.start, sl.stop)
            if key not in by_slice:
                by_slice[key] = rates(rec, sl, axis=1)
            cols.append(by_slice[key][metric])
        out.append(np.stack(cols, axis=-1))
    R = points[0].replicates
    return np.concatenate(out).reshape(len(points), R, len(reads)).astype(np.float64)


def evaluate(
    prepared: Prepared, workers: int = 1, chunk: int = 32, progress: bool = False
) -> Evaluation:
    """Simulate every candidate on common random numbers and read its targets.

    Args:
        prepared: the spec and every candidate's parameters (:func:`analysis.calibrate.prepare`).
        workers: processes over chunks (forked where the platform can); the results do not
            depend on it.
        chunk: candidates per job (stacked into one run in grid mode).
        progress: show a progress bar over candidates.

    Raises:
        ConfigError: a target's metric is undefined at every candidate (its phase has no
            such episodes).
    """
    stacked = grid_mode(prepared.base)
    slices = phase_slices(prepared.base.phases)
    targets = prepared.spec.targets
    reads = tuple((slices[t.phase], t.metric) for t in targets)
    params = prepared.params
    jobs = [(tuple(params[i : i + chunk]), stacked, reads) for i in range(0, len(params), chunk)]
    done: dict[int, np.ndarray] = {}
    with tqdm(total=len(params), disable=not progress, unit="candidate", desc="calibrate") as bar:
        if workers == 1 or len(jobs) == 1:
            for i, job in enumerate(jobs):
                done[i] = _simulate(*job)
                bar.update(len(job[0]))
        else:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {pool.submit(_simulate, *job): i for i, job in enumerate(jobs)}
                for fut in as_completed(futures):
                    i = futures[fut]
                    done[i] = fut.result()
                    bar.update(len(jobs[i][0]))
    ev = Evaluation(np.concatenate([done[i] for i in range(len(jobs))]), "grid" if stacked else
                    "per-candidate")  # fmt: skip
    undefined = np.isnan(ev.mean).all(axis=0)
    if undefined.any():
        i = int(np.argmax(undefined))
        t = targets[i]
        raise ConfigError(
            f"targets[{i}]: {t.metric} is undefined in phase {t.phase!r} at every candidate "
            "(the phase has no such episodes)"
        )
    return ev


def deviance(sim: np.ndarray, targets: tuple[Target, ...]) -> np.ndarray:
    """Each target's deviance at each candidate, ``(candidates, targets)``.

    Binomial for a target with ``n``, normal for one with ``sd`` (module docstring); ``inf``
    where the simulated rate is undefined (nan).
    """
    sim = np.asarray(sim, dtype=np.float64)
    value = np.array([t.value for t in targets])
    n = np.array([np.nan if t.n is None else t.n for t in targets], dtype=np.float64)
    sd = np.array([np.nan if t.sd is None else t.sd for t in targets], dtype=np.float64)
    p = np.clip(sim, EPS, 1 - EPS)
    k = value * n
    with np.errstate(invalid="ignore", divide="ignore"):
        binomial = 2 * (xlogy(k, k / (n * p)) + xlogy(n - k, (n - k) / (n * (1 - p))))
        normal = ((sim - value) / sd) ** 2
    d = np.where(np.isfinite(n), binomial, normal)
    return np.where(np.isfinite(sim), np.maximum(d, 0.0), np.inf)


def target_se(sim: np.ndarray, targets: tuple[Target, ...]) -> np.ndarray:
    """Each target's standard error at simulated rates ``sim`` (``(..., targets)``).

    ``sqrt(p·(1 − p)/n)`` at the clipped simulated rate for a binomial target (the spread the
    deviance weighs a residual by), ``sd`` for a normal one.
    """
    n = np.array([np.nan if t.n is None else t.n for t in targets], dtype=np.float64)
    sd = np.array([np.nan if t.sd is None else t.sd for t in targets], dtype=np.float64)
    p = np.clip(sim, EPS, 1 - EPS)
    return np.where(np.isfinite(n), np.sqrt(p * (1 - p) / n), sd)


@dataclass(frozen=True)
class Profile:
    """The profile deviance of one fitted axis and its 95% interval.

    Attributes:
        axis: the axis's name.
        values: its candidate values.
        deviance: the profile: the smallest total deviance over the other axes at each value.
        best: the value at the best candidate.
        low: the lowest value with ``deviance <= min + 3.84``.
        high: the highest such value.
        lower_edge: ``low`` is the grid's lowest value (the interval may extend beyond it).
        upper_edge: ``high`` is the grid's highest value.
        gaps: some value between ``low`` and ``high`` is outside (the set is not contiguous).
        identified: the interval does not span the whole candidate range.
    """

    axis: str
    values: np.ndarray
    deviance: np.ndarray
    best: float
    low: float
    high: float
    lower_edge: bool
    upper_edge: bool
    gaps: bool
    identified: bool


def profiles(total: np.ndarray, axes: tuple[Axis, ...], best: int) -> tuple[Profile, ...]:
    """The profile of every fitted axis (more than one value) of a full product grid.

    Args:
        total: the total deviance per candidate, in the product order of ``axes``.
        axes: every axis (fixed ones included).
        best: the best candidate's index.
    """
    shape = tuple(len(a.values) for a in axes)
    grid = total.reshape(shape)
    at = np.unravel_index(best, shape)
    floor = float(total.min())
    out = []
    for j, axis in enumerate(axes):
        if not axis.fitted:
            continue
        others = tuple(i for i in range(len(axes)) if i != j)
        prof = grid.min(axis=others) if others else grid
        inside = prof <= floor + CHI2_95
        idx = np.flatnonzero(inside)
        values = np.asarray(axis.values)
        out.append(
            Profile(
                axis=axis.name,
                values=values,
                deviance=prof,
                best=float(values[at[j]]),
                low=float(values[idx[0]]),
                high=float(values[idx[-1]]),
                lower_edge=bool(idx[0] == 0),
                upper_edge=bool(idx[-1] == len(values) - 1),
                gaps=bool(idx[-1] - idx[0] + 1 != idx.size),
                identified=not bool(inside.all()),
            )  # fmt: skip
        )
    return tuple(out)


def refined(spec: Spec, found: tuple[Profile, ...]) -> Spec:
    """A finer grid: midpoints inserted around the 95% interval of every identified axis.

    On each identified axis the midpoints between consecutive values are added from one value
    below the interval's lowest to one above its highest; other axes are unchanged. The
    result is again a full product, so the fit and its profiles work as on the first grid.
    """
    by_name = {p.axis: p for p in found if p.identified}
    parameters = []
    for param in spec.parameters:
        axes = []
        for axis in param.axes:
            prof = by_name.get(axis.name)
            if prof is None:
                axes.append(axis)
                continue
            v = np.asarray(axis.values)
            lo = max(int(np.searchsorted(v, prof.low)) - 1, 0)
            hi = min(int(np.searchsorted(v, prof.high)) + 1, len(v) - 1)
            mids = {tidy(x) for x in (v[lo:hi] + v[lo + 1 : hi + 1]) / 2}
            axes.append(Axis(axis.name, tuple(sorted(set(axis.values) | mids))))
        parameters.append(replace(param, axes=tuple(axes)))
    return replace(spec, parameters=tuple(parameters))


def sensitivity(sim: np.ndarray, axes: tuple[Axis, ...], best: int) -> np.ndarray:
    """Change of each target's simulated value per unit of each fitted axis, at the best.

    Finite differences along the grid through the best candidate (the other axes at their
    best values): central where the best has neighbours on both sides, one-sided at an edge.

    Returns:
        ``(fitted axes, targets)``.
    """
    shape = tuple(len(a.values) for a in axes)
    grid = sim.reshape(*shape, sim.shape[-1])
    at = np.unravel_index(best, shape)
    rows = []
    for j, axis in enumerate(axes):
        if not axis.fitted:
            continue
        lo, hi = max(at[j] - 1, 0), min(at[j] + 1, shape[j] - 1)
        a, b = list(at), list(at)
        a[j], b[j] = lo, hi
        step = axis.values[hi] - axis.values[lo]
        rows.append((grid[tuple(b)] - grid[tuple(a)]) / step)
    return np.array(rows).reshape(-1, sim.shape[-1])


@dataclass(frozen=True)
class Fit:
    """The fit of a calibration.

    Attributes:
        prepared: the spec and its candidates.
        deviance: ``(candidates, targets)``: each target's deviance.
        total: ``(candidates,)``: the total deviance.
        best: the best candidate's index (smallest total; the first in product order on ties).
        df: the degrees of freedom, targets minus fitted axes.
        p_value: the chi-square goodness-of-fit p-value of the best's deviance on ``df``
            degrees of freedom (None if ``df <= 0``; approximate: the best is a grid point).
        sim: the best's simulated value per target.
        mc_se: its Monte Carlo standard error per target.
        se: each target's standard error (:func:`target_se`) at the best.
        residual: each target's standardised residual, ``sign(value − sim)·sqrt(deviance)``.
        profiles: one per fitted axis.
        sensitivity: ``(fitted axes, targets)`` (:func:`sensitivity`).
        warnings: one line each (the simulation's Monte Carlo error too large, ...).
        path: how the candidates were simulated (``grid`` or ``per-candidate``).
        refined: how many rounds of refinement made the grid (:func:`refined`).
    """

    prepared: Prepared
    deviance: np.ndarray
    total: np.ndarray
    best: int
    df: int
    p_value: float | None
    sim: np.ndarray
    mc_se: np.ndarray
    se: np.ndarray
    residual: np.ndarray
    profiles: tuple[Profile, ...]
    sensitivity: np.ndarray
    warnings: tuple[str, ...]
    path: str
    refined: int = 0

    @property
    def point(self) -> dict:
        """The best candidate's config values (key -> value)."""
        return self.prepared.points[self.best]

    @property
    def coords(self) -> dict[str, float]:
        """The best candidate's value of every axis."""
        axes = self.prepared.spec.axes
        return {
            a.name: float(x) for a, x in zip(axes, self.prepared.coords[self.best], strict=True)
        }


def fit(prepared: Prepared, evaluation: Evaluation, refined: int = 0) -> Fit:
    """The best candidate, its residuals, the profile intervals and the sensitivity table.

    ``refined``: the rounds of refinement that made the grid (recorded only).
    """
    targets = prepared.spec.targets
    axes = prepared.spec.axes
    mean, mc = evaluation.mean, evaluation.mc_se
    dev = deviance(mean, targets)
    total = dev.sum(axis=1)
    best = int(np.argmin(total))
    sim = mean[best]
    se = target_se(sim, targets)
    residual = np.sign(np.array([t.value for t in targets]) - sim) * np.sqrt(dev[best])
    fitted = sum(a.fitted for a in axes)
    df = len(targets) - fitted
    p_value = float(chdtrc(df, total[best])) if df > 0 else None
    notes = []
    for t, m, s in zip(targets, mc[best], se, strict=True):
        if np.isfinite(m) and m > MC_WARN * s:
            notes.append(
                f"{t.label}: the simulation's Monte Carlo error ({m:.2g}) is {m / s:.2f} of the "
                f"target's standard error ({s:.2g}), not small: raise n_agents or replicates"
            )
    if np.isnan(mc[best]).any():
        notes.append("one replicate: the Monte Carlo error is unknown (use replicates >= 2)")
    if df < 0:
        notes.append(f"more fitted axes ({fitted}) than targets ({len(targets)}): expect ridges")
    return Fit(
        prepared=prepared, deviance=dev, total=total, best=best, df=df, p_value=p_value, sim=sim,
        mc_se=mc[best], se=se, residual=residual, profiles=profiles(total, axes, best),
        sensitivity=sensitivity(mean, axes, best), warnings=tuple(notes), path=evaluation.path,
        refined=refined,
    )  # fmt: skip


__all__ = [
    "CHI2_95", "EPS", "Evaluation", "Fit", "Prepared", "Profile", "deviance", "evaluate", "fit",
    "grid_mode", "prepare", "profiles", "refined", "sensitivity", "target_se",
]  # fmt: skip
