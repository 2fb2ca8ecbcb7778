"""The Hydra app behind ``python -m sim``: compose, run, save, print a summary."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.api import execute
from sim.config import CONFIG_DIR, CONFIG_NAME
from sim.errors import ConfigError
from sim.results import COMPLETE


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=CONFIG_NAME)
def main(cfg: DictConfig) -> None:
    """Run one configured simulation into Hydra's output folder."""
    out = Path(HydraConfig.get().runtime.output_dir)
    (out / COMPLETE).unlink(missing_ok=True)  # the folder is partial until saved again
    try:
        res = execute(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    res.save(out)
    print(f"\n{cfg.name}: {cfg.replicates} replicates x {cfg.n_agents} agents -> {out}")
    print(res.summary_table())
