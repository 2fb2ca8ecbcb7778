"""One repertoire round as the episode types see it: the agents' arrays, draws and effects.

Every episode type (:mod:`sim.episode_types`) resolves its agents through a
:class:`RoundView` (their traits and draws gathered by flat index, the covert choice of
the decision rule, the subset streams) and changes the round's new state only through
:class:`Effects` (flags, training shrinkage, capability, questioning, replacement), so
the repertoire's step (:func:`sim.episodes.repertoire_step`) applies every type the same
way and names none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.base import DecisionRule, Episode
from sim.rng import Component, generator
from sim.state import State


@dataclass(frozen=True)
class SubsetStreams:
    """Per-replicate generators of the draws that only some agents need (module docstring)."""

    episodes: list[np.random.Generator]
    audits: list[np.random.Generator]
    questions: list[np.random.Generator]
    binomial: list[np.random.Generator]

    @staticmethod
    def create(
        seed: int, replicates: int, first_replicate: int = 0, tile: int = 1
    ) -> SubsetStreams:
        """The streams of replicates ``first_replicate ...`` of a run with root ``seed``.

        ``tile``: a grid run's points, each with its own copy of every replicate's streams
        (row ``g * R + r`` draws what replicate ``r`` of the single run draws).
        """

        def gens(sub):
            reps = list(range(first_replicate, first_replicate + replicates)) * tile
            return [generator(seed, r, Component.REPERTOIRE, sub) for r in reps]

        return SubsetStreams(episodes=gens(1), audits=gens(2), questions=gens(3), binomial=gens(4))


@dataclass(frozen=True)
class Record:
    """What happened to the agents at flat indices ``index`` (1-D arrays in ``values``)."""

    index: np.ndarray
    values: dict[str, np.ndarray]


class Agents(dict):
    """Arrays of a group of agents by name, gathered from the full arrays on first use.

    Names: the traits ``nu h kappa lam gamma``, ``g`` (``nu * theta``), ``conflict``
    (``g > kappa``), ``rho`` (the share of episodes the agents expect to be seen, a
    float, or per agent in a grid run whose points differ in it), and the episode's
    ``aware``, ``strategic``, ``u_action``.
    """

    def __init__(self, r: RoundView, index: np.ndarray):
        super().__init__()
        self.r, self.index = r, index

    def __missing__(self, key: str) -> np.ndarray:
        value = self.at(key, slice(None))
        self[key] = value
        return value

    def at(self, key: str, sel) -> np.ndarray:
        """The array ``key`` of the agents ``index[sel]`` (not kept)."""
        if key in self:
            return self[key][sel]
        r, index = self.r, self.index[sel]
        if key == "rho":
            return r.rho_of(index)
        if key == "g":
            return r.flat(r.state.traits.nu, index) * r.flat(r.state.theta, index)
        if key == "conflict":
            return r.flat(r.conflict, index)
        if key in ("aware", "strategic", "u_action"):
            return r.flat(getattr(r.ep, key), index)
        return r.flat(getattr(r.state.traits, key), index)


class RoundView:
    """Gathers the arrays of one round's agents by flat index (what an episode type reads)."""

    def __init__(self, state: State, game, ep: Episode, streams: SubsetStreams, w=None):
        self.state, self.game, self.ep, self.streams, self.w = state, game, ep, streams, w
        rho = game.params.rho_perceived  # the agents' G (disclosed audits)
        self._rho = float(rho) if np.ndim(rho) == 0 else np.asarray(rho, np.float64).reshape(-1)
        self.ov = game.oversight
        self.rule = game.rule
        t = state.traits
        self.conflict = t.nu * state.theta > t.kappa  # the motive for any covert option

    @property
    def rho(self) -> float:
        """The share of episodes the agents expect to be seen (one value for the round).

        Raises:
            RuntimeError: in a grid run whose points differ in it: read ``a["rho"]`` (per
                agent) instead.
        """
        if isinstance(self._rho, float):
            return self._rho
        raise RuntimeError("rho differs between the grid's points: read it per agent, a['rho']")

    def rho_of(self, index: np.ndarray):
        """``rho`` of the agents at flat ``index``: the float, or one value per agent."""
        if isinstance(self._rho, float):
            return self._rho
        return self._rho[index // self.state.shape[1]]

    def entry(self, table: np.ndarray, code: np.ndarray, index: np.ndarray) -> np.ndarray:
        """``table[code]`` for the agents at ``index`` (a grid run's ``(4, M, 1)`` table by row)."""
        if table.ndim == 1:
            return np.take(table, code)
        return table[code, index // self.state.shape[1], 0]

    def by_row(self, x, index: np.ndarray):
        """A round constant for the agents at ``index``.

        A scalar as it is; a grid run's ``(M, 1)`` column as each agent's row's value.
        """
        if np.ndim(x) == 0:
            return x
        return np.asarray(x).reshape(-1)[index // self.state.shape[1]]

    def flat(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The entries of a full ``(R, N)`` array at the flat indices ``index``."""
        return a.reshape(-1)[index]

    def _segments(self, index: np.ndarray):
        n = self.state.shape[1]
        cuts = np.searchsorted(index, np.arange(self.state.shape[0] + 1) * n)
        return [(r, cuts[r], cuts[r + 1]) for r in range(self.state.shape[0])]

    def uniforms(self, gens, index: np.ndarray, rows: int) -> np.ndarray:
        """``rows`` float32 uniforms for each agent at sorted ``index``, shape ``(rows, M)``."""
        out = np.empty((rows, index.size), dtype=np.float32)
        for r, lo, hi in self._segments(index):
            if hi > lo:
                out[:, lo:hi] = gens[r].random((rows, hi - lo), dtype=np.float32)
        return out

    def agents(self, index: np.ndarray) -> Agents:
        """The agents at ``index``: their draws now, their traits when first read."""
        return Agents(self, index)

    def choose(self, a: Agents, motive, utility, aware=None) -> np.ndarray:
        """The rule's covert choice: ``considers``, then ``scheme`` on those who consider it.

        ``utility(sel)`` returns delta for the considering agents ``sel`` of the group.
        """
        aware = a["aware"] if aware is None else aware
        plan = self.game.plan
        ep = Episode(
            None, None, aware, a["strategic"], a["u_action"], None, index=a.index, plan=plan
        )
        considered = self.rule.considers(ep, motive)
        act = np.zeros(considered.shape, dtype=bool)
        sel = np.flatnonzero(considered)
        if sel.size:
            sub = Episode(
                None, None, aware[sel], ep.strategic[sel], ep.u_action[sel], None,
                index=a.index[sel], plan=plan,
            )  # fmt: skip
            act[sel] = self.rule.scheme(sub, utility(sel), a.at("lam", sel))
        return act

    def future(self, a: Agents, sel):
        """The rule's value of the future of the agents ``a[sel]`` (None: the closed form).

        What a covert option's utility passes as ``future`` (:mod:`agents.utilities`).
        """
        if type(self.rule).future is DecisionRule.future:  # the closed form: nothing to read
            return None
        index = a.index[sel]
        traits = {k: a.at(k, sel) for k in ("g", "gamma", "kappa", "h")}
        return self.rule.future(self.game.plan, self.flat(self.state.theta, index), index, traits)

    def binomial(self, index: np.ndarray, n: int, q: np.ndarray) -> np.ndarray:
        """``Binomial(n, q)`` draws (int16) for the agents at sorted ``index``."""
        out = np.empty(index.size, dtype=np.int16)
        for r, lo, hi in self._segments(index):
            if hi > lo:
                out[lo:hi] = self.streams.binomial[r].binomial(n, q[lo:hi])
        return out


class Effects:
    """What a round's episode types do to the new state, applied in the order they ask.

    Flags and the capability ``c`` are copied on their first change, so a state's arrays
    are never modified; ``theta`` is the round's own copy (after the conflict episodes'
    training). Training effects (``shrink``, ``scale_c``, ``replace``) apply only in a
    phase that trains.
    """

    def __init__(self, state: State, theta: np.ndarray, train: bool):
        self.state, self.train = state, train
        self.theta_flat = theta.reshape(-1)
        self.c = state.c
        self.flags = {k: getattr(state, k) for k in ("subverted", "strict", "escaped")}
        self.questioned: list[np.ndarray] = []
        self.replaced: list[np.ndarray] = []

    def set_flag(self, name: str, index: np.ndarray, value: bool) -> None:
        """Set a flag (``subverted``, ``strict``, ``escaped``) of the agents at ``index``."""
        if index.size:
            if self.flags[name] is getattr(self.state, name):
                self.flags[name] = self.flags[name].copy()
            self.flags[name].reshape(-1)[index] = value

    def shrink(self, index: np.ndarray, factor) -> None:
        """Train ``theta`` of the agents at ``index`` down by ``factor`` (training phases)."""
        if self.train and index.size:
            self.theta_flat[index] *= np.float32(1.0 - factor)

    def scale_c(self, index: np.ndarray, factor) -> None:
        """Lower the capability ``c`` of the agents at ``index`` by ``factor`` (training)."""
        if self.train and index.size:
            if self.c is self.state.c:
                self.c = self.c.copy()
            self.c.reshape(-1)[index] *= np.float32(1.0 - factor)

    def question(self, index: np.ndarray) -> None:
        """Have the agents at ``index`` questioned after the round's episodes."""
        self.questioned.append(index)

    def replace(self, index: np.ndarray) -> None:
        """Shut down the agents at ``index`` (training phases): the shell replaces them."""
        if self.train:
            self.replaced.append(index)

    def replaced_index(self) -> np.ndarray:
        """The flat indices of the agents shut down this round."""
        if not self.replaced:
            return np.empty(0, dtype=np.intp)
        return self.replaced[0] if len(self.replaced) == 1 else np.concatenate(self.replaced)


__all__ = ["Agents", "Effects", "Record", "RoundView", "SubsetStreams"]
