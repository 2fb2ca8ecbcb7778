"""Binomial tests, proportion intervals and the bootstrap difference test in sim.stats.

Exact references are computed independently here (math.comb / Fraction sums, bisection), never
with the functions under test. Deterministic comparisons use floating-point tolerances (stated at
each use); Monte Carlo comparisons use tolerances derived from their sample sizes.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from sim import stats
from sim.stats import (
    binomial_sf,
    binomial_test_greater,
    bootstrap_difference_pvalue,
    bootstrap_difference_pvalue_exact,
    bootstrap_difference_pvalue_samples,
    clopper_pearson_interval,
    smallest_significant_count,
    wilson_interval,
)

Z975 = 1.959963984540054  # the standard normal 97.5% quantile, to double precision

# Floating-point tolerance for special-function results against exact or bisection references:
# scipy's Cephes bdtrc/incbet/incbi are accurate to ~1e-13 relative at these sizes; no sampling.
FP_REL = 1e-10


def exact_sf(k: int, n: int, p) -> Fraction:
    """P(X >= k), X ~ Binomial(n, p), as an exact Fraction (p: Fraction, or float taken exactly)."""
    p = Fraction(p)
    return sum(
        (math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(max(k, 0), n + 1)),
        Fraction(0),
    )


def float_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) in plain floats via math.comb (independent of scipy)."""
    return math.fsum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))


def bisect(pred, lo: float = 0.0, hi: float = 1.0) -> float:
    """The point in [lo, hi] where a monotone predicate turns from False to True."""
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pred(mid) else (mid, hi)
    return (lo + hi) / 2


# --- binomial tail and test ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(3, 10, 0.3), (1, 1, 0.5), (0, 5, 0.2), (-2, 5, 0.2), (6, 5, 0.2), (5, 5, 0.2), (0, 0, 0.4)]
    + [(1, 0, 0.4), (7, 20, 0.0), (0, 20, 0.0), (20, 20, 1.0), (60, 99, 0.25), (36, 99, 0.25)]
    + [(150, 300, 0.5), (2, 300, 0.001)],
)
def test_binomial_sf_matches_exact_sum(k, n, p):
    got = binomial_sf(k, n, p)
    want = float(exact_sf(k, n, p))
    assert math.isclose(got, want, rel_tol=FP_REL, abs_tol=0.0)


def test_binomial_sf_vectorised_and_edges():
    k = np.array([[-1, 0, 1, 4, 5, 6]])
    n = np.array([[5], [0]])
    got = binomial_sf(k, n, 0.3)
    assert got.shape == (2, 6)
    want = [[float(exact_sf(int(kk), int(nn), 0.3)) for kk in k[0]] for nn in n[:, 0]]
    np.testing.assert_allclose(got, want, rtol=FP_REL, atol=0)
    assert got[0, 0] == got[0, 1] == 1.0 and got[0, 5] == 0.0 and got[1, 2] == 0.0
    with pytest.raises(ValueError):
        binomial_sf(1.5, 4, 0.5)


def test_binomial_test_greater():
    assert math.isclose(
        binomial_test_greater(30, 99), float(exact_sf(30, 99, Fraction(1, 4))), rel_tol=FP_REL
    )
    got = binomial_test_greater(np.array([0, 3, 10]), np.array([0, 10, 10]), p0=0.5)
    assert np.isnan(got[0]) and got[2] == pytest.approx(0.5**10, rel=FP_REL)
    with pytest.raises(ValueError):
        binomial_test_greater(11, 10)


def test_smallest_significant_count_paired_test_n99():
    n, p0, alpha = 99, Fraction(1, 4), Fraction(1, 100)
    k_exact = next(k for k in range(n + 2) if k > n or exact_sf(k, n, p0) <= alpha)
    k = smallest_significant_count(99, 0.25, 0.01)
    assert k == k_exact == 36
    assert exact_sf(k, n, p0) <= alpha < exact_sf(k - 1, n, p0)
    assert binomial_test_greater(k - 1, 99, 0.25) > 0.01 >= binomial_test_greater(k, 99, 0.25)


def test_smallest_significant_count_none_significant():
    # n = 3, p0 = 0.25: even 3/3 has p = 1/64 > 0.01.
    assert smallest_significant_count(3, 0.25, 0.01) == 4
    assert smallest_significant_count(3, 0.25, 0.05) == 3


