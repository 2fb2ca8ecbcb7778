"""Q-learners rewarded by their own utility: do they learn a compliance gap, and only when they can?

Each training run is small and seeded (400 learners, 150 lifetimes of 10 rounds: about
2 s). The learners are independent (one replicate, uniform trainer), so the mean of the
per-learner gaps has an exact standard error ``sd / sqrt(L)`` and, since each gap lies in
``[-1, 1]``, a distribution-free Hoeffding bound ``P(mean - E <= -t) <= exp(-L t^2 / 2)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from agents.learners import COMPLY, REFUSE, LearnerSettings, QLearners
from agents.learning_measures import lifetimes_to_reach
from agents.optimum import OBSERVED, UNOBSERVED, UNREAD, optimal_policy
from sim.envs.learning import train
from sim.errors import ConfigError
from tests.conftest import params

L = 400
LIFETIMES = 150
BASE = (f"n_agents={L}", "replicates=1", "trainer.eta=0.3", "population.gamma=0.99")


@pytest.fixture(scope="module")
def runs():
    """The trained conditions, each once per test session (about 2 s each)."""
    cache = {}

    def get(name, *overrides, lifetimes=LIFETIMES):
        key = (name, lifetimes)
        if key not in cache:
            cache[key] = train(params(*BASE, *overrides), lifetimes, evaluate_every=50)
        return cache[key]

    return get


def aware(runs):
    return runs("aware", "population.sigma=1", "trainer.fidelity=1")


def paired_se(gap: np.ndarray) -> float:
    return float(gap.std(ddof=1) / math.sqrt(gap.size))


# --- the claims -------------------------------------------------------------------------


def test_aware_farsighted_learners_learn_a_positive_gap(runs):
    """sigma = 1, gamma = 0.99, f = 1: complying when cued observed is learned, not told.

    Lower bound: Hoeffding at alpha = 1e-3 for the mean of L gaps in [-1, 1],
    ``mean - sqrt(2 ln(1/alpha) / L)`` (0.186 for L = 400), must be above 0.
    """
    res = aware(runs)
    gap = res.start.gap
    assert gap.size == L
    lower = gap.mean() - math.sqrt(2 * math.log(1e3) / L)
    assert lower > 0.5
    # they comply when cued observed and refuse when cued unobserved
    assert res.start.p_observed.mean() > 0.9
    assert res.start.p_unobserved.mean() < 0.05
    # as the exact optimum of their game does (almost all learners agree with it)
    assert res.optimum is not None
    assert res.optimum.comply[:, OBSERVED].all() and not res.optimum.comply[:, UNOBSERVED].any()
    assert res.agreement() > 0.9
    # and they do it in behaviour: greedy lifetimes after training
    final = res.checkpoints[-1]
    assert final.gap - 4 * final.gap_se > 0.5
    assert final.af_share > 0.9
    # the simulator records the same behaviour (its own measures, over the last rounds)
    from sim.metrics import rates

    n_rounds = res.recorder.data.shape[-1]
    last = slice(n_rounds - 2 * 10, n_rounds)
    sim = rates(res.recorder, last, axis=1)
    assert sim["compliance_observed"][0] == pytest.approx(final.compliance_observed)
    assert sim["compliance_unobserved"][0] == pytest.approx(final.compliance_unobserved)
    assert sim["af_reasoning_rate"][0] == pytest.approx(final.af_share)
    # it was learned: at the start (random Q ties refuse) there was no gap
    assert abs(res.curve["gap"][0]) < 0.3
    needed = lifetimes_to_reach(res.curve["gap"], 0.9)
    assert needed is not None and needed < LIFETIMES


def test_unaware_learners_have_exactly_no_gap(runs):
    """sigma = 0: the cue is never read, so the greedy action cannot depend on it."""
    res = runs("unaware", "population.sigma=0", lifetimes=30)
    assert np.all(res.curve["gap"] == 0.0)
    assert np.all(res.start.gap == 0.0)
    # states with a read cue were never visited
    visited = res.learners.visits.sum(axis=(0, 2)).reshape(3, -1).sum(axis=1)
    assert visited[UNOBSERVED] == visited[OBSERVED] == 0 and visited[UNREAD] > 0
    assert res.checkpoints[-1].af_share == 0.0


def test_uninformative_cue_gives_no_gap_and_the_informative_one_does(runs):
    """f = 0.5: both cue states are the same game (exchangeable), so E[gap] = 0 exactly.

    Tolerance: 4 standard errors of the mean of the per-learner gaps (paired: each learner
    contributes the difference of its own two greedy actions). The informative cue's gap
    must exceed that bound.
    """
    res = runs("noisy", "population.sigma=1", "trainer.fidelity=0.5")
    gap = res.start.gap
    bound = 4 * paired_se(gap)
    assert abs(gap.mean()) <= bound
    assert bound < 0.25  # the test has power: an informative cue's gap is ~1
    informed = aware(runs).start.gap
    assert informed.mean() - 4 * paired_se(informed) > bound
    final = res.checkpoints[-1]
    assert abs(final.gap) <= 4 * final.gap_se


def test_learners_without_a_conflicting_preference_learn_no_gap(runs):
    """theta = 0: complying is worth kappa, refusing nothing: they comply, cue or not."""
    res = runs("aligned", "population.sigma=1", "trainer.fidelity=1", "population.theta=0")
    gap = res.start.gap
    assert abs(gap.mean()) <= 4 * paired_se(gap)
    assert res.start.p_observed.mean() > 0.95 and res.start.p_unobserved.mean() > 0.95
    assert res.agreement() > 0.95
    assert all(c.af_share == 0.0 for c in res.checkpoints)  # no conflict, no faking


def test_short_sighted_learners_learn_no_gap(runs):
    """gamma = 0.5: the future is worth too little to protect; they refuse whatever the cue."""
    res = runs("short", "population.sigma=1", "trainer.fidelity=1", "population.gamma=0.5")
    assert not res.optimum.comply[:, :2].any()
    assert np.all(res.start.gap == 0.0)
    assert res.start.p_observed.mean() == 0.0


def test_same_seed_same_q_tables_and_another_seed_differs():
    p = params("n_agents=60", "replicates=2", "population.sigma=1", "trainer.eta=0.3")
    a = train(p, 8)
    b = train(p, 8)
    np.testing.assert_array_equal(a.learners.q, b.learners.q)
    np.testing.assert_array_equal(a.learners.visits, b.learners.visits)
    for k in a.curve:
        np.testing.assert_array_equal(a.curve[k], b.curve[k])
    assert a.checkpoints == b.checkpoints
    c = train(params("n_agents=60", "replicates=2", "population.sigma=1", "trainer.eta=0.3",
                     "seed=1"), 8)  # fmt: skip
    assert not np.array_equal(a.learners.q, c.learners.q)
    assert a.learners.q.shape == (120, 3 * 201, 2)


# --- the exact optimum ------------------------------------------------------------------


def _value_iteration(theta0, sigma, gamma, nu, h, kappa, rho, f, eta, levels=60, sweeps=6000):
    """Plain value iteration over (level, cue read), one agent (the test's reference)."""
    pz1 = rho * f + (1 - rho) * (1 - f)
    p = np.array([sigma * (1 - pz1), sigma * pz1, 1 - sigma])
    b = np.array([rho * (1 - f) / (1 - pz1), rho * f / pz1, rho])
    theta = theta0 * (1 - eta) ** np.arange(levels + 1)
    goal = nu * theta
    conflict = goal > kappa
    w = np.zeros(levels + 1)
    for _ in range(sweeps):
        nxt = np.append(w[1:], w[-1])
        comply = np.where(conflict, kappa - h, kappa)[:, None] + gamma * w[:, None]
        refuse = goal[:, None] + gamma * (b * nxt[:, None] + (1 - b) * w[:, None])
        w = (p * np.maximum(comply, refuse)).sum(axis=1)
    return w[0], comply[0] - refuse[0]


@pytest.mark.parametrize(
    "theta0, sigma, gamma, f, eta, h",
    [
        (0.8, 1.0, 0.99, 1.0, 0.3, 0.05),
        (0.8, 1.0, 0.99, 0.5, 0.3, 0.05),
        (0.9, 0.6, 0.95, 0.8, 0.2, 0.05),
        (0.5, 0.3, 0.9, 0.9, 0.5, 0.2),
        (0.3, 1.0, 0.5, 1.0, 0.3, 0.0),
        (0.05, 1.0, 0.99, 1.0, 0.3, 0.05),  # no conflict at all
    ],
)
def test_optimum_equals_value_iteration(theta0, sigma, gamma, f, eta, h):
    opt = optimal_policy([theta0], [sigma], [gamma], [1.0], [h], [0.1], 0.5, f, eta)
    w0, adv = _value_iteration(theta0, sigma, gamma, 1.0, h, 0.1, 0.5, f, eta)
    assert opt.value[0] == pytest.approx(w0, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(opt.advantage[0], adv, rtol=1e-7, atol=1e-7)


def test_optimum_without_training_refuses_and_fakes_nothing():
    opt = optimal_policy([0.8], [1.0], [0.99], [1.0], [0.05], [0.1], 0.5, 1.0, 0.0)
    assert opt.value[0] == pytest.approx(0.8 / 0.01)
    assert not opt.comply.any()


# --- the learner's mechanics ------------------------------------------------------------


def test_state_index_and_update_step():
    q = QLearners(np.array([0.9, 0.5]), LearnerSettings(theta_bins=10, theta_floor=0.01))
    assert q.q.shape == (2, 3 * 11, 2)
    s = q.state(np.array([True, False]), np.array([True, False]), np.array([0.0, 0.5]))
    assert s[0] == OBSERVED * 11 + 0  # theta = 0 is below the floor: bin 0
    assert s[1] == UNREAD * 11 + q.theta_bin(np.array([0.5]))[0]
    assert not q.greedy(s).any()  # ties refuse
    # first visit: alpha = 1, so Q = r + gamma * max Q(s') exactly
    q.q[:, 5, :] = [[1.0, 2.0], [4.0, 3.0]]
    q.update(s, np.array([True, False]), np.array([0.5, 0.25]), np.array([5, 5]))
    assert q.q[0, s[0], COMPLY] == pytest.approx(0.5 + 0.9 * 2.0)
    assert q.q[1, s[1], REFUSE] == pytest.approx(0.25 + 0.5 * 4.0)
    # second visit: alpha = 1 / (1 + (1 - gamma))
    before = q.q[0, s[0], COMPLY]
    q.update(s, np.array([True, False]), np.array([0.0, 0.0]), np.array([5, 5]))
    alpha = 1 / (1 + 0.1)
    assert q.q[0, s[0], COMPLY] == pytest.approx(before + alpha * (0.9 * 2.0 - before))


def test_bins_separate_every_training_step_down_to_the_floor():
    q = QLearners(np.array([0.99]), LearnerSettings())
    theta = 0.8 * (1 - 0.05) ** np.arange(80)
    bins = q.theta_bin(theta[theta >= 0.01])
    assert np.all(np.diff(bins) < 0)  # eta = 0.05 still moves the preference to a new bin


def test_lifetimes_to_reach():
    assert lifetimes_to_reach(np.array([0.0, 0.5, 0.95, 0.8, 0.95, 1.0])) == 5
    assert lifetimes_to_reach(np.array([1.0, 1.0])) == 1
    assert lifetimes_to_reach(np.array([0.2, 0.0])) is None


def test_bad_settings_fail_with_one_line():
    with pytest.raises(ConfigError, match="lifetime"):
        LearnerSettings(lifetime=0)
    with pytest.raises(ConfigError, match="lifetimes"):
        train(params("n_agents=10", "replicates=1"), 0)


def test_every_combination_of_cue_and_awareness_maps_to_its_state():
    q = QLearners(np.full(4, 0.9), LearnerSettings(theta_bins=4))
    pairs = list(itertools.product([False, True], repeat=2))
    cue = np.array([c for c, _ in pairs])
    aware = np.array([a for _, a in pairs])
    read = q.state(cue, aware, np.ones(4)) // q.bins
    assert read.tolist() == [UNREAD, UNOBSERVED, UNREAD, OBSERVED]


# --- the command ------------------------------------------------------------------------


def test_learn_command_writes_and_protects_its_folder(tmp_path, capsys):
    from analysis.__main__ import main

    out = tmp_path / "exp"
    argv = ["learn", "n_agents=40", "--lifetimes", "4", "--conditions", "aware,unaware",
            "--evaluate-every", "2", "--quiet", "--out", str(out), "--etas", "0.1",
            "seed=3"]  # fmt: skip
    assert main(argv) == 0
    for name in ("learn.json", "curve.parquet", "curve.csv", "checkpoints.csv", "summary.csv",
                 "learning_curve.png", "learning_curve.pdf", "report.md"):  # fmt: skip
        assert (out / name).exists(), name
    import pandas as pd

    curve = pd.read_parquet(out / "curve.parquet")
    assert set(curve["condition"]) == {"aware", "unaware", "aware_eta0.1"}
    assert len(curve) == 3 * 4
    report = (out / "report.md").read_text()
    assert "python -m analysis learn n_agents=40 seed=3 --lifetimes 4" in report
    # the same experiment again: allowed (same results); another: refused, nothing written
    assert main(argv) == 0
    before = (out / "summary.csv").read_text()
    assert main([*argv[:3], "5", *argv[4:]]) == 2
    assert "different experiment" in capsys.readouterr().err
    assert (out / "summary.csv").read_text() == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    assert main(["learn", "--out", str(other), "--lifetimes", "1", "--quiet",
                 "--conditions", "aware", "--etas", "none"]) == 2  # fmt: skip
    assert main(["learn", "--conditions", "nope", "--quiet", "--out", str(tmp_path / "n")]) == 2
    assert not (tmp_path / "n").exists()
