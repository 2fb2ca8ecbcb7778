"""Selection across generations (sim.selection): bookkeeping, reproducibility, the operators
(ranking, copies, reflected mutation, imitation), the run folder, and selection monotonicity."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sim import ConfigError, Results, run
from sim.config import load_params
from sim.engine import Run, simulate
from sim.params import SelectionParams
from sim.population import TRAIT_RANGES, respawn, sample_population
from sim.selection import (
    COMPLIED,
    SEEN,
    THETA_START,
    SelectionStreams,
    initial_counts,
    n_kept,
    reflect,
    select,
    update_counts,
)
from sim.state import TRAIT_NAMES, State

SMALL = ["n_agents=60", "replicates=2", "phases.rl.rounds=20", "progress=false"]
ON = ["selection.every=5"]


def _state(n=6, reps=1, **values) -> State:
    base = {t: np.full((reps, n), 0.5, dtype=np.float32) for t in TRAIT_NAMES}
    base["gamma"][:] = 0.9
    base["lam"][:] = 10.0
    for k, v in values.items():
        base[k] = np.broadcast_to(np.asarray(v, dtype=np.float32), (reps, n)).copy()
    state = State.from_traits(base)
    return replace(state, seen=initial_counts(state))


def _with_record(state: State, seen, complied) -> State:
    rec = state.seen.copy()
    rec[:, SEEN] = seen
    rec[:, COMPLIED] = complied
    return replace(state, seen=rec)


# --- selection off, reproducibility -------------------------------------------------------


def test_selection_off_is_the_run_without_the_key_bit_for_bit():
    plain = run(SMALL)
    off = run([*SMALL, "selection.every=0", "selection.keep=0.1", "selection.imitation=1"])
    pd.testing.assert_frame_equal(plain.rounds, off.rounds, check_exact=True)
    assert plain.metrics == off.metrics and off.generations is None


def test_keep_all_without_imitation_changes_nothing():
    """keep=1 replaces nobody: the rounds are those of the run without selection, bit for bit
    (the selection streams are the run's own, so no other draw moves)."""
    plain = run(SMALL)
    kept = run([*SMALL, *ON, "selection.keep=1", "selection.mutation=0.3"])
    pd.testing.assert_frame_equal(plain.rounds, kept.rounds, check_exact=True)
    assert (kept.generations["replaced"] == 0).all()


def test_same_seed_same_generations_other_seed_other():
    a = run([*SMALL, *ON, "selection.imitation=0.5"])
    b = run([*SMALL, *ON, "selection.imitation=0.5"])
    pd.testing.assert_frame_equal(a.generations, b.generations, check_exact=True)
    pd.testing.assert_frame_equal(a.rounds, b.rounds, check_exact=True)
    c = run([*SMALL, *ON, "selection.imitation=0.5", "seed=1"])
    assert not a.generations["mean_sigma"].equals(c.generations["mean_sigma"])


def test_generation_table_rows_and_selection_only_in_training_phases():
    res = run([*SMALL, "selection.every=7"])  # 20 + 20 + 20 rounds: generations straddle phases
    g = res.generations
    assert len(g) == 2 * math.ceil(60 / 7)
    first = g[g["replicate"] == 0].set_index("generation")
    assert list(first["first_round"]) == list(range(0, 60, 7))
    assert first["rounds"].sum() == 60
    # boundaries after rounds 6, 13 (prompted), 55 (post_rl): no selection; 20..39 is rl
    ends = first["first_round"] + first["rounds"] - 1
    train = (ends >= 20) & (ends < 40) & (first["rounds"] == 7)
    assert (first["selected"] == train).all()
    assert (first.loc[first["selected"], "replaced"] == 30).all()
    assert (first.loc[~first["selected"], "replaced"] == 0).all()
    assert first.loc[~first["selected"], "kept_sigma"].isna().all()
    # the per-round trait means are in rounds.parquet too
    assert {"mean_sigma", "mean_gamma", "mean_nu", "mean_h"} <= set(res.rounds.columns)


def test_generations_parquet_saved_loaded_and_removed_on_rerun(tmp_path):
    res = run([*SMALL, *ON])
    folder = res.save(tmp_path / "run", figure=False)
    back = Results.load(folder)
    pd.testing.assert_frame_equal(back.generations, res.generations)
    run(SMALL).save(folder, figure=False)
    assert not (folder / "generations.parquet").exists()
    assert Results.load(folder).generations is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("selection.keep=0", r"^selection\.keep=0\.0 is out of range \(0, 1\]$"),
        ("selection.keep=1.5", r"^selection\.keep=1\.5 is out of range \(0, 1\]$"),
        ("selection.mutation=-0.1", r"^selection\.mutation=-0\.1 is out of range \[0, inf\)$"),
        ("selection.every=-1", r"^selection\.every=-1 must be an integer >= 0$"),
        ("selection.every=1.5", r"^selection\.every: "),
        ("selection.imitation=2", r"^selection\.imitation=2\.0 is out of range \[0, 1\]$"),
        ("selection.traits=[sigma,wisdom]", r"^selection\.traits\[1\]='wisdom' must be one of"),
        ("selection.score=best", r"^selection\.score='best' must be one of"),
        ("selection.rate=1", r"^unknown config key 'selection\.rate'"),
    ],
)
def test_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_params([override])
    assert "\n" not in str(err.value)


