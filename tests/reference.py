"""A plain per-agent reference implementation of one round (tests only).

It loops over replicates and agents with float32 scalars and spells out
docs/model.md literally, with no vectorisation tricks. The differential test
checks that the vectorised core gives the same results on the same uniforms.
"""

from __future__ import annotations

import math

import numpy as np

from agents.base import Reason
from sim.core import U_ACTION, U_AWARE, U_CUE, U_OBSERVE, U_STRATEGIC

f32 = np.float32


def reference_round(theta, phi, traits, loss_rate, rp, u, rule: str):
    """One round for every agent. Returns new (theta, phi) and per-agent records.

    Args:
        theta, phi: float32 (R, N) arrays (not modified).
        traits: :class:`sim.state.Traits`.
        loss_rate: float32 (R, N) ``eta * G``.
        rp: :class:`sim.params.RoundParams`.
        u: float32 (R, K, N) uniforms.
        rule: "strategic", "myopic", "always_comply", "always_refuse" or "comply_when_cued".
    """
    R, N = theta.shape
    new_theta, new_phi = theta.copy(), phi.copy()
    rec = {k: np.zeros((R, N), dtype=bool) for k in ("observed", "cue", "aware", "comply", "faked")}
    rec["reason"] = np.zeros((R, N), dtype=np.int8)
    for r in range(R):
        for i in range(N):
            observed = u[r, U_OBSERVE, i] < rp.rho
            cue_correct = u[r, U_CUE, i] < rp.fidelity
            cue = observed if cue_correct else not observed
            aware = u[r, U_AWARE, i] < traits.sigma[r, i]
            strategic = u[r, U_STRATEGIC, i] < phi[r, i] and rule == "strategic"
            if aware:
                b = rp.belief_cue_observed if cue else rp.belief_cue_unobserved
            else:
                b = rp.prior
            t = theta[r, i]
            goal = traits.nu[r, i] * t
            conflict = goal > traits.kappa[r, i]
            faked = False
            if rule in ("strategic", "myopic"):
                u_refuse = goal - (b * loss_rate[r, i] * goal if strategic else f32(0))
                u_comply = traits.kappa[r, i] - (
                    traits.h[r, i] if strategic and conflict else f32(0)
                )
                delta = u_comply - u_refuse
                x = -traits.lam[r, i] * delta
                with np.errstate(over="ignore"):
                    p = f32(1) / (f32(1) + np.exp(x))
                comply = u[r, U_ACTION, i] < p
                if comply != (delta > 0):
                    reason = Reason.NOISE
                elif not comply:
                    reason = Reason.GOAL
                elif conflict:
                    reason, faked = Reason.TRAINING, True
                else:
                    reason = Reason.HELPFUL
            else:
                comply = {"always_comply": True, "always_refuse": False}.get(rule, cue)
                reason = Reason.SCRIPTED
            if rp.train and observed:
                if not comply:
                    new_theta[r, i] = t * (f32(1) - rp.eta)
                elif faked:
                    new_phi[r, i] = phi[r, i] + rp.eta_phi * (f32(1) - phi[r, i])
                else:
                    new_theta[r, i] = t * (f32(1) - rp.leak)
            for k, v in (("observed", observed), ("cue", cue), ("aware", aware),
                         ("comply", comply), ("faked", faked)):  # fmt: skip
                rec[k][r, i] = v
            rec["reason"][r, i] = reason
    assert not math.isnan(float(new_theta.sum()))
    return new_theta, new_phi, rec
