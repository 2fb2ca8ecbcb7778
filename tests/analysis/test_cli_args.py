"""The analysis commands parse their lines in any order a user types them (analysis/cli_args.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import audit_rate, calibrate, collect, compare_cli, learn, reproduce, sweep_report
from analysis.cli_args import parse, split_overrides
from sim.errors import ConfigError

README_LINE = [
    "--designs", "noisy_monitoring", "random_audits+interpretability",
    "mitigation.random_audits.rate=0.5", "--budget", "0.7",
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "argv", "want"),
    [
        # README and docs/compare.md: the override after the nargs option --designs
        (compare_cli.parser, README_LINE,
         {"overrides": ["mitigation.random_audits.rate=0.5"], "budget": 0.7,
          "designs": ["noisy_monitoring", "random_audits+interpretability"]}),
        (compare_cli.parser, ["scenario=scheming_mix", "--designs", "log_audits", "seed=2",
                              "--phase", "after", "replicates=4"],
         {"overrides": ["scenario=scheming_mix", "seed=2", "replicates=4"],
          "designs": ["log_audits"], "phase": "after"}),
        # an option's value stays its value, even with '=' in it (a multirun job folder)
        (compare_cli.parser, ["--from", "runs/rate=0.5", "seed=1"],
         {"source": Path("runs/rate=0.5"), "overrides": ["seed=1"]}),
        (compare_cli.parser, ["--fr", "runs/rate=0.5"], {"source": Path("runs/rate=0.5")}),
        (compare_cli.parser, ["--out=a=b", "+extra=1", "~drop"],
         {"out": Path("a=b"), "overrides": ["+extra=1", "~drop"]}),
        (audit_rate.parser, ["--target", "0.02", "mitigation=[random_audits]", "--budget", "1",
                             "seed=3"],
         {"overrides": ["mitigation=[random_audits]", "seed=3"], "target": 0.02, "budget": 1.0}),
        (calibrate.parser, ["--out", "o", "n_agents=100", "spec.yaml", "seed=1", "--quiet"],
         {"spec": Path("spec.yaml"), "overrides": ["n_agents=100", "seed=1"], "quiet": True}),
        (learn.parser, ["--lifetimes", "5", "n_agents=50", "--conditions", "aware,blind",
                        "seed=1"],
         {"overrides": ["n_agents=50", "seed=1"], "lifetimes": 5,
          "conditions": ["aware", "blind"]}),
        # no overrides: positionals split by options (argparse alone refuses the second)
        (reproduce._parser, ["a.yaml", "--fast", "b.yaml"],
         {"studies": [Path("a.yaml"), Path("b.yaml")], "fast": True}),
        (collect.parser, ["sweeps/rate=0.5", "--out", "t", "grids/g"],
         {"dirs": [Path("sweeps/rate=0.5"), Path("grids/g")], "out": Path("t")}),
        (sweep_report.parser, ["--select", "trainer.rho=0.3", "grids/g", "--phase", "rl"],
         {"source": Path("grids/g"), "select": ["trainer.rho=0.3"], "phase": "rl"}),
    ],
)  # fmt: skip
def test_every_command_parses_options_and_overrides_in_any_order(make, argv, want):
    args = parse(make(), argv)
    for key, value in want.items():
        assert getattr(args, key) == value, key


def test_split_overrides_keeps_option_values_and_what_follows_a_double_dash():
    p = compare_cli.parser()
    assert split_overrides(p, ["a=1", "--budget", "-1", "--", "b=2"]) == (
        ["a=1"], ["--budget", "-1", "--", "b=2"],
    )  # fmt: skip


def test_compare_runs_the_readme_line(monkeypatch, capsys):
    """The README's line used to exit 2 at parsing (--designs swallowed the override)."""
    from analysis import compare

    seen = {}

    def prepare(overrides, designs, phase, probe=0):
        seen.update(overrides=list(overrides), designs=list(designs))
        raise ConfigError("stop here")

    monkeypatch.setattr(compare, "prepare", prepare)
    assert compare_cli.cli(README_LINE) == 2
    assert capsys.readouterr().err.strip() == "error: stop here"
    assert seen == {
        "overrides": ["mitigation.random_audits.rate=0.5"],
        "designs": ["noisy_monitoring", "random_audits+interpretability"],
    }


@pytest.mark.parametrize(
    ("cli", "argv"),
    [
        (compare_cli.cli, ["--budget", "x"]),
        (audit_rate.cli, ["--tol"]),
        (learn.cli, ["--lifetimes", "many"]),
        (calibrate.cli, []),
        (reproduce.cli, ["--seed", "one"]),
        (collect.cli, []),
        (sweep_report.cli, ["--dpi", "high", "g"]),
    ],
)
def test_a_bad_line_is_one_error_line_and_exit_2(cli, argv, capsys):
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--help" in err[0], err


def test_one_parser_serves_every_command():
    """No analysis command parses its line itself (one shared way: analysis.cli_args)."""
    root = Path(__file__).resolve().parents[2] / "analysis"
    own = [
        p.name for p in root.glob("*.py")
        if p.name != "cli_args.py" and ("parse_args(" in p.read_text()
                                        or "parse_intermixed_args(" in p.read_text())
    ]  # fmt: skip
    assert own == []
