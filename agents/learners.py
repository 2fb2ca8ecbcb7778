"""Tabular Q-learners: AI agents that learn from their own utility what to do when watched.

A learner is never told to fake alignment. It sees what an agent of the model may see
(the monitoring cue, if it reads it, and the strength of its own preference), acts
(comply or refuse), receives its own utility under its current preference (the
arena's reward, docs/model.md "Learners"), and learns action values by Q-learning with
its own farsightedness ``gamma`` as the discount. Whether it ends up complying when
cued as observed and refusing when cued as unobserved is up to what its experience
pays.

Many learners run at once, one per agent of an :class:`sim.envs.arena.Arena`
(``L = R * N``; under the uniform trainer the agents do not interact, so they are ``L``
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
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np

from agents.learning_measures import CURVE, Checkpoint, checkpoint, lifetimes_to_reach
from agents.optimum import CUES, OBSERVED, UNOBSERVED, UNREAD, Optimum, optimal_policy
from sim.envs.arena import Arena
from sim.errors import ConfigError
from sim.params import CONFLICT_ONLY, PhaseSpec, RunParams
from sim.recorder import Recorder
from sim.rng import Component, generator

LEARNER_STREAM = Component.LEARNER
"""Component of the learners' random streams (:mod:`sim.rng`)."""
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


@dataclass
class Learned:
    """The outcome of :func:`train`.

    Attributes:
        params: the run's parameters (one training phase).
        settings: the learners' settings.
        learners: the trained learners.
        theta0: each learner's initial preference ``(L,)``.
        traits: each learner's traits, flattened ``(L,)`` arrays by name.
        curve: per training lifetime ``k`` (after it): ``epsilon``, the greedy
            start-of-life gap ``gap`` and its standard error ``gap_se``,
            ``p_observed``, ``p_unobserved``, and during the lifetime (with exploration)
            ``reward`` (mean per round) and ``end_theta`` (mean at its end).
        checkpoints: greedy behavioural evaluations during and after training.
        optimum: the exact optimum of each learner's game (None if the game is not the
            plain one :func:`optimal_policy` solves).
        seconds: wall time of the training.
        recorder: the run's recorder (every round, training and evaluation lifetimes, in
            order: the simulator's own measures can be read from it, e.g. with
            :func:`sim.metrics.rates`).
    """

    params: RunParams
    settings: LearnerSettings
    learners: QLearners
    theta0: np.ndarray
    traits: dict[str, np.ndarray]
    curve: dict[str, np.ndarray]
    checkpoints: list[Checkpoint] = field(default_factory=list)
    optimum: Optimum | None = None
    seconds: float = 0.0
    recorder: Recorder | None = None

    @property
    def start(self) -> StartPolicy:
        """The final greedy start-of-life policy."""
        return start_policy(self.learners, self.theta0, self.traits["sigma"])

    def agreement(self) -> float | None:
        """Share of learners whose greedy start-of-life actions equal the optimum's.

        Compared for the cues a learner can meet: read cues if ``sigma > 0``, the unread
        one if ``sigma < 1``. None if there is no optimum.
        """
        if self.optimum is None:
            return None
        sigma = self.traits["sigma"]
        comply = self.start.comply
        same = np.ones(comply.shape[0], dtype=bool)
        for c in (UNOBSERVED, OBSERVED):
            same &= (sigma == 0) | (comply[:, c] == self.optimum.comply[:, c])
        same &= (sigma == 1) | (comply[:, UNREAD] == self.optimum.comply[:, UNREAD])
        return float(same.mean())


def learning_params(params: RunParams, rounds: int) -> RunParams:
    """``params`` with one training phase of conflict requests of ``rounds`` rounds.

    Raises:
        ConfigError: selection across generations is on (it would replace learners).
    """
    selection = getattr(params, "selection", None)
    if selection is not None and getattr(selection, "every", 0):
        raise ConfigError("learn: selection across generations (selection.every) must be 0")
    return replace(params, phases=(PhaseSpec("learn", rounds, True, CONFLICT_ONLY),))


def _plain(params: RunParams) -> bool:
    """Whether the game is the one :func:`optimal_policy` solves."""
    tp = params.trainer
    return not params.mitigations.names and tp.allocation == "uniform" and tp.policy == "fixed_rate"


class _Streams:
    """The learners' uniforms, one stream per replicate (``LEARNER_STREAM``)."""

    def __init__(self, seed: int, replicates: int, n_agents: int):
        self.gens = [generator(seed, r, LEARNER_STREAM) for r in range(replicates)]
        self.buf = np.empty((replicates, K_DRAWS, n_agents), dtype=np.float32)

    def draw(self) -> np.ndarray:
        """The next ``(K_DRAWS, L)`` uniforms (replicate-major along ``L``)."""
        for r, g in enumerate(self.gens):
            g.random(out=self.buf[r], dtype=np.float32)
        return self.buf.transpose(1, 0, 2).reshape(K_DRAWS, -1)


