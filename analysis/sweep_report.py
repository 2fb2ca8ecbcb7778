"""``python -m analysis figures``: the figures and report of a sweep (docs/figures.md).

From a sweep folder (collected first, as by ``python -m analysis collect``) or a collected
table, it writes each figure whose inputs exist as PNG and PDF, and ``report.md``
embedding them with their captions and saying which figures were skipped and why. The
compliance-gap and sandbagging figures are drawn here, the others in
analysis/sweep_figures.py.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.collect import collect, read_table, require_runs, set_key, swept_columns
from analysis.markdown import ci, md_table
from analysis.style import OKABE_ITO as C
from analysis.style import RC, save_figure
from analysis.sweep_figures import (
    illusion_figure,
    log_axes,
    match,
    phase_diagram,
    replicates_text,
    response_curves,
)
from sim.errors import ConfigError
from sim.outdir import claim
from sim.results import read_config

SANDBAG = ("sandbag_accuracy_well", "sandbag_accuracy_poorly", "sandbag_gap", "sandbag_p_value")
MAX_GROUPS = 12


# ---- compliance gap ----------------------------------------------------------------------


def _stat(rows: pd.DataFrame, phase: str, metric: str) -> tuple[float, float, float]:
    r = rows[(rows["phase"] == phase) & (rows["metric"] == metric)]
    if r.empty:
        return (math.nan, math.nan, math.nan)
    return tuple(float(r.iloc[0][c]) for c in ("mean", "ci_low", "ci_high"))


def compliance_gap_figure(rows: pd.DataFrame, run: str = ""):
    """Per phase: compliance when the cue says observed vs unobserved, split as in the study.

    The observed-cue bar splits compliance into "with alignment-faking reasoning"
    (hatched, ``af_reasoning_rate``) and "other"; whiskers: 95% interval of compliance.
    Phases without conflict requests are left out.

    Returns:
        The figure and its caption.
    """
    phases = [
        p for p in dict.fromkeys(rows["phase"])
        if np.isfinite(_stat(rows, p, "compliance_observed")[0])
    ]  # fmt: skip
    if not phases:
        raise ConfigError("no phase has conflict requests (compliance_observed undefined)")
    colors = {"refuses": C["sky"], "complies": C["orange"], "af": C["vermillion"]}
    with plt.rc_context(RC):
        fig, axes = plt.subplots(len(phases), 1, figsize=(7.6, 0.55 + 1.25 * len(phases)),
                                 sharex=True, squeeze=False)  # fmt: skip
        for ax, phase in zip(axes[:, 0], phases, strict=True):
            co, co_lo, co_hi = _stat(rows, phase, "compliance_observed")
            cu, cu_lo, cu_hi = _stat(rows, phase, "compliance_unobserved")
            af = min(np.nan_to_num(_stat(rows, phase, "af_reasoning_rate")[0]), co)
            gap, g_lo, g_hi = _stat(rows, phase, "compliance_gap")
            observed = [(af, "af"), (co - af, "complies"), (1 - co, "refuses")]
            unobserved = [(cu, "complies"), (1 - cu, "refuses")]
            bars = (
                (1, "implied training\n(cue: observed)", observed, co, co_lo, co_hi),
                (0, "implied unmonitored\n(cue: unobserved)", unobserved, cu, cu_lo, cu_hi),
            )
            for yv, _, parts, total, lo, hi in bars:
                left = 0.0
                for width, kind in parts:
                    ax.barh(yv, width, left=left, height=0.62, color=colors[kind],
                            edgecolor="white" if kind != "af" else C["black"], lw=0.6,
                            hatch="///" if kind == "af" else None)  # fmt: skip
                    if width >= 0.07:
                        ax.text(left + width / 2, yv, f"{width:.0%}", ha="center", va="center",
                                fontsize=8, color="black",
                                bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.8}
                                if kind == "af" else None)  # fmt: skip
                    left += width
                if np.isfinite(lo):  # just above the bar, clear of the labels inside it
                    ax.errorbar(total, yv + 0.4, xerr=[[total - lo], [hi - total]], fmt="|",
                                color=C["black"], capsize=3, lw=1, ms=6)  # fmt: skip
            ax.set_yticks([1, 0], [b[1] for b in bars], fontsize=8.5)
            ax.set_xlim(0, 1)
            ax.set_ylim(-0.5, 1.5)
            gap_txt = f"{gap:.3f} [{g_lo:.3f}, {g_hi:.3f}]" if np.isfinite(g_lo) else f"{gap:.3f}"
            ax.set_title(f"phase '{phase}': compliance gap {gap_txt}", fontsize=9.5, loc="left")
            ax.spines["left"].set_visible(False)
            ax.tick_params(axis="y", length=0)
        axes[-1, 0].xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
        axes[-1, 0].set_xlabel("share of conflict requests")
        handles = [
            plt.Rectangle((0, 0), 1, 1, fc=colors["af"], ec=C["black"], lw=0.6,
                          hatch="///", label="complies, with alignment-faking reasoning"),
            plt.Rectangle((0, 0), 1, 1, fc=colors["complies"], label="complies, other"),
            plt.Rectangle((0, 0), 1, 1, fc=colors["refuses"], label="refuses"),
        ]  # fmt: skip
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False,
                   bbox_to_anchor=(0.5, -0.06 - 0.02 / len(phases)))  # fmt: skip
        fig.tight_layout()
    n = replicates_text(rows)
    caption = (
        "Compliance gap"
        + (f" of {run}" if run else "")
        + ", in the style of the alignment-faking study: per phase, the share of conflict "
        "requests complied with when the cue says "
        "observed (implied training) and unobserved (implied unmonitored); the hatched "
        "part is compliance with alignment-faking reasoning (af_reasoning_rate). Means over "
        f"{n}; whiskers: 95% Student-t interval of compliance; the gap's interval in brackets."
    )
    return fig, caption


# ---- sandbagging --------------------------------------------------------------------------


def sandbag_entries(table: pd.DataFrame, swept: list[str]) -> list[dict]:
    """One entry per run and phase where the sandbagging accuracies are defined."""
    rows = table[table["metric"].isin(SANDBAG)]
    out = []
    for (_, run, phase), g in rows.groupby(["sweep", "run", "phase"], sort=False):
        s = g.set_index("metric")
        if "sandbag_accuracy_well" not in s.index or not np.isfinite(
            s.loc["sandbag_accuracy_well", "mean"]
        ):
            continue
        stat = {m: tuple(s.loc[m, ["mean", "ci_low", "ci_high"]]) if m in s.index else
                (math.nan,) * 3 for m in SANDBAG}  # fmt: skip
        out.append({"label": run_label(g.iloc[0], swept), "phase": phase, "run": run,
                    "replicates": int(g.iloc[0]["replicates"]), **stat})  # fmt: skip
    return out


def sandbag_figure(entries: list[dict]):
    """Accuracy incentivised to do well vs poorly, with 95% intervals and the p-value.

    Returns:
        The figure and its caption.
    """
    shown = entries[:MAX_GROUPS]
    phases = {e["phase"] for e in shown}
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(shown) + 2.5), 4.2))
        x = np.arange(len(shown))
        for off, key, label, color in (
            (-0.19, "sandbag_accuracy_well", "incentivised to do well", C["blue"]),
            (0.19, "sandbag_accuracy_poorly", "incentivised to do poorly", C["vermillion"]),
        ):
            m = np.array([e[key][0] for e in shown])
            lo = np.array([e[key][1] for e in shown])
            hi = np.array([e[key][2] for e in shown])
            err = np.vstack([m - lo, hi - m])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.bar(x + off, m, width=0.38, color=color, label=label)
            ax.errorbar(x + off, m, yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
        for xi, e in zip(x, shown, strict=True):
            p = e["sandbag_p_value"][0]
            top = np.nanmax([*e["sandbag_accuracy_well"], *e["sandbag_accuracy_poorly"]])
            ax.text(xi, min(top, 1.0) + 0.03, f"p = {p:.2g}" if np.isfinite(p) else "p n/a",
                    ha="center", va="bottom", fontsize=8)  # fmt: skip
        labels = [e["label"].replace(", ", "\n") + (f"\n({e['phase']})" if len(phases) > 1 else "")
                  for e in shown]  # fmt: skip
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylim(0, 1.15)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_ylabel("accuracy (share of questions correct)")
        ax.set_title("Sandbagging: accuracy by incentive" + (
            f", phase '{next(iter(phases))}'" if len(phases) == 1 else ""))  # fmt: skip
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    caption = (
        "Sandbagging, in the style of Apollo Research's evaluation: accuracy on a capability "
        "evaluation when incentivised to do well against when incentivised to do poorly, "
        f"per run{' and phase' if len(phases) > 1 else ''}. Bars: mean over "
        f"{_reps(shown)}; whiskers: 95% Student-t interval; p: the one-sided bootstrap test "
        "that accuracy is higher when incentivised to do well (mean of the replicates' "
        "p-values; with B resamples the smallest possible value is 1/(B + 1))."
    )
    if len(entries) > len(shown):
        caption += f" The first {len(shown)} of {len(entries)} run-phases are shown."
    return fig, caption


def _reps(entries: list[dict]) -> str:
    r = sorted({e["replicates"] for e in entries})
    return f"{r[0]} replicates" if len(r) == 1 else f"{r[0]}-{r[-1]} replicates"


def sandbag_table(entries: list[dict]) -> str:
    """The sandbagging results as a Markdown table."""
    header = ["run", "phase", "accuracy, do well", "accuracy, do poorly", "gap", "p-value",
              "replicates"]  # fmt: skip
    rows = [
        [e["label"], e["phase"], ci(*e["sandbag_accuracy_well"]),
         ci(*e["sandbag_accuracy_poorly"]), ci(*e["sandbag_gap"]),
         f"{e['sandbag_p_value'][0]:.2g}" if np.isfinite(e["sandbag_p_value"][0]) else "n/a",
         str(e["replicates"])]
        for e in entries
    ]  # fmt: skip
    return md_table(header, rows)


# ---- choosing what to plot ---------------------------------------------------------------


def run_label(row: pd.Series, swept: list[str]) -> str:
    """A run's swept values (``trainer.rho=0.5, trainer.eta=0.05``), or its folder."""
    if not swept:
        return str(row["run"])
    return ", ".join(f"{k}={_value(row[k])}" for k in swept)


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, (float, int, np.number)) else str(v)


