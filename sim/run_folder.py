"""A run folder's state for a config: new, done (same config), other (another config), partial.

Every run folder ends with the ``COMPLETE`` marker, written last and atomically
(:func:`sim.results.write_folder`), and holds its resolved ``config.yaml``, whose hash
(:func:`sim.results.config_hash`) says which config it is the run of. :mod:`sim.sweep`
skips what is done, redoes what is partial and refuses what is another config's;
:func:`sim.run` refuses the same before it writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.errors import ConfigError
from sim.results import COMPLETE, config_hash, read_config


def status(folder: Path, digest: str) -> str:
    """The folder's state for a run of config hash ``digest``.

    ``new`` (nothing there), ``done`` (complete, same config), ``other`` (complete, another
    config) or ``partial`` (a killed grid's chunk store alone is partial: it resumes).
    """
    if not (folder / COMPLETE).exists():
        has_files = folder.exists() and any(
            p.name != ".hydra" and not p.name.startswith(".staging-") for p in folder.iterdir()
        )
        return "partial" if has_files else "new"
    try:
        saved = config_hash(read_config(folder / "config.yaml"))
    except ConfigError:
        return "partial"  # a marker without a readable config: redo the run
    return "done" if saved == digest else "other"


def clear_partial(folder: Path) -> None:
    """Prepare ``folder`` for recomputing its run: no staging leftovers, no ``COMPLETE``.

    A killed save leaves ``.staging-*`` folders; the result files are replaced when the
    new run is saved. A killed grid's chunk store (``.chunks/``) is kept: it is what the
    rerun resumes from (:mod:`sim.grid_engine`; refused there if it is a symbolic link).
    """
    for stale in folder.glob(".staging-*") if folder.exists() else ():
        if stale.is_symlink() or not stale.is_dir():
            stale.unlink()  # the link itself: never what it points to
        else:
            shutil.rmtree(stale, ignore_errors=True)
    (folder / COMPLETE).unlink(missing_ok=True)


def refusal(folder: Path, sweep: bool = False) -> ConfigError:
    """The one-line refusal of a folder holding another config's run (or another sweep)."""
    if sweep:
        return ConfigError(
            f"{folder}: holds another sweep (other overrides, config or sweeper); nothing was "
            "overwritten (rerun the same command to resume, or choose another hydra.sweep.dir)"
        )
    return ConfigError(
        f"{folder}: holds a complete run of another config; nothing was overwritten "
        "(choose another hydra.run.dir / hydra.sweep.dir, or delete the folder)"
    )


def refuse_other(folder: Path, digest: str) -> None:
    """Raise the one-line refusal if ``folder`` holds a complete run of another config."""
    if status(folder, digest) == "other":
        raise refusal(folder)


__all__ = ["clear_partial", "refuse_other", "refusal", "status"]
