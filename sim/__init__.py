"""The simulator's core and its Hydra app.

Public API::

    from sim import run
    res = run(["scenario=alignment_faking", "population.sigma=0", "seed=1"])
    res.metrics["post_rl"]["compliance_gap"]   # {"mean", "ci_low", "ci_high", "n"}
    res.rounds                                  # per-round pandas DataFrame
"""

from sim.api import execute, run
from sim.errors import ConfigError
from sim.results import Results

__all__ = ["ConfigError", "Results", "execute", "run"]
