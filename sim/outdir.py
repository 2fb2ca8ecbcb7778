"""One output-folder policy for every writer: nothing outside the folder named is touched.

Every folder this project writes holds a marker file, :data:`MARKER`, naming the project
(and, for a run, its config hash). Before writing, a writer calls :func:`claim`, which

- resolves the path, and refuses a folder that is a symbolic link (a write would go
  through it to somewhere else) or a file;
- refuses a folder that holds anything this project did not write: a non-empty folder
  without the marker, unless all it holds is what Hydra made for the run (``.hydra/``,
  a ``.log``), a killed grid's chunk store (``.chunks/``, a real folder) or a result
  folder of an earlier version (its ``COMPLETE`` marker or a sweep's ``sweep.yaml``);
- then creates the folder and writes the marker.

:func:`check` is the same test without writing, for the command-line pre-check, which runs
before Hydra creates anything. :func:`safe_name` checks a name taken from a file (a
study's run, a study, a design) before it becomes a path component.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sim.errors import ConfigError

MARKER = ".training-incentives-sim"
"""The marker file of a folder this project wrote (its first line is :data:`PROJECT`)."""
PROJECT = "training-incentives-sim output"
_LEGACY = ("COMPLETE", "sweep.yaml", "compare.json", "learn.json")  # earlier versions' folders
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,127}$")


CHUNKS = ".chunks"
"""A grid's chunk store (:mod:`sim.grid_engine`): what a killed grid resumes from."""


def _hydra_made(entry: Path) -> bool:
    """What Hydra makes for a run, a killed save's staging folder, a grid's chunk store.

    ``.hydra/``, a log, ``.staging-*/`` or ``.chunks/``: real folders and files, never links.
    """
    if entry.is_symlink():
        return False
    staging = entry.name.startswith(".staging-") and entry.is_dir()
    chunks = entry.name == CHUNKS and entry.is_dir()
    hydra = entry.name == ".hydra" or (entry.is_file() and entry.suffix == ".log")
    return staging or chunks or hydra


def is_ours(folder: Path) -> bool:
    """Whether ``folder`` (an existing folder) holds only what this project writes."""
    marker = folder / MARKER
    if marker.is_file() and not marker.is_symlink():
        try:
            return marker.read_text(encoding="utf-8").startswith(PROJECT)
        except (OSError, UnicodeDecodeError):
            return False
    entries = list(folder.iterdir())
    if any((folder / name).is_file() for name in _LEGACY):
        return True
    return all(_hydra_made(e) for e in entries)


def check(path: str | os.PathLike, what: str = "output folder") -> Path:
    """The resolved folder, if this project may write into it; raises otherwise.

    Raises:
        ConfigError: one line naming the folder: a symbolic link, a file, or a folder
            holding files this project did not write.
    """
    given = Path(path)
    if str(path).strip() == "" or "\0" in str(path):
        raise ConfigError(f"{what} {str(path)!r}: not a usable folder name")
    if given.is_symlink():
        raise ConfigError(
            f"{given}: is a symbolic link; nothing was written (give the real folder, so "
            "that nothing outside it is touched)"
        )
    folder = given.resolve()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{given}: is a file, not a folder; nothing was written")
    if folder.is_dir() and not is_ours(folder):
        raise ConfigError(
            f"{given}: holds files this project did not write; nothing was written "
            "(choose a new or empty folder)"
        )
    return folder


def claim(path: str | os.PathLike, what: str = "output folder", digest: str = "") -> Path:
    """Check ``path`` (:func:`check`), create it and write its marker; the resolved folder."""
    folder = check(path, what)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    text = f"{PROJECT}\n" + (f"config {digest}\n" if digest else "")
    if not marker.is_file() or marker.read_text(encoding="utf-8") != text:
        tmp = folder / f"{MARKER}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, marker)
    return folder


def safe_name(name: object, what: str) -> str:
    """``name`` if it is one safe path component; a one-line ConfigError otherwise.

    Safe: 1 to 128 characters, letters, digits and ``._+=,@-``, not starting with a dot or
    a dash (so never ``..``, an absolute path or a hidden file).
    """
    text = str(name)
    if not _SAFE.match(text):
        raise ConfigError(
            f"{what} {text!r}: not a safe folder name (letters, digits and ._+=,@- only, "
            "starting with a letter or digit, at most 128 characters)"
        )
    return text
