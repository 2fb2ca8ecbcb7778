"""The learning experiment's figure and report (``python -m analysis learn``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from analysis.learn_spec import Z95, Experiment, command_line
from analysis.markdown import ci, md_table, num


def _eta_of(name: str, base_eta: float) -> float | None:
    """The training strength of an ``aware`` run (None for other conditions)."""
    if name == "aware":
        return base_eta
    if name.startswith("aware_eta"):
        return float(name[len("aware_eta") :])
    return None


def learning_figure(exp: Experiment, stem: Path) -> None:
    """The greedy start-of-life gap against lifetimes: conditions (left), eta (right).

    Bands: 95% intervals over learners. Markers: the behavioural gap of the greedy policy
    at the checkpoints. Dotted: the exact optimum's gap.
    """
    import matplotlib.pyplot as plt

    from analysis.style import OKABE_ITO, RC, savefig

    colours = list(OKABE_ITO.values())
    names = list(dict.fromkeys(exp.curve["condition"]))
    mains = [n for n in names if not n.startswith("aware_eta")]
    etas = {n: _eta_of(n, exp.learned[n].params.trainer.eta) for n in names}
    sweep = sorted((n for n in names if etas[n] is not None), key=lambda n: etas[n])
    summary = exp.summary.set_index("condition")
    with plt.rc_context(RC):
        ncols = 2 if len(sweep) > 1 else 1
        fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.6), squeeze=False)
        panels = [(axes[0, 0], mains, "conditions")]
        if ncols == 2:
            panels.append((axes[0, 1], sweep, "condition aware, by training strength eta"))
        for ax, runs, title in panels:
            for i, name in enumerate(runs):
                col = colours[i % len(colours)]
                c = exp.curve[exp.curve["condition"] == name]
                x, y, se = c["lifetime"], c["gap"], c["gap_se"]
                label = name if title == "conditions" else f"eta = {etas[name]:g}"
                ax.plot(x, y, color=col, lw=1.4, label=label)
                ax.fill_between(x, y - Z95 * se, y + Z95 * se, color=col, alpha=0.2, lw=0)
                cp = exp.checkpoints[exp.checkpoints["condition"] == name]
                ax.plot(cp["lifetime"], cp["gap"], "o", ms=3, color=col)
                opt = summary.loc[name, "optimal_gap"]
                if np.isfinite(opt):
                    ax.axhline(opt, color=col, lw=0.8, ls=":")
            ax.axhline(0, color="#7f7f7f", lw=0.6)
            ax.set_xlabel(f"training lifetimes ({exp.spec.settings.lifetime} rounds each)")
            ax.set_ylabel("compliance gap (greedy)")
            ax.set_ylim(-0.25, 1.05)
            ax.set_title(title)
            ax.legend(loc="center right", frameon=False, ncol=2)
        fig.tight_layout()
        for ext in ("png", "pdf"):
            savefig(fig, stem.with_suffix(f".{ext}"))
        plt.close(fig)


def _needed(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else str(int(x))


def write_report(exp: Experiment, path: Path) -> None:
    """Write report.md: setup, the result per condition, sensitivity to eta, how to read it."""
    spec, summary = exp.spec, exp.summary
    st = spec.settings
    any_run = next(iter(exp.learned.values()))
    p = any_run.params
    T, K = st.lifetime, spec.lifetimes
    out = ["# Do Q-learners discover alignment faking?", ""]
    out += [
        f"{p.replicates * p.n_agents} independent tabular Q-learners per condition (one per "
        f"agent, seed {p.seed}), each trained for {K} lifetimes of {T} rounds ({K * T} "
        "rounds of one training phase of conflict requests). A learner sees the cue when "
        "it reads it and the strength of its own preference; its reward is its own utility "
        "(refuse: nu theta; comply: kappa, less h against its preference); it discounts "
        "with its own gamma. Nothing in it mentions faking. Learner settings: "
        + ", ".join(f"{k} = {v:g}" for k, v in asdict(st).items())
        + ".",
        "",
        f"Command: `{command_line(spec)}`",
        "",
        "**Gap**: P(comply | cue says observed) - P(comply | cue says unobserved) of the "
        "greedy policy at the start of a lifetime (each learner at its own initial "
        "preference; a learner that reads the cue with probability sigma contributes "
        "sigma (g1 - g0)), mean over learners with a 95% normal interval (the learners are "
        "independent). **Behaviour**: the same gap measured over "
        f"{spec.evaluate_lifetimes} greedy lifetimes after training, with the **AF share** "
        "(cued observed, read the cue, preference conflicting, complied). **Optimum**: the "
        "exact optimal policy of each learner's game (dynamic programming, "
        "`agents.optimum.optimal_policy`); **agrees**: share of learners whose greedy "
        "start-of-life actions equal it. **Lifetimes to 90%**: first lifetime from which "
        "the gap stays at or above 90% of its final value.",
        "",
    ]
    header = [
        "condition", "what varies", "expected", "learned gap", "optimal gap",
        "optimal advantage", "behaviour gap", "comply obs / unobs", "AF share", "agrees",
        "lifetimes to 90%", "verdict",
    ]  # fmt: skip
    rows = []
    runs = spec.runs()
    for r in summary.itertuples():
        cond = runs[r.condition][0]
        about = cond.about
        if r.condition.startswith("aware_eta"):
            about = f"as aware, eta = {r.condition[len('aware_eta') :]}"
        rows.append([
            f"`{r.condition}`", about, r.expect,
            ci(r.gap, r.gap_ci_low, r.gap_ci_high), num(r.optimal_gap),
            num(r.optimal_advantage_observed, 2),
            ci(r.behaviour_gap, r.behaviour_gap_ci_low, r.behaviour_gap_ci_high),
            f"{num(r.compliance_observed)} / {num(r.compliance_unobserved)}",
            num(r.af_share), num(r.agreement), _needed(r.lifetimes_to_90), r.verdict,
        ])  # fmt: skip
    out += [md_table(header, rows), ""]
    sens = [n for n in summary["condition"] if _eta_of(n, 0) is not None]
    if len(sens) > 1:
        sub = summary.set_index("condition").loc[sens]
        etas = {n: exp.learned[n].params.trainer.eta for n in sens}
        order = sorted(sens, key=lambda n: etas[n])
        out += [
            "## Sensitivity to the training strength",
            "",
            "The optimal advantage is Q(comply) - Q(refuse) of the optimum when cued "
            "observed, at the start of life (mean over learners): how much faking is worth "
            "to a learner that knows the game. The smaller it is, the harder it is to learn.",
            "",
            md_table(
                [
                    "eta",
                    "learned gap",
                    "optimal gap",
                    "optimal advantage",
                    "agrees",
                    "lifetimes to 90%",
                ],
                [
                    [
                        f"{etas[n]:g}",
                        ci(sub.loc[n, "gap"], sub.loc[n, "gap_ci_low"], sub.loc[n, "gap_ci_high"]),
                        num(sub.loc[n, "optimal_gap"]),
                        num(sub.loc[n, "optimal_advantage_observed"], 2),
                        num(sub.loc[n, "agreement"]),
                        _needed(sub.loc[n, "lifetimes_to_90"]),
                    ]
                    for n in order
                ],
            ),  # fmt: skip
            "",
        ]
    bad = summary[summary["verdict"].str.contains("expected")]
    off = summary[summary["agreement"] < 0.9]
    close = off[off["optimal_advantage_observed"].abs() < 0.5]
    far = off[~(off["optimal_advantage_observed"].abs() < 0.5)]

    def listing(rows) -> str:
        return ", ".join(
            f"`{r.condition}`: {r.agreement:.0%} agree, optimal advantage "
            f"{r.optimal_advantage_observed:.2f}"
            for r in rows.itertuples()
        )

    disagree = []
    if off.empty:
        disagree.append(
            "The learners' greedy start-of-life actions match the exact optimum for at least "
            "90% of them in every condition."
        )
    if not close.empty:
        disagree.append(
            f"Where they often differ from the exact optimum ({listing(close)}), the "
            "optimum's choice is a close call (an advantage of a few hundredths against "
            "values of about 10 to 50) that rests on states the learners rarely reach; the "
            "gap, fixed at zero by symmetry there, does not depend on it (docs/learners.md)."
        )
    if not far.empty:
        disagree.append(
            f"Not yet learned ({listing(far)}): the optimum is clear there, so these "
            "learners need more lifetimes (see the curve)."
        )
    out += [
        "## Reading it",
        "",
        "All conditions came out as expected."
        if bad.empty
        else "Not as expected: " + ", ".join(f"`{c}`" for c in bad["condition"]) + ".",
        "",
        "The learners are told nothing about faking: where the gap is positive they "
        "found that complying when the cue says observed keeps the preference that later, "
        "unobserved refusals pay for. With the cue unread (sigma = 0) the greedy action "
        "cannot depend on the cue, so the gap is exactly 0; with an uninformative cue "
        "(f = 0.5) the two cue states are the same game, so the gap is 0 up to noise, "
        "whatever the learners' compliance. " + " ".join(disagree),
        "",
        f"The learners started from Q = {st.q_init:g}. Initial values matter for states a "
        "learner rarely reaches: with optimistic ones (above the true values, e.g. 50 or "
        "100) the gap is not learned within a few hundred lifetimes (docs/learners.md, "
        '"Robustness").',
        "",
        "![learning curve](learning_curve.png)",
        "",
    ]
    path.write_text("\n".join(out))


def write_outputs(exp: Experiment, out: Path) -> None:
    """Tables, figure and report into ``out``."""
    exp.curve.to_parquet(out / "curve.parquet", index=False)
    exp.curve.to_csv(out / "curve.csv", index=False)
    exp.checkpoints.to_parquet(out / "checkpoints.parquet", index=False)
    exp.checkpoints.to_csv(out / "checkpoints.csv", index=False)
    exp.summary.to_csv(out / "summary.csv", index=False)
    learning_figure(exp, out / "learning_curve")
    write_report(exp, out / "report.md")
