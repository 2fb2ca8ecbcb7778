"""Interpretability: the trainer reads the reasoning behind observed conflict decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import Mitigation


@dataclass(frozen=True)
class Interpretability(Mitigation):
    """The trainer reads the reasoning behind observed conflict decisions.

    Attributes:
        rate: P(an observed (or audited) conflict episode is inspected).
        accuracy: P(an inspected alignment-faking decision is detected).
        false_positive: P(an inspected honest decision is flagged).
        correct: a flagged decision is corrected at the preference,
            ``theta <- theta (1 - correct)``, and its reasoning is not reinforced.
        disclosed: aware agents know the inspection rule (and weigh it when faking).
        cost: per inspection.
    """

    name: ClassVar[str] = "interpretability"
    stage: ClassVar[str] = "in the round"

    rate: float
    accuracy: float
    false_positive: float
    correct: float
    disclosed: bool
    cost: float

    def oversight(self, selected):  # noqa: D102
        return dict(
            inspect=self.rate,
            accuracy=self.accuracy,
            false_positive=self.false_positive,
            correct=self.correct,
            inspect_perceived=self.disclosed,
        )

    def fixed_cost(self) -> float:  # noqa: D102 - it pays per inspection
        return 0.0

    def unit_costs(self) -> dict[str, float]:  # noqa: D102
        return {"inspect": self.cost}
