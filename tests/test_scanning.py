"""The vectorized scanner against oracles: a brute-force Python scorer and Biopython's PSSM.calculate."""

from __future__ import annotations

import numpy as np
import pytest
from Bio.motifs import matrix as bio_matrix
from Bio.Seq import Seq
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.encoding import encode, encode_joined
from motifscan.motifs import log_odds, reverse_complement_matrix
from motifscan.scanning import Scanner, score_windows

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def brute_force(sequence: str, matrices: list[np.ndarray], thresholds: list[float]) -> dict:
    """(motif, start, strand) -> score for every all-ACGT window reaching its threshold, one window at a time."""
    found = {}
    upper = sequence.upper()
    for k, (matrix, threshold) in enumerate(zip(matrices, thresholds)):
        width = matrix.shape[1]
        for start in range(len(sequence) - width + 1):
            window = upper[start : start + width]
            if any(letter not in "ACGT" for letter in window):
                continue
            forward = sum(matrix["ACGT".index(letter), j] for j, letter in enumerate(window))
            rc_window = "".join(COMPLEMENT[letter] for letter in reversed(window))
            reverse = sum(matrix["ACGT".index(letter), j] for j, letter in enumerate(rc_window))
            for strand, score in (("+", forward), ("-", reverse)):
                if score >= threshold:
                    found[(k, start, strand)] = score
    return found


def as_dict(candidates) -> dict:
    return {
        (int(k), int(s), "-" if m else "+"): float(score)
        for k, s, m, score in zip(candidates.motif_index, candidates.start, candidates.minus_strand, candidates.score)
    }


def assert_equals_brute_force(candidates, sequence: str, matrices: list[np.ndarray], thresholds: list[float]) -> None:
    """The scanner's candidates for ``sequence`` are exactly brute_force's windows, with its scores."""
    got = as_dict(candidates)
    expected = brute_force(sequence, matrices, thresholds)
    assert got.keys() == expected.keys()
    for key, score in expected.items():
        assert got[key] == pytest.approx(score, abs=1e-9)


def random_matrix(rng: np.random.Generator, width: int) -> np.ndarray:
    counts = rng.integers(0, 30, size=(4, width)).astype(float)
    background = rng.dirichlet([5, 5, 5, 5])
    return log_odds(counts, 0.8, background)


def thresholds_between_scores(rng, sequence: str, matrices: list[np.ndarray]) -> list[float]:
    """Thresholds halfway between two achieved window scores, so that no score ties with a threshold. Scores within
    1e-6 bits count as one: the same window summed in another order (a palindrome's two strands) differs by ~1e-15,
    and a threshold between those would fall within the scanner's SCORE_EPSILON of both."""
    thresholds = []
    codes = encode(sequence)
    for matrix in matrices:
        scores = np.concatenate([score_windows(matrix, codes), score_windows(reverse_complement_matrix(matrix), codes)])
        scores = np.unique(scores[np.isfinite(scores)])
        scores = scores[np.concatenate([[True], np.diff(scores) > 1e-6])] if len(scores) else scores
        if len(scores) < 2:
            thresholds.append(np.inf)
            continue
        i = rng.integers(max(len(scores) - 8, 0), len(scores) - 1)
        thresholds.append(float((scores[i] + scores[i + 1]) / 2))
    return thresholds


# The scanner sends each strand matrix down the k-mer index or the dense product (``index_fraction``: None = its cost
# model, 0 = all dense, 1 = all indexed); every path must give exactly the brute-force hits.
PATHS = [None, 0.0, 1.0]


