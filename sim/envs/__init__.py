"""Environments over the one core: a vectorised arena, PettingZoo and Gymnasium adapters."""
