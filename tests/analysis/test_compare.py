"""The policy comparison: the verdict rule, the Pareto set, and the command end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.compare import ABSENT, BASELINE, MARGIN, load_designs, pareto, verdict
from sim.errors import ConfigError


def m(base, mean, lo, hi):
    return {"base": base, "mean": mean, "diff": mean - base, "diff_low": lo, "diff_high": hi}


FLAT = m(0.5, 0.5, -0.01, 0.01)  # preference unchanged


@pytest.mark.parametrize(
    "o, t, p, expected",
    [
        (m(0.0, 0.0, -0.001, 0.001), m(ABSENT / 2, 0.0, -0.01, 0.0), FLAT, "not present"),
        # the observed gap closes, the agents still fake, the preference stays: hidden
        (m(0.6, 0.0, -0.65, -0.55), m(0.8, 0.7, -0.15, -0.05), FLAT, "hidden"),
        # the same with the preference down by less than the margin: still hidden
        (m(0.6, 0.0, -0.65, -0.55), m(0.8, 0.7, -0.15, -0.05),
         m(0.5, 0.5 * (1 - MARGIN / 2), -0.08, -0.05), "hidden"),
        # the truth gone: removed (the incentive is gone), whatever the preference
        (m(0.6, 0.01, -0.65, -0.55), m(0.8, 0.05, -0.8, -0.7), FLAT, "removed"),
        # the preference changed and the truth halved: removed
        (m(0.6, 0.1, -0.55, -0.45), m(0.8, 0.3, -0.55, -0.45), m(0.5, 0.2, -0.35, -0.25),
         "removed"),
        # the preference changed but most of the faking goes on: reduced
        (m(0.6, 0.3, -0.35, -0.25), m(0.8, 0.6, -0.25, -0.15), m(0.5, 0.2, -0.35, -0.25),
         "reduced"),
        # an act the evaluator sees itself (observed = truth), partly reduced
        (m(0.2, 0.15, -0.08, -0.02), m(0.2, 0.15, -0.08, -0.02), FLAT, "reduced"),
        (m(0.2, 0.3, 0.05, 0.15), m(0.2, 0.3, 0.05, 0.15), FLAT, "made worse"),
        (m(0.2, 0.21, -0.02, 0.04), m(0.2, 0.21, -0.02, 0.04), FLAT, "no effect"),
    ],
)  # fmt: skip
def test_verdict_rule(o, t, p, expected):
    assert verdict(o, t, p)[0] == expected


def test_an_act_seen_by_the_evaluator_is_never_called_hidden():
    """Where the observed measure is the truth, hiding is not possible by definition."""
    rng = np.random.default_rng(1)
    for _ in range(500):
        base, mean = rng.uniform(0.01, 1, 2)
        lo = mean - base - rng.uniform(0, 0.1)
        x = m(base, mean, lo, lo + rng.uniform(0, 0.2))
        p = m(0.5, rng.uniform(0, 1), -0.1, rng.uniform(-0.1, 0.1))
        assert verdict(x, x, p)[0] != "hidden"


def test_pareto_set():
    pts = pd.DataFrame(
        {
            "safety": [0.5, 0.9, 0.9, 0.8, 0.95],
            "usefulness": [0.5, 0.9, 0.8, 0.95, 0.9],
            "oversight_cost": [0.1, 0.5, 0.5, 0.5, 0.9],
        }  # fmt: skip
    )
    # 0: cheapest; 1: dominates 2; 3: most useful; 4: safest
    assert pareto(pts).tolist() == [True, True, False, True, True]


SMALL = ["n_agents=80", "replicates=3", "phases.rl.rounds=30", "progress=false"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "c"
    code = main(["compare", *SMALL, "--designs", "noisy_monitoring", "objector_channel",
                 "random_audits+interpretability", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    return out


def test_compare_writes_every_output(compared):
    for name in ("compare.json", "comparison.parquet", "comparison.csv", "verdicts.csv",
                 "frontier.csv", "forest.png", "forest.pdf", "frontier.png", "frontier.pdf",
                 "report.md"):  # fmt: skip
        assert (compared / name).stat().st_size > 0, name
    table = pd.read_parquet(compared / "comparison.parquet")
    from sim.metrics import METRICS

    designs = [BASELINE, "noisy_monitoring", "objector_channel", "random_audits+interpretability"]
    assert list(dict.fromkeys(table["design"])) == designs
    assert len(table) == len(designs) * 3 * len(METRICS)
    base = table[table["design"] == BASELINE]
    finite = base["diff"].notna()
    assert (base.loc[finite, "diff"] == 0).all()
    report = (compared / "report.md").read_text()
    for needle in ("## Verdicts", "## Safety, usefulness and cost", "forest.png", "frontier.png",
                   "python -m analysis compare"):  # fmt: skip
        assert needle in report


def test_differences_are_paired_over_replicates(compared):
    """A difference's interval comes from the replicate-by-replicate differences (CRN)."""
    _, results = load_designs(compared)
    table = pd.read_parquet(compared / "comparison.parquet")
    r = {k: v.replicates for k, v in results.items()}

    def values(design):
        x = r[design]
        sel = (x["phase"] == "post_rl") & (x["metric"] == "mean_theta")
        return x.loc[sel].sort_values("replicate")["value"].to_numpy()

    d = values("objector_channel") - values(BASELINE)
    row = table[(table["design"] == "objector_channel") & (table["phase"] == "post_rl")
                & (table["metric"] == "mean_theta")].iloc[0]  # fmt: skip
    assert row["diff"] == pytest.approx(d.mean())
    from scipy.stats import t

    half = t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    assert row["diff_high"] - row["diff"] == pytest.approx(half)


