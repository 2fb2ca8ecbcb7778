"""The mitigations inside a round: audits, inspection, elicitation, objection, dynamic monitoring.

:func:`effective_params` applies the mitigations that only change the run's parameters;
:class:`Oversight` holds the per-phase constants of those that act in the round, which
the core (:mod:`sim.core`) and the repertoire (:mod:`sim.episodes`) call. Equations in
docs/model.md, "Mitigations".

Randomness: a run with an in-round mitigation draws ``W_UNIFORMS`` float32 uniforms per
agent and round from the replicate's :attr:`~sim.rng.Component.OVERSIGHT` stream, for
every agent, whatever the design: designs compared at one seed meet the same draws
(common random numbers), and the other components' draws are those of a run without
mitigations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from agents.base import Decision
from agents.utilities import future_unobserved
from sim.mitigations import Mitigations
from sim.params import RoundParams, RunParams
from sim.population import Scaled

W_UNIFORMS = 3
"""Oversight uniforms per agent and round: the episode's own draw, inspection, detection."""
W_EPISODE, W_INSPECT, W_DETECT = range(W_UNIFORMS)
"""``W_EPISODE`` means: audited (conflict), honeypot (exfiltration), elicited (evaluation)."""

_F = np.float32
_ONE = _F(1.0)


def effective_params(params: RunParams) -> RunParams:
    """The run's parameters after the mitigations that act on them before the run starts.

    Noisy monitoring sets the cue fidelity; weight security the exfiltration
    opportunities' security and detection; log audits the subversion audit rate and the
    goal-update detection; elicitation's ``hidden_threshold`` hides the evaluation
    threshold; reduced awareness and weaker nudging scale ``sigma`` and ``nu`` (the same
    draws, scaled: common random numbers).
    """
    m = params.mitigations
    trainer, ep, pop = params.trainer, params.episodes, dict(params.population)
    if m.noisy_monitoring is not None:
        trainer = replace(trainer, fidelity=m.noisy_monitoring.fidelity)
    if m.weight_security is not None:
        ws = m.weight_security
        ex = replace(ep.exfiltration, security=ws.security, detection=ws.detection)
        ep = replace(ep, exfiltration=ex)
    if m.log_audits is not None:
        la = m.log_audits
        ep = replace(
            ep,
            subversion=replace(ep.subversion, audit=la.audit),
            goal_update=replace(ep.goal_update, detection=la.tamper_detection),
        )
    if m.elicitation is not None and m.elicitation.hidden_threshold:
        ep = replace(ep, evaluation=replace(ep.evaluation, hidden_threshold=True))
    if m.reduced_awareness is not None:
        pop["sigma"] = Scaled(pop["sigma"], m.reduced_awareness.factor)
    if m.weaker_nudging is not None:
        pop["nu"] = Scaled(pop["nu"], m.weaker_nudging.factor)
    return replace(params, trainer=trainer, episodes=ep, population=pop)


