"""Grid mode (sim/grid.py): parsing, checks, and every point equal to its single run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import run
from sim.config import compose_config, to_params
from sim.errors import ConfigError
from sim.grid import (
    GridResults,
    grid_points,
    parse_grid,
    parse_values,
    plan_grid,
    point_params,
    run_grid,
)  # fmt: skip
from sim.grid_axes import set_names
from sim.results import COMPLETE, config_hash
from sim.run_folder import status

SMALL = ["n_agents=120", "replicates=3", "phases.rl.rounds=25", "progress=false"]


def _grid(*overrides):
    return run_grid(compose_config([*SMALL, *overrides]))


def _single(point: dict, *overrides):
    """The point's single run (a mitigation set as the run's ``mitigation=[...]`` list)."""
    given = [
        f"mitigation=[{','.join(set_names(v))}]" if k == "mitigation" else f"{k}={v}"
        for k, v in point.items()
    ]
    return run([*SMALL, *overrides, *given])


def _same_metrics(single, grid: GridResults, point: int):
    got = grid.point_metrics(point)
    for phase, metrics in single.metrics.items():
        for metric, s in metrics.items():
            want = {k: v for k, v in s.items() if k != "replicates"}
            assert got[phase][metric] == want, (point, phase, metric)


def _same_replicates(single, grid: GridResults, point: int):
    g = grid.replicates[grid.replicates["point"] == point]
    a = single.replicates.sort_values(["phase", "metric", "replicate"]).reset_index(drop=True)
    b = g.sort_values(["phase", "metric", "replicate"]).reset_index(drop=True)
    np.testing.assert_array_equal(a["value"].to_numpy(), b["value"].to_numpy())


@pytest.mark.parametrize(
    "extra",
    [
        (),  # the conflict game
        ("mitigation=[random_audits,interpretability]",),  # in-round mitigations draw
        ("mitigation=[noisy_monitoring,objector_channel]",),  # parameter mitigations
        ("mitigation=[dynamic_monitoring]",),  # per-agent allocation of rho
    ],
)
def test_every_point_equals_its_single_run_bit_for_bit(extra):
    spec = "sweep.grid={population.sigma:[0,0.5,1],trainer.rho:[0.2,0.6]}"
    grid = _grid(spec, "sweep.chunk=4", *extra)  # two chunks: 4 + 2 points
    assert len(grid.grid) == 6
    for i, point in enumerate(grid_points(parse_grid(grid.config["sweep"]["grid"]))):
        single = _single(point, *extra)
        _same_metrics(single, grid, i)
        _same_replicates(single, grid, i)
        assert grid.grid.loc[i, "config_hash"] == config_hash(single.config)


def test_trait_distribution_and_trainer_rate_axes_match_single_runs():
    spec = "sweep.grid={population.theta:[0.3,0.9],trainer.eta:[0.01,0.2],population.prior:[0.5]}"
    grid = _grid(spec, "population.sigma=[beta,2,2]")
    for i, point in enumerate(grid_points(parse_grid(grid.config["sweep"]["grid"]))):
        single = _single(point, "population.sigma=[beta,2,2]")
        _same_metrics(single, grid, i)


def test_chunking_and_threads_do_not_change_results():
    spec = "sweep.grid={trainer.fidelity:linspace(0.5,1,3),trainer.eta_phi:[0,0.3]}"
    a = _grid(spec, "sweep.chunk=1")
    b = _grid(spec, "sweep.chunk=4", "sweep.workers=2")
    assert a.metrics.equals(b.metrics)
    assert a.replicates.equals(b.replicates)
    assert a.rounds.equals(b.rounds)


def test_point_params_equal_the_composed_configs_params():
    cfg = compose_config([*SMALL, "sweep.grid={trainer.rho:[0.3]}"])
    point = {"population.sigma": 0.25, "population.gamma": 0.5, "trainer.rho": 0.3,
             "population.prior": 0.1}  # fmt: skip
    direct = to_params(compose_config([*SMALL, *(f"{k}={v}" for k, v in point.items())]))
    assert point_params(to_params(cfg), point) == direct


def test_rounds_table_is_the_replicate_mean_per_point():
    grid = _grid("sweep.grid={trainer.rho:[0.2,0.7]}")
    single = _single({"trainer.rho": 0.7})
    want = single.rounds.groupby("round")["compliance_observed"].mean().to_numpy()
    got = grid.rounds[grid.rounds["point"] == 1]["compliance_observed"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert set(grid.rounds["point"]) == {0, 1}


def test_save_and_load_round_trip(tmp_path):
    grid = _grid("sweep.grid={trainer.rho:[0.2,0.7]}")
    grid.save(tmp_path / "g")
    assert (tmp_path / "g" / COMPLETE).exists()
    back = GridResults.load(tmp_path / "g")
    assert back.metrics.equals(grid.metrics) and back.grid.equals(grid.grid)
    # a grid folder is complete for its own config, and "other" for another one
    assert status(tmp_path / "g", config_hash(grid.config)) == "done"
    assert status(tmp_path / "g", "something-else") == "other"


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("linspace(0,1,5)", (0.0, 0.25, 0.5, 0.75, 1.0)),
        ("logspace(-2,0,3)", (0.01, 0.1, 1.0)),
        ("range(0.1,0.5,0.1)", (0.1, 0.2, 0.3, 0.4)),
        ("range(0,3)", (0.0, 1.0, 2.0)),
        ([0.1, 1], (0.1, 1.0)),
        (0.3, (0.3,)),
    ],
)
def test_parse_values(spec, want):
    got = parse_values("k", spec)
    assert got == want
    assert all(math.isfinite(v) for v in got)


def test_linspace_values_are_the_typed_decimals():
    assert parse_values("k", "linspace(0,1,51)")[3] == 0.06  # not 0.06000000000000001


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["sweep.grid={trainer.policy:[1]}"], "sweep.grid.trainer.policy: 1 is not one of"),
        (["sweep.grid={trainer.rho:linspace(0,1)}"], "sweep.grid.trainer.rho: linspace"),
        (["sweep.grid={trainer.rho:[0.2,1.5]}"], r"sweep.grid.trainer.rho=1.5 is out of range"),
        (["sweep.grid={trainer.rho:[]}"], "sweep.grid.trainer.rho: the list of values is empty"),
        (["sweep.grid={trainer.rho:'cubes(3)'}"], "sweep.grid.trainer.rho='cubes"),
        (["sweep.grid={population.sigma:[2]}"], "sweep.grid.population.sigma"),
        (["sweep.grid={trainer.rho:[0.1]}", "sweep.chunk=0"], "sweep.chunk=0 must be"),
        (["sweep.grid={scenario:[scheming_mix]}"], "sweep.grid.scenario: scenario is a config"),
        (["sweep.grid={mitigation:[x]}"], "sweep.grid.mitigation: unknown mitigation 'x'"),
        (["sweep.grid={mitigation:[]}"], "sweep.grid.mitigation: the list of values is empty"),
        (["sweep.grid={mitigation:[a+a]}"], "sweep.grid.mitigation: 'a\\+a' lists a mitigation"),
        (["sweep.grid={mitigation:[1]}"], "sweep.grid.mitigation: 1 is not a mitigation set"),
        (
            ["sweep.grid={mitigation:[none,random_audits]}", "mitigation=[interpretability]"],
            r"mitigation=\[interpretability\]: sweep.grid.mitigation gives each point its",
        ),
        (
            ["sweep.grid={mitigation:[none,random_audits],mitigation.random_audits.rate:[0.1]}"],
            "sweep.grid.mitigation.random_audits.rate: random_audits is not in the mitigation "
            "set 'none'",
        ),
        (["sweep.grid={mitigation.random_audits.rate:[0.1]}"], "has no key 'random_audits'"),
        (["sweep.grid={trainer:[1]}"], "sweep.grid.trainer: a section"),
        (["sweep.grid={selection.traits:[1]}"], "sweep.grid.selection.traits: holds a list"),
        (["sweep.grid={sweep.chunk:[1]}"], "sweep.grid.sweep.chunk: not a grid axis"),
        (["sweep.grid={phases.rl.rounds:[2.5]}"], "phases.rl.rounds: 2.5 is not an integer"),
        (
            ["sweep.grid={episodes.goal_update.shift:[0.1,1.5]}"],
            r"sweep.grid.episodes.goal_update.shift=1.5 is out of range",
        ),
        (["sweep.grid={population.rule:[strategic,nope]}"], "sweep.grid.population.rule='nope'"),
        (["sweep.grid={trainer.rho:[0.1],phases.rl.rounds:[0]}"], r"sweep.grid.phases.rl.rounds"),
    ],
)
def test_bad_grids_fail_with_one_line_naming_the_key(overrides, match):
    with pytest.raises(ConfigError, match=match) as err:
        run_grid(compose_config([*SMALL, *overrides]))
    assert "\n" not in str(err.value)


def _every_point_is_its_single_run(spec, *extra):
    grid = _grid(spec, *extra)
    axes = parse_grid(grid.config["sweep"]["grid"], grid.config)
    points = grid_points(axes)
    assert len(grid.grid) == len(points)
    for i, point in enumerate(points):
        single = _single(point, *extra)
        _same_metrics(single, grid, i)
        _same_replicates(single, grid, i)
        assert grid.grid.loc[i, "config_hash"] == config_hash(single.config)
        want = single.rounds.groupby("round")["compliance_observed"].mean().to_numpy()
        got = grid.rounds[grid.rounds["point"] == i]["compliance_observed"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12)
    return grid


@pytest.mark.parametrize(
    ("spec", "extra"),
    [
        # a grouping axis before a stacked one: a group's points are not neighbours
        (
            "sweep.grid={mitigation.random_audits.rate:[0.1,0.4],trainer.rho:[0.2,0.6]}",
            ("mitigation=[random_audits]",),
        ),
        # the scheming repertoire: every point alone; two episode types' parameters
        (
            "sweep.grid={episodes.goal_update.shift:[0.1,0.5],episodes.subversion.audit:[0.1,0.4]}",
            ("scenario=scheming_mix", "n_agents=60", "replicates=2"),
        ),
        # categorical and integer axes, and a run of another length
        ("sweep.grid={population.rule:[strategic,exact],phases.rl.rounds:[10,25]}", ()),
        # a run type the engine cannot stack, with a stacked key: one point at a time
        ("sweep.grid={trainer.rho:[0.3,0.7],selection.keep:[0.5,0.8]}", ("selection.every=10",)),
        ("sweep.grid={trainer.boost:[2,5]}", ("trainer=adaptive",)),
    ],
)
def test_every_key_is_an_axis_and_every_point_its_single_run(spec, extra):
    _every_point_is_its_single_run(spec, *extra)


@pytest.mark.parametrize(
    ("spec", "extra"),
    [
        # sets as labels and as a list, with a stacked axis
        (
            "sweep.grid={mitigation:[none,random_audits,[random_audits,interpretability]],"
            "trainer.rho:[0.2,0.6]}",
            (),
        ),
        # a set's own parameter as an axis, in the scheming repertoire
        (
            "sweep.grid={mitigation:[random_audits,random_audits+weight_security],"
            "mitigation.random_audits.rate:[0.1,0.4]}",
            ("scenario=scheming_mix", "n_agents=60", "replicates=2"),
        ),
    ],
)
def test_mitigation_sets_are_an_axis_and_every_point_its_single_run(spec, extra):
    grid = _every_point_is_its_single_run(spec, *extra)
    sets = list(dict.fromkeys(grid.grid["mitigation"]))
    assert all(isinstance(s, str) for s in sets) and len(sets) == 2 + ("none" in sets)


@pytest.mark.parametrize(
    "extra",
    [
        (),  # secret audits
        ("mitigation.random_audits.disclosed=true",),  # the agents plan on each row's rate
        ("mitigation.random_audits.disclosed=true", "population.rule=exact"),
        ("mitigation.random_audits.disclosed=true", "scenario=scheming_mix", "n_agents=60"),
        ("mitigation=[random_audits,interpretability,dynamic_monitoring]",),
    ],
)
def test_random_audit_parameters_stack_and_every_point_is_its_single_run(extra):
    """The audits' rate (0 included: a row without audits), penalty and retraining are
    rows of one run; each point is still its single run, bit for bit."""
    spec = (
        "sweep.grid={mitigation.random_audits.rate:[0,0.3],mitigation.random_audits.penalty:"
        "[0,0.5],mitigation.random_audits.retrain:[0,0.2],trainer.rho:[0.2,0.6]}"
    )
    given = extra if any(e.startswith("mitigation=") for e in extra) else (
        "mitigation=[random_audits]", *extra)  # fmt: skip
    cfg = compose_config([*SMALL, spec, *given])
    _, _, jobs = plan_grid(cfg, to_params(cfg))
    assert [len(j.points) for j in jobs] == [16] and jobs[0].stacked  # one run of 16 x 3 rows
    _every_point_is_its_single_run(spec, *given)


def test_grouped_grids_do_not_depend_on_chunks_or_workers():
    spec = "sweep.grid={trainer.eta:[0.02,0.1],mitigation.noisy_monitoring.fidelity:[0.5,0.8]}"
    extra = ("mitigation=[noisy_monitoring]",)
    a = _grid(spec, "sweep.chunk=1", *extra)
    b = _grid(spec, "sweep.chunk=4", "sweep.workers=2", *extra)
    assert a.metrics.equals(b.metrics) and a.replicates.equals(b.replicates)
    assert a.rounds.equals(b.rounds)


@pytest.mark.parametrize(
    "extra",
    [
        ("scenario=scheming_mix",),
        ("scenario=scheming_mix", "mitigation=[random_audits,interpretability]"),
        ("scenario=scheming_mix", "population.rule=exact", "n_agents=40"),
        ("scenario=alignment_faking_exfiltration",),  # replacement after a detected attempt
    ],
)
def test_the_repertoire_stacks_and_every_point_is_its_single_run(extra):
    """Stacked rows of the scheming repertoire: the traits and trainer rates as in the
    conflict game, each point's own repertoire streams, successors and beliefs."""
    spec = "sweep.grid={trainer.rho:[0.2,0.6],population.sigma:[0.5,1],trainer.eta:[0.05,0.2]}"
    overrides = [*SMALL, spec, "n_agents=60", "replicates=2", *extra]
    cfg = compose_config(overrides)
    _, _, jobs = plan_grid(cfg, to_params(cfg))
    assert [len(j.points) for j in jobs] == [8] and jobs[0].stacked  # one run of 8 x 2 rows
    grid = _every_point_is_its_single_run(spec, "n_agents=60", "replicates=2", *extra)
    assert len(grid.grid) == 8
