"""The uniform-background fast paths of motifscan.pvalues against brute force and against the general path.

Under the uniform background, grids (``_word_counts``) and tail enumeration (``_enumerate_words``) count words
instead of summing probabilities, in an order of their own. Oracles:

* brute force: all 4**w words of a (4, w) matrix of shifts or deficits, their sums binned (np.bincount) or made
  distinct (np.unique with counts);
* the general path (``_suffix_distributions`` and the background-weighted enumeration), which the fast paths must
  equal bit for bit, None decisions of the enumeration included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from motifscan import pvalues
from motifscan.pvalues import ScoreDistribution

UNIFORM = np.full(4, 0.25)


def all_word_sums(values: np.ndarray) -> np.ndarray:
    """The sum over columns of every word's letter values, (4**w,), for ``values`` (4, w)."""
    sums = np.zeros(1, dtype=values.dtype)
    for column in values.T:
        sums = (sums[:, None] + column).ravel()
    return sums


@st.composite
def grid_shifts(draw, max_width: int = 8) -> tuple[np.ndarray, np.ndarray, int]:
    """(ceil bins (4, w), floor bins (4, w), n): lattice-like deficits on a random grid, a random truncation."""
    width = draw(st.integers(1, max_width))
    deficits = draw(arrays(np.float64, (4, width), elements=st.floats(0.0, 12.0)))
    if draw(st.booleans()):  # ties: letters on the same bin, columns alike
        deficits = np.round(deficits)
    deficits = deficits - deficits.min(axis=0)  # every column has a letter of deficit 0
    delta = 2.0 ** draw(st.integers(-3, 1))
    scaled = deficits / delta
    n = draw(st.integers(1, int(deficits.max(axis=0).sum() / delta) + 3))
    return np.ceil(scaled).astype(np.int64), np.floor(scaled).astype(np.int64), n


@pytest.mark.parametrize("packed_max_bins", [0, 1 << 20], ids=["numpy", "packed"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=grid_shifts())
def test_word_counts_equal_brute_force_and_the_general_dp(packed_max_bins, case):
    """Both ways of counting (numpy slice adds, one packed Python integer) against all words binned."""
    bins_lower, bins_upper, n = case
    width = bins_lower.shape[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pvalues, "_PACKED_MAX_BINS", packed_max_bins)
        got_lower, got_upper = pvalues._word_counts(bins_lower, bins_upper, n)
    for bins, got in ((bins_lower, got_lower), (bins_upper, got_upper)):
        sums = all_word_sums(bins)
        counts = np.bincount(sums[sums < n], minlength=n)[:n]
        assert got.shape == (n,)
        assert np.array_equal(got, counts)
        assert np.array_equal(got * 0.25**width, pvalues._suffix_distributions(bins, UNIFORM, n, False)[0])


@settings(max_examples=25, deadline=None)
@given(st.integers(8, pvalues._EXACT_COUNT_WIDTH), st.integers(0, 2**32 - 1), st.sampled_from([64, 700, 5000]))
def test_wide_word_counts_equal_the_general_dp(width, seed, n):
    """Wider matrices (32- and 64-bit packed bins, int32, float64 past w = 15): the general DP's bits, up to the
    widest exact width."""
    rng = np.random.default_rng(seed)
    deficits = rng.uniform(0, 40, (4, width))
    deficits[rng.integers(0, 4, width), np.arange(width)] = 0.0
    deficits[:, rng.random(width) < 0.3] = 0.0  # columns whose letters all tie: counts grow by 4 per column
    bins_lower, bins_upper = np.ceil(deficits).astype(np.int64), np.floor(deficits).astype(np.int64)
    got_lower, got_upper = pvalues._word_counts(bins_lower, bins_upper, n)
    scale = 0.25**width
    assert np.array_equal(got_lower * scale, pvalues._suffix_distributions(bins_lower, UNIFORM, n, False)[0])
    assert np.array_equal(got_upper * scale, pvalues._suffix_distributions(bins_upper, UNIFORM, n, False)[0])


@pytest.mark.parametrize("n", [3, 1 << 11])  # packed and numpy counting
def test_word_counts_of_constant_matrices_hold_every_word_in_one_bin(n):
    """All 4**w words on bin 0, the largest count possible: no overflow of the packed bins (16, 32, 64 bits), of
    int32 (w <= 15) or of float64 (w <= 26)."""
    for width in range(1, pvalues._EXACT_COUNT_WIDTH + 1):
        zeros = np.zeros((4, width), dtype=np.int64)
        lower, upper = pvalues._word_counts(zeros, zeros, n)
        expected = np.zeros(n)
        expected[0] = 4.0**width
        assert np.array_equal(lower, expected) and np.array_equal(upper, expected), width


@st.composite
def uniform_matrices(draw, max_width: int = 8) -> np.ndarray:
    """Log-odds (4, w) from random counts under the uniform background, often with tied letters or columns."""
    width = draw(st.integers(1, max_width))
    counts = draw(arrays(np.int64, (4, width), elements=st.integers(0, 30))).astype(float)
    kind = draw(st.sampled_from(["plain", "ties", "repeated_column", "informative"]))
    if kind == "ties":
        counts[1] = counts[2]
    elif kind == "repeated_column":
        counts[:] = counts[:, :1]
    elif kind == "informative":
        counts[draw(st.integers(0, 3))] += 500
    probs = (counts + 0.2) / (counts.sum(axis=0) + 0.8)
    return np.log2(probs / 0.25)


def general_enumeration(log_odds: np.ndarray, largest: float, state_cap: int):
    """The background-weighted enumeration (the general path): a distribution without the uniform shortcut."""
    general = ScoreDistribution(log_odds, UNIFORM)
    general._counts_words = False
    return general._enumerate_tail(largest, state_cap)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uniform_matrices(), st.floats(0.0, 1.0), st.integers(-1, 1))
