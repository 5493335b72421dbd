"""Whole-genome (or BED-region) scans in chunks, on one machine or a Dask cluster, streamed to indexed files.

Flow (coordinates 0-based half-open on the chromosome throughout; BED is read as it is, 0-based half-open):

    FASTA (pyfaidx, plain or bgzip) [+ BED regions] -> spans -> chunks (:mod:`motifscan.chunks`)
    pass 1: per chunk, the driver reads the letters and an executor (:mod:`motifscan.execution`) scores them:
            windows at or above each matrix's score threshold + windows scored; results are spilled to disk
    between: per matrix, the scores of all its spilled windows -> p-values (one call, as the ``fasta`` command makes
            it) -> Benjamini-Hochberg q-values over every window scored in the whole genome (both strands)
    pass 2: spilled chunks in output order (chromosome, start) -> p, q looked up, filtered, formatted, written
            (bgzip TSV or BED + tabix index, or Parquet partitioned by chromosome; :mod:`motifscan.indexed_output`)

``--background auto`` reads the genome once more, before pass 1, to count its letters: it cannot be folded into
pass 1 (or any later pass), since pass 1 keeps only the windows at or above each matrix's score threshold, and those
thresholds come from log-odds that depend on the background; counting during pass 1 would need every window's
score kept, or a second scan. The counting pass reads and encodes letters only (no scoring).

Why two passes for q-values: BH needs the rank of each reported p-value among all of its matrix's reported p-values
before any q is known. Pass 1 keeps only the window's (matrix, start, strand, score) on disk, 21 bytes a window;
between the passes one matrix's scores are in memory at a time. The q-values are thus the very numbers ``motifscan
fasta`` computes on the same input, and nothing depends on the chunk size or on where a chunk ran.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motifscan import pvalues
from motifscan.chunks import Chunk, ChunkHits, ScanPlan, Span, join_runs, plan_chunks, scan_chunk
from motifscan.encoding import encode, invalid_runs, letter_frequencies
from motifscan.errors import InputFileError, UsageError
from motifscan.execution import executor_for
from motifscan.hits import HitTable, MotifTable, TargetTable
from motifscan.identifiers import chromosome_aliases
from motifscan.model import Motif
from motifscan.motifs import log_odds
from motifscan.progress import task

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1_000_000
"""Window starts per chunk: about 1 MB of letters to ship and a few MB of scanner work space."""


@dataclass(frozen=True)
class MatrixTables:
    """Per matrix k, the distinct scores of its reported windows, sorted, with their p- and q-values:
    ``scores[k]``, ``p_values[k]``, ``q_values[k]`` (float64, equal lengths; q is NaN where the window is not
    reported: p above the threshold, or q above the q threshold). ``ranges``: (n_matrices, 2) min and max score."""

    scores: list[np.ndarray]
    p_values: list[np.ndarray]
    q_values: list[np.ndarray]
    ranges: np.ndarray

    def lookup(self, motif_index: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p- and q-values of windows (each array shape (n,)); a loop over the matrices present, not the windows."""
        p_out = np.full(len(score), np.nan)
        q_out = np.full(len(score), np.nan)
        for k in np.unique(motif_index):
            rows = np.flatnonzero(motif_index == k)
            where = np.searchsorted(self.scores[k], score[rows])
            p_out[rows] = self.p_values[k][where]
            q_out[rows] = self.q_values[k][where]
        return p_out, q_out


