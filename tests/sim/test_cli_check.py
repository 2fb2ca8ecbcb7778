"""Splitting a ``python -m sim`` command line and expanding sweeps for the pre-run check."""

from __future__ import annotations

import shutil

import pytest

from sim.cli_check import check_argv, parse_argv, split_argv, variants
from sim.config import CONFIG_DIR, load_params
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


def test_hydra_flags_may_come_anywhere():
    cmd = parse_argv(["seed=1", "-m", "trainer.rho=0.1,0.2", "--config-name=config"])
    assert cmd.argv() == ["-m", "--config-name=config", "seed=1", "trainer.rho=0.1,0.2"]
    cmd = parse_argv(["seed=1", "--cfg", "job", "-cn", "config", "x=2"])
    assert cmd.flags == ("--cfg", "job", "-cn", "config") and cmd.overrides == ("seed=1", "x=2")
    assert not cmd.runs
    assert parse_argv(["--info", "searchpath", "seed=1"]).overrides == ("seed=1",)
    assert parse_argv(["--info", "seed=1"]).overrides == ("seed=1",)


def test_flag_without_its_value_and_rerun_are_refused():
    with pytest.raises(ConfigError, match="--config-dir: missing its value"):
        parse_argv(["seed=1", "--config-dir"])
    with pytest.raises(ConfigError, match="--experimental-rerun: not supported"):
        parse_argv(["--experimental-rerun", "outputs/x/.hydra/config.pickle"])


def _user_folder(tmp_path):
    (tmp_path / "scenario").mkdir()
    (tmp_path / "scenario" / "mine.yaml").write_text(
        "# @package _global_\n# Mine: the prompted setting.\n"
        "defaults:\n  - alignment_faking_prompted\nname: mine\nseed: 5\n"
    )
    return tmp_path


@pytest.mark.parametrize("form", ["split", "joined"])
def test_the_pre_check_reads_the_users_config_dir(tmp_path, form):
    folder = _user_folder(tmp_path)
    flag = ["--config-dir", str(folder)] if form == "split" else [f"--config-dir={folder}"]
    cmd = parse_argv(["scenario=mine", *flag])
    assert cmd.source.extra == (folder.resolve(),)
    check_argv(cmd)  # composes: the preset is found in the user's folder
    cfg, _ = load_params(["scenario=mine"], cmd.source)
    assert cfg.name == "mine" and cfg.seed == 5
    with pytest.raises(ConfigError, match=r"scenario=mine: no such preset"):
        check_argv(["scenario=mine"])  # not without the folder


def test_config_path_must_be_absolute_and_exist(tmp_path):
    with pytest.raises(ConfigError, match="--config-path conf: give an absolute folder"):
        parse_argv(["--config-path", "conf"])
    with pytest.raises(ConfigError, match="--config-dir .*: no such folder"):
        parse_argv(["--config-dir", str(tmp_path / "missing")])
    copy = tmp_path / "copy"
    shutil.copytree(CONFIG_DIR, copy)
    (copy / "config.yaml").write_text((copy / "config.yaml").read_text().replace(
        "n_agents: 1000", "n_agents: 77"))  # fmt: skip
    cmd = parse_argv(["--config-path", str(copy), "seed=2"])
    assert load_params(cmd.task_overrides(), cmd.source)[0].n_agents == 77
