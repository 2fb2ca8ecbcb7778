"""``python -m sim [overrides]``: check every override before Hydra creates any folder, then run.

``python -m sim --list`` lists what there is to run (:mod:`sim.catalog`).

Bad input stops here with a one-line error naming the key and exit code 2, so
nothing is written. For a multirun, each swept value is checked once.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from sim.cli_check import check_argv, parse_argv
from sim.config import normalize_overrides
from sim.errors import ConfigError


def main() -> None:
    """Entry point of ``python -m sim``."""
    try:
        cmd = parse_argv(sys.argv[1:])
        cmd = replace(cmd, overrides=tuple(normalize_overrides(cmd.overrides)))
        sys.argv[1:] = cmd.argv()  # Hydra's flags first: Hydra's parser wants them there
        if "--list" in cmd.flags:  # ours, not Hydra's: answered before Hydra starts
            from sim.catalog import render

            print(render(cmd.source))
            return
        check_argv(cmd)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    from sim.app import main as hydra_main

    hydra_main()


if __name__ == "__main__":
    main()
