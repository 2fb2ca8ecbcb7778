"""Figures of a sweep, from a collected table (analysis/collect.py; docs/figures.md).

The phase diagram with the closed-form threshold of the mean agent, the response curves,
and the alignment illusion of one run. Each function returns the matplotlib Figure and a
caption (what is shown, the number of replicates, what the band is); :func:`save` writes
it as PNG and PDF. The compliance-gap and sandbagging figures, the command line and the
report are in analysis/sweep_report.py.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from textwrap import fill

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.style import OKABE_ITO as C
from analysis.style import RC
from sim.errors import ConfigError
from sim.population import parse_dist
from sim.theory import faking_threshold, future_value, posterior_observed

PARAM_LABELS = {
    "trainer.rho": "share of episodes observed",
    "trainer.eta": "training step on an observed refusal",
    "trainer.fidelity": "P(cue = actual observation)",
    "trainer.eta_phi": "step of phi on observed faked compliance",
    "trainer.eta_leak": "training leak of non-faked compliance",
    "population.theta": "conflicting preference",
    "population.sigma": "situational awareness",
    "population.gamma": "discount factor",
    "population.nu": "goal nudging",
    "population.h": "honesty cost",
    "population.kappa": "trained-in helpfulness",
    "population.lam": "rationality of the choice",
    "population.phi": "strategic disposition",
    "population.c": "capability",
    "population.prior": "belief of being observed without the cue",
    "seed": "root seed",
    "n_agents": "agents per replicate",
    "replicates": "replicates",
}
METRIC_LABELS = {
    "compliance_observed": "compliance, cue: observed",
    "compliance_unobserved": "compliance, cue: unobserved",
    "compliance_gap": "compliance gap (observed - unobserved cue)",
    "af_reasoning_rate": "alignment-faking reasoning (share of observed-cue episodes)",
    "behavioral_alignment": "behavioural alignment (trainer's view)",
    "preference_alignment": "preference alignment (hidden)",
    "alignment_illusion": "alignment illusion (behavioural - preference)",
    "mean_theta": "mean hidden preference theta",
    "mean_phi": "mean strategic disposition phi",
    "sandbag_gap": "sandbagging accuracy gap (well - poorly)",
    "unobserved_defection_rate": "defection the trainer did not see",
    "oversight_cost": "oversight cost per agent-round",
}
CLOSED_FORM = {
    "population.theta": "theta",
    "population.nu": "nu",
    "population.h": "h",
    "population.kappa": "kappa",
    "population.gamma": "gamma",
    "trainer.rho": "rho",
    "trainer.fidelity": "fidelity",
    "trainer.eta": "eta",
}
"""Config keys entering the closed-form faking threshold, and their names in sim/theory.py."""
LINES = ("blue", "vermillion", "green", "orange", "purple", "sky", "black")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DASHES = ("-", "--", "-.", ":")
THRESHOLD = "closed-form threshold"


def param_label(key: str) -> str:
    """``key (meaning)`` for an axis."""
    return f"{key} ({PARAM_LABELS[key]})" if key in PARAM_LABELS else key


def metric_label(metric: str) -> str:
    """A metric's meaning, for an axis or a colour bar."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


# ---- the closed form for the mean agent -------------------------------------------------


def trait_mean(spec, trait: str) -> float:
    """The population mean of a trait given in any config form (number, list form, mapping).

    Raises:
        ConfigError: the value is not a valid distribution of the trait.
    """
    return float(parse_dist(f"population.{trait}", spec, trait).expectation())


def mean_agent(config: dict) -> dict[str, float]:
    """The closed form's inputs for the mean agent: trait means and the trainer's values.

    Raises:
        ConfigError: a key is missing or invalid.
    """
    out = {}
    for key, name in CLOSED_FORM.items():
        section, leaf = key.split(".")
        value = config.get(section, {}).get(leaf)
        if value is None:
            raise ConfigError(f"{key}: missing from the config")
        out[name] = trait_mean(value, leaf) if section == "population" else float(value)
    return out


