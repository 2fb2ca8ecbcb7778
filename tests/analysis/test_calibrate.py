"""Calibration (analysis/calibrate*.py): recovery, identifiability, CRN paths, bad input, CSV."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from analysis import calibrate_fit as cf
from analysis.__main__ import main
from analysis.calibrate import calibrate, check_out, load_spec
from analysis.calibrate_fit import CHI2_95, deviance, evaluate, fit, prepare, refined
from sim import run
from sim.config import hydra_text
from sim.errors import ConfigError

PROMPTED = ["scenario=alignment_faking_prompted", "progress=false"]
SANDBAG = ["scenario=apollo_sandbagging", "episodes.evaluation.bootstrap=99", "progress=false"]


def _spec(tmp_path, base, parameters, targets, name="spec"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"base": base, "parameters": parameters, "targets": targets}))
    return path


def _beta(mean, concentration):
    return {"dist": "beta", "mean": mean, "concentration": concentration}


def _overrides(prepared, i):
    point = prepared.points[i]
    return [*prepared.spec.base, *(f"{k}={hydra_text(v)}" for k, v in point.items())]


def _replicates(res, phase, metric):
    r = res.replicates
    rows = r[(r["phase"] == phase) & (r["metric"] == metric)].sort_values("replicate")
    return rows["value"].to_numpy()


# --- the deviance -------------------------------------------------------------------------


def test_deviance_binomial_and_normal_against_hand_values():
    from analysis.calibrate import Target

    targets = (Target("p", "compliance_observed", 0.2, n=50), Target("p", "af_reasoning_rate",
               0.1, sd=0.02))  # fmt: skip
    d = deviance(np.array([[0.2, 0.1], [0.3, 0.13], [0.0, np.nan]]), targets)
    assert d[0] == pytest.approx([0.0, 0.0], abs=1e-12)  # the saturated model
    k, n, p = 10, 50, 0.3
    want = 2 * (k * math.log(k / (n * p)) + (n - k) * math.log((n - k) / (n * (1 - p))))
    assert d[1, 0] == pytest.approx(want, rel=1e-12)
    assert d[1, 1] == pytest.approx(((0.13 - 0.1) / 0.02) ** 2, rel=1e-12)
    assert d[2, 0] == pytest.approx(2 * (k * math.log(k / (n * 1e-9)) + (n - k) * math.log(0.8)))
    assert d[2, 1] == math.inf  # undefined rate: never the best


# --- recovery and identifiability ---------------------------------------------------------

TRUE_PHI, TRUE_SIGMA = 0.15, 0.8
METRICS = ("compliance_observed", "compliance_unobserved", "af_reasoning_rate")


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """Fit phi's and sigma's means to targets drawn at known values (a different seed)."""
    tmp = tmp_path_factory.mktemp("recovery")
    truth = run([
        *PROMPTED, "n_agents=2000", "replicates=2", "seed=7",
        f"population.phi=[beta,{TRUE_PHI * 10:g},{(1 - TRUE_PHI) * 10:g}]",
        f"population.sigma=[beta,{TRUE_SIGMA * 10:g},{(1 - TRUE_SIGMA) * 10:g}]",
    ])  # fmt: skip
    rates = [truth.metrics["prompted"][m]["mean"] for m in METRICS]
    n = 1000  # a study-like sample per target
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(20240611)))
    counts = rng.binomial(n, rates)
    targets = [
        {"metric": m, "value": float(k / n), "n": n} for m, k in zip(METRICS, counts, strict=True)
    ]
    path = _spec(
        tmp, [*PROMPTED, "n_agents=1000", "replicates=2", "seed=0"],
        {"population.phi": _beta("linspace(0.05,0.3,11)", 10),
         "population.sigma": _beta("linspace(0.4,0.95,12)", 10)},
        targets, name="recovery",
    )  # fmt: skip
    out = tmp / "out"
    result, folder = calibrate(load_spec(path), out)
    return result, folder, path


def test_known_parameters_are_recovered_inside_narrower_profile_intervals(recovered):
    result, _, _ = recovered
    # The targets are one seeded binomial draw, so the test is deterministic. The tolerance is
    # the method's own: the 95% profile interval (chi-square, 1 df). A draw at another seed
    # would miss the truth with probability about 5% per parameter, plus the simulation's
    # Monte Carlo error, which the fit checks is small against the targets' (no warning).
    assert result.warnings == ()
    truth = {"population.phi.mean": TRUE_PHI, "population.sigma.mean": TRUE_SIGMA}
    for p in result.profiles:
        assert p.identified, p.axis
        assert p.low <= truth[p.axis] <= p.high, (p.axis, p.low, p.high)
        assert not (p.lower_edge and p.upper_edge)  # narrower than the grid: it could fail
        assert p.high - p.low < p.values[-1] - p.values[0]
        assert p.deviance.min() == pytest.approx(result.total.min())
    assert result.df == 1 and result.path == "grid"


def test_outputs_are_written_and_a_foreign_folder_is_refused(recovered, tmp_path):
    result, folder, path = recovered
    assert {"fit.json", "candidates.parquet", "report.md", "profile.png", "COMPLETE"} <= {
        p.name for p in folder.iterdir()
    }
    saved = json.loads((folder / "fit.json").read_text())
    assert saved["spec"] == "recovery" and saved["deviance"] == pytest.approx(result.total.min())
    assert saved["config"]["population.phi"][0] == "beta"
    assert set(saved["parameters"]) == {
        "population.phi.mean", "population.phi.concentration", "population.sigma.mean",
        "population.sigma.concentration",
    }  # fmt: skip
    assert saved["parameters"]["population.phi.concentration"] == {"fixed": 10.0}
    report = (folder / "report.md").read_text()
    assert "python -m sim" in report and "profile.png" in report
    check_out(folder, load_spec(path))  # the same spec may overwrite its own calibration
    other = _spec(tmp_path, PROMPTED, {"trainer.rho": [0.5]}, [{"metric": "af_reasoning_rate",
                  "value": 0.1, "n": 10}], name="other")  # fmt: skip
    with pytest.raises(ConfigError, match="not a calibration of spec 'other'"):
        check_out(folder, load_spec(other))


SMALL = [*PROMPTED, "n_agents=500", "replicates=2"]
RIDGE_PHI = tuple(round(float(x), 12) for x in np.linspace(0.1, 0.3, 9))
RIDGE_SIGMA = tuple(round(float(x), 12) for x in np.linspace(0.5, 0.95, 10))
RIDGE = {"population.phi": _beta(list(RIDGE_PHI), 10),
         "population.sigma": _beta(list(RIDGE_SIGMA), 10)}  # fmt: skip


def _fit(tmp_path, base, parameters, targets):
    prepared = prepare(load_spec(_spec(tmp_path, base, parameters, targets)))
    evaluation = evaluate(prepared)
    return prepared, evaluation, fit(prepared, evaluation)


def test_a_product_of_means_is_a_ridge_not_identified(tmp_path):
    """af_reasoning_rate ~ E[sigma]·E[phi]: alone it pins the product, not sigma's mean."""
    af = {"phase": "prompted", "metric": "af_reasoning_rate", "value": 0.12, "n": 363}
    _, _, alone = _fit(tmp_path, SMALL, RIDGE, [af])
    flags = {p.axis: p for p in alone.profiles}
    assert not flags["population.sigma.mean"].identified
    assert flags["population.sigma.mean"].deviance.max() - alone.total.min() <= CHI2_95
    # compliance in implied training ~ E[phi]: it pins phi's mean
    obs = {"metric": "compliance_observed", "value": 0.14, "n": 363}
    _, _, both = _fit(tmp_path, SMALL, RIDGE, [af, obs])
    assert {p.axis: p for p in both.profiles}["population.phi.mean"].identified
    slope = dict(zip((p.axis for p in both.profiles), both.sensitivity, strict=True))
    assert abs(slope["population.sigma.mean"][1]) < 0.01  # compliance ignores awareness
    assert slope["population.phi.mean"][1] > 0.5
    # --refine: midpoints around the interval of an identified axis only
    for fitted in (alone, both):
        finer = {a.name: a.values for a in refined(fitted.prepared.spec, fitted.profiles).axes}
        for p in fitted.profiles:
            new = sorted(set(finer[p.axis]) - set(p.values.tolist()))
            step = p.values[1] - p.values[0]
            assert bool(new) == p.identified, p.axis
            assert all(p.low - step < v < p.high + step for v in new), p.axis


