"""Analysis of saved results: statistics (tests and intervals) and figures.

analysis/ reads saved run folders and tables; it never re-runs simulations. The
statistical functions (:mod:`analysis.stats`) are also used by :mod:`sim.metrics`
for the per-phase p-values.
"""
