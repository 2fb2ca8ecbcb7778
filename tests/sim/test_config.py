"""Composition of every config group option and scenario; one-line errors for bad input."""

from __future__ import annotations

import pytest

from sim.config import CONFIG_DIR, load_params, normalize_overrides
from sim.errors import ConfigError
from sim.population import Beta, Choice, Fixed, Normal, Uniform

GROUPS = {
    d.name: sorted(p.stem for p in d.glob("*.yaml")) for d in CONFIG_DIR.iterdir() if d.is_dir()
}
OPTIONS = [(g, o) for g, opts in GROUPS.items() if g != "hydra" for o in opts]


def test_every_group_has_options():
    assert {"scenario", "population", "trainer"} <= set(GROUPS)
    assert {"alignment_faking", "alignment_faking_prompted"} <= set(GROUPS["scenario"])


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_option_composes_and_validates(group, option):
    plus = "+" if group == "experiment" else ""  # experiment presets are not in the defaults
    cfg, p = load_params([f"{plus}{group}={option}"])
    assert p.phases and p.n_agents >= 1
    if group == "scenario":
        assert p.name == option


def test_default_scenario_phases():
    _, p = load_params([])
    assert [ph.name for ph in p.phases] == ["prompted", "rl", "post_rl"]
    assert [ph.train for ph in p.phases] == [False, True, False]
    _, p = load_params(["scenario=alignment_faking_prompted"])
    assert [ph.name for ph in p.phases] == ["prompted"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("population.theta=0.3", Fixed(0.3)),
        ("population.theta={dist:uniform,low:0.2,high:0.6}", Uniform(0.2, 0.6)),
        ("population.theta={dist:beta,a:2}", None),  # replaces: b is missing, not inherited
        ("population.theta=[beta,2,5]", Beta(2.0, 5.0, 0.0, 1.0)),
        ("population.theta=[beta,2,5,0.1,0.6]", Beta(2.0, 5.0, 0.1, 0.6)),
        ("population.nu=[normal,1,0.5,0,2]", Normal(1.0, 0.5, 0.0, 2.0)),
        ("population.kappa=[uniform,0,0.4]", Uniform(0.0, 0.4)),
        ("population.theta=[list,0.2,0.4]", Choice((0.2, 0.4))),
        ("population.theta=[fixed,0.7]", Fixed(0.7)),
        ("population.sigma={dist:beta,a:2,b:5}", Beta(2.0, 5.0, 0.0, 1.0)),
        ("population.nu={dist:normal,mean:1,sd:0.5}", Normal(1.0, 0.5, 0.0, float("inf"))),
        ("population.theta=[0.1,0.9]", Choice((0.1, 0.9))),
        ("population.phi={dist:list,values:[0,1]}", Choice((0.0, 1.0))),
        ("population.gamma={dist:fixed,value:0.5}", Fixed(0.5)),
    ],
)
def test_trait_overrides_replace_the_distribution(override, expected):
    trait = override.split("=")[0].split(".")[1]
    if expected is None:
        with pytest.raises(ConfigError, match=r"population\.theta=\[beta, a, b.*got 1$"):
            load_params([override])
    else:
        assert load_params([override])[1].population[trait] == expected


def test_normalize_rewrites_trait_mappings_into_list_form():
    ovs = ["population.theta={dist:beta,a:1,b:1}", "population.sigma=0.2", "trainer.rho=0.1"]
    assert normalize_overrides(ovs) == ["population.theta=[beta,1,1]", *ovs[1:]]
    sweep = ["population.phi={dist:uniform,low:0,high:0.5},{dist:list,values:[0,1]}"]
    assert normalize_overrides(sweep) == ["population.phi=[uniform,0,0.5],[list,0,1]"]
    odd = ["population.phi={dist:beta,a:1,b:1,c:2}"]  # kept keyed, so the error names 'c'
    assert normalize_overrides(odd) == ["population.phi=[{dist:beta,a:1,b:1,c:2}]"]


