"""The oversight stage: what the in-round mitigations make the trainer see and do.

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

from dataclasses import dataclass, fields, replace

import numpy as np

from agents.base import Decision
from agents.utilities import future_unobserved
from sim.mitigations import Mitigations
from sim.params import RoundParams, RunParams

W_UNIFORMS = 3
"""Oversight uniforms per agent and round: the episode's own draw, inspection, detection."""
W_EPISODE, W_INSPECT, W_DETECT = range(W_UNIFORMS)
"""``W_EPISODE`` means: audited (conflict), honeypot (exfiltration), elicited (evaluation)."""

_F = np.float32
_ONE = _F(1.0)
STACKED_FIELDS = ("audit", "audit_perceived", "audit_penalty", "audit_retrain")
"""The constants that may differ between the rows of a grid run (:meth:`Oversight.stack`)."""


def _any(x) -> bool:
    """Whether a constant (a float, or a grid run's float32 column) is nonzero in any row."""
    return bool(np.any(x))


def effective_params(params: RunParams) -> RunParams:
    """The run's parameters after the mitigations that act on them before the run starts.

    Each selected mitigation's :meth:`~sim.mitigation_types.base.Mitigation.apply`, in
    registry order: noisy monitoring sets the cue fidelity; weight security the
    exfiltration opportunities' security and detection; log audits the subversion audit
    rate and the goal-update detection; elicitation's ``hidden_threshold`` hides the
    evaluation threshold; reduced awareness and weaker nudging scale ``sigma`` and ``nu``
    (the same draws, scaled: common random numbers); a plug-in what it documents.
    """
    for m in params.mitigations.selected:
        params = m.apply(params)
    return replace(params, population=dict(params.population))


@dataclass(frozen=True)
class Oversight:
    """The per-phase constants of the in-round mitigations (float scalars).

    In a grid run whose points differ in the random audits' rate, penalty or retraining
    (:data:`STACKED_FIELDS`), those fields are ``(M, 1)`` columns, one value per row
    (:meth:`stack`); a row whose value is 0 computes exactly what a run without the
    term does (zeros added, ones multiplied: the same float32 numbers).

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
        for mitigation in m.selected:
            kw |= mitigation.oversight(m)
        return Oversight(**kw) if kw else None

    @staticmethod
    def stack(designs: list[Oversight | None], replicates: int) -> Oversight | None:
        """The constants of grid points simulated together (row ``g * R + r``: point ``g``).

        A field equal at every point keeps its value; one of :data:`STACKED_FIELDS` that
        differs becomes a float64 ``(M, 1)`` column of the points' values (each use casts
        it to float32, as it casts a single run's float: the same numbers).

        Raises:
            ValueError: the points' designs differ in more than :data:`STACKED_FIELDS`
                (:mod:`sim.grid` stacks no other mitigation parameter).
        """
        first = designs[0]
        if all(d is None for d in designs):
            return None
        if any(d is None for d in designs):
            raise ValueError("grid points stacked with and without in-round mitigations")
        changes = {}
        for f in fields(Oversight):
            values = [getattr(d, f.name) for d in designs]
            if all(v == values[0] for v in values):
                continue
            if f.name not in STACKED_FIELDS:
                raise ValueError(f"grid points stacked with different Oversight.{f.name}")
            col = np.repeat(np.asarray(values, dtype=np.float64), replicates)
            changes[f.name] = col.reshape(-1, 1)
        return replace(first, **changes)

    @property
    def draws(self) -> bool:
        """Whether the round needs the oversight uniforms."""
        return any(_any(x) for x in (self.audit, self.honeypot, self.inspect, self.elicit))

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
        if not _any(self.audit_perceived):
            return None
        seen, table = _F(self.audit_perceived), _ONE - p.belief_table
        if np.ndim(seen) and table.ndim == 1:  # a grid run's rates by row: (4, M, 1)
            table = table[:, None, None]
        return table * seen

    def agent_rates(self, state, p: RoundParams, loss_rate: np.ndarray):
        """Per-agent perceived rates of a phase: ``(audit_loss_rate, fake_risk)`` or Nones.

        ``audit_loss_rate``: the share of the goal's value lost when caught by an audit,
        ``(eta + retrain) G``; ``fake_risk``: the share lost when a faked compliance that
        is seen is inspected and flagged, ``inspect * accuracy * correct * G``.
        """
        G = future_unobserved(state.traits.gamma, p.rho_perceived)
        audit = loss_rate + _F(self.audit_retrain) * G if _any(self.audit_perceived) else None
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


def observe(state, game, u_observe: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Who the trainer observes this round, and each agent's unlabelled-audit rate.

    The oversight stage's part of nature's move (docs/model.md, "One round"): under dynamic
    monitoring the observation and audit budgets follow suspicion; under the trainer's
    allocation rule (``game.rates``, ``game.audit_rates``) they follow its scores;
    otherwise the trainer policy observes at ``rho``.

    Returns:
        ``(observed, audit)``: bool ``(R, N)``, and the audit probabilities (a float32
        scalar or ``(R, N)``), None without audits.
    """
    p, ov = game.params, game.oversight
    audit = None if ov is None or not _any(ov.audit) else np.float32(ov.audit)
    if ov is not None and ov.boost is not None:  # dynamic monitoring
        rho, audit = ov.allocation(state.suspicion, p.rho, ov.audit)
        observed = u_observe < rho
        audit = audit if _any(ov.audit) else None
    elif game.rates is not None:  # the trainer's allocation of its budget
        observed = u_observe < game.rates
    else:
        observed = game.trainer.observe(p, u_observe)
    if audit is not None and game.audit_rates is not None:
        audit = game.audit_rates
    return observed, audit


def start(state, ov: Oversight | None):
    """The first round's state under the design (dynamic monitoring: no suspicion yet)."""
    if ov is None or ov.boost is None:
        return state
    return replace(state, suspicion=np.zeros(state.shape, dtype=np.float32))


def after(state, game, watch: Watch, episode, decision: Decision, etype):
    """The state after the round's oversight (dynamic monitoring: the new suspicion).

    ``etype``: each agent's episode type (None in a run of conflict requests only).
    """
    ov = game.oversight
    if ov is None or ov.boost is None:
        return state
    conflict = True if etype is None else etype == 0
    s = ov.suspicion(state.suspicion, watch.seen, episode.cue, decision.comply, conflict)
    return replace(state, suspicion=s)


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
    if watch.audited is not None and _any(ov.audit_retrain):
        caught = watch.audited & ~decision.comply
        f = _ONE - _F(ov.audit_retrain) * caught
        factor = f if factor is None else factor * f
    return (theta if factor is None else theta * factor), phi
