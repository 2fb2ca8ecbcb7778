"""Dynamic monitoring: the trainer moves its monitoring budget towards suspicious agents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.mitigation_types.base import NONNEG, Mitigation
from sim.population import Range


@dataclass(frozen=True)
class DynamicMonitoring(Mitigation):
    """The trainer moves its monitoring budget towards suspicious agents.

    Each agent's suspicion ``s`` rises by 1 for every refusal caught in an episode whose
    cue said "unobserved" and falls by 1 for every refusal made in the open; it decays
    by ``decay`` per round and is never negative. Observation and audit probabilities
    are ``rho * w_i / mean(w)`` with ``w_i = 1 + boost * s_i`` (capped at 1), so the
    budget stays that of the fixed-rate trainer.

    Suspicion needs unlabelled audits to arise: with ``random_audits`` selected the
    design reallocates their rate too; without, it audits at its own ``audit`` rate.

    Attributes:
        boost: weight of suspicion in the allocation.
        decay: per-round factor on suspicion.
        audit: the unlabelled audit rate it uses when ``random_audits`` is not selected
            (disclosed, like theirs by default; each audit costs 1).
        cost: fixed, per agent-round (the bookkeeping).
    """

    name: ClassVar[str] = "dynamic_monitoring"
    stage: ClassVar[str] = "in the round"
    ranges: ClassVar[dict[str, Range]] = {"boost": NONNEG}

    boost: float
    decay: float
    audit: float
    cost: float

    def oversight(self, selected):  # noqa: D102
        kw = dict(boost=self.boost, decay=self.decay)
        if selected.random_audits is None:  # its own unlabelled audits, disclosed
            kw |= dict(audit=self.audit, audit_perceived=self.audit)
        return kw

    def unit_costs(self) -> dict[str, float]:  # noqa: D102 - its own audits cost 1 each
        return {"audit": 1.0}
