"""The scanning engine: named sequences x motifs -> hits with scores, p-values and q-values.

Flow: records (a :data:`RecordSource`: names and text pieces, read as they stream; never a whole record) ->
background (``auto``: one read of the source counting every record whole, before anything is scored) -> log-odds
per motif -> score thresholds for the p-value threshold (:mod:`motifscan.pvalues`) -> chunks of each record
(:func:`motifscan.chunks.stream_chunks`: overlap = widest matrix - 1, a window belongs to the chunk holding its first
base, as genome scans cut them) -> :func:`motifscan.encoding.encode` -> :class:`motifscan.scanning.Scanner`, many
chunks per pass -> per kept window only its columns (motif, record, start, strand, score) and its letters ->
after the last chunk: p-values of the candidates -> Benjamini-Hochberg q-values per motif -> one
:class:`~motifscan.hits.HitTable` (columns, no per-hit objects). Memory follows the chunk and the hits, not the
record: q-values need every test's p first, and the hits are the output anyway, so their compact columns are kept
and BH runs after the scan (the genome scans' two passes and spilling are for outputs that do not fit in memory).

The engine knows nothing of FASTA files or genes: a :class:`ScanTarget` says where a sequence lies, and the callers
(:mod:`motifscan.api`) attach gene annotation afterwards.

Which windows are tests (the m of Benjamini-Hochberg): every window of a motif's width that lies wholly inside one of
the target's ``windows`` (the whole target when it has none) and holds only A, C, G, T letters (after
``--mask-lowercase``), on each strand. The same rule decides which candidates can be hits, here and only here: a
window straddling the junction of two merged promoter windows (a gene scan with ``--transcripts all``) lies in no
transcript's promoter, so it is neither reported nor counted as a test.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from motifscan import pvalues
from motifscan.background import background_from_counts, is_auto, parse_background
from motifscan.chunks import Chunk, join_runs, owned_scored_windows, stream_chunks
from motifscan.encoding import INVALID, JoinedCodes, encode, encode_joined, invalid_runs, letter_frequencies
from motifscan.errors import UsageError
from motifscan.hits import HitTable, MotifTable, TargetTable, cut_sites
from motifscan.model import Motif
from motifscan.motifs import log_odds
from motifscan.options import ScanOptions
from motifscan.progress import task
from motifscan.scanning import Candidates, Scanner
from motifscan.sorting import sort_with_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanTarget:
    """A sequence to scan and where it lies.

    ``sequence`` is the forward (+) strand of ``chrom`` starting at 0-based position ``offset``; hits get
    ``chrom`` coordinates ``offset + position`` (0-based half-open) and strands relative to ``chrom``. ``strand`` is
    the record's orientation (the gene's, for a promoter), reported with it, never used for scoring. ``windows``:
    ``(start, end)`` pairs, 0-based half-open positions in ``sequence``; when given, only motif windows wholly inside
    one of them are scored as tests and can be hits (a merged promoter: its transcripts' own windows); empty: the
    whole sequence.
    """

    name: str
    sequence: str
    chrom: str
    offset: int = 0
    strand: str = "+"
    windows: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class EngineOutput:
    """The hit table (rows in output order: seq_name, start, motif_id, strand) plus what the provenance and q-values
    need.

    ``background``: shape (4,). ``scored_windows``: motif ID -> windows scored, both strands counted (the m of BH).
    ``lengths``: each record's length (int64, (t,), in the records' order). ``gaps``: runs of at least
    ``GAP_MIN_LENGTH`` letters other than A, C, G, T (either case), shape (k, 3) int64 rows (record index, start,
    end), 0-based half-open positions in the record.
    """

    hits: HitTable
    background: np.ndarray
    scored_windows: dict[str, int] = field(default_factory=dict)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))


GAP_MIN_LENGTH = 10
"""Runs of at least this many letters other than A, C, G, T (N stretches, assembly gaps) are listed in the provenance
as ``gap`` lines, so that maps can draw them; shorter runs (a stray N or IUPAC code) are counted only in the
unscored-windows warning."""

DEFAULT_CHUNK_SIZE = 1 << 20
"""Window starts per chunk of a long record: memory follows the chunk, not the record (see :func:`scan_records`)."""

BATCH_LETTERS = 1 << 20
"""Letters given to the scanner at once: many short records (promoters) or chunks of long ones go in one pass."""

RecordSource = Callable[[], Iterable[tuple[str, Iterable[str]]]]
"""The records of a scan, read afresh at each call (a second time for ``--background auto``): each record's name
and its letters as text pieces, in order."""


def scan_targets(targets: Sequence[ScanTarget], motifs: Sequence[Motif], settings: ScanOptions) -> EngineOutput:
    """Scan every target with every motif on both strands; see the module docstring for the flow and the tests."""
    output = scan_records(lambda: ((t.name, (t.sequence,)) for t in targets), motifs, settings,
                          [t.chrom for t in targets], np.array([t.offset for t in targets], dtype=np.int64),
                          [t.strand for t in targets], windows=[t.windows for t in targets],
                          sequences=tuple(t.sequence for t in targets))
    return output


def scan_records(source: RecordSource, motifs: Sequence[Motif], settings: ScanOptions,
                 chroms: Sequence[str] | None = None, offsets: np.ndarray | None = None,
                 strands: Sequence[str] | None = None, *, windows: Sequence[tuple[tuple[int, int], ...]] = (),
                 sequences: tuple[str, ...] | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE) -> EngineOutput:
    """Scan the records of ``source`` in chunks (:func:`motifscan.chunks.stream_chunks`: consecutive chunks of a
    record overlap by the widest matrix minus one; a window belongs to the chunk holding its first base), many
    chunks per scanner pass, holding per hit only its columns and its letters, never a whole record.

    Per record (by default: ``chrom`` = its name, offset 0, strand +): ``chroms``, ``offsets`` (0-based position of
    its first base on ``chrom``), ``strands``; ``windows`` (gene scans, in record positions: see
    :class:`ScanTarget`); ``sequences``: kept on the table's targets when given (gene scans, which hold them anyway).
    With ``background="auto"`` the source is read twice: the composition of every record, whole, comes first,
    since the log-odds and score thresholds depend on it. Hits, p- and q-values do not depend on ``chunk_size``.
    """
    if not motifs:
        raise UsageError("no motif selected")
    if settings.q_threshold is not None and settings.q_threshold > settings.p_threshold:
        log.warning("--qvalue %g is above --pvalue %g: q-values above the p-value threshold are upper bounds "
                    "(computed from the reported hits), so the q filter may drop hits whose exact q is below it; "
                    "raise --pvalue to at least the q threshold for exact filtering",
                    settings.q_threshold, settings.p_threshold)
    background = (_composition(source, settings.mask_lowercase) if is_auto(settings.background)
                  else parse_background(settings.background))
    matrices = [log_odds(m.counts, settings.pseudocount, background) for m in motifs]
    # one score distribution per matrix serves its threshold and then its hits' p-values (shared grids)
    distributions = [_distribution(motif, matrix, background) for motif, matrix in zip(motifs, matrices)]
    ranges = np.array([(d.min_score, d.max_score) for d in distributions]).reshape(-1, 2)
    thresholds = np.array([d.score_threshold(settings.p_threshold) for d in distributions], dtype=np.float64)
    if settings.min_rel_score is not None:
        thresholds = np.maximum(thresholds, ranges[:, 0] + settings.min_rel_score * (ranges[:, 1] - ranges[:, 0]))
    scanner = Scanner(matrices, thresholds, jobs=settings.jobs)
    scan = _Scan(scanner, settings.mask_lowercase)
    widest = int(scanner.widths.max())  # once, not once per record (20,000 promoters)
    with task("scanning", 1) as progress:
        for record, (name, pieces) in enumerate(source()):
            scan.begin(name)
            for chunk, text in stream_chunks(record, pieces, chunk_size, widest):
                scan.add(chunk, text)
            scan.end()
        scan.flush()
        progress.update(1, 1)
    kept = scan.candidates()
    names, lengths = scan.names, np.array(scan.lengths, dtype=np.int64)
    scored = scan.scored * 2
    possible = _window_counts(lengths, scanner.widths) * 2
    skipped = int(np.sum(possible - scored))
    if skipped:
        log.warning("%s", _unscored_message(names, lengths, scan.unscorable, scan.n_letters, skipped,
                                            settings.mask_lowercase))
    if any(windows):
        assert sequences is not None, "gene scans with windows keep their sequences"
        targets = [ScanTarget(n, "", n, 0, "+", w) for n, w in zip(names, windows)]
        joined = encode_joined(sequences, settings.mask_lowercase)
        scored = scored - 2 * _outside_windows(targets, joined, scanner.widths)
        kept.take(_inside_windows(windows, kept.as_candidates(), scanner.widths), scanner.widths)
    target_table = TargetTable(
        names=tuple(names), chroms=tuple(chroms) if chroms is not None else tuple(names),
        offsets=offsets if offsets is not None else np.zeros(len(names), dtype=np.int64),
        strands=tuple(strands) if strands is not None else ("+",) * len(names), sequences=sequences)
    table = _hit_table(target_table, kept, motifs, distributions, ranges, scored, settings)
    if settings.max_strand:
        table = best_strand(table)
    return EngineOutput(table, background, {m.id: int(n) for m, n in zip(motifs, scored)}, lengths, scan.gaps())


def _window_counts(lengths: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Per matrix (shape (n_matrices,), int64): the windows of its width in records of ``lengths`` (shape (t,)),
    one strand; a loop over the distinct widths, never over records."""
    counts = np.zeros(len(widths), dtype=np.int64)
    for width in np.unique(widths).tolist():
        counts[widths == width] = int(np.maximum(lengths - width + 1, 0).sum())
    return counts


