"""The vectorized scanner against oracles: a brute-force Python scorer and Biopython's PSSM.calculate."""

from __future__ import annotations

import numpy as np
import pytest
from Bio.motifs import matrix as bio_matrix
from Bio.Seq import Seq
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.encoding import encode
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


def random_matrix(rng: np.random.Generator, width: int) -> np.ndarray:
    counts = rng.integers(0, 30, size=(4, width)).astype(float)
    background = rng.dirichlet([5, 5, 5, 5])
    return log_odds(counts, 0.8, background)


def thresholds_between_scores(rng, sequence: str, matrices: list[np.ndarray]) -> list[float]:
    """Thresholds halfway between two achieved window scores, so that no score ties with a threshold."""
    thresholds = []
    codes = encode(sequence)
    for matrix in matrices:
        scores = np.concatenate([score_windows(matrix, codes), score_windows(reverse_complement_matrix(matrix), codes)])
        scores = np.unique(scores[np.isfinite(scores)])
        if len(scores) < 2:
            thresholds.append(np.inf)
            continue
        i = rng.integers(max(len(scores) - 8, 0), len(scores) - 1)
        thresholds.append(float((scores[i] + scores[i + 1]) / 2))
    return thresholds


@settings(max_examples=60, deadline=None)
@given(
    sequence=st.text(alphabet="ACGTacgtNRY", min_size=0, max_size=300),
    widths=st.lists(st.integers(1, 14), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
    chunk_size=st.sampled_from([1, 7, 64, 1 << 15]),
)
def test_scanner_equals_brute_force(sequence, widths, seed, chunk_size):
    rng = np.random.default_rng(seed)
    matrices = [random_matrix(rng, w) for w in widths]
    thresholds = thresholds_between_scores(rng, sequence, matrices)
    scanner = Scanner(matrices, np.array(thresholds), chunk_size=chunk_size)
    got = as_dict(scanner.scan(encode(sequence)))
    expected = brute_force(sequence, matrices, thresholds)
    assert got.keys() == expected.keys()
    for key, score in expected.items():
        assert got[key] == pytest.approx(score, abs=1e-9)


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
    bio_counts = bio_matrix.FrequencyPositionMatrix("ACGT", {l: list(counts[i]) for i, l in enumerate("ACGT")})
    pseudo = {l: 0.8 * background[i] for i, l in enumerate("ACGT")}
    pssm = bio_counts.normalize(pseudocounts=pseudo).log_odds({l: background[i] for i, l in enumerate("ACGT")})
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