# --- common random numbers: the grid path is the single runs ------------------------------


def test_grid_path_equals_the_single_runs_bit_for_bit(tmp_path):
    targets = [{"metric": m, "value": 0.1, "n": 100} for m in METRICS]
    prepared = prepare(load_spec(_spec(
        tmp_path, [*PROMPTED, "n_agents=150", "replicates=3", "phases.prompted.rounds=5"],
        {"population.phi": _beta([0.1, 0.25], [3, 30]), "trainer.rho": [0.3, 0.6]}, targets,
    )))  # fmt: skip
    ev = evaluate(prepared, chunk=3)  # chunks of 3 + 3 + 2 stacked candidates
    assert ev.path == "grid" and ev.values.shape == (8, 3, 3)
    np.testing.assert_array_equal(evaluate(prepared, workers=2, chunk=5).values, ev.values)
    for i in (0, 5):
        single = run(_overrides(prepared, i))
        for j, m in enumerate(METRICS):  # bit for bit: the same float32 arithmetic, same draws
            np.testing.assert_array_equal(ev.values[i, :, j], _replicates(single, "prompted", m))
    slices = ((slice(0, 5), m) for m in METRICS)
    alone = cf._simulate(tuple(prepared.params[4:6]), False, tuple(slices))
    np.testing.assert_array_equal(alone, ev.values[4:6])


