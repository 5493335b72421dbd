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

Scores: every window of every row is scored against all matrices of one width at once, both strands (the - strand
uses the reverse-complement matrix on the same forward window, as the scanner does), from per-column lookup tables:
w row gathers of shape (windows, rows, 2m) per width. Rows are grouped by length (an SNV's row is not padded to the
longest indel's). The loops are over chunks of edits, widths, row lengths and matrix columns, never over windows;
only the (edit, matrix, strand) triples where an allele reaches the caller's cut are kept (:class:`Candidates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motifscan.encoding import INVALID, encode
from motifscan.motifs import reverse_complement_matrix

_CHUNK_CELLS = 1 << 21  # (edit, column) bests held per chunk of edits (16 MB of float64 per array)
_WINDOW_CELLS = 1 << 15  # window scores summed at once: 256 kB per array, so that the adds stay in cache
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
class Candidates:
    """The best touched window of each allele, for the (edit, matrix, strand) triples kept (see :func:`best_windows`).

    All arrays shape (r,), one entry per triple, ordered by edit chunk, then matrix width, then (edit, column):
    ``edit``, ``matrix`` (indexes into the batch and the matrix list), ``strand`` (0 = +, 1 = -);
    ``ref_score``/``alt_score``: float64 bits, ``-inf`` where the allele has no scorable touched window;
    ``ref_offset``/``alt_offset``: int64 start of that window in the allele's row (module docstring), -1 where none.
    """

    edit: np.ndarray
    matrix: np.ndarray
    strand: np.ndarray
    ref_score: np.ndarray
    alt_score: np.ndarray
    ref_offset: np.ndarray
    alt_offset: np.ndarray

    def __len__(self) -> int:
        return int(self.edit.size)


def best_windows(batch: EditBatch, log_odds: list[np.ndarray], cuts: np.ndarray | None = None,
                 mask_lowercase: bool = False) -> Candidates:
    """Score every touched window of both alleles of every edit against every matrix (``log_odds``: each (4, w)),
    both strands; keep the best per (edit, matrix, strand, allele), ties to the leftmost window. Only the triples
    where either allele's best score is >= ``cuts[matrix]`` ((k,) bits; None: keep all) are returned, so memory
    follows the sites, not edits x matrices: edits are taken in chunks of about _CHUNK_CELLS / (2k)."""
    n, k = len(batch), len(log_odds)
    widths = np.array([m.shape[1] for m in log_odds], dtype=np.int64)
    groups = [(w, np.flatnonzero(widths == w)) for w in np.unique(widths).tolist()]
    tables = {w: _tables([log_odds[i] for i in members]) for w, members in groups}
    step = max(1, _CHUNK_CELLS // max(1, 2 * k))
    parts: list[tuple[np.ndarray, ...]] = []
    for first in range(0, n, step):
        chunk = batch.subset(np.arange(first, min(n, first + step)))
        for width, members in groups:
            ref_score, ref_offset, alt_score, alt_offset = _alleles_best(chunk, width, tables[width], mask_lowercase)
            keep = np.ones(ref_score.shape, dtype=bool) if cuts is None else (
                np.maximum(ref_score, alt_score) >= np.tile(cuts[members], 2)[None, :])
            e, column = np.nonzero(keep)
            m = members.size
            parts.append((e + first, members[column % m], column // m, ref_score[e, column], alt_score[e, column],
                          ref_offset[e, column], alt_offset[e, column]))
    if not parts:
        empty_int = np.zeros(0, dtype=np.int64)
        return Candidates(empty_int, empty_int, empty_int, np.zeros(0), np.zeros(0), empty_int, empty_int)
    return Candidates(*(np.concatenate([part[i] for part in parts]) for i in range(7)))


def _tables(matrices: list[np.ndarray]) -> np.ndarray:
    """(w, 5, 2m) float64 lookup tables: ``[j, b, c]`` is the score of letter code b at window column j for column
    c < m = matrix c (+ strand) and c >= m = the reverse complement of matrix c - m (- strand: the reverse-complement
    matrix on the same forward window, as the scanner does); code 4 (any letter other than A/C/G/T) is -inf, so
    that a window holding one is not scored."""
    plus = [m.T for m in matrices]  # (w, 4) each
    minus = [reverse_complement_matrix(m).T for m in matrices]
    table = np.stack(plus + minus, axis=2)  # (w, 4, 2m)
    invalid = np.full((table.shape[0], 1, table.shape[2]), -np.inf)
    return np.ascontiguousarray(np.concatenate([table, invalid], axis=1))


def _alleles_best(chunk: EditBatch, width: int, table: np.ndarray,
                  mask_lowercase: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The best touched window of both alleles of each edit of ``chunk``: (ref score, ref offset, alt score, alt
    offset), each (c, 2m). SNVs whose two letters are scorable take one pass: an alternate window's score is the
    reference window's plus the change at the SNV's column (the windows are the same). Other edits are grouped by
    each allele's row length (deleted or inserted bases), so that no row is padded."""
    n, columns = len(chunk), table.shape[2]
    out = [np.full((n, columns), -np.inf), np.full((n, columns), -1, dtype=np.int64),
           np.full((n, columns), -np.inf), np.full((n, columns), -1, dtype=np.int64)]
    plain = np.zeros(n, dtype=bool)
    snv = np.flatnonzero((chunk.n_del == 1) & (chunk.n_ins == 1) & (chunk.base >= chunk.lo) & (chunk.base < chunk.hi))
    if snv.size:
        ref_codes = _codes(chunk.pool[chunk.base[snv]][:, None], mask_lowercase)[:, 0]
        alt_codes = _codes(chunk.inserted[snv, :1], mask_lowercase)[:, 0]
        snv = snv[(ref_codes != 4) & (alt_codes != 4)]
        alt_codes = alt_codes[(ref_codes != 4) & (alt_codes != 4)]
        plain[snv] = True
    if snv.size:
        rows = reference_rows(chunk.subset(snv), width)
        for target, values in zip(out, _best(_codes(rows, mask_lowercase), None, table, width, alt_codes)):
            target[snv] = values
    for allele, lengths, into in (("ref", chunk.n_del, 0), ("alt", chunk.n_ins, 2)):
        for length in np.unique(lengths[~plain]).tolist():
            members = np.flatnonzero((lengths == length) & ~plain)
            sub = chunk.subset(members)
            rows = reference_rows(sub, width) if allele == "ref" else alternate_rows(sub, width)
            out[into][members], out[into + 1][members] = _best(
                _codes(rows, mask_lowercase), _allowed_windows(sub, width, rows), table, width)[:2]
    return out[0], out[1], out[2], out[3]


def _codes(letters: np.ndarray, mask_lowercase: bool) -> np.ndarray:
    """ASCII letters (n, L) -> letter codes (n, L) intp: 0-3 for A/C/G/T, 4 (the tables' invalid row) otherwise."""
    codes = encode(letters.tobytes().decode("ascii"), mask_lowercase).reshape(letters.shape)
    return np.where(codes == INVALID, 4, codes).astype(np.intp)


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


def _best(codes: np.ndarray, allowed: np.ndarray | None, table: np.ndarray, width: int,
          snv_alt: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Best window score and its offset per row and table column: codes (n, L) (:func:`_codes`) -> (score,
    offset), two (n, c) arrays; with ``snv_alt`` ((n,) letter codes of SNVs at row position w - 1, the rows being
    their reference rows), also the alternate allele's (score, offset).

    Window scores are built column by column from the lookup tables (one row gather and add per matrix column,
    window-major so that the best window is an elementwise maximum over the first axis); the offset of the best is
    found by comparing each window with it from the right, so ties go to the leftmost."""
    n, length = codes.shape
    n_windows = length - width + 1
    columns = table.shape[2]
    results = [(np.full((n, columns), -np.inf), np.full((n, columns), -1, dtype=np.int64))
               for _ in range(1 if snv_alt is None else 2)]
    if n_windows <= 0 or n == 0:
        return tuple(a for pair in results for a in pair)
    step = max(1, _WINDOW_CELLS // max(1, n_windows * columns))
    snv_column = (width - 1) - np.arange(n_windows)[:, None]  # the SNV's column in window `offset`
    for first in range(0, n, step):
        last = min(n, first + step)
        acc = np.empty((n_windows, last - first, columns))
        tmp = np.empty_like(acc)
        np.take(table[0], codes[first:last, 0:n_windows].T, axis=0, out=acc)
        for j in range(1, width):
            np.take(table[j], codes[first:last, j : j + n_windows].T, axis=0, out=tmp)
            acc += tmp
        if allowed is not None:
            acc[~allowed[first:last].T] = -np.inf
        _reduce(acc, *results[0], first, last)
        if snv_alt is not None:  # same windows, one letter changed: add the change at its column
            ref_letter = codes[first:last, width - 1][None, :]
            acc += table[snv_column, snv_alt[None, first:last]] - table[snv_column, ref_letter]
            _reduce(acc, *results[1], first, last)
    for best, where in results:
        where[~np.isfinite(best)] = -1
    return tuple(a for pair in results for a in pair)


def _reduce(scores: np.ndarray, best: np.ndarray, where: np.ndarray, first: int, last: int) -> None:
    """Rows ``first:last`` of ``best``/``where`` set to the maximum of ``scores`` (windows, rows, columns) over its
    windows and the leftmost window reaching it."""
    top = scores.max(axis=0)
    at = where[first:last]
    for offset in range(scores.shape[0] - 1, -1, -1):
        at[scores[offset] == top] = offset
    best[first:last] = top


def window_letters(rows: np.ndarray, offsets: np.ndarray, width: int) -> list[str]:
    """The window ``[offset, offset + width)`` of each row (rows (r, L) ASCII, offsets (r,)) as text."""
    if rows.shape[0] == 0:
        return []
    index = np.clip(offsets[:, None], 0, None) + np.arange(width)[None, :]
    picked = np.take_along_axis(rows, np.clip(index, 0, rows.shape[1] - 1), axis=1)
    text = picked.tobytes().decode("ascii")
    return [text[i * width : (i + 1) * width] for i in range(rows.shape[0])]
