"""Small Markdown helpers shared by the reports (numbers, intervals, tables)."""

from __future__ import annotations

import numpy as np


def num(x, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or ``n/a`` if missing or not finite."""
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def ci(mean, lo, hi) -> str:
    """``mean [lo, hi]``; the mean alone without a finite interval; ``n/a`` without a mean."""
    if not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return num(mean)
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