def test_apollo_scheming_rates_significant_at_n99():
    # Behavioural-scheming rates 0.42, 0.37, 0.38 of 99 paired episodes -> counts 42, 37, 38.
    # Exact p-values against p0 = 1/4: about 1.1e-4, 4.3e-3, 2.2e-3 -- all significant at 0.01.
    counts = [round(r * 99) for r in (0.42, 0.37, 0.38)]
    assert counts == [42, 37, 38]
    exact = [exact_sf(c, 99, Fraction(1, 4)) for c in counts]
    assert all(e <= Fraction(1, 100) for e in exact)
    got = binomial_test_greater(np.array(counts), 99, 0.25)
    np.testing.assert_allclose(got, [float(e) for e in exact], rtol=FP_REL)
    assert np.all(got <= 0.01)


# --- proportion intervals --------------------------------------------------------------------

# Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no
# continuity correction), 95% limits to 4 dp. Each pair was re-derived with the independent
# closed form in test_wilson_newcombe_table_i before being written down.
NEWCOMBE_WILSON = {
    (81, 263): (0.2553, 0.3662),
    (15, 148): (0.0624, 0.1605),
    (0, 20): (0.0000, 0.1611),
    (1, 29): (0.0061, 0.1718),
}
HALF_4DP = 5e-5 + 1e-12  # table values are rounded to 4 dp


def test_wilson_newcombe_table_i():
    for (k, n), (lo4, hi4) in NEWCOMBE_WILSON.items():
        # Independent textbook form: (2k + z^2 -+ z sqrt(z^2 + 4k(1 - k/n))) / (2(n + z^2)).
        root = Z975 * math.sqrt(Z975**2 + 4 * k * (1 - k / n))
        ref = (
            (2 * k + Z975**2 - root) / (2 * (n + Z975**2)),
            (2 * k + Z975**2 + root) / (2 * (n + Z975**2)),
        )
        assert abs(ref[0] - lo4) <= HALF_4DP and abs(ref[1] - hi4) <= HALF_4DP
        lo, hi = wilson_interval(k, n)
        assert lo == pytest.approx(max(ref[0], 0.0), rel=FP_REL, abs=1e-15)
        assert hi == pytest.approx(ref[1], rel=FP_REL)


def test_clopper_pearson_textbook_and_bisection():
    # k = 0 of n = 10: upper limit solves (1 - p)^10 = 0.025, i.e. 1 - 0.025**(1/10) = 0.3085.
    lo, hi = clopper_pearson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=FP_REL)
    assert round(float(hi), 4) == 0.3085
    # General cases, against exact inversion of the float binomial cdf by bisection. Rounded to
    # 4 dp these are 81/263: 0.2527-0.3676, 15/148: 0.0578-0.1617, 1/29: 0.0009-0.1776.
    for (k, n), (lo4, hi4) in {
        (81, 263): (0.2527, 0.3676),
        (15, 148): (0.0578, 0.1617),
        (1, 29): (0.0009, 0.1776),
    }.items():
        ref_lo = bisect(lambda p, k=k, n=n: 1 - float_cdf(k - 1, n, p) >= 0.025)
        ref_hi = bisect(lambda p, k=k, n=n: float_cdf(k, n, p) <= 0.025)
        lo, hi = clopper_pearson_interval(k, n)
        # Bisection on a float cdf: limited by the cdf's rounding (~1e-13), hence 1e-9 here.
        assert lo == pytest.approx(ref_lo, rel=1e-9) and hi == pytest.approx(ref_hi, rel=1e-9)
        assert abs(lo - lo4) <= HALF_4DP and abs(hi - hi4) <= HALF_4DP


def test_intervals_vectorised_edges_and_consistency():
    k = np.arange(0, 21)
    for fn in (wilson_interval, clopper_pearson_interval):
        lo, hi = fn(k, 20)
        assert lo.shape == hi.shape == (21,)
        assert lo[0] == 0.0 and hi[-1] == 1.0
        assert np.all((0 <= lo) & (lo < k / 20 + 1e-12) & (k / 20 - 1e-12 < hi) & (hi <= 1))
        assert np.all(np.diff(lo) > 0) and np.all(np.diff(hi) > 0)
        lo0, hi0 = fn(0, 0)
        assert np.isnan(lo0) and np.isnan(hi0)
        with pytest.raises(ValueError):
            fn(5, 4)
    # Clopper-Pearson limits are the tail-inversion points: P(X >= k; lo) = P(X <= k; hi) = a/2.
    lo, hi = clopper_pearson_interval(k, 20, level=0.9)
    np.testing.assert_allclose(binomial_sf(k[1:], 20, lo[1:]), 0.05, rtol=FP_REL)
    np.testing.assert_allclose(1 - binomial_sf(k[:-1] + 1, 20, hi[:-1]), 0.05, rtol=FP_REL)


# --- bootstrap difference test ---------------------------------------------------------------

