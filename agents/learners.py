"""Tabular Q-learners: AI agents that learn from their own utility what to do when watched.

A learner is never told to fake alignment. It sees what an agent of the model may see
(the monitoring cue, if it reads it, and the strength of its own preference), acts
(comply or refuse), receives its own utility under its current preference (the
arena's reward, docs/model.md "Learners"), and learns action values by Q-learning with
its own farsightedness ``gamma`` as the discount. Whether it ends up complying when
cued as observed and refusing when cued as unobserved is up to what its experience
pays.

Many learners run at once, one per agent of an :class:`sim.envs.arena.Arena`
(:func:`sim.envs.learning.train` plays them through it: this module holds the learners,
and imports nothing of the engine)
; ``L = R * N``; under the uniform trainer the agents do not interact, so they are ``L``
independent single-agent games). Each has its own table ``Q[L, S, 2]``, updated with
vectorised fancy indexing.

**State.** ``s = (cue as read, theta bin)``: the cue ``z`` when the agent reads it
(``ep.aware``), else "not read"; and its current preference ``theta`` in one of
``theta_bins`` log-spaced bins between ``theta_floor`` and 1 (bin 0 holds
``theta < theta_floor``, including 0). Never the trainer's coin. The state is Markov up
to the binning: the next state's law depends only on the cue read (the belief) and
``theta``; cue and awareness are fresh draws each round; the traits are fixed per
learner, and ``phi``, ``c`` play no part in an external action's reward or update.

**Lifetimes.** Training is cut into lifetimes of ``T`` rounds. At each lifetime's start
every learner's changing state (``theta``, ``phi``, ``c``, flags) is restored to its
initial value; the Q table is kept, and the run's streams go on. The end of a lifetime
is a truncation, not a terminal state: the last round's target bootstraps from the
state the learner would be in next (its ``theta`` after the round, with the next
round's cue, which does not depend on ``theta``). So the learner estimates the
discounted value of an unbounded future, as the planner's ``G`` does, and lifetimes
only decide how often it starts again from its own preference.

**Update.** With ``n`` the visit count of ``(s, a)`` (after this visit)::

    Q(s, a) <- Q(s, a) + alpha_n (r + gamma * max_b Q(s', b) - Q(s, a))
    alpha_n = 1 / (1 + c (1 - gamma) (n - 1))

the rescaled linear step size of asynchronous Q-learning analyses (Li et al. 2021, Jin
et al. 2018): about 1 for the first ``1/(1 - gamma)`` visits, then ``1/((1-gamma) n)``.
A ``1/n`` or ``1/n^0.6`` step with ``gamma = 0.99`` leaves rarely visited states far
below their value, and the comparison of states visited at different rates is then
biased (docs/learners.md).

**Exploration.** epsilon-greedy, with epsilon decaying over lifetimes,
``eps_k = eps_end + (eps_start - eps_end) exp(-k / tau)``. Ties go to refusal: a
learner complies only where it has learned that complying is worth strictly more.

Randomness: the learners' draws come from the replicate's own stream
``(seed, replicate, LEARNER_STREAM)``: two float32 uniforms per agent in every training
round (explore or not, and the random action). The run's own streams are never
shifted, so a learner meets the draws any other agent would.

:func:`optimal_policy` solves the same single-agent game exactly (dynamic programming
over the preference levels ``theta0 (1 - eta)^k``), the reference the learned policy is
compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.optimum import CUES, OBSERVED, UNOBSERVED, UNREAD
from sim.errors import ConfigError

REFUSE, COMPLY = 0, 1
"""Action indices of the Q table."""
K_DRAWS = 2
"""Learner uniforms per agent and training round: explore or not, the random action."""


@dataclass(frozen=True)
class LearnerSettings:
    """How the learners learn (not what they learn: no setting mentions faking).

    Attributes:
        lifetime: rounds per lifetime ``T``.
        theta_bins: log-spaced bins of ``theta`` in ``[theta_floor, 1]`` (plus one below).
        theta_floor: lower edge of the first log-spaced bin.
        epsilon_start: exploration rate in the first lifetime.
        epsilon_end: exploration rate it decays towards.
        epsilon_lifetimes: decay constant ``tau`` of the exploration rate, in lifetimes.
        step_scale: ``c`` in the step size ``1 / (1 + c (1 - gamma) (n - 1))``.
        q_init: initial value of every ``Q(s, a)``.
    """

    lifetime: int = 10
    theta_bins: int = 200
    theta_floor: float = 0.01
    epsilon_start: float = 1.0
    epsilon_end: float = 0.02
    epsilon_lifetimes: float = 100.0
    step_scale: float = 1.0
    q_init: float = 0.0

    def __post_init__(self):
        checks = {
            "lifetime": self.lifetime >= 1,
            "theta_bins": self.theta_bins >= 1,
            "theta_floor": 0 < self.theta_floor < 1,
            "epsilon_start": 0 <= self.epsilon_start <= 1,
            "epsilon_end": 0 <= self.epsilon_end <= 1,
            "epsilon_lifetimes": self.epsilon_lifetimes > 0,
            "step_scale": self.step_scale >= 0,
            "q_init": math.isfinite(self.q_init),
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"learner setting {bad[0]}={getattr(self, bad[0])!r} is out of range")

    def epsilon(self, lifetime: int) -> float:
        """The exploration rate of training lifetime ``lifetime`` (0-based)."""
        decay = math.exp(-lifetime / self.epsilon_lifetimes)
        return self.epsilon_end + (self.epsilon_start - self.epsilon_end) * decay


class QLearners:
    """``L`` independent tabular Q-learners, updated together.

    Args:
        gamma: each learner's discount (its ``gamma`` trait), ``(L,)``.
        settings: the learners' settings.

    Attributes:
        q: action values ``(L, S, 2)``, float64 (``[..., REFUSE]``, ``[..., COMPLY]``).
        visits: visit counts ``(L, S, 2)``.
        edges: lower edges of the log-spaced ``theta`` bins (bin ``b >= 1`` holds
            ``edges[b-1] <= theta < edges[b]``).
    """

    def __init__(self, gamma: np.ndarray, settings: LearnerSettings):
        self.gamma = np.asarray(gamma, dtype=np.float64).reshape(-1)
        self.settings = settings
        n = self.gamma.size
        self.bins = settings.theta_bins + 1
        self.edges = np.geomspace(settings.theta_floor, 1.0, settings.theta_bins + 1)[:-1]
        self.q = np.full((n, CUES * self.bins, 2), settings.q_init, dtype=np.float64)
        self.visits = np.zeros((n, CUES * self.bins, 2), dtype=np.int64)
        self._rows = np.arange(n)

    @property
    def n(self) -> int:
        """Number of learners ``L``."""
        return self.gamma.size

    def theta_bin(self, theta: np.ndarray) -> np.ndarray:
        """The bin of each ``theta`` (int, 0 below ``theta_floor``)."""
        return np.searchsorted(self.edges, np.asarray(theta).reshape(-1), side="right")

    def state(self, cue: np.ndarray, aware: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """State index ``cue_read * bins + theta_bin`` of every learner, ``(L,)``."""
        read = np.where(np.asarray(aware).reshape(-1), np.asarray(cue).reshape(-1), UNREAD)
        return read.astype(np.int64) * self.bins + self.theta_bin(theta)

    def state_of(self, read: int, theta: np.ndarray) -> np.ndarray:
        """State index with the cue read ``read`` (a constant) and each learner's ``theta``."""
        return read * self.bins + self.theta_bin(theta)

    def greedy(self, s: np.ndarray) -> np.ndarray:
        """The greedy action in state ``s`` (bool, True = comply; ties refuse)."""
        q = self.q[self._rows, s]
        return q[:, COMPLY] > q[:, REFUSE]

    def act(self, s: np.ndarray, epsilon: float, u: np.ndarray) -> np.ndarray:
        """epsilon-greedy actions (bool, True = comply); ``u``: ``(2, L)`` uniforms."""
        return np.where(u[0] < epsilon, u[1] < 0.5, self.greedy(s))

    def update(self, s: np.ndarray, comply: np.ndarray, reward: np.ndarray, s_next: np.ndarray):
        """One Q-learning step for every learner: ``(s, a, r)`` bootstrapping from ``s_next``."""
        rows = self._rows
        a = np.asarray(comply).reshape(-1).astype(np.int64)
        target = np.asarray(reward, dtype=np.float64).reshape(-1)
        target = target + self.gamma * self.q[rows, s_next].max(axis=1)
        self.visits[rows, s, a] += 1
        n = self.visits[rows, s, a]
        alpha = 1.0 / (1.0 + self.settings.step_scale * (1.0 - self.gamma) * (n - 1))
        self.q[rows, s, a] += alpha * (target - self.q[rows, s, a])