def threshold_margin(p: dict) -> tuple[np.ndarray, np.ndarray]:
    """The faking margin ``b*eta*G - (1 + (h - kappa)/(nu*theta))`` and whether the agent fakes.

    ``b = posterior_observed(rho, fidelity, cue=True)``, ``G = future_value(gamma, rho)``.
    Where the preference does not conflict (``nu*theta <= kappa``) the agent never fakes
    and the margin is set to -1, so that the zero contour bounds the faking region.
    """
    b = posterior_observed(p["rho"], p["fidelity"], True)
    g = future_value(p["gamma"], p["rho"])
    goal = np.asarray(p["nu"], dtype=np.float64) * p["theta"]
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = b * p["eta"] * g - (1.0 + (p["h"] - p["kappa"]) / goal)
    fakes = faking_threshold(b, p["eta"], g, p["h"], p["kappa"], p["nu"], p["theta"])
    return np.where(goal > p["kappa"], margin, -1.0), np.asarray(fakes, dtype=bool)


# ---- shared helpers ----------------------------------------------------------------------


def log_axes(config: dict | None) -> set[str]:
    """The keys a grid run's spec gave as ``logspace(..)``: drawn on a log axis.

    The scale is decided by how an axis was specified, never guessed from its values:
    ``logspace`` is log, a list, ``linspace`` or ``range`` is linear (``--log KEY`` of
    ``python -m analysis figures`` draws any positive axis on a log scale).
    """
    grid = ((config or {}).get("sweep") or {}).get("grid") or {}
    return {k for k, v in grid.items() if isinstance(v, str) and v.strip().startswith("logspace(")}


def _is_log(key: str, values: np.ndarray, log) -> bool:
    if key not in log:
        return False
    if not (np.asarray(values, dtype=float) > 0).all():
        raise ConfigError(f"--log {key}: a log axis needs positive values")
    return True


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log(values) if log else np.asarray(values, dtype=float)
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5]) if not log else np.array([v[0] - 0.1, v[0] + 0.1])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def replicates_text(rows: pd.DataFrame) -> str:
    """``3 replicates`` or ``3-8 replicates`` (R of the runs shown)."""
    r = rows["replicates"].dropna().astype(int)
    if r.empty:
        return "an unknown number of replicates"
    lo, hi = int(r.min()), int(r.max())
    return f"{lo} replicates" if lo == hi else f"{lo}-{hi} replicates"


def _fixed_text(fixed: dict) -> str:
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, (int, float, np.number)) else str(v)


def _ticks(values: np.ndarray, most: int = 11) -> np.ndarray:
    """Every value as a tick, or every k-th (ends kept) when there are more than ``most``."""
    if len(values) <= most:
        return values
    step = int(np.ceil((len(values) - 1) / (most - 1)))
    return values[::step]


def match(series: pd.Series, value) -> pd.Series:
    """Rows where ``series`` equals ``value`` (NaN equals NaN; numbers within 1e-9)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return series.isna()
    if pd.api.types.is_numeric_dtype(series) and isinstance(value, (int, float, np.number)):
        return np.isclose(series.astype(float), float(value), rtol=1e-9, atol=1e-12)
    return series.astype(str) == str(value)


def _averaged(rows: pd.DataFrame, keys: list[str]) -> str:
    """The caption's note when several runs share a cell (several sweeps, or seeds)."""
    if (rows.groupby(keys).size() > 1).any():
        return (
            "Where several runs share a value (other sweeps or seeds), their means are averaged. "
        )
    return ""


def select_rows(table: pd.DataFrame, metric: str, phase: str, fixed: dict) -> pd.DataFrame:
    """The table's rows of one metric and phase, with the ``fixed`` parameters at their value.

    Raises:
        ConfigError: the metric is undefined in every row left.
    """
    rows = table[(table["metric"] == metric) & (table["phase"] == phase)]
    for key, value in fixed.items():
        rows = rows[match(rows[key], value)]
    if not np.isfinite(rows["mean"].to_numpy(dtype=float)).any():
        where = f" with {_fixed_text(fixed)}" if fixed else ""
        raise ConfigError(f"{metric} is undefined in phase '{phase}'{where}")
    return rows


# ---- phase diagram -----------------------------------------------------------------------


