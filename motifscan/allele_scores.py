"""Allele-specific scoring: the best window each allele of each edit touches, per matrix and strand, vectorised.

The windows an edit touches (per allele and strand), inside the allowed bounds (the promoter window, or the
chromosome):

* substitution (SNV, MNV): the windows holding a changed base, in the reference and in the alternate sequence;
* deletion: reference windows holding a deleted base; alternate windows holding both bases that flank it;
* insertion: reference windows holding both flanking bases; alternate windows holding an inserted base;
* complex (both deleted and inserted bases, of different lengths): reference windows holding a deleted base,
  alternate windows holding an inserted base.

Layout (per matrix width ``w``): the reference *row* of an edit at 0-based ``start`` deleting ``d`` bases is the
genome ``[start - (w - 1), start + d + (w - 1))``; its alternate row is the left flank ``[start - (w - 1), start)``,
the inserted bases, then the right flank ``[start + d, start + d + (w - 1))``. Every full window of a row touches
the edit by construction (for a pure insertion or deletion the row is ``2w - 2`` long, so each window holds both
flanking bases); positions outside the allowed bounds, past a row's end, or holding a letter other than A/C/G/T
are invalid, and windows holding one are not scored (as in ``scan``). Substitution rows also need a changed base
(an MNV may hold unchanged bases between its changed ones).

Scores: rows are one-hot encoded and every window of every row is scored against all matrices of one width at once
with one matrix product (rows x 4w) @ (4w x 2k), both strands (the - strand uses the reverse-complement matrix on the
same forward window, as the scanner does). The loop is over widths and chunks of edits, never over windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from motifscan.encoding import INVALID, encode
from motifscan.motifs import reverse_complement_matrix

_CHUNK_CELLS = 1 << 22  # window x matrix scores computed per matrix product (32 MB of float64)
_N = ord("N")


@dataclass(frozen=True)
class EditBatch:
    """Edits to score, as arrays over a pool of reference sequence.

    ``pool``: uint8 ASCII letters of every needed stretch of reference, concatenated, shape (P,). For edit i (all
    arrays shape (n,), int64): ``base[i]`` is the pool index of its genomic ``start`` (0-based; a pure insertion
    goes before it), ``n_del[i]`` the bases deleted, ``lo[i]``/``hi[i]`` the pool indexes bounding the allowed
    reference ``[lo, hi)`` (the promoter window or the chromosome). ``inserted``: uint8 ASCII, shape
    (n, max inserted), the inserted bases left-aligned (padding unused); ``n_ins`` their numbers.
    """

    pool: np.ndarray
    base: np.ndarray
    n_del: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    inserted: np.ndarray
    n_ins: np.ndarray

    def __len__(self) -> int:
        return int(self.base.size)

    def subset(self, rows: np.ndarray) -> EditBatch:
        """The edits ``rows`` (int array) with the same pool."""
        return EditBatch(self.pool, self.base[rows], self.n_del[rows], self.lo[rows], self.hi[rows],
                         self.inserted[rows], self.n_ins[rows])


def _flank(batch: EditBatch, positions: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool letters at ``positions`` (n, L) where ``ok`` and inside the bounds; (letters, valid) both (n, L)."""
    valid = ok & (positions >= batch.lo[:, None]) & (positions < batch.hi[:, None])
    letters = batch.pool[np.clip(positions, 0, batch.pool.size - 1)]
    return np.where(valid, letters, _N).astype(np.uint8), valid


def reference_rows(batch: EditBatch, width: int) -> np.ndarray:
    """ASCII reference rows (n, max(n_del) + 2w - 2) of the layout in the module docstring ('N' = invalid)."""
    flank = width - 1
    length = int(batch.n_del.max(initial=0)) + 2 * flank
    k = np.arange(length)[None, :]
    positions = batch.base[:, None] - flank + k
    letters, _ = _flank(batch, positions, k < batch.n_del[:, None] + 2 * flank)
    return letters


