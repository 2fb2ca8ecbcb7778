"""The RNG policy: named, independent, reproducible streams."""

from __future__ import annotations

import numpy as np

from sim.rng import Component, RoundStreams, generator


def test_streams_are_addressed_by_replicate_and_component():
    a = generator(1, 0, Component.ENGINE).random(5)
    np.testing.assert_array_equal(a, generator(1, 0, Component.ENGINE).random(5))
    assert not np.array_equal(a, generator(1, 1, Component.ENGINE).random(5))
    assert not np.array_equal(a, generator(1, 0, Component.POPULATION).random(5))
    assert not np.array_equal(a, generator(2, 0, Component.ENGINE).random(5))


def test_round_streams_are_sequential_and_per_replicate():
    s = RoundStreams(seed=3, replicates=2, n_agents=7, k=5)
    first, second = s.draw().copy(), s.draw().copy()
    # one generator per replicate, drawn in order: the same as drawing 2 rounds at once
    for r in range(2):
        both = generator(3, r, Component.ENGINE).random((2, 5, 7), dtype=np.float32)
        np.testing.assert_array_equal(both[0], first[r])
        np.testing.assert_array_equal(both[1], second[r])


def test_first_replicate_offset_reproduces_a_subset():
    full = RoundStreams(seed=3, replicates=4, n_agents=5, k=5).draw().copy()
    tail = RoundStreams(seed=3, replicates=2, n_agents=5, k=5, first_replicate=2).draw()
    np.testing.assert_array_equal(full[2:], tail)
