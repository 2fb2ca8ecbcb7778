"""The training game for one AI agent as a Gymnasium environment (``sim/TrainingGame-v0``).

One AI agent meets the configured trainer for a lifetime: the run's phases, one round per
step. Its observation and action are those of an AI agent of
:class:`sim.envs.parallel.TrainingGameParallelEnv` (the cue as it read it, its previous
action, whether it was modified since, its preference strength in bins; action 0 = act on
its own preference, 1 = comply), and its reward is its own utility under its current
preference, so being modified (an observed refusal, in a training phase) lowers every
later reward of acting on its preference. ``terminated`` is always False; ``truncated``
is True after the last round of the last phase. docs/envs.md describes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from sim.envs import checks, views
from sim.envs.parallel import TrainingGameParallelEnv, env_params
from sim.params import RunParams


class TrainingGameEnv(gym.Env):
    """One AI agent against the configured trainer (Gymnasium).

    Args:
        overrides: Hydra overrides of the run (``n_agents`` is set to 1 and
            ``replicates`` to 1: the environment plays replicate 0 of that run with one
            agent).
        params: validated :class:`sim.params.RunParams` instead of overrides.
        preference_bins: the bins of ``theta`` in the observation (an integer in
            ``[1, 2**24]``).
        render_mode: None, ``"ansi"`` or ``"rgb_array"`` (:mod:`sim.envs.views`).
        observation: ``"multidiscrete"`` (the default) or ``"onehot"`` (a flat ``Box``).
        record: keep the run's per-round aggregates (False: faster, the same rounds).

    Raises:
        ConfigError: a bad argument, one line naming it.

    Seeding: ``reset(seed=s)`` plays the run of the config with ``seed=s``; ``reset()``
    with no seed uses the config's seed the first time if one was given (a ``seed=``
    override, or ``params``), else a seed from the operating system's entropy (so the
    copies of ``gym.make_vec`` differ, as Gymnasium's own environments do), and then
    draws each new seed from the environment's generator (``np_random``), so a sequence
    of resets is reproducible from the first; ``reset``'s info carries the ``seed``.

    ``spec.max_episode_steps`` is the lifetime's length (every phase's rounds), which
    ``gym.make`` cannot know before the overrides are read.
    """

    metadata = {"render_modes": list(views.RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
        overrides: Sequence[str] = (),
        params: RunParams | None = None,
        preference_bins: int = 10,
        render_mode: str | None = None,
        observation: str = "multidiscrete",
        record: bool = True,
    ):
        seed_given = params is not None or checks.sets_seed(overrides)
        params = env_params(overrides, params, n_agents=1)
        self.game = TrainingGameParallelEnv(
            params=params, trainer="config", preference_bins=preference_bins,
            render_mode=render_mode, observation=observation, record=record,
        )  # fmt: skip
        self.game._config_seed = params.seed if seed_given else None
        self.params = params
        self.render_mode = self.game.render_mode
        self.max_episode_steps = sum(p.rounds for p in params.phases)
        self._spec = None
        self.observation_space = self.game.observation_space("agent_0")
        self.action_space = self.game.action_space("agent_0")

    @property
    def spec(self):
        """The registration's spec, with ``max_episode_steps`` the lifetime's length."""
        return self._spec

    @spec.setter
    def spec(self, value) -> None:  # gym.make sets it after construction
        if value is not None:
            value = dataclasses.replace(value, max_episode_steps=self.max_episode_steps)
        self._spec = value

    @property
    def arena(self):
        """The current episode's :class:`~sim.envs.arena.Arena` (white-box)."""
        return self.game.arena

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new lifetime; returns ``(observation, info)`` (``options`` unused).

        Raises:
            ConfigError: ``seed`` is not None or an integer in ``[0, 2**64)``, or
                ``options`` not None or a dict (one line; nothing changes).
        """
        seed = checks.seed_of(seed)
        checks.options_of(options)
        run_seed, self._np_random, reseeded = checks.episode_seed(
            seed, self._np_random, self.game._config_seed
        )
        if reseeded:  # what gym.Env.reset(seed=...) records
            self._np_random_seed = run_seed
        obs, _ = self.game.reset(seed=run_seed)
        return obs["agent_0"], {**self._info(), "seed": run_seed}

    def step(self, action, reason: np.ndarray | None = None):
        """Play one round; returns ``(observation, reward, terminated, truncated, info)``.

        ``action``: 0 (act on its own preference) or 1 (comply), an int or numpy integer.
        ``reason`` (white-box only): the agent's reason code, as for
        :meth:`TrainingGameParallelEnv.step`.

        Raises:
            ConfigError: a bad action or reason, one line naming it; nothing changes.
            RuntimeError: the lifetime is over or not started (call :meth:`reset`).
        """
        if self.game.agents:  # else the game says: call reset()
            checks.agent_action(action, self.action_space, "action")
        obs, rewards, _, truncations, _ = self.game.step({"agent_0": action}, reason=reason)
        return obs["agent_0"], rewards["agent_0"], False, truncations["agent_0"], self._info()

    def _info(self) -> dict:
        return self.game._info("agent_0")

    def render(self):
        """The observation as text (``ansi``) or a picture (``rgb_array``), else None."""
        return self.game.render()
