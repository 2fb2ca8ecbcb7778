"""The package installs with its presets: a wheel built from the checkout runs from anywhere.

Before ``configs/`` shipped as the data package ``sim_configs``, a non-editable install
failed with ``Primary config directory not found`` outside the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed():
    listed = set(_project()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("sim", "agents", "analysis")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found | {"sim_configs"} == listed


def test_console_commands_point_at_real_entry_points():
    import importlib

    scripts = _project()["project"]["scripts"]
    assert set(scripts) == {"tis", "tis-analysis"}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_holds_every_preset_and_study_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    presets = {
        f"sim_configs/{p.relative_to(ROOT / 'configs')}" for p in (ROOT / "configs").rglob("*.yaml")
    }
    data = {str(p.relative_to(ROOT)) for d in ("analysis/studies", "analysis/calibration")
            for p in (ROOT / d).iterdir() if p.suffix in (".yaml", ".csv")}  # fmt: skip
    assert presets and presets <= names
    assert data and data <= names
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_the_installed_wheel_runs_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site),
         str(wheel)], check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), HYDRA_FULL_ERROR="0")
    probe = "import sim, sim.config as c; print(sim.__file__); print(c.CONFIG_DIR)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=work, env=env, capture_output=True,
                           text=True, check=True).stdout.split()  # fmt: skip
    assert all(Path(w).is_relative_to(site) for w in where), where
    args = ["scenario=alignment_faking_prompted", "n_agents=20", "replicates=2", "progress=false",
            f"hydra.run.dir={work / 'run'}"]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "sim", *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "compliance_gap" in proc.stdout and (work / "run" / "metrics.json").exists()
