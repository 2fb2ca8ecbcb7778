"""Small-sample statistics: binomial tests, intervals, bootstrap.

The metrics (:mod:`sim.metrics`: the sandbagging and paired-episode tests) and the
analyses (:mod:`analysis.stats` re-exports this module) use the same functions; they live
in the core so that nothing in ``sim/`` imports ``analysis/``.

Pure numpy plus ``scipy.special`` (``scipy.stats`` is deliberately not imported: this module sits
on the simulator's start-up path). Every function is vectorised over its array arguments unless
stated otherwise; 0-d results are returned as numpy scalars.
"""

from __future__ import annotations

import numpy as np
from scipy.special import bdtrc, betaincinv

from sim.intervals import as_int as _as_int
from sim.intervals import counts_of as _counts_n
from sim.intervals import wilson_interval  # the summaries' interval for few events

__all__ = [
    "binomial_sf",
    "binomial_test_greater",
    "bootstrap_difference_pvalue",
    "bootstrap_difference_pvalue_exact",
    "bootstrap_difference_pvalue_samples",
    "clopper_pearson_interval",
    "smallest_significant_count",
    "wilson_interval",
]

# Memory budget for one chunk of bootstrap resample counts (int64, shape (chunk, K)).
_CHUNK_BYTES = 32 * 2**20
# The exact bootstrap's window: the mass of a resample sum outside it is below this.
_ALIAS = 1e-20
P_FLOOR = 1e-12
"""The exact bootstrap's accuracy (absolute): its p-values are floored there."""


def binomial_sf(k, n, p):
    """Exact upper tail ``P(X >= k)`` for ``X ~ Binomial(n, p)``.

    Args:
        k: Threshold count(s), integer-valued; ``k <= 0`` gives 1 and ``k > n`` gives 0.
        n: Number(s) of trials, non-negative integers.
        p: Success probability(ies) in ``[0, 1]``.

    Returns:
        ``P(X >= k)``, broadcast over the arguments.
    """
    k, n = np.broadcast_arrays(_as_int(k, "k"), _as_int(n, "n"))
    p = np.asarray(p, dtype=float)
    if np.any(n < 0):
        raise ValueError("n must be non-negative")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must lie in [0, 1]")
    inside = (k >= 1) & (k <= n)
    tail = bdtrc(np.where(inside, k - 1, 0), np.where(inside, n, 1), p)
    return np.where(inside, tail, np.where(k <= 0, 1.0, 0.0))[()]


def binomial_test_greater(k, n, p0=0.25):
    """Exact one-sided binomial p-value for H1: ``p > p0``, given ``k`` successes in ``n``.

    This is the test Apollo Research use for "behavioural scheming" over paired
    testing/deployment episodes: condition-independent behaviour yields the flagged pattern
    with probability at most ``p0 = 0.25``.

    Args:
        k: Observed success count(s).
        n: Number(s) of trials; ``n == 0`` gives nan.
        p0: Success probability under the null hypothesis.

    Returns:
        ``P(X >= k)`` for ``X ~ Binomial(n, p0)``; nan where ``n == 0``.
    """
    k, n = _counts_n(k, n)
    return np.where(n == 0, np.nan, binomial_sf(k, n, p0))[()]


def smallest_significant_count(n: int, p0: float, alpha: float) -> int:
    """Smallest count ``k`` with ``binomial_test_greater(k, n, p0) <= alpha``.

    Args:
        n: Number of trials (a positive integer).
        p0: Success probability under the null hypothesis.
        alpha: Significance level.

    Returns:
        The smallest significant count, or ``n + 1`` if no count up to ``n`` is significant.
    """
    n = int(_as_int(n, "n"))
    if n < 1:
        raise ValueError("n must be positive")
    significant = binomial_sf(np.arange(n + 1), n, p0) <= alpha
    return int(np.argmax(significant)) if significant.any() else n + 1


def clopper_pearson_interval(k, n, level=0.95):
    """Clopper-Pearson ("exact") interval for a binomial proportion.

    Args:
        k: Success count(s), ``0 <= k <= n``.
        n: Number(s) of trials; ``n == 0`` gives ``(nan, nan)``.
        level: Two-sided confidence level.

    Returns:
        ``(low, high)``, each broadcast over ``k`` and ``n``; ``low = 0`` where ``k == 0`` and
        ``high = 1`` where ``k == n``.
    """
    k, n = _counts_n(k, n)
    a = (1 - level) / 2
    kl, kh = np.maximum(k, 1), np.clip(k, 0, np.maximum(n - 1, 0))
    low = np.where(k == 0, 0.0, betaincinv(kl, n - kl + 1, a))
    high = np.where(k == n, 1.0, betaincinv(kh + 1, np.maximum(n - kh, 1), 1 - a))
    return np.where(n == 0, np.nan, low)[()], np.where(n == 0, np.nan, high)[()]


