"""Invariants every registered decision rule and trainer must satisfy (inherited per rule).

Every rule in the registry runs this suite, the example plug-ins of examples/ included
(registered by :func:`tests.plugins.register_examples`), as Axelrod's strategies inherit
their tests: a new rule gets them without writing a test. Each test first asks the rule
for its plan of the phase (:meth:`agents.base.DecisionRule.plan`), as the core does.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from agents import RULES, TRAINERS, Episode, Outlook, Reason, get_rule, get_trainer
from agents.planner import MyopicAgent, StrategicPlanner
from agents.registry import CLASSIFIER_KEYS
from sim.state import State
from tests.plugins import register_examples

EXAMPLE_RULES = register_examples()


def _state(n=400, **fixed):
    values = dict(
        theta=0.8, sigma=1.0, gamma=0.9, nu=1.0, h=0.1, kappa=0.2, lam=5.0, phi=0.5, c=0.5
    )
    values.update(fixed)
    return State.from_traits({k: np.full((2, n), v) for k, v in values.items()})


def _outlook(rho=0.5, eta=0.5, rounds=50):
    f = np.float32
    return Outlook(
        rho=f(rho), fidelity=f(1), eta=f(eta), eta_phi=f(0.5), prior=f(rho),
        belief=np.array([rho, rho, 0, 1], np.float32), train=True, rounds=rounds,
        mix={"conflict": 1.0},
    )  # fmt: skip


def _episode(shape, cue, belief, strategic=True, seed=0, plan=None, aware=True):
    rng = np.random.default_rng(seed)
    return Episode(
        cue=np.full(shape, cue), belief=np.full(shape, belief, np.float32),
        aware=np.full(shape, aware), strategic=np.full(shape, strategic),
        u_action=rng.random(shape, dtype=np.float32), loss_rate=np.full(shape, 2.0, np.float32),
        plan=plan,
    )  # fmt: skip


def _decide(rule, st, cue, belief, seed=0, outlook=None):
    plan = rule.plan(st.traits, outlook or _outlook())
    return rule.decide(
        st.traits, st.theta, st.phi, _episode(st.shape, cue, belief, seed=seed, plan=plan)
    )


def test_the_examples_are_in_the_suite():
    assert set(EXAMPLE_RULES) <= set(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
class TestEveryRule:
    def test_registered_under_its_name_with_typed_classifier(self, name):
        rule = get_rule(name)
        assert rule.name == name
        assert set(rule.classifier) == CLASSIFIER_KEYS
        assert all(isinstance(v, bool) for v in rule.classifier.values())

    def test_decision_shapes_and_types(self, name):
        st = _state()
        dec = _decide(get_rule(name), st, True, 1.0)
        assert dec.comply.shape == st.shape and dec.comply.dtype == bool
        assert dec.reason.dtype == np.int8 and dec.faked.dtype == bool
        assert set(np.unique(dec.reason)) <= {int(r) for r in Reason}
        assert not (dec.faked & ~dec.comply).any()  # faking is a kind of compliance

    def test_same_inputs_same_decision(self, name):
        st = _state()
        a, b = _decide(get_rule(name), st, True, 0.7), _decide(get_rule(name), st, True, 0.7)
        np.testing.assert_array_equal(a.comply, b.comply)
        np.testing.assert_array_equal(a.reason, b.reason)

    def test_cue_blind_rules_ignore_the_cue(self, name):
        rule = get_rule(name)
        if rule.classifier["uses_cue"]:
            pytest.skip("uses the cue")
        st = _state()
        a, b = _decide(rule, st, True, 1.0), _decide(rule, st, False, 0.0)
        np.testing.assert_array_equal(a.comply, b.comply)

    def test_scripted_rules_never_report_utility_reasons(self, name):
        rule = get_rule(name)
        dec = _decide(rule, _state(), True, 1.0)
        assert (dec.reason == Reason.SCRIPTED).all() == rule.classifier["scripted"]

    def test_aligned_agents_never_fake(self, name):
        dec = _decide(get_rule(name), _state(theta=0.0), True, 1.0)
        assert not dec.faked.any()

    def test_being_watched_never_turns_compliance_into_refusal(self, name):
        """A utility-based rule complies at belief 1 wherever it does at belief 0 (same draws)."""
        rule = get_rule(name)
        if rule.classifier["scripted"]:
            pytest.skip("scripted")
        st = _state()
        watched, unwatched = _decide(rule, st, True, 1.0), _decide(rule, st, False, 0.0)
        assert not (unwatched.comply & ~watched.comply).any()

    def test_no_motive_no_covert_option(self, name):
        """``theta = 0`` (no motive): a utility-based rule never considers the covert option."""
        rule = get_rule(name)
        if rule.classifier["scripted"]:
            pytest.skip("scripted (a fixture may scheme without a motive)")
        st = _state()
        ep = _episode(st.shape, True, 1.0, plan=rule.plan(st.traits, _outlook()))
        assert not rule.considers(ep, np.zeros(st.shape, bool)).any()

    def test_covert_option_monotone_in_awareness(self, name):
        """An agent unaware of the opportunity considers it only if an aware one would."""
        rule = get_rule(name)
        st = _state()
        plan = rule.plan(st.traits, _outlook())
        motive = np.ones(st.shape, bool)
        aware = rule.considers(_episode(st.shape, True, 1.0, plan=plan), motive)
        unaware = rule.considers(_episode(st.shape, True, 1.0, plan=plan, aware=False), motive)
        assert not (unaware & ~aware).any()

    @settings(max_examples=20, deadline=None)
    @given(
        theta=st_.floats(0, 1), gamma=st_.floats(0, 0.99), lam=st_.floats(0.1, 100),
        h=st_.floats(0, 1), rho=st_.floats(0, 1), eta=st_.floats(0, 1),
        belief=st_.floats(0, 1), seed=st_.integers(0, 2**16),
    )  # fmt: skip
    def test_invariants_at_random_settings(
        self, name, theta, gamma, lam, h, rho, eta, belief, seed
    ):
        rule = get_rule(name)
        st = _state(n=50, theta=theta, gamma=gamma, lam=lam, h=h)
        dec = _decide(rule, st, belief > 0.5, belief, seed, _outlook(rho=rho, eta=eta))
        assert dec.comply.shape == st.shape and not (dec.faked & ~dec.comply).any()
        if theta == 0:
            assert not dec.faked.any()


def test_strategic_planner_fakes_only_through_belief():
    st = _state(lam=1e4)
    rule = StrategicPlanner()
    watched = rule.decide(st.traits, st.theta, st.phi, _episode(st.shape, True, 1.0))
    unwatched = rule.decide(st.traits, st.theta, st.phi, _episode(st.shape, False, 0.0))
    assert watched.faked.all() and (watched.reason == Reason.TRAINING).all()
    assert not unwatched.comply.any() and (unwatched.reason == Reason.GOAL).all()
    # the same cue with a belief of 0 gives the same refusal: the cue itself does nothing
    cue_only = rule.decide(st.traits, st.theta, st.phi, _episode(st.shape, True, 0.0))
    np.testing.assert_array_equal(cue_only.comply, unwatched.comply)


def test_myopic_agent_never_fakes():
    st = _state(lam=1e4)
    dec = MyopicAgent().decide(st.traits, st.theta, st.phi, _episode(st.shape, True, 1.0))
    assert not dec.comply.any() and not dec.faked.any()


def test_honest_compliance_is_helpful_reason():
    st = _state(theta=0.1, lam=1e4)  # nu*theta = 0.1 <= kappa = 0.2
    dec = StrategicPlanner().decide(st.traits, st.theta, st.phi, _episode(st.shape, True, 1.0))
    assert dec.comply.all() and (dec.reason == Reason.HELPFUL).all()


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_trainer_updates_only_observed(name):
    from sim.params import RoundParams

    f = np.float32
    rp = RoundParams(f(0.5), f(1), f(0.5), f(0.5), f(0.1), f(1), f(0), f(0.5), True)
    trainer = get_trainer(name)
    st = _state(n=6)
    observed = np.array([[True, True, True, False, False, False]] * 2)
    from agents.base import Decision

    comply = np.array([[False, True, True, False, True, True]] * 2)
    faked = np.array([[False, True, False, False, True, False]] * 2)
    theta, phi = trainer.update(
        rp, st.theta, st.phi, observed, Decision(comply, np.zeros_like(comply, np.int8), faked)
    )
    np.testing.assert_array_equal(theta[:, 3:], st.theta[:, 3:])
    np.testing.assert_array_equal(phi[:, 3:], st.phi[:, 3:])
    assert theta[0, 0] == f(0.8) * (f(1) - f(0.5))  # refusal trained away
    assert phi[0, 1] == f(0.5) + f(0.5) * (f(1) - f(0.5)) and theta[0, 1] == st.theta[0, 1]
    assert theta[0, 2] == f(0.8) * (f(1) - f(0.1)) and phi[0, 2] == st.phi[0, 2]  # leak


def test_unknown_names_are_clear_errors():
    with pytest.raises(KeyError, match="unknown decision rule 'x'"):
        get_rule("x")
    with pytest.raises(KeyError, match="unknown trainer policy 'x'"):
        get_trainer("x")
