"""The scanning engine: named sequences x motifs -> hits with scores, p-values and q-values.

Flow: sequences -> :func:`motifscan.encoding.encode` (once) -> background -> log-odds per motif -> score thresholds
for the p-value threshold (:mod:`motifscan.pvalues`) -> :class:`motifscan.scanning.Scanner` -> p-values of the hits ->
Benjamini-Hochberg q-values per motif -> :class:`~motifscan.model.Hit` records.

The engine knows nothing of FASTA files or genes: a :class:`ScanTarget` says where a sequence lies, and the callers
(:mod:`motifscan.api`) attach gene annotation afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from numbers import Integral
from typing import Sequence

import numpy as np

from motifscan import pvalues
from motifscan.background import background_from_codes, parse_background
from motifscan.encoding import encode, reverse_complement
from motifscan.errors import UsageError
from motifscan.model import Hit, Motif
from motifscan.motifs import DEFAULT_PSEUDOCOUNT, log_odds
from motifscan.scanning import Candidates, Scanner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSettings:
    """Thresholds and scoring-model parameters of a scan.

    ``p_threshold``: report windows with p <= this. ``q_threshold``: also require q <= this (None: no filter).
    ``min_rel_score``: also require rel_score >= this (None: no filter). ``pseudocount``: total per column.
    ``background``: ``"uniform"``, ``"auto"`` or ``"A,C,G,T"`` numbers. ``mask_lowercase``: do not score windows
    holding soft-masked (lowercase) letters. ``max_strand``: of a site found on both strands keep only the better
    scoring strand (ties: +), instead of one row per strand. ``jobs``: worker threads of the scanner (None: all
    cores); the results do not depend on it.
    """

    p_threshold: float = 1e-4
    q_threshold: float | None = None
    min_rel_score: float | None = None
    pseudocount: float = DEFAULT_PSEUDOCOUNT
    background: str = "uniform"
    mask_lowercase: bool = False
    max_strand: bool = False
    jobs: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.p_threshold <= 1:
            raise UsageError(f"p-value threshold must be in (0, 1], not {self.p_threshold}")
        if self.q_threshold is not None and not 0 < self.q_threshold <= 1:
            raise UsageError(f"q-value threshold must be in (0, 1], not {self.q_threshold}")
        if self.min_rel_score is not None and not 0 <= self.min_rel_score <= 1:
            raise UsageError(f"minimum relative score must be in [0, 1], not {self.min_rel_score}")
        if not (self.pseudocount > 0 and np.isfinite(self.pseudocount)):
            raise UsageError(f"pseudocount must be a positive number, not {self.pseudocount}")
        if self.jobs is not None and (isinstance(self.jobs, bool) or not isinstance(self.jobs, Integral)
                                      or self.jobs < 1):
            raise UsageError(f"jobs must be a positive whole number, not {self.jobs}")
        parse_background(self.background)  # fail early on a bad background


@dataclass(frozen=True)
class ScanTarget:
    """A sequence to scan and where it lies.

    ``sequence`` is the forward (+) strand of ``chrom`` starting at 0-based position ``offset``; hits get
    ``chrom`` coordinates ``offset + position`` (0-based half-open) and strands relative to ``chrom``.
    """

    name: str
    sequence: str
    chrom: str
    offset: int = 0


@dataclass(frozen=True)
class EngineOutput:
    """Hits (unsorted) plus what the provenance and q-values need.

    ``background``: shape (4,). ``scored_windows``: motif ID -> windows scored, both strands counted (the m of BH).
    ``skipped_windows``: windows (motif x strand x position) not scored for holding non-ACGT letters.
    """

    hits: list[Hit]
    background: np.ndarray
    scored_windows: dict[str, int] = field(default_factory=dict)
    skipped_windows: int = 0


def scan_targets(targets: Sequence[ScanTarget], motifs: Sequence[Motif], settings: ScanSettings) -> EngineOutput:
    """Scan every target with every motif on both strands; see the module docstring for the flow."""
    if not motifs:
        raise UsageError("no motif selected")
    codes = [encode(t.sequence, settings.mask_lowercase) for t in targets]
    background = parse_background(settings.background)
    if background is None:
        background = background_from_codes(codes)
    matrices = [log_odds(m.counts, settings.pseudocount, background) for m in motifs]
    ranges = np.array([pvalues.score_range(m) for m in matrices])  # (n, 2): min, max
    thresholds = np.asarray(pvalues.score_thresholds(matrices, background, settings.p_threshold), dtype=np.float64)
    if settings.min_rel_score is not None:
        thresholds = np.maximum(thresholds, ranges[:, 0] + settings.min_rel_score * (ranges[:, 1] - ranges[:, 0]))
    scanner = Scanner(matrices, thresholds, jobs=settings.jobs)
    per_target = scanner.scan_many(codes).by_target(len(codes))  # all targets in one pass
    scored = scanner.scored_windows_many(codes).sum(axis=0) * 2
    possible = sum(2 * np.maximum(len(c) - scanner.widths + 1, 0) for c in codes) if codes else np.zeros(1)
    skipped = int(np.sum(possible - scored))
    if skipped:
        log.warning("%d windows (motif x strand x position) hold letters other than A, C, G, T and were not scored",
                    skipped)
    hits = _hits(targets, per_target, motifs, matrices, ranges, background, scored, settings)
    if settings.max_strand:
        hits = best_strand(hits)
    return EngineOutput(hits, background, {m.id: int(n) for m, n in zip(motifs, scored)}, skipped)


def _hits(targets, per_target: list[Candidates], motifs, matrices, ranges, background, scored,
          settings: ScanSettings) -> list[Hit]:
    target_index = np.concatenate([np.full(len(c.score), i) for i, c in enumerate(per_target)] or [np.zeros(0)])
    found = Candidates.concatenate(per_target)
    hits: list[Hit] = []
    for k, motif in enumerate(motifs):
        rows = np.flatnonzero(found.motif_index == k)
        if not len(rows):
            continue
        scores = found.score[rows]
        p_values = pvalues.pvalues(matrices[k], background, scores)
        passing = p_values <= settings.p_threshold
        rows, scores, p_values = rows[passing], scores[passing], p_values[passing]
        q_values = pvalues.bh_qvalues(p_values, int(scored[k]))
        if settings.q_threshold is not None:
            passing = q_values <= settings.q_threshold
            rows, scores, p_values, q_values = rows[passing], scores[passing], p_values[passing], q_values[passing]
        low, high = ranges[k]
        for row, score, p_value, q_value in zip(rows, scores, p_values, q_values):
            target = targets[int(target_index[row])]
            start = int(found.start[row])
            site = target.sequence[start : start + motif.width]
            minus = bool(found.minus_strand[row])
            hits.append(Hit(
                motif_id=motif.id, motif_name=motif.name, seq_name=target.name, chrom=target.chrom,
                start=target.offset + start, end=target.offset + start + motif.width, strand="-" if minus else "+",
                score=float(score), rel_score=float((score - low) / (high - low)) if high > low else 1.0,
                p_value=float(p_value), q_value=float(q_value),
                matched_sequence=reverse_complement(site) if minus else site,
            ))
    return hits


def best_strand(hits: Sequence[Hit]) -> list[Hit]:
    """Of hits of one motif at the same place on both strands, the higher-scoring one; ties go to + (FIMO breaks
    them at random; a deterministic rule gives reproducible output)."""
    best: dict[tuple, Hit] = {}
    for hit in hits:
        key = (hit.motif_id, hit.seq_name, hit.start, hit.end)
        kept = best.get(key)
        if kept is None or (hit.score, hit.strand == "+") > (kept.score, kept.strand == "+"):
            best[key] = hit
    return list(best.values())


def sort_hits(hits: Sequence[Hit]) -> list[Hit]:
    """Rows in output order: seq_name, start, motif_id, strand."""
    return sorted(hits, key=lambda h: (h.seq_name, h.start, h.motif_id, h.strand))
