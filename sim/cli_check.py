"""Validate the overrides of a ``python -m sim`` command line before Hydra runs it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, RangeSweep

from sim.config import load_params
from sim.config_source import ConfigSource
from sim.errors import ConfigError
from sim.search import check as search_check

# Hydra's flags that take a value in the next argument (or after ``=``).
_FLAGS_WITH_VALUE = {
    "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
    "--cfg", "-c", "--package", "-p", "--experimental-rerun",
}  # fmt: skip
_INFO = {"--info", "-i"}  # an optional value, one of _INFO_VALUES
_INFO_VALUES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
# Flags after which Hydra does not run the task function.
_NO_RUN = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i",
           "--shell-completion", "-sc", "--list"}  # fmt: skip
_SOURCE_FLAGS = {"--config-path": "path", "-cp": "path", "--config-name": "name",
                 "-cn": "name", "--config-dir": "dir", "-cd": "dir"}  # fmt: skip


@dataclass(frozen=True)
class CommandLine:
    """A ``python -m sim`` command line, split into Hydra's flags and the overrides.

    Attributes:
        flags: Hydra's flags with their values, in the order given.
        overrides: Every other argument (task and ``hydra.*`` overrides), in order.
        runs: Whether Hydra would run the task (not for ``--help``, ``--cfg``, ...).
        source: The config folders the flags name (``--config-dir`` and the like).
    """

    flags: tuple[str, ...]
    overrides: tuple[str, ...]
    runs: bool
    source: ConfigSource

    def argv(self) -> list[str]:
        """The flags first, then the overrides: the order Hydra's own parser accepts.

        The installed plug-ins' config folders join Hydra's search path, unless the user
        sets ``hydra.searchpath`` (then theirs is the whole search path).
        """
        return [*self.flags, *self.overrides, *self.source.searchpath(self.overrides, extra=False)]

    def task_overrides(self) -> list[str]:
        """The overrides of the task's config (not ``hydra.*`` or ``hydra/...``)."""
        return [o for o in self.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]


