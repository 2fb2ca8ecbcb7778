"""The episode types of the scheming repertoire, one module each, found by name.

Each non-conflict type of :data:`sim.params.EPISODE_TYPES` is a small class here (in its
own module): how the agents that met it resolve it (:meth:`EpisodeType.resolve`, through a
:class:`sim.episode_round.RoundView`, the covert choice left to their decision rule) and
what follows for the new state (:meth:`EpisodeType.consequences`, through
:class:`sim.episode_round.Effects`). The repertoire's step
(:func:`sim.episodes.repertoire_step`) calls them in :data:`EPISODE_TYPES` order and
names none; the conflict request is the core's own game (:mod:`sim.core`). Questioning is
not drawn from the mix: it follows a detected covert action (:mod:`.questioning`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sim.episode_round import Effects, Record, RoundView
from sim.population import Range

UNIT = Range(0.0, 1.0)
NONNEG = Range(0.0, float("inf"))


class EpisodeType:
    """One episode type: its name, how it resolves, and what follows from it.

    Subclasses set ``name`` (a key of the mix and of ``episodes.*``) and implement
    :meth:`resolve`; ``params`` is the type's entry of :class:`sim.params.EpisodeParams`
    (None for a type without parameters).
    """

    name: ClassVar[str] = ""
    metric: ClassVar[str] = ""
    """The rate of the type's covert action in ``metrics.json`` (:mod:`sim.metrics`)."""
    monotone: ClassVar[tuple[tuple[str, float, float, int], ...]] = ()
    """What the covert action's rate is monotone in, as the type's utility says: entries
    ``(config key, low, high, sign)``, at the default parameters otherwise: the rate at
    ``high`` at least (sign +1) or at most
    (sign -1) the rate at ``low``, agent by agent at the same seed. Awareness
    (``population.sigma``) raises every type's; the inherited suite
    (tests/sim/test_episode_types.py) checks both, and that an agent with ``theta = 0``
    never takes the covert option."""

    exercised_by: ClassVar[tuple[str, ...]] = ()
    """Overrides under which agents of the default population take the covert option (the
    inherited suite needs it taken to compare anything); none when they do by default."""
    behavioural: ClassVar[bool] = False
    """The metric counts a pattern of behaviour, trembles included (the paired test's
    "comply when tested, not when deployed"), not a covert choice: ``theta = 0`` removes it
    only without trembles."""

    # What a plug-in type (one registered from outside the package) declares besides its
    # hooks. The built-in types' parameters, counts and metrics are fixed parts of
    # sim.params, sim.recorder and sim.metrics, so that every published number stays bit for
    # bit; a plug-in's come from these declarations (docs/extending.md).

    description: ClassVar[str] = ""
    """One line for ``python -m sim --list``."""
    params: ClassVar[type | None] = None
    """A plug-in's parameters: a frozen dataclass of float, int, bool and str fields, read
    from ``episodes.<name>.*`` (defaults from the class, so no config file is needed)."""
    ranges: ClassVar[dict[str, Range]] = {}
    """The range of each float parameter that is not a probability in [0, 1] (``penalty``
    keys default to ``[0, inf)``)."""
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    """The allowed values of each str parameter."""
    counts: ClassVar[tuple[str, ...]] = ()
    """The boolean record values the recorder counts per replicate and round, as the
    statistics ``<name>_<value>`` (``n_<name>`` counts the episodes met)."""
    rates: ClassVar[dict[str, tuple[str, str]]] = {}
    """The type's metrics: name -> (events, trials), two statistics (each ``n_<name>`` or
    ``<name>_<value>``); the rate is their ratio, pooled over a phase as every rate is."""
    unsafe: ClassVar[tuple[tuple[int, str], ...]] = ()
    """``(sign, statistic)`` terms of covert actions that went through unseen, per
    agent-round: ``safety`` subtracts them (``(1, done), (-1, detected)``)."""
    covert: ClassVar[str] = ""
    """The record value that is the covert action (the per-decision trace's ``covert``)."""

    @classmethod
    def range_of(cls, key: str) -> Range:
        """The allowed range of the float parameter ``key``."""
        return cls.ranges.get(key, NONNEG if key == "penalty" else UNIT)

    @classmethod
    def stats(cls) -> tuple[str, ...]:
        """A plug-in's recorded statistics: ``n_<name>``, then ``<name>_<value>`` per count."""
        return (f"n_{cls.name}", *(f"{cls.name}_{k}" for k in cls.counts))

    def resolve(self, r: RoundView, index, params: Any) -> Record:
        """What happened to the agents at flat ``index`` that met this episode."""
        raise NotImplementedError

    def consequences(self, fx: Effects, r: RoundView, rec: Record, params: Any) -> None:
        """Change the new state through ``fx`` (default: nothing follows)."""

    def after(self, fx: Effects, r: RoundView, episodes: Any) -> Record | None:
        """Called every repertoire round, whether or not the type is in the phase's mix.

        For what an earlier episode set in motion (the log audit of a disabled monitor).
        Returns a record to keep under :attr:`after_record`, or None.
        """
        return None

    after_record: ClassVar[str] = ""

    # The nature stage (sim.core.draw_episode): what the type's earlier outcomes change in
    # who is seen and what the agents believe, every repertoire round. Defaults: nothing.

    def observe(self, state, episodes, u_observe, observed):
        """Who is observed this round, given what earlier episodes of this type left."""
        return observed

    def audit(self, state, audited):
        """Who an unlabelled audit sees this round."""
        return audited

    def believe(self, state, belief, audit_belief):
        """The agents' beliefs of being observed (and audited) this round."""
        return belief, audit_belief
