"""The shipped presets: ``config.yaml`` and the config groups (a data package, no code)."""
