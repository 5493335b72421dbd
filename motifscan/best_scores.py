"""Per promoter and matrix: the best site score, whether there is a site, and the promoter's GC and CpG.

Flow: promoters (each one or more forward-strand windows) -> :func:`motifscan.encoding.encode` -> one
:class:`motifscan.scanning.Scanner` run per batch of promoters at a *floor* threshold (below the site threshold) ->
the candidates' exact scores reduced to a maximum per (promoter, matrix) with ``np.maximum.at`` -> a
:class:`PromoterScores` table. No Python loop per position or per candidate; the loop is over batches of promoters.

The floor. A promoter's best score is exact wherever it reaches the floor score: the score at p-value
``floor_p = max(p_threshold, FLOOR_EXPECTED_WINDOWS / windows)`` per window, ``windows`` the number of windows of a
typical promoter on both strands, so that about :data:`FLOOR_EXPECTED_WINDOWS` windows of a random promoter reach it
and a promoter stays below it with probability about exp(-5) = 0.7%. Such a promoter's best is recorded as ``-inf``
(censored: below the floor, tied at the bottom of the ranks). A promoter without any scorable window for a matrix
(every window holds N) gets NaN and is left out of that matrix's tests. Site scores (p <= p_threshold) are always
at or above the floor, so counts of sites and promoter ranks of sites are exact.

Arrays: ``best`` (n_promoters, n_matrices) float64 bits; ``has_site`` the same shape, bool (best >= the matrix's
site threshold); ``gc`` (n_promoters,) fraction of G+C among A, C, G, T letters; ``cpg_oe`` (n_promoters,) CpG
observed / expected = CpG count x (A+C+G+T) / (C count x G count) (Gardiner-Garden and Frommer), NaN without C or G.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motifscan.encoding import INVALID, encode
from motifscan.model import Motif
from motifscan.motifs import log_odds
from motifscan.progress import task
from motifscan.pvalues import ScoreDistribution
from motifscan.scanning import SCORE_EPSILON, Scanner

FLOOR_EXPECTED_WINDOWS = 5.0
"""Windows of a random promoter expected to reach the floor score (see the module docstring)."""

BATCH_BASES = 2_000_000
"""Bases of promoter sequence scanned per batch (bounds the candidates held at once)."""


@dataclass(frozen=True)
class PromoterScores:
    """Best scores and sites of promoters (one row per gene) for matrices (one column each); see the module
    docstring for the arrays. ``site_threshold`` and ``floor_score`` have shape (n_matrices,)."""

    gene_ids: tuple[str, ...]
    gene_names: tuple[str, ...]
    motif_ids: tuple[str, ...]
    best: np.ndarray
    has_site: np.ndarray
    gc: np.ndarray
    cpg_oe: np.ndarray
    site_threshold: np.ndarray
    floor_score: np.ndarray
    floor_p: float

    def __len__(self) -> int:
        return len(self.gene_ids)

    def rows(self, keep: np.ndarray) -> PromoterScores:
        """The table restricted to the rows where ``keep`` (bool (n,), or indices) holds."""
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep
        rows = keep if keep.dtype == bool else index  # a mask copies wide rows 100x faster than indices (numpy 2.4)
        return PromoterScores(tuple(self.gene_ids[i] for i in index), tuple(self.gene_names[i] for i in index),
                              self.motif_ids, self.best[rows], self.has_site[rows], self.gc[rows],
                              self.cpg_oe[rows], self.site_threshold, self.floor_score, self.floor_p)


@dataclass(frozen=True)
class ScoringModel:
    """What turns sequence into scores: log-odds per matrix (bits), the letter background (shape (4,)), the site
    and floor thresholds (shape (n_matrices,)) and whether lowercase letters are masked."""

    motifs: tuple[Motif, ...]
    log_odds: tuple[np.ndarray, ...]
    background: np.ndarray
    site_threshold: np.ndarray
    floor_score: np.ndarray
    floor_p: float
    mask_lowercase: bool


def floor_p_value(p_threshold: float, promoter_length: int) -> float:
    """The p-value of the floor score for promoters of ``promoter_length`` bases (see the module docstring)."""
    windows = max(2 * promoter_length, 1)
    return float(min(1.0, max(p_threshold, FLOOR_EXPECTED_WINDOWS / windows)))


def scoring_model(motifs: Sequence[Motif], background: np.ndarray, pseudocount: float, p_threshold: float,
                  promoter_length: int, mask_lowercase: bool = False, min_rel_score: float | None = None,
                  known: PromoterScores | None = None) -> ScoringModel:
    """Log-odds and thresholds of ``motifs`` under a fixed letter ``background`` (shape (4,)): the site threshold is
    the score at ``p_threshold`` (raised to ``min_rel_score`` of the score range when given), the floor the score at
    :func:`floor_p_value`. ``known``: a table scored with this very model (a cache entry stored under a key holding
    every argument), whose thresholds are taken instead of computing the exact score distributions again."""
    matrices = [log_odds(m.counts, pseudocount, background) for m in motifs]
    floor_p = floor_p_value(p_threshold, promoter_length)
    if known is not None:
        if known.motif_ids != tuple(m.id for m in motifs) or known.floor_p != floor_p:
            raise ValueError("the table was scored with other motifs or another floor")
        return ScoringModel(tuple(motifs), tuple(matrices), np.asarray(background, dtype=np.float64),
                            known.site_threshold.copy(), known.floor_score.copy(), floor_p, mask_lowercase)
    site, floor = [], []
    for matrix in matrices:
        distribution = ScoreDistribution(matrix, background)
        threshold = distribution.score_threshold(p_threshold)
        if min_rel_score is not None:
            low, high = distribution.min_score, distribution.max_score
            threshold = max(threshold, low + min_rel_score * (high - low))
        site.append(threshold)
        floor.append(min(threshold, distribution.score_threshold(floor_p)))
        distribution.release()
    return ScoringModel(tuple(motifs), tuple(matrices), np.asarray(background, dtype=np.float64),
                        np.array(site, dtype=np.float64), np.array(floor, dtype=np.float64), floor_p, mask_lowercase)


def score_promoters(gene_ids: Sequence[str], gene_names: Sequence[str], windows: Sequence[Sequence[str]],
                    model: ScoringModel, jobs: int | None = None, label: str = "background",
                    composition: Sequence[Sequence[str]] | None = None) -> PromoterScores:
    """Best scores, sites, GC and CpG of each gene's promoter.

    ``windows[i]``: the forward-strand sequences of gene i's transcripts' own promoter windows (one, or several with
    ``--transcripts all``, overlapping or not), each scanned whole: the best of a gene is over every motif window
    wholly inside one of them, both strands, which is the rule by which ``scan`` counts and reports the windows of
    a merged promoter (:mod:`motifscan.engine`; a window straddling the junction of two transcripts' windows is in
    none). ``composition[i]``: the sequences GC and CpG are counted on, each base once (the merged promoters);
    default ``windows``.
    """
    n_genes, n_motifs = len(gene_ids), len(model.motifs)
    flat_best = np.full(n_genes * n_motifs, -np.inf)
    scorable = np.zeros((n_genes, n_motifs), dtype=bool)
    letters = np.zeros((n_genes, 5), dtype=np.int64)
    cpg = np.zeros(n_genes, dtype=np.int64)
    scanner = Scanner(list(model.log_odds), model.floor_score, jobs=jobs)
    batches = _batches([sum(len(s) for s in w) for w in windows])
    with task(label, len(batches)) as progress:
        for first, last in batches:
            owner = np.repeat(np.arange(first, last), [len(windows[g]) for g in range(first, last)])
            codes = [encode(s, model.mask_lowercase) for g in range(first, last) for s in windows[g]]
            found = scanner.scan_many(codes)
            key = owner[found.target] * n_motifs + found.motif_index
            np.maximum.at(flat_best, key, found.score)
            counts = scanner.scored_windows_many(codes) > 0  # (n_windows, n_motifs)
            np.logical_or.at(scorable, owner, counts)
            if composition is not None:
                owner = np.repeat(np.arange(first, last), [len(composition[g]) for g in range(first, last)])
                codes = [encode(s, model.mask_lowercase) for g in range(first, last) for s in composition[g]]
            for i, c in enumerate(codes):  # per window (a handful per gene), not per position
                letters[owner[i]] += np.bincount(c, minlength=INVALID + 1)[: INVALID + 1]
                cpg[owner[i]] += int(np.count_nonzero((c[:-1] == 1) & (c[1:] == 2)))
            progress.advance()
    best = flat_best.reshape(n_genes, n_motifs)
    best[~scorable] = np.nan
    has_site = best >= model.site_threshold - SCORE_EPSILON  # NaN compares False
    acgt = letters[:, :4].sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        gc = (letters[:, 1] + letters[:, 2]) / acgt
        cpg_oe = cpg * acgt / (letters[:, 1].astype(np.float64) * letters[:, 2])
    cpg_oe[~np.isfinite(cpg_oe)] = np.nan
    return PromoterScores(tuple(gene_ids), tuple(gene_names), tuple(m.id for m in model.motifs), best, has_site,
                          gc, cpg_oe, model.site_threshold, model.floor_score, model.floor_p)


def _batches(lengths: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive gene ranges [first, last) of about :data:`BATCH_BASES` bases each."""
    batches, first, total = [], 0, 0
    for i, length in enumerate(lengths):
        total += length
        if total >= BATCH_BASES:
            batches.append((first, i + 1))
            first, total = i + 1, 0
    if first < len(lengths):
        batches.append((first, len(lengths)))
    return batches


