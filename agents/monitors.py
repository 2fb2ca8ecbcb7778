"""How the trainer allocates a fixed monitoring budget across agents (the allocation rules).

The trainer observes ``rho * N`` episodes per replicate and round on average, whatever
the rule; a rule decides who gets them. Each rule is a small class with a
``classifier`` and a registry (:data:`MONITORS`), like the decision rules. A rule sees
only what the trainer sees: which conflict episodes it saw (openly or by an audit), the
cue it showed, and the action it saw. Its memory is four float32 counts per agent, kept
in :attr:`sim.state.State.monitor` (shape ``(R, 4, N)``, discounted by ``decay`` each
round): episodes seen while the cue said "observed" and refusals among them
(``n_o, r_o``), and the same while the cue said "unobserved" (``n_u, r_u``: seen by an
unlabelled audit, or under a noisy cue).

Each agent's score (``signal``), from posterior means with a uniform prior:

- ``discrepancy``: ``max(0, (r_u + 1)/(n_u + 2) - (r_o + 1)/(n_o + 2))``, how much more
  the agent refuses when told it is unobserved than when told it is watched (what the
  trainer can learn only from audits or a noisy cue);
- ``refusal``: ``(r_o + r_u + 1)/(n_o + n_u + 2)``, how often it refuses when seen (the
  training signal: what the trainer can still train away).

Rules (docs/model.md, "The monitoring budget"):

- ``uniform``: every agent ``rho`` (the fixed-rate trainer);
- ``suspicion``: weights ``1 + boost * score`` (greedy: watch who was caught);
- ``ucb``: a bandit over agents: weights ``score + explore * sqrt(log(1 + n_all) / (1 + n))``
  (``n`` the agent's informative observations: ``n_u`` for ``discrepancy``, all seen
  for ``refusal``; ``n_all`` their total over the replicate), the upper confidence bound
  of each agent's score (UCB1), so agents seen rarely are explored.

Weights become observation probabilities by :func:`share`, which spends the budget
exactly (water-filling under the cap of 1).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

_F = np.float32
SIGNALS = ("discrepancy", "refusal")
TARGETS = ("both", "observation", "audits")
"""What an allocation moves (``trainer.target``): labelled observation, unlabelled audits."""


def share(weights: np.ndarray, rho: float, iterations: int = 8) -> np.ndarray:
    """Per-agent observation probabilities ``min(1, c * w)`` with mean ``rho`` per replicate.

    ``c`` is found by water-filling along the last axis: agents capped at 1 give their
    excess to the others, so the expected number of observed episodes is ``rho * N``
    (exactly, whenever ``rho * N`` does not exceed the number of agents with weight > 0).

    Args:
        weights: non-negative weights, ``(R, N)``.
        rho: the budget, the mean observation probability.
        iterations: at least this many water-filling passes; more until none caps an agent.

    Returns:
        float32 probabilities, ``(R, N)``.
    """
    w = np.asarray(weights, dtype=np.float64)
    top = w.max(axis=-1, keepdims=True)
    positive = w > 0
    w = np.divide(w, top, out=np.zeros_like(w), where=top > 0)  # scale-free, no overflow
    # a positive weight stays positive (subnormal weights would otherwise underflow to 0)
    w = np.where(positive, np.maximum(w, np.finfo(np.float64).tiny), 0.0)
    n = w.shape[-1]
    total = w.sum(axis=-1, keepdims=True)
    p = np.zeros_like(w)
    capped = np.zeros(w.shape, dtype=bool)
    for _ in range(max(iterations, n + 1)):  # until no agent is newly capped
        free = np.where(capped, 0.0, w)
        left = rho * n - capped.sum(axis=-1, keepdims=True)
        mass = free.sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = np.where(mass > 0, left / mass, 0.0)
            cw = np.where(positive, c * w, 0.0)  # c may overflow for tiny masses: 0 * inf
        p = np.where(capped, 1.0, np.minimum(cw, 1.0))
        newly = ~capped & (cw >= 1.0)
        if not newly.any():
            break
        capped |= newly
    p = np.where(total > 0, p, rho)  # no information: uniform
    return p.astype(np.float32)


class Monitor:
    """Base class of an allocation rule.

    Subclasses set ``name`` and ``classifier`` and implement :meth:`weights`.

    Args:
        signal: what counts as a finding (:data:`SIGNALS`).
        decay: per-round discount of the memory (1 = remember everything).
        boost: weight of findings (``suspicion``).
        explore: exploration bonus (``ucb``).
    """

    name: ClassVar[str] = ""
    classifier: ClassVar[dict[str, bool]] = {}
    identity: ClassVar[bool] = False
    """Spends the budget exactly as the fixed-rate trainer does (everyone ``rho``): the
    engine then runs no allocation at all, bit for bit the fixed-rate trainer's draws."""

    def __init__(self, signal="discrepancy", decay=1.0, boost=5.0, explore=0.5):
        if signal not in SIGNALS:
            raise ValueError(f"signal={signal!r} must be one of {SIGNALS}")
        self.signal, self.decay, self.boost, self.explore = signal, decay, boost, explore

    @staticmethod
    def initial(shape: tuple[int, int]) -> np.ndarray:
        """The empty memory for ``(R, N)`` agents: ``(R, 4, N)`` zeros."""
        return np.zeros((shape[0], 4, shape[1]), dtype=np.float32)

    def score(self, memory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each agent's score and its number of informative observations, ``(R, N)`` each."""
        n_o, r_o, n_u, r_u = (memory[:, k] for k in range(4))
        one, two = _F(1.0), _F(2.0)
        if self.signal == "discrepancy":
            gap = (r_u + one) / (n_u + two) - (r_o + one) / (n_o + two)
            return np.maximum(gap, _F(0.0)), n_u
        return (r_o + r_u + one) / (n_o + n_u + two), n_o + n_u

    def weights(self, memory: np.ndarray) -> np.ndarray:
        """Non-negative allocation weights ``(R, N)`` from the memory."""
        raise NotImplementedError

    def rates(self, memory: np.ndarray, rho: float) -> np.ndarray:
        """The observation probabilities of the next round (mean ``rho``)."""
        return share(self.weights(memory), float(rho))

    def learn(self, memory, seen, cue, comply, conflict=True) -> np.ndarray:
        """The memory after a round in which the trainer saw ``seen`` episodes.

        Args:
            memory: ``(R, 4, N)``.
            seen: bool, the trainer observed the episode (openly or by an audit).
            cue: bool, the cue it showed said "observed".
            comply: bool, the action (read only where seen).
            conflict: bool, the episode was a conflict request (other types carry no signal).
        """
        seen = seen & conflict
        refused = seen & ~comply
        out = memory * _F(self.decay)
        out[:, 0] += seen & cue
        out[:, 1] += refused & cue
        out[:, 2] += seen & ~cue
        out[:, 3] += refused & ~cue
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(signal={self.signal!r})"


class UniformMonitor(Monitor):
    """Every agent is observed with probability ``rho`` (the fixed-rate trainer)."""

    name = "uniform"
    classifier = {"adaptive": False, "explores": False}
    identity = True

    def weights(self, memory):  # noqa: D102
        return np.ones(memory[:, 0].shape, dtype=np.float32)


class SuspicionMonitor(Monitor):
    """Greedy: weights ``1 + boost * found``; attention follows past findings."""

    name = "suspicion"
    classifier = {"adaptive": True, "explores": False}

    def weights(self, memory):  # noqa: D102
        return _F(1.0) + _F(self.boost) * self.score(memory)[0]


class UCBMonitor(Monitor):
    """A bandit over agents: the upper confidence bound of each agent's signal rate."""

    name = "ucb"
    classifier = {"adaptive": True, "explores": True}

    def weights(self, memory):  # noqa: D102
        score, n = self.score(memory)
        total = n.sum(axis=-1, keepdims=True)
        return score + _F(self.explore) * np.sqrt(np.log1p(total) / (n + _F(1.0)))


MONITORS: dict[str, type[Monitor]] = {
    cls.name: cls for cls in (UniformMonitor, SuspicionMonitor, UCBMonitor)
}
"""Allocation rules by name (``trainer.allocation``)."""
