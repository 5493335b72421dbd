"""The vectorized scanner: encoded sequence x many log-odds matrices -> windows scoring at or above a threshold.

Method. Matrices are grouped by width. For one group of width ``w`` and a chunk of sequence, the windows are laid out
as one-hot rows (``n_windows x 4w``, float32; a non-ACGT letter is an all-zero row) and multiplied through BLAS by the
stacked matrices of both strands (``4w x 2m``): one product scores every window of every matrix of the group on both
strands. Scores at or above the threshold less a float32 tolerance are candidates; each candidate is then rescored
exactly in float64 from its letters and kept if that exact score reaches the threshold. Windows holding a letter other
than A, C, G, T are never reported. Long sequences go through in chunks of ``chunk_size`` windows, so memory stays
bounded whatever the sequence length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from motifscan.encoding import INVALID
from motifscan.motifs import reverse_complement_matrix

FLOAT32_TOLERANCE = 1e-3
"""Bits by which a float32 score may fall short of its float64 value: far above float32's accumulated rounding error
(about 1e-5 bits for 30 columns), so no true hit is lost before its exact rescoring."""

SCORE_EPSILON = 1e-9
"""A window whose exact score is within this many bits below the threshold counts as reaching it (float64 sums of
the same terms in another order differ by ~1e-14)."""

_ONE_HOT = np.eye(INVALID + 1, 4, dtype=np.float32)  # code 4 (non-ACGT) -> all-zero row


@dataclass(frozen=True)
class Candidates:
    """Windows that reached their matrix's threshold, for one sequence.

    All arrays have shape (n,): ``motif_index`` (int64, into the scanner's matrix list), ``start`` (int64, 0-based
    first base of the window in the sequence), ``minus_strand`` (bool: scored with the reverse-complement matrix),
    ``score`` (float64, exact, bits).
    """

    motif_index: np.ndarray
    start: np.ndarray
    minus_strand: np.ndarray
    score: np.ndarray

    @staticmethod
    def concatenate(parts: list["Candidates"]) -> "Candidates":
        if not parts:
            return Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0))
        return Candidates(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                            ("motif_index", "start", "minus_strand", "score")))


@dataclass(frozen=True)
class _WidthGroup:
    """Matrices of one width, stacked for one BLAS product.

    ``motif_index``: (m,) indices into the scanner's list. ``weights``: (4w, 2m) float32, column k < m the forward
    matrix of motif k, column m + k its reverse complement, row ``letter * w + column``. ``exact``: (2m, 4, w)
    float64, the same matrices for rescoring. ``thresholds``: (2m,) float64.
    """

    width: int
    motif_index: np.ndarray
    weights: np.ndarray
    exact: np.ndarray
    thresholds: np.ndarray


class Scanner:
    """Scores encoded sequences against a fixed list of log-odds matrices, each with its own score threshold.

    Parameters
    ----------
    log_odds : list of ndarray, each shape (4, w_i)
        Log-odds matrices (bits), rows A, C, G, T.
    score_thresholds : ndarray, shape (n_matrices,)
        A window is reported when its exact score is >= its matrix's threshold (``inf``: never).
    chunk_size : int
        Windows scored per BLAS product; bounds memory to about ``chunk_size * 4 * w_max * 4`` bytes per group.
    """

    def __init__(self, log_odds: list[np.ndarray], score_thresholds: np.ndarray, chunk_size: int = 1 << 15) -> None:
        self.widths = np.array([m.shape[1] for m in log_odds], dtype=np.int64)
        self.chunk_size = chunk_size
        self.groups = [self._group(log_odds, score_thresholds, w) for w in np.unique(self.widths)]

    def _group(self, log_odds: list[np.ndarray], score_thresholds: np.ndarray, width: int) -> _WidthGroup:
        members = np.flatnonzero(self.widths == width)
        forward = [log_odds[i] for i in members]
        exact = np.stack(forward + [reverse_complement_matrix(m) for m in forward])
        weights = exact.reshape(len(exact), 4 * width).T.astype(np.float32)
        thresholds = np.concatenate([score_thresholds[members]] * 2).astype(np.float64)
        return _WidthGroup(int(width), members, np.ascontiguousarray(weights), exact, thresholds)

    def scored_windows(self, codes: np.ndarray) -> np.ndarray:
        """Per matrix, the number of windows of ``codes`` (shape (L,)) that hold only A, C, G, T: the windows scored
        on each strand; shape (n_matrices,), int64."""
        invalid_before = _invalid_prefix_sums(codes)
        counts = np.zeros(len(self.widths), dtype=np.int64)
        for group in self.groups:
            counts[group.motif_index] = _valid_window_count(invalid_before, group.width)
        return counts

    def scan(self, codes: np.ndarray) -> Candidates:
        """Every window of ``codes`` (shape (L,), uint8 from :func:`motifscan.encoding.encode`) whose exact score on
        either strand reaches its matrix's threshold."""
        invalid_before = _invalid_prefix_sums(codes)
        one_hot = _ONE_HOT[codes]
        parts = []
        for group in self.groups:
            n_windows = len(codes) - group.width + 1
            for first in range(0, max(n_windows, 0), self.chunk_size):
                last = min(first + self.chunk_size, n_windows)
                parts.append(self._scan_chunk(group, codes, one_hot, invalid_before, first, last))
        return Candidates.concatenate(parts)

    def _scan_chunk(self, group: _WidthGroup, codes: np.ndarray, one_hot: np.ndarray, invalid_before: np.ndarray,
                    first: int, last: int) -> Candidates:
        """Candidates among the windows starting at positions [first, last) of the sequence."""
        width = group.width
        windows = sliding_window_view(one_hot[first : last + width - 1], width, axis=0)  # (n, 4, w) view
        scores = windows.reshape(last - first, 4 * width) @ group.weights  # (n, 2m) float32
        rows, columns = np.nonzero(scores >= (group.thresholds - FLOAT32_TOLERANCE).astype(np.float32))
        starts = rows + first
        clean = invalid_before[starts + width] == invalid_before[starts]
        starts, columns = starts[clean], columns[clean]
        window_codes = codes[starts[:, None] + np.arange(width)]  # (k, w)
        exact = group.exact[columns[:, None], window_codes, np.arange(width)].sum(axis=1)
        keep = exact >= group.thresholds[columns] - SCORE_EPSILON
        n_members = len(group.motif_index)
        return Candidates(
            motif_index=group.motif_index[columns[keep] % n_members],
            start=starts[keep].astype(np.int64),
            minus_strand=columns[keep] >= n_members,
            score=exact[keep],
        )


def _invalid_prefix_sums(codes: np.ndarray) -> np.ndarray:
    """``out[i]`` = number of non-ACGT letters in ``codes[:i]``; shape (L + 1,)."""
    out = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(codes == INVALID, out=out[1:])
    return out


def _valid_window_count(invalid_before: np.ndarray, width: int) -> int:
    n_windows = len(invalid_before) - width  # = L - w + 1
    if n_windows <= 0:
        return 0
    return int(np.count_nonzero(invalid_before[width:] == invalid_before[:n_windows]))


def score_windows(log_odds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact float64 scores of every window of ``codes`` (shape (L,)) under ``log_odds`` (shape (4, w)); windows
    with a non-ACGT letter get NaN; shape (L - w + 1,). Used to rescore and to check; the scanner does not call it."""
    width = log_odds.shape[1]
    if len(codes) < width:
        return np.zeros(0)
    windows = sliding_window_view(codes, width)
    padded = np.vstack([log_odds, np.full((1, width), np.nan)])
    return padded[windows, np.arange(width)].sum(axis=1)
