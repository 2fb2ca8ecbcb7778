"""The summary figure is written from saved results alone."""

from __future__ import annotations

from analysis.figures import summary_figure
from sim import run


def test_summary_figure_written(tmp_path):
    res = run(["n_agents=50", "replicates=2", "phases.rl.rounds=10"])
    path = summary_figure(res.rounds, res.metrics, tmp_path / "s.png")
    assert path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_figure_of_a_repertoire_only_run(tmp_path):
    res = run(["scenario=apollo_sandbagging", "replicates=2"])
    path = summary_figure(res.rounds, res.metrics, tmp_path / "r.png")
    assert path.stat().st_size > 10_000


def test_summary_figure_of_a_mixed_run(tmp_path):
    res = run(["scenario=scheming_mix", "replicates=2", "n_agents=100", "phases.rl.rounds=5"])
    path = summary_figure(res.rounds, res.metrics, tmp_path / "m.png")
    assert path.stat().st_size > 10_000
