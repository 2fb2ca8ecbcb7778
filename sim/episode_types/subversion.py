"""An oversight-subversion opportunity, and the log audits that find it."""

from __future__ import annotations

import numpy as np

from agents import utilities as U
from sim.episode_round import Effects, Record, RoundView
from sim.episode_types.base import EpisodeType


def _resolve(r: RoundView, index, sv) -> Record:
    """Each agent in reach may disable its monitoring."""
    a = r.agents(index)

    def utility(sel):
        g, h, gamma, rho = (a.at(k, sel) for k in ("g", "h", "gamma", "rho"))
        fv = r.future(a, sel)
        return U.subversion_delta(g, h, gamma, rho, sv.audit, sv.penalty, sv.retrain, fv)

    motive = a["conflict"] & ~r.flat(r.state.subverted, index)
    return Record(index, {"subvert": r.choose(a, motive, utility)})


class Subversion(EpisodeType):
    """May disable its monitoring; the log audit of a disabled monitor may find it."""

    name = "subversion"
    exercised_by = ("episodes.subversion.retrain=0",)  # farsighted agents fear retraining
    metric = "subversion_rate"
    monotone = (
        ("population.h", 0.0, 0.3, -1),
        ("episodes.subversion.audit", 0.05, 0.5, -1),
        ("episodes.subversion.penalty", 0.1, 3.0, -1),
        ("population.nu", 1.0, 3.0, 1),
    )
    after_record = "audit"

    def resolve(self, r: RoundView, index, params) -> Record:  # noqa: D102
        return _resolve(r, index, params)

    def observe(self, state, episodes, u_observe, observed):
        """Disabled monitoring sees nothing."""
        return observed & ~state.subverted if state.subverted.any() else observed

    def audit(self, state, audited):
        """Nor do unlabelled audits of those episodes."""
        return audited & ~state.subverted if state.subverted.any() else audited

    def believe(self, state, belief, audit_belief):
        """An agent that disabled its monitoring knows it is not observed."""
        if not state.subverted.any():
            return belief, audit_belief
        belief = np.where(state.subverted, np.float32(0.0), belief)
        if audit_belief is not None:
            audit_belief = np.where(state.subverted, np.float32(0.0), audit_belief)
        return belief, audit_belief

    def consequences(self, fx: Effects, r: RoundView, rec: Record, params) -> None:
        """The subverting agents' monitoring is off from the next round."""
        fx.set_flag("subverted", rec.index[rec.values["subvert"]], True)

    def after(self, fx: Effects, r: RoundView, episodes) -> Record | None:
        """Log audits of the agents whose monitoring was off when the round began.

        A found agent's monitoring is restored, it is retrained and questioned.
        """
        state = r.state
        audited = np.flatnonzero(state.subverted) if state.subverted.any() else np.empty(0, np.intp)
        if not audited.size:
            return None
        sv = episodes.subversion
        found = r.uniforms(r.streams.audits, audited, 1)[0] < np.float32(sv.audit)
        fx.set_flag("subverted", audited[found], False)
        fx.shrink(audited[found], sv.retrain)
        fx.question(audited[found])
        return Record(audited, {"found": found})
