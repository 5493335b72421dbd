"""Chunks of long sequences for scans that do not fit one piece of work: planning, the per-chunk scan, and the
bookkeeping that makes the result independent of the chunk size.

Coordinates are 0-based half-open on the chromosome throughout.

A chunk *owns* the windows that start in ``[start, owned_end)`` and reads the letters ``[start, stop)``, where
``stop = min(owned_end + max_width - 1, region end)``: consecutive chunks overlap by the widest matrix minus one, so
every window of every matrix lies wholly inside the chunk that owns its first base. A window starting in the overlap
is scored by both chunks' scanners but kept only by its owner, so no window is lost or counted twice at a chunk edge
(:func:`plan_chunks`, tested exhaustively on small cases and with Hypothesis).

The per-chunk work (:func:`scan_chunk`) is a pure function of a :class:`ScanPlan` (the log-odds matrices and their
score thresholds, small and picklable) and the chunk's letter codes: it runs the same in this process, in a local
process pool or on a Dask worker, and its output does not depend on where it ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from motifscan.scanning import Scanner
from motifscan.scanning import _valid_runs as valid_runs


@dataclass(frozen=True)
class Span:
    """A stretch of a chromosome to scan whole: a FASTA record or a BED region.

    ``name``: what hits call it (``seq_name``); ``chrom``; ``start``/``end`` 0-based half-open on ``chrom``.
    """

    name: str
    chrom: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """One piece of work: windows starting in ``[start, owned_end)`` of span ``span`` (an index into the span
    list), read from the letters ``[start, stop)``; 0-based half-open on the span's chromosome."""

    index: int
    span: int
    start: int
    owned_end: int
    stop: int

    @property
    def owned(self) -> int:
        """Number of window starts this chunk owns."""
        return self.owned_end - self.start


