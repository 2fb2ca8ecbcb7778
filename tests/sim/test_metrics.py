"""Summaries over replicates against textbook values; metric definitions on hand-made counts."""

from __future__ import annotations

import numpy as np
import pytest

from sim.metrics import METRICS, P_VALUES, rates, summarize
from sim.params import PhaseSpec
from sim.recorder import Recorder


def test_student_t_interval_textbook():
    # x = 1..5: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.776445 -> half width 1.963243
    s = summarize(np.arange(1, 6))
    assert s["mean"] == 3.0 and s["n"] == 5
    assert s["ci_low"] == pytest.approx(3 - 1.963243, abs=1e-6)
    assert s["ci_high"] == pytest.approx(3 + 1.963243, abs=1e-6)


def test_summary_edge_cases():
    assert summarize([0.4]) == {"mean": 0.4, "ci_low": None, "ci_high": None, "n": 1}
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
