"""The vectorized scanner: encoded sequences x many log-odds matrices -> windows scoring at or above a threshold.

Every matrix is scanned on both strands, the minus strand with its reverse complement: each is a *strand matrix* of
its own. A strand matrix goes down one of two vectorized paths, chosen when the scanner is built by a cost model;
both end in an exact float64 rescoring, so the path changes the speed, never the result.

K-mer index (most matrices at p <= 1e-4). A strand matrix gets a block of k = 8 consecutive columns, at the offset
that should filter best (a matrix of width 4 to 7: its whole width, then don't-care columns that score 0, so that its
filter is its exact score, with a fallback by its first 4 columns for windows followed by a letter not A, C, G, T or
by the end; narrower than 4: k is its width). A window can reach the threshold only if the score of its k-mer in the
block plus the best possible score of the other columns does. The k-mers that
pass are enumerated once (meet in the middle: the block's two halves of 4**(k/2) words each, joined by a sorted
search, vectorized over all matrices) into an inverted index: k-mer -> (strand matrix, exact block score) entries.
Scanning a chunk then costs a k-mer code per position (letters read as base-5 digits: uint8 2-letter numbers, then
4-letter ones, one lookup to 4-mer codes, and 8-mers as two 4-mers) and one lookup in the index; each position
expands (``np.repeat``) into its entries, the candidate windows, which hold the exact score of their block. At
p <= 1e-4 a JASPAR vertebrate matrix passes a median 0.03% of the 8-mers: over its 1019 matrices the index yields
about 8 candidates per position, against 2 x 1019 scores per position for a dense product. A candidate then adds the
exact scores of the 4-column blocks outside its k-mer block, read from a table of the 256 4-mers per block, most
informative block first, and is dropped as soon as its score plus the best the remaining blocks can give falls below
the threshold (94% fall at the first block).

Dense product (matrices whose filter passes too many k-mers: wide low-information ones, or all of them at a lax
threshold). The windows of a chunk are laid out once as one-hot rows at the largest width, position-major with 3
features per column (C, G, T against A): column 0 the constant 1, column ``1 + 3j + letter - 1``. Each group of
similar widths multiplies the leading columns (a strided view, no copy) by its stacked float32 matrices, whose row 0
holds the all-A score less the threshold (less ``FLOAT32_TOLERANCE``), so that a window is a candidate when its
product is >= 0: one comparison and ``np.flatnonzero``, no per-matrix threshold to broadcast. Candidates are rescored
exactly in float64 from their letters.

A window is reported when its exact score is >= threshold - ``SCORE_EPSILON``. A letter other than A, C, G, T scores
-inf in every exact table, so windows holding one (or crossing the separator between two joined sequences) are never
reported.

Bounded memory and threads: sequences are processed in chunks of window positions (never a per-base one-hot or k-mer
array of a whole sequence), sized so that a chunk's arrays stay in cache; a chunk whose candidates would exceed
``_MAX_CANDIDATES`` expands them in parts. Chunks run in a thread pool of ``jobs`` workers (numpy releases the GIL in
its loops), BLAS single-threaded inside them (OpenBLAS's own threads cost 10-15 ms of wake-up per small product on a
2-core VM). Many short sequences are scanned in one pass (:meth:`Scanner.scan_many`): their codes are joined with one
invalid letter between two.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from motifscan.encoding import INVALID, JoinedCodes
from motifscan.motifs import reverse_complement_matrix
from motifscan.sorting import sort_with_rows

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
"""Length of the k-mers of the index (4**8 = 65536 codes) for matrices at least that wide; narrower ones are indexed
by 4-mers (or all their columns when narrower than 4)."""

# Cost model (ns per window position, one core, measured on the development machine) that picks a strand matrix's
# path: the index costs about _INDEX_COST per candidate, the dense product _DENSE_COST_PER_FEATURE per weight (1 + 3w
# of them) plus _DENSE_COST_BASE (comparison, one-hot rows).
_INDEX_COST = 45.0
_DENSE_COST_PER_FEATURE = 0.05
_DENSE_COST_BASE = 0.3

_MAX_CANDIDATES = 1 << 18
"""Candidates of the index expanded at once (about 40 bytes each while they are rescored)."""

_CHUNK_CANDIDATES = 1 << 17
"""Expected index candidates per chunk (single-threaded cost flat from 2**15 to 2**18; larger chunks mean fewer numpy
calls, so fewer handoffs of the GIL between workers)."""

_MIN_CHUNK = 1 << 10
"""Fewest window positions per chunk (a chunk costs tens of microseconds of Python)."""

_MAX_CHUNK = 1 << 18
"""Most window positions per chunk of the index."""

_SUB_CHUNK = 1 << 16
"""Window positions per step of the per-position work (k-mer codes, index lookups) within a chunk, in arrays that each
worker reuses (see :class:`_Workspace`)."""

_DENSE_SCORES = 1 << 19
"""Float32 scores per dense product (2 MB)."""

_RESCORE_BATCH = 1 << 14
"""Dense candidates rescored at once (their letters take 8 bytes per column)."""


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

    def by_target(self, n_targets: int) -> list[Candidates]:
        """One :class:`Candidates` per target 0 .. n_targets - 1 (requires ``target``), without ``target``, in this
        one's order within each target."""
        if self.target is None:
            raise ValueError("Candidates.by_target: these candidates have no target column")
        order = np.argsort(self.target, kind="stable")
        fields = [np.take(getattr(self, f), order) for f in ("motif_index", "start", "minus_strand", "score")]
        bounds = np.searchsorted(np.take(self.target, order), np.arange(n_targets + 1))
        return [Candidates(*(f[bounds[i] : bounds[i + 1]] for f in fields)) for i in range(n_targets)]