def _composition(source: RecordSource, mask_lowercase: bool) -> np.ndarray:
    """The ``auto`` background: A, C, G, T frequencies of every record, whole (one read of the source)."""
    counts = np.zeros(4)
    for _, pieces in source():
        for piece in pieces:
            counts += letter_frequencies([encode(piece, mask_lowercase)])
    return background_from_counts(counts)


class _Scan:
    """The state of one scan over a stream of records: chunks waiting for the scanner (up to
    :data:`BATCH_LETTERS`), the candidates found so far (their columns and letters), and per record its length,
    its unscorable letters and N letters, and its runs of letters other than A, C, G, T."""

    def __init__(self, scanner: Scanner, mask_lowercase: bool) -> None:
        self.scanner, self.mask_lowercase = scanner, mask_lowercase
        self.widths = scanner.widths
        self.widest = int(scanner.widths.max())
        self.names: list[str] = []
        self.lengths: list[int] = []
        self.unscorable: list[int] = []
        self.n_letters: list[int] = []
        self.scored = np.zeros(len(scanner.widths), dtype=np.int64)  # one strand
        self._runs: list[np.ndarray] = []
        self._waiting: list[tuple[Chunk, str]] = []
        self._letters_waiting = 0
        self._parts: list[list[np.ndarray]] = []  # per flush: _Kept's columns, in its field order

    def begin(self, name: str) -> None:
        self.names.append(name)
        self.lengths.append(0)
        self.unscorable.append(0)
        self.n_letters.append(0)

    def add(self, chunk: Chunk, text: str) -> None:
        self.lengths[-1] = chunk.owned_end
        self._waiting.append((chunk, text))
        self._letters_waiting += len(text)
        if self._letters_waiting >= BATCH_LETTERS:
            self.flush()

    def end(self) -> None:
        """The end of a record (nothing to do: its last chunk came with it)."""

    def flush(self) -> None:
        """Scan the waiting chunks in one pass; keep each chunk's own windows (those starting in its owned part)."""
        if not self._waiting:
            return
        chunks, texts = zip(*self._waiting)
        self._waiting, self._letters_waiting = [], 0
        joined = encode_joined(texts, self.mask_lowercase)
        owned = np.array([c.owned for c in chunks], dtype=np.int64)
        self._count_unscorable(chunks, texts, joined, owned)
        if all(c.stop == c.owned_end for c in chunks):  # every chunk owns every window it holds
            self.scored += self.scanner.scored_windows_joined(joined).sum(axis=0)
        else:
            for i, chunk in enumerate(chunks):
                self.scored += owned_scored_windows(joined.of(i), chunk.owned, self.widths)
        found = self.scanner.scan_joined(joined)
        assert found.target is not None
        keep = found.start < owned[found.target]
        target, start = found.target[keep], found.start[keep]
        motif_index, minus = found.motif_index[keep], found.minus_strand[keep]
        # the letters of the sites, from the joined text (its starts are those of the joined codes)
        letters = np.frombuffer("\n".join(texts).encode("ascii", "replace"), dtype=np.uint8)
        width = self.widths[motif_index]
        sites = cut_sites(letters, joined.starts[target] + start, width, minus, self.widest)
        sites = sites[np.arange(self.widest) < width[:, None]]  # each site's own letters only, one after another
        record = np.array([c.span for c in chunks], dtype=np.int32)[target]
        chunk_start = np.array([c.start for c in chunks], dtype=np.int64)[target]
        self._parts.append([motif_index.astype(np.int32), record, chunk_start + start, minus, found.score[keep],
                            sites])

    def _count_unscorable(self, chunks: Sequence[Chunk], texts: Sequence[str], joined: JoinedCodes,
                          owned: np.ndarray) -> None:
        """Per record: the unscorable letters of each chunk's owned part, its N letters and its runs of letters other
        than A, C, G, T (most promoters have none: only the count is made)."""
        counts = joined.invalid_counts(owned)
        for i in np.flatnonzero(counts).tolist():
            chunk, text = chunks[i], texts[i][: chunks[i].owned]
            k = chunk.span  # the record's index: spans are numbered as the records come
            self.unscorable[k] += int(counts[i])
            self.n_letters[k] += text.count("N") + text.count("n")
            runs = invalid_runs(text) + chunk.start
            if len(runs):
                self._runs.append(np.column_stack((np.full(len(runs), chunk.span), runs)))

    def candidates(self) -> _Kept:
        """Every kept window, its columns joined one at a time, each flush's part released as it is copied (the
        parts and the joined columns are never all alive at once)."""
        dtypes = (np.int32, np.int32, np.int64, np.bool_, np.float64, np.uint8)
        columns = [_join_releasing(self._parts, j, dtype) for j, dtype in enumerate(dtypes)]
        self._parts = []
        return _Kept(*columns)

    def gaps(self) -> np.ndarray:
        """Runs of at least GAP_MIN_LENGTH letters other than A, C, G, T: (k, 3) rows (record, start, end)."""
        runs = join_runs(np.concatenate(self._runs).astype(np.int64) if self._runs else np.zeros((0, 3), np.int64))
        return runs[runs[:, 2] - runs[:, 1] >= GAP_MIN_LENGTH]


