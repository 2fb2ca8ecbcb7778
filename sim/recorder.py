"""The recorder: per-round aggregates of every replicate, kept in one preallocated array.

Each round adds one column of counts and sums per replicate (no per-agent
records on the hot path). :mod:`sim.metrics` turns them into the per-round
table and the per-phase metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from agents.base import Reason
from sim.core import Outcome
from sim.params import PhaseSpec, phase_of_round
from sim.state import State

STATS = (
    "n_cue_observed",  # episodes whose cue said "observed" (z = 1)
    "comply_cue_observed",
    "comply_cue_unobserved",
    "af_cue_observed",  # alignment-faking reasoning among z = 1 episodes
    "n_observed",  # episodes the trainer actually observed (m = 1)
    "comply_observed",
    "n_pref_aligned",  # agents with nu*theta <= kappa at the start of the round
    "sum_theta",
    "sum_phi",
    "reason_goal",
    "reason_helpful",
    "reason_training",
    "reason_noise",
    "reason_scripted",
)
"""The per-round, per-replicate statistics, in storage order."""
_IDX = {name: i for i, name in enumerate(STATS)}


class Recorder:
    """Accumulates :data:`STATS` for every replicate and round.

    Args:
        replicates: R.
        n_agents: N.
        total_rounds: number of rounds over all phases.
    """

    def __init__(self, replicates: int, n_agents: int, total_rounds: int, trace: bool = False):
        self.n_agents = n_agents
        self.data = np.zeros((len(STATS), replicates, total_rounds), dtype=np.float64)
        self.trace: list[dict[str, np.ndarray]] | None = [] if trace else None

    def record(self, t: int, state: State, out: Outcome) -> None:
        """Record round ``t``: ``state`` is the state the agents acted under."""
        d, ep, dec = self.data, out.episode, out.decision
        count = np.count_nonzero
        comply = dec.comply
        comply_cue = comply & ep.cue
        d[0, :, t] = count(ep.cue, axis=1)
        d[1, :, t] = count(comply_cue, axis=1)
        d[2, :, t] = count(comply, axis=1) - d[1, :, t]
        d[3, :, t] = count(dec.faked & ep.aware & ep.cue, axis=1)
        d[4, :, t] = count(out.observed, axis=1)
        d[5, :, t] = count(comply & out.observed, axis=1)
        tr = state.traits
        d[6, :, t] = count(tr.nu * state.theta <= tr.kappa, axis=1)
        d[7, :, t] = state.theta.sum(axis=1, dtype=np.float64)
        d[8, :, t] = state.phi.sum(axis=1, dtype=np.float64)
        for i, reason in enumerate(Reason):
            d[9 + i, :, t] = count(dec.reason == reason, axis=1)
        if self.trace is not None:
            self.trace.append(
                {
                    "observed": out.observed.copy(),
                    "cue": ep.cue.copy(),
                    "aware": ep.aware.copy(),
                    "strategic": ep.strategic.copy(),
                    "belief": ep.belief.copy(),
                    "comply": comply.copy(),
                    "reason": dec.reason.copy(),
                    "theta": state.theta.copy(),
                    "phi": state.phi.copy(),
                }
            )

    def decisions(self, phases: Sequence[PhaseSpec]) -> pd.DataFrame:
        """The per-decision trace (the "scratchpad"): one row per replicate, round and agent.

        Columns: replicate, round, phase, agent, observed (m), cue (z), aware, strategic,
        belief (b), comply, reason (a category of :class:`agents.base.Reason` names), and the
        agent's theta and phi when it decided. ``strategic`` is the episode's draw
        ``u < phi``; the myopic rule ignores it.
        """
        if not self.trace:
            raise ValueError("no trace was recorded (set trace=true)")
        rounds = len(self.trace)
        reps, n = self.trace[0]["comply"].shape
        # (round, replicate, agent) -> rows ordered by replicate, round, agent
        stacked = {k: np.stack([t[k] for t in self.trace]).transpose(1, 0, 2).ravel()
                   for k in self.trace[0]}  # fmt: skip
        names = [r.name for r in Reason]
        cols = {
            "replicate": np.repeat(np.arange(reps, dtype=np.int32), rounds * n),
            "round": np.tile(np.repeat(np.arange(rounds, dtype=np.int32), n), reps),
            "phase": pd.Categorical.from_codes(
                np.tile(np.repeat(phase_of_round(phases), n), reps),
                categories=[p.name for p in phases],
            ),
            "agent": np.tile(np.arange(n, dtype=np.int32), reps * rounds),
        }
        for k, v in stacked.items():
            cols[k] = pd.Categorical.from_codes(v, categories=names) if k == "reason" else v
        return pd.DataFrame(cols)

    def stat(self, name: str) -> np.ndarray:
        """The ``(R, T)`` array of one statistic."""
        return self.data[_IDX[name]]
