"""The reproduction report: per study a figure (simulated vs target) and a table, Markdown.

Written by ``python -m analysis reproduce`` (:mod:`analysis.reproduce`) from its target
table; docs/reproduction.md is the full-size report.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.markdown import md_table, num
from analysis.studies import Study
from analysis.style import OKABE_ITO as C
from analysis.style import figure, save_figure

INSIDE, OUTSIDE = C["blue"], C["vermillion"]


def _finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def simulated_text(row: Mapping) -> str:
    """The simulator's estimate: ``mean [lo, hi]``, or the median p-value with the share met."""
    est = row["estimate"]
    if not _finite(est):
        return "undefined"
    if row["criterion"] == "median":
        share = row["share"]
        return f"median {est:.2g} ({share:.0%} of {row['n']} replicates met)"
    if _finite(row["ci_low"]):
        return f"{est:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
    return f"{est:.3f}"


def tolerance_text(row: Mapping) -> str:
    """``[lo, hi]``, ``>= lo`` or ``<= hi`` (whole interval: ``interval`` criterion)."""
    lo, hi = row["tol_low"], row["tol_high"]
    if _finite(lo) and _finite(hi):
        text = f"[{lo:g}, {hi:g}]"
    else:
        text = f">= {lo:g}" if _finite(lo) else f"<= {hi:g}"
    return text + (" (whole interval)" if row["criterion"] == "interval" else "")


def _study_value(row: Mapping) -> str:
    if _finite(row["value"]):
        return num(row["value"], 3)
    return "range" if _finite(row["tol_low"]) and _finite(row["tol_high"]) else "direction"


def _verdict(x) -> str:
    return (
        "n/a"
        if x is None or (isinstance(x, float) and math.isnan(x))
        else ("yes" if x else "**no**")
    )


def study_figure(rows: pd.DataFrame, title: str):
    """Simulated rate (mean, 95% interval) against the target and its tolerance, per figure.

    Only plain rates are drawn (differences and p-values are in the table). The grey bar
    is the tolerance, the black diamond the study's value (ranges have none), the dot
    the simulated mean with its 95% interval over replicates: blue inside, vermillion
    outside.

    Returns:
        The figure and its caption.
    """
    rates = rows[rows["minus_run"].isna() & (rows["criterion"] != "median")].reset_index()
    n = len(rates)
    fig, ax = figure(figsize=(7.5, 0.9 + 0.32 * n))
    y = np.arange(n)[::-1].astype(float)
    for yi, (_, r) in zip(y, rates.iterrows(), strict=True):
        lo = r["tol_low"] if _finite(r["tol_low"]) else 0.0
        hi = r["tol_high"] if _finite(r["tol_high"]) else 1.0
        ax.barh(yi, hi - lo, left=lo, height=0.6, color="0.85", zorder=1)
        if _finite(r["value"]):
            ax.plot(r["value"], yi, marker="D", mfc="none", mec=C["black"], ms=7, zorder=5)
        if _finite(r["estimate"]):
            colour = INSIDE if r["inside"] else OUTSIDE
            if _finite(r["ci_low"]):
                err = [[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]]
            else:
                err = None
            ax.errorbar(
                r["estimate"], yi, xerr=err, fmt="o", color=colour, ms=5, capsize=2.5, zorder=4
            )
    ax.set_yticks(y, [f"{r['group']}: {r['figure']}" for _, r in rates.iterrows()], fontsize=8)
    groups = rates["group"].to_numpy()
    for i in range(1, n):
        if groups[i] != groups[i - 1]:
            ax.axhline(y[i] + 0.5, color="0.6", lw=0.6, ls=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("rate")
    ax.set_title(title)
    handles = [
        Patch(color="0.85", label="tolerance"),
        Line2D([], [], ls="", marker="D", mfc="none", mec=C["black"], label="study's value"),
        Line2D([], [], ls="", marker="o", color=INSIDE, label="simulated, inside"),
        Line2D([], [], ls="", marker="o", color=OUTSIDE, label="simulated, outside"),
    ]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.55, 0.0), ncol=4,
               frameon=False)  # fmt: skip
    left = len(rows) - n
    caption = (
        f"{title}: the simulator (dot, 95% interval over replicates; blue inside the "
        "tolerance, vermillion outside) against each published figure (diamond; grey bar: "
        "the stated tolerance; ranges have no diamond)."
        + (f" Differences and p-values ({left}) are in the table only." if left else "")
    )
    return fig, caption


