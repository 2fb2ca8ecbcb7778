"""Grid chunks on an engine (sim/grid_engine.py): same tables on every engine, resumable."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas.testing as pdt
import pytest

import sim.grid as grid_mod
from sim.config import compose_config, to_params
from sim.errors import ConfigError
from sim.grid import GridResults, _assemble, plan_grid, point_config, run_grid
from sim.grid_engine import STORE
from sim.outdir import MARKER, is_ours
from sim.results import COMPLETE, config_hash
from sim.run_folder import clear_partial, status
from sim.sweep import run_job

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["n_agents=40", "replicates=2", "phases.rl.rounds=10", "progress=false"]
GRID = ["sweep.grid={trainer.rho:[0.1,0.5,0.9]}", "sweep.chunk=1"]  # three chunks


def _cfg(*extra):
    return compose_config([*SMALL, *GRID, *extra])


def _reference(cfg) -> GridResults:
    """The grid as run_grid built it before engines: every chunk in process, assembled."""
    from omegaconf import OmegaConf

    base_cfg = OmegaConf.to_container(cfg, resolve=True)
    params = to_params(cfg)
    axes, points, jobs = plan_grid(cfg, params)
    out = [grid_mod._simulate_chunk(job, bool(base_cfg["sweep"]["rounds"])) for job in jobs]
    hashes = [config_hash(point_config(base_cfg, p)) for p in points]
    return _assemble(base_cfg, params, axes, points, hashes, out)


def _same(a: GridResults, b: GridResults) -> None:
    for name in ("grid", "metrics", "replicates", "rounds"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        pdt.assert_frame_equal(x, y, check_exact=True, obj=name)


@pytest.fixture(scope="module")
def reference():
    return _reference(_cfg())


@pytest.fixture
def counted(monkeypatch):
    """The chunks simulated in this process, by their first point's index."""
    calls: list[int] = []
    real = grid_mod._simulate_chunk

    def counting(job, rounds):
        calls.append(job.indices[0])
        return real(job, rounds)

    monkeypatch.setattr(grid_mod, "_simulate_chunk", counting)
    return calls


def _chunks(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / STORE).glob("chunk-*"))


@pytest.mark.parametrize("extra", [(), ("sweep.workers=2",), ("sweep.rounds=false",)])
def test_local_engine_equals_the_in_process_path_bit_for_bit(extra, reference, tmp_path):
    want = reference if not extra or extra[0] != "sweep.rounds=false" else _reference(_cfg(*extra))
    _same(run_grid(_cfg(*extra)), want)
    _same(run_grid(_cfg(*extra), folder=tmp_path / "g"), want)  # through the chunk store


def test_submitit_local_equals_local(reference, tmp_path):
    # cluster=local: each chunk a subprocess (about 5 s for the three on two cores). Run from
    # a fresh process: a plug-in another test loaded from a file (tests/plugins.py) is in
    # every RunParams of this one, and no subprocess could import it.
    out = tmp_path / "g"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *SMALL, *GRID, "sweep.engine=submitit",
         "sweep.submitit.cluster=local", f"hydra.run.dir={out}"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _same(GridResults.load(out), reference)
    assert not (out / STORE).exists()  # complete: the store (and submitit's logs) are gone


def test_submitit_debug_stores_each_chunk_and_equals_local(reference, tmp_path, counted):
    out = tmp_path / "g"
    got = run_grid(_cfg("sweep.engine=submitit", "sweep.submitit.cluster=debug"), folder=out)
    _same(got, reference)
    assert sorted(counted) == [0, 1, 2]  # debug: the jobs run in this process
    assert len(_chunks(out)) == 3 and (out / STORE / "submitit").is_dir()
    counted.clear()
    _same(run_grid(_cfg("sweep.engine=submitit"), folder=out), reference)  # all stored
    assert counted == []
    _same(run_grid(_cfg("sweep.engine=submitit", "sweep.submitit.cluster=debug")), reference)


def test_a_rerun_simulates_only_the_missing_chunks_and_equals_an_uninterrupted_run(
    reference, tmp_path, counted
):
    out = tmp_path / "g"
    run_grid(_cfg(), folder=out)  # "killed" after its chunks were stored, before the save
    assert counted == [0, 1, 2] and len(_chunks(out)) == 3
    (out / STORE / "chunk-000001").rename(tmp_path / "gone")  # as if killed mid-grid
    counted.clear()
    got = run_grid(_cfg(), folder=out)
    assert counted == [1]
    _same(got, reference)
    counted.clear()
    _same(run_grid(_cfg(), folder=out), reference)  # every chunk stored: nothing simulated
    assert counted == []


def test_the_app_path_resumes_from_the_chunk_store_and_removes_it(reference, tmp_path, counted):
    out = tmp_path / "g"
    cfg = _cfg()
    run_grid(cfg, folder=out)
    for name in ("chunk-000000", "chunk-000002"):
        (out / STORE / name / "chunk.json").unlink()  # a chunk without its manifest: redone
    assert status(out, "x") == "partial"
    clear_partial(out)
    assert len(_chunks(out)) == 3  # clear_partial keeps the chunk store
    counted.clear()
    run_job(cfg, out)  # as sim.app.main runs a job
    assert sorted(counted) == [0, 2]
    assert (out / COMPLETE).exists() and not (out / STORE).exists()
    _same(GridResults.load(out), reference)


