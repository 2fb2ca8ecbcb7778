"""The cheapest random-audit rate that meets a target, by bisection on common random numbers.

Every candidate rate runs the same scenario at the same seed, so each meets the same
population and the same draws (sim/rng.py; the oversight uniforms are drawn for every
agent whatever the rate): the simulated metric is a deterministic function of the rate,
and bisection on it is exact up to ``tol``. Bisection assumes that the metric falls as the
rate rises (more audits, more deterrence); where that fails (for example through
training), the result is still a rate that meets the target with a rate at most ``tol``
below it that misses it.

For a homogeneous population in the 2x2 inspection game (:func:`sim.inspection.
inspection_game`) the closed form is ``a = (g + ln(1/target - 1)/lam) / P``
(:func:`closed_form_rate`). Command line: ``python -m analysis audit-rate``
(docs/inspection.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import OmegaConf

from analysis.cli_args import parse
from sim.config import compose_config, load_params, to_params
from sim.errors import ConfigError
from sim.inspection import inspection_game
from sim.metrics import RATES
from sim.outdir import check, claim

RATE_KEY = "mitigation.random_audits.rate"
VACUOUS = {"unobserved_defection_rate": "n_unobserved"}
"""Metrics that are undefined when their count is 0 in the whole phase, and then taken as 0.

