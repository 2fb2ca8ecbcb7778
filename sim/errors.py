"""The one exception type for bad input; its message is a single line naming the key."""


class ConfigError(ValueError):
    """A config value, key or results folder is invalid. ``str(err)`` is one line."""
