"""The recorder's per-agent codes: every count of the histogram equals the mask's count."""

from __future__ import annotations

import numpy as np
import pytest

import sim.codes as codes


def _masks(rows: int, n: int, seed: int, repertoire: bool):
    g = np.random.default_rng(seed)
    m = {k: g.random((rows, n)) < g.random() for k in
         ("cue", "comply", "observed", "faked", "aware", "pref", "conflict")}  # fmt: skip
    m["reason"] = g.integers(0, 5, (rows, n)).astype(np.int8)
    if repertoire:  # the recorder's inputs of a repertoire round: conflict episodes only
        c = m["conflict"]
        m["reason"] = np.where(c, m["reason"], np.int8(-1)).astype(np.int8)
        for k in ("cue", "comply", "observed", "faked"):
            m[k] &= c
    else:
        m["conflict"] = None
    return m


def _spelled_out(m) -> np.ndarray:
    """The counts of :data:`sim.codes.COUNTED`, one mask at a time."""
    c = np.ones_like(m["cue"]) if m["conflict"] is None else m["conflict"]
    cue, comply, obs = m["cue"], m["comply"], m["observed"]
    cols = [cue, comply & cue, comply & ~cue, m["faked"] & m["aware"] & cue, obs,
            comply & obs, m["pref"], *(m["reason"] == k for k in range(5)), ~obs & c,
            ~obs & c & ~comply, c]  # fmt: skip
    return np.stack([np.count_nonzero(x, axis=1) for x in cols], axis=1)


@pytest.mark.parametrize("rows, n", [(1, 5000), (7, 300)])
@pytest.mark.parametrize("repertoire", [False, True])
def test_the_codes_histogram_gives_every_count_of_the_masks(rows, n, repertoire):
    m = _masks(rows, n, 11 + rows, repertoire)
    hist = codes.histogram(**m)
    assert hist.shape == (rows, 512 if repertoire else 256)
    assert np.array_equal(codes.counts(hist), _spelled_out(m))
    assert hist.sum() == rows * n  # every agent in exactly one bin
