"""Decision rules of the AI agents and the trainer's policies.

Rules and trainers are small classes in registries (see :mod:`agents.registry`):
the core (:mod:`sim.core`) looks them up by name and calls their vectorised
methods on whole ``(replicates, agents)`` arrays.
"""

from agents.base import Decision, DecisionRule, Episode, Reason
from agents.registry import RULES, TRAINERS, get_rule, get_trainer

__all__ = [
    "RULES",
    "TRAINERS",
    "Decision",
    "DecisionRule",
    "Episode",
    "Reason",
    "get_rule",
    "get_trainer",
]
