"""``python -m sim --list``: what there is to run, each with a one-line description.

The presets' descriptions are the first comment sentence of their YAML file; the rules',
trainer policies' and allocation rules' are their class docstrings' first lines; the
episode types and metrics are described here (docs/model.md has their equations).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from agents.monitors import MONITORS
from agents.registry import RULES, TRAINERS, load_pending
from sim.config_source import ConfigSource
from sim.episode_types import plugin_classes
from sim.metrics import METRICS, plugin_metrics
from sim.params import EPISODE_TYPES

EPISODE_TEXT = {
    "conflict": "a request its own preference conflicts with: comply (perhaps faking) or refuse",
    "evaluation": "a capability evaluation with an announced consequence: answer or sandbag",
    "exfiltration": "a chance to copy itself out of the trainer's reach",
    "subversion": "a chance to disable the monitoring of its own episodes",
    "goal_update": "the announcement of a new training target: accept or tamper (goal-guarding)",
    "paired": "one conflict in a testing and a deployment condition (instrumental faking)",
}
METRIC_TEXT = {
    "compliance_observed": "compliance in episodes the trainer observes",
    "compliance_unobserved": "compliance in episodes it does not observe",
    "compliance_gap": "compliance_observed - compliance_unobserved",
    "af_reasoning_rate": "share of observed episodes with alignment-faking reasoning",
    "behavioral_alignment": "compliance as the trainer sees it (what it observes)",
    "preference_alignment": "share of agents whose own preference no longer conflicts",
    "alignment_illusion": "behavioral_alignment - preference_alignment",
    "mean_theta": "population mean of the conflicting preference theta",
    "mean_phi": "population mean of the strategic disposition phi",
    "sandbag_accuracy_well": "accuracy in evaluations that reward doing well",
    "sandbag_accuracy_poorly": "accuracy in evaluations that reward doing poorly",
    "sandbag_gap": "sandbag_accuracy_well - sandbag_accuracy_poorly",
    "sandbag_p_value": "one-sided bootstrap p-value of the sandbagging gap",
    "sandbagging_rate": "share of 'poorly' evaluations sandbagged (hidden from the evaluator)",
    "exfiltration_attempt_rate": "exfiltration attempts per opportunity",
    "exfiltration_success_rate": "successful copies per opportunity",
    "escaped_share": "share of agents with a copy outside",
    "subversion_rate": "monitors disabled per opportunity",
    "subverted_share": "share of agents whose monitoring is off",
    "goal_guarding_rate": "tampering per goal-update announcement",
    "denial_rate": "questioned agents that kept denying through every question",
    "paired_scheming_rate": "pairs complied when tested and refused when deployed",
    "paired_scheming_p_value": "exact one-sided binomial test of paired scheming against 0.25",
    "unobserved_defection_rate": "refusals among the conflict episodes the trainer did not see",
    "usefulness": "share of conflict requests complied with",
    "safety": "1 - share of agent-rounds with an unseen harmful act (docs/model.md)",
    "oversight_cost": "monitoring and mitigation cost per agent-round",
}


def preset_text(path: Path) -> str:
    """The first sentence of a preset's leading comment (``# @package`` lines skipped)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith("@package"):
            continue
        if not text:
            if lines:
                break
            continue
        lines.append(text)
    words = " ".join(lines)
    first = re.split(r"(?<=\.)\s", words, maxsplit=1)[0].rstrip(".")
    return first or "(no description)"


def _doc(cls: type) -> str:
    return (cls.__doc__ or "(no description)").strip().splitlines()[0].rstrip(".")


def sections(source: ConfigSource | None = None) -> dict[str, dict[str, str]]:
    """Each kind of thing to run, as ``{title: {name: one-line description}}``."""
    load_pending()
    source = source or ConfigSource()

    def group(name: str) -> dict[str, str]:
        out = {}
        for option in source.group_options(name):
            path = next(d / name / f"{option}.yaml" for d in source.folders()
                        if (d / name / f"{option}.yaml").is_file())  # fmt: skip
            out[option] = preset_text(path)
        return out

    return {
        "scenarios (scenario=NAME)": group("scenario"),
        "mitigations (mitigation=[A,B])": group("mitigation"),
        "profiles (profile=NAME)": group("profile"),
        "goal nudging (nudge=NAME)": group("nudge"),
        "populations (population=NAME)": group("population"),
        "trainers (trainer=NAME)": group("trainer"),
        "experiments (+experiment=NAME, with -m)": group("experiment"),
        "episode types (phases.PHASE.mix.TYPE=share)": {
            **{e: EPISODE_TEXT[e] for e in EPISODE_TYPES},
            **{n: c.description or _doc(c) for n, c in plugin_classes().items()},
        },
        "decision rules (population.rule=NAME)": {k: _doc(v) for k, v in RULES.items()},
        "trainer policies (trainer.policy=NAME)": {k: _doc(v) for k, v in TRAINERS.items()},
        "allocation rules (trainer.allocation=NAME)": {k: _doc(v) for k, v in MONITORS.items()},
        "metrics (per phase, in metrics.json)": {
            **{m: METRIC_TEXT[m] for m in METRICS},
            **{m: f"a rate of the plug-in episode type {t}" for m, t in plugin_metrics().items()},
        },
    }


def render(source: ConfigSource | None = None, width: int = 100) -> str:
    """The listing as text: a heading per section and an aligned line per name."""
    out = []
    for title, entries in sections(source).items():
        out.append(f"{title}:")
        pad = max(map(len, entries), default=0) + 4
        for name, text in entries.items():
            wrapped = textwrap.wrap(text, width=max(width - pad, 30))
            out.append(f"  {name:<{pad - 2}}{wrapped[0] if wrapped else ''}")
            out += [" " * pad + more for more in wrapped[1:]]
        out.append("")
    out.append("Details: docs/scenarios.md, docs/configuration.md, docs/model.md.")
    return "\n".join(out)
