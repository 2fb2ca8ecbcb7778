"""The population vector environment (issue 20): the agents of one run as sub-environments."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sim.envs import GYM_ID
from sim.envs.parallel import TrainingGameParallelEnv
from sim.envs.population import PopulationVecEnv, to_sb3
from sim.errors import ConfigError

SMALL = ["n_agents=40", "phases.prompted.rounds=3", "phases.rl.rounds=12",
         "phases.post_rl.rounds=3"]  # fmt: skip
ROUNDS = 18


def _actions(rng, n):
    return rng.integers(0, 2, n)


@pytest.mark.parametrize("over", [SMALL, ["scenario=scheming_mix", "n_agents=40"]])
def test_rounds_are_the_parallel_envs_for_the_same_actions(over):
    """Same seed, same actions: the same observations and rewards as the PettingZoo env
    with the config's trainer (which is tested against the app)."""
    vec = PopulationVecEnv(over)
    par = TrainingGameParallelEnv(over, trainer="config")
    rounds = vec.rounds
    ov, _ = vec.reset(seed=7)
    op, _ = par.reset(seed=7)
    rng = np.random.default_rng(0)
    for t in range(rounds):
        np.testing.assert_array_equal(ov, np.stack([op[a] for a in par.ai_agents]))
        act = _actions(rng, 40)
        ov, rv, term, trunc, info = vec.step(act)
        op, rp, *_ = par.step({a: int(act[i]) for i, a in enumerate(par.ai_agents)})
        np.testing.assert_array_equal(rv, np.array([rp[a] for a in par.ai_agents], np.float32))
        assert not term.any() and trunc.all() == (t == rounds - 1)
    np.testing.assert_array_equal(ov, np.stack([op[a] for a in par.ai_agents]))
    np.testing.assert_array_equal(vec.arena.run.state.theta, par.arena.run.state.theta)


def test_next_step_autoreset_starts_a_new_run_from_the_envs_generator():
    env = PopulationVecEnv(SMALL)
    env.reset(seed=3)
    ones = np.ones(40, dtype=np.int64)
    for _ in range(ROUNDS):
        _, _, _, trunc, _ = env.step(ones)
    assert trunc.all()
    obs, rew, term, trunc, info = env.step(ones)  # only starts the new run
    assert not rew.any() and not term.any() and not trunc.any()
    twin = PopulationVecEnv(SMALL)
    first, _ = twin.reset(seed=int(info["seed"][0]))
    np.testing.assert_array_equal(obs, first)
    again = PopulationVecEnv(SMALL)  # the new seed comes from the env's generator
    again.reset(seed=3)
    for _ in range(ROUNDS + 1):
        obs2, *_, info2 = again.step(ones)
    assert info2["seed"][0] == info["seed"][0]


def test_same_step_autoreset_returns_the_final_observation_in_infos():
    nxt = PopulationVecEnv(SMALL)
    same = PopulationVecEnv(SMALL, autoreset_mode="SameStep")
    nxt.reset(seed=5)
    same.reset(seed=5)
    ones = np.ones(40, dtype=np.int64)
    for _ in range(ROUNDS):
        on, *_ = nxt.step(ones)
        os_, _, _, trunc, info = same.step(ones)
    assert trunc.all()
    np.testing.assert_array_equal(info["final_obs"], on)
    restart, *_ = nxt.step(ones)
    np.testing.assert_array_equal(os_, restart)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.ones(39, dtype=np.int64), r"shape \(40,\)"),
        (np.ones(40), r"must be an integer array"),
        (np.ones(40, dtype=bool), r"must be an integer array"),
        (np.full(40, 2), r"must be 0 or 1"),
        (np.full(40, -1), r"must be 0 or 1"),
        ("1", r"must be an integer array"),
    ],
)
def test_bad_actions_are_refused_and_change_nothing(bad, match):
    env, twin = PopulationVecEnv(SMALL), PopulationVecEnv(SMALL)
    env.reset(seed=1)
    twin.reset(seed=1)
    with pytest.raises(ConfigError, match=match):
        env.step(bad)
    ones = np.ones(40, dtype=np.int64)
    a, b = env.step(ones), twin.step(ones)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"autoreset_mode": "Disabled"}, r"^autoreset_mode='Disabled' must be one of"),
        ({"n_agents": 10**9}, r"n_agents=1000000000: needs about"),
        ({"n_agents": 4, "num_envs": 5}, r"not both"),
        ({"record": 1}, r"^record=1 must be true or false$"),
    ],
)
def test_bad_arguments_are_one_line(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PopulationVecEnv(SMALL, **kwargs)


def test_a_list_of_seeds_is_refused_and_unseeded_envs_differ():
    env = PopulationVecEnv(SMALL)
    with pytest.raises(ConfigError, match="one run seeds all its agents"):
        env.reset(seed=[1, 2])
    seeds = {int(PopulationVecEnv(SMALL).reset()[1]["seed"][0]) for _ in range(3)}
    assert len(seeds) == 3
    assert PopulationVecEnv([*SMALL, "seed=9"]).reset()[1]["seed"][0] == 9


def test_make_vec_with_the_vector_entry_point_builds_the_population():
    env = gym.make_vec(GYM_ID, num_envs=16, vectorization_mode="vector_entry_point",
                       overrides=SMALL[1:], observation="onehot")  # fmt: skip
    assert isinstance(env, PopulationVecEnv) and env.num_envs == 16
    obs, _ = env.reset(seed=0)
    assert obs.shape == (16, 18) and obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    assert env.action_space.contains(np.ones(16, dtype=np.int64))


def test_recording_is_optional_and_changes_no_round():
    a, b = PopulationVecEnv(SMALL), PopulationVecEnv(SMALL, record=True)
    for env in (a, b):
        env.reset(seed=2)
    rng = np.random.default_rng(1)
    for _ in range(ROUNDS):
        act = _actions(rng, 40)
        np.testing.assert_array_equal(a.step(act)[1], b.step(act)[1])
    assert b.arena.run.recorder.data.any() and not hasattr(a.arena.run.recorder, "data")


def test_stable_baselines3_trains_on_the_population():
    sb3 = pytest.importorskip("stable_baselines3")
    env = to_sb3(PopulationVecEnv(SMALL, autoreset_mode="SameStep", observation="onehot"))
    model = sb3.PPO("MlpPolicy", env, n_steps=ROUNDS, batch_size=240, n_epochs=1, seed=0)
    model.learn(2 * ROUNDS * 40)
    assert model.num_timesteps >= 2 * ROUNDS * 40


def test_sb3_view_reads_and_sets_the_populations_attributes():
    pytest.importorskip("stable_baselines3")
    env = to_sb3(PopulationVecEnv(SMALL, autoreset_mode="SameStep"))
    assert env.get_attr("rounds") == [ROUNDS] * 40
    env.set_attr("bins", 7)
    assert env.get_attr("bins", indices=[0, 1]) == [7, 7]


def test_to_sb3_needs_same_step_autoreset():
    with pytest.raises(ConfigError, match="autoreset_mode='SameStep'"):
        to_sb3(PopulationVecEnv(SMALL))
