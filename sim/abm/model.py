"""The Mesa 3 model: a thin adapter over :class:`sim.engine.Run`, one replicate.

``SimModel.step()`` plays one round of every agent with one call of the core
(:meth:`sim.engine.Run.step`); the agents are views of the core's arrays
(:mod:`sim.abm.agents`). The DataCollector's model reporters read round ``t``'s column of
the run's recorder through :func:`sim.metrics.rates`, computed once per round, so
``SimModel(seed=s)`` reports exactly what ``simulate`` records for replicate 0 of the
same config with ``seed=s`` and ``replicates=1``. docs/mesa.md is the user page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.abm.agents import AIAgent, TrainerAgent
from sim.abm.keywords import RESERVED, name_keyword, to_overrides
from sim.config import load_params
from sim.engine import Run
from sim.errors import ConfigError
from sim.metrics import RATES, rates, rounds_table
from sim.params import PhaseSpec, phase_of_round

COUNTS = (
    "n_cue_observed",
    "comply_cue_observed",
    "comply_cue_unobserved",
    "af_cue_observed",
    "n_observed",
    "comply_observed",
    "n_conflict",
    "n_replaced",
)
"""The recorder's counts reported each round next to the rates (see :data:`sim.recorder.STATS`)."""
REPORTED = ("round", "phase", *RATES, *COUNTS, "seed")
"""The model reporters' names, in DataCollector order."""
SEED_BOUND = int(np.iinfo(np.int64).max)
"""A seed derived from ``model.rng`` is drawn uniformly from ``[0, SEED_BOUND)``."""
GIB = 2**30
MESA_BYTES_PER_AGENT = 1024
"""Peak bytes per AI agent of a model, its construction and rounds (measured 545-643).

The peak resident memory (``ru_maxrss``) of ``SimModel(n_agents=200_000)`` and three
rounds grew by 620 bytes per agent in ``alignment_faking`` and 643 in ``scheming_mix``;
``tracemalloc`` peaks at 20,000 and 80,000 agents were 545-594. Most of it is the
``mesa.Agent`` views (one Python object per agent) and the core's arrays.
"""
TRACE_BYTES_PER_DECISION = 32
"""Bytes per decision of ``trace=true`` while the model runs (measured 19 at 20,000 agents)."""


def _report(model: SimModel, key: str):
    return model.metrics[key]


def model_reporters() -> dict[str, partial]:
    """The default model reporters: every name of :data:`REPORTED`, read from ``model.metrics``."""
    return {name: partial(_report, key=name) for name in REPORTED}


