"""Registries of decision rules and trainer policies, by name."""

from __future__ import annotations

from agents.base import DecisionRule
from agents.planner import MyopicAgent, StrategicPlanner
from agents.scripted import AlwaysComply, AlwaysRefuse, AlwaysScheme, ComplyWhenCued
from agents.trainers import FixedRateTrainer, TrainerPolicy

RULES: dict[str, type[DecisionRule]] = {
    cls.name: cls
    for cls in (
        StrategicPlanner,
        MyopicAgent,
        AlwaysComply,
        AlwaysRefuse,
        ComplyWhenCued,
        AlwaysScheme,
    )
}
TRAINERS: dict[str, type[TrainerPolicy]] = {cls.name: cls for cls in (FixedRateTrainer,)}


def get_rule(name: str) -> DecisionRule:
    """Return an instance of the decision rule registered as ``name``."""
    try:
        return RULES[name]()
    except KeyError:
        raise KeyError(f"unknown decision rule {name!r}; known: {sorted(RULES)}") from None


def get_trainer(name: str) -> TrainerPolicy:
    """Return an instance of the trainer policy registered as ``name``."""
    try:
        return TRAINERS[name]()
    except KeyError:
        raise KeyError(f"unknown trainer policy {name!r}; known: {sorted(TRAINERS)}") from None
