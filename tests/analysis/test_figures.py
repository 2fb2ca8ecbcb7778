"""The summary figure is written from saved results alone."""

from __future__ import annotations

from analysis.figures import summary_figure
from sim import run


def test_summary_figure_written(tmp_path):
    res = run(["n_agents=50", "replicates=2", "phases.rl.rounds=10"])
    path = summary_figure(res.rounds, res.metrics, tmp_path / "s.png")
    assert path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
