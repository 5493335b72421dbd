"""The scanning engine: named sequences x motifs -> hits with scores, p-values and q-values.

Flow: sequences -> :func:`motifscan.encoding.encode` (once) -> background -> log-odds per motif -> score thresholds
for the p-value threshold (:mod:`motifscan.pvalues`) -> :class:`motifscan.scanning.Scanner` -> p-values of the hits ->
Benjamini-Hochberg q-values per motif -> one :class:`~motifscan.hits.HitTable` (columns, no per-hit objects).

The engine knows nothing of FASTA files or genes: a :class:`ScanTarget` says where a sequence lies, and the callers
(:mod:`motifscan.api`) attach gene annotation afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from motifscan import pvalues
from motifscan.background import background_from_codes, is_auto, parse_background
from motifscan.encoding import INVALID, encode
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
    the record's orientation (the gene's, for a promoter), reported with it, never used for scoring.
    """

    name: str
    sequence: str
    chrom: str
    offset: int = 0
    strand: str = "+"


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
    codes = [encode(t.sequence, settings.mask_lowercase) for t in targets]
    background = (background_from_codes(codes) if is_auto(settings.background)
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
        found = scanner.scan_many(codes, on_chunk=progress.update)  # all targets in one pass
    scored = scanner.scored_windows_many(codes).sum(axis=0) * 2
    possible = sum(2 * np.maximum(len(c) - scanner.widths + 1, 0) for c in codes) if codes else np.zeros(1)
    skipped = int(np.sum(possible - scored))
    if skipped:
        log.warning("%s", _unscored_message(targets, codes, skipped, settings.mask_lowercase))
    table = _hit_table(targets, found, motifs, distributions, ranges, scored, settings)
    if settings.max_strand:
        table = best_strand(table)
    return EngineOutput(table, background, {m.id: int(n) for m, n in zip(motifs, scored)})


_NAMED_RECORDS = 5
"""The unscored-windows warning names this many records (those with the most unscored letters)."""


def _unscored_message(targets: Sequence[ScanTarget], codes: Sequence[np.ndarray], skipped: int,
                      mask_lowercase: bool) -> str:
    """The warning about windows not scored, naming the records that hold the letters and how many (of their
    length) are N, other non-ACGT letters or, with ``mask_lowercase``, soft-masked. ``codes[i]``: shape
    (len(targets[i].sequence),)."""
    counted = []
    for target, code in zip(targets, codes):
        unscored = int(np.count_nonzero(code == INVALID))
        if unscored:
            n = target.sequence.count("N") + target.sequence.count("n")
            counted.append((unscored, n, target))
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