def test_a_repertoire_scenario_runs_through_the_grid_path(tmp_path):
    truth = run([*SANDBAG, "replicates=2", "seed=3", "population.c=[beta,15,5]"])
    value = truth.metrics["evaluation"]["sandbag_accuracy_well"]["mean"]
    # sd 0.03: a standard error of a study-sized evaluation (a few hundred questions' worth)
    prepared, evaluation, result = _fit(
        tmp_path, [*SANDBAG, "replicates=2"], {"population.c": _beta("range(0.6,0.95,0.05)", 20)},
        [{"metric": "sandbag_accuracy_well", "value": value, "sd": 0.03}],
    )  # fmt: skip
    assert result.path == "grid" and result.deviance.shape == (7, 1)  # the repertoire stacks
    (p,) = result.profiles
    assert p.low <= 0.75 <= p.high and p.identified
    single = run(_overrides(prepared, 3))  # the same seed: the same streams (bit for bit)
    want = _replicates(single, "evaluation", "sandbag_accuracy_well")
    np.testing.assert_array_equal(evaluation.values[3, :, 0], want)


def test_a_run_the_engine_does_not_stack_runs_per_candidate(tmp_path):
    base = [*SMALL, "selection.every=10"]
    prepared, evaluation, result = _fit(
        tmp_path, base, {"trainer.rho": [0.3, 0.6]},
        [{"metric": "af_reasoning_rate", "value": 0.1, "n": 300}],
    )  # fmt: skip
    assert result.path == "per-candidate"
    single = run(_overrides(prepared, 1))
    target = prepared.spec.targets[0]
    want = _replicates(single, target.phase, "af_reasoning_rate")
    np.testing.assert_array_equal(evaluation.values[1, :, 0], want)


# --- bad input ------------------------------------------------------------------------------

GOOD_TARGET = {"metric": "af_reasoning_rate", "value": 0.12, "n": 363}


@pytest.mark.parametrize(
    "parameters, targets, named",
    [
        ({"trainer.rho": [0.5]}, [{"metric": "faking_rate", "value": 0.1, "n": 9}], "faking_rate"),
        ({"population.zeta": [0.5]}, [GOOD_TARGET], "population.zeta"),
        ({"trainer.rho": [0.5]}, [{"metric": "af_reasoning_rate", "value": 1.2, "n": 9}],
         "targets[0].value"),
        ({"trainer.rho": [0.5]}, "missing.csv", "missing.csv"),
        ({"trainer.rho": [0.5]}, [{**GOOD_TARGET, "phase": "post_rl"}], "post_rl"),
        ({"population.phi": _beta([0, 0.2], 10)}, [GOOD_TARGET], "population.phi.mean"),
        ({"trainer.rho": [0.5, 1.5]}, [GOOD_TARGET], "trainer.rho"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_it_and_nothing_is_written(
    tmp_path, capsys, parameters, targets, named
):
    path = _spec(tmp_path, SMALL, parameters, targets)
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and named in err, err
    assert not out.exists()


# --- CSV targets ----------------------------------------------------------------------------


def test_csv_targets_equal_the_yaml_ones(tmp_path):
    rows = [
        {"phase": "prompted", "metric": "compliance_observed", "value": 0.14, "n": 363},
        {"metric": "compliance_unobserved", "value": 0.01, "n": 363},
        {"phase": "prompted", "metric": "af_reasoning_rate", "value": 0.119, "sd": 0.017},
    ]
    (tmp_path / "t.csv").write_text(
        "phase,metric,value,n,sd\nprompted,compliance_observed,0.14,363,\n"
        ",compliance_unobserved,0.01,363,\nprompted,af_reasoning_rate,0.119,,0.017\n"
    )
    params = {"trainer.rho": [0.5]}
    from_yaml = prepare(load_spec(_spec(tmp_path, SMALL, params, rows, name="a")))
    from_csv = prepare(load_spec(_spec(tmp_path, SMALL, params, "t.csv", name="b")))
    assert from_csv.spec.targets == from_yaml.spec.targets
    assert from_csv.spec.targets[1].phase == "prompted"  # the default: the last phase


def test_the_command_with_refine(tmp_path, capsys):
    path = _spec(
        tmp_path, [*PROMPTED, "n_agents=300", "replicates=2"],
        {"population.phi": _beta("linspace(0.05,0.25,5)", 10)},
        [{"metric": "compliance_observed", "value": 0.14, "n": 1000}], name="tiny",
    )  # fmt: skip
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out), "--refine", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "population.phi.mean" in printed and "python -m sim" in printed
    saved = json.loads((out / "fit.json").read_text())
    assert saved["refined"] == 1 and saved["candidates"] > 5
    assert saved["parameters"]["population.phi.mean"]["identified"]
