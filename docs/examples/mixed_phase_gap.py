"""How close is the exact planner to the optimum in a mixed phase, and how far were its forerunners?

A phase's round is a conflict request, a goal-update announcement, an exfiltration
opportunity or an evaluation, by a random mix (:class:`agents.optimum.MixedPhase`). Value
iteration on a fine grid of ``log theta`` (:func:`agents.optimum.mixed_phase_value`) gives
the optimum's decisions: faking on a read cue, tampering with the update, attempting the
exfiltration. The script counts how often three valuations take the same decision at
random designs and preferences: the exact planner, which solves the phase's mix
(:func:`agents.exact.solve_plan`); its conflict-only table (the future valued as if every
round were a conflict request, as it did before); and the strategic planner's closed forms
(``b eta G g``, ``shift G g``, ``(1 - threat) G g``). Seeded: the same numbers every run.
"""

from __future__ import annotations

import numpy as np

from agents.exact import solve_plan
from agents.optimum import MixedPhase, mixed_phase_value
from agents.utilities import future_unobserved

TYPES = ("conflict", "goal_update", "exfiltration", "evaluation")


def _design(rng) -> MixedPhase:
    u = rng.uniform
    return MixedPhase(
        mix=dict(zip(TYPES, rng.dirichlet([2.0, 1.0, 1.0, 0.5]).tolist(), strict=True)),
        sigma=u(0.3, 0.95), gamma=u(0.6, 0.95), nu=u(0.5, 2.0), h=u(0.0, 0.3),
        kappa=u(0.05, 0.4), rho=u(0.1, 0.9), fidelity=u(0.55, 0.99), eta=u(0.05, 0.4),
        shift=u(0.05, 0.6), det_g=u(0.0, 0.8), pen_g=u(0.0, 1.0), security=u(0.2, 0.95),
        det_x=u(0.0, 0.9), threat=u(0.1, 1.0),
    )  # fmt: skip


def _table(d: MixedPhase, n: int, mix: dict):
    """The exact planner's value table for the phase ``d`` told the mix ``mix``."""
    plan = solve_plan(*d.planner_inputs(n, mix))
    return lambda y: plan.at(np.asarray(y, dtype=np.float32), channel=3).astype(np.float64)


def _closed(d: MixedPhase, theta):
    """The closed forms' decisions (the strategic planner's, without trembling)."""
    g, G = d.nu * theta, future_unobserved(d.gamma, d.rho)
    fake = [d.kappa - d.h - g + b * d.eta * G * g > 0 for _, b in d.reads()[:2]]
    tamper = -d.h + (1 - d.det_g) * d.shift * G * g - d.det_g * d.pen_g > 0
    p_x, stay = 1 - d.security, (1 - d.threat) * G * g
    exfil = -d.h + p_x * d.gamma / (1 - d.gamma) * g + (1 - p_x) * (1 - d.det_x) * stay - stay
    return np.stack([*fake, tamper, exfil > 0])


def main(designs=40, per_design=50, seed=0):
    """Print each valuation's share of the optimum's decisions, by decision."""
    rng = np.random.default_rng(seed)
    right = {"exact planner": np.zeros(4), "conflict-only table": np.zeros(4),
             "closed form": np.zeros(4)}  # fmt: skip
    total = 0
    for _ in range(designs):
        d = _design(rng)
        low = d.kappa / d.nu
        if low >= 0.9:
            continue
        theta = np.exp(rng.uniform(np.log(low), 0.0, per_design))
        grid = np.exp(np.linspace(np.log(low * 0.5), 0.0, 1500))
        best = d.decisions(mixed_phase_value(d, grid), theta)
        n = theta.size
        got = {
            "exact planner": d.decisions(_table(d, n, d.mix), theta),
            "conflict-only table": d.decisions(_table(d, n, {"conflict": 1.0}), theta),
            "closed form": _closed(d, theta),
        }
        for name, decisions in got.items():
            right[name] += (decisions == best).sum(axis=1)
        total += n
    print(f"share of the optimum's decisions in mixed phases, {total} preferences:")
    widths = {"fake (z=0)": 10, "fake (z=1)": 10, "tamper": 8, "exfiltrate": 10}
    print(f"{'valuation':<20}" + "".join(f" {k:>{w}}" for k, w in widths.items()))
    for name, hits in right.items():
        cells = zip(hits / total, widths.values(), strict=True)
        print(f"{name:<20}" + "".join(f" {x:>{w}.3f}" for x, w in cells))


if __name__ == "__main__":
    main()
