"""Validate the overrides of a ``python -m sim`` command line before Hydra runs it."""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.config import load_params
from sim.errors import ConfigError
from sim.search import check as search_check

# Hydra flags that take a value in the next argument.
_FLAGS_WITH_VALUE = {
    "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
    "--cfg", "-c", "--package", "-p", "--experimental-rerun",
}  # fmt: skip
# Flags after which Hydra does not run the task function.
_NO_RUN = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i",
           "--shell-completion", "-sc"}  # fmt: skip


def split_argv(argv: Sequence[str]) -> tuple[list[str], bool]:
    """Return the task overrides of a command line and whether the task would run."""
    overrides, runs, skip = [], True, False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _NO_RUN or arg.split("=")[0] in _NO_RUN:
            runs = False
        if arg in _FLAGS_WITH_VALUE:
            skip = True
        elif arg.startswith("-"):
            continue
        elif not arg.lstrip("+~").startswith(("hydra.", "hydra/")):
            overrides.append(arg)
    return overrides, runs


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


def check_argv(argv: Sequence[str]) -> None:
    """Raise a one-line :class:`ConfigError` if any run of this command line has bad input."""
    overrides, runs = split_argv(argv)
    if not runs:
        return
    try:
        combos = variants(overrides)
    except Exception as exc:  # the override grammar's errors
        raise ConfigError(f"bad override syntax: {str(exc).splitlines()[0]}") from exc
    for combo in combos:
        cfg, params = load_params(combo)
        search_check(cfg)
        if cfg.sweep.grid:  # grid mode: every axis and value, before Hydra creates a folder
            from sim.grid import check_grid

            check_grid(cfg, params)
