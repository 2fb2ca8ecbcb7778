"""The search preset ``+experiment=audit_threshold`` with Hydra's optuna sweeper, end to end.

On a small grid and small runs, the sweeper's best trial must be the actual threshold of
the grid: its rate meets the target and every smaller rate of the grid does not, checked
with direct :func:`sim.run` calls at the same seed. Its run folders are named by the
grid value, so rerunning the search into the same folder skips every finished run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sim import run

SMALL = ["n_agents=60", "replicates=2", "phases.rl.rounds=15", "progress=false"]
KEY = "mitigation.random_audits.rate"
GRID = (0.6, 0.7, 0.8)  # at this size: 0.6 misses the target, 0.7 and 0.8 meet it

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None,
    reason="hydra-optuna-sweeper is not installed (pip install -e '.[optuna]')",
)


def _sim(args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, HYDRA_FULL_ERROR="1"), timeout=300,
    )  # fmt: skip


def _af_rate(rate: float) -> float:
    res = run([*SMALL, "mitigation=[random_audits]", f"{KEY}={rate}"])
    return res.metrics["post_rl"]["af_reasoning_rate"]["mean"]


def test_audit_threshold_preset_finds_the_smallest_rate_of_its_grid(tmp_path):
    preset = OmegaConf.load(Path(__file__).parents[2] / "configs/experiment/audit_threshold.yaml")
    target = preset.search.target
    sweep = tmp_path / "sweep"
    args = ["-m", "+experiment=audit_threshold", *SMALL,
            f"{KEY}=choice({','.join(map(str, GRID))})", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = _sim(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # one folder per grid value (named by it), every grid point ran
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == [f"rate={r}" for r in GRID]
    result = OmegaConf.load(sweep / "optimization_results.yaml")
    best = result.best_params[KEY]
    assert best in GRID and result.best_value == best  # feasible: the score is the rate
    assert _af_rate(best) <= target
    smaller = [r for r in GRID if r < best]
    assert smaller, "the grid must have a rate below the threshold for the test to mean much"
    assert all(_af_rate(r) > target for r in smaller)

    # Rerun into the same folder: every run is found complete (whatever order the grid
    # comes in this time) and skipped, and the search ends with the same answer.
    (sweep / "optimization_results.yaml").unlink()
    saved = {p: p.stat().st_mtime_ns for p in sweep.glob("rate=*/metrics.json")}
    again = _sim(args, tmp_path)
    assert again.returncode == 0, again.stderr[-4000:]
    assert len(saved) == len(GRID)
    assert {p: p.stat().st_mtime_ns for p in sweep.glob("rate=*/metrics.json")} == saved
    assert OmegaConf.load(sweep / "optimization_results.yaml") == result


def test_preset_composes_with_its_search_settings():
    from sim.config import compose_config
    from sim.search import check

    cfg = compose_config(["+experiment=audit_threshold"])
    assert list(cfg.mitigation) == ["random_audits"]
    assert cfg.search.metric == "af_reasoning_rate" and cfg.search.minimize == KEY
    check(cfg)
