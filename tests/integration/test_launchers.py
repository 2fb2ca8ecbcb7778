"""Hydra launchers end to end: ``python -m sim -m hydra/launcher=...`` in subprocesses.

Each sweep's runs must equal the same runs done in-process with :func:`sim.run`: a
launcher changes where a job runs, never its result. The Ray test needs the ``ray``
extra and is marked ``ray`` (docs/launchers.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sim import Results, run
from sim.results import COMPLETE

SMALL = ["n_agents=60", "replicates=2", "phases.rl.rounds=15", "progress=false"]
RHOS = ("0.1", "0.3")


def _sim(args, cwd: Path, env: dict | None = None, timeout: float = 300):
    env = dict(os.environ, HYDRA_FULL_ERROR="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "sim", "-m", *args], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=timeout,
    )  # fmt: skip


def _importable(*modules: str) -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _check_sweep_equals_in_process(sweep: Path) -> None:
    """Every job folder is complete and its metrics.json equals the in-process run's."""
    runs = sorted(p for p in sweep.iterdir() if p.is_dir() and (p / COMPLETE).exists())
    assert len(runs) == len(RHOS), sorted(p.name for p in sweep.iterdir())
    by_rho = {Results.load(r).config["trainer"]["rho"]: r for r in runs}
    assert sorted(by_rho) == sorted(float(r) for r in RHOS)
    for rho, folder in by_rho.items():
        saved = json.loads((folder / "metrics.json").read_text())
        direct = run([*SMALL, f"trainer.rho={rho}"])
        assert json.dumps(saved) == json.dumps(direct.metrics)  # bit for bit, through JSON


def test_joblib_sweep_runs_in_worker_processes_and_equals_in_process_runs(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _sim(
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"trainer.rho={','.join(RHOS)}",
         *SMALL, f"hydra.sweep.dir={sweep}"], tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Joblib.Parallel(n_jobs=2" in proc.stderr + proc.stdout
    _check_sweep_equals_in_process(sweep)


@pytest.mark.skipif(
    not _importable("submitit", "hydra_plugins.hydra_submitit_launcher"),
    reason="hydra-submitit-launcher is not installed (pip install -e '.[slurm]')",
)
def test_submitit_local_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _sim(
        ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10",
         f"trainer.rho={','.join(RHOS)}", *SMALL, f"hydra.sweep.dir={sweep}"], tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (sweep / ".submitit").is_dir()  # submitit's job files: one folder per job
    _check_sweep_equals_in_process(sweep)


def _processes_mentioning(text: str) -> list[int]:
    """Process ids whose command line contains ``text`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.ray
@pytest.mark.skipif(
    not _importable("ray", "hydra_plugins.hydra_ray_launcher"),
    reason="the `ray` extra is not installed (pip install -e '.[ray]')",
)
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="checks Ray's processes in /proc")
def test_ray_local_sweep_and_ray_shuts_down(tmp_path):
    sweep = tmp_path / "sweep"
    # Ray's own folder: short (its socket paths must stay under 108 characters) and ours,
    # so that the processes of this Ray, and only those, can be found afterwards.
    ray_dir = tempfile.mkdtemp(prefix="ray-sim-", dir="/tmp")
    try:
        proc = _sim(
            ["hydra/launcher=ray_local", "hydra.launcher.ray.init.num_cpus=2",
             f"+hydra.launcher.ray.init._temp_dir={ray_dir}", f"trainer.rho={','.join(RHOS)}",
             *SMALL, f"hydra.sweep.dir={sweep}"], tmp_path,
            env={"RAY_USAGE_STATS_ENABLED": "0"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "Ray Launcher is launching 2 jobs" in proc.stderr + proc.stdout
        _check_sweep_equals_in_process(sweep)
        # The driver's exit shuts its local Ray down: no process of it may outlive it.
        deadline = time.monotonic() + 30
        while _processes_mentioning(ray_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _processes_mentioning(ray_dir) == []
    finally:
        for pid in _processes_mentioning(ray_dir):  # only this test's Ray, if it outlived us
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        shutil.rmtree(ray_dir, ignore_errors=True)