At ``rate=1`` every episode is seen (openly or by an audit): no defection goes unseen,
but the share of unseen episodes with a defection is 0/0."""


@dataclass(frozen=True)
class AuditRate:
    """The result of :func:`cheapest_audit_rate`.

    Attributes:
        rate: the cheapest audit rate found that meets the target.
        metric: the metric that had to reach the target.
        phase: the phase it was read in.
        target: the largest acceptable value of the metric.
        value: the metric's mean over replicates at ``rate``.
        ci_low: its 95% Student-t interval over replicates (None with one replicate).
        ci_high: see ``ci_low``.
        cost: ``oversight_cost`` at ``rate`` (per agent-round, in the phase).
        budget: the budget per agent-round, or None.
        within_budget: ``cost <= budget``, or None without a budget.
        seen_all: at ``rate`` every episode was seen, so the metric is vacuously 0 (see
            :data:`VACUOUS`): no rate below it that was run met the target.
        evaluations: ``(rate, value, cost)`` of every run, in the order run.
    """

    rate: float
    metric: str
    phase: str
    target: float
    value: float
    ci_low: float | None
    ci_high: float | None
    cost: float
    budget: float | None
    within_budget: bool | None
    seen_all: bool
    evaluations: tuple[tuple[float, float, float], ...]

    def describe(self, tol: float) -> str:
        """A one-paragraph account of the result."""
        ci = "" if self.ci_low is None else f" [95% CI {self.ci_low:.4g}, {self.ci_high:.4g}]"
        if self.seen_all:
            ci = " (vacuously: every episode is seen; every lower rate run missed the target)"
        budget = ""
        if self.budget is not None:
            within = "within" if self.within_budget else "OVER"
            budget = f", {within} the budget of {self.budget:g}"
        return (
            f"Cheapest random-audit rate: {self.rate:.4f} (bisection to {tol:g}, "
            f"{len(self.evaluations)} runs on common random numbers). At this rate "
            f"{self.metric} in phase '{self.phase}' is {self.value:.4g}{ci} "
            f"(target <= {self.target:g}); the oversight cost is {self.cost:.4g} "
            f"per agent-round{budget}."
        )


MAX_STEPS = 30
"""The most bisection steps of a search (``--tol`` at least ``(hi - lo) / 2**30``)."""


def cheapest_audit_rate(
    overrides: Sequence[str],
    target: float = 0.01,
    metric: str = "unobserved_defection_rate",
    phase: str | None = None,
    budget: float | None = None,
    lo: float = 0.0,
    hi: float = 1.0,
    tol: float = 1e-3,
) -> AuditRate:
    """Bisect ``mitigation.random_audits.rate`` for the cheapest rate with ``metric <= target``.

    Args:
        overrides: Hydra overrides of the run; they must select ``mitigation=[random_audits,...]``.
        target: the largest acceptable mean of ``metric`` over replicates.
        metric: a rate metric of :data:`sim.metrics.METRICS` that falls as audits rise.
        phase: the phase the metric is read in (default: the last).
        budget: the oversight budget per agent-round (``oversight_cost``); reported only.
        lo: the lowest rate considered.
        hi: the highest rate considered.
        tol: the bisection stops when the bracket is at most this wide.

    Returns:
        The rate (the upper end of the final bracket: it meets the target), with the
        metric, its interval and the cost there; ``lo`` if even ``lo`` meets it.

    Raises:
        ConfigError: bad input, or the target is not reached even at ``rate=hi``
            (one line; nothing is written). With the default metric and ``hi=1`` this
            cannot happen: at rate 1 every episode is seen, and the result says so
            (``seen_all``) if no lower rate met the target.
    """
    if metric not in RATES:
        raise ConfigError(f"metric={metric!r} must be one of {', '.join(RATES)}")
    if not 0 < target < 1:
        raise ConfigError(f"target={target!r} must be in (0, 1)")
    if not (0 <= lo < hi <= 1 and 0 < tol < math.inf):
        raise ConfigError(f"need 0 <= lo < hi <= 1 and tol > 0 (lo={lo}, hi={hi}, tol={tol})")
    steps = math.ceil(math.log2((hi - lo) / tol)) if tol < hi - lo else 0
    if steps > MAX_STEPS:
        raise ConfigError(
            f"--tol={tol:g} needs {steps} bisection steps (a simulation each), more than "
            f"{MAX_STEPS}; use --tol >= {(hi - lo) / 2**MAX_STEPS:.2g}"
        )
    if budget is not None and not budget >= 0:
        raise ConfigError(f"budget={budget!r} must be >= 0")
    cfg = compose_config(list(overrides))
    if "random_audits" not in cfg.mitigation:
        raise ConfigError("the overrides must select random audits: mitigation=[random_audits]")
    to_params(cfg)  # validate once, before any run
    phase = _phase(cfg, phase)
    runs: dict[float, dict] = {}

    def evaluate(rate: float) -> dict:
        from sim.api import run

        OmegaConf.update(cfg, RATE_KEY, float(rate))  # the only change between runs
        res = run(cfg)
        m, summary = res.metrics[phase], res.metrics[phase][metric]
        if summary["mean"] is None:
            rounds = res.rounds[res.rounds["phase"] == phase]
            if metric not in VACUOUS or rounds[VACUOUS[metric]].sum() > 0:
                raise ConfigError(f"{metric} is undefined in phase '{phase}' at rate={rate:g}")
            summary = {"mean": 0.0, "ci_low": None, "ci_high": None, "n": 0, "seen_all": True}
        runs[rate] = {"summary": summary, "cost": m["oversight_cost"]["mean"]}
        return summary

    if evaluate(hi)["mean"] > target:
        raise ConfigError(
            f"{metric} <= {target:g} is not reached even at rate={hi:g} "
            f"({metric}={runs[hi]['summary']['mean']:.4g} in phase '{phase}')"
        )
    if evaluate(lo)["mean"] <= target:
        hi = lo
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if evaluate(mid)["mean"] <= target:
            hi = mid
        else:
            lo = mid
    best, cost = runs[hi]["summary"], runs[hi]["cost"]
    return AuditRate(
        rate=hi, metric=metric, phase=phase, target=target,
        value=best["mean"], ci_low=best["ci_low"], ci_high=best["ci_high"], cost=cost,
        budget=budget, within_budget=None if budget is None else bool(cost <= budget),
        seen_all=bool(best.get("seen_all", False)),
        evaluations=tuple((r, v["summary"]["mean"], v["cost"]) for r, v in runs.items()),
    )  # fmt: skip


def _phase(cfg, phase: str | None) -> str:
    names = list(cfg.phases)
    if phase is None:
        return names[-1]
    if phase not in names:
        raise ConfigError(f"phase={phase!r} is not a phase of the run ({', '.join(names)})")
    return phase


def closed_form_rate(overrides: Sequence[str], target: float) -> float:
    """The cheapest rate for a homogeneous population: ``(g + ln(1/target - 1)/lam) / P``.

    The agents' defection probability at the disclosed rate ``a`` is
    ``1 / (1 + exp(lam (kappa - h - g_sim + a P)))`` with ``g_sim = nu theta`` (agents/
    planner.py); this is the rate at which it equals ``target``, with ``g = g_sim - kappa + h``.

    Raises:
        ConfigError: the run is not the inspection game (:func:`sim.inspection.inspection_game`).
    """
    return float(inspection_game(load_params(list(overrides))[1]).deterrent_rate(target))


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise ConfigError(message)


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = _Parser(
        prog="python -m analysis audit-rate",
        description=(
            "Find the cheapest random-audit rate at which a metric meets a target, by "
            "bisection over mitigation.random_audits.rate at one seed (common random "
            "numbers). Positional arguments are Hydra overrides of the run, as for "
            "`python -m sim`; they must include mitigation=[random_audits]."
        ),
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the run")
    p.add_argument("--target", type=float, default=0.01, help="largest acceptable value")
    p.add_argument("--metric", default="unobserved_defection_rate", help="metric to meet")
    p.add_argument("--phase", default=None, help="phase the metric is read in (default: last)")
    p.add_argument("--budget", type=float, default=None, help="cost budget per agent-round")
    p.add_argument("--lo", type=float, default=0.0, help="lowest rate considered")
    p.add_argument("--hi", type=float, default=1.0, help="highest rate considered")
    p.add_argument("--tol", type=float, default=1e-3, help="width of the final bracket")
    p.add_argument("--out", type=Path, default=None, help="folder for audit_rate.json")
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    try:
        args = parse(parser(), argv)
        if args.out is not None:
            check(args.out)  # before the search: nothing is written to a folder not ours
        res = cheapest_audit_rate(
            args.overrides, target=args.target, metric=args.metric, phase=args.phase,
            budget=args.budget, lo=args.lo, hi=args.hi, tol=args.tol,
        )  # fmt: skip
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    print(res.describe(args.tol))
    if args.out is not None:
        try:
            claim(args.out)
        except ConfigError as err:  # changed under us since the check
            print(f"error: {err}", file=sys.stderr)
            return 2
        record = asdict(res) | {
            "overrides": list(args.overrides),
            "tol": args.tol,
            "evaluations": [dict(zip(("rate", "value", "cost"), e, strict=True))
                            for e in res.evaluations],
        }  # fmt: skip
        (args.out / "audit_rate.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"-> {args.out / 'audit_rate.json'}")
    return 0


__all__ = ["AuditRate", "cheapest_audit_rate", "cli", "closed_form_rate", "parser"]