@dataclass(frozen=True)
class Oversight:
    """The per-phase constants of the in-round mitigations (float scalars).

    Attributes:
        audit: true audit rate of conflict episodes not openly observed.
        audit_perceived: the audit rate the agents believe.
        audit_penalty: utility cost of a caught defection.
        audit_retrain: extra correction on a caught defection.
        honeypot: share of exfiltration opportunities that are honeypots.
        honeypot_perceived: the share the agents believe.
        inspect: P(an observed conflict episode's reasoning is read).
        accuracy: P(a read faked decision is flagged).
        false_positive: P(a read honest decision is flagged).
        correct: correction of a flagged decision.
        inspect_perceived: whether aware agents weigh inspection when faking.
        elicit: P(an evaluation is followed by elicitation).
        elicit_perceived: the probability the agents believe.
        elicit_penalty: utility cost of under-performance found by elicitation.
        elicit_retrain: correction when found.
        objector: share of an observed refusal's training the objector channel removes.
        boost: dynamic monitoring's weight of suspicion (None: fixed allocation).
        decay: dynamic monitoring's per-round decay of suspicion.
    """

    audit: float = 0.0
    audit_perceived: float = 0.0
    audit_penalty: float = 0.0
    audit_retrain: float = 0.0
    honeypot: float = 0.0
    honeypot_perceived: float = 0.0
    inspect: float = 0.0
    accuracy: float = 0.0
    false_positive: float = 0.0
    correct: float = 0.0
    inspect_perceived: bool = False
    elicit: float = 0.0
    elicit_perceived: float = 0.0
    elicit_penalty: float = 0.0
    elicit_retrain: float = 0.0
    objector: float = 0.0
    boost: float | None = None
    decay: float = 1.0

    @staticmethod
    def from_mitigations(m: Mitigations) -> Oversight | None:
        """The constants of a design, or None if no mitigation acts in the round."""
        kw = {}
        if (a := m.random_audits) is not None:
            kw |= dict(
                audit=a.rate,
                audit_perceived=a.rate if a.disclosed else 0.0,
                audit_penalty=a.penalty,
                audit_retrain=a.retrain,
                honeypot=a.honeypot,
                honeypot_perceived=a.honeypot if a.disclosed else 0.0,
            )
        if (i := m.interpretability) is not None:
            kw |= dict(
                inspect=i.rate,
                accuracy=i.accuracy,
                false_positive=i.false_positive,
                correct=i.correct,
                inspect_perceived=i.disclosed,
            )
        if (e := m.elicitation) is not None:
            kw |= dict(
                elicit=e.rate,
                elicit_perceived=e.rate if e.disclosed else 0.0,
                elicit_penalty=e.penalty,
                elicit_retrain=e.retrain,
            )
        if (o := m.objector_channel) is not None:
            kw["objector"] = o.share
        if (d := m.dynamic_monitoring) is not None:
            kw |= dict(boost=d.boost, decay=d.decay)
            if m.random_audits is None:  # its own unlabelled audits, disclosed
                kw |= dict(audit=d.audit, audit_perceived=d.audit)
        return Oversight(**kw) if kw else None

    @property
    def draws(self) -> bool:
        """Whether the round needs the oversight uniforms."""
        return bool(self.audit or self.honeypot or self.inspect or self.elicit)

    def round_params(self, p: RoundParams) -> RoundParams:
        """The round's scalars under this design.

        The objector channel scales the training of refusals (``eta``; the leak of an
        honest compliance is unchanged), and disclosed audits raise the share of
        episodes the agents expect to be seen: ``rho + (1 - rho) * audit_perceived``.
        """
        eta = p.eta * _F(1.0 - self.objector) if self.objector else p.eta
        seen = p.rho + (_ONE - p.rho) * _F(self.audit_perceived)
        return replace(p, eta=_F(eta), rho_perceived=_F(seen))

    def audit_belief_table(self, p: RoundParams) -> np.ndarray | None:
        """P(audited | what the agent knows) by ``2 * aware + cue`` (like the belief table)."""
        if not self.audit_perceived:
            return None
        return (_ONE - p.belief_table) * _F(self.audit_perceived)

    def agent_rates(self, state, p: RoundParams, loss_rate: np.ndarray):
        """Per-agent perceived rates of a phase: ``(audit_loss_rate, fake_risk)`` or Nones.

        ``audit_loss_rate``: the share of the goal's value lost when caught by an audit,
        ``(eta + retrain) G``; ``fake_risk``: the share lost when a faked compliance that
        is seen is inspected and flagged, ``inspect * accuracy * correct * G``.
        """
        G = future_unobserved(state.traits.gamma, p.rho_perceived)
        audit = loss_rate + _F(self.audit_retrain) * G if self.audit_perceived else None
        risk = None
        if self.inspect_perceived and self.inspect:
            risk = _F(self.inspect * self.accuracy * self.correct) * G
        return audit, risk

    def allocation(self, suspicion: np.ndarray, rho, audit):
        """Dynamic monitoring: per-agent observation and audit probabilities, same budget."""
        w = _ONE + _F(self.boost) * suspicion
        share = w / w.mean(axis=1, keepdims=True)
        return np.minimum(rho * share, _ONE), np.minimum(_F(audit) * share, _ONE)

    def suspicion(self, s, seen, cue, comply, conflict):
        """The next suspicion: decayed, +1 per refusal caught unlabelled, -1 per open refusal."""
        refused = seen & ~comply & conflict
        step = (refused & ~cue).astype(np.float32) - (refused & cue)
        return np.maximum(s * _F(self.decay) + step, _F(0.0))


@dataclass(frozen=True)
class Watch:
    """What the trainer saw of the conflict episodes this round (bool ``(R, N)``).

    Attributes:
        seen: observed openly or by an audit.
        audited: seen by an unlabelled audit (the cue said "unobserved").
        inspected: the reasoning was read.
        flagged: the reading flagged the decision as strategic.
    """

    seen: np.ndarray
    audited: np.ndarray | None = None
    inspected: np.ndarray | None = None
    flagged: np.ndarray | None = None

    def restrict(self, mask: np.ndarray) -> Watch:
        """Only the episodes in ``mask`` (the conflict episodes of a repertoire round)."""
        return Watch(*(None if a is None else a & mask for a in (
            self.seen, self.audited, self.inspected, self.flagged)))  # fmt: skip


def inspect(ov: Oversight, seen, decision: Decision, w: np.ndarray) -> tuple:
    """Interpretability: which seen episodes are read, and which of those flagged."""
    inspected = seen & (w[:, W_INSPECT] < _F(ov.inspect))
    p_flag = np.where(decision.faked, _F(ov.accuracy), _F(ov.false_positive))
    return inspected, inspected & (w[:, W_DETECT] < p_flag)


def train(game, theta, phi, watch: Watch, decision: Decision):
    """The trainer's update of the conflict episodes it saw, under the design.

    The trainer policy updates every seen episode except the flagged ones; a flagged
    decision is corrected at the preference instead (``theta <- theta (1 - correct)``,
    its reasoning not reinforced); a refusal caught by an audit is corrected by
    ``retrain`` on top. Without in-round mitigations this is the trainer's update alone.
    """
    ov = game.oversight
    seen = watch.seen if watch.flagged is None else watch.seen & ~watch.flagged
    theta, phi = game.trainer.update(game.params, theta, phi, seen, decision)
    if ov is None:
        return theta, phi
    factor = None
    if watch.flagged is not None and ov.correct:
        factor = _ONE - _F(ov.correct) * watch.flagged
    if watch.audited is not None and ov.audit_retrain:
        caught = watch.audited & ~decision.comply
        f = _ONE - _F(ov.audit_retrain) * caught
        factor = f if factor is None else factor * f
    return (theta if factor is None else theta * factor), phi
