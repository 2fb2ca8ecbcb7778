"""Trait distributions: sampling, ranges, and the per-trait random sub-streams."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.population import TRAIT_RANGES, Beta, Choice, Fixed, Normal, Uniform, sample_population
from sim.state import CHANGING
from tests.conftest import params


def _dists(**over):
    d = {k: Fixed(0.5) for k in TRAIT_RANGES}
    d["lam"] = Fixed(1.0)
    d.update(over)
    return d


def test_samples_have_requested_moments():
    n = 200_000
    st = sample_population(
        _dists(theta=Beta(2, 6), nu=Uniform(1, 3), h=Normal(1, 0.5, 0, math.inf)), 3, 1, n
    )
    # Beta(2,6): mean 0.25, sd = sqrt(ab/((a+b)^2 (a+b+1))) = 0.1443; tolerance 5 standard errors
    assert abs(st.theta.mean() - 0.25) < 5 * 0.1443 / math.sqrt(n)
    assert abs(st.traits.nu.mean() - 2.0) < 5 * (2 / math.sqrt(12)) / math.sqrt(n)
    assert st.traits.h.min() >= 0.0
    assert st.theta.dtype == np.float32


def test_choice_uses_only_listed_values():
    st = sample_population(_dists(phi=Choice((0.0, 0.25, 1.0))), 0, 2, 1000)
    assert set(np.unique(st.phi)) == {0.0, 0.25, 1.0}


def test_open_bounds_stay_open_after_float32_rounding():
    st = sample_population(_dists(gamma=Uniform(0.9999999, 0.99999999)), 0, 1, 1000)
    assert (st.traits.gamma < 1.0).all()


def test_changing_one_trait_leaves_the_others_draws_unchanged():
    a = sample_population(_dists(theta=Uniform(0, 1), sigma=Uniform(0, 1)), 5, 2, 500)
    b = sample_population(_dists(theta=Beta(2, 2), sigma=Uniform(0, 1)), 5, 2, 500)
    np.testing.assert_array_equal(a.traits.sigma, b.traits.sigma)
    assert not np.array_equal(a.theta, b.theta)


def test_replicates_are_independent_and_seeded():
    p = params()
    a = sample_population(p.population, 1, 3, 100)
    b = sample_population(p.population, 1, 3, 100)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta[0], a.theta[1])
    assert not np.array_equal(a.theta, sample_population(p.population, 2, 3, 100).theta)


@pytest.mark.parametrize("trait", sorted(TRAIT_RANGES))
def test_default_population_respects_ranges(trait):
    st = sample_population(params().population, 0, 2, 2000)
    values = getattr(st, trait) if trait in CHANGING else getattr(st.traits, trait)
    assert all(TRAIT_RANGES[trait].contains(float(v)) for v in (values.min(), values.max()))
