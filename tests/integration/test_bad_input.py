"""The bad-input probe (issue 25) as tests: one line, exit code 2, nothing written.

Each case runs in a fresh working folder that holds a user's own files (a ``configs/``
with a ``config.yaml``, a symlink to another folder, a plain file). The tree of that
folder and the checkout's ``configs/`` are hashed before and after: a refused input
must leave both unchanged, print exactly one ``error:`` line and no traceback. The
command line runs in-process (``sim.__main__.main``): the pre-check stops bad input
before Hydra starts, so no subprocess is needed.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from sim.config import CONFIG_DIR

TINY = ["n_agents=8", "replicates=1", "progress=false", "scenario=alignment_faking_prompted"]


def tree_hash(root: Path) -> str:
    """A hash of every path, link target and file content under ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_symlink():
            h.update(b"->" + str(p.readlink()).encode())
        elif p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working folder with a user's files; the current folder during the test."""
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "config.yaml").write_text("mine: true\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "precious.txt").write_text("keep me\n")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "a_file").write_text("not a folder\n")
    (tmp_path / "escape.yaml").write_text(
        "study: esc\nruns:\n  ../../elsewhere: [scenario=alignment_faking_prompted]\n"
        "targets:\n  - {id: t, figure: t, phase: prompted, run: ../../elsewhere,"
        " metric: compliance_gap, value: 0.1, tolerance: [0, 1]}\n"
    )
    (tmp_path / "bomb.yaml").write_text(
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        + "".join(
            f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "base: [scenario=alignment_faking_prompted]\nparameters: {}\ntargets: t.csv\n"
    )
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "spec.yaml").write_text(
        "base: [scenario=alignment_faking_prompted, n_agents=20, replicates=2]\n"
        "parameters:\n  population.phi: [0.1, 0.2]\ntargets: binary.csv\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(work: Path, capsys, call, needle: str) -> None:
    before, configs = tree_hash(work), tree_hash(CONFIG_DIR)
    code = call()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert needle in err[0], err[0]
    assert "Traceback" not in err[0]
    assert tree_hash(work) == before, "the working folder changed"
    assert tree_hash(CONFIG_DIR) == configs, "the shipped configs changed"


def _sim(argv):
    def call():
        from sim.__main__ import main

        old = sys.argv
        sys.argv = ["sim", *argv]
        try:
            main()
        except SystemExit as exit_:
            return exit_.code
        finally:
            sys.argv = old
        return 0

    return call


CLI = {
    # writes outside the folder meant
    "run dir holding a user's files": (["hydra.run.dir=configs"], "configs: holds files"),
    "run dir through a symlink": (["hydra.run.dir=link"], "link: is a symbolic link"),
    "run dir is a file": (["hydra.run.dir=a_file"], "a_file: is a file"),
    "sweep dir holding a user's files": (
        ["-m", "seed=1,2", "hydra.sweep.dir=configs"],
        "configs: holds files",
    ),  # fmt: skip
    "run name escaping outputs/": (["name=../../elsewhere"], "not a safe folder name"),
    "run name missing": (["name=???"], "Missing mandatory value: name"),
    "appending to a Hydra key": (["+hydra.run.dir=x"], "hydra.run.dir"),
    "pickled rerun": (["--experimental-rerun", "x.pickle"], "--experimental-rerun"),
    # keys the schema does not have, or deleted schema keys
    "+ under population": (["+population.zzz=1"], "unknown config key 'population.zzz'"),
    "++ under selection": (["++selection.zz=1"], "unknown config key 'selection.zz'"),
    "+ under sweep": (["+sweep.zz=1"], "unknown config key 'sweep.zz'"),
    "+ under an episode type": (["+episodes.evaluation.foo=1"], "'episodes.evaluation.foo'"),
    "~ a group": (["~population"], "~population: a key or config group"),
    "~ a root key": (["~n_agents"], "n_agents"),
    "~ phases alone": (["~phases"], "config key 'phases' is missing"),
    "phases replaced by a number": (["~phases", "+phases=inf"], "phases=inf: must be a mapping"),
    # numbers the float32 core cannot hold
    "nu 1e39": (["population.nu=1e39"], "population.nu=1e+39 must be at most"),
    "lam 1e39": (["population.lam=1e39"], "population.lam=1e+39"),
    "kappa 1e300": (["population.kappa=1e300"], "population.kappa=1e+300"),
    "normal mean overflows": (["population.nu=[normal,1e39,1]"], "population.nu.mean"),
    "boost inf": (["trainer.boost=inf"], "trainer.boost=inf must be finite"),
    "explore inf": (["trainer.explore=inf"], "trainer.explore=inf"),
    "mutation 1e400": (["selection.mutation=1e400"], "selection.mutation=inf"),
    "penalty inf": (["episodes.subversion.penalty=inf"], "episodes.subversion.penalty"),
    "beta underflows": (["population.theta=[beta,1e-320,1]"], "population.theta.a=1e-320"),
    "mitigation twice": (["mitigation=[random_audits,random_audits]"], "listed twice"),
    # sizes that cannot fit, or would run for days
    "agents 1e12": (["n_agents=1000000000000"], "limits.memory_gib"),
    "replicates 1e7": (["replicates=10000000"], "limits.memory_gib"),
    "rounds 1e9": (["phases.prompted.rounds=1000000000000"], "limits.agent_rounds"),
    "bootstrap 1e9": (
        ["scenario=apollo_sandbagging", "episodes.evaluation.bootstrap=1000000000"],
        "episodes.evaluation.bootstrap",
    ),  # fmt: skip
    "bootstrap 5 resamples": (
        ["scenario=apollo_sandbagging", "episodes.evaluation.bootstrap=5"],
        "episodes.evaluation.bootstrap=5 must be 0 (the exact bootstrap) or an integer >= 99",
    ),  # fmt: skip
    "grid axis 1e9 values": (
        ["sweep.grid={trainer.rho:linspace(0,1,1000000000)}"],
        "more than 1,000,000 on one axis",
    ),  # fmt: skip
    "grid range 1e12 steps": (["sweep.grid={trainer.rho:range(0,1,1e-12)}"], "on one axis"),
    "grid of 1e6 points": (
        [
            "n_agents=100000",
            "sweep.grid={trainer.rho:linspace(0,1,1000),trainer.eta:linspace(0,1,1000)}",
        ],
        "limits.agent_rounds",
    ),  # fmt: skip
    "multirun range 1e12 jobs": (["-m", "trainer.rho=range(0,1,1e-12)"], "1,000,000,000,000 jobs"),
    "multirun range to inf": (["-m", "seed=range(0,1e400)"], "must be finite numbers"),
    "grid with nan": (["sweep.grid={trainer.rho:linspace(0,nan,3)}"], "not a finite number"),
    "logspace past float32": (["sweep.grid={population.nu:logspace(0,400,3)}"], "float32"),
    # interpolation errors
    "unset environment variable": (["seed=${oc.env:TIS_SURELY_UNSET}"], "seed"),
}


@pytest.mark.parametrize("argv,needle", CLI.values(), ids=CLI.keys())
def test_command_line_refuses(work, capsys, argv, needle):
    _refused(work, capsys, _sim([*TINY, *argv]), needle)


def _analysis(argv):
    from analysis.__main__ import main

    return lambda: main(argv)


ANALYSIS = {
    "study run name escaping its folder": (
        ["reproduce", "escape.yaml", "--out", "repro", "--fast"], "not a safe folder name"),
    "reproduce --out a file": (["reproduce", "--out", "a_file", "--fast"], "a_file: is a file"),
    "reproduce --out a symlink": (["reproduce", "--out", "link", "--fast"], "symbolic link"),
    "calibration spec alias bomb": (["calibrate", "bomb.yaml", "--out", "cal"], "aliases"),
    "binary targets CSV": (["calibrate", "spec.yaml", "--out", "cal"], "not a UTF-8 text file"),
    "audit-rate tolerance 1e-300": (
        ["audit-rate", "mitigation=[random_audits]", *TINY, "--tol", "1e-300"],
        "bisection steps"),
    "audit-rate into a user's folder": (
        ["audit-rate", "mitigation=[random_audits]", *TINY, "--out", "configs"], "holds files"),
    "compare into a user's folder": (
        ["compare", "--designs", "noisy_monitoring", *TINY, "replicates=2", "--out", "configs"],
        "holds files"),
    "compare with an added key": (
        ["compare", "--designs", "noisy_monitoring", *TINY, "replicates=2", "+trainer.zz=1",
         "--out", "cmp"],
        "unknown config key 'trainer.zz'"),
    "collect onto a user's file": (
        ["collect", "configs", "--out", "a_file/table"], "a_file: is a file"),
}  # fmt: skip


@pytest.mark.parametrize("argv,needle", ANALYSIS.values(), ids=ANALYSIS.keys())
def test_analysis_commands_refuse(work, capsys, argv, needle):
    _refused(work, capsys, _analysis(argv), needle)


@pytest.mark.parametrize(
    "folder,needle", [("configs", "holds files"), ("link", "symbolic link"), ("a_file", "a file")]
)
def test_run_refuses_an_output_folder_not_its_own(work, folder, needle):
    from sim import run
    from sim.errors import ConfigError

    before = tree_hash(work)
    with pytest.raises(ConfigError, match=needle):
        run(TINY, output_dir=folder)
    assert tree_hash(work) == before


def test_a_run_folder_is_marked_and_may_be_reused(work):
    from sim import run
    from sim.outdir import MARKER

    run(TINY, output_dir="mine")
    assert (work / "mine" / MARKER).read_text().startswith("training-incentives-sim")
    run(TINY, output_dir="mine")  # the same config again: its own folder