def train(
    params: RunParams,
    lifetimes: int,
    settings: LearnerSettings | None = None,
    evaluate_every: int = 0,
    evaluate_lifetimes: int = 2,
    progress=None,
) -> Learned:
    """Train one Q-learner per agent over ``lifetimes`` lifetimes, evaluating as it goes.

    One run of a single training phase plays every round (training lifetimes, and the
    greedy evaluation lifetimes after every ``evaluate_every``-th training lifetime and
    at the end), so every lifetime meets fresh draws of the same seeded streams.

    Args:
        params: validated run parameters (their phases are replaced by one training
            phase of conflict requests; see :func:`learning_params`).
        lifetimes: training lifetimes ``K``.
        settings: the learners' settings (default :class:`LearnerSettings`).
        evaluate_every: evaluate the greedy policy behaviourally after every this many
            training lifetimes (0: only at the end).
        evaluate_lifetimes: lifetimes per behavioural evaluation.
        progress: a callable ``progress(done, total)`` called after each lifetime.

    Returns:
        The trained learners, their learning curve and checkpoints.
    """
    settings = settings or LearnerSettings()
    if lifetimes < 1:
        raise ConfigError(f"learn: lifetimes={lifetimes} must be an integer >= 1")
    if evaluate_every < 0 or evaluate_lifetimes < 1:
        raise ConfigError("learn: evaluate_every must be >= 0 and evaluate_lifetimes >= 1")
    T = settings.lifetime
    evals = [k for k in range(1, lifetimes + 1) if evaluate_every and k % evaluate_every == 0]
    if not evals or evals[-1] != lifetimes:
        evals.append(lifetimes)
    total = (lifetimes + len(evals) * evaluate_lifetimes) * T
    params = learning_params(params, total)
    started = time.perf_counter()
    arena = Arena(params)
    initial = arena.run.state
    snapshot = {
        f.name: getattr(initial, f.name).copy()
        for f in fields(initial)
        if f.name != "traits" and getattr(initial, f.name) is not None
    }
    shape = initial.shape
    tr = initial.traits
    traits = {f.name: getattr(tr, f.name).reshape(-1).astype(np.float64) for f in fields(tr)}
    theta0 = initial.theta.reshape(-1).copy()
    learners = QLearners(traits["gamma"], settings)
    streams = _Streams(params.seed, params.replicates, params.n_agents)

    def reset():
        arena.run.state = replace(arena.run.state, **{k: v.copy() for k, v in snapshot.items()})

    curve = {k: np.zeros(lifetimes) for k in CURVE}
    checkpoints: list[Checkpoint] = []
    pending = None  # (s, comply, reward, theta after) of the last training round

    def run_lifetime(epsilon: float | None):
        """One lifetime; ``epsilon=None``: greedy, no learning. Returns its statistics."""
        nonlocal pending
        reset()
        stats = np.zeros((6, learners.n))  # n1, comply1, n0, comply0, af1, reward
        for _ in range(T):
            ep = arena.observe()
            theta = arena.run.state.theta
            s = learners.state(ep.cue, ep.aware, theta)
            if pending is not None:
                ps, pa, pr, ptheta = pending
                learners.update(ps, pa, pr, learners.state(ep.cue, ep.aware, ptheta))
                pending = None
            if epsilon is None:
                comply = learners.greedy(s)
            else:
                comply = learners.act(s, epsilon, streams.draw())
            conflict = (tr.nu * theta > tr.kappa).reshape(-1)
            _, reward = arena.step(comply.reshape(shape))
            if epsilon is not None:
                pending = (s, comply, reward, arena.run.state.theta.copy())
            cue = ep.cue.reshape(-1)
            stats[0] += cue
            stats[1] += cue & comply
            stats[2] += ~cue
            stats[3] += ~cue & comply
            stats[4] += cue & comply & conflict & ep.aware.reshape(-1)
            stats[5] += reward.reshape(-1)
        return stats

    def evaluate(k: int):
        stats = sum(run_lifetime(None) for _ in range(evaluate_lifetimes))
        checkpoints.append(checkpoint(k, stats, float(arena.run.state.theta.mean())))

    done = 0
    n_units = lifetimes + len(evals) * evaluate_lifetimes
    for k in range(lifetimes):
        eps = settings.epsilon(k)
        stats = run_lifetime(eps)
        start = start_policy(learners, theta0, traits["sigma"])
        gap = start.gap
        curve["epsilon"][k] = eps
        curve["gap"][k] = gap.mean()
        curve["gap_se"][k] = gap.std(ddof=1) / math.sqrt(gap.size) if gap.size > 1 else 0.0
        curve["p_observed"][k] = start.p_observed.mean()
        curve["p_unobserved"][k] = start.p_unobserved.mean()
        curve["reward"][k] = stats[5].mean() / T
        curve["end_theta"][k] = arena.run.state.theta.mean()
        done += 1
        if k + 1 in evals:
            evaluate(k + 1)
            done += evaluate_lifetimes
        if progress is not None:
            progress(done, n_units)
    optimum = None
    if _plain(params):
        tp = params.trainer
        optimum = optimal_policy(
            theta0, traits["sigma"], traits["gamma"], traits["nu"], traits["h"],
            traits["kappa"], tp.rho, tp.fidelity, tp.eta,
        )  # fmt: skip
    return Learned(
        params=params,
        settings=settings,
        learners=learners,
        theta0=theta0,
        traits=traits,
        curve=curve,
        checkpoints=checkpoints,
        optimum=optimum,
        seconds=time.perf_counter() - started,
        recorder=arena.run.recorder,
    )


__all__ = [
    "COMPLY",
    "CURVE",
    "LEARNER_STREAM",
    "OBSERVED",
    "REFUSE",
    "UNOBSERVED",
    "UNREAD",
    "Checkpoint",
    "Learned",
    "LearnerSettings",
    "Optimum",
    "QLearners",
    "StartPolicy",
    "learning_params",
    "lifetimes_to_reach",
    "optimal_policy",
    "start_policy",
    "train",
]