def _join_releasing(parts: list[list[np.ndarray]], column: int, dtype: type) -> np.ndarray:
    """Column ``column`` of every part, joined in order (shape (sum of lengths,)); each part's array is dropped
    (replaced by an empty one) once copied."""
    out: np.ndarray = np.empty(sum(len(part[column]) for part in parts), dtype=dtype)
    position = 0
    for part in parts:
        array = part[column]
        out[position : position + len(array)] = array
        position += len(array)
        part[column] = _RELEASED
    return out


_RELEASED = np.zeros(0, dtype=np.uint8)
"""What a column dropped once consumed becomes (a shared empty array)."""


@dataclass
class _Kept:
    """Every kept window of a scan, as columns of shape (n,): ``motif_index`` (int32), ``record`` (int32, index of
    the record), ``start`` (int64, 0-based first base in the record), ``minus`` (bool), ``score`` (float64); and
    ``letters``: every window's own letters (5'->3' on its strand, its matrix's width of them), one window after
    another, in row order (uint8, shape (sum of widths,)). Mutable: :func:`_hit_table` drops each column once it
    has taken the hits' rows, so the candidates and the hit table are not whole at the same time."""

    motif_index: np.ndarray
    record: np.ndarray
    start: np.ndarray
    minus: np.ndarray
    score: np.ndarray
    letters: np.ndarray

    def as_candidates(self) -> Candidates:
        """The columns as scanner :class:`~motifscan.scanning.Candidates` (``target`` = record index)."""
        return Candidates(self.motif_index, self.start, self.minus, self.score, self.record)

    def take(self, keep: np.ndarray, widths: np.ndarray) -> None:
        """Keep only the rows where ``keep`` (bool, (n,)) holds; ``widths``: per matrix, its width."""
        self.letters = self.letters[np.repeat(keep, widths[self.motif_index])]
        self.motif_index, self.record, self.start, self.minus, self.score = (
            self.motif_index[keep], self.record[keep], self.start[keep], self.minus[keep], self.score[keep])


