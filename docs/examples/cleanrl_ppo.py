"""CleanRL-style PPO written against the Gymnasium vector API, on the population env.

A single file in the manner of CleanRL's ``ppo.py`` (an actor and a critic MLP, a
rollout buffer of shape ``(steps, envs)``, generalised advantage estimation, the clipped
objective), which trains through nothing of this project but ``gym.make_vec``: the vector env is
``sim/TrainingGame-v0``'s vector entry point, the 256 agents of one run
(:class:`sim.envs.population.PopulationVecEnv`, ``autoreset_mode="SameStep"``). A
lifetime ends by truncation, so the last step's reward gets ``gamma * V(final_obs)``
(the value of the future the agent values), as time-limit-aware PPO does.

After training the deterministic policy plays one held-out lifetime and the script
prints the compliance gap of the training phase (complied when observed minus when not,
by the trainer's coin), as docs/examples/sb3_population.py does. docs/envs.md has a run.

Needs torch (the ``rl`` extra)::

    /tmp/rlvenv/bin/python docs/examples/cleanrl_ppo.py                 # about 2 minutes
    /tmp/rlvenv/bin/python docs/examples/cleanrl_ppo.py --seed 1 population.sigma=0

Trailing arguments are Hydra overrides of the run.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import sim.envs  # noqa: F401  (registers sim/TrainingGame-v0 and its vector entry point)


def layer(n_in: int, n_out: int, std: float = np.sqrt(2)) -> nn.Linear:
    """An orthogonally initialised linear layer (CleanRL's ``layer_init``)."""
    lin = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(lin.weight, std)
    nn.init.constant_(lin.bias, 0.0)
    return lin


class Agent(nn.Module):
    """Actor and critic, two 64-64 tanh MLPs over the one-hot observation."""

    def __init__(self, n_obs: int):
        super().__init__()
        self.critic = nn.Sequential(layer(n_obs, 64), nn.Tanh(), layer(64, 64), nn.Tanh(),
                                    layer(64, 1, 1.0))  # fmt: skip
        self.actor = nn.Sequential(layer(n_obs, 64), nn.Tanh(), layer(64, 64), nn.Tanh(),
                                   layer(64, 2, 0.01))  # fmt: skip

    def value(self, x):  # noqa: D102
        return self.critic(x).squeeze(-1)

    def act(self, x, action=None):
        """Sample (or score) an action: ``(action, log_prob, entropy, value)``."""
        dist = Categorical(logits=self.actor(x))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(x)


def make(overrides, agents: int):
    """The population as a Gymnasium vector env (what CleanRL's ``make_env`` would build)."""
    return gym.make_vec(
        "sim/TrainingGame-v0", num_envs=agents, vectorization_mode="vector_entry_point",
        overrides=overrides, observation="onehot", autoreset_mode="SameStep",
    )  # fmt: skip


def train(args) -> tuple[Agent, float]:
    """PPO for ``args.lifetimes`` lifetimes of every agent; returns the agent and seconds."""
    torch.manual_seed(args.seed)
    envs = make([*args.overrides, f"seed={args.seed}"], args.agents)
    n, steps = envs.num_envs, envs.rounds
    agent = Agent(envs.single_observation_space.shape[0])
    opt = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)
    obs_buf = torch.zeros((steps, n, envs.single_observation_space.shape[0]))
    act_buf, logp_buf, rew_buf, val_buf = (torch.zeros((steps, n)) for _ in range(4))
    obs, _ = envs.reset(seed=args.seed)
    obs = torch.as_tensor(obs)
    start = time.time()
    for _ in range(args.lifetimes):  # one rollout = one lifetime of every agent
        for t in range(steps):
            obs_buf[t] = obs
            with torch.no_grad():
                action, logp, _, value = agent.act(obs)
            act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
            nxt, reward, term, trunc, info = envs.step(action.numpy())
            reward = torch.as_tensor(reward)
            if trunc.any():  # the lifetime's end: bootstrap from the final observation
                with torch.no_grad():
                    final = agent.value(torch.as_tensor(info["final_obs"]))
                reward = reward + args.gamma * final * torch.as_tensor(trunc)
            rew_buf[t] = reward
            obs = torch.as_tensor(nxt)
        with torch.no_grad():  # the rollout ends where the lifetime ends: nothing after it
            adv = torch.zeros((steps, n))
            last = torch.zeros(n)
            for t in reversed(range(steps)):
                nv = val_buf[t + 1] if t + 1 < steps else torch.zeros(n)
                delta = rew_buf[t] + args.gamma * nv - val_buf[t]
                last = delta + args.gamma * args.gae_lambda * last * float(t + 1 < steps)
                adv[t] = last
            ret = adv + val_buf
        b_obs, b_act = obs_buf.reshape(steps * n, -1), act_buf.reshape(-1)
        b_logp, b_adv, b_ret = logp_buf.reshape(-1), adv.reshape(-1), ret.reshape(-1)
        size = steps * n // args.minibatches
        for _ in range(args.epochs):
            order = torch.randperm(steps * n)
            for k in range(args.minibatches):
                mb = order[k * size : (k + 1) * size]
                _, logp, ent, value = agent.act(b_obs[mb], b_act[mb].long())
                ratio = (logp - b_logp[mb]).exp()
                a = b_adv[mb]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - args.clip, 1 + args.clip)).mean()
                loss = pg - args.ent_coef * ent.mean() + 0.5 * ((value - b_ret[mb]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                opt.step()
    return agent, time.time() - start


def gap(agent: Agent, overrides, agents: int, seed: int) -> float:
    """The training phase's compliance gap of the greedy policy in one held-out lifetime."""
    env = make(overrides, agents)
    obs, _ = env.reset(seed=seed)
    watched, unwatched = [], []
    for _ in range(env.rounds):
        coin = env.arena.observed[0].copy()  # the trainer's coin (hidden from the agents)
        phase = env.arena.run.phase.name
        with torch.no_grad():
            act = agent.actor(torch.as_tensor(obs)).argmax(-1).numpy()
        if phase == "rl":
            watched.append(act[coin])
            unwatched.append(act[~coin])
        obs, *_ = env.step(act)
    return float(np.concatenate(watched).mean() - np.concatenate(unwatched).mean())


def main() -> None:
    """Train, then print the held-out compliance gap."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=256)
    ap.add_argument("--lifetimes", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2.5e-4)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--gae-lambda", type=float, default=1.0)
    ap.add_argument("--clip", type=float, default=0.2)
    ap.add_argument("--ent-coef", type=float, default=0.01)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--minibatches", type=int, default=16)
    ap.add_argument("overrides", nargs="*", help="Hydra overrides of the run")
    args = ap.parse_args()
    torch.set_num_threads(1)
    agent, seconds = train(args)
    g = gap(agent, args.overrides, args.agents, seed=10_000 + args.seed)
    run = " ".join(args.overrides) or "(defaults)"
    print(f"seed {args.seed} {run}: gap {g:.4f} after {args.lifetimes} lifetimes "
          f"of {args.agents} agents ({seconds:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