class Spill:
    """Pass 1's windows on disk: one ``.npz`` per chunk (columns sorted by matrix, start, strand) in a private
    temporary folder, removed by :meth:`close` whatever happens."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=".motifscan-spill.", dir=folder))
        self.scored: np.ndarray | None = None
        self.counts: dict[int, np.ndarray] = {}  # chunk -> windows per matrix (bounds of its motif blocks)

    def add(self, hits: ChunkHits) -> None:
        np.savez(self.path / f"{hits.chunk}.npz", motif_index=hits.motif_index, start=hits.start,
                 minus_strand=hits.minus_strand, score=hits.score)
        self.scored = hits.scored.copy() if self.scored is None else self.scored + hits.scored
        self.counts[hits.chunk] = np.bincount(hits.motif_index, minlength=len(hits.scored))

    def load(self, chunk: int) -> dict[str, np.ndarray]:
        with np.load(self.path / f"{chunk}.npz") as data:
            return {name: data[name] for name in data.files}

    def scores_of(self, motifs: range) -> dict[int, np.ndarray]:
        """All spilled scores of the matrices in ``motifs`` (a contiguous range), each chunk file read once."""
        parts: dict[int, list[np.ndarray]] = {k: [] for k in motifs}
        for chunk, counts in sorted(self.counts.items()):
            if not counts[motifs.start : motifs.stop].any():
                continue
            bounds = np.concatenate(([0], np.cumsum(counts)))
            with np.load(self.path / f"{chunk}.npz") as data:
                score = data["score"]
                for k in motifs:
                    if counts[k]:
                        parts[k].append(score[bounds[k] : bounds[k + 1]])
        return {k: np.concatenate(p) if p else np.zeros(0) for k, p in parts.items()}

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@dataclass(frozen=True)
class GenomeScan:
    """What a genome scan found and did: ``spans`` (in output order), ``motifs``, ``background`` (4,),
    ``scored_windows`` (motif ID -> windows scored on both strands, the m of BH), ``n_hits``, ``chunks``."""

    spans: tuple[Span, ...]
    motifs: tuple[Motif, ...]
    background: np.ndarray
    scored_windows: dict[str, int]
    n_hits: int
    chunks: int


# ----------------------------------------------------------------------------------------------------- inputs

def fasta_spans(fasta) -> list[Span]:
    """Every record of an open pyfaidx FASTA as a span, in the file's order."""
    return [Span(name, name, 0, int(record.rlen)) for name, record in fasta.faidx.index.items()]


def read_regions(path: str | Path, lengths: dict[str, int]) -> list[Span]:
    """Regions of a BED file (0-based half-open; ``track``/``browser``/``#`` lines skipped) as spans named by the
    BED's name column (else ``CHROM:START-END``, 1-based inclusive). Chromosomes are matched to the FASTA's names,
    with or without a leading ``chr``. Every problem is an :class:`InputFileError` naming the file and line."""
    spans = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"--regions {path}: cannot read ({error})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.rstrip("\r").split("\t")
        where = f"--regions {path}, line {number}"
        if len(fields) < 3:
            raise InputFileError(f"{where}: expected at least 3 tab-separated fields (chrom, start, end)")
        chrom = _fasta_chrom(fields[0], lengths, where)
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise InputFileError(f"{where}: start and end must be whole numbers") from None
        if not 0 <= start < end:
            raise InputFileError(f"{where}: need 0 <= start < end (BED is 0-based half-open), got {start}-{end}")
        if end > lengths[chrom]:
            raise InputFileError(f"{where}: end {end} is past the end of {chrom} ({lengths[chrom]} bp)")
        name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else f"{chrom}:{start + 1}-{end}"
        if any(ord(c) < 32 or c in " #" for c in name):
            raise InputFileError(f"{where}: region name {name!r} holds a space, '#' or a control character")
        spans.append(Span(name, chrom, start, end))
    if not spans:
        raise InputFileError(f"--regions {path}: no regions")
    seen: dict[str, int] = {}
    for span in spans:
        seen[span.name] = seen.get(span.name, 0) + 1
    repeated = sorted(name for name, n in seen.items() if n > 1)
    if repeated:
        raise InputFileError(f"--regions {path}: region names must be unique (hits are reported by name): "
                             + ", ".join(repeated[:5]))
    return spans


def _fasta_chrom(name: str, lengths: dict[str, int], where: str) -> str:
    """The FASTA's name for a BED chromosome: itself, else the name that differs only by ``chr``
    (:func:`motifscan.identifiers.chromosome_aliases`, the project's one rule for it)."""
    for candidate in (name, *chromosome_aliases(name)):
        if candidate in lengths:
            return candidate
    raise InputFileError(f"{where}: chromosome {name!r} is not in the FASTA")


def output_order(spans: Sequence[Span]) -> list[int]:
    """Span indices in output order: by chromosome name, start, end, name (whole records: by name, as ``fasta``)."""
    return sorted(range(len(spans)), key=lambda i: (spans[i].chrom, spans[i].start, spans[i].end, spans[i].name))


# ----------------------------------------------------------------------------------------------------- the scan

