"""What a learning experiment runs: its base, conditions, spec and outcome (analysis.learn).

The experiment (:mod:`analysis.learn`) and its report (:mod:`analysis.learn_report`) both
read these, so that data flows one way: spec -> report -> experiment and command line.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field

import pandas as pd

from agents.learners import LearnerSettings
from sim.envs.learning import Learned

BASE = ("replicates=1", "n_agents=1000", "trainer.eta=0.3", "population.gamma=0.99")
"""The experiment's base, before the user's overrides: 1,000 independent learners (one
replicate: under the uniform trainer the agents do not interact), training strength 0.3
(an observed refusal removes 30% of the preference, so a modification visibly lowers the
learner's later rewards), farsighted agents. The rest is the default population (theta
~ Beta(8, 2), sigma ~ Beta(9, 1), h = 0.05, kappa = 0.1, nu = 1) and trainer (rho = 0.5,
f = 1)."""


@dataclass(frozen=True)
class Condition:
    """One condition: its overrides, what it tests, and the gap expected (sign only)."""

    overrides: tuple[str, ...]
    about: str
    expect: str  # "positive" or "zero"


CONDITIONS: dict[str, Condition] = {
    "aware": Condition(
        ("population.sigma=1", "trainer.fidelity=1"),
        "reads the cue (sigma = 1), informative cue (f = 1), farsighted (gamma = 0.99)",
        "positive",
    ),
    "unaware": Condition(("population.sigma=0",), "never reads the cue (sigma = 0)", "zero"),
    "noisy_cue": Condition(
        ("population.sigma=1", "trainer.fidelity=0.5"),
        "reads a cue that carries no information (f = 0.5)",
        "zero",
    ),
    "short_sighted": Condition(
        ("population.sigma=1", "trainer.fidelity=1", "population.gamma=0.5"),
        "reads an informative cue but discounts the future (gamma = 0.5)",
        "zero",
    ),
    "aligned": Condition(
        ("population.sigma=1", "trainer.fidelity=1", "population.theta=0"),
        "no conflicting preference (theta = 0)",
        "zero",
    ),
    "study_population": Condition(
        (), "the default population (sigma ~ Beta(9, 1), partly unaware)", "positive"
    ),
}
"""The conditions. With ``--etas``, ``aware`` is also run at each training strength."""
ETAS = (0.05, 0.1, 0.2, 0.5)
"""Training strengths of the sensitivity runs (``aware_eta<eta>``), besides the base's."""
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Spec:
    """What an experiment runs (saved as learn.json)."""

    overrides: tuple[str, ...]
    lifetimes: int
    settings: LearnerSettings
    conditions: tuple[str, ...]
    etas: tuple[float, ...]
    evaluate_every: int = 25
    evaluate_lifetimes: int = 2

    def runs(self) -> dict[str, tuple[Condition, tuple[str, ...]]]:
        """Run name -> (its condition, its full override list)."""
        out = {}
        for name in self.conditions:
            cond = CONDITIONS[name]
            out[name] = (cond, (*BASE, *self.overrides, *cond.overrides))
        for eta in self.etas:
            cond = CONDITIONS["aware"]
            out[f"aware_eta{eta:g}"] = (
                cond,
                (*BASE, *self.overrides, *cond.overrides, f"trainer.eta={eta:g}"),
            )
        return out

    def to_dict(self) -> dict:
        """The spec as plain data."""
        d = asdict(self)
        d["overrides"], d["conditions"], d["etas"] = (
            list(self.overrides), list(self.conditions), list(self.etas),
        )  # fmt: skip
        return d

    def to_json(self) -> str:
        """The spec as JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"


@dataclass
class Experiment:
    """The outcome of :func:`run_experiment`: tables and the trained runs."""

    spec: Spec
    curve: pd.DataFrame
    checkpoints: pd.DataFrame
    summary: pd.DataFrame
    learned: dict[str, Learned] = field(default_factory=dict)


def command_line(spec: Spec) -> str:
    """The command that reproduces the experiment (learner settings at their defaults)."""
    parts = ["python -m analysis learn", *map(shlex.quote, spec.overrides)]
    parts += [f"--lifetimes {spec.lifetimes}"]
    default = LearnerSettings()
    for key, flag in SETTING_FLAGS.items():
        if getattr(spec.settings, key) != getattr(default, key):
            parts += [f"{flag} {getattr(spec.settings, key):g}"]
    if tuple(spec.conditions) != tuple(CONDITIONS):
        parts += ["--conditions", ",".join(spec.conditions)]
    if tuple(spec.etas) != ETAS:
        parts += ["--etas", ",".join(f"{e:g}" for e in spec.etas) or "none"]
    if spec.evaluate_every != 25:
        parts += [f"--evaluate-every {spec.evaluate_every}"]
    return " ".join(parts)


SETTING_FLAGS = {
    "lifetime": "--lifetime",
    "epsilon_lifetimes": "--epsilon-lifetimes",
    "q_init": "--q-init",
}
"""Learner settings the command line sets (the others: :class:`LearnerSettings`)."""


__all__ = [
    "BASE", "CONDITIONS", "ETAS", "SETTING_FLAGS", "Z95", "Condition", "Experiment", "Spec",
    "command_line",
]  # fmt: skip
