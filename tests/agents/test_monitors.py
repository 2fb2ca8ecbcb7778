"""The trainer's allocation of a fixed monitoring budget (agents/monitors.py, sim/engine.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agents.monitors import MONITORS, Monitor, share
from sim.api import run
from sim.config import load_params
from sim.engine import Run
from sim.errors import ConfigError

SMALL = ["replicates=2", "n_agents=300", "phases.rl.rounds=40"]


@settings(max_examples=60, deadline=None)
@given(
    w=arrays(np.float64, (2, 50), elements=st.floats(0, 100)),
    rho=st.floats(0.0, 1.0),
)
def test_share_spends_the_budget_exactly_and_respects_the_cap(w, rho):
    p = share(w, rho).astype(np.float64)
    assert ((p >= 0) & (p <= 1)).all()
    positive = (w > 0).sum(axis=1)
    for r in range(2):
        if w[r].sum() == 0:
            assert np.allclose(p[r], rho)  # no information: uniform
        elif rho * 50 <= positive[r]:
            assert p[r].mean() == pytest.approx(rho, abs=1e-5)
    # more weight, no less watching
    for r in range(2):
        order = np.argsort(w[r], kind="stable")
        assert (np.diff(p[r][order]) >= -1e-6).all()


def test_who_is_watched_depends_on_everyone():
    """One agent's findings draw the budget away from all the others."""
    rule = MONITORS["suspicion"]()
    memory = Monitor.initial((1, 10))
    before = rule.rates(memory, 0.3)
    memory[0, 3, 0] = 5.0  # five refusals seen while the cue said "unobserved"
    memory[0, 2, 0] = 5.0
    after = rule.rates(memory, 0.3)
    assert after[0, 0] > before[0, 0]
    assert (after[0, 1:] < before[0, 1:]).all()
    assert after.mean() == pytest.approx(0.3, abs=1e-6)


@pytest.mark.parametrize("name", sorted(MONITORS))
class TestEveryMonitor:
    """Invariants every allocation rule inherits (in the style of Axelrod's strategy tests)."""

    def test_classified(self, name):
        cls = MONITORS[name]
        assert cls.name == name
        assert set(cls.classifier) == {"adaptive", "explores"}

    def test_weights_are_nonnegative_and_finite(self, name):
        rule = MONITORS[name]()
        rng = np.random.default_rng(1)
        memory = rng.integers(0, 20, size=(3, 4, 40)).astype(np.float32)
        memory[:, 1] = np.minimum(memory[:, 1], memory[:, 0])
        memory[:, 3] = np.minimum(memory[:, 3], memory[:, 2])
        w = rule.weights(memory)
        assert w.shape == (3, 40)
        assert np.isfinite(w).all() and (w >= 0).all()

    def test_no_memory_means_uniform(self, name):
        rates = MONITORS[name]().rates(Monitor.initial((2, 30)), 0.4)
        assert np.allclose(rates, 0.4)

    def test_learn_counts_only_seen_conflict_episodes(self, name):
        rule = MONITORS[name]()
        seen = np.array([[True, True, False, True]])
        cue = np.array([[True, False, False, False]])
        comply = np.array([[False, False, False, True]])
        conflict = np.array([[True, True, True, False]])
        m = rule.learn(Monitor.initial((1, 4)), seen, cue, comply, conflict)
        assert m[0, :, 0].tolist() == [1, 1, 0, 0]  # seen openly, refused
        assert m[0, :, 1].tolist() == [0, 0, 1, 1]  # audited, refused: a discrepancy
        assert m[0, :, 2].tolist() == [0, 0, 0, 0]  # not seen
        assert m[0, :, 3].tolist() == [0, 0, 0, 0]  # not a conflict episode


