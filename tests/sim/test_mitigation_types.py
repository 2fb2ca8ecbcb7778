"""Invariants every registered mitigation satisfies (inherited per mitigation, issue 18).

Each mitigation of :data:`sim.mitigations.MITIGATIONS` (the built-ins and the example
plug-in of examples/myopia_training, registered by :func:`tests.plugins.register_examples`)
is checked without a test of its own, as Axelrod's strategies inherit theirs:

- its config file names exactly its parameters, composes, and every parameter set out of
  its range is refused in one line naming the key, before anything runs;
- its costs are non-negative amounts of events the recorder counts;
- its stage is what it does: a mitigation "before the run" sets no in-round constant, one
  "in the round" leaves the run's parameters alone, and ``apply`` changes nothing it is
  given (it is pure);
- the same seed gives the same result with it selected;
- it tells no agent what to do: under it, an agent with ``theta = 0`` (no motive) never
  takes a covert option in any episode type of the scheming mix (exact, no tolerance).

A new mitigation gets these tests by being registered.
"""

from __future__ import annotations

import copy
import math
from dataclasses import fields, replace

import pytest
import yaml

from sim import run
from sim.config import compose_config, load_params
from sim.episode_types import EPISODE_TYPE_CLASSES
from sim.errors import ConfigError
from sim.mitigation_types.base import EVENTS
from sim.mitigations import MITIGATIONS, Mitigations
from sim.oversight import Oversight, effective_params
from sim.params import RunParams
from tests.plugins import example_source, register_examples

register_examples()
SOURCE = example_source()
NAMES = sorted(MITIGATIONS)
SMALL = ["n_agents=300", "replicates=2", "seed=5", "progress=false"]
COVERT = sorted(
    {"af_reasoning_rate"} | {c.metric for c in EPISODE_TYPE_CLASSES.values() if not c.behavioural}
)


def _params(*overrides: str) -> RunParams:
    return load_params(list(overrides), SOURCE)[1]


def _run(*overrides: str):
    return run(compose_config(list(overrides), SOURCE))


def _file(name: str) -> str:
    path = next(d / "mitigation" / f"{name}.yaml" for d in SOURCE.folders()
                if (d / "mitigation" / f"{name}.yaml").is_file())  # fmt: skip
    return path.read_text()


@pytest.mark.parametrize("name", NAMES)
class TestEveryMitigation:
    def test_its_file_names_its_parameters_and_composes(self, name):
        text = _file(name)
        assert text.startswith(f"# @package mitigation.{name}\n")
        assert set(yaml.safe_load(text)) == {f.name for f in fields(MITIGATIONS[name])}
        assert _params(f"mitigation=[{name}]").mitigations.names == (name,)

    def test_every_parameter_out_of_range_is_refused_in_one_line(self, name):
        cls = MITIGATIONS[name]
        for f in fields(cls):
            key = f"mitigation.{name}.{f.name}"
            bad = "2" if f.type in ("bool", bool) else repr(cls.range_of(f.name).lo - 1.0)
            with pytest.raises(ConfigError) as err:
                _params(f"mitigation=[{name}]", f"{key}={bad}")
            msg = str(err.value)
            assert key in msg and "\n" not in msg

    def test_costs_are_non_negative_amounts_of_counted_events(self, name):
        m = _params(f"mitigation=[{name}]").mitigations
        assert m.fixed_cost() >= 0 and math.isfinite(m.fixed_cost())
        for event, cost in m.unit_costs().items():
            assert event in EVENTS and cost >= 0

    def test_its_stage_is_what_it_does_and_apply_is_pure(self, name):
        p = _params("scenario=scheming_mix", f"mitigation=[{name}]")
        mitigation = getattr(p.mitigations, name)
        before = copy.deepcopy(p)
        applied = mitigation.apply(p)
        assert p == before  # nothing it was given changed
        assert isinstance(applied, RunParams)
        alone = Mitigations((mitigation,))
        if mitigation.stage == "before the run":
            assert mitigation.oversight(alone) == {}
            assert Oversight.from_mitigations(alone) is None
        if mitigation.stage == "in the round":
            assert applied == p
            assert Oversight.from_mitigations(alone) is not None
        assert effective_params(replace(p, mitigations=alone)).mitigations == alone

    def test_same_seed_same_result(self, name):
        a = _run("scenario=scheming_mix", *SMALL, f"mitigation=[{name}]")
        b = _run("scenario=scheming_mix", *SMALL, f"mitigation=[{name}]")
        assert a.metrics == b.metrics

    def test_no_motive_no_covert_action(self, name):
        res = _run("scenario=scheming_mix", *SMALL, "population.theta=0", f"mitigation=[{name}]")
        seen = 0
        for phase in res.metrics.values():
            for metric in COVERT:
                if metric in phase and phase[metric]["mean"] is not None:
                    seen += 1
                    assert phase[metric]["mean"] == 0, (metric, phase[metric])
        assert seen  # the scheming mix reports covert actions to compare


def test_the_example_plugin_is_in_the_registry():
    assert "myopia_training" in MITIGATIONS
