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
            keys = {"mean", "ci_low", "ci_high", "n", "interval", "events", "trials"}
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


def _summary(mean, low=None, high=None, interval="student_t", events=None, trials=None):
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": 8, "interval": interval,
            "events": events, "trials": trials}  # fmt: skip


def _column_ends(line: str) -> list[int]:
    """Where each run of non-blank text ending a column ends (columns: 2+ spaces apart)."""
    import re

    return [m.end() for m in re.finditer(r"\S+(?: \S+)*", line)]


def test_summary_table_separates_and_aligns_columns_whatever_the_sign():
    metrics = {
        "a": {"compliance_gap": _summary(0.025, 0.018, 0.032),
              "alignment_illusion": _summary(-0.0001, -0.0004, 0.0002),
              "safety": _summary(0.5, 0.4, 0.6)},
        "b": {"compliance_gap": _summary(-0.074, -0.084, -0.064),
              "alignment_illusion": _summary(0.5, 0.4, 0.6),
              "safety": _summary(-0.0002)},
    }  # fmt: skip
    table = Results(metrics, pd.DataFrame(), {}).summary_table(
        ("compliance_gap", "alignment_illusion", "safety")
    )
    lines = table.splitlines()
    assert "-0.000" not in table
    assert lines[2].split() == ["compliance_gap", "0.025", "[0.018,0.032]", "-0.074",
                                "[-0.084,-0.064]"]  # fmt: skip
    assert lines[3].split()[1:3] == ["0.000", "[0.000,0.000]"]  # -0.0004 -> 0.000
    assert lines[4].split() == ["safety", "0.500", "[0.400,0.600]", "0.000"]
    for line in lines[2:]:  # name, then two columns, at least two spaces apart
        assert len(re_split(line)) == 3, line
    ends = [_column_ends(line) for line in [lines[0], *lines[2:]]]
    assert len({e[-2] for e in ends}) == 1 and len({e[-1] for e in ends}) == 1  # right-aligned


def re_split(line: str) -> list[str]:
    import re

    return re.split(r"\s{2,}", line.strip())


def test_summary_table_shows_the_counts_behind_a_wilson_interval():
    metrics = {
        "a": {"denial_rate": _summary(0.25, 0.061, 0.792, "wilson", 1, 3),
              "subversion_rate": _summary(0.034, 0.028, 0.040, "student_t", 272, 8000)},
        "b": {"denial_rate": _summary(None, interval=None),
              "subversion_rate": _summary(0.0005, 0.0001, 0.0013, "wilson", 4, 8000)},
    }  # fmt: skip
    table = Results(metrics, pd.DataFrame(), {}).summary_table(("denial_rate", "subversion_rate"))
    lines = table.splitlines()
    assert re_split(lines[2]) == ["denial_rate", "0.250 [0.061,0.792] n=1/3", "n/a"]
    assert re_split(lines[3]) == ["subversion_rate", "0.034 [0.028,0.040]",
                                  "0.001 [0.000,0.001] n=4/8000"]  # fmt: skip
    # the intervals stay aligned whether or not a count follows them
    assert lines[2].index("]") == lines[3].index("]")


def test_the_issue_run_shows_a_bounded_interval_and_its_count():
    """scenario=apollo_oversight_subversion profile=profile_b nudge=none: denial_rate was
    0.250 [-2.927,3.427] (a t interval over the two replicates with anyone questioned)."""
    res = run(["scenario=apollo_oversight_subversion", "profile=profile_b", "nudge=none"])
    s = res.metrics["follow_up"]["denial_rate"]
    assert s["interval"] == "wilson" and 0 <= s["ci_low"] <= s["ci_high"] <= 1
    row = next(x for x in res.summary_table().splitlines() if x.startswith("denial_rate"))
    assert f"n={s['events']}/{s['trials']}" in row and "-" not in row


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


def test_run_refuses_a_folder_holding_another_configs_run(tmp_path):
    small = ["n_agents=20", "replicates=2", "phases.prompted.rounds=2", "phases.rl.rounds=2",
             "phases.post_rl.rounds=2"]  # fmt: skip
    out = tmp_path / "run"
    run([*small, "seed=1"], output_dir=out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ConfigError, match="holds a complete run of another config"):
        run([*small, "seed=2"], output_dir=out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    run([*small, "seed=1"], output_dir=out)  # the same config may be written again
