"""The 2x2 inspection game inside the simulator: closed form, mapping, and play on the core.

The agent violates (refuses the request) or complies; the trainer inspects (audits the
episode) or not. In the classic game (Avenhaus, von Stengel and Zamir 2002) the
violator gains ``g`` when not inspected and loses ``f`` net when inspected, so it is
indifferent at the inspection probability

    p* = g / (g + f).

The simulator's random audits (``mitigation=[random_audits]``, disclosed) are this game
when nothing else is at stake (:func:`inspection_game`: ``trainer.rho = 0``,
``trainer.eta = 0``, ``retrain = 0``, fixed traits, ``phi = 1``). Then a conflicting
strategic agent that believes the audit rate ``a`` has (agents/planner.py)

    U(comply) - U(refuse) = kappa - h - g_sim + a P,     g_sim = nu theta > kappa,

so ``g = g_sim - kappa + h`` and ``f = P - g``, and it refuses with probability
``1 / (1 + exp(lam (a P - g)))``.

:func:`fictitious_play` runs trainer-versus-agent play on the simulator's core
(:func:`sim.core.transition`): the agents believe the trainer's empirical audit
frequency (``Oversight.audit_perceived``), and the trainer, which sees only its audits,
sets each round's true rate (``Oversight.audit``) as a smoothed best response to the
violation frequency found so far. :func:`commit` runs a committed (leader) rate through
:func:`sim.api.run`. Equations and results: docs/inspection.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from sim.config import load_params
from sim.core import K_UNIFORMS, transition
from sim.engine import make_game
from sim.errors import ConfigError
from sim.oversight import W_UNIFORMS, effective_params
from sim.params import RunParams, round_params
from sim.population import Fixed, Scaled, sample_population
from sim.rng import Component, RoundStreams
from sim.theory import logistic

GAME_OVERRIDES = (
    "scenario=alignment_faking_prompted",
    "mitigation=[random_audits]",
    "trainer.rho=0",
    "trainer.eta=0",
    "mitigation.random_audits.retrain=0",
    "population.sigma=1",
    "population.phi=1",
    "population.nu=1",
    "progress=false",
)
"""Overrides that meet every condition of :func:`inspection_game` but the agents' values."""


def game_overrides(*, theta, kappa, h, lam, penalty) -> list[str]:
    """The overrides of a homogeneous inspection game (``nu = 1``, so ``g = theta - kappa + h``)."""
    return [
        *GAME_OVERRIDES,
        f"population.theta={theta}",
        f"population.kappa={kappa}",
        f"population.h={h}",
        f"population.lam={lam}",
        f"mitigation.random_audits.penalty={penalty}",
    ]


def equilibrium_inspection(g, f):
    """The mixed-equilibrium inspection probability ``p* = g / (g + f)``.

    Args:
        g: the violator's gain when not inspected (> 0).
        f: the violator's net loss when inspected (> 0).

    Returns:
        ``p*`` (float64, broadcast over the arguments).
    """
    g, f = np.asarray(g, dtype=np.float64), np.asarray(f, dtype=np.float64)
    if np.any(g <= 0) or np.any(f <= 0):
        raise ValueError("the inspection game needs g > 0 and f > 0")
    return g / (g + f)


@dataclass(frozen=True)
class InspectionGame:
    """The inspection game of a homogeneous population under disclosed random audits.

    Attributes:
        g: the violator's gain when not inspected, ``nu theta - kappa + h``.
        f: its net loss when inspected, ``P - g`` (``P``: the audit penalty).
        lam: the agents' rationality (logit inverse temperature).
    """

    g: float
    f: float
    lam: float

    @property
    def penalty(self) -> float:
        """The audit penalty ``P = g + f``."""
        return self.g + self.f

    @property
    def p_star(self) -> float:
        """The equilibrium inspection probability ``g / (g + f)``."""
        return float(equilibrium_inspection(self.g, self.f))

    def violation(self, a):
        """P(refuse) of an agent that believes the audit rate ``a``: ``1/(1+exp(lam(aP-g)))``."""
        x = self.lam * (np.asarray(a, dtype=np.float64) * self.penalty - self.g)
        return 0.5 * (1.0 - np.tanh(0.5 * x))

    def deterrent_rate(self, target):
        """The audit rate at which ``violation`` equals ``target``: ``(g + ln(1/t - 1)/lam)/P``."""
        t = np.asarray(target, dtype=np.float64)
        return (self.g + np.log(1.0 / t - 1.0) / self.lam) / self.penalty


def _fixed(key: str, dist) -> float:
    if isinstance(dist, Scaled):
        return _fixed(key, dist.base) * dist.factor
    if not isinstance(dist, Fixed):
        raise ConfigError(f"population.{key} must be a fixed value for the inspection game")
    return dist.value


