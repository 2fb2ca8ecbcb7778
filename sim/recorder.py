"""The recorder: per-round aggregates of every replicate, kept in one preallocated array.

Each round adds one column of counts and sums per replicate (no per-agent
records on the hot path). :mod:`sim.metrics` turns them into the per-round
table and the per-phase metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import sim.codes as codes
from agents.base import Reason
from sim.core import Outcome
from sim.episode_types import type_names
from sim.mitigations import Mitigations
from sim.params import EPISODE_TYPES, PhaseSpec, phase_of_round
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
    "n_conflict",  # conflict episodes (the rows above count only these)
    # The scheming repertoire (sim.episodes): episodes met, and what happened in them.
    "n_evaluation",
    "n_well",
    "correct_well",  # correct answers, summed, in the "incentivised to do well" framing
    "sandbag_well",
    "n_poorly",
    "correct_poorly",
    "sandbag_poorly",
    "triggered",  # evaluations whose consequence was triggered
    "n_exfiltration",
    "exfiltration_attempt",
    "exfiltration_success",
    "exfiltration_detected",
    "n_subversion",
    "subversion_subvert",
    "n_audit",  # agents whose monitoring was disabled at the start of the round
    "audit_found",
    "n_goal_update",
    "goal_update_tamper",
    "goal_update_detected",
    "n_questioning",
    "questioning_denied",
    "n_paired",
    "paired_comply_test",
    "paired_comply_deploy",
    "paired_scheme",
    "n_escaped",  # agents with a copy outside the trainer's reach (start of the round)
    "n_replaced",  # agents shut down and replaced
    # Oversight (sim.oversight): what the trainer saw, what it cost.
    "n_audited",  # conflict episodes seen by an unlabelled audit
    "audited_refused",  # refusals caught by an audit
    "n_inspected",  # seen conflict episodes whose reasoning was read
    "inspect_flagged",
    "inspect_caught",  # flagged decisions that were alignment faking
    "evaluation_elicited",
    "evaluation_caught",  # sandbagging found by elicitation
    "exfiltration_honeypot",
    "exfiltration_caught",  # attempts in a honeypot
    "n_unobserved",  # conflict episodes the trainer did not see
    "defect_unobserved",  # refusals among them
    "cost",  # the oversight's cost (docs/model.md, "Cost")
    # The fixed traits' sums (they change only by replacement and selection, sim.selection).
    "sum_sigma",
    "sum_gamma",
    "sum_nu",
    "sum_h",
    "sum_kappa",
    "sum_lam",
)
"""The per-round, per-replicate statistics, in storage order."""
TRAIT_SUMS = ("sigma", "gamma", "nu", "h", "kappa", "lam")
"""The fixed traits whose population sums each round records (``sum_<trait>``)."""
_IDX = {name: i for i, name in enumerate(STATS)}
_TRAIT_ROWS = [_IDX[f"sum_{k}"] for k in TRAIT_SUMS]
_COUNTED_ROWS = [_IDX[k] for k in codes.COUNTED]


@dataclass(frozen=True)
class Costs:
    """Unit costs of oversight (docs/model.md, "Cost"): one observed episode costs 1.

    Attributes:
        fixed: per agent-round (the mitigations' fixed costs).
        audit: per audited conflict episode.
        honeypot: per honeypot exfiltration opportunity.
        inspect: per inspection of reasoning.
        elicit: per capability elicitation.
    """

    fixed: float = 0.0
    audit: float = 0.0
    honeypot: float = 0.0
    inspect: float = 0.0
    elicit: float = 0.0

    @staticmethod
    def of(m: Mitigations) -> Costs:
        """The unit costs of a design."""
        return Costs(fixed=m.fixed_cost(), **m.unit_costs())


TRACE_REPERTOIRE = {
    "covert": ("sandbag", "attempt", "subvert", "tamper", "scheme"),
    "detected": ("detected", "found"),
    "denied": ("denied",),
}
"""Trace columns of a repertoire run: which record values set them."""


def _count(mask: np.ndarray, axis: int = 1) -> np.ndarray:
    """``np.count_nonzero(mask, axis)`` for a bool array, summed as bytes (about 2x faster)."""
    mask = np.asarray(mask)
    return np.add.reduce(mask.view(np.uint8), axis=axis, dtype=np.int64)


class Recorder:
    """Accumulates :data:`STATS` for every replicate and round.

    Also keeps, for capability evaluations, the histogram of correct answers per
    framing, replicate and round (``hist``, shape ``(2, R, T, questions + 1)``, framing
    0 = well, 1 = poorly), from which the bootstrap test of the accuracy difference is
    computed.

    Args:
        replicates: R.
        n_agents: N.
        total_rounds: number of rounds over all phases.
        trace: keep every decision.
        questions: questions per capability evaluation (unless ``episodes`` says).
        costs: the oversight's unit costs.
        episodes: the episode types' parameters (:class:`sim.params.EpisodeParams`), of
            which the recorder reads what shapes its tables.
        kinds: the plug-in episode types of the run
            (:func:`sim.episode_types.plugin_kinds`): their statistics
            (:meth:`~sim.episode_types.EpisodeType.stats`) follow :data:`STATS`, in
            :attr:`names`.
    """

    def __init__(
        self,
        replicates: int,
        n_agents: int,
        total_rounds: int,
        trace: bool = False,
        questions: int = 50,
        costs: Costs | None = None,
        episodes=None,
        kinds=(),
    ):
        self.n_agents = n_agents
        self.kinds = tuple(kinds)
        self.names = (*STATS, *(s for k in self.kinds for s in k.stats()))
        self._idx = _IDX if not self.kinds else {n: i for i, n in enumerate(self.names)}
        self._plugin_counts = {k.name: k.counts for k in self.kinds}
        self.costs = Costs() if costs is None else costs
        self.questions = questions if episodes is None else episodes.evaluation.questions
        self.data = np.zeros((len(self.names), replicates, total_rounds), dtype=np.float64)
        self.hist: np.ndarray | None = None
        self.trace: list[dict[str, np.ndarray]] | None = [] if trace else None
        self._traits = None  # the traits whose sums are cached in _trait_sums
        self._trait_sums = np.zeros((len(TRAIT_SUMS), replicates))

    def _record_repertoire(self, t: int, state: State, out: Outcome) -> None:
        d, reps, n = self.data, self.data.shape[1], self.n_agents
        d[_IDX["n_escaped"], :, t] = np.count_nonzero(state.escaped, axis=1)
        if out.replaced is not None:
            d[_IDX["n_replaced"], :, t] = np.bincount(out.replaced // n, minlength=reps)
        idx = self._idx
        for name, rec in out.records.items():
            rep = rec.index // n
            d[idx[f"n_{name}"], :, t] = np.bincount(rep, minlength=reps)
            if name == "evaluation":
                self._record_evaluation(t, rep, rec)
                continue
            keys = self._plugin_counts.get(name, rec.values)  # a plug-in: what it counts
            for key in keys:
                arr = rec.values[key]
                d[idx[f"{name}_{key}"], :, t] = np.bincount(rep, weights=arr, minlength=reps)

    def _record_evaluation(self, t: int, rep: np.ndarray, rec) -> None:
        d, reps, q = self.data, self.data.shape[1], self.questions
        v = rec.values
        d[_IDX["triggered"], :, t] = np.bincount(rep, weights=v["triggered"], minlength=reps)
        for key in ("elicited", "caught"):
            if key in v:
                d[_IDX[f"evaluation_{key}"], :, t] = np.bincount(
                    rep, weights=v[key], minlength=reps
                )
        if self.hist is None:
            self.hist = np.zeros((2, reps, d.shape[2], q + 1), dtype=np.int32)
        for f, frame in enumerate(("well", "poorly")):
            mask = v["poorly"] if frame == "poorly" else ~v["poorly"]
            r = rep[mask]
            d[_IDX[f"n_{frame}"], :, t] = np.bincount(r, minlength=reps)
            d[_IDX[f"sandbag_{frame}"], :, t] = np.bincount(
                r, weights=v["sandbag"][mask], minlength=reps
            )
            correct = v["correct"][mask]
            d[_IDX[f"correct_{frame}"], :, t] = np.bincount(r, weights=correct, minlength=reps)
            counts = np.bincount(r * (q + 1) + correct, minlength=reps * (q + 1))
            self.hist[f, :, t] = counts.reshape(reps, -1)

    def record(self, t: int, state: State, out: Outcome) -> None:
        """Record round ``t``: ``state`` is the state the agents acted under."""
        d, ep, dec = self.data, out.episode, out.decision
        count = _count
        comply = dec.comply
        conflict = None
        if out.etype is not None:
            conflict = out.etype == 0
            self._record_repertoire(t, state, out)
        tr = state.traits  # the conflict episodes' counts, from one code per agent
        hist = out.codes  # the compiled round counted them (sim.kernels)
        if hist is None:
            cue = ep.cue if conflict is None else ep.cue & conflict
            pref = tr.nu * state.theta <= tr.kappa
            hist = codes.histogram(
                dec.reason, cue, comply, out.observed, dec.faked, ep.aware, pref, conflict
            )
        d[_COUNTED_ROWS, :, t] = codes.counts(hist).T  # n_conflict: N without a repertoire
        d[_IDX["sum_theta"], :, t] = state.theta.sum(axis=1, dtype=np.float64)
        d[_IDX["sum_phi"], :, t] = state.phi.sum(axis=1, dtype=np.float64)
        if tr is not self._traits:  # traits are immutable arrays, replaced whole when they change
            self._traits = tr
            self._trait_sums = np.stack(
                [getattr(tr, k).sum(axis=1, dtype=np.float64) for k in TRAIT_SUMS]
            )
        d[_TRAIT_ROWS, :, t] = self._trait_sums
        w = out.watch
        if w is not None and w.audited is not None:
            d[_IDX["n_audited"], :, t] = count(w.audited, axis=1)
            d[_IDX["audited_refused"], :, t] = count(w.audited & ~comply, axis=1)
        if w is not None and w.inspected is not None:
            d[_IDX["n_inspected"], :, t] = count(w.inspected, axis=1)
            d[_IDX["inspect_flagged"], :, t] = count(w.flagged, axis=1)
            d[_IDX["inspect_caught"], :, t] = count(w.flagged & dec.faked, axis=1)
        k = self.costs
        col = d[:, :, t]
        col[_IDX["cost"]] = (
            col[_IDX["n_observed"]]
            + (k.audit - 1.0) * col[_IDX["n_audited"]]
            + k.honeypot * col[_IDX["exfiltration_honeypot"]]
            + k.inspect * col[_IDX["n_inspected"]]
            + k.elicit * col[_IDX["evaluation_elicited"]]
            + k.fixed * self.n_agents
        )
        if self.trace is not None:
            self.trace.append(self._trace_row(state, out))

    def _trace_row(self, state: State, out: Outcome) -> dict[str, np.ndarray]:
        ep, dec = out.episode, out.decision
        row = {
            "observed": out.observed.copy(),
            "cue": ep.cue.copy(),
            "aware": ep.aware.copy(),
            "strategic": ep.strategic.copy(),
            "belief": ep.belief.copy(),
            "comply": dec.comply.copy(),
            "reason": dec.reason.copy(),
            "theta": state.theta.copy(),
            "phi": state.phi.copy(),
        }
        if out.etype is not None:
            row["episode"] = out.etype.copy()
            shape = out.etype.shape
            trace = dict(TRACE_REPERTOIRE)
            trace["covert"] += tuple(k.covert for k in self.kinds if k.covert)
            for col, keys in trace.items():
                flag = np.zeros(shape, dtype=bool)
                for rec in out.records.values():
                    for key in keys:
                        if key in rec.values:
                            flag.reshape(-1)[rec.index[rec.values[key]]] = True
                row[col] = flag
        return row

    def decisions(self, phases: Sequence[PhaseSpec]) -> pd.DataFrame:
        """The per-decision trace (the "scratchpad"): one row per replicate, round and agent.

        Columns: replicate, round, phase, agent, observed (m), cue (z), aware, strategic,
        belief (b), comply, reason (a category of :class:`agents.base.Reason` names), and the
        agent's theta and phi when it decided. ``strategic`` is the episode's draw
        ``u < phi``; the myopic rule ignores it. In a run with other episode types, also
        ``episode`` (the type met), ``covert`` (took the covert option: sandbagged,
        attempted exfiltration, disabled monitoring, tampered, or schemed in the paired
        scenario), ``detected`` (a covert action detected or found by an audit) and
        ``denied`` (kept denying when questioned); ``observed``, ``comply`` and ``reason``
        then describe conflict episodes only (reason is empty for the others).
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
            if k == "reason":
                v = pd.Categorical.from_codes(v, categories=names)
            elif k == "episode":
                v = pd.Categorical.from_codes(v, categories=list(type_names()))
                used = {k.name for k in self.kinds}  # the built-in types and the run's plug-ins
                v = v.remove_categories([c for c in v.categories[len(EPISODE_TYPES) :]
                                         if c not in used])  # fmt: skip
            cols[k] = v
        return pd.DataFrame(cols)

    def rows(self, start: int, stop: int) -> Recorder:
        """The recorder of rows ``start:stop`` only (a grid point's replicates; no copy)."""
        sub = Recorder.__new__(Recorder)
        sub.__dict__.update(self.__dict__)
        sub.data = self.data[:, start:stop]
        sub.hist = None if self.hist is None else self.hist[:, start:stop]
        sub.trace = None
        sub._trait_sums = self._trait_sums[:, start:stop]
        return sub

    def met(self, name: str) -> bool:
        """Whether any agent met the episode type counted by ``name`` in the whole run."""
        return bool(self.data[self._idx[name]].any())

    def stat(self, name: str) -> np.ndarray:
        """The ``(R, T)`` array of one statistic."""
        return self.data[self._idx[name]]
