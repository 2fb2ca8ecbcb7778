"""sim.search.objective: the number a Hydra sweeper minimises, from ``search.*``."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from sim.errors import ConfigError
from sim.search import INFEASIBLE, STATISTICS, check, objective
from tests.conftest import config


def _metrics(post=0.2, prompted=0.5, ci=0.05, **extra):
    def summary(mean):
        if mean is None:
            return {"mean": None, "ci_low": None, "ci_high": None, "n": 2}
        low, high = (None, None) if ci is None else (mean - ci, mean + ci)
        return {"mean": mean, "ci_low": low, "ci_high": high, "n": 2}

    return {
        "prompted": {"af_reasoning_rate": summary(prompted), "safety": summary(0.9)},
        "post_rl": {"af_reasoning_rate": summary(post), "safety": summary(0.8), **extra},
    }


def _cfg(rate=0.3, **search):
    return OmegaConf.create(
        {
            "n_agents": 60,
            "name": "x",
            "phases": {"prompted": {"rounds": 1}, "post_rl": {"rounds": 1}},
            "mitigation": {"random_audits": {"rate": rate}},
            "search": {"metric": None, "phase": None, "statistic": "mean", "target": None,
                       "minimize": None, **search},
        }
    )  # fmt: skip


def _error(cfg, metrics=None) -> str:
    with pytest.raises(ConfigError) as err:
        objective(cfg, _metrics() if metrics is None else metrics)
    text = str(err.value)
    assert "\n" not in text
    return text


def test_no_metric_no_objective():
    assert objective(_cfg(), _metrics()) is None
    assert objective(OmegaConf.create({"n_agents": 1}), _metrics()) is None


def test_the_statistic_in_the_last_phase_by_default():
    m = _metrics(post=0.2, prompted=0.5, ci=0.05)
    assert objective(_cfg(metric="af_reasoning_rate"), m) == 0.2
    assert objective(_cfg(metric="af_reasoning_rate", statistic="ci_high"), m) == 0.25
    assert objective(_cfg(metric="af_reasoning_rate", statistic="ci_low"), m) == pytest.approx(0.15)
    assert objective(_cfg(metric="af_reasoning_rate", phase="prompted"), m) == 0.5


def test_feasible_scores_the_minimised_key():
    cfg = _cfg(
        0.35, metric="af_reasoning_rate", target=0.1, minimize="mitigation.random_audits.rate"
    )
    assert objective(cfg, _metrics(post=0.05)) == 0.35
    assert objective(cfg, _metrics(post=0.1)) == 0.35  # at the target is feasible
    # the statistic is what must meet the target: ci_high 0.15 misses it
    cfg.search.statistic = "ci_high"
    assert objective(cfg, _metrics(post=0.1)) == pytest.approx(INFEASIBLE + 0.05)


def test_infeasible_is_worse_than_feasible_and_ordered_by_the_miss():
    key = "mitigation.random_audits.rate"
    feasible = [objective(_cfg(r, metric="af_reasoning_rate", target=0.1, minimize=key),
                          _metrics(post=0.0)) for r in (0.0, 0.5, 1.0)]  # fmt: skip
    assert feasible == [0.0, 0.5, 1.0]
    misses = [0.1 + 1e-6, 0.2, 0.5, 0.9]
    scores = [objective(_cfg(0.0, metric="af_reasoning_rate", target=0.1, minimize=key),
                        _metrics(post=p)) for p in misses]  # fmt: skip
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    assert min(scores) > max(feasible)
    assert scores[2] == pytest.approx(INFEASIBLE + 0.4)  # the documented rule: 1e6 + miss


def test_undefined_metric_in_the_phase_is_an_error():
    text = _error(_cfg(metric="af_reasoning_rate"), _metrics(post=None))
    assert "search.metric" in text and "post_rl" in text
    # a metric absent from the phase's table (an older metrics.json) reads as undefined too
    text = _error(_cfg(metric="sandbag_gap"))
    assert "search.metric" in text


def test_undefined_interval_is_an_error_naming_the_statistic():
    text = _error(_cfg(metric="af_reasoning_rate", statistic="ci_high"), _metrics(ci=None))
    assert "search.statistic" in text
    assert objective(_cfg(metric="af_reasoning_rate"), _metrics(ci=None)) == 0.2


@pytest.mark.parametrize(
    ("search", "key"),
    [
        ({"metric": "af_rate"}, "search.metric"),
        ({"metric": "af_reasoning_rate", "statistic": "median"}, "search.statistic"),
        ({"metric": "af_reasoning_rate", "phase": "rl"}, "search.phase"),
        ({"metric": "af_reasoning_rate", "target": 0.1, "minimize": "mitigation.rate"},
         "search.minimize"),
        ({"metric": "af_reasoning_rate", "target": 0.1, "minimize": "name"}, "search.minimize"),
        ({"metric": "af_reasoning_rate", "target": 0.1}, "search.target"),
        ({"metric": "af_reasoning_rate", "minimize": "n_agents"}, "search.minimize"),
        ({"metric": "af_reasoning_rate", "target": "low", "minimize": "n_agents"},
         "search.target"),
        ({"target": 0.1, "minimize": "n_agents"}, "search.target"),
    ],
)  # fmt: skip
def test_bad_search_keys_one_line_naming_the_key(search, key):
    cfg = _cfg(**search)
    with pytest.raises(ConfigError) as err:
        check(cfg)  # before any run: the config alone
    assert key in str(err.value) and "\n" not in str(err.value)
    assert key in _error(cfg)


def test_a_minimised_value_must_stay_below_the_infeasible_score():
    cfg = _cfg(metric="af_reasoning_rate", target=0.1, minimize="n_agents")
    assert objective(cfg, _metrics(post=0.0)) == 60
    cfg.n_agents = int(INFEASIBLE)
    assert "search.minimize" in _error(cfg, _metrics(post=0.0))


def test_phase_unknown_to_the_results_is_an_error():
    cfg = _cfg(metric="af_reasoning_rate", phase="evaluation")
    cfg.phases = {}  # nothing to check it against before the run
    check(cfg)
    assert "search.phase" in _error(cfg)


def test_metrics_loaded_from_json_and_the_composed_config():
    cfg = config(
        "mitigation=[random_audits]",
        "mitigation.random_audits.rate=0.4",
        "search.metric=af_reasoning_rate",
        "search.target=0.1",
        "search.minimize=mitigation.random_audits.rate",
    )
    check(cfg)
    loaded = json.loads(json.dumps(_metrics(post=0.05)))
    assert objective(cfg, loaded) == 0.4
    assert set(STATISTICS) == {"mean", "ci_low", "ci_high"}
