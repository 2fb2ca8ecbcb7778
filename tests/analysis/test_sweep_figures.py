"""``python -m analysis figures``: the sweep figures, their labels, the threshold and the report."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis import sweep_report
from analysis.collect import STAT_COLUMNS, collect
from analysis.sweep_figures import (
    THRESHOLD,
    illusion_figure,
    log_axes,
    mean_agent,
    phase_diagram,
    response_curves,
    threshold_margin,
    trait_mean,
)
from analysis.sweep_report import cli, compliance_gap_figure, sandbag_figure
from sim import run
from sim.errors import ConfigError
from sim.theory import faking_threshold, future_value, posterior_observed

SMALL = ["n_agents=40", "replicates=3", "phases.rl.rounds=5", "progress=false"]
RHO, ETA = (0.3, 0.7), (0.02, 0.1)


@pytest.fixture(scope="session")
def sweep(tmp_path_factory):
    """A 2 x 2 sweep of trainer.rho and trainer.eta, as a multirun folder."""
    root = tmp_path_factory.mktemp("fig_sweep")
    for i, (rho, eta) in enumerate(itertools.product(RHO, ETA)):
        res = run([*SMALL, f"trainer.rho={rho}", f"trainer.eta={eta}"])
        res.save(root / str(i), figure=False)
    return root, run(SMALL).config


@pytest.fixture(scope="session")
def table(sweep):
    return collect([sweep[0]])[0]


@pytest.fixture
def fast_save(monkeypatch):
    """Skip rendering to files (the first CLI test renders them all): record the names."""
    saved = []

    def save(fig, stem, dpi=None):
        plt.close(fig)
        saved.append(stem.name)
        stem.with_suffix(".png").write_bytes(b"")

    monkeypatch.setattr(sweep_report, "save_figure", save)
    return saved


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def test_cli_writes_png_pdf_and_a_report_embedding_them(sweep, capsys):
    root, _ = sweep
    assert cli([str(root)]) == 0
    out = root / "figures"
    names = ("phase_diagram", "response_curves", "compliance_gap", "alignment_illusion")
    report = (out / "report.md").read_text()
    for name in names:
        for ext in ("png", "pdf"):
            assert (out / f"{name}.{ext}").stat().st_size > 5_000
        assert f"]({name}.png)" in report
    assert (out / "phase_diagram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "phase_diagram.pdf").read_bytes()[:4] == b"%PDF"
    assert "3 replicates" in report and "95% Student-t" in report
    assert "2.5-97.5% of replicates" in report
    assert "Sandbagging: no run has sandbag_accuracy_well" in report  # skipped, and why
    assert not (out / "sandbagging.png").exists()
    assert "skipped figure: Sandbagging" in capsys.readouterr().err


def test_cli_reads_a_collected_csv_and_honours_the_options(sweep, table, tmp_path, fast_save):
    root, _ = sweep
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    argv = [
        str(path),
        "--metric",
        "compliance_gap",
        "--phase",
        "rl",
        "--x",
        "trainer.eta",
        "--y",
        "trainer.rho",
        "--select",
        "trainer.rho=0.3",
        "--select",
        "trainer.eta=0.1",
    ]
    assert cli(argv) == 0  # fmt: skip
    report = (tmp_path / "figures" / "report.md").read_text()
    assert "compliance gap (observed - unobserved cue) in phase 'rl'" in report
    assert "trainer.rho=0.3, trainer.eta=0.1" in report and "chosen by --select" in report
    assert fast_save == ["phase_diagram", "response_curves", "compliance_gap", "alignment_illusion"]
    assert "](alignment_illusion.png)" in report  # its rounds found through the sweep column


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metric", "nope"], "--metric=nope"),
        (["--phase", "nope"], "--phase=nope"),
        (["--x", "nope"], "--x=nope"),
        (["--select", "trainer.rho=0.5"], "--select trainer.rho=0.5: no run"),
    ],
)
def test_bad_options_are_exit_2_with_one_line(sweep, tmp_path, capsys, argv, message):
    assert cli([str(sweep[0]), "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_a_folder_without_runs_is_exit_2(tmp_path, capsys):
    assert cli([str(tmp_path)]) == 2
    assert "no run folders found" in capsys.readouterr().err


def test_phase_diagram_labels_and_threshold_over_rho_and_eta(table, sweep):
    fig, caption = phase_diagram(table, "trainer.rho", "trainer.eta", config=sweep[1])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "trainer.rho (share of episodes observed)"
    assert ax.get_ylabel() == "trainer.eta (training step on an observed refusal)"
    assert "alignment-faking reasoning" in fig.axes[1].get_ylabel()  # the colour bar
    assert any(THRESHOLD in t for t in _legend_texts(ax))
    assert "above" in _legend_texts(ax)[0] and "left" in _legend_texts(ax)[0]
    assert "3 replicates" in caption and "Red line" in caption


def _synthetic(x: str, y: str, xs, ys) -> pd.DataFrame:
    """A collected table over two parameters (the metric is the product of the two)."""
    rows = []
    for i, (a, b) in enumerate(itertools.product(xs, ys)):
        for metric in ("af_reasoning_rate", "compliance_gap"):
            m = a * b
            rows.append({"sweep": "s", "run": str(i), "config_hash": f"{i:016x}", "seed": 0,
                         "replicates": 4, "n_agents": 10, x: a, y: b, "phase": "post_rl",
                         "metric": metric, "mean": m, "sd": 0.01, "ci_low": m - 0.02,
                         "ci_high": m + 0.02, "n": 4, "min": m, "max": m})  # fmt: skip
    return pd.DataFrame(rows)[["sweep", "run", "config_hash", "seed", "replicates", "n_agents",
                               x, y, *STAT_COLUMNS]]  # fmt: skip


def test_no_threshold_over_sigma_and_phi(sweep):
    t = _synthetic("population.sigma", "population.phi", (0.2, 0.5, 0.9), (0.1, 0.3, 0.6))
    fig, caption = phase_diagram(t, "population.sigma", "population.phi", config=sweep[1])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "population.sigma (situational awareness)"
    assert ax.get_ylabel() == "population.phi (strategic disposition)"
    assert not any(THRESHOLD in t for t in _legend_texts(ax))
    assert not ax.collections[1:]  # only the heatmap: no contour set
    assert "No closed-form threshold is drawn: neither population.sigma nor" in caption


def test_threshold_over_gamma_and_rho_on_a_log_axis(sweep):
    t = _synthetic("population.gamma", "trainer.rho", (0.5, 0.9, 0.99), (0.01, 0.1, 1.0))
    fig, caption = phase_diagram(t, "population.gamma", "trainer.rho", config=sweep[1],
                                 log={"trainer.rho"})  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert any(THRESHOLD in t for t in _legend_texts(ax))
    assert "right" in _legend_texts(ax)[0] and "below" in _legend_texts(ax)[0]


def test_threshold_margin_agrees_with_the_closed_form(sweep):
    p = mean_agent(sweep[1])
    assert p["theta"] == pytest.approx(0.8) and p["gamma"] == pytest.approx(0.99)
    rho = np.linspace(0.0, 1.0, 101)
    margin, fakes = threshold_margin(p | {"rho": rho})
    g = future_value(p["gamma"], rho)
    b = posterior_observed(rho, p["fidelity"], True)
    expect = faking_threshold(b, p["eta"], g, p["h"], p["kappa"], p["nu"], p["theta"])
    assert np.array_equal(fakes, expect) and np.array_equal(margin > 0, expect)


@pytest.mark.parametrize(
    ("spec", "trait", "mean"),
    [
        (0.3, "theta", 0.3),
        (["beta", 8, 2], "theta", 0.8),
        (["beta", 3, 3, 0, 1.3], "h", 0.65),
        (["uniform", 0.2, 0.6], "sigma", 0.4),
        (["list", 0.1, 0.2, 0.6], "phi", 0.3),
        ([0.1, 0.5], "phi", 0.3),
        (["normal", 0.5, 0.1], "theta", 0.5),
        (["normal", 0.0, 1.0, 0.0, 1.0], "theta", 0.158655 + 0.398942 - 0.241971),  # clipped
        ({"dist": "beta", "a": 1, "b": 3}, "theta", 0.25),
    ],
)
def test_trait_mean(spec, trait, mean):
    assert trait_mean(spec, trait) == pytest.approx(mean, abs=1e-3)


def test_response_curves_lines_band_and_cap(table):
    fig, caption = response_curves(table, "trainer.rho", by="trainer.eta")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "trainer.rho (share of episodes observed)"
    assert "alignment-faking reasoning" in ax.get_ylabel()
    assert _legend_texts(ax) == ["0.02", "0.1"]
    assert "trainer.eta" in ax.get_legend().get_title().get_text()
    assert "band: 95% Student-t interval" in caption
    many = _synthetic("trainer.rho", "trainer.eta", (0.1, 0.5), tuple(np.linspace(0, 1, 11)))
    fig, caption = response_curves(many, "trainer.rho", by="trainer.eta")
    assert len(_legend_texts(fig.axes[0])) == 6
    assert "6 of its 11 values, evenly spaced" in caption


def test_compliance_gap_and_illusion_figures(table, sweep):
    rows = table[table["run"] == "0"]
    fig, caption = compliance_gap_figure(rows, "run 0")
    assert [ax.get_title(loc="left").split(":")[0] for ax in fig.axes] == [
        "phase 'prompted'", "phase 'rl'", "phase 'post_rl'"
    ]  # fmt: skip
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["implied training\n(cue: observed)", "implied unmonitored\n(cue: unobserved)"]
    assert fig.axes[-1].get_xlabel() == "share of conflict requests"
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["complies, with alignment-faking reasoning", "complies, other", "refuses"]
    assert "run 0" in caption
    rounds = pd.read_parquet(sweep[0] / "0" / "rounds.parquet")
    fig, caption = illusion_figure(rounds)
    assert fig.axes[0].get_xlabel() == "round"
    assert "2.5-97.5% of replicates" in caption
    assert {t.get_text() for t in fig.axes[0].texts} == {"prompted", "rl", "post_rl"}


def test_sandbag_figure():
    entry = {
        "label": "population.c=[beta,49,1]", "phase": "evaluation", "run": "0", "replicates": 3,
        "sandbag_accuracy_well": (0.98, 0.97, 0.99),
        "sandbag_accuracy_poorly": (0.38, 0.24, 0.52),
        "sandbag_gap": (0.6, 0.45, 0.74), "sandbag_p_value": (1e-4, np.nan, np.nan),
    }  # fmt: skip
    fig, caption = sandbag_figure([entry, entry | {"label": "population.c=[beta,7,13]"}])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "accuracy (share of questions correct)"
    assert _legend_texts(ax) == ["incentivised to do well", "incentivised to do poorly"]
    assert "p = 0.0001" in [t.get_text() for t in ax.texts]
    assert "3 replicates" in caption


def test_report_on_a_sandbagging_sweep(tmp_path, fast_save):
    for i, nudge in enumerate(("strong", "none")):
        res = run(["scenario=apollo_sandbagging", f"nudge={nudge}", "n_agents=30",
                   "replicates=2", "episodes.evaluation.bootstrap=200"])  # fmt: skip
        res.save(tmp_path / str(i), figure=False)
    assert cli([str(tmp_path)]) == 0
    report = (tmp_path / "figures" / "report.md").read_text()
    assert fast_save == ["sandbagging", "response_curves"] or "sandbagging" in fast_save
    assert "](sandbagging.png)" in report and "| population.nu=3 | evaluation |" in report
    assert "Compliance gap: no phase has conflict requests" in report
    assert "Phase diagram: needs two different swept numeric parameters" in report


def test_the_axis_scale_follows_the_grid_spec_not_the_values():
    spec = {"sweep": {"grid": {"trainer.eta": "logspace(-2,-0.7,4)",
                               "trainer.rho": "linspace(0.01,1,3)"}}}  # fmt: skip
    assert log_axes(spec) == {"trainer.eta"}
    assert log_axes({"sweep": {"grid": None}}) == set() and log_axes(None) == set()
    etas = tuple(np.logspace(-2, -0.7, 4))  # spans under 20x: was drawn linear
    t = _synthetic("trainer.rho", "trainer.eta", (0.01, 0.1, 1.0), etas)
    fig, _ = phase_diagram(t, "trainer.rho", "trainer.eta", log=log_axes(spec))
    assert fig.axes[0].get_yscale() == "log"
    assert fig.axes[0].get_xscale() == "linear"  # 100x, but a linspace: was drawn log
    fig, _ = response_curves(t, "trainer.eta", log=log_axes(spec))
    assert fig.axes[0].get_xscale() == "log"
    fig, _ = response_curves(t, "trainer.rho", log=log_axes(spec))
    assert fig.axes[0].get_xscale() == "linear"


def test_a_log_axis_needs_positive_values():
    t = _synthetic("trainer.rho", "population.sigma", (0.1, 0.5), (0.0, 0.5, 1.0))
    with pytest.raises(ConfigError, match="--log population.sigma: a log axis needs positive"):
        phase_diagram(t, "trainer.rho", "population.sigma", log={"population.sigma"})
