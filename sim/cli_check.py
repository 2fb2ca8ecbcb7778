"""Validate the overrides of a ``python -m sim`` command line before Hydra runs it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hydra.core.override_parser.overrides_parser import OverridesParser

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
        """The flags first, then the overrides: the order Hydra's own parser accepts."""
        return [*self.flags, *self.overrides]

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


def variants(overrides: list[str]) -> list[list[str]]:
    """Override lists that cover every swept value once (others at their first value)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
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

    from sim.config import compose_config
    from sim.outdir import check

    multirun = any(f in ("-m", "--multirun") for f in cmd.flags)
    try:
        first = variants(list(cmd.overrides))[0]
        cfg = compose_config(first, cmd.source, hydra=True)
        folder = OmegaConf.select(cfg, "hydra.sweep.dir" if multirun else "hydra.run.dir")
    except Exception:  # noqa: BLE001 - the task's checks below report bad overrides
        return
    if folder:
        check(folder, "hydra.sweep.dir" if multirun else "hydra.run.dir")
