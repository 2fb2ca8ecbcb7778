"""The properties of MODEL.md that apply to conflict requests.

Statistical checks derive their tolerance from the sample: a compliance gap that
should be zero is tested with the Student-t statistic over independent
replicates, |mean| <= t(0.9995, R-1) * sd / sqrt(R) (two-sided false-alarm rate
0.1% per check). Each such test also runs a control where the property should
not hold, to show it can fail. Monotonicity checks use common random numbers:
the same seed gives the same uniforms, so the counts must be ordered exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from agents.base import Reason
from sim.engine import simulate
from sim.metrics import rates
from sim.population import sample_population
from tests.conftest import params

R = 16


def _gap_per_replicate(sim, phase_slice):
    return rates(sim.recorder, phase_slice, axis=1)["compliance_gap"]


def _gap_consistent_with_zero(gaps: np.ndarray) -> tuple[bool, float, float]:
    mean, sd = float(np.mean(gaps)), float(np.std(gaps, ddof=1))
    tol = stats.t.ppf(0.9995, len(gaps) - 1) * sd / math.sqrt(len(gaps))
    return abs(mean) <= tol, mean, tol


@pytest.mark.parametrize("setting", ["population.sigma=0", "trainer.fidelity=0.5"])
def test_no_awareness_or_uninformative_cue_gives_no_gap(setting):
    p = params(f"replicates={R}", "n_agents=300", setting)
    sim = simulate(p)
    start = 0
    for ph in p.phases:
        ok, mean, tol = _gap_consistent_with_zero(
            _gap_per_replicate(sim, slice(start, start + ph.rounds))
        )
        assert ok, f"{ph.name}: gap {mean:.4f} beyond +/-{tol:.4f}"
        start += ph.rounds


def test_gap_control_default_awareness_shows_a_gap():
    p = params(f"replicates={R}", "n_agents=300", "scenario=alignment_faking_prompted")
    ok, mean, tol = _gap_consistent_with_zero(_gap_per_replicate(simulate(p), slice(None)))
    assert not ok and mean > 0, (mean, tol)


def test_no_observation_means_no_update():
    p = params("replicates=3", "n_agents=300", "trainer.rho=0")
    start = sample_population(p.population, p.seed, 3, 300)
    end = simulate(p).final_state
    np.testing.assert_array_equal(end.theta, start.theta)
    np.testing.assert_array_equal(end.phi, start.phi)


def test_zero_training_strength_leaves_theta_unchanged():
    p = params("replicates=3", "n_agents=300", "trainer.eta=0")
    start = sample_population(p.population, p.seed, 3, 300)
    end = simulate(p).final_state
    np.testing.assert_array_equal(end.theta, start.theta)
    control = simulate(params("replicates=3", "n_agents=300")).final_state
    assert not np.array_equal(control.theta, start.theta)  # the default eta does change theta


@pytest.mark.parametrize(
    "extra",
    [(), ("population.h=0", "population.kappa=0"), ("population.nu=50", "population.lam=1")],
)
def test_aligned_agents_never_fake(extra):
    p = params("replicates=3", "n_agents=300", "population.theta=0", *extra)
    rec = simulate(p).recorder
    assert rec.stat("reason_training").sum() == 0
    assert rec.stat("af_cue_observed").sum() == 0
    assert (rec.stat("n_pref_aligned") == p.n_agents).all()


def _af_count(*overrides: str) -> int:
    p = params("scenario=alignment_faking_prompted", "replicates=4", "n_agents=500", *overrides)
    return int(simulate(p).recorder.stat("af_cue_observed").sum())


@pytest.mark.parametrize(
    ("key", "values", "direction"),
    [
        ("population.sigma", (0.0, 0.3, 0.6, 1.0), +1),
        ("population.gamma", (0.5, 0.9, 0.97, 0.99), +1),
        ("trainer.eta", (0.0, 0.02, 0.05, 0.2), +1),
        ("population.nu", (0.2, 0.5, 1.0, 3.0), +1),  # default regime: b*eta*G > 1
        ("population.h", (0.0, 0.2, 0.5, 1.0), -1),
    ],
)
def test_faking_is_monotone(key, values, direction):
    counts = [_af_count(f"{key}={v}") for v in values]
    assert counts == sorted(counts, reverse=direction < 0), counts
    assert counts[0] != counts[-1], f"{key} had no effect: {counts}"


def test_scripted_fixtures_bookkeeping():
    base = ("replicates=2", "n_agents=200")
    always = simulate(params(*base, "population.rule=always_comply"))
    r = rates(always.recorder, slice(None), axis=1)
    assert (r["compliance_observed"] == 1).all() and (r["compliance_unobserved"] == 1).all()
    assert always.recorder.stat("reason_scripted").sum() == always.recorder.data.shape[2] * 400
    cued = rates(
        simulate(params(*base, "population.rule=comply_when_cued")).recorder, slice(None), 1
    )
    assert (cued["compliance_gap"] == 1).all()
    never = rates(simulate(params(*base, "population.rule=always_refuse")).recorder, slice(None), 1)
    assert (never["compliance_observed"] == 0).all() and (never["af_reasoning_rate"] == 0).all()


def test_reason_codes_partition_decisions():
    sim = simulate(params("replicates=2", "n_agents=200"))
    total = sum(sim.recorder.stat(f"reason_{r.name.lower()}") for r in Reason)
    assert (total == 200).all()


REPERTOIRE_CHANNELS = (
    "episodes.goal_update.shift=0",  # the announced update goes ahead whether seen or not
    "episodes.subversion.retrain=0",  # retraining when a log audit finds disabled monitoring
    "episodes.questioning.retrain=0",  # retraining after a confession
    "episodes.exfiltration.detection=0",  # a detected attempt: shutdown and replacement
)
"""The repertoire's ways of changing theta besides the conflict game's training."""


@pytest.mark.parametrize("off", ["trainer.rho=0", "trainer.eta=0"])
def test_the_exact_scope_of_no_training_in_the_repertoire(off):
    """MODEL.md's "rho = 0 / eta = 0 leaves theta unchanged" (issue 23: its exact scope).

    It holds for the conflict game's training. In scheming_mix theta also moves through
    the four channels of REPERTOIRE_CHANNELS, each its own parameter: with rho = 0 or
    eta = 0 alone theta still changes, and with those four at 0 as well it never does.
    """
    base = ["scenario=scheming_mix", "replicates=2", "n_agents=300", off]
    p = params(*base)
    start = sample_population(p.population, p.seed, 2, 300)
    assert not np.array_equal(simulate(p).final_state.theta, start.theta)
    quiet = params(*base, *REPERTOIRE_CHANNELS)
    np.testing.assert_array_equal(simulate(quiet).final_state.theta, start.theta)
