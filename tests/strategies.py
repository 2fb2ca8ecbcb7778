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
