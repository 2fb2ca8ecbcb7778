"""The plain Python entry point, ``run(overrides) -> Results``; the Hydra app shares its code."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sim.config import compose_config, to_params
from sim.engine import simulate
from sim.metrics import (
    generation_table,
    phase_counts,
    phase_values,
    replicate_table,
    rounds_table,
    summarize_phases,
)
from sim.params import RunParams
from sim.results import Results


def execute(cfg: DictConfig, progress: bool | None = None) -> Results:
    """Validate a composed config, simulate it, and return its results.

    Args:
        cfg: a config composed from configs/ (see :func:`sim.config.compose_config`).
        progress: show a progress bar; ``None`` uses ``cfg.progress``.

    Raises:
        ConfigError: the config is invalid (one line naming the key); nothing was run.
    """
    params: RunParams = to_params(cfg)
    show = bool(cfg.progress) if progress is None else progress
    sim = simulate(params, progress=show, trace=bool(cfg.trace))
    decisions = sim.recorder.decisions(params.phases) if cfg.trace else None
    values = phase_values(
        sim.recorder, params.phases, params.seed, params.episodes.evaluation.bootstrap
    )
    generations = None
    if params.selection.enabled:
        generations = generation_table(
            sim.recorder, params.phases, params.selection.every, sim.generations
        )
    return Results(
        metrics=summarize_phases(values, phase_counts(sim.recorder, params.phases)),
        rounds=rounds_table(sim.recorder, params.phases),
        config=OmegaConf.to_container(cfg, resolve=True),
        decisions=decisions,
        replicates=replicate_table(values),
        generations=generations,
    )


def execute_all(cfgs: Sequence[DictConfig], workers: int = 1):
    """:func:`execute` each config, in order; ``workers > 1`` runs them in that many processes.

    Yields ``(index, results)`` in the configs' order as each is ready. The results do not
    depend on ``workers`` (each run is its own config's, at its own seed). Processes are
    forked where the platform can (no start-up per run), else spawned.

    Raises:
        ConfigError: a config is invalid (one line naming the key).
    """
    if workers <= 1 or len(cfgs) <= 1:
        for i, cfg in enumerate(cfgs):
            yield i, execute(cfg, progress=False)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(min(workers, len(cfgs)), mp_context=mp.get_context(method)) as ex:
        futures = [ex.submit(execute, cfg, False) for cfg in cfgs]
        for i, future in enumerate(futures):
            yield i, future.result()


def run(
    overrides: Sequence[str] | DictConfig = (),
    *,
    output_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> Results:
    """Run a simulation from Hydra-style overrides, as ``python -m sim`` would.

    Example:
        >>> res = run(["scenario=alignment_faking", "population.sigma=0", "seed=1"])
        >>> res.metrics["post_rl"]["compliance_gap"]["mean"]  # doctest: +SKIP

    Args:
        overrides: override strings (``"trainer.rho=0.3"``), or an already composed config.
        output_dir: if given, also write the run folder there.
        progress: show a progress bar.

    Returns:
        The results (metrics per phase, per-round table, resolved config).

    Raises:
        ConfigError: bad input (the message is one line naming the key), or ``output_dir``
            holds a complete run of another config. Nothing is written.
    """
    cfg = overrides if isinstance(overrides, DictConfig) else compose_config(list(overrides))
    if output_dir is not None:  # as the CLI: never overwrite another config's complete run
        from sim.outdir import check
        from sim.results import config_hash
        from sim.run_folder import refuse_other

        check(output_dir)  # not a symlink, not a folder holding files this project did not write
        refuse_other(Path(output_dir), config_hash(OmegaConf.to_container(cfg, resolve=True)))
    res = execute(cfg, progress=progress)
    if output_dir is not None:
        res.save(output_dir)
    return res