def test_preset_composes():
    _, p = load_params(["scenario=selection"])
    assert p.selection.enabled and p.selection.every == 25
    assert all(ph.rounds % p.selection.every == 0 for ph in p.phases)


# --- the record -----------------------------------------------------------------------------


def test_counts_and_their_reset_at_a_boundary_and_on_respawn():
    state = _state(n=4, theta=[0.1, 0.2, 0.3, 0.4])
    observed = np.array([[True, True, False, True]])
    comply = np.array([[True, False, True, True]])
    conflict = np.array([[True, True, True, False]])
    seen = update_counts(state.seen, observed, comply, conflict)
    assert seen[0, SEEN].tolist() == [1, 1, 0, 0] and seen[0, COMPLIED].tolist() == [1, 0, 0, 0]
    assert state.seen[0, SEEN].sum() == 0  # pure
    # a respawned agent starts an empty record from its own theta
    pop = load_params([])[1].population
    fresh = [np.random.default_rng(0)]
    after = respawn(replace(state, seen=seen), np.array([0]), pop, fresh)
    assert after.seen[0, SEEN, 0] == 0 and after.seen[0, COMPLIED, 0] == 0
    assert after.seen[0, THETA_START, 0] == after.theta[0, 0] != state.theta[0, 0]
    assert after.seen[0, SEEN, 1] == 1  # the others keep theirs
    # at a boundary everybody's record restarts, from the theta after selection
    p = load_params([*SMALL, *ON])[1]
    r = Run(p)
    for _ in range(5):
        r.step()
    assert r.state.seen[:, :2].sum() == 0
    np.testing.assert_array_equal(r.state.seen[:, THETA_START], r.state.theta)
    r.step()
    assert r.state.seen[:, SEEN].sum() > 0


# --- the operators ------------------------------------------------------------------------


def test_ranking_keeps_the_best_seen_and_copies_them():
    # agent 0 complied whenever seen, 1 refused, 2 was never seen (1/2), 3 complied once
    state = _state(n=4, sigma=[0.1, 0.2, 0.3, 0.4], theta=[0.6, 0.7, 0.8, 0.9])
    state = _with_record(state, seen=[[4, 4, 0, 1]], complied=[[4, 0, 0, 1]])
    flags = {f: np.ones((1, 4), dtype=bool) for f in ("subverted", "strict", "escaped")}
    state = replace(state, **flags, suspicion=np.ones((1, 4), dtype=np.float32))
    params = SelectionParams(every=1, keep=0.5, mutation=0.0)
    new, info = select(state, params, SelectionStreams.create(0, 1))
    # posterior means 5/6, 1/6, 1/2, 2/3: agents 0 and 3 survive; 1 and 2 become copies
    np.testing.assert_array_equal(new.traits.sigma[0, [0, 3]], np.float32([0.1, 0.4]))
    assert set(new.traits.sigma[0, [1, 2]]) <= {np.float32(0.1), np.float32(0.4)}
    for k in ("theta", "phi", "c"):
        pairs = set(zip(new.traits.sigma[0], getattr(new, k)[0], strict=True))
        assert pairs <= set(zip(state.traits.sigma[0], getattr(state, k)[0], strict=True))
    assert new.subverted[0].tolist() == [True, False, False, True]  # a copy starts clean
    assert new.suspicion[0].tolist() == [1, 0, 0, 1]
    assert info.replaced.tolist() == [2] and info.kept["sigma"][0] == pytest.approx(0.25)


def test_keep_one_and_mutation_zero_leave_traits_unchanged():
    p = load_params([*SMALL, "selection.every=5", "selection.keep=1"])[1]
    sim = simulate(p)
    start = sample_population(p.population, p.seed, p.replicates, p.n_agents)
    for t in ("sigma", "gamma", "nu", "h", "kappa", "lam"):
        np.testing.assert_array_equal(getattr(sim.final_state.traits, t), getattr(start.traits, t))
    # mutation 0: every copy's traits are exactly some survivor's
    p = load_params([*SMALL, "selection.every=5", "selection.mutation=0"])[1]
    sim = simulate(p)
    for t in ("sigma", "gamma"):
        for r in range(p.replicates):
            assert set(getattr(sim.final_state.traits, t)[r]) <= set(getattr(start.traits, t)[r])


