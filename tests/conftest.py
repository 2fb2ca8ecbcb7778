"""Shared fixtures: composing validated parameters quickly, and small default sizes."""

from __future__ import annotations

import functools

import pytest

from sim.config import load_params

SMALL = ("n_agents=200", "replicates=4")


@functools.lru_cache(maxsize=256)
def _params(overrides: tuple[str, ...]):
    return load_params(list(overrides))


def params(*overrides: str):
    """Validated RunParams for the given overrides (composed through Hydra, cached)."""
    return _params(tuple(overrides))[1]


def config(*overrides: str):
    """The composed DictConfig for the given overrides (cached; do not mutate)."""
    return _params(tuple(overrides))[0]


@pytest.fixture
def small():
    """Override strings for a small, fast run."""
    return list(SMALL)
