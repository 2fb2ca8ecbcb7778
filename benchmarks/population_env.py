"""Benchmark the environments: agent-steps per second, against CartPole in the same run.

Usage:
    python benchmarks/population_env.py [--agents 4096] [--seconds 3] [--record]

Measures, one after the other on one core: Gymnasium's ``CartPole-v1`` (the baseline),
the single-agent ``sim/TrainingGame-v0``, the PettingZoo environment with 64 agents and
the config's trainer, and :class:`sim.envs.population.PopulationVecEnv` with ``--agents``
agents (target: at least 10^6 agent-steps per second at 4,096, issue 20). Random actions
drawn before the clock starts. Each line is ``<name> agent_steps_per_s=<n> ratio=<x>``,
the ratio to CartPole's steps per second in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import gymnasium as gym
import numpy as np

import sim.envs  # noqa: F401 - registers
from sim.envs import PopulationVecEnv, TrainingGameParallelEnv


def _rate(step, reset, seconds: float, agents: int) -> float:
    reset()
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(50):
            if step():
                reset()
        n += 50
    return n * agents / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=4096)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--record", action="store_true", help="the population env records")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 2, 4096)

    cart = gym.make("CartPole-v1")
    i = [0]

    def cart_step():
        i[0] += 1
        _, _, term, trunc, _ = cart.step(int(acts[i[0] % 4096]))
        return term or trunc

    base = _rate(cart_step, lambda: cart.reset(seed=0), args.seconds, 1)

    single = gym.make("sim/TrainingGame-v0", overrides=["seed=0"], record=False)

    def single_step():
        i[0] += 1
        return single.step(int(acts[i[0] % 4096]))[3]

    rates = {"single": _rate(single_step, lambda: single.reset(seed=0), args.seconds, 1)}

    par = TrainingGameParallelEnv(["n_agents=64", "seed=0"], trainer="config", record=False)
    joint = {a: int(acts[k]) for k, a in enumerate(par.ai_agents)}

    def par_step():
        par.step(joint)
        return not par.agents

    rates["parallel_64"] = _rate(par_step, lambda: par.reset(seed=0), args.seconds, 64)

    pop = PopulationVecEnv([f"n_agents={args.agents}", "seed=0"], record=args.record)
    batch = rng.integers(0, 2, args.agents)
    rates[f"population_{args.agents}"] = _rate(
        lambda: pop.step(batch) and False, lambda: pop.reset(seed=0), args.seconds, args.agents
    )
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, python {platform.python_version()}, numpy {np.__version__}")
    print(f"cartpole agent_steps_per_s={base:.0f} ratio=1.00")
    for name, r in rates.items():
        print(f"{name} agent_steps_per_s={r:.0f} ratio={r / base:.2f}")


if __name__ == "__main__":
    main()