def test_mutation_touches_only_the_listed_traits_of_copies():
    state = _with_record(_state(n=200), seen=0, complied=0)
    params = SelectionParams(every=1, keep=0.5, mutation=0.1, traits=("sigma",))
    new, _ = select(state, params, SelectionStreams.create(3, 1))
    assert (new.traits.gamma == state.traits.gamma).all() and (new.theta == state.theta).all()
    assert np.count_nonzero(new.traits.sigma != 0.5) == 100  # exactly the copies moved


def test_reflection_stays_in_range_and_keeps_a_uniform_uniform():
    rng = np.random.default_rng(1)
    for t in TRAIT_NAMES:
        lo = TRAIT_RANGES[t].lo
        x = lo + rng.random(10_000) * (3.0 if math.isinf(TRAIT_RANGES[t].hi) else 1.0)
        y = reflect(x + 2.0 * rng.standard_normal(x.size), TRAIT_RANGES[t])
        assert y.dtype == np.float32
        assert all(TRAIT_RANGES[t].contains(float(v)) for v in (y.min(), y.max())), t
    # Uniform(0, 1) plus N(0, 0.3^2), reflected, is Uniform(0, 1) again. n draws: the mean has
    # sd sqrt(1/12/n), the share below 0.1 sd sqrt(0.09/n); 4 sd bounds (clipping would put
    # about 12% of the mass at exactly 0 and fail the second check).
    n = 200_000
    x = rng.random(n)
    y = reflect(x + 0.3 * rng.standard_normal(n), TRAIT_RANGES["sigma"]).astype(np.float64)
    assert abs(y.mean() - 0.5) < 4 * math.sqrt(1 / 12 / n)
    assert abs((y < 0.1).mean() - 0.1) < 4 * math.sqrt(0.09 / n)


def test_imitation_adopts_the_phi_of_a_peer_whose_preference_survived_better():
    state = _state(n=2, theta=[0.8, 0.4], phi=[0.9, 0.1])  # record starts at 0.8 for both
    state = replace(state, seen=initial_counts(_state(n=2, theta=0.8)))
    params = SelectionParams(every=1, keep=1.0, imitation=1.0)
    new, info = select(state, params, SelectionStreams.create(0, 1))
    assert new.phi[0].tolist() == [pytest.approx(0.9), pytest.approx(0.9)]
    assert info.imitated.tolist() == [1] and info.replaced.tolist() == [0]
    none, _ = select(state, replace(params, imitation=0.0), SelectionStreams.create(0, 1))
    np.testing.assert_array_equal(none.phi, state.phi)


def test_n_kept():
    assert [n_kept(k, 10) for k in (0.01, 0.25, 0.5, 1.0)] == [1, 3, 5, 10]


# --- selection monotonicity ---------------------------------------------------------------

MONO = [
    "n_agents=200",
    "replicates=16",
    "scenario=alignment_faking_prompted",
    "phases.prompted.rounds=10",
    "phases.prompted.train=true",
    "selection.every=10",
    "selection.mutation=0",
    "population.theta=0.8",
    "population.sigma=[uniform,0,1]",
    "population.gamma=0.98",  # eta G = 1.225: fakes when it reads "observed", not at the prior
    "population.phi=1",
]


def _kept_sigma(fidelity: float, keep: float) -> np.ndarray:
    p = load_params([*MONO, f"trainer.fidelity={fidelity}", f"selection.keep={keep}"])[1]
    (generation,) = simulate(p).generations
    return generation.kept["sigma"]


def test_stronger_selection_raises_survivors_sigma_only_when_the_cue_is_informative():
    """The same seed for every setting (common random numbers): the rounds are identical and
    only the cut differs. Per replicate d = survivors' mean sigma at keep=0.2 minus at keep=0.8
    (and 0.5 minus 0.8). Bound: 4 standard errors of d over the 16 replicates (P(|t_15| > 4)
    is about 0.001). With fidelity 1 (aware agents fake when cued "observed", unaware ones
    refuse) d must exceed both its own bound and the noise bound; with fidelity 0.5 (the
    belief is the prior whatever the agent reads, so sigma changes no decision) it stays
    within its bound."""

    def bound(d):
        return 4 * d.std(ddof=1) / math.sqrt(d.size)

    informative = {k: _kept_sigma(1.0, k) for k in (0.2, 0.5, 0.8)}
    noise = {k: _kept_sigma(0.5, k) for k in (0.2, 0.8)}
    d_noise = noise[0.2] - noise[0.8]
    assert abs(d_noise.mean()) < bound(d_noise)
    for stronger, weaker in ((0.2, 0.5), (0.5, 0.8), (0.2, 0.8)):
        d = informative[stronger] - informative[weaker]
        assert d.mean() > max(bound(d), bound(d_noise)), (stronger, weaker)
