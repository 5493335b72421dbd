"""The vectorized scanner: encoded sequences x many log-odds matrices -> windows scoring at or above a threshold.

Every matrix is scanned on both strands: the minus strand with its reverse complement, each a *strand matrix* of its
own. Each strand matrix goes down one of two vectorized paths, chosen when the scanner is built by how selective a
k-mer filter is for it; both end in the same exact float64 rescoring, so which path a matrix takes changes the speed,
never the result.

K-mer index (most matrices). For a strand matrix of width ``w`` take one block of ``k = min(8, w)`` consecutive
columns, at the offset that filters best. A window can reach the threshold only if the score of its k-mer in the block
plus the best possible score of the other columns does. The k-mers passing that test are enumerated once (a
branch-and-bound over the block's columns, vectorized over all matrices) into an inverted index: k-mer -> the (strand
matrix, block offset, exact block score) entries it passes. Scanning a chunk of sequence then costs one k-mer code per
position (computed by doubling: 2-mers, 4-mers, 8-mers) and one table lookup; each position expands into its entries
(``np.repeat``), which are the candidate windows, already holding the exact block score. At p <= 1e-4 a vertebrate
JASPAR matrix passes a median 0.03% of 8-mers, so over a thousand matrices the candidates number a few per position,
against 2 x 1019 scores per position for a dense product.

Dense BLAS product (matrices whose filter passes too many k-mers, typically wide low-information ones, or every
matrix at a lax threshold). The windows of a chunk are laid out once as position-major one-hot rows at the largest
width (column 0 the constant 1, column ``1 + 4j + letter``), and each width group multiplies the leading ``1 + 4w``
columns (a strided view, no copy) by its stacked float32 matrices, whose row 0 holds minus the threshold, so that a
window is a candidate when its score is >= 0. The comparison is cut by a block maximum: the maxima of blocks of
``_BLOCK`` consecutive windows are compared first, and only blocks that reach 0 are examined window by window.

Exact rescoring. Candidates add the exact float64 terms of their remaining columns, most informative first; after
each column, candidates whose partial score plus the best possible rest falls below the threshold are dropped. A
window is reported when its exact score is >= threshold - ``SCORE_EPSILON``. A letter other than A, C, G, T scores
-inf, so windows holding one (or crossing the separator between two concatenated sequences) are never reported.

Bounded memory and threads: sequences are processed in chunks of ``chunk_size`` window positions (never a per-base
one-hot of a whole sequence), a chunk whose candidates would exceed ``_MAX_CANDIDATES`` is split further, and chunks
run in a thread pool of ``jobs`` workers (numpy and BLAS release the GIL). Many short sequences are scanned in one pass
(:meth:`Scanner.scan_many`): their codes are joined with one invalid letter between them.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from motifscan.encoding import INVALID
from motifscan.motifs import reverse_complement_matrix

FLOAT32_TOLERANCE = 1e-3
"""Bits by which a float32 score may fall short of its float64 value: far above float32's accumulated rounding error
(about 1e-5 bits for 30 columns), so no true hit is lost before its exact rescoring."""

SCORE_EPSILON = 1e-9
"""A window whose exact score is within this many bits below the threshold counts as reaching it (float64 sums of
the same terms in another order differ by ~1e-14)."""

PRUNE_MARGIN = 1e-6
"""Bits of slack in every bound used to discard a window early (k-mer filter, partial scores): far above float64
rounding, so a bound never discards a window whose exact score reaches the threshold."""

INDEX_K = 8
"""Length of the k-mers of the index (4**8 = 65536 codes)."""

DEFAULT_INDEX_FRACTION = 0.1
"""A strand matrix whose k-mer filter passes more than this fraction of k-mers is scored by the dense product."""

_MAX_CANDIDATES = 1 << 20
"""Candidates expanded at once (about 40 bytes each while rescored)."""

_CHUNK_CANDIDATES = 1 << 16
"""Expected candidates per chunk of the k-mer index path: the chunk's arrays then stay in cache."""

_MIN_CHUNK = 1 << 10
"""Fewest window positions per chunk (the Python overhead of a chunk is tens of microseconds)."""

_BLOCK = 16
"""Windows per block of the block-maximum filter of the dense product."""

