"""The scanning engine: named sequences x motifs -> hits with scores, p-values and q-values.

Flow: sequences -> :func:`motifscan.encoding.encode` (once) -> background -> log-odds per motif -> score thresholds
for the p-value threshold (:mod:`motifscan.pvalues`) -> :class:`motifscan.scanning.Scanner` -> p-values of the hits ->
Benjamini-Hochberg q-values per motif -> one :class:`~motifscan.hits.HitTable` (columns, no per-hit objects).

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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from motifscan import pvalues
from motifscan.background import background_from_codes, is_auto, parse_background
from motifscan.encoding import INVALID, JoinedCodes, encode_joined
from motifscan.errors import UsageError
from motifscan.hits import HitTable, MotifTable, TargetTable
from motifscan.model import Motif
from motifscan.motifs import log_odds
from motifscan.options import ScanOptions
from motifscan.progress import task
from motifscan.scanning import Candidates, Scanner

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
    """

    hits: HitTable
    background: np.ndarray
    scored_windows: dict[str, int] = field(default_factory=dict)


def scan_targets(targets: Sequence[ScanTarget], motifs: Sequence[Motif], settings: ScanOptions) -> EngineOutput:
    """Scan every target with every motif on both strands; see the module docstring for the flow."""
    if not motifs:
        raise UsageError("no motif selected")
    joined = encode_joined([t.sequence for t in targets], settings.mask_lowercase)  # one array, INVALID between two
    background = (background_from_codes([joined.codes]) if is_auto(settings.background)
                  else parse_background(settings.background))
    if settings.q_threshold is not None and settings.q_threshold > settings.p_threshold:
        log.warning("--qvalue %g is above --pvalue %g: q-values above the p-value threshold are upper bounds "
                    "(computed from the reported hits), so the q filter may drop hits whose exact q is below it; "
                    "raise --pvalue to at least the q threshold for exact filtering",
                    settings.q_threshold, settings.p_threshold)
    matrices = [log_odds(m.counts, settings.pseudocount, background) for m in motifs]
    # one score distribution per matrix serves its threshold and then its hits' p-values (shared grids)
    distributions = [_distribution(motif, matrix, background) for motif, matrix in zip(motifs, matrices)]
    ranges = np.array([(d.min_score, d.max_score) for d in distributions]).reshape(-1, 2)
    thresholds = np.array([d.score_threshold(settings.p_threshold) for d in distributions], dtype=np.float64)
    if settings.min_rel_score is not None:
        thresholds = np.maximum(thresholds, ranges[:, 0] + settings.min_rel_score * (ranges[:, 1] - ranges[:, 0]))
    scanner = Scanner(matrices, thresholds, jobs=settings.jobs)
    with task("scanning", 1) as progress:
        found = scanner.scan_joined(joined, on_chunk=progress.update)  # all targets in one pass
    scored = scanner.scored_windows_joined(joined).sum(axis=0) * 2
    possible = np.zeros(len(scanner.widths), dtype=np.int64)
    for width in np.unique(scanner.widths):
        possible[scanner.widths == width] = 2 * int(np.maximum(joined.lengths - width + 1, 0).sum())
    skipped = int(np.sum(possible - scored))
    if skipped:
        log.warning("%s", _unscored_message(targets, joined, skipped, settings.mask_lowercase))
    scored = scored - 2 * _outside_windows(targets, joined, scanner.widths)
    found = _inside_windows(targets, found, scanner.widths)
    table = _hit_table(targets, found, motifs, distributions, ranges, scored, settings)
    if settings.max_strand:
        table = best_strand(table)
    return EngineOutput(table, background, {m.id: int(n) for m, n in zip(motifs, scored)})


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


def _inside_windows(targets: Sequence[ScanTarget], found: Candidates, widths: np.ndarray) -> Candidates:
    """The candidates that lie wholly inside a window of their target's ``windows`` (all, for targets without)."""
    with_windows = [t for t, target in enumerate(targets) if target.windows]
    if not with_windows or not len(found.start):
        return found
    from motifscan.promoters import windows_holding  # lazy: FASTA scans have no windows
    assert found.target is not None
    pairs = [(t, start, end) for t in with_windows for start, end in targets[t].windows]
    window_target, window_start, window_end = (np.array(column, dtype=np.int64) for column in zip(*pairs))
    end = found.start + widths[found.motif_index]
    site, _ = windows_holding(found.target, found.start, end, window_target, window_start, window_end)
    keep = ~np.isin(found.target, with_windows)
    keep[site] = True
    return Candidates(found.motif_index[keep], found.start[keep], found.minus_strand[keep], found.score[keep],
                      found.target[keep])


