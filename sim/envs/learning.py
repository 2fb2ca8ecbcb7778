"""Training the Q-learners of :mod:`agents.learners` through the arena: the learning run.

Each of ``L = R * N`` learners plays one agent of an :class:`sim.envs.arena.Arena` with
conflict requests in one training phase, cut into lifetimes (docs/learners.md and
:mod:`agents.learners` for the state, the update and the exploration). The learners'
draws come from the replicate's own stream ``(seed, replicate, LEARNER_STREAM)``: two
float32 uniforms per agent in every training round (explore or not, and the random
action), so the run's own streams are never shifted. :func:`train` returns
:class:`Learned`, with the exact optimum of each learner's game
(:func:`agents.optimum.optimal_policy`) where the game is the plain one it solves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np

from agents.learners import K_DRAWS, LearnerSettings, QLearners, StartPolicy, start_policy
from agents.learning_measures import CURVE, Checkpoint, checkpoint, lifetimes_to_reach
from agents.optimum import OBSERVED, UNOBSERVED, UNREAD, Optimum, optimal_policy
from sim.envs.arena import Arena
from sim.errors import ConfigError
from sim.params import CONFLICT_ONLY, PhaseSpec, RunParams
from sim.recorder import Recorder
from sim.rng import Component, generator

LEARNER_STREAM = Component.LEARNER
"""Component of the learners' random streams (:mod:`sim.rng`)."""


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
    "CURVE",
    "LEARNER_STREAM",
    "Checkpoint",
    "Learned",
    "learning_params",
    "lifetimes_to_reach",
    "train",
]