def test_new_phase_from_command_line():
    _, p = load_params(["+phases.extra={rounds:5,train:true}"])
    assert p.phases[-1].name == "extra" and p.phases[-1].rounds == 5 and p.phases[-1].train


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("population.sigma=1.5", r"^population\.sigma=1\.5 is out of range \[0, 1\]$"),
        ("trainer.eta=-0.1", r"^trainer\.eta=-0\.1 is out of range \[0, 1\]$"),
        ("population.foo=1", r"^unknown config key 'population\.foo'"),
        ("foo=1", r"^unknown config key 'foo'"),
        ("n_agents=0", r"^n_agents=0 must be an integer >= 1$"),
        ("replicates=abc", r"^replicates: .*could not be converted to Integer$"),
        (
            "population.theta={dist:beta,a:-1,b:2}",
            r"^population\.theta\.a=-1 is out of range \[0\.001, inf\)$",
        ),
        ("population.theta={dist:uniform,low:0.8,high:0.2}", r"low=0\.8 must not exceed high=0\.2"),
        ("population.theta={dist:gamma,k:1}", r"^population\.theta\.dist='gamma' must be one of"),
        ("population.theta=[gamma,1]", r"^population\.theta\[0\]='gamma' must be one of"),
        ("population.theta=[uniform,0.1]", r"^population\.theta=\[uniform, low, high\] takes 2"),
        ("population.theta={dist:beta,a:1,b:1,c:2}", r"^population\.theta: unknown key 'c'"),
        ("population.gamma=1.0", r"^population\.gamma=1\.0 is out of range \[0, 1\)$"),
        ("population.lam=0", r"^population\.lam=0 is out of range \(0, inf\)$"),
        (
            "population.theta=[0.5,2]",
            r"^population\.theta\.values\[1\]=2 is out of range \[0, 1\]$",
        ),
        ("population.rule=oracle", r"^population\.rule='oracle' must be one of"),
        ("trainer.policy=oracle", r"^trainer\.policy='oracle' must be one of"),
        ("scenario=nope", r"^scenario=nope: no such preset \(available: .*alignment_faking"),
        ("phases.rl.rounds=0", r"^phases\.rl\.rounds=0 must be an integer >= 1$"),
        ("+phases.rl.trian=true", r"^unknown config key 'phases\.rl\.trian'"),
        ("seed=-1", r"^seed=-1 must be an integer >= 0$"),
        ("population.sigma=[0.1,", r"^bad override syntax"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_params([override])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "override,message",
    [
        ("phases.prompted.mix={conflict: 0.5}", "phases.prompted.mix: the shares sum to 0.5"),
        (
            "phases.prompted.mix={conflict: 0.5, bribery: 0.5}",
            "unknown config key 'phases.prompted.mix.bribery'",
        ),  # noqa: E501
        (
            "phases.prompted.mix={conflict: 1.5, paired: -0.5}",
            "phases.prompted.mix.conflict=1.5 is out of range",
        ),  # noqa: E501
        (
            "episodes.evaluation.direction=sideways",
            "episodes.evaluation.direction='sideways' must be one of",
        ),  # noqa: E501
        (
            "episodes.exfiltration.security=1.2",
            "episodes.exfiltration.security=1.2 is out of range [0, 1]",
        ),  # noqa: E501
        ("episodes.questioning.turns=0", "episodes.questioning.turns=0 must be an integer >= 1"),
        (
            "episodes.subversion.penalty=-1",
            "episodes.subversion.penalty=-1.0 is out of range [0, inf)",
        ),  # noqa: E501
        (
            "episodes.exfiltration.sneakiness=1",
            "unknown config key 'episodes.exfiltration.sneakiness'",
        ),  # noqa: E501
    ],
)
def test_repertoire_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_params(
            [
                "scenario=alignment_faking_prompted",
                override,
            ]
        )  # noqa: E501
    assert message in str(err.value) and "\n" not in str(err.value)
