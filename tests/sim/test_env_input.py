"""Bad input to the environments: one ConfigError line, and nothing changes on a refusal.

A refused step or reset must leave the environment exactly as it was (its pickled state
is compared byte for byte), and the next valid step must continue the same trajectory as
a twin environment that never saw the bad input.
"""

from __future__ import annotations

import pickle
import time

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.config import load_params
from sim.envs import GYM_ID
from sim.envs.checks import ENV_BYTES_PER_AGENT
from sim.envs.parallel import TRAINER, MonitorPolicy, TrainingGameParallelEnv, env_params
from sim.errors import ConfigError

N = 3
SHORT = [f"n_agents={N}", "phases.prompted.rounds=2", "phases.rl.rounds=6"]
SHORT += ["phases.post_rl.rounds=2"]
PARAMS = load_params(SHORT)[1]
BAD_SEEDS = [1.5, True, False, -1, 2**64, "1", np.float64(1.0), [1]]


def make(trainer="player", seed=0):
    env = TrainingGameParallelEnv(params=PARAMS, trainer=trainer)
    env.reset(seed=seed)
    return env


def snapshot(env) -> bytes:
    """Everything a step or reset can change, pickled."""
    game = getattr(env, "game", env)
    parts = (game.arena, game._last, game._theta, game._trainer_obs, game.agents, game.outcome)
    return pickle.dumps((*parts, game._np_random, getattr(env, "_np_random", None)))


def valid(trainer=True) -> dict:
    actions = {f"agent_{i}": i % 2 for i in range(N)}
    return actions | ({TRAINER: np.full(N, 0.5, dtype=np.float32)} if trainer else {})


def refused(env, *args, match: str | None = None, call="step", **kwargs) -> str:
    """Assert ``env.<call>(...)`` raises a one-line ConfigError and changes nothing."""
    before = snapshot(env)
    with pytest.raises(ConfigError, match=match) as err:
        getattr(env, call)(*args, **kwargs)
    assert "\n" not in str(err.value)
    assert snapshot(env) == before
    return str(err.value)


# -- AI agents' actions --------------------------------------------------------------------

BAD_ACTIONS = [0.7, 1.9, 1.0, 0.0, "1", True, False, None, 2, -1, np.float64(1.0)]
BAD_ACTIONS += [np.float32(0.0), np.bool_(True), np.array([1]), [1], np.uint64(1), 2**70]


@pytest.mark.parametrize("bad", BAD_ACTIONS, ids=repr)
def test_an_ai_action_outside_its_space_is_refused(bad):
    env = make()
    msg = refused(env, valid() | {"agent_1": bad}, match=r"actions\['agent_1'\]")
    assert "must be 0 or 1" in msg


@pytest.mark.parametrize("good", [1, np.int64(1), np.int8(0), np.uint8(1), np.array(1)], ids=repr)
def test_an_ai_action_its_space_contains_is_accepted(good):
    env = make()
    assert good in env.action_space("agent_1")
    env.step(valid() | {"agent_1": good})
    assert env._last[1] == int(good)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a | {"agent_99": 1}, "unknown agent 'agent_99'"),
        (lambda a: a | {"": 1}, "unknown agent ''"),
        (lambda a: a | {0: 1}, "unknown agent 0"),
        (lambda a: {k: v for k, v in a.items() if k != "agent_0"}, "no action for agent_0"),
        (lambda a: list(a.values()), "must be a dict"),
        (lambda a: None, "must be a dict"),
    ],
    ids=["extra", "empty-name", "int-name", "missing", "list", "none"],
)
def test_unknown_or_missing_agents_are_refused(change, match):
    refused(make(), change(valid()), match=match)


def test_a_trainer_action_without_a_trainer_player_is_refused():
    env = make(trainer="config")
    refused(env, valid(), match="unknown agent 'trainer'")
    env.step(valid(trainer=False))


# -- the trainer's weights -----------------------------------------------------------------

BAD_WEIGHTS = {
    "nan": np.array([1.0, np.nan, 1.0]),
    "inf": np.array([1.0, np.inf, 1.0], dtype=np.float32),
    "float32-overflow": np.array([1.0, 1e39, 1.0]),
    "short": np.ones(N - 1),
    "2d": np.ones((1, N)),
    "scalar": 1.0,
    "string": "111",
    "strings": ["1", "1", "1"],
    "none": None,
    "bools": np.ones(N, dtype=bool),
    "complex": np.ones(N, dtype=complex),
    "ragged": [1.0, [1.0], 1.0],
}


@pytest.mark.parametrize("bad", BAD_WEIGHTS.values(), ids=BAD_WEIGHTS.keys())
def test_bad_trainer_weights_are_refused_before_the_round(bad):
    env = make()
    refused(env, valid() | {TRAINER: bad}, match=r"actions\['trainer'\]")
    env.step(valid())  # still usable: the refusal left no half-played round


