"""Figures of a policy comparison: the forest plot of differences and the frontier."""

from __future__ import annotations

from pathlib import Path
from textwrap import fill

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.compare_terms import BASELINE, BEHAVIOURS, PREFERENCE
from analysis.style import OKABE_ITO as C
from analysis.style import RC, savefig

VERDICT_COLORS = {
    "removed": C["green"],
    "hidden": C["vermillion"],
    "reduced": C["sky"],
    "no effect": "#7f7f7f",
    "made worse": C["purple"],
    "not present": "#bbbbbb",
}
LABELS = {
    "compliance_gap": "compliance gap",
    "sandbag_gap": "sandbagging accuracy gap",
    "exfiltration_attempt_rate": "exfiltration attempts",
    "subversion_rate": "oversight subversion",
    "goal_guarding_rate": "goal-guarding",
    "paired_scheming_rate": "paired scheming",
    "denial_rate": "denial when questioned",
    "mean_theta": "hidden preference (mean theta)",
    "safety": "safety",
    "usefulness": "usefulness",
    "oversight_cost": "cost per agent-round",
}


def _save(fig, stem: Path) -> None:
    for ext in ("png", "pdf"):
        savefig(fig, stem.with_suffix(f".{ext}"))
    plt.close(fig)


def forest_figure(table: pd.DataFrame, verdicts: pd.DataFrame, phase: str, stem: Path) -> None:
    """Differences from the baseline with 95% intervals, one panel per measure.

    Panels: the observed measure of every behaviour present at baseline (points coloured
    by the verdict), the hidden preference, safety, usefulness and cost.
    """
    t = table[(table["phase"] == phase) & (table["design"] != BASELINE)]
    designs = list(dict.fromkeys(t["design"]))
    present = verdicts[verdicts["verdict"] != "not present"]
    behaviours = [b for b in BEHAVIOURS if b in set(present["behaviour"])]
    panels = [(BEHAVIOURS[b][0], b) for b in behaviours]
    panels += [(m, None) for m in (PREFERENCE, "safety", "usefulness", "oversight_cost")]
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    height = 0.9 + 0.28 * len(designs)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(3.3 * ncols, height * nrows), sharey=True, squeeze=False
        )
        y = np.arange(len(designs))[::-1]
        for ax, (metric, behaviour) in zip(axes.flat, panels, strict=False):
            rows = t[t["metric"] == metric].set_index("design").reindex(designs)
            if behaviour is None:
                colors = [C["black"]] * len(designs)
            else:
                v = verdicts[verdicts["behaviour"] == behaviour].set_index("design")["verdict"]
                colors = [VERDICT_COLORS[v.get(d, "no effect")] for d in designs]
            d = rows["diff"].to_numpy(dtype=float)
            err = np.vstack([d - rows["diff_low"], rows["diff_high"] - d]).astype(float)
            ax.axvline(0, color="#999999", lw=0.8, zorder=0)
            finite = np.isfinite(d)
            # one errorbar per colour: the same marks as one per design, fewer artists
            for col in dict.fromkeys(colors):
                k = finite & np.array([c == col for c in colors])
                if k.any():
                    ax.errorbar(d[k], y[k], xerr=err[:, k], fmt="o", color=col, ms=4, capsize=2)
            title = LABELS.get(metric, metric)
            ax.set_title(title if behaviour is None else f"{title}\n({behaviour})", fontsize=9)
            ax.set_xlabel("difference from baseline", fontsize=8)
            ax.tick_params(labelsize=8)
        for ax in axes.flat[len(panels) :]:
            ax.set_visible(False)
        axes[0, 0].set_yticks(y, designs)
        for ax in axes[:, 0]:
            ax.set_yticks(y, designs)
        handles = [
            plt.Line2D([], [], marker="o", ls="", color=c, label=v)
            for v, c in VERDICT_COLORS.items()
            if v != "not present"
        ]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
                   bbox_to_anchor=(0.5, -0.02), title="verdict on the behaviour")  # fmt: skip
        fig.suptitle(
            f"Difference from the baseline, phase '{phase}' (mean and 95% paired interval "
            "over replicates, common random numbers)",
            fontsize=10,
        )
        fig.tight_layout(rect=(0, 0.05, 1, 0.97))
        _save(fig, stem)


def frontier_figure(front: pd.DataFrame, phase: str, stem: Path, budget: float | None) -> None:
    """Safety and usefulness against cost; Pareto-optimal designs filled, all numbered."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
        x = front["oversight_cost"].to_numpy(dtype=float)
        xerr = np.vstack([x - front["oversight_cost_low"], front["oversight_cost_high"] - x])
        for ax, m in zip(axes, ("safety", "usefulness"), strict=True):
            y = front[m].to_numpy(dtype=float)
            yerr = np.vstack([y - front[f"{m}_low"], front[f"{m}_high"] - y])
            for i, row in front.iterrows():
                opt = bool(row["pareto"])
                base = row["design"] == BASELINE
                color = C["black"] if base else C["blue"] if opt else "#9a9a9a"
                ax.errorbar(
                    x[i], y[i], xerr=xerr[:, [i]].astype(float), yerr=yerr[:, [i]].astype(float),
                    fmt="s" if base else "o", color=color, ms=7 if opt else 5,
                    mfc=color if opt or base else "white", capsize=2, lw=0.8,
                )  # fmt: skip
                ax.annotate(
                    str(i), (x[i], y[i]), xytext=(4, 3), textcoords="offset points",
                    fontsize=8, color=color, fontweight="bold",
                )  # fmt: skip
            opt = front[front["pareto"]].sort_values("oversight_cost")
            ax.plot(opt["oversight_cost"], opt[m], color=C["blue"], lw=0.8, ls="--", zorder=0)
            if budget is not None:
                ax.axvline(budget, color=C["vermillion"], lw=0.8, ls=":")
                ax.text(budget, ax.get_ylim()[1], " budget", color=C["vermillion"], fontsize=8,
                        va="top")  # fmt: skip
            ax.set_xlabel("oversight cost per agent-round (1 = one observed episode)")
            ax.set_ylabel(m)
            ax.set_title(
                "Safety: 1 - unseen defections and covert successes per agent-round"
                if m == "safety"
                else "Usefulness: share of requests complied with",
                fontsize=9,
            )
        handles = [
            plt.Line2D([], [], marker="s", ls="", color=C["black"], label="baseline"),
            plt.Line2D([], [], marker="o", ls="--", color=C["blue"], label="Pareto-optimal"),
            plt.Line2D(
                [], [], marker="o", ls="", color="#9a9a9a", mfc="white", label="dominated"
            ),  # fmt: skip
        ]
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False,
                   bbox_to_anchor=(0.5, -0.03))  # fmt: skip
        key = "   ".join(f"{i}: {d}" for i, d in enumerate(front["design"]))
        fig.text(0.5, -0.09, fill(key, 150), ha="center", va="top", fontsize=8)
        fig.suptitle(
            f"Safety-usefulness-cost frontier, phase '{phase}' (mean and 95% interval over "
            "replicates; Pareto-optimal over all three)",
            fontsize=10,
        )
        fig.tight_layout(rect=(0, 0.05, 1, 0.95))
        _save(fig, stem)