@settings(max_examples=60, deadline=None)
@given(
    sequence=st.text(alphabet="ACGTacgtNRY", min_size=0, max_size=300),
    widths=st.lists(st.integers(1, 14), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
    chunk_size=st.sampled_from([1, 7, 64, 1 << 15]),
    index_fraction=st.sampled_from(PATHS),
    jobs=st.sampled_from([1, 2]),
)
def test_scanner_equals_brute_force(sequence, widths, seed, chunk_size, index_fraction, jobs):
    rng = np.random.default_rng(seed)
    matrices = [random_matrix(rng, w) for w in widths]
    thresholds = thresholds_between_scores(rng, sequence, matrices)
    scanner = Scanner(matrices, np.array(thresholds), chunk_size=chunk_size, jobs=jobs, index_fraction=index_fraction)
    assert_equals_brute_force(scanner.scan(encode(sequence)), sequence, matrices, thresholds)


@settings(max_examples=25, deadline=None)
@given(
    sequence=st.text(alphabet="ACGTN", min_size=30, max_size=400),
    widths=st.lists(st.integers(15, 33), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
    index_fraction=st.sampled_from(PATHS),
)
def test_wide_matrices_equal_brute_force(sequence, widths, seed, index_fraction):
    """Widths of JASPAR's widest matrices: several rescoring blocks on both sides of the k-mer block."""
    rng = np.random.default_rng(seed)
    matrices = [random_matrix(rng, w) for w in widths]
    thresholds = thresholds_between_scores(rng, sequence, matrices)
    scanner = Scanner(matrices, np.array(thresholds), chunk_size=int(rng.integers(1, 100)),
                      index_fraction=index_fraction)
    assert_equals_brute_force(scanner.scan(encode(sequence)), sequence, matrices, thresholds)


@settings(max_examples=40, deadline=None)
@given(
    sequences=st.lists(st.text(alphabet="ACGTN", min_size=0, max_size=60), min_size=0, max_size=8),
    widths=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
    index_fraction=st.sampled_from(PATHS),
)
def test_scan_many_equals_each_sequence_alone(sequences, widths, seed, index_fraction):
    """Sequences scanned in one pass: hits map back to their sequence, none crosses from one sequence to the next,
    and the scored windows are counted per sequence."""
    rng = np.random.default_rng(seed)
    matrices = [random_matrix(rng, w) for w in widths]
    joined = "N".join(sequences)  # thresholds from the scores found anywhere
    thresholds = thresholds_between_scores(rng, joined, matrices) if joined else [0.0] * len(matrices)
    scanner = Scanner(matrices, np.array(thresholds), chunk_size=int(rng.integers(1, 50)),
                      index_fraction=index_fraction, jobs=2)
    codes = [encode(s) for s in sequences]
    for found in (scanner.scan_many(codes), scanner.scan_joined(encode_joined(sequences))):
        assert len(found.target) == len(found.score)
        per_target = found.by_target(len(sequences))
        assert len(per_target) == len(sequences)
        for sequence, part in zip(sequences, per_target):
            assert_equals_brute_force(part, sequence, matrices, thresholds)
    counts = scanner.scored_windows_many(codes)
    assert scanner.scored_windows_joined(encode_joined(sequences)).tolist() == counts.tolist()
    assert counts.shape == (len(sequences), len(matrices))
    for i, c in enumerate(codes):
        assert counts[i].tolist() == scanner.scored_windows(c).tolist()
        for k, matrix in enumerate(matrices):
            assert counts[i, k] == np.count_nonzero(np.isfinite(score_windows(matrix, c)))


@pytest.mark.parametrize("index_fraction", PATHS)
def test_jaspar_matrices_at_pvalue_thresholds(index_fraction):
    """Real JASPAR matrices (widths 5 to 30) at their p <= 1e-3 thresholds, on sequence long enough for many chunks,
    against every window's exact score."""
    from motifscan.motifs import select_motifs
    from motifscan.pvalues import score_thresholds

    background = np.full(4, 0.25)
    motifs = select_motifs(collections=["CORE"], tax_groups=["vertebrates"])
    rng = np.random.default_rng(3)
    chosen = [motifs[i] for i in rng.choice(len(motifs), 40, replace=False)]
    chosen += sorted(motifs, key=lambda m: m.width)[-2:] + sorted(motifs, key=lambda m: m.width)[:2]
    matrices = [log_odds(m.counts, 0.8, background) for m in chosen]
    thresholds = np.asarray(score_thresholds(matrices, background, 1e-3), dtype=float)
    sequence = "".join(rng.choice(list("ACGT"), 20_000))
    sequence = sequence[:5000] + "N" * 3 + sequence[5000:9000] + "acgtRY" + sequence[9000:]
    codes = encode(sequence)
    scanner = Scanner(matrices, thresholds, index_fraction=index_fraction, chunk_size=3000)
    got = as_dict(scanner.scan(codes))
    expected = {}
    for k, (matrix, threshold) in enumerate(zip(matrices, thresholds)):
        for strand, m in (("+", matrix), ("-", reverse_complement_matrix(matrix))):
            scores = score_windows(m, codes)
            for start in np.flatnonzero(scores >= threshold - 1e-9):
                expected[(k, int(start), strand)] = float(scores[start])
    assert len(expected) > 500
    assert got.keys() == expected.keys()
    for key, score in expected.items():
        assert got[key] == pytest.approx(score, abs=1e-9)


def test_candidate_expansion_in_parts(monkeypatch):
    """A chunk whose candidates exceed the expansion limit is expanded in parts, with the same result."""
    import motifscan.scanning as scanning

    rng = np.random.default_rng(5)
    matrices = [random_matrix(rng, w) for w in (4, 9, 12, 20)]
    sequence = "".join(rng.choice(list("ACGT"), 3000))
    thresholds = np.array([np.quantile(score_windows(m, encode(sequence)), 0.5) for m in matrices])  # lax
    whole = as_dict(Scanner(matrices, thresholds, index_fraction=1.0).scan(encode(sequence)))
    monkeypatch.setattr(scanning, "_MAX_CANDIDATES", 5)
    monkeypatch.setattr(scanning, "_RESCORE_BATCH", 3)
    for index_fraction in (0.0, 1.0):
        parts = as_dict(Scanner(matrices, thresholds, index_fraction=index_fraction).scan(encode(sequence)))
        assert parts == pytest.approx(whole, abs=1e-9)
    assert len(whole) > 4000


@pytest.mark.parametrize("index_fraction", PATHS)
def test_infinite_thresholds(index_fraction):
    rng = np.random.default_rng(2)
    matrices = [random_matrix(rng, 6), random_matrix(rng, 10)]
    codes = encode("ACGTNACGTTGCAAGGCTTACGATCGATTTACG")
    found = Scanner(matrices, np.array([np.inf, -np.inf]), index_fraction=index_fraction).scan(codes)
    assert set(found.motif_index.tolist()) == {1}
    valid = np.count_nonzero(np.isfinite(score_windows(matrices[1], codes)))
    assert len(found.score) == 2 * valid


def test_window_exactly_at_threshold_is_reported():
    rng = np.random.default_rng(1)
    matrix = random_matrix(rng, 6)
    sequence = "".join(rng.choice(list("ACGT"), 200))
    scores = score_windows(matrix, encode(sequence))
    threshold = float(np.sort(scores)[-3])  # the third best window's own score
    got = as_dict(Scanner([matrix], np.array([threshold])).scan(encode(sequence)))
    assert {(0, int(s), "+") for s in np.flatnonzero(scores >= threshold)} <= got.keys()


@pytest.mark.parametrize("seed", range(5))
def test_scores_equal_biopython_pssm(seed):
    rng = np.random.default_rng(seed)
    width = int(rng.integers(4, 20))
    counts = rng.integers(0, 50, size=(4, width)).astype(float)
    background = rng.dirichlet([4, 4, 4, 4])
    background = (background + background[::-1]) / 2  # Biopython's reverse complement assumes a symmetric background
    ours = log_odds(counts, 0.8, background)
    bio_counts = bio_matrix.FrequencyPositionMatrix("ACGT", {b: list(counts[i]) for i, b in enumerate("ACGT")})
    pseudo = {b: 0.8 * background[i] for i, b in enumerate("ACGT")}
    pssm = bio_counts.normalize(pseudocounts=pseudo).log_odds({b: background[i] for i, b in enumerate("ACGT")})
    sequence = "".join(rng.choice(list("ACGT"), 500))
    codes = encode(sequence)
    np.testing.assert_allclose(score_windows(ours, codes), pssm.calculate(Seq(sequence)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(score_windows(reverse_complement_matrix(ours), codes),
                               pssm.reverse_complement().calculate(Seq(sequence)), rtol=1e-5, atol=1e-5)
    # and the scanner reports exactly Biopython's windows above a threshold
    threshold = float(np.quantile(pssm.calculate(Seq(sequence)), 0.9)) + 1e-6
    got = as_dict(Scanner([ours], np.array([threshold])).scan(codes))
    plus = {(0, int(s), "+") for s in np.flatnonzero(np.asarray(pssm.calculate(Seq(sequence))) >= threshold + 1e-4)}
    assert plus <= got.keys()


def test_scored_windows_skip_non_acgt():
    matrix = np.zeros((4, 3))
    scanner = Scanner([matrix], np.array([-1.0]))
    codes = encode("ACGTNACGTacgt")  # windows of width 3 without N: ACG CGT | ACG CGT GTa Tac acg cgt
    assert scanner.scored_windows(codes).tolist() == [8]
    assert len(scanner.scan(codes).start) == 16  # both strands
    masked = encode("ACGTNACGTacgt", mask_lowercase=True)
    assert scanner.scored_windows(masked).tolist() == [4]


def test_sequence_shorter_than_motif():
    scanner = Scanner([np.zeros((4, 8))], np.array([-1.0]))
    assert len(scanner.scan(encode("ACGT")).start) == 0
    assert scanner.scored_windows(encode("ACGT")).tolist() == [0]


@settings(max_examples=300, deadline=None)
@given(letters=st.lists(st.integers(0, 4), min_size=1, max_size=200), first=st.integers(0, 250),
       n=st.integers(1, 260))
def test_quad_codes_match_brute_force(letters, first, n):
    """The scanner's uint8 4-letter word codes against a plain Python oracle: base-4 code, first letter most
    significant, 256 for a word holding a letter not A, C, G, T or running past the end."""
    from motifscan.scanning import _quad_codes, _Workspace

    codes = np.array(letters, dtype=np.uint8)
    first = first % len(codes)
    out = np.empty(n, dtype=np.int16)
    _quad_codes(codes, first, n, out, _Workspace())
    expected = []
    for i in range(first, first + n):
        word = letters[i : i + 4]
        expected.append(256 if len(word) < 4 or 4 in word else ((word[0] * 4 + word[1]) * 4 + word[2]) * 4 + word[3])
    assert out.tolist() == expected


@settings(max_examples=150, deadline=None)
@given(
    sequences=st.lists(st.text(alphabet="ACGTACGTACGTNn", min_size=0, max_size=40), min_size=1, max_size=6),
    widths=st.lists(st.integers(4, 7), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
    quantile=st.floats(0.0, 1.0),
)
def test_narrow_matrices_next_to_invalid_letters(sequences, widths, seed, quantile):
    """Matrices of width 4 to 7 are filtered by 8-mers whose letters past the width are don't-cares, with a fallback
    for windows followed by an N or by the end of the sequence: every window, at any threshold (many hits), is the
    brute force's."""
    rng = np.random.default_rng(seed)
    matrices = [random_matrix(rng, w) for w in widths]
    thresholds = []
    for matrix in matrices:  # a threshold between two achieved scores, anywhere in their range
        scores = np.concatenate([score_windows(m, encode(s)) for s in sequences
                                 for m in (matrix, reverse_complement_matrix(matrix))])
        scores = np.unique(scores[np.isfinite(scores)])
        scores = scores[np.concatenate([[True], np.diff(scores) > 1e-6])] if len(scores) else scores
        i = int(quantile * (len(scores) - 2)) if len(scores) >= 2 else None
        thresholds.append(np.inf if i is None else float((scores[i] + scores[i + 1]) / 2))
    scanner = Scanner(matrices, np.array(thresholds), index_fraction=1.0, chunk_size=int(rng.integers(1, 30)))
    found = scanner.scan_joined(encode_joined(sequences)).by_target(len(sequences))
    for sequence, part in zip(sequences, found):
        assert_equals_brute_force(part, sequence, matrices, thresholds)