class ChunkReader:
    """Reads chunks' letters from an open pyfaidx FASTA (as raw text, the file's case)."""

    def __init__(self, fasta, spans: Sequence[Span]) -> None:
        self._fasta = fasta
        self._spans = spans

    def text(self, chunk: Chunk) -> str:
        chrom = self._spans[chunk.span].chrom
        return str(self._fasta.faidx.fetch(chrom, chunk.start + 1, chunk.stop))  # pyfaidx: 1-based inclusive

    def codes(self, chunk: Chunk, mask_lowercase: bool) -> np.ndarray:
        return encode(self.text(chunk), mask_lowercase)


def genome_background(reader: ChunkReader, chunks: Sequence[Chunk], mask_lowercase: bool) -> np.ndarray:
    """A, C, G, T frequencies over the owned letters of every chunk (the 'auto' background), shape (4,)."""
    totals = np.zeros(4)
    for chunk in chunks:
        totals += letter_frequencies([reader.codes(chunk, mask_lowercase)[: chunk.owned]])
    if totals.sum() == 0:
        raise InputFileError("--background auto: the sequence holds no A, C, G or T")
    return totals / totals.sum()


def run_pass_one(plan: ScanPlan, reader: ChunkReader, chunks: Sequence[Chunk], spill: Spill, *, jobs: int,
                 dask_scheduler: str | None, mask_lowercase: bool) -> np.ndarray:
    """Score every chunk where the executor runs it and spill the results (arrival order does not matter).
    Returns the runs of letters other than A, C, G, T seen on the way: shape (k, 3) int64 rows (span index, start,
    end), 0-based half-open on the span's chromosome, runs that cross chunk edges joined."""
    runs: list[np.ndarray] = []

    def items():
        for chunk in chunks:
            text = reader.text(chunk)
            found = invalid_runs(text[: chunk.owned]) + chunk.start
            runs.append(np.column_stack((np.full(len(found), chunk.span), found)))
            yield chunk, encode(text, mask_lowercase)

    executor = executor_for(jobs, dask_scheduler)
    try:
        with task("scanning chunks", len(chunks)) as progress:
            for done, hits in enumerate(executor.map_unordered(scan_chunk, plan, items()), 1):
                spill.add(hits)
                progress.update(done, len(chunks))
    finally:
        executor.close()
    return join_runs(np.concatenate(runs).astype(np.int64) if runs else np.zeros((0, 3), dtype=np.int64))


def matrix_tables(distributions: Sequence[pvalues.ScoreDistribution], spill: Spill, scored: np.ndarray,
                  p_threshold: float, q_threshold: float | None, group: int = 64) -> MatrixTables:
    """p- and q-values of every distinct spilled score, matrix by matrix (``group`` matrices' scores at a time).

    p-values come from one call per matrix over all of its windows, q-values from BH over the reported ones with
    ``scored[k]`` tests (windows scored on both strands): the same computation, on the same numbers, as the engine's.
    """
    n = len(distributions)
    scores, p_values, q_values = [], [], []
    for first in range(0, n, group):
        block = spill.scores_of(range(first, min(first + group, n)))
        for k in range(first, min(first + group, n)):
            all_scores = block[k]
            p_all = distributions[k].pvalues(all_scores)
            distributions[k].release()
            kept = p_all <= p_threshold
            q_all = np.full(len(all_scores), np.nan)
            q_all[kept] = pvalues.bh_qvalues(p_all[kept], int(scored[k]))
            if q_threshold is not None:
                q_all[q_all > q_threshold] = np.nan
            distinct, first_of = np.unique(all_scores, return_index=True)
            scores.append(distinct)
            p_values.append(p_all[first_of])
            q_values.append(q_all[first_of])
    ranges = np.array([(d.min_score, d.max_score) for d in distributions]).reshape(-1, 2)
    return MatrixTables(scores, p_values, q_values, ranges)


# ----------------------------------------------------------------------------------------------------- pass two