def alternate_rows(batch: EditBatch, width: int) -> np.ndarray:
    """ASCII alternate rows (n, max(n_ins) + 2w - 2): left flank, inserted bases, right flank ('N' = invalid)."""
    flank = width - 1
    n_ins = batch.n_ins[:, None]
    length = int(batch.n_ins.max(initial=0)) + 2 * flank
    k = np.arange(length)[None, :]
    in_insert = (k >= flank) & (k < flank + n_ins)
    right = k >= flank + n_ins
    positions = np.where(right, batch.base[:, None] + batch.n_del[:, None] + (k - flank - n_ins),
                         batch.base[:, None] - flank + k)
    letters, _ = _flank(batch, positions, ~in_insert & (k < n_ins + 2 * flank))
    if batch.inserted.shape[1]:
        column = np.clip(k - flank, 0, batch.inserted.shape[1] - 1)
        inserted = np.take_along_axis(batch.inserted, np.broadcast_to(column, letters.shape), axis=1)
        letters = np.where(in_insert, inserted, letters).astype(np.uint8)
    return letters


def _changed(batch: EditBatch, width: int, length: int) -> np.ndarray:
    """(n, length) bool: row positions whose base a substitution changes (the same positions in its reference and
    alternate rows); all False for other edits."""
    flank = width - 1
    k = np.arange(length)[None, :]
    substitution = (batch.n_del == batch.n_ins)[:, None]
    inside = (k >= flank) & (k < flank + batch.n_del[:, None]) & substitution
    if not batch.inserted.shape[1]:
        return inside
    positions = np.clip(batch.base[:, None] + (k - flank), 0, batch.pool.size - 1)
    ref = batch.pool[positions]
    column = np.clip(k - flank, 0, batch.inserted.shape[1] - 1)
    alt = np.take_along_axis(batch.inserted, np.broadcast_to(column, ref.shape), axis=1)
    differs = (ref | 0x20) != (alt | 0x20)  # case-blind: soft-masked reference letters
    return inside & differs


@dataclass(frozen=True)
class BestWindows:
    """The best touched window of each allele of each edit, per matrix and strand.

    All arrays shape (n, k, 2) over (edit, matrix, strand: 0 = +, 1 = -). ``ref_score``/``alt_score``: float64 bits,
    ``-inf`` where the allele has no scorable touched window; ``ref_offset``/``alt_offset``: int64 start of that
    window in the allele's row (module docstring), -1 where none.
    """

    ref_score: np.ndarray
    alt_score: np.ndarray
    ref_offset: np.ndarray
    alt_offset: np.ndarray


def best_windows(batch: EditBatch, log_odds: list[np.ndarray], mask_lowercase: bool = False) -> BestWindows:
    """Score every touched window of both alleles of every edit against every matrix (``log_odds``: each (4, w)),
    both strands; keep the best per (edit, matrix, strand, allele). Ties go to the leftmost window."""
    n, k = len(batch), len(log_odds)
    out = {name: np.full((n, k, 2), -np.inf) for name in ("ref_score", "alt_score")}
    offsets = {name: np.full((n, k, 2), -1, dtype=np.int64) for name in ("ref_offset", "alt_offset")}
    widths = np.array([m.shape[1] for m in log_odds], dtype=np.int64)
    for width in np.unique(widths).tolist():
        members = np.flatnonzero(widths == width)
        weights = _weights([log_odds[i] for i in members])  # (4w, 2m)
        for allele in ("ref", "alt"):
            rows = reference_rows(batch, width) if allele == "ref" else alternate_rows(batch, width)
            allowed = _allowed_windows(batch, width, rows)
            score, offset = _best(rows, allowed, weights, width, mask_lowercase)  # (n, 2m)
            m = members.size
            out[f"{allele}_score"][:, members, 0] = score[:, :m]
            out[f"{allele}_score"][:, members, 1] = score[:, m:]
            offsets[f"{allele}_offset"][:, members, 0] = offset[:, :m]
            offsets[f"{allele}_offset"][:, members, 1] = offset[:, m:]
    return BestWindows(out["ref_score"], out["alt_score"], offsets["ref_offset"], offsets["alt_offset"])


