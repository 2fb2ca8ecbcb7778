"""The run loop: phases of rounds over all replicates at once, recorded.

This is the stateful shell around :func:`sim.core.transition` that the Hydra app
and the Python API use; other front ends drive the same core.
"""

from __future__ import annotations

from dataclasses import dataclass

from tqdm.auto import tqdm

from agents.registry import get_rule, get_trainer
from sim.core import K_UNIFORMS, Game, loss_rate, transition
from sim.params import PhaseSpec, RunParams, round_params
from sim.population import sample_population
from sim.recorder import Recorder
from sim.rng import RoundStreams
from sim.state import State


@dataclass(frozen=True)
class Simulation:
    """The raw outcome of :func:`simulate`: recorded counts and the final state."""

    params: RunParams
    recorder: Recorder
    final_state: State


def make_game(params: RunParams, phase: PhaseSpec, state: State) -> Game:
    """The fixed part of every round of ``phase``."""
    rp = round_params(params.trainer, params.prior, phase.train)
    return Game(
        rule=get_rule(params.rule),
        trainer=get_trainer(params.trainer.policy),
        params=rp,
        loss_rate=loss_rate(state, rp),
    )


def simulate(params: RunParams, progress: bool = False, trace: bool = False) -> Simulation:
    """Run every phase of ``params`` for all replicates.

    Args:
        params: validated run parameters.
        progress: show a progress bar (on stderr) over rounds.
        trace: also keep every decision (see :meth:`Recorder.decisions`).

    Returns:
        The recorder with every round's aggregates and the final state.
    """
    state = sample_population(params.population, params.seed, params.replicates, params.n_agents)
    streams = RoundStreams(params.seed, params.replicates, params.n_agents, K_UNIFORMS)
    total = sum(p.rounds for p in params.phases)
    rec = Recorder(params.replicates, params.n_agents, total, trace=trace)
    t = 0
    with tqdm(total=total, disable=not progress, unit="round", leave=False) as bar:
        for phase in params.phases:
            game = make_game(params, phase, state)
            bar.set_description(phase.name)
            for _ in range(phase.rounds):
                new_state, outcome = transition(state, game, streams.draw())
                rec.record(t, state, outcome)
                state = new_state
                t += 1
                bar.update()
    return Simulation(params=params, recorder=rec, final_state=state)


__all__ = ["Simulation", "make_game", "simulate"]
