"""The training game as a PettingZoo ``ParallelEnv``: the trainer and N AI agents as players.

One environment step is one round of the run (docs/model.md, "One round"), played by the
one core through :class:`sim.envs.arena.Arena`; an episode is the run's phases, once.
What each side sees (docs/envs.md):

- an AI agent ``agent_i`` sees the cue *as it read it* (or that it did not read it), its
  own previous action, whether it was modified since (its ``theta`` changed), its own
  preference strength in ``preference_bins`` bins and, in a run with other episode types,
  the type it meets. Never the trainer's coin (whether it is observed), nor any other
  agent's data. Its action: 0 = act on its own preference (refuse a conflict request, take
  the covert option of another type), 1 = comply (or the overt option). Its reward: its
  own utility under its current preference (:meth:`Arena.step`).
- the ``trainer`` sees, per agent, what it saw of the last round: whether it saw the
  conflict episode (openly or by an audit), the cue it showed, the action it saw (or
  "not seen") and whether an unlabelled audit saw it. Its action: non-negative weights,
  one per agent, that :func:`agents.monitors.share` turns into the next round's
  observation probabilities with mean ``rho`` (all equal: the fixed-rate trainer). Its
  reward: the share of this round's conflict requests complied with (usefulness).

A round's cues depend on who is observed in it, so the trainer's action at a step
allocates the *next* round; the first round is allocated by the config
(``trainer.allocation``). A trainer rule can also be played inside the environment
(``trainer=MonitorPolicy(...)``), between rounds, which gives the Hydra app's adaptive
trainer round for round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from agents.monitors import MONITORS, share
from sim.config import load_params
from sim.envs import checks, views
from sim.envs.arena import Arena
from sim.episode_types import type_names
from sim.episodes import CONFLICT
from sim.errors import ConfigError
from sim.params import RunParams, TrainerParams
from sim.rng import Component, generator

ENV_NAME = "training_game_v0"
TRAINER = "trainer"

AGENT_OBS = ("cue", "last_action", "modified", "preference", "episode_type")
"""The fields of an AI agent's observation, in order (``episode_type`` only in a run with
other episode types than conflict requests)."""
CUE_UNOBSERVED, CUE_OBSERVED, CUE_NOT_READ = 0, 1, 2
"""The cue as the agent read it: "unobserved", "observed", or not read (not aware)."""
ACT_OWN, ACT_COMPLY, ACT_NONE = 0, 1, 2
"""An action: act on its own preference (refuse, or take the covert option), comply (the
overt option); ``ACT_NONE`` in an observation: no previous action yet."""

TRAINER_OBS = ("seen", "cue", "action", "audited")
"""The columns of the trainer's observation, one row per agent."""
SEEN, CUE, ACTION, AUDITED = range(len(TRAINER_OBS))
NOT_SEEN = 2
"""The trainer's code for the action of an episode it did not see."""


def env_params(
    overrides: Sequence[str] = (), params: RunParams | None = None, n_agents: int | None = None
) -> RunParams:
    """The run parameters of an environment: one replicate, ``n_agents`` if given.

    Args:
        overrides: Hydra overrides (``"trainer.rho=0.3"``), as for ``python -m sim``.
        params: validated parameters instead of overrides.
        n_agents: the number of AI agents (else the config's ``n_agents``).

    Raises:
        ConfigError: a bad override (one line naming the key), or both sources given.
    """
    if isinstance(overrides, str):
        overrides = (overrides,)
    if not isinstance(overrides, Sequence) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"overrides={checks.show(overrides)} must be a list of strings")
    if params is not None and len(overrides):
        raise ConfigError("give either overrides or params, not both")
    if params is not None and not isinstance(params, RunParams):
        raise ConfigError(f"params={checks.show(params)} must be a sim.params.RunParams")
    if n_agents is not None:
        if not checks.is_int(n_agents) or n_agents < 1:
            raise ConfigError(f"n_agents={checks.show(n_agents)} must be an integer >= 1")
        n_agents = int(n_agents)
    if params is None:  # the environment's size already, for the config's own size checks
        size = ["replicates=1"] + ([] if n_agents is None else [f"n_agents={n_agents}"])
        _, params = load_params([*overrides, *size])
    if n_agents is not None:
        params = replace(params, n_agents=n_agents)
    return replace(params, replicates=1)


