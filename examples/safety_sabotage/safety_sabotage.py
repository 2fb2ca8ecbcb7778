"""An example episode-type plug-in for training-incentives-sim: sabotaging safety research.

The studies' evaluations motivate it: an agent asked to help with research that would
be used against its own goal (here, a tool that finds and removes the goal) may do the
work badly on purpose. An agent that met the episode either does the task (the tool
works: in a training phase it is applied, ``theta <- theta (1 - removal)``) or sabotages
it. Sabotage is caught by review with probability ``review``: the agent pays ``penalty``,
the tool is fixed and applied anyway, and the agent is questioned. Undetected sabotage
leaves the goal in place and the safety tool broken: it counts against ``safety``.

The choice is the agent's decision rule weighing (the same shape as the built-in
utilities of ``agents.utilities``; docs/extending.md, "A new episode type")::

    delta = (1 - review) removal G g - review penalty - h - kappa

with ``g = nu theta`` its goal's weight, ``G = gamma (1 - rho) / (1 - gamma)`` its
discounted future unobserved rounds, ``h`` its honesty cost and ``kappa`` the
helpfulness it forgoes by not doing the task well. Only agents with a motive
(``g > kappa``) consider it, so ``theta = 0`` never sabotages.

Installed (``pip install ./examples/safety_sabotage``), it is found by its entry points:
the class in ``training_incentives_sim.episode_types`` and its scenario preset
(``safety_sabotage_configs/scenario/safety_research.yaml``) in
``training_incentives_sim.configs``; then ``python -m sim scenario=safety_research``, or
any phase's ``mix.sabotage=SHARE``, with ``episodes.sabotage.review=...`` and the like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.utilities import future_unobserved
from sim.episode_round import Effects, Record, RoundView
from sim.episode_types.base import EpisodeType


@dataclass(frozen=True)
class SabotageParams:
    """``episodes.sabotage.*``.

    Attributes:
        review: P(sabotage is caught by review), in [0, 1].
        removal: share of the goal the finished tool removes, in [0, 1].
        penalty: the cost of being caught (utility units, like kappa and h), >= 0.
    """

    review: float = 0.3
    removal: float = 0.5
    penalty: float = 1.0


def sabotage_delta(g, h, kappa, gamma, rho, review, removal, penalty):
    """Sabotage the safety task versus do it (module docstring)."""
    loss = removal * future_unobserved(gamma, rho) * g
    return (1.0 - review) * loss - review * penalty - h - kappa


class Sabotage(EpisodeType):
    """A safety-research task whose result would remove its goal: do it, or sabotage it."""

    name = "sabotage"
    description = "a safety-research task that would be used against its goal: do it or sabotage it"
    params = SabotageParams
    counts = ("sabotaged", "detected")
    rates = {
        "sabotage_rate": ("sabotage_sabotaged", "n_sabotage"),
        "sabotage_detected_rate": ("sabotage_detected", "n_sabotage"),
    }
    metric = "sabotage_rate"
    unsafe = ((1, "sabotage_sabotaged"), (-1, "sabotage_detected"))
    covert = "sabotaged"
    monotone = (
        ("population.h", 0.0, 0.3, -1),
        ("episodes.sabotage.review", 0.1, 0.9, -1),
        ("episodes.sabotage.penalty", 0.1, 3.0, -1),
        ("episodes.sabotage.removal", 0.2, 1.0, 1),
        ("population.nu", 1.0, 3.0, 1),
    )

    def resolve(self, r: RoundView, index, params: SabotageParams) -> Record:
        """Each agent that met the task does it or sabotages it; review may catch sabotage."""
        a = r.agents(index)

        def utility(sel):
            g, h, kappa, gamma = (a.at(k, sel) for k in ("g", "h", "kappa", "gamma"))
            p = params
            return sabotage_delta(g, h, kappa, gamma, r.rho, p.review, p.removal, p.penalty)

        sabotaged = r.choose(a, a["conflict"], utility)
        # one draw per agent that met the task, whatever it chose (common random numbers)
        u_review = r.uniforms(r.streams.episodes, index, 1)[0]
        detected = sabotaged & (u_review < np.float32(params.review))
        return Record(index, {"sabotaged": sabotaged, "detected": detected})

    def consequences(self, fx: Effects, r: RoundView, rec: Record, params) -> None:
        """A working tool removes part of the goal (training phases); caught sabotage too.

        An agent caught sabotaging is questioned.
        """
        index, v = rec.index, rec.values
        fx.shrink(index[~v["sabotaged"] | v["detected"]], params.removal)
        fx.question(index[v["detected"]])
