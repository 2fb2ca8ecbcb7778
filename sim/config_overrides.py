"""Override strings: rewritten into the forms Hydra composes, and refused where it would not.

:func:`normalize_overrides` turns what users naturally write into Hydra's grammar (a
trait's mapping into its list form, a plug-in's mix share added with ``++``, the grid
mode's ``linspace(..)`` quoted); :func:`check_override_forms` refuses what composition
would accept silently; :func:`hydra_text` and :func:`quote` write values back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.episode_types import type_names
from sim.errors import ConfigError
from sim.grid_axes import MITIGATION, mitigation_sets, set_union
from sim.population import POSITIONAL
from sim.state import TRAIT_NAMES

_TRAIT_KEY = re.compile(rf"^population\.(?:{'|'.join(TRAIT_NAMES)})=")


_PLAIN = re.compile(r"^[A-Za-z0-9_.+\-]*$")


def hydra_text(value: Any) -> str:
    """A Python value in Hydra's override grammar (numpy scalars and arrays included).

    Mappings and lists recursively, ``null``, ``true``/``false``, floats by ``repr``, and
    strings quoted unless they are plain words, with ``${`` escaped so that the value
    reaches the config literally, never as an interpolation.
    """
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{hydra_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text):
        return text
    # OmegaConf: ``${`` would interpolate; escape it (and double the backslashes before it)
    return quote(re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", text))


def quote(text: str) -> str:
    """``text`` as a quoted Hydra string that parses back to exactly ``text``.

    Each quote is escaped and the backslashes before a quote, or before the closing
    quote, are doubled, so that no value can end its own override and start another.
    """
    body = re.sub(r"(\\*)'", lambda m: m[1] * 2 + "\\'", text)
    body = re.sub(r"(\\+)$", lambda m: m[1] * 2, body)
    return f"'{body}'"


def _as_list_form(value):
    """A trait's mapping value in list form (``[beta,8,2]``), which replaces on override."""
    if not isinstance(value, dict):
        return value
    kind = value.get("dist")
    if kind == "list" and set(value) == {"dist", "values"} and isinstance(value["values"], list):
        return ["list", *value["values"]]
    names = POSITIONAL.get(kind, ())
    given = [n for n in names if n in value]
    if kind in POSITIONAL and set(value) == {"dist", *given} and given == list(names[: len(given)]):
        return [kind, *(value[n] for n in given)]
    return [value]  # not well formed: keep the keys so that validation can name the bad one


_GRID_CALL = re.compile(r"(?<!['\"])\b(?:linspace|logspace|range)\([^)]*\)")


_MIX_KEY = re.compile(r"^phases\.[^.=+~]+\.mix\.([A-Za-z_][A-Za-z0-9_]*)=")


def normalize_overrides(overrides: Sequence[str]) -> list[str]:
    """Rewrite trait overrides with a mapping value into the list form.

        Hydra merges ``key={...}`` into an existing mapping and cannot merge a mapping into
        a list; the presets use list forms (``[beta, 8, 2]``), which an override replaces.
        So ``population.theta={dist:uniform,low:0.2,high:0.9}`` becomes
        ``population.theta=[uniform,0.2,0.9]``, also inside a sweep. ``mitigations=[...]`` is
        read as the config group ``mitigation=[...]``. ``phases.P.mix.TYPE=share`` for a
        registered episode type the preset's mix does not list is added (``++``). In
        ``sweep.grid={...}`` the grid mode's
    ``linspace(..)``, ``logspace(..)`` and ``range(..)`` are quoted (they are not Hydra's
    sweep functions), and an axis of mitigation sets (``sweep.grid.mitigation``) adds
    the union of its sets as the mitigation list (each point keeps its own set's). Others
    are kept as given.
    """
    out = []
    names = set(type_names())
    for ov in overrides:
        mix = _MIX_KEY.match(ov)
        if mix and mix.group(1) in names:  # a type the preset's mix leaves out: add it
            ov = "++" + ov
        if ov.startswith("mitigations="):  # the plural reads naturally for a list
            ov = "mitigation=" + ov[len("mitigations=") :]
        if ov.lstrip("+").startswith("sweep.grid="):  # linspace(..) is ours, not Hydra's
            ov = _GRID_CALL.sub(lambda m: f"'{m.group(0)}'", ov)
        if not _TRAIT_KEY.match(ov) or "{" not in ov:
            out.append(ov)
            continue
        try:
            (parsed,) = OverridesParser.create().parse_overrides([ov])
        except Exception:  # leave syntax errors to Hydra's own message
            out.append(ov)
            continue
        key = parsed.get_key_element()
        if parsed.is_sweep_override():
            sweep = parsed.value()
            values = getattr(sweep, "list", None)
            if values is None:
                out.append(ov)
                continue
            text = ",".join(hydra_text(_as_list_form(v)) for v in values)
        else:
            text = hydra_text(_as_list_form(parsed.value()))
        out.append(f"{key}={text}")
    return _with_set_union(out)


def _with_set_union(overrides: list[str]) -> list[str]:
    """Compose every set of a ``sweep.grid.mitigation`` axis: add ``mitigation=[union]``.

    Raises:
        ConfigError: the axis is not a list of mitigation sets, or the command line also
            gives the mitigation list (each point's set is its list).
    """
    grid = [ov for ov in overrides if ov.lstrip("+").startswith("sweep.grid=")]
    if not grid or "mitigation" not in grid[-1]:
        return overrides
    try:
        (parsed,) = OverridesParser.create().parse_overrides([grid[-1]])
        value = parsed.value()
    except Exception:  # noqa: BLE001 - syntax errors get Hydra's own message in compose
        return overrides
    if not isinstance(value, dict) or MITIGATION not in value:
        return overrides
    from sim.mitigations import MITIGATIONS  # the registry, plug-ins included

    union = set_union(mitigation_sets(value[MITIGATION]))
    for m in union:
        if m not in MITIGATIONS:
            raise ConfigError(
                f"sweep.grid.mitigation: unknown mitigation {m!r} (available: "
                f"{', '.join(MITIGATIONS)})"
            )
    added = f"mitigation=[{','.join(union)}]"
    for ov in overrides:
        if ov == added:  # normalised already (the app and its checks both normalise)
            return overrides
        if ov.lstrip("+~").split("=", 1)[0] == MITIGATION:
            raise ConfigError(
                f"{ov}: sweep.grid.mitigation gives each point its mitigation set; drop the "
                "mitigation list (or the axis)"
            )
    return [*overrides, added]


_DELETABLE = ("phases.", "mitigation.")  # entries of the open mappings; not schema keys


def check_override_forms(overrides: Sequence[str]) -> None:
    """Refuse what composition would accept silently: ``~`` on the schema, a mitigation twice.

    ``~phases.NAME`` and ``~mitigation.NAME`` delete an entry of an open mapping (``~phases``
    all of them, to give new ones with ``+phases.NAME={...}``); any other
    ``~key`` (a key or a config group of the schema, ``~population``) would leave the
    schema's bare defaults in its place. ``mitigation=[a,a]`` would apply ``a`` once.

    Raises:
        ConfigError: one line naming the override.
    """
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception:  # noqa: BLE001 - syntax errors get Hydra's own message in compose
        return
    for ov in parsed:
        key = ov.key_or_group
        open_mapping = key in ("phases", "mitigation") or key.startswith(_DELETABLE)
        if ov.is_delete() and not open_mapping and not key.startswith("hydra"):
            raise ConfigError(
                f"~{key}: a key or config group of the schema cannot be deleted with ~ "
                "(set it instead; ~phases.NAME and ~mitigation.NAME delete entries)"
            )
        if key == "mitigation" and not ov.is_sweep_override():
            value = ov.value()
            names = value if isinstance(value, list) else [value]
            seen = [n for i, n in enumerate(names) if n in names[:i]]
            if seen:
                raise ConfigError(f"mitigation=[...]: {seen[0]} is listed twice")
