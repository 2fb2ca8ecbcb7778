"""``python -m analysis collect``: one tidy table of every run under some folders (docs/collect.md).

It walks each folder given for run folders (a single run, a Hydra multirun, a grid run,
or any tree of them) and writes one long table: one row per run x phase x metric, with
the run's identity, its swept parameters as columns, and the summary over replicates.
Partial and corrupt run folders are reported on stderr, one line each, and skipped.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.errors import ConfigError
from sim.outdir import claim
from sim.results import COMPLETE, UNHASHED, config_hash, first_line, read_config, read_parquet

ID_COLUMNS = ("sweep", "run", "config_hash", "seed", "replicates", "n_agents")
"""The run's identity, first in the table."""
STAT_COLUMNS = ("phase", "metric", "mean", "sd", "ci_low", "ci_high", "n", "min", "max")
"""The summary over replicates, last in the table; the swept parameters come in between."""
MARKERS = ("config.yaml", "metrics.json", COMPLETE, "grid.parquet", ".hydra")
"""A folder holding any of these is a run folder (complete or not)."""
RUN_FILES = ("config.yaml", "metrics.json", "rounds.parquet")
GRID_FILES = ("config.yaml", "grid.parquet", "metrics.parquet")


@dataclass(frozen=True)
class Skipped:
    """A run folder that was not collected, and why (one line)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class _Run:
    """One collected run (or grid point): its identity and config."""

    sweep: str
    run: str
    config_hash: str
    config: dict[str, Any]
    axes: tuple[str, ...] = ()  # a grid point's axes


@dataclass
class _Batch:
    """The runs of one folder (one, or a grid's points), their summary and values.

    In both tables ``_i`` is the index of the row's run in ``runs``.
    """

    runs: list[_Run]
    summary: pd.DataFrame
    values: pd.DataFrame | None


def find_run_folders(root: Path, exclude: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Run folders under ``root`` (itself included), depth first in name order.

    A run folder is not searched further. Hidden folders (Hydra's ``.hydra``, the
    ``.staging-*`` folders of a save in progress) are never entered.

    Args:
        root: the folder to walk.
        exclude: files that do not make a folder a run folder (the output table).
    """
    names = {p.name for p in root.iterdir()}
    markers = [m for m in MARKERS if m in names and (root / m).resolve() not in exclude]
    if markers:
        yield root
        return
    for child in sorted(root.iterdir(), key=lambda p: _natural(p.name)):
        if child.is_dir() and not child.name.startswith(".") and not child.is_symlink():
            yield from find_run_folders(child, exclude)


def _natural(name: str) -> tuple:
    """Sort key putting ``2`` before ``10`` (Hydra's job numbers)."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({first_line(exc)})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"{path}: unreadable (not metrics[phase][metric])")
    return data


def _check_parquet(path: Path) -> None:
    """Read only the footer: enough to find a truncated file without loading it."""
    try:
        pq.ParquetFile(path).metadata  # noqa: B018
    except Exception as exc:
        raise ConfigError(f"{path}: unreadable ({first_line(exc)})") from exc


def _require(folder: Path, names: tuple[str, ...]) -> None:
    for name in names:
        if not (folder / name).is_file():
            raise ConfigError(f"{folder / name}: missing")


def _with_spread(summary: pd.DataFrame, values: pd.DataFrame | None, by: list) -> pd.DataFrame:
    """``summary`` (``by``, mean, ci_low, ci_high, n) with sd, min and max added.

    They are the sd (ddof 1), min and max of each ``by`` group's finite replicate values.
    """
    summary = summary.astype({"phase": str, "metric": str})
    out_cols = [c for c in by if c not in ("phase", "metric")] + list(STAT_COLUMNS)
    if values is None or values.empty:
        out = summary.assign(sd=math.nan, min=math.nan, max=math.nan)
    else:
        values = values.astype({"phase": str, "metric": str})
        v = values[np.isfinite(values["value"].to_numpy(dtype=float))]
        g = v.groupby(by, observed=True, sort=False)["value"]
        spread = pd.DataFrame({"sd": g.std(ddof=1), "min": g.min(), "max": g.max()})
        out = summary.merge(spread.reset_index(), on=by, how="left")
    for col in ("mean", "sd", "ci_low", "ci_high", "min", "max"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["n"] = pd.to_numeric(out["n"], errors="coerce").fillna(0).astype(np.int64)
    return out[out_cols]


def _number(x) -> float:
    return math.nan if x is None else float(x)


def read_run(folder: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The config, the summary and the replicates' values of one complete run folder.

    The summary has phase, metric, mean, ci_low, ci_high and n; the values phase, metric
    and value (from replicates.parquet, or the p-values' replicates in metrics.json).

    Raises:
        ConfigError: one line naming the missing or unreadable file.
    """
    _require(folder, RUN_FILES)
    config = read_config(folder / "config.yaml")
    metrics = _read_json(folder / "metrics.json")
    _check_parquet(folder / "rounds.parquet")
    rows, per_rep = [], []
    for phase, stats in metrics.items():
        for metric, s in stats.items():
            if not isinstance(s, dict) or "mean" not in s:
                raise ConfigError(f"{folder / 'metrics.json'}: unreadable ({phase}.{metric})")
            rows.append(
                (phase, metric, _number(s["mean"]), _number(s.get("ci_low")),
                 _number(s.get("ci_high")), s.get("n", 0))
            )  # fmt: skip
            per_rep += [(phase, metric, _number(x)) for x in s.get("replicates") or ()]
    summary = pd.DataFrame(rows, columns=["phase", "metric", "mean", "ci_low", "ci_high", "n"])
    values = pd.DataFrame(per_rep, columns=["phase", "metric", "value"])
    if (folder / "replicates.parquet").exists():
        values = read_parquet(folder / "replicates.parquet", ("phase", "metric", "value"))
    return config, summary, values[["phase", "metric", "value"]]


def read_grid(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The base config, the grid (point, axes, config_hash), the summary and the values.

    As :func:`read_run`, with ``point`` first; the values are None without replicates.parquet.

    Raises:
        ConfigError: one line naming the missing or unreadable file.
    """
    _require(folder, GRID_FILES)
    config = read_config(folder / "config.yaml")
    grid = read_parquet(folder / "grid.parquet", ("point", "config_hash"))
    metrics = read_parquet(
        folder / "metrics.parquet", ("point", "phase", "metric", "mean", "ci_low", "ci_high", "n")
    )
    values = None
    if (folder / "replicates.parquet").exists():
        values = read_parquet(folder / "replicates.parquet", ("point", "phase", "metric", "value"))
        values = values[["point", "phase", "metric", "value"]]
    if (folder / "rounds.parquet").exists():
        _check_parquet(folder / "rounds.parquet")
    return config, grid, metrics, values


def axes_of(grid: pd.DataFrame) -> list[str]:
    """The grid's axes: the dotted config keys among the columns of ``grid.parquet``."""
    return [c for c in grid.columns if c not in ("point", "config_hash")]


def set_key(config: dict, key: str, value) -> None:
    """Set the dotted ``key`` of a nested mapping, creating the parents."""
    node = config
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value; lists are leaves; :data:`UNHASHED` roots are left out."""
    out = {}
    for key, value in config.items():
        if not prefix and key in UNHASHED:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flatten(value, f"{name}.")
        else:
            out[name] = value
    return out


def _text(value) -> str | None:
    """A value as a Hydra override would write it (``[beta,8,2]``); None stays None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_text(v) or "null" for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _column(values: list) -> list:
    """Numbers (and None) stay numbers, booleans stay booleans; anything else is text."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present) and present:
        return values
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return [math.nan if v is None else v for v in values]
    return [_text(v) for v in values]


def _differs(values: list) -> bool:
    return len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1


def _by_run(df: pd.DataFrame | None, index: dict[int, int]) -> pd.DataFrame | None:
    """A grid's table with ``point`` replaced by ``_i``; points not in the grid dropped."""
    if df is None:
        return None
    df = df.assign(_i=df["point"].map(index)).dropna(subset="_i")
    return df.drop(columns="point").astype({"_i": np.int64})


def _batches(root: Path, exclude: tuple[Path, ...], seen: set) -> Iterator[_Batch | Skipped]:
    sweep = str(root)
    for folder in find_run_folders(root, exclude):
        if folder.resolve() in seen:  # under two of the folders given: collected once
            continue
        seen.add(folder.resolve())
        rel = folder.relative_to(root).as_posix()
        if not (folder / COMPLETE).exists():
            yield Skipped(folder, f"partial (no {COMPLETE} marker)")
            continue
        try:
            if (folder / "grid.parquet").exists():
                base, grid, summary, values = read_grid(folder)
                axes = tuple(axes_of(grid))
                runs, index = [], {}
                for row in grid.to_dict("records"):
                    config = copy.deepcopy(base)
                    for axis in axes:
                        value = row[axis]  # numbers, or a categorical axis's strings
                        set_key(config, axis, value.item() if hasattr(value, "item") else value)
                    index[int(row["point"])] = len(runs)
                    runs.append(_Run(sweep, f"{rel}#{int(row['point'])}",
                                     str(row["config_hash"]), config, axes))  # fmt: skip
                yield _Batch(runs, _by_run(summary, index), _by_run(values, index))
            else:
                config, summary, values = read_run(folder)
                run = _Run(sweep, rel, config_hash(config), config)
                yield _Batch([run], summary.assign(_i=0), values.assign(_i=0))
        except ConfigError as err:
            yield Skipped(folder, f"corrupt: {str(err).replace(f'{folder}/', '')}")


def collect(
    paths: list[Path], exclude: tuple[Path, ...] = ()
) -> tuple[pd.DataFrame, list[Skipped]]:
    """One long table of every complete run under ``paths``, and the folders skipped.

    Args:
        paths: folders to walk (a run folder, a multirun, a grid run, or a tree of them).
        exclude: files that do not make a folder a run folder (the output table).

    Returns:
        The table (:data:`ID_COLUMNS`, the swept parameters, :data:`STAT_COLUMNS`; one row
        per run x phase x metric; empty if nothing was collected) and the skipped folders.

    Raises:
        ConfigError: a path is not a folder.
    """
    runs, summaries, values, skipped, seen = [], [], [], [], set()
    exclude = tuple(Path(p).resolve() for p in exclude)
    for root in map(Path, paths):
        if not root.is_dir():
            raise ConfigError(f"{root}: no such folder")
        for item in _batches(root, exclude, seen):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            summaries.append(item.summary.assign(_i=item.summary["_i"] + len(runs)))
            if item.values is not None:
                values.append(item.values.assign(_i=item.values["_i"] + len(runs)))
            runs += item.runs
    grid_axes = list(dict.fromkeys(a for r in runs for a in r.axes))
    flat = [flatten(r.config) for r in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    swept = [k for k in keys if k in grid_axes or _differs([f.get(k) for f in flat])]
    swept += [k for k in grid_axes if k not in swept]
    params = [k for k in swept if k not in ID_COLUMNS]
    order = [*ID_COLUMNS, *params, *STAT_COLUMNS]
    if not runs:
        return pd.DataFrame(columns=order), skipped
    head = {
        "sweep": [r.sweep for r in runs],
        "run": [r.run for r in runs],
        "config_hash": [r.config_hash for r in runs],
    }
    head |= {k: [f.get(k) for f in flat] for k in ("seed", "replicates", "n_agents")}
    head |= {k: _column([f.get(k) for f in flat]) for k in params}
    ids = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in head.items()})
    stats = _with_spread(
        pd.concat(summaries, ignore_index=True),
        pd.concat(values, ignore_index=True) if values else None,
        ["_i", "phase", "metric"],
    )
    ids = ids.take(stats["_i"].to_numpy()).reset_index(drop=True).infer_objects()
    table = pd.concat([ids, stats.drop(columns="_i")], axis=1)[order]
    return table.astype({c: "int64" for c in ("seed", "replicates", "n_agents", "n")}), skipped


def swept_columns(table: pd.DataFrame) -> list[str]:
    """The swept parameters of a collected table.

    Its columns between the identity and the statistics, then ``seed``, ``replicates`` and
    ``n_agents`` if they vary.
    """
    params = [c for c in table.columns if c not in ID_COLUMNS and c not in STAT_COLUMNS]
    varying = [c for c in ("seed", "replicates", "n_agents") if table[c].nunique() > 1]
    return params + varying


def read_table(path: Path) -> pd.DataFrame:
    """A table written by :func:`write_table` (``.parquet`` or ``.csv``).

    Raises:
        ConfigError: the file is missing, unreadable or not a collected table.
    """
    try:
        if path.suffix == ".csv":
            table = pd.read_csv(path, dtype={"sweep": str, "run": str, "config_hash": str})
        else:
            table = pd.read_parquet(path)
    except Exception as exc:
        raise ConfigError(f"{path}: unreadable ({first_line(exc)})") from exc
    missing = [c for c in (*ID_COLUMNS, *STAT_COLUMNS) if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: not a collected table (no column {missing[0]!r})")
    return table


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_table_out(prefix: Path) -> tuple[Path, Path]:
    """Check that ``<prefix>.parquet`` and ``<prefix>.csv`` may be written; both paths.

    Raises:
        ConfigError: one line naming the file or folder that is not ours to replace.
    """
    paths = (prefix.with_name(prefix.name + ".parquet"), prefix.with_name(prefix.name + ".csv"))
    for path in paths:  # replace only a table of ours, never through a link
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ConfigError(f"{path}: not a regular file; nothing was written")
        if path.exists():
            try:
                read_table(path)
            except ConfigError:
                raise ConfigError(
                    f"{path}: exists and is not a collected table; nothing was written "
                    "(choose another --out)"
                ) from None
    if prefix.parent.is_symlink():
        raise ConfigError(f"{prefix.parent}: is a symbolic link; nothing was written")
    if prefix.parent.exists() and not prefix.parent.is_dir():
        raise ConfigError(f"{prefix.parent}: is a file, not a folder; nothing was written")
    return paths


def write_table(table: pd.DataFrame, prefix: Path) -> tuple[Path, Path]:
    """Write ``<prefix>.parquet`` and ``<prefix>.csv``, each atomically; return both paths."""
    paths = check_table_out(prefix)
    if not prefix.parent.exists():
        claim(prefix.parent)
    _atomic(paths[0], lambda tmp: table.to_parquet(tmp, index=False))
    _atomic(paths[1], lambda tmp: table.to_csv(tmp, index=False))
    return paths


def require_runs(table: pd.DataFrame, skipped: list[Skipped], roots: list[Path]) -> None:
    """Raise if nothing was collected.

    Raises:
        ConfigError: one line naming the folders.
    """
    if table.empty:
        where = ", ".join(map(str, roots))
        if skipped:
            raise ConfigError(f"{where}: no complete run could be read ({len(skipped)} skipped)")
        raise ConfigError(
            f"{where}: no run folders found (a folder with config.yaml, metrics.json, "
            f"{COMPLETE} or grid.parquet)"
        )


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m analysis collect",
        description=(
            "Collect every run folder under the given folders (runs, multiruns, grid runs) "
            "into one long table: one row per run x phase x metric (docs/collect.md)."
        ),
    )
    p.add_argument("dirs", nargs="+", type=Path, help="folders to walk")
    p.add_argument(
        "--out", type=Path, default=None,
        help="output prefix: writes PREFIX.parquet and PREFIX.csv (default <first dir>/collected)",
    )  # fmt: skip
    return p


def cli(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 if nothing was collected)."""
    from analysis.cli_args import parse

    try:
        args = parse(parser(), argv)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    prefix = args.out or args.dirs[0] / "collected"
    prefix = prefix.with_suffix("") if prefix.suffix in (".parquet", ".csv") else prefix
    outputs = (prefix.with_name(prefix.name + ".parquet"), prefix.with_name(prefix.name + ".csv"))
    try:
        check_table_out(prefix)  # before reading anything
        table, skipped = collect(args.dirs, exclude=outputs)
        for s in skipped:
            print(f"skipped: {s}", file=sys.stderr)
        require_runs(table, skipped, args.dirs)
        paths = write_table(table, prefix)
    except (ConfigError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    swept = swept_columns(table)
    n_runs = len(table[["sweep", "run"]].drop_duplicates())
    print(f"runs read: {n_runs} from {len(args.dirs)} folder(s); rows: {len(table)}")
    print(f"swept parameters: {', '.join(swept) if swept else 'none'}")
    if skipped:
        print(f"warning: {len(skipped)} folder(s) skipped (listed on stderr)", file=sys.stderr)
    print(f"-> {paths[0]}\n-> {paths[1]}")
    return 0