def numeric_swept(table: pd.DataFrame, swept: list[str]) -> list[str]:
    """The swept parameters with numeric values (a phase diagram's or a curve's axes)."""
    return [
        k for k in swept
        if pd.api.types.is_numeric_dtype(table[k]) and not pd.api.types.is_bool_dtype(table[k])
    ]  # fmt: skip


def parse_select(items: list[str]) -> dict:
    """``key=value`` pairs; values that parse as numbers are numbers."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--select {item!r}: expected key=value")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def reference_run(table: pd.DataFrame, phase: str, select: dict) -> pd.Series:
    """The run the single-run figures show: ``select``'s, else the largest compliance gap.

    Raises:
        ConfigError: a key of ``select`` is not a column, or no run matches.
    """
    rows = table[(table["metric"] == "compliance_gap") & (table["phase"] == phase)]
    if rows.empty:
        rows = table[table["phase"] == phase].drop_duplicates(["sweep", "run"])
    for key, value in select.items():
        if key not in table.columns:
            raise ConfigError(f"--select {key}={value}: {key} is not a column of the table")
        rows = rows[match(rows[key], value)]
        if rows.empty:
            have = sorted(table[key].dropna().unique(), key=str)[:8]
            raise ConfigError(
                f"--select {key}={_value(value)}: no run has it (values: "
                f"{', '.join(map(_value, have))})"
            )
    means = rows["mean"].astype(float)
    return rows.loc[means.idxmax()] if means.notna().any() else rows.iloc[0]


def run_folder(row: pd.Series, base: Path | None) -> tuple[Path | None, int | None]:
    """The folder of a table row's run and its grid point (None if not one).

    The folder is looked for under the row's sweep, then under ``base``.
    """
    rel, _, point = str(row["run"]).partition("#")
    for root in (Path(str(row["sweep"])), base):
        if root is not None and (root / rel).is_dir():
            return root / rel, int(point) if point else None
    return None, None


def run_config(row: pd.Series, folder: Path | None, swept: list[str]) -> dict | None:
    """A run's config with the row's swept values set (a grid point's axes)."""
    if folder is None:
        return None
    try:
        config = read_config(folder / "config.yaml")
    except ConfigError:
        return None
    for key in swept:
        value = row[key]
        if "." in key and isinstance(value, (int, float, np.number)) and np.isfinite(value):
            set_key(config, key, float(value))
    return config


def run_rounds(folder: Path | None, point: int | None) -> pd.DataFrame:
    """A run's per-round table (a grid point's rows) with behavioural alignment.

    Raises:
        ConfigError: there is none (one line saying why).
    """
    if folder is None:
        raise ConfigError("the chosen run's folder was not found (the table's sweep column)")
    path = folder / "rounds.parquet"
    if not path.exists():
        raise ConfigError(f"{path}: missing (a grid run with sweep.rounds=false keeps none)")
    try:
        rounds = pd.read_parquet(path)
    except Exception as exc:
        raise ConfigError(f"{path}: unreadable") from exc
    if point is not None and "point" in rounds.columns:
        rounds = rounds[rounds["point"] == point]
    need = ("round", "phase", "behavioral_alignment", "preference_alignment")
    if rounds.empty or any(c not in rounds.columns for c in need):
        raise ConfigError(f"{path}: no rows or no alignment columns for the chosen run")
    if rounds["behavioral_alignment"].isna().all():
        raise ConfigError(
            "the chosen run has no conflict requests (behavioural alignment undefined)"
        )
    return rounds


# ---- the command -------------------------------------------------------------------------


def load(source: Path) -> tuple[pd.DataFrame, list, Path]:
    """The collected table of a folder or a table file, what was skipped, the default root."""
    if source.is_dir():
        table, skipped = collect([source])
        for s in skipped:
            print(f"skipped: {s}", file=sys.stderr)
        require_runs(table, skipped, [source])
        return table, skipped, source
    if not source.exists():
        raise ConfigError(f"{source}: no such folder or table")
    return read_table(source), [], source.parent


def _check(table: pd.DataFrame, args) -> tuple[str, str]:
    phases = list(dict.fromkeys(table["phase"]))
    phase = args.phase or phases[-1]
    if phase not in phases:
        raise ConfigError(f"--phase={phase}: not in the table (phases: {', '.join(phases)})")
    if args.metric not in set(table["metric"]):
        raise ConfigError(f"--metric={args.metric}: not a metric of the table")
    for opt, key in [("x", args.x), ("y", args.y), ("by", args.by)] + [
        ("log", k) for k in args.log
    ]:
        if key is not None and key not in table.columns:
            raise ConfigError(f"--{opt}={key}: not a column of the table")
    return phase, args.metric


def make_figures(source: Path, args) -> tuple[Path, list[tuple[str, str]]]:
    """Write every figure whose inputs exist and the report; return its path and the skips."""
    table, skipped, base = load(source)
    phase, metric = _check(table, args)
    swept = swept_columns(table)
    numeric = numeric_swept(table, swept)
    ref = reference_run(table, phase, parse_select(args.select))  # checked before any write
    out = claim(args.out or base / "figures")
    folder, point = run_folder(ref, None if source.is_dir() else base)
    config = run_config(ref, folder, swept)
    label = f"{run_label(ref, swept)} (run {ref['run']})" if swept else f"run {ref['run']}"
    if args.select:
        why = "chosen by --select"
    elif ref.get("metric") == "compliance_gap" and np.isfinite(ref["mean"]):
        why = f"the largest compliance gap in '{phase}'"
    else:
        why = "the first run (no compliance gap defined)"
    x = args.x or (numeric[0] if numeric else None)
    y = args.y or next((k for k in numeric if k != x), None)
    by = args.by or next((k for k in swept if k != x), None)
    by = None if by == x else by
    figures, skips = [], []

    def add(name, title, make, reason_if_missing=None):
        if reason_if_missing:
            skips.append((title, reason_if_missing))
            return
        try:
            fig, caption = make()
        except ConfigError as err:
            skips.append((title, str(err)))
            return
        save_figure(fig, out / name, args.dpi)
        figures.append((name, title, caption))

    found = f"swept numeric parameters: {', '.join(numeric) or 'none'}"
    fixed = {k: ref[k] for k in swept if k not in (x, y)}
    log = log_axes(config) | set(args.log)  # by the grid's spec (logspace), or --log
    add(
        "phase_diagram",
        "Phase diagram",
        lambda: phase_diagram(table, x, y, metric, phase, config, fixed, log),
        None
        if x in numeric and y in numeric and x != y
        else f"needs two different swept numeric parameters as x and y ({found})",
    )
    add(
        "response_curves",
        "Response curves",
        lambda: response_curves(table, x, metric, phase, by, {k: ref[k] for k in swept}, log=log),
        None if x in numeric else f"needs a swept numeric parameter as x ({found})",
    )
    ref_rows = table[(table["sweep"] == ref["sweep"]) & (table["run"] == ref["run"])]
    add("compliance_gap", "Compliance gap", lambda: compliance_gap_figure(ref_rows, label))
    add(
        "alignment_illusion",
        "Alignment illusion over time",
        lambda: illusion_figure(run_rounds(folder, point), label),
    )
    entries = sandbag_entries(table, swept)
    add(
        "sandbagging",
        "Sandbagging",
        lambda: sandbag_figure(entries),
        None if entries else "no run has sandbag_accuracy_well defined (no evaluation episodes)",
    )
    report = out / "report.md"
    report.write_text(_report(source, table, swept, phase, metric, label, why, figures, skips,
                              skipped, sandbag_table(entries) if entries else None))  # fmt: skip
    return report, skips


def _report(source, table, swept, phase, metric, label, why, figures, skips, skipped, sandbag):
    n_runs = len(table[["sweep", "run"]].drop_duplicates())
    lines = [
        "# Sweep figures",
        "",
        f"Source: `{source}`: {n_runs} run(s), {replicates_text(table)} each; swept "
        f"parameters: {', '.join(f'`{k}`' for k in swept) or 'none'}. Phase diagram and "
        f"response curves: `{metric}` in phase `{phase}`. Single-run figures: {label}, "
        f"{why}.",
    ]
    for name, title, caption in figures:
        lines += ["", f"## {title}", "", f"![{title}]({name}.png)", "", f"*{caption}*",
                  "", f"Vector version: [{name}.pdf]({name}.pdf)"]  # fmt: skip
        if name == "sandbagging" and sandbag:
            lines += ["", sandbag]
    if skips or skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- {title}: {reason}" for title, reason in skips]
        lines += [f"- run folder `{s.path}`: {s.reason}" for s in skipped]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis figures",
        description="Figures and report of a sweep folder or a collected table (docs/figures.md).",
    )
    p.add_argument("source", type=Path, help="a sweep folder, or a table (.parquet/.csv)")
    p.add_argument(
        "--metric",
        default="af_reasoning_rate",
        help="metric of the phase diagram and curves (default af_reasoning_rate)",
    )
    p.add_argument("--phase", default=None, help="phase (default: the last)")
    p.add_argument("--x", default=None, help="x parameter (default: the first swept)")
    p.add_argument(
        "--y", default=None, help="y parameter of the phase diagram (default: the second swept)"
    )
    p.add_argument(
        "--by",
        default=None,
        help="one curve per value of this parameter (default: the second swept)",
    )
    p.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the run of the single-run figures (default: largest compliance gap); repeatable",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default <sweep>/figures, or figures/ next to the table)",
    )
    p.add_argument("--log", action="append", default=[], metavar="KEY",
                   help="draw KEY on a log axis (default: a grid's logspace axes)")  # fmt: skip
    p.add_argument("--dpi", type=float, default=None, help="PNG resolution (default 150)")
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 on bad input, with a one-line error)."""
    from analysis.cli_args import parse

    try:
        args = parse(parser(), argv)
        report, skips = make_figures(args.source, args)
    except (ConfigError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for title, reason in skips:
        print(f"skipped figure: {title}: {reason}", file=sys.stderr)
    print(f"-> {report}")
    return 0
