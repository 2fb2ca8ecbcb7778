"""Shared figure styling for every figure of the analyses (see :mod:`sim.style`).

The style lives in the core because the run's own summary figure (:mod:`sim.summary_figure`)
uses it and nothing in ``sim/`` imports ``analysis/``; this module is its name for analyses.
"""

from __future__ import annotations

from sim.style import METADATA, OKABE_ITO, RC, figure, save_figure, savefig

__all__ = ["METADATA", "OKABE_ITO", "RC", "figure", "save_figure", "savefig"]