def test_a_corrupt_chunk_is_recomputed_not_trusted(reference, tmp_path, counted, capsys):
    out = tmp_path / "g"
    run_grid(_cfg(), folder=out)
    values = out / STORE / "chunk-000002" / "values.parquet"
    data = bytearray(values.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: still the same size
    values.write_bytes(bytes(data))
    (out / STORE / "chunk-000000" / "rounds.parquet").write_bytes(b"")  # truncated
    counted.clear()
    _same(run_grid(_cfg(), folder=out), reference)
    assert sorted(counted) == [0, 2]
    err = capsys.readouterr().err
    assert "recomputing chunk 2:" in err and "values.parquet does not match" in err
    assert "recomputing chunk 0:" in err


def test_a_chunk_of_another_grid_or_config_is_never_reused(tmp_path, counted):
    out = tmp_path / "g"
    run_grid(_cfg(), folder=out)
    counted.clear()
    other = ["sweep.grid={trainer.rho:[0.2,0.5,0.9]}"]
    got = run_grid(_cfg(*other), folder=out)  # points 1 and 2 are the same runs: kept
    assert counted == [0]
    _same(got, _reference(_cfg(*other)))
    counted.clear()
    run_grid(_cfg("seed=1", *other), folder=out)  # another base config: every chunk redone
    assert counted == [0, 1, 2]
    counted.clear()
    run_grid(_cfg("seed=1", *other, "sweep.rounds=false"), folder=out)
    assert counted == [0, 1, 2]


def test_a_symlinked_chunk_store_is_refused_and_its_target_untouched(tmp_path):
    out, elsewhere = tmp_path / "g", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    (out / MARKER).write_text("training-incentives-sim output\n")
    (out / STORE).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ConfigError, match=r"\.chunks: the chunk store is a symbolic link"):
        run_grid(_cfg(), folder=out)
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    clear_partial(out)  # the rerun's preparation leaves the link and its target alone
    assert (out / STORE).is_symlink() and [p.name for p in elsewhere.iterdir()] == ["keep.txt"]


def test_a_folder_holding_only_a_chunk_store_is_ours_and_partial(tmp_path):
    out = tmp_path / "g"
    (out / STORE / "chunk-000000").mkdir(parents=True)
    (out / ".hydra").mkdir()
    assert is_ours(out)
    assert status(out, "any") == "partial"
    clear_partial(out)
    assert (out / STORE / "chunk-000000").is_dir()
    (out / STORE / "chunk-000000").rmdir()
    (out / STORE).rmdir()
    (out / STORE).symlink_to(tmp_path, target_is_directory=True)
    assert not is_ours(out)  # a link is never ours (without the marker)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sweep.engine=spark", "sweep.engine='spark' must be one of local, ray, submitit"),
        ("sweep.submitit.cluster=aws", "sweep.submitit.cluster='aws' must be one of local, "),
        ("sweep.submitit.timeout_min=0", "sweep.submitit.timeout_min=0 must be an integer >= 1"),
        ("sweep.submitit.array_parallelism=0", "sweep.submitit.array_parallelism=0 must be"),
        ("sweep.submitit.mem_gb=-1", "sweep.submitit.mem_gb=-1.0 must be a number > 0 or null"),
        ("sweep.submitit.partition=''", "sweep.submitit.partition='' must be a name or null"),
        ("sweep.ray_address=''", "sweep.ray_address='' must be a Ray address"),
    ],
)
def test_a_bad_engine_value_is_one_line_naming_the_key_before_anything_is_written(
    override, message, tmp_path, counted
):
    with pytest.raises(ConfigError) as err:
        run_grid(_cfg(override), folder=tmp_path / "g")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert not (tmp_path / "g").exists() and counted == []


def test_the_ray_engine_without_ray_names_the_extra(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"^sweep.engine=ray needs the ray extra: pip install"):
        run_grid(_cfg("sweep.engine=ray"), folder=tmp_path / "g")
    assert not (tmp_path / "g").exists()


def test_the_cli_refuses_an_unknown_engine_before_hydra_writes(tmp_path):
    out = tmp_path / "g"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *SMALL, *GRID, "sweep.engine=spark", f"hydra.run.dir={out}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: sweep.engine='spark' must be one of local, ray, submitit"
    )
    assert not out.exists()


def test_the_cli_resumes_a_killed_grid_and_ends_with_the_uninterrupted_folder(reference, tmp_path):
    out = tmp_path / "g"
    run_grid(_cfg(), folder=out)  # the chunks a killed run left
    (out / STORE / "chunk-000001").rename(tmp_path / "gone")
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *SMALL, *GRID, f"hydra.run.dir={out}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / COMPLETE).exists() and not (out / STORE).exists()
    _same(GridResults.load(out), reference)


@pytest.mark.ray
@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="the `ray` extra is not installed (pip install -e '.[ray]')",
)
def test_ray_engine_on_a_local_ray_of_two_cpus_equals_local(reference, tmp_path):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        got = run_grid(_cfg("sweep.engine=ray"), folder=tmp_path / "g")
        assert ray.is_initialized()  # a Ray it did not start is left running
    finally:
        ray.shutdown()
    _same(got, reference)
    assert len(_chunks(tmp_path / "g")) == 3  # the driver stored what the tasks returned
    _same(run_grid(_cfg("sweep.engine=ray", "sweep.workers=2")), reference)  # its own Ray
