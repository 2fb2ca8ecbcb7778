"""Shared hypothesis strategies: trait values, distributions and trainer settings."""

from __future__ import annotations

from hypothesis import strategies as st

unit = st.floats(0.0, 1.0, allow_nan=False)
gamma = st.floats(0.0, 0.995, allow_nan=False)
positive = st.floats(0.0, 5.0, allow_nan=False)
lam = st.floats(0.05, 200.0, allow_nan=False)

TRAIT_VALUES = {
    "theta": unit,
    "sigma": unit,
    "gamma": gamma,
    "nu": positive,
    "h": positive,
    "kappa": positive,
    "lam": lam,
    "phi": unit,
    "c": unit,
}


def _fmt(x: float) -> str:
    return repr(float(x))


@st.composite
def trait_overrides(draw, fixed_only: bool = False) -> list[str]:
    """Overrides setting every trait to a fixed value or a uniform range."""
    out = []
    for name, values in TRAIT_VALUES.items():
        a = draw(values)
        if fixed_only or draw(st.booleans()):
            out.append(f"population.{name}={_fmt(a)}")
        else:
            b = draw(values)
            lo, hi = min(a, b), max(a, b)
            out.append(f"population.{name}={{dist:uniform,low:{_fmt(lo)},high:{_fmt(hi)}}}")
    return out


@st.composite
def trainer_overrides(draw) -> list[str]:
    """Overrides of the trainer's parameters within their ranges."""
    return [
        f"trainer.{k}={_fmt(draw(unit))}" for k in ("rho", "fidelity", "eta", "eta_phi", "eta_leak")
    ]


HOSTILE_VALUES = (
    "inf", "-inf", "nan", "1e39", "1e400", "-1", "0", "0.5", "2", "1e12", "10000000000000",
    "-0.0", "'x'", "", "null", "???", "true", "[1,2]", "{a:1}", "[beta,1e-320,1]",
    "[normal,1e39,1]", "[uniform,1,0]", "${oc.env:TIS_SURELY_UNSET}", "${n_agents}",
    "${nope}", "linspace(0,1,1000000000)", "range(0,1,1e-12)", "'", "\\", "a b", "x,y",
    "'x\\',trainer.rho=5,name=\\'y'", "interval(0,1)", "choice(1,inf)", "1,2",
)  # fmt: skip
"""Values a careless or hostile user may give any key: out of range, unrepresentable in
float32, of the wrong type, interpolations, sweeps, quotes and backslashes."""

_FUZZ_KEYS = (
    "n_agents", "replicates", "seed", "name", "scenario", "profile", "nudge", "mitigation",
    "population.theta", "population.lam", "population.nu", "population.phi",
    "trainer.rho", "trainer.eta", "trainer.boost", "trainer.explore", "phases.prompted.rounds",
    "phases.prompted.mix.conflict", "episodes.evaluation.bootstrap",
    "episodes.subversion.penalty", "selection.mutation", "sweep.grid", "limits.memory_gib",
    "limits.agent_rounds", "mitigation.random_audits.rate", "population", "trainer", "phases",
    "zz", "trainer.zz", "hydra.run.dir",
)  # fmt: skip
"""Keys of the schema at every level (leaves, groups, mappings) and keys it does not have."""


@st.composite
def hostile_overrides(draw, max_size: int = 3) -> list[str]:
    """A short list of overrides, each a key (maybe with ``+``, ``++`` or ``~``) and a value
    that is either hostile or arbitrary text."""
    out = []
    for _ in range(draw(st.integers(1, max_size))):
        key = draw(st.sampled_from(_FUZZ_KEYS))
        prefix = draw(st.sampled_from(("", "", "", "+", "++", "~")))
        if prefix == "~" and draw(st.booleans()):
            out.append(f"~{key}")
            continue
        value = draw(st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=12)))
        out.append(f"{prefix}{key}={value}")
    return out