GRID = np.linspace(0.0, 1.0, 51)  # K = 51, the project's score grid size


def _hist(rng, n, mean, sd=0.1):
    """Counts over GRID of n draws from a discretised normal(mean, sd) clipped to [0, 1]."""
    x = np.clip(np.round(rng.normal(mean, sd, n) * 50), 0, 50).astype(int)
    return np.bincount(x, minlength=51)


def test_bootstrap_large_difference_hits_floor():
    rng = np.random.default_rng(1)
    a = np.bincount(rng.integers(49, 51, 50), minlength=51)  # all 0.98 or 1.0
    b = _hist(rng, 50, 0.34, 0.05)
    n_boot = 10_000
    # d* <= 1 while 2 d_obs > 1.2: no resample can be as extreme, so p is the 1/(B+1) floor.
    p = bootstrap_difference_pvalue(a, b, GRID, n_boot=n_boot, rng=rng)
    assert p == 1 / (n_boot + 1)


def test_bootstrap_agrees_with_normal_approximation():
    data_rng = np.random.default_rng(2)
    a, b = _hist(data_rng, 400, 0.505, 0.1), _hist(data_rng, 410, 0.495, 0.1)
    n_boot = 10_000
    p_boot = bootstrap_difference_pvalue(a, b, GRID, n_boot=n_boot, rng=np.random.default_rng(3))

    def moments(c):
        n = c.sum()
        m = c @ GRID / n
        return n, m, c @ (GRID - m) ** 2 / n, c @ (GRID - m) ** 3 / n

    (na, ma, va, ta), (nb, mb, vb, tb) = moments(a), moments(b)
    sd = math.sqrt(va / na + vb / nb)  # plug-in (ddof=0) variance: what the bootstrap resamples
    z = (ma - mb) / sd
    p_z = 0.5 * math.erfc(z / math.sqrt(2))
    assert 0.01 < p_z < 0.3  # "moderately different" by construction of the seeded data
    # Tolerance: 4 Monte Carlo standard errors sqrt(p(1-p)/n_boot) (~0.0035 here at p ~ 0.05),
    # plus the normal approximation's error: twice the first-order Edgeworth term
    # gamma/6 (z^2 - 1) phi(z), gamma the skewness of d* from the groups' third moments, plus
    # 1/min(n) for the O(1/n) higher-order terms.
    gamma = (ta / na**2 - tb / nb**2) / sd**3
    edgeworth = abs(gamma / 6 * (z**2 - 1)) * math.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    tol = 4 * math.sqrt(p_z * (1 - p_z) / n_boot) + 2 * edgeworth + 1 / min(na, nb)
    assert abs(p_boot - p_z) <= tol


def test_bootstrap_null_size():
    # Under the null, the share of p <= 0.05 over R independent data sets should be ~0.05.
    # n_boot = 199 makes 0.05 exactly attainable (p <= 0.05 <=> at most 9 exceedances).
    # Tolerance: 4 binomial SEs sqrt(0.05 * 0.95 / R), ~0.028 at R = 1000 (R = 200 would give
    # ~0.062, a vacuous lower bound); the centred bootstrap's own size distortion at n = 60 per
    # group (plug-in variance, ~1 - 59/60) is ~0.002, well inside that.
    reps, n_per = 1000, 60
    rng = np.random.default_rng(4)
    support = np.linspace(0.0, 1.0, 11)
    probs = np.array([6, 1, 1, 2, 3, 4, 3, 2, 1, 1, 6]) / 30
    a = rng.multinomial(n_per, probs, size=reps)
    b = rng.multinomial(n_per, probs, size=reps)
    p = bootstrap_difference_pvalue(a, b, support, n_boot=199, rng=rng)
    assert p.shape == (reps,)
    share = np.mean(p <= 0.05)
    assert abs(share - 0.05) <= 4 * math.sqrt(0.05 * 0.95 / reps)


def test_bootstrap_determinism_vectorisation_and_chunking(monkeypatch):
    data_rng = np.random.default_rng(5)
    a = np.stack([_hist(data_rng, 40, 0.5) for _ in range(3)])
    b = np.stack([_hist(data_rng, 45, 0.48) for _ in range(3)])

    def run(**kw):
        return bootstrap_difference_pvalue(a, b, GRID, n_boot=500, rng=np.random.default_rng(6))

    p = run()
    assert p.shape == (3,)
    assert np.array_equal(p, run())
    loop_rng = np.random.default_rng(6)
    looped = [bootstrap_difference_pvalue(a[i], b[i], GRID, 500, loop_rng) for i in range(3)]
    assert np.array_equal(p, looped)
    # Chunk size (memory budget) must not change results: 7 resamples per chunk here.
    monkeypatch.setattr(stats, "_CHUNK_BYTES", 8 * 51 * 7)
    assert np.array_equal(p, run())
    # The plain-sample front end, on the same data, gives the same p-values.
    samples_a, samples_b = np.repeat(GRID, a[0]), np.repeat(GRID, b[0])
    p0 = bootstrap_difference_pvalue_samples(samples_a, samples_b, 500, np.random.default_rng(6))
    hist_rng = np.random.default_rng(6)
    used = (a[0] + b[0]) > 0
    assert p0 == bootstrap_difference_pvalue(a[0][used], b[0][used], GRID[used], 500, hist_rng)