def _weights(matrices: list[np.ndarray]) -> np.ndarray:
    """(4w, 2m) float64: column c < m is matrix c (+ strand), column m + c its reverse complement; row j * 4 + b is
    letter b at window column j (the one-hot layout of :func:`_best`)."""
    plus = [m.T.reshape(-1) for m in matrices]
    minus = [reverse_complement_matrix(m).T.reshape(-1) for m in matrices]
    return np.ascontiguousarray(np.stack(plus + minus, axis=1))


def _allowed_windows(batch: EditBatch, width: int, rows: np.ndarray) -> np.ndarray | None:
    """(n, n_windows) bool: for substitutions, the windows holding a changed base; every window for other edits
    (their rows hold only touching windows). None when no MNV is in the batch (an SNV's row holds only windows with
    its one changed base)."""
    substitution = batch.n_del == batch.n_ins
    if not (batch.n_del[substitution] > 1).any():
        return None
    changed = _changed(batch, width, rows.shape[1])
    counts = np.concatenate([np.zeros((len(batch), 1), dtype=np.int64), np.cumsum(changed, axis=1)], axis=1)
    return ((counts[:, width:] - counts[:, :-width]) > 0) | ~substitution[:, None]


def _best(rows: np.ndarray, allowed: np.ndarray | None, weights: np.ndarray, width: int,
          mask_lowercase: bool) -> tuple[np.ndarray, np.ndarray]:
    """Best window score and its offset per row and weight column; rows (n, L) ASCII -> two (n, c) arrays."""
    n, length = rows.shape
    n_windows = length - width + 1
    columns = weights.shape[1]
    best = np.full((n, columns), -np.inf)
    where = np.full((n, columns), -1, dtype=np.int64)
    if n_windows <= 0 or n == 0:
        return best, where
    codes = encode(rows.tobytes().decode("ascii"), mask_lowercase).reshape(n, length)
    valid = codes != INVALID
    onehot = (codes[:, :, None] == np.arange(4, dtype=np.uint8)).astype(np.float64)  # invalid letters: all zero
    invalid_counts = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(~valid, axis=1)], axis=1)
    scorable = (invalid_counts[:, width:] - invalid_counts[:, :-width]) == 0  # (n, n_windows)
    if allowed is not None:
        scorable &= allowed
    step = max(1, _CHUNK_CELLS // max(1, n_windows * max(columns, 4 * width)))  # product's input and output
    for first in range(0, n, step):
        last = min(n, first + step)
        windows = sliding_window_view(onehot[first:last], (width, 4), axis=(1, 2))  # (c, n_windows, 1, w, 4)
        # window-major rows, so that the best window is a reduction over the first (contiguous) axis
        flat = np.ascontiguousarray(windows[:, :, 0].transpose(1, 0, 2, 3)).reshape(n_windows * (last - first),
                                                                                  4 * width)
        scores = (flat @ weights).reshape(n_windows, last - first, columns)
        scores[~scorable[first:last].T] = -np.inf
        where[first:last] = np.argmax(scores, axis=0)
        best[first:last] = np.take_along_axis(scores, where[None, first:last, :], axis=0)[0]
    where[~np.isfinite(best)] = -1
    return best, where


def window_letters(rows: np.ndarray, offsets: np.ndarray, width: int) -> list[str]:
    """The window ``[offset, offset + width)`` of each row (rows (r, L) ASCII, offsets (r,)) as text."""
    if rows.shape[0] == 0:
        return []
    index = np.clip(offsets[:, None], 0, None) + np.arange(width)[None, :]
    picked = np.take_along_axis(rows, np.clip(index, 0, rows.shape[1] - 1), axis=1)
    text = picked.tobytes().decode("ascii")
    return [text[i * width : (i + 1) * width] for i in range(rows.shape[0])]