def _populations(study: Study, configs: Mapping) -> list[list[str]]:
    """One row per distinct population (resolved traits and nu) with the runs that use it."""
    seen: dict[str, list[str]] = {}
    for name in study.runs:
        pop = configs[study.name, name].config["population"]
        text = " ".join(f"{k}={_value(v)}" for k, v in pop.items())
        seen.setdefault(text, []).append(name)
    return [[", ".join(runs), f"`{text}`"] for text, runs in seen.items()]


def _value(v) -> str:
    if isinstance(v, list):
        return "[" + ",".join(_value(x) for x in v) + "]"
    if v is None:
        return "null"
    return f"{v:g}" if isinstance(v, float) else str(v)


def study_section(
    study: Study, rows: pd.DataFrame, configs: Mapping, image: Path, report_dir: Path
) -> str:
    """The Markdown section of one study: figure, target table, notes, runs."""
    fig, caption = study_figure(rows, study.title)
    save_figure(fig, image)
    rel = Path(os.path.relpath(image.with_suffix(".png"), report_dir)).as_posix()
    met = int(rows["inside"].fillna(False).sum())
    table = md_table(
        ["", "published figure", "study", "tolerance", "simulated (95% CI)", "inside", "run"],
        [
            [
                r["group"],
                r["figure"] + (" (approx.)" if r["approximate"] else ""),
                _study_value(r),
                tolerance_text(r),
                simulated_text(r),
                _verdict(r["inside"]),
                f"`{r['run']}`" + (f" vs `{r['minus_run']}`" if _finite(r["minus_run"]) else ""),
            ]
            for _, r in rows.iterrows()
        ],
    )
    runs = md_table(
        ["run", "overrides", "config hash"],
        [
            [f"`{name}`", f"`{' '.join(ov)}`", configs[study.name, name].digest]
            for name, ov in study.runs.items()
        ],
    )
    parts = [
        f"## {study.title}",
        f"{study.source}. Study file: `{study.path.name}`. **{met} of {len(rows)} targets "
        "inside their tolerance.**",
        f"![{study.title}]({rel})",
        f"*{caption}*",
        table,
        _whys(rows),
        *study.notes,
        "**Runs** (overrides on top of configs/, plus the size below):",
        runs,
        "**Populations** (resolved traits; `nu` is the goal nudging):",
        md_table(["runs", "population"], _populations(study, configs)),
    ]
    return "\n\n".join(parts)


def _whys(rows: pd.DataFrame) -> str:
    """How each tolerance was set, one line per reason with the figures it applies to."""
    groups: dict[str, list[str]] = {}
    for _, r in rows.iterrows():
        if r["why"]:
            groups.setdefault(r["why"], []).append(r["figure"])
    lines = [f"- {why}: {'; '.join(figs)}." for why, figs in groups.items()]
    return "How each tolerance was set:\n\n" + "\n".join(lines)


def write_report(
    studies: Sequence[Study],
    table: pd.DataFrame,
    configs: Mapping,
    path: Path,
    command: str,
) -> Path:
    """Write the report (and one figure per study into ``img/`` beside it)."""
    path = Path(path)
    img = path.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    first = table.iloc[0]
    summary = md_table(
        ["study", "targets", "inside", "outside", "approximate figures"],
        [
            [
                s.title,
                str(len(rows := table[table["study"] == s.name])),
                str(int(rows["inside"].fillna(False).sum())),
                str(int((rows["inside"] == False).sum())),  # noqa: E712 (None is neither)
                str(int(rows["approximate"].sum())),
            ]
            for s in studies
        ],
    )
    head = [
        "# Reproduction report",
        "The simulator against the published figures of the studies it abstracts: for each "
        "figure the study's value, the tolerance stated for it, the simulator's value with "
        "its 95% interval over replicates, whether it is inside, and the run that produced "
        "it. Regenerate this report with",
        f"```bash\n{command}\n```",
        f"Every run: {int(first['replicates'])} replicates (independent populations and "
        f"random streams spawned from seed {int(first['seed'])}), each of its preset's "
        "number of agents (sandbagging and instrumental alignment faking: 100 and 99, one "
        "study's sample per replicate). "
        "Intervals are 95% Student-t intervals over replicates; a p-value target is met "
        "when the median replicate, one study of the study's sample size, is significant. "
        "docs/studies.md explains the study files, the targets' statistics and the "
        "command; docs/profiles.md the Apollo model profiles.",
        summary,
    ]
    sections = [
        study_section(
            s, table[table["study"] == s.name], configs, img / f"reproduction_{s.name}", path.parent
        )
        for s in studies
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n\n".join(head + sections) + "\n")
    tmp.replace(path)
    return path
