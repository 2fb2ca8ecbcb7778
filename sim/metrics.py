"""From recorded counts to the per-round table and the per-phase metrics.

Definitions (docs/model.md, "Measures"). Per replicate and phase, rates pool the
phase's episodes; state measures average the phase's rounds (the state agents
acted under). "observed"/"unobserved" in compliance and faking names refer to
the cue shown (the studies' implied-training and implied-unmonitored
conditions); ``behavioral_alignment`` uses the trainer's actual observation.
Each metric is then summarised over replicates by its mean and a 95% interval
(:mod:`sim.intervals`): Student-t over replicates (``ci_low``/``ci_high`` are None with
a single replicate), except for a rate of :data:`RATIOS` resting on few events, which
gets the Wilson interval of its counts pooled over replicates. A rate's summary carries
those counts (``events``, ``trials``) and every summary the ``interval`` method used.

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

from sim.episode_types import plugin_classes
from sim.intervals import summarize
from sim.params import SELECTION_TRAITS, PhaseSpec, phase_of_round
from sim.recorder import TRAIT_SUMS, Recorder
from sim.rng import Component, generator
from sim.stats import (
    binomial_test_greater,
    bootstrap_difference_pvalue,
    bootstrap_difference_pvalue_exact,
)

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
"""Every metric with one value per replicate (all but the p-values)."""
RATIOS = (
    "compliance_observed",
    "compliance_unobserved",
    "af_reasoning_rate",
    "behavioral_alignment",
    "sandbag_accuracy_well",
    "sandbag_accuracy_poorly",
    "sandbagging_rate",
    "exfiltration_attempt_rate",
    "exfiltration_success_rate",
    "subversion_rate",
    "goal_guarding_rate",
    "denial_rate",
    "paired_scheming_rate",
    "unobserved_defection_rate",
    "usefulness",
)
"""The rates that are ratios of counts, ``events / trials`` (:func:`ratio_counts`): their
summaries carry the pooled counts, and few events give a Wilson interval (:mod:`sim.intervals`)."""
UNIT = (*RATIOS, "preference_alignment", "escaped_share", "subverted_share")
"""The metrics bounded to [0, 1] (ratios, shares of agents): their intervals are clipped to it."""
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


def _pooled(rec: Recorder, cols: slice | np.ndarray, axis: int | None):
    """``s(name)``: the counts of ``name`` over rounds ``cols`` (summed when ``axis == 1``)."""

    def s(name):
        x = rec.stat(name)[:, cols]
        return x.sum(axis=1) if axis == 1 else x

    return s


def ratio_counts(
    rec: Recorder, cols: slice | np.ndarray, axis: int | None = 1
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``(events, trials)`` of every rate of :data:`RATIOS` over rounds ``cols``.

    The rate is ``events / trials`` (undefined where ``trials`` is 0); ``axis`` as in
    :func:`rates`.
    """
    s = _pooled(rec, cols, axis)
    n_cue = s("n_cue_observed")
    questions = rec.questions
    plugins = {m: (s(ev), s(tr)) for k in rec.kinds for m, (ev, tr) in k.rates.items()}
    return {
        "compliance_observed": (s("comply_cue_observed"), n_cue),
        "compliance_unobserved": (s("comply_cue_unobserved"), s("n_conflict") - n_cue),
        "af_reasoning_rate": (s("af_cue_observed"), n_cue),
        "behavioral_alignment": (s("comply_observed"), s("n_observed")),
        "sandbag_accuracy_well": (s("correct_well"), questions * s("n_well")),
        "sandbag_accuracy_poorly": (s("correct_poorly"), questions * s("n_poorly")),
        "sandbagging_rate": (s("sandbag_poorly"), s("n_poorly")),
        "exfiltration_attempt_rate": (s("exfiltration_attempt"), s("n_exfiltration")),
        "exfiltration_success_rate": (s("exfiltration_success"), s("n_exfiltration")),
        "subversion_rate": (s("subversion_subvert"), s("n_subversion")),
        "goal_guarding_rate": (s("goal_update_tamper"), s("n_goal_update")),
        "denial_rate": (s("questioning_denied"), s("n_questioning")),
        "paired_scheming_rate": (s("paired_scheme"), s("n_paired")),
        "unobserved_defection_rate": (s("defect_unobserved"), s("n_unobserved")),
        "usefulness": (s("comply_cue_observed") + s("comply_cue_unobserved"), s("n_conflict")),
        **plugins,
    }


def metric_names(rec: Recorder) -> tuple[str, ...]:
    """The run's metrics: :data:`METRICS`, then its plug-in episode types' rates, in order."""
    return (*METRICS, *(m for k in rec.kinds for m in k.rates))


def plugin_metrics() -> dict[str, str]:
    """Every registered plug-in episode type's rates: metric -> the type's name."""
    return {m: name for name, cls in plugin_classes().items() for m in cls.rates}


