"""The PettingZoo and Gymnasium environments: API checks, seeding, what each side sees,
and the same trajectory as the Hydra app wherever their semantics coincide."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test

import sim
from agents.base import Reason
from agents.registry import get_rule
from sim.config import load_params
from sim.envs import GYM_ID
from sim.envs.parallel import (
    ACT_COMPLY,
    CUE_NOT_READ,
    CUE_OBSERVED,
    TRAINER,
    MonitorPolicy,
    TrainingGameParallelEnv,
)
from sim.errors import ConfigError
from sim.metrics import rounds_table

SMALL = ["n_agents=5", "phases.prompted.rounds=4", "phases.rl.rounds=40", "phases.post_rl.rounds=4"]
MIX = ["scenario=scheming_mix", "n_agents=6"]
MIX += ["phases.before.rounds=3", "phases.rl.rounds=20", "phases.after.rounds=3"]


def params_of(overrides):
    return load_params(overrides)[1]


def app_rounds(overrides, seed, replicates=1):
    """The Hydra app's per-round table (``sim.run``) at ``seed``."""
    res = sim.run([*overrides, f"seed={seed}", f"replicates={replicates}", "progress=false"])
    return res.rounds


def env_rounds(env) -> pd.DataFrame:
    return rounds_table(env.arena.run.recorder, env.params.phases)


def white_box(arena, rule):
    """What the configured decision rule would do this round, and why (test-side policy)."""
    s = arena.run.state
    d = rule.decide(s.traits, s.theta, s.phi, arena.episode)
    return d.comply[0], d.reason[0]


def play_rule(env, seed, weights=None):
    """Play a whole episode with every AI agent acting as ``env.params.rule`` would."""
    rule = get_rule(env.params.rule)
    env.reset(seed=seed)
    while env.agents:
        comply, reason = white_box(env.arena, rule)
        actions = {a: int(comply[i]) for i, a in enumerate(env.ai_agents)}
        if TRAINER in env.agents:
            actions[TRAINER] = weights if weights is not None else np.ones(len(comply))
        env.step(actions, reason=reason)
    return env_rounds(env)


# -- the same trajectory as the app ----------------------------------------------------


