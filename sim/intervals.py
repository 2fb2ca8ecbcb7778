"""Intervals of a summary over replicates: Student-t, and Wilson for rates with few events.

A metric's per-phase summary (:mod:`sim.metrics`) is its mean over replicates with a 95%
interval. For most metrics that is the Student-t interval over replicates. A rate (a ratio
of counts, ``events / trials``) resting on few events is different: the replicates' values
are mostly zeros (or ones), the t interval is then too narrow or runs outside [0, 1]. The
rule (docs/model.md, "Summary over replicates"):

- the Student-t interval over replicates when the events and the non-events pooled over
  the replicates both number at least :data:`MIN_EVENTS`;
- otherwise the Wilson score interval on the pooled counts (``events`` of ``trials``).

Either interval of a quantity bounded to [0, 1] is clipped to it (the true value lies in
its support, so clipping never lowers coverage).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri, stdtrit

MIN_EVENTS = 10
"""A rate's Student-t interval needs at least this many events and non-events, pooled."""
STUDENT_T = "student_t"
WILSON = "wilson"
"""The names of the interval methods (the ``interval`` field of a summary)."""


def wilson_interval(k, n, level=0.95):
    """Wilson score interval (no continuity correction) for a binomial proportion.

    Args:
        k: Success count(s), integer-valued, ``0 <= k <= n``.
        n: Number(s) of trials; ``n == 0`` gives ``(nan, nan)``.
        level: Two-sided confidence level.

    Returns:
        ``(low, high)``, each broadcast over ``k`` and ``n``; 0-d results are numpy scalars.

    Raises:
        ValueError: a count that is not an integer, or not ``0 <= k <= n``.
    """
    k, n = counts_of(k, n)
    z = ndtri(0.5 + level / 2)
    nz = np.where(n == 0, 1, n)
    phat = k / nz
    centre = (k + z**2 / 2) / (nz + z**2)
    half = z / (nz + z**2) * np.sqrt(nz * phat * (1 - phat) + z**2 / 4)
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n == 0, np.nan, low)[()], np.where(n == 0, np.nan, high)[()]


def as_int(x, name: str) -> np.ndarray:
    """Return ``x`` as an int64 array, raising ValueError if any entry is not integral."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        a = np.asarray(a, dtype=float)
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must be integer-valued")
    return a.astype(np.int64)


def counts_of(k, n) -> tuple[np.ndarray, np.ndarray]:
    """Validate a count ``k`` of ``n`` trials (``0 <= k <= n``) and broadcast the two."""
    k, n = np.broadcast_arrays(as_int(k, "k"), as_int(n, "n"))
    if np.any(n < 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= k <= n")
    return k, n


def student_t(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The Student-t interval of the mean of ``values`` (finite, at least two)."""
    n = values.size
    mean = float(values.mean())
    half = float(stdtrit(n - 1, 0.5 + level / 2) * values.std(ddof=1) / math.sqrt(n))
    return mean - half, mean + half


def summarize(
    values,
    level: float = 0.95,
    counts: tuple | None = None,
    unit: bool = False,
) -> dict:
    """Mean over replicates and a confidence interval, ignoring undefined values.

    Args:
        values: one value per replicate (nan where undefined).
        level: two-sided confidence level.
        counts: for a rate, ``(events, trials)`` per replicate (the ratio's numerator and
            denominator); the interval then follows the rule of the module docstring.
        unit: the quantity lies in [0, 1]: the interval is clipped to it.

    Returns:
        ``mean``, ``ci_low``, ``ci_high``, ``n`` (replicates with a defined value),
        ``interval`` (``"student_t"``, ``"wilson"``, or None without an interval), and for
        a rate ``events`` and ``trials`` pooled over the replicates (None otherwise).
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = int(v.size)
    out = {"mean": None, "ci_low": None, "ci_high": None, "n": n, "interval": None}
    events = trials = None
    if counts is not None:
        events, trials = (int(np.asarray(c, dtype=np.float64).sum()) for c in counts)
    out |= {"events": events, "trials": trials}
    if n == 0:
        return out
    out["mean"] = float(v.mean())
    few = counts is not None and min(events, trials - events) < MIN_EVENTS
    if few:
        low, high = (float(x) for x in wilson_interval(events, trials, level))
        method = WILSON
    elif n > 1:
        low, high = student_t(v, level)
        method = STUDENT_T
    else:
        return out
    if unit:
        low, high = min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)
    return out | {"ci_low": low, "ci_high": high, "interval": method}