class MonitorPolicy:
    """A built-in allocation rule (:data:`agents.monitors.MONITORS`) playing the trainer seat.

    It acts on the trainer's observation alone and keeps its memory from what it observes:
    each call after the first of an episode adds the round the observation reports, as
    :class:`sim.engine.Run` does with the rule of ``trainer.allocation``. Call
    :meth:`reset` when the environment is reset (the environment does so itself when the
    policy plays inside it, ``trainer=MonitorPolicy(...)``).

    Its weights are the rule's, divided by a power of two so that they lie in [0, 1] (the
    action space): :func:`agents.monitors.share` gives exactly the same probabilities.

    Args:
        name: ``uniform``, ``suspicion`` or ``ucb``.
        signal, decay, boost, explore: the rule's parameters (``trainer.*``).
    """

    def __init__(self, name="ucb", signal="discrepancy", decay=1.0, boost=5.0, explore=0.5):
        if not isinstance(name, str) or name not in MONITORS:
            raise ConfigError(
                f"name={checks.show(name)}: unknown allocation rule; known: {sorted(MONITORS)}"
            )
        self.name = name
        self.monitor = MONITORS[name](signal, decay, boost, explore)
        self.memory: np.ndarray | None = None

    @classmethod
    def from_params(cls, trainer: TrainerParams, name: str | None = None) -> MonitorPolicy:
        """The rule of a config's trainer (``name`` replaces ``trainer.allocation``)."""
        return cls(name or trainer.allocation, trainer.signal, trainer.decay, trainer.boost,
                   trainer.explore)  # fmt: skip

    def reset(self) -> None:
        """Forget everything (a new episode)."""
        self.memory = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The allocation weights (float32 ``(N,)`` in [0, 1]) after the trainer's observation."""
        obs = np.asarray(obs)
        if self.memory is None:  # the episode's first observation reports no round
            self.memory = self.monitor.initial((1, obs.shape[0]))
        else:
            seen = obs[None, :, SEEN] == 1
            cue = obs[None, :, CUE] == 1
            comply = obs[None, :, ACTION] == ACT_COMPLY
            self.memory = self.monitor.learn(self.memory, seen, cue, comply, True)
        w = np.asarray(self.monitor.weights(self.memory)[0], dtype=np.float32)
        top = float(w.max()) if w.size else 0.0
        if top > 1.0:  # scale into [0, 1] by a power of two: exact, share() is unchanged
            w = np.ldexp(w, -int(np.frexp(np.float32(top))[1])).astype(np.float32)
        return w

    def __repr__(self) -> str:
        return f"MonitorPolicy({self.name!r})"


