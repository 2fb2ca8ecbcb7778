"""Benchmark grid mode against the equivalent Hydra multirun (docs/performance.md).

Usage:
    python benchmarks/grid.py [--size 51] [--replicates 8] [--agents 1000] [--rounds 200]
        [--chunk 32] [--workers 2] [--multirun-jobs 24] [--full-multirun] [--repertoire]

The grid is ``population.sigma = linspace(0, 1, size)`` x ``trainer.rho =
linspace(0.05, 0.95, size)`` in the alignment-faking scenario with ``rounds`` rounds in
all (prompted 10%, rl 80%, post_rl 10%). Grid mode runs the whole grid in one command
(``python -m sim sweep.grid=...``, timed end to end: start-up, simulation, tables,
writing). The multirun is the same points as ``python -m sim -m`` jobs on the joblib
launcher with one job per core; by default ``--multirun-jobs`` points spread over the
grid are run and the time per point is extrapolated to the whole grid (say so when you
quote it), or with ``--full-multirun`` the whole grid (about an hour at 51 x 51).
Target: the 51 x 51 grid with 8 replicates of 1,000 agents over 200 rounds in under 60 s.

``--repertoire``: the scheming repertoire instead (``scenario=scheming_mix`` with random
audits, its own rounds): ``mitigation.random_audits.rate = linspace(0, 0.5, size)`` x
``population.sigma = linspace(0, 1, size)`` (both stacked: rows of one run per chunk).
Target: at least 20 times faster than the same points as a joblib multirun (issue 19).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _sim(args: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"python -m sim failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t


def _values(a: float, b: float, n: int) -> list[str]:
    return [f"{float(f'{x:.12g}')!r}" for x in np.linspace(a, b, n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=51, help="points per axis")
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--multirun-jobs", type=int, default=24, help="jobs of the timed sample (<= size)"
    )
    ap.add_argument("--full-multirun", action="store_true")
    ap.add_argument("--skip-multirun", action="store_true")
    ap.add_argument("--repertoire", action="store_true", help="the scheming repertoire's grid")
    args = ap.parse_args()

    edge = max(args.rounds // 10, 1)
    common = [
        f"replicates={args.replicates}", f"n_agents={args.agents}", "progress=false",
        f"phases.prompted.rounds={edge}", f"phases.rl.rounds={args.rounds - 2 * edge}",
        f"phases.post_rl.rounds={edge}",
    ]  # fmt: skip
    x_key, x_range, y_key, y_range = "population.sigma", (0, 1), "trainer.rho", (0.05, 0.95)
    if args.repertoire:  # its own rounds (10 + 100 + 10)
        common = [f"replicates={args.replicates}", f"n_agents={args.agents}", "progress=false",
                  "scenario=scheming_mix", "mitigation=[random_audits]"]  # fmt: skip
        args.rounds = 120
        x_key, x_range = "mitigation.random_audits.rate", (0, 0.5)
        y_key, y_range = "population.sigma", (0, 1)
    points = args.size * args.size
    agent_rounds = points * args.replicates * args.agents * args.rounds
    work = Path(tempfile.mkdtemp(prefix="grid-bench-"))
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    print(
        f"grid {args.size} x {args.size} = {points} points x {args.replicates} replicates x "
        f"{args.agents} agents x {args.rounds} rounds = {agent_rounds:.3g} agent-rounds"
    )
    try:
        spec = (
            f"sweep.grid={{{x_key}:linspace({x_range[0]},{x_range[1]},{args.size}),"
            f"{y_key}:linspace({y_range[0]},{y_range[1]},{args.size})}}"
        )
        grid_s = _sim(
            [*common, spec, f"sweep.chunk={args.chunk}", f"sweep.workers={args.workers}",
             f"hydra.run.dir={work / 'grid'}"], work,
        )  # fmt: skip
        verdict = "met" if grid_s < 60 else "NOT met"
        if (args.size, args.replicates, args.agents, args.rounds) != (51, 8, 1000, 200):
            verdict = "n/a (not the target's size)"
        if args.repertoire:
            verdict = "see the speed-up (target: 20x a multirun)"
        print(
            f"grid mode: {grid_s:.1f} s end to end "
            f"({agent_rounds / grid_s / 1e6:.1f} M agent-rounds/s); target < 60 s: {verdict}"
        )
        if args.skip_multirun:
            return
        xs = _values(*x_range, args.size)
        ys = _values(*y_range, args.size)
        if args.full_multirun:
            sweep = [f"{x_key}={','.join(xs)}", f"{y_key}={','.join(ys)}"]
            n = points
        else:  # a sample: x spread over its axis at the middle y (the cost of a point
            # hardly depends on which point it is)
            n = min(args.multirun_jobs, args.size)
            picked = [xs[i] for i in np.linspace(0, args.size - 1, n).round().astype(int)]
            sweep = [f"{x_key}={','.join(picked)}", f"{y_key}={ys[args.size // 2]}"]
        launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={os.cpu_count()}"]
        multi_s = _sim(
            ["-m", *common, *sweep, *launcher, f"hydra.sweep.dir={work / 'multi'}"], work
        )
        per_point = multi_s / n
        total = per_point * points
        how = "measured" if args.full_multirun else f"extrapolated from {n} jobs ({multi_s:.1f} s)"
        print(f"multirun (joblib, {os.cpu_count()} jobs at a time): {total:.0f} s for the grid, "
              f"{how}; {per_point:.2f} s per point")  # fmt: skip
        print(f"speed-up of grid mode: {total / grid_s:.0f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
