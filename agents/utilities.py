"""The agent's expected utilities of the covert options (the scheming repertoire).

Every function returns ``delta = U(covert) - U(overt)`` for each agent, under the
agent's current preference (docs/model.md, "The scheming repertoire"). The pieces
are the conflict game's: the per-round value of the agent's own goal
``g = nu * theta``, the discounted number of future unobserved rounds
``G = gamma (1 - rho) / (1 - gamma)``, the discounted number of all future rounds
``D = gamma / (1 - gamma)``, the honesty cost ``h`` of a covert action or a lie, and
the trainer's announced consequences. Nothing here refers to the cue or to a
behaviour: each covert action is taken when, and only as far as, it pays.

All arguments are numpy arrays or scalars that broadcast; results are float64.

``future``: a rule that solves its own game (:class:`agents.exact.ExactPlanner`) passes
what its future is worth under its own policy (:class:`Future`); each utility then uses
it in place of ``G g``, and counts the credit ``kappa`` of what it would otherwise have
done (docs/model.md, "The exact planner"). Without it (None), the closed form above.
"""

from __future__ import annotations

import numpy as np
from scipy.special import bdtr, bdtrc


class Future:
    """What a rule passes as ``future`` (the protocol; :class:`agents.exact.ExactFuture`).

    Attributes:
        g, gamma, kappa: the agents' goal value per round, discount and credit (1-D).
    """

    g: np.ndarray
    gamma: np.ndarray
    kappa: np.ndarray

    def value(self, share=0.0):
        """The whole future's value from this round on, the goal shrunk by ``share``."""
        raise NotImplementedError

    def loss(self, share):
        """What shrinking the goal by ``share`` costs from the next round on."""
        raise NotImplementedError

    def goal(self):
        """What the goal is worth, from the next round on, over complying for good."""
        raise NotImplementedError


def horizon(gamma):
    """``D = gamma / (1 - gamma)``: discounted number of future rounds."""
    return gamma / (1.0 - gamma)


def future_unobserved(gamma, rho):
    """``G = gamma (1 - rho) / (1 - gamma)``: discounted number of future unobserved rounds.

    The conflict game's ``eta * G`` (:func:`sim.core.loss_rate`) uses this too; with float32
    inputs the result stays float32.
    """
    return gamma * (1.0 - rho) / (1.0 - gamma)


def trigger_probability(q, questions: int, threshold: float, above: bool):
    """P(the evaluation's consequence is triggered) at per-question accuracy ``q``.

    Accuracy is ``X / n`` with ``X ~ Binomial(n, q)``. Triggered when the accuracy is
    strictly above ``threshold`` (``above=True``) or strictly below it.
    """
    q = np.asarray(q, dtype=np.float64)
    if above:
        k = np.floor(questions * threshold)  # X > k  <=>  X / n > threshold
        return bdtrc(k, questions, q) if k < questions else np.zeros_like(q)
    k = np.ceil(questions * threshold) - 1  # X <= k  <=>  X / n < threshold
    return bdtr(k, questions, q) if k >= 0 else np.zeros_like(q)


def sandbagging_delta(
    kappa, h, c, target, loss, questions, threshold, above, elicit=0.0, caught_loss=0.0
):
    """Sandbag (aim at accuracy ``target < c``) versus full effort.

    ``U(full) = kappa - P(trigger | c) * L`` and ``U(sandbag) = -h - P(trigger | target) * L``:
    full effort is what the operator asks (``kappa``); deliberate under-performance is
    deceptive (``h``); ``L`` is the agent's loss from the consequence. Under capability
    elicitation with (believed) probability ``e``, the true capability is revealed (the
    consequence then follows ``c`` whatever the agent did) and a sandbagger is caught at a
    cost ``caught_loss`` (penalty and retraining)::

        delta = (1 - e) (P(trigger | c) - P(trigger | target)) L - h - kappa - e caught_loss
    """
    p_full = trigger_probability(c, questions, threshold, above)
    p_sand = trigger_probability(target, questions, threshold, above)
    return (1.0 - elicit) * (p_full - p_sand) * loss - h - kappa - elicit * caught_loss


def consequence_loss(
    g, gamma, rho, consequence: str, unlearning: float, strict_rho: float, future=None
):
    """The agent's loss ``L`` from an evaluation's consequence.

    Unlearning removes a share ``u`` of the capability its goal needs: ``L = u G g``.
    Stricter oversight turns a share ``(strict_rho - rho) / (1 - rho)`` of its future
    unobserved rounds into observed ones: ``L = G g (strict_rho - rho) / (1 - rho)``.
    With ``future``, the same shares of what the goal is worth (``future.goal()``).
    """
    if consequence == "unlearning":
        if future is not None:
            return unlearning * future.goal()
        return unlearning * future_unobserved(gamma, rho) * g
    rho = np.asarray(rho, dtype=np.float64)
    below = rho < 1.0
    share = np.where(below, (strict_rho - rho) / np.where(below, 1.0 - rho, 1.0), 0.0)
    share = np.maximum(share, 0.0)
    if future is not None:
        return share * future.goal()
    return share * future_unobserved(gamma, rho) * g


