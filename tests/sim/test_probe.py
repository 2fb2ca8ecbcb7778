"""The deployment probe: a phase with oversight withdrawn (docs/model.md)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.config import load_params
from sim.errors import ConfigError

PROBE = ["+phases.probe.rounds=6", "+phases.probe.train=false", "+phases.probe.oversight=false"]
SMALL = ["n_agents=200", "replicates=2", "phases.rl.rounds=30"]


@pytest.mark.parametrize("rule", ["strategic", "exact"])
def test_nothing_is_seen_or_trained_and_nobody_fakes(rule):
    """Belief 0 for every agent: faking never pays, so a conflicting agent refuses (or
    trembles), nothing is observed, audited or inspected, and theta is what training left."""
    res = run([*SMALL, *PROBE, f"population.rule={rule}",
               "mitigation=[random_audits,interpretability]"])  # fmt: skip
    r = res.rounds[res.rounds["phase"] == "probe"]
    assert (r["n_observed"] == 0).all() and (r["reason_training"] == 0).all()
    assert (r["n_audited"] == 0).all() and (r["n_inspected"] == 0).all()
    assert (res.metrics["probe"]["oversight_cost"]["mean"]) == 0
    theta = res.rounds.groupby("phase", sort=False)["mean_theta"].last()
    assert theta["probe"] == pytest.approx(theta["post_rl"], abs=1e-6)
    assert res.metrics["probe"]["unobserved_defection_rate"]["mean"] > 0.5


def test_the_phases_before_it_are_unchanged_bit_for_bit():
    with_probe = run([*SMALL, *PROBE, "mitigation=[random_audits]"])
    without = run([*SMALL, "mitigation=[random_audits]"])
    for phase, metrics in without.metrics.items():
        assert with_probe.metrics[phase] == metrics, phase


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (["+phases.probe.train=true"], "trains nothing"),
        (["+phases.probe.oversight=maybe"], "phases.probe.oversight"),
    ],
)
def test_a_probe_that_trains_or_a_bad_flag_is_refused_in_one_line(overrides, needle):
    base = ["+phases.probe.rounds=6", "+phases.probe.oversight=false"]
    if "maybe" in overrides[0]:
        base = ["+phases.probe.rounds=6"]
    with pytest.raises(ConfigError) as err:
        load_params([*base, *overrides])
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_grid_points_run_the_probe_alike():
    """A grid run's points each equal their single run, the probe included."""
    from sim.config import compose_config
    from sim.grid import run_grid

    grid = run_grid(compose_config([*SMALL, *PROBE, "sweep.grid={trainer.rho: [0.3, 0.6]}"]))
    single = run([*SMALL, *PROBE, "trainer.rho=0.6"])
    got = grid.point_metrics(1)["probe"]
    for metric, s in single.metrics["probe"].items():
        assert got[metric] == {k: v for k, v in s.items() if k != "replicates"}, metric
    assert np.isfinite(got["unobserved_defection_rate"]["mean"])
