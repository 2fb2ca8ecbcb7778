"""The Mesa model's keyword arguments as Hydra overrides, one override per keyword, literally.

``SimModel(trainer__rho=0.3, name="x")`` becomes ``["trainer.rho=0.3", "name='x'"]``.
A keyword's name must be a config key spelled with ``__`` for the dots (letters, digits
and single underscores in each part), and its value is written in Hydra's grammar by
:func:`literal`: every string quoted, with the backslashes before a quote (or at the end)
escaped, so that no value can end its own override and start another. The overrides are
then parsed back with Hydra's own parser and must give exactly the keys and values given;
anything that would not be taken literally is refused with one line naming the keyword:
an interpolation ``${...}``, OmegaConf's missing-value marker ``???``, a mapping key that
is not a plain word, or a value of another type than a number, string, bool, None, list or
dict (numpy scalars and arrays count as their values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.config import quote
from sim.errors import ConfigError

RESERVED = ("replicates", "seed")
"""Config keys the model sets itself: one replicate, and the seed given to Mesa."""
_RESERVED_WHY = {
    "replicates": "replicates: the Mesa model runs one replicate (use batch_run's iterations)",
    "seed": "seed: give the model's seed= argument (Mesa's seed), not a config key",
}
_PART = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
KEYWORD = re.compile(rf"^{_PART}(?:__{_PART})*$")
"""A keyword argument naming a config key: parts joined by ``__`` (a dot)."""
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCENARIO = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def _show(value: Any, width: int = 60) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _plain(value: Any) -> Any:
    """``value`` with numpy values and tuples as Python scalars and lists."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def literal(kw: str, value: Any) -> str:
    """``value`` (already :func:`_plain`) in Hydra's override grammar, taken literally.

    Raises:
        ConfigError: the value cannot be given literally (one line naming ``kw``).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if "${" in value:
            raise ConfigError(
                f"{kw}={_show(value)}: a keyword argument's string is taken literally, and "
                "'${' would be an interpolation (give it in overrides= if you mean one)"
            )
        if value == "???":
            raise ConfigError(f"{kw}='???': '???' is OmegaConf's missing-value marker")
        return quote(value)
    if isinstance(value, list):
        return "[" + ",".join(literal(kw, v) for v in value) + "]"
    if isinstance(value, dict):
        bad = [k for k in value if not (isinstance(k, str) and _WORD.match(k))]
        if bad:
            raise ConfigError(f"{kw}: mapping key {_show(bad[0])} must be a plain word")
        return "{" + ",".join(f"{k}:{literal(kw, v)}" for k, v in value.items()) + "}"
    raise ConfigError(
        f"{kw}={_show(value)}: a keyword value must be a number, string, bool, None, list or dict"
    )


def _same(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN, types kept apart (1 is not 1.0 nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def keyword_overrides(params: Mapping[str, Any]) -> list[str]:
    """One literal override per keyword argument (``trainer__rho=0.3`` -> ``trainer.rho=0.3``).

    Raises:
        ConfigError: a keyword that is not a config key's spelling, or a value that cannot
            be given literally (one line naming the keyword).
    """
    keys, values, out = [], [], []
    for kw, value in params.items():
        if not KEYWORD.match(kw):
            raise ConfigError(
                f"{kw}: not a config key as a keyword argument (letters, digits and _, "
                "with __ for a dot: trainer__rho=0.3)"
            )
        key, value = kw.replace("__", "."), _plain(value)
        keys.append(key)
        values.append(value)
        out.append(f"{key}={literal(kw, value)}")
    if not out:
        return out
    parsed = OverridesParser.create().parse_overrides(out)  # our own text: it parses
    for kw, key, value, ov in zip(params, keys, values, parsed, strict=True):
        if ov.key_or_group != key or ov.package is not None or not _same(ov.value(), value):
            raise ConfigError(f"{kw}={_show(value)}: cannot be given literally as an override")
    return out


def to_overrides(
    scenario: str | None,
    n_agents: int | None,
    overrides: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
) -> list[str]:
    """The Hydra overrides of a model's arguments (without ``replicates`` and ``seed``).

    ``scenario`` must be a preset's name and ``n_agents`` an integer; the keyword
    arguments are :func:`keyword_overrides`; the explicit ``overrides`` strings come last,
    so they win over the keyword arguments.

    Raises:
        ConfigError: a bad argument, or a key the model sets itself (``replicates``,
            ``seed``), one line naming it.
    """
    if isinstance(overrides, str):
        overrides = (overrides,)
    if not isinstance(overrides, Sequence) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"overrides={_show(overrides)} must be a list of strings")
    out = []
    if scenario is not None:
        if not isinstance(scenario, str) or not _SCENARIO.match(scenario):
            raise ConfigError(
                f"scenario={_show(scenario)} must be the name of a preset of configs/scenario/"
            )
        out.append(f"scenario={scenario}")
    if n_agents is not None:
        n_agents = _plain(n_agents)
        if not isinstance(n_agents, int) or isinstance(n_agents, bool) or n_agents < 1:
            raise ConfigError(f"n_agents={_show(n_agents)} must be an integer >= 1")
        out.append(f"n_agents={n_agents}")
    out += keyword_overrides(params or {})
    out += list(overrides)
    for ov in out:
        key = ov.split("=", 1)[0].lstrip("+~")
        if key in RESERVED:
            raise ConfigError(_RESERVED_WHY[key])
    return out


def name_keyword(message: str, params: Mapping[str, Any]) -> str:
    """Add the keyword argument's spelling to an error about a key given as one."""
    for kw in params:
        key = kw.replace("__", ".")
        if "__" in kw and re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", message):
            return f"{message} (keyword argument {kw})"
    return message