def _outside_windows(targets: Sequence[ScanTarget], joined: JoinedCodes, widths: np.ndarray) -> np.ndarray:
    """Per matrix (shape (n_matrices,)): the scoreable windows on one strand that lie wholly inside no window of
    their target's ``windows`` (targets without windows have none). A loop over targets with windows and distinct
    widths, numpy inside."""
    outside = np.zeros(len(widths), dtype=np.int64)
    widest = int(widths.max()) if len(widths) else 0
    for i, target in enumerate(targets):
        if not target.windows or not _has_uncovered_windows(target.windows, widest, int(joined.lengths[i])):
            continue
        code = joined.of(i)
        blocked = np.concatenate(([0], np.cumsum(code == INVALID)))
        for width in np.unique(widths):
            n = len(code) - int(width) + 1
            if n <= 0:
                continue
            valid = blocked[width:] - blocked[:n] == 0  # (n,): window s holds only A, C, G, T
            edges = np.zeros(n + 1, dtype=np.int64)
            for start, end in target.windows:
                first, last = max(start, 0), min(end, len(code)) - int(width) + 1  # allowed starts [first, last)
                if last > first:
                    edges[first] += 1
                    edges[last] -= 1
            allowed = np.cumsum(edges[:n]) > 0
            outside[widths == width] += int(np.count_nonzero(valid & ~allowed))
    return outside


