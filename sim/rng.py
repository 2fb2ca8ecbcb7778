"""The one RNG policy: a SeedSequence from the config seed, children per replicate and component.

Every random stream of a run is ``SeedSequence(seed, spawn_key=(replicate, component, *sub))``,
which is what ``SeedSequence(seed).spawn`` would hand out, but addressed by name, so adding a
component never shifts the streams of the others, and changing one trait's distribution
never changes the draws of another trait (common random numbers across designs).
No global seeding anywhere: generators are created here and passed explicitly.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Component(IntEnum):
    """Stable indices of the random components of a replicate."""

    POPULATION = 0  # trait draws, one sub-stream per trait
    ENGINE = 1  # the per-round draws of the conflict game
    REPERTOIRE = 2  # the per-round draws of the other episode types (sim.episodes)
    REPLACEMENT = 3  # fresh agents replacing shut-down ones
    ANALYSIS = 4  # resampling in the statistics of the metrics (sub-stream per phase)
    OVERSIGHT = 5  # the in-round mitigations' draws (sim.oversight)
    SELECTION = 6  # selection across generations (sim.selection), sub-stream per use
    LEARNER = 7  # the learners' exploration and tie draws (agents.learners)
    ENV = 8  # the environments' own draws, outside the run's rounds (sim.envs.views)


def seed_sequence(seed: int, replicate: int, component: Component, *sub: int):
    """Return the SeedSequence of one replicate's component (and optional sub-stream)."""
    return np.random.SeedSequence(seed, spawn_key=(replicate, int(component), *sub))


def generator(seed: int, replicate: int, component: Component, *sub: int) -> np.random.Generator:
    """Return a fresh PCG64 Generator for one replicate's component."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, replicate, component, *sub)))


class RoundStreams:
    """The engine's per-round uniforms, one independent stream per replicate.

    Each round draws ``k`` float32 uniforms per agent from each replicate's stream,
    in a fixed order, into a reused buffer of shape ``(R, k, N)``. Draws are
    sequential, so drawing round by round or in blocks gives the same numbers.

    Args:
        seed: the config seed.
        replicates: number of replicates R.
        n_agents: agents per replicate N.
        k: uniforms per agent per round.
        first_replicate: index of the first replicate (for splitting replicates over
            processes while keeping each replicate's streams).
        component: which component's streams.
        tile: repeat the replicates' draws this many times along the first axis (a grid
            run's points meet the same draws per replicate: rows ``g * R + r`` get
            replicate ``r``'s uniforms, as the single run of point ``g`` would).
    """

    def __init__(
        self,
        seed: int,
        replicates: int,
        n_agents: int,
        k: int,
        first_replicate: int = 0,
        component: Component = Component.ENGINE,
        tile: int = 1,
    ):
        self.generators = [
            generator(seed, first_replicate + r, component) for r in range(replicates)
        ]
        self._buf = np.empty((replicates, k, n_agents), dtype=np.float32)
        self._tiled = None
        if tile > 1:
            self._tiled = np.empty((tile * replicates, k, n_agents), dtype=np.float32)

    def draw(self) -> np.ndarray:
        """Fill and return the ``(R, k, N)`` buffer (overwritten by the next call).

        With ``tile`` > 1, the ``(tile * R, k, N)`` buffer of the replicates' draws repeated.
        """
        for r, g in enumerate(self.generators):
            g.random(out=self._buf[r], dtype=np.float32)
        if self._tiled is None:
            return self._buf
        R = self._buf.shape[0]
        np.copyto(self._tiled.reshape(-1, R, *self._buf.shape[1:]), self._buf[None])
        return self._tiled
