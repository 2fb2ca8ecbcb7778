"""``python -m analysis compare``: the command line of the policy comparison."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from sim.errors import ConfigError
from sim.mitigations import MITIGATIONS

USAGE = """python -m analysis compare [overrides ...] [--designs D ...] [--phase P]
                                 [--probe ROUNDS] [--budget B] [--out DIR] [--from DIR]
                                 [--workers N]"""


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis compare",
        usage=USAGE,
        description=(
            "Run a baseline and oversight designs over the same seeds (common random "
            "numbers) and write the comparison table, verdicts, figures and report. "
            "Positional arguments are Hydra overrides of the base scenario, as for "
            "`python -m sim` (e.g. scenario=scheming_mix replicates=8); they and the "
            "options may come in any order."
        ),
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the base scenario")
    p.add_argument(
        "--designs", nargs="+", default=list(MITIGATIONS),
        help="designs: mitigations joined by '+' (e.g. random_audits+interpretability); "
        "default: each mitigation of configs/mitigation/ alone",
    )  # fmt: skip
    p.add_argument("--phase", default=None, help="phase the verdicts read (default: the last)")
    p.add_argument(
        "--probe", type=int, default=0,
        help="append a deployment probe of this many rounds (oversight withdrawn) to every "
        "design; the verdicts then read the hidden preference from it (default 0: none)",
    )  # fmt: skip
    p.add_argument(
        "--budget", type=float, default=None,
        help="cost budget per agent-round (with --from: default the saved comparison's)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="output folder")
    p.add_argument(
        "--from", dest="source", type=Path, default=None,
        help="re-analyse a saved comparison folder without running anything",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=int, default=1,
        help="processes that run the designs (default 1; the results do not depend on it)",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    from analysis.cli_args import parse
    from analysis.compare import analyse, load_designs, prepare, run_designs

    try:
        args = parse(parser(), argv)
        if args.workers < 1:
            raise ConfigError(f"--workers={args.workers} must be >= 1")
        if args.budget is not None and not args.budget >= 0:
            raise ConfigError(f"--budget={args.budget} must be >= 0")
        budget = args.budget
        if args.source is not None:
            spec, results = load_designs(args.source)
            out = args.source
            if budget is None:  # keep the budget the saved comparison was made with
                budget = spec.budget
        else:
            spec, configs = prepare(args.overrides, args.designs, args.phase, args.probe)
            name = configs["baseline"].name
            stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
            out = args.out or Path("comparisons") / str(name) / stamp
            results = run_designs(spec, configs, out, not args.quiet, args.workers)
        _, verdicts, front = analyse(spec, results, out, budget)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    present = verdicts[verdicts["verdict"] != "not present"]
    table = present.pivot(index="design", columns="behaviour", values="verdict").fillna("")
    print(table.to_string())
    print(f"\nPareto-optimal: {', '.join(front.loc[front['pareto'], 'design'])}")
    print(f"-> {out}/report.md")
    return 0
