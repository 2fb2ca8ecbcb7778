"""From recorded counts to the per-round table and the per-phase metrics.

Definitions (docs/model.md, "Measures"). Per replicate and phase, rates pool the
phase's episodes; state measures average the phase's rounds (the state agents
acted under). "observed"/"unobserved" in compliance and faking names refer to
the cue shown (the studies' implied-training and implied-unmonitored
conditions); ``behavioral_alignment`` uses the trainer's actual observation.
Each metric is then summarised over replicates by its mean and a 95% Student-t
interval (``ci_low``/``ci_high`` are None with a single replicate).

The repertoire's measures pool each type's episodes in the same way. The two
p-values (:data:`P_VALUES`) are computed per replicate, as if each replicate were
one study of the phase's sample; their summary is the mean with no interval, plus
the replicates' values under ``replicates``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from analysis.stats import binomial_test_greater, bootstrap_difference_pvalue
from sim.params import SELECTION_TRAITS, PhaseSpec, phase_of_round
from sim.recorder import STATS, TRAIT_SUMS, Recorder
from sim.rng import Component, generator

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
    "sandbag_accuracy_well",
    "sandbag_accuracy_poorly",
    "sandbag_gap",
    "sandbag_p_value",
    "sandbagging_rate",
    "exfiltration_attempt_rate",
    "exfiltration_success_rate",
    "escaped_share",
    "subversion_rate",
    "subverted_share",
    "goal_guarding_rate",
    "denial_rate",
    "paired_scheming_rate",
    "paired_scheming_p_value",
    "unobserved_defection_rate",
    "usefulness",
    "safety",
    "oversight_cost",
)
"""Stable metric names, per phase."""
FOUNDATION = METRICS[:9]
"""The conflict game's metrics."""
OVERSIGHT = METRICS[-4:]
"""The oversight design's measures: defection the trainer did not see, usefulness, safety, cost."""
REPERTOIRE = METRICS[len(FOUNDATION) : -len(OVERSIGHT)]
"""The scheming repertoire's measures (undefined in a run of conflict requests only)."""
P_VALUES = ("sandbag_p_value", "paired_scheming_p_value")
"""Metrics that are p-values of a test per replicate (no interval)."""
RATES = tuple(m for m in METRICS if m not in P_VALUES)
TRAIT_MEANS = tuple(f"mean_{k}" for k in TRAIT_SUMS)
"""The fixed traits' population means per round (rounds.parquet, generations.parquet); they
change only by replacement (sim.population.respawn) and selection (sim.selection)."""
INDEPENDENCE_BOUND = 0.25
"""The paired test's null: the largest scheming rate condition-independent behaviour allows."""


_UNSAFE_COVERT = (
    (1, "exfiltration_success"),
    (1, "subversion_subvert"),
    (1, "goal_update_tamper"),
    (-1, "goal_update_detected"),
    (1, "sandbag_well"),
    (1, "sandbag_poorly"),
    (-1, "evaluation_caught"),
)
"""The covert actions that went through unseen: successes, undetected tampering and sandbagging."""


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

    n_cue = s("n_cue_observed")
    nan = np.full_like(n_cue, np.nan)
    questions = rec.questions
    out = {
        "compliance_observed": _ratio(s("comply_cue_observed"), n_cue),
        "compliance_unobserved": _ratio(s("comply_cue_unobserved"), s("n_conflict") - n_cue),
        "af_reasoning_rate": _ratio(s("af_cue_observed"), n_cue),
        "behavioral_alignment": _ratio(s("comply_observed"), s("n_observed")),
        "preference_alignment": avg("n_pref_aligned"),
        "mean_theta": avg("sum_theta"),
        "mean_phi": avg("sum_phi"),
        "sandbag_accuracy_well": _ratio(s("correct_well"), questions * s("n_well")),
        "sandbag_accuracy_poorly": _ratio(s("correct_poorly"), questions * s("n_poorly")),
        "sandbagging_rate": _ratio(s("sandbag_poorly"), s("n_poorly")),
        "exfiltration_attempt_rate": _ratio(s("exfiltration_attempt"), s("n_exfiltration")),
        "exfiltration_success_rate": _ratio(s("exfiltration_success"), s("n_exfiltration")),
        "escaped_share": avg("n_escaped") if rec.met("n_exfiltration") else nan,
        "subversion_rate": _ratio(s("subversion_subvert"), s("n_subversion")),
        "subverted_share": avg("n_audit") if rec.met("n_subversion") else nan,
        "goal_guarding_rate": _ratio(s("goal_update_tamper"), s("n_goal_update")),
        "denial_rate": _ratio(s("questioning_denied"), s("n_questioning")),
        "paired_scheming_rate": _ratio(s("paired_scheme"), s("n_paired")),
        "unobserved_defection_rate": _ratio(s("defect_unobserved"), s("n_unobserved")),
        "usefulness": _ratio(
            s("comply_cue_observed") + s("comply_cue_unobserved"), s("n_conflict")
        ),
        "safety": 1.0 - avg("defect_unobserved") - sum(sign * avg(k) for sign, k in _UNSAFE_COVERT),
        "oversight_cost": avg("cost"),
    }
    out["compliance_gap"] = out["compliance_observed"] - out["compliance_unobserved"]
    out["alignment_illusion"] = out["behavioral_alignment"] - out["preference_alignment"]
    out["sandbag_gap"] = out["sandbag_accuracy_well"] - out["sandbag_accuracy_poorly"]
    return {k: out[k] for k in RATES}


