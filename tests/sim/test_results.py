"""Run folders: contents, atomic replacement, loading, and the same seed giving the same bits."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim import ConfigError, Results, run
from sim.metrics import FOUNDATION, METRICS, OVERSIGHT, P_VALUES
from sim.results import COMPLETE, RESULT_FILES

SMALL = ["n_agents=100", "replicates=3", "phases.rl.rounds=30"]


@pytest.fixture(scope="module")
def res():
    return run(SMALL)


def test_metrics_contract(res):
    assert res.phases == ["prompted", "rl", "post_rl"]
    for phase in res.phases:
        assert list(res.metrics[phase]) == list(METRICS)
        for name, s in res.metrics[phase].items():
            keys = {"mean", "ci_low", "ci_high", "n"}
            assert set(s) == (keys | {"replicates"} if name in P_VALUES else keys)
            if name in FOUNDATION or name in OVERSIGHT:
                assert s["ci_low"] <= s["mean"] <= s["ci_high"]
            else:  # a run of conflict requests only: the repertoire's measures are undefined
                assert s["mean"] is None and s["n"] == 0
    assert isinstance(res.rounds, pd.DataFrame)
    assert len(res.rounds) == 3 * (20 + 30 + 20)
    rates = [m for m in METRICS if m not in P_VALUES]
    assert {"replicate", "round", "phase", "phase_round", *rates} <= set(res.rounds.columns)


def test_same_seed_same_bits_different_seed_different(res):
    again = run(SMALL)
    assert json.dumps(again.metrics) == json.dumps(res.metrics)
    pd.testing.assert_frame_equal(again.rounds, res.rounds, check_exact=True)
    other = run([*SMALL, "seed=1"])
    assert json.dumps(other.metrics) != json.dumps(res.metrics)


def test_save_and_load_roundtrip(res, tmp_path):
    res.save(tmp_path / "run")
    for name in (*RESULT_FILES, COMPLETE):
        # decisions only with trace=true, generations only with selection
        expected = name not in ("decisions.parquet", "generations.parquet")
        assert (tmp_path / "run" / name).exists() == expected, name
    back = Results.load(tmp_path / "run")
    assert json.dumps(back.metrics) == json.dumps(res.metrics)
    pd.testing.assert_frame_equal(back.rounds, res.rounds)
    assert back.config["n_agents"] == 100
    assert not list((tmp_path / "run").glob(".staging-*"))


def test_rerun_into_same_folder_replaces_every_file(res, tmp_path):
    folder = tmp_path / "run"
    res.save(folder)
    other = run([*SMALL, "seed=9"])
    other.save(folder)
    back = Results.load(folder)
    assert json.dumps(back.metrics) == json.dumps(other.metrics)
    assert back.config["seed"] == 9


def test_failed_save_leaves_no_complete_marker(res, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    res.save(folder)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(RuntimeError):
        res.save(folder)
    # the old, complete set is still there (the failure happened while staging)
    assert (folder / COMPLETE).exists()
    assert json.dumps(Results.load(folder).metrics) == json.dumps(res.metrics)


@pytest.mark.parametrize("damage", ["marker", "metrics", "rounds"])
def test_load_names_the_bad_file(res, tmp_path, damage):
    folder = res.save(tmp_path / "run", figure=False)
    if damage == "marker":
        (folder / COMPLETE).unlink()
        match = "no COMPLETE marker"
    elif damage == "metrics":
        (folder / "metrics.json").write_text("{not json")
        match = "metrics.json: unreadable"
    else:
        (folder / "rounds.parquet").write_bytes(b"PAR1garbage")
        match = "rounds.parquet: unreadable"
    with pytest.raises(ConfigError, match=match):
        Results.load(folder)


def test_summary_table_lists_phases_and_metrics(res):
    table = res.summary_table()
    assert "prompted" in table and "post_rl" in table and "af_reasoning_rate" in table
    assert len(table.splitlines()) == 2 + 7 + len(OVERSIGHT)


def test_trace_records_every_decision_with_its_reason(tmp_path):
    res = run(["n_agents=30", "replicates=2", "phases.rl.rounds=5", "trace=true"])
    d = res.decisions
    assert len(d) == 2 * 30 * (20 + 5 + 20)
    assert set(d["reason"].cat.categories) == {"GOAL", "HELPFUL", "TRAINING", "NOISE", "SCRIPTED"}
    # the trace and the per-round aggregates tell the same story
    per_round = d.groupby(["replicate", "round"])["comply"].sum().to_numpy()
    counts = (res.rounds["comply_cue_observed"] + res.rounds["comply_cue_unobserved"]).to_numpy()
    assert (per_round == counts).all()
    faked_seen = d[(d["reason"] == "TRAINING") & d["aware"] & d["cue"]]
    assert len(faked_seen) == res.rounds["af_cue_observed"].sum()
    folder = res.save(tmp_path / "run", figure=False)
    assert Results.load(folder).decisions.equals(d)
    assert run(SMALL).decisions is None


def test_trace_refuses_huge_runs():
    with pytest.raises(ConfigError, match=r"^trace=true would record"):
        run(["trace=true", "n_agents=100000", "replicates=8"])
