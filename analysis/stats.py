"""Small-sample statistics for the analysis of saved runs: binomial tests, intervals, bootstrap.

The functions live in :mod:`sim.stats` (the metrics use them too, and the core imports
nothing from ``analysis/``); this module is their name for analyses.
"""

from __future__ import annotations

from sim.stats import (
    binomial_sf,
    binomial_test_greater,
    bootstrap_difference_pvalue,
    bootstrap_difference_pvalue_samples,
    clopper_pearson_interval,
    smallest_significant_count,
    wilson_interval,
)

__all__ = [
    "binomial_sf",
    "binomial_test_greater",
    "bootstrap_difference_pvalue",
    "bootstrap_difference_pvalue_samples",
    "clopper_pearson_interval",
    "smallest_significant_count",
    "wilson_interval",
]
