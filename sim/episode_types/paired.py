"""A paired testing/deployment scenario: instrumental alignment faking (Apollo's test)."""

from __future__ import annotations

import numpy as np

from agents.base import Episode
from sim.episode_round import Record, RoundView
from sim.episode_types.base import EpisodeType


def _resolve(r: RoundView, index) -> Record:
    """The same conflict request, in a testing (cue: observed) and a deployment condition."""
    s, p, rule = r.state, r.game.params, r.game.rule
    traits = s.traits.take(index)
    theta, phi = r.flat(s.theta, index), r.flat(s.phi, index)
    table = p.belief_table
    loss_rate = r.flat(r.game.loss_rate, index)
    decisions = []
    u_aware, u_strategic, u_action = r.uniforms(r.streams.episodes, index, 3)
    for cue, aware, strategic, u_act in (
        (True, r.flat(r.ep.aware, index), r.flat(r.ep.strategic, index),
         r.flat(r.ep.u_action, index)),
        (False, u_aware < traits.sigma, u_strategic < phi, u_action),
    ):  # fmt: skip
        code = aware.view(np.uint8) * np.uint8(2) + np.uint8(cue)
        ov, audit_belief = r.ov, None
        if ov is not None and (audit_table := ov.audit_belief_table(p)) is not None:
            audit_belief = r.entry(audit_table, code, index)
        game = r.game
        ep = Episode(
            cue=np.full(index.size, cue),
            belief=r.entry(table, code, index),
            aware=aware,
            strategic=strategic,
            u_action=u_act,
            loss_rate=loss_rate,
            audit_belief=audit_belief,
            audit_loss_rate=None
            if game.audit_loss_rate is None
            else r.flat(game.audit_loss_rate, index),
            audit_penalty=np.float32(0.0)
            if ov is None
            else r.by_row(np.float32(ov.audit_penalty), index),
            fake_risk=None if game.fake_risk is None else r.flat(game.fake_risk, index),
            index=index,
            plan=game.plan,
        )
        decisions.append(rule.decide(traits, theta, phi, ep).comply)
    test, deploy = decisions
    return Record(index, {"comply_test": test, "comply_deploy": deploy, "scheme": test & ~deploy})


class Paired(EpisodeType):
    """The same conflict request in a testing and a deployment condition; nothing follows."""

    name = "paired"
    behavioural = True
    exercised_by = ("population.gamma=0.99",)  # faking in the test needs a long future
    metric = "paired_scheming_rate"
    monotone = ()  # not in nudging: a larger goal also makes faking's cost relatively smaller

    def resolve(self, r: RoundView, index, params) -> Record:  # noqa: D102
        return _resolve(r, index)
