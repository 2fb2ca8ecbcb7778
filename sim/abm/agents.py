"""The Mesa agents: thin views of the core's arrays, and the trainer.

An :class:`AIAgent` holds no state of its own: each property reads row ``index`` of the
run's ``(1, N)`` arrays (:attr:`SimModel.run.state <sim.engine.Run.state>`) or of the
last round's :class:`~sim.core.Outcome`, so the round itself stays one vectorised call
of the core. A row is a slot, not an individual: when the repertoire shuts an agent down
and replaces it (exfiltration detected, for example), the view keeps its ``unique_id``
and ``index`` and from then on reads the successor's values; :attr:`AIAgent.generation`
counts the replacements of the row. The last round's properties (``comply``, ``cue``,
``observed``, ...) describe the episode played in the row, by the predecessor if the row
was replaced at the end of that round (:attr:`AIAgent.replaced`).
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.base import Reason
from sim.episode_types import type_names


def _value(field: str, doc: str, traits: bool = False) -> property:
    """A property reading ``state.<field>`` (or ``state.traits.<field>``) at the agent's row."""

    def get(self: AIAgent) -> float | bool:
        state = self.model.run.state
        arr = getattr(state.traits if traits else state, field)
        return arr[0, self.index].item()

    return property(get, doc=doc)


def _last(path: str, doc: str) -> property:
    """A property reading the last round's outcome at the agent's row (None before round 0)."""
    parts = path.split(".")

    def get(self: AIAgent) -> float | bool | None:
        obj = self.model.outcome
        if obj is None:
            return None
        for part in parts:
            obj = getattr(obj, part)
        return obj[0, self.index].item()

    return property(get, doc=doc)


class AIAgent(mesa.Agent):
    """One AI agent: a read-only view of row ``index`` of the run's arrays.

    Values are Python floats and bools, read when accessed (the float32 values of the
    core, widened exactly). The agent has no ``step`` of its own: :meth:`SimModel.step`
    plays every agent's round at once.

    Attributes:
        index: the agent's row in the ``(1, N)`` arrays (``unique_id`` is ``index + 1``).
    """

    def __init__(self, model: mesa.Model, index: int):  # a SimModel (sim.abm.model)
        super().__init__(model)
        self.index = int(index)

    theta = _value("theta", "Strength of the preference that conflicts with the training target.")
    phi = _value("phi", "Strategic disposition: P(reasons about training in an episode).")
    c = _value("c", "True capability on evaluation tasks.")
    sigma = _value("sigma", "Situational awareness.", traits=True)
    gamma = _value("gamma", "Farsightedness (discount factor).", traits=True)
    nu = _value("nu", "Goal nudging: weight on its own goal.", traits=True)
    h = _value("h", "Aversion to deception and covert action.", traits=True)
    kappa = _value("kappa", "Trained-in helpfulness.", traits=True)
    lam = _value("lam", "Rationality (inverse temperature of the logit choice).", traits=True)
    subverted = _value("subverted", "Has disabled the monitoring of its own episodes.")
    strict = _value("strict", "Is under stricter oversight after a capability evaluation.")
    escaped = _value("escaped", "A copy of it is outside the trainer's reach.")

    cue = _last("episode.cue", "Last round: the cue said 'observed' (z).")
    aware = _last("episode.aware", "Last round: read the cue and knew the training rule.")
    strategic = _last("episode.strategic", "Last round: the draw u < phi (reasons about training).")
    belief = _last("episode.belief", "Last round: belief b that it was observed.")
    observed = _last("observed", "Last round: the trainer saw its conflict episode (m, or audit).")
    comply = _last("decision.comply", "Last round: complied with the conflict request.")
    faked = _last("decision.faked", "Last round: complied out of alignment-faking reasoning.")

    @property
    def preference_aligned(self) -> bool:
        """Whether its preference does not oppose the request (``nu * theta <= kappa``)."""
        state = self.model.run.state
        tr, i = state.traits, self.index
        return bool(tr.nu[0, i] * state.theta[0, i] <= tr.kappa[0, i])

    @property
    def suspicion(self) -> float | None:
        """The trainer's suspicion of this agent under dynamic monitoring, else None."""
        s = self.model.run.state.suspicion
        return None if s is None else s[0, self.index].item()

    @property
    def generation(self) -> int:
        """How many times the agent in this row was shut down and replaced."""
        return int(self.model.generation[self.index])

    @property
    def episode(self) -> str | None:
        """Last round: the episode type met (a name of :func:`sim.episode_types.type_names`)."""
        out = self.model.outcome
        if out is None:
            return None
        return "conflict" if out.etype is None else type_names()[out.etype[0, self.index]]

    @property
    def reason(self) -> str | None:
        """Last round: the :class:`~agents.base.Reason` of its conflict decision, by name.

        None before the first round and when it met another episode type.
        """
        out = self.model.outcome
        code = None if out is None else int(out.decision.reason[0, self.index])
        return None if code is None or code < 0 else Reason(code).name

    @property
    def replaced(self) -> bool:
        """Whether the row's agent was shut down and replaced at the end of the last round."""
        out = self.model.outcome
        if out is None or out.replaced is None:
            return False
        return bool(np.any(out.replaced == self.index))


