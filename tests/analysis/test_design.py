"""The Stackelberg design search: the committed inspector reproduced, budgets, bad input."""

from __future__ import annotations

import json
import math

import pytest

from analysis.audit_rate import closed_form_rate
from analysis.design import Lever, cli, search
from sim.inspection import equilibrium_inspection, game_overrides
from tests.analysis.test_audit_rate import SIZE, rate_tolerance

RATE = "mitigation.random_audits.rate"


def game(theta=0.6, kappa=0.1, h=0.05, lam=20, penalty=1.0):
    return [*game_overrides(theta=theta, kappa=kappa, h=h, lam=lam, penalty=penalty), *SIZE]


@pytest.mark.parametrize(
    ("theta", "kappa", "h", "lam", "penalty", "target"),
    [(0.6, 0.1, 0.05, 20, 1.0, 0.01), (0.5, 0.1, 0.0, 50, 2.0, 0.05)],
)
def test_the_leader_commits_to_the_inspectors_closed_form_rate(
    theta, kappa, h, lam, penalty, target
):
    """The cheapest audit rate that holds unseen defection to the target is the committed
    inspector's: ``p* = g / P`` (the classic game's indifference) plus the logit offset
    ``ln(1/target - 1) / (lam P)`` (docs/inspection.md). Tolerance: the bisection test's
    (4 standard errors of the crossing) with the final grid's spacing for its ``tol``."""
    ov = game(theta, kappa, h, lam, penalty)
    res = search(ov, [Lever(RATE, tuple(i / 10 for i in range(11)))], target=target, refine=3)
    spacing = 0.1 / 5**3  # each refinement spans two cells with the grid's 11 points
    exact = closed_form_rate(ov, target)
    g = theta - kappa + h
    p_star = equilibrium_inspection(g, penalty - g)
    assert p_star == pytest.approx(g / penalty)
    assert exact == pytest.approx(p_star + math.log(1 / target - 1) / (lam * penalty))
    assert res.feasible and res.value <= target
    assert abs(res.levers[RATE] - exact) <= rate_tolerance(target, lam, penalty, exact, spacing)
    # every cheaper design it ran misses the target
    cheaper = res.evaluations[res.evaluations["cost"] < res.cost]
    assert (cheaper["value"] > target).all() and len(cheaper) > 0


def test_within_a_budget_the_leader_spends_it_where_audits_deter():
    """Defection falls with the audit rate: the best design within a budget ``B`` audits at
    about ``B`` (each audit costs 1 at ``rho = 0``), to the grid's spacing."""
    res = search(game(), [Lever(RATE, tuple(i / 10 for i in range(11)))], budget=0.55, refine=2)
    assert res.feasible and res.cost <= 0.55
    assert 0.55 - 0.1 / 25 - 0.01 <= res.levers[RATE] <= 0.55
    feasible = res.evaluations[res.evaluations["feasible"]]
    assert res.value == feasible["value"].min()


def test_a_lever_on_two_keys_and_a_target_nobody_meets():
    ov = [*game(), "trainer.rho=0.1"]
    levers = [Lever(RATE, (0.0, 0.5)), Lever("trainer.rho", (0.0, 0.2))]
    res = search(ov, levers, target=0.0, refine=0)
    assert not res.feasible and res.levers is None and len(res.evaluations) == 4
    assert "No design" in res.describe()


def test_each_design_of_the_search_is_its_single_run():
    """The grids run in grid mode (stacked and grouped levers); every evaluated design's
    value, interval and cost are those of its own single run, exactly."""
    from sim import run

    ov = ["scenario=scheming_mix", "mitigation=[random_audits,interpretability]",
          "n_agents=60", "replicates=2"]  # fmt: skip
    levers = [Lever(RATE, (0.0, 0.2, 0.4)), Lever("mitigation.interpretability.rate", (0.0, 0.5))]
    res = search(ov, levers, target=0.05, refine=1)
    assert len(res.evaluations) > 6  # the refinement ran designs of its own
    for row in res.evaluations.to_dict("records"):
        m = run([*ov, *(f"{lv.key}={row[lv.key]!r}" for lv in levers)]).metrics
        s = m[res.phase]["unobserved_defection_rate"]
        assert (row["value"], row["ci_low"], row["ci_high"]) == (
            s["mean"],
            s["ci_low"],
            s["ci_high"],
        )
        assert row["cost"] == m[res.phase]["oversight_cost"]["mean"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lever", "mitigation.interpretability.rate=0:1:3", "--target", "0.1"],
         "select the mitigation first"),
        (["--lever", "trainer.nope=0:1:3", "--target", "0.1"], "not a numeric config key"),
        (["--lever", f"{RATE}=0:2:3", "--target", "0.1"], "random_audits.rate"),
        (["--lever", f"{RATE}=1:0:3", "--target", "0.1"], "lo < hi"),
        (["--lever", f"{RATE}=0:1:3"], "--target"),
        (["--lever", f"{RATE}=0:1:3", "--target", "0.1", "--metric", "nope"], "not a metric"),
        (["--target", "0.1"], "at least one --lever"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "d"
    assert cli([*game(), *argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err, err
    assert not out.exists()


def test_cli_writes_the_design(tmp_path, capsys):
    out = tmp_path / "d"
    argv = [*game(), "--lever", f"{RATE}=0:1:6", "--target", "0.05", "--refine", "1"]
    assert cli([*argv, "--out", str(out), "--quiet"]) == 0
    saved = json.loads((out / "design.json").read_text())
    assert saved["feasible"] and saved["design"][RATE] > 0.5
    assert "Committed design" in capsys.readouterr().out
    assert (out / "evaluations.csv").read_text().startswith(RATE)
