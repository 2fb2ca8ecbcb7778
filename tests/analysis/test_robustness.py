"""``python -m analysis robustness``: verdict shares over a Latin hypercube (issue 23)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.robustness import AXES, cli, robustness, sample_points, verdicts_at

SMALL = ["replicates=3", "n_agents=200"]


def test_the_points_are_a_latin_hypercube_in_the_ranges():
    pts = sample_points(10, seed=4)
    assert list(pts.columns) == list(AXES)
    for key, (lo, hi) in AXES.items():
        x = pts[key].to_numpy()
        assert (x >= lo).all() and (x <= hi).all()
        strata = np.floor((x - lo) / (hi - lo) * 10).clip(0, 9)
        assert sorted(strata) == list(range(10))  # one point per tenth of each range
    pd.testing.assert_frame_equal(pts, sample_points(10, seed=4))
    assert not pts.equals(sample_points(10, seed=5))


def test_each_point_has_the_verdict_compare_gives_there():
    pts = sample_points(3, seed=1)
    tidy, shares = robustness(SMALL, ["noisy_monitoring"], pts)
    for i, point in pts.iterrows():
        direct = verdicts_at([*SMALL, *(f"{k}={v}" for k, v in point.items())],
                             ["noisy_monitoring"], None)  # fmt: skip
        got = tidy[tidy["point"] == i].reset_index(drop=True)
        assert list(got["verdict"]) == list(direct["verdict"])
    cols = ["removed", "hidden", "reduced", "no effect", "made worse"]
    assert np.allclose(shares[cols].sum(axis=1), 1.0, atol=0.002)  # shares rounded to 0.001


def test_the_command_writes_its_tables(tmp_path, capsys):
    out = tmp_path / "rb"
    assert cli([*SMALL, "--points", "2", "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} >= {"robustness.parquet", "shares.csv",
                                              "robustness.json"}  # fmt: skip
    assert "noisy_monitoring" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--points", "1"], "--points=1"),
        (["--designs", "nope"], "unknown mitigation 'nope'"),
        (["population.nope=1"], "population.nope"),
        (["--seed", "-1"], "--seed=-1"),
        (["--calibration", "no/such/folder"], "not a calibration folder"),
        (["--probe", "-2"], "--probe"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "rb"
    assert cli([*SMALL, *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def _calibration(folder, deviance):
    """A calibration folder as python -m analysis calibrate writes it (the two files read)."""
    folder.mkdir()
    (folder / "spec.yaml").write_text(
        "base: [scenario=alignment_faking_prompted]\n"
        "parameters:\n"
        "  population.phi: {dist: beta, mean: [0.1, 0.2], concentration: 10}\n"
        "  trainer.rho: [0.4, 0.5, 0.6]\n"
        "targets: targets.csv\n"
    )
    means, rhos = np.meshgrid([0.1, 0.2], [0.4, 0.5, 0.6], indexing="ij")
    pd.DataFrame({
        "candidate": np.arange(6), "population.phi.mean": means.ravel(),
        "population.phi.concentration": 10.0, "trainer.rho": rhos.ravel(),
        "deviance": deviance,
    }).to_parquet(folder / "candidates.parquet")  # fmt: skip
    return folder


def test_calibrated_points_are_the_confidence_region_as_overrides(tmp_path):
    """Two fitted axes: the region is deviance <= min + chi2_0.95(2) = min + 5.99."""
    from analysis.robustness import calibrated_points

    folder = _calibration(tmp_path / "cal", [0.0, 5.9, 6.1, 3.0, 20.0, 1.0])
    pts = calibrated_points(folder, 0.95, 100, seed=0)
    assert list(pts.columns) == ["population.phi", "trainer.rho"]
    assert pts.to_dict("records") == [
        {"population.phi": "[beta,1.0,9.0]", "trainer.rho": "0.4"},
        {"population.phi": "[beta,1.0,9.0]", "trainer.rho": "0.5"},
        {"population.phi": "[beta,2.0,8.0]", "trainer.rho": "0.4"},
        {"population.phi": "[beta,2.0,8.0]", "trainer.rho": "0.6"},
    ]
    assert len(calibrated_points(folder, 0.95, 2, seed=0)) == 2  # a seeded sample of them
    tidy, _ = robustness(SMALL, ["noisy_monitoring"], pts.iloc[:2])
    assert set(tidy["point"]) == {0, 1} and "population.phi" in tidy


def test_a_corrupt_calibration_folder_is_named(tmp_path, capsys):
    folder = _calibration(tmp_path / "cal", [0.0] * 6)
    (folder / "candidates.parquet").write_bytes(b"not parquet")
    out = tmp_path / "rb"
    assert cli([*SMALL, "--calibration", str(folder), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "candidates.parquet" in err and len(err.splitlines()) == 1
    assert not out.exists()
