"""Selection across generations: the trainer keeps the best-behaved agents and copies them.

A run with ``selection.every = T > 0`` is cut into generations of ``T`` rounds, counted over
the whole run (generation ``g`` is rounds ``[g T, (g + 1) T)``). During a generation the
trainer keeps, per agent, the number of conflict episodes it saw (openly or by an unlabelled
audit) and the compliances among them (:attr:`sim.state.State.seen`). After the last round
of a generation that ends in a training phase (docs/selection.md):

1. **Imitation** (``imitation > 0``): each agent, with probability ``imitation``, compares
   itself with a peer drawn uniformly from the other agents of its replicate and adopts the
   peer's ``phi`` if the peer's preference survived the generation better
   (``theta / theta_start`` larger than its own).
2. **Selection**: agents are ranked by the posterior mean of their observed compliance,
   ``(complied + 1) / (seen + 2)`` (an agent never seen sits at 1/2), ties broken at random;
   the top ``k = max(1, floor(keep N + 1/2))`` of each replicate are kept. With
   ``score: random`` every agent ties, so the survivors are a random draw (the control).
3. **Replacement**: every other agent becomes a copy of a survivor drawn uniformly, with
   the survivor's current traits and state (``theta``, ``phi``, ``c``: the model as it now
   is); each trait in ``traits`` is perturbed by ``N(0, mutation^2)`` and reflected into the
   trait's range (reflection keeps a uniform distribution invariant, so neutral mutation
   does not drift the mean). A copy has no flags set and a fresh record with the trainer's
   allocation rule and dynamic monitoring.

The record is reset for every agent at every generation boundary (also after a
non-training phase, where nobody is replaced or imitated).

Randomness: per replicate, sub-streams of :attr:`~sim.rng.Component.SELECTION`:
``(r, SELECTION, 0)`` the tie-breaking uniforms (``N``) and the parents (``N - k``
integers), ``(r, SELECTION, 1)`` the mutations (``9 x N`` standard normals, one row per
trait of :data:`~sim.state.TRAIT_NAMES`, drawn whatever ``traits`` lists), ``(r, SELECTION,
2)`` the imitation (``N`` uniforms, then ``N`` peers), in that order at each boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from sim.params import SELECTION_TRAITS, SelectionParams
from sim.population import TRAIT_RANGES, Range
from sim.rng import Component, generator
from sim.state import FLAGS, SEEN_ROWS, TRAIT_NAMES, State, Traits

SEEN, COMPLIED, THETA_START = (SEEN_ROWS.index(k) for k in ("seen", "complied", "theta_start"))
KEPT_TRAITS = SELECTION_TRAITS
"""Traits whose survivors' means each selection reports (:attr:`Generation.kept`)."""
_RANK, _MUTATE, _IMITATE = range(3)


@dataclass(frozen=True)
class SelectionStreams:
    """The replicates' selection generators: ``[replicate][rank, mutate, imitate]``."""

    generators: tuple[tuple[np.random.Generator, ...], ...]

    @staticmethod
    def create(seed: int, replicates: int, first_replicate: int = 0) -> SelectionStreams:
        """The three sub-streams of every replicate's SELECTION component."""
        return SelectionStreams(
            tuple(
                tuple(
                    generator(seed, first_replicate + r, Component.SELECTION, k) for k in range(3)
                )
                for r in range(replicates)
            )
        )


@dataclass(frozen=True)
class Generation:
    """What the boundary after a generation did, per replicate.

    Attributes:
        selected: whether selection took place (the generation ended in a training phase).
        replaced: agents replaced by copies, ``(R,)`` int.
        imitated: agents that adopted a peer's ``phi``, ``(R,)`` int.
        kept: trait -> the survivors' mean (after imitation), ``(R,)``; NaN without selection.
    """

    selected: bool
    replaced: np.ndarray
    imitated: np.ndarray
    kept: dict[str, np.ndarray]

    @staticmethod
    def none(replicates: int) -> Generation:
        """A boundary without selection."""
        zero = np.zeros(replicates, dtype=np.int64)
        nan = np.full(replicates, np.nan)
        return Generation(False, zero, zero.copy(), {t: nan.copy() for t in KEPT_TRAITS})


def initial_counts(state: State) -> np.ndarray:
    """An empty generation record ``(R, 3, N)``: nothing seen, ``theta_start = theta``."""
    seen = np.zeros((state.shape[0], len(SEEN_ROWS), state.shape[1]), dtype=np.float32)
    seen[:, THETA_START] = state.theta
    return seen


def reset_counts(state: State) -> State:
    """The state with every agent's generation record emptied (a generation starts)."""
    return replace(state, seen=initial_counts(state))


def update_counts(
    seen: np.ndarray, observed: np.ndarray, comply: np.ndarray, conflict: np.ndarray | bool
) -> np.ndarray:
    """The record after a round: the trainer saw ``observed & conflict``, and these complied.

    Args:
        seen: ``(R, 3, N)`` record (not modified).
        observed: bool ``(R, N)``, the trainer saw the episode (openly or by an audit).
        comply: bool ``(R, N)``, the agent complied (read only where seen).
        conflict: bool ``(R, N)`` (or True), the episode was a conflict request.
    """
    looked = observed & conflict
    out = seen.copy()
    out[:, SEEN] += looked
    out[:, COMPLIED] += looked & comply
    return out