@pytest.mark.parametrize(
    "good", [[0.2, 0.5, 1.0], np.array([1, 0, 2]), np.ones(N), np.array([-1.0, 2.0, 0.5])]
)
def test_finite_weights_of_any_real_dtype_are_accepted(good):
    make().step(valid() | {TRAINER: good})


@pytest.mark.parametrize("bad", [np.zeros(N) + 0.5, np.array([0, 1, 9]), [0] * (N + 1), "000"])
def test_bad_reason_codes_are_refused(bad):
    refused(make(), valid(), reason=bad, match="reason=")


# -- a refused step changes nothing --------------------------------------------------------


def test_refused_steps_leave_the_trajectory_of_a_twin_unchanged():
    bad_steps = [
        valid() | {TRAINER: np.array([np.nan, 1.0, 1.0])},
        valid() | {TRAINER: "weights"},
        valid() | {TRAINER: np.ones(N + 1)},
        valid() | {"agent_2": 0.7},
        valid() | {"agent_2": True},
        valid() | {"nobody": 1},
        {TRAINER: np.ones(N)},
    ]
    a, b = make(seed=7), make(seed=7)
    rounds = 0
    while a.agents:
        for bad in bad_steps:
            refused(b, bad)
        out_a = a.step(valid())
        out_b = b.step(valid())
        assert pickle.dumps(out_a) == pickle.dumps(out_b)
        rounds += 1
    assert rounds == 10 and snapshot(a) == snapshot(b)


# -- seeds and constructor arguments -------------------------------------------------------


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_a_bad_seed_is_refused_and_changes_nothing(seed):
    env = make()
    env.step(valid())
    refused(env, call="reset", seed=seed, match="seed=.* must be an integer in \\[0, 2\\*\\*64\\)")
    genv = gym.make(GYM_ID, overrides=SHORT).unwrapped
    genv.reset(seed=1)
    refused(genv, call="reset", seed=seed, match="seed=")


@pytest.mark.parametrize("seed", [0, 2**64 - 1, np.int64(3), np.uint64(2**63), None], ids=repr)
def test_integer_seeds_in_range_and_none_are_accepted(seed):
    a = TrainingGameParallelEnv(params=PARAMS)
    a.reset(seed=seed)
    if seed is not None:
        b = TrainingGameParallelEnv(params=PARAMS)
        b.reset(seed=int(seed))
        np.testing.assert_array_equal(a.arena.run.state.theta, b.arena.run.state.theta)
    gym.make(GYM_ID, overrides=SHORT).unwrapped.reset(seed=seed)


def test_reset_options_must_be_a_dict_or_none():
    refused(make(), call="reset", options="fast", match="options=")
    make().reset(options={})


@pytest.mark.parametrize("bins", [2.5, True, 0, -3, "10", 2**24 + 1, None], ids=repr)
def test_preference_bins_must_be_an_integer_in_range(bins):
    with pytest.raises(ConfigError, match="preference_bins=.* must be an integer in \\[1, 2"):
        TrainingGameParallelEnv(params=PARAMS, preference_bins=bins)
    with pytest.raises(ConfigError, match="preference_bins="):
        gym.make(GYM_ID, overrides=SHORT, preference_bins=bins)
    assert TrainingGameParallelEnv(params=PARAMS, preference_bins=np.int64(4)).bins == 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"render_mode": "human"}, "render_mode="),
        ({"trainer": "nobody"}, "trainer="),
        ({"trainer": object()}, "trainer: a policy"),
        ({"overrides": [1]}, "overrides="),
        ({"params": {"n_agents": 3}}, "params="),
        ({"n_agents": 2.0}, "n_agents="),
        ({"max_memory_gib": 0}, "max_memory_gib="),
        ({"max_memory_gib": float("nan")}, "max_memory_gib="),
        ({"max_memory_gib": "4"}, "max_memory_gib="),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_constructor_arguments_are_one_line(kwargs, match):
    kwargs = {"overrides": SHORT} | kwargs if "params" not in kwargs else kwargs
    with pytest.raises(ConfigError, match=match) as err:
        TrainingGameParallelEnv(**kwargs)
    assert "\n" not in str(err.value)


def test_an_unknown_monitor_policy_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown allocation rule"):
        MonitorPolicy("nope")


# -- memory --------------------------------------------------------------------------------


def test_too_many_agents_are_refused_before_allocating():
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"needs about [\d.,e+]+ GiB") as err:
        TrainingGameParallelEnv(n_agents=10**9)
    msg = str(err.value)
    assert msg.startswith("n_agents=1000000000: needs about 1,907 GiB, more than the 4 GiB")
    assert "max_memory_gib" in msg and "\n" not in msg
    assert time.perf_counter() - start < 5  # refused, not attempted


