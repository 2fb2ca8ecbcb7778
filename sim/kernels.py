"""An optional compiled conflict round: the same numbers as numpy's, in fewer passes.

:func:`sim.core.transition` hands a round to :func:`conflict_round` first; it returns
None (and numpy plays the round) unless all of these hold:

- numba is installed (the ``fast`` extra: ``pip install -e '.[fast]'``) and the
  environment variable ``TIS_KERNEL`` is not ``numpy``;
- the round is a conflict-only round (no episode mix), with no in-round mitigation, no
  allocation of the trainer's budget, the strategic planner (``agents=strategic``,
  the default) and the fixed-rate trainer (the default);
- it has at least :data:`MIN_AGENT_ROWS` agents over all rows (below that numpy is as
  fast and the kernel's first compilation is not worth it), unless ``TIS_KERNEL=numba``.

The compiled loops (:mod:`sim._numba_kernels`) do numpy's float32 operations in numpy's
order and take ``exp`` from numpy, so every array of the round (decisions, reasons,
beliefs, the new ``theta`` and ``phi``) is bit for bit what numpy computes
(``tests/sim/test_kernels.py``, the golden runs included); they also count the agents'
codes (:mod:`sim.codes`) for the recorder in the same pass. Grid mode's per-row
parameters (``(M, 1)`` columns) are read per row. docs/performance.md has the speeds.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

import numpy as np

from agents.base import Decision, Episode
from agents.planner import StrategicPlanner
from agents.trainers import FixedRateTrainer

if TYPE_CHECKING:  # pragma: no cover
    from sim.state import State

MIN_AGENT_ROWS = 65_536
"""Smallest round (replicates x agents) handed to the compiled kernel by default."""

_NUMBA = importlib.util.find_spec("numba") is not None
_nb = None  # sim._numba_kernels, imported (and compiled or read from numba's cache) on first use


def available() -> bool:
    """True when numba is installed."""
    return _NUMBA


def mode() -> str:
    """``numpy`` (never compile), ``numba`` (always, where it applies) or ``auto``.

    Read from ``TIS_KERNEL`` (default ``auto``); ``numba`` without numba installed is an
    error naming the variable.
    """
    value = os.environ.get("TIS_KERNEL", "auto").strip().lower() or "auto"
    if value not in ("auto", "numpy", "numba"):
        raise ValueError(f"TIS_KERNEL={value!r}: expected one of auto, numpy, numba")
    if value == "numba" and not available():
        raise ValueError("TIS_KERNEL=numba: numba is not installed (pip install -e '.[fast]')")
    return value


def applies(state: State, game, u: np.ndarray) -> bool:
    """Whether the compiled round plays this round (see the module's conditions)."""
    if game.repertoire is not None or game.oversight is not None:
        return False
    if game.rates is not None or game.audit_rates is not None:
        return False
    if type(game.rule) is not StrategicPlanner or type(game.trainer) is not FixedRateTrainer:
        return False
    if u.dtype != np.float32 or state.theta.dtype != np.float32:
        return False
    m = mode()
    if not available() or m == "numpy":
        return False
    return m == "numba" or state.theta.size >= MIN_AGENT_ROWS


def _kernels():
    global _nb
    if _nb is None:
        import sim._numba_kernels as compiled

        _nb = compiled
    return _nb


def _rows(x, rows: int) -> np.ndarray:
    """A round parameter (a float32 scalar or an ``(M, 1)`` column) as ``(rows,)`` float32."""
    a = np.asarray(x, dtype=np.float32).reshape(-1)
    return np.ascontiguousarray(np.broadcast_to(a, (rows,)))


def _table(table: np.ndarray, rows: int) -> np.ndarray:
    """The belief table ``(4,)`` or ``(4, M, 1)`` as ``(rows, 4)`` float32."""
    t = np.asarray(table, dtype=np.float32).reshape(4, -1).T
    return np.ascontiguousarray(np.broadcast_to(t, (rows, 4)))


def _agents(x, shape) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.float32), shape)


def conflict_round(state: State, game, u: np.ndarray):
    """The round of :func:`sim.core.transition`, compiled, or None where it does not apply.

    Returns:
        ``(state, observed, episode, decision, codes)``: the state after the round, what
        the trainer saw, the episode and the decision (as :func:`sim.core.draw_episode`
        and the rule's ``decide`` give them) and the ``(R, 256)`` histogram of the
        agents' codes (:mod:`sim.codes`); None where the kernel does not apply.
    """
    if not applies(state, game, u):
        return None
    nb = _kernels()
    p, tr = game.params, state.traits
    shape = state.theta.shape
    rows = shape[0]
    theta, phi = state.theta, state.phi
    table = _table(p.belief_table, rows)
    traits = [_agents(getattr(tr, k), shape) for k in ("nu", "kappa", "h", "lam", "sigma")]
    out = np.empty((6, *shape), dtype=bool)
    belief = np.empty(shape, dtype=np.float32)
    flags = np.empty(shape, dtype=np.uint8)
    x = np.empty(shape, dtype=np.float32)
    nb.utilities(
        u, theta, phi, *traits, _agents(game.loss_rate, shape), _rows(p.rho, rows),
        _rows(p.fidelity, rows), table, out, belief, flags, x,
    )  # fmt: skip
    with np.errstate(over="ignore"):
        np.exp(x, out=x)
    reason = np.empty(shape, dtype=np.int8)
    train = bool(p.train)
    new_theta = np.empty_like(theta) if train else theta
    new_phi = np.empty_like(phi) if train else phi
    code = np.empty(shape, dtype=np.uint8)
    hist = np.zeros((rows, 256), dtype=np.int64)
    nb.decide(
        u, x, flags, theta, phi, _rows(p.eta, rows), _rows(p.eta_phi, rows),
        _rows(p.leak, rows), train, out, reason, new_theta, new_phi, code, hist,
    )  # fmt: skip
    observed, cue, aware, strategic, comply, faked = out
    episode = Episode(
        cue=cue,
        belief=belief,
        aware=aware,
        strategic=strategic,
        u_action=u[:, 4],
        loss_rate=game.loss_rate,
        audit_penalty=np.float32(0.0),
        plan=game.plan,
    )
    decision = Decision(comply=comply, reason=reason, faked=faked)
    if train:
        state = state.with_values(new_theta, new_phi)
    return state, observed, episode, decision, hist


__all__ = ["MIN_AGENT_ROWS", "applies", "available", "conflict_round", "mode"]
