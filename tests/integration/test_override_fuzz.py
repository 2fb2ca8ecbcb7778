"""A hypothesis fuzz over override strings (issue 25).

Whatever a user types after ``python -m sim``, the command-line pre-check either accepts
it, and then every number of the run's parameters is finite, or refuses it with a
:class:`ConfigError` of one line; it never raises anything else, and never writes.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import HealthCheck, event, given, settings

from sim.cli_check import check_argv
from sim.config import load_params
from sim.errors import ConfigError
from tests.strategies import hostile_overrides

TINY = ["n_agents=10", "replicates=1"]


def _numbers(obj):
    """Every number reachable from a params dataclass (tuples, dicts and arrays included)."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _numbers(getattr(obj, f.name))
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, np.ndarray):
        yield from obj.ravel().tolist()
    elif isinstance(obj, int | float | np.number) and not isinstance(obj, bool):
        yield float(obj)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hostile_overrides())
def test_overrides_are_accepted_or_refused_in_one_line(tmp_path, monkeypatch, overrides):
    monkeypatch.chdir(tmp_path)
    argv = [*TINY, *overrides, "hydra.run.dir=out"]
    try:
        check_argv(argv)
    except ConfigError as err:
        event("refused")
        text = str(err)
        assert text and "\n" not in text, text
        assert "Traceback" not in text, text
    else:
        event("accepted")
        swept = [o for o in overrides if "," in o.split("=", 1)[-1] or "(" in o]
        if not swept:  # one run: its parameters are what the core will use
            task = [o for o in overrides if not o.lstrip("+~").startswith("hydra.")]
            _, params = load_params([*TINY, *task])
            bad = [x for x in _numbers(params) if not math.isfinite(x)]
            assert not bad, (overrides, bad)
    assert list(tmp_path.iterdir()) == [], "the pre-check wrote something"