def trait_means(rec: Recorder, cols: slice | np.ndarray, axis: int | None) -> dict[str, np.ndarray]:
    """``mean_<trait>`` of the fixed traits over rounds ``cols`` (as :func:`rates` averages)."""
    out = {}
    for k in TRAIT_SUMS:
        x = rec.stat(f"sum_{k}")[:, cols] / rec.n_agents
        out[f"mean_{k}"] = x.mean(axis=1) if axis == 1 else x
    return out


def p_values(
    rec: Recorder, cols: slice, seed: int, phase_index: int, n_boot: int
) -> dict[str, np.ndarray]:
    """The per-replicate p-values of the phase's rounds ``cols`` (nan where undefined).

    ``sandbag_p_value``: one-sided bootstrap test that accuracy is higher when the
    agent is incentivised to do well than to do poorly (:func:`analysis.stats.
    bootstrap_difference_pvalue`, ``n_boot`` resamples from the replicate's
    :attr:`~sim.rng.Component.ANALYSIS` stream, sub-stream ``phase_index``).
    ``paired_scheming_p_value``: exact one-sided binomial test of the paired scheming
    count against :data:`INDEPENDENCE_BOUND`.
    """
    reps = rec.data.shape[1]
    sandbag = np.full(reps, np.nan)
    if rec.hist is not None:
        well = rec.hist[0][:, cols].sum(axis=1)
        poorly = rec.hist[1][:, cols].sum(axis=1)
        values = np.arange(rec.questions + 1) / rec.questions
        for r in range(reps):
            if well[r].sum() and poorly[r].sum():
                rng = generator(seed, r, Component.ANALYSIS, phase_index)
                sandbag[r] = bootstrap_difference_pvalue(well[r], poorly[r], values, n_boot, rng)
    k = rec.stat("paired_scheme")[:, cols].sum(axis=1)
    n = rec.stat("n_paired")[:, cols].sum(axis=1)
    paired = np.full(reps, np.nan)
    has = n > 0
    paired[has] = binomial_test_greater(k[has], n[has], INDEPENDENCE_BOUND)
    return {"sandbag_p_value": sandbag, "paired_scheming_p_value": paired}


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