@dataclass(frozen=True)
class _KmerIndex:
    """Inverted index of the strand matrices filtered by k-mers of length ``k`` (8, or 1 to 3 for matrices that
    narrow).

    A word of j <= 4 letters has the code of its letters in base 4 (first letter most significant), or ``4**j`` when
    one of them is not A, C, G, T. The index's key of a k-mer is its code for k < 4, and for k = 8 the code of its
    first 4 letters times 257 plus the code of the other 4. A matrix of width 4 to 7 is indexed at once by 8-mers
    (its whole width, then don't-care letters) and, at the keys whose second 4-mer is invalid (code 256), by its first
    4 columns. ``nonempty[key]``: the key has entries;
    ``count[key]`` entries from ``start[key]`` pass the filter: ``slot`` (int64, the strand matrix's first rescoring
    slot) and ``score`` (float64, the exact score of the k-mer in the block).
    """

    k: int
    nonempty: np.ndarray
    count: np.ndarray
    start: np.ndarray
    slot: np.ndarray
    score: np.ndarray

    @property
    def density(self) -> float:
        """Expected entries per position of a uniformly random sequence."""
        return len(self.slot) / 4.0 ** self.k


@dataclass(frozen=True)
class _DenseGroup:
    """Strand matrices of widths up to ``width`` scored by one dense product: ``weights`` (1 + 3 width, m) float32
    (row 0: all-A score less threshold less tolerance; row ``1 + 3j + letter - 1``: that letter's score less A's, 0
    past a matrix's width); ``strand`` (m,) their strand indices."""

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
        At most this many window positions per chunk of work (the scanner takes smaller chunks where candidates are
        dense). Memory: a few MB per worker, whatever the length of the sequences.
    jobs : int or None
        Worker threads (None: all cores).
    index_fraction : float or None
        None: each strand matrix takes the path the cost model says is cheaper. A number: the k-mer index for strand
        matrices whose filter passes at most this fraction of k-mers, the dense product for the others (0: all dense,
        1: all indexed). Changes the speed, never the result.
    """

    def __init__(self, log_odds: list[np.ndarray], score_thresholds: np.ndarray, chunk_size: int = 1 << 18,
                 jobs: int | None = None, index_fraction: float | None = None) -> None:
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
        self._thresholds = thresholds[live]
        self._strand_width = self.widths[live % max(n, 1)] if n else np.zeros(0, np.int64)
        self._max_width = int(self._strand_width.max()) if len(live) else 1
        # every strand matrix, padded with zero columns: (n_strands, 4, max width + 4)
        padded = np.zeros((len(live), 4, self._max_width + 4))
        for row, s in enumerate(live):
            padded[row, :, : strands[s].shape[1]] = strands[s]
        # a threshold below the lowest score (-inf included) passes every window: make it finite, so that the -inf of
        # a letter not A, C, G, T still fails it
        self._thresholds = np.maximum(self._thresholds, padded.min(axis=1).sum(axis=1) - 1.0)
        self._build(padded, index_fraction)
        self._workspace = _Workspace()

    # ----------------------------------------------------------------------------------------------------- building

    def _build(self, padded: np.ndarray, index_fraction: float | None) -> None:
        n_strands = len(padded)
        widths = self._strand_width
        best = padded.max(axis=1)  # (n, W + 4), 0 past the width
        spread = best - padded.mean(axis=1)  # how far an average letter falls below the best: information
        allowed = best.sum(axis=1) - self._thresholds + PRUNE_MARGIN  # the total deficit a hit can have
        # k-mers of 8 letters; a matrix of width 4 to 7 takes its whole width and don't-care letters after it (its
        # columns past the width are 0 in ``padded``): the filter is then its exact score. Narrower: its width.
        kmer_len = np.where(widths >= 4, INDEX_K, widths)
        offset = np.zeros(n_strands, dtype=np.int64)  # of the k-mer block
        indexed = np.zeros(n_strands, dtype=bool)
        found = []  # (k, strand, code, block score, tail): k-mers that pass; tail: of a 4-mer, for the fallback
        if index_fraction is None or index_fraction > 0:
            for k in np.unique(kmer_len):
                members = np.flatnonzero(kmer_len == k)
                offset[members] = _best_blocks(padded[members], widths[members], allowed[members], int(k))
                halves = _block_halves(padded, members, offset[members], int(k))
                counts = _passing_counts(halves, allowed[members])  # (m, 4**(k // 2))
                fraction = counts.sum(axis=1) / 4.0 ** k
                if index_fraction is None:
                    dense_cost = _DENSE_COST_PER_FEATURE * (1 + 3 * widths[members]) + _DENSE_COST_BASE
                    keep = fraction * _INDEX_COST <= dense_cost
                else:
                    keep = fraction <= index_fraction
                indexed[members[keep]] = True
                found.append((int(k), *_passing_kmers(halves, counts, keep, members), False))
                narrow = members[keep & (widths[members] < INDEX_K)]
                if k == INDEX_K and len(narrow):
                    # the fallback of the narrow ones, for windows whose don't-care letters hold one not A, C, G, T
                    # (an N after the window, the end of the sequence): their first 4 columns, then rescoring
                    halves = _block_halves(padded, narrow, np.zeros(len(narrow), np.int64), 4)
                    counts = _passing_counts(halves, allowed[narrow])
                    found.append((4, *_passing_kmers(halves, counts, np.ones(len(narrow), bool), narrow), True))
        self._strand_offset = offset
        # rescoring chains: one per indexed strand matrix, and one per narrow one's fallback (blocks after column 4)
        chain_strand = np.concatenate([np.flatnonzero(indexed), np.flatnonzero(indexed & (widths < INDEX_K)
                                                                                & (kmer_len == INDEX_K))])
        n_main = int(indexed.sum())
        chain_left = offset[chain_strand]
        chain_right = chain_left + np.where(np.arange(len(chain_strand)) < n_main, kmer_len[chain_strand], 4)
        first = self._build_block_slots(padded, best, spread, chain_strand, chain_left, chain_right)
        main_slot = np.full(n_strands, -1, dtype=np.int64)
        main_slot[chain_strand[:n_main]] = first[:n_main]
        tail_slot = np.full(n_strands, -1, dtype=np.int64)
        tail_slot[chain_strand[n_main:]] = first[n_main:]
        by_k: dict[int, list[tuple]] = {}
        for k, strand, code, score, tail in found:
            if tail:  # key: the 4-mer x 257 + 256 (the k-mer's second 4-mer holds a letter not A, C, G, T)
                entry = (INDEX_K, np.take(tail_slot, strand), code * 257 + 256, score)
            elif k == INDEX_K:  # key: first 4-mer x 257 + second 4-mer
                entry = (k, np.take(main_slot, strand), (code >> 8) * 257 + (code & 255), score)
            else:
                entry = (k, np.take(main_slot, strand), code, score)
            by_k.setdefault(entry[0], []).append(entry[1:])
        self._indexes = [_make_index(k, parts) for k, parts in sorted(by_k.items())]
        self._indexes = [index for index in self._indexes if len(index.slot)]
        self._max_offset = int(offset[indexed].max()) if indexed.any() else 0
        self._build_dense(padded, np.flatnonzero(~indexed))
        self.indexed_strands = int(indexed.sum())
        self.dense_strands = int((~indexed).sum())

    def _build_block_slots(self, padded: np.ndarray, best: np.ndarray, spread: np.ndarray, strands: np.ndarray,
                           left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Rescoring chains, one per row of ``strands`` (strand matrices; a matrix may have several chains) whose
        filter block covers its columns [left, right) (right may pass its width: don't-care columns), each a slot per
        4-column block outside that block, most informative block first, in flat arrays: ``_slot_shift`` (where the
        block starts, from the k-mer's start), ``_block_terms[257 * slot + code]`` (the exact score of each 4-mer
        code; code 256, a letter not A, C, G, T: -inf), ``_slot_bound`` (the score a window must have after the
        block: the threshold less what the blocks after it can add at best), ``_slot_last``, ``_slot_strand``. A
        chain whose filter block covers its matrix gets one slot whose table is all 0. Returns each chain's first
        slot, shape (len(strands),).

        The blocks cover the columns left of the k-mer block from column 0 by fours, and those right of it likewise,
        the last one shifted left to end at the matrix's last column; a block's columns already covered score 0."""
        widths = self._strand_width[strands]
        n_left = -(-left // 4)
        n_right = np.maximum(-(-(widths - right) // 4), 0)
        n_blocks = np.maximum(n_left + n_right, 1)
        owner = np.repeat(np.arange(len(strands)), n_blocks)
        i = np.arange(len(owner)) - np.repeat(np.cumsum(n_blocks) - n_blocks, n_blocks)  # block number in its matrix
        is_left = i < n_left[owner]
        low = np.where(is_left, 4 * i, right[owner] + 4 * (i - n_left[owner]))  # first column the block covers
        high = np.minimum(low + 4, np.where(is_left, left[owner], widths[owner]))
        start = np.maximum(np.minimum(low, widths[owner] - 4), 0)
        null = (n_left + n_right == 0)[owner]
        columns = start[:, None] + np.arange(4)
        active = (columns >= low[:, None]) & (columns < high[:, None]) & ~null[:, None]  # (B, 4)
        s = strands[owner]
        terms = padded[s[:, None], :, columns] * active[:, :, None]  # (B, 4 columns, 4 letters)
        letters = np.indices((4, 4, 4, 4)).reshape(4, 256)
        tables = np.full((len(owner), 257), -np.inf)
        tables[:, :256] = sum(terms[:, a, letters[a]] for a in range(4))
        tables[null, 256] = 0.0
        block_best = (best[s[:, None], columns] * active).sum(axis=1)
        block_spread = (spread[s[:, None], columns] * active).sum(axis=1)
        order = np.lexsort((start, -block_spread, owner))  # per matrix, most informative first
        s, start, tables, block_best = s[order], start[order], tables[order], block_best[order]
        first = np.cumsum(n_blocks) - n_blocks
        last = np.zeros(len(owner), dtype=bool)
        last[first + n_blocks - 1] = True
        after = np.cumsum(block_best[::-1])[::-1] - block_best  # best score of the blocks after, in its matrix
        after -= np.repeat(after[first + n_blocks - 1], n_blocks)
        threshold = self._thresholds[s]
        self._slot_shift = np.where(null, 0, start - left[owner]).astype(np.int64)  # owner is sorted: order keeps it
        self._slot_bound = np.where(last, threshold - SCORE_EPSILON, threshold - SCORE_EPSILON - PRUNE_MARGIN - after)
        self._slot_last = last
        self._slot_strand = s.astype(np.int64)
        self._block_terms = tables.ravel()
        return first

    def _build_dense(self, padded: np.ndarray, strands: np.ndarray) -> None:
        """Products of the dense strand matrices, and their exact terms for the rescoring: ``_dense_terms[(row * W +
        j) * 5 + letter]`` (row ``_dense_row[strand]``, W the widest; letter 4: -inf; 0 past a matrix's width)."""
        widths = self._strand_width[strands]
        self._dense_groups = []
        for members in _width_groups(strands, widths):
            width = int(self._strand_width[members].max())
            terms = padded[members, :, :width]  # (m, 4, width)
            weights = np.empty((1 + 3 * width, len(members)), dtype=np.float32)
            weights[0] = terms[:, 0, :].sum(axis=1) - (self._thresholds[members] - FLOAT32_TOLERANCE)
            weights[1:] = (terms[:, 1:, :] - terms[:, :1, :]).transpose(0, 2, 1).reshape(len(members), -1).T
            self._dense_groups.append(_DenseGroup(width, members, weights))
        self._dense_width = int(widths.max()) if len(strands) else 0
        self._dense_row = np.full(len(self._thresholds), -1, dtype=np.int64)
        self._dense_row[strands] = np.arange(len(strands))
        terms = np.zeros((len(strands), self._dense_width, 5))
        terms[:, :, :4] = padded[strands, :, : self._dense_width].transpose(0, 2, 1)
        terms[:, :, 4] = np.where(np.arange(self._dense_width) < widths[:, None], -np.inf, 0.0)
        self._dense_terms = terms.ravel()

    # ----------------------------------------------------------------------------------------------------- scanning

    def scan(self, codes: np.ndarray) -> Candidates:
        """Every window of ``codes`` (shape (L,), uint8 from :func:`motifscan.encoding.encode`) whose exact score on
        either strand reaches its matrix's threshold."""
        found = self.scan_many([codes])
        return Candidates(found.motif_index, found.start, found.minus_strand, found.score)

    def scan_many(self, codes_list: list[np.ndarray], on_chunk: Callable[[int, int], None] | None = None) -> Candidates:
        """:meth:`scan` of several sequences in one pass; ``target`` says which sequence each candidate is in.
        ``on_chunk(done, total)`` is called as chunks of work finish (for progress bars)."""
        return self.scan_joined(_join(codes_list), on_chunk)

    def scan_joined(self, joined: JoinedCodes, on_chunk: Callable[[int, int], None] | None = None) -> Candidates:
        """:meth:`scan_many` of sequences already joined (:func:`motifscan.encoding.encode_joined`): ``start`` is
        0-based in the candidate's sequence, ``target`` its index in ``joined``."""
        strand, window, score = self._scan_joined(joined.codes, on_chunk)
        target = joined.target_of(window)
        return Candidates(np.take(self._strand_motif, strand), window - np.take(joined.starts, target),
                          np.take(self._strand_minus, strand), score, target.astype(np.int64))

    def _scan_joined(self, codes: np.ndarray, on_chunk: Callable[[int, int], None] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(strand, window start, exact score) of every hit in one code array."""
        length = len(codes)
        tasks = []
        if self._indexes:
            density = sum(index.density for index in self._indexes)
            size = int(min(self.chunk_size, _MAX_CHUNK, max(_MIN_CHUNK, _CHUNK_CANDIDATES / max(density, 1e-9))))
            tasks += [(self._index_chunk, first, min(first + size, length)) for first in range(0, length, size)]
        if self._dense_groups:
            size = min(self.chunk_size, 1 << 16)
            tasks += [(self._dense_chunk, first, min(first + size, length)) for first in range(0, length, size)]
        finished = itertools.count(1)

        def run(task):
            part = task[0](codes, task[1], task[2])
            if on_chunk is not None:
                on_chunk(next(finished), len(tasks))
            return part

        with _blas_threads(1 if self._dense_groups else None):
            if self.jobs > 1 and len(tasks) > 1:
                with ThreadPoolExecutor(self.jobs) as pool:
                    parts = list(pool.map(run, tasks))
            else:
                parts = [run(task) for task in tasks]
        parts = [p for part in parts for p in part]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        strand, start, score = (np.concatenate([p[i] for p in parts]) for i in range(3))
        return strand, start, score

    def _index_chunk(self, codes: np.ndarray, first: int, last: int) -> list:
        """Hits of the indexed strand matrices whose k-mer block starts at a position in [first, last)."""
        work = self._workspace
        origin = max(first - self._max_offset, 0)  # positions below are relative to it
        end = last + self._max_width
        quads = work.get("quads", end - origin, np.int16)  # 4-mer codes: the index keys, and the rescoring blocks
        for a in range(origin, end, _SUB_CHUNK):
            b = min(a + _SUB_CHUNK, end)
            _quad_codes(codes, a, b - a, quads[a - origin : b - origin], work)
        near_edge = first < self._max_offset or end > len(codes)
        pending: list[tuple] = []  # candidates (k-mer position from origin, slot, block score) awaiting rescoring
        out = []
        for index in self._indexes:
            found_positions, found_keys = [], []
            for a in range(first, last, _SUB_CHUNK):
                b = min(a + _SUB_CHUNK, last)
                if index.k == INDEX_K:  # key: first 4-mer x 257 + second 4-mer (see _KmerIndex)
                    # in int32 (at most 66,048): 15% less scan time than intp keys, whose int16 -> int64 loops are slow
                    keys = work.get("keys32", b - a, np.int32)
                    np.multiply(quads[a - origin : b - origin], np.int32(257), out=keys, dtype=np.int32)
                    np.add(keys, quads[a - origin + 4 : b - origin + 4], out=keys, dtype=np.int32)
                else:
                    keys = _word_codes(codes, a, b - a, index.k)
                hit = np.flatnonzero(np.take(index.nonempty, keys, out=work.get("flags", b - a, bool), mode="clip"))
                found_keys.append(np.take(keys, hit))
                found_positions.append(hit + (a - origin))
            keys, positions = np.concatenate(found_keys), np.concatenate(found_positions)
            if not len(positions):
                continue
            counts = np.take(index.count, keys)
            entry_first = np.take(index.start, keys)
            total = np.cumsum(counts)
            cut = 0
            while cut < len(positions):
                # positions [cut, stop) expand into at most _MAX_CANDIDATES entries (at least one position)
                base = int(total[cut - 1]) if cut else 0
                stop = max(int(np.searchsorted(total, base + _MAX_CANDIDATES, side="right")), cut + 1)
                n = counts[cut:stop]
                owner = _owners(n, int(total[stop - 1]) - base)  # the position each candidate comes from
                entry = np.arange(len(owner))
                entry += np.take(entry_first[cut:stop] - (total[cut:stop] - n - base), owner)
                position = np.take(positions[cut:stop], owner)  # of the k-mer, from origin
                slot = np.take(index.slot, entry)
                score = np.take(index.score, entry)
                if near_edge:
                    strand = np.take(self._slot_strand, slot)
                    window = position + origin - np.take(self._strand_offset, strand)
                    inside = (window >= 0) & (window + np.take(self._strand_width, strand) <= len(codes))
                    position, slot, score = (np.compress(inside, a) for a in (position, slot, score))
                if len(position) >= _MAX_CANDIDATES // 8:  # large enough to rescore alone
                    out.append(self._rescore_pending(quads, origin, [(position, slot, score)]))
                else:  # small parts of several indexes or steps are rescored together
                    pending.append((position, slot, score))
                    if sum(len(p[0]) for p in pending) >= _MAX_CANDIDATES // 8:
                        out.append(self._rescore_pending(quads, origin, pending))
                        pending = []
                cut = stop
        if pending:
            out.append(self._rescore_pending(quads, origin, pending))
        return out

    def _rescore_pending(self, quads: np.ndarray, origin: int, pending: list[tuple]) -> tuple:
        """(strand, window start, exact score) of the pending index candidates that reach their threshold."""
        position, slot, score = pending[0] if len(pending) == 1 else (np.concatenate([p[i] for p in pending])
                                                                      for i in range(3))
        slot, position, score = self._rescore_blocks(quads, position, slot, score)
        strand = np.take(self._slot_strand, slot)
        return strand, position + origin - np.take(self._strand_offset, strand), score

    def _rescore_blocks(self, quads: np.ndarray, position: np.ndarray, slot: np.ndarray,
                        score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates of the index (k-mer ``position`` in ``quads``, first rescoring ``slot``, block ``score``) add
        the exact score of each remaining 4-column block and are dropped as soon as they fall below its bound; (last
        slot, position, exact score) of those that pass their last slot."""
        out = []
        while len(slot):
            code = np.take(quads, position + np.take(self._slot_shift, slot))
            score = score + np.take(self._block_terms, slot * 257 + code)
            alive = np.flatnonzero(score >= np.take(self._slot_bound, slot))
            slot, position, score = np.take(slot, alive), np.take(position, alive), np.take(score, alive)
            done = np.take(self._slot_last, slot)
            if done.any():
                out.append((np.compress(done, slot), np.compress(done, position), np.compress(done, score)))
                going = ~done
                slot, position, score = (np.compress(going, a) for a in (slot, position, score))
            slot = slot + 1
        if not out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        slot, position, score = (np.concatenate([part[i] for part in out]) for i in range(3))
        return slot, position, score

    def _dense_chunk(self, codes: np.ndarray, first: int, last: int) -> list:
        """Hits of the dense strand matrices among the windows starting in [first, last)."""
        width = self._dense_width
        rows = max(16, _DENSE_SCORES // self.dense_strands)
        windows_found, strands_found, out = [], [], []
        found = 0
        for a in range(first, last, rows):
            n = min(rows, last - a)
            segment = codes[a : a + n + width - 1]
            if len(segment) < n + width - 1:
                segment = np.concatenate([segment, np.full(n + width - 1 - len(segment), INVALID, np.uint8)])
            one_hot = np.take(_ONE_HOT, segment, axis=0)  # (n + width - 1, 3) float32, contiguous
            windows = np.empty((n, 1 + 3 * width), dtype=np.float32)
            windows[:, 0] = 1.0
            windows[:, 1:] = as_strided(one_hot, shape=(n, 3 * width), strides=(12, 4), writeable=False)
            for group in self._dense_groups:
                scores = windows[:, : 1 + 3 * group.width] @ group.weights  # (n, m) float32; >= 0: candidate
                hits = np.flatnonzero(scores >= 0)
                if len(hits):
                    row, column = np.divmod(hits, len(group.strand))
                    windows_found.append(row + a)
                    strands_found.append(np.take(group.strand, column))
                    found += len(hits)
            if found >= _RESCORE_BATCH or (a + rows >= last and found):
                out.append(self._rescore_dense(codes, np.concatenate(windows_found), np.concatenate(strands_found)))
                windows_found, strands_found, found = [], [], 0
        return out

    def _rescore_dense(self, codes: np.ndarray, window: np.ndarray,
                       strand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(strand, window, exact score) of the candidate windows of the dense path that reach their threshold."""
        inside = window + np.take(self._strand_width, strand) <= len(codes)
        window, strand = np.compress(inside, window), np.compress(inside, strand)
        width = self._dense_width
        columns = np.arange(width)
        letters = np.take(codes, np.minimum(window[:, None] + columns, len(codes) - 1))  # (n, W)
        term = (np.take(self._dense_row, strand)[:, None] * width + columns) * 5 + letters
        score = np.take(self._dense_terms, term).sum(axis=1)
        keep = score >= np.take(self._thresholds, strand) - SCORE_EPSILON
        return np.compress(keep, strand), np.compress(keep, window), np.compress(keep, score)

    # ------------------------------------------------------------------------------------------------ window counts

    def scored_windows(self, codes: np.ndarray) -> np.ndarray:
        """Per matrix, the number of windows of ``codes`` (shape (L,)) that hold only A, C, G, T: the windows scored
        on each strand; shape (n_matrices,), int64."""
        return self.scored_windows_many([codes])[0]

    def scored_windows_many(self, codes_list: list[np.ndarray]) -> np.ndarray:
        """:meth:`scored_windows` of each sequence; shape (n_sequences, n_matrices), int64."""
        return self.scored_windows_joined(_join(codes_list))

    def scored_windows_joined(self, joined: JoinedCodes) -> np.ndarray:
        """:meth:`scored_windows_many` of sequences already joined; shape (len(joined), n_matrices), int64. From the
        runs of A, C, G, T letters (the separators cut them): a run of length r holds r - w + 1 windows of width w."""
        counts = np.zeros((len(joined), len(self.widths)), dtype=np.int64)
        if not len(joined):
            return counts
        run_start, run_length = _valid_runs(joined.codes)
        run_target = joined.target_of(run_start)
        for width in np.unique(self.widths):
            per_run = np.maximum(run_length - width + 1, 0)
            column = np.bincount(run_target, weights=per_run, minlength=len(joined))
            counts[:, self.widths == width] = np.rint(column).astype(np.int64)[:, None]
        return counts

# ---------------------------------------------------------------------------------------------------------- helpers

_ONE_HOT = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32)
"""Dense features of a letter: C, G, T against the baseline A; a letter not A, C, G, T scores as A in the float32
filter (its window fails the exact rescoring anyway)."""


def _cpu_count() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _blas_threads(limit: int | None):
    """A context in which BLAS uses at most ``limit`` threads (None: unchanged), through threadpoolctl when it is
    installed. The products here are small and run in the scanner's own threads; OpenBLAS's threads would only add
    their wake-up latency (measured: 10-15 ms per product on a 2-core VM, against 0.3 ms single-threaded)."""
    if limit is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def _join(codes_list: list[np.ndarray]) -> JoinedCodes:
    """One code array holding every sequence, one INVALID between two, and the start of each sequence in it."""
    lengths = np.array([len(c) for c in codes_list], dtype=np.int64)
    starts = np.zeros(len(codes_list), dtype=np.int64)
    if len(codes_list) == 1:
        return JoinedCodes(np.ascontiguousarray(codes_list[0], dtype=np.uint8), starts, lengths)
    if len(codes_list) > 1:
        starts[1:] = np.cumsum(lengths + 1)[:-1]
    joined = np.full(int(lengths.sum()) + max(len(codes_list) - 1, 0), INVALID, dtype=np.uint8)
    for start, codes in zip(starts, codes_list):
        joined[start : start + len(codes)] = codes
    return JoinedCodes(joined, starts, lengths)


def _base5_table(j: int) -> np.ndarray:
    """Word code (see :class:`_KmerIndex`) of each base-5 number of j letter codes 0..4; shape (5**j,), int64."""
    digits = np.indices((5,) * j).reshape(j, -1)
    code = np.zeros(5 ** j, dtype=np.int64)
    for d in digits:
        code = code * 4 + np.minimum(d, 3)
    return np.where((digits == INVALID).any(axis=0), 4 ** j, code)


_BASE5 = {j: _base5_table(j) for j in range(1, 5)}


def _word_codes(codes: np.ndarray, first: int, n: int, j: int) -> np.ndarray:
    """Codes (see :class:`_KmerIndex`) of the words of j <= 4 letters starting at first .. first + n - 1; a word
    running past the end of ``codes`` is invalid. Shape (n,), int64. From the letters read as base-5 digits, by
    doubling (uint8 2-letter numbers, then 4-letter ones) and one lookup."""
    segment = codes[first : first + n + j - 1]
    if len(segment) < n + j - 1:
        segment = np.concatenate([segment, np.full(n + j - 1 - len(segment), INVALID, np.uint8)])
    if j == 1:
        value = segment.astype(np.intp)
    else:
        pairs = segment[:-1] * np.uint8(5) + segment[1:]  # 0..24
        if j == 2:
            value = pairs.astype(np.intp)
        elif j == 3:
            value = pairs[:n].astype(np.intp)
            value *= 5
            value += segment[2:]
        else:
            value = pairs[:n].astype(np.intp)
            value *= 25
            value += pairs[2:]
    return np.take(_BASE5[j], value)


_QUAD_CODES = _BASE5[4].astype(np.int16)


def _owners(counts: np.ndarray, total: int) -> np.ndarray:
    """``np.repeat(np.arange(len(counts)), counts)`` for positive counts summing to ``total``, through a cumulative
    sum: ``np.repeat`` holds the GIL (numpy 2.x), which would serialize the scanner's threads."""
    marks = np.zeros(total, dtype=np.intp)
    marks[np.cumsum(counts[:-1])] = 1
    return np.cumsum(marks, out=marks)


def _quad_codes(codes: np.ndarray, first: int, n: int, out: np.ndarray, work: _Workspace) -> None:
    """:func:`_word_codes` of 4-letter words into ``out`` (int16, shape (n,)), in the worker's reused arrays.

    In uint8 arithmetic: each letter's two low bits (A, C, G, T are 0..3) moved into place, two letters at a time,
    then the words holding a letter not A, C, G, T (rare: N runs, separators) set to 256 from the positions of those
    letters. Cheaper than base-5 digits and a lookup, which need an 8-byte index per position."""
    segment = codes[first : first + n + 3]
    if len(segment) < n + 3:
        segment = np.concatenate([segment, np.full(n + 3 - len(segment), INVALID, np.uint8)])
    low = work.get("low", n + 3, np.uint8)
    np.bitwise_and(segment, np.uint8(3), out=low)
    pairs = work.get("pairs", n + 2, np.uint8)
    np.multiply(low[:-1], np.uint8(4), out=pairs)  # multiply, not left_shift: numpy's uint8 shift is not vectorized
    np.bitwise_or(pairs, low[1:], out=pairs)  # 0..15: two letters
    quads = work.get("quad8", n, np.uint8)
    np.multiply(pairs[:n], np.uint8(16), out=quads)
    np.bitwise_or(quads, pairs[2:], out=quads)  # 0..255: four letters, first most significant
    out[:] = quads
    invalid = np.flatnonzero(np.equal(segment, INVALID, out=work.get("invalid", n + 3, bool)))
    if len(invalid):
        words = (invalid[:, None] - np.arange(4)).ravel()  # the words that hold such a letter
        out[words[(words >= 0) & (words < n)]] = 256


class _Workspace(threading.local):
    """Arrays that a worker thread reuses from chunk to chunk: fresh arrays above glibc's mmap threshold (128 kB)
    come as fresh pages, whose faults cost more than the work (measured: 6x for the k-mer codes), and smaller arrays
    would mean more numpy calls, each a handoff of the GIL between the workers."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int, dtype) -> np.ndarray:
        array = self.arrays.get(name)
        if array is None or len(array) < n:
            array = self.arrays[name] = np.empty(max(n, 1024), dtype=dtype)
        return array[:n]


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


def _best_blocks(padded: np.ndarray, widths: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Per matrix (``padded``: (n, 4, >= max width)), the offset of the k-column block whose filter should pass the
    fewest k-mers.

    A k-mer passes when the deficit of its block (best block score less its score) is at most ``allowed`` (the
    matrix's best score less the threshold); over uniform letters the block deficit has the sum of its columns'
    deficit means and variances, and the offset with the lowest normal estimate of the passing fraction is taken
    (measured on JASPAR: within 0.5% of the best offset's candidates)."""
    deficit = padded.max(axis=1)[:, None, :] - padded
    zero = np.zeros((len(padded), 1))
    mean = np.concatenate([zero, np.cumsum(deficit.mean(axis=1), axis=1)], axis=1)
    var = np.concatenate([zero, np.cumsum(deficit.var(axis=1), axis=1)], axis=1)
    n_offsets = max(int(widths.max()) - k + 1, 1) if len(widths) else 1  # narrower than k: offset 0
    mean = mean[:, k : k + n_offsets] - mean[:, :n_offsets]  # (n, offsets): block at each offset
    var = var[:, k : k + n_offsets] - var[:, :n_offsets]
    z = (allowed[:, None] - mean) / np.sqrt(var + 1e-12)
    z[np.arange(n_offsets)[None, :] > (widths - k)[:, None]] = np.inf  # blocks running past the matrix
    return np.argmin(z, axis=1).astype(np.int64)


def _block_halves(padded: np.ndarray, strands: np.ndarray, offsets: np.ndarray, k: int) -> tuple:
    """The k-mer block of each matrix split in two halves of k1 = k // 2 and k2 = k - k1 columns; per half, the score
    and the deficit of each of its words ((m, 4**k1) and (m, 4**k2)), the second half's words sorted by deficit."""
    k1 = k // 2
    out = []
    for first, size in ((0, k1), (k1, k - k1)):
        columns = offsets[:, None] + first + np.arange(size)  # (m, size)
        terms = padded[strands[:, None], :, columns]  # (m, size, 4)
        letters = np.indices((4,) * size).reshape(size, 4 ** size)
        score = np.zeros((len(strands), 4 ** size))
        for a in range(size):
            score += terms[:, a, letters[a]]
        deficit = terms.max(axis=2).sum(axis=1)[:, None] - score
        out += [score, deficit]
    score1, deficit1, score2, deficit2 = out
    order2 = np.argsort(deficit2, axis=1, kind="stable")
    return k1, score1, deficit1, score2, np.take_along_axis(deficit2, order2, axis=1), order2


def _passing_counts(halves: tuple, allowed: np.ndarray) -> np.ndarray:
    """Per matrix and first-half word, how many second-half words complete it into a k-mer whose block deficit is
    at most ``allowed``: one vectorized search of all rows (each row's values offset to its own range)."""
    _, _, deficit1, _, sorted2, _ = halves
    if not len(sorted2):
        return np.zeros(deficit1.shape, dtype=np.int64)
    span = float(sorted2.max()) + 4.0
    row = (span * np.arange(len(sorted2)))[:, None]
    query = np.clip(allowed[:, None] - deficit1, -1.0, span - 2.0) + row
    found = np.searchsorted((sorted2 + row).ravel(), query.ravel(), side="right").reshape(query.shape)
    return found - (sorted2.shape[1] * np.arange(len(sorted2)))[:, None]


def _passing_kmers(halves: tuple, counts: np.ndarray, keep: np.ndarray,
                   strands: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strand, k-mer code, exact block score) of every k-mer that passes the block filter, for the rows ``keep``."""
    k1, score1, _, score2, _, order2 = halves
    rows = np.flatnonzero(keep)
    n = counts[rows].ravel()
    pair = np.repeat(np.arange(len(n)), n)  # (row, first-half word), flattened
    rank = np.arange(len(pair)) - np.repeat(np.cumsum(n) - n, n)  # rank of the second-half word by deficit
    row = rows[pair // counts.shape[1]]
    word1 = pair % counts.shape[1]
    word2 = order2[row, rank]
    code = word1 * order2.shape[1] + word2
    return strands[row], code, score1[row, word1] + score2[row, word2]


def _make_index(k: int, parts: list[tuple]) -> _KmerIndex:
    """The index of k-mer entries given as parts of (first rescoring slot, key, block score) arrays."""
    slot, key, score = (np.concatenate([part[i] for part in parts]) for i in range(3))
    size = 257 * 257 if k == INDEX_K else 4 ** k + 1  # see _KmerIndex
    # the entries by key, in their given order within a key (motifscan.sorting; keys are below 2**17)
    ordered = sort_with_rows(key, 17)
    assert ordered is not None, "fewer than 2**46 index entries"
    key, order = ordered
    slot, score = slot[order], score[order]
    count = np.bincount(key, minlength=size).astype(np.int64)  # invalid keys: no entry
    start = np.cumsum(count) - count
    return _KmerIndex(k, count > 0, count, start, slot, score)


def _valid_runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the maximal runs of A, C, G, T letters of ``codes`` (empty runs included); int64."""
    step = 1 << 22
    invalid = [np.flatnonzero(codes[i : i + step] == INVALID) + i for i in range(0, len(codes), step)]
    edges = np.concatenate([[-1], *invalid, [len(codes)]]).astype(np.int64)
    return edges[:-1] + 1, edges[1:] - edges[:-1] - 1


def score_windows(log_odds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact float64 scores of every window of ``codes`` (shape (L,)) under ``log_odds`` (shape (4, w)); windows
    with a non-ACGT letter get NaN; shape (L - w + 1,). Used to rescore and to check; the scanner does not call it."""
    width = log_odds.shape[1]
    if len(codes) < width:
        return np.zeros(0)
    windows = sliding_window_view(codes, width)
    padded = np.vstack([log_odds, np.full((1, width), np.nan)])
    return padded[windows, np.arange(width)].sum(axis=1)
