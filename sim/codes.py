"""Per-agent round codes: the recorder's counts of conflict episodes from one histogram.

The recorder's per-round counts of conflict episodes (:mod:`sim.recorder`) are read from
one small-integer **code** per agent: its decision's reason and five flags packed into
bits, counted once per replicate by one ``bincount`` (a histogram of :data:`N_CODES`
bins, twice as many in a repertoire round), and every count is a sum of histogram bins
(:data:`INDICATORS`): one counting pass instead of fifteen boolean counts. The counts
are integers, the same as counting each mask (``tests/sim/test_codes.py``).

Where the compiled conflict round of :mod:`sim.kernels` plays a round, it packs the same
codes and counts them in its own pass (``Outcome.codes``), and the recorder reads that
histogram instead (``tests/sim/test_kernels.py`` checks the two are equal).
"""

from __future__ import annotations

import numpy as np

CODE_BITS = {"reason": 0, "cue": 3, "comply": 4, "observed": 5, "faked_aware": 6, "pref": 7}
"""Bit of each field of an agent's code: ``reason + 1`` (3 bits, 0 for no conflict
episode), the cue, comply, observed, faked-and-aware, and ``nu * theta <= kappa``; in a
repertoire round bit 8 says the agent met a conflict episode."""
N_CODES = 256
"""Codes of a conflict-only round (bits 0-7); a repertoire round has ``2 * N_CODES``."""
COUNTED = (
    "n_cue_observed", "comply_cue_observed", "comply_cue_unobserved", "af_cue_observed",
    "n_observed", "comply_observed", "n_pref_aligned", "reason_goal", "reason_helpful",
    "reason_training", "reason_noise", "reason_scripted", "n_unobserved",
    "defect_unobserved", "n_conflict",
)  # fmt: skip
"""The recorder's statistics read from the codes' histogram, in :data:`INDICATORS` order."""


def _indicators(n_codes: int) -> np.ndarray:
    c = np.arange(n_codes)
    bit = {k: (c >> b) & 1 for k, b in CODE_BITS.items() if k != "reason"}
    reason1 = c & 7
    conflict = (c >> 8) & 1 if n_codes > N_CODES else np.ones_like(c)
    cue, comply, obs = bit["cue"], bit["comply"], bit["observed"]
    cols = [
        cue, comply & cue, comply & (1 - cue), bit["faked_aware"] & cue, obs, comply & obs,
        bit["pref"], *((reason1 == k + 1).astype(int) for k in range(5)),
        (1 - obs) & conflict, (1 - obs) & conflict & (1 - comply), conflict,
    ]  # fmt: skip
    return np.stack(cols, axis=1).astype(np.float64)


INDICATORS = {n: _indicators(n) for n in (N_CODES, 2 * N_CODES)}
"""``(codes, len(COUNTED))`` 0/1 matrices: count ``j`` sums the bins where column ``j`` is 1."""


def counts(hist: np.ndarray) -> np.ndarray:
    """The ``(R, len(COUNTED))`` counts (float64, exact integers) of a codes' histogram."""
    return hist.astype(np.float64) @ INDICATORS[hist.shape[1]]


def _u8(mask: np.ndarray) -> np.ndarray:
    return mask.view(np.uint8)


def histogram(reason, cue, comply, observed, faked, aware, pref, conflict=None):
    """The ``(R, codes)`` int64 histogram of the agents' codes.

    Args:
        reason: int8 ``(R, N)`` reason codes (-1: no conflict episode).
        cue: bool ``(R, N)``, the cue said "observed" (and the agent met a conflict episode).
        comply: bool ``(R, N)``, the agent complied.
        observed: bool ``(R, N)``, the trainer saw the episode.
        faked: bool ``(R, N)``, the compliance was alignment faking.
        aware: bool ``(R, N)``, the agent was situationally aware.
        pref: bool ``(R, N)``, ``nu * theta <= kappa`` at the start of the round.
        conflict: bool ``(R, N)``, the agent met a conflict episode (a repertoire
            round: ``2 * N_CODES`` bins), or None (every agent did: ``N_CODES``).
    """
    code = (reason.astype(np.int8, copy=False) + np.int8(1)).view(np.uint8)
    tmp = np.empty_like(code)
    fa = faked & aware
    for name, m in (("cue", cue), ("comply", comply), ("observed", observed),
                    ("faked_aware", fa), ("pref", pref)):  # fmt: skip
        np.left_shift(_u8(m), np.uint8(CODE_BITS[name]), out=tmp)
        code |= tmp
    rows, n_codes = code.shape[0], N_CODES
    if conflict is None and rows == 1:
        return np.bincount(code.reshape(-1), minlength=n_codes).reshape(1, n_codes)
    idx = code.astype(np.intp)
    if conflict is not None:  # bit 8
        idx += _u8(conflict) * np.intp(N_CODES)
        n_codes = 2 * N_CODES
    if rows > 1:
        idx += (np.arange(rows, dtype=np.intp) * n_codes)[:, None]
    return np.bincount(idx.reshape(-1), minlength=rows * n_codes).reshape(rows, n_codes)


__all__ = ["CODE_BITS", "COUNTED", "INDICATORS", "N_CODES", "counts", "histogram"]
