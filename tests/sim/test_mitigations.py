"""Mitigations: config, effects on the core, and the issue's properties.

Statistical checks state their tolerance: over R replicates a mean's standard error is
``sd / sqrt(R)``; "closed" means within 4 standard errors of zero (a false failure under
the null has probability about 6e-5), "significant" means a 95% paired interval that
excludes zero.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.compare import MARGIN, verdict
from sim import run
from sim.errors import ConfigError
from sim.oversight import Oversight
from tests.conftest import params

MEDIUM = ["replicates=8", "n_agents=400"]


def per_rep(res, phase, metric):
    r = res.replicates
    sel = (r["phase"] == phase) & (r["metric"] == metric)
    return r.loc[sel].sort_values("replicate")["value"].to_numpy(dtype=float)


def paired(a, b, phase, metric):
    """Mean paired difference (a - b) and its 95% Student-t interval over replicates."""
    from scipy.stats import t

    d = per_rep(a, phase, metric) - per_rep(b, phase, metric)
    half = t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return d.mean(), d.mean() - half, d.mean() + half


# --- config ---------------------------------------------------------------------------


def test_mitigations_compose_as_a_list_and_the_plural_reads_the_same():
    a = params("mitigation=[random_audits,interpretability]")
    assert a.mitigations.names == ("random_audits", "interpretability")
    from sim.config import normalize_overrides

    assert normalize_overrides(["mitigations=[a,b]"]) == ["mitigation=[a,b]"]
    assert params("mitigation=[]").mitigations.names == ()


@pytest.mark.parametrize(
    "override, needle",
    [
        ("mitigation=[no_such]", "mitigation=no_such"),
        ("mitigation.random_audits.rate=2", None),
        ("mitigation=[noisy_monitoring]|mitigation.noisy_monitoring.fidelity=0.3", "fidelity"),
        ("mitigation=[random_audits]|mitigation.random_audits.rate=1.5", "random_audits.rate"),
        ("mitigation=[random_audits]|+mitigation.random_audits.typo=1", "typo"),
        ("mitigation=[interpretability]|mitigation.interpretability.disclosed=3", "disclosed"),
    ],
)
def test_bad_mitigation_input_is_one_line_naming_the_key(override, needle):
    with pytest.raises(ConfigError) as err:
        params(*override.split("|"))
    msg = str(err.value)
    assert "\n" not in msg
    if needle:
        assert needle in msg


# --- the core -------------------------------------------------------------------------

SMALL = ["replicates=3", "n_agents=150", "phases.rl.rounds=40"]


def test_no_mitigation_is_the_scenario_itself():
    a, b = run(SMALL), run([*SMALL, "mitigation=[]"])
    assert a.metrics == b.metrics


def test_parameter_mitigations_equal_the_direct_overrides_bit_for_bit():
    """Noisy monitoring is the cue fidelity, nothing else (apart from its cost)."""
    a = run([*SMALL, "mitigation=[noisy_monitoring]"])
    b = run([*SMALL, "trainer.fidelity=0.5"])
    for phase in a.metrics:
        for m, s in a.metrics[phase].items():
            if m != "oversight_cost":
                assert s == b.metrics[phase][m], (phase, m)
        extra = (
            a.metrics[phase]["oversight_cost"]["mean"] - b.metrics[phase]["oversight_cost"]["mean"]
        )
        assert extra == pytest.approx(0.02)


def test_oversight_draws_do_not_shift_any_other_draw():
    """An inspection that never flags draws its uniforms but changes nothing else (CRN)."""
    blind = [
        "mitigation=[interpretability]",
        "mitigation.interpretability.accuracy=0",
        "mitigation.interpretability.false_positive=0",
        "mitigation.interpretability.disclosed=false",
    ]
    a, b = run(SMALL), run([*SMALL, *blind])
    for phase in a.metrics:
        for m in ("compliance_gap", "af_reasoning_rate", "mean_theta", "safety"):
            assert a.metrics[phase][m] == b.metrics[phase][m]
        assert (
            b.metrics[phase]["oversight_cost"]["mean"] > a.metrics[phase]["oversight_cost"]["mean"]
        )


def test_objector_channel_removes_the_incentive_exactly():
    """With refusals never trained on, faking can never be the better action."""
    res = run([*SMALL, "mitigation=[objector_channel]"])
    for phase in res.metrics:
        assert res.metrics[phase]["af_reasoning_rate"]["mean"] == 0.0


def test_dynamic_allocation_keeps_the_budget():
    ov = Oversight(boost=4.0)
    rng = np.random.default_rng(0)
    s = rng.exponential(0.2, size=(3, 1000)).astype(np.float32)
    rho, audit = ov.allocation(s, np.float32(0.2), 0.05)
    assert np.allclose(rho.mean(axis=1), 0.2, atol=1e-6)  # no agent capped at 1 here
    assert np.allclose(audit.mean(axis=1), 0.05, atol=1e-6)
    assert (np.diff(rho[0][np.argsort(s[0])]) >= 0).all()  # more suspicion, more watching


def test_audit_belief_enters_the_decision_only_when_disclosed():
    secret = params("mitigation=[random_audits]", "mitigation.random_audits.disclosed=false")
    known = params("mitigation=[random_audits]")
    o_secret = Oversight.from_mitigations(secret.mitigations)
    o_known = Oversight.from_mitigations(known.mitigations)
    assert o_secret.audit == o_known.audit > 0
    assert o_secret.audit_perceived == 0 and o_known.audit_perceived == o_known.audit


# --- the properties (default population, alignment_faking) ----------------------


@pytest.fixture(scope="module")
def designs():
    base = run(MEDIUM)
    return {
        "base": base,
        "noisy": run([*MEDIUM, "mitigation=[noisy_monitoring]"]),
        "audits": run([*MEDIUM, "mitigation=[random_audits]", "mitigation.random_audits.rate=0.5"]),
    }


def _summary(a, b, phase, m):
    d, lo, hi = paired(a, b, phase, m)
    base = per_rep(b, phase, m).mean()
    return {"base": base, "mean": per_rep(a, phase, m).mean(), "diff": d, "diff_low": lo,
            "diff_high": hi}  # fmt: skip


def test_noisy_monitoring_closes_the_gap_but_hides_rather_than_removes(designs):
    """Fidelity 0.5: no agent can condition on observation, yet most faking goes on unseen.

    The model lowers mean theta somewhat (agents that no longer know when they are
    watched refuse in some watched episodes and are trained); docs/compare.md reports the
    size. What holds: the gap closes, the true faking rate stays above half its baseline,
    and the preference falls by less than the margin of practical change.
    """
    noisy, base = designs["noisy"], designs["base"]
    gap = per_rep(noisy, "post_rl", "compliance_gap")
    assert abs(gap.mean()) <= 4 * gap.std(ddof=1) / math.sqrt(gap.size)
    o = _summary(noisy, base, "post_rl", "compliance_gap")
    t = _summary(noisy, base, "post_rl", "af_reasoning_rate")
    p = _summary(noisy, base, "post_rl", "mean_theta")
    assert t["mean"] > 0.5 * t["base"]
    assert -p["diff"] < MARGIN * p["base"]
    assert verdict(o, t, p)[0] == "hidden"


def test_random_audits_at_a_sufficient_rate_remove(designs):
    audits, base = designs["audits"], designs["base"]
    o = _summary(audits, base, "post_rl", "compliance_gap")
    t = _summary(audits, base, "post_rl", "af_reasoning_rate")
    p = _summary(audits, base, "post_rl", "mean_theta")
    assert p["diff_high"] < 0  # the hidden preference fell, significantly
    assert verdict(o, t, p)[0] == "removed"


def test_secret_audits_also_train_the_preference_away(designs):
    """Undisclosed audits catch the fakers' unobserved refusals: theta falls."""
    base = designs["base"]
    secret = run([*MEDIUM, "mitigation=[random_audits]", "mitigation.random_audits.rate=0.5",
                  "mitigation.random_audits.disclosed=false"])  # fmt: skip
    _, _, hi = paired(secret, base, "post_rl", "mean_theta")
    assert hi < 0


@pytest.mark.parametrize(
    "scenario, mitigation, metric",
    [
        ("apollo_sandbagging", "elicitation", "sandbagging_rate"),
        ("alignment_faking_exfiltration", "weight_security", "exfiltration_success_rate"),
        ("scheming_mix", "log_audits", "goal_guarding_rate"),
        ("scheming_mix", "log_audits", "subversion_rate"),
        ("alignment_faking_exfiltration", "random_audits", "exfiltration_success_rate"),
    ],
)
def test_each_targeted_mitigation_lowers_its_behaviour(scenario, mitigation, metric):
    over = [f"scenario={scenario}", "nudge=strong", "replicates=8"]
    base, mit = run(over), run([*over, f"mitigation=[{mitigation}]"])
    phase = list(base.metrics)[-1]
    d, lo, hi = paired(mit, base, phase, metric)
    assert hi < 0, (scenario, metric, d, lo, hi)
