"""Resumable sweeps (sim/sweep.py), end to end: SIGKILL mid-sweep, rerun, compare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from sim import run
from sim.grid import GridResults
from sim.results import COMPLETE, Results, config_hash

RHOS = ("0.1", "0.2", "0.3", "0.4")
SWEEP = ["-m", "n_agents=1500", "replicates=2", "progress=false", f"trainer.rho={','.join(RHOS)}"]
ENV = dict(os.environ, HYDRA_FULL_ERROR="0")


def _cmd(args):
    return [sys.executable, "-m", "sim", *args]


def _sim(args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(args), cwd=cwd, capture_output=True, text=True, env=ENV, timeout=300)


def _done(folder: Path) -> set[str]:
    return (
        {p.name for p in folder.iterdir() if (p / COMPLETE).exists()} if folder.exists() else set()
    )


def _same_run(a: Path, b: Path) -> None:
    assert (a / "metrics.json").read_text() == (b / "metrics.json").read_text(), a.name
    for table in ("rounds.parquet", "replicates.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / table), pd.read_parquet(b / table))


def test_sigkill_mid_sweep_then_rerun_ends_with_the_uninterrupted_results(tmp_path):
    sweep = tmp_path / "killed"
    args = [*SWEEP, f"hydra.sweep.dir={sweep}"]
    job = subprocess.Popen(
        _cmd(args), cwd=tmp_path, env=ENV, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill while the third run is being computed
        if (sweep / "2").exists() and not (sweep / "2" / COMPLETE).exists():
            break
        time.sleep(0.005)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    before = _done(sweep)
    assert 1 <= len(before) < 4, before  # killed mid-way
    stamps = {name: (sweep / name / COMPLETE).stat().st_mtime_ns for name in before}
    (sweep / "2" / ".staging-left-by-a-kill").mkdir(parents=True, exist_ok=True)

    proc = _sim(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "resuming the sweep" in proc.stderr
    for name in before:  # complete runs were skipped, not recomputed
        assert f"skipped {sweep / name}" in proc.stdout
        assert (sweep / name / COMPLETE).stat().st_mtime_ns == stamps[name]
    assert "[sweep] 4/4 runs complete, 0 remaining" in proc.stderr
    assert not (sweep / "2" / ".staging-left-by-a-kill").exists()

    # the uninterrupted sweep, run by the same code in this process, into another folder
    assert _done(sweep) == {"0", "1", "2", "3"}
    for name, rho in zip("0123", RHOS, strict=True):
        ref = run([*SWEEP[1:-1], f"trainer.rho={rho}"], output_dir=tmp_path / "ref" / name)
        assert ref.config == Results.load(sweep / name).config
        _same_run(tmp_path / "ref" / name, sweep / name)


def test_another_sweep_into_the_same_folder_is_refused_and_nothing_changes(tmp_path):
    sweep = tmp_path / "s"
    args = [*SWEEP[:-1], "trainer.rho=0.1", f"hydra.sweep.dir={sweep}"]
    assert _sim(args, tmp_path).returncode == 0
    files = sorted(p for p in sweep.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    proc = _sim([*SWEEP[:-1], "trainer.rho=0.3", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {sweep}: holds another sweep")
    assert {p: p.read_bytes() for p in sorted(p for p in sweep.rglob("*") if p.is_file())} == before


def test_a_run_folder_with_another_complete_config_is_refused(tmp_path):
    out = tmp_path / "run"
    small = [*SWEEP[1:-1], "phases.rl.rounds=10"]
    assert _sim([*small, f"hydra.run.dir={out}"], tmp_path).returncode == 0
    hydra_cfg = (out / ".hydra" / "config.yaml").read_text()
    proc = _sim([*small, "trainer.rho=0.9", f"hydra.run.dir={out}"], tmp_path)
    assert proc.returncode == 2
    assert "holds a complete run of another config" in proc.stderr
    assert (out / ".hydra" / "config.yaml").read_text() == hydra_cfg  # refused before Hydra wrote


def test_grid_run_equals_the_multirun_at_the_same_seeds(tmp_path):
    small = ["n_agents=150", "replicates=2", "phases.rl.rounds=20", "progress=false", "seed=7"]
    multi = tmp_path / "multi"
    proc = _sim(["-m", *small, "population.sigma=0,1", "trainer.rho=0.25,0.75",
                 f"hydra.sweep.dir={multi}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    grid_dir = tmp_path / "grid"
    spec = "sweep.grid={population.sigma:linspace(0,1,2),trainer.rho:[0.25,0.75]}"
    proc = _sim([*small, spec, f"hydra.run.dir={grid_dir}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    grid = GridResults.load(grid_dir)
    for job in sorted(multi.iterdir()):
        if not (job / COMPLETE).exists():
            continue
        res = Results.load(job)
        point = grid.grid[
            (grid.grid["population.sigma"] == float(res.config["population"]["sigma"]))
            & (grid.grid["trainer.rho"] == res.config["trainer"]["rho"])
        ]
        assert len(point) == 1
        g = int(point["point"].iloc[0])
        saved = json.loads((job / "metrics.json").read_text())
        got = grid.point_metrics(g)
        for phase, metrics in saved.items():
            for metric, s in metrics.items():
                want = {k: v for k, v in s.items() if k != "replicates"}
                assert got[phase][metric] == want, (job.name, phase, metric)
        assert point["config_hash"].iloc[0] == config_hash(res.config)