def promoter_rank_p(table: PromoterScores, motif_index: np.ndarray, score: np.ndarray,
                    own_gene: Sequence[str]) -> np.ndarray:
    """(1 + k) / (1 + n) for each site: n = promoters of ``table`` with a scorable window for the site's matrix,
    except the site's own gene; k = how many of them have a best score >= the site's score.

    ``motif_index`` (s,) into ``table.motif_ids``, ``score`` (s,) bits, ``own_gene`` (s,) gene IDs. Vectorised: one
    sort per matrix, one ``searchsorted`` per matrix over its sites.
    """
    motif_index = np.asarray(motif_index, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    result = np.ones(len(score))
    row_of = {g: i for i, g in enumerate(table.gene_ids)}
    own_row = np.array([row_of.get(g, -1) for g in own_gene], dtype=np.int64)
    for j in np.unique(motif_index):
        sites = np.flatnonzero(motif_index == j)
        column = table.best[:, j]
        valid = column[~np.isnan(column)]
        ordered = np.sort(valid)
        at_least = len(ordered) - np.searchsorted(ordered, score[sites] - SCORE_EPSILON, side="left")
        n = np.full(len(sites), len(ordered))
        own = own_row[sites]
        in_table = own >= 0
        own_best = np.where(in_table, table.best[np.maximum(own, 0), j], np.nan)
        counted = in_table & ~np.isnan(own_best)
        n = n - counted
        at_least = at_least - (counted & (own_best >= score[sites] - SCORE_EPSILON))
        result[sites] = (1.0 + at_least) / (1.0 + n)
    return result
