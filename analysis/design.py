"""The trainer as a Stackelberg leader: search the oversight design it commits to.

The trainer commits to a design (its levers: ``trainer.rho``, ``trainer.fidelity``,
``trainer.eta``, an audit rate, an inspection rate, any numeric key), announces it (the
rates are the agents' beliefs, disclosed mitigations are weighed), and the agents answer
with their decision rule; with ``population.rule=exact`` they best-respond to the design
by solving their own game (docs/model.md, "The exact planner"). The leader's problem
(docs/design.md):

- with ``--target T``: the cheapest design (``oversight_cost`` per agent-round) whose
  metric is at most ``T`` (and whose cost is within ``--budget`` if one is given);
- with ``--budget B`` alone: the design with the lowest metric whose cost is within ``B``.

The search is a grid over the levers, refined around the best design found
(``--refine`` times, each a grid of the same size over the best point's neighbouring
cells), every design run at the same seed (common random numbers). It assumes nothing
about the metric's shape in the levers; what it guarantees is the best of the designs it
ran, to the final grid's spacing. In the 2x2 inspection game (docs/inspection.md) its
answer is the committed inspector's closed-form rate (tested).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from analysis.audit_rate import VACUOUS
from analysis.cli_args import parse
from sim.config import compose_config, to_params
from sim.errors import ConfigError
from sim.grid import parse_values, run_grid
from sim.metrics import METRICS
from sim.outdir import check, claim

MAX_RUNS = 5000
"""The most designs one search may run (grid points times refinements)."""


def _values(key: str, xs) -> tuple[float, ...]:
    """A lever's values as a grid axis holds them (12 significant digits, finite)."""
    xs = [float(x) for x in xs]
    if not all(np.isfinite(xs)):
        raise ValueError("values must be finite numbers")
    return parse_values(key, xs)


@dataclass(frozen=True)
class Lever:
    """One lever of the design: a config key and the values of its first grid."""

    key: str
    values: tuple[float, ...]

    @staticmethod
    def parse(text: str) -> Lever:
        """``key=lo:hi:n`` (``n`` evenly spaced values) or ``key=v1,v2,...``.

        Raises:
            ConfigError: one line naming the lever.
        """
        key, sep, spec = text.partition("=")
        if not sep or not key or not spec:
            raise ConfigError(f"--lever {text!r}: give key=lo:hi:n or key=v1,v2,...")
        try:
            if ":" in spec:
                lo, hi, n = spec.split(":")
                n = int(n)
                if n < 2 or not float(lo) < float(hi):
                    raise ValueError("needs lo < hi and n >= 2")
                values = _values(key, np.linspace(float(lo), float(hi), n))
            else:
                values = tuple(sorted(set(_values(key, [float(v) for v in spec.split(",")]))))
        except ValueError as exc:
            raise ConfigError(f"--lever {text!r}: {exc}") from exc
        return Lever(key.lstrip("+"), values)


@dataclass(frozen=True)
class Design:
    """The result of :func:`search`.

    Attributes:
        levers: the chosen value of each lever (None: no design met the constraints).
        value: the metric there, its mean over replicates, and ``ci_low``/``ci_high``
            its 95% interval (None with one replicate or vacuous).
        cost: ``oversight_cost`` there.
        feasible: whether any design ran met the constraints.
        evaluations: every design run (one row each: levers, value, interval, cost,
            feasible, the round of refinement).
    """

    levers: dict[str, float] | None
    metric: str
    phase: str
    target: float | None
    budget: float | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    cost: float | None
    feasible: bool
    evaluations: pd.DataFrame

    def describe(self) -> str:
        """One paragraph: the design and what it achieves."""
        n = len(self.evaluations)
        goal = (
            f"{self.metric} <= {self.target:g} at the least cost"
            if self.target is not None
            else f"the lowest {self.metric} within the budget"
        )
        if not self.feasible:
            return f"No design of the {n} run meets the constraints ({goal}, phase '{self.phase}')."
        levers = ", ".join(f"{k}={v:.6g}" for k, v in self.levers.items())
        ci = "" if self.ci_low is None else f" [95% CI {self.ci_low:.4g}, {self.ci_high:.4g}]"
        budget = "" if self.budget is None else f" (budget {self.budget:g})"
        return (
            f"Committed design ({goal}, phase '{self.phase}', {n} designs run on common "
            f"random numbers): {levers}. There {self.metric} is {self.value:.4g}{ci} and "
            f"the oversight cost {self.cost:.4g} per agent-round{budget}."
        )


