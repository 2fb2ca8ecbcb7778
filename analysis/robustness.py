"""``python -m analysis robustness``: how often each verdict of a comparison holds.

A verdict of ``python -m analysis compare`` (docs/compare.md) is measured at one setting
of the constants no study pins down: the agents' discount ``gamma``, honesty cost ``h``
and rationality ``lam``, and the trainer's update strengths ``eta`` and ``eta_phi``
(issue 23). This command draws a Latin hypercube over them (:data:`AXES`, scipy's
``qmc.LatinHypercube`` from ``--seed``), runs the comparison at every point (the same
designs, each on the run's own seed: common random numbers within a point), and reports
each design's verdict shares per behaviour. Nothing is run before every design's config
at the first point is valid; the folder is written at the end.

Outputs (``--out``): ``robustness.parquet`` (one row per point x design x behaviour: the
point's constants and the verdict), ``shares.csv`` (design x behaviour: the share of
points with each verdict, over the points where the behaviour is present at baseline)
and ``robustness.json`` (the command's arguments).

With ``--calibration DIR`` the points are instead the candidates of a calibration
(``python -m analysis calibrate``, docs/calibration.md) inside its joint confidence
region, ``deviance <= min + chi2_level(k)`` with ``k`` fitted axes: the trait
distributions the studies' figures do not rule out (at most ``--points`` of them, a
seeded sample when there are more).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from analysis.compare import comparison_table, prepare, verdict_phase, verdict_table
from sim.errors import ConfigError
from sim.outdir import check as out_check
from sim.outdir import claim

AXES = {
    "population.gamma": (0.95, 0.995),
    "population.h": (0.0, 0.2),
    "population.lam": (3.0, 30.0),
    "trainer.eta": (0.01, 0.1),
    "trainer.eta_phi": (0.05, 0.3),
}
"""The constants varied and their ranges (around the study population's defaults)."""
VERDICTS = ("removed", "hidden", "reduced", "no effect", "made worse")
MAX_POINTS = 10_000


def sample_points(n: int, seed: int) -> pd.DataFrame:
    """``n`` Latin-hypercube points over :data:`AXES`, one column per key."""
    unit = qmc.LatinHypercube(d=len(AXES), seed=np.random.default_rng(seed)).random(n)
    lo = np.array([a for a, _ in AXES.values()])
    hi = np.array([b for _, b in AXES.values()])
    return pd.DataFrame(lo + unit * (hi - lo), columns=list(AXES)).round(6)


def calibrated_points(folder: Path, level: float, n: int, seed: int) -> pd.DataFrame:
    """The candidates of a calibration folder in its joint confidence region, as overrides.

    One column per fitted config key, each value in Hydra's syntax (``[beta,0.26,1.74]``).

    Raises:
        ConfigError: one line naming the missing or unreadable file.
    """
    from scipy.stats import chi2

    from analysis.calibrate_spec import _parameter, _read_yaml
    from sim.config import hydra_text

    folder = Path(folder)
    spec, table = folder / "spec.yaml", folder / "candidates.parquet"
    for f in (spec, table):
        if not f.is_file():
            raise ConfigError(f"--calibration: {f}: missing (not a calibration folder)")
    if not 0 < level < 1:
        raise ConfigError(f"--level={level} must be between 0 and 1")
    raw = _read_yaml(spec).get("parameters")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"--calibration: {spec}: no parameters")
    params = [_parameter(str(k), v) for k, v in raw.items()]
    try:
        cand = pd.read_parquet(table)
        axes = [a.name for p in params for a in p.axes]
        coords, dev = cand[axes].to_numpy(dtype=float), cand["deviance"].to_numpy(dtype=float)
    except Exception as exc:  # a truncated or foreign file: one line naming it
        raise ConfigError(f"--calibration: {table}: unreadable ({exc})") from exc
    k = sum(a.fitted for p in params for a in p.axes)
    inside = np.flatnonzero(dev <= np.nanmin(dev) + chi2.ppf(level, max(k, 1)))
    if inside.size > n:
        inside = np.sort(np.random.default_rng(seed).choice(inside, n, replace=False))
    rows = []
    for i in inside:
        j, row = 0, {}
        for p in params:
            row[p.key] = hydra_text(p.config_value(coords[i, j : j + len(p.axes)]))
            j += len(p.axes)
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(inside, name="candidate")).reset_index(drop=True)


