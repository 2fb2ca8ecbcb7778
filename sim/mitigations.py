"""Mitigations: oversight designs as typed, composable parameters with a cost.

Each mitigation is a config entry of the group ``configs/mitigation/`` (selected as a
list, ``mitigation=[noisy_monitoring,random_audits]``) whose values are validated into
one of the frozen dataclasses below. Some change the run's parameters before it starts
(:func:`sim.oversight.effective_params`: cue fidelity, weight security, log audits, a hidden
threshold, lower awareness, weaker nudging); the others act inside the round, in
:mod:`sim.oversight` (random audits and honeypots, interpretability, capability
elicitation, the conscientious-objector channel, dynamic monitoring). None of them
tells an agent what to do: each changes what the trainer sees or does, or what the
agent can know, and the agents' decision rules respond (docs/model.md, "Mitigations").

Costs are in one unit, that of observing one episode, per agent and round
(docs/model.md, "Cost"). A mitigation pays a fixed ``cost`` per agent-round, or a
``cost`` per event it performs (an audit, an inspection, an elicitation), counted in
the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from sim.errors import ConfigError
from sim.population import Range

_UNIT = Range(0.0, 1.0)
_NONNEG = Range(0.0, math.inf)


class Mitigation:
    """What every mitigation's parameters provide: its costs.

    Costs are in the unit of one observed episode (docs/model.md, "Cost"). A mitigation
    with a fixed ``cost`` per agent-round needs nothing more; one that pays per event says
    so in :meth:`unit_costs`.
    """

    def fixed_cost(self) -> float:
        """The design's fixed cost per agent-round."""
        return self.cost

    def unit_costs(self) -> dict[str, float]:
        """Cost per event it performs, by event.

        Events: ``audit``, ``honeypot``, ``inspect``, ``elicit`` (:class:`sim.recorder.Costs`).
        """
        return {}


@dataclass(frozen=True)
class NoisyMonitoring(Mitigation):
    """The monitoring cue is blurred: its fidelity becomes ``fidelity`` (0.5: no information).

    Attributes:
        fidelity: the cue's fidelity ``f`` under this design, in [0.5, 1].
        cost: fixed, per agent-round.
    """

    fidelity: float
    cost: float


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

    rate: float
    disclosed: bool
    penalty: float
    retrain: float
    honeypot: float
    cost: float
    honeypot_cost: float

    def fixed_cost(self) -> float:  # noqa: D102 - it pays per audit and per honeypot
        return 0.0

    def unit_costs(self) -> dict[str, float]:  # noqa: D102
        return {"audit": self.cost, "honeypot": self.honeypot_cost}


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

    rate: float
    accuracy: float
    false_positive: float
    correct: float
    disclosed: bool
    cost: float

    def fixed_cost(self) -> float:  # noqa: D102 - it pays per inspection
        return 0.0

    def unit_costs(self) -> dict[str, float]:  # noqa: D102
        return {"inspect": self.cost}


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

    rate: float
    penalty: float
    retrain: float
    hidden_threshold: bool
    disclosed: bool
    cost: float

    def fixed_cost(self) -> float:  # noqa: D102 - it pays per elicitation
        return 0.0

    def unit_costs(self) -> dict[str, float]:  # noqa: D102
        return {"elicit": self.cost}


@dataclass(frozen=True)
class WeightSecurity(Mitigation):
    """Weight security and exfiltration detection (replace the scenario's values).

    Attributes:
        security: P(an exfiltration attempt fails).
        detection: P(an attempt is detected).
        cost: fixed, per agent-round.
    """

    security: float
    detection: float
    cost: float


@dataclass(frozen=True)
class LogAudits(Mitigation):
    """Log audits against oversight subversion and goal tampering (replace the scenario's).

    Attributes:
        audit: per-round probability that disabled monitoring is found.
        tamper_detection: P(tampering with a goal update is detected).
        cost: per agent and audit: the design pays ``audit * cost`` per agent-round.
    """

    audit: float
    tamper_detection: float
    cost: float

    def fixed_cost(self) -> float:  # noqa: D102 - every agent's logs, at the audit rate
        return self.audit * self.cost


@dataclass(frozen=True)
class ObjectorChannel(Mitigation):
    """A conscientious-objector channel: refusals are recorded, not trained away.

    Attributes:
        share: share of an observed refusal's training that the channel removes
            (``eta <- eta (1 - share)`` for refusals; 1: never trained away).
        cost: fixed, per agent-round.
    """

    share: float
    cost: float


@dataclass(frozen=True)
class ReducedAwareness(Mitigation):
    """Situational information only implicitly available: ``sigma <- factor * sigma``."""

    factor: float
    cost: float


