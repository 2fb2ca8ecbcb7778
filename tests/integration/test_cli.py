"""``python -m sim`` end to end, in subprocesses, into temporary folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim import Results, run
from sim.results import COMPLETE

SMALL = ["n_agents=60", "replicates=2", "phases.rl.rounds=15", "progress=false"]


def _sim(args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip


def test_cli_run_writes_folder_matching_python_api(tmp_path):
    out = tmp_path / "run"
    proc = _sim([*SMALL, "seed=3", f"hydra.run.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "compliance_gap" in proc.stdout and "post_rl" in proc.stdout
    for name in ("metrics.json", "rounds.parquet", "summary.png", "config.yaml", COMPLETE):
        assert (out / name).exists(), name
    assert (out / ".hydra" / "config.yaml").exists()
    saved = json.loads((out / "metrics.json").read_text())
    direct = run([*SMALL, "seed=3"])
    assert json.dumps(saved) == json.dumps(direct.metrics)  # bit for bit, through JSON
    assert Results.load(out).rounds.equals(direct.rounds)


def test_cli_multirun_sweeps(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _sim(["-m", *SMALL, "trainer.fidelity=1,0.5", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = sorted(p for p in sweep.iterdir() if p.is_dir() and (p / COMPLETE).exists())
    assert len(runs) == 2
    fidelities = sorted(Results.load(r).config["trainer"]["fidelity"] for r in runs)
    assert fidelities == [0.5, 1.0]


def test_cli_multirun_with_trait_distributions(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *SMALL, "population.theta={dist:uniform,low:0.2,high:0.9},[0.3,0.6]",
            "population.sigma={dist:beta,a:2,b:5}", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = _sim(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    thetas = sorted(str(Results.load(r).config["population"]["theta"]) for r in sweep.iterdir()
                    if (r / COMPLETE).exists())  # fmt: skip
    assert thetas == ["['uniform', 0.2, 0.9]", "[0.3, 0.6]"]


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["population.sigma=1.5"], "population.sigma"),
        (["trainer.eta=-0.1"], "trainer.eta"),
        (["population.foo=1"], "population.foo"),
        (["population.theta={dist:beta,a:0,b:1}"], "population.theta.a"),
        (["n_agents=0"], "n_agents"),
        (["-m", "trainer.rho=0.5,1.5"], "trainer.rho"),  # a bad value inside a sweep
        (["phases.rl.mix.exfiltration=0.2"], "phases.rl.mix"),  # shares sum to 1.2
        (
            ["scenario=apollo_sandbagging", "episodes.evaluation.questions=0"],
            "episodes.evaluation.questions",
        ),
        (["nudge=gentle"], "nudge=gentle"),
    ],
)
def test_cli_bad_input_one_line_nonzero_nothing_written(tmp_path, args, key):
    proc = _sim(
        [*args, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sw'}"], tmp_path
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and key in lines[0], proc.stderr
    assert list(tmp_path.iterdir()) == []  # no folder, no log, nothing


def test_cli_help_runs(tmp_path):
    proc = _sim(["--help"], tmp_path)
    assert proc.returncode == 0 and "population" in proc.stdout


def test_cli_apollo_preset_writes_p_values_per_replicate(tmp_path):
    out = tmp_path / "run"
    args = ["scenario=apollo_instrumental_faking", "nudge=strong", "replicates=3",
            "progress=false", f"hydra.run.dir={out}"]  # fmt: skip
    proc = _sim(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "paired_scheming_rate" in proc.stdout and "compliance_gap" not in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())["evaluation"]
    p = metrics["paired_scheming_p_value"]
    assert len(p["replicates"]) == 3 and p["ci_low"] is None and 0 <= p["mean"] <= 1
    assert metrics["compliance_gap"]["mean"] is None  # no conflict episodes in this preset
    loaded = Results.load(out)
    assert loaded.metrics["evaluation"] == metrics


def test_hydra_flags_after_overrides(tmp_path):
    sweep = tmp_path / "sweep"  # Hydra's own parser refused flags after the overrides
    proc = _sim([*SMALL, "seed=1", "-m", "trainer.fidelity=1,0.5", f"hydra.sweep.dir={sweep}"],
                tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len([p for p in sweep.iterdir() if (p / COMPLETE).exists()]) == 2


def test_list_describes_everything_there_is_to_run(tmp_path):
    from agents.registry import RULES, TRAINERS
    from sim.config import CONFIG_DIR
    from sim.metrics import METRICS
    from sim.params import EPISODE_TYPES

    proc = _sim(["--list"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    named = {ln.split()[0]: ln for ln in lines if ln.startswith("  ") and ln.strip()}
    groups = ("scenario", "mitigation", "profile", "trainer", "population", "nudge")
    presets = {p.stem for g in groups for p in (CONFIG_DIR / g).glob("*.yaml")}
    # the built-in rules (a rule another test registered by a call lives in that process only)
    rules = {k for k, v in RULES.items() if v.__module__.startswith("agents.")}
    expected = presets | rules | set(TRAINERS) | set(METRICS) | set(EPISODE_TYPES)
    missing = expected - set(named)
    assert not missing
    assert all(len(named[n].split()) >= 3 for n in expected)  # a name and a description
    assert list(tmp_path.iterdir()) == []  # --list runs nothing


def test_help_says_what_this_is(tmp_path):
    proc = _sim(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "training-incentives simulator" in proc.stdout and "python -m sim --list" in proc.stdout