def parse_argv(argv: Sequence[str]) -> CommandLine:
    """Split a command line; Hydra's flags may come anywhere, as Hydra documents them.

    Raises:
        ConfigError: for a flag missing its value, or ``--experimental-rerun`` (it would
            run a saved config without this check; rerun with the saved overrides instead).
    """
    flags, overrides, runs, given = [], [], True, {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            overrides.append(arg)
            continue
        name, eq, value = arg.partition("=")
        runs = runs and name not in _NO_RUN
        if name == "--experimental-rerun":
            raise ConfigError(
                "--experimental-rerun: not supported (it skips the input checks); run again "
                "with the overrides saved in the run's .hydra/overrides.yaml"
            )
        if name in _FLAGS_WITH_VALUE and not eq:
            if i >= len(args):
                raise ConfigError(f"{name}: missing its value")
            value = args[i]
            flags += [arg, value]
            i += 1
        elif name in _INFO and not eq and i < len(args) and args[i] in _INFO_VALUES:
            flags += [arg, args[i]]
            i += 1
        else:
            flags.append(arg)
        if name in _SOURCE_FLAGS:
            given[_SOURCE_FLAGS[name]] = value
    source = ConfigSource.from_flags(given.get("path"), given.get("name"), given.get("dir"))
    return CommandLine(tuple(flags), tuple(overrides), runs, source)


def split_argv(argv: Sequence[str]) -> tuple[list[str], bool]:
    """Return the task overrides of a command line and whether the task would run."""
    cmd = parse_argv(argv)
    return cmd.task_overrides(), cmd.runs


MAX_JOBS = 100_000
"""The most jobs one multirun may launch (the product of its swept values' counts)."""


def _sweep_size(key: str, value) -> int | None:
    """How many values a sweep gives, counted without making them (None: not enumerated).

    Raises:
        ConfigError: a ``range`` with a bound or step that is not finite, or a zero step.
    """
    if isinstance(value, RangeSweep):
        bounds = (value.start, value.stop, value.step)
        if not all(isinstance(b, int | float) and math.isfinite(b) for b in bounds):
            raise ConfigError(f"{key}=range{bounds}: bounds and step must be finite numbers")
        if value.step == 0:
            raise ConfigError(f"{key}=range{bounds}: the step must not be 0")
        return max(0, math.ceil((value.stop - value.start) / value.step))
    if isinstance(value, ChoiceSweep):
        return len(value.list)
    return None


def variants(overrides: list[str]) -> list[list[str]]:
    """Override lists that cover every swept value once (others at their first value).

    Raises:
        ConfigError: the sweep would launch more than :data:`MAX_JOBS` jobs, counted
            before any value is made (``range(0,1,1e-12)`` is refused, not enumerated).
    """
    parsed = OverridesParser.create().parse_overrides(overrides)
    jobs = 1
    for ov in parsed:
        if ov.is_sweep_override():
            key = ov.get_key_element()
            size = _sweep_size(key, ov.value())
            jobs *= size if size is not None else 1
            if jobs > MAX_JOBS:
                raise ConfigError(
                    f"{key}: the multirun would launch {jobs:,.0f} jobs or more, more than "
                    f"{MAX_JOBS:,}; for a large grid use sweep.grid (docs/sweeps.md)"
                )
    choices = []
    for ov in parsed:
        if ov.is_sweep_override():
            key = ov.get_key_element()
            try:
                choices.append([f"{key}={v}" for v in ov.sweep_string_iterator()])
            except Exception:  # noqa: BLE001 - interval(a,b): a sweeper samples it; unchecked here
                continue
        else:
            choices.append([ov.input_line])
    base = [c[0] for c in choices]
    out = [base]
    for i, c in enumerate(choices):
        out += [base[:i] + [v] + base[i + 1 :] for v in c[1:]]
    return out


def check_argv(argv: Sequence[str] | CommandLine) -> None:
    """Raise a one-line :class:`ConfigError` if any run of this command line has bad input.

    Composes from the same folders Hydra will (``--config-dir``, ``--config-path``,
    ``--config-name``).
    """
    cmd = argv if isinstance(argv, CommandLine) else parse_argv(argv)
    if not cmd.runs:
        return
    overrides = cmd.task_overrides()
    try:
        combos = variants(overrides)
    except ConfigError:
        raise
    except Exception as exc:  # the override grammar's errors
        raise ConfigError(f"bad override syntax: {str(exc).splitlines()[0]}") from exc
    check_output(cmd)
    for combo in combos:
        cfg, params = load_params(combo, cmd.source)
        search_check(cfg)
        if cfg.sweep.grid:  # grid mode: every axis and value, before Hydra creates a folder
            from sim.grid import check_grid

            check_grid(cfg, params)


def check_output(cmd: CommandLine) -> None:
    """Refuse the run's (or sweep's) folder before Hydra creates anything in it.

    ``hydra.run.dir=configs`` would otherwise have Hydra write ``configs/.hydra/`` and the
    run its results into the project's own presets (:mod:`sim.outdir`).
    """
    from omegaconf import OmegaConf

    from sim.config import compose_config, one_line
    from sim.outdir import check

    multirun = any(f in ("-m", "--multirun") for f in cmd.flags)
    try:
        first = variants(list(cmd.overrides))[0]
    except ConfigError:
        raise
    except Exception as exc:  # the override grammar's errors, in Hydra's own overrides
        raise ConfigError(f"bad override syntax: {str(exc).splitlines()[0]}") from exc
    cfg = compose_config(first, cmd.source, hydra=True)  # Hydra's own keys too (+hydra.x)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    try:
        folder = OmegaConf.select(cfg, key)
    except Exception as exc:  # noqa: BLE001 - e.g. name=??? in the folder's interpolation
        raise ConfigError(one_line(exc, cmd.source)) from exc
    if folder:
        check(folder, "hydra.sweep.dir" if multirun else "hydra.run.dir")