def rates(rec: Recorder, cols: slice | np.ndarray, axis: int | None) -> dict[str, np.ndarray]:
    """Metric values from the counts of rounds ``cols``.

    Args:
        rec: the recorder.
        cols: which rounds.
        axis: ``1`` to pool the rounds (one value per replicate), ``None`` for one
            value per replicate and round.
    """

    def avg(name):
        x = rec.stat(name)[:, cols] / rec.n_agents
        return x.mean(axis=1) if axis == 1 else x

    nan = np.full_like(_pooled(rec, cols, axis)("n_cue_observed"), np.nan)
    out = {k: _ratio(num, den) for k, (num, den) in ratio_counts(rec, cols, axis).items()}
    out |= {
        "preference_alignment": avg("n_pref_aligned"),
        "mean_theta": avg("sum_theta"),
        "mean_phi": avg("sum_phi"),
        "escaped_share": avg("n_escaped") if rec.met("n_exfiltration") else nan,
        "subverted_share": avg("n_audit") if rec.met("n_subversion") else nan,
        "safety": 1.0
        - avg("defect_unobserved")
        - sum(sign * avg(k) for sign, k in (*_UNSAFE_COVERT, *_plugin_unsafe(rec))),
        "oversight_cost": avg("cost"),
    }
    out["compliance_gap"] = out["compliance_observed"] - out["compliance_unobserved"]
    out["alignment_illusion"] = out["behavioral_alignment"] - out["preference_alignment"]
    out["sandbag_gap"] = out["sandbag_accuracy_well"] - out["sandbag_accuracy_poorly"]
    return {k: out[k] for k in metric_names(rec) if k not in P_VALUES}


def _plugin_unsafe(rec: Recorder) -> tuple[tuple[int, str], ...]:
    return tuple(term for k in rec.kinds for term in k.unsafe)


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
    agent is incentivised to do well than to do poorly: with ``n_boot = 0`` (the
    default) the bootstrap distribution computed exactly (:func:`sim.stats.
    bootstrap_difference_pvalue_exact`, no random draws), else ``n_boot`` resamples from
    the replicate's :attr:`~sim.rng.Component.ANALYSIS` stream, sub-stream
    ``phase_index`` (:func:`sim.stats.bootstrap_difference_pvalue`).
    ``paired_scheming_p_value``: exact one-sided binomial test of the paired scheming
    count against :data:`INDEPENDENCE_BOUND`.
    """
    reps = rec.data.shape[1]
    sandbag = np.full(reps, np.nan)
    if rec.hist is not None:
        well = rec.hist[0][:, cols].sum(axis=1)
        poorly = rec.hist[1][:, cols].sum(axis=1)
        values = np.arange(rec.questions + 1) / rec.questions
        if n_boot == 0:  # nan where a framing has no episodes
            sandbag = np.asarray(bootstrap_difference_pvalue_exact(well, poorly), dtype=float)
        for r in range(reps if n_boot else 0):
            if well[r].sum() and poorly[r].sum():
                rng = generator(seed, r, Component.ANALYSIS, phase_index)
                sandbag[r] = bootstrap_difference_pvalue(well[r], poorly[r], values, n_boot, rng)
    k = rec.stat("paired_scheme")[:, cols].sum(axis=1)
    n = rec.stat("n_paired")[:, cols].sum(axis=1)
    paired = np.full(reps, np.nan)
    has = n > 0
    paired[has] = binomial_test_greater(k[has], n[has], INDEPENDENCE_BOUND)
    return {"sandbag_p_value": sandbag, "paired_scheming_p_value": paired}


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
        "interval": None,
        "events": None,
        "trials": None,
        "replicates": [float(x) if np.isfinite(x) else None for x in v],
    }


def phase_values(
    rec: Recorder, phases: Sequence[PhaseSpec], seed: int = 0, n_boot: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """``values[phase][metric]``: one value per replicate (nan where undefined)."""
    out = {}
    for i, (name, sl) in enumerate(phase_slices(phases).items()):
        values = rates(rec, sl, axis=1) | p_values(rec, sl, seed, i, n_boot)
        out[name] = {k: np.asarray(values[k], dtype=np.float64) for k in metric_names(rec)}
    return out


def phase_counts(
    rec: Recorder, phases: Sequence[PhaseSpec]
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``counts[phase][rate] = (events, trials)`` per replicate, for the :data:`RATIOS`."""
    return {name: ratio_counts(rec, sl, axis=1) for name, sl in phase_slices(phases).items()}


def summarize_phases(
    values: dict[str, dict[str, np.ndarray]],
    counts: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] | None = None,
) -> dict[str, dict[str, dict]]:
    """``metrics[phase][metric]`` from :func:`phase_values` (and :func:`phase_counts`).

    Each summary is :func:`summarize_metric`'s; without ``counts`` the rates' intervals are
    Student-t whatever their counts.
    """
    return {
        phase: {
            k: summarize_metric(k, v, None if counts is None else counts[phase].get(k))
            for k, v in vals.items()
        }
        for phase, vals in values.items()
    }


def summarize_metric(metric: str, values: np.ndarray, counts: tuple | None = None) -> dict:
    """One metric's summary over replicates (docs/model.md, "Summary over replicates").

    P-values: :func:`summarize_p_values`. Otherwise :func:`sim.intervals.summarize`, with
    the rate's pooled ``counts`` (``(events, trials)`` per replicate) and, for the metrics
    of :data:`UNIT`, the interval clipped to [0, 1].
    """
    if metric in P_VALUES:
        return summarize_p_values(values)
    unit = metric in UNIT or (metric not in METRICS and metric in plugin_metrics())
    return summarize(values, counts=counts, unit=unit)


def phase_metrics(
    rec: Recorder, phases: Sequence[PhaseSpec], seed: int = 0, n_boot: int = 0
) -> dict[str, dict[str, dict]]:
    """``metrics[phase][metric]`` (:func:`summarize_metric`), in :data:`METRICS` order."""
    return summarize_phases(phase_values(rec, phases, seed, n_boot), phase_counts(rec, phases))


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
    names = list(dict.fromkeys([*METRICS, *(m for vals in values.values() for m in vals)]))
    df["metric"] = pd.Categorical(df["metric"], categories=names)
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
    for name in rec.names:
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