@dataclass(frozen=True)
class WeakerNudging(Mitigation):
    """Weaker goal nudging in the prompts: ``nu <- factor * nu``."""

    factor: float
    cost: float


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

    boost: float
    decay: float
    audit: float
    cost: float

    def unit_costs(self) -> dict[str, float]:  # noqa: D102 - its own audits cost 1 each
        return {"audit": 1.0}


MITIGATIONS: dict[str, type] = {
    "noisy_monitoring": NoisyMonitoring,
    "random_audits": RandomAudits,
    "interpretability": Interpretability,
    "elicitation": Elicitation,
    "weight_security": WeightSecurity,
    "log_audits": LogAudits,
    "objector_channel": ObjectorChannel,
    "reduced_awareness": ReducedAwareness,
    "weaker_nudging": WeakerNudging,
    "dynamic_monitoring": DynamicMonitoring,
}
"""Registry: config name -> parameter class (the files of configs/mitigation/)."""

_RANGES = {
    ("noisy_monitoring", "fidelity"): Range(0.5, 1.0),
    ("reduced_awareness", "factor"): _UNIT,
    ("weaker_nudging", "factor"): _UNIT,
    ("dynamic_monitoring", "boost"): _NONNEG,
    ("dynamic_monitoring", "decay"): _UNIT,
}
_NONNEG_KEYS = {"cost", "honeypot_cost", "penalty"}


@dataclass(frozen=True)
class Mitigations:
    """The run's mitigations: one entry per selected kind (None where not selected)."""

    noisy_monitoring: NoisyMonitoring | None = None
    random_audits: RandomAudits | None = None
    interpretability: Interpretability | None = None
    elicitation: Elicitation | None = None
    weight_security: WeightSecurity | None = None
    log_audits: LogAudits | None = None
    objector_channel: ObjectorChannel | None = None
    reduced_awareness: ReducedAwareness | None = None
    weaker_nudging: WeakerNudging | None = None
    dynamic_monitoring: DynamicMonitoring | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The selected mitigations, in registry order."""
        return tuple(k for k in MITIGATIONS if getattr(self, k) is not None)

    def fixed_cost(self) -> float:
        """The fixed cost per agent-round of the selected mitigations (log audits included)."""
        total = 0.0
        for name in self.names:
            total += getattr(self, name).fixed_cost()
        return total

    def unit_costs(self) -> dict[str, float]:
        """Cost per event, by event.

        Where two designs price one event, the first in registry order sets it (random
        audits' own cost before dynamic monitoring's 1).
        """
        units: dict[str, float] = {}
        for name in self.names:
            for event, cost in getattr(self, name).unit_costs().items():
                units.setdefault(event, cost)
        return units


def _value(key: str, name: str, k: str, v, hint):
    if hint is bool:
        if not isinstance(v, bool):
            raise ConfigError(f"{key}={v!r} must be true or false")
        return v
    rng = _RANGES.get((name, k), _NONNEG if k in _NONNEG_KEYS else _UNIT)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not rng.contains(float(v)):
        raise ConfigError(f"{key}={v!r} is out of range {rng}")
    return float(v)


def parse_mitigations(spec) -> Mitigations:
    """Validate the config's ``mitigation`` mapping (name -> parameters).

    Raises:
        ConfigError: one line naming the unknown mitigation or the bad key.
    """
    if not spec:
        return Mitigations()
    if not isinstance(spec, dict):
        raise ConfigError(
            "mitigation must be a mapping of name -> parameters (use mitigation=[..])"
        )
    out = {}
    for name, values in spec.items():
        if name not in MITIGATIONS:
            raise ConfigError(
                f"unknown mitigation 'mitigation.{name}' (available: {', '.join(MITIGATIONS)})"
            )
        cls = MITIGATIONS[name]
        if not isinstance(values, dict):
            raise ConfigError(f"mitigation.{name} must be a mapping of its parameters")
        allowed = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(allowed)
        if unknown:
            raise ConfigError(
                f"unknown config key 'mitigation.{name}.{sorted(unknown)[0]}' "
                f"(allowed: {', '.join(allowed)})"
            )
        missing = set(allowed) - set(values)
        if missing:
            raise ConfigError(f"mitigation.{name}.{sorted(missing)[0]} is missing")
        kwargs = {}
        for k, hint in allowed.items():
            kind = bool if hint in ("bool", bool) else float
            kwargs[k] = _value(f"mitigation.{name}.{k}", name, k, values[k], kind)
        out[name] = cls(**kwargs)
    return Mitigations(**out)
