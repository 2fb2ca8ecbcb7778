"""Analysis of saved results: figures now; statistics and sweeps come later.

analysis/ reads saved run folders and tables; it never re-runs simulations.
"""
