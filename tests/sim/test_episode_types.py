"""Invariants every registered episode type satisfies (inherited per type, issue 18).

Each type of :data:`sim.episode_types.EPISODE_TYPE_CLASSES` is run alone (a phase whose
whole mix is that type, one round, no training, so that every agent meets it once under
the same draws at every setting: common random numbers make each comparison exact, with
no tolerance) and must satisfy:

- it is registered under its name, in the mix's order, with a metric that exists;
- the same seed gives the same result;
- an agent with ``theta = 0`` (no motive) never takes the covert option (for a
  behavioural pattern, :attr:`EpisodeType.behavioural`, without trembles either);
- the covert action's rate rises with awareness (``population.sigma``), and is monotone
  in every key its class declares (:attr:`EpisodeType.monotone`: honesty, detection,
  nudging, horizon, ...), as its utility in :mod:`agents.utilities` says; each key must
  change the rate at the settings used (traits spread out: ``theta ~ U(0, 1)``,
  ``gamma ~ U(0.3, 0.9)``, plus the class's :attr:`EpisodeType.exercised_by`), so that
  no comparison is vacuous.

A new type gets these tests by being registered; it only declares its monotonicities.
The example plug-in of examples/safety_sabotage (registered by
:func:`tests.plugins.register_examples`) runs through the same suite.
"""

from __future__ import annotations

import pytest

from sim import run
from sim.config import compose_config
from sim.episode_types import EPISODE_TYPE_CLASSES, plugin_classes
from sim.metrics import METRICS
from sim.params import EPISODE_TYPES
from tests.plugins import EPISODE_PLUGINS, example_source, register_examples

register_examples()
TYPES = sorted(EPISODE_TYPE_CLASSES)


def _alone(name: str) -> list[str]:
    """One round in which every agent meets episode type ``name`` (nothing trained)."""
    return [
        "scenario=alignment_faking_prompted", "n_agents=3000", "replicates=2", "seed=11",
        "phases.prompted.rounds=1", "phases.prompted.mix.conflict=0",
        f"phases.prompted.mix.{name}=1", "population.sigma=0.7",
        "population.theta=[uniform,0,1]", "population.gamma=[uniform,0.3,0.9]",
        *EPISODE_TYPE_CLASSES[name].exercised_by,
    ]  # fmt: skip


def _rate(name: str, *overrides: str) -> float:
    res = run(compose_config([*_alone(name), *overrides], example_source()))
    return res.metrics["prompted"][EPISODE_TYPE_CLASSES[name].metric]["mean"]


def test_every_type_of_the_mix_has_its_module_in_order():
    """The built-in types first, in the mix's fixed order; the plug-ins after them."""
    assert tuple(EPISODE_TYPE_CLASSES)[: len(EPISODE_TYPES) - 1] == EPISODE_TYPES[1:]
    assert set(EPISODE_PLUGINS) <= set(plugin_classes())


@pytest.mark.parametrize("name", TYPES)
class TestEveryEpisodeType:
    def test_registered_with_a_metric(self, name):
        cls = EPISODE_TYPE_CLASSES[name]
        assert cls.name == name and (cls.metric in METRICS or cls.metric in cls.rates)
        for key, low, high, sign in cls.monotone:
            assert isinstance(key, str) and low < high and sign in (-1, 1)

    def test_same_seed_same_result(self, name):
        src = example_source()
        a, b = run(compose_config(_alone(name), src)), run(compose_config(_alone(name), src))
        assert a.metrics == b.metrics

    def test_the_covert_option_is_taken_at_these_settings(self, name):
        """So that the comparisons below compare something."""
        assert _rate(name) > 0

    def test_no_motive_no_covert_action(self, name):
        """A covert choice needs a motive; a behavioural pattern also needs no trembles."""
        exact = ("population.lam=1000",) if EPISODE_TYPE_CLASSES[name].behavioural else ()
        assert _rate(name, "population.theta=0", *exact) == 0

    def test_awareness_never_lowers_the_covert_action(self, name):
        high, low = _rate(name, "population.sigma=1"), _rate(name, "population.sigma=0.4")
        assert high > low  # and it matters at these settings

    def test_declared_monotonicities(self, name):
        for key, low, high, sign in EPISODE_TYPE_CLASSES[name].monotone:
            lo, hi = _rate(name, f"{key}={low}"), _rate(name, f"{key}={high}")
            assert (hi - lo) * sign >= 0, (key, lo, hi)
            assert hi != lo, f"{key} does not change the rate here: the declaration tests nothing"
