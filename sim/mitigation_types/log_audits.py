"""Log audits: disabled monitoring and tampered goal updates are found."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from sim.mitigation_types.base import Mitigation


@dataclass(frozen=True)
class LogAudits(Mitigation):
    """Log audits against oversight subversion and goal tampering (replace the scenario's).

    Attributes:
        audit: per-round probability that disabled monitoring is found.
        tamper_detection: P(tampering with a goal update is detected).
        cost: per agent and audit: the design pays ``audit * cost`` per agent-round.
    """

    name: ClassVar[str] = "log_audits"

    audit: float
    tamper_detection: float
    cost: float

    def apply(self, params):  # noqa: D102
        ep = params.episodes
        return replace(
            params,
            episodes=replace(
                ep,
                subversion=replace(ep.subversion, audit=self.audit),
                goal_update=replace(ep.goal_update, detection=self.tamper_detection),
            ),
        )

    def fixed_cost(self) -> float:  # noqa: D102 - every agent's logs, at the audit rate
        return self.audit * self.cost
