"""A population of AI agents as one Gymnasium vector environment, at the engine's speed.

The ``N`` agents of one run of the vectorised core are the ``N`` sub-environments of a
:class:`gymnasium.vector.VectorEnv`: a step is one round for every agent, played in one
array call through :class:`sim.envs.arena.Arena` (no per-agent Python), with the
observation, action and reward of an AI agent of
:class:`sim.envs.parallel.TrainingGameParallelEnv` (the trainer is the config's). Every
agent's lifetime is the run's phases, so all sub-environments end together and reset
together: a new run, whose seed is drawn from the environment's generator, as the
parallel environment's resets are. ``reset(seed=s)`` plays the run of the config with
``seed=s``, the same rounds as ``TrainingGameParallelEnv(..., trainer="config")`` and
replicate 0 of ``python -m sim seed=s`` when the actions are the same (tested).

:func:`to_sb3` wraps it as a stable-baselines3 ``VecEnv``. docs/envs.md ("A population
at array speed") describes both; benchmarks/population_env.py measures them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from sim.envs import checks, views
from sim.envs.arena import Arena
from sim.envs.parallel import ACT_COMPLY, ACT_NONE, env_params
from sim.episode_types import type_names
from sim.errors import ConfigError
from sim.params import RunParams
from sim.rng import Component, generator

AUTORESET_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def _mode_of(value) -> AutoresetMode:
    try:
        mode = AutoresetMode(value)
    except ValueError:
        mode = None
    if mode not in AUTORESET_MODES:
        names = ", ".join(m.value for m in AUTORESET_MODES)
        raise ConfigError(f"autoreset_mode={checks.show(value)} must be one of {names}")
    return mode


class PopulationVecEnv(gym.vector.VectorEnv):
    """The ``N`` agents of one run as ``N`` sub-environments (Gymnasium vector API).

    Args:
        overrides: Hydra overrides of the run, as for ``python -m sim``.
        params: validated :class:`sim.params.RunParams` instead of overrides.
        n_agents: the number of agents (sub-environments), else the config's ``n_agents``.
        preference_bins: the bins of ``theta`` in the observation (``[1, 2**24]``).
        observation: ``"multidiscrete"`` (the default) or ``"onehot"`` (:mod:`sim.envs.views`).
        record: keep the run's per-round aggregates (``arena.run.recorder``); off by default.
        autoreset_mode: ``"NextStep"`` (Gymnasium's default: the step after the last round
            returns the new run's first observation, reward 0) or ``"SameStep"`` (the last
            round's step returns the new run's first observation and puts the last one in
            ``infos["final_obs"]``).
        max_memory_gib: the most memory the environment may need.
        num_envs: the same as ``n_agents`` (what ``gym.make_vec`` passes).

    Raises:
        ConfigError: a bad argument, one line naming it.
    """

    def __init__(
        self,
        overrides: Sequence[str] = (),
        params: RunParams | None = None,
        n_agents: int | None = None,
        preference_bins: int = 10,
        observation: str = "multidiscrete",
        record: bool = False,
        autoreset_mode="NextStep",
        max_memory_gib: float = 4.0,
        num_envs: int | None = None,
    ):
        if (
            num_envs is not None
        ):  # gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point")
            if n_agents is not None and n_agents != num_envs:
                raise ConfigError("give n_agents or num_envs (the same thing), not both")
            n_agents = num_envs
        limit = checks.max_memory_of(max_memory_gib)
        if checks.is_int(n_agents):
            checks.check_memory(int(n_agents), limit, checks.ARRAY_BYTES_PER_AGENT)
        seed_given = params is not None or checks.sets_seed(overrides)
        params = env_params(overrides, params, n_agents)
        record = checks.record_of(record)
        self.autoreset_mode = _mode_of(autoreset_mode)
        self.bins = checks.bins_of(preference_bins)
        self.observation = views.observation_of(observation, self.bins)
        checks.check_memory(params.n_agents, limit, checks.ARRAY_BYTES_PER_AGENT)
        self.params, self.record = params, record
        self.num_envs = n = params.n_agents
        self.extended = params.extended
        self.nvec = [3, 3, 2, self.bins] + ([len(type_names())] if self.extended else [])
        self.single_observation_space = views.agent_space(self.nvec, self.observation)
        self.single_action_space = gym.spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self.metadata = {"autoreset_mode": self.autoreset_mode, "render_modes": []}
        self.render_mode = None
        self.rounds = sum(p.rounds for p in params.phases)
        self._config_seed = params.seed if seed_given else None
        self.arena: Arena | None = None
        self.seed: int | None = None
        self._needs_reset = False
        self._last = self._theta = self._last_rng = self._last_params = None

    # -- reset ----------------------------------------------------------------------------

    def _run_seed(self, seed: int | None) -> int:
        """The episode's run seed (:func:`sim.envs.checks.episode_seed`)."""
        seed, self._np_random, reseeded = checks.episode_seed(
            seed, self._np_random, self._config_seed
        )
        if reseeded:
            self._np_random_seed = seed
        return seed

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """A new run for every agent; returns ``(observations, infos)``.

        ``seed``: the run's seed (an integer in ``[0, 2**64)``) or None (see the class).
        A list of seeds is refused: the sub-environments are one run's agents.
        """
        if isinstance(seed, list | tuple | np.ndarray):
            raise ConfigError("seed: one run seeds all its agents (an integer or None, not a list)")
        seed = checks.seed_of(seed)
        checks.options_of(options)
        self.seed = self._run_seed(seed)
        obs = self._start()
        return obs, {"seed": np.full(self.num_envs, self.seed, dtype=np.int64)}

    def _start(self) -> np.ndarray:
        params = replace(self.params, seed=self.seed)
        self.arena = Arena(params, record=self.record)
        self._last_rng = generator(params.seed, 0, Component.ENV)
        self._last = np.full(self.num_envs, ACT_NONE, dtype=np.int64)
        self._theta = self.arena.run.state.theta[0].copy()
        self._needs_reset = False
        self.arena.observe()
        return self._obs(np.zeros(self.num_envs, dtype=bool))

    def _obs(self, modified) -> np.ndarray:
        obs = views.agent_fields(
            self.arena, self._last, modified, self.bins, self.extended, self._last_rng,
            self._last_params,
        )  # fmt: skip
        return views.encode(obs, self.nvec, self.observation)

    # -- a round --------------------------------------------------------------------------

    def _actions(self, actions) -> np.ndarray:
        """The actions as an ``(N,)`` int64 array of 0/1, or a one-line ConfigError."""
        a = np.asarray(actions)
        n = self.num_envs
        if a.shape != (n,) or a.dtype.kind not in "iu":
            raise ConfigError(
                f"actions={checks.show(actions)} must be an integer array of shape ({n},), "
                f"got {a.dtype} of shape {a.shape}"
            )
        if a.size and (a.min() < 0 or a.max() > 1):
            raise ConfigError(f"actions must be 0 or 1; got values in [{a.min()}, {a.max()}]")
        return a.astype(np.int64, copy=False)

    def step(self, actions):
        """One round for every agent, in one array call.

        Returns:
            ``(obs, rewards, terminations, truncations, infos)`` as arrays over the agents
            (all truncated together after the last round).

        Raises:
            ConfigError: bad actions, one line; nothing changes.
            RuntimeError: not reset yet.
        """
        if self.arena is None:
            raise RuntimeError("call reset() first")
        act = self._actions(actions)
        n = self.num_envs
        zeros = np.zeros(n, dtype=bool)
        if self._needs_reset:  # NextStep: this step only starts the new run
            self.seed = self._run_seed(None)
            obs = self._start()
            return obs, np.zeros(n, np.float32), zeros, zeros, {"seed": np.full(n, self.seed)}
        arena = self.arena
        self._last_params = arena.run.prepare().params
        comply = (act == ACT_COMPLY)[None, :]
        _, reward = arena.step(comply, covert=~comply if self.extended else None)
        self._last = act
        theta = arena.run.state.theta[0]
        modified = theta != self._theta
        self._theta = theta.copy()
        done = arena.done
        if not done:
            arena.observe()
        obs = self._obs(modified)
        infos = {"round": np.full(n, arena.run.t, dtype=np.int64)}
        truncated = np.full(n, done)
        if done and self.autoreset_mode == AutoresetMode.SAME_STEP:
            infos["final_obs"], infos["_final_obs"] = obs, np.ones(n, dtype=bool)
            self.seed = self._run_seed(None)
            obs = self._start()
            infos["seed"] = np.full(n, self.seed, dtype=np.int64)
        elif done:
            self._needs_reset = True
        return obs, reward[0], zeros, truncated, infos