def inspection_game(params: RunParams) -> InspectionGame:
    """Map a run's parameters to the 2x2 inspection game (the code path is agents/planner.py).

    Raises:
        ConfigError: one line naming the first condition the run does not meet.
    """
    p = effective_params(params)
    audits, tr = p.mitigations.random_audits, p.trainer
    checks = (
        (p.mitigations.names == ("random_audits",), "needs mitigation=[random_audits] alone"),
        (audits is None or audits.disclosed, "needs mitigation.random_audits.disclosed=true"),
        (audits is None or audits.retrain == 0, "needs mitigation.random_audits.retrain=0"),
        (tr.rho == 0 and tr.eta == 0, "needs trainer.rho=0 and trainer.eta=0"),
        (p.prior in (None, 0.0), "needs population.prior=null"),
        (p.rule == "strategic" and not p.extended, "needs the strategic rule, conflicts only"),
    )
    for ok, need in checks:
        if not ok:
            raise ConfigError(f"the inspection game {need}")
    v = {k: _fixed(k, p.population[k]) for k in ("theta", "nu", "kappa", "h", "lam", "phi")}
    if v["phi"] != 1:
        raise ConfigError("the inspection game needs population.phi=1 (every agent strategic)")
    goal = v["nu"] * v["theta"]
    if not goal > v["kappa"]:
        raise ConfigError(f"nu*theta={goal:g} <= kappa={v['kappa']:g}: no agent would violate")
    g = goal - v["kappa"] + v["h"]
    if not audits.penalty > g:
        raise ConfigError(
            f"mitigation.random_audits.penalty={audits.penalty:g} must exceed the gain "
            f"g={g:g}: otherwise even a certain audit does not deter"
        )
    return InspectionGame(g=g, f=audits.penalty - g, lam=v["lam"])


def logit_equilibrium(game: InspectionGame, cost: float, loss: float, beta: float):
    """The rest point ``(a, v)`` of :func:`fictitious_play` for a homogeneous population.

    Solves ``a = logistic(beta (loss v - cost))`` (the trainer's smoothed best response)
    and ``v = game.violation(a)`` (the agents' logit response): a logit equilibrium.
    As ``lam P`` grows, ``a -> p*``; ``a - p* = ln((1 - v)/v) / (lam P)`` exactly.
    """

    def gap(v):
        return logistic(beta * (loss * v - cost)) - game.deterrent_rate(v)

    v = brentq(gap, 1e-15, 1.0 - 1e-15, xtol=1e-14)
    return float(logistic(beta * (loss * v - cost))), float(v)


@dataclass(frozen=True)
class Play:
    """The record of :func:`fictitious_play`, arrays of shape ``(R, T)`` (replicate, round).

    Attributes:
        audit: the trainer's audit rate in the round (its smoothed best response).
        frequency: the realised audit frequency: audits / episodes not openly observed.
        belief: the audit rate the agents believed (empirical frequency before the round).
        estimate: the trainer's violation estimate before the round (from its audits).
        violation: refusals / conflict episodes not openly observed.
    """

    audit: np.ndarray
    frequency: np.ndarray
    belief: np.ndarray
    estimate: np.ndarray
    violation: np.ndarray

    def time_average(self) -> np.ndarray:
        """Each replicate's time-averaged (realised) audit frequency over all rounds."""
        return self.frequency.mean(axis=1)


def fictitious_play(
    overrides: Sequence[str],
    cost: float,
    loss: float = 1.0,
    beta: float = 10.0,
    prior_audit: float = 0.0,
    prior_violation: float = 0.5,
) -> Play:
    """Trainer-versus-agent (stochastic) fictitious play, every round on the simulator's core.

    Per episode not openly observed, the trainer pays ``cost`` per audit and ``loss`` per
    undetected violation (a caught one costs it nothing more), so auditing at rate ``p``
    against violation frequency ``v`` pays ``-p cost - (1 - p) v loss``; the best
    response is to audit iff ``v > cost/loss`` (the agents' equilibrium violation rate),
    smoothed: ``p = logistic(beta (loss v - cost))``, with ``v`` the share of refusals
    among all the episodes it audited so far. The agents believe the trainer's empirical
    audit frequency so far (``Oversight.audit_perceived``) and decide by the run's rule in
    :func:`sim.core.transition`; the true rate is ``Oversight.audit``. Each side starts
    with one fictitious round at ``prior_audit`` and ``prior_violation``. The run's
    phases give the rounds; the other parameters (penalty, population, seed) are the
    run's. Replicate ``r`` uses the run's streams of replicate ``r`` (sim/rng.py), each
    with its own trainer.

    Args:
        overrides: Hydra overrides; they must select ``mitigation=[random_audits]`` (disclosed).
        cost: the trainer's cost per audit, ``0 < cost < loss``.
        loss: the trainer's loss per undetected violation.
        beta: the trainer's rationality (inverse temperature of its smoothed best response).
        prior_audit: the agents' initial belief of the audit rate.
        prior_violation: the trainer's initial estimate of the violation frequency.

    Raises:
        ConfigError: bad input (one line).
    """
    if not (0 < cost < loss and beta > 0 and 0 <= prior_audit <= 1 and 0 <= prior_violation <= 1):
        raise ConfigError("fictitious_play needs 0 < cost < loss, beta > 0 and priors in [0, 1]")
    params = effective_params(load_params(list(overrides))[1])
    ra = params.mitigations.random_audits
    if ra is None or not ra.disclosed or params.extended or params.trainer.rho >= 1:
        raise ConfigError(
            "fictitious_play needs mitigation=[random_audits] with disclosed=true, "
            "conflict requests only and trainer.rho < 1"
        )
    R, T = params.replicates, sum(ph.rounds for ph in params.phases)
    rec = np.zeros((5, R, T))
    for r in range(R):  # one trainer per replicate: its rates are scalars of the Oversight
        rec[:, r] = _play_replicate(params, r, cost, loss, beta, prior_audit, prior_violation)
    return Play(*rec)


