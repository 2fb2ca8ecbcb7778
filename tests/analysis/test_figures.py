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


def _figure():
    from analysis.style import figure

    fig, ax = figure(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 0], label="a line")
    ax.set_title("same figure")
    ax.legend()
    return fig


def test_a_figure_saved_twice_gives_identical_files(tmp_path, monkeypatch):
    """PDF and SVG would carry the time of saving (and SVG random ids): two saves at two
    different times (SOURCE_DATE_EPOCH, which matplotlib's date follows) must still give
    the same bytes, in every format the analyses write."""
    from analysis.style import save_figure, savefig

    fig = _figure()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    for folder, epoch in ((first, "1000000000"), (second, "1700000000")):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        savefig(fig, folder / "f.svg")
        savefig(fig, folder / "f.png")
    for folder, epoch in ((first, "1000000000"), (second, "1700000000")):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        save_figure(_figure(), folder / "g")  # PNG and PDF, as the reports write them
    for name in ("f.svg", "f.png", "g.png", "g.pdf"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert b"CreationDate" not in (first / "g.pdf").read_bytes()


def test_every_figure_is_written_through_the_one_save_path():
    """No module writes a figure but analysis.style.savefig (so every figure is
    reproducible byte for byte)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(p.relative_to(root))
        for folder in ("analysis", "sim")
        for p in (root / folder).rglob("*.py")
        if ".savefig(" in p.read_text() and p.name != "style.py"
    ]
    assert offenders == []
