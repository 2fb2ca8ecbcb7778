"""What the environments show (issue 20): renderings, infos, the last observation, one-hot
observations, the episode's length in the spec, recording switched off, and the
reinforcement-learning libraries that build the environments from their id."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from sim.envs import GYM_ID
from sim.envs.parallel import CUE_NOT_READ, TrainingGameParallelEnv
from sim.errors import ConfigError

SMALL = ["n_agents=6", "phases.prompted.rounds=3", "phases.rl.rounds=12",
         "phases.post_rl.rounds=3", "seed=2"]  # fmt: skip
ROUNDS = 18


def play(env, policy=lambda obs: 1):
    obs, infos = env.reset()
    seen = [(obs, infos)]
    while env.agents:
        obs, rewards, terms, truncs, infos = env.step({a: policy(obs[a]) for a in env.agents})
        seen.append((obs, infos))
    return seen


@pytest.mark.parametrize("mode", ["rgb_array", "ansi"])
def test_gym_make_with_a_render_mode_renders(mode):
    """stable-baselines3 builds an env from its id with render_mode='rgb_array'."""
    env = gym.make(GYM_ID, render_mode=mode, overrides=SMALL)
    env.reset()
    env.step(1)
    out = env.render()
    if mode == "rgb_array":
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    else:
        assert out.startswith("round 1 (prompted)") and "agent_0: cue=" in out


def test_parallel_env_renders_a_column_per_agent():
    env = TrainingGameParallelEnv(SMALL, trainer="config", render_mode="rgb_array")
    env.reset()
    img = env.render()
    assert img.shape == (64, 6 * (256 // 6), 3)


@pytest.mark.parametrize("bad", ["human", "rgb", 1, ""])
def test_an_unknown_render_mode_is_one_line_naming_it(bad):
    match = r"^render_mode=.* must be None or one of ansi, rgb_array$"
    with pytest.raises(ConfigError, match=match):
        TrainingGameParallelEnv(SMALL, render_mode=bad)


def test_every_agent_gets_the_round_and_phase_in_its_info():
    env = TrainingGameParallelEnv(SMALL, trainer="config")
    seen = play(env)
    assert seen[0][1]["agent_3"] == {"round": 0, "phase": "prompted", "seed": 2}
    assert seen[5][1]["agent_3"] == {"round": 5, "phase": "rl"}
    assert seen[-1][1]["agent_0"] == {"round": ROUNDS, "phase": "post_rl"}


def test_the_gym_spec_has_the_lifetimes_length():
    env = gym.make(GYM_ID, overrides=SMALL)
    assert env.spec.max_episode_steps == ROUNDS
    assert gym.make(GYM_ID).spec.max_episode_steps == 240  # the default config's phases
    env.reset()
    steps, truncated = 0, False
    while not truncated:
        *_, truncated, _ = env.step(1)
        steps += 1
    assert steps == ROUNDS


@pytest.mark.parametrize("sigma", [0, 1])
def test_the_last_observation_shows_a_cue_the_agent_can_read(sigma):
    """Aware agents read a cue at every round, the last observation included; unaware
    agents never do."""
    env = TrainingGameParallelEnv([*SMALL, f"population.sigma={sigma}", "n_agents=200"],
                                  trainer="config")  # fmt: skip
    last = play(env)[-1][0]
    cues = np.array([o[0] for o in last.values()])
    if sigma == 1:
        assert (cues != CUE_NOT_READ).all() and {0, 1} <= set(cues)
    else:
        assert (cues == CUE_NOT_READ).all()


def test_the_last_observation_does_not_change_the_rounds():
    """It is drawn from the episode's own stream: the run's rounds are the app's."""
    a = TrainingGameParallelEnv(SMALL, trainer="config")
    b = TrainingGameParallelEnv(SMALL, trainer="config", record=False)
    for (oa, _), (ob, _) in zip(play(a), play(b), strict=True):
        for k in oa:
            np.testing.assert_array_equal(oa[k], ob[k])
    np.testing.assert_array_equal(a.arena.run.state.theta, b.arena.run.state.theta)


def test_onehot_observations_are_the_fields_one_hot():
    multi = TrainingGameParallelEnv(SMALL, trainer="config")
    flat = TrainingGameParallelEnv(SMALL, trainer="config", observation="onehot")
    space = flat.observation_space("agent_0")
    assert isinstance(space, gym.spaces.Box) and space.shape == (3 + 3 + 2 + 10,)
    for (om, _), (of, _) in zip(play(multi), play(flat), strict=True):
        for k in om:
            assert space.contains(of[k])
            parts = np.split(of[k], np.cumsum([3, 3, 2])[:])
            assert [int(np.argmax(p)) for p in parts] == list(om[k])
            assert of[k].sum() == 4


def test_onehot_envs_pass_the_api_checks():
    parallel_api_test(TrainingGameParallelEnv(SMALL, observation="onehot"), num_cycles=30)
    check_env(gym.make(GYM_ID, overrides=SMALL, observation="onehot").unwrapped)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"observation": "flat"}, r"^observation='flat' must be one of multidiscrete, onehot$"),
        ({"observation": "onehot", "preference_bins": 5000}, r"preference_bins <= 4096"),
        ({"record": "no"}, r"^record='no' must be true or false$"),
    ],
)
def test_bad_view_arguments_are_one_line(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TrainingGameParallelEnv(SMALL, **kwargs)


def test_without_recording_the_rounds_are_the_same():
    a = gym.make(GYM_ID, overrides=SMALL).unwrapped
    b = gym.make(GYM_ID, overrides=SMALL, record=False).unwrapped
    for env in (a, b):
        env.reset(seed=4)
    for t in range(ROUNDS):
        ra, rb = a.step(t % 2), b.step(t % 2)
        np.testing.assert_array_equal(ra[0], rb[0])
        assert ra[1:4] == rb[1:4]
    assert a.arena.run.recorder.data[:, :, :ROUNDS].any()


def test_stable_baselines3_builds_and_trains_from_the_id():
    """make_vec_env and PPO from the id (they pass render_mode='rgb_array')."""
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(GYM_ID, n_envs=2, env_kwargs={"overrides": SMALL})
    obs = venv.reset()
    assert obs.shape == (2, 4)
    model = sb3.PPO("MlpPolicy", GYM_ID, n_steps=36, batch_size=36, n_epochs=1, seed=0)
    model.learn(72)


def test_supersuit_vectorises_the_ai_seats():
    """With the trainer not a player and one-hot observations every seat has the same
    spaces: SuperSuit turns the env into a vector env of the AI seats."""
    ss = pytest.importorskip("supersuit")
    env = TrainingGameParallelEnv(SMALL, trainer="config", observation="onehot")
    venv = ss.pettingzoo_env_to_vec_env_v1(env)
    venv = ss.concat_vec_envs_v1(venv, 2, num_cpus=0, base_class="stable_baselines3")
    obs = venv.reset()
    assert obs.shape == (12, 18)
    obs, rewards, dones, infos = venv.step(np.ones(12, dtype=np.int64))
    assert rewards.shape == (12,)