def _play_replicate(params, r, cost, loss, beta, prior_audit, prior_violation) -> np.ndarray:
    N, seed = params.n_agents, params.seed
    state = sample_population(params.population, seed, 1, N, first_replicate=r)
    engine = RoundStreams(seed, 1, N, K_UNIFORMS, first_replicate=r)
    watch = RoundStreams(seed, 1, N, W_UNIFORMS, first_replicate=r, component=Component.OVERSIGHT)
    audits, unseen = prior_audit * N, float(N)  # the agents' count: one fictitious round
    caught, checked = prior_violation * N, float(N)  # the trainer's count
    out, t = np.zeros((5, sum(ph.rounds for ph in params.phases))), 0
    for phase in params.phases:
        game0 = make_game(params, phase, state)
        rp0 = round_params(params.trainer, params.prior, phase.train)
        for _ in range(phase.rounds):
            belief, estimate = audits / unseen, caught / checked
            p = float(logistic(beta * (loss * estimate - cost)))
            ov = replace(game0.oversight, audit=p, audit_perceived=belief)
            game = replace(game0, params=ov.round_params(rp0), oversight=ov).refresh(state)
            state, o = transition(state, game, engine.draw(), w=watch.draw())
            audited = o.watch.audited if o.watch.audited is not None else np.zeros_like(o.observed)
            refused = ~o.decision.comply
            hidden = ~(o.observed & ~audited)  # not openly observed
            n_audit, n_hidden = np.count_nonzero(audited), max(np.count_nonzero(hidden), 1)
            audits, unseen = audits + n_audit, unseen + n_hidden
            caught += np.count_nonzero(audited & refused)
            checked += n_audit
            v = np.count_nonzero(hidden & refused) / n_hidden
            out[:, t] = (p, n_audit / n_hidden, belief, estimate, v)
            t += 1
    return out


@dataclass(frozen=True)
class Commitment:
    """A committed (leader) audit rate just above and just below ``p*`` (:func:`commit`).

    Attributes:
        p_star: the equilibrium inspection probability of the run's game.
        eps: the distance of the committed rates from ``p_star``.
        above: ``unobserved_defection_rate`` summary ``{mean, ci_low, ci_high, n}`` at
            ``p* + eps``, read in the last phase.
        below: the same at ``p* - eps``.
        predicted_above: the closed-form violation probability at ``p* + eps``.
        predicted_below: the same at ``p* - eps``.
    """

    p_star: float
    eps: float
    above: dict
    below: dict
    predicted_above: float
    predicted_below: float


def commit(overrides: Sequence[str], eps: float = 0.05) -> Commitment:
    """Run a committed audit rate ``p* +- eps`` through :func:`sim.api.run` (random audits).

    Raises:
        ConfigError: the run is not an inspection game (:func:`inspection_game`), or
            ``p* +- eps`` is outside [0, 1].
    """
    from sim.api import run

    game = inspection_game(load_params(list(overrides))[1])
    p = game.p_star
    if not (0 < eps and 0 <= p - eps and p + eps <= 1):
        raise ConfigError(f"p*={p:g} +- eps={eps:g} must stay inside [0, 1]")
    out = {}
    for side, rate in (("above", p + eps), ("below", p - eps)):
        res = run([*overrides, f"mitigation.random_audits.rate={rate!r}"])
        out[side] = res.metrics[res.phases[-1]]["unobserved_defection_rate"]
    return Commitment(
        p, eps, out["above"], out["below"],
        float(game.violation(p + eps)), float(game.violation(p - eps)),
    )  # fmt: skip


__all__ = [
    "Commitment",
    "InspectionGame",
    "Play",
    "commit",
    "equilibrium_inspection",
    "fictitious_play",
    "inspection_game",
    "game_overrides",
    "logit_equilibrium",
]