def verdicts_at(
    overrides: Sequence[str], designs: Sequence[str], phase: str | None, probe: int = 0
):
    """The comparison's verdict table at one setting (runs in memory, writes nothing)."""
    from sim.api import execute

    spec, configs = prepare(overrides, designs, phase, probe)
    results = {name: execute(cfg, progress=False) for name, cfg in configs.items()}
    return verdict_table(comparison_table(results), verdict_phase(spec, results), probe > 0)


def robustness(
    overrides: Sequence[str], designs: Sequence[str], points: pd.DataFrame,
    phase: str | None = None, progress: bool = False, probe: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Every point's verdicts (tidy) and each design's verdict shares per behaviour."""
    rows = []
    for i, point in points.iterrows():
        ovs = [*overrides, *(f"{k}={v}" for k, v in point.items())]
        v = verdicts_at(ovs, designs, phase, probe)[["design", "behaviour", "verdict"]]
        for k, x in point.items():
            v[k] = x
        v.insert(0, "point", int(i))
        rows.append(v)
        if progress:
            print(f"[{int(i) + 1}/{len(points)}]", file=sys.stderr, flush=True)
    tidy = pd.concat(rows, ignore_index=True)
    present = tidy[tidy["verdict"] != "not present"]
    counts = present.groupby(["design", "behaviour", "verdict"]).size().unstack(fill_value=0)
    for v in VERDICTS:
        if v not in counts:
            counts[v] = 0
    counts = counts[list(VERDICTS)]
    shares = counts.div(counts.sum(axis=1), axis=0).round(3)
    shares["points"] = counts.sum(axis=1)
    return tidy, shares.reset_index()


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis robustness",
        description="Verdict shares of oversight designs over a Latin hypercube of "
        "gamma, h, lam, eta and eta_phi. Positional arguments are Hydra overrides of the "
        "base scenario, as for python -m analysis compare.",
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the base scenario")
    p.add_argument("--designs", nargs="+", default=["noisy_monitoring"],
                   help="designs, as for compare (default: noisy_monitoring)")  # fmt: skip
    p.add_argument("--points", type=int, default=40, help="Latin-hypercube points (default 40)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hypercube (default 0)")
    p.add_argument("--phase", default=None, help="phase the verdicts read (default: the last)")
    p.add_argument("--calibration", type=Path, default=None,
                   help="a calibration folder: its candidates in the confidence region "
                   "are the points (instead of the hypercube)")  # fmt: skip
    p.add_argument("--level", type=float, default=0.95,
                   help="the confidence region's level (default 0.95)")  # fmt: skip
    p.add_argument("--probe", type=int, default=0,
                   help="rounds of a deployment probe, as for compare (0: none)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="output folder (default robustness/)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    from analysis.cli_args import parse

    try:
        args = parse(parser(), argv)
        if not 2 <= args.points <= MAX_POINTS:
            raise ConfigError(f"--points={args.points} must be between 2 and {MAX_POINTS}")
        if args.seed < 0:
            raise ConfigError(f"--seed={args.seed} must be >= 0")
        if args.calibration is None:
            points = sample_points(args.points, args.seed)
        else:
            points = calibrated_points(args.calibration, args.level, args.points, args.seed)
        first = [*args.overrides, *(f"{k}={v}" for k, v in points.iloc[0].items())]
        prepare(first, args.designs, args.phase, args.probe)  # all valid before any run
        out = args.out or Path("robustness")
        out_check(out)  # a symlink or a folder of someone else's: refused before the runs
        tidy, shares = robustness(
            args.overrides, args.designs, points, args.phase, not args.quiet, args.probe
        )
        out = claim(out)
        tidy.to_parquet(out / "robustness.parquet", index=False)
        shares.to_csv(out / "shares.csv", index=False)
        spec = {"overrides": args.overrides, "designs": args.designs, "points": args.points,
                "seed": args.seed, "phase": args.phase, "probe": args.probe,
                "axes": AXES if args.calibration is None else list(points.columns),
                "calibration": None if args.calibration is None else str(args.calibration),
                "level": args.level, "candidates": len(points)}  # fmt: skip
        (out / "robustness.json").write_text(json.dumps(spec, indent=2) + "\n")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(shares.to_string(index=False))
    print(f"-> {out}/shares.csv")
    return 0
