"""The command lines of ``python -m analysis <command>``: tokens in any order a user types them.

Every analysis command parses its arguments with :func:`parse`. Two things make the plain
``argparse`` call fail on ordinary lines:

- an option with a variable number of values (``--designs D ...``) swallows the Hydra
  overrides typed after it (``--designs a b mitigation.random_audits.rate=0.5``);
- positionals split by an option (``collect a --out t b``) are refused.

:func:`parse` takes the Hydra overrides out first, when the command has an ``overrides``
positional: every token ``key=value`` (also ``+key=value``, ``++key=value``, ``~key``)
that is not the value of an option (``--out runs/rate=0.5`` stays the value of ``--out``).
The rest goes to ``argparse``'s ``parse_intermixed_args``, so options and positionals mix
freely. A bad line raises :class:`sim.errors.ConfigError` with one line (the commands print
``error: ...`` and exit 2); ``--help`` prints the help and exits 0 as usual.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sim.errors import ConfigError

OVERRIDES = "overrides"
"""The ``dest`` of the positional that collects a command's Hydra overrides."""


def is_override(token: str) -> bool:
    """A Hydra override: ``key=value``, ``+key=value``, ``++key=value`` or ``~key``."""
    return not token.startswith("-") and ("=" in token or token.startswith("~"))


def _action(parser: argparse.ArgumentParser, option: str) -> argparse.Action | None:
    """The action of an option string, or of the one long option it abbreviates."""
    table = parser._option_string_actions  # noqa: SLF001 (argparse keeps no public map)
    if option in table:
        return table[option]
    if parser.allow_abbrev and option.startswith("--"):
        hits = {a for name, a in table.items() if name.startswith(option)}
        if len(hits) == 1:
            return hits.pop()
    return None


def split_overrides(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], list[str]]:
    """``(overrides, rest)``: the override tokens of ``argv`` in order, and everything else.

    A token right after an option that takes a value is that value, whatever it looks like;
    after ``--`` nothing is taken out.
    """
    overrides, rest = [], []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            rest += tokens[i - 1 :]
            break
        if token.startswith("-") and len(token) > 1:
            rest.append(token)
            action = None if "=" in token else _action(parser, token)
            if action is None:
                continue
            nargs = action.nargs
            if nargs is None:
                take = 1
            elif isinstance(nargs, int):
                take = nargs
            elif nargs == "?":  # an optional value: the next plain token, if any
                nxt = tokens[i] if i < len(tokens) else "-"
                take = int(not nxt.startswith("-") and not is_override(nxt))
            else:  # "*", "+": its values are the plain tokens that follow, left in place
                take = 0
            rest += tokens[i : i + take]
            i += take
        elif is_override(token):
            overrides.append(token)
        else:
            rest.append(token)
    return overrides, rest


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse a command line whose options, positionals and overrides come in any order.

    Args:
        parser: the command's parser; a positional with ``dest="overrides"`` receives the
            Hydra overrides (in the order given).
        argv: the arguments after the command's name.

    Raises:
        ConfigError: the line does not parse (one line, naming the option).
        SystemExit: ``--help`` (code 0).
    """

    def error(message: str):
        raise ConfigError(f"{message} (see {parser.prog} --help)")

    has_overrides = any(a.dest == OVERRIDES and not a.option_strings for a in parser._actions)  # noqa: SLF001
    overrides, rest = split_overrides(parser, argv) if has_overrides else ([], list(argv))
    parser.error = error  # one line instead of usage + message + exit 2
    args = parser.parse_intermixed_args(rest)
    if has_overrides:
        setattr(args, OVERRIDES, [*overrides, *(getattr(args, OVERRIDES) or [])])
    return args


__all__ = ["OVERRIDES", "is_override", "parse", "split_overrides"]