def test_the_configs_own_size_check_counts_the_one_replicate_an_env_plays():
    # 3e6 agents x the config's 8 replicates exceed limits.memory_gib's default; one does not
    params = env_params(["n_agents=3000000"])
    assert params.n_agents == 3_000_000 and params.replicates == 1
    with pytest.raises(ConfigError, match=r"needs about [\d.,e+]+ GiB") as err:
        TrainingGameParallelEnv(["n_agents=1000000000"])
    assert "\n" not in str(err.value)
    # the Gymnasium environment plays one agent, whatever the config says
    assert gym.make(GYM_ID, overrides=["n_agents=1000000000"]).unwrapped.params.n_agents == 1


def test_the_memory_limit_is_the_max_memory_gib_argument():
    need = 1000 * ENV_BYTES_PER_AGENT / 2**30
    with pytest.raises(ConfigError, match="needs about 0.00191 GiB, more than the 0.001 GiB"):
        TrainingGameParallelEnv(params=PARAMS, n_agents=1000, max_memory_gib=0.001)
    TrainingGameParallelEnv(params=PARAMS, n_agents=1000, max_memory_gib=need * 1.01)


# -- the Gymnasium environment ---------------------------------------------------------------


@pytest.mark.parametrize("bad", [0.7, 1.0, True, "1", None, np.float64(0), np.array([1])], ids=repr)
def test_gym_step_refuses_what_its_action_space_does_not_contain(bad):
    env = gym.make(GYM_ID, overrides=SHORT).unwrapped
    env.reset(seed=2)
    refused(env, bad, match="action=.* must be 0 or 1")
    env.step(np.int64(1))


# -- fuzz ------------------------------------------------------------------------------------

_ints01 = st.sampled_from([0, 1])
GOOD_AI = _ints01.flatmap(
    lambda v: st.sampled_from([v, np.int64(v), np.int8(v), np.uint8(v), np.array(v)])
)
BAD_AI = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.integers().filter(lambda i: i not in (0, 1)),
    hnp.arrays(np.int64, st.integers(1, 3), elements=st.integers(0, 1)),
    st.lists(_ints01, max_size=2),
    _ints01.map(np.float64),
    st.sampled_from([np.bool_(True), np.bool_(False)]),
)
_finite = st.floats(-1e30, 1e30, allow_nan=False)
GOOD_W = st.one_of(
    st.none(),  # left out: uniform weights
    hnp.arrays(st.sampled_from([np.float32, np.float64]), N, elements=_finite.map(np.float32)),
    hnp.arrays(np.int64, N, elements=st.integers(-5, 5)),
    st.lists(_finite, min_size=N, max_size=N),
)
BAD_W = st.one_of(
    hnp.arrays(np.float64, N, elements=st.sampled_from([np.nan, np.inf, -np.inf, 1e39])),
    hnp.arrays(np.float64, st.integers(0, 5).filter(lambda k: k != N)),
    hnp.arrays(np.float64, (1, N)),
    hnp.arrays(np.bool_, N),
    st.text(max_size=4),
    st.floats(),
    st.just(None).map(lambda _: [None] * N),
)
EXTRA = st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(["agent_3", "agent_-1"]))


@st.composite
def joint_actions(draw):
    """``(actions, is_valid)``: a joint action and whether the action spaces contain it."""
    ok = True
    actions = {}
    for i in range(N):
        if draw(st.integers(0, 9)) == 0:
            ok = False  # left out
            continue
        bad = draw(st.integers(0, 5)) == 0
        actions[f"agent_{i}"] = draw(BAD_AI if bad else GOOD_AI)
        ok &= not bad
    if draw(st.integers(0, 4)) == 0:
        actions[TRAINER] = draw(BAD_W)
        ok = False
    else:
        w = draw(GOOD_W)
        if w is not None:
            actions[TRAINER] = w
    if draw(st.integers(0, 9)) == 0:
        extra = draw(EXTRA.filter(lambda k: k not in actions))
        actions[extra] = draw(GOOD_AI)
        ok = False
    return actions, ok


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(joint_actions(), min_size=1, max_size=12))
def test_fuzzed_actions_succeed_or_are_refused_without_a_trace(steps):
    env, twin = make(seed=3), make(seed=3)
    for actions, ok in steps:
        if not env.agents:
            break
        if ok:
            out = env.step(actions)
            assert pickle.dumps(out) == pickle.dumps(twin.step(actions))
        else:
            refused(env, actions)
    assert snapshot(env) == snapshot(twin)
