"""What the environments show: the observation's encoding, the last observation, renderings.

- **Encodings** (``observation=``): ``"multidiscrete"`` (the default: the fields of
  :data:`sim.envs.parallel.AGENT_OBS` as integers, ``MultiDiscrete(nvec)``) or
  ``"onehot"`` (each field one-hot, concatenated: ``Box(0, 1, (sum(nvec),), float32)``),
  which SuperSuit's wrappers and most policy networks take as they are.
- **The last observation** of a lifetime: there is no next round, so nothing of the run
  is drawn for it; the cue it shows is what the agent would read at another round of the
  last phase, drawn from the episode's own stream (:data:`sim.rng.Component.ENV`), so
  that a learner bootstrapping from it sees a state it can meet (an aware agent reads a
  cue, an unaware one does not), and the run's rounds stay those of the app.
- **Renderings** (``render_mode=``): ``"ansi"`` (a line per agent: round, phase, the
  observation's fields) and ``"rgb_array"`` (a small picture: a column per agent, bands
  for the cue, the previous action, modification and the preference).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from sim.errors import ConfigError

OBSERVATIONS = ("multidiscrete", "onehot")
RENDER_MODES = ("ansi", "rgb_array")
MAX_ONEHOT_BINS = 4096
"""The most preference bins of a one-hot observation (its length grows with them)."""

_COLOURS = {  # cue band: unobserved, observed, not read; action band: own, comply, none
    "cue": np.array([[70, 130, 200], [220, 80, 60], [200, 200, 200]], dtype=np.uint8),
    "action": np.array([[220, 80, 60], [80, 170, 90], [200, 200, 200]], dtype=np.uint8),
}
_BAND = 16


def _show(value) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def observation_of(value, bins: int) -> str:
    """``observation``: one of :data:`OBSERVATIONS` (one-hot: at most 4,096 bins)."""
    if not isinstance(value, str) or value not in OBSERVATIONS:
        raise ConfigError(f"observation={_show(value)} must be one of {', '.join(OBSERVATIONS)}")
    if value == "onehot" and bins > MAX_ONEHOT_BINS:
        raise ConfigError(
            f"observation='onehot' needs preference_bins <= {MAX_ONEHOT_BINS} (got {bins})"
        )
    return value


def render_mode_of(value) -> str | None:
    """``render_mode``: None or one of :data:`RENDER_MODES`."""
    if value is not None and (not isinstance(value, str) or value not in RENDER_MODES):
        raise ConfigError(
            f"render_mode={_show(value)} must be None or one of {', '.join(RENDER_MODES)}"
        )
    return value


def agent_space(nvec, observation: str) -> spaces.Space:
    """An AI agent's observation space under the encoding."""
    if observation == "onehot":
        return spaces.Box(0.0, 1.0, (int(np.sum(nvec)),), dtype=np.float32)
    return spaces.MultiDiscrete(nvec)


def encode(obs: np.ndarray, nvec, observation: str) -> np.ndarray:
    """The ``(N, fields)`` integer observations in the encoding (one-hot: ``(N, sum(nvec))``)."""
    if observation != "onehot":
        return obs
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
    out = np.zeros((obs.shape[0], int(np.sum(nvec))), dtype=np.float32)
    np.put_along_axis(out, obs + offsets, np.float32(1.0), axis=1)
    return out


def last_cues(rng: np.random.Generator, sigma, rho, fidelity) -> np.ndarray:
    """The cue codes of a lifetime's last observation: read (0 or 1) if aware, else 2.

    One more round of the last phase's nature, from ``rng`` (the episode's own stream):
    observed with probability ``rho``, the cue says so with probability ``fidelity``,
    read with probability ``sigma`` (each agent's own).
    """
    u = rng.random((3, np.size(sigma)), dtype=np.float32)
    observed = u[0] < rho
    cue = observed == (u[1] < fidelity)
    aware = u[2] < np.asarray(sigma).reshape(-1)
    return np.where(aware, cue.astype(np.int64), 2)


def agent_fields(arena, last, modified, bins: int, extended: bool, last_rng, last_params):
    """The AI agents' observations of replicate 0 as ``(N, fields)`` int64.

    Args:
        arena: the :class:`sim.envs.arena.Arena` after :meth:`~sim.envs.arena.Arena.observe`
            (or after the last round).
        last: each agent's previous action (``ACT_NONE`` = 2 before the first).
        modified: bool, its ``theta`` changed in the last round.
        bins: the preference bins.
        extended: the run has other episode types (field 4).
        last_rng: the episode's own generator, for the last observation's cue.
        last_params: the last round's :class:`sim.params.RoundParams`.
    """
    n = arena.run.state.theta.shape[1]
    obs = np.empty((n, 5 if extended else 4), dtype=np.int64)
    if arena.done:  # no next round: what the agent would read at one more
        sigma = arena.run.state.traits.sigma[0]
        obs[:, 0] = last_cues(last_rng, sigma, last_params.rho, last_params.fidelity)
        if extended:
            obs[:, 4] = 0  # a conflict request
    else:
        ep = arena.episode
        obs[:, 0] = np.where(ep.aware[0], ep.cue[0].astype(np.int64), 2)
        if extended:
            obs[:, 4] = arena.etype[0]
    obs[:, 1] = last
    obs[:, 2] = modified
    theta = arena.run.state.theta[0]
    obs[:, 3] = np.minimum((theta * bins).astype(np.int64), bins - 1)
    return obs


def ansi(obs: np.ndarray, names, round_: int, phase: str) -> str:
    """One line per agent: its round, phase and observation fields."""
    lines = [f"round {round_} ({phase})"]
    for name, row in zip(names, obs, strict=True):
        cue = ("unobserved", "observed", "not read")[row[0]]
        last = ("own", "comply", "none")[row[1]]
        lines.append(f"{name}: cue={cue} last={last} modified={row[2]} preference_bin={row[3]}")
    return "\n".join(lines) + "\n"


def rgb(obs: np.ndarray, bins: int) -> np.ndarray:
    """A ``(4 * 16, width, 3)`` uint8 picture: a column per agent (at least 4 px wide)."""
    n = obs.shape[0]
    width = max(1, 256 // n)
    img = np.zeros((4 * _BAND, n * width, 3), dtype=np.uint8)
    cols = np.repeat(np.arange(n), width)
    img[:_BAND] = _COLOURS["cue"][obs[cols, 0]]
    img[_BAND : 2 * _BAND] = _COLOURS["action"][obs[cols, 1]]
    img[2 * _BAND : 3 * _BAND] = np.where(obs[cols, 2, None] == 1, 230, 40).astype(np.uint8)
    level = (255 * (obs[cols, 3] + 0.5) / bins).astype(np.uint8)
    img[3 * _BAND :] = np.stack([level, level // 2, 255 - level], axis=1)
    return img


__all__ = [
    "MAX_ONEHOT_BINS", "OBSERVATIONS", "RENDER_MODES", "agent_fields", "agent_space", "ansi",
    "encode",
    "last_cues", "observation_of", "render_mode_of", "rgb",
]  # fmt: skip
