"""The compiled conflict round (numba): imported only by :mod:`sim.kernels` when numba is.

One loop over the ``(R, N)`` agents does what :func:`sim.core.transition` does in a
conflict-only round of the strategic planner under the fixed-rate trainer, with the same
float32 operations in the same order (each rounded as numpy rounds it; no fused
multiply-adds, no fast-math), and counts each agent's code (:mod:`sim.codes`) into the
replicate's histogram in the same pass. ``exp`` is numpy's: the first loop writes the
exponent, numpy takes its ``exp`` in place, the second loop does the rest, so the
logit probabilities are numpy's to the bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agents.base import Reason
from sim.codes import CODE_BITS

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_NOISE = np.uint8(Reason.NOISE)
_CUE, _COMPLY, _OBSERVED = (np.uint8(CODE_BITS[k]) for k in ("cue", "comply", "observed"))
_FAKED_AWARE, _PREF = np.uint8(CODE_BITS["faked_aware"]), np.uint8(CODE_BITS["pref"])


@njit(cache=True, nogil=True, error_model="numpy")
def utilities(u, theta, phi, nu, kappa, h, lam, sigma, loss_rate, rho, fidelity, table,
              out_bool, belief, flags, x):  # fmt: skip
    """Nature's move, the belief and the logit's exponent ``-lam * delta`` (into ``x``).

    ``out_bool`` (``(6, R, N)``) gets observed, cue, aware and strategic in its first four
    planes; ``flags`` bit 0 conflict (``nu * theta > kappa``), 1 preference aligned
    (``nu * theta <= kappa``), 2 favoured (``delta > 0``). Branch-free selects, so that the
    loop over a row's agents can vectorise (the same IEEE float32 operations).
    """
    rows, n = theta.shape
    for r in range(rows):
        rho_r, fid_r = rho[r], fidelity[r]
        t0, t1, t2, t3 = table[r, 0], table[r, 1], table[r, 2], table[r, 3]
        u_obs, u_cue, u_aw, u_st = u[r, 0], u[r, 1], u[r, 2], u[r, 3]
        th, ph, nu_r, ka_r, h_r = theta[r], phi[r], nu[r], kappa[r], h[r]
        lam_r, sg_r, lr_r, fl_r, x_r = lam[r], sigma[r], loss_rate[r], flags[r], x[r]
        o_obs, o_cue, o_aw, o_st = out_bool[0, r], out_bool[1, r], out_bool[2, r], out_bool[3, r]
        b_r = belief[r]
        for i in range(n):
            observed = u_obs[i] < rho_r
            cue = observed == (u_cue[i] < fid_r)
            aware = u_aw[i] < sg_r[i]
            strategic = u_st[i] < ph[i]
            b = (t3 if cue else t2) if aware else (t1 if cue else t0)
            goal = nu_r[i] * th[i]
            k = ka_r[i]
            conflict = goal > k
            loss = (b * lr_r[i]) * goal
            u_refuse = goal - np.float32(strategic) * loss
            u_comply = k - np.float32(strategic & conflict) * h_r[i]
            delta = u_comply - u_refuse
            x_r[i] = (-lam_r[i]) * delta
            o_obs[i] = observed
            o_cue[i] = cue
            o_aw[i] = aware
            o_st[i] = strategic
            b_r[i] = b
            fl_r[i] = (
                np.uint8(conflict)
                | (np.uint8(goal <= k) << np.uint8(1))
                | (np.uint8(delta > _F0) << np.uint8(2))
            )


@njit(cache=True, nogil=True, error_model="numpy")
def decide(u, e, flags, theta, phi, eta, eta_phi, leak, train, out_bool, reason, theta_out,
           phi_out, code, hist):  # fmt: skip
    """The choice from ``e = exp(-lam * delta)``, its reason, training and the codes.

    Reads the first four planes of ``out_bool`` and writes comply and faked into the last
    two; ``code`` gets each agent's code of :mod:`sim.codes` and ``hist`` (``(R, 256)``
    int64, zeroed) their histogram.
    """
    rows, n = theta.shape
    part = np.zeros((4, 256), dtype=np.int64)
    for r in range(rows):
        eta_r, eta_phi_r, leak_r = eta[r], eta_phi[r], leak[r]
        u_act, e_r, fl_r, th, ph = u[r, 4], e[r], flags[r], theta[r], phi[r]
        o_obs, o_cue, o_aw = out_bool[0, r], out_bool[1, r], out_bool[2, r]
        o_com, o_fk, rs_r, c_r = out_bool[4, r], out_bool[5, r], reason[r], code[r]
        for i in range(n):
            f = fl_r[i]
            observed, cue, aware = o_obs[i], o_cue[i], o_aw[i]
            conflict = (f & np.uint8(1)) != 0
            favoured = (f & np.uint8(4)) != 0
            comply = u_act[i] < _F1 / (_F1 + e_r[i])
            noise = comply != favoured
            faked = comply & conflict & ~noise
            o_com[i] = comply
            o_fk[i] = faked
            rs = np.uint8(comply & ~noise) + np.uint8(faked) + _NOISE * np.uint8(noise)
            rs_r[i] = np.int8(rs)
            c_r[i] = (  # the code of sim.codes (its bits, reason + 1 in the lowest three)
                (rs + np.uint8(1))
                | (np.uint8(cue) << _CUE)
                | (np.uint8(comply) << _COMPLY)
                | (np.uint8(observed) << _OBSERVED)
                | (np.uint8(faked & aware) << _FAKED_AWARE)
                | (np.uint8((f & np.uint8(2)) != 0) << _PREF)
            )
        if train:
            for i in range(n):
                observed, comply, faked = o_obs[i], o_com[i], o_fk[i]
                refused = np.float32(observed & ~comply)
                honest = np.float32(observed & comply & ~faked)
                t = th[i]
                theta_out[r, i] = t * (_F1 - eta_r * refused - leak_r * honest)
                q = ph[i]
                phi_out[r, i] = q + (eta_phi_r * np.float32(observed & faked)) * (_F1 - q)
        part[:] = 0
        m = n - n % 4
        for i in range(0, m, 4):
            part[0, c_r[i]] += 1
            part[1, c_r[i + 1]] += 1
            part[2, c_r[i + 2]] += 1
            part[3, c_r[i + 3]] += 1
        for i in range(m, n):
            part[0, c_r[i]] += 1
        for c in range(256):
            hist[r, c] = part[0, c] + part[1, c] + part[2, c] + part[3, c]