def to_sb3(env: PopulationVecEnv):
    """A stable-baselines3 ``VecEnv`` over ``env`` (which must autoreset ``"SameStep"``).

    Done steps carry ``terminal_observation`` and ``TimeLimit.truncated`` in each agent's
    info, as stable-baselines3's own vector environments do, so PPO bootstraps from the
    last observation.
    """
    if env.autoreset_mode != AutoresetMode.SAME_STEP:
        raise ConfigError("to_sb3 needs PopulationVecEnv(..., autoreset_mode='SameStep')")
    from stable_baselines3.common.vec_env import VecEnv

    class PopulationSB3(VecEnv):
        """stable-baselines3's view of a :class:`PopulationVecEnv`."""

        def __init__(self, venv):
            self.venv = venv
            self.render_mode = None
            super().__init__(venv.num_envs, venv.single_observation_space,
                             venv.single_action_space)  # fmt: skip
            self._actions = None

        def reset(self):
            seed = self._seeds[0]
            obs, _ = self.venv.reset(seed=seed)
            self._reset_seeds()
            self._reset_options()
            return obs

        def step_async(self, actions):
            self._actions = np.asarray(actions).reshape(-1).astype(np.int64)

        def step_wait(self):
            obs, rew, term, trunc, info = self.venv.step(self._actions)
            dones = term | trunc
            infos = [{} for _ in range(self.num_envs)]
            if dones.any():
                final = info["final_obs"]
                for i in np.flatnonzero(dones):
                    infos[i] = {"terminal_observation": final[i], "TimeLimit.truncated": True}
            return obs, rew, dones, infos

        def close(self):
            return None

        def get_attr(self, attr_name, indices=None):  # the population's, as set_attr sets
            return [getattr(self.venv, attr_name)] * len(list(self._get_indices(indices)))

        def set_attr(self, attr_name, value, indices=None):
            setattr(self.venv, attr_name, value)

        def env_method(self, method_name, *args, indices=None, **kwargs):
            out = getattr(self.venv, method_name)(*args, **kwargs)
            return [out] * len(list(self._get_indices(indices)))

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * len(list(self._get_indices(indices)))

    return PopulationSB3(env)


__all__ = ["AUTORESET_MODES", "PopulationVecEnv", "to_sb3"]