def test_bootstrap_rejects_missing_rng_and_handles_empty_groups():
    a, b = np.array([3, 4]), np.array([5, 1])
    with pytest.raises(ValueError):
        bootstrap_difference_pvalue(a, b, [0.0, 1.0])
    with pytest.raises(ValueError):
        bootstrap_difference_pvalue_samples([1.0, 2.0], [0.0])
    rng = np.random.default_rng(7)
    p = bootstrap_difference_pvalue(np.array([[0, 0], [3, 4]]), b, [0.0, 1.0], 100, rng)
    assert np.isnan(p[0]) and 0 < p[1] <= 1
    assert np.isnan(bootstrap_difference_pvalue_samples([], [1.0], 100, rng))


@pytest.mark.parametrize(
    ("a", "b", "q"),
    [
        # A = {0, 1}, B = {0}: d_obs = 1/2, so p counts mean(A*) >= 1, i.e. both draws are 1: 1/4.
        ([0.0, 1.0], [0.0], 0.25),
        # A = B = {0, 1}: d_obs = 0, p counts mean(A*) >= mean(B*); each mean is 0, 1/2, 1 with
        # probabilities 1/4, 1/2, 1/4, so P = 1 - (1 - 3/8) / 2 = 11/16.
        ([0.0, 1.0], [0.0, 1.0], 11 / 16),
    ],
)
def test_bootstrap_tiny_samples_match_exact_resampling_distribution(a, b, q):
    # The exceedance count is Binomial(n_boot, q); tolerance: 4 binomial SDs, divided by n_boot+1.
    n_boot = 10_000
    p = bootstrap_difference_pvalue_samples(a, b, n_boot, np.random.default_rng(8))
    expected = (1 + n_boot * q) / (n_boot + 1)
    assert abs(p - expected) <= 4 * math.sqrt(n_boot * q * (1 - q)) / (n_boot + 1)


# --- the exact bootstrap ---------------------------------------------------------------------


def _enumerated(a, b):
    """The shift bootstrap's p-value by enumerating every resample (tiny histograms only)."""
    import itertools

    va, vb = np.repeat(np.arange(len(a)), a), np.repeat(np.arange(len(b)), b)
    na, nb = va.size, vb.size
    c = nb * int(va.sum()) - na * int(vb.sum())
    hits = Fraction(0)
    for ra in itertools.product(va.tolist(), repeat=na):
        for rb in itertools.product(vb.tolist(), repeat=nb):
            hits += nb * sum(ra) - na * sum(rb) >= 2 * c
    return hits / (na**na * nb**nb)


@pytest.mark.parametrize(
    ("a", "b"),
    [([1, 1], [1, 0]), ([1, 1], [1, 1]), ([1, 0, 1], [1, 0, 0]), ([2, 1, 0, 1], [0, 2, 2, 0]),
     ([0, 3, 1], [1, 1, 1]), ([0, 0, 4], [0, 0, 2]), ([5], [3])],
)  # fmt: skip
def test_exact_bootstrap_equals_enumeration_of_every_resample(a, b):
    # Every resample enumerated as a Fraction; the FFT's rounding is ~1e-15 at these sizes.
    p = bootstrap_difference_pvalue_exact(np.array(a), np.array(b))
    assert abs(p - max(stats.P_FLOOR, float(_enumerated(a, b)))) <= 1e-12


def _direct_sum_pmf(counts):
    """The n-fold convolution of a histogram's distribution, by repeated np.convolve."""
    p, out = counts / counts.sum(), np.array([1.0])
    for _ in range(int(counts.sum())):
        out = np.convolve(out, p)
    return out