def test_enumerate_words_equals_brute_force_and_the_general_path(log_odds, quantile, cap_offset):
    distribution = ScoreDistribution(log_odds, UNIFORM)
    deficits, width = distribution.deficits, distribution.width
    words = all_word_sums(deficits)  # exact: lattice sums
    largest = float(np.quantile(words, quantile, method="lower"))
    atoms, counts = np.unique(words[words <= largest], return_counts=True)
    # the general path gives up when a level before the last holds more than state_cap prefixes; the largest such
    # level is the distinct sums <= largest of columns 0..w-2 (brute force here)
    prefixes = all_word_sums(deficits[:, : width - 1])
    state_cap = max(0, int(np.unique(prefixes[prefixes <= largest]).size) + cap_offset)
    got = pvalues._enumerate_words(deficits, largest, state_cap)
    general = general_enumeration(log_odds, largest, state_cap)
    if cap_offset < 0:
        assert got is None and general is None
        return
    assert got is not None and general is not None
    assert np.array_equal(got[0], atoms) and np.array_equal(got[1], counts * 0.25**width)
    assert np.array_equal(got[0], general[0]) and np.array_equal(got[1], general[1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uniform_matrices(max_width=20), st.sampled_from([2.0**-6, 2.0**-3, 0.5]), st.floats(0.0, 1.0))
def test_counted_grids_equal_the_general_grids(log_odds, delta, reach):
    """A grid built by counting words: its cumulative sums (made from integer sums) are the general DP's bits, on
    grids of a few bins to thousands (both ways of counting)."""
    fast, general = ScoreDistribution(log_odds, UNIFORM), ScoreDistribution(log_odds, UNIFORM)
    general._counts_words = False
    largest = reach * fast.max_deficit
    got, expected = fast._grid(delta, largest), general._grid(delta, largest)
    assert got.n_bins == expected.n_bins and not got.has_levels
    for a, b in zip(got.cdfs(0), expected.cdfs(0)):
        assert a.dtype == b.dtype == np.float64 and np.array_equal(a, b)
    targets = np.linspace(0, largest, 50)
    for a, b in zip(got.bounds(targets), expected.bounds(targets)):
        assert np.array_equal(a, b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uniform_matrices(max_width=12), st.integers(0, 2**32 - 1))
def test_fast_paths_change_no_threshold_and_no_pvalue(log_odds, seed):
    """The engine's calls (thresholds, then hits' p-values on the same distribution) with and without the uniform
    fast paths: the same float64 bits."""
    rng = np.random.default_rng(seed)
    low, high = pvalues.score_range(log_odds)
    scores = np.concatenate([rng.uniform(low, high, 40), high - rng.exponential(1.0, 40), [low, high]])
    results = []
    for fast in (True, False):
        distribution = ScoreDistribution(log_odds, UNIFORM)
        assert distribution._counts_words
        distribution._counts_words = fast
        thresholds = [distribution.score_threshold(p) for p in (1e-2, 1e-3, 1e-4)]
        results.append((np.array(thresholds), distribution.pvalues(scores)))
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


@given(arrays(np.float64, st.integers(0, 60), elements=st.sampled_from([-np.inf, -1.5, 0.0, 2.0**-40, 3.25, np.inf])
              | st.floats(-5, 5)))
def test_unique_inverse_is_numpy_unique(values):
    targets, where = pvalues._unique_inverse(values)
    expected_targets, expected_where = np.unique(values, return_inverse=True)
    assert np.array_equal(targets, expected_targets) and np.array_equal(where, expected_where.ravel())
