"""``python -m analysis reproduce``: run every study scenario and write the reproduction report.

For each study file (``analysis/studies/*.yaml`` by default; :mod:`analysis.studies`) it
composes every named run with the reproduction's size, checks every target against the
composed configs (phases that exist), runs what is not already complete in
``OUT/runs/<study>/<run>/`` (a complete run of the same config is reused; one of another
config is refused, nothing overwritten), evaluates every target on the runs' replicate
tables, and writes ``OUT/targets.parquet`` and ``OUT/targets.csv`` (one row per target),
``OUT/report.md`` (or ``--report``) and one figure per study next to the report
(``img/reproduction_<study>.png``/``.pdf``). docs/reproduction.md is the full-size report.

``--report-only`` reads the saved runs and simulates nothing.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from analysis.cli_args import parse
from analysis.studies import Study, default_studies, evaluate, load_study
from sim.errors import ConfigError
from sim.outdir import check as out_check
from sim.outdir import claim

FULL_REPLICATES = 32
"""Replicates per run of the full reproduction (independent seeds spawned from ``--seed``)."""
FAST_REPLICATES = 4
"""Replicates per run of ``--fast`` (the test suite's path)."""


def _size(args: argparse.Namespace) -> list[str]:
    reps = args.replicates or (FAST_REPLICATES if args.fast else FULL_REPLICATES)
    rule = [] if args.rule is None else [f"population.rule={args.rule}"]
    return [f"replicates={reps}", f"seed={args.seed}", "progress=false", *rule]


@dataclass(frozen=True)
class PlannedRun:
    """A study run's composed config, resolved once, and its config hash."""

    cfg: Any
    config: dict[str, Any]
    digest: str


def prepare(studies: Sequence[Study], size: Sequence[str]) -> dict[tuple[str, str], PlannedRun]:
    """Compose and validate every run's config; check each target's phases exist.

    Returns:
        ``(study, run) -> planned run``.

    Raises:
        ConfigError: one line naming the study file and the run or target at fault.
    """
    from sim.config import compose_config, to_params
    from sim.results import config_hash

    configs = {}
    for study in studies:
        for name, overrides in study.runs.items():
            try:
                cfg = compose_config([*overrides, *size])
                phases = [p.name for p in to_params(cfg).phases]
            except ConfigError as exc:
                raise ConfigError(f"{study.path}: runs.{name}: {exc}") from exc
            config = OmegaConf.to_container(cfg, resolve=True)
            configs[study.name, name] = (PlannedRun(cfg, config, config_hash(config)), phases)
        for t in study.targets:
            for term in (t.term, t.minus):
                if term is None:
                    continue
                phases = configs[study.name, term.run][1]
                if term.phase not in phases:
                    raise ConfigError(
                        f"{study.path}: targets.{t.id}: run {term.run} has no phase "
                        f"{term.phase!r} (it has {', '.join(phases)})"
                    )
    return {k: run for k, (run, _) in configs.items()}


def run_folder(out: Path, study: str, run: str) -> Path:
    """Where a study's run is saved (each name one safe path component)."""
    from sim.outdir import safe_name

    return out / "runs" / safe_name(study, "study name") / safe_name(run, f"run name of {study}")


def ensure_run(run: PlannedRun, folder: Path, simulate: bool) -> str:
    """Run ``run`` into ``folder`` unless it is complete there; returns what was done.

    Raises:
        ConfigError: ``folder`` holds a complete run of another config, or (without
            ``simulate``) no complete run.
    """
    from sim.api import execute
    from sim.run_folder import clear_partial, status

    state = status(folder, run.digest)
    if state == "done":
        return "reused"
    if state == "other":
        raise ConfigError(
            f"{folder}: holds a complete run of another config (another size, seed or "
            "study file); nothing was overwritten (choose another --out, or delete it)"
        )
    if not simulate:
        raise ConfigError(f"{folder}: no complete run ({state}); run without --report-only")
    clear_partial(folder)
    execute(run.cfg, progress=False).save(folder, figure=False)
    return "ran"


def _replicates(folder: Path) -> pd.DataFrame:
    from sim.results import read_parquet

    return read_parquet(folder / "replicates.parquet", ("phase", "replicate", "metric", "value"))


def target_table(studies: Sequence[Study], out: Path, configs: dict) -> pd.DataFrame:
    """One row per target: the study's value and tolerance, the simulator's estimate, met or not."""
    rows = []
    for study in studies:
        tables = {
            name: _replicates(run_folder(out, study.name, name))
            for name in {t.term.run for t in study.targets}
            | {t.minus.run for t in study.targets if t.minus is not None}
        }
        for t in study.targets:
            run = configs[study.name, t.term.run]
            rows.append(
                {
                    "study": study.name,
                    "group": t.group,
                    "target": t.id,
                    "figure": t.figure,
                    "statistic": t.describe(),
                    "metric": t.term.metric,
                    "phase": t.term.phase,
                    "run": t.term.run,
                    "minus_run": None if t.minus is None else t.minus.run,
                    "value": t.value,
                    "tol_low": t.tolerance[0],
                    "tol_high": t.tolerance[1],
                    "criterion": t.criterion,
                    "approximate": t.approximate,
                    "why": t.why,
                    **evaluate(t, tables),
                    "overrides": " ".join(study.runs[t.term.run]),
                    "replicates": int(run.config["replicates"]),
                    "n_agents": int(run.config["n_agents"]),
                    "seed": int(run.config["seed"]),
                    "config_hash": run.digest,
                }
            )
    return pd.DataFrame(rows)


def reproduce(
    studies: Sequence[Study],
    out: Path,
    size: Sequence[str],
    simulate: bool = True,
    log=lambda line: print(line, flush=True),
) -> tuple[pd.DataFrame, dict]:
    """Run (or reuse) every study run and evaluate every target.

    Returns:
        The target table and ``(study, run) -> planned run``.
    """
    configs = prepare(studies, size)
    if simulate:
        claim(out)  # every run checked: now the folder is written
    total = len(configs)
    for i, ((study, name), run) in enumerate(configs.items(), 1):
        start = time.perf_counter()
        done = ensure_run(run, run_folder(out, study, name), simulate)
        secs = time.perf_counter() - start
        log(f"[reproduce] {i}/{total} {study}/{name}: {done} ({secs:.1f} s)")
    return target_table(studies, out, configs), configs


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analysis reproduce",
        description="Run every study scenario and write the reproduction report "
        "(docs/reproduction.md).",
    )
    p.add_argument("studies", nargs="*", type=Path, help="study files (default: all shipped)")
    p.add_argument("--out", type=Path, default=Path("reproduction"), help="runs and tables")
    p.add_argument("--report", type=Path, help="the report's path (default OUT/report.md)")
    p.add_argument("--replicates", type=int, help=f"per run (default {FULL_REPLICATES})")
    p.add_argument("--fast", action="store_true", help=f"{FAST_REPLICATES} replicates per run")
    p.add_argument("--seed", type=int, default=0, help="the runs' seed (default 0)")
    p.add_argument("--report-only", action="store_true", help="read saved runs; simulate nothing")
    p.add_argument(
        "--rule", default=None,
        help="every run's decision rule (population.rule), e.g. exact (default: the presets')",
    )  # fmt: skip
    return p