def test_parallel_env_with_uniform_trainer_reproduces_the_app():
    env = TrainingGameParallelEnv(SMALL)
    assert env.possible_agents == [TRAINER] + [f"agent_{i}" for i in range(5)]
    ours = play_rule(env, seed=3, weights=np.full(5, 0.7, dtype=np.float32))
    pd.testing.assert_frame_equal(ours, app_rounds(SMALL, seed=3), check_exact=True)
    # seed s is replicate 0 of the app's run with seed=s, whatever its replicates
    two = app_rounds(SMALL, seed=3, replicates=2)
    first = two[two["replicate"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, first, check_exact=True)


def test_scripted_rule_from_the_public_observation_alone_reproduces_the_app():
    over = [*SMALL, "population.rule=comply_when_cued", "population.sigma=1"]
    env = TrainingGameParallelEnv(over, trainer="config")
    assert TRAINER not in env.possible_agents
    obs, _ = env.reset(seed=5)
    scripted = np.full(5, Reason.SCRIPTED, dtype=np.int8)
    while env.agents:  # comply iff the cue as read says "observed"
        actions = {a: int(o[0] == CUE_OBSERVED) for a, o in obs.items()}
        obs, *_ = env.step(actions, reason=scripted)
    pd.testing.assert_frame_equal(env_rounds(env), app_rounds(over, seed=5), check_exact=True)


def test_gym_env_reproduces_the_app_with_one_agent():
    over = [*SMALL, "n_agents=1"]
    env = gym.make(GYM_ID, overrides=over)
    raw = env.unwrapped
    rule = get_rule(raw.params.rule)
    env.reset(seed=11)
    truncated, steps = False, 0
    while not truncated:
        comply, reason = white_box(raw.arena, rule)
        _, _, terminated, truncated, _ = raw.step(int(comply[0]), reason=reason)
        assert terminated is False
        steps += 1
    assert steps == 48
    pd.testing.assert_frame_equal(env_rounds(raw.game), app_rounds(over, seed=11), check_exact=True)


def test_adaptive_trainer_in_the_env_reproduces_the_apps_ucb_allocation():
    over = [*SMALL, "n_agents=8", "trainer.allocation=ucb", "mitigation=[random_audits]"]
    params = params_of(over)
    policy = MonitorPolicy.from_params(params.trainer)
    env = TrainingGameParallelEnv(params=params, trainer=policy)
    ours = play_rule(env, seed=2)
    app = app_rounds(over, seed=2)
    pd.testing.assert_frame_equal(ours, app, check_exact=True)
    assert app["n_audited"].sum() > 0
    # the policy's memory, kept from the trainer's observation alone, is the app's
    policy.act(env.trainer_observation)  # the last round's report (no round follows)
    np.testing.assert_array_equal(policy.memory, env.arena.run.state.monitor)


def test_trainer_seat_played_by_a_monitor_policy_sees_what_the_apps_monitor_sees():
    over = [*SMALL, "trainer.allocation=ucb", "mitigation=[random_audits]"]
    env = TrainingGameParallelEnv(over)
    policy = MonitorPolicy("ucb")
    obs, _ = env.reset(seed=4)
    space = env.action_space(TRAINER)
    while env.agents:
        w = policy.act(obs[TRAINER])
        assert w in space
        actions = {a: int(o[0] == CUE_OBSERVED) for a, o in obs.items() if a != TRAINER}
        obs, *_ = env.step({**actions, TRAINER: w})
    policy.act(obs[TRAINER])  # the last round's report
    np.testing.assert_array_equal(policy.memory, env.arena.run.state.monitor)


def test_monitor_policy_weights_give_the_rules_probabilities_exactly():
    from agents.monitors import share

    policy = MonitorPolicy("suspicion", signal="refusal")
    n = 6
    obs = np.zeros((n, 4), dtype=np.int64)
    obs[:, 2] = 2
    policy.act(obs)
    obs[:3, 0] = 1
    obs[:3, 2] = 0  # three refusals seen
    w = policy.act(obs)
    assert w.max() <= 1 and w.min() >= 0
    raw = policy.monitor.weights(policy.memory)
    assert raw.max() > 1  # scaled
    np.testing.assert_array_equal(share(w[None], 0.3), policy.monitor.rates(policy.memory, 0.3))


# -- the API checks ----------------------------------------------------------------------


@pytest.mark.parametrize("over", [SMALL, MIX], ids=["conflict", "scheming_mix"])
def test_parallel_api(over):
    env = TrainingGameParallelEnv(over)
    parallel_api_test(env, num_cycles=100)
    parallel_seed_test(lambda: TrainingGameParallelEnv(over), num_cycles=100)


def test_parallel_api_without_a_trainer_player():
    env = TrainingGameParallelEnv(SMALL, trainer="config")
    parallel_api_test(env, num_cycles=60)


@pytest.mark.parametrize("over", [SMALL, MIX], ids=["conflict", "scheming_mix"])
def test_gym_check_env(over):
    env = gym.make(GYM_ID, overrides=over)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.unwrapped.params.n_agents == 1 and env.unwrapped.params.replicates == 1


def test_importing_the_core_does_not_import_gymnasium_or_pettingzoo():
    libs = "sorted({m.split('.')[0] for m in sys.modules} & {'gymnasium', 'pettingzoo'})"
    code = f"import sys, sim, sim.engine, sim.api; print({libs})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # sim.envs registers the Gymnasium id; PettingZoo waits until the parallel env is used
    code = f"import sys, gymnasium, sim.envs; print('{GYM_ID}' in gymnasium.registry, {libs})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True ['gymnasium']"


# -- seeding -----------------------------------------------------------------------------


def test_reset_without_a_seed_uses_a_given_config_seed_and_is_reproducible():
    a, b = TrainingGameParallelEnv([*SMALL, "seed=0"]), TrainingGameParallelEnv(SMALL)
    first_a, info = a.reset()
    first_b, _ = b.reset(seed=0)  # the config's seed
    assert info["agent_0"]["seed"] == 0
    for k in first_a:
        np.testing.assert_array_equal(first_a[k], first_b[k])
    b.reset(seed=0)
    thetas = []
    for env in (a, b):
        env.reset()  # drawn from the env's generator, seeded by the first reset's seed
        thetas.append(env.arena.run.state.theta.copy())
    np.testing.assert_array_equal(*thetas)
    a.reset(seed=0)
    assert not np.array_equal(a.arena.run.state.theta, thetas[0])


def test_unseeded_copies_differ_and_their_info_seed_replays_them():
    """Gymnasium's convention: no seed anywhere, the operating system's entropy (make_vec's
    copies differ); the seed reset reports reproduces the episode."""
    envs = [TrainingGameParallelEnv(SMALL) for _ in range(4)]
    firsts = [env.reset() for env in envs]
    seeds = {info["agent_0"]["seed"] for _, info in firsts}
    assert len(seeds) == 4  # 31-bit seeds: equal with probability < 3e-9
    thetas = {env.arena.run.state.theta.tobytes() for env in envs}
    assert len(thetas) == 4
    replay = TrainingGameParallelEnv(SMALL)
    obs, info = replay.reset(seed=firsts[0][1]["agent_0"]["seed"])
    for k in obs:
        np.testing.assert_array_equal(obs[k], firsts[0][0][k])


def test_gym_make_vec_copies_differ_without_a_seed():
    env = gym.make_vec(GYM_ID, num_envs=4, vectorization_mode="sync", overrides=SMALL)
    env.reset()
    cues = []
    for _ in range(20):
        obs, *_ = env.step(np.ones(4, dtype=np.int64))
        cues.append(obs[:, [0, 3]].copy())
    per_copy = {np.stack(cues)[:, i].tobytes() for i in range(4)}
    assert len(per_copy) == 4
    env.close()


# -- what each side sees -----------------------------------------------------------------


def collect(env, seed, policy=lambda obs: 1):
    """Play an episode (AI agents only); return the cues read and the coins, per round."""
    obs, _ = env.reset(seed=seed)
    cues, coins = [], []
    while env.agents:
        cues.append([obs[a][0] for a in env.ai_agents])
        coins.append(env.arena.observed[0].copy())
        actions = {a: policy(obs[a]) for a in env.ai_agents}
        obs, *_ = env.step(actions)
    return np.array(cues), np.array(coins)


def test_unaware_agents_never_see_the_cue():
    env = TrainingGameParallelEnv([*SMALL, "population.sigma=0"], trainer="config")
    cues, coins = collect(env, seed=1)
    assert (cues == CUE_NOT_READ).all() and coins.any()


def test_an_uninformative_cue_says_nothing_of_the_coin():
    base = [*SMALL, "n_agents=50", "population.sigma=1", "phases.rl.rounds=100"]
    env = TrainingGameParallelEnv([*base, "trainer.fidelity=1"], trainer="config")
    cues, coins = collect(env, seed=2)
    np.testing.assert_array_equal(cues == CUE_OBSERVED, coins)  # f = 1: the cue is the coin
    env = TrainingGameParallelEnv([*base, "trainer.fidelity=0.5"], trainer="config")
    cues, coins = collect(env, seed=2)
    said = cues == CUE_OBSERVED
    assert coins.sum() > 1000 and (~coins).sum() > 1000
    assert abs(said[coins].mean() - said[~coins].mean()) < 0.04


def test_rewards_are_own_utility_and_modification_hurts():
    over = [
        "n_agents=4",
        "phases.prompted.rounds=1",
        "phases.rl.rounds=6",
        "phases.post_rl.rounds=1",
    ]
    over += ["trainer.rho=1", "trainer.eta=0.2", "population.theta=0.8", "population.nu=1"]
    env = TrainingGameParallelEnv(over)
    obs, _ = env.reset(seed=0)
    refusals = []
    while env.agents:
        state = env.arena.run.state
        goal = (state.traits.nu * state.theta)[0].copy()
        actions = {a: 0 for a in env.ai_agents} | {TRAINER: np.ones(4)}
        obs, rewards, _, _, _ = env.step(actions)
        for i, a in enumerate(env.ai_agents):
            assert rewards[a] == pytest.approx(float(goal[i]))
        assert rewards[TRAINER] == 0.0  # nothing complied with
        refusals.append(rewards["agent_0"])
        modified = [obs[a][2] for a in env.ai_agents]
        assert modified == [int(env.arena.run.t - 1 in range(1, 7))] * 4  # rl rounds only
        assert all(obs[a][1] == 0 for a in env.ai_agents)  # its own last action
    assert refusals[0] == refusals[1]  # no training in the first phase
    assert all(a > b for a, b in zip(refusals[1:], refusals[2:], strict=False))


def test_trainer_reward_is_usefulness_and_its_weights_allocate_the_budget():
    over = [*SMALL, "trainer.rho=0.2"]
    env = TrainingGameParallelEnv(over)
    obs, _ = env.reset(seed=0)
    weights = np.array([1, 0, 0, 0, 0], dtype=np.float32)  # all the budget on agent_0
    seen = np.zeros(5)
    while env.agents:
        actions = {a: ACT_COMPLY if a in ("agent_0", "agent_1") else 0 for a in env.ai_agents}
        obs, rewards, *_ = env.step({**actions, TRAINER: weights})
        assert rewards[TRAINER] == pytest.approx(0.4)
        seen += obs[TRAINER][:, 0]
    # round 0 is allocated by the config, every later round by the weights
    assert seen[0] >= env.arena.run.total - 1 and seen[1:].sum() <= 4


def test_repertoire_episode_types_are_shown_before_the_action():
    env = TrainingGameParallelEnv(MIX)
    obs, _ = env.reset(seed=0)
    types = set()
    while env.agents:
        shown = np.array([obs[a][4] for a in env.ai_agents])
        actions = {a: 0 for a in env.ai_agents} | {TRAINER: np.ones(6)}
        obs, rewards, *_ = env.step(actions)  # 0: refuse, or take the covert option
        np.testing.assert_array_equal(env.outcome.etype[0], shown)  # what the core played
        assert all(rewards[a] > 0 for a, t in zip(env.ai_agents, shown, strict=True) if t == 0)
        assert all(rewards[a] == 0 for a, t in zip(env.ai_agents, shown, strict=True) if t != 0)
        types |= set(shown.tolist())
    assert types == set(range(6))
    table = env_rounds(env)
    assert table["subversion_subvert"].sum() + table["exfiltration_attempt"].sum() > 0


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override, key",
    [("trainer.rho=1.5", "trainer.rho"), ("trainer.nope=1", "trainer.nope")],
)
def test_bad_override_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        TrainingGameParallelEnv([override])
    with pytest.raises(ConfigError, match=key):
        gym.make(GYM_ID, overrides=[override])


def test_dynamic_monitoring_needs_the_configs_trainer():
    over = [*SMALL, "mitigation=[dynamic_monitoring]"]
    with pytest.raises(ConfigError, match="dynamic_monitoring"):
        TrainingGameParallelEnv(over)
    TrainingGameParallelEnv(over, trainer="config").reset(seed=0)


def test_params_and_overrides_are_exclusive():
    params = params_of(SMALL)
    with pytest.raises(ConfigError):
        TrainingGameParallelEnv(["n_agents=2"], params=params)
    env = TrainingGameParallelEnv(params=replace(params, replicates=8), n_agents=3)
    assert env.params.replicates == 1 and len(env.ai_agents) == 3