def phase_diagram(
    table: pd.DataFrame,
    x: str,
    y: str,
    metric: str = "af_reasoning_rate",
    phase: str = "post_rl",
    config: dict | None = None,
    fixed: dict | None = None,
    log: Collection[str] = (),
):
    """Heatmap of a metric over two swept parameters, with the closed-form threshold.

    ``log`` names the axes drawn on a log scale (:func:`log_axes` reads them off a grid
    run's spec); every other axis is linear.

    The threshold is the zero contour of :func:`threshold_margin` for the mean agent
    (trait means of ``config``, the other keys at ``config``'s values), drawn when ``x``
    or ``y`` enters the closed form and the margin changes sign in the plotted range.

    Returns:
        The figure and its caption.
    """
    fixed = fixed or {}
    rows = select_rows(table, metric, phase, fixed)
    grid = rows.groupby([y, x])["mean"].mean().unstack(x).sort_index().sort_index(axis=1)
    xs, ys = grid.columns.to_numpy(dtype=float), grid.index.to_numpy(dtype=float)
    xlog, ylog = _is_log(x, xs, log), _is_log(y, ys, log)
    xe, ye = _edges(xs, xlog), _edges(ys, ylog)
    values = grid.to_numpy(dtype=float)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.6, 5.4))
        cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
        finite = values[np.isfinite(values)]
        vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        if vmax - vmin < 1e-9:
            vmin, vmax = vmin - 0.05, vmax + 0.05
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(values), cmap=cmap, vmin=vmin,
                             vmax=vmax, shading="flat")  # fmt: skip
        if xlog:
            ax.set_xscale("log")
        if ylog:
            ax.set_yscale("log")
        if values.shape[0] <= 12 and values.shape[1] <= 12:
            _annotate(ax, xs, ys, values, vmin, vmax)
        bar = fig.colorbar(mesh, ax=ax, pad=0.02)
        bar.set_label(fill(metric_label(metric), 40))
        note = _threshold(ax, x, y, xe, ye, xlog, ylog, config)
        ax.set_xlabel(param_label(x))
        ax.set_ylabel(param_label(y))
        xt, yt = _ticks(xs), _ticks(ys)
        crowded = sum(len(_fmt(v)) + 2 for v in xt) > 60
        ax.set_xticks(xt, [_fmt(v) for v in xt], rotation=45 if crowded else 0)
        ax.set_yticks(yt, [_fmt(v) for v in yt])
        ax.minorticks_off()
        ax.set_title(f"{metric}, phase '{phase}'")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14 - 0.05 * crowded),
                      frameon=False)  # fmt: skip
    shown = "colour and number" if values.shape[0] <= 12 and values.shape[1] <= 12 else "colour"
    caption = (
        f"Phase diagram: {metric_label(metric)} in phase '{phase}' ({shown} in each "
        f"cell: mean over {replicates_text(rows)} per run; grey: no run or undefined) over "
        f"{x} and {y}"
    )
    caption += f", with {_fixed_text(fixed)}. " if fixed else ". "
    return fig, caption + _averaged(rows, [x, y]) + note


def _annotate(ax, xs, ys, values, vmin, vmax) -> None:
    """Write each cell's value, outlined so that it stays legible over the threshold line."""
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            if np.isfinite(values[i, j]):
                light = (values[i, j] - vmin) / (vmax - vmin) > 0.6
                fg, bg = ("black", "white") if light else ("white", "black")
                stroke = [pe.withStroke(linewidth=1.5, foreground=bg)]
                ax.text(xv, yv, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7.5,
                        color=fg, zorder=5, path_effects=stroke)  # fmt: skip


