"""The episode types of the scheming repertoire, one module each, found by name.

:data:`EPISODE_TYPE_CLASSES` maps every non-conflict type of
:data:`sim.params.EPISODE_TYPES` to its class (:class:`base.EpisodeType`); the repertoire's
step calls them in that order and names none of them.
"""

from __future__ import annotations

from sim.episode_types.base import EpisodeType
from sim.episode_types.evaluation import Evaluation
from sim.episode_types.exfiltration import Exfiltration
from sim.episode_types.goal_update import GoalUpdate
from sim.episode_types.paired import Paired
from sim.episode_types.subversion import Subversion
from sim.params import EPISODE_TYPES

EPISODE_TYPE_CLASSES: dict[str, type[EpisodeType]] = {
    cls.name: cls for cls in (Evaluation, Exfiltration, Subversion, GoalUpdate, Paired)
}
"""Episode type name -> its class, for every type of the mix but the conflict request."""
if tuple(EPISODE_TYPE_CLASSES) != EPISODE_TYPES[1:]:
    raise ImportError(f"episode types {tuple(EPISODE_TYPE_CLASSES)} != {EPISODE_TYPES[1:]}")

__all__ = ["EPISODE_TYPE_CLASSES", "EpisodeType"]