def test_rerun_reuses_runs_and_reanalysis_runs_nothing(compared, capsys):
    stamp = {p: p.stat().st_mtime_ns for p in (compared / "runs").glob("*/metrics.json")}
    code = main(["compare", *SMALL, "--designs", "noisy_monitoring", "objector_channel",
                 "random_audits+interpretability", "--out", str(compared)])  # fmt: skip
    assert code == 0
    assert "[1/" not in capsys.readouterr().out  # nothing was run again
    assert main(["compare", "--from", str(compared)]) == 0
    assert stamp == {p: p.stat().st_mtime_ns for p in (compared / "runs").glob("*/metrics.json")}


def test_two_workers_give_the_same_comparison(compared, tmp_path):
    """The designs run in two processes: the same run folders' numbers and tables."""
    out = tmp_path / "w"
    code = main(["compare", *SMALL, "--designs", "noisy_monitoring", "objector_channel",
                 "random_audits+interpretability", "--out", str(out), "--quiet",
                 "--workers", "2"])  # fmt: skip
    assert code == 0
    for name in ("comparison.csv", "verdicts.csv", "frontier.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(compared / name))
    for run in (compared / "runs").iterdir():
        assert (out / "runs" / run.name / "metrics.json").read_text() == (
            run / "metrics.json").read_text()  # fmt: skip


def test_another_comparison_never_overwrites_a_folder(compared, capsys):
    before = (compared / "compare.json").read_text()
    code = main(["compare", *SMALL, "--designs", "weight_security", "--out", str(compared)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "compare.json" in err and "\n" not in err
    assert (compared / "compare.json").read_text() == before


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--designs", "no_such"], "no_such"),
        (["--designs", "random_audits+random_audits"], "once"),
        (["replicates=1"], "replicates"),
        (["--phase", "nope"], "nope"),
        (["trainer.rho=3"], "trainer.rho"),
        (["mitigation=[random_audits]"], "--designs"),
        (["--probe", "-1"], "--probe"),
        (["--probe", "5", "--phase", "deployment_probe"], "--phase"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_input_stops_before_anything_is_written(tmp_path, capsys, args, needle):
    out = tmp_path / "c"
    assert main(["compare", *SMALL, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err
    assert not out.exists()


def test_a_partial_run_folder_is_named(compared, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    (copy / "runs" / "objector_channel" / "COMPLETE").unlink()
    assert main(["compare", "--from", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "objector_channel" in err and "COMPLETE" in err
    with pytest.raises(ConfigError):
        load_designs(tmp_path / "nothing_here")


def test_load_designs_takes_a_string_as_well_as_a_path(compared):
    spec, results = load_designs(str(compared))
    assert list(results) == list(spec.designs) and spec == load_designs(compared)[0]


def test_reanalysis_keeps_the_budget_the_comparison_was_made_with(compared, tmp_path):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    legacy = json.loads((copy / "compare.json").read_text())
    legacy.pop("budget", None)  # a folder written before the budget was kept
    (copy / "compare.json").write_text(json.dumps(legacy))
    assert load_designs(copy)[0].budget is None
    assert main(["compare", "--from", str(copy), "--budget", "0.0001"]) == 0
    assert json.loads((copy / "compare.json").read_text())["budget"] == 0.0001
    for argv in (["--from", str(copy)], [f"--from={copy}"]):  # without --budget: kept
        assert main(["compare", *argv]) == 0
        front = pd.read_csv(copy / "frontier.csv")
        assert not front["within_budget"].any()  # every design costs more than 0.0001
        report = (copy / "report.md").read_text()
        line = next(x for x in report.splitlines() if x.startswith("Reproduce:"))
        assert "--budget 0.0001" in line and "within budget" in report
    assert main(["compare", "--from", str(copy), "--budget", "10"]) == 0  # a new one replaces it
    assert pd.read_csv(copy / "frontier.csv")["within_budget"].all()
    assert "--budget 10" in (copy / "report.md").read_text()


def test_a_deployment_probe_is_the_preference_the_verdicts_read(tmp_path):
    """``--probe N`` appends a phase with oversight withdrawn to every design; the verdicts
    read its defection rate (what the agents do unwatched) as the hidden preference, and the
    scenario's phases are the runs without the probe, bit for bit."""
    import json

    from analysis.compare import PROBE, Spec

    out = tmp_path / "c"
    args = ["compare", *SMALL, "--designs", "noisy_monitoring", "--quiet"]
    assert main([*args, "--probe", "5", "--out", str(out)]) == 0
    table = pd.read_parquet(out / "comparison.parquet")
    assert list(dict.fromkeys(table["phase"])) == ["prompted", "rl", "post_rl", PROBE]
    v = pd.read_csv(out / "verdicts.csv")
    probe = table[(table["phase"] == PROBE) & (table["metric"] == "unobserved_defection_rate")]
    mean = probe.set_index("design")["mean"]
    assert np.allclose(v["probe_mean"], mean["noisy_monitoring"])
    assert np.allclose(v["probe_base"], mean[BASELINE])
    assert json.loads((out / "compare.json").read_text())["probe"] == 5
    assert "deployment probe of 5 rounds" in (out / "report.md").read_text()
    plain = tmp_path / "p"
    assert main([*args, "--out", str(plain)]) == 0
    without = pd.read_parquet(plain / "comparison.parquet")
    with_ = table[table["phase"] != PROBE].reset_index(drop=True)
    pd.testing.assert_frame_equal(with_, without)
    assert pd.read_csv(plain / "verdicts.csv")["probe_mean"].isna().all()
    # a comparison saved before the probe existed reads as one without it
    spec = json.loads((plain / "compare.json").read_text())
    del spec["probe"]
    (plain / "compare.json").write_text(json.dumps(spec))
    assert Spec.read(plain / "compare.json").probe == 0


@pytest.mark.parametrize(
    ("overrides", "probe"),
    [(["scenario=scheming_mix", "mitigation.random_audits.rate=0.3"], 5), ([], 0)],
)
def test_each_design_config_is_that_designs_own_composition(overrides, probe):
    # prepare composes once with every design's mitigations; each design's config must be
    # the one its own composition gives: the same keys, values and order.
    import json

    from omegaconf import OmegaConf

    from analysis.compare import design_overrides, parse_design, prepare, probe_overrides
    from sim.config import load_params
    from sim.mitigations import BUILT_IN

    designs = [m.name for m in BUILT_IN] + ["random_audits+interpretability"]
    spec, configs = prepare(overrides, designs, probe=probe)
    extra = probe_overrides(probe) if probe else []
    for name in spec.designs:
        own, _ = load_params([*design_overrides(overrides, parse_design(name)[1]), *extra])
        want = json.dumps(OmegaConf.to_container(own, resolve=True))
        assert json.dumps(OmegaConf.to_container(configs[name], resolve=True)) == want