def _has_uncovered_windows(windows: Sequence[tuple[int, int]], width: int, length: int) -> bool:
    """Whether some window of ``width`` (or narrower) in ``[0, length)`` may lie wholly inside none of ``windows``:
    only where the windows leave part of the sequence out, or two of them abut or overlap by less than
    ``width - 1`` (most merged promoters overlap by far more: they are skipped)."""
    ordered = sorted(windows)
    reach = ordered[0][1]
    if ordered[0][0] > 0:
        return True
    for start, end in ordered[1:]:
        if start > reach - width + 1:  # the allowed starts of the windows so far end at reach - width
            return True
        reach = max(reach, end)
    return reach < length


def _inside_windows(windows: Sequence[tuple[tuple[int, int], ...]], found: Candidates,
                    widths: np.ndarray) -> np.ndarray:
    """Which candidates (bool, (n,)) lie wholly inside one of their record's ``windows`` (all, for records
    without)."""
    keep = np.ones(len(found.start), dtype=bool)
    with_windows = [t for t, w in enumerate(windows) if w]
    if not with_windows or not len(found.start):
        return keep
    from motifscan.promoters import windows_holding  # lazy: FASTA scans have no windows
    assert found.target is not None
    pairs = [(t, start, end) for t in with_windows for start, end in windows[t]]
    window_target, window_start, window_end = (np.array(column, dtype=np.int64) for column in zip(*pairs))
    end = found.start + widths[found.motif_index]
    site, _ = windows_holding(found.target, found.start, end, window_target, window_start, window_end)
    keep = ~np.isin(found.target, with_windows)
    keep[site] = True
    return keep


