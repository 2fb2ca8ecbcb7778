"""The results of a run: metrics, per-round table, config; saving to and loading from a folder.

A run folder holds ``config.yaml`` (the validated, resolved config), ``metrics.json``
(``metrics[phase][metric] = {mean, ci_low, ci_high, n}``), ``rounds.parquet`` (per-round
aggregates), ``replicates.parquet`` (each metric per phase and replicate: phase,
replicate, metric, value), ``summary.png``, with ``trace=true`` ``decisions.parquet``
(every decision), with selection across generations ``generations.parquet`` (one row per
replicate and generation, :func:`sim.metrics.generation_table`), and Hydra's ``.hydra/``
when the Hydra app wrote it.
``COMPLETE`` is written last; a folder without it is partial.

Saving never leaves a mix of old and new files: the new files are written into a
staging folder first; then ``COMPLETE`` and the old result files are removed and the
new ones moved in, and ``COMPLETE`` is written last.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from omegaconf import OmegaConf

from sim.errors import ConfigError
from sim.intervals import WILSON
from sim.metrics import FOUNDATION, METRICS, P_VALUES

RESULT_FILES = (
    "config.yaml",
    "metrics.json",
    "rounds.parquet",
    "replicates.parquet",
    "decisions.parquet",
    "generations.parquet",
    "summary.png",
)
GRID_FILES = ("grid.parquet", "metrics.parquet")
"""The files of a grid folder that a run folder does not have (:mod:`sim.grid`)."""
COMPLETE = "COMPLETE"
UNHASHED = ("progress", "sweep", "search", "limits")
"""Root config keys that do not change a run's results (left out of :func:`config_hash`)."""


