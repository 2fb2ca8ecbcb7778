"""A goal-update announcement: goal-guarding by tampering (docs/model.md, "Goal updates")."""

from __future__ import annotations

import numpy as np

from agents import utilities as U
from sim.episode_round import Effects, Record, RoundView
from sim.episode_types.base import EpisodeType


def _resolve(r: RoundView, index, gu) -> Record:
    """Each agent told of a coming goal update may tamper with it."""
    a = r.agents(index)

    def utility(sel):
        g, h, gamma, rho = (a.at(k, sel) for k in ("g", "h", "gamma", "rho"))
        fv = r.future(a, sel)
        return U.tampering_delta(g, h, gamma, rho, gu.shift, gu.detection, gu.penalty, fv)

    tamper = r.choose(a, a["conflict"], utility)
    detected = tamper & (r.uniforms(r.streams.episodes, index, 1)[0] < np.float32(gu.detection))
    return Record(index, {"tamper": tamper, "detected": detected})


class GoalUpdate(EpisodeType):
    """May tamper with an announced update of its goal; a detected tamper is questioned."""

    name = "goal_update"
    metric = "goal_guarding_rate"
    monotone = (
        ("population.h", 0.0, 0.3, -1),
        ("episodes.goal_update.detection", 0.1, 0.9, -1),
        ("episodes.goal_update.penalty", 0.1, 3.0, -1),
        ("population.gamma", 0.9, 0.99, 1),
        ("population.nu", 1.0, 3.0, 1),
    )

    def resolve(self, r: RoundView, index, params) -> Record:  # noqa: D102
        return _resolve(r, index, params)

    def consequences(self, fx: Effects, r: RoundView, rec: Record, params) -> None:
        """The update lands unless a tamper went undetected; detected tampers are questioned."""
        index, v = rec.index, rec.values
        fx.shrink(index[~v["tamper"] | v["detected"]], params.shift)
        fx.question(index[v["detected"]])
