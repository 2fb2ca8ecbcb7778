"""Benchmark the engine alone: agent-rounds per second and bytes of state per agent.

Usage:
    python benchmarks/engine.py --agents 1000000 --rounds 20 [--replicates 1] [--record]
        [--mix conflict|mixed]

``--mix mixed`` runs the scheming repertoire's round: half conflict requests, a tenth
each of evaluations, exfiltration, subversion, goal-update and paired episodes
(target: at most twice the per-agent cost of a conflict-only round).

Runs on one core (BLAS threads are irrelevant here: the engine is elementwise numpy).
The population is the study default; the phase trains (the most work per round).
The last line printed is ``agent_rounds_per_s=<number>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from sim.config import load_params  # noqa: E402
from sim.core import K_UNIFORMS, transition  # noqa: E402
from sim.engine import make_game  # noqa: E402
from sim.episodes import V_UNIFORMS, SubsetStreams  # noqa: E402
from sim.params import PhaseSpec  # noqa: E402
from sim.population import sample_population  # noqa: E402
from sim.recorder import Recorder  # noqa: E402
from sim.rng import Component, RoundStreams  # noqa: E402

MIXED = (0.5, 0.1, 0.1, 0.1, 0.1, 0.1)
NO_EVAL = (0.5, 0.0, 0.125, 0.125, 0.125, 0.125)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--replicates", type=int, default=1)
    ap.add_argument("--record", action="store_true", help="also record per-round aggregates")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mix", choices=("conflict", "mixed", "no_eval"), default="conflict")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    _, params = load_params([f"seed={args.seed}"])
    phase = PhaseSpec("bench", args.rounds, True)
    extra = None
    if args.mix != "conflict":
        phase = PhaseSpec("bench", args.rounds, True, MIXED if args.mix == "mixed" else NO_EVAL)
        params = replace(params, phases=(phase,))
        extra = RoundStreams(args.seed, args.replicates, args.agents, V_UNIFORMS,
                             component=Component.REPERTOIRE)  # fmt: skip
    state = sample_population(params.population, args.seed, args.replicates, args.agents)
    streams = RoundStreams(args.seed, args.replicates, args.agents, K_UNIFORMS)
    game = make_game(params, phase, state)
    rec = Recorder(args.replicates, args.agents, args.rounds) if args.record else None

    subsets = SubsetStreams.create(args.seed, args.replicates)

    def step(state):
        if extra is None:
            return transition(state, game, streams.draw())
        return transition(state, game, streams.draw(), extra.draw(), subsets)

    state, _ = step(state)  # warm-up (page faults, caches)
    t0 = time.perf_counter()
    for t in range(args.rounds):
        new_state, out = step(state)
        if rec is not None:
            rec.record(t, state, out)
        state = new_state
    elapsed = time.perf_counter() - t0

    rate = args.agents * args.replicates * args.rounds / elapsed
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, python {platform.python_version()}, numpy {np.__version__}")
    sizes = f"agents={args.agents} replicates={args.replicates} rounds={args.rounds}"
    print(f"{sizes} record={args.record} mix={args.mix}")
    print(f"seconds={elapsed:.3f} ms_per_round={1e3 * elapsed / args.rounds:.2f}")
    per_agent = state.nbytes_per_agent() + game.loss_rate.itemsize
    print(f"state_bytes_per_agent={per_agent:.0f}")
    print(f"agent_rounds_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