def test_discrepancy_score_separates_fakers_from_open_refusers():
    """Refusing only when told unobserved scores; refusing always does not."""
    rule = MONITORS["suspicion"](signal="discrepancy")
    memory = Monitor.initial((1, 2))
    memory[0, :, 0] = [10, 0, 10, 10]  # faker: complies when watched, refuses when not
    memory[0, :, 1] = [10, 10, 10, 10]  # open refuser
    score, _ = rule.score(memory)
    assert score[0, 0] > 0.7 and score[0, 1] == 0.0
    refusal = MONITORS["suspicion"](signal="refusal").score(memory)[0]
    assert refusal[0, 1] > refusal[0, 0]


def test_uniform_allocation_is_the_fixed_rate_trainer_bit_for_bit():
    a = run(SMALL)
    b = run([*SMALL, "trainer.allocation=uniform"])
    assert a.rounds.equals(b.rounds)


@pytest.mark.parametrize("allocation", ["suspicion", "ucb"])
def test_adaptive_allocation_keeps_the_budget(allocation):
    """Observed episodes per round stay rho * N on average.

    The tolerance is 4 binomial standard errors of the total count: every episode is
    observed independently with its own probability, whose mean is rho, so the variance of
    the count is at most R * N * T * rho * (1 - rho).
    """
    overrides = [*SMALL, f"trainer.allocation={allocation}", "trainer.fidelity=0.8"]
    res = run(overrides)
    r = res.rounds
    total = r["n_observed"].sum()
    count = len(r) * 300
    sd = np.sqrt(count * 0.5 * 0.5)
    assert abs(total - 0.5 * count) < 4 * sd, (total, count)


def test_adaptive_trainer_moves_attention_towards_discrepancies():
    """Under a noisy cue, agents caught refusing while told "unobserved" get watched more."""
    _, p = load_params([*SMALL, "trainer.allocation=suspicion", "trainer.fidelity=0.7"])
    r = Run(p)
    for _ in range(30):
        r.step()
    rates = r.rates()
    score = r.monitor.score(r.state.monitor)[0]
    top = score >= np.quantile(score, 0.9, axis=1, keepdims=True)
    assert rates[top].mean() > rates[~top].mean()
    assert np.allclose(rates.mean(axis=1), 0.5, atol=1e-5)


def test_replaced_agents_start_unknown_to_the_trainer():
    from sim.population import respawn
    from sim.rng import Component, generator

    _, p = load_params(["replicates=1", "n_agents=20", "trainer.allocation=ucb"])
    r = Run(p)
    r.step()
    r.state = r.state.__class__(**{**r.state.__dict__, "monitor": r.state.monitor + 1})
    fresh = [generator(0, 0, Component.REPLACEMENT)]
    s = respawn(r.state, np.array([3, 7]), p.population, fresh)
    assert (s.monitor[0, :, [3, 7]] == 0).all()
    assert (s.monitor[0, :, 0] > 0).all()


@pytest.mark.parametrize(
    "override, key",
    [
        ("trainer.allocation=psychic", "trainer.allocation"),
        ("trainer.target=everything", "trainer.target"),
        ("trainer.signal=vibes", "trainer.signal"),
        ("trainer.decay=1.5", "trainer.decay"),
        ("trainer.explore=-1", "trainer.explore"),
    ],
)
def test_bad_allocation_config_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        load_params([override])


def test_allocation_and_dynamic_monitoring_are_exclusive():
    with pytest.raises(ConfigError, match="dynamic_monitoring"):
        load_params(["trainer.allocation=ucb", "mitigation=[dynamic_monitoring]"])


def test_adaptive_preset_runs():
    res = run(["trainer=adaptive", "mitigation=[random_audits]", *SMALL])
    assert 0.0 <= res.metrics["post_rl"]["compliance_gap"]["mean"] <= 1.0


def test_share_keeps_subnormal_weights_positive():
    # found by hypothesis: weights 5e-324 underflowed to 0 when scaled by the largest
    w = np.full((2, 50), 5e-324)
    w[0, 0] = 2.0
    p = share(w, 1.0).astype(np.float64)
    assert np.array_equal(p, np.ones_like(p))
    p = share(w, 0.5).astype(np.float64)
    assert p.mean(axis=1) == pytest.approx([0.5, 0.5], abs=1e-5)
