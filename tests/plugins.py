"""The example plug-ins of examples/, registered by an explicit call (as a user may do).

The test session does not install them (tests/integration/test_plugins.py installs one
and finds it by its entry point); registering them here puts them in the registries, so
the inherited invariant suites (tests/agents/test_rules.py) run over them too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from agents.registry import RULES, register_rule
from sim.config_source import ConfigSource, plugin_dirs
from sim.episode_types import EPISODE_TYPE_CLASSES, register_episode_type
from sim.mitigations import MITIGATIONS, register_mitigation

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RULE_PLUGINS = {"finite_horizon": ("finite_horizon", "finite_horizon_rule", "FiniteHorizonPlanner")}
"""Rule name -> (example folder, module, class)."""
MITIGATION_PLUGINS = {"myopia_training": ("myopia_training", "myopia_training", "MyopiaTraining")}
"""Mitigation name -> (example folder, module, class)."""
EPISODE_PLUGINS = {"sabotage": ("safety_sabotage", "safety_sabotage", "Sabotage")}
"""Episode type name -> (example folder, module, class)."""
CONFIG_PLUGINS = (
    EXAMPLES / "myopia_training" / "myopia_training_configs",
    EXAMPLES / "safety_sabotage" / "safety_sabotage_configs",
)
"""The example plug-ins' config folders (an installed plug-in's come by entry point)."""


def load_module(folder: str, module: str):
    """Import ``examples/<folder>/<module>.py`` (once) and return it."""
    if module not in sys.modules:
        spec = importlib.util.spec_from_file_location(module, EXAMPLES / folder / f"{module}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[module] = mod
        spec.loader.exec_module(mod)
    return sys.modules[module]


def register_examples() -> list[str]:
    """Register every example rule, mitigation and episode type not registered yet.

    (An installed example is registered already, by its entry point.)

    Returns:
        The example rules' names.
    """
    for name, (folder, module, cls) in RULE_PLUGINS.items():
        if name not in RULES:
            register_rule(getattr(load_module(folder, module), cls))
    for name, (folder, module, cls) in MITIGATION_PLUGINS.items():
        if name not in MITIGATIONS:
            register_mitigation(getattr(load_module(folder, module), cls))
    for name, (folder, module, cls) in EPISODE_PLUGINS.items():
        if name not in EPISODE_TYPE_CLASSES:
            register_episode_type(getattr(load_module(folder, module), cls))
    return sorted(RULE_PLUGINS)


def example_source() -> ConfigSource:
    """The shipped presets with the example plug-ins' config folders searched too."""
    return ConfigSource(plugins=(*plugin_dirs(), *CONFIG_PLUGINS))
