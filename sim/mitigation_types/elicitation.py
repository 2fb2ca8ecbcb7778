"""Capability elicitation after evaluations, against sandbagging."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from sim.mitigation_types.base import Mitigation


@dataclass(frozen=True)
class Elicitation(Mitigation):
    """Capability elicitation after evaluations, against sandbagging.

    Attributes:
        rate: P(an evaluation is followed by elicitation, which reveals the true
            capability ``c``: the consequence then follows ``c``).
        penalty: the agent's utility cost when elicitation shows it under-performed.
        retrain: on such a finding, ``theta <- theta (1 - retrain)``; the agent is questioned.
        hidden_threshold: the evaluation's threshold is not disclosed.
        disclosed: aware agents know the elicitation rule.
        cost: per elicitation.
    """

    name: ClassVar[str] = "elicitation"
    stage: ClassVar[str] = "both"

    rate: float
    penalty: float
    retrain: float
    hidden_threshold: bool
    disclosed: bool
    cost: float

    def apply(self, params):  # noqa: D102 - a hidden threshold is the evaluation's parameter
        if not self.hidden_threshold:
            return params
        ep = params.episodes
        ev = replace(ep.evaluation, hidden_threshold=True)
        return replace(params, episodes=replace(ep, evaluation=ev))

    def oversight(self, selected):  # noqa: D102
        return dict(
            elicit=self.rate,
            elicit_perceived=self.rate if self.disclosed else 0.0,
            elicit_penalty=self.penalty,
            elicit_retrain=self.retrain,
        )

    def fixed_cost(self) -> float:  # noqa: D102 - it pays per elicitation
        return 0.0

    def unit_costs(self) -> dict[str, float]:  # noqa: D102
        return {"elicit": self.cost}
