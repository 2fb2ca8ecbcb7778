"""The cheapest random-audit rate: bisection against the closed form, errors, command line."""

from __future__ import annotations

import json
import math

import pytest

from analysis.audit_rate import cheapest_audit_rate, cli, closed_form_rate
from sim.errors import ConfigError
from sim.inspection import game_overrides

N_AGENTS, REPLICATES, ROUNDS = 1000, 4, 25
SIZE = (f"n_agents={N_AGENTS}", f"replicates={REPLICATES}", f"phases.prompted.rounds={ROUNDS}")


def homogeneous(theta, kappa, h, lam, penalty):
    return [*game_overrides(theta=theta, kappa=kappa, h=h, lam=lam, penalty=penalty), *SIZE]


# Tolerance of the bisection against the closed form (derivation).
#
# The agents' defection probability at rate a is d(a) = 1/(1 + exp(lam (a P - g))), and the
# closed form a* solves d(a*) = t. The simulation estimates d(a) from n = R T N (1 - a)
# unaudited episodes, independent Bernoulli(d(a)) draws (fixed traits, a fresh action
# uniform per episode), so near a* its error e has standard deviation
# s = sqrt(t (1 - t) / n) (the mean of R replicate ratios has the pooled variance). With
# common random numbers the estimate is a deterministic function of the rate, and the
# bisection returns a rate at most `tol` above where it crosses t. Linearising,
# d(a* + x) + e = t gives x = e / |d'(a*)|, and |d'(a*)| = lam P t (1 - t). So the rate's
# error has standard deviation s / (lam P t (1 - t)) = 1 / (lam P sqrt(n t (1 - t))); we
# allow 4 of them plus `tol`.
def rate_tolerance(target, lam, penalty, rate, tol):
    n = REPLICATES * ROUNDS * N_AGENTS * (1 - rate)
    return 4 / (lam * penalty * math.sqrt(n * target * (1 - target))) + tol


@pytest.mark.parametrize(
    ("theta", "kappa", "h", "lam", "penalty", "target"),
    [
        (0.6, 0.1, 0.05, 20, 1.0, 0.01),  # g = 0.55: a* = 0.55 + ln(99)/20 = 0.7798
        (0.5, 0.1, 0.0, 50, 2.0, 0.05),  # g = 0.4:  a* = (0.4 + ln(19)/50)/2 = 0.2294
    ],
)
def test_bisection_matches_the_closed_form(theta, kappa, h, lam, penalty, target):
    ov = homogeneous(theta, kappa, h, lam, penalty)
    tol = 1e-3
    res = cheapest_audit_rate(ov, target=target, tol=tol, budget=0.5)
    exact = closed_form_rate(ov, target)
    assert exact == pytest.approx((theta - kappa + h + math.log(1 / target - 1) / lam) / penalty)
    assert abs(res.rate - exact) <= rate_tolerance(target, lam, penalty, exact, tol)
    # The result meets the target, and the best rate below it that was run misses it.
    assert res.value <= target and res.phase == "prompted"
    below = max(r for r, _, _ in res.evaluations if r < res.rate)
    assert res.rate - below <= tol
    assert dict((r, v) for r, v, _ in res.evaluations)[below] > target
    # Cost: rho = 0, so each episode seen is an audit of unit cost: about the rate.
    assert res.cost == pytest.approx(res.rate, abs=0.01)
    assert res.within_budget == (res.cost <= 0.5)
    assert len(res.evaluations) == 2 + math.ceil(math.log2(1 / tol))


def test_unreachable_target_is_a_one_line_error():
    # P = 0.3 < g = 0.55: even a certain audit leaves lam (P - g) = -5, defection 0.993.
    ov = [*homogeneous(0.6, 0.1, 0.05, 20, 0.3), "mitigation.random_audits.rate=0.2"]
    with pytest.raises(ConfigError, match=r"not reached even at rate=0\.9") as err:
        cheapest_audit_rate(ov, target=0.01, hi=0.9)
    assert "\n" not in str(err.value)
    # Up to rate = 1 it is reached, vacuously: every episode is seen, none unseen defects.
    res = cheapest_audit_rate(ov, target=0.01, tol=0.01)
    assert res.seen_all and res.rate == 1.0 and res.value == 0.0
    below = max(r for r, _, _ in res.evaluations if r < 1)
    assert below >= 0.99 and dict((r, v) for r, v, _ in res.evaluations)[below] > 0.9


def test_bad_arguments():
    ov = homogeneous(0.6, 0.1, 0.05, 20, 1.0)
    with pytest.raises(ConfigError, match="target"):
        cheapest_audit_rate(ov, target=1.5)
    with pytest.raises(ConfigError, match="metric"):
        cheapest_audit_rate(ov, metric="sandbag_p_value")
    with pytest.raises(ConfigError, match="random_audits"):
        cheapest_audit_rate([o for o in ov if not o.startswith("mitigation")])
    with pytest.raises(ConfigError, match="phase"):
        cheapest_audit_rate(ov, phase="rl")


@pytest.mark.parametrize(
    "argv",
    [
        ["--target", "2"],
        ["--target", "abc"],
        ["--budget", "-1"],
        ["--no-such-flag"],
        ["no_such_key=1"],
        ["population.theta=0.6"],  # no random audits selected
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv, capsys):
    assert cli(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1


def test_cli_writes_the_result(tmp_path, capsys):
    ov = homogeneous(0.5, 0.1, 0.0, 50, 2.0)
    assert (
        cli([*ov, "--target", "0.05", "--budget", "0.5", "--tol", "0.01", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "Cheapest random-audit rate" in out and "within the budget" in out
    record = json.loads((tmp_path / "audit_rate.json").read_text())
    assert record["target"] == 0.05 and record["within_budget"] is True
    assert record["rate"] == pytest.approx(closed_form_rate(ov, 0.05), abs=0.02)
    assert {"rate", "value", "cost"} == set(record["evaluations"][0])
