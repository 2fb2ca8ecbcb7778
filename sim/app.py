"""The Hydra app behind ``python -m sim``: compose, run (or skip if complete), save, summarise."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.config import CONFIG_DIR, CONFIG_NAME, drop_unused_plugin_groups
from sim.errors import ConfigError
from sim.sweep import run_job


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=CONFIG_NAME)
def main(cfg: DictConfig) -> float | None:
    """Run one configured simulation (or grid) into Hydra's output folder.

    Returns the ``search.*`` objective for Hydra's sweepers (None without one).
    """
    try:
        drop_unused_plugin_groups(cfg)  # as compose_config does (sim.config)
        return run_job(cfg, Path(HydraConfig.get().runtime.output_dir))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