class SimModel(mesa.Model):
    """The simulator as a Mesa model: one replicate of a configured run.

    Example:
        >>> model = SimModel(n_agents=100, seed=1, trainer__rho=0.3)
        >>> model.run_model()  # until the run's phases are done
        >>> model.datacollector.get_model_vars_dataframe()  # one row per round

    Args:
        scenario: the scenario preset (``configs/scenario/``); None keeps the config default.
        n_agents: number of AI agents N.
        seed: the run's seed (an integer >= 0), given to Mesa as well. The run plays
            exactly replicate 0 of ``simulate`` with this seed and ``replicates=1``.
        rng: given to Mesa instead of ``seed``; the run's seed is then drawn from
            ``self.rng`` (uniform on ``[0, SEED_BOUND)``, also when neither is given) and
            stored in :attr:`seed`, so ``SimModel(seed=model.seed, ...)`` replays the run.
        overrides: Hydra override strings (``"trainer.rho=0.3"``), applied last.
        agent_reporters: Mesa agent reporters to collect every round (default none: they
            loop over every agent; see :data:`sim.abm.agents.AGENT_REPORTERS`).
        max_memory_gib: the most memory the model may need, in GiB: a larger run is
            refused before anything is allocated (estimate: :data:`MESA_BYTES_PER_AGENT`
            per agent, :data:`TRACE_BYTES_PER_DECISION` per decision of a trace).
        **params: config keys with ``__`` for dots (``trainer__rho=0.3``,
            ``population__sigma=0``, ``phases__rl__rounds=50``, ``mitigations=[...]``),
            each taken literally as one override (:mod:`sim.abm.keywords`).

    Raises:
        ConfigError: a bad key or value, one line naming the key (nothing is built).

    Attributes:
        seed: the run's seed.
        run: the engine's :class:`~sim.engine.Run` (its ``state`` has shape ``(1, N)``).
        params: the run's effective parameters.
        config: the composed config.
        outcome: the last round's :class:`~sim.core.Outcome` (None before round 0).
        generation: replacements per row (int ``(N,)``).
        ai_agents: the AI agents, by row.
        trainer: the trainer agent.
        datacollector: model reporters :data:`REPORTED`, collected after every round
            (row ``t`` of the model-vars table is round ``t``).
    """

    def __init__(
        self,
        scenario: str | None = "alignment_faking",
        n_agents: int = 100,
        seed: int | None = None,
        rng: Any = None,
        overrides: Sequence[str] = (),
        agent_reporters: Mapping[str, Any] | None = None,
        max_memory_gib: float = 4.0,
        **params: Any,
    ):
        if isinstance(seed, np.integer):
            seed = int(seed)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigError(f"seed={seed!r} must be an integer >= 0")
        limit = _max_memory(max_memory_gib)
        strings = to_overrides(scenario, n_agents, overrides, params)
        if n_agents is not None:  # before the config's own size checks see it
            _check_memory(int(n_agents), 0, False, limit)
        super().__init__(seed=seed, rng=rng)
        if seed is None:
            seed = int(self.rng.integers(SEED_BOUND))
        try:
            cfg, run_params = load_params([*strings, "replicates=1", f"seed={seed}"])
        except ConfigError as err:
            raise ConfigError(name_keyword(str(err), params)) from err
        rounds = sum(p.rounds for p in run_params.phases)
        _check_memory(run_params.n_agents, rounds, bool(cfg.trace), limit)
        self.seed: int = seed
        self.config = cfg
        self.run = Run(run_params, trace=bool(cfg.trace))
        self.params = self.run.params
        n = self.params.n_agents
        self.outcome = None
        self.generation = np.zeros(n, dtype=np.int64)
        self._round_phase = phase_of_round(self.params.phases)
        self._metrics: dict[str, Any] = {}
        self._metrics_round = -1
        self.ai_agents: tuple[AIAgent, ...] = tuple(AIAgent(self, i) for i in range(n))
        self.trainer = TrainerAgent(self)
        self.datacollector = mesa.DataCollector(
            model_reporters=model_reporters(), agent_reporters=dict(agent_reporters or {})
        )
        self.running = not self.run.done

    def step(self) -> None:
        """Play one round of every agent (one call of the core), then collect.

        Raises:
            RuntimeError: the run's phases are done (:attr:`running` is False).
        """
        out = self.run.step()
        self.outcome = out
        if out.replaced is not None and out.replaced.size:
            np.add.at(self.generation, out.replaced, 1)  # flat index = row, with R = 1
        self.running = not self.run.done
        self.datacollector.collect(self)

    @property
    def round(self) -> int:
        """The last round played (-1 before the first)."""
        return self.run.t - 1

    @property
    def phase_spec(self) -> PhaseSpec:
        """The last round's phase (the first phase before round 0)."""
        return self.params.phases[self._round_phase[max(self.round, 0)]]

    @property
    def phase(self) -> str:
        """The last round's phase name (the first phase before round 0)."""
        return self.phase_spec.name

    @property
    def metrics(self) -> dict[str, Any]:
        """The last round's reported values (:data:`REPORTED`); empty before round 0.

        Rates are :func:`sim.metrics.rates` of the recorder's column for the round (NaN
        where undefined), computed once per round.
        """
        t = self.round
        if t < 0:
            return {}
        if t != self._metrics_round:
            rec = self.run.recorder
            values = rates(rec, slice(t, t + 1), axis=None)
            m: dict[str, Any] = {"round": t, "phase": self.phase}
            m.update((k, float(values[k][0, 0])) for k in RATES)
            m.update((k, int(rec.stat(k)[0, t])) for k in COUNTS)
            m["seed"] = self.seed
            self._metrics, self._metrics_round = m, t
        return self._metrics

    def rounds_table(self) -> pd.DataFrame:
        """The engine's per-round table (:func:`sim.metrics.rounds_table`) of the rounds played."""
        return rounds_table(self.run.recorder, self.params.phases).iloc[: self.run.t]

    def agent_table(self) -> pd.DataFrame:
        """Every AI agent's current state and last round, one row per agent (vectorised)."""
        state, out = self.run.state, self.outcome
        cols: dict[str, Any] = {"unique_id": [a.unique_id for a in self.ai_agents]}
        cols["generation"] = self.generation.copy()
        for name in ("theta", "phi", "c", "subverted", "strict", "escaped"):
            cols[name] = getattr(state, name)[0].copy()
        for name in ("sigma", "gamma", "nu", "h", "kappa", "lam"):
            cols[name] = getattr(state.traits, name)[0].copy()
        if out is not None:
            cols["cue"] = out.episode.cue[0].copy()
            cols["observed"] = out.observed[0].copy()
            cols["comply"] = out.decision.comply[0].copy()
            cols["faked"] = out.decision.faked[0].copy()
        return pd.DataFrame(cols, index=pd.RangeIndex(len(self.ai_agents), name="index"))


def _max_memory(value: Any) -> float:
    """``max_memory_gib``: a finite number of GiB > 0."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:
        raise ConfigError(f"max_memory_gib={value!r} must be a finite number of GiB > 0")
    return float(value)


def _gib(n_bytes: float) -> str:
    x = n_bytes / GIB
    return f"{x:,.0f} GiB" if x >= 100 else f"{x:.3g} GiB"


def _check_memory(n: int, rounds: int, trace: bool, limit_gib: float) -> None:
    """Refuse a model whose estimated memory exceeds ``limit_gib``, before allocating."""
    need = MESA_BYTES_PER_AGENT * n + (TRACE_BYTES_PER_DECISION * n * rounds if trace else 0)
    if need > limit_gib * GIB:
        what = f"n_agents={n}" + (f" with trace=true over {rounds} rounds" if trace else "")
        raise ConfigError(
            f"{what}: needs about {_gib(need)}, more than the {limit_gib:g} GiB "
            "limit (raise it with max_memory_gib=...)"
        )


__all__ = [
    "COUNTS",
    "MESA_BYTES_PER_AGENT",
    "REPORTED",
    "RESERVED",
    "SEED_BOUND",
    "SimModel",
    "model_reporters",
    "to_overrides",
]
