"""``python -m analysis reproduce``: study files, target statistics, the runner and the report."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import pytest

from analysis.reproduce import FAST_REPLICATES, cli
from analysis.studies import Target, Term, default_studies, evaluate, load_study
from sim.errors import ConfigError

SMALL_STUDY = """
study: small
title: A small study
source: none
notes: [A note.]
runs:
  base: [scenario=alignment_faking, n_agents=60, phases.rl.rounds=60, phases.prompted.rounds=4,
         phases.post_rl.rounds=4]
  aware: [scenario=alignment_faking, n_agents=60, phases.rl.rounds=60, phases.prompted.rounds=4,
          phases.post_rl.rounds=4, population.sigma=1]
targets:
  - {id: compliance, figure: Compliance in implied training, run: base, phase: prompted,
     metric: compliance_observed, value: 0.14, tolerance: [0.0, 1.0]}
  - {id: rises, figure: Unmonitored compliance rises, run: base, phase: post_rl,
     metric: compliance_unobserved, minus: {phase: prompted}, tolerance: [0.0, null],
     criterion: interval}
  - {id: impossible, figure: A rate above one, run: aware, phase: prompted,
     metric: compliance_observed, tolerance: [1.5, null]}
"""


def _write(tmp_path, text, name="study.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _table(values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rows = [
        (phase, r, metric, v) for (phase, metric), vs in values.items() for r, v in enumerate(vs)
    ]
    return pd.DataFrame(rows, columns=["phase", "replicate", "metric", "value"])


def _target(**kw) -> Target:
    base = {
        "id": "t", "figure": "f", "group": "", "term": Term("a", "p", "compliance_gap"),
        "minus": None, "value": None, "tolerance": (0.0, 0.2), "criterion": "mean",
        "why": "", "approximate": False,
    }  # fmt: skip
    return Target(**(base | kw))


# ---- the statistic -----------------------------------------------------------------------


def test_mean_and_t_interval_over_replicates():
    x = [0.1, 0.12, 0.14, 0.16]
    out = evaluate(_target(), {"a": _table({("p", "compliance_gap"): x})})
    half = 3.182446305284263 * np.std(x, ddof=1) / 2  # t(0.975, 3) * sd / sqrt(4)
    assert out["estimate"] == pytest.approx(0.13)
    assert out["ci_low"] == pytest.approx(0.13 - half)
    assert out["inside"] is True and out["share"] == 1.0 and out["n"] == 4
    out = evaluate(_target(tolerance=(0.135, None)), {"a": _table({("p", "compliance_gap"): x})})
    assert out["inside"] is False and out["share"] == 0.5


def test_difference_pairs_replicates_and_drops_undefined():
    a = _table({("p", "denial_rate"): [0.9, math.nan, 0.7], ("q", "denial_rate"): [0.5] * 3})
    b = _table({("p", "denial_rate"): [0.1, 0.2, math.nan]})
    t = _target(
        term=Term("a", "p", "denial_rate"),
        minus=Term("b", "p", "denial_rate", scale=0.5),
        tolerance=(None, 0.0),
    )
    out = evaluate(t, {"a": a, "b": b})
    assert out["n"] == 1 and out["estimate"] == pytest.approx(0.9 - 0.05)
    assert out["inside"] is False
    same_run = _target(term=Term("a", "p", "denial_rate"), minus=Term("a", "q", "denial_rate"))
    assert evaluate(same_run, {"a": a})["estimate"] == pytest.approx(0.3)  # (0.4 + 0.2) / 2


def test_interval_criterion_needs_the_whole_interval():
    x = [0.0, 0.02, 0.04, 0.06]  # mean 0.03, interval reaches below 0
    t = _target(tolerance=(0.0, None), criterion="interval")
    out = evaluate(t, {"a": _table({("p", "compliance_gap"): x})})
    assert out["ci_low"] < 0 and out["inside"] is False
    assert evaluate(_target(tolerance=(0.0, None)), {"a": _table({("p", "compliance_gap"): x})})[
        "inside"
    ]


def test_p_values_take_the_median_replicate():
    p = [0.001, 0.002, 0.3, 0.004, 0.5]
    t = _target(term=Term("a", "p", "sandbag_p_value"), tolerance=(None, 0.01), criterion="median")
    out = evaluate(t, {"a": _table({("p", "sandbag_p_value"): p})})
    assert out["estimate"] == 0.004 and out["ci_low"] is None
    assert out["inside"] is True and out["share"] == pytest.approx(0.6)


def test_undefined_statistic_is_neither_met_nor_missed():
    out = evaluate(_target(), {"a": _table({("p", "compliance_gap"): [math.nan] * 3})})
    assert out["estimate"] is None and out["inside"] is None and out["n"] == 0


# ---- study files -------------------------------------------------------------------------


def test_shipped_study_files_load():
    studies = [load_study(p) for p in default_studies()]
    assert {s.name for s in studies} >= {"alignment_faking", "apollo"}
    for s in studies:
        assert len(s.targets) >= 10
        assert all(t.term.run in s.runs for t in s.targets)


@pytest.mark.parametrize(
    "edit, key",
    [
        (("metric: compliance_observed, value", "metric: complying, value"), "targets.compliance"),
        (("tolerance: [0.0, 1.0]", "tolerance: [1.0, 0.0]"), "targets.compliance.tolerance"),
        (("tolerance: [0.0, 1.0]", "tolerance: 0.1"), "targets.compliance.tolerance"),
        (("run: aware, phase", "run: missing, phase"), "targets.impossible.run"),
        (("id: rises", "id: compliance"), "targets.compliance"),
        (("criterion: interval", "criterion: median"), "targets.rises.criterion"),
        (("minus: {phase: prompted}", "minus: {phase: prompted, color: 1}"), "minus.color"),
        (("source: none", "sauce: none"), "sauce"),
        (("notes: [A note.]", "notes: A note."), "notes"),
    ],
)
def test_bad_study_file_is_one_line_naming_the_key(tmp_path, edit, key):
    path = _write(tmp_path, SMALL_STUDY.replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_study(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and key in msg


def test_unreadable_study_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_study(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_study(_write(tmp_path, "runs: [a, b\n"))


# ---- the command -------------------------------------------------------------------------


def test_reproduce_runs_reuses_and_reports(tmp_path, capsys):
    study = _write(tmp_path, SMALL_STUDY)
    out = tmp_path / "out"
    assert cli([str(study), "--out", str(out), "--replicates", "3"]) == 0
    first = capsys.readouterr().out
    assert first.count(": ran (") == 2 and "2 of 3 targets inside" in first
    table = pd.read_parquet(out / "targets.parquet")
    assert list(table["target"]) == ["compliance", "rises", "impossible"]
    assert list(table["inside"]) == [True, True, False]
    assert (table["replicates"] == 3).all() and (table["n"] == 3).all()
    report = (out / "report.md").read_text()
    assert "python -m analysis reproduce" in report and "A note." in report
    assert "![A small study](img/reproduction_small.png)" in report
    assert (out / "img" / "reproduction_small.png").stat().st_size > 10_000
    assert (out / "img" / "reproduction_small.pdf").exists()
    assert "population.sigma=1" in report  # the parameters that produced each value

    saved = (out / "runs" / "small" / "base" / "metrics.json").stat().st_mtime_ns
    assert cli([str(study), "--out", str(out), "--replicates", "3", "--report-only"]) == 0
    assert capsys.readouterr().out.count(": reused (") == 2
    assert pd.read_parquet(out / "targets.parquet").equals(table)
    assert (out / "runs" / "small" / "base" / "metrics.json").stat().st_mtime_ns == saved

    # another size into the same folder: refused, nothing overwritten
    assert cli([str(study), "--out", str(out), "--replicates", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs/small/base: holds a complete run of another" in err
    assert (out / "runs" / "small" / "base" / "metrics.json").stat().st_mtime_ns == saved

    # a partial run (killed while saving) is recomputed, its leftovers removed
    (out / "runs" / "small" / "aware" / "COMPLETE").unlink()
    (out / "runs" / "small" / "aware" / ".staging-x").mkdir()
    assert cli([str(study), "--out", str(out), "--replicates", "3"]) == 0
    lines = capsys.readouterr().out
    assert "small/base: reused" in lines and "small/aware: ran" in lines
    assert not (out / "runs" / "small" / "aware" / ".staging-x").exists()
    assert pd.read_parquet(out / "targets.parquet").equals(table)  # same seed, same numbers


def test_report_only_without_runs_names_the_folder(tmp_path, capsys):
    study = _write(tmp_path, SMALL_STUDY)
    assert cli([str(study), "--out", str(tmp_path / "o"), "--report-only"]) == 2
    err = capsys.readouterr().err
    assert "runs/small/base: no complete run" in err and err.count("\n") == 1


def test_bad_run_or_phase_fails_before_anything_runs(tmp_path, capsys):
    bad_override = _write(tmp_path, SMALL_STUDY.replace("population.sigma=1", "population.sigma=2"))
    assert cli([str(bad_override), "--out", str(tmp_path / "o")]) == 2
    assert "runs.aware" in capsys.readouterr().err
    bad_phase = _write(tmp_path, SMALL_STUDY.replace("phase: post_rl", "phase: later"), "b.yaml")
    assert cli([str(bad_phase), "--out", str(tmp_path / "o")]) == 2
    assert "targets.rises: run base has no phase 'later'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_fast_path_of_the_shipped_studies(tmp_path, capsys):
    """The full reproduction's code at FAST_REPLICATES replicates (docs/reproduction.md)."""
    out = tmp_path / "rep"
    assert cli(["--fast", "--out", str(out)]) == 0
    table = pd.read_parquet(out / "targets.parquet")
    assert (table["replicates"] == FAST_REPLICATES).all()
    assert table["estimate"].notna().all()
    for study in ("alignment_faking", "apollo"):
        assert (out / "img" / f"reproduction_{study}.png").exists()
    # The prompted alignment-faking figures and the post-RL rise are the preset's
    # defining results (docs/scenarios.md): at 4 replicates their intervals are about
    # +/- 0.005, well inside tolerances of +/- 0.034 and more.
    met = table.set_index("target")["inside"]
    for t in ("prompted_compliance_training", "prompted_af_reasoning", "rl_af_reasoning"):
        assert met[t], t


def test_the_rule_option_sets_every_run_and_a_bad_rule_writes_nothing(tmp_path, capsys):
    study = _write(tmp_path, SMALL_STUDY)
    out = tmp_path / "out"
    assert cli([str(study), "--out", str(out), "--replicates", "2", "--rule", "exact"]) == 0
    capsys.readouterr()
    from sim.results import Results

    for run in ("base", "aware"):
        assert Results.load(out / "runs" / "small" / run).config["population"]["rule"] == "exact"
    assert "--rule exact" in (out / "report.md").read_text()  # the command that made it
    bad = tmp_path / "bad"
    assert cli([str(study), "--out", str(bad), "--rule", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and err.count("\n") == 1 and not bad.exists()
