"""Tests of motifscan.pvalues against independent oracles.

Oracles (none shares code with the module):

* enumeration: the scores and probabilities of all 4**w words (w <= 11), exact;
* meet in the middle (w 12..20): every word of the left and of the right half enumerated, the right half sorted with
  its cumulative tail, and P(S >= s) = sum over left words of p_left * P(right >= s - score_left): exact;
* fine grid (w 21..33, too wide for the two above): scores rounded down and up to a 2**-14-bit grid relative to each
  column's best letter, one plain DP each, give a rigorous bracket of the exact tail; it is only used where it is
  within 0.2%, and the module must then lie within 1% of the bracket.

Ties: a word scoring within TIE_EPS bits below s counts as >= s, as in the module and the scanner.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from motifscan import pvalues
from motifscan.pvalues import ScoreDistribution, bh_qvalues, score_range, score_threshold, score_thresholds

TIE_EPS = 1e-9
RTOL = 0.01
UNIFORM = np.full(4, 0.25)
SKEWED = np.array([0.3, 0.2, 0.2, 0.3])  # AT-rich, like promoters of many genomes


# ------------------------------------------------------------------------------------------------------- helpers


def log_odds_from_counts(counts: np.ndarray, background: np.ndarray, pseudocount: float = 0.8) -> np.ndarray:
    """Log-odds (4, w) in bits from counts (4, w): prob = (C + k * b) / (N + k), log2(prob / b)."""
    counts = np.asarray(counts, dtype=float)
    probs = (counts + pseudocount * background[:, None]) / (counts.sum(axis=0) + pseudocount)
    return np.log2(probs / background[:, None])


def all_words(log_odds: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and probabilities of all 4**w words, by broadcasting column by column; shapes (4**w,)."""
    scores, probs = np.zeros(1), np.ones(1)
    for j in range(log_odds.shape[1]):
        scores = (scores[:, None] + log_odds[:, j]).ravel()
        probs = (probs[:, None] * background).ravel()
    return scores, probs


class ExactTail:
    """P(S >= s - TIE_EPS) by full enumeration (w <= 11)."""

    def __init__(self, log_odds: np.ndarray, background: np.ndarray) -> None:
        assert log_odds.shape[1] <= 11
        scores, probs = all_words(log_odds, background)
        order = np.argsort(scores)
        self.scores = scores[order]
        self.tail = np.concatenate([np.cumsum(probs[order][::-1])[::-1], [0.0]])
        self.achievable = np.unique(self.scores)

    def __call__(self, queries: np.ndarray) -> np.ndarray:
        return self.tail[np.searchsorted(self.scores, np.asarray(queries) - TIE_EPS, side="left")]


