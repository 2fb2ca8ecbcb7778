"""``python -m analysis <command>``: analyses of saved results.

Commands:
    compare     run a baseline and oversight designs on common random numbers and write
                the comparison table, verdicts, figures and report (docs/compare.md).
    robustness  the comparison's verdict shares over a Latin hypercube of gamma, h, lam,
                eta and eta_phi (docs/compare.md, "Robustness of the verdicts").
    audit-rate  find the cheapest random-audit rate that meets a target (docs/inspection.md).
    design      the trainer's committed design (a Stackelberg leader): the cheapest design
                of its levers meeting a target, or the best within a budget (docs/design.md).
    learn       train Q-learners on their own utility and see whether they learn to fake
                alignment (docs/learners.md).
    collect     collect the run folders under some folders (runs, multiruns, grid runs)
                into one long table, one row per run x phase x metric (docs/collect.md).
    figures     sweep figures and report: phase diagram with the closed-form threshold,
                response curves, compliance gap, alignment illusion, sandbagging
                (docs/figures.md).
    reproduce   run every study scenario and write the reproduction report: each
                published figure's target, the simulated value with its 95% interval,
                inside the stated tolerance or not (docs/reproduction.md).
    calibrate   fit population trait distributions (and trainer parameters) to target
                rates with sample sizes; fit, residuals, identifiability
                (docs/calibration.md).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    commands = {
        "compare": "analysis.compare_cli",
        "robustness": "analysis.robustness",
        "audit-rate": "analysis.audit_rate",
        "design": "analysis.design",
        "learn": "analysis.learn",
        "collect": "analysis.collect",
        "figures": "analysis.sweep_report",
        "reproduce": "analysis.reproduce",
        "calibrate": "analysis.calibrate",
    }
    if not argv or argv[0] not in commands:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import importlib

    return importlib.import_module(commands[argv[0]]).cli(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
