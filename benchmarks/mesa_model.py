"""Benchmark the Mesa model against the engine: agent-rounds per second, and their ratio.

Usage:
    python benchmarks/mesa_model.py [--agents 10000] [--rounds 200] [--repeats 5]

The default scenario (alignment_faking) with its phases shortened to ``--rounds`` rounds
(5% prompted, 90% rl, 5% post_rl), one replicate, seed 0. Timed, best of ``--repeats``
interleaved runs:

- ``engine``: ``simulate(params)`` (population sampling and every round, recorded);
- ``mesa_steps``: ``SimModel.run_model()`` after construction (every round through
  ``Run.step``, the agents' bookkeeping and the DataCollector's model reporters);
- ``mesa_build``: ``SimModel(...)`` (Hydra composition, population, N + 1 agent views);
- ``run_steps``: the bare ``Run.step`` loop, to show the adapter's own cost per round.

Target: the Mesa model runs at no less than a fifth of the engine's agent-rounds per
second (``ratio = engine rate / mesa rate <= 5``). Pinned to one core. The last line
printed is ``ratio=<number>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import mesa  # noqa: E402
import numpy as np  # noqa: E402

from sim.abm import SimModel  # noqa: E402
from sim.config import load_params  # noqa: E402
from sim.engine import Run, simulate  # noqa: E402


def phases(rounds: int) -> dict[str, int]:
    """The default scenario's phases shortened to ``rounds`` in all."""
    edge = max(1, rounds // 20)
    return {
        "phases__prompted__rounds": edge,
        "phases__rl__rounds": rounds - 2 * edge,
        "phases__post_rl__rounds": edge,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    kw = phases(args.rounds)
    overrides = [f"{k.replace('__', '.')}={v}" for k, v in kw.items()]
    _, params = load_params(
        [f"n_agents={args.agents}", "replicates=1", f"seed={args.seed}", *overrides]
    )
    work = args.agents * args.rounds
    best = {"engine": np.inf, "mesa_steps": np.inf, "mesa_build": np.inf, "run_steps": np.inf}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        simulate(params)
        best["engine"] = min(best["engine"], time.perf_counter() - t0)

        run = Run(params)
        t0 = time.perf_counter()
        while not run.done:
            run.step()
        best["run_steps"] = min(best["run_steps"], time.perf_counter() - t0)
        del run

        t0 = time.perf_counter()
        model = SimModel(n_agents=args.agents, seed=args.seed, **kw)
        t1 = time.perf_counter()
        model.run_model()
        t2 = time.perf_counter()
        assert model.steps == args.rounds and not model.running
        best["mesa_build"] = min(best["mesa_build"], t1 - t0)
        best["mesa_steps"] = min(best["mesa_steps"], t2 - t1)
        del model

    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, python {platform.python_version()}, numpy {np.__version__}, "
          f"mesa {mesa.__version__}")  # fmt: skip
    print(f"agents={args.agents} rounds={args.rounds} repeats={args.repeats} (best of)")
    for name, seconds in best.items():
        print(f"{name}: seconds={seconds:.3f}")
    engine = work / best["engine"]
    steps = work / best["mesa_steps"]
    whole = work / (best["mesa_build"] + best["mesa_steps"])
    adapter = (best["mesa_steps"] - best["run_steps"]) / args.rounds
    print(f"engine_agent_rounds_per_s={engine:.0f}")
    print(f"mesa_agent_rounds_per_s={steps:.0f} (stepping)")
    print(f"mesa_end_to_end_agent_rounds_per_s={whole:.0f} (construction included)")
    print(f"adapter_and_collector_ms_per_round={1e3 * adapter:.3f}")
    print(f"ratio_end_to_end={engine / whole:.2f}")
    print(f"ratio={engine / steps:.2f}")


if __name__ == "__main__":
    main()
