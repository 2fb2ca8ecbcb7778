"""The run loop: phases of rounds over all replicates at once, recorded.

:class:`Run` is the stateful shell around :func:`sim.core.transition`: it owns the
state, the run's random streams and the recorder, and plays one round per
:meth:`Run.step`. :func:`simulate` (the Hydra app and the Python API) and the Mesa
model drive the same class, so they give the same rounds, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

import sim.oversight as oversight
from agents.base import Outlook
from agents.monitors import MONITORS
from agents.registry import get_rule, get_trainer
from sim.core import K_UNIFORMS, Game, Outcome, loss_rate, transition
from sim.episode_types import plugin_kinds, type_names
from sim.episodes import V_UNIFORMS, Repertoire, SubsetStreams
from sim.oversight import W_UNIFORMS, Oversight, effective_params
from sim.params import (
    PhaseSpec,
    RoundParams,
    RunParams,
    round_params,
    stack_round_params,
)
from sim.population import respawn, sample_population
from sim.recorder import Costs, Recorder
from sim.rng import Component, RoundStreams, generator
from sim.selection import (
    Generation,
    SelectionStreams,
    initial_counts,
    reset_counts,
    select,
    update_counts,
)
from sim.state import CHANGING, TRAIT_NAMES, State


@dataclass(frozen=True)
class Simulation:
    """The raw outcome of :func:`simulate`: recorded counts and the final state.

    ``generations`` holds what each generation boundary did (runs with selection only).
    """

    params: RunParams
    recorder: Recorder
    final_state: State
    generations: tuple[Generation, ...] = ()


def make_game(
    params: RunParams, phase: PhaseSpec, state: State, points: tuple[RunParams, ...] | None = None
) -> Game:
    """The fixed part of every round of ``phase`` (``params`` after :func:`effective_params`).

    ``points``: a grid run's points (each after :func:`effective_params`), whose round
    parameters are stacked (:func:`sim.params.stack_round_params`).
    """
    probe = not phase.oversight  # a deployment probe: the trainer and its mitigations withdrawn
    each_ov = (
        None if points is None else [Oversight.from_mitigations(p.mitigations) for p in points]
    )
    ov = None if probe else design(params, points, each_ov)

    def one(p: RunParams, ov: Oversight | None):
        if probe:  # nothing observed, and every agent believes it (prior 0)
            return round_params(replace(p.trainer, rho=0.0), 0.0, phase.train)
        rp = round_params(p.trainer, p.prior, phase.train)
        return rp if ov is None else ov.round_params(rp)

    if points is None:
        rp = one(params, ov)
    else:  # each point's round under its own design, then stacked
        each = [one(p, o) for p, o in zip(points, each_ov, strict=True)]
        rp = stack_round_params(each, params.replicates)
    rule = get_rule(params.rule)
    look = outlook(params, phase, rp, ov)
    game = Game(
        rule=rule,
        trainer=get_trainer(params.trainer.policy),
        params=rp,
        loss_rate=loss_rate(state, rp),
        repertoire=Repertoire.for_phase(phase, params.episodes) if params.extended else None,
        oversight=ov,
        outlook=look,
        plan=rule.plan(state.traits, look),
    )
    return game if ov is None else game.refresh(state)


def outlook(
    params: RunParams, phase: PhaseSpec, rp: RoundParams, ov: Oversight | None = None
) -> Outlook:
    """The phase as the agents know it (:class:`agents.base.Outlook`): what a rule plans on."""
    mitigations = params.mitigations
    disclosed = {
        name: m
        for name in mitigations.names
        if phase.oversight and getattr(m := getattr(mitigations, name), "disclosed", False)
    }
    return Outlook(
        rho=rp.rho if rp.rho_perceived is None else rp.rho_perceived,
        fidelity=rp.fidelity,
        eta=rp.eta,
        eta_phi=rp.eta_phi,
        prior=rp.prior,
        belief=rp.belief_table,
        train=phase.train,
        rounds=phase.rounds,
        mix={k: float(w) for k, w in zip(type_names(), phase.mix, strict=False) if w > 0},
        trainer=params.trainer.policy,
        allocation=params.trainer.allocation,
        episodes=params.episodes,
        disclosed=disclosed,
        audits=_audits(ov),
        honeypot=0.0 if ov is None else float(ov.honeypot_perceived),
    )


def design(
    params: RunParams, points: tuple[RunParams, ...] | None = None, each: list | None = None
) -> Oversight | None:
    """The in-round constants of a run's design, or of a grid run's points (stacked).

    ``each``: the points' own designs, when the caller has made them already.
    """
    if points is None:
        return Oversight.from_mitigations(params.mitigations)
    if each is None:
        each = [Oversight.from_mitigations(p.mitigations) for p in points]
    return Oversight.stack(each, params.replicates)


def _audits(ov: Oversight | None):
    """The disclosed audits ``(rate, penalty, retrain)`` the agents plan on, or None.

    Floats; in a grid run whose points differ in them, float64 columns, with the penalty
    and retraining 0 in the rows without disclosed audits (those rows plan as a run
    without them: :mod:`agents.exact` solves one table per distinct row).
    """
    if ov is None or not np.any(ov.audit_perceived):
        return None
    a = ov.audit_perceived
    if np.ndim(a) == 0:
        return float(a), float(ov.audit_penalty), float(ov.audit_retrain)
    on = np.asarray(a) > 0
    return a, np.where(on, ov.audit_penalty, 0.0), np.where(on, ov.audit_retrain, 0.0)


class Run:
    """One run, round by round: the state, the streams and the recorder of ``params``.

    Args:
        params: validated run parameters (mitigations are applied here).
        trace: also keep every decision (see :meth:`Recorder.decisions`).
        rule: a decision rule instance to use instead of ``params.rule`` (the
            environments pass one that plays the learners' actions).
        points: a grid run (:mod:`sim.grid`): the parameters of each point, which differ
            from ``params`` only in trait distributions and the trainer's rates. The
            points are simulated together as ``len(points) * R`` rows; row ``g * R + r`` is
            replicate ``r`` of point ``g``, with that replicate's streams, so each point's
            rows are the single run of that point, bit for bit.

    Attributes:
        params: the effective parameters.
        state: the population's state before the next round.
        t: rounds played so far.
        recorder: every round's aggregates.
        game: the current phase's fixed part (None before the first round).
        generations: what each generation boundary did (:mod:`sim.selection`; empty
            without selection).
    """

    def __init__(
        self,
        params: RunParams,
        trace: bool = False,
        rule=None,
        points: tuple[RunParams, ...] | None = None,
    ):
        params = effective_params(params)
        self.params = params
        self.rule = rule
        R, N, seed = params.replicates, params.n_agents, params.seed
        self.points = None if points is None else tuple(effective_params(p) for p in points)
        C = 1 if points is None else len(points)
        if self.points is None:
            state = sample_population(params.population, seed, R, N)
        else:
            states = [sample_population(p.population, seed, R, N) for p in self.points]
            state = State.from_traits(
                {k: np.concatenate([_trait(s, k) for s in states]) for k in TRAIT_NAMES}
            )
        self.streams = RoundStreams(seed, R, N, K_UNIFORMS, tile=C)
        ov = design(params, self.points)
        self.watch = None  # the oversight uniforms, only if an in-round mitigation draws
        if ov is not None and ov.draws:
            self.watch = RoundStreams(seed, R, N, W_UNIFORMS, component=Component.OVERSIGHT, tile=C)
        state = oversight.start(state, ov)
        self.extra = self.fresh = self.subsets = None
        self.populations = (
            [params.population]
            if self.points is None
            else [p.population for p in self.points for _ in range(R)]
        )  # each row's trait distributions (a successor's draws)
        if params.extended:  # the repertoire's own streams: the conflict draws stay as they were
            self.extra = RoundStreams(
                seed, R, N, V_UNIFORMS, component=Component.REPERTOIRE, tile=C
            )
            self.fresh = [
                generator(seed, r, Component.REPLACEMENT) for _ in range(C) for r in range(R)
            ]
            self.subsets = SubsetStreams.create(seed, R, tile=C)
        self.monitor = None  # the trainer's allocation rule, unless it is the identity
        tp = params.trainer
        if not MONITORS[tp.allocation].identity:
            self.monitor = MONITORS[tp.allocation](tp.signal, tp.decay, tp.boost, tp.explore)
            state = replace(state, monitor=self.monitor.initial(state.shape))
        self.selector = None  # the selection streams, only in a run with generations
        self.generations: list[Generation] = []
        if params.selection.enabled:
            self.selector = SelectionStreams.create(seed, R)
            state = replace(state, seen=initial_counts(state))
        self.state = state
        self.total = sum(p.rounds for p in params.phases)
        self.ends = np.cumsum([p.rounds for p in params.phases])
        if self.points is not None and (self.monitor or self.selector):
            raise ValueError("a grid run stacks no allocation rule or selection (sim.grid checks)")
        self.recorder = Recorder(
            C * R, N, self.total, trace=trace, episodes=params.episodes,
            costs=Costs.of(params.mitigations), kinds=plugin_kinds(params.phases),
        )  # fmt: skip
        self.t = 0
        self.game: Game | None = None
        self._phase_index = -1

    @property
    def done(self) -> bool:
        """Whether every round of every phase has been played."""
        return self.t >= self.total

    @property
    def phase(self) -> PhaseSpec:
        """The phase of the next round (the last phase once done)."""
        i = min(int(np.searchsorted(self.ends, self.t, side="right")), len(self.ends) - 1)
        return self.params.phases[i]

    def draws(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Draw the next round's uniforms ``(u, v, w)`` from the run's streams (in order)."""
        w = None if self.watch is None else self.watch.draw()
        u = self.streams.draw()
        v = None if self.extra is None else self.extra.draw()
        return u, v, w

    def prepare(self) -> Game:
        """The game of the next round (a new phase starts a new game)."""
        if self.done:
            raise RuntimeError(f"the run is over: all {self.total} rounds were played")
        i = int(np.searchsorted(self.ends, self.t, side="right"))
        if i != self._phase_index:
            self._phase_index = i
            self.game = make_game(self.params, self.params.phases[i], self.state, self.points)
            if self.rule is not None:
                self.game = self.game.with_rule(self.rule, self.state)
        return self.game

    def rates(self) -> np.ndarray | None:
        """The next round's per-agent observation probabilities under the allocation rule.

        None when everyone is observed with ``rho`` (no rule, or one that moves only audits).
        """
        if self.monitor is None or self.params.trainer.target == "audits":
            return None
        return self.monitor.rates(self.state.monitor, self.prepare().params.rho)

    def audit_rates(self) -> np.ndarray | None:
        """The next round's per-agent audit probabilities under the allocation rule, or None."""
        ov = self.prepare().oversight
        if self.monitor is None or self.params.trainer.target == "observation":
            return None
        if ov is None or not np.any(ov.audit):
            return None
        return self.monitor.rates(self.state.monitor, ov.audit)

    def step(self, draws=None, rates=None) -> Outcome:
        """Play, record and return one round.

        Args:
            draws: the round's uniforms ``(u, v, w)`` if already drawn with :meth:`draws`
                (the environments draw them first, to show the agents their cues).
            rates: per-agent observation probabilities for this round (a trainer player's
                allocation); None uses the configured allocation rule.
        """
        game = self.prepare()
        rates = self.rates() if rates is None else rates
        if rates is not None:
            game = replace(game, rates=np.asarray(rates, dtype=np.float32))
        audit_rates = self.audit_rates()
        if audit_rates is not None:
            game = replace(game, audit_rates=audit_rates)
        u, v, w = self.draws() if draws is None else draws
        state = self.state
        new_state, outcome = transition(state, game, u, v, self.subsets, w)
        self.recorder.record(self.t, state, outcome)
        conflict = True if outcome.etype is None else outcome.etype == 0
        if self.monitor is not None:
            memory = self.monitor.learn(
                state.monitor, outcome.observed, outcome.episode.cue, outcome.decision.comply,
                conflict,
            )  # fmt: skip
            new_state = replace(new_state, monitor=memory)
        if self.selector is not None:  # the trainer's record of the generation
            seen = update_counts(
                new_state.seen, outcome.observed, outcome.decision.comply, conflict
            )
            new_state = replace(new_state, seen=seen)
        if outcome.replaced is not None and outcome.replaced.size:
            dists = self.populations if self.points is not None else self.params.population
            new_state = respawn(new_state, outcome.replaced, dists, self.fresh)
            self.game = self.game.refresh(new_state)  # the phase's game, not this round's rates
        if self.selector is not None and (self.t + 1) % self.params.selection.every == 0:
            new_state = self._end_generation(new_state, game.params.train)
        self.state = new_state
        self.t += 1
        return outcome

    def _end_generation(self, state: State, train: bool) -> State:
        """Selection after a generation's last round (in a training phase); a fresh record."""
        info = Generation.none(state.shape[0])
        if train:
            state, info = select(state, self.params.selection, self.selector)
            self.game = self.game.refresh(state)
        self.generations.append(info)
        return reset_counts(state)


def _trait(state: State, name: str) -> np.ndarray:
    return getattr(state, name) if name in CHANGING else getattr(state.traits, name)


def simulate(params: RunParams, progress: bool = False, trace: bool = False) -> Simulation:
    """Run every phase of ``params`` for all replicates.

    Args:
        params: validated run parameters.
        progress: show a progress bar (on stderr) over rounds.
        trace: also keep every decision (see :meth:`Recorder.decisions`).

    Returns:
        The recorder with every round's aggregates and the final state.
    """
    run = Run(params, trace=trace)
    with tqdm(total=run.total, disable=not progress, unit="round", leave=False) as bar:
        while not run.done:
            bar.set_description(run.phase.name, refresh=False)
            run.step()
            bar.update()
    return Simulation(
        params=run.params, recorder=run.recorder, final_state=run.state,
        generations=tuple(run.generations),
    )  # fmt: skip


__all__ = ["Run", "Simulation", "make_game", "simulate"]
