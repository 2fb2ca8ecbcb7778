"""YAML from users' files, loaded safely: no code, and no alias bomb.

``yaml.safe_load`` never runs code, but its aliases share nodes, so a few lines
("billion laughs") stand for a document of billions of nodes that any later walk
(OmegaConf, JSON, a validation pass) expands. :func:`check_size` counts the nodes of
the expanded document on the composed node graph (each shared node counted once per
reference, in time linear in the file) and refuses past :data:`MAX_NODES`.
"""

from __future__ import annotations

import yaml

from sim.errors import ConfigError

MAX_NODES = 1_000_000
"""The most nodes a user's YAML file may expand to."""


def _expanded(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once (safe_load then fails on it or not)
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded(k, memo) + _expanded(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded(v, memo) for v in node.value)
    else:
        size = 1
    memo[key] = size
    return size


def check_size(text: str, what: str) -> None:
    """Refuse YAML whose aliases expand it past :data:`MAX_NODES` nodes.

    Raises:
        ConfigError: one line naming ``what``; also for a YAML syntax error.
    """
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if root is not None and _expanded(root, {}) > MAX_NODES:
        raise ConfigError(
            f"{what}: its aliases expand it to more than {MAX_NODES:,} nodes; refused"
        )


def load(text: str, what: str):
    """``yaml.safe_load(text)`` after :func:`check_size`."""
    check_size(text, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what}: not valid YAML ({str(exc).splitlines()[0]})") from exc
