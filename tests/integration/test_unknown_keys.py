"""``+key``, ``++key`` and ``~key`` meet the schema at every entry point (issue 17).

Hydra adds a key given with ``+``/``++`` even to a struct config; before the schema walk
(sim.config.check_keys) ``python -m sim +trainer.bogus_key=1`` ran and saved the key.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sim import run
from sim.errors import ConfigError

TINY = ["n_agents=8", "replicates=1", "progress=false", "scenario=alignment_faking_prompted"]
BAD = ["+trainer.bogus_key=1", "++trainer.bogus_key=1", "+bogus=1", "++population.zzz=2",
       "++episodes.evaluation.zzz=1", "+sweep.zz=1"]  # fmt: skip


def _key(override: str) -> str:
    return override.lstrip("+").split("=")[0]


@pytest.mark.parametrize("override", BAD)
def test_run_refuses_an_added_key(override, tmp_path):
    with pytest.raises(ConfigError, match=rf"unknown config key '{_key(override)}'"):
        run([*TINY, override], output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("override", ["~seed", "~trainer.rho", "~episodes.evaluation"])
def test_run_refuses_a_deleted_schema_key(override):
    with pytest.raises(ConfigError, match=rf"{override[1:]}.*cannot be deleted with ~"):
        run([*TINY, override])


def test_added_open_entries_still_work():
    res = run([*TINY, "+phases.extra={rounds:2,train:false}", "++trainer.rho=0.3"])
    assert list(res.metrics) == ["prompted", "extra"]


def test_cli_refuses_an_added_key_and_writes_nothing(tmp_path):
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *TINY, "+trainer.bogus_key=1"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown config key 'trainer.bogus_key' (docs/configuration.md lists the keys)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_environments_refuse_an_added_key():
    from sim.envs.gym_env import TrainingGameEnv
    from sim.envs.parallel import TrainingGameParallelEnv

    with pytest.raises(ConfigError, match="unknown config key 'trainer.bogus_key'"):
        TrainingGameParallelEnv(overrides=[*TINY, "+trainer.bogus_key=1"])
    with pytest.raises(ConfigError, match="unknown config key 'population.zzz'"):
        TrainingGameEnv(overrides=[*TINY, "++population.zzz=1"])


def test_mesa_model_refuses_an_added_key():
    from sim.abm.model import SimModel

    with pytest.raises(ConfigError, match="unknown config key 'trainer.bogus_key'"):
        SimModel(n_agents=5, seed=1, overrides=["+trainer.bogus_key=1"])


def test_analysis_commands_refuse_an_added_key(tmp_path, capsys):
    from analysis.__main__ import main

    code = main(["compare", "--designs", "noisy_monitoring", *TINY, "+trainer.bogus_key=1",
                 "--out", str(tmp_path / "cmp")])  # fmt: skip
    assert code == 2
    assert "unknown config key 'trainer.bogus_key'" in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()
