"""Resumable runs and sweeps: skip what is complete, redo what is partial, never mix configs.

Every run folder ends with the ``COMPLETE`` marker, written last and atomically
(:func:`sim.results.write_folder`), and holds its resolved ``config.yaml``. Before a run,
:func:`run_job` looks at its folder:

- complete, with the same config hash (:func:`sim.results.config_hash`): skipped, its
  saved results reused (a sweeper still gets its objective);
- partial (no marker: killed mid-way, or mid-save): recomputed from scratch;
- complete with another config: refused with a one-line error, nothing overwritten.

:class:`SweepGuard` (a Hydra callback, configs/config.yaml) checks the same before Hydra
writes anything: a single run's folder at ``on_run_start``; a sweep's folder at
``on_multirun_start`` against ``sweep.yaml``, the sweep's manifest (its overrides, base
config and sweeper), which it writes on the first run. So rerunning a killed sweep with
the same command and ``hydra.sweep.dir`` completes it; another sweep into that folder is
refused. After each job it prints how many of the sweep's runs are complete.
"""

from __future__ import annotations

import copy
import functools
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from sim.errors import ConfigError
from sim.outdir import check as out_check
from sim.outdir import claim
from sim.results import COMPLETE, config_hash
from sim.run_folder import clear_partial, refusal, refuse_other, status

MANIFEST = "sweep.yaml"


def _resolved(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without Hydra's own section (as the task function sees it)."""
    cfg = copy.copy(cfg)  # a shallow copy is enough to drop the key
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return OmegaConf.to_container(cfg, resolve=True)


def run_job(cfg: DictConfig, out: Path) -> float | None:
    """Run one config into ``out`` unless it is complete there; return the sweep objective.

    Raises:
        ConfigError: bad input, or ``out`` holds a complete run of another config.
    """
    from sim.api import execute
    from sim.grid import run_grid
    from sim.results import Results
    from sim.search import check, objective

    check(cfg)  # a bad search.* fails before the run, not after it
    out_check(out)  # a symlink, or a folder holding files not ours: refused before the run

    resolved = _resolved(cfg)
    digest = config_hash(resolved)
    grid = bool(resolved.get("sweep", {}).get("grid"))
    state = status(out, digest)
    if state == "other":
        raise refusal(out)
    if state == "done":
        print(f"skipped {out}: already complete (config {digest})")
        return None if grid else objective(cfg, Results.load(out).metrics)
    clear_partial(out)
    if grid:
        res = run_grid(cfg, folder=out)  # its chunk store: a killed grid resumes
        res.save(out)
        print(
            f"\n{cfg.name}: grid of {len(res.grid)} points x {cfg.replicates} replicates x "
            f"{cfg.n_agents} agents -> {out}"
        )
        return None
    res = execute(cfg)
    res.save(out)
    print(f"\n{cfg.name}: {cfg.replicates} replicates x {cfg.n_agents} agents -> {out}")
    print(res.summary_table())
    return objective(cfg, res.metrics)


def sweep_size(overrides: list[str]) -> int | None:
    """Runs of a basic-sweeper multirun: the product of the swept values' counts."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # noqa: BLE001 - Hydra reports bad syntax itself
        return None
    sizes = [len(list(ov.sweep_string_iterator())) for ov in parsed if ov.is_sweep_override()]
    return functools.reduce(lambda a, b: a * b, sizes, 1)


def _manifest(config: DictConfig) -> dict[str, Any]:
    sweeper = OmegaConf.to_container(config.hydra.sweeper, resolve=False)
    overrides = list(config.hydra.overrides.task)
    return {
        "overrides": overrides,
        "config_hash": config_hash(_resolved(config)),
        "sweeper": sweeper,
        "runs": _expected_runs(config, overrides),
    }


def _expected_runs(config: DictConfig, overrides: list[str]) -> int | None:
    sweeper = config.hydra.sweeper
    if "n_trials" in sweeper:
        return int(sweeper.n_trials)
    if str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return sweep_size(overrides)
    return None


class SweepGuard(Callback):
    """Hydra callback: refuse to mix configs in one folder; count a sweep's finished runs."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:  # noqa: D102
        try:
            refuse_other(Path(config.hydra.run.dir), config_hash(_resolved(config)))
        except ConfigError as err:
            _exit(err)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:  # noqa: D102
        folder = Path(config.hydra.sweep.dir)
        want = _manifest(config)
        path = folder / MANIFEST
        if path.exists():
            try:
                have = OmegaConf.to_container(OmegaConf.load(path))
            except Exception:  # noqa: BLE001
                _exit(ConfigError(f"{path}: unreadable; delete it or choose another folder"))
            keys = ("overrides", "config_hash", "sweeper")
            if any(have.get(k) != want[k] for k in keys):
                _exit(refusal(folder, sweep=True))
            print(f"resuming the sweep in {folder}: complete runs are skipped", file=sys.stderr)
        else:
            try:
                claim(folder)
            except ConfigError as err:
                _exit(err)
            OmegaConf.save(OmegaConf.create(want), path)
            print(f"sweep folder: {folder} (rerun with hydra.sweep.dir={folder} to resume)",
                  file=sys.stderr)  # fmt: skip

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:  # noqa: D102
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
        if hc.mode != RunMode.MULTIRUN:
            return
        folder = Path(hc.sweep.dir)
        done = sum(1 for p in folder.iterdir() if (p / COMPLETE).exists())
        try:
            total = OmegaConf.load(folder / MANIFEST).get("runs")
        except Exception:  # noqa: BLE001
            total = None
        left = "" if total is None else f", {max(int(total) - done, 0)} remaining"
        print(f"[sweep] {done}{'' if total is None else f'/{total}'} runs complete{left}",
              file=sys.stderr)  # fmt: skip


def _exit(err: ConfigError) -> None:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)
