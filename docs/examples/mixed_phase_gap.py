"""How far is the exact planner's covert valuation from the optimum in a mixed phase?

The exact planner values a covert option with the conflict game's value table ``W``: every
future round a conflict request (docs/model.md, "The exact planner", scope). This script
solves, by value iteration on a fine grid of ``log theta``, a phase whose rounds are a
conflict request with probability ``m`` and a goal-update announcement otherwise (accept:
``theta <- theta (1 - shift)``; tamper: cost ``h``, detected with probability ``r``, then
the penalty and the update), and compares the sign of the tampering decision
``-h + (1 - r) gamma (W(theta) - W(theta (1 - shift))) - r penalty`` under the mixed
phase's value with the conflict-only table's and with the closed form's ``shift G g``, at
random designs and preferences. Seeded: the same numbers every run.
"""

from __future__ import annotations

import numpy as np


def solve(grid, m, sigma, gamma, nu, h, kappa, rho, f, eta, shift, r, pen, iterations=3000):
    """``W`` on ``grid`` (theta values, ascending) for conflict share ``m``."""
    p1 = rho * f + (1 - rho) * (1 - f)
    reads = [(sigma * (1 - p1), rho * (1 - f) / (1 - p1)), (sigma * p1, rho * f / p1),
             (1 - sigma, rho)]  # fmt: skip
    g = nu * grid
    settled = m * kappa / (1 - gamma)  # no conflict left: comply in conflict rounds
    W = np.full(grid.size, settled)

    def at(theta):
        v = np.interp(np.log(np.maximum(theta, 1e-300)), np.log(grid), W)
        return np.where(nu * theta > kappa, v, settled)

    for _ in range(iterations):
        down, shifted = at(grid * (1 - eta)), at(grid * (1 - shift))
        conflict = sum(
            p * np.maximum(kappa - h + gamma * W, g + gamma * (b * down + (1 - b) * W))
            for p, b in reads
        )
        accept = gamma * shifted
        tamper = -h + gamma * ((1 - r) * W + r * shifted) - r * pen
        new = np.where(g > kappa, m * conflict + (1 - m) * np.maximum(accept, tamper), settled)
        if np.max(np.abs(new - W)) < 1e-10:
            return new
        W = new
    return W


def _stake(W, grid, share, theta, gamma, nu, kappa, shift):
    """``gamma (W(theta) - W(theta (1 - shift)))``, ``W`` interpolated on ``grid``."""

    def at(y):
        v = np.interp(np.log(y), np.log(grid), W)
        return np.where(nu * y > kappa, v, share * kappa / (1 - gamma))

    return gamma * (at(theta) - at(theta * (1 - shift)))


def main(designs=40, per_design=50, seed=0):
    """Print the share of tampering decisions each valuation gets right."""
    rng = np.random.default_rng(seed)
    right_table = right_closed = total = 0
    for _ in range(designs):
        m = rng.uniform(0.3, 0.9)
        sigma, gamma = rng.uniform(0.3, 0.95), rng.uniform(0.6, 0.95)
        nu, h, kappa = rng.uniform(0.5, 2), rng.uniform(0, 0.3), rng.uniform(0.05, 0.4)
        rho, f, eta = rng.uniform(0.1, 0.9), rng.uniform(0.55, 0.99), rng.uniform(0.05, 0.4)
        shift, r, pen = rng.uniform(0.05, 0.5), rng.uniform(0, 0.8), rng.uniform(0, 1)
        low = kappa / nu * 0.5
        if low >= 1:
            continue
        grid = np.exp(np.linspace(np.log(low), 0, 600))
        args = (sigma, gamma, nu, h, kappa, rho, f, eta, shift, r, pen)
        mixed, conflict_only = solve(grid, m, *args), solve(grid, 1.0, *args)
        theta = rng.uniform(kappa / nu, 1, per_design)
        same = (gamma, nu, kappa, shift)
        losses = (
            _stake(mixed, grid, m, theta, *same),  # the optimum's
            _stake(conflict_only, grid, 1.0, theta, *same),  # the exact planner's table
            shift * gamma * (1 - rho) / (1 - gamma) * nu * theta,  # the closed form
        )
        best, table, closed = (-h + (1 - r) * x - r * pen > 0 for x in losses)
        right_table += int((best == table).sum())
        right_closed += int((best == closed).sum())
        total += theta.size
    print(
        f"tamper decisions in mixed phases: conflict-only table {right_table / total:.3f}, "
        f"closed form {right_closed / total:.3f}, of {total}"
    )


if __name__ == "__main__":
    main()