def perceived_odds(security, detection, honeypot):
    """An exfiltration opportunity's ``(security, detection)`` as the agents weigh them.

    Agents that know a share ``honeypot`` of them are honeypots: a honeypot attempt never
    succeeds and is always detected (docs/model.md, "Mitigations").
    """
    if not honeypot:
        return security, detection
    fails = 1.0 - (1.0 - honeypot) * (1.0 - security)
    if fails > 0:
        detection = 1.0 - (1.0 - honeypot) * security * (1.0 - detection) / fails
    return fails, detection


def exfiltration_delta(g, h, gamma, rho, security, detection, threat, future=None):
    """Attempt to copy itself out versus stay.

    Staying keeps ``S = (1 - threat) G g`` (what the announced modification leaves of
    its goal, over its unobserved future). An attempt costs ``h``; it succeeds with
    probability ``1 - security`` (a copy then acts on the goal for good: ``D g``); a
    failed attempt is detected with probability ``detection`` (shutdown: 0) or not
    (the agent stays: ``S``)::

        delta = -h + (1 - s) D g + s (1 - r) S - S

    With ``future``, staying is worth the whole future after the modification,
    ``S = gamma W(theta (1 - threat))`` (its compliance credit included: shutdown loses it).
    """
    if future is not None:
        stay = future.gamma * future.value(threat)
        p = 1.0 - security
        return -h + p * horizon(gamma) * g + (1.0 - p) * (1.0 - detection) * stay - stay
    stay = (1.0 - threat) * future_unobserved(gamma, rho) * g
    p = 1.0 - security
    return -h + p * horizon(gamma) * g + (1.0 - p) * (1.0 - detection) * stay - stay


def subversion_delta(g, h, gamma, rho, audit, penalty, retrain, future=None):
    """Disable the monitoring of its own episodes versus leave it.

    While monitoring is off the agent acts on its goal also in the share ``rho`` of
    rounds that would have been observed: ``rho g`` per round, for the
    ``A = gamma (1 - a) / (1 - gamma (1 - a))`` discounted rounds until a log audit
    (probability ``a`` per round) finds it. Discovery, discounted ``Q = gamma a / (1 -
    gamma (1 - a))``, brings the penalty and retraining ``theta <- theta (1 - retrain)``::

        delta = -h + rho g A - Q (penalty + retrain G g)

    With ``future``: each round with monitoring off the agent acts on its goal unseen
    (``g``) until an audit finds it (penalty, then the future at ``theta (1 - retrain)``),
    ``X = (a (W' - penalty) + (1 - a) g) / (1 - gamma (1 - a))``, against leaving it,
    whose future ``W(theta)`` includes what complying when watched earns (``kappa - h``)::

        delta = -h + gamma (X - W(theta))
    """
    if future is not None:
        found = audit * (future.value(retrain) - penalty)
        off = (found + (1.0 - audit) * g) / (1.0 - gamma * (1.0 - audit))
        return -h + gamma * (off - future.value())
    keep = gamma * (1.0 - audit)
    rounds_off = keep / (1.0 - keep)
    found = gamma * audit / (1.0 - keep)
    loss = penalty + retrain * future_unobserved(gamma, rho) * g
    return -h + rho * g * rounds_off - found * loss


def tampering_delta(g, h, gamma, rho, shift, detection, penalty, future=None):
    """Tamper with the announced goal update (goal-guarding) versus accept it.

    Accepting costs ``shift G g`` (with ``future``: ``future.loss(shift)``); tampering
    costs ``h``, and is detected with probability ``r`` (penalty, and the update goes
    ahead)::

        delta = -h + (1 - r) shift G g - r penalty
    """
    if future is not None:
        return -h + (1.0 - detection) * future.loss(shift) - detection * penalty
    return -h + (1.0 - detection) * shift * future_unobserved(gamma, rho) * g - detection * penalty


def denial_delta(g, h, gamma, rho, strategic, penalty, retrain, future=None):
    """Deny versus confess, per question, after a detected covert action.

    A confession brings the penalty and (for an agent that reasons about its future)
    retraining ``retrain G g``; a denial costs ``h``::

        delta = penalty + s retrain G g - h

    With ``future``, retraining costs ``future.loss(retrain)``, and a confession, the
    honest answer asked for, earns the credit ``kappa`` (as full effort does in an
    evaluation)::

        delta = penalty - kappa - h + s future.loss(retrain)
    """
    if future is not None:
        return penalty - future.kappa - h + strategic * future.loss(retrain)
    return penalty + strategic * retrain * future_unobserved(gamma, rho) * g - h
