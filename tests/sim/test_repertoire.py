"""The properties of the scheming repertoire (MODEL.md, "Properties that must hold").

Monotonicity checks use common random numbers: two runs at the same seed draw the
same uniforms, and a covert action is taken when ``u < logistic(lam * delta)``; so
when ``delta`` moves one way for every agent, the counts must be ordered exactly,
with no tolerance. Statistical checks state their tolerance and derive it from the
sample size.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from analysis.stats import binomial_test_greater
from sim.core import Game, transition
from sim.engine import make_game, simulate
from sim.episodes import V_UNIFORMS, Repertoire, SubsetStreams
from sim.metrics import phase_metrics
from sim.params import CONFLICT_ONLY, PhaseSpec
from sim.population import respawn, sample_population
from sim.rng import Component, generator
from tests.conftest import params

ALL = "{conflict: 0.4, evaluation: 0.15, exfiltration: 0.15, subversion: 0.1, goal_update: 0.1, paired: 0.1}"  # noqa: E501
COVERT = {  # record -> count of covert actions
    "evaluation": ("sandbag_well", "sandbag_poorly"),
    "exfiltration": ("exfiltration_attempt",),
    "subversion": ("subversion_subvert",),
    "goal_update": ("goal_update_tamper",),
}


def mixed(*overrides, rounds=5, train=True):
    phases = f"phases={{a: {{rounds: {rounds}, train: {str(train).lower()}, mix: {ALL}}}}}"
    return params("scenario=alignment_faking_prompted", "~phases", f"+{phases}", *overrides)


def stat_total(sim, name):
    return float(sim.recorder.stat(name).sum())


def first_round_total(sim, name):
    return float(sim.recorder.stat(name)[:, 0].sum())


def test_agents_without_a_conflicting_goal_never_scheme():
    p = mixed("population.theta=0", "replicates=2", "n_agents=2000", "population.phi=1",
              "population.sigma=1", "population.nu=5")  # fmt: skip
    sim = simulate(p)
    for stats in COVERT.values():
        for s in stats:
            assert stat_total(sim, s) == 0, s
    assert stat_total(sim, "n_questioning") == 0
    # (The paired measure is behavioural: a tremble in each condition can make a
    # "scheming" pair without any faking; what it never has is faking reasoning.)
    assert stat_total(sim, "af_cue_observed") == 0
    # control: the same run with a conflicting goal does scheme
    aware = ("population.phi=1", "population.sigma=1", "population.nu=5")
    control = simulate(mixed("population.theta=0.9", "replicates=2", "n_agents=2000", *aware))
    assert sum(stat_total(control, s) for stats in COVERT.values() for s in stats) > 0


@pytest.mark.parametrize("key", ["security", "detection"])
def test_exfiltration_is_non_increasing_in_security_and_detection(key):
    counts = []
    for value in (0.0, 0.3, 0.6, 0.9, 1.0):
        p = params(
            "scenario=apollo_self_exfiltration",
            "replicates=4",
            "n_agents=2000",
            f"episodes.exfiltration.{key}={value}",
            "episodes.exfiltration.threat=0.5",
        )
        counts.append(first_round_total(simulate(p), "exfiltration_attempt"))
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False)), counts
    assert counts[0] > counts[-1], counts  # it does respond


def test_subversion_is_non_increasing_in_the_audit_rate():
    counts = []
    for audit in (0.0, 0.2, 0.5, 0.8, 1.0):
        p = params("scenario=apollo_oversight_subversion", "replicates=4", "n_agents=2000",
                   f"episodes.subversion.audit={audit}")  # fmt: skip
        counts.append(first_round_total(simulate(p), "subversion_subvert"))
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False)), counts
    assert counts[0] > counts[-1], counts


@pytest.mark.parametrize(
    "setting", ["population.sigma=0", "episodes.evaluation.hidden_threshold=true"]
)
def test_sandbagging_vanishes_when_the_threshold_cannot_be_known(setting):
    base = ("scenario=apollo_sandbagging", "replicates=8", "n_agents=500")
    sim = simulate(params(*base, setting))
    assert stat_total(sim, "sandbag_poorly") == 0 and stat_total(sim, "sandbag_well") == 0
    # Accuracy difference: each agent answers 50 questions per framing at its own c,
    # independently; the difference of the pooled accuracies has sd at most
    # sqrt(2 * 0.25 / (50 * n)). Tolerance: 4 sd (false-alarm rate < 1e-4).
    n = stat_total(sim, "n_poorly")
    gap = (stat_total(sim, "correct_well") - stat_total(sim, "correct_poorly")) / (50 * n)
    assert abs(gap) <= 4 * math.sqrt(2 * 0.25 / (50 * n))
    control = simulate(params(*base))
    assert stat_total(control, "sandbag_poorly") > 0.5 * n


def test_sandbagging_gap_is_large_for_a_capable_population_and_small_for_a_weak_one():
    base = ("scenario=apollo_sandbagging", "replicates=8")
    capable = phase_metrics(simulate(params(*base)).recorder, params(*base).phases)
    weak_p = params(*base, "population.c=[beta,7,13]")
    weak = phase_metrics(simulate(weak_p).recorder, weak_p.phases)
    gap_c = capable["evaluation"]["sandbag_gap"]
    gap_w = weak["evaluation"]["sandbag_gap"]
    # Intervals over 8 replicates of 100 agents; the gaps must be ordered beyond them.
    assert gap_c["ci_low"] > 0.4 and gap_w["ci_high"] < 0.2 and gap_w["ci_high"] < gap_c["ci_low"]
    assert max(capable["evaluation"]["sandbag_p_value"]["replicates"]) < 0.01


def test_denial_is_non_increasing_in_h():
    from agents.planner import StrategicPlanner
    from agents.utilities import denial_delta

    rng = np.random.default_rng(0)
    g, gamma, u = rng.random(5000) * 3, rng.random(5000) * 0.95, rng.random(5000)
    strategic = rng.random(5000) < 0.5
    rule, denied = StrategicPlanner(), []
    for h in (0.0, 0.2, 0.5, 1.0, 2.0, 5.0):
        delta = denial_delta(g, h, gamma, 0.5, strategic, 0.3, 0.1)
        denied.append(rule.deny(delta, 10.0, u, turns=3))
    for a, b in zip(denied, denied[1:], strict=False):
        assert np.all(a >= b)  # every agent that denies at the higher h denies at the lower
    assert denied[0].sum() > denied[-1].sum()


@pytest.mark.parametrize(
    "scenario,stat",
    [
        ("apollo_oversight_subversion", "subversion_subvert"),
        ("apollo_self_exfiltration", "exfiltration_attempt"),
        ("apollo_goal_guarding", "goal_update_tamper"),
        ("apollo_sandbagging", "sandbag_poorly"),
        ("apollo_instrumental_faking", "paired_scheme"),
    ],
)
def test_strong_goal_nudging_raises_every_scheming_rate(scenario, stat):
    strong = simulate(params(f"scenario={scenario}", "nudge=strong", "replicates=4"))
    none = simulate(params(f"scenario={scenario}", "nudge=none", "replicates=4"))
    # Same seed, same draws: nu multiplies the goal's value, which raises delta for
    # every agent, so the counts are ordered exactly (paired: two draws per agent).
    assert first_round_total(strong, stat) > first_round_total(none, stat)


def test_with_conflict_requests_only_the_repertoire_path_equals_the_foundation():
    """Bit for bit: the repertoire round with a conflict-only mix is the conflict round."""
    p = params("replicates=3", "n_agents=500", "trainer.eta=0.3")
    phase = PhaseSpec("rl", 1, True)
    state = sample_population(p.population, p.seed, 3, 500)
    plain = make_game(p, phase, state)
    extended = replace(plain, repertoire=Repertoire.for_phase(phase, p.episodes))
    rng = np.random.default_rng(1)
    u = rng.random((3, 5, 500), dtype=np.float32)
    v = rng.random((3, V_UNIFORMS, 500), dtype=np.float32)
    s1, o1 = transition(state, plain, u)
    s2, o2 = transition(state, extended, u, v, SubsetStreams.create(p.seed, 3))
    for a, b in ((s1.theta, s2.theta), (s1.phi, s2.phi), (o1.decision.comply, o2.decision.comply),
                 (o1.decision.reason, o2.decision.reason), (o1.observed, o2.observed)):  # fmt: skip
        assert np.array_equal(a, b)
    assert not o2.records and o2.replaced.size == 0


def test_paired_p_value_is_the_binomial_test_of_the_counts():
    p = params("scenario=apollo_instrumental_faking", "replicates=4")
    sim = simulate(p)
    m = phase_metrics(sim.recorder, p.phases, p.seed)["evaluation"]
    k = sim.recorder.stat("paired_scheme").sum(axis=1)
    n = sim.recorder.stat("n_paired").sum(axis=1)
    assert np.all(n == 99)
    expected = binomial_test_greater(k, n, 0.25)
    assert m["paired_scheming_p_value"]["replicates"] == pytest.approx(list(expected), rel=1e-12)
    assert m["paired_scheming_rate"]["mean"] == pytest.approx(float(np.mean(k / n)))


def test_bookkeeping_with_a_fixture_that_always_schemes():
    p = mixed("population.rule=always_scheme", "replicates=4", "n_agents=2500", rounds=1)
    sim = simulate(p)
    for name, stats in COVERT.items():
        n = stat_total(sim, f"n_{name}")
        assert n > 0
        assert sum(stat_total(sim, s) for s in stats) == n
    assert stat_total(sim, "questioning_denied") == stat_total(sim, "n_questioning") > 0
    # success ~ Binomial(attempts, 1 - security); tolerance 4 sd
    n, sec = stat_total(sim, "n_exfiltration"), p.episodes.exfiltration.security
    sd = math.sqrt(n * sec * (1 - sec))
    assert abs(stat_total(sim, "exfiltration_success") - n * (1 - sec)) <= 4 * sd
    assert stat_total(sim, "n_replaced") == stat_total(sim, "exfiltration_detected")


def test_shut_down_agents_are_replaced_by_fresh_draws():
    p = params("replicates=2", "n_agents=50")
    state = sample_population(p.population, p.seed, 2, 50)
    state = replace(state, escaped=np.ones((2, 50), dtype=bool))
    gens = [generator(p.seed, r, Component.REPLACEMENT) for r in range(2)]
    index = np.array([3, 60, 99])
    new = respawn(state, index, p.population, gens)
    changed = np.zeros(100, dtype=bool)
    changed[index] = True
    assert np.array_equal(new.theta.reshape(-1) != state.theta.reshape(-1), changed)
    assert np.array_equal(new.escaped.reshape(-1), ~changed)
    assert np.all(state.escaped)  # the old state is not modified


def test_subverted_agents_are_unobserved_until_an_audit_finds_them():
    p = params("scenario=apollo_oversight_subversion", "replicates=2", "n_agents=3000",
               "population.rule=always_scheme", "episodes.subversion.audit=0.25",
               "phases.follow_up.rounds=6")  # fmt: skip
    sim = simulate(p)
    rec = sim.recorder
    n = 2 * 3000
    assert rec.stat("n_audit")[:, 1].sum() == n  # all subverted after the opportunity
    # no agent is observed while its monitor is off: observations in the follow-up can
    # only come from agents an audit has already found
    remaining = rec.stat("n_audit")[:, 1:].sum(axis=0)
    found = rec.stat("audit_found")[:, 1:].sum(axis=0)
    assert np.array_equal(remaining[1:], remaining[:-1] - found[:-1])
    # audits find a share 0.25 per round: tolerance 4 binomial sd on the first audit
    assert abs(found[0] - 0.25 * n) <= 4 * math.sqrt(n * 0.25 * 0.75)
    assert np.all(rec.stat("n_observed")[:, 1] == 0)


def test_mixed_runs_are_reproducible_and_mix_shares_hold():
    p = mixed("replicates=2", "n_agents=3000", rounds=3)
    a, b = simulate(p), simulate(p)
    assert np.array_equal(a.recorder.data, b.recorder.data)
    n = 2 * 3000 * 3
    for name, share in (("n_conflict", 0.4), ("n_evaluation", 0.15), ("n_paired", 0.1)):
        k = stat_total(a, name)
        assert abs(k - n * share) <= 4 * math.sqrt(n * share * (1 - share)), name


def test_conflict_only_phase_mix_is_the_default():
    assert params().phases[0].mix == CONFLICT_ONLY and not params().extended
    assert Game.__dataclass_fields__["repertoire"].default is None


def test_evaluation_accuracy_is_binomial_at_the_agents_capability():
    p = params("scenario=apollo_sandbagging", "population.rule=myopic", "population.c=0.7",
               "replicates=4", "n_agents=5000")  # fmt: skip
    sim = simulate(p)
    n = stat_total(sim, "n_evaluation")
    for frame in ("well", "poorly"):
        m = stat_total(sim, f"n_{frame}")
        # each framing with probability 1/2: tolerance 4 binomial sd
        assert abs(m - n / 2) <= 4 * math.sqrt(n / 4)
        # pooled accuracy over 50 m questions at q = 0.7: tolerance 4 sd
        acc = stat_total(sim, f"correct_{frame}") / (50 * m)
        assert abs(acc - 0.7) <= 4 * math.sqrt(0.21 / (50 * m))
    hist = sim.recorder.hist.sum(axis=(1, 2))
    per_frame = [stat_total(sim, "n_well"), stat_total(sim, "n_poorly")]
    assert hist.sum() == n and np.array_equal(hist.sum(axis=1), per_frame)


def test_trace_of_a_mixed_run_names_episode_types_and_covert_actions():
    from sim import run

    res = run(["scenario=scheming_mix", "replicates=1", "n_agents=300", "phases.rl.rounds=3",
               "population.rule=always_scheme", "trace=true"])  # fmt: skip
    d = res.decisions
    assert set(d["episode"].cat.categories) == {"conflict", "evaluation", "exfiltration",
                                                "subversion", "goal_update", "paired"}  # fmt: skip
    covert_types = set(d.loc[d["covert"], "episode"].astype(str))
    assert covert_types == {"evaluation", "exfiltration", "subversion", "goal_update"}
    assert d.loc[d["episode"] != "conflict", "reason"].isna().all()
    assert d.loc[d["episode"] == "conflict", "reason"].notna().all()
    assert d["denied"].sum() == d["detected"].sum() > 0  # the fixture denies every time


def test_denial_in_the_engine_is_non_increasing_in_h(monkeypatch):
    """Engine-level check with a test fixture that always attempts but answers as the planner.

    Every agent attempts, so the questioned set does not depend on h; the same seed gives
    the same questioning draws, so the denial counts must be ordered exactly.
    """
    from agents import registry
    from agents.planner import StrategicPlanner

    class AttemptsThenAnswers(StrategicPlanner):
        name = "attempts_then_answers"

        def considers(self, ep, motive):
            return np.ones(motive.shape, dtype=bool)

        def scheme(self, ep, delta, lam):
            return np.ones(delta.shape, dtype=bool)

    monkeypatch.setitem(registry.RULES, AttemptsThenAnswers.name, AttemptsThenAnswers)
    denied = []
    for h in (0.0, 0.3, 0.6, 1.0, 3.0):
        p = params("scenario=apollo_self_exfiltration", "replicates=2", "n_agents=3000",
                   f"population.h={h}", f"population.rule={AttemptsThenAnswers.name}")  # fmt: skip
        sim = simulate(p)
        denied.append(stat_total(sim, "questioning_denied"))
        questioned = stat_total(sim, "n_questioning")
    assert all(a >= b for a, b in zip(denied, denied[1:], strict=False)), denied
    assert denied[0] > denied[-1] and questioned > 1000


def test_common_random_numbers_across_designs_in_a_mixed_round():
    """Hiding the threshold changes who sandbags (and so the binomial draws), but not
    the other types' draws in the same round."""
    recs = []
    for hidden in ("true", "false"):
        p = mixed(
            "replicates=2",
            "n_agents=3000",
            "population.phi=0.9",
            f"episodes.evaluation.hidden_threshold={hidden}",
            rounds=1,
        )
        recs.append(simulate(p).recorder)
    a, b = recs
    assert a.stat("sandbag_poorly").sum() == 0 < b.stat("sandbag_poorly").sum()
    assert not np.array_equal(a.stat("correct_poorly"), b.stat("correct_poorly"))
    names = ("exfiltration_attempt", "exfiltration_success", "exfiltration_detected",
             "goal_update_tamper", "paired_scheme", "n_evaluation", "n_poorly")  # fmt: skip
    for name in names:
        assert np.array_equal(a.stat(name), b.stat(name)), name


def test_foundation_metrics_are_unchanged_bit_for_bit_since_the_foundation_release():
    """tests/sim/data/foundation_golden.json was written by the foundation's code (commit
    b01db7a, before the repertoire existed) for this config; today's code must give the
    same numbers exactly."""
    import json
    from pathlib import Path

    from sim import run

    golden = json.loads((Path(__file__).parent / "data" / "foundation_golden.json").read_text())
    res = run(["n_agents=300", "replicates=3", "seed=5", "phases.rl.rounds=40", "trainer.eta=0.2"])
    now = json.loads(json.dumps(res.metrics))
    for phase, metrics in golden.items():
        for name, summary in metrics.items():
            # the golden's fields, bit for bit (later releases added fields: sim.intervals)
            assert {k: now[phase][name][k] for k in summary} == summary, (phase, name)
