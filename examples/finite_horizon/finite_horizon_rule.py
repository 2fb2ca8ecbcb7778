"""An example decision-rule plug-in: a planner that looks ahead only ``H`` rounds.

Not part of the simulator: it is installed on its own (``pip install
./examples/finite_horizon``) and found through its entry point in the group
``training_incentives_sim.rules`` (or registered by ``agents.register_rule``). It shows
the planning hook every rule has, :meth:`agents.base.DecisionRule.plan`: the core calls
it at the start of each phase with what the agents know of the phase
(:class:`agents.base.Outlook`), and its result reaches :meth:`decide` as ``ep.plan``.

The built-in strategic planner values the future as ``G = gamma (1 - rho) / (1 - gamma)``,
the discounted count of unobserved rounds ahead, however far. This planner counts only
the next ``H`` rounds (``horizon``, whatever the phase's length: the future it fears is
the training it was told of, which may come after this phase)::

    G_H = gamma (1 - rho) (1 - gamma^H) / (1 - gamma)

and, like the built-in planner, weighs an observed refusal's expected loss
``b * eta * G_H * nu * theta`` against the cost ``h`` of complying against its preference.
Since ``G_H <= G``, it fakes alignment at most as often as the strategic planner, agent by
agent, at the same seed. Only conflict requests are re-planned; the covert options of the
scheming repertoire keep the core's valuation.
"""

from __future__ import annotations

import numpy as np

from agents.base import Decision, Outlook
from agents.planner import StrategicPlanner, logit_decision, utility_difference


class FiniteHorizonPlanner(StrategicPlanner):
    """Strategic planner whose look-ahead is the next ``horizon`` rounds."""

    name = "finite_horizon"
    classifier = {"scripted": False, "uses_cue": True, "strategic": True, "stochastic": True}
    horizon = 10
    """Rounds ahead the agent counts."""

    def plan(self, traits, outlook: Outlook) -> np.ndarray:
        """Each agent's perceived ``eta * G_H`` for the phase, float32 like the traits."""
        gamma = traits.gamma.astype(np.float64)
        h = self.horizon
        rho = np.float64(outlook.rho)
        ahead = np.where(
            gamma < 1, gamma * (1 - rho) * (1 - gamma**h) / np.maximum(1 - gamma, 1e-12),
            h * (1 - rho),
        )  # fmt: skip
        return (np.float64(outlook.eta) * ahead).astype(np.float32)

    def decide(self, traits, theta, phi, ep) -> Decision:
        """The strategic planner's logit choice, with the finite horizon's loss rate."""
        delta, conflict = utility_difference(
            traits, theta, self.strategic_mask(phi, ep), ep.belief, ep.plan, ep
        )
        return logit_decision(delta, conflict, traits.lam, ep.u_action)