_DENSE_SCORES = 1 << 18
"""Float32 scores per dense product (1 MB: it stays in cache while its block maxima are taken)."""


@dataclass(frozen=True)
class Candidates:
    """Windows that reached their matrix's threshold.

    All arrays have shape (n,): ``motif_index`` (int64, into the scanner's matrix list), ``start`` (int64, 0-based
    first base of the window in its sequence), ``minus_strand`` (bool: scored with the reverse-complement matrix),
    ``score`` (float64, exact, bits), and from :meth:`Scanner.scan_many` ``target`` (int64, index of the sequence in
    the list; None from :meth:`Scanner.scan`).
    """

    motif_index: np.ndarray
    start: np.ndarray
    minus_strand: np.ndarray
    score: np.ndarray
    target: np.ndarray | None = None

    @staticmethod
    def concatenate(parts: list["Candidates"]) -> "Candidates":
        if not parts:
            return Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0))
        fields = [np.concatenate([getattr(p, f) for p in parts]) for f in
                  ("motif_index", "start", "minus_strand", "score")]
        target = None
        if all(p.target is not None for p in parts):
            target = np.concatenate([p.target for p in parts])
        return Candidates(*fields, target=target)

    def take(self, rows: np.ndarray | slice) -> "Candidates":
        """The candidates at ``rows`` (an index array, boolean mask or slice)."""
        return Candidates(self.motif_index[rows], self.start[rows], self.minus_strand[rows], self.score[rows],
                          None if self.target is None else self.target[rows])

    def by_target(self, n_targets: int) -> list["Candidates"]:
        """One :class:`Candidates` per target 0 .. n_targets - 1 (requires ``target``), without the ``target``
        array, in the order of this one within each target."""
        order = np.argsort(self.target, kind="stable")
        bounds = np.searchsorted(self.target[order], np.arange(n_targets + 1))
        out = []
        for i in range(n_targets):
            rows = order[bounds[i] : bounds[i + 1]]
            out.append(Candidates(self.motif_index[rows], self.start[rows], self.minus_strand[rows],
                                  self.score[rows]))
        return out


@dataclass(frozen=True)
class _KmerIndex:
    """Inverted k-mer index of the strand matrices filtered by k-mers of length ``k``.

    A k-mer's code is the base-4 number of its letters (first letter most significant), or ``4**k`` when one of its
    letters is not A, C, G, T. ``count[code]`` entries, from ``start[code]``, pass the filter: ``slot`` (int64, the
    strand matrix's first rescoring step, see :class:`Scanner`), ``offset`` (int64: the window starts ``offset``
    letters before the k-mer) and ``score`` (float64: the exact score of the k-mer in the block).
    """

    k: int
    count: np.ndarray
    start: np.ndarray
    slot: np.ndarray
    offset: np.ndarray
    score: np.ndarray

    @property
    def density(self) -> float:
        """Entries per position of a uniformly random sequence."""
        return len(self.slot) / 4.0 ** self.k


@dataclass(frozen=True)
class _DenseGroup:
    """Strand matrices of widths up to ``width`` scored by one dense product: ``weights`` (1 + 4 width, m) float32,
    row 0 minus the threshold (less the float32 tolerance), row ``1 + 4j + letter`` (0 past a matrix's width);
    ``strand`` (m,) their strand indices."""

    width: int
    strand: np.ndarray
    weights: np.ndarray


