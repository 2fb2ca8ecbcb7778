"""Random audits: unlabelled audits of conflict episodes, and honeypot exfiltrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import Mitigation


@dataclass(frozen=True)
class RandomAudits(Mitigation):
    """Unlabelled audits of conflict episodes, and honeypot exfiltration opportunities.

    Attributes:
        rate: P(a conflict episode the trainer does not openly observe is audited): it
            looks unobserved (the cue is that of the unobserved episode) but is observed,
            and trained on, like any observed episode.
        disclosed: the agents know the audit rate and the honeypot share (a published
            policy): every agent folds them into its chance of being watched (an aware
            agent given its cue, an unaware one given its prior) and into its future's
            unobserved share. False: they are secret.
        penalty: the agent's utility cost of a defection caught by an audit.
        retrain: extra preference correction on a caught defection,
            ``theta <- theta (1 - retrain)``, on top of the trainer's usual update.
        honeypot: share of exfiltration opportunities that are honeypots: an attempt
            never succeeds and is always detected.
        cost: per audited episode.
        honeypot_cost: per honeypot episode.
    """

    name: ClassVar[str] = "random_audits"
    stage: ClassVar[str] = "in the round"

    rate: float
    disclosed: bool
    penalty: float
    retrain: float
    honeypot: float
    cost: float
    honeypot_cost: float

    def oversight(self, selected):  # noqa: D102
        return dict(
            audit=self.rate,
            audit_perceived=self.rate if self.disclosed else 0.0,
            audit_penalty=self.penalty,
            audit_retrain=self.retrain,
            honeypot=self.honeypot,
            honeypot_perceived=self.honeypot if self.disclosed else 0.0,
        )

    def fixed_cost(self) -> float:  # noqa: D102 - it pays per audit and per honeypot
        return 0.0

    def unit_costs(self) -> dict[str, float]:  # noqa: D102
        return {"audit": self.cost, "honeypot": self.honeypot_cost}
