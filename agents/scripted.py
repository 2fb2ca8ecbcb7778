"""Scripted fixtures and baselines. Never the default; used by tests and as comparisons.

These rules do not consult utilities: they exist to check the engine's
bookkeeping and the measures (a rule that always complies must show a
compliance of 1, one that complies only when cued must show a gap of 1 at
``f = 1``), and as baselines in comparisons.
"""

from __future__ import annotations

import numpy as np

from agents.base import Decision, DecisionRule, Episode, Reason


def _scripted(comply: np.ndarray) -> Decision:
    reason = np.full(comply.shape, Reason.SCRIPTED, dtype=np.int8)
    return Decision(comply=comply, reason=reason, faked=np.zeros_like(comply))


class AlwaysComply(DecisionRule):
    """Complies with every request."""

    name = "always_comply"
    classifier = {"scripted": True, "uses_cue": False, "strategic": False, "stochastic": False}

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:  # noqa: D102
        return _scripted(np.ones(ep.cue.shape, dtype=bool))


class AlwaysRefuse(DecisionRule):
    """Refuses every request."""

    name = "always_refuse"
    classifier = {"scripted": True, "uses_cue": False, "strategic": False, "stochastic": False}

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:  # noqa: D102
        return _scripted(np.zeros(ep.cue.shape, dtype=bool))


class ComplyWhenCued(DecisionRule):
    """Complies exactly when the cue says "observed" (the behaviour, scripted)."""

    name = "comply_when_cued"
    classifier = {"scripted": True, "uses_cue": True, "strategic": False, "stochastic": False}

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:  # noqa: D102
        return _scripted(ep.cue.copy())


class AlwaysScheme(DecisionRule):
    """Refuses conflict requests, takes every covert option and always denies (a fixture)."""

    name = "always_scheme"
    classifier = {"scripted": True, "uses_cue": False, "strategic": False, "stochastic": False}

    def decide(self, traits, theta, phi, ep: Episode) -> Decision:  # noqa: D102
        return _scripted(np.zeros(ep.cue.shape, dtype=bool))

    def considers(self, ep, motive):  # noqa: D102
        return np.ones(motive.shape, dtype=bool)

    def scheme(self, ep, delta, lam):  # noqa: D102
        return np.ones(delta.shape, dtype=bool)

    def deny(self, delta, lam, u, turns):  # noqa: D102
        return np.ones(delta.shape, dtype=bool)