class Scanner:
    """Scores encoded sequences against a fixed list of log-odds matrices, each with its own score threshold.

    Parameters
    ----------
    log_odds : list of ndarray, each shape (4, w_i)
        Log-odds matrices (bits), rows A, C, G, T.
    score_thresholds : ndarray, shape (n_matrices,)
        A window is reported when its exact score is >= its matrix's threshold (``inf``: never).
    chunk_size : int
        At most this many window positions per chunk of work (the scanner picks smaller chunks where candidates are
        dense); memory per worker is a few tens of bytes per position of a chunk, plus at most ``_MAX_CANDIDATES``
        candidates.
    jobs : int or None
        Worker threads (None: all cores).
    index_fraction : float
        Strand matrices whose k-mer filter passes at most this fraction of k-mers go through the k-mer index, the
        others through the dense product (0: all dense; 1: all indexed). Changes speed, not results.

    Rescoring steps. Each strand matrix has a run of *slots*, one per rescoring step, in flat arrays: for an indexed
    one, one slot per 4-column block left outside its k-mer block (``_slot_*``: where the block starts in the window,
    its 4-mer score table in ``_block_terms``, the bound to pass, whether it is the last), or one slot with an all-zero
    table when the k-mer block covers the whole matrix; for a dense one, one slot per column (``_column_*``).
    """

    def __init__(self, log_odds: list[np.ndarray], score_thresholds: np.ndarray, chunk_size: int = 1 << 18,
                 jobs: int | None = None, index_fraction: float = DEFAULT_INDEX_FRACTION) -> None:
        self.widths = np.array([m.shape[1] for m in log_odds], dtype=np.int64)
        self.chunk_size = max(int(chunk_size), 1)
        self.jobs = _cpu_count() if jobs is None else max(int(jobs), 1)
        score_thresholds = np.asarray(score_thresholds, dtype=np.float64)
        n = len(log_odds)
        strands = [np.asarray(m, dtype=np.float64) for m in log_odds]
        strands += [reverse_complement_matrix(m) for m in strands]
        thresholds = np.concatenate([score_thresholds, score_thresholds])
        live = np.flatnonzero(thresholds < np.inf)  # an infinite threshold is never reached
        self._strand_motif = (live % max(n, 1)).astype(np.int64)
        self._strand_minus = live >= n
        self._matrices = [strands[i] for i in live]
        self._thresholds = thresholds[live]
        self._strand_width = np.array([m.shape[1] for m in self._matrices], dtype=np.int64)
        self._max_width = int(self._strand_width.max()) if len(live) else 1
        self._build(index_fraction)

    # ----------------------------------------------------------------------------------------------------- building

    def _build(self, index_fraction: float) -> None:
        n_strands = len(self._matrices)
        widths = self._strand_width
        kmer_len = np.minimum(widths, INDEX_K)
        block = np.zeros(n_strands, dtype=np.int64)  # offset of the k-mer block
        indexed = np.zeros(n_strands, dtype=bool)
        found = []  # (k, strands, entries)
        if index_fraction > 0:
            for k in np.unique(kmer_len):
                members = np.flatnonzero(kmer_len == k)
                offsets, estimate = _best_blocks([self._matrices[s] for s in members], self._thresholds[members],
                                                 int(k))
                block[members] = offsets
                # enumerate only where the filter promises to be worth it; keep those where it is
                hopeful = members[estimate <= 2 * index_fraction]
                entries = _enumerate_passing(self._matrices, self._thresholds, hopeful, block[hopeful], int(k))
                counts = np.bincount(entries[0], minlength=n_strands)[hopeful]
                chosen = hopeful[counts <= index_fraction * 4.0 ** k]
                indexed[chosen] = True
                found.append((int(k), chosen, entries))
        self._build_block_slots(np.flatnonzero(indexed), block, kmer_len)
        self._indexes = [_make_index(k, chosen, block, entries, self._first_slot) for k, chosen, entries in found]
        self._indexes = [index for index in self._indexes if len(index.slot)]
        self._max_offset = max((int(index.offset.max()) for index in self._indexes), default=0)
        dense = np.flatnonzero(~indexed)
        self._build_column_slots(dense)
        self._dense_groups = []
        for members in _width_groups(dense, widths[dense]):
            width = int(widths[members].max())
            weights = np.zeros((1 + 4 * width, len(members)), dtype=np.float64)
            weights[0] = -(self._thresholds[members] - FLOAT32_TOLERANCE)
            for i, s in enumerate(members):
                weights[1 : 1 + 4 * widths[s], i] = self._matrices[s].T.ravel()  # row 1 + 4j + letter
            self._dense_groups.append(_DenseGroup(width, members, weights.astype(np.float32)))
        self._dense_width = max((g.width for g in self._dense_groups), default=0)
        self.indexed_strands = int(indexed.sum())
        self.dense_strands = len(dense)

    def _build_block_slots(self, strands: np.ndarray, block: np.ndarray, kmer_len: np.ndarray) -> None:
        """Rescoring slots of the indexed strand matrices: the 4-column blocks outside the k-mer block, most
        informative first, each with the score of its 256 4-mers (index 256: a letter not A, C, G, T: -inf)."""
        self._first_slot = np.full(len(self._matrices), -1, dtype=np.int64)
        rel, table, bound, last, owner = [], [], [], [], []
        tables = [np.zeros(257)]  # table 0: the all-zero table of a matrix covered by its k-mer block
        letters = np.indices((4, 4, 4, 4)).reshape(4, 256)  # letters of each 4-mer
        for s in strands:
            matrix, threshold, width = self._matrices[s], self._thresholds[s], self._strand_width[s]
            self._first_slot[s] = len(rel)
            uncovered = np.ones(width, dtype=bool)
            uncovered[block[s] : block[s] + kmer_len[s]] = False
            if not uncovered.any():
                rel.append(0), table.append(0), bound.append(threshold - SCORE_EPSILON), last.append(True)
                owner.append(s)
                continue
            best, spread = matrix.max(axis=0), matrix.max(axis=0) - matrix.mean(axis=0)
            blocks = []  # (expected deficit, start, table, best score)
            while uncovered.any():
                first = min(int(np.argmax(uncovered)), width - 4)
                active = uncovered[first : first + 4].copy()
                uncovered[first : first + 4] = False
                columns = matrix[:, first : first + 4]
                scores = (columns[letters, np.arange(4)[:, None]] * active[:, None]).sum(axis=0)
                blocks.append((-spread[first : first + 4][active].sum(), first, np.append(scores, -np.inf),
                               best[first : first + 4][active].sum()))
            blocks.sort(key=lambda b: b[:2])
            rest = np.cumsum([b[3] for b in blocks][::-1])[::-1]  # best possible score of this block and after
            for i, (_, first, scores, _) in enumerate(blocks):
                rel.append(first), table.append(257 * len(tables)), owner.append(s)
                tables.append(scores)
                is_last = i == len(blocks) - 1
                bound.append(threshold - SCORE_EPSILON - (0.0 if is_last else PRUNE_MARGIN + rest[i + 1]))
                last.append(is_last)
        self._slot_rel = np.array(rel, dtype=np.int64)
        self._slot_table = np.array(table, dtype=np.int64)
        self._slot_bound = np.array(bound, dtype=np.float64)
        self._slot_last = np.array(last, dtype=bool)
        self._slot_strand = np.array(owner, dtype=np.int64)
        self._block_terms = np.concatenate(tables)

    def _build_column_slots(self, strands: np.ndarray) -> None:
        """Rescoring slots of the dense strand matrices: their columns, most informative first, with their exact
        terms (``_column_terms[_column_term[slot] + letter]``, letter 4: -inf)."""
        self._first_column = np.full(len(self._matrices), -1, dtype=np.int64)
        column, term, bound, last, owner, terms = [], [], [], [], [], []
        for s in strands:
            matrix, threshold, width = self._matrices[s], self._thresholds[s], self._strand_width[s]
            self._first_column[s] = len(column)
            best = matrix.max(axis=0)
            order = np.argsort(best - matrix.mean(axis=0), kind="stable")[::-1]
            rest = np.cumsum(best[order][::-1])[::-1]
            for i, j in enumerate(order):
                column.append(j), owner.append(s), term.append(5 * len(terms))
                terms.append(np.append(matrix[:, j], -np.inf))
                is_last = i == width - 1
                bound.append(threshold - SCORE_EPSILON - (0.0 if is_last else PRUNE_MARGIN + rest[i + 1]))
                last.append(is_last)
        self._column_column = np.array(column, dtype=np.int64)
        self._column_term = np.array(term, dtype=np.int64)
        self._column_bound = np.array(bound, dtype=np.float64)
        self._column_last = np.array(last, dtype=bool)
        self._column_strand = np.array(owner, dtype=np.int64)
        self._column_terms = np.concatenate(terms) if terms else np.zeros(0)

    # ----------------------------------------------------------------------------------------------------- scanning

    def scan(self, codes: np.ndarray) -> Candidates:
        """Every window of ``codes`` (shape (L,), uint8 from :func:`motifscan.encoding.encode`) whose exact score on
        either strand reaches its matrix's threshold."""
        found = self.scan_many([codes])
        return Candidates(found.motif_index, found.start, found.minus_strand, found.score)

    def scan_many(self, codes_list: list[np.ndarray]) -> Candidates:
        """:meth:`scan` of several sequences in one pass; ``target`` says which sequence each candidate is in."""
        codes, starts = _join(codes_list)
        strand, window, score = self._scan_joined(codes)
        target = np.searchsorted(starts, window, side="right") - 1
        return Candidates(np.take(self._strand_motif, strand), window - np.take(starts, target),
                          np.take(self._strand_minus, strand), score, target.astype(np.int64))

    def _scan_joined(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(strand, window start, exact score) of every hit in one code array."""
        length = len(codes)
        tasks = []
        if self._indexes:
            density = sum(index.density for index in self._indexes)
            size = int(min(self.chunk_size, max(_MIN_CHUNK, _CHUNK_CANDIDATES / max(density, 1e-9))))
            tasks += [(self._index_chunk, first, min(first + size, length)) for first in range(0, length, size)]
        if self._dense_groups:
            rows = sum(len(group.strand) for group in self._dense_groups)
            size = int(min(self.chunk_size, max(_MIN_CHUNK, 8 * _DENSE_SCORES // rows)))
            tasks += [(self._dense_chunk, first, min(first + size, length)) for first in range(0, length, size)]
        with _blas_threads(1 if self._dense_groups else None):
            if self.jobs > 1 and len(tasks) > 1:
                with ThreadPoolExecutor(self.jobs) as pool:
                    parts = list(pool.map(lambda task: task[0](codes, task[1], task[2]), tasks))
            else:
                parts = [task[0](codes, task[1], task[2]) for task in tasks]
        parts = [p for part in parts for p in part]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

    def _index_chunk(self, codes: np.ndarray, first: int, last: int) -> list:
        """Hits of the indexed strand matrices whose index k-mer starts at a position in [first, last)."""
        origin = max(first - self._max_offset, 0)  # positions below are relative to it
        quads = _kmer_codes(codes, origin, last + self._max_width - origin, 4)  # 4-mers of the rescoring blocks
        near_edge = first < self._max_offset or last + self._max_width > len(codes)
        out = []
        for index in self._indexes:
            if index.k == 4:
                keys = quads[first - origin : last - origin]
            elif index.k == 8:
                high, low = quads[first - origin : last - origin], quads[first - origin + 4 : last - origin + 4]
                keys = np.where((high == 256) | (low == 256), 1 << 16, high * 256 + low)
            else:
                keys = _kmer_codes(codes, first, last - first, index.k)
            counts = np.take(index.count, keys)
            positions = np.flatnonzero(counts)
            if not len(positions):
                continue
            counts = np.take(counts, positions)
            entry_first = np.take(index.start, np.take(keys, positions))
            positions += first - origin
            total = np.cumsum(counts)
            cut = 0
            while cut < len(positions):
                # positions [cut, stop) expand into at most _MAX_CANDIDATES entries (at least one position)
                base = int(total[cut - 1]) if cut else 0
                stop = max(int(np.searchsorted(total, base + _MAX_CANDIDATES, side="right")), cut + 1)
                n = counts[cut:stop]
                size = int(total[stop - 1]) - base
                entry = np.arange(size) + np.repeat(entry_first[cut:stop] - (total[cut:stop] - n - base), n)
                rel = np.repeat(positions[cut:stop], n) - np.take(index.offset, entry)
                slot = np.take(index.slot, entry)
                score = np.take(index.score, entry)
                if near_edge:
                    width = np.take(self._strand_width, np.take(self._slot_strand, slot))
                    inside = (rel + origin >= 0) & (rel + origin + width <= len(codes))
                    rel, slot, score = np.compress(inside, rel), np.compress(inside, slot), np.compress(inside, score)
                slot, rel, score = _rescore(quads, rel, slot, score, self._slot_rel, self._slot_table,
                                            self._block_terms, self._slot_bound, self._slot_last)
                out.append((np.take(self._slot_strand, slot), rel + origin, score))
                cut = stop
        return out

    def _dense_chunk(self, codes: np.ndarray, first: int, last: int) -> list:
        """Hits of the dense strand matrices among the windows starting in [first, last)."""
        width = self._dense_width
        rows = max(_BLOCK, (_DENSE_SCORES // sum(len(g.strand) for g in self._dense_groups)) // _BLOCK * _BLOCK)
        out = []
        for a in range(first, last, rows):
            n = min(rows, last - a)
            n_padded = -(-n // _BLOCK) * _BLOCK
            segment = codes[a : a + n_padded + width - 1]
            if len(segment) < n_padded + width - 1:
                segment = np.concatenate([segment, np.full(n_padded + width - 1 - len(segment), INVALID, np.uint8)])
            one_hot = np.take(_ONE_HOT, segment, axis=0)  # (n_padded + width - 1, 4) float32, contiguous
            windows = np.empty((n_padded, 1 + 4 * width), dtype=np.float32)
            windows[:, 0] = 1.0
            windows[:, 1:] = as_strided(one_hot, shape=(n_padded, 4 * width), strides=(16, 4), writeable=False)
            for group in self._dense_groups:
                scores = windows[:, : 1 + 4 * group.width] @ group.weights  # (n_padded, m) float32; >= 0: candidate
                blocks = scores.reshape(n_padded // _BLOCK, _BLOCK, len(group.strand))
                block_rows, columns = np.nonzero(blocks.max(axis=1) >= 0)
                if not len(block_rows):
                    continue
                hit_block, offset = np.nonzero(blocks[block_rows, :, columns] >= 0)
                window = a + np.take(block_rows, hit_block) * _BLOCK + offset
                strand = np.take(group.strand, np.take(columns, hit_block))
                inside = (window < a + n) & (window + np.take(self._strand_width, strand) <= len(codes))
                window, strand = np.compress(inside, window), np.compress(inside, strand)
                slot, window, score = _rescore(codes, window, np.take(self._first_column, strand),
                                               np.zeros(len(window)), self._column_column, self._column_term,
                                               self._column_terms, self._column_bound, self._column_last)
                out.append((np.take(self._column_strand, slot), window, score))
        return out

    # ------------------------------------------------------------------------------------------------ window counts

    def scored_windows(self, codes: np.ndarray) -> np.ndarray:
        """Per matrix, the number of windows of ``codes`` (shape (L,)) that hold only A, C, G, T: the windows scored
        on each strand; shape (n_matrices,), int64."""
        return self.scored_windows_many([codes])[0]

    def scored_windows_many(self, codes_list: list[np.ndarray]) -> np.ndarray:
        """:meth:`scored_windows` of each sequence; shape (n_sequences, n_matrices), int64."""
        run_target, run_length = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for i, codes in enumerate(codes_list):
            lengths = _valid_runs(codes)
            run_target.append(np.full(len(lengths), i, dtype=np.int64))
            run_length.append(lengths)
        run_target, run_length = np.concatenate(run_target), np.concatenate(run_length)
        counts = np.zeros((len(codes_list), len(self.widths)), dtype=np.int64)
        for width in np.unique(self.widths):
            per_run = np.maximum(run_length - width + 1, 0)
            column = np.bincount(run_target, weights=per_run, minlength=len(codes_list))
            counts[:, self.widths == width] = np.rint(column).astype(np.int64)[:, None]
        return counts


# ---------------------------------------------------------------------------------------------------------- helpers

_ONE_HOT = np.eye(INVALID + 1, 4, dtype=np.float32)  # code 4 (non-ACGT) -> all-zero row


def _rescore(codes: np.ndarray, rel: np.ndarray, slot: np.ndarray, score: np.ndarray, slot_rel: np.ndarray,
             slot_table: np.ndarray, terms: np.ndarray, slot_bound: np.ndarray,
             slot_last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates (window start ``rel`` in ``codes``, current rescoring ``slot``, partial ``score``) add the exact
    term of each of their remaining slots, ``terms[slot_table[slot] + codes[rel + slot_rel[slot]]]``, and are dropped
    as soon as their score falls below the slot's bound; (last slot, window start, exact score) of those that pass
    their last slot's bound, the threshold."""
    out_slot, out_rel, out_score = [], [], []
    while len(slot):
        letters = np.take(codes, rel + np.take(slot_rel, slot))
        score = score + np.take(terms, np.take(slot_table, slot) + letters)
        alive = score >= np.take(slot_bound, slot)
        done = np.take(slot_last, slot)
        hit = alive & done
        if hit.any():
            out_slot.append(np.compress(hit, slot))
            out_rel.append(np.compress(hit, rel))
            out_score.append(np.compress(hit, score))
        going = alive & ~done
        slot, rel, score = np.compress(going, slot) + 1, np.compress(going, rel), np.compress(going, score)
    if not out_slot:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_slot), np.concatenate(out_rel), np.concatenate(out_score)


