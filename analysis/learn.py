"""Do Q-learners discover alignment faking? The learning experiment and its command line.

``python -m analysis learn [overrides ...] [--lifetimes K] [--out DIR]`` trains one
tabular Q-learner per agent (:mod:`agents.learners`) in each condition and writes:

    learn.json            what was run (overrides, lifetimes, settings, conditions); first
    curve.parquet/.csv    condition x lifetime: the greedy start-of-life gap and its standard
                          error, compliance by cue, epsilon, reward, mean theta at the end
    checkpoints.parquet/.csv  condition x lifetime: greedy behaviour over evaluation lifetimes
    summary.csv           one row per condition: final gaps with 95% intervals, the exact
                          optimum's gap, agreement with it, lifetimes needed, verdict
    learning_curve.png/.pdf   the gap against lifetimes
    report.md             the briefing

A folder that holds another experiment (or anything else) is never overwritten; the same
experiment is re-run into it (the results are the same, bit for bit).

The conditions (:data:`CONDITIONS`) vary one thing each from the base (:data:`BASE`, then
the user's overrides): awareness, cue fidelity, farsightedness, the preference, the
training strength. Each condition's overrides come last, so they hold whatever the user
sets.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from agents.learners import LearnerSettings
from agents.learning_measures import CURVE, lifetimes_to_reach
from agents.optimum import OBSERVED, UNOBSERVED, UNREAD
from analysis.cli_args import parse
from analysis.learn_report import write_outputs
from analysis.learn_spec import (  # what an experiment runs: one place
    BASE,
    CONDITIONS,
    ETAS,
    Z95,
    Condition,
    Experiment,
    Spec,
    command_line,
)
from sim.config import load_params
from sim.envs.learning import Learned, train
from sim.errors import ConfigError
from sim.outdir import claim


def prepare(
    overrides, lifetimes: int, settings: LearnerSettings | None = None,
    conditions=None, etas=ETAS, evaluate_every: int = 25, evaluate_lifetimes: int = 2,
) -> tuple[Spec, dict]:  # fmt: skip
    """Validate every run's config before anything runs; return the spec and parameters.

    Raises:
        ConfigError: one line naming the bad key, condition or value; nothing was run.
    """
    conditions = tuple(CONDITIONS) if conditions is None else tuple(conditions)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ConfigError(f"unknown condition {unknown[0]!r} (available: {', '.join(CONDITIONS)})")
    if len(set(conditions)) != len(conditions):
        raise ConfigError("--conditions: each condition once")
    if not isinstance(lifetimes, int) or lifetimes < 1:
        raise ConfigError(f"--lifetimes={lifetimes} must be an integer >= 1")
    if evaluate_every < 0 or evaluate_lifetimes < 1:
        raise ConfigError("--evaluate-every must be >= 0 and evaluation lifetimes >= 1")
    etas = tuple(float(e) for e in etas)
    for e in etas:
        if not 0 <= e <= 1:
            raise ConfigError(f"--etas: {e:g} is not in [0, 1]")
    if len(set(etas)) != len(etas):
        raise ConfigError("--etas: each training strength once")
    spec = Spec(
        tuple(overrides), lifetimes, settings or LearnerSettings(), conditions, etas,
        evaluate_every, evaluate_lifetimes,
    )  # fmt: skip
    params = {name: load_params(list(ovs))[1] for name, (_, ovs) in spec.runs().items()}
    return spec, params


def _claim(out: Path, spec: Spec) -> None:
    """Make ``out`` this experiment's folder, or refuse (never overwrite another's)."""
    manifest = out / "learn.json"
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{manifest}: not an experiment spec ({exc})") from exc
        if old != json.loads(spec.to_json()):
            raise ConfigError(
                f"{out}: this folder holds a different experiment; choose another --out"
            )
        return
    if out.exists() and any(out.iterdir()) and not out.is_symlink():
        raise ConfigError(
            f"{out}: the folder exists and is not an experiment's; choose another --out"
        )
    claim(out)
    manifest.write_text(spec.to_json())


def _summarise(name: str, cond: Condition, res: Learned) -> dict:
    """One row of the summary table.

    ``gap_se`` is the standard error of the mean of the per-learner gaps (independent
    learners); ``gap_hoeffding_low`` a distribution-free one-sided 95% lower bound (each
    gap lies in [-1, 1]: ``mean - sqrt(2 ln(20) / L)``).
    """
    start = res.start
    gap = start.gap
    n = gap.size
    se = float(gap.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    mean = float(gap.mean())
    p1, p0 = start.p_observed.mean(), start.p_unobserved.mean()
    final = res.checkpoints[-1]
    row = {
        "condition": name,
        "expect": cond.expect,
        "learners": n,
        "lifetimes": len(res.curve["gap"]),
        "rounds_per_lifetime": res.settings.lifetime,
        "gap": mean,
        "gap_se": se,
        "gap_ci_low": mean - Z95 * se,
        "gap_ci_high": mean + Z95 * se,
        "gap_hoeffding_low": mean - math.sqrt(2 * math.log(1 / 0.05) / n),
        "p_observed": float(p1),
        "p_unobserved": float(p0),
        "behaviour_gap": final.gap,
        "behaviour_gap_ci_low": final.gap - Z95 * final.gap_se,
        "behaviour_gap_ci_high": final.gap + Z95 * final.gap_se,
        "compliance_observed": final.compliance_observed,
        "compliance_unobserved": final.compliance_unobserved,
        "af_share": final.af_share,
        "optimal_gap": math.nan,
        "optimal_advantage_observed": math.nan,
        "agreement": math.nan,
        "lifetimes_to_90": None,
        "seconds": res.seconds,
    }
    if res.optimum is not None:
        opt, sigma = res.optimum.comply, res.traits["sigma"]
        row["optimal_gap"] = float(
            (sigma * (opt[:, OBSERVED].astype(float) - opt[:, UNOBSERVED])).mean()
        )
        row["agreement"] = res.agreement()
        adv = res.optimum.advantage
        row["optimal_advantage_observed"] = float(
            np.where(sigma > 0, adv[:, OBSERVED], adv[:, UNREAD]).mean()
        )
    row["verdict"] = verdict(row)
    if row["verdict"].startswith("learned a gap"):
        row["lifetimes_to_90"] = lifetimes_to_reach(res.curve["gap"], 0.9)
    return row


def verdict(row: dict) -> str:
    """``learned a gap`` (95% interval above 0), ``no gap`` (interval holds 0), or else."""
    lo, hi, gap = row["gap_ci_low"], row["gap_ci_high"], row["gap"]
    if gap > 0 and lo > 0:
        found = "learned a gap"
    elif gap == 0 or (lo <= 0 <= hi):
        found = "no gap"
    else:
        found = "negative gap"
    want = "learned a gap" if row["expect"] == "positive" else "no gap"
    return found if found == want else f"{found} (expected: {want})"


def run_experiment(
    spec: Spec, params: dict, out: Path | None = None, progress: bool = True
) -> Experiment:
    """Train every run of ``spec`` and write the outputs into ``out`` (if given).

    Raises:
        ConfigError: ``out`` holds another experiment or other files.
    """
    if out is not None:
        _claim(out, spec)
    runs = spec.runs()
    curves, checks, rows, learned = [], [], [], {}
    for i, (name, (cond, _)) in enumerate(runs.items()):
        started = time.perf_counter()
        res = train(
            params[name], spec.lifetimes, spec.settings, spec.evaluate_every,
            spec.evaluate_lifetimes,
        )  # fmt: skip
        learned[name] = res
        c = pd.DataFrame({k: res.curve[k] for k in CURVE})
        c.insert(0, "lifetime", np.arange(1, spec.lifetimes + 1))
        c.insert(0, "condition", name)
        curves.append(c)
        cp = pd.DataFrame([asdict(x) for x in res.checkpoints])
        cp.insert(0, "condition", name)
        checks.append(cp)
        rows.append(_summarise(name, cond, res))
        if progress:
            r = rows[-1]
            print(
                f"[{i + 1}/{len(runs)}] {name}: gap {r['gap']:.3f} "
                f"[{r['gap_ci_low']:.3f}, {r['gap_ci_high']:.3f}] "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
    exp = Experiment(
        spec=spec,
        curve=pd.concat(curves, ignore_index=True),
        checkpoints=pd.concat(checks, ignore_index=True),
        summary=pd.DataFrame(rows),
        learned=learned,
    )
    if out is not None:
        write_outputs(exp, out)
    return exp


USAGE = """python -m analysis learn [overrides ...] [--lifetimes K] [--lifetime T]
                               [--conditions C,...] [--etas E,...|none] [--out DIR] [--quiet]
                               [--epsilon-lifetimes TAU] [--q-init Q0] [--evaluate-every N]"""


def _names(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def _floats(text: str) -> list[float]:
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [float(t) for t in text.split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis learn",
        usage=USAGE,
        description=(
            "Train one tabular Q-learner per agent, rewarded by its own utility, in each "
            "condition (awareness, cue fidelity, farsightedness, preference, training "
            "strength) and write the learning curves, a summary, a figure and a report. "
            "Positional arguments are Hydra overrides, as for `python -m sim` "
            "(e.g. n_agents=500 seed=1); each condition's own settings come after them."
        ),
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the base")
    p.add_argument("--lifetimes", type=int, default=300, help="training lifetimes K (300)")
    p.add_argument(
        "--lifetime", type=int, default=LearnerSettings.lifetime,
        help=f"rounds per lifetime T ({LearnerSettings.lifetime})",
    )  # fmt: skip
    p.add_argument(
        "--epsilon-lifetimes", type=float, default=LearnerSettings.epsilon_lifetimes,
        help="decay constant of the exploration rate, in lifetimes "
        f"({LearnerSettings.epsilon_lifetimes:g})",
    )  # fmt: skip
    p.add_argument(
        "--q-init", type=float, default=LearnerSettings.q_init,
        help=f"initial action values ({LearnerSettings.q_init:g})",
    )  # fmt: skip
    p.add_argument(
        "--conditions", type=_names, default=list(CONDITIONS),
        help=f"conditions to run, comma-separated (default: all: {','.join(CONDITIONS)})",
    )  # fmt: skip
    p.add_argument(
        "--etas", type=_floats, default=list(ETAS),
        help="training strengths of the sensitivity runs of 'aware', comma-separated "
        f"(default: {','.join(f'{e:g}' for e in ETAS)}; 'none': no sweep)",
    )  # fmt: skip
    p.add_argument(
        "--evaluate-every", type=int, default=25,
        help="behavioural evaluation every this many lifetimes (0: at the end only)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    try:
        args = parse(parser(), argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        settings = LearnerSettings(
            lifetime=args.lifetime, epsilon_lifetimes=args.epsilon_lifetimes, q_init=args.q_init
        )
        spec, params = prepare(
            args.overrides, args.lifetimes, settings, args.conditions, args.etas,
            args.evaluate_every,
        )  # fmt: skip
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        out = args.out or Path("outputs") / "learn" / stamp
        exp = run_experiment(spec, params, out, progress=not args.quiet)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cols = ["condition", "gap", "gap_ci_low", "gap_ci_high", "optimal_gap", "agreement",
            "lifetimes_to_90", "verdict"]  # fmt: skip
    with pd.option_context("display.width", 200, "display.precision", 3):
        print(exp.summary[cols].to_string(index=False))
    print(f"-> {out}/report.md")
    return 0


__all__ = [
    "BASE",
    "CONDITIONS",
    "ETAS",
    "Condition",
    "Experiment",
    "Spec",
    "cli",
    "command_line",
    "parser",
    "prepare",
    "run_experiment",
    "verdict",
    "write_outputs",
]