def _check(cfg, levers: Sequence[Lever]) -> None:
    """Every lever is a numeric key of the config and every grid corner is valid."""
    keys = [lv.key for lv in levers]
    if len(set(keys)) != len(keys):
        raise ConfigError("--lever: each key once")
    for lv in levers:
        parts = lv.key.split(".")
        if parts[0] in ("mitigation", "mitigations") and (
            len(parts) < 3 or parts[1] not in cfg.mitigation
        ):
            raise ConfigError(
                f"--lever {lv.key}: select the mitigation first (mitigation=[{parts[1]}])"
                if len(parts) >= 3
                else f"--lever {lv.key}: not a mitigation parameter"
            )
        value = OmegaConf.select(cfg, lv.key, default=None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"--lever {lv.key}: not a numeric config key")
    for corner in itertools.product(*((lv.values[0], lv.values[-1]) for lv in levers)):
        trial = cfg.copy()
        for lv, x in zip(levers, corner, strict=True):
            OmegaConf.update(trial, lv.key, float(x))
        to_params(trial)  # one line naming the key if a lever's range is out of bounds


def search(
    overrides: Sequence[str], levers: Sequence[Lever], metric: str = "unobserved_defection_rate",
    target: float | None = None, budget: float | None = None, phase: str | None = None,
    refine: int = 2, progress: bool = False,
) -> Design:  # fmt: skip
    """The leader's best design over the levers' grid, refined (module docstring).

    Raises:
        ConfigError: one line for bad input, before any run.
    """
    if metric not in METRICS:
        raise ConfigError(f"--metric {metric!r}: not a metric (python -m sim --list metrics)")
    if target is None and budget is None:
        raise ConfigError("give --target (cheapest design meeting it) or --budget (or both)")
    for name, x in (("--target", target), ("--budget", budget)):
        if x is not None and not (np.isfinite(x) and x >= 0):
            raise ConfigError(f"{name}={x!r} must be a number >= 0")
    if not levers:
        raise ConfigError("give at least one --lever key=lo:hi:n")
    if not 0 <= refine <= 10:
        raise ConfigError(f"--refine={refine} must be between 0 and 10")
    size = int(np.prod([len(lv.values) for lv in levers]))
    if size * (refine + 1) > MAX_RUNS:
        raise ConfigError(f"{size} designs x {refine + 1} rounds is more than {MAX_RUNS} runs")
    cfg = compose_config(list(overrides))
    to_params(cfg)
    _check(cfg, levers)
    names = [p for p in cfg.phases]
    if phase is not None and phase not in names:
        raise ConfigError(f"--phase {phase!r} is not a phase of the run ({', '.join(names)})")
    phase = phase or names[-1]
    done: dict[tuple, dict] = {}

    def evaluate(grids: list[np.ndarray], step: int) -> None:
        """Run one grid of designs as one grid-mode run (stacked where the engine can)."""
        points = [tuple(float(x) for x in p) for p in itertools.product(*grids)]
        if all(p in done for p in points):
            return
        trial = cfg.copy()
        axes = {lv.key: [float(x) for x in g] for lv, g in zip(levers, grids, strict=True)}
        OmegaConf.update(trial, "sweep.grid", axes, merge=False)
        res = run_grid(trial, progress=False)
        for i, point in enumerate(points):
            if point in done:
                continue
            m = res.point_metrics(i)[phase]
            s = dict(m[metric])
            if s["mean"] is None:
                if metric not in VACUOUS or (s.get("trials") or 0) > 0:
                    raise ConfigError(f"{metric} is undefined in phase '{phase}' at {point}")
                s = {"mean": 0.0, "ci_low": None, "ci_high": None}  # nothing unseen: vacuously 0
            cost = float(m["oversight_cost"]["mean"])
            ok = (target is None or s["mean"] <= target) and (budget is None or cost <= budget)
            row = {lv.key: float(x) for lv, x in zip(levers, point, strict=True)}
            row |= {"value": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                    "cost": cost, "feasible": bool(ok), "round": step}  # fmt: skip
            done[point] = row
            if progress:
                print(f"[{len(done)}] {point}: {metric}={s['mean']:.4g} cost={cost:.4g}",
                      file=sys.stderr, flush=True)  # fmt: skip

    def rank(row):  # the leader's order: feasible first, then its objective
        first, second = (row["cost"], row["value"]) if target is not None else (
            row["value"], row["cost"])  # fmt: skip
        return (not row["feasible"], first, second)

    grids = [np.asarray(lv.values) for lv in levers]
    for step in range(refine + 1):
        evaluate(grids, step)
        best = min(done.values(), key=rank)
        if step == refine:
            break
        new = []  # the best point's neighbouring cells, as fine as the grid has points
        for lv, grid in zip(levers, grids, strict=True):
            x = best[lv.key]
            i = int(np.argmin(np.abs(grid - x)))
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
            new.append(np.unique(_values(lv.key, np.linspace(lo, hi, len(lv.values)))))
        grids = new
    table = pd.DataFrame(list(done.values()))
    feasible = bool(best["feasible"])
    return Design(
        levers={lv.key: best[lv.key] for lv in levers} if feasible else None,
        metric=metric, phase=phase, target=target, budget=budget,
        value=best["value"] if feasible else None,
        ci_low=best["ci_low"] if feasible else None,
        ci_high=best["ci_high"] if feasible else None,
        cost=best["cost"] if feasible else None, feasible=feasible, evaluations=table,
    )  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis design",
        description="The trainer's committed design (a Stackelberg leader): the cheapest "
        "design meeting --target, or the best within --budget, over a grid of levers, "
        "refined. Positional arguments are Hydra overrides, as for python -m sim.",
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the base scenario")
    p.add_argument("--lever", action="append", default=[], metavar="KEY=SPEC",
                   help="a lever: key=lo:hi:n or key=v1,v2,... (repeat for more)")  # fmt: skip
    p.add_argument("--metric", default="unobserved_defection_rate",
                   help="the metric to hold down (default unobserved_defection_rate)")  # fmt: skip
    p.add_argument("--target", type=float, default=None, help="largest acceptable metric")
    p.add_argument("--budget", type=float, default=None, help="cost budget per agent-round")
    p.add_argument("--phase", default=None, help="phase the metric is read in (default: last)")
    p.add_argument("--refine", type=int, default=2, help="refinements of the grid (default 2)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default design/)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    try:
        args = parse(parser(), argv)
        levers = [Lever.parse(t) for t in args.lever]
        out = args.out or Path("design")
        check(out)  # refused before the runs
        res = search(
            args.overrides, levers, args.metric, args.target, args.budget, args.phase,
            args.refine, progress=not args.quiet,
        )  # fmt: skip
        out = claim(out)
        res.evaluations.to_csv(out / "evaluations.csv", index=False)
        summary = {
            "overrides": args.overrides, "levers": {lv.key: list(lv.values) for lv in levers},
            "metric": res.metric, "phase": res.phase, "target": res.target,
            "budget": res.budget, "refine": args.refine, "feasible": res.feasible,
            "design": res.levers, "value": res.value, "ci_low": res.ci_low,
            "ci_high": res.ci_high, "cost": res.cost,
        }  # fmt: skip
        (out / "design.json").write_text(json.dumps(summary, indent=2) + "\n")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(res.describe())
    print(f"-> {out}/design.json")
    return 0
