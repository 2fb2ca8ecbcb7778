"""Baseline: a minimal numpy round of the same game, to compare the engine against.

Three uniform draws, a belief, a logit choice and one masked update per agent, in
float32 on one core: the floor any vectorised engine of this game pays. Same
arguments and last line as benchmarks/engine.py.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    n, f32 = args.agents, np.float32
    g = np.random.Generator(np.random.PCG64(0))
    theta = g.random(n, dtype=f32)
    u = np.empty((3, n), dtype=f32)

    def one_round(theta):
        g.random(out=u, dtype=f32)
        observed = u[0] < f32(0.5)
        belief = observed * f32(0.9) + f32(0.05)
        comply = u[2] < f32(1) / (f32(1) + np.exp(f32(-5) * (belief * theta - f32(0.3))))
        return theta * (f32(1) - f32(0.05) * (observed & ~comply))

    theta = one_round(theta)
    t0 = time.perf_counter()
    for _ in range(args.rounds):
        theta = one_round(theta)
    elapsed = time.perf_counter() - t0
    print(f"agents={n} rounds={args.rounds} seconds={elapsed:.3f}")
    print(f"agent_rounds_per_s={n * args.rounds / elapsed:.0f}")


if __name__ == "__main__":
    main()