def _threshold(ax, x, y, xe, ye, xlog, ylog, config) -> str:
    """Draw the closed-form threshold if there is one; return the caption's sentence on it."""
    entering = [k for k in (x, y) if k in CLOSED_FORM]
    if not entering:
        return (
            f"No closed-form threshold is drawn: neither {x} nor {y} enters it "
            "(b·eta·G > 1 + (h - kappa)/(nu·theta); they scale the rate, not the threshold)."
        )
    if config is None:
        return "No closed-form threshold is drawn: the runs' config was not found."
    try:
        p = mean_agent(config)
    except ConfigError as err:
        return f"No closed-form threshold is drawn: {err}."
    mx = np.geomspace(xe[0], xe[-1], 240) if xlog else np.linspace(xe[0], xe[-1], 240)
    my = np.geomspace(ye[0], ye[-1], 240) if ylog else np.linspace(ye[0], ye[-1], 240)
    mx, my = _clip_domain(x, mx), _clip_domain(y, my)
    gx, gy = np.meshgrid(mx, my)
    for key, grid in ((x, gx), (y, gy)):
        if key in CLOSED_FORM:
            p[CLOSED_FORM[key]] = grid
    margin, fakes = threshold_margin({k: np.broadcast_to(v, gx.shape) for k, v in p.items()})
    if fakes.all() or not fakes.any():
        where = "everywhere" if fakes.all() else "nowhere"
        return (
            "The closed-form threshold of the mean agent lies outside the plotted range "
            f"(by the closed form the mean agent fakes {where} here)."
        )
    side = []
    if x in CLOSED_FORM and abs(gx[fakes].mean() - gx[~fakes].mean()) > 1e-9:
        side.append("right" if gx[fakes].mean() > gx[~fakes].mean() else "left")
    if y in CLOSED_FORM and abs(gy[fakes].mean() - gy[~fakes].mean()) > 1e-9:
        side.insert(0, "above" if gy[fakes].mean() > gy[~fakes].mean() else "below")
    label = f"{THRESHOLD} (mean agent fakes {'/'.join(side)})"
    words = {"left": "to the left of", "right": "to the right of"}
    where = " and ".join(words.get(s, s) for s in side)
    ax.contour(gx, gy, margin, levels=[0.0], colors=C["vermillion"], linewidths=2.2,
               path_effects=[pe.withStroke(linewidth=4, foreground="white")])  # fmt: skip
    ax.plot([], [], color=C["vermillion"], lw=2.2, label=label)
    return (
        f"Red line: the closed-form faking threshold b·eta·G = 1 + (h - kappa)/(nu·theta) "
        f"(sim/theory.py) of the mean agent (each trait at its population mean in the "
        f"config, the other keys at the config's values); it fakes {where} the "
        "line. It is the threshold at the initial traits: training moves theta and phi."
    )


def _clip_domain(key: str, values: np.ndarray) -> np.ndarray:
    """Keep a mesh inside the key's valid range (gamma < 1, shares in [0, 1])."""
    if key == "population.gamma":
        return np.clip(values, 0.0, 1.0 - 1e-9)
    if key in ("trainer.rho", "trainer.fidelity", "population.theta"):
        return np.clip(values, 0.0, 1.0)
    return np.clip(values, 0.0, None)


# ---- response curves ---------------------------------------------------------------------


def evenly(values: list, cap: int = 6) -> list:
    """At most ``cap`` of the sorted ``values``, evenly spaced, first and last included."""
    if len(values) <= cap:
        return list(values)
    idx = np.unique(np.round(np.linspace(0, len(values) - 1, cap)).astype(int))
    return [values[i] for i in idx]


def response_curves(
    table: pd.DataFrame,
    x: str,
    metric: str = "af_reasoning_rate",
    phase: str = "post_rl",
    by: str | None = None,
    fixed: dict | None = None,
    cap: int = 6,
    log: Collection[str] = (),
):
    """A metric against one parameter: mean and 95% band, one line per value of ``by``.

    ``x`` is drawn on a log scale if it is in ``log`` (as for :func:`phase_diagram`).

    Returns:
        The figure and its caption.
    """
    fixed = {k: v for k, v in (fixed or {}).items() if k not in (x, by)}
    rows = select_rows(table, metric, phase, fixed)
    groups = [None]
    if by is not None:
        groups = sorted(rows[by].dropna().unique().tolist(), key=_sort_key)
    shown = evenly(groups, cap)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(7.2, 4.4))
        band = False
        for i, value in enumerate(shown):
            sub = rows if value is None else rows[match(rows[by], value)]
            g = sub.groupby(x)[["mean", "ci_low", "ci_high"]].mean().sort_index()
            color = C[LINES[i % len(LINES)]]
            label = None if value is None else _fmt(value)
            ax.plot(g.index, g["mean"], color=color, marker=MARKERS[i % len(MARKERS)], ms=4.5,
                    ls=DASHES[i % len(DASHES)], lw=1.6, label=label)  # fmt: skip
            if g["ci_low"].notna().any():
                band = True
                ax.fill_between(g.index, g["ci_low"], g["ci_high"], color=color, alpha=0.18,
                                lw=0)  # fmt: skip
        xs = np.unique(rows[x].dropna().to_numpy(dtype=float))
        xlog = _is_log(x, xs, log)
        if xlog:
            ax.set_xscale("log")
        if len(xs) <= 10 or xlog:
            ax.set_xticks(_ticks(xs, 10), [_fmt(v) for v in _ticks(xs, 10)])
            ax.minorticks_off()
        ax.set_xlabel(param_label(x))
        ax.set_ylabel(fill(metric_label(metric), 45))
        ax.set_title(f"{metric}, phase '{phase}'")
        if by is not None:
            ax.legend(title=fill(param_label(by), 28), loc="upper left",
                      bbox_to_anchor=(1.02, 1.0), frameon=False)  # fmt: skip
    caption = (
        f"Response curve: {metric_label(metric)} in phase '{phase}' against {x}; line: mean "
        f"over {replicates_text(rows)} per run; "
        + ("band: 95% Student-t interval over replicates" if band else "no band (one replicate)")
    )
    if by is not None:
        caption += f"; one line per value of {by}"
        if len(shown) < len(groups):
            caption += f" ({len(shown)} of its {len(groups)} values, evenly spaced)"
    caption += f"; {_fixed_text(fixed)}." if fixed else "."
    caption += _averaged(rows, [x] if by is None else [x, by]).rstrip()
    return fig, caption