def plan_chunks(spans: Sequence[Span], chunk_size: int, max_width: int) -> list[Chunk]:
    """Cut every span into chunks owning ``chunk_size`` window starts (the last one of a span fewer), each reading
    ``max_width - 1`` letters past its owned starts (but not past the span's end). Chunks come in span order, then
    position order; their ``index`` is their place in the returned list."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, not {chunk_size}")
    if max_width < 1:
        raise ValueError(f"max_width must be >= 1, not {max_width}")
    chunks: list[Chunk] = []
    for number, span in enumerate(spans):
        for start in range(span.start, span.end, chunk_size):
            owned_end = min(start + chunk_size, span.end)
            chunks.append(Chunk(len(chunks), number, start, owned_end, min(owned_end + max_width - 1, span.end)))
    return chunks


def stream_chunks(span: int, pieces: Iterable[str], chunk_size: int, max_width: int, first_index: int = 0
                  ) -> Iterator[tuple[Chunk, str]]:
    """The chunks of one span whose letters arrive as text ``pieces`` (a FASTA record as it is read: its length is
    known only at its end), each with its letters ``[start, stop)``: the very chunks :func:`plan_chunks` gives for
    the span (starting at 0) once its length is known, numbered from ``first_index``. At most ``chunk_size +
    max_width - 1`` letters plus one piece are held at a time."""
    if chunk_size < 1 or max_width < 1:
        raise ValueError(f"chunk_size and max_width must be >= 1, not {chunk_size} and {max_width}")
    reach = chunk_size + max_width - 1  # letters a chunk reads when the span goes on past it
    held: list[str] = []
    count = 0
    start = 0
    index = first_index
    for piece in pieces:
        held.append(piece)
        count += len(piece)
        if count < reach:
            continue
        text = "".join(held)
        first = 0
        while count - first >= reach:  # stop = owned_end + max_width - 1 <= the span's end: as plan_chunks
            yield Chunk(index, span, start, start + chunk_size, start + reach), text[first : first + reach]
            index += 1
            start += chunk_size
            first += chunk_size
        held, count = [text[first:]], count - first
    text = "".join(held)  # the span's last letters (fewer than reach): its chunks read to the span's end
    first = 0
    while first < count:
        owned = min(chunk_size, count - first)
        yield Chunk(index, span, start, start + owned, start + count - first), text[first:]
        index += 1
        start += owned
        first += owned


def join_runs(runs: np.ndarray) -> np.ndarray:
    """Runs (span, start, end) sorted by span and start, with those that touch (one's end is the next's start, same
    span) joined into one; shape (k, 3) -> (j, 3)."""
    if not len(runs):
        return runs
    new = np.ones(len(runs), dtype=bool)
    new[1:] = (runs[1:, 0] != runs[:-1, 0]) | (runs[1:, 1] != runs[:-1, 2])
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(runs)) - 1
    return np.column_stack((runs[first, 0], runs[first, 1], runs[last, 2]))


@dataclass(frozen=True)
class ScanPlan:
    """What every chunk's scan needs: ``log_odds`` (each (4, w_k), bits, rows A, C, G, T) and ``score_thresholds``
    (shape (n_matrices,)). ``token`` identifies the plan, so that a worker process builds its scanner once per plan
    and reuses it for every chunk it is given."""

    log_odds: tuple[np.ndarray, ...]
    score_thresholds: np.ndarray
    token: str = field(default="")

    @classmethod
    def build(cls, log_odds: Sequence[np.ndarray], score_thresholds: np.ndarray) -> ScanPlan:
        matrices = tuple(np.ascontiguousarray(m, dtype=np.float64) for m in log_odds)
        thresholds = np.ascontiguousarray(score_thresholds, dtype=np.float64)
        import hashlib  # here: loading it (OpenSSL) costs ~5 ms at every start-up, and only genome scans plan

        digest = hashlib.sha256(thresholds.tobytes())
        for matrix in matrices:
            digest.update(np.int64(matrix.shape[1]).tobytes())
            digest.update(matrix.tobytes())
        return cls(matrices, thresholds, digest.hexdigest())

    @property
    def widths(self) -> np.ndarray:
        """Matrix widths, shape (n_matrices,), int64."""
        return np.array([m.shape[1] for m in self.log_odds], dtype=np.int64)


@dataclass(frozen=True)
class ChunkHits:
    """The windows of one chunk that reached their matrix's score threshold, sorted by (motif_index, start,
    minus_strand).

    ``chunk``: the chunk's index. Arrays of shape (n,): ``motif_index`` (int32), ``start`` (int64, 0-based on the
    chromosome), ``minus_strand`` (bool), ``score`` (float64, exact, bits). ``scored``: shape (n_matrices,), int64,
    windows of each matrix the chunk owns that hold only A, C, G, T (one strand; both strands are twice this).
    """

    chunk: int
    motif_index: np.ndarray
    start: np.ndarray
    minus_strand: np.ndarray
    score: np.ndarray
    scored: np.ndarray


_SCANNERS: dict[str, Scanner] = {}
"""Per process: the scanner of each plan seen, by token (a worker builds it once, not once per chunk)."""


def _scanner(plan: ScanPlan) -> Scanner:
    scanner = _SCANNERS.get(plan.token)
    if scanner is None:
        _SCANNERS.clear()  # one plan at a time: a worker serves one scan
        scanner = _SCANNERS[plan.token] = Scanner(list(plan.log_odds), plan.score_thresholds, jobs=1)
    return scanner


def scan_chunk(plan: ScanPlan, chunk: Chunk, codes: np.ndarray) -> ChunkHits:
    """Scan one chunk's codes (shape (chunk.stop - chunk.start,), uint8 from :func:`motifscan.encoding.encode`) on
    both strands and keep the windows it owns. Runs anywhere: in this process, a process pool or a Dask worker."""
    if len(codes) != chunk.stop - chunk.start:
        raise ValueError(f"chunk {chunk.index}: {len(codes)} codes for {chunk.stop - chunk.start} letters")
    found = _scanner(plan).scan(codes)
    owned = found.start < chunk.owned
    motif_index = found.motif_index[owned].astype(np.int32)
    start = found.start[owned]
    minus = found.minus_strand[owned]
    order = np.lexsort((minus, start, motif_index))
    return ChunkHits(chunk.index, motif_index[order], start[order] + chunk.start, minus[order],
                     found.score[owned][order], owned_scored_windows(codes, chunk.owned, plan.widths))


def owned_scored_windows(codes: np.ndarray, owned: int, widths: np.ndarray) -> np.ndarray:
    """Per matrix width, the windows starting in ``[0, owned)`` of ``codes`` (shape (L,)) that fit in ``codes`` and
    hold only A, C, G, T; shape (len(widths),), int64. From the runs of valid letters (as the scanner counts them):
    a run ``[a, a + r)`` holds the window starts ``a .. a + r - w``, of which those below ``owned`` count."""
    run_start, run_length = valid_runs(codes)
    counts = np.zeros(len(widths), dtype=np.int64)
    for width in np.unique(widths):
        last = np.minimum(run_start + run_length - width + 1, owned)  # one past the last counted start, per run
        counts[widths == width] = int(np.maximum(last - run_start, 0).sum())
    return counts