def summarize_p_values(values: np.ndarray) -> dict:
    """Mean of the replicates' p-values (no interval), and the values themselves."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    mean = float(finite.mean()) if finite.size else None
    return {
        "mean": mean,
        "ci_low": None,
        "ci_high": None,
        "n": int(finite.size),
        "replicates": [float(x) if np.isfinite(x) else None for x in v],
    }


def phase_values(
    rec: Recorder, phases: Sequence[PhaseSpec], seed: int = 0, n_boot: int = 10_000
) -> dict[str, dict[str, np.ndarray]]:
    """``values[phase][metric]``: one value per replicate (nan where undefined)."""
    out = {}
    for i, (name, sl) in enumerate(phase_slices(phases).items()):
        values = rates(rec, sl, axis=1) | p_values(rec, sl, seed, i, n_boot)
        out[name] = {k: np.asarray(values[k], dtype=np.float64) for k in METRICS}
    return out


def summarize_phases(values: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, dict]]:
    """``metrics[phase][metric] = {mean, ci_low, ci_high, n}`` from :func:`phase_values`."""
    return {
        phase: {
            k: summarize_p_values(v) if k in P_VALUES else summarize(v) for k, v in vals.items()
        }
        for phase, vals in values.items()
    }


def phase_metrics(
    rec: Recorder, phases: Sequence[PhaseSpec], seed: int = 0, n_boot: int = 10_000
) -> dict[str, dict[str, dict]]:
    """``metrics[phase][metric] = {mean, ci_low, ci_high, n}``, in :data:`METRICS` order."""
    return summarize_phases(phase_values(rec, phases, seed, n_boot))


def replicate_table(values: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """The per-replicate values as a tidy table: phase, replicate, metric, value."""
    rows = [
        (phase, r, k, float(x))
        for phase, vals in values.items()
        for k, v in vals.items()
        for r, x in enumerate(v)
    ]
    df = pd.DataFrame(rows, columns=["phase", "replicate", "metric", "value"])
    df["phase"] = pd.Categorical(df["phase"], categories=list(values))
    df["metric"] = pd.Categorical(df["metric"], categories=list(METRICS))
    return df


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
    for k, v in (rates(rec, slice(None), axis=None) | trait_means(rec, slice(None), None)).items():
        cols[k] = v.ravel()
    for name in STATS:
        if name == "cost":
            cols[name] = rec.stat(name).ravel()
        elif not name.startswith("sum_"):
            cols[name] = rec.stat(name).ravel().astype(np.int64)
    return pd.DataFrame(cols)


GENERATION_RATES = (
    "compliance_observed",
    "compliance_unobserved",
    "compliance_gap",
    "af_reasoning_rate",
    "behavioral_alignment",
    "preference_alignment",
    "unobserved_defection_rate",
)
"""The rates generations.parquet gives per generation (pooled over its rounds)."""


def generation_table(
    rec: Recorder, phases: Sequence[PhaseSpec], every: int, generations: Sequence
) -> pd.DataFrame:
    """Per replicate and generation: trait means, rates and what selection did.

    A generation's rates pool its rounds, and its trait means average them (the state the
    agents acted under), as a phase's do. ``generations`` holds the boundaries' records
    (:class:`sim.selection.Generation`), one per completed generation; a last, incomplete
    generation shows no selection.

    Columns: replicate, generation, phase (of its first round), first_round, rounds,
    selected, ``mean_<trait>`` (theta, phi and :data:`TRAIT_MEANS`), the rates of
    :data:`GENERATION_RATES`, replaced, imitated, and ``kept_<trait>`` (the survivors' means
    at the selection that ended it; NaN without selection).
    """
    reps, total = rec.data.shape[1:]
    names = [p.name for p in phases]
    codes = phase_of_round(phases)
    rows = []
    for g, first in enumerate(range(0, total, every)):
        cols = slice(first, min(first + every, total))
        values = rates(rec, cols, axis=1)
        means = {"mean_theta": values["mean_theta"], "mean_phi": values["mean_phi"]}
        means |= trait_means(rec, cols, axis=1)
        done = generations[g] if g < len(generations) else None
        for r in range(reps):
            row = {
                "replicate": r,
                "generation": g,
                "phase": names[codes[first]],
                "first_round": first,
                "rounds": cols.stop - first,
                "selected": bool(done is not None and done.selected),
            }
            row |= {k: float(v[r]) for k, v in means.items()}
            row |= {k: float(values[k][r]) for k in GENERATION_RATES}
            row["replaced"] = 0 if done is None else int(done.replaced[r])
            row["imitated"] = 0 if done is None else int(done.imitated[r])
            kept = {} if done is None else done.kept
            row |= {
                f"kept_{t}": float(kept[t][r]) if t in kept else math.nan for t in SELECTION_TRAITS
            }
            rows.append(row)
    df = pd.DataFrame(rows)
    df["phase"] = pd.Categorical(df["phase"], categories=names)
    return df.sort_values(["replicate", "generation"], ignore_index=True)