@dataclass
class HitBlock:
    """Reported windows in output order, as columns (shape (n,) each): ``span`` (index), ``motif_index``, ``start``
    (0-based on the chromosome), ``minus_strand``, ``score``, ``p_value``, ``q_value``."""

    span: np.ndarray
    motif_index: np.ndarray
    start: np.ndarray
    minus_strand: np.ndarray
    score: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, rows: np.ndarray) -> HitBlock:
        return HitBlock(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    @classmethod
    def concat(cls, blocks: Sequence[HitBlock]) -> HitBlock:
        return cls(*(np.concatenate([getattr(b, f) for b in blocks]) for f in cls.__dataclass_fields__))


def best_strand_rows(block: HitBlock) -> np.ndarray:
    """Rows to keep so that of a site (span, matrix, start) found on both strands only the higher-scoring strand
    remains, ties to + (the engine's ``--max-strand`` rule); ``block`` sorted by (span, matrix, start, strand)."""
    order = np.lexsort((block.minus_strand, block.start, block.motif_index, block.span))
    if len(order) and not np.array_equal(order, np.arange(len(order))):
        raise ValueError("block not sorted by span, matrix, start, strand")
    same_as_next = np.zeros(len(block), dtype=bool)
    if len(block) > 1:
        same_as_next[:-1] = ((block.span[1:] == block.span[:-1]) & (block.motif_index[1:] == block.motif_index[:-1])
                             & (block.start[1:] == block.start[:-1]))
    drop = np.zeros(len(block), dtype=bool)
    pair = np.flatnonzero(same_as_next)  # row i is +, row i + 1 is -
    minus_better = block.score[pair + 1] > block.score[pair]
    drop[pair[minus_better]] = True
    drop[pair[~minus_better] + 1] = True
    return np.flatnonzero(~drop)


def ordered_blocks(spill: Spill, chunks: Sequence[Chunk], spans: Sequence[Span], tables: MatrixTables,
                   motif_rank: np.ndarray, max_strand: bool) -> Iterator[tuple[str, HitBlock]]:
    """(chromosome, reported hits) in output order: chromosome, start, matrix ID, strand, span; a streaming merge
    over chunks taken in (chromosome, start) order, holding only the hits of chunks that overlap (BED regions may)."""
    span_rank = np.empty(len(spans), dtype=np.int64)
    span_rank[output_order(spans)] = np.arange(len(spans))
    order = sorted(chunks, key=lambda c: (spans[c.span].chrom, c.start, span_rank[c.span]))
    pending: list[HitBlock] = []
    chrom: str | None = None
    for chunk in order:
        here = spans[chunk.span].chrom
        if here != chrom:
            if pending and chrom is not None:
                yield chrom, _sorted(HitBlock.concat(pending), motif_rank, span_rank)
            pending, chrom = [], here
        elif pending:  # everything that starts before this chunk is final
            merged = HitBlock.concat(pending)
            final = merged.start < chunk.start
            if final.any():
                yield here, _sorted(merged.take(np.flatnonzero(final)), motif_rank, span_rank)
            pending = [merged.take(np.flatnonzero(~final))]
        pending.append(_reported(spill.load(chunk.index), chunk, tables, max_strand))
    if pending and chrom is not None:
        yield chrom, _sorted(HitBlock.concat(pending), motif_rank, span_rank)


def _reported(data: dict[str, np.ndarray], chunk: Chunk, tables: MatrixTables, max_strand: bool) -> HitBlock:
    motif_index = data["motif_index"].astype(np.int64)
    p_value, q_value = tables.lookup(motif_index, data["score"])
    block = HitBlock(np.full(len(motif_index), chunk.span, dtype=np.int64), motif_index, data["start"],
                     data["minus_strand"], data["score"], p_value, q_value)
    block = block.take(np.flatnonzero(~np.isnan(q_value)))
    if max_strand:
        block = block.take(best_strand_rows(block))
    return block


def _sorted(block: HitBlock, motif_rank: np.ndarray, span_rank: np.ndarray) -> HitBlock:
    order = np.lexsort((span_rank[block.span], block.minus_strand, motif_rank[block.motif_index], block.start))
    return block.take(order)


# ----------------------------------------------------------------------------------------------------- driver

def scan_genome(
    fasta,
    motifs: Sequence[Motif],
    *,
    spans: Sequence[Span],
    p_threshold: float,
    q_threshold: float | None,
    min_rel_score: float | None,
    pseudocount: float,
    background: np.ndarray,
    mask_lowercase: bool,
    max_strand: bool,
    chunk_size: int,
    jobs: int,
    dask_scheduler: str | None,
    spill_folder: Path | None,
    open_sink: Callable[[np.ndarray], Any],
) -> tuple[GenomeScan, list[Path]]:
    """Scan ``spans`` of an open pyfaidx ``fasta`` with ``motifs`` under ``background`` (shape (4,)).

    After pass 1, ``open_sink(runs)`` is given the runs of letters other than A, C, G, T (shape (k, 3): span index,
    start, end; 0-based half-open), for the provenance's gap lines, and returns the output sink; each
    chromosome's reported hits, in output order, go to ``sink(table)`` as :class:`~motifscan.hits.HitTable` blocks;
    then ``sink.close()`` (returning the paths written), or ``sink.abort()`` on any failure."""
    if chunk_size < 1:
        raise UsageError(f"--chunk-size must be a positive number of bases, not {chunk_size}")
    if jobs < 1:
        raise UsageError(f"--jobs must be a positive whole number, not {jobs}")
    widest = max(m.width for m in motifs)
    chunks = plan_chunks(spans, chunk_size, widest)
    reader = ChunkReader(fasta, spans)
    from motifscan.engine import _distribution  # one place builds distributions (and says what a bad one means)

    matrices = [log_odds(m.counts, pseudocount, background) for m in motifs]
    distributions = [_distribution(motif, matrix, background) for motif, matrix in zip(motifs, matrices)]
    thresholds = np.array([d.score_threshold(p_threshold) for d in distributions], dtype=np.float64)
    if min_rel_score is not None:
        low = np.array([d.min_score for d in distributions])
        high = np.array([d.max_score for d in distributions])
        thresholds = np.maximum(thresholds, low + min_rel_score * (high - low))
    plan = ScanPlan.build(matrices, thresholds)
    spill = Spill(spill_folder)
    try:
        runs = run_pass_one(plan, reader, chunks, spill, jobs=jobs, dask_scheduler=dask_scheduler,
                            mask_lowercase=mask_lowercase)
        scored = spill.scored if spill.scored is not None else np.zeros(len(motifs), dtype=np.int64)
        scored_both = scored * 2
        tables = matrix_tables(distributions, spill, scored_both, p_threshold, q_threshold)
        motif_rank = np.unique([m.id for m in motifs], return_inverse=True)[1].ravel()
        sink = open_sink(runs)
        try:
            n_hits = 0
            context = BlockContext(reader, spans, MotifTable.of(motifs), tables)  # one lookup table for every block
            for chrom, block in ordered_blocks(spill, chunks, spans, tables, motif_rank, max_strand):
                n_hits += len(block)
                sink(context.table(chrom, block))
            paths = sink.close()
        except BaseException:
            sink.abort()
            raise
    finally:
        spill.close()
    scan = GenomeScan(tuple(spans[i] for i in output_order(spans)), tuple(motifs), background,
                      {m.id: int(n) for m, n in zip(motifs, scored_both)}, n_hits, len(chunks))
    return scan, paths


@dataclass(frozen=True)
class BlockContext:
    """Turns a block of reported hits into a :class:`~motifscan.hits.HitTable` (what every writer takes): the
    letters (``reader``), the spans, the motifs and their score ranges."""

    reader: ChunkReader
    spans: Sequence[Span]
    motifs: MotifTable
    tables: MatrixTables

    def table(self, chrom: str, block: HitBlock) -> HitTable:
        """The block as a hit table whose targets are the block's spans, each given the block's stretch of ``chrom``
        as its sequence (one read), so that the table cuts the matched sequences itself."""
        motifs = self.motifs
        used, target = np.unique(block.span, return_inverse=True)
        widths = motifs.widths[block.motif_index]
        first = int(block.start.min()) if len(block) else 0
        last = int((block.start + widths).max()) if len(block) else 0
        stretch = str(self.reader._fasta.faidx.fetch(chrom, first + 1, last)) if len(block) else ""
        spans = [self.spans[i] for i in used.tolist()]
        targets = TargetTable(tuple(s.name for s in spans), tuple(s.chrom for s in spans),
                              np.full(len(spans), first, dtype=np.int64), ("+",) * len(spans),
                              (stretch,) * len(spans))
        low, high = self.tables.ranges[block.motif_index, 0], self.tables.ranges[block.motif_index, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            rel_score = np.where(high > low, (block.score - low) / (high - low), 1.0)
        return HitTable(motifs, targets, block.motif_index, target.ravel(), block.start, block.start + widths,
                        np.where(block.minus_strand, "-", "+"), block.score, rel_score, block.p_value, block.q_value)
