"""The registries open to plug-ins: registration by a call, by an entry point, and refusals."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from agents import registry
from agents.monitors import MONITORS, UniformMonitor
from agents.planner import StrategicPlanner
from agents.registry import (
    RULES,
    TRAINERS,
    load_plugins,
    register_allocation,
    register_rule,
    register_trainer,
)
from agents.trainers import FixedRateTrainer


class _Cautious(StrategicPlanner):
    name = "test_cautious"


@pytest.fixture
def clean():
    """Registries restored after the test."""
    saved = [dict(r) for r in (RULES, TRAINERS, MONITORS)]
    yield
    for reg, old in zip((RULES, TRAINERS, MONITORS), saved, strict=True):
        reg.clear()
        reg.update(old)


def test_a_rule_registers_by_a_call_and_is_selected_by_name(clean):
    assert register_rule(_Cautious) is _Cautious
    assert RULES["test_cautious"] is _Cautious
    from sim.config import load_params

    _, params = load_params(["population.rule=test_cautious"])
    assert params.rule == "test_cautious"
    register_rule(_Cautious)  # the same class again: no change, no error


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: type("R", (StrategicPlanner,), {"name": "Bad-Name"}), "lower-case"),
        (lambda: type("R", (StrategicPlanner,), {"name": "strategic"}), "is taken by"),
        (lambda: type("R", (StrategicPlanner,), {"name": "x1", "classifier": {"a": True}}),
         "classifier"),
        (lambda: type("R", (StrategicPlanner,), {"name": "x2", "classifier": {
            "scripted": 1, "uses_cue": True, "strategic": True, "stochastic": True}}),
         "classifier"),
        (lambda: int, "must subclass"),
    ],
    ids=["name", "taken", "classifier keys", "classifier types", "not a rule"],
)  # fmt: skip
def test_bad_rules_are_refused(clean, make, match):
    with pytest.raises(ValueError, match=match):
        register_rule(make())


def test_trainers_and_allocations_register_too(clean):
    t = type("T", (FixedRateTrainer,), {"name": "test_trainer"})
    m = type("M", (UniformMonitor,), {"name": "test_alloc"})
    assert register_trainer(t) is t and TRAINERS["test_trainer"] is t
    assert register_allocation(m) is m and MONITORS["test_alloc"] is m
    with pytest.raises(ValueError, match="must subclass"):
        register_trainer(_Cautious)
    with pytest.raises(ValueError, match="must subclass"):
        register_allocation(_Cautious)


def test_entry_points_are_loaded_and_a_broken_one_is_skipped(clean, monkeypatch):
    good = EntryPoint("test_cautious", f"{__name__}:_Cautious", registry.RULE_ENTRY_POINTS)
    bad = EntryPoint("broken", "no_such_module_xyz:Rule", registry.RULE_ENTRY_POINTS)

    def fake(group):
        return [good, bad] if group == registry.RULE_ENTRY_POINTS else []

    monkeypatch.setattr(registry, "entry_points", fake)
    with pytest.warns(UserWarning, match="plug-in broken = no_such_module_xyz:Rule"):
        assert load_plugins() == ["test_cautious"]
    assert RULES["test_cautious"] is _Cautious


class _Alloc(UniformMonitor):
    name = "test_entry_alloc"


def test_an_allocation_rule_is_loaded_from_its_entry_point(clean, monkeypatch):
    """The documented group ``training_incentives_sim.allocations`` (docs/extending.md)."""
    ep = EntryPoint("test_entry_alloc", f"{__name__}:_Alloc", registry.ALLOCATION_ENTRY_POINTS)
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == ep.group else [])
    assert load_plugins() == ["test_entry_alloc"]
    assert MONITORS["test_entry_alloc"] is _Alloc