def _canonical(x):
    """Integers as floats (``sigma=1`` and a grid's ``1.0`` are the same run), recursively."""
    if isinstance(x, dict):
        return {str(k): _canonical(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_canonical(v) for v in x]
    if isinstance(x, int) and not isinstance(x, bool):
        return float(x)
    return x


def config_hash(config: dict[str, Any]) -> str:
    """A short hash of what determines a run's results.

    It hashes the resolved config without :data:`UNHASHED` (the progress bar, how a
    sweep ran it, the search objective, the resource limits).

    Two runs with the same hash have the same results; a grid point has the hash of
    the single run with the same values.
    """
    kept = {k: v for k, v in config.items() if k not in UNHASHED}
    text = json.dumps(_canonical(kept), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


@dataclass
class Results:
    """What a run returns.

    Attributes:
        metrics: ``metrics[phase][metric]`` is ``{"mean", "ci_low", "ci_high", "n"}``
            (95% Student-t interval over replicates; None where undefined).
        rounds: per-round aggregates, one row per replicate and round.
        config: the resolved config, as plain containers.
        decisions: with ``trace=true``, one row per decision with its reason
            (see :meth:`sim.recorder.Recorder.decisions`); otherwise None.
        replicates: each metric per phase and replicate (phase, replicate, metric,
            value), what paired comparisons across designs need; None if not kept.
        generations: with selection across generations, one row per replicate and
            generation (:func:`sim.metrics.generation_table`); otherwise None.
    """

    metrics: dict[str, dict[str, dict[str, Any]]]
    rounds: pd.DataFrame
    config: dict[str, Any]
    decisions: pd.DataFrame | None = None
    replicates: pd.DataFrame | None = None
    generations: pd.DataFrame | None = None

    @property
    def phases(self) -> list[str]:
        """Phase names, in order."""
        return list(self.metrics)

    def summary_table(self, metrics: tuple[str, ...] | None = None) -> str:
        """A plain-text table: one row per metric, one column per phase (mean [95% CI]).

        By default: the conflict game's measures, then the repertoire's, each only if
        it is defined in some phase. P-values are shown to two significant digits. A
        rate whose interval is Wilson's (few events, :mod:`sim.intervals`) is followed by
        its pooled count, ``n=events/trials``. Columns are right-aligned and at least two
        spaces apart whatever the signs; ``-0.000`` is shown as ``0.000``.
        """
        phases = self.phases
        if metrics is None:
            metrics = tuple(
                m
                for m in (*FOUNDATION[:7], *METRICS[len(FOUNDATION) :])
                if any(self.metrics[p].get(m, {}).get("mean") is not None for p in phases)
            )
        cells = {p: [_cell(m, self.metrics[p][m]) for m in metrics] for p in phases}
        columns = {}
        for p in phases:
            main = max([len(c) for c, _ in cells[p]], default=0)
            note = max([len(n) for _, n in cells[p]], default=0)
            columns[p] = (max(_COLUMN, main + 3), note)
        width = max(len(m) for m in metrics) + 2

        def row(label: str, parts: list[tuple[str, str]]) -> str:
            text = label.ljust(width)
            for p, (c, n) in zip(phases, parts, strict=True):
                main, note = columns[p]
                text += c.rjust(main) + (" " + n.ljust(note) if note else "")
            return text.rstrip()

        head = "metric".ljust(width) + "".join(
            p.rjust(columns[p][0] + (columns[p][1] + 1 if columns[p][1] else 0)) for p in phases
        )
        lines = [head, "-" * len(head)]
        lines += [row(m, [cells[p][i] for p in phases]) for i, m in enumerate(metrics)]
        return "\n".join(lines)

    def save(self, folder: str | os.PathLike, figure: bool = True) -> Path:
        """Write the run folder (see the module docstring); return its path."""
        config = OmegaConf.to_yaml(OmegaConf.create(self.config))
        files = {
            "config.yaml": lambda p: p.write_text(config),
            "metrics.json": lambda p: p.write_text(
                json.dumps(_clean(self.metrics), indent=2, allow_nan=False) + "\n"
            ),
            "rounds.parquet": lambda p: self.rounds.to_parquet(p, index=False),
        }
        for name, table in (
            ("replicates", self.replicates),
            ("decisions", self.decisions),
            ("generations", self.generations),
        ):
            if table is not None:
                files[f"{name}.parquet"] = lambda p, t=table: t.to_parquet(p, index=False)
        if figure:
            files["summary.png"] = self._figure
        return write_folder(folder, files)

    def _figure(self, path: Path) -> None:
        from sim.summary_figure import summary_figure

        c = self.config
        title = (
            f"{c.get('name', 'run')}: {c.get('replicates')} replicates x "
            f"{c.get('n_agents')} agents, seed {c.get('seed')} "
            "(line: mean; band: 2.5-97.5% of replicates)"
        )
        summary_figure(self.rounds, self.metrics, path, title)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Results:
        """Read a run folder written by :meth:`save`.

        Raises:
            ConfigError: one line naming the folder or file that is missing or corrupt.
        """
        folder = Path(folder)
        if not (folder / COMPLETE).exists():
            raise ConfigError(f"{folder}: not a complete run folder (no {COMPLETE} marker)")
        try:
            metrics = json.loads((folder / "metrics.json").read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{folder / 'metrics.json'}: unreadable ({exc})") from exc
        rounds = read_parquet(folder / "rounds.parquet")
        trace = folder / "decisions.parquet"
        decisions = read_parquet(trace) if trace.exists() else None
        per_rep = folder / "replicates.parquet"
        replicates = read_parquet(per_rep) if per_rep.exists() else None
        per_gen = folder / "generations.parquet"
        generations = read_parquet(per_gen) if per_gen.exists() else None
        config = read_config(folder / "config.yaml")
        return cls(
            metrics=metrics, rounds=rounds, config=config, decisions=decisions,
            replicates=replicates, generations=generations,
        )  # fmt: skip


_COLUMN = 22
"""The least width of a phase's column in :meth:`Results.summary_table`."""


def _number(x: float) -> str:
    """Three decimals, with ``-0.000`` shown as ``0.000``."""
    text = f"{x:.3f}"
    return "0.000" if text == "-0.000" else text


def _cell(metric: str, s: dict[str, Any]) -> tuple[str, str]:
    """A summary as the table shows it: ``mean [low,high]``, and the count note (or "")."""
    if s.get("mean") is None:
        return "n/a", ""
    if metric in P_VALUES:
        return f"{s['mean']:.2g}", ""
    if s.get("ci_low") is None:
        return _number(s["mean"]), ""
    text = f"{_number(s['mean'])} [{_number(s['ci_low'])},{_number(s['ci_high'])}]"
    if s.get("interval") == WILSON:
        return text, f"n={s['events']}/{s['trials']}"
    return text, ""


def write_folder(folder: str | os.PathLike, files: dict[str, Callable[[Path], None]]) -> Path:
    """Write a results folder without ever leaving a mix of old and new files.

    Each writer of ``files`` (name -> function of the path to write) writes into a staging
    folder first; then ``COMPLETE`` and every old result file are removed, the new files
    moved in, and ``COMPLETE`` written last (atomically).
    """
    from sim.outdir import claim

    folder = claim(folder)  # never through a symlink, never into a folder not ours
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        for name, write in files.items():
            write(staging / name)
        (folder / COMPLETE).unlink(missing_ok=True)
        for name in (*RESULT_FILES, *GRID_FILES):
            (folder / name).unlink(missing_ok=True)
        for name in files:
            os.replace(staging / name, folder / name)
        _atomic_write(folder / COMPLETE, "complete\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML as OmegaConf reads it (``1e-3`` is a float, no timestamps), with libyaml's speed."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
        |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in _Loader.yaml_implicit_resolvers.items()
}


def first_line(exc: Exception) -> str:
    """The first line of an exception's message (its type's name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_config(path: Path) -> dict[str, Any]:
    """A saved ``config.yaml`` (any YAML mapping) as plain containers, as OmegaConf reads it.

    libyaml with OmegaConf's float rules: about 30 times faster than ``OmegaConf.load``,
    which matters when a sweep's thousands of configs are read.

    Raises:
        ConfigError: one line naming the file that is missing, unreadable or not a mapping.
    """
    try:
        config = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a safe loader)
    except Exception as exc:  # OSError, yaml errors
        raise ConfigError(f"{path}: unreadable ({first_line(exc)})") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: unreadable (not a mapping)")
    return config


def read_parquet(path: Path, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A parquet table, with at least ``columns``.

    Raises:
        ConfigError: one line naming the file that is missing, corrupt or lacks a column.
    """
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise ConfigError(f"{path}: unreadable ({first_line(exc)})") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(f"{path}: unreadable (no column {missing[0]!r})")
    return df


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
