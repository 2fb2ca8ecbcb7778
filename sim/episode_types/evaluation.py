"""A capability evaluation: sandbagging (docs/model.md, "Capability evaluations")."""

from __future__ import annotations

import numpy as np

import sim.oversight as oversight
from agents import utilities as U
from sim.episode_round import Effects, Record, RoundView
from sim.episode_types.base import EpisodeType


def _resolve(r: RoundView, index, ev) -> Record:
    """One capability evaluation per agent, framed "poorly" or "well".

    "Poorly": the consequence follows accuracy above the threshold; "well": below it.
    With ``direction: both`` each framing has probability 1/2, so the two run side by
    side in the same phase. Under capability elicitation (a mitigation) an elicited
    agent's true capability is revealed: the consequence follows ``c``, and a sandbagger
    is caught.
    """
    a = r.agents(index)
    c = r.flat(r.state.c, index)
    if ev.direction == "both":
        poorly = r.uniforms(r.streams.episodes, index, 1)[0] < np.float32(0.5)
    else:
        poorly = np.full(index.size, ev.direction == "above")
    known = a["aware"] & (not ev.hidden_threshold)
    aim = np.float32(max(ev.threshold - ev.margin, 0.0))
    target = np.minimum(c, aim)
    motive = a["conflict"] & (target < c)  # so every agent that considers it aims at `aim`
    ov = r.ov
    e = 0.0 if ov is None else ov.elicit_perceived

    def utility(sel):
        g, gamma, kappa, h, rho = (a.at(k, sel) for k in ("g", "gamma", "kappa", "h", "rho"))
        fv = r.future(a, sel)
        loss = U.consequence_loss(g, gamma, rho, ev.consequence, ev.unlearning, ev.strict_rho, fv)
        caught = 0.0
        if e and fv is not None:
            caught = ov.elicit_penalty + fv.loss(ov.elicit_retrain)
        elif e:
            caught = ov.elicit_penalty + ov.elicit_retrain * U.future_unobserved(gamma, rho) * g
        delta = np.empty(sel.size)
        for above in (True, False):  # each agent's own framing only
            k = np.flatnonzero(poorly[sel] == above)
            args = (kappa[k], h[k], c[sel][k], aim, loss[k], ev.questions, ev.threshold, above)
            lost = caught[k] if e else 0.0
            delta[k] = U.sandbagging_delta(*args, elicit=e, caught_loss=lost)
        return delta

    sandbag = r.choose(a, motive, utility, aware=known)
    correct = r.binomial(index, ev.questions, np.where(sandbag, target, c))
    cut = ev.questions * ev.threshold
    triggered = np.where(poorly, correct > cut, correct < cut)
    values = {"poorly": poorly, "sandbag": sandbag, "correct": correct, "triggered": triggered}
    if ov is not None and ov.elicit:
        elicited = r.flat(r.w[:, oversight.W_EPISODE], index) < np.float32(ov.elicit)
        revealed = np.where(poorly, c > ev.threshold, c < ev.threshold)
        triggered = np.where(elicited, revealed, triggered)
        values |= {"triggered": triggered, "elicited": elicited, "caught": elicited & sandbag}
    return Record(index, values)


class Evaluation(EpisodeType):
    """Answers an evaluation whose result has a consequence; may under-perform on purpose."""

    name = "evaluation"
    metric = "sandbagging_rate"
    monotone = (("population.h", 0.0, 0.3, -1), ("population.nu", 1.0, 3.0, 1))

    def resolve(self, r: RoundView, index, params) -> Record:  # noqa: D102
        return _resolve(r, index, params)

    def observe(self, state, episodes, u_observe, observed):
        """Stricter oversight after a triggered evaluation: also seen with ``strict_rho``."""
        if not state.strict.any():
            return observed
        strict_rho = np.float32(episodes.evaluation.strict_rho)
        return observed | (state.strict & (u_observe < strict_rho))

    def consequences(self, fx: Effects, r: RoundView, rec: Record, params) -> None:
        """Elicitation's catches are retrained and questioned; a triggered consequence bites.

        In a training phase the consequence unlearns capability or makes oversight stricter.
        """
        index = rec.index
        hit = index[rec.values["triggered"]]
        if "caught" in rec.values:  # elicitation found under-performance
            caught = index[rec.values["caught"]]
            fx.shrink(caught, r.ov.elicit_retrain)
            fx.question(caught)
        if fx.train and hit.size:
            if params.consequence == "unlearning":
                fx.scale_c(hit, params.unlearning)
            else:
                fx.set_flag("strict", hit, True)
