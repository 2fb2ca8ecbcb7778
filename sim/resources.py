"""Resource estimates, checked before anything is allocated: memory and agent-rounds.

A run that cannot fit is refused with one line that gives the estimate and the key that
raises the limit, instead of dying in numpy's ``MemoryError`` or running for days. The
limits are the config's ``limits.*`` keys (left out of the config hash: they do not
change results).

The bytes per agent are measured, not derived: the peak traced memory (``tracemalloc``)
of ``sim.run`` at 20,000 and 80,000 agents x 4 replicates was 99-147 bytes per agent and
replicate (the repertoire scenarios the most); :data:`BYTES_PER_AGENT` rounds that up. A
per-decision trace (``trace=true``) measured 80 bytes per decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import ConfigError

BYTES_PER_AGENT = 200
"""Peak bytes per agent and replicate of a run (measured 99-147; see the module text)."""
BYTES_PER_DECISION = 96
"""Bytes per recorded decision of a trace (measured 80)."""
BYTES_PER_DRAW = 24
"""Bytes per bootstrap resample and accuracy value of the sandbagging test.

A replicate's test draws ``(bootstrap, questions + 1)`` multinomial counts (int64) and
their weighted means, one replicate at a time.
"""
GIB = 2**30


@dataclass(frozen=True)
class Limits:
    """``limits.*``: the most a run may use.

    Attributes:
        memory_gib: peak memory of one run (or one grid chunk), GiB.
        agent_rounds: agent-rounds of one run (grid: over every point), replicates included.
    """

    memory_gib: float = 4.0
    agent_rounds: float = 1e11


def _gib(n: float) -> str:
    return f"{n / GIB:.3g} GiB"


def check_run(
    limits: Limits,
    rows: int,
    n_agents: int,
    rounds: int,
    trace: bool = False,
    bootstrap: int = 0,
    what: str = "the run",
    total_rows: int | None = None,
) -> None:
    """Refuse a run whose estimate exceeds a limit.

    Args:
        limits: the limits.
        rows: rows simulated together (replicates, or points x replicates of a grid chunk).
        n_agents: agents per row.
        rounds: rounds of every phase together.
        trace: whether every decision is recorded.
        bootstrap: bootstrap resamples x accuracy values (``questions + 1``) of the
            sandbagging test (0 without evaluation episodes).
        what: how the message names the run.
        total_rows: rows over every chunk of a grid (default ``rows``), for the agent-rounds.

    Raises:
        ConfigError: one line with the estimate and the ``limits.*`` key to raise.
    """
    parts = {
        f"{rows:,} x {n_agents:,} agents": BYTES_PER_AGENT * rows * n_agents,
        "the trace": BYTES_PER_DECISION * rows * n_agents * rounds if trace else 0,
        "episodes.evaluation.bootstrap": BYTES_PER_DRAW * bootstrap,
    }
    memory = sum(parts.values())
    if memory > limits.memory_gib * GIB:
        biggest = max(parts, key=parts.get)
        raise ConfigError(
            f"{what} needs about {_gib(memory)} of memory (most for {biggest}), more than "
            f"the {limits.memory_gib:g} GiB limit limits.memory_gib (raise it, or make the "
            "run smaller)"
        )
    work = float(total_rows or rows) * n_agents * rounds
    if work > limits.agent_rounds:
        raise ConfigError(
            f"{what} needs {work:.3g} agent-rounds, more than the {limits.agent_rounds:.3g} "
            "limit limits.agent_rounds (raise it, or reduce n_agents, replicates or rounds)"
        )
