"""The compiled conflict round (sim.kernels) gives numpy's numbers, bit for bit.

Each test runs the same thing with ``TIS_KERNEL=numpy`` (the reference) and
``TIS_KERNEL=numba`` (the compiled round wherever it applies, at any size) and compares
every array or table exactly. Skipped where numba is not installed (the ``fast`` extra;
``make setup`` installs it with ``dev``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import kernels, run
from sim.config import compose_config, load_params
from sim.core import K_UNIFORMS, transition
from sim.engine import make_game
from sim.grid import run_grid
from sim.params import PhaseSpec
from sim.population import sample_population
from sim.rng import RoundStreams
from tests.strategies import trainer_overrides, trait_overrides

needs_numba = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")
SMALL = ["n_agents=150", "replicates=3", "phases.rl.rounds=30", "progress=false"]


def _rounds(state, game, u_list, monkeypatch, mode):
    monkeypatch.setenv("TIS_KERNEL", mode)
    outs = []
    for u in u_list:
        state, out = transition(state, game, u)
        outs.append(out)
    return state, outs


def _same_round(a, b):
    assert b.codes is not None and a.codes is None  # the compiled round played it
    np.testing.assert_array_equal(a.observed, b.observed)
    for k in ("cue", "belief", "aware", "strategic", "u_action"):
        np.testing.assert_array_equal(getattr(a.episode, k), getattr(b.episode, k), err_msg=k)
    for k in ("comply", "reason", "faked"):
        x, y = getattr(a.decision, k), getattr(b.decision, k)
        assert x.dtype == y.dtype, k
        np.testing.assert_array_equal(x, y, err_msg=k)


def _play(overrides, monkeypatch, rows=2, n=257, rounds=4, train=True):
    _, params = load_params(overrides)
    phase = PhaseSpec("p", rounds, train)
    state = sample_population(params.population, params.seed, rows, n)
    game = make_game(params, phase, state)
    streams = RoundStreams(params.seed, rows, n, K_UNIFORMS)
    us = [streams.draw() for _ in range(rounds)]
    a, oa = _rounds(state, game, us, monkeypatch, "numpy")
    b, ob = _rounds(state, game, us, monkeypatch, "numba")
    for x, y in zip(oa, ob, strict=True):
        _same_round(x, y)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.phi, b.phi)
    return oa, ob


@needs_numba
@pytest.mark.parametrize("train", [True, False])
def test_every_array_of_a_round_is_numpys(monkeypatch, train):
    _play(["seed=3"], monkeypatch, train=train)


@needs_numba
@settings(max_examples=25, deadline=None)
@given(traits=trait_overrides(), trainer=trainer_overrides(), seed=st.integers(0, 2**31))
def test_any_traits_and_trainer_give_numpys_round(traits, trainer, seed):
    """Edge values included: lam up to 200 (exp overflows), theta and kappa at 0, rho 0 or 1."""
    with pytest.MonkeyPatch.context() as mp:
        _play([f"seed={seed}", *traits, *trainer], mp, rows=3, n=64, rounds=3)


@needs_numba
def test_the_recorders_counts_are_the_histogram_of_the_codes(monkeypatch):
    from sim import codes

    oa, ob = _play(["seed=1"], monkeypatch, rounds=1)
    # the numpy round's codes, counted the recorder's way, are the kernel's histogram
    _, params = load_params(["seed=1"])
    state = sample_population(params.population, params.seed, 2, 257)
    ep, dec = oa[0].episode, oa[0].decision
    pref = state.traits.nu * state.theta <= state.traits.kappa
    want = codes.histogram(dec.reason, ep.cue, dec.comply, oa[0].observed, dec.faked,
                           ep.aware, pref)  # fmt: skip
    np.testing.assert_array_equal(ob[0].codes, want)


@needs_numba
def test_the_foundation_golden_run_is_unchanged(monkeypatch):
    golden = json.loads((Path(__file__).parent / "data" / "foundation_golden.json").read_text())
    monkeypatch.setenv("TIS_KERNEL", "numba")
    res = run(["n_agents=300", "replicates=3", "seed=5", "phases.rl.rounds=40", "trainer.eta=0.2"])
    now = json.loads(json.dumps(res.metrics))
    for phase, metrics in golden.items():
        for name, summary in metrics.items():
            assert {k: now[phase][name][k] for k in summary} == summary, (phase, name)


@needs_numba
@pytest.mark.parametrize("extra", [(), ("trace=true",), ("scenario=alignment_faking",)])
def test_a_run_is_numpys_table_for_table(monkeypatch, extra):
    monkeypatch.setenv("TIS_KERNEL", "numpy")
    a = run([*SMALL, *extra])
    monkeypatch.setenv("TIS_KERNEL", "numba")
    b = run([*SMALL, *extra])
    assert a.metrics == b.metrics
    assert a.rounds.equals(b.rounds)
    assert (a.decisions is None) == (b.decisions is None)
    if a.decisions is not None:
        assert a.decisions.equals(b.decisions)


@needs_numba
def test_a_grid_with_per_row_parameters_is_numpys(monkeypatch):
    """Grid mode stacks the points' trainer rates as per-row columns; the kernel reads them."""
    spec = "sweep.grid={trainer.rho:[0,0.3,1],trainer.fidelity:[0.5,1],population.sigma:[0,1]}"
    cfg = compose_config([*SMALL, spec])
    monkeypatch.setenv("TIS_KERNEL", "numpy")
    a = run_grid(cfg)
    monkeypatch.setenv("TIS_KERNEL", "numba")
    b = run_grid(cfg)
    assert a.metrics.equals(b.metrics)
    assert a.replicates.equals(b.replicates)


def test_the_kernel_leaves_other_rounds_to_numpy(monkeypatch):
    """Rounds with an episode mix, a mitigation or another rule are numpy's."""
    monkeypatch.setenv("TIS_KERNEL", "numba" if kernels.available() else "auto")
    for overrides in (["population=myopic"], ["mitigation=[random_audits]"],
                      ["scenario=scheming_mix"]):  # fmt: skip
        _, params = load_params(["seed=0", *overrides])
        state = sample_population(params.population, 0, 1, 10)
        game = make_game(params, params.phases[-1], state)
        u = RoundStreams(0, 1, 10, K_UNIFORMS).draw()
        assert not kernels.applies(state, game, u), overrides


def test_numpy_plays_when_numba_is_missing_or_switched_off(monkeypatch):
    _, params = load_params(["seed=0"])
    state = sample_population(params.population, 0, 1, 10)
    game = make_game(params, params.phases[-1], state)
    u = RoundStreams(0, 1, 10, K_UNIFORMS).draw()
    monkeypatch.setenv("TIS_KERNEL", "numpy")
    assert kernels.conflict_round(state, game, u) is None
    monkeypatch.setattr(kernels, "_NUMBA", False)
    monkeypatch.setenv("TIS_KERNEL", "auto")
    big = replace(state, theta=np.zeros((1, kernels.MIN_AGENT_ROWS), np.float32))
    assert not kernels.applies(big, game, u)
    monkeypatch.setenv("TIS_KERNEL", "numba")
    with pytest.raises(ValueError, match="TIS_KERNEL=numba: numba is not installed"):
        kernels.mode()


@pytest.mark.parametrize("value", ["fast", "1", "numba numpy"])
def test_a_bad_kernel_setting_is_one_line_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("TIS_KERNEL", value)
    with pytest.raises(ValueError, match="^TIS_KERNEL=.*expected one of auto, numpy, numba$"):
        kernels.mode()
