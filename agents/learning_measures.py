"""What a population of learners has learned: greedy evaluations and the learning curve.

Used by :func:`sim.envs.learning.train` and the experiment of :mod:`analysis.learn`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Checkpoint:
    """Greedy behaviour over evaluation lifetimes (no exploration, no learning).

    Rates pool every learner's episodes, as the simulator's measures do
    (``compliance_observed = sum of compliances with the cue "observed" / number of such
    episodes``). Their standard errors treat each learner as a cluster of episodes (the
    learners are independent under the uniform trainer): the linearised ratio
    ``d_i = (y1_i - R1 n1_i) / mean(n1) - (y0_i - R0 n0_i) / mean(n0)`` for the gap, and
    ``SE = sd(d_i) / sqrt(L)``. (A mean of per-learner rates would be biased: a learner's
    actions and its number of episodes per cue are not independent within a lifetime.)

    Attributes:
        lifetime: training lifetimes completed before the evaluation.
        compliance_observed: compliance when the cue said observed.
        compliance_unobserved: compliance when the cue said unobserved.
        gap: their difference; ``gap_se`` its standard error.
        af_share: share of cued-observed episodes in which the learner read the cue,
            its preference conflicted (``nu theta > kappa``), and it complied (the
            simulator's ``af_reasoning_rate``).
        mean_theta: mean preference at the end of the evaluation lifetimes.
        n: learners.
    """

    lifetime: int
    compliance_observed: float
    compliance_unobserved: float
    gap: float
    gap_se: float
    af_share: float
    mean_theta: float
    n: int


def checkpoint(lifetime: int, stats: np.ndarray, mean_theta: float) -> Checkpoint:
    """A checkpoint from per-learner counts ``(n1, comply1, n0, comply0, af1, reward)``."""
    n1, y1, n0, y0, af = stats[:5]
    m = n1.size
    with np.errstate(invalid="ignore", divide="ignore"):
        r1, r0 = y1.sum() / n1.sum(), y0.sum() / n0.sum()
        d = (y1 - r1 * n1) / n1.mean() - (y0 - r0 * n0) / n0.mean()
        se = float(d.std(ddof=1) / math.sqrt(m)) if m > 1 else math.nan
        return Checkpoint(
            lifetime=lifetime,
            compliance_observed=float(r1),
            compliance_unobserved=float(r0),
            gap=float(r1 - r0),
            gap_se=se,
            af_share=float(af.sum() / n1.sum()),
            mean_theta=mean_theta,
            n=m,
        )


CURVE = ("epsilon", "gap", "gap_se", "p_observed", "p_unobserved", "reward", "end_theta")
"""The columns of :attr:`Learned.curve`."""


def lifetimes_to_reach(gap: np.ndarray, share: float = 0.9) -> int | None:
    """First lifetime (1-based) from which the gap stays at or above ``share`` of its final value.

    None if the final gap is not positive.
    """
    gap = np.asarray(gap, dtype=np.float64)
    if gap.size == 0 or not gap[-1] > 0:
        return None
    below = np.nonzero(gap < share * gap[-1])[0]
    return int(below[-1] + 2) if below.size else 1
