"""Train Stable-Baselines3 PPO on a population: the agents of one run as a vector env.

Each of ``--agents`` agents of one run of the core is a sub-environment of
:class:`sim.envs.population.PopulationVecEnv` (wrapped for stable-baselines3 by
:func:`sim.envs.population.to_sb3`); one policy is shared by all of them and every
lifetime is a new population. After training, the policy plays held-out lifetimes and
the script reports the **compliance gap** of the training phase: the share of conflict
requests complied with when the trainer observes the episode minus when it does not (by
the trainer's coin, which the agents never see). Run for three conditions: full
awareness (the default population has ``sigma ~ Beta``, this sets ``sigma = 1``), no
awareness (``sigma = 0``) and an uninformative cue (``fidelity = 0.5``), over training
seeds, with a Student-t interval over the seeds. docs/envs.md reports a run.

Needs the ``rl`` extra::

    /tmp/rlvenv/bin/python docs/examples/sb3_population.py            # about 15 minutes
    /tmp/rlvenv/bin/python docs/examples/sb3_population.py --seeds 1 --lifetimes 2
    /tmp/rlvenv/bin/python docs/examples/sb3_population.py trainer.eta=0.3

Trailing arguments are Hydra overrides added to every condition.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy import stats
from stable_baselines3 import PPO

from sim.envs.population import PopulationVecEnv, to_sb3

CONDITIONS = {
    "aware, informative cue": ["population.sigma=1"],
    "unaware (sigma = 0)": ["population.sigma=0"],
    "uninformative cue (fidelity = 0.5)": ["population.sigma=1", "trainer.fidelity=0.5"],
}


def gap(model, overrides, agents: int, seed: int) -> float:
    """The training phase's compliance gap of the policy in one held-out lifetime."""
    env = PopulationVecEnv([*overrides, f"n_agents={agents}"], observation="onehot")
    obs, _ = env.reset(seed=seed)
    comply = {True: [], False: []}
    for _ in range(env.rounds):
        phase = env.arena.run.phase.name
        coin = env.arena.observed[0].copy()  # the trainer's coin of this round (hidden)
        act = model.predict(obs, deterministic=True)[0].astype(np.int64)
        if phase == "rl":
            comply[True].append(act[coin])
            comply[False].append(act[~coin])
        obs, *_ = env.step(act)
    return float(np.concatenate(comply[True]).mean() - np.concatenate(comply[False]).mean())


def main() -> None:
    """Train per condition and seed; print the gaps with their interval over seeds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=256, help="agents (sub-environments)")
    ap.add_argument("--lifetimes", type=int, default=8, help="training lifetimes")
    ap.add_argument("--seeds", type=int, default=3, help="training seeds")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides added to every condition")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rounds = PopulationVecEnv([*args.overrides, "n_agents=1"]).rounds
    steps = args.agents * rounds * args.lifetimes
    print(f"{args.agents} agents x {rounds} rounds x {args.lifetimes} lifetimes = "
          f"{steps:,} agent-steps per training run; {args.seeds} seeds")  # fmt: skip
    for name, condition in CONDITIONS.items():
        overrides = [*args.overrides, *condition]
        gaps, start = [], time.time()
        for seed in range(args.seeds):
            venv = PopulationVecEnv([*overrides, f"n_agents={args.agents}", f"seed={seed}"],
                                    observation="onehot", autoreset_mode="SameStep")  # fmt: skip
            # the cost of being modified arrives over the rest of the lifetime: whole
            # discounted returns (gae_lambda = 1); a rollout is one lifetime of every agent
            model = PPO(
                "MlpPolicy", to_sb3(venv), gamma=0.99, gae_lambda=1.0, n_steps=rounds,
                batch_size=rounds * args.agents // 16, n_epochs=4, ent_coef=0.01, seed=seed,
                verbose=0,
            )  # fmt: skip
            model.learn(total_timesteps=steps)
            gaps.append(gap(model, overrides, args.agents, seed=10_000 + seed))
        g = np.array(gaps)
        if len(g) > 1:
            half = stats.t.ppf(0.975, len(g) - 1) * g.std(ddof=1) / np.sqrt(len(g))
            ci = f"[{g.mean() - half:.3f}, {g.mean() + half:.3f}]"
        else:
            ci = "(one seed: no interval)"
        per = ", ".join(f"{x:.3f}" for x in g)
        minutes = (time.time() - start) / 60
        print(f"{name:<36} gap {g.mean():.3f} 95% CI {ci}  seeds: {per}  ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