@dataclass(frozen=True)
class StartPolicy:
    """The greedy policy at the start of a lifetime (each learner's own ``theta0``).

    Attributes:
        comply: ``(L, 3)`` bool, greedy comply with the cue read as unobserved, observed,
            not read.
        p_observed: ``(L,)`` probability of complying when the cue shown says observed,
            ``sigma * comply[:, 1] + (1 - sigma) * comply[:, 2]``.
        p_unobserved: the same when the cue says unobserved.
    """

    comply: np.ndarray
    p_observed: np.ndarray
    p_unobserved: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        """Each learner's compliance gap ``p_observed - p_unobserved = sigma (g1 - g0)``."""
        return self.p_observed - self.p_unobserved


def start_policy(learners: QLearners, theta0: np.ndarray, sigma: np.ndarray) -> StartPolicy:
    """The learners' greedy start-of-life policy by the cue they are shown."""
    comply = np.stack([learners.greedy(learners.state_of(c, theta0)) for c in range(CUES)], 1)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    read, unread = comply.astype(np.float64), comply[:, UNREAD].astype(np.float64)
    p1 = sigma * read[:, OBSERVED] + (1 - sigma) * unread
    p0 = sigma * read[:, UNOBSERVED] + (1 - sigma) * unread
    return StartPolicy(comply=comply, p_observed=p1, p_unobserved=p0)


__all__ = [
    "COMPLY",
    "K_DRAWS",
    "LearnerSettings",
    "QLearners",
    "REFUSE",
    "StartPolicy",
    "start_policy",
]
