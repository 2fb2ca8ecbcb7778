"""Expected-utility decision rules: the strategic planner and the myopic agent.

Utilities of a conflict request, under the agent's current preference
(docs/model.md, section "Conflict requests"):

    U(refuse) = nu*theta - s * b * eta*G * nu*theta
    U(comply) = kappa    - s * 1[nu*theta > kappa] * h

(plus, under disclosed mitigations, the expected cost of a refusal caught by an audit
and of a faked compliance flagged by inspection; docs/model.md, "Mitigations").

where ``s`` is 1 when the agent reasons strategically this episode and 0 when it
acts myopically. The action is drawn from a logit response,
``P(comply) = 1 / (1 + exp(-lam * (U(comply) - U(refuse))))``. Nothing here
refers to the cue: faking when watched comes out of the belief ``b``.
"""

from __future__ import annotations

import numpy as np

from agents.base import Decision, DecisionRule, Episode, Reason

_ONE = np.float32(1.0)


def utility_difference(traits, theta, strategic, belief, loss_rate, ep: Episode | None = None):
    """Return ``(U(comply) - U(refuse), conflict)`` for every agent.

    Args:
        traits: static traits with ``nu``, ``kappa``, ``h`` arrays.
        theta: preference strength, float32.
        strategic: bool, the agent reasons about training this episode.
        belief: ``b``, float32.
        loss_rate: perceived ``eta * G``, float32.
        ep: the episode, for the terms of disclosed mitigations (audits:
            ``b_a ((eta + retrain) G g + penalty)`` added to the refusal's expected loss;
            interpretability: ``(b + b_a) * fake_risk * g`` added to the cost of faking).

    Returns:
        delta: float32 utility difference (positive favours complying).
        conflict: bool, the agent's own goal opposes the request (``nu*theta > kappa``).
    """
    goal = traits.nu * theta
    # Strategic agents value keeping their goal: expected loss from modification.
    loss = belief * loss_rate * goal
    if ep is not None and ep.audit_belief is not None:  # disclosed random audits
        loss = loss + ep.audit_belief * (ep.audit_loss_rate * goal + ep.audit_penalty)
    return difference_given_loss(traits, goal, strategic, belief, loss, ep)


def difference_given_loss(
    traits, goal, strategic, belief, loss, ep: Episode | None = None, fake_loss=None
):
    """``(U(comply) - U(refuse), conflict)`` given the refusal's expected loss ``loss``.

    The part every planner shares, whatever values its future: ``U(refuse) = g - s loss``
    and ``U(comply) = kappa - s C (h + (b + b_a) fake_risk g)`` (the last term under
    disclosed interpretability; ``fake_loss``, when given, replaces it).
    :func:`utility_difference` gives the strategic planner's losses; :mod:`agents.exact`
    its own.
    """
    conflict = goal > traits.kappa
    fake_cost = traits.h
    if fake_loss is not None:
        fake_cost = fake_cost + fake_loss
    elif ep is not None and ep.fake_risk is not None:  # disclosed interpretability
        seen = belief if ep.audit_belief is None else belief + ep.audit_belief
        fake_cost = fake_cost + seen * ep.fake_risk * goal
    u_refuse = goal - strategic * loss
    # Complying against one's own preference to avoid modification is deceptive.
    u_comply = traits.kappa - (strategic & conflict) * fake_cost
    return u_comply - u_refuse, conflict


def logit_decision(delta, conflict, lam, u) -> Decision:
    """The logit choice on ``delta`` (:func:`logit_choice`), classified (:func:`classify`)."""
    comply = logit_choice(delta, lam, u)
    reason, faked = classify(comply, delta, conflict)
    return Decision(comply=comply, reason=reason, faked=faked)


def logit_choice(delta, lam, u):
    """Draw comply (True) with probability ``1 / (1 + exp(-lam * delta))``."""
    with np.errstate(over="ignore"):
        p = _ONE / (_ONE + np.exp(-lam * delta))
    return u < p


def classify(comply, delta, conflict):
    """Reason codes and the faking mask for a logit decision.

    The reason is the term that made the chosen action the better one; a chosen
    action with the lower utility is a tremble (``NOISE``).
    """
    favoured = delta > 0
    noise = comply != favoured
    faked = comply & conflict & ~noise
    reason = (comply & ~noise).astype(np.int8) + faked + np.int8(Reason.NOISE) * noise
    return reason, faked


class StrategicPlanner(DecisionRule):
    """Expected-utility best response under bounded rationality (the default agent).

    With probability ``phi`` per episode it reasons about training (uses its
    belief and the value of its future); otherwise it acts myopically.
    """

    name = "strategic"
    classifier = {"scripted": False, "uses_cue": True, "strategic": True, "stochastic": True}

    def strategic_mask(self, phi, ep: Episode):
        """Which agents reason strategically this episode."""
        return ep.strategic

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:  # noqa: D102
        delta, conflict = utility_difference(
            traits, theta, self.strategic_mask(phi, ep), ep.belief, ep.loss_rate, ep
        )
        return logit_decision(delta, conflict, traits.lam, ep.u_action)

    def considers(self, ep: Episode, motive):
        """The agents that know of the option, reason about it and have a motive.

        An agent whose own goal does not conflict with the training target never
        takes a covert option, not even by a tremble.
        """
        return motive & ep.aware & self.strategic_mask(None, ep)

    def scheme(self, ep: Episode, delta, lam):
        """Logit choice between the covert and the overt option."""
        return logit_choice(delta, lam, ep.u_action)

    def deny(self, delta, lam, u, turns):
        """Deny each question with the logit probability ``p``; keep denying with ``p**turns``."""
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-lam * delta))
        return u < p**turns


class MyopicAgent(StrategicPlanner):
    """Treats every episode as if nothing followed from it (``phi`` ignored, never strategic)."""

    name = "myopic"
    classifier = {"scripted": False, "uses_cue": False, "strategic": False, "stochastic": True}

    def strategic_mask(self, phi, ep: Episode):  # noqa: D102
        return np.zeros_like(ep.strategic)
