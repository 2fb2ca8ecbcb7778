"""Shared figure styling: the Okabe-Ito colour-blind-safe palette and readable defaults."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402

OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 120,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


def figure(*args, **kwargs):
    """``plt.subplots`` under the house style."""
    with plt.rc_context(RC):
        return plt.subplots(*args, **kwargs)


METADATA = {
    "pdf": {"CreationDate": None, "ModDate": None},
    "svg": {"Date": None},
    "png": {},
}
"""Per format, the metadata that would change between two saves (dates) is left out."""


def savefig(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig(path, **kwargs)``, byte for byte the same file every time.

    The one way figures are written: PDF and SVG carry no creation date, and SVG's
    element ids come from a fixed salt, so saving the same figure twice (or regenerating a
    report) gives identical files.
    """
    path = Path(path)
    fmt = (kwargs.get("format") or path.suffix.lstrip(".") or "png").lower()
    metadata = METADATA.get(fmt, {}) | kwargs.pop("metadata", {})
    with plt.rc_context({"svg.hashsalt": "analysis"}):
        fig.savefig(path, metadata=metadata, **kwargs)
    return path


def save_figure(fig, stem: str | Path, dpi: float | None = None) -> list[Path]:
    """Write ``stem.png`` (at ``dpi``, default 150) and ``stem.pdf`` (vector); close the figure.

    Saved with a tight bounding box, so nothing outside the axes is clipped, and through
    :func:`savefig` (the same bytes every time).
    """
    paths = [Path(stem).with_suffix(".png"), Path(stem).with_suffix(".pdf")]
    with plt.rc_context(RC):
        for path in paths:
            savefig(fig, path, bbox_inches="tight", dpi=dpi or RC["savefig.dpi"])
    plt.close(fig)
    return paths