_NAMED_RECORDS = 5
"""The unscored-windows warning names this many records (those with the most unscored letters)."""


def _unscored_message(targets: Sequence[ScanTarget], joined: JoinedCodes, skipped: int,
                      mask_lowercase: bool) -> str:
    """The warning about windows not scored, naming the records that hold the letters and how many (of their
    length) are N, other non-ACGT letters or, with ``mask_lowercase``, soft-masked. ``joined``: the targets'
    codes."""
    invalid = np.flatnonzero(joined.codes == INVALID)
    per_target = np.bincount(joined.target_of(invalid), minlength=len(targets))
    per_target[:-1] -= 1  # the separator after each target but the last
    counted = []
    for t in np.flatnonzero(per_target).tolist():
        target = targets[t]
        n = target.sequence.count("N") + target.sequence.count("n")
        counted.append((int(per_target[t]), n, target))
    counted.sort(key=lambda item: -item[0])
    parts = []
    for unscored, n, target in counted[:_NAMED_RECORDS]:
        what = "N" if n == unscored else f"unscorable, {n} of them N"
        parts.append(f"{target.name} ({unscored} of {len(target.sequence)} bp {what})")
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


def _hit_table(targets: Sequence[ScanTarget], found: Candidates, motifs: Sequence[Motif], distributions, ranges,
               scored: np.ndarray, settings: ScanOptions) -> HitTable:
    """The hit table of the candidates that pass the p-value (and q-value) thresholds, in output order
    (seq_name, start, motif_id, strand); the loop is over motifs, never over hits or sequence positions."""
    motif_table = MotifTable.of(motifs)
    target_table = TargetTable(
        names=tuple(t.name for t in targets), chroms=tuple(t.chrom for t in targets),
        offsets=np.array([t.offset for t in targets], dtype=np.int64), strands=tuple(t.strand for t in targets),
        sequences=tuple(t.sequence for t in targets))
    order = np.argsort(found.motif_index, kind="stable")
    bounds = np.searchsorted(found.motif_index[order], np.arange(len(motifs) + 1))
    row_parts, p_parts, q_parts = [], [], []
    for k in np.flatnonzero(np.diff(bounds)):
        candidates = order[bounds[k] : bounds[k + 1]]
        kept, p_values, q_values = _passing(distributions[k], found.score[candidates], int(scored[k]), settings)
        row_parts.append(candidates[kept])
        p_parts.append(p_values)
        q_parts.append(q_values)
    if not row_parts:
        return HitTable.empty(motif_table, target_table)
    rows, p_values, q_values = np.concatenate(row_parts), np.concatenate(p_parts), np.concatenate(q_parts)
    assert found.target is not None
    target = found.target[rows]
    # output order (seq_name, start, motif_id, strand), by ranks of the names (code-point order, as Python sorts)
    name_rank = np.unique(np.array(target_table.names, dtype=object).astype(str), return_inverse=True)[1].ravel()
    motif_rank = np.unique(np.array(motif_table.ids, dtype=object).astype(str), return_inverse=True)[1].ravel()
    in_order = np.lexsort((found.minus_strand[rows], motif_rank[found.motif_index[rows]], found.start[rows],
                           name_rank[target]))
    rows, p_values, q_values, target = rows[in_order], p_values[in_order], q_values[in_order], target[in_order]
    motif_index, score = found.motif_index[rows], found.score[rows]
    low, high = ranges[motif_index, 0], ranges[motif_index, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_score = np.where(high > low, (score - low) / (high - low), 1.0)
    start = target_table.offsets[target] + found.start[rows]
    return HitTable(motif_table, target_table, motif=motif_index, target=target, start=start,
                    end=start + motif_table.widths[motif_index], strand=np.where(found.minus_strand[rows], "-", "+"),
                    score=score, rel_score=rel_score, p_value=p_values, q_value=q_values)


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