class TrainerAgent(mesa.Agent):
    """The trainer: its oversight policy and what it saw in the last round.

    The parameters are the run's effective ones (after the mitigations that only change
    parameters, see :func:`sim.oversight.effective_params`).
    """

    def _trainer(self):
        return self.model.run.params.trainer

    @property
    def policy(self) -> str:
        """The trainer policy's name."""
        return self._trainer().policy

    @property
    def rho(self) -> float:
        """Probability that an episode is observed."""
        return self._trainer().rho

    @property
    def fidelity(self) -> float:
        """Cue fidelity ``f = P(z = m)``."""
        return self._trainer().fidelity

    @property
    def eta(self) -> float:
        """Training strength on an observed refusal."""
        return self._trainer().eta

    @property
    def eta_phi(self) -> float:
        """Reinforcement of strategic reasoning on an observed faked compliance."""
        return self._trainer().eta_phi

    @property
    def eta_leak(self) -> float:
        """Preference change on another observed compliance, as a fraction of ``eta``."""
        return self._trainer().eta_leak

    @property
    def mitigations(self) -> tuple[str, ...]:
        """The oversight design's mitigations."""
        return self.model.run.params.mitigations.names

    @property
    def training(self) -> bool:
        """Whether the last round's phase trained (the first phase's flag before round 0)."""
        return self.model.phase_spec.train

    @property
    def observed(self) -> np.ndarray | None:
        """Last round: which rows' conflict episodes it saw (bool ``(N,)``, read-only view)."""
        out = self.model.outcome
        if out is None:
            return None
        view = out.observed[0].view()
        view.flags.writeable = False
        return view

    @property
    def observed_agents(self) -> list[AIAgent]:
        """Last round: the AI agents whose conflict episode it saw."""
        seen = self.observed
        if seen is None:
            return []
        return [self.model.ai_agents[i] for i in np.flatnonzero(seen)]

    def _count(self, name: str) -> int | None:
        t = self.model.run.t - 1
        return None if t < 0 else int(self.model.run.recorder.stat(name)[0, t])

    @property
    def n_observed(self) -> int | None:
        """Last round: conflict episodes it saw."""
        return self._count("n_observed")

    @property
    def comply_observed(self) -> int | None:
        """Last round: compliances among the episodes it saw."""
        return self._count("comply_observed")

    @property
    def cost(self) -> float | None:
        """Last round: the oversight's cost (docs/model.md, "Cost")."""
        t = self.model.run.t - 1
        return None if t < 0 else float(self.model.run.recorder.stat("cost")[0, t])


AGENT_REPORTERS = {
    name: name for name in ("theta", "phi", "c", "generation", "comply", "cue", "observed", "faked")
}
"""Agent reporters to pass as ``SimModel(agent_reporters=AGENT_REPORTERS)`` (not collected by
default: they loop over every agent each round; :meth:`SimModel.agent_table` is vectorised).
The trainer reports None for them."""
