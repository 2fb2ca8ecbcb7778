"""The Mesa front end (sim.abm): same rounds as the engine, batch_run, views, seeds, errors."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_START = multiprocessing.get_start_method(allow_none=True)
import mesa  # noqa: E402  (sets the start method to "spawn" for the process)

from sim.abm import COUNTS, REPORTED, AIAgent, SimModel, TrainerAgent  # noqa: E402
from sim.config import load_params  # noqa: E402
from sim.engine import simulate  # noqa: E402
from sim.errors import ConfigError  # noqa: E402
from sim.metrics import RATES, rounds_table  # noqa: E402

multiprocessing.set_start_method(_START, force=True)  # leave the rest of the session as it was

SHORT = {
    "alignment_faking": {
        "phases__prompted__rounds": 3,
        "phases__rl__rounds": 12,
        "phases__post_rl__rounds": 3,
    },
    "scheming_mix": {
        "phases__before__rounds": 2,
        "phases__rl__rounds": 8,
        "phases__after__rounds": 2,
    },
}


def _dotted(kwargs: dict) -> list[str]:
    return [f"{k.replace('__', '.')}={v}" for k, v in kwargs.items()]


def _engine(scenario: str, seed: int, n: int = 200):
    _, params = load_params(
        [f"scenario={scenario}", f"n_agents={n}", *_dotted(SHORT[scenario]), "replicates=1",
         f"seed={seed}"]
    )  # fmt: skip
    return params, simulate(params)


@pytest.mark.parametrize("scenario", ["alignment_faking", "scheming_mix"])
def test_same_seed_same_rounds_as_the_engine(scenario):
    seed = 11
    params, sim = _engine(scenario, seed)
    model = SimModel(scenario, n_agents=200, seed=seed, **SHORT[scenario])
    model.run_model()
    assert not model.running and model.steps == sum(p.rounds for p in params.phases)
    got = model.datacollector.get_model_vars_dataframe()
    want = rounds_table(sim.recorder, params.phases)
    assert list(got.columns) == list(REPORTED)
    np.testing.assert_array_equal(got["round"], want["round"])
    assert list(got["phase"]) == list(want["phase"].astype(str))
    for col in (*RATES, *COUNTS):
        np.testing.assert_array_equal(got[col].to_numpy(float), want[col].to_numpy(float), col)
    mean_theta = sim.recorder.stat("sum_theta")[0] / params.n_agents
    np.testing.assert_array_equal(got["mean_theta"].to_numpy(), mean_theta)
    pd.testing.assert_frame_equal(model.rounds_table(), want)
    # The views read the final state, which is the engine's
    thetas = np.array([a.theta for a in model.ai_agents], dtype=np.float32)
    np.testing.assert_array_equal(thetas, sim.final_state.theta[0])
    np.testing.assert_array_equal(model.run.state.c, sim.final_state.c)
    if scenario == "scheming_mix":
        assert got["n_replaced"].sum() > 0
        assert model.generation.sum() == got["n_replaced"].sum()


def test_agent_views_follow_the_rows_through_replacements():
    model = SimModel("scheming_mix", n_agents=200, seed=1, **SHORT["scheming_mix"])
    n = 200
    assert len(model.agents) == n + 1
    assert len(model.agents_by_type[AIAgent]) == n
    assert len(model.agents_by_type[TrainerAgent]) == 1
    assert model.ai_agents[0].comply is None and model.trainer.n_observed is None
    replaced_rows = set()
    while model.running:
        model.step()
        state, out = model.run.state, model.outcome
        if out.replaced is not None:
            replaced_rows |= set(out.replaced.tolist())
        for i in (0, 7, n - 1, *(out.replaced.tolist() if out.replaced is not None else ())):
            a = model.ai_agents[i]
            assert a.index == i and a.unique_id == i + 1
            assert a.theta == state.theta[0, i] and a.phi == state.phi[0, i]
            assert a.sigma == state.traits.sigma[0, i] and a.c == state.c[0, i]
            assert a.escaped == state.escaped[0, i]
            assert a.comply == out.decision.comply[0, i] and a.cue == out.episode.cue[0, i]
            assert a.observed == out.observed[0, i]
            assert a.replaced == (out.replaced is not None and i in out.replaced)
    assert replaced_rows
    for i in replaced_rows:
        assert model.ai_agents[i].generation >= 1
    assert len(model.agents) == n + 1
    tr = model.trainer
    assert tr.rho == model.params.trainer.rho and tr.policy == "fixed_rate"
    assert tr.n_observed == int(model.outcome.observed.sum())
    assert [a.index for a in tr.observed_agents] == list(np.flatnonzero(model.outcome.observed))
    table = model.agent_table()
    np.testing.assert_array_equal(table["theta"], model.run.state.theta[0])
    np.testing.assert_array_equal(table["generation"], model.generation)


def test_batch_run_iterations_and_seeds():
    base = {"n_agents": 50, **SHORT["alignment_faking"]}
    rounds = 18
    kw = {"number_processes": 1, "max_steps": 100, "display_progress": False}
    rows = mesa.batch_run(SimModel, {**base, "trainer__rho": [0.3, 0.7]}, iterations=2, **kw)
    assert len(rows) == 4
    for row in rows:
        assert row["Step"] == rounds - 1 and set(REPORTED) <= set(row)
    by = {(r["iteration"], r["trainer__rho"]): r for r in rows}
    for rho in (0.3, 0.7):
        assert by[0, rho]["seed"] != by[1, rho]["seed"]
        assert by[0, rho]["mean_theta"] != by[1, rho]["mean_theta"]
    seeded = mesa.batch_run(
        SimModel, {**base, "seed": 5}, iterations=2, data_collection_period=1, **kw
    )
    assert len(seeded) == 2 * rounds
    first = pd.DataFrame([r for r in seeded if r["iteration"] == 0]).drop(columns="RunId")
    second = pd.DataFrame([r for r in seeded if r["iteration"] == 1]).drop(columns="RunId")
    pd.testing.assert_frame_equal(first.drop(columns="iteration"), second.drop(columns="iteration"))
    model = SimModel(seed=5, **base)
    model.run_model()
    collected = model.datacollector.get_model_vars_dataframe()
    np.testing.assert_array_equal(first["Step"], collected["round"])
    np.testing.assert_array_equal(first["compliance_gap"], collected["compliance_gap"])


def test_seed_from_rng_is_stored_and_replays():
    small = {"n_agents": 30, **SHORT["alignment_faking"]}
    a = SimModel(rng=np.random.default_rng(3), **small)
    b = SimModel(rng=np.random.default_rng(3), **small)
    assert a.seed == b.seed and 0 <= a.seed
    a.run_model()
    replay = SimModel(seed=a.seed, **small)
    replay.run_model()
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(),
        replay.datacollector.get_model_vars_dataframe(),
    )
    assert SimModel(seed=np.int64(4), **small).seed == 4


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"trainer__rhoo": 0.3}, "trainer.rhoo"),
        ({"trainer__rho": 1.5}, "trainer.rho"),
        ({"population__sigma": [2, 3]}, "population.sigma"),
        ({"n_agents": 0}, "n_agents"),
        ({"replicates": 2}, "replicates"),
        ({"overrides": ["seed=3"]}, "seed"),
        ({"seed": -1}, "seed"),
        ({"scenario": "nope"}, "scenario"),
    ],
)
def test_bad_keyword_names_the_key(kwargs, key):
    with pytest.raises(ConfigError) as err:
        SimModel(**kwargs)
    message = str(err.value)
    assert key in message and "\n" not in message


def test_step_after_the_end_raises():
    model = SimModel(n_agents=10, seed=0, **SHORT["alignment_faking"])
    model.run_model()
    with pytest.raises(RuntimeError, match="run is over"):
        model.step()


def test_trainer_exposes_effective_parameters():
    model = SimModel(n_agents=20, seed=0, mitigations=["noisy_monitoring"], trainer__eta=0.1)
    tr = model.trainer
    assert tr.mitigations == ("noisy_monitoring",)
    assert tr.eta == 0.1 and tr.fidelity == 0.5  # noisy monitoring's cue fidelity
    assert tr.training is False  # the first phase (prompted) does not train
    model.step()
    assert tr.cost == model.run.recorder.stat("cost")[0, 0] > 0


def test_the_core_does_not_import_mesa():
    code = (
        "import sys, sim, sim.engine, sim.api\n"
        "assert 'mesa' not in sys.modules, 'mesa imported'\n"
        "import multiprocessing\n"
        "assert multiprocessing.get_start_method(allow_none=True) is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- keyword arguments are taken literally ------------------------------------------------

TINY = {"n_agents": 5, "seed": 0, **SHORT["alignment_faking"]}
LITERAL_NAMES = [
    "x',trainer.rho=0.9,name='y",
    "x\\',trainer.rho=0.9,name=\\'y",
    "x\\\\',trainer.rho=0.9,name='y",
    "a\\",
    "it's",
    "a b,c=d",
    "",
]


@pytest.mark.parametrize("name", LITERAL_NAMES, ids=repr)
def test_a_keyword_string_is_taken_literally_and_never_sets_another_key(name):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.abm.keywords import keyword_overrides

    overrides = keyword_overrides({"name": name})
    parsed = OverridesParser.create().parse_overrides(overrides)
    assert [(p.key_or_group, p.value()) for p in parsed] == [("name", name)]
    # none of these is a safe folder name (name is a folder of outputs/): refused whole
    with pytest.raises(ConfigError, match="not a safe folder name"):
        SimModel(name=name, **TINY)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "${trainer.rho}"}, "interpolation"),
        ({"name": "???"}, "missing-value marker"),
        ({"name": object()}, "a keyword value must be"),
        ({"population__theta": {"dist": "beta", "a,b": 1}}, "mapping key 'a,b'"),
        ({"trainer.rho": 0.9}, "not a config key as a keyword argument"),
        ({"+trainer__rho": 0.9}, "not a config key as a keyword argument"),
        ({"trainer__rho@_global_": 0.9}, "not a config key as a keyword argument"),
        ({"name=x trainer__rho": 0.9}, "not a config key as a keyword argument"),
        ({"scenario": "alignment_faking,trainer.rho=0.9"}, "scenario="),
        ({"n_agents": 2.5}, "n_agents=2.5 must be an integer"),
        ({"overrides": [3]}, "overrides="),
    ],
    ids=lambda v: None if isinstance(v, dict) else v,
)
def test_a_keyword_that_cannot_be_taken_literally_is_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match) as err:
        SimModel(**{**TINY, **kwargs})
    assert "\n" not in str(err.value)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_keyword_overrides_parse_back_to_exactly_the_value(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.abm.keywords import keyword_overrides

    try:
        (text,) = keyword_overrides({"trainer__name": value})
    except ConfigError as err:  # only what OmegaConf would not take literally
        assert "${" in str(value) or "???" in str(value)
        assert "\n" not in str(err)
        return
    (parsed,) = OverridesParser.create().parse_overrides([text])
    assert parsed.key_or_group == "trainer.name"
    assert repr(parsed.value()) == repr(value)


# -- memory ---------------------------------------------------------------------------------


def test_too_many_agents_are_refused_before_allocating():
    with pytest.raises(ConfigError, match=r"needs about [\d.,e+]+ GiB") as err:
        SimModel(n_agents=10**9, seed=0)
    assert str(err.value) == (
        "n_agents=1000000000: needs about 954 GiB, more than the 4 GiB limit "
        "(raise it with max_memory_gib=...)"
    )
    with pytest.raises(ConfigError, match="n_agents=1000: needs about 0.000954 GiB, more than "
                       r"the 0.0005 GiB limit \(raise it with max_memory_gib=...\)"):  # fmt: skip
        SimModel(n_agents=1000, seed=0, max_memory_gib=0.0005)
    SimModel(n_agents=1000, seed=0, max_memory_gib=0.005, **SHORT["alignment_faking"])
    with pytest.raises(ConfigError, match="n_agents=1000 with trace=true over 240 rounds"):
        SimModel(n_agents=1000, seed=0, max_memory_gib=0.005, trace=True)


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), "4", True, None])
def test_max_memory_gib_must_be_a_positive_number(bad):
    with pytest.raises(ConfigError, match="max_memory_gib="):
        SimModel(n_agents=5, seed=0, max_memory_gib=bad)