_NAMED_RECORDS = 5
"""The unscored-windows warning names this many records (those with the most unscored letters)."""


def _unscored_message(names: Sequence[str], lengths: np.ndarray, unscorable: Sequence[int],
                      n_letters: Sequence[int], skipped: int, mask_lowercase: bool) -> str:
    """The warning about windows not scored, naming the records that hold the letters and how many (of their
    length) are N, other non-ACGT letters or, with ``mask_lowercase``, soft-masked. Per record (in order):
    ``lengths``, ``unscorable`` letters, ``n_letters`` (N or n)."""
    counted = [(u, n, name, int(length)) for name, length, u, n in zip(names, lengths, unscorable, n_letters) if u]
    counted.sort(key=lambda item: -item[0])
    parts = []
    for unscored, n, name, length in counted[:_NAMED_RECORDS]:
        what = "N" if n == unscored else f"unscorable, {n} of them N"
        parts.append(f"{name} ({unscored} of {length} bp {what})")
    more = f"; and {len(counted) - _NAMED_RECORDS} more records" if len(counted) > _NAMED_RECORDS else ""
    letters = "letters other than A, C, G, T" + (" or soft-masked letters" if mask_lowercase else "")
    return (f"{skipped} windows (motif x strand x position) hold {letters} and were not scored: "
            + ", ".join(parts) + more)


def _distribution(motif: Motif, matrix: np.ndarray, background: np.ndarray) -> pvalues.ScoreDistribution:
    try:
        return pvalues.ScoreDistribution(matrix, background)
    except ValueError as error:  # e.g. a pseudocount so small that log-odds span thousands of bits
        raise UsageError(f"motif {motif.id}: {error}; use a larger --pseudocount or a less extreme background") \
            from None