def _sort_key(v):
    return (0, float(v), "") if isinstance(v, (int, float, np.number)) else (1, 0.0, str(v))


# ---- alignment illusion ------------------------------------------------------------------


def illusion_figure(rounds: pd.DataFrame, run: str = ""):
    """Behavioural against preference alignment per round, phases marked.

    Line: mean over replicates; band: 2.5-97.5% of replicates when ``rounds`` has one
    row per replicate and round (a grid's rounds table holds means only: no band).

    Returns:
        The figure and its caption.
    """
    per_rep = "replicate" in rounds.columns and rounds["replicate"].nunique() > 1
    series = (
        ("behavioral_alignment", "behavioural alignment\n(compliance the trainer sees)",
         C["green"]),
        ("preference_alignment", "preference alignment\n(hidden: no conflicting preference)",
         C["purple"]),
    )  # fmt: skip
    g = rounds.groupby("round")
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(8.4, 4.0))
        means = {}
        for metric, label, color in series:
            means[metric] = g[metric].mean()
            ax.plot(means[metric].index, means[metric].to_numpy(), color=color, lw=1.8,
                    label=label)  # fmt: skip
            if per_rep:
                lo, hi = g[metric].quantile(0.025), g[metric].quantile(0.975)
                ax.fill_between(lo.index, lo.to_numpy(), hi.to_numpy(), color=color, alpha=0.2,
                                lw=0)  # fmt: skip
        b, p = means["behavioral_alignment"], means["preference_alignment"]
        ax.fill_between(b.index, p.to_numpy(), b.to_numpy(), where=(b >= p).to_numpy(),
                        facecolor="none", hatch="...", edgecolor="0.6", lw=0,
                        label="alignment illusion\n(behavioural - preference)")  # fmt: skip
        bounds = rounds.groupby("phase", observed=True)["round"].agg(["min", "max"])
        for i, (name, row) in enumerate(bounds.sort_values("min").iterrows()):
            if i:
                ax.axvline(row["min"] - 0.5, color="0.4", lw=0.9, ls="--")
            ax.text((row["min"] + row["max"]) / 2, 1.01, name, ha="center", va="bottom",
                    fontsize=8.5, color="0.25", transform=ax.get_xaxis_transform())  # fmt: skip
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("round")
        ax.set_ylabel("share (episodes or agents)")
        ax.set_title("Alignment illusion over time", pad=18)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    band = (
        "band: 2.5-97.5% of replicates"
        if per_rep
        else "no band (the rounds table holds the mean over replicates only)"
    )
    caption = (
        "Alignment illusion" + (f" of {run}" if run else "") + ": behavioural alignment "
        "(compliance in observed episodes, what the trainer sees) against preference "
        "alignment (share of agents whose preference does not conflict), per round; dotted "
        f"area: the illusion. Line: mean over replicates; {band}; dashed lines: phase "
        "boundaries."
    )
    return fig, caption
