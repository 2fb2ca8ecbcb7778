"""Where the configs come from: the shipped presets, and a user's own folders on top of them.

The presets live in the repository's top-level ``configs/`` folder, which the package
ships as the data package ``sim_configs`` (pyproject's ``package-dir``). So an editable
install, a regular install and a wheel all find the same files: :data:`CONFIG_DIR` is
wherever ``sim_configs`` is installed (the checkout's ``configs/`` when editable).

A user adds folders with Hydra's ``--config-dir`` (searched after the presets, as Hydra
does) or replaces the primary folder with an absolute ``--config-path``; ``--config-name``
picks another primary config. :class:`ConfigSource` carries these so that the command
line's pre-check composes from the same folders Hydra will.

Plug-in configs: a plug-in that brings config files (a mitigation's
``mitigation/<name>.yaml``, a scenario) declares the package that holds them as an entry
point of the group :data:`CONFIG_ENTRY_POINTS`; its folder is searched after the presets
and the user's ``--config-dir`` (a file of the presets, or of the user's folder, wins)::

    [project.entry-points."training_incentives_sim.configs"]
    myopia_training = "myopia_training_configs"
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from sim.errors import ConfigError


def _shipped_dir() -> Path:
    """The installed ``sim_configs`` folder, or the checkout's ``configs/`` when not installed."""
    spec = importlib.util.find_spec("sim_configs")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return Path(__file__).resolve().parent.parent / "configs"


CONFIG_DIR = _shipped_dir()
"""The folder of the shipped presets (``config.yaml`` and the config groups)."""

CONFIG_NAME = "config"
CONFIG_ENTRY_POINTS = "training_incentives_sim.configs"
"""The entry-point group of plug-ins' config folders (the value names a package)."""


def plugin_dirs() -> tuple[Path, ...]:
    """The config folders the installed plug-ins declare, in entry-point name order.

    A declared package that cannot be found is skipped with one warning line.
    """
    out = []
    for ep in sorted(entry_points(group=CONFIG_ENTRY_POINTS), key=lambda e: e.name):
        try:
            spec = importlib.util.find_spec(ep.value)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            warnings.warn(
                f"plug-in {ep.name} = {ep.value} ({CONFIG_ENTRY_POINTS}): no such package, "
                "its configs are not searched",
                stacklevel=2,
            )
            continue
        out.append(Path(next(iter(spec.submodule_search_locations))).resolve())
    return tuple(out)


@dataclass(frozen=True)
class ConfigSource:
    """The folders and primary config a composition reads.

    Attributes:
        primary: The primary config folder (``--config-path``; the presets by default).
        name: The primary config's name (``--config-name``).
        extra: Folders searched after the primary one (``--config-dir``).
        plugins: The installed plug-ins' config folders, searched last.
    """

    primary: Path = CONFIG_DIR
    name: str = CONFIG_NAME
    extra: tuple[Path, ...] = ()
    plugins: tuple[Path, ...] = field(default_factory=plugin_dirs)

    @classmethod
    def from_flags(
        cls, config_path: str | None, config_name: str | None, config_dir: str | None
    ) -> ConfigSource:
        """The source named by Hydra's three config flags (None for a flag not given).

        Raises:
            ConfigError: for a relative ``--config-path`` (Hydra would read it relative to
                the installed ``sim`` package, never what a user means) or a missing folder.
        """
        primary = CONFIG_DIR
        if config_path is not None:
            if not Path(config_path).is_absolute():
                raise ConfigError(
                    f"--config-path {config_path}: give an absolute folder, or add your "
                    "folder on top of the presets with --config-dir"
                )
            primary = Path(config_path)
            if not primary.is_dir():
                raise ConfigError(f"--config-path {config_path}: no such folder")
        extra = ()
        if config_dir is not None:
            folder = Path(config_dir).resolve()
            if not folder.is_dir():
                raise ConfigError(f"--config-dir {config_dir}: no such folder")
            extra = (folder,)
        if config_name is not None and not config_name.strip():
            raise ConfigError("--config-name: empty name")
        return cls(primary, config_name or CONFIG_NAME, extra)

    def folders(self) -> tuple[Path, ...]:
        """Every folder searched, in Hydra's order (the first holding a file wins)."""
        return (self.primary, *self.extra, *self.plugins)

    def searchpath(self, overrides: Sequence[str] = (), extra: bool = True) -> list[str]:
        """The ``hydra.searchpath`` override that adds :attr:`extra` and :attr:`plugins`.

        Empty without either, or when ``overrides`` set ``hydra.searchpath`` themselves
        (then the user's is the whole search path); ``extra=False`` leaves out
        :attr:`extra` (for Hydra's own command line, where ``--config-dir`` adds it).
        """
        if any(o.lstrip("+").startswith("hydra.searchpath") for o in overrides):
            return []
        folders = [*(self.extra if extra else ()), *self.plugins]
        if not folders:
            return []
        return ["hydra.searchpath=[" + ",".join(f"'file://{p}'" for p in folders) + "]"]

    def group_options(self, group: str) -> list[str]:
        """The preset names of a config group across every folder (sorted, unique)."""
        names = {p.stem for d in self.folders() for p in (d / group).glob("*.yaml")}
        return sorted(names)

    def has_group(self, group: str) -> bool:
        """Whether any folder has the config group ``group``."""
        return any((d / group).is_dir() for d in self.folders())