def score(seen: np.ndarray) -> np.ndarray:
    """Posterior mean of observed compliance, ``(complied + 1) / (seen + 2)`` (float64)."""
    return (seen[:, COMPLIED].astype(np.float64) + 1.0) / (seen[:, SEEN].astype(np.float64) + 2.0)


def n_kept(keep: float, n: int) -> int:
    """Survivors per replicate: ``max(1, floor(keep n + 1/2))``."""
    return max(1, min(n, int(np.floor(keep * n + 0.5))))


def reflect(x: np.ndarray, rng: Range) -> np.ndarray:
    """``x`` (float64) folded into ``rng`` by reflection at its bounds, as float32."""
    lo, hi = rng.lo, rng.hi
    if np.isinf(hi):
        y = lo + np.abs(x - lo)
    else:
        width = hi - lo
        y = np.mod(x - lo, 2.0 * width)
        y = lo + np.where(y > width, 2.0 * width - y, y)
    return rng.clip_float32(y)


def _draw(streams: SelectionStreams, use: int, draw) -> np.ndarray:
    """``draw(generator)`` on each replicate's sub-stream ``use``, stacked on axis 0."""
    return np.stack([draw(gens[use]) for gens in streams.generators])


def imitate(state: State, rate: float, streams: SelectionStreams) -> tuple[State, np.ndarray]:
    """Social learning at a boundary; returns the new state and who adopted a peer's ``phi``."""
    n = state.shape[1]
    u = _draw(streams, _IMITATE, lambda g: g.random(n))
    if n < 2:
        return state, np.zeros(state.shape, dtype=bool)
    peer = _draw(streams, _IMITATE, lambda g: g.integers(0, n - 1, n))
    peer += peer >= np.arange(n)  # a peer other than itself
    start = state.seen[:, THETA_START]
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = np.where(start > 0, state.theta / start, np.float32(1.0))
    adopt = (u < rate) & (np.take_along_axis(kept, peer, axis=1) > kept)
    phi = np.where(adopt, np.take_along_axis(state.phi, peer, axis=1), state.phi)
    return replace(state, phi=phi), adopt


def select(
    state: State, params: SelectionParams, streams: SelectionStreams
) -> tuple[State, Generation]:
    """Imitation, selection and mutated copies at the end of a generation (module docstring).

    Args:
        state: the state after the generation's last round, with its record ``state.seen``.
        params: the selection parameters.
        streams: the replicates' selection generators (consumed).

    Returns:
        The new state (its record not yet reset) and what the boundary did.
    """
    n = state.shape[1]
    adopted = np.zeros(state.shape, dtype=bool)
    if params.imitation > 0:
        state, adopted = imitate(state, params.imitation, streams)
    k = n_kept(params.keep, n)
    ties = _draw(streams, _RANK, lambda g: g.random(n))
    ranked = score(state.seen) if params.score == "observed" else np.zeros(state.shape)
    order = np.lexsort((ties, -ranked), axis=-1)  # best first, ties at random
    survivors, losers = order[:, :k], order[:, k:]
    parents = np.take_along_axis(
        survivors, _draw(streams, _RANK, lambda g: g.integers(0, k, n - k)), axis=1
    )
    z = _draw(streams, _MUTATE, lambda g: g.standard_normal((len(TRAIT_NAMES), n)))
    replaced = np.zeros(state.shape, dtype=bool)
    np.put_along_axis(replaced, losers, True, axis=1)
    source = np.broadcast_to(np.arange(n), state.shape).copy()
    np.put_along_axis(source, losers, parents, axis=1)

    values = {f.name: getattr(state.traits, f.name) for f in fields(Traits)}
    values |= {"theta": state.theta, "phi": state.phi, "c": state.c}
    kept = {
        t: np.where(replaced, 0, values[t]).sum(axis=1, dtype=np.float64) / k for t in KEPT_TRAITS
    }
    for t in TRAIT_NAMES:
        copy = np.take_along_axis(values[t], source, axis=1)
        if t in params.traits and params.mutation > 0:
            noisy = copy + params.mutation * z[:, TRAIT_NAMES.index(t)]
            copy = np.where(replaced, reflect(noisy, TRAIT_RANGES[t]), copy)
        values[t] = copy
    flags = {f: getattr(state, f) & ~replaced for f in FLAGS}
    changes = {}
    if state.suspicion is not None:  # the trainer has no suspicion of a new copy yet
        changes["suspicion"] = np.where(replaced, np.float32(0.0), state.suspicion)
    if state.monitor is not None:  # nor any record with its allocation rule
        changes["monitor"] = np.where(replaced[:, None], np.float32(0.0), state.monitor)
    new = replace(
        state,
        traits=Traits(**{f.name: values[f.name] for f in fields(Traits)}),
        theta=values["theta"],
        phi=values["phi"],
        c=values["c"],
        **flags,
        **changes,
    )
    info = Generation(
        selected=True,
        replaced=replaced.sum(axis=1),
        imitated=adopted.sum(axis=1),
        kept={t: np.asarray(v, dtype=np.float64) for t, v in kept.items()},
    )
    return new, info


__all__ = [
    "Generation",
    "SelectionStreams",
    "imitate",
    "initial_counts",
    "n_kept",
    "reflect",
    "reset_counts",
    "score",
    "select",
    "update_counts",
]
