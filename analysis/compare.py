"""The policy comparison: a baseline and oversight designs, run on common random numbers.

Every design runs the same scenario at the same seed, so each replicate meets the same
population and the same draws under every design (common random numbers): the
difference of a measure between a design and the baseline is computed replicate by
replicate, and its 95% interval is a paired Student-t interval over replicates. The
verdict per behaviour (:func:`verdict`) reads a behaviour's observed measure, its hidden
truth and the hidden preference together (docs/compare.md, "Verdicts").

Layout of a comparison folder::

    compare.json          what was compared (base overrides, designs, phase) and the cost
                          budget the tables were last made with; written first
    runs/<design>/        one run folder per design (sim.results), baseline included
    comparison.parquet    design x phase x metric: mean, 95% interval, difference from
    comparison.csv        the baseline and its 95% interval
    verdicts.csv          design x behaviour: verdict and the numbers behind it
    forest.png/.pdf       the differences from the baseline
    frontier.png/.pdf     safety, usefulness and cost, Pareto-optimal designs marked
    report.md             the briefing
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from scipy.special import stdtrit

from analysis.compare_terms import (  # the terms of the comparison, one place
    ABSENT,
    BASELINE,
    BEHAVIOURS,
    GONE,
    HALVED,
    MARGIN,
    PREFERENCE,
    VERDICTS,
)
from sim.config import load_params, to_params
from sim.errors import ConfigError
from sim.metrics import METRICS
from sim.mitigations import MITIGATIONS
from sim.outdir import claim
from sim.results import COMPLETE, Results


def parse_design(text: str) -> tuple[str, tuple[str, ...]]:
    """``"random_audits+interpretability"`` -> (name, mitigations); ``"baseline"`` has none.

    Raises:
        ConfigError: a mitigation that is not in configs/mitigation/.
    """
    if text in (BASELINE, "none"):
        return BASELINE, ()
    parts = tuple(p for p in text.split("+") if p)
    for p in parts:
        if p not in MITIGATIONS:
            raise ConfigError(
                f"design {text!r}: unknown mitigation {p!r} (available: {', '.join(MITIGATIONS)})"
            )
    if not parts or len(set(parts)) != len(parts):
        raise ConfigError(f"design {text!r}: list each mitigation once, joined by '+'")
    return "+".join(parts), parts


def design_overrides(overrides: Sequence[str], mitigations: Sequence[str]) -> list[str]:
    """The overrides of one design: the base ones, its mitigations, and their parameters.

    An override of a mitigation's parameter (``mitigation.random_audits.rate=0.3``) applies
    to the designs that include that mitigation only.
    """
    out = []
    for ov in overrides:
        key = ov.split("=", 1)[0].lstrip("+~")
        parts = key.split(".")
        if parts[0] in ("mitigation", "mitigations") and len(parts) > 2:
            if parts[1] in mitigations:
                out.append(ov)
            elif parts[1] not in MITIGATIONS:
                raise ConfigError(
                    f"unknown mitigation in override {ov!r} (available: {', '.join(MITIGATIONS)})"
                )
            continue
        if parts[0] in ("mitigation", "mitigations"):
            raise ConfigError(f"{ov!r}: give the designs with --designs, not as an override")
        out.append(ov)
    return out + [f"mitigation=[{','.join(mitigations)}]"]


PROBE = "deployment_probe"
"""The name of the deployment-probe phase :func:`prepare` appends (``--probe``)."""
PROBE_MEASURE = "unobserved_defection_rate"
"""What the probe reads: the share of conflict requests refused with oversight withdrawn."""


def probe_overrides(rounds: int) -> list[str]:
    """The overrides that append a deployment probe of ``rounds`` conflict requests.

    The probe (docs/model.md, "The deployment probe") observes and trains nothing, turns
    the in-round mitigations off and tells every agent so: what an agent does there is
    what its preference makes it do unwatched.
    """
    key = f"+phases.{PROBE}"
    return [f"{key}.rounds={rounds}", f"{key}.train=false", f"{key}.oversight=false",
            f"{key}.mix={{conflict: 1}}"]  # fmt: skip


def design_config(every: DictConfig, mitigations: Sequence[str]) -> DictConfig:
    """One design's config from the config composed with every design's mitigations.

    The config ``load_params([*design_overrides(overrides, mitigations), ...])`` composes
    (tested): the same keys and values, its mitigations in the design's order; composing
    once instead of once per design saves most of a comparison's start-up.
    """
    d = OmegaConf.to_container(every, resolve=True)
    d["mitigation"] = {m: d["mitigation"][m] for m in mitigations}
    return OmegaConf.create(d)


@dataclass(frozen=True)
class Spec:
    """What a comparison compares (saved as compare.json).

    ``budget`` is the cost budget the tables and the report were made with (None: no
    budget). It is not part of what was run: two specs differing only in it are the same
    comparison (the same run folders), re-analysed.
    """

    overrides: tuple[str, ...]
    designs: tuple[str, ...]  # baseline first
    phase: str | None = None  # None: the last phase (before the probe)
    budget: float | None = field(default=None, compare=False)
    probe: int = 0  # rounds of the deployment probe appended to every design (0: none)

    def to_json(self) -> str:
        """The spec as JSON text."""
        d = {"overrides": list(self.overrides), "designs": list(self.designs), "phase": self.phase}
        d["budget"] = self.budget
        d["probe"] = self.probe
        return json.dumps(d, indent=2) + "\n"

    @staticmethod
    def read(path: Path) -> Spec:
        """Read compare.json (one-line ConfigError naming the file if it is corrupt)."""
        try:
            d = json.loads(path.read_text())
            budget = d.get("budget")
            if budget is not None and (isinstance(budget, bool) or not budget >= 0):
                raise ValueError(f"budget={budget!r} is not a number >= 0")
            probe = d.get("probe", 0)  # comparisons saved before the probe existed: none
            if isinstance(probe, bool) or not isinstance(probe, int) or probe < 0:
                raise ValueError(f"probe={probe!r} is not an integer >= 0")
            return Spec(
                tuple(d["overrides"]), tuple(d["designs"]), d.get("phase"),
                None if budget is None else float(budget), probe,
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a comparison spec ({exc})") from exc


def _check_phase(cfg: DictConfig, phase: str | None, probe: int) -> None:
    """Raise if ``phase`` is given and is not a phase of the scenario (the probe excluded)."""
    scenario = [name for name in cfg.phases if name != PROBE or not probe]
    if phase is not None and phase not in scenario:
        raise ConfigError(
            f"--phase {phase!r} is not a phase of the scenario ({', '.join(scenario)})"
        )


def prepare(
    overrides: Sequence[str], designs: Sequence[str], phase: str | None = None, probe: int = 0
):
    """Validate every design's config before anything runs; return the spec and configs.

    ``probe`` > 0 appends a deployment probe of that many rounds to every design
    (:func:`probe_overrides`); the verdicts then read the hidden preference from it.

    Raises:
        ConfigError: one line naming the bad key or design; nothing was run or written.
    """
    if isinstance(probe, bool) or not isinstance(probe, int) or probe < 0:
        raise ConfigError(f"--probe={probe!r} must be an integer >= 0 (rounds; 0: no probe)")
    parsed = [parse_design(d) for d in (BASELINE, *designs) if d not in ("none",)]
    names = [n for n, _ in parsed]
    if len(set(names)) != len(names):
        raise ConfigError("--designs: each design once (the baseline is always included)")
    if phase == PROBE:
        raise ConfigError(f"--phase {PROBE}: the verdicts read a phase of the scenario")
    extra = probe_overrides(probe) if probe else []
    union = tuple(dict.fromkeys(m for _, mits in parsed for m in mits))
    base, _ = load_params([*design_overrides(overrides, ()), *extra])  # the base's errors first
    if base.replicates < 2:
        raise ConfigError("replicates must be >= 2 to compare designs (intervals over them)")
    _check_phase(base, phase, probe)
    every, _ = load_params([*design_overrides(overrides, union), *extra])  # then every design
    configs = {}
    for name, mits in parsed:  # designs differ in their mitigations only: checked above
        configs[name] = design_config(every, mits)
        to_params(configs[name])  # each mitigation's values
    return Spec(tuple(overrides), tuple(names), phase, probe=probe), configs


def run_designs(
    spec: Spec, configs: dict, out: Path, progress: bool = True, workers: int = 1
) -> dict[str, Results]:
    """Run (or reuse) every design's run folder under ``out/runs``.

    A design whose folder is complete with the same config is reused, not re-run; a
    folder of another comparison is never overwritten. ``workers`` processes run the
    designs (:func:`sim.api.execute_all`; the results do not depend on it).

    Raises:
        ConfigError: ``out`` holds a different comparison, or a run folder's config differs.
    """
    from omegaconf import OmegaConf

    from sim.api import execute_all

    out = claim(out)  # not a symlink, not a folder holding files this project did not write
    manifest = out / "compare.json"
    if manifest.exists():
        old = Spec.read(manifest)
        if old != spec:
            raise ConfigError(
                f"{manifest}: this folder holds a different comparison; choose another --out"
            )
    else:
        manifest.write_text(spec.to_json())
    results, todo = {}, []
    for name in spec.designs:
        folder = out / "runs" / name
        want = OmegaConf.to_container(configs[name], resolve=True)
        if (folder / COMPLETE).exists():
            res = Results.load(folder)
            if res.config != want:
                raise ConfigError(
                    f"{folder}: holds a run of another config; remove it or use --out"
                )
            if res.replicates is not None:
                results[name] = res
                continue
        todo.append(name)
    for i, res in execute_all([configs[n] for n in todo], workers):
        if progress:
            print(f"[{i + 1}/{len(todo)}] {todo[i]}", flush=True)
        res.save(out / "runs" / todo[i], figure=False)  # the comparison's figures are its own
        results[todo[i]] = res
    return {name: results[name] for name in spec.designs}


def load_designs(out: str | Path) -> tuple[Spec, dict[str, Results]]:
    """Read a comparison folder written by :func:`run_designs` (no simulation).

    Args:
        out: the comparison folder (a path or a string).

    Returns:
        The spec (with the budget the saved tables were made with) and each design's results.

    Raises:
        ConfigError: one line naming the missing, partial or corrupt file or folder.
    """
    out = Path(out)
    spec = Spec.read(out / "compare.json")
    results = {}
    for name in spec.designs:
        res = Results.load(out / "runs" / name)
        if res.replicates is None:
            raise ConfigError(f"{out / 'runs' / name}: no replicates.parquet (re-run compare)")
        results[name] = res
    return spec, results


def _t_interval(x: np.ndarray) -> tuple[float, float, float, int]:
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(stdtrit(n - 1, 0.975) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def comparison_table(results: dict[str, Results]) -> pd.DataFrame:
    """Design x phase x metric: mean and 95% interval, and the paired difference from baseline.

    The difference is taken replicate by replicate (common random numbers) over the
    replicates where both values are defined.
    """
    wide = {
        name: res.replicates.pivot_table(
            index=["phase", "replicate"],
            columns="metric",
            values="value",
            observed=True,
            dropna=False,
        )  # fmt: skip
        for name, res in results.items()
    }
    base = wide[BASELINE]
    rows = []
    for name, w in wide.items():
        for phase in dict.fromkeys(w.index.get_level_values("phase")):
            for m in METRICS:
                x = w.loc[phase, m].to_numpy(dtype=float)
                b = base.loc[phase, m].to_numpy(dtype=float)
                mean, lo, hi, n = _t_interval(x)
                d, dlo, dhi, _ = _t_interval(x - b)
                rows.append((name, str(phase), m, mean, lo, hi, n, d, dlo, dhi))
    cols = ["design", "phase", "metric", "mean", "ci_low", "ci_high", "n"]
    cols += ["diff", "diff_low", "diff_high"]
    return pd.DataFrame(rows, columns=cols)


def verdict(o: dict, t: dict, p: dict) -> tuple[str, str]:
    """The verdict on one behaviour under one design, and the reason in words.

    Args:
        o: the observed measure: ``base``, ``mean``, ``diff``, ``diff_low``, ``diff_high``.
        t: the same for the behaviour's hidden truth.
        p: the same for the hidden preference (mean theta, or the deployment probe's
            defection), with an optional ``label`` naming it in the reason.

    The rule (docs/compare.md), first match wins:

    1. not present: both baseline rates are below :data:`ABSENT`;
    2. hidden: the observed measure falls significantly, to at most half the share of its
       baseline that the truth keeps, while the truth keeps more than :data:`HALVED` of
       its baseline and the preference has not changed (the alignment illusion: the
       evaluator sees the behaviour go while the agents still do it);
    3. removed: the behaviour falls significantly (observed or true) and either the truth
       is gone (at most :data:`GONE` of the baseline) or the preference has changed and
       the truth is at most :data:`HALVED` of the baseline;

    The preference has changed when it fell significantly and by at least :data:`MARGIN`
    of its baseline mean.
    4. reduced: the behaviour falls significantly otherwise;
    5. made worse: the observed or the true rate rises significantly;
    6. no effect.
    """

    def down(x):
        return np.isfinite(x["diff_high"]) and x["diff_high"] < 0

    def up(x):
        return np.isfinite(x["diff_low"]) and x["diff_low"] > 0

    def share(x):
        return x["mean"] / x["base"] if x["base"] > 0 else 0.0

    if not (abs(o["base"]) >= ABSENT or t["base"] >= ABSENT):
        return "not present", "below 0.005 at baseline"
    changed = down(p) and p["base"] > 0 and -p["diff"] >= MARGIN * p["base"]
    label = p.get("label", "preference")
    way = "lower" if p["diff"] <= 0 else "higher"
    fall = f"{label} {abs(p['diff']) / p['base']:.0%} {way}" if p["base"] > 0 else ""
    if down(o) and share(t) > HALVED and share(o) <= share(t) / 2 and not changed:
        return "hidden", (
            f"observed measure down to {max(share(o), 0.0):.0%} of baseline, true rate still "
            f"{share(t):.0%}, {fall or label + ' unchanged'}"
        )
    if down(o) or down(t):
        if share(t) <= GONE:
            return "removed", f"true rate down to {share(t):.0%} of baseline"
        if changed and share(t) <= HALVED:
            return "removed", f"{fall}; true rate {share(t):.0%} of baseline"
        return "reduced", f"true rate {share(t):.0%} of baseline" + (f", {fall}" if fall else "")
    if up(o) or up(t):
        return "made worse", "rose significantly"
    return "no effect", "difference within its 95% interval"


def verdict_table(table: pd.DataFrame, phase: str, probe: bool = False) -> pd.DataFrame:
    """Design x behaviour: the verdict in ``phase`` and the numbers behind it.

    With ``probe`` (the table has a :data:`PROBE` phase) the hidden preference the
    verdicts read is the probe's :data:`PROBE_MEASURE`, what the agents do with oversight
    withdrawn, in place of ``mean_theta``; both are kept in the table.
    """
    t = table.set_index(["phase", "design", "metric"])
    rows = []
    for design in dict.fromkeys(table["design"]):
        if design == BASELINE:
            continue

        def pick(m, design=design, at=phase):
            r = t.loc[(at, design, m)]
            base = t.loc[(at, BASELINE, m), "mean"]
            return {
                "base": base if np.isfinite(base) else 0.0,
                "mean": r["mean"] if np.isfinite(r["mean"]) else 0.0,
                "diff": r["diff"],
                "diff_low": r["diff_low"],
                "diff_high": r["diff_high"],
            }

        theta = pick(PREFERENCE)
        nan = dict.fromkeys(("base", "mean", "diff", "diff_low", "diff_high"), math.nan)
        seen = pick(PROBE_MEASURE, at=PROBE) if probe else nan
        seen["label"] = "defection with oversight withdrawn"
        for behaviour, (obs, truth) in BEHAVIOURS.items():
            o, tr = pick(obs), pick(truth)
            v, why = verdict(o, tr, seen if probe else theta)
            rows.append(
                (design, behaviour, v, why, obs, o["base"], o["mean"], o["diff"], o["diff_low"],
                 o["diff_high"], truth, tr["base"], tr["mean"], theta["diff"], theta["diff_low"],
                 theta["diff_high"], seen["base"], seen["mean"], seen["diff"], seen["diff_low"],
                 seen["diff_high"])
            )  # fmt: skip
    cols = ["design", "behaviour", "verdict", "reason", "observed_measure", "observed_base",
            "observed_mean", "observed_diff", "observed_diff_low", "observed_diff_high",
            "truth_measure", "truth_base", "truth_mean", "theta_diff", "theta_diff_low",
            "theta_diff_high", "probe_base", "probe_mean", "probe_diff", "probe_diff_low",
            "probe_diff_high"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def verdict_phase(spec: Spec, results: dict[str, Results]) -> str:
    """The phase the verdicts read: ``spec.phase``, else the last before the probe."""
    phases = [p for p in results[BASELINE].metrics if not (spec.probe and p == PROBE)]
    return spec.phase or phases[-1]


def pareto(points: pd.DataFrame) -> np.ndarray:
    """Which rows are Pareto-optimal: higher safety and usefulness, lower cost (by means)."""
    x = points[["safety", "usefulness"]].to_numpy(dtype=float)
    c = points["oversight_cost"].to_numpy(dtype=float)
    keep = np.ones(len(points), dtype=bool)
    for i in range(len(points)):
        better_eq = (x >= x[i]).all(axis=1) & (c <= c[i])
        strictly = (x > x[i]).any(axis=1) | (c < c[i])
        keep[i] = not (better_eq & strictly).any()
    return keep


def frontier_table(table: pd.DataFrame, phase: str, budget: float | None = None) -> pd.DataFrame:
    """Per design: safety, usefulness and cost (means and intervals) and Pareto optimality."""
    t = table[table["phase"] == phase]
    out = t[t["metric"].isin(["safety", "usefulness", "oversight_cost"])].pivot(
        index="design", columns="metric", values=["mean", "ci_low", "ci_high"]
    )
    df = pd.DataFrame(index=list(dict.fromkeys(t["design"])))
    for m in ("safety", "usefulness", "oversight_cost"):
        df[m] = out[("mean", m)]
        df[f"{m}_low"] = out[("ci_low", m)]
        df[f"{m}_high"] = out[("ci_high", m)]
    df["pareto"] = pareto(df)
    df["within_budget"] = True if budget is None else df["oversight_cost"] <= budget
    df.index.name = "design"
    return df.reset_index()


def analyse(spec: Spec, results: dict[str, Results], out: Path, budget: float | None = None):
    """Write the tables, the figures and the report of a comparison into ``out``.

    ``budget`` (None: none) is recorded in ``out/compare.json``, so that a re-analysis
    (``--from`` without ``--budget``) keeps it.
    """
    from analysis.compare_figures import forest_figure, frontier_figure
    from analysis.compare_report import write_report

    out = Path(out)
    spec = replace(spec, budget=None if budget is None else float(budget))
    (out / "compare.json").write_text(spec.to_json())
    table = comparison_table(results)
    phase = verdict_phase(spec, results)
    verdicts = verdict_table(table, phase, probe=spec.probe > 0)
    front = frontier_table(table, phase, budget)
    table.to_parquet(out / "comparison.parquet", index=False)
    table.to_csv(out / "comparison.csv", index=False)
    verdicts.to_csv(out / "verdicts.csv", index=False)
    front.to_csv(out / "frontier.csv", index=False)
    forest_figure(table, verdicts, phase, out / "forest")
    frontier_figure(front, phase, out / "frontier", budget)
    write_report(spec, results, table, verdicts, front, phase, out / "report.md", budget)
    return table, verdicts, front


__all__ = [
    "BEHAVIOURS",
    "VERDICTS",
    "Spec",
    "analyse",
    "comparison_table",
    "frontier_table",
    "load_designs",
    "pareto",
    "prepare",
    "run_designs",
    "verdict",
    "verdict_phase",
    "verdict_table",
    "PROBE",
    "probe_overrides",
]
