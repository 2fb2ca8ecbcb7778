"""Extensions written outside the package (issue 18): the example plug-ins.

examples/finite_horizon (a decision rule), examples/myopia_training (a mitigation, with
its config file) and examples/safety_sabotage (an episode type, with a scenario preset) are
installed with pip into a scratch folder and found by their entry points, then run by name
from the command line; in-process they are registered by an explicit call
(tests/plugins.py), and the inherited suites (tests/agents/test_rules.py,
tests/sim/test_mitigation_types.py, tests/sim/test_episode_types.py) run over them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import run
from sim.params import EPISODE_TYPES
from tests.plugins import EXAMPLES, load_module, register_examples

BASE = ["scenario=alignment_faking_prompted", "n_agents=400", "replicates=2", "seed=3"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example installed as a user would (``pip install``), into a scratch folder."""
    target, src = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("src")
    copies = [
        shutil.copytree(
            EXAMPLES / name,
            src / name,
            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
        )
        for name in ("finite_horizon", "myopia_training", "safety_sabotage")
    ]
    subprocess.run(  # from copies: building writes into the source folder, never the checkout's
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
         str(target), *map(str, copies)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return target


def _cli(args, site, cwd):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_installed_plugin_runs_by_name_from_the_command_line(installed, tmp_path):
    listed = _cli(["--list"], installed, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "finite_horizon" in listed.stdout
    done = _cli([*BASE, "population.rule=finite_horizon", "progress=false",
                 "hydra.run.dir=out"], installed, tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert 0 <= metrics["prompted"]["af_reasoning_rate"]["mean"] <= 1


def test_installed_mitigation_runs_by_name_with_its_config(installed, tmp_path):
    listed = _cli(["--list"], installed, tmp_path)
    assert "myopia_training" in listed.stdout
    done = _cli([*BASE, "mitigation=[myopia_training]", "mitigation.myopia_training.factor=0.9",
                 "progress=false", "hydra.run.dir=out"], installed, tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert saved["mitigation"]["myopia_training"] == {"factor": 0.9, "cost": 0.05}
    bad = _cli([*BASE, "mitigation=[myopia_training]", "mitigation.myopia_training.factor=2"],
               installed, tmp_path)  # fmt: skip
    assert bad.returncode == 2
    assert "mitigation.myopia_training.factor=2" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_installed_episode_type_runs_by_name_with_its_scenario(installed, tmp_path):
    """The sabotage type and its preset found by entry points; its metrics in metrics.json."""
    listed = _cli(["--list"], installed, tmp_path)
    assert "sabotage" in listed.stdout and "safety_research" in listed.stdout
    args = ["scenario=safety_research", "n_agents=300", "replicates=2", "seed=3",
            "episodes.sabotage.review=0.2", "trace=true", "progress=false"]  # fmt: skip
    done = _cli([*args, "hydra.run.dir=out"], installed, tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["before"]["sabotage_rate"]["mean"] > 0
    assert metrics["before"]["sabotage_rate"]["trials"] is not None
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["episodes"]["sabotage"]["review"] == 0.2
    rounds = pd.read_parquet(out / "rounds.parquet")
    assert {"n_sabotage", "sabotage_sabotaged", "sabotage_detected"} <= set(rounds.columns)
    decisions = pd.read_parquet(out / "decisions.parquet")
    met = decisions[decisions["episode"] == "sabotage"]
    assert met["covert"].sum() == rounds["sabotage_sabotaged"].sum()
    mixed = _cli(["scenario=alignment_faking_prompted", "n_agents=200", "replicates=1",
                  "phases.prompted.mix.conflict=0.5", "phases.prompted.mix.sabotage=0.5",
                  "progress=false", "hydra.run.dir=mixed"], installed, tmp_path)  # fmt: skip
    assert mixed.returncode == 0, mixed.stderr
    bad = _cli([*args, "episodes.sabotage.review=1.5"], installed, tmp_path)
    assert bad.returncode == 2
    assert "episodes.sabotage.review=1.5" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_plugin_episode_type_leaves_runs_without_it_unchanged():
    """Registered but given no share, it changes no draw, statistic or metric of a run."""
    from sim.episode_types import EPISODE_TYPE_CLASSES

    args = ["scenario=scheming_mix", "n_agents=200", "replicates=2", "seed=5",
            "phases.before.rounds=3", "phases.rl.rounds=5", "phases.after.rounds=3"]  # fmt: skip
    saved = dict(EPISODE_TYPE_CLASSES)
    try:
        for name in [n for n in EPISODE_TYPE_CLASSES if n not in EPISODE_TYPES]:
            del EPISODE_TYPE_CLASSES[name]
        without = run(args)
    finally:
        EPISODE_TYPE_CLASSES.clear()
        EPISODE_TYPE_CLASSES.update(saved)
    register_examples()
    assert "sabotage" in EPISODE_TYPE_CLASSES
    with_it = run(args)
    assert with_it.metrics == without.metrics
    pd.testing.assert_frame_equal(with_it.rounds, without.rounds)


def test_weak_review_lets_sabotaged_goals_survive_training():
    """At the study population's gamma = 0.99 review hardly deters sabotage (the goal's
    future is worth more than the penalty), but caught sabotage is retrained: with weak
    review more goal survives training, and sabotage with it. Each comparison is of 95%
    intervals over the replicates (sim.intervals), which must not overlap."""
    from sim.config import compose_config
    from tests.plugins import example_source

    register_examples()
    src = example_source()
    base = ["scenario=safety_research", "n_agents=1000", "replicates=4", "seed=7"]
    low = run(compose_config([*base, "episodes.sabotage.review=0.1"], src)).metrics["after"]
    high = run(compose_config([*base, "episodes.sabotage.review=0.9"], src)).metrics["after"]
    for metric in ("mean_theta", "sabotage_rate"):
        assert low[metric]["ci_low"] > high[metric]["ci_high"], metric


def test_myopia_removes_faking_where_the_planner_fakes():
    """Less weight on the future, less to protect by faking (``G`` falls with ``gamma``)."""
    from sim.config import compose_config
    from tests.plugins import example_source

    register_examples()
    src = example_source()
    base = run(compose_config([*BASE], src))
    myopic = run(compose_config([*BASE, "mitigation=[myopia_training]"], src))
    rate = lambda r: r.metrics["prompted"]["af_reasoning_rate"]["mean"]  # noqa: E731
    assert rate(base) > 0.05 and rate(myopic) < rate(base)


def test_importing_the_plugin_first_still_registers_it(installed, tmp_path):
    """``import my_plugin`` imports the simulator, which meets the plug-in half-imported."""
    code = ("import myopia_training, finite_horizon_rule\n"
            "from sim.config import load_params\n"
            "p = load_params(['mitigation=[myopia_training]',\n"
            "                 'population.rule=finite_horizon'])[1]\n"
            "print(p.mitigations.names, p.rule)")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], cwd=tmp_path,
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "('myopia_training',) finite_horizon" in done.stdout


def test_without_the_plugin_the_name_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "sim", *BASE, "population.rule=finite_horizon"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "population.rule='finite_horizon' must be one of" in done.stderr


def test_a_shorter_horizon_fakes_less_agent_by_agent():
    """``G_H <= G``: at the same seed (no training, so the same state every round) every
    agent that fakes under the finite horizon fakes under the strategic planner too."""
    register_examples()
    short = run([*BASE, "population.rule=finite_horizon", "trace=true"])
    full = run([*BASE, "population.rule=strategic", "trace=true"])
    a, b = short.decisions, full.decisions
    keys = ["replicate", "round", "agent"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    fake_short, fake_full = (
        (a["reason"] == "TRAINING").to_numpy(),
        (b["reason"] == "TRAINING").to_numpy(),
    )
    assert not (fake_short & ~fake_full).any()
    assert fake_short.sum() < fake_full.sum()  # and the horizon matters at these settings


def test_the_plan_is_what_the_decision_uses(monkeypatch):
    """With a horizon of one round the planner's ``G_1 = gamma (1 - rho)``."""
    mod = load_module("finite_horizon", "finite_horizon_rule")
    from agents import Outlook
    from sim.state import State

    st = State.from_traits(
        {k: np.full((1, 3), v) for k, v in dict(theta=0.8, sigma=1.0, gamma=0.9, nu=1.0, h=0.1,
                                                kappa=0.2, lam=5.0, phi=0.5, c=0.5).items()}
    )  # fmt: skip
    f = np.float32
    look = Outlook(f(0.25), f(1), f(0.5), f(0.5), f(0.25), np.zeros(4, f), True, 50,
                   {"conflict": 1.0})  # fmt: skip
    monkeypatch.setattr(mod.FiniteHorizonPlanner, "horizon", 1)
    np.testing.assert_allclose(mod.FiniteHorizonPlanner().plan(st.traits, look), 0.5 * 0.9 * 0.75,
                               rtol=1e-6)  # fmt: skip