def _histograms(counts_a, counts_b) -> tuple[np.ndarray, np.ndarray]:
    """The two groups' counts, integer, non-negative and broadcast together."""
    ca, cb = np.broadcast_arrays(_as_int(counts_a, "counts_a"), _as_int(counts_b, "counts_b"))
    if np.any(ca < 0) or np.any(cb < 0):
        raise ValueError("counts must be non-negative")
    return ca, cb


def _boot_means(rng: np.random.Generator, counts: np.ndarray, values: np.ndarray, n_boot: int):
    """Means of ``n_boot`` resamples (with replacement, of the same size) of one histogram."""
    size = int(counts.sum())
    chunk = max(1, _CHUNK_BYTES // (8 * values.size))
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        stop = min(start + chunk, n_boot)
        draws = rng.multinomial(size, counts / size, size=stop - start)
        out[start:stop] = draws @ values / size
    return out


def bootstrap_difference_pvalue(counts_a, counts_b, values, n_boot=10_000, rng=None):
    """One-sided bootstrap p-value for H1: ``mean(A) > mean(B)``, from histograms.

    The shift (centred) bootstrap of Efron & Tibshirani (1993), *An Introduction to the
    Bootstrap*, ch. 16: each group is resampled independently, with replacement and at its own
    size (here a multinomial draw from its histogram), giving ``d* = mean(A*) - mean(B*)``.
    Resampling both groups after shifting them to a common mean gives ``d* - d_obs``, so
    ``p = (1 + #{d* - d_obs >= d_obs}) / (n_boot + 1)``; the ``+1`` keeps ``p`` above zero.
    Ties within floating-point rounding count as "at least as extreme".

    Args:
        counts_a: Counts of group A over ``values``, shape ``(..., K)``; the leading axes (e.g.
            replicates) are separate tests.
        counts_b: Counts of group B, shape broadcastable with ``counts_a``.
        values: The shared support, shape ``(K,)``.
        n_boot: Number of bootstrap resamples.
        rng: A ``numpy.random.Generator``; required (the project forbids global seeding).
            Leading-axis tests are done in C order, A then B, so a loop over the leading axes
            with the same generator gives identical results.

    Returns:
        p-values of shape ``(...)``; nan where either group is empty.
    """
    if rng is None:
        raise ValueError("pass an explicit numpy.random.Generator as rng")
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError("values must be a finite 1-D array")
    ca, cb = _histograms(counts_a, counts_b)
    if ca.shape[-1:] != values.shape:
        raise ValueError("the last axis of the counts must match values")
    if n_boot < 1:
        raise ValueError("n_boot must be positive")
    tol = 8 * np.finfo(float).eps * max(1.0, float(np.abs(values).max(initial=0.0)))
    out = np.full(ca.shape[:-1], np.nan)
    for idx in np.ndindex(out.shape):
        a, b = ca[idx], cb[idx]
        if a.sum() == 0 or b.sum() == 0:
            continue
        d_obs = a @ values / a.sum() - b @ values / b.sum()
        d = _boot_means(rng, a, values, n_boot) - _boot_means(rng, b, values, n_boot)
        out[idx] = (1 + np.count_nonzero(d - d_obs >= d_obs - tol)) / (n_boot + 1)
    return out[()]


def _sum_window(counts: np.ndarray) -> tuple[int, np.ndarray]:
    """The distribution of a resample's sum, over the support ``0 .. K-1``.

    ``S`` is the sum of ``n = counts.sum()`` independent draws from the histogram
    ``counts`` (a multinomial resample, scored by position). Its probability generating
    function is ``P(z)**n``; evaluated at the ``L``-th roots of unity (one FFT), it gives
    the distribution of ``S mod L`` exactly. ``L`` is the smallest power of two at least
    ``2 t + 3`` wide (or the whole support, if narrower), with ``t`` from Bernstein's
    inequality,
    ``P(|S - E S| >= t) <= 2 exp(-t**2 / (2 (n var + (K - 1) t / 3)))``, set to
    :data:`_ALIAS`: outside ``E S +/- t`` the sum has less mass than that, so the window of
    ``L`` values centred on ``E S`` reads ``S`` off its residue.

    Returns:
        ``(lo, pmf)``: ``P(S = lo + i) = pmf[i]`` for ``i < L`` (zero elsewhere, up to
        :data:`_ALIAS`).
    """
    K = counts.size
    n = int(counts.sum())
    k = np.arange(K)
    p = counts / n
    mean = float(p @ k)
    var = float(p @ (k - mean) ** 2)
    lam = 2 * np.log(2 / _ALIAS)
    b = lam * (K - 1) / 3
    t = (b + np.sqrt(b * b + 4 * lam * n * var)) / 2
    full = n * (K - 1) + 1
    L = min(1 << int(np.ceil(np.log2(2 * t + 3))), 1 << int(np.ceil(np.log2(full))))
    shift = int(round(mean))  # centre each draw: the phases stay small (accuracy)
    x = np.zeros(L)
    np.add.at(x, (k - shift) % L, p)
    f = np.fft.rfft(x)
    g = np.abs(f) ** n * np.exp(1j * n * np.angle(f))
    pmf = np.clip(np.fft.irfft(g, L), 0.0, None)
    # S - n shift = i (mod L); the window is centred on E[S] - n shift
    # the whole support, or L values centred on its mean (both less n shift)
    lo = -n * shift if full <= L else int(round(n * (mean - shift))) - L // 2
    return lo + n * shift, np.roll(pmf, -(lo % L))


def bootstrap_difference_pvalue_exact(counts_a, counts_b):
    """The bootstrap p-value of :func:`bootstrap_difference_pvalue`, computed exactly.

    The same shift bootstrap (H1: ``mean(A) > mean(B)``; ``p = P(d* - d_obs >= d_obs)``,
    each group resampled at its own size), for histograms over an equally spaced support
    (the sandbagging test's accuracies ``0, 1/n, .., 1``; any equally spaced support gives
    the same p-value, so only the counts are needed). Instead of ``n_boot`` resamples, the
    resampling distribution is computed: a group's resample sum is a sum of independent
    draws from its histogram (its distribution by FFT, :func:`_sum_window`), and
    ``d* >= 2 d_obs`` is, in the sums ``S_a, S_b`` and sizes ``n_a, n_b``, the integer
    condition ``n_b S_a - n_a S_b >= 2 (n_b s_a - n_a s_b)``: ties are exact, and ``p`` is
    the limit of the Monte Carlo estimate as ``n_boot`` grows (without its ``1/(n_boot+1)``
    floor). Accurate to :data:`P_FLOOR` (``1e-12``) absolute (floating-point rounding of the
    FFT; the window's truncation is below ``1e-20``), so a p-value is reported as at least
    that: ``1e-12`` reads "below 1e-12", as ``1/(n_boot + 1)`` does for the Monte Carlo
    estimate. No random numbers are drawn.

    Args:
        counts_a: Counts of group A over the support, shape ``(..., K)``; the leading axes
            are separate tests.
        counts_b: Counts of group B, shape broadcastable with ``counts_a``.

    Returns:
        p-values of shape ``(...)``; nan where either group is empty.
    """
    ca, cb = _histograms(counts_a, counts_b)
    if ca.ndim < 1 or ca.shape[-1] < 1:
        raise ValueError("counts must have a last axis over the support")
    k = np.arange(ca.shape[-1], dtype=np.int64)
    out = np.full(ca.shape[:-1], np.nan)
    for idx in np.ndindex(out.shape):
        a, b = ca[idx].astype(np.int64), cb[idx].astype(np.int64)
        na, nb = int(a.sum()), int(b.sum())
        if na == 0 or nb == 0:
            continue
        c = nb * int(a @ k) - na * int(b @ k)  # n_a n_b d_obs, in support units
        lo_a, pa = _sum_window(a)
        lo_b, pb = _sum_window(b)
        sf = np.cumsum(pa[::-1])[::-1]  # P(S_a >= lo_a + i)
        j = lo_b + np.arange(pb.size, dtype=np.int64)  # values of S_b
        need = -((-(2 * c + na * j)) // nb)  # the smallest S_a with n_b S_a - n_a j >= 2c
        i = need - lo_a
        tail = np.where(i <= 0, 1.0, sf[np.clip(i, 0, sf.size - 1)])
        tail = np.where(i >= sf.size, 0.0, tail)
        out[idx] = min(1.0, max(P_FLOOR, float(pb @ tail)))
    return out[()]


def bootstrap_difference_pvalue_samples(a, b, n_boot=10_000, rng=None):
    """One-sided bootstrap p-value for H1: ``mean(a) > mean(b)``, from plain samples.

    Same method as :func:`bootstrap_difference_pvalue`, applied to the histograms of ``a`` and
    ``b`` over the union of their values.

    Args:
        a: Sample A, a 1-D array of finite values.
        b: Sample B, a 1-D array of finite values.
        n_boot: Number of bootstrap resamples.
        rng: A ``numpy.random.Generator``; required.

    Returns:
        The p-value; nan if either sample is empty.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("a and b must be 1-D")
    values = np.unique(np.concatenate([a, b]))
    counts_a = np.bincount(np.searchsorted(values, a), minlength=values.size)
    counts_b = np.bincount(np.searchsorted(values, b), minlength=values.size)
    return bootstrap_difference_pvalue(counts_a, counts_b, values, n_boot, rng)