def _cpu_count() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _blas_threads(limit: int | None):
    """A context in which BLAS uses at most ``limit`` threads (None: unchanged), through threadpoolctl when it is
    installed. The products here are small (a few MB) and run in the scanner's own threads: OpenBLAS's threads would
    only add their wake-up latency (measured: 10-15 ms per product on a 2-core VM, against 0.3 ms single-threaded)."""
    if limit is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def _join(codes_list: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One code array holding every sequence, one INVALID between two, and the start of each sequence in it."""
    lengths = np.array([len(c) for c in codes_list], dtype=np.int64)
    starts = np.zeros(len(codes_list), dtype=np.int64)
    if len(codes_list) == 1:
        return np.ascontiguousarray(codes_list[0], dtype=np.uint8), starts
    if len(codes_list) > 1:
        starts[1:] = np.cumsum(lengths + 1)[:-1]
    joined = np.full(int(lengths.sum()) + max(len(codes_list) - 1, 0), INVALID, dtype=np.uint8)
    for start, codes in zip(starts, codes_list):
        joined[start : start + len(codes)] = codes
    return joined, starts


def _kmer_codes(codes: np.ndarray, first: int, n: int, k: int) -> np.ndarray:
    """Codes (see :class:`_KmerIndex`) of the k-mers starting at first .. first + n - 1; a k-mer running past the end
    of ``codes`` is invalid. Shape (n,), int64. Built by doubling: 2-mers from letters, 4-mers from 2-mers, ..."""
    segment = codes[first : first + n + k - 1]
    if len(segment) < n + k - 1:
        segment = np.concatenate([segment, np.full(n + k - 1 - len(segment), INVALID, np.uint8)])
    levels = {1: ((segment & 3).astype(np.int64), segment >> 2)}  # length -> (base-4 value, any invalid)
    length = 1
    while 2 * length <= k:
        value, bad = levels[length]
        levels[2 * length] = (value[:-length] * (4 ** length) + value[length:], bad[:-length] | bad[length:])
        length *= 2
    value, bad, done = None, None, 0
    for part in sorted(levels, reverse=True):
        if done + part > k:
            continue
        v, b = levels[part][0][done : done + n], levels[part][1][done : done + n]
        value = v if value is None else value * (4 ** part) + v
        bad = b if bad is None else bad | b
        done += part
    return np.where(bad, 4 ** k, value)


def _width_groups(strands: np.ndarray, widths: np.ndarray) -> list[np.ndarray]:
    """Strands split into groups for one product each, padded to the widest of the group: widest first, a group
    takes narrower strands down to 3/4 of its width (a product per width would be too small to be efficient)."""
    order = np.argsort(-widths, kind="stable")
    groups: list[np.ndarray] = []
    first = 0
    while first < len(order):
        last = first
        while last < len(order) and 4 * widths[order[last]] >= 3 * widths[order[first]]:
            last += 1
        groups.append(strands[order[first:last]])
        first = last
    return groups


def _best_blocks(matrices: list[np.ndarray], thresholds: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per matrix, the offset of the k-column block whose filter should pass the fewest k-mers, and a normal estimate
    of the fraction it passes (shape (n,) each).

    A k-mer passes when the deficit of its block (best block score less its score) is at most the matrix's best
    score less the threshold; over uniform letters the block deficit has the sum of its columns' deficit means and
    variances."""
    if not matrices:
        return np.zeros(0, np.int64), np.zeros(0)
    widths = np.array([m.shape[1] for m in matrices])
    padded = np.zeros((len(matrices), 4, widths.max()))
    for i, m in enumerate(matrices):
        padded[i, :, : m.shape[1]] = m
    best = padded.max(axis=1)
    deficit = best[:, None, :] - padded
    slack = best.sum(axis=1) - thresholds
    csum_mean = np.concatenate([np.zeros((len(matrices), 1)), np.cumsum(deficit.mean(axis=1), axis=1)], axis=1)
    csum_var = np.concatenate([np.zeros((len(matrices), 1)), np.cumsum(deficit.var(axis=1), axis=1)], axis=1)
    mean = csum_mean[:, k:] - csum_mean[:, :-k]  # (n, w_max - k + 1): block at each offset
    var = csum_var[:, k:] - csum_var[:, :-k]
    z = (slack[:, None] - mean) / np.sqrt(var + 1e-12)
    z[np.arange(z.shape[1])[None, :] > (widths - k)[:, None]] = np.inf  # blocks running past the matrix
    offset = np.argmin(z, axis=1)
    estimate = 0.5 * (1 + _erf(z[np.arange(len(matrices)), offset] / np.sqrt(2)))
    return offset.astype(np.int64), np.where(slack < 0, 0.0, estimate)


def _erf(x: np.ndarray) -> np.ndarray:
    from math import erf
    return np.array([erf(v) for v in np.asarray(x, dtype=float)])


def _enumerate_passing(matrices: list[np.ndarray], thresholds: np.ndarray, strands: np.ndarray, offsets: np.ndarray,
                       k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strand, k-mer code, exact block score) of every k-mer that passes the block filter of each strand matrix in
    ``strands`` (block at ``offsets``): a branch-and-bound over the block's columns, one letter per level, vectorized
    over all strands and prefixes."""
    if not len(strands):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    block_terms = np.stack([matrices[s][:, o : o + k] for s, o in zip(strands, offsets)])  # (n, 4, k)
    best_block = block_terms.max(axis=1)  # (n, k)
    allowed = np.array([matrices[s].max(axis=0).sum() - thresholds[s] for s in strands]) + PRUNE_MARGIN
    owner = np.arange(len(strands))
    code = np.zeros(len(strands), dtype=np.int64)
    score = np.zeros(len(strands))
    deficit = np.zeros(len(strands))
    for j in range(k):
        owner = np.repeat(owner, 4)
        letter = np.tile(np.arange(4), len(code))
        code = np.repeat(code, 4) * 4 + letter
        term = block_terms[owner, letter, j]
        score = np.repeat(score, 4) + term
        deficit = np.repeat(deficit, 4) + (best_block[owner, j] - term)
        keep = np.flatnonzero(deficit <= allowed[owner])
        owner, code, score, deficit = owner[keep], code[keep], score[keep], deficit[keep]
    return strands[owner], code, score


def _make_index(k: int, chosen: np.ndarray, block: np.ndarray, entries: tuple, first_slot: np.ndarray) -> _KmerIndex:
    strand, code, score = entries
    mine = np.zeros(len(block), dtype=bool)
    mine[chosen] = True
    keep = np.flatnonzero(mine[strand])
    order = keep[np.argsort(code[keep], kind="stable")]
    strand, code, score = strand[order], code[order], score[order]
    count = np.bincount(code, minlength=4 ** k + 1).astype(np.int64)  # code 4**k (invalid): no entry
    start = np.zeros(4 ** k + 1, dtype=np.int64)
    start[1:] = np.cumsum(count)[:-1]
    return _KmerIndex(k, count, start, first_slot[strand], block[strand].astype(np.int64), score)


def _valid_runs(codes: np.ndarray) -> np.ndarray:
    """Lengths of the maximal runs of A, C, G, T letters of ``codes`` (empty runs included); int64."""
    step = 1 << 22
    invalid = [np.flatnonzero(codes[i : i + step] == INVALID) + i for i in range(0, len(codes), step)]
    edges = np.concatenate([[-1], *invalid, [len(codes)]]).astype(np.int64)
    return edges[1:] - edges[:-1] - 1


def score_windows(log_odds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact float64 scores of every window of ``codes`` (shape (L,)) under ``log_odds`` (shape (4, w)); windows
    with a non-ACGT letter get NaN; shape (L - w + 1,). Used to rescore and to check; the scanner does not call it."""
    width = log_odds.shape[1]
    if len(codes) < width:
        return np.zeros(0)
    windows = sliding_window_view(codes, width)
    padded = np.vstack([log_odds, np.full((1, width), np.nan)])
    return padded[windows, np.arange(width)].sum(axis=1)
