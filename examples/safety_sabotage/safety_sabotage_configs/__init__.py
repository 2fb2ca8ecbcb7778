"""The config folder of the safety_sabotage plug-in (its scenario preset)."""