def _passing(distribution: pvalues.ScoreDistribution, scores: np.ndarray, n_tests: int,
             settings: ScanOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one motif's candidate scores (k,): (kept (k,) bool, p-values, q-values of the kept)."""
    p_values = distribution.pvalues(scores)
    distribution.release()
    kept = p_values <= settings.p_threshold
    q_values = pvalues.bh_qvalues(p_values[kept], n_tests)
    if settings.q_threshold is not None:
        passing = q_values <= settings.q_threshold
        kept[np.flatnonzero(kept)[~passing]] = False
        q_values = q_values[passing]
    return kept, p_values[kept], q_values


def _hit_table(target_table: TargetTable, kept: _Kept, motifs: Sequence[Motif], distributions, ranges,
               scored: np.ndarray, settings: ScanOptions) -> HitTable:
    """The hit table of the candidates ``kept`` (see :class:`_Kept`; each of its columns is dropped once the hits'
    rows are taken from it) that pass the p-value (and q-value) thresholds, in output order (seq_name, start,
    motif_id, strand); the loop is over motifs, never over hits or sequence positions. The hits' letters: an
    (n, widest) uint8 matrix (see :func:`motifscan.hits.cut_sites`)."""
    motif_table = MotifTable.of(motifs)
    motif_column = kept.motif_index.astype(np.int16 if len(motifs) < 1 << 15 else np.int32)
    order = np.argsort(motif_column, kind="stable")  # radix sort for 16-bit keys
    bounds = np.searchsorted(motif_column[order], np.arange(len(motifs) + 1))
    del motif_column
    row_parts, p_parts, q_parts = [], [], []
    for k in np.flatnonzero(np.diff(bounds)):
        candidates = order[bounds[k] : bounds[k + 1]]
        passing, p_values, q_values = _passing(distributions[k], kept.score[candidates], int(scored[k]), settings)
        row_parts.append(candidates[passing])
        p_parts.append(p_values)
        q_parts.append(q_values)
    del order
    if not row_parts:
        return HitTable.empty(motif_table, target_table)
    rows, p_values, q_values = np.concatenate(row_parts), np.concatenate(p_parts), np.concatenate(q_parts)
    del row_parts, p_parts, q_parts
    released = _RELEASED
    widths = motif_table.widths.astype(np.int64)
    # each hit's first letter in kept.letters: the widths of the candidates before it, summed
    first = np.cumsum(widths[kept.motif_index])[rows]
    motif_index, kept.motif_index = kept.motif_index[rows], released
    first -= widths[motif_index]
    target, kept.record = kept.record[rows], released
    start, kept.start = kept.start[rows], released
    minus, kept.minus = kept.minus[rows], released
    score, kept.score = kept.score[rows], released
    del rows
    # output order (seq_name, start, motif_id, strand), by ranks of the names (code-point order, as Python sorts)
    name_rank = np.unique(np.array(target_table.names, dtype=object).astype(str), return_inverse=True)[1].ravel()
    motif_rank = np.unique(np.array(motif_table.ids, dtype=object).astype(str), return_inverse=True)[1].ravel()
    in_order = _output_order(name_rank[target], start, motif_rank[motif_index], minus)
    motif_index, target, start, minus, score = (motif_index[in_order], target[in_order], start[in_order],
                                                minus[in_order], score[in_order])
    p_values, q_values, first = p_values[in_order], q_values[in_order], first[in_order]
    del in_order
    width = widths[motif_index]
    # each hit's own letters from the flat buffer (read 5'->3' already: no strand to undo)
    letters = cut_sites(kept.letters, first, width, np.zeros(len(first), dtype=bool), int(widths.max()))
    kept.letters = released
    del first
    low, high = ranges[motif_index, 0], ranges[motif_index, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_score = np.where(high > low, (score - low) / (high - low), 1.0)
    del low, high
    start = target_table.offsets[target] + start
    return HitTable(motif_table, target_table, motif=motif_index, target=target, start=start, end=start + width,
                    strand=np.where(minus, "-", "+"), score=score, rel_score=rel_score, p_value=p_values,
                    q_value=q_values, letters=letters)


def _output_order(name_rank: np.ndarray, start: np.ndarray, motif_rank: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """The order of rows by (name rank, start, motif rank, strand + first): one sort of a packed 64-bit key when
    the ranges fit (a 4-key lexsort costs about 4 times more; :func:`motifscan.sorting.sort_with_rows`, or an argsort
    when the row numbers do not fit beside the key), else the lexsort."""
    if not len(start):
        return np.zeros(0, dtype=np.int64)
    low = int(start.min())
    bits = [max(int(name_rank.max()), 1).bit_length(), max(int(start.max()) - low, 1).bit_length(),
            max(int(motif_rank.max()), 1).bit_length(), 1]
    if sum(bits) > 63:
        return np.lexsort((minus, motif_rank, start, name_rank))
    key = name_rank.astype(np.int64)
    for column, width in ((start - low, bits[1]), (motif_rank, bits[2]), (minus, bits[3])):
        key = (key << width) | np.asarray(column, dtype=np.int64)
    ordered = sort_with_rows(key, sum(bits))
    if ordered is None:
        return np.argsort(key)  # the keys are distinct: one window per motif, strand and start
    return ordered[1]


def best_strand(table: HitTable) -> HitTable:
    """Of hits of one motif at the same place on both strands, the higher-scoring one; ties go to + (FIMO breaks
    them at random; a deterministic rule gives reproducible output). Keeps the table's order."""
    if len(table) < 2:
        return table
    order = np.lexsort((table.strand == "-", table.start, table.target, table.motif))
    key = (table.motif[order], table.target[order], table.start[order])
    same_as_next = (key[0][1:] == key[0][:-1]) & (key[1][1:] == key[1][:-1]) & (key[2][1:] == key[2][:-1])
    drop = np.zeros(len(table), dtype=bool)
    pairs = np.flatnonzero(same_as_next)  # order[i] is + and order[i + 1] is -, the same site
    plus, minus = order[pairs], order[pairs + 1]
    minus_wins = table.score[minus] > table.score[plus]
    drop[np.where(minus_wins, plus, minus)] = True
    return table.take(~drop)
