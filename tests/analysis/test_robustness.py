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
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "rb"
    assert cli([*SMALL, *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()
