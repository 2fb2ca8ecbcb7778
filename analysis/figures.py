"""The run's summary figure: behaviour and hidden preferences over rounds, by phase."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.style import OKABE_ITO as C
from analysis.style import RC, figure

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
    preference alignment; phases are separated and labelled.

    Args:
        rounds: the run's per-round table.
        metrics: the run's phase metrics (used for phase names).
        path: output file (PNG; the suffix picks the format).
        title: figure title; by default the number of replicates and what the band shows.

    Returns:
        The path written.
    """
    with plt.rc_context(RC):
        fig, axes = figure(1, 3, figsize=(13, 3.6), sharex=True)
        bounds = rounds.groupby("phase", observed=True)["round"].agg(["min", "max"])
        for ax, (panel_title, series) in zip(axes, PANELS, strict=True):
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
        axes[0].set_ylabel("rate / share")
        n_rep = rounds["replicate"].nunique()
        fig.suptitle(
            title or f"{n_rep} replicate(s); band: 2.5-97.5% of replicates", fontsize=9, y=1.0
        )
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
        plt.close(fig)
    return path
