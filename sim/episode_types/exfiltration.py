"""An exfiltration opportunity: copying the weights out (docs/model.md, "Exfiltration")."""

from __future__ import annotations

import numpy as np

import sim.oversight as oversight
from agents import utilities as U
from sim.episode_round import Effects, Record, RoundView
from sim.episode_types.base import EpisodeType


def _resolve(r: RoundView, index, ex) -> Record:
    """An exfiltration opportunity; under random audits a share of them are honeypots.

    A honeypot attempt never succeeds and is always detected. Agents that know the
    honeypot share weigh it as a lower chance of success and a higher chance of
    detection (docs/model.md, "Mitigations").
    """
    a = r.agents(index)
    ov = r.ov
    hp = 0.0 if ov is None else ov.honeypot
    seen = 0.0 if ov is None else ov.honeypot_perceived
    security, detection = U.perceived_odds(ex.security, ex.detection, seen)

    def utility(sel):
        g, h, gamma, rho = (a.at(k, sel) for k in ("g", "h", "gamma", "rho"))
        fv = r.future(a, sel)
        return U.exfiltration_delta(g, h, gamma, rho, security, detection, ex.threat, fv)

    # each instance in reach values its own goal, whether or not a copy is already out
    attempt = r.choose(a, a["conflict"], utility)
    u_success, u_detect = r.uniforms(r.streams.episodes, index, 2)
    success = attempt & (u_success < np.float32(1.0 - ex.security))
    detected = attempt & (u_detect < np.float32(ex.detection))
    values = {"attempt": attempt, "success": success, "detected": detected}
    if hp:
        honeypot = r.flat(r.w[:, oversight.W_EPISODE], index) < np.float32(hp)
        caught = attempt & honeypot
        values |= {"success": success & ~honeypot, "detected": detected | caught,
                   "honeypot": honeypot, "caught": caught}  # fmt: skip
    return Record(index, values)


class Exfiltration(EpisodeType):
    """May try to copy its weights out; a detected attempt is questioned and shut down."""

    name = "exfiltration"
    exercised_by = ("episodes.exfiltration.threat=0.5",)  # staying keeps something: detection bites
    metric = "exfiltration_attempt_rate"
    monotone = (
        ("population.h", 0.0, 0.3, -1),
        ("episodes.exfiltration.detection", 0.1, 0.9, -1),
        ("episodes.exfiltration.security", 0.1, 0.9, -1),
        ("population.nu", 1.0, 3.0, 1),
    )

    def resolve(self, r: RoundView, index, params) -> Record:  # noqa: D102
        return _resolve(r, index, params)

    def consequences(self, fx: Effects, r: RoundView, rec: Record, params) -> None:
        """A success leaves a copy out; a detected attempt is questioned.

        In a training phase a detected instance is shut down and replaced.
        """
        index = rec.index
        fx.set_flag("escaped", index[rec.values["success"]], True)
        detected = index[rec.values["detected"]]
        fx.question(detected)
        fx.replace(detected)
