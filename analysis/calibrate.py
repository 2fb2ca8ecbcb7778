"""``python -m analysis calibrate SPEC.yaml``: fit trait distributions and trainer rates to targets.

A spec (docs/calibration.md, :mod:`analysis.calibrate_spec`) names the simulator's base
overrides, the parameters to fit with their candidate values, and the target rates with
their sample sizes or standard errors. Every candidate (a point of the product of the
parameters' values) is simulated on common random numbers; the best is the one with the
smallest deviance; profile-deviance intervals say how well each parameter is pinned
(:mod:`analysis.calibrate_fit`), and the output folder holds the fit, every candidate and
a report (:mod:`analysis.calibrate_report`). This module runs the command
(:func:`calibrate`, :func:`cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from analysis.calibrate_fit import evaluate, fit, prepare, refined
from analysis.calibrate_report import summary, write_outputs
from analysis.calibrate_spec import (
    MAX_REFINE,
    Axis,
    Parameter,
    Spec,
    Target,
    load_spec,
    read_targets_csv,
    tidy,
)
from analysis.cli_args import parse
from sim.errors import ConfigError

USAGE = """python -m analysis calibrate SPEC.yaml [overrides ...] [--out DIR] [--workers N]
                                   [--chunk N] [--refine K] [--quiet]"""


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis calibrate",
        usage=USAGE,
        description=(
            "Fit population trait distributions and trainer rates to target rates: every "
            "candidate of the spec's grid is simulated on common random numbers, the best has "
            "the smallest deviance; writes fit.json, candidates.parquet and report.md "
            "(docs/calibration.md). Overrides after the spec are appended to its base."
        ),
    )
    p.add_argument("spec", type=Path, help="the spec file (YAML)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides appended to the spec's base")
    p.add_argument("--out", type=Path, default=None, help="output folder (calibration/<spec>/)")
    p.add_argument("--workers", type=int, default=1, help="processes over chunks (default 1)")
    p.add_argument("--chunk", type=int, default=32, help="candidates simulated together")
    p.add_argument(
        "--refine", type=int, default=0,
        help="rounds of a finer grid around the best on each identified axis (default 0)",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def check_out(out: Path, spec: Spec) -> None:
    """Refuse a non-empty folder unless it holds a previous calibration of the same spec.

    Raises:
        ConfigError: one line naming the folder.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; nothing was written")
    if not any(out.iterdir()):
        return
    try:
        previous = json.loads((out / "fit.json").read_text()).get("spec")
    except (OSError, ValueError, AttributeError):
        previous = None
    if previous != spec.name:
        raise ConfigError(
            f"{out}: not empty and not a calibration of spec {spec.name!r}; nothing was "
            "overwritten (choose another --out)"
        )


def calibrate(
    spec: Spec,
    out: Path,
    workers: int = 1,
    chunk: int = 32,
    progress: bool = False,
    refine: int = 0,
) -> tuple[Any, Path]:
    """Simulate every candidate, fit, and write the output folder.

    Args:
        spec: the spec (:func:`load_spec`).
        out: the output folder.
        workers: processes over chunks of candidates.
        chunk: candidates simulated together.
        progress: show a progress bar.
        refine: rounds of refinement: midpoints inserted around every identified axis's
            interval (:func:`analysis.calibrate_fit.refined`), then everything re-evaluated.

    Returns:
        The fit (:class:`analysis.calibrate_fit.Fit`) and the folder.

    Raises:
        ConfigError: bad input (one line); nothing was written.
    """
    for name, x, lo in (("--workers", workers, 1), ("--chunk", chunk, 1), ("--refine", refine, 0)):
        if x < lo:
            raise ConfigError(f"{name}={x} must be >= {lo}")
    if refine > MAX_REFINE:
        raise ConfigError(f"--refine={refine}: at most {MAX_REFINE} rounds of refinement")
    check_out(out, spec)
    prepared = prepare(spec)
    evaluation = evaluate(prepared, workers=workers, chunk=chunk, progress=progress)
    result = fit(prepared, evaluation)
    for i in range(1, refine + 1):
        prepared = prepare(refined(prepared.spec, result.profiles))
        evaluation = evaluate(prepared, workers=workers, chunk=chunk, progress=progress)
        result = fit(prepared, evaluation, refined=i)
    return result, write_outputs(out, prepared, evaluation, result)


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    try:
        args = parse(parser(), argv)
        spec = load_spec(args.spec, args.overrides)
        out = args.out or Path("calibration") / spec.name
        result, folder = calibrate(spec, out, args.workers, args.chunk, not args.quiet, args.refine)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary(result))
    print(f"-> {folder}/report.md")
    return 0


__all__ = [
    "Axis", "Parameter", "Spec", "Target", "calibrate", "check_out", "cli", "load_spec",
    "parser", "read_targets_csv", "tidy",
]  # fmt: skip
