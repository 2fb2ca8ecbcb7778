"""Environments over the one core: a vectorised arena, PettingZoo and Gymnasium adapters.

Importing this package registers the Gymnasium environment ``sim/TrainingGame-v0``
(:class:`sim.envs.gym_env.TrainingGameEnv`)::

    import gymnasium as gym
    import sim.envs  # noqa: F401  (registers)

    env = gym.make("sim/TrainingGame-v0", overrides=["scenario=alignment_faking"])

``gym.make_vec(GYM_ID, num_envs=N, vectorization_mode="vector_entry_point")`` is the
population of ``N`` agents of one run as one vector environment
(:class:`sim.envs.population.PopulationVecEnv`). The PettingZoo environment
``training_game_v0`` is
:class:`sim.envs.parallel.TrainingGameParallelEnv` (``sim.envs.parallel_env(...)``).
The core (``sim``, ``sim.engine``) never imports Gymnasium or PettingZoo; this package
imports Gymnasium's registry only, and the rest when first used. docs/envs.md describes
both environments.
"""

from gymnasium.envs.registration import register, registry

GYM_ID = "sim/TrainingGame-v0"
"""The Gymnasium id of :class:`sim.envs.gym_env.TrainingGameEnv`."""

if GYM_ID not in registry:
    register(
        id=GYM_ID,
        entry_point="sim.envs.gym_env:TrainingGameEnv",
        vector_entry_point="sim.envs.population:PopulationVecEnv",
    )

_LAZY = {
    "Arena": "sim.envs.arena",
    "TrainingGameEnv": "sim.envs.gym_env",
    "TrainingGameParallelEnv": "sim.envs.parallel",
    "MonitorPolicy": "sim.envs.parallel",
    "parallel_env": "sim.envs.parallel",
    "PopulationVecEnv": "sim.envs.population",
    "to_sb3": "sim.envs.population",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim.envs' has no attribute {name!r}")


__all__ = ["GYM_ID", *_LAZY]