def mitm_tail(log_odds: np.ndarray, background: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """P(S >= s - TIE_EPS) for each query, exactly, by meet in the middle (w <= ~22)."""
    half = log_odds.shape[1] // 2
    left_scores, left_probs = all_words(log_odds[:, :half], background)
    left_scores, where = np.unique(left_scores, return_inverse=True)  # equal left scores: one lookup
    left_probs = np.bincount(where.ravel(), left_probs)
    right_scores, right_probs = all_words(log_odds[:, half:], background)
    order = np.argsort(right_scores)
    right_scores = right_scores[order]
    right_tail = np.concatenate([np.cumsum(right_probs[order][::-1])[::-1], [0.0]])
    return np.array([
        left_probs @ right_tail[np.searchsorted(right_scores, q - TIE_EPS - left_scores, side="left")]
        for q in np.asarray(queries, dtype=float)
    ])


def fine_grid_bracket(log_odds: np.ndarray, background: np.ndarray, queries: np.ndarray,
                      delta: float = 2.0**-14) -> tuple[np.ndarray, np.ndarray]:
    """Rigorous (lower, upper) bounds of P(S >= s - TIE_EPS): each score rounded down / up to the grid.

    Rounding is relative to each column's best letter (deficit = best - entry >= 0, rounded up or down), which keeps
    near-consensus words, the ones in small tails, close to exact. Plain DP over deficit bins, truncated at the
    largest deficit queried.
    """
    deficits = log_odds.max(axis=0) - log_odds
    top = log_odds.max(axis=0).sum()
    targets = top - np.asarray(queries, dtype=float) + TIE_EPS  # P(S >= s - eps) = P(deficit <= target)
    n_bins = int(max(targets.max(), 0.0) / delta) + 2
    bounds = []
    for rounding in (np.ceil, np.floor):  # deficits up -> lower bound; down -> upper bound
        shifts = rounding(deficits / delta).astype(np.int64)
        dist = np.zeros(n_bins)
        dist[0] = 1.0
        for j in range(log_odds.shape[1]):
            new = np.zeros(n_bins)
            for letter in range(4):
                shift = shifts[letter, j]
                if shift < n_bins:
                    new[shift:] += background[letter] * dist[: n_bins - shift]
            dist = new
        cdf = np.cumsum(dist)
        bins = np.floor(np.maximum(targets, 0) / delta).astype(np.int64)
        bounds.append(np.where(targets < 0, 0.0, cdf[np.minimum(bins, n_bins - 1)]))
    return bounds[0], bounds[1]


def relative_error(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got / exact - 1|, and |got| where exact is 0."""
    got, exact = np.asarray(got, dtype=float), np.asarray(exact, dtype=float)
    return np.where(exact > 0, np.abs(got / np.where(exact > 0, exact, 1.0) - 1.0), np.abs(got))


def query_scores(achievable: np.ndarray) -> np.ndarray:
    """Achievable scores, midpoints of clearly separated neighbours, and points outside the range."""
    gaps = np.diff(achievable)
    midpoints = (achievable[1:] + achievable[:-1])[gaps > 1e-6] / 2  # not within float fuzz of a score
    outside = [achievable[0] - 1.0, achievable[-1] + 1e-3, achievable[-1] + 5.0, -np.inf, np.inf]
    return np.concatenate([achievable, midpoints, outside])


def sampled_scores(log_odds: np.ndarray, background: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Scores of words drawn from the motif (high scores, like hits) and from the background; shape (2n,)."""
    rng = np.random.default_rng(seed)
    width = log_odds.shape[1]
    motif_probs = background[:, None] * 2.0**log_odds
    motif_probs /= motif_probs.sum(axis=0)
    motif_words = np.array([rng.choice(4, size=n, p=motif_probs[:, j]) for j in range(width)])
    background_words = np.array([rng.choice(4, size=n, p=background) for _ in range(width)])
    words = np.concatenate([motif_words, background_words], axis=1)
    return log_odds[words, np.arange(width)[:, None]].sum(axis=0)


def check_threshold_by_enumeration(log_odds: np.ndarray, background: np.ndarray, p_threshold: float,
                                   exact: ExactTail | None = None) -> None:
    """Every achievable score passes (score >= t - eps, the scanner's rule) iff its p <= p_threshold, unless its
    exact p is within 1% of p_threshold."""
    exact = exact or ExactTail(log_odds, background)
    threshold = score_threshold(log_odds, background, p_threshold)
    p_exact = exact(exact.achievable)
    passes = exact.achievable >= threshold - TIE_EPS
    wrong = (passes != (p_exact <= p_threshold)) & (np.abs(p_exact / p_threshold - 1.0) > RTOL)
    assert not wrong.any(), (threshold, exact.achievable[wrong][:5], p_exact[wrong][:5])


# ------------------------------------------------------------------------------------------------------ JASPAR

try:
    import pyjaspar

    JASPAR_DB = Path(pyjaspar.__file__).parent / "data" / "JASPAR2026.sqlite"
except ImportError:  # pragma: no cover - pyjaspar is a dependency of motifscan
    JASPAR_DB = None

needs_jaspar = pytest.mark.skipif(JASPAR_DB is None or not JASPAR_DB.exists(), reason="pyjaspar's JASPAR2026 missing")


def _read_counts(db: sqlite3.Connection, internal_id: int) -> np.ndarray:
    rows = db.execute("SELECT row, col, val FROM MATRIX_DATA WHERE ID = ?", (internal_id,)).fetchall()
    counts = np.zeros((4, max(col for _, col, _ in rows)))
    for row, col, value in rows:
        counts["ACGT".index(row), col - 1] = value
    return counts


def jaspar_counts(matrix_id: str) -> np.ndarray:
    """Counts (4, w) of one JASPAR2026 matrix, e.g. 'MA0605.3'."""
    base_id, version = matrix_id.rsplit(".", 1)
    with closing(sqlite3.connect(JASPAR_DB)) as db:
        query = "SELECT ID FROM MATRIX WHERE BASE_ID = ? AND VERSION = ?"
        (internal_id,) = db.execute(query, (base_id, int(version))).fetchone()
        return _read_counts(db, internal_id)


def core_vertebrate_counts() -> dict[str, np.ndarray]:
    """The latest version of every CORE vertebrate matrix of JASPAR2026, by 'BASE_ID.VERSION'."""
    with closing(sqlite3.connect(JASPAR_DB)) as db:
        rows = db.execute(
            "SELECT m.ID, m.BASE_ID, m.VERSION FROM MATRIX m JOIN MATRIX_ANNOTATION a ON a.ID = m.ID "
            "WHERE m.COLLECTION = 'CORE' AND a.TAG = 'tax_group' AND a.VAL = 'vertebrates'"
        ).fetchall()
        latest = {}
        for internal_id, base_id, version in rows:
            if base_id not in latest or version > latest[base_id][1]:
                latest[base_id] = (internal_id, version)
        return {f"{base}.{version}": _read_counts(db, internal_id) for base, (internal_id, version) in latest.items()}


@pytest.fixture(scope="module")
def core_vertebrates() -> dict[str, np.ndarray]:
    if JASPAR_DB is None or not JASPAR_DB.exists():
        pytest.skip("pyjaspar's JASPAR2026 missing")
    return core_vertebrate_counts()


# ------------------------------------------------------------------------------------------- Hypothesis matrices


@st.composite
def motifs(draw, max_width: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(log_odds (4, w), background (4,)): random counts, sometimes very informative or with equal letters."""
    width = draw(st.integers(1, max_width))
    counts = draw(arrays(np.int64, (4, width), elements=st.integers(0, 40))).astype(float)
    kind = draw(st.sampled_from(["plain", "informative", "equal_letters", "repeated_column"]))
    if kind == "informative":  # one dominant letter per column: long, steep tails
        best = draw(arrays(np.int64, width, elements=st.integers(0, 3)))
        counts[best, np.arange(width)] += draw(st.integers(200, 20000))
    elif kind == "equal_letters":  # whole columns of equal entries, and letter pairs tied within columns
        counts[:, : (width + 1) // 2] = counts[0, : (width + 1) // 2]
        counts[1] = counts[2]
    elif kind == "repeated_column":  # identical columns: many words tie on the same score
        counts[:] = counts[:, :1]
    if draw(st.booleans()):
        background = UNIFORM
    else:
        weights = draw(arrays(np.float64, 4, elements=st.floats(0.05, 1.0)))
        background = weights / weights.sum()
    return log_odds_from_counts(counts, background), background


# ---------------------------------------------------------------------------------------- p-values: enumeration


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(motifs())
def test_pvalues_match_enumeration(motif):
    log_odds, background = motif
    exact = ExactTail(log_odds, background)
    queries = query_scores(exact.achievable)
    got = pvalues.pvalues(log_odds, background, queries)
    assert got.shape == queries.shape
    assert relative_error(got, exact(queries)).max() <= RTOL


def test_pvalues_at_the_ends_of_the_range():
    log_odds = log_odds_from_counts(np.array([[9, 0, 3], [1, 6, 2], [0, 5, 1], [0, 0, 1]]), SKEWED)
    low, high = score_range(log_odds)
    got = pvalues.pvalues(log_odds, SKEWED, np.array([high + 1e-3, high + 10, np.inf, low, low - 1, -np.inf]))
    assert np.all(got[:3] == 0.0)
    assert np.all(got[3:] == 1.0)
    # column 3: A (3 + 0.24) / 0.3 == C (2 + 0.16) / 0.2, so two words share the maximum
    best_words = SKEWED[0] * SKEWED[1] * (SKEWED[0] + SKEWED[1])
    assert abs(pvalues.pvalues(log_odds, SKEWED, np.array([high]))[0] / best_words - 1) <= RTOL


@pytest.mark.parametrize("background", [UNIFORM, SKEWED])
def test_degenerate_matrices(background):
    cases = [
        np.array([[1.5], [-2.0], [0.3], [-2.0]]),  # w = 1, two tied letters
        np.zeros((4, 5)),  # every word scores 0
        np.full((4, 4), 0.7),  # constant columns, non-zero
        np.array([[2.0, 2.0, 2.0], [-9.0, -9.0, -9.0], [-9.0, -9.0, -9.0], [-9.0, -9.0, -9.0]]),  # huge ties
        log_odds_from_counts(np.array([[10000] * 6, [0] * 6, [0] * 6, [0] * 6]), background),  # steep tail
    ]
    for log_odds in cases:
        exact = ExactTail(log_odds, background)
        queries = query_scores(exact.achievable)
        assert relative_error(pvalues.pvalues(log_odds, background, queries), exact(queries)).max() <= RTOL
        for p_threshold in (1e-4, 0.01, 0.3):
            check_threshold_by_enumeration(log_odds, background, p_threshold, exact)


def test_constant_matrix_thresholds():
    log_odds = np.zeros((4, 3))  # every word has score 0 and p-value 1
    assert score_threshold(log_odds, UNIFORM, 0.5) == math.inf
    assert score_threshold(log_odds, UNIFORM, 1.0) == -math.inf
    assert pvalues.pvalues(log_odds, UNIFORM, np.array([0.0, 1e-10, -1e-10, 1e-3]))[:3].tolist() == [1.0, 1.0, 1.0]


@needs_jaspar
@pytest.mark.parametrize(("matrix_id", "background"), [("MA0605.3", UNIFORM), ("MA0605.3", SKEWED),
                                                       ("MA0018.5", UNIFORM), ("MA0018.5", SKEWED)])
def test_jaspar_pvalues_match_enumeration(matrix_id, background):
    log_odds = log_odds_from_counts(jaspar_counts(matrix_id), background)
    exact = ExactTail(log_odds, background)
    queries = query_scores(exact.achievable)
    assert relative_error(pvalues.pvalues(log_odds, background, queries), exact(queries)).max() <= RTOL


# -------------------------------------------------------------------------------- p-values: meet in the middle


@needs_jaspar
def test_jaspar_pvalues_match_meet_in_the_middle(core_vertebrates):
    """Widths 12..20 (one matrix of each), hit-like and background scores, uniform and skewed background."""
    by_width = {}
    for matrix_id, counts in sorted(core_vertebrates.items()):
        by_width.setdefault(counts.shape[1], matrix_id)
    for k, width in enumerate(range(12, 21)):
        background = UNIFORM if k % 2 == 0 else SKEWED
        log_odds = log_odds_from_counts(core_vertebrates[by_width[width]], background)
        queries = sampled_scores(log_odds, background, n=6, seed=width)
        queries = np.concatenate([queries, [score_threshold(log_odds, background, 1e-4)]])
        got = pvalues.pvalues(log_odds, background, queries)
        assert relative_error(got, mitm_tail(log_odds, background, queries)).max() <= RTOL, by_width[width]


@settings(max_examples=8, deadline=None)
@given(motifs(max_width=5), st.integers(12, 16), st.integers(0, 2**31))
def test_random_long_matrices_match_meet_in_the_middle(motif, width, seed):
    """Columns drawn from a short random motif, so that some repeat (many tied words)."""
    short, background = motif
    rng = np.random.default_rng(seed)
    log_odds = short[:, rng.integers(0, short.shape[1], size=width)]
    queries = sampled_scores(log_odds, background, n=4, seed=seed)
    got = pvalues.pvalues(log_odds, background, queries)
    assert relative_error(got, mitm_tail(log_odds, background, queries)).max() <= RTOL


# ---------------------------------------------------------------------------------------- p-values: fine grid


@needs_jaspar
def test_widest_jaspar_pvalues_match_fine_grid(core_vertebrates):
    """The widest CORE vertebrate matrices (w 24..33), where only the fine-grid bracket is affordable."""
    widest = sorted(core_vertebrates, key=lambda m: core_vertebrates[m].shape[1])[-5:]
    checked = 0
    for k, matrix_id in enumerate(widest):
        background = UNIFORM if k % 2 == 0 else SKEWED
        log_odds = log_odds_from_counts(core_vertebrates[matrix_id], background)
        queries = np.concatenate([sampled_scores(log_odds, background, n=20, seed=k),
                                  [score_threshold(log_odds, background, p) for p in (1e-3, 1e-4, 1e-6)]])
        lower, upper = fine_grid_bracket(log_odds, background, queries)
        tight = (upper <= 1.002 * lower) & (lower > 1e-15)
        got = pvalues.pvalues(log_odds, background, queries[tight])
        assert np.all(got >= lower[tight] * (1 - RTOL)) and np.all(got <= upper[tight] * (1 + RTOL)), matrix_id
        checked += int(tight.sum())
    assert checked >= 100  # the oracle was tight almost everywhere, so the test did check


# ----------------------------------------------------------------------------------------------- thresholds


@settings(max_examples=40, deadline=None)
@given(motifs(), st.sampled_from([1e-1, 1e-2, 1e-3, 1e-4, 1e-6]))
def test_threshold_matches_enumeration(motif, p_threshold):
    log_odds, background = motif
    check_threshold_by_enumeration(log_odds, background, p_threshold)


@needs_jaspar
def test_jaspar_thresholds_match_enumeration(core_vertebrates):
    """Matrices of widths 6..11, including MA0605.3 (ATF3) and MA0018.5, at p* = 1e-3, 1e-4, 1e-5."""
    chosen = ["MA0605.3", "MA0018.5"]
    for width in range(6, 12):
        of_width = [m for m in sorted(core_vertebrates) if core_vertebrates[m].shape[1] == width]
        chosen += of_width[: 2 if width < 11 else 1]
    for k, matrix_id in enumerate(chosen):
        background = UNIFORM if k % 2 == 0 else SKEWED
        log_odds = log_odds_from_counts(core_vertebrates[matrix_id], background)
        exact = ExactTail(log_odds, background)
        for p_threshold in (1e-3, 1e-4, 1e-5):
            check_threshold_by_enumeration(log_odds, background, p_threshold, exact)


@needs_jaspar
def test_jaspar_thresholds_match_meet_in_the_middle(core_vertebrates):
    """For w 12..18: windows at the threshold have p <= 1.01 p*, windows just below it p >= p* / 1.01.

    A window passes when score >= t - eps and its p-value is P(S >= score - eps), so both sides are read at
    t - 2 eps; +-5e-11 bits covers the float rounding of the module's 2**-40-bit lattice.
    """
    by_width = {}
    for matrix_id, counts in sorted(core_vertebrates.items()):
        by_width.setdefault(counts.shape[1], matrix_id)
    for k, width in enumerate(range(12, 19)):
        background = UNIFORM if k % 2 == 0 else SKEWED
        log_odds = log_odds_from_counts(core_vertebrates[by_width[width]], background)
        for p_threshold in (1e-3, 1e-5):
            threshold = score_threshold(log_odds, background, p_threshold)
            at, below = mitm_tail(log_odds, background, threshold - TIE_EPS + np.array([5e-11, -5e-11]))
            assert at <= p_threshold * (1 + RTOL) + 1e-18, by_width[width]
            assert below >= p_threshold / (1 + RTOL), by_width[width]


@needs_jaspar
def test_score_thresholds_of_many_matrices(core_vertebrates):
    """score_thresholds agrees with score_threshold, and its cut sits where the fine-grid bracket says."""
    ids = sorted(core_vertebrates)[::25]
    matrices = [log_odds_from_counts(core_vertebrates[m], UNIFORM) for m in ids]
    thresholds = score_thresholds(matrices, UNIFORM, 1e-4)
    assert thresholds.shape == (len(ids),)
    for log_odds, threshold in zip(matrices, thresholds):
        assert threshold == score_threshold(log_odds, UNIFORM, 1e-4)
        if math.isinf(threshold):  # 4**-w > 1e-4: even the best word is too frequent
            assert pvalues.pvalues(log_odds, UNIFORM, np.array([score_range(log_odds)[1]]))[0] > 1e-4 / (1 + RTOL)
            continue
        lower, upper = fine_grid_bracket(log_odds, UNIFORM, threshold - TIE_EPS + np.array([5e-11, -5e-11]))
        assert lower[0] <= 1e-4 * (1 + RTOL) and upper[1] >= 1e-4 / (1 + RTOL)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(motifs(max_width=6), st.sampled_from([1e-2, 1e-4]), st.integers(0, 2**31))
def test_fallbacks_match_enumeration(monkeypatch, motif, p_threshold, seed):
    """With enumeration off and tiny grid and state caps, the threshold comes from the multi-point branch-and-bound
    search and p-values from branch and bound down to whole words: still within tolerance."""
    monkeypatch.setattr(pvalues, "_MAX_ENUMERATED_STATES", 0)
    monkeypatch.setattr(pvalues, "_MAX_BINS", 1 << 8)
    monkeypatch.setattr(pvalues, "_MAX_STATES", 16)
    log_odds, background = motif
    exact = ExactTail(log_odds, background)
    check_threshold_by_enumeration(log_odds, background, p_threshold, exact)
    queries = np.random.default_rng(seed).permutation(query_scores(exact.achievable))[:60]
    assert relative_error(pvalues.pvalues(log_odds, background, queries), exact(queries)).max() <= RTOL


def test_threshold_edges():
    log_odds = log_odds_from_counts(np.array([[50, 0], [0, 50], [0, 0], [0, 0]]), UNIFORM)
    assert score_threshold(log_odds, UNIFORM, 1e-3) == math.inf  # best word has p = 1/16
    assert score_threshold(log_odds, UNIFORM, 0.0) == math.inf
    assert score_threshold(log_odds, UNIFORM, 1.0) == -math.inf
    high = score_range(log_odds)[1]
    threshold = score_threshold(log_odds, UNIFORM, 1 / 16)  # exactly the best word's p-value: it passes
    assert high >= threshold - TIE_EPS and score_threshold(log_odds, UNIFORM, 0.9 / 16) == math.inf


# ----------------------------------------------------------------------------------------- ScoreDistribution


def test_score_distribution_is_reused_and_agrees():
    log_odds = log_odds_from_counts(np.array([[30, 2, 0, 9, 1, 5, 40], [3, 30, 1, 9, 1, 5, 0],
                                              [1, 2, 38, 9, 40, 5, 0], [6, 6, 1, 13, 0, 25, 0]]), SKEWED)
    distribution = ScoreDistribution(log_odds, SKEWED)
    scores = sampled_scores(log_odds, SKEWED, n=50, seed=3)
    threshold = distribution.score_threshold(1e-3)
    assert threshold == score_threshold(log_odds, SKEWED, 1e-3)
    got = distribution.pvalues(scores)
    np.testing.assert_allclose(got, pvalues.pvalues(log_odds, SKEWED, scores), rtol=2 * RTOL)
    assert relative_error(got, ExactTail(log_odds, SKEWED)(scores)).max() <= RTOL


def test_score_range():
    log_odds = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0], [2.0, -5.0]])
    assert score_range(log_odds) == (-6.0, 5.0)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        pvalues.pvalues(np.zeros((3, 4)), UNIFORM, np.zeros(1))
    with pytest.raises(ValueError):
        pvalues.pvalues(np.full((4, 2), -np.inf), UNIFORM, np.zeros(1))
    with pytest.raises(ValueError):
        pvalues.pvalues(np.zeros((4, 2)), np.array([0.5, 0.5, 0.0, 0.0]), np.zeros(1))
    with pytest.raises(ValueError):
        pvalues.pvalues(np.zeros((4, 2)), UNIFORM, np.array([np.nan]))


# ---------------------------------------------------------------------------------------------------- q-values


def full_bh(p_all: np.ndarray) -> np.ndarray:
    """BH q-values from every test's p-value, straight from the formula: min over j with p_j >= p_i of p_j m / j."""
    m = p_all.size
    ranks = np.empty(m)
    ranks[np.argsort(p_all, kind="stable")] = np.arange(1, m + 1)
    terms = p_all * m / ranks
    return np.array([min(1.0, terms[p_all >= p].min()) for p in p_all])


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(0, 40), elements=st.floats(1e-8, 1e-3)), st.integers(0, 200),
       st.floats(1e-3, 1.0))
def test_bh_qvalues_match_the_full_formula(reported, n_unreported, unreported_scale):
    """Reported p <= t = 1e-3; unreported ones > t. Exact where q <= t, an upper bound (> t) elsewhere."""
    threshold = 1e-3
    rng = np.random.default_rng(n_unreported)
    unreported = threshold + rng.random(n_unreported) * unreported_scale + 1e-12
    n_tests = reported.size + n_unreported
    q = bh_qvalues(reported, n_tests)
    q_full = full_bh(np.concatenate([reported, unreported]))[: reported.size]
    assert q.shape == reported.shape
    exact_region = q <= threshold
    np.testing.assert_allclose(q[exact_region], q_full[exact_region], rtol=1e-12)
    assert np.all(q[~exact_region] >= q_full[~exact_region] * (1 - 1e-12))
    assert np.all(q_full[~exact_region] > threshold)
    assert np.all(q <= 1.0) and np.all(q >= reported * (1 - 1e-12))


def test_bh_qvalues_order_ties_monotonicity_and_cap():
    p = np.array([0.04, 0.001, 0.04, 0.5, 0.001, 0.2])
    q = bh_qvalues(p, 6)
    np.testing.assert_allclose(q, full_bh(p))  # every test reported: the plain formula
    assert q[1] == q[4] and q[0] == q[2]  # ties share a q-value
    order = np.argsort(p)
    assert np.all(np.diff(q[order]) >= 0)  # monotone in p
    assert np.all(bh_qvalues(np.array([0.9, 0.5]), 100) == 1.0)  # capped
    np.testing.assert_allclose(bh_qvalues(np.array([0.01]), 10), [0.1])
    assert bh_qvalues(np.array([]), 0).shape == (0,)
    with pytest.raises(ValueError):
        bh_qvalues(np.array([0.1, 0.2]), 1)
