"""The Mesa 3 front end: :class:`SimModel`, a thin adapter over the one core.

Importing this package imports mesa, which sets multiprocessing's start method to
"spawn" for the whole process; nothing else in ``sim`` imports it. docs/mesa.md is the
user page.

Example::

    from sim.abm import SimModel
    model = SimModel(n_agents=1000, seed=0, trainer__rho=0.3)
    model.run_model()
    model.datacollector.get_model_vars_dataframe()
"""

from sim.abm.agents import AGENT_REPORTERS, AIAgent, TrainerAgent
from sim.abm.model import COUNTS, REPORTED, SEED_BOUND, SimModel, model_reporters

__all__ = [
    "AGENT_REPORTERS",
    "AIAgent",
    "COUNTS",
    "REPORTED",
    "SEED_BOUND",
    "SimModel",
    "TrainerAgent",
    "model_reporters",
]
