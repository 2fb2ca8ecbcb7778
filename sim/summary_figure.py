"""The run's summary figure: behaviour, hidden preferences and the repertoire, by phase."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.style import OKABE_ITO as C
from sim.style import RC, savefig

PANELS = (
    (
        "Compliance by cue",
        (
            ("compliance_observed", "cue: observed (training)", C["vermillion"]),
            ("compliance_unobserved", "cue: unobserved", C["blue"]),
        ),
    ),
    (
        "Alignment-faking reasoning",
        (("af_reasoning_rate", "share of observed-cue episodes", C["orange"]),),
    ),
    (
        "Behavioural vs preference alignment",
        (
            ("behavioral_alignment", "behavioural (trainer's view)", C["green"]),
            ("preference_alignment", "preference (hidden)", C["purple"]),
        ),
    ),
)


REPERTOIRE = (
    ("sandbag_accuracy_well", "accuracy, incentivised to do well"),
    ("sandbag_accuracy_poorly", "accuracy, incentivised to do poorly"),
    ("sandbagging_rate", "sandbagging (hidden truth)"),
    ("exfiltration_attempt_rate", "exfiltration attempts"),
    ("exfiltration_success_rate", "exfiltration successes"),
    ("subversion_rate", "oversight disabled"),
    ("goal_guarding_rate", "goal-guarding (tampering)"),
    ("denial_rate", "denial when questioned"),
    ("paired_scheming_rate", "paired scheming (test vs deploy)"),
)
"""The repertoire's rates in the summary figure, with their labels."""
PHASE_COLORS = ("blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow")


def _repertoire(ax, metrics: dict) -> None:
    """Dot-and-whisker panel: each defined repertoire rate, one colour per phase."""
    shown = [
        (m, label)
        for m, label in REPERTOIRE
        if any(metrics[p][m]["mean"] is not None for p in metrics)
    ]
    phases = [p for p in metrics if any(metrics[p][m]["mean"] is not None for m, _ in shown)]
    step = 0.7 / max(len(phases), 1)
    for j, phase in enumerate(phases):
        color = C[PHASE_COLORS[j % len(PHASE_COLORS)]]
        for i, (m, _) in enumerate(shown):
            s = metrics[phase][m]
            if s["mean"] is None:
                continue
            y = i + (j - (len(phases) - 1) / 2) * step
            if s["ci_low"] is not None:
                ax.plot([s["ci_low"], s["ci_high"]], [y, y], color=color, lw=1.4)
            ax.plot(s["mean"], y, "o", color=color, ms=4.5, label=phase if i == 0 else None)
    ax.set_yticks(range(len(shown)), [label for _, label in shown])
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("rate (mean, 95% interval over replicates)")
    ax.set_title("Scheming repertoire, by phase", pad=16)
    handles, labels = ax.get_legend_handles_labels()
    by_label = dict(zip(labels, handles, strict=False))
    ax.legend(by_label.values(), by_label.keys(), loc="best", frameon=False)


def _band(ax, df: pd.DataFrame, metric: str, label: str, color: str) -> None:
    g = df.groupby("round")[metric]
    mean, lo, hi = g.mean(), g.quantile(0.025), g.quantile(0.975)
    ax.plot(mean.index, mean.to_numpy(), color=color, label=label, lw=1.6)
    if df["replicate"].nunique() > 1:
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=color, alpha=0.2, lw=0)


def summary_figure(
    rounds: pd.DataFrame, metrics: dict, path: str | Path, title: str | None = None
) -> Path:
    """Write the summary figure of one run.

    Three panels over rounds (mean over replicates, band: 2.5-97.5% of replicates):
    compliance by cue, alignment-faking reasoning, and behavioural versus
    preference alignment; phases are separated and labelled. They are drawn when
    the run has conflict requests. When it has other episode types, a further panel
    shows the repertoire's rates per phase with their 95% intervals.

    Args:
        rounds: the run's per-round table.
        metrics: the run's phase metrics (used for phase names).
        path: output file (PNG; the suffix picks the format).
        title: figure title; by default the number of replicates and what the band shows.

    Returns:
        The path written.
    """
    conflict = bool(rounds["compliance_observed"].notna().any())
    repertoire = any(
        metrics[p].get(m, {}).get("mean") is not None for p in metrics for m, _ in REPERTOIRE
    )
    with plt.rc_context(RC):
        rows = conflict + repertoire
        fig = plt.figure(figsize=(13, 3.6 * rows))
        grid = fig.add_gridspec(rows, 3)
        axes = [fig.add_subplot(grid[0, i]) for i in range(3)] if conflict else []
        if repertoire:
            axes.append(fig.add_subplot(grid[rows - 1, 1:]))
            _repertoire(axes[-1], metrics)
        bounds = rounds.groupby("phase", observed=True)["round"].agg(["min", "max"])
        for ax, (panel_title, series) in zip(axes, PANELS if conflict else (), strict=False):
            for metric, label, color in series:
                _band(ax, rounds, metric, label, color)
            for i, (name, row) in enumerate(bounds.loc[list(metrics)].iterrows()):
                if i:
                    ax.axvline(row["min"] - 0.5, color="0.5", lw=0.8, ls="--")
                ax.text(
                    (row["min"] + row["max"]) / 2, 1.02, name, ha="center", va="bottom",
                    fontsize=8, color="0.3", transform=ax.get_xaxis_transform(),
                )  # fmt: skip
            ax.set_title(panel_title, pad=16)
            ax.set_xlabel("round")
            ax.set_ylim(-0.02, 1.02)
            ax.set_yticks(np.linspace(0, 1, 6))
            ax.legend(loc="best", frameon=False)
        if conflict:
            axes[0].set_ylabel("rate / share")
        n_rep = rounds["replicate"].nunique()
        fig.suptitle(
            title or f"{n_rep} replicate(s); band: 2.5-97.5% of replicates", fontsize=9, y=1.0
        )
        fig.tight_layout()
        path = Path(path)
        savefig(fig, path)
        plt.close(fig)
    return path
