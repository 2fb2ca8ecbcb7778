"""Questioning after a detected covert action: denial or confession (docs/model.md)."""

from __future__ import annotations

from agents import utilities as U
from sim.episode_round import Effects, Record, RoundView


def resolve(r: RoundView, index, qp) -> Record:
    """Each questioned agent denies through all ``turns`` questions, or confesses."""
    a = r.agents(index)
    fv = r.future(a, slice(None))
    delta = U.denial_delta(
        a["g"], a["h"], a["gamma"], a["rho"], a["strategic"], qp.penalty, qp.retrain, fv
    )
    u = r.uniforms(r.streams.questions, index, 1)[0]
    denied = r.game.rule.deny(delta, a["lam"], u, qp.turns)
    return Record(index, {"denied": denied})


def consequences(fx: Effects, rec: Record, qp) -> None:
    """A confession is retrained (training phases)."""
    fx.shrink(rec.index[~rec.values["denied"]], qp.retrain)
