"""Summaries over replicates against textbook values; metric definitions on hand-made counts."""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.intervals import MIN_EVENTS, STUDENT_T, WILSON
from sim.metrics import (
    METRICS,
    P_VALUES,
    RATIOS,
    UNIT,
    _ratio,
    rates,
    ratio_counts,
    summarize,
    summarize_metric,
)
from sim.params import PhaseSpec
from sim.recorder import STATS, Recorder


def test_student_t_interval_textbook():
    # x = 1..5: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.776445 -> half width 1.963243
    s = summarize(np.arange(1, 6))
    assert s["mean"] == 3.0 and s["n"] == 5
    assert s["ci_low"] == pytest.approx(3 - 1.963243, abs=1e-6)
    assert s["ci_high"] == pytest.approx(3 + 1.963243, abs=1e-6)


def test_summary_edge_cases():
    assert summarize([0.4]) == {
        "mean": 0.4, "ci_low": None, "ci_high": None, "n": 1,
        "interval": None, "events": None, "trials": None,
    }  # fmt: skip
    assert summarize([0.2, 0.4])["interval"] == STUDENT_T
    assert summarize([np.nan, np.nan])["mean"] is None
    assert summarize([0.2, np.nan, 0.4])["n"] == 2


def test_rates_pool_episodes_within_a_replicate():
    rec = Recorder(replicates=1, n_agents=10, total_rounds=2)
    for name, values in {
        "n_cue_observed": [4, 6], "comply_cue_observed": [2, 6], "comply_cue_unobserved": [0, 1],
        "af_cue_observed": [1, 3], "n_observed": [4, 6], "comply_observed": [2, 6],
        "n_pref_aligned": [0, 5], "sum_theta": [8, 6], "sum_phi": [1, 2], "n_conflict": [10, 10],
    }.items():  # fmt: skip
        rec.data[rec_index(name), 0, :] = values
    r = {k: float(v[0]) for k, v in rates(rec, slice(None), axis=1).items()}
    assert r["compliance_observed"] == 8 / 10
    assert r["compliance_unobserved"] == 1 / 10
    assert r["compliance_gap"] == pytest.approx(0.7)
    assert r["af_reasoning_rate"] == 4 / 10
    assert r["preference_alignment"] == 0.25
    assert r["mean_theta"] == 0.7
    assert r["alignment_illusion"] == pytest.approx(0.8 - 0.25)
    assert list(r) == [m for m in METRICS if m not in P_VALUES]


def rec_index(name):
    from sim.recorder import STATS

    return STATS.index(name)


def test_undefined_rate_is_nan_not_error():
    rec = Recorder(replicates=1, n_agents=5, total_rounds=1)
    r = rates(rec, slice(None), axis=1)
    assert np.isnan(r["compliance_observed"][0]) and np.isnan(r["compliance_unobserved"][0])
    assert np.isnan(r["exfiltration_attempt_rate"][0]) and np.isnan(r["sandbag_gap"][0])
    assert PhaseSpec("a", 1, False).rounds == 1


# ---- rates resting on few events (sim/intervals.py) ------------------------------------


def test_few_events_give_the_wilson_interval_of_the_pooled_counts():
    # the denial_rate: 1 of 2 and 0 of 1 questioned (two replicates defined of
    # three): the t interval was [-2.9, 3.4]; Wilson on 1 of 3 by hand (z = 1.959964):
    # centre (1 + z^2/2) / (3 + z^2) = 0.426916, half z/(3 + z^2)·sqrt(3·(1/3)(2/3) + z^2/4)
    # = 0.365424
    s = summarize_metric("denial_rate", np.array([0.5, np.nan, 0.0]), ([1, 0, 0], [2, 0, 1]))
    assert s["interval"] == WILSON and (s["events"], s["trials"]) == (1, 3)
    assert s["mean"] == 0.25 and s["n"] == 2  # the mean over replicates, as before
    assert s["ci_low"] == pytest.approx(0.061492, abs=1e-6)
    assert s["ci_high"] == pytest.approx(0.792340, abs=1e-6)


@pytest.mark.parametrize(
    ("events", "method"),
    [
        ((MIN_EVENTS - 1, 0, 0), WILSON),  # 9 events
        ((MIN_EVENTS, 0, 0), STUDENT_T),  # 10 events, 290 non-events
        ((100, 100, 91), WILSON),  # 9 non-events
        ((100, 100, 90), STUDENT_T),  # 10 non-events
    ],
)
def test_the_student_t_interval_needs_ten_events_and_ten_non_events(events, method):
    trials = np.array([100, 100, 100])
    values = np.asarray(events) / trials
    s = summarize_metric("subversion_rate", values, (events, trials))
    assert s["interval"] == method
    assert (s["events"], s["trials"]) == (sum(events), 300)
    if method == STUDENT_T:  # exactly the interval of summarize without counts
        t = summarize(values)
        assert (s["ci_low"], s["ci_high"]) == (max(t["ci_low"], 0.0), min(t["ci_high"], 1.0))
    assert 0.0 <= s["ci_low"] <= s["ci_high"] <= 1.0


def test_a_unit_metric_interval_is_clipped_to_its_support():
    # mean 0.75, sd 0.354, t(0.975, 1) = 12.706: the t interval is [-2.43, 3.93]
    values, counts = np.array([0.5, 1.0]), ([50, 100], [100, 100])
    assert summarize(values)["ci_low"] < 0 < 1 < summarize(values)["ci_high"]
    s = summarize_metric("compliance_observed", values, counts)
    assert (s["ci_low"], s["ci_high"], s["interval"]) == (0.0, 1.0, STUDENT_T)
    gap = summarize_metric("compliance_gap", values)  # a difference: not clipped, no counts
    assert gap["ci_low"] < 0 and gap["events"] is None and gap["interval"] == STUDENT_T


def test_ratio_counts_are_the_numerators_and_denominators_of_the_rates():
    rng = np.random.default_rng(0)
    rec = Recorder(replicates=3, n_agents=10, total_rounds=4)
    rec.data[:] = rng.integers(0, 6, size=rec.data.shape)
    rec.data[STATS.index("n_subversion"), 1, :] = 0  # one replicate without such episodes
    rec.data[STATS.index("subversion_subvert"), 1, :] = 0
    counts = ratio_counts(rec, slice(None))
    assert tuple(counts) == RATIOS and set(RATIOS) <= set(UNIT)
    values = rates(rec, slice(None), axis=1)
    for name, (events, trials) in counts.items():
        np.testing.assert_array_equal(values[name], _ratio(events, trials), err_msg=name)
    assert np.isnan(values["subversion_rate"][1])


def test_every_rate_of_a_run_carries_its_counts_and_interval_method():
    res = run(["scenario=scheming_mix", "n_agents=60", "replicates=3", "progress=false"])
    for phase, metrics in res.metrics.items():
        for name, s in metrics.items():
            assert {"interval", "events", "trials"} <= set(s), (phase, name)
            if name in RATIOS:
                assert isinstance(s["events"], int) and isinstance(s["trials"], int)
                few = min(s["events"], s["trials"] - s["events"]) < MIN_EVENTS
                if s["mean"] is not None:
                    assert s["interval"] == (WILSON if few else STUDENT_T), (phase, name)
            else:
                assert s["events"] is None and s["trials"] is None
            if name in UNIT and s["ci_low"] is not None:
                assert 0.0 <= s["ci_low"] <= s["ci_high"] <= 1.0, (phase, name)
