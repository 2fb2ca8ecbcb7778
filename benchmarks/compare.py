"""Benchmark: ``python -m analysis compare`` here against a baseline checkout, end to end.

Runs the same comparison (default ``scenario=scheming_mix``, every mitigation alone) in this
checkout and in ``--baseline`` (another checkout of the project at an earlier commit),
interleaved, each with its checkout's own ``.venv`` (``make setup`` there; else this
interpreter); prints each run's wall time, the medians and their ratio, and checks that
the two give the same verdicts and the same comparison table (``--ignore`` names metrics
allowed to differ, e.g. ``sandbag_p_value`` across a change of its method).

    git clone -q . /tmp/base && git -C /tmp/base checkout <commit> && make -C /tmp/base setup
    python benchmarks/compare.py --baseline /tmp/base --runs 3 --ignore sandbag_p_value
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parents[1]


def machine() -> str:
    """The CPU's model name (``lscpu``), else the platform's."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or platform.machine()


def python(tree: Path) -> str:
    """The checkout's own interpreter (``tree/.venv``, from ``make setup``), else this one."""
    own = tree / ".venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


def once(tree: Path, overrides: list[str], out: Path) -> float:
    """Wall time of one comparison run in ``tree`` (its folder: ``out``)."""
    cmd = [python(tree), "-m", "analysis", "compare", *overrides, "--out", str(out), "--quiet"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=tree, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def same_results(a: Path, b: Path, ignore: set[str]) -> None:
    """Raise if the two comparison folders' verdicts or tables differ (beyond ``ignore``)."""
    pd.testing.assert_frame_equal(pd.read_csv(a / "verdicts.csv"), pd.read_csv(b / "verdicts.csv"))
    ta, tb = (pd.read_csv(f / "comparison.csv") for f in (a, b))
    ta, tb = (t[~t["metric"].isin(ignore)].reset_index(drop=True) for t in (ta, tb))
    pd.testing.assert_frame_equal(ta, tb)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", type=Path, required=True, help="the baseline checkout")
    p.add_argument("--runs", type=int, default=3, help="runs of each tree, interleaved")
    p.add_argument("--ignore", nargs="*", default=[], help="metrics allowed to differ")
    p.add_argument(
        "--workers", type=int, default=1,
        help="this tree's compare --workers (the baseline runs as it can, one process)",
    )  # fmt: skip
    p.add_argument("overrides", nargs="*", default=["scenario=scheming_mix"])
    args = p.parse_args(argv)
    times: dict[str, list[float]] = {"baseline": [], "this tree": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name, tree in (("baseline", args.baseline), ("this tree", HERE)):
                out = Path(tmp) / f"{name.replace(' ', '_')}_{i}"
                mine = tree == HERE and args.workers > 1
                extra = ["--workers", str(args.workers)] if mine else []
                times[name].append(once(tree, [*args.overrides, *extra], out))
        same_results(Path(tmp) / "baseline_0", Path(tmp) / "this_tree_0", set(args.ignore))
    print(f"machine: {machine()}; python -m analysis compare {' '.join(args.overrides)}"
          f" (this tree: --workers {args.workers})")  # fmt: skip
    for name, ts in times.items():
        print(f"{name}: median {statistics.median(ts):.1f} s ({', '.join(f'{t:.1f}' for t in ts)})")
    ratio = statistics.median(times["baseline"]) / statistics.median(times["this tree"])
    print(f"speed-up: {ratio:.1f}x; same verdicts and comparison table"
          + (f" (except {', '.join(args.ignore)})" if args.ignore else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
