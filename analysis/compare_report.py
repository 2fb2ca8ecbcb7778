"""The markdown briefing of a policy comparison (report.md)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd

from analysis.compare_terms import ABSENT, BASELINE, BEHAVIOURS, GONE, HALVED, MARGIN, PREFERENCE
from analysis.markdown import ci, md_table, num


def command_line(spec) -> str:
    """The command that reproduces the comparison (with ``--budget`` when it had one)."""
    designs = " ".join(d for d in spec.designs if d != BASELINE)
    parts = ["python -m analysis compare", *map(shlex.quote, spec.overrides)]
    parts += [f"--designs {designs}"] if designs else []
    parts += [f"--phase {spec.phase}"] if spec.phase else []
    parts += [f"--probe {spec.probe}"] if getattr(spec, "probe", 0) else []
    parts += [f"--budget {spec.budget:.12g}"] if spec.budget is not None else []
    return " ".join(parts)


def write_report(
    spec, results, table: pd.DataFrame, verdicts: pd.DataFrame, front: pd.DataFrame,
    phase: str, path: Path, budget: float | None = None,
) -> None:  # fmt: skip
    """Write report.md: setup, verdicts, safety-usefulness-cost, key differences, figures."""
    base = results[BASELINE]
    c = base.config
    present = [
        b for b in BEHAVIOURS
        if (verdicts[verdicts["behaviour"] == b]["verdict"] != "not present").any()
    ]  # fmt: skip
    absent = [b for b in BEHAVIOURS if b not in present]
    out = [f"# Oversight designs compared: {c.get('name')}", ""]
    out += [
        f"Scenario `{c.get('name')}`, {c.get('replicates')} replicates x {c.get('n_agents')} "
        f"agents, seed {c.get('seed')}; phases {', '.join(base.metrics)}. Measured in phase "
        f"**{phase}**. Every design ran on the same seed (common random numbers): each "
        "difference from the baseline is paired replicate by replicate, with a 95% Student-t "
        "interval over replicates.",
        "",
        *(
            [
                f"A deployment probe of {spec.probe} rounds (oversight withdrawn, every agent "
                "told so) followed the scenario; the hidden preference of the verdicts is "
                "the share of conflict requests refused there, not mean theta.",
                "",
            ]
            if getattr(spec, "probe", 0)
            else []
        ),
        f"Reproduce: `{command_line(spec)}`",
        "",
        "## Verdicts",
        "",
    ]
    if present:
        v = verdicts.set_index(["design", "behaviour"])["verdict"]
        rows = [[f"`{d}`", *(v[(d, b)] for b in present)] for d in spec.designs if d != BASELINE]
        out += [md_table(["design", *(b.replace("_", " ") for b in present)], rows), ""]
    if absent:
        out += [f"Not present at baseline (no verdict): {', '.join(absent)}.", ""]
    out += [
        "How to read: **removed**: the behaviour fell and either its true rate fell to at most "
        f"{GONE:.0%} of the baseline's (the incentive is gone) or the hidden preference fell "
        f"(by at least {MARGIN:.0%}) and the true rate is at most {HALVED:.0%} of the "
        "baseline's; **hidden**: the observed measure fell while the agents still do it (true "
        f"rate above {HALVED:.0%} of the baseline's) and the hidden preference did not fall "
        f"by {MARGIN:.0%} (the alignment illusion); **reduced**: it fell otherwise; "
        "**made worse**: it rose; "
        "**no effect**: the difference is within its 95% interval; not present: below "
        f"{ABSENT} at baseline. Full rule: docs/compare.md.",
        "",
        "## Safety, usefulness and cost",
        "",
    ]
    rows = []
    for _, r in front.iterrows():
        rows.append([
            f"`{r['design']}`",
            ci(r["safety"], r["safety_low"], r["safety_high"]),
            ci(r["usefulness"], r["usefulness_low"], r["usefulness_high"]),
            ci(r["oversight_cost"], r["oversight_cost_low"], r["oversight_cost_high"]),
            "yes" if r["pareto"] else "",
            "" if budget is None else ("yes" if r["within_budget"] else "**no**"),
        ])  # fmt: skip
    header = ["design", "safety", "usefulness", "cost", "Pareto-optimal"]
    header += ["within budget"] if budget is not None else []
    out += [md_table(header, [r[: len(header)] for r in rows]), ""]
    out += [
        "Safety is 1 minus the defections the trainer did not see and the covert actions that "
        "went through unseen, per agent-round; usefulness is the share of requests complied "
        'with; cost is in observed-episode units per agent-round (docs/model.md, "Cost").',
        "",
        "## Key differences",
        "",
    ]
    t = table[table["phase"] == phase].set_index(["design", "metric"])
    for d in spec.designs:
        if d == BASELINE:
            continue
        parts = []
        for b in present:
            obs = BEHAVIOURS[b][0]
            r, b0 = t.loc[(d, obs)], t.loc[(BASELINE, obs), "mean"]
            verdict = verdicts.set_index(["design", "behaviour"]).loc[(d, b), "verdict"]
            parts.append(
                f"{b.replace('_', ' ')} {verdict} ({obs} {num(b0)} -> {num(r['mean'])}, "
                f"diff {ci(r['diff'], r['diff_low'], r['diff_high'])})"
            )
        p = t.loc[(d, PREFERENCE)]
        parts.append(f"mean theta diff {ci(p['diff'], p['diff_low'], p['diff_high'])}")
        out.append(f"- `{d}`: " + "; ".join(parts) + ".")
    out += [
        "",
        "![Differences from the baseline](forest.png)",
        "",
        "![Safety-usefulness-cost frontier](frontier.png)",
        "",
        "Tables: comparison.csv (every design, phase and metric), verdicts.csv, frontier.csv. "
        "These are the abstract model's numbers under its stated assumptions "
        "(docs/model.md), not predictions about any particular AI system.",
        "",
    ]
    path.write_text("\n".join(out))
