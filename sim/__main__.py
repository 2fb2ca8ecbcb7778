"""``python -m sim [overrides]``: check every override before Hydra creates any folder, then run.

Bad input stops here with a one-line error naming the key and exit code 2, so
nothing is written. For a multirun, each swept value is checked once.
"""

from __future__ import annotations

import sys

from sim.cli_check import check_argv
from sim.config import normalize_overrides
from sim.errors import ConfigError


def main() -> None:
    """Entry point of ``python -m sim``."""
    sys.argv[1:] = normalize_overrides(sys.argv[1:])
    try:
        check_argv(sys.argv[1:])
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    from sim.app import main as hydra_main

    hydra_main()


if __name__ == "__main__":
    main()