def command_line(argv: Sequence[str]) -> str:
    """The command that regenerates a report, as printed in it."""
    return shlex.join(["python", "-m", "analysis", "reproduce", *argv])


def cli(argv: Sequence[str]) -> int:
    """Entry point of ``python -m analysis reproduce``; returns the exit code."""
    from analysis.reproduce_report import write_report

    try:
        args = parse(_parser(), argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.replicates is not None and args.replicates < 2:
        print("error: --replicates: at least 2 (the interval is over replicates)", file=sys.stderr)
        return 2
    try:
        paths = args.studies or default_studies()
        studies = [load_study(p) for p in paths]
        names = [s.name for s in studies]
        if len(set(names)) != len(names):
            raise ConfigError(f"two study files have the same study name: {', '.join(names)}")
        for s in studies:  # every name is checked before anything is written
            for r in s.runs:
                run_folder(args.out, s.name, r)
        out_check(args.out)  # before anything runs; claimed once every run is checked
        table, configs = reproduce(studies, args.out, _size(args), simulate=not args.report_only)
        claim(args.out)
        table.to_parquet(args.out / "targets.parquet", index=False)
        table.to_csv(args.out / "targets.csv", index=False)
        report = args.report or args.out / "report.md"
        write_report(studies, table, configs, report, command_line(argv))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    met = int(table["inside"].fillna(False).sum())
    print(f"{met} of {len(table)} targets inside their tolerance; report: {report}")
    return 0
