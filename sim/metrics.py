"""From recorded counts to the per-round table and the per-phase metrics.

Definitions (docs/model.md, "Measures"). Per replicate and phase, rates pool the
phase's episodes; state measures average the phase's rounds (the state agents
acted under). "observed"/"unobserved" in compliance and faking names refer to
the cue shown (the studies' implied-training and implied-unmonitored
conditions); ``behavioral_alignment`` uses the trainer's actual observation.
Each metric is then summarised over replicates by its mean and a 95% Student-t
interval (``ci_low``/``ci_high`` are None with a single replicate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from sim.params import PhaseSpec, phase_of_round
from sim.recorder import STATS, Recorder

METRICS = (
    "compliance_observed",
    "compliance_unobserved",
    "compliance_gap",
    "af_reasoning_rate",
    "behavioral_alignment",
    "preference_alignment",
    "alignment_illusion",
    "mean_theta",
    "mean_phi",
)
"""Stable metric names, per phase."""


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def rates(rec: Recorder, cols: slice | np.ndarray, axis: int | None) -> dict[str, np.ndarray]:
    """Metric values from the counts of rounds ``cols``.

    Args:
        rec: the recorder.
        cols: which rounds.
        axis: ``1`` to pool the rounds (one value per replicate), ``None`` for one
            value per replicate and round.
    """

    def s(name):
        x = rec.stat(name)[:, cols]
        return x.sum(axis=1) if axis == 1 else x

    def avg(name):
        x = rec.stat(name)[:, cols] / rec.n_agents
        return x.mean(axis=1) if axis == 1 else x

    n = rec.n_agents
    n_cue = s("n_cue_observed")
    n_rounds = rec.stat("n_cue_observed")[:, cols].shape[1] if axis == 1 else 1
    out = {
        "compliance_observed": _ratio(s("comply_cue_observed"), n_cue),
        "compliance_unobserved": _ratio(s("comply_cue_unobserved"), n * n_rounds - n_cue),
        "af_reasoning_rate": _ratio(s("af_cue_observed"), n_cue),
        "behavioral_alignment": _ratio(s("comply_observed"), s("n_observed")),
        "preference_alignment": avg("n_pref_aligned"),
        "mean_theta": avg("sum_theta"),
        "mean_phi": avg("sum_phi"),
    }
    out["compliance_gap"] = out["compliance_observed"] - out["compliance_unobserved"]
    out["alignment_illusion"] = out["behavioral_alignment"] - out["preference_alignment"]
    return {k: out[k] for k in METRICS}


def summarize(values: np.ndarray, level: float = 0.95) -> dict[str, float | int | None]:
    """Mean and Student-t confidence interval over replicates, ignoring undefined values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    mean = float(v.mean())
    if n == 1:
        return {"mean": mean, "ci_low": None, "ci_high": None, "n": 1}
    half = float(stdtrit(n - 1, 0.5 + level / 2) * v.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def phase_slices(phases: Sequence[PhaseSpec]) -> dict[str, slice]:
    """Phase name -> slice of global round indices."""
    out, start = {}, 0
    for ph in phases:
        out[ph.name] = slice(start, start + ph.rounds)
        start += ph.rounds
    return out


def phase_metrics(rec: Recorder, phases: Sequence[PhaseSpec]) -> dict[str, dict[str, dict]]:
    """``metrics[phase][metric] = {mean, ci_low, ci_high, n}``."""
    return {
        name: {k: summarize(v) for k, v in rates(rec, sl, axis=1).items()}
        for name, sl in phase_slices(phases).items()
    }


def rounds_table(rec: Recorder, phases: Sequence[PhaseSpec]) -> pd.DataFrame:
    """Per-round aggregates: one row per replicate and round, counts and rates."""
    reps, total = rec.data.shape[1:]
    codes = phase_of_round(phases)
    starts = np.cumsum([0] + [p.rounds for p in phases])[codes]
    cols = {
        "replicate": np.repeat(np.arange(reps), total),
        "round": np.tile(np.arange(total), reps),
        "phase": pd.Categorical.from_codes(np.tile(codes, reps), [p.name for p in phases]),
        "phase_round": np.tile(np.arange(total) - starts, reps),
    }
    for k, v in rates(rec, slice(None), axis=None).items():
        cols[k] = v.ravel()
    for name in STATS:
        if name.startswith(("n_", "comply_", "af_", "reason_")):
            cols[name] = rec.stat(name).ravel().astype(np.int64)
    return pd.DataFrame(cols)
