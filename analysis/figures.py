"""The run's summary figure (:func:`sim.summary_figure.summary_figure`), by its analysis name.

It is written with every run (``summary.png``), so it lives in the core; redraw it from a
saved run with ``summary_figure(Results.load(folder).rounds, ...)``.
"""

from __future__ import annotations

from sim.summary_figure import summary_figure

__all__ = ["summary_figure"]
