"""``python -m analysis collect``: one tidy table of the complete runs; the rest reported."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from omegaconf import OmegaConf

from analysis.collect import cli, collect, read_table, swept_columns
from sim import run
from sim.metrics import METRICS
from sim.results import Results, config_hash

SMALL = ["n_agents=40", "replicates=3", "phases.rl.rounds=5", "progress=false"]
POINTS = (("0.3", "0.5"), ("0.6", "0.5"), ("0.3", "0.9"))  # trainer.rho, population.sigma


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A multirun-like folder: three good runs, a corrupt one, a partial one, a staging dir."""
    root = tmp_path_factory.mktemp("sweep")
    for i, (rho, sigma) in enumerate(POINTS):
        res = run([*SMALL, f"trainer.rho={rho}", f"population.sigma={sigma}"])
        res.save(root / str(i), figure=False)
    shutil.copytree(root / "0", root / "3")  # corrupt: truncated metrics.json
    text = (root / "3" / "metrics.json").read_text()
    (root / "3" / "metrics.json").write_text(text[: len(text) // 2])
    shutil.copytree(root / "1", root / "4")  # corrupt: truncated parquet
    data = (root / "4" / "replicates.parquet").read_bytes()
    (root / "4" / "replicates.parquet").write_bytes(data[: len(data) // 2])
    shutil.copytree(root / "2", root / "5")  # partial: no COMPLETE
    (root / "5" / "COMPLETE").unlink()
    (root / "6" / ".hydra").mkdir(parents=True)  # a Hydra job that saved nothing
    shutil.copytree(root / "0", root / ".staging-x")  # never entered
    (root / "multirun.yaml").write_text("hydra: {}\n")
    return root


def test_table_has_one_row_per_good_run_phase_and_metric(sweep, capsys):
    assert cli([str(sweep)]) == 0
    captured = capsys.readouterr()
    table = pd.read_parquet(sweep / "collected.parquet")
    assert sorted(table["run"].unique()) == ["0", "1", "2"]
    phases = ["prompted", "rl", "post_rl"]
    assert len(table) == 3 * len(phases) * len(METRICS)
    counts = table.groupby(["run", "phase", "metric"]).size()
    assert (counts == 1).all()
    assert swept_columns(table) == ["population.sigma", "trainer.rho"]  # in config order
    assert list(table.columns) == [
        "sweep", "run", "config_hash", "seed", "replicates", "n_agents",
        "population.sigma", "trainer.rho",
        "phase", "metric", "mean", "sd", "ci_low", "ci_high", "n", "min", "max",
    ]  # fmt: skip
    for name, (rho, sigma) in zip(("0", "1", "2"), POINTS, strict=True):
        rows = table[table["run"] == name]
        res = Results.load(sweep / name)
        assert (rows["config_hash"] == config_hash(res.config)).all()
        assert (rows["trainer.rho"] == float(rho)).all()
        assert (rows["population.sigma"] == float(sigma)).all()
        assert (rows["replicates"] == 3).all() and (rows["n_agents"] == 40).all()
        gap = rows[(rows["phase"] == "post_rl") & (rows["metric"] == "compliance_gap")].iloc[0]
        expect = res.metrics["post_rl"]["compliance_gap"]
        assert gap["mean"] == pytest.approx(expect["mean"])
        assert gap["ci_low"] == pytest.approx(expect["ci_low"])
        values = res.replicates.query("phase == 'post_rl' and metric == 'compliance_gap'")
        assert gap["sd"] == pytest.approx(values["value"].std(ddof=1))
        assert gap["min"] == pytest.approx(values["value"].min())
        assert gap["max"] == pytest.approx(values["value"].max())
    err = captured.err.splitlines()
    for name, why in (("3", "metrics.json"), ("4", "replicates.parquet"), ("5", "partial")):
        line = [e for e in err if e.startswith(f"skipped: {sweep / name}:")]
        assert len(line) == 1 and why in line[0]
    assert any(str(sweep / "6") in e and "partial" in e for e in err)
    assert not any(".staging" in e for e in err)
    assert "4 folder(s) skipped" in captured.err
    assert "swept parameters: population.sigma, trainer.rho" in captured.out


def test_csv_and_parquet_agree_and_the_table_is_not_collected_again(sweep, tmp_path):
    prefix = tmp_path / "out" / "table"
    assert cli([str(sweep), "--out", str(prefix)]) == 0
    parquet = read_table(prefix.with_suffix(".parquet"))
    csv = read_table(prefix.with_suffix(".csv"))
    pd.testing.assert_frame_equal(parquet, csv, check_dtype=False)
    assert cli([str(sweep), str(tmp_path / "out"), "--out", str(prefix)]) == 0
    assert len(read_table(prefix.with_suffix(".parquet"))) == len(parquet)
    assert not list((tmp_path / "out").glob(".table*"))  # no temporary file left


def test_a_single_run_folder_and_p_value_spread(tmp_path):
    res = run(["scenario=apollo_instrumental_faking", "n_agents=40", "replicates=2"])
    res.save(tmp_path, figure=False)
    table, skipped = collect([tmp_path])
    assert not skipped and set(table["run"]) == {"."}
    assert swept_columns(table) == []
    p = table[table["metric"] == "paired_scheming_p_value"].dropna(subset=["mean"]).iloc[0]
    values = res.metrics[p["phase"]]["paired_scheming_p_value"]["replicates"]
    assert p["min"] == pytest.approx(min(values)) and p["max"] == pytest.approx(max(values))
    assert pd.isna(p["ci_low"])


def _grid_folder(folder, base_config):
    """A grid folder as sim/grid.py writes it: 2 x 3 points of sigma and rho."""
    folder.mkdir()
    config = dict(base_config) | {"sweep": {"grid": {"population.sigma": [0.2, 0.8]}}}
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    points = [(s, r) for s in (0.2, 0.8) for r in (0.1, 0.5, 0.9)]
    grid = pd.DataFrame(
        {
            "point": range(len(points)),
            "population.sigma": [p[0] for p in points],
            "trainer.rho": [p[1] for p in points],
            "config_hash": [f"{i:016x}" for i in range(len(points))],
        }
    )
    grid.to_parquet(folder / "grid.parquet", index=False)
    metrics, reps = [], []
    for i, (s, r) in enumerate(points):
        for phase in ("prompted", "post_rl"):
            for metric in ("compliance_gap", "af_reasoning_rate"):
                values = [s * r + 0.01 * k for k in range(3)]
                mean = sum(values) / 3
                metrics.append((i, phase, metric, mean, mean - 0.02, mean + 0.02, 3))
                reps += [(i, phase, k, metric, v) for k, v in enumerate(values)]
    cols = ["point", "phase", "metric", "mean", "ci_low", "ci_high", "n"]
    pd.DataFrame(metrics, columns=cols).to_parquet(folder / "metrics.parquet", index=False)
    cols = ["point", "phase", "replicate", "metric", "value"]
    pd.DataFrame(reps, columns=cols).to_parquet(folder / "replicates.parquet", index=False)
    (folder / "COMPLETE").write_text("complete\n")
    return grid


def test_a_grid_folder_gives_one_run_per_point_with_its_axes(sweep, tmp_path):
    base = Results.load(sweep / "0").config
    grid = _grid_folder(tmp_path / "grid", base)
    table, skipped = collect([tmp_path])
    assert not skipped
    assert swept_columns(table) == ["population.sigma", "trainer.rho"]
    assert sorted(table["run"].unique()) == [f"grid#{i}" for i in range(6)]
    assert len(table) == 6 * 2 * 2
    for row in grid.itertuples(index=False):
        rows = table[table["run"] == f"grid#{row.point}"]
        assert (rows["config_hash"] == row.config_hash).all()
        assert (rows["population.sigma"] == row[1]).all() and (rows["trainer.rho"] == row[2]).all()
        assert rows["sd"].to_numpy() == pytest.approx([0.01] * 4)
        assert rows["max"].to_numpy() - rows["min"].to_numpy() == pytest.approx([0.02] * 4)


def test_grid_and_runs_together_keep_the_axes_and_varying_keys(sweep, tmp_path):
    base = Results.load(sweep / "0").config
    _grid_folder(tmp_path / "grid", base)
    table, skipped = collect([sweep, tmp_path])
    assert set(table["sweep"]) == {str(sweep), str(tmp_path)}
    assert {"trainer.rho", "population.sigma"} <= set(swept_columns(table))
    assert len(skipped) == 4


def test_no_runs_is_exit_2_with_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli([str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "no run folders" in err[0]
    assert cli([str(tmp_path / "missing")]) == 2
    assert "missing: no such folder" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "collected.parquet").exists()


def test_only_broken_runs_is_exit_2(sweep, tmp_path, capsys):
    shutil.copytree(sweep / "5", tmp_path / "5")
    assert cli([str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("skipped: ") and err[-1].startswith("error: ")


def test_a_run_under_two_given_folders_is_collected_once(sweep):
    table, _ = collect([sweep, sweep / "0"])
    assert len(table.drop_duplicates(["sweep", "run"])) == 3
