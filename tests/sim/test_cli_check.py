"""Splitting a ``python -m sim`` command line and expanding sweeps for the pre-run check."""

from __future__ import annotations

import pytest

from sim.cli_check import check_argv, split_argv, variants
from sim.errors import ConfigError


def test_split_keeps_task_overrides_only():
    argv = ["-m", "seed=1", "hydra.run.dir=x", "hydra/launcher=basic", "--config-name", "config"]
    assert split_argv(argv) == (["seed=1"], True)
    assert split_argv(["--cfg", "job", "seed=1"]) == (["seed=1"], False)
    assert split_argv(["--help"])[1] is False


def test_variants_cover_every_swept_value_once():
    out = variants(["seed=1", "trainer.rho=0.1,0.2", "n_agents=10,20,30"])
    assert out[0] == ["seed=1", "trainer.rho=0.1", "n_agents=10"]
    flat = {o for v in out for o in v}
    assert {"trainer.rho=0.2", "n_agents=20", "n_agents=30"} <= flat
    assert len(out) == 1 + 1 + 2


def test_check_argv_finds_a_bad_swept_value():
    with pytest.raises(ConfigError, match=r"trainer\.rho=1\.5"):
        check_argv(["-m", "trainer.rho=0.2,1.5"])
    check_argv(["-m", "trainer.rho=0.2,0.5"])  # fine
    check_argv(["--cfg", "job", "population.sigma=7"])  # does not run the task: not checked