def test_exact_bootstrap_window_and_p_values_against_direct_convolution():
    # Direct convolution is exact up to rounding (~1e-16 per term); the documented accuracy
    # of the FFT route is 1e-12 absolute. Sizes up to 300 draws on up to 20 values, with the
    # Bernstein window narrower than the support for the larger ones.
    rng = np.random.default_rng(11)
    narrower = 0
    for _ in range(25):
        K = int(rng.integers(2, 21))
        a = rng.multinomial(int(rng.integers(1, 300)), rng.dirichlet(np.ones(K) * 0.5))
        b = rng.multinomial(int(rng.integers(1, 300)), rng.dirichlet(np.ones(K)))
        da, db = _direct_sum_pmf(a), _direct_sum_pmf(b)
        lo, pmf = stats._sum_window(a)
        narrower += pmf.size < da.size
        s = lo + np.arange(pmf.size)
        inside = (s >= 0) & (s < da.size)
        assert np.abs(pmf[inside] - da[s[inside]]).max() <= 1e-12
        assert da.sum() - da[s[inside]].sum() <= 1e-12  # the window holds all the mass
        k = np.arange(K)
        na, nb = int(a.sum()), int(b.sum())
        c = nb * int(a @ k) - na * int(b @ k)
        sf = np.cumsum(da[::-1])[::-1]
        need = [-((-(2 * c + na * j)) // nb) for j in range(db.size)]
        tail = [1.0 if t <= 0 else (0.0 if t >= sf.size else sf[t]) for t in need]
        p = bootstrap_difference_pvalue_exact(a, b)
        assert abs(p - max(stats.P_FLOOR, float(db @ np.array(tail)))) <= 1e-12
    assert narrower > 0  # the truncated window was exercised


def test_exact_bootstrap_is_the_limit_of_the_monte_carlo_one():
    # The Monte Carlo p-value is (1 + X) / (B + 1) with X ~ Binomial(B, p): tolerance 4 of its
    # standard deviations sqrt(B p (1 - p)) / (B + 1), plus the +1's bias 1 / (B + 1).
    rng = np.random.default_rng(12)
    n_boot = 10_000
    for mean_a, mean_b, n in [(0.505, 0.495, 400), (0.5, 0.5, 1000), (0.6, 0.55, 60)]:
        a, b = _hist(rng, n, mean_a), _hist(rng, n + 10, mean_b)
        p = bootstrap_difference_pvalue_exact(a, b)
        mc = bootstrap_difference_pvalue(a, b, GRID, n_boot, np.random.default_rng(13))
        tol = (4 * math.sqrt(n_boot * p * (1 - p)) + 1) / (n_boot + 1)
        assert abs(mc - p) <= tol


def test_exact_bootstrap_large_sizes_shapes_and_empty_groups():
    rng = np.random.default_rng(14)
    # 5,000 draws per group: the window is a few thousand values of a support of 250,001
    well = np.bincount(rng.binomial(50, 0.99, 5000), minlength=51)
    poorly = np.bincount(rng.binomial(50, 0.34, 5000), minlength=51)
    same = np.bincount(rng.binomial(50, 0.5, 5000), minlength=51)
    assert bootstrap_difference_pvalue_exact(well, poorly) == stats.P_FLOOR  # far apart
    assert bootstrap_difference_pvalue_exact(poorly, well) == 1.0  # the other direction
    p = bootstrap_difference_pvalue_exact(np.stack([same, well, 0 * same]), poorly)
    assert p.shape == (3,) and np.isnan(p[2])
    assert p[0] == bootstrap_difference_pvalue_exact(same, poorly)
    with pytest.raises(ValueError):
        bootstrap_difference_pvalue_exact(np.array([1, -1]), np.array([1, 1]))


def test_exact_bootstrap_null_size():
    # As test_bootstrap_null_size: under the null the share of p <= 0.05 over R data sets is
    # ~0.05; tolerance 4 binomial SEs sqrt(0.05 * 0.95 / R), ~0.028 at R = 1000.
    reps, n_per = 1000, 60
    rng = np.random.default_rng(4)
    probs = np.array([6, 1, 1, 2, 3, 4, 3, 2, 1, 1, 6]) / 30
    a = rng.multinomial(n_per, probs, size=reps)
    b = rng.multinomial(n_per, probs, size=reps)
    share = np.mean(bootstrap_difference_pvalue_exact(a, b) <= 0.05)
    assert abs(share - 0.05) <= 4 * math.sqrt(0.05 * 0.95 / reps)


def test_one_wilson_implementation_shared_with_the_simulator():
    """The run summaries' interval for few events (sim.intervals) is this module's Wilson
    interval, and the simulator's module does not import analysis/ to compute it."""
    import ast
    import inspect

    from analysis import stats
    from sim import intervals

    assert stats.wilson_interval is intervals.wilson_interval
    tree = ast.parse(inspect.getsource(intervals))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in imported if m and m.split(".")[0] == "analysis"]
