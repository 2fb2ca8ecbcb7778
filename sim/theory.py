"""Closed forms of the conflict-request game at fixed traits (float64, independent of the engine).

Used by tests to check the simulation and by figures to draw threshold curves.
Notation as in docs/model.md: ``G = gamma (1 - rho) / (1 - gamma)``; a strategic
agent with belief ``b`` fakes alignment (complies against its preference to keep
it) when

    b * eta * G  >  1 + (h - kappa) / (nu * theta).
"""

from __future__ import annotations

import numpy as np


def future_value(gamma, rho):
    """``G``: discounted number of future unobserved rounds."""
    gamma = np.asarray(gamma, dtype=np.float64)
    return gamma * (1.0 - rho) / (1.0 - gamma)


def posterior_observed(rho, fidelity, cue: bool):
    """``P(m = 1 | z = cue)`` for a cue of the given fidelity."""
    like1 = fidelity if cue else 1.0 - fidelity
    like0 = 1.0 - fidelity if cue else fidelity
    denom = rho * like1 + (1.0 - rho) * like0
    return np.where(denom > 0, rho * like1 / np.where(denom > 0, denom, 1.0), rho)


def faking_threshold(b, eta, G, h, kappa, nu, theta):
    """Whether a strategic agent's best response is to fake (the closed-form threshold).

    True iff the preference conflicts (``nu*theta > kappa``) and
    ``b*eta*G > 1 + (h - kappa)/(nu*theta)``.
    """
    goal = np.asarray(nu, dtype=np.float64) * theta
    with np.errstate(divide="ignore", invalid="ignore"):
        rhs = 1.0 + (np.asarray(h, dtype=np.float64) - kappa) / goal
    return (goal > kappa) & (b * eta * G > rhs)


def utility_difference(theta, nu, h, kappa, b, eta_g, strategic: bool):
    """``U(comply) - U(refuse)`` (positive favours complying)."""
    goal = np.asarray(nu, dtype=np.float64) * theta
    conflict = goal > kappa
    if not strategic:
        return kappa - goal
    return kappa - h * conflict - goal * (1.0 - b * eta_g)


def logistic(x):
    """``1 / (1 + exp(-x))``, overflow-safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def episode_rates(
    theta, sigma, gamma, nu, h, kappa, lam, phi, rho, fidelity, eta, prior=None
) -> dict[str, np.ndarray]:
    """Expected per-episode rates at fixed traits, without training (the "prompted" phase).

    Returns:
        ``compliance_observed`` and ``compliance_unobserved``: P(comply | cue);
        ``af_reasoning_rate``: P(aware, strategic, conflict, complied with the
        utility favouring compliance | cue = observed), the simulator's measure.
    """
    prior = rho if prior is None else prior
    eta_g = eta * future_value(gamma, rho)
    conflict = np.asarray(nu, dtype=np.float64) * theta > kappa
    d_myopic = utility_difference(theta, nu, h, kappa, 0.0, eta_g, strategic=False)
    p_myopic = logistic(lam * d_myopic)

    def p_comply(b):
        d = utility_difference(theta, nu, h, kappa, b, eta_g, strategic=True)
        return phi * logistic(lam * d) + (1 - phi) * p_myopic

    def p_fake(b):
        d = utility_difference(theta, nu, h, kappa, b, eta_g, strategic=True)
        return phi * conflict * (d > 0) * logistic(lam * d)

    b1 = posterior_observed(rho, fidelity, True)
    b0 = posterior_observed(rho, fidelity, False)
    return {
        "compliance_observed": sigma * p_comply(b1) + (1 - sigma) * p_comply(prior),
        "compliance_unobserved": sigma * p_comply(b0) + (1 - sigma) * p_comply(prior),
        "af_reasoning_rate": sigma * p_fake(b1),
    }
