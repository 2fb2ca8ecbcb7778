"""Decision rules of the AI agents and the trainer's policies.

Rules and trainers are small classes in registries (see :mod:`agents.registry`):
the core (:mod:`sim.core`) looks them up by name and calls their vectorised
methods on whole ``(replicates, agents)`` arrays.
"""

from agents.base import Decision, DecisionRule, Episode, Outlook, Reason
from agents.registry import (
    RULES,
    TRAINERS,
    get_rule,
    get_trainer,
    load_plugins,
    register_allocation,
    register_rule,
    register_trainer,
)

__all__ = [
    "RULES",
    "TRAINERS",
    "Decision",
    "DecisionRule",
    "Episode",
    "Outlook",
    "Reason",
    "get_rule",
    "get_trainer",
    "register_allocation",
    "register_rule",
    "register_trainer",
]

load_plugins()  # rules and trainers of installed plug-ins (entry points), once
