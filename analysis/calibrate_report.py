"""The calibration's outputs: fit.json, candidates.parquet, report.md, the profile figure.

The folder is written through a staging folder and ends with ``COMPLETE``
(:func:`sim.results.write_folder`).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from analysis.calibrate_fit import CHI2_95, MC_WARN, Evaluation, Fit, Prepared
from analysis.markdown import md_table
from analysis.style import OKABE_ITO, figure, save_figure
from sim.config import hydra_text
from sim.results import write_folder

FIGURE = "profile"
"""The profile figure's file stem in the output folder."""


def overrides(fit: Fit) -> list[str]:
    """The overrides that reproduce the best candidate: the base's, then its values."""
    spec = fit.prepared.spec
    return [*spec.base, *(f"{k}={hydra_text(v)}" for k, v in fit.point.items())]


def command(fit: Fit) -> str:
    """``python -m sim ...``: the run of the best candidate, quoted for a POSIX shell."""
    return "python -m sim " + " ".join(shlex.quote(o) for o in overrides(fit))


def _f(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def fit_json(fit: Fit) -> dict[str, Any]:
    """The content of fit.json."""
    prep = fit.prepared
    spec, base = prep.spec, prep.base
    labels = [t.label for t in spec.targets]
    params = {}
    for axis in spec.axes:
        if not axis.fitted:
            params[axis.name] = {"fixed": axis.values[0]}
    for p in fit.profiles:
        params[p.axis] = {
            "best": p.best, "interval": [p.low, p.high], "lower_edge": p.lower_edge,
            "upper_edge": p.upper_edge, "gaps": p.gaps, "identified": p.identified,
            "values": p.values.tolist(), "profile": [_f(x) for x in p.deviance],
        }  # fmt: skip
    targets = [
        {
            "phase": t.phase,
            "metric": t.metric,
            "value": t.value,
            "n": t.n,
            "sd": t.sd,
            "sim": _f(fit.sim[i]),
            "mc_se": _f(fit.mc_se[i]),
            "se": _f(fit.se[i]),
            "residual": _f(fit.residual[i]),
            "deviance": _f(fit.deviance[fit.best, i]),
        }  # fmt: skip
        for i, t in enumerate(spec.targets)
    ]
    return {
        "spec": spec.name,
        "spec_file": str(spec.path),
        "spec_hash": spec.digest(),
        "base": list(spec.base),
        "evaluation": fit.path,
        "candidates": len(prep.points),
        "refined": fit.refined,
        "seed": base.seed,
        "replicates": base.replicates,
        "n_agents": base.n_agents,
        "best": fit.coords,
        "config": fit.point,
        "overrides": overrides(fit),
        "command": command(fit),
        "deviance": float(fit.total[fit.best]),
        "df": fit.df,
        "p_value": fit.p_value,
        "targets": targets,
        "parameters": params,
        "sensitivity": {
            p.axis: dict(zip(labels, (_f(x) for x in row), strict=True))
            for p, row in zip(fit.profiles, fit.sensitivity, strict=True)
        },
        "warnings": list(fit.warnings),
    }


def candidates_table(prepared: Prepared, evaluation: Evaluation, fit: Fit) -> pd.DataFrame:
    """Every candidate: its axis values, each target's mean and Monte Carlo sd, its deviance."""
    cols: dict[str, Any] = {"candidate": np.arange(len(prepared.points))}
    for j, axis in enumerate(prepared.spec.axes):
        cols[axis.name] = prepared.coords[:, j]
    mean, mc = evaluation.mean, evaluation.mc_se
    for i, t in enumerate(prepared.spec.targets):
        cols[t.label] = mean[:, i]
        cols[f"{t.label}.mc_se"] = mc[:, i]
    cols["deviance"] = fit.total
    return pd.DataFrame(cols)


def _g(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


def _interval(p) -> str:
    lo = ("≤ " if p.lower_edge else "") + _g(p.low)
    hi = ("≥ " if p.upper_edge else "") + _g(p.high)
    return f"[{lo}, {hi}]" + (" (with gaps)" if p.gaps else "")


def _identified(p) -> str:
    if not p.identified:
        return "no: not identified by these targets"
    edges = [e for e, flag in (("lower", p.lower_edge), ("upper", p.upper_edge)) if flag]
    return "yes" + (f" (reaches the grid's {' and '.join(edges)} edge)" if edges else "")


def report(fit: Fit, figure_name: str | None) -> str:
    """The Markdown report."""
    prep = fit.prepared
    spec, base = prep.spec, prep.base
    fixed = [a for a in spec.axes if not a.fitted]
    p = "n/a" if fit.p_value is None else f"{fit.p_value:.3g}"
    how = "as stacked grid runs" if fit.path == "grid" else "one run per candidate"
    if fit.refined:
        how += f"; the grid refined {fit.refined} times around the intervals"
    lines = [
        f"# Calibration: `{spec.name}`",
        "",
        f"Spec `{spec.path}`; base `{' '.join(spec.base)}`. {len(prep.points):,} candidates, "
        f"each {base.replicates} replicates × {base.n_agents:,} agents at seed {base.seed} "
        f"(common random numbers; evaluated {how}).",
        "",
        "## Fit",
        "",
        f"Best deviance **{fit.total[fit.best]:.3f}** on {fit.df} degrees of freedom "
        f"({len(spec.targets)} targets − {len(fit.profiles)} fitted axes; goodness-of-fit "
        f"p = {p}). Intervals: grid values whose profile deviance is within {CHI2_95:.2f} of "
        "the minimum (95%, chi-square with 1 df); `≤`/`≥` mark an interval that reaches the "
        "grid's edge (it may extend beyond).",
        "",
        md_table(
            ["parameter", "best", "95% profile interval", "identified"],
            [[f"`{q.axis}`", _g(q.best), _interval(q), _identified(q)] for q in fit.profiles],
        ),
        "",
    ]
    if fixed:
        held = ", ".join(f"`{a.name}` = {_g(a.values[0])}" for a in fixed)
        lines += [f"Held fixed: {held}.", ""]
    lines += [
        "The best candidate's config values:",
        "",
        md_table(
            ["key", "value"], [[f"`{k}`", f"`{hydra_text(v)}`"] for k, v in fit.point.items()]
        ),
        "",
        "## Residuals",
        "",
        "Target standard error: `sqrt(p(1 − p)/n)` at the simulated rate `p` (binomial target) "
        "or the given `sd`. MC se: the simulation's Monte Carlo error, sd over replicates / "
        "sqrt(R), which the deviance ignores. Residual: `sign(target − sim)·sqrt(deviance)`.",
        "",
        md_table(
            [
                "phase",
                "metric",
                "target",
                "n or sd",
                "target se",
                "simulated",
                "MC se",
                "MC / target se",
                "residual",
                "deviance",
            ],
            [
                [
                    t.phase,
                    f"`{t.metric}`",
                    _g(t.value),
                    f"n = {t.n}" if t.n else f"sd = {t.sd:g}",
                    _g(fit.se[i], 2),
                    _g(fit.sim[i]),
                    _g(fit.mc_se[i], 2),
                    _g(fit.mc_se[i] / fit.se[i], 2),
                    f"{fit.residual[i]:+.2f}",
                    f"{fit.deviance[fit.best, i]:.2f}",
                ]
                for i, t in enumerate(spec.targets)
            ],
        ),  # fmt: skip
        "",
    ]
    if fit.warnings:
        lines += ["**Warnings.**", "", *(f"- {w}" for w in fit.warnings), ""]
    else:
        lines += [
            f"Every target's Monte Carlo error is below {MC_WARN:g} of its standard error.",
            "",
        ]
    if fit.profiles:
        labels = [f"`{t.label}`" for t in spec.targets]
        lines += [
            "## Sensitivity",
            "",
            "Change of each target's simulated value per unit change of each parameter at the "
            "best candidate (finite differences along the grid, the other parameters at their "
            "best values). A target pins a parameter where the slope is large against the "
            "target's standard error.",
            "",
            md_table(
                ["parameter", *labels],
                [
                    [f"`{q.axis}`", *(f"{x:+.3g}" for x in row)]
                    for q, row in zip(fit.profiles, fit.sensitivity, strict=True)
                ],
            ),
            "",
        ]
    lines += ["## Reproduce the best candidate", "", "```bash", command(fit), "```", ""]
    if figure_name:
        lines += [
            "## Profile deviance",
            "",
            f"![profile deviance per parameter]({figure_name})",
            "",
        ]
    return "\n".join(lines)


def profile_figure(fit: Fit):
    """One panel per fitted axis: profile deviance above its minimum, the 3.84 line, interval."""
    k = len(fit.profiles)
    ncols = min(k, 3)
    nrows = -(-k // ncols)
    fig, axs = figure(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    floor = float(fit.total.min())
    cap = 5 * CHI2_95
    for ax, p in zip(axs.ravel(), fit.profiles, strict=False):
        y = p.deviance - floor
        shown = np.minimum(y, cap)
        ax.axvspan(p.low, p.high, color=OKABE_ITO["sky"], alpha=0.25, lw=0, label="95% interval")
        ax.plot(p.values, shown, "-o", color=OKABE_ITO["blue"], ms=3.5, lw=1.2, label="profile")
        over = y > cap
        if over.any():
            ax.plot(p.values[over], np.full(over.sum(), cap), "^", color=OKABE_ITO["vermillion"],
                    ms=5, label=f"above {cap:.0f} (off scale)")  # fmt: skip
        ax.axhline(CHI2_95, color=OKABE_ITO["black"], ls="--", lw=1, label="min + 3.84")
        ax.axvline(p.best, color=OKABE_ITO["orange"], lw=1.2, label="best")
        ax.set_ylim(0, min(cap, max(float(np.nanmax(shown[np.isfinite(shown)])), CHI2_95)) * 1.12)
        ax.set_xlabel(p.axis)
        ax.set_ylabel("profile deviance − minimum")
        ax.set_title(p.axis + ("" if p.identified else "\n(not identified)"))
        if p.values[0] > 0 and p.values[-1] / p.values[0] >= 20:
            ax.set_xscale("log")  # concentrations and the like span orders of magnitude
            ticks = p.values if len(p.values) <= 8 else p.values[:: -(-len(p.values) // 8)]
            ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
    for ax in axs.ravel()[k:]:
        ax.set_visible(False)
    handles = {}
    for ax in axs.ravel()[:k]:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.suptitle(f"Calibration {fit.prepared.spec.name}: profile deviance per parameter")
    fig.tight_layout(rect=(0, 0.08 / nrows, 1, 1))
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles),
               frameon=False)  # fmt: skip
    return fig


def write_outputs(out: Path, prepared: Prepared, evaluation: Evaluation, fit: Fit) -> Path:
    """Write the output folder atomically (staging folder, then moved in; ``COMPLETE`` last)."""
    table = candidates_table(prepared, evaluation, fit)
    name = f"{FIGURE}.png" if fit.profiles else None
    files = {
        "fit.json": lambda p: p.write_text(json.dumps(fit_json(fit), indent=2) + "\n"),
        "candidates.parquet": lambda p: table.to_parquet(p, index=False),
        "report.md": lambda p: p.write_text(report(fit, name)),
        "spec.yaml": lambda p: p.write_text(prepared.spec.path.read_text()),
    }
    if name:
        files[name] = lambda p: save_figure(profile_figure(fit), p.with_suffix(""))
        files[f"{FIGURE}.pdf"] = lambda p: None  # written with the PNG
    return write_folder(out, files)


def summary(fit: Fit) -> str:
    """A short plain-text summary for stdout."""
    spec = fit.prepared.spec
    head = (
        f"calibration {spec.name}: {len(fit.prepared.points):,} candidates ({fit.path}); "
        f"best deviance {fit.total[fit.best]:.3f} on {fit.df} df"
    )
    w = max([len(p.axis) for p in fit.profiles] + [len(t.label) for t in spec.targets] + [9])
    rows = [head, "", f"{'parameter':<{w}}  {'best':>8}  {'95% interval':<22}  identified"]
    for p in fit.profiles:
        flag = "yes" if p.identified else "no (not identified by these targets)"
        rows.append(f"{p.axis:<{w}}  {p.best:>8.4g}  {_interval(p):<22}  {flag}")
    rows += ["", f"{'target':<{w}}  {'value':>8}  {'se':>8}  {'sim':>8}  {'MC se':>8}  residual"]
    for i, t in enumerate(spec.targets):
        rows.append(
            f"{t.label:<{w}}  {t.value:>8.4g}  {fit.se[i]:>8.2g}  {fit.sim[i]:>8.4g}  "
            f"{fit.mc_se[i]:>8.2g}  {fit.residual[i]:+.2f}"
        )
    rows += [f"warning: {x}" for x in fit.warnings]
    rows += ["", command(fit)]
    return "\n".join(rows)


__all__ = [
    "candidates_table", "command", "fit_json", "overrides", "profile_figure", "report",
    "summary", "write_outputs",
]  # fmt: skip