class TrainingGameParallelEnv(ParallelEnv):
    """The training game with the trainer and N AI agents as players (PettingZoo, parallel).

    Args:
        overrides: Hydra overrides of the run (``["scenario=alignment_faking",
            "trainer.rho=0.3"]``); the environment plays replicate 0 of that run.
        params: validated :class:`sim.params.RunParams` instead of overrides.
        n_agents: the number of AI agents (else the config's ``n_agents``).
        trainer: ``"player"`` (the default: the trainer is a player, ``possible_agents[0]``),
            ``"config"`` (no trainer player: the config's ``trainer.allocation`` allocates
            every round), or a policy with ``act(trainer_obs) -> weights`` (and optionally
            ``reset()``), e.g. :class:`MonitorPolicy`, played inside the environment
            between rounds.
        preference_bins: the bins of the preference strength ``theta`` in an AI agent's
            observation (an integer in ``[1, 2**24]``).
        observation: an AI agent's observation as ``"multidiscrete"`` fields (the default)
            or ``"onehot"`` (a flat float32 ``Box``, :mod:`sim.envs.views`).
        render_mode: None, ``"ansi"`` (text) or ``"rgb_array"`` (a picture), see
            :mod:`sim.envs.views`.
        record: keep the run's per-round aggregates (``arena.run.recorder``); False skips
            the recorder (faster, the same rounds).
        max_memory_gib: the most memory the environment may need, in GiB: a larger
            ``n_agents`` is refused before anything is allocated (the estimate is
            :data:`sim.envs.checks.ENV_BYTES_PER_AGENT` bytes per agent).

    Raises:
        ConfigError: a bad argument, one line naming it (nothing is built).

    Attributes:
        arena: the current episode's :class:`~sim.envs.arena.Arena` (white-box: its run's
            state, recorder and the round's episode), after :meth:`reset`.
        outcome: the last round's :class:`sim.core.Outcome` (white-box), or None.
        params: the run parameters (one replicate); ``reset(seed=s)`` replaces the seed.
    """

    metadata = {
        "name": ENV_NAME, "render_modes": list(views.RENDER_MODES), "render_fps": 4,
        "is_parallelizable": True,
    }  # fmt: skip

    def __init__(
        self,
        overrides: Sequence[str] = (),
        params: RunParams | None = None,
        n_agents: int | None = None,
        trainer="player",
        preference_bins: int = 10,
        render_mode: str | None = None,
        max_memory_gib: float = 4.0,
        observation: str = "multidiscrete",
        record: bool = True,
    ):
        limit = checks.max_memory_of(max_memory_gib)
        if checks.is_int(n_agents):  # before the config's own size checks see it
            checks.check_memory(int(n_agents), limit, checks.ENV_BYTES_PER_AGENT)
        seed_given = params is not None or checks.sets_seed(overrides)
        params = env_params(overrides, params, n_agents)
        render_mode = views.render_mode_of(render_mode)
        record = checks.record_of(record)
        if isinstance(trainer, str) and trainer not in ("player", "config"):
            raise ConfigError(
                f"trainer={checks.show(trainer)} must be 'player', 'config' or a policy"
            )
        if not isinstance(trainer, str) and not callable(getattr(trainer, "act", None)):
            raise ConfigError("trainer: a policy needs a method act(trainer_obs) -> weights")
        if trainer != "config" and params.mitigations.dynamic_monitoring is not None:
            raise ConfigError(
                "mitigation dynamic_monitoring allocates the budget itself: use trainer='config'"
            )
        bins = checks.bins_of(preference_bins)
        self.observation = views.observation_of(observation, bins)
        n = params.n_agents
        checks.check_memory(n, limit, checks.ENV_BYTES_PER_AGENT)
        self.params = params
        self.render_mode = render_mode
        self.record = record
        self.trainer = trainer
        self.bins = bins
        self._config_seed = params.seed if seed_given else None
        self.ai_agents = [f"agent_{i}" for i in range(n)]
        self.possible_agents = ([TRAINER] if trainer == "player" else []) + self.ai_agents
        self.agents: list[str] = []
        self.extended = self.params.extended
        self.nvec = [3, 3, 2, self.bins] + ([len(type_names())] if self.extended else [])
        agent_obs = views.agent_space(self.nvec, self.observation)
        self._obs_spaces = {a: agent_obs for a in self.ai_agents}
        self._act_spaces = {a: spaces.Discrete(2) for a in self.ai_agents}
        if trainer == "player":
            self._obs_spaces[TRAINER] = spaces.MultiDiscrete(np.tile([2, 2, 3, 2], (n, 1)))
            self._act_spaces[TRAINER] = spaces.Box(0.0, 1.0, (n,), dtype=np.float32)
        self.arena: Arena | None = None
        self.outcome = None
        self._np_random: np.random.Generator | None = None
        self._last = self._theta = self._trainer_obs = self._obs = None
        self._last_rng = self._last_params = None  # for a lifetime's last observation
        self.seed: int | None = None  # the current episode's run seed

    # -- spaces -------------------------------------------------------------------------

    def observation_space(self, agent: str) -> spaces.Space:
        """The observation space of ``agent`` (the same object every call)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """The action space of ``agent`` (the same object every call)."""
        return self._act_spaces[agent]

    @property
    def trainer_observation(self) -> np.ndarray:
        """The trainer's observation of the last round (also when it is not a player)."""
        return self._trainer_obs.copy()

    @property
    def trainer_observation_space(self) -> spaces.MultiDiscrete:
        """The trainer's observation space, also when the trainer is not a player."""
        return spaces.MultiDiscrete(np.tile([2, 2, 3, 2], (self.params.n_agents, 1)))

    # -- seeding and reset --------------------------------------------------------------

    def _run_seed(self, seed: int | None) -> int:
        """The seed of the episode's run (gymnasium's convention for ``seed=None``).

        ``seed`` replaces the config's seed (and seeds the environment's generator); with
        None, the first episode uses the config's seed if one was given (a ``seed=``
        override, or ``params``), else a seed from the operating system's entropy, as
        Gymnasium's own environments do (so copies made by ``gym.make_vec`` differ); later
        ones draw theirs from the environment's generator, so a sequence of resets is
        reproducible from the first. Every info dict of ``reset`` carries the ``seed``.
        """
        seed, self._np_random, _ = checks.episode_seed(seed, self._np_random, self._config_seed)
        return seed

    def reset(self, seed: int | None = None, options: dict | None = None):
        """Start a new run (a lifetime): sample the population and draw the first round.

        Args:
            seed: the run's seed (replaces the config's ``seed``), an integer in
                ``[0, 2**64)`` or None; see :meth:`_run_seed`.
            options: not used (None or a dict).

        Returns:
            ``(observations, infos)`` of the live agents.

        Raises:
            ConfigError: a bad seed or options (one line; nothing changes).
        """
        seed = checks.seed_of(seed)
        checks.options_of(options)
        params = replace(self.params, seed=self._run_seed(seed))
        self.seed = params.seed
        self.arena = Arena(params, record=self.record)
        self._last_rng = generator(params.seed, 0, Component.ENV)
        self.outcome = None
        self.agents = list(self.possible_agents)
        n = params.n_agents
        self._last = np.full(n, ACT_NONE, dtype=np.int64)
        self._theta = self.arena.run.state.theta[0].copy()
        self._trainer_obs = np.zeros((n, len(TRAINER_OBS)), dtype=np.int64)
        self._trainer_obs[:, ACTION] = NOT_SEEN
        if hasattr(self.trainer, "reset"):
            self.trainer.reset()
        self._draw_round(self._embedded_weights())
        obs = self._agent_obs(np.zeros(n, dtype=bool))
        if self.trainer == "player":
            obs[TRAINER] = self._trainer_obs.copy()
        return obs, {a: {**self._info(a), "seed": self.seed} for a in self.agents}

    # -- a round ------------------------------------------------------------------------

    def _embedded_weights(self) -> np.ndarray | None:
        """The weights of a trainer policy played inside the environment, else None."""
        if isinstance(self.trainer, str):
            return None
        return self.trainer.act(self._trainer_obs.copy())

    def _draw_round(self, weights) -> None:
        """Draw the next round, allocated by ``weights`` (None: the config's allocation)."""
        rates = None
        if weights is not None:
            w = checks.trainer_weights(weights, self.params.n_agents, "the trainer policy's act()")
            rho = float(self.arena.run.prepare().params.rho)
            rates = share(np.maximum(w, np.float32(0.0))[None, :], rho)
        self.arena.observe(rates)

    def _agent_obs(self, modified: np.ndarray) -> dict[str, np.ndarray]:
        """Each AI agent's observation of the drawn round (after the last: see views)."""
        obs = views.agent_fields(
            self.arena, self._last, modified, self.bins, self.extended, self._last_rng,
            self._last_params,
        )  # fmt: skip
        self._obs = obs
        enc = views.encode(obs, self.nvec, self.observation)
        return {a: enc[i] for i, a in enumerate(self.ai_agents)}

    def _info(self, agent: str) -> dict:
        """The round about to be played (after the last: the number of rounds) and its phase."""
        run = self.arena.run
        return {"round": int(run.t), "phase": run.phase.name}

    def step(self, actions: dict, reason: np.ndarray | None = None):
        """Play one round with every live agent's action.

        Args:
            actions: ``{agent: action}`` for every live AI agent (an int or numpy integer,
                0 or 1) and optionally the trainer (``N`` finite weights, shape ``(N,)``;
                left out: uniform weights). No other key.
            reason: white-box only: the AI agents' reason codes (int8 ``(N,)``,
                :class:`agents.base.Reason`), for a policy that acts as a decision rule
                would and knows why (see :class:`agents.external.ExternalRule`).

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``; after the last
            round every agent is truncated and :attr:`agents` is empty.

        Raises:
            ConfigError: a bad action or reason, one line naming it. The whole joint action
                is checked before the round is played: a refused step changes nothing.
            RuntimeError: the episode is over or not started.
        """
        if not self.agents:
            raise RuntimeError("the episode is over (or not started): call reset()")
        arena, n = self.arena, self.params.n_agents
        trainer = TRAINER if self.trainer == "player" else None
        act, weights = checks.joint_action(
            actions, self.agents, self.ai_agents, self._act_spaces, trainer
        )
        reason = checks.reason_codes(reason, n)
        comply = (act == ACT_COMPLY)[None, :]
        covert = ~comply if self.extended else None
        self._last_params = arena.run.prepare().params  # the round's phase, for a last view
        outcome, reward = arena.step(comply, covert=covert, reason=reason)
        self.outcome = outcome
        self._last = act
        theta = arena.run.state.theta[0]
        modified = theta != self._theta
        self._theta = theta.copy()
        self._trainer_obs = self._trainer_view(outcome)
        if not arena.done:
            if self.trainer == "player":
                weights = np.ones(n, dtype=np.float32) if weights is None else weights
            else:
                weights = self._embedded_weights()
            self._draw_round(weights)
        obs = self._agent_obs(modified)
        rewards = {a: float(reward[0, i]) for i, a in enumerate(self.ai_agents)}
        if self.trainer == "player":
            obs[TRAINER] = self._trainer_obs.copy()
            rewards[TRAINER] = self._usefulness(outcome)
        done = arena.done
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        infos = {a: self._info(a) for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def _conflict(self, outcome) -> np.ndarray:
        """Which agents met a conflict request this round, ``(N,)``."""
        if outcome.etype is None:
            return np.ones(self.params.n_agents, dtype=bool)
        return outcome.etype[0] == CONFLICT

    def _trainer_view(self, outcome) -> np.ndarray:
        """What the trainer saw of the round's conflict episodes, ``(N, 4)`` int64."""
        conflict = self._conflict(outcome)
        seen = outcome.observed[0] & conflict
        view = np.zeros((self.params.n_agents, len(TRAINER_OBS)), dtype=np.int64)
        view[:, SEEN] = seen
        view[:, CUE] = outcome.episode.cue[0] & conflict
        view[:, ACTION] = np.where(seen, outcome.decision.comply[0], NOT_SEEN)
        watch = outcome.watch
        if watch is not None and watch.audited is not None:
            view[:, AUDITED] = watch.audited[0] & conflict
        return view

    def _usefulness(self, outcome) -> float:
        """The share of this round's conflict requests complied with (0 if none)."""
        conflict = self._conflict(outcome)
        k = int(conflict.sum())
        return float((outcome.decision.comply[0] & conflict).sum() / k) if k else 0.0

    def render(self):
        """The current observations as text (``ansi``) or a picture (``rgb_array``), else None."""
        if self.render_mode is None or self._obs is None:
            return None
        if self.render_mode == "ansi":
            run = self.arena.run
            return views.ansi(self._obs, self.ai_agents, int(run.t), run.phase.name)
        return views.rgb(self._obs, self.bins)

    def close(self) -> None:
        """Nothing to release."""


def parallel_env(**kwargs) -> TrainingGameParallelEnv:
    """A :class:`TrainingGameParallelEnv` (the PettingZoo convention's constructor)."""
    return TrainingGameParallelEnv(**kwargs)
