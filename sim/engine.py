"""The run loop: phases of rounds over all replicates at once, recorded.

This is the stateful shell around :func:`sim.core.transition` that the Hydra app
and the Python API use; other front ends drive the same core.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from agents.registry import get_rule, get_trainer
from sim.core import K_UNIFORMS, Game, loss_rate, transition
from sim.episodes import V_UNIFORMS, Repertoire, SubsetStreams
from sim.oversight import W_UNIFORMS, Oversight, effective_params
from sim.params import PhaseSpec, RunParams, round_params
from sim.population import respawn, sample_population
from sim.recorder import Costs, Recorder
from sim.rng import Component, RoundStreams, generator
from sim.state import State


@dataclass(frozen=True)
class Simulation:
    """The raw outcome of :func:`simulate`: recorded counts and the final state."""

    params: RunParams
    recorder: Recorder
    final_state: State


def make_game(params: RunParams, phase: PhaseSpec, state: State) -> Game:
    """The fixed part of every round of ``phase`` (``params`` after :func:`effective_params`)."""
    rp = round_params(params.trainer, params.prior, phase.train)
    ov = Oversight.from_mitigations(params.mitigations)
    if ov is not None:
        rp = ov.round_params(rp)
    game = Game(
        rule=get_rule(params.rule),
        trainer=get_trainer(params.trainer.policy),
        params=rp,
        loss_rate=loss_rate(state, rp),
        repertoire=Repertoire.for_phase(phase, params.episodes) if params.extended else None,
        oversight=ov,
    )
    return game if ov is None else game.refresh(state)


def simulate(params: RunParams, progress: bool = False, trace: bool = False) -> Simulation:
    """Run every phase of ``params`` for all replicates.

    Args:
        params: validated run parameters.
        progress: show a progress bar (on stderr) over rounds.
        trace: also keep every decision (see :meth:`Recorder.decisions`).

    Returns:
        The recorder with every round's aggregates and the final state.
    """
    params = effective_params(params)
    state = sample_population(params.population, params.seed, params.replicates, params.n_agents)
    R, N = params.replicates, params.n_agents
    streams = RoundStreams(params.seed, R, N, K_UNIFORMS)
    ov = Oversight.from_mitigations(params.mitigations)
    watch = None  # the oversight uniforms, only if an in-round mitigation draws
    if ov is not None and ov.draws:
        watch = RoundStreams(params.seed, R, N, W_UNIFORMS, component=Component.OVERSIGHT)
    if ov is not None and ov.boost is not None:
        state = replace(state, suspicion=np.zeros(state.shape, dtype=np.float32))
    extra = None
    if params.extended:  # the repertoire's own streams: the conflict draws stay as they were
        extra = RoundStreams(params.seed, R, N, V_UNIFORMS, component=Component.REPERTOIRE)
        fresh = [generator(params.seed, r, Component.REPLACEMENT) for r in range(R)]
        subsets = SubsetStreams.create(params.seed, R)
    total = sum(p.rounds for p in params.phases)
    rec = Recorder(
        R, N, total, trace=trace, questions=params.episodes.evaluation.questions,
        costs=Costs.of(params.mitigations),
    )  # fmt: skip
    t = 0
    with tqdm(total=total, disable=not progress, unit="round", leave=False) as bar:
        for phase in params.phases:
            game = make_game(params, phase, state)
            bar.set_description(phase.name)
            for _ in range(phase.rounds):
                w = None if watch is None else watch.draw()
                if extra is None:
                    new_state, outcome = transition(state, game, streams.draw(), w=w)
                else:
                    u, v = streams.draw(), extra.draw()
                    new_state, outcome = transition(state, game, u, v, subsets, w)
                rec.record(t, state, outcome)
                if outcome.replaced is not None and outcome.replaced.size:
                    new_state = respawn(new_state, outcome.replaced, params.population, fresh)
                    game = game.refresh(new_state)
                state = new_state
                t += 1
                bar.update()
    return Simulation(params=params, recorder=rec, final_state=state)


__all__ = ["Simulation", "make_game", "simulate"]
