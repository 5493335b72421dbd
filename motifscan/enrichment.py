"""Statistics of a gene list against a background of promoters, per matrix, vectorised over matrices.

Two questions, two tests (see the README's "Which promoters are unusual?"):

presence
    Do more query promoters hold at least one site (p <= the p threshold) than background promoters do? One-sided
    Fisher's exact test of the 2 x 2 table (query / background x with / without a site); the odds ratio is the sample
    odds ratio ``(a d) / (b c)``. With GC strata, the exact conditional test of a common odds ratio of 1 (the exact
    form of the Cochran-Mantel-Haenszel test, as R's ``mantelhaen.test(exact=TRUE)``): the number of query promoters
    with a site, summed over the strata, has under the null the distribution of a sum of independent hypergeometric
    variables (one per stratum, each with its stratum's margins), convolved exactly; p = P(sum >= observed). With one
    stratum this *is* Fisher's one-sided p. The odds ratio is then the Mantel-Haenszel common odds ratio.

strength
    Are the query promoters' best site scores (best window, both strands) higher than the background's? One-sided
    Mann-Whitney rank test (scipy's ``mannwhitneyu``, ``alternative="greater"``); with GC strata, van Elteren's
    stratified form (rank sums within strata, weighted 1 / (N_s + 1), normal approximation with the tie-corrected
    variance; with one stratum it equals scipy's asymptotic Mann-Whitney p without continuity correction).

Inputs are per-promoter arrays, shape (n_promoters, n_matrices). Best scores: NaN where a promoter has no scorable
window for a matrix (such a promoter is left out of that matrix's tests), ``-inf`` where its best lies below the scan's
floor (censored: all such promoters tie at the bottom of the ranks). ``has_site`` is bool of the same shape.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

MIN_PER_STRATUM = 20
"""Fewest background promoters per GC stratum: a background too small for the asked number of strata gets fewer."""


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH q-values of ``p_values`` (shape (m,)), monotone, capped at 1 (scipy's ``false_discovery_control``)."""
    p_values = np.asarray(p_values, dtype=np.float64)
    if not len(p_values):
        return p_values.copy()
    return stats.false_discovery_control(np.clip(p_values, 0.0, 1.0), method="bh")


def gc_strata(background_gc: np.ndarray, query_gc: np.ndarray, n_strata: int) -> tuple[np.ndarray, np.ndarray,
                                                                                       np.ndarray]:
    """Equal-frequency GC strata of the background: (background stratum (n_b,), query stratum (n_q,), inner edges).

    At most ``n_strata`` strata and at least :data:`MIN_PER_STRATUM` background promoters in each (at least one
    stratum). Edges are quantiles of the background GC; a promoter goes to stratum ``searchsorted(edges, gc, "right")``
    so query promoters beyond the background's range join the outermost strata.
    """
    background_gc = np.asarray(background_gc, dtype=np.float64)
    query_gc = np.asarray(query_gc, dtype=np.float64)
    k = int(max(1, min(n_strata, len(background_gc) // MIN_PER_STRATUM)))
    edges = np.unique(np.quantile(background_gc, np.arange(1, k) / k)) if k > 1 else np.zeros(0)
    return (np.searchsorted(edges, background_gc, side="right"), np.searchsorted(edges, query_gc, side="right"),
            edges)


def odds_ratio(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Sample odds ratio (a d) / (b c) of 2 x 2 tables [[a, b], [c, d]] (inf when b c = 0 < a d, nan when 0 / 0),
    as scipy's ``fisher_exact`` reports it."""
    a, b, c, d = (np.asarray(x, dtype=np.float64) for x in (a, b, c, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a * d) / (b * c)


def fisher_greater(query_with: np.ndarray, query_n: np.ndarray, background_with: np.ndarray,
                   background_n: np.ndarray) -> np.ndarray:
    """One-sided (greater) Fisher exact p of each table [[query_with, query_without], [bg_with, bg_without]]:
    P(X >= query_with) for X hypergeometric with the table's margins. Arrays of shape (m,)."""
    a = np.asarray(query_with, dtype=np.int64)
    total = np.asarray(query_n, dtype=np.int64) + np.asarray(background_n, dtype=np.int64)
    with_site = a + np.asarray(background_with, dtype=np.int64)
    p = stats.hypergeom.sf(a - 1, total, with_site, np.asarray(query_n, dtype=np.int64))
    return np.where(np.asarray(query_n) > 0, np.clip(p, 0.0, 1.0), 1.0)


def stratified_fisher_greater(query_with: np.ndarray, query_n: np.ndarray, background_with: np.ndarray,
                              background_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact conditional test of a common odds ratio of 1 over strata, one-sided (greater), per matrix.

    Arguments have shape (n_strata, m). Returns (p (m,), Mantel-Haenszel common odds ratio (m,)). Under the null each
    stratum's query-with-site count is hypergeometric given its margins; their sum's distribution is the exact
    convolution of those, and p = P(sum >= observed sum).
    """
    qw, qn, bw, bn = (np.asarray(x, dtype=np.int64) for x in (query_with, query_n, background_with, background_n))
    m = qw.shape[1]
    # every stratum's null pmf at once: (n_strata, m, most query promoters in a stratum + 1); 0 off the support
    x = np.arange(int(qn.max(initial=0)) + 1)
    with np.errstate(invalid="ignore"):
        pmf = stats.hypergeom.pmf(x[None, None, :], (qn + bn)[:, :, None], (qw + bw)[:, :, None], qn[:, :, None])
    pmf = np.nan_to_num(pmf, nan=0.0)
    p = np.ones(m)
    for j in range(m):
        dist = np.ones(1)
        for s in np.flatnonzero(qn[:, j] > 0):
            dist = np.convolve(dist, pmf[s, j, : qn[s, j] + 1])
        observed = int(qw[:, j].sum())
        p[j] = min(1.0, float(dist[observed:].sum())) if observed < len(dist) else 0.0
    a, b = qw, qn - qw
    c, d = bw, bn - bw
    n = (qn + bn).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        numerator = np.where(n > 0, a * d / n, 0.0).sum(axis=0)
        denominator = np.where(n > 0, b * c / n, 0.0).sum(axis=0)
        common = numerator / denominator
    return p, common


def _rank_sums_and_ties(scores: np.ndarray, is_query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``scores`` (n, m), no NaN: the query rows' mid-rank sum (ranks 1..n, ties averaged) and the sum
    over tie groups of t^3 - t. One sort per column; tie groups found in the sorted columns (each position of a
    group of t contributes t^2 - 1 to the tie sum, and the group's mid-rank to the rank sum if its row is a query's):
    no scatter back to row order, which made three ``scipy.stats.rankdata`` calls the cost of a 1019-matrix run."""
    n = len(scores)
    order = np.argsort(scores, axis=0, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=0)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:-1] = starts[1:]
    position = np.arange(n)[:, None]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[::-1], axis=0)[::-1]
    mid_rank = (first + last) / 2.0 + 1.0
    rank_sum = np.where(is_query[order], mid_rank, 0.0).sum(axis=0)
    t = (last - first + 1).astype(np.float64)
    return rank_sum, (t * t - 1.0).sum(axis=0)


def _stratum_moments(scores: np.ndarray, is_query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """For one stratum, complete columns only: (query rank sums (m,), their means, variances, weight 1 / (N + 1))."""
    n_total = len(scores)
    m_query = int(is_query.sum())
    n_background = n_total - m_query
    rank_sum, ties = _rank_sums_and_ties(scores, is_query)
    mean = np.full(scores.shape[1], m_query * (n_total + 1) / 2.0)
    if n_total > 1:
        variance = m_query * n_background / 12.0 * ((n_total + 1) - ties / (n_total * (n_total - 1)))
    else:
        variance = np.zeros(scores.shape[1])
    return rank_sum, mean, variance, 1.0 / (n_total + 1)


def van_elteren_greater(scores: np.ndarray, is_query: np.ndarray, stratum: np.ndarray) -> np.ndarray:
    """One-sided van Elteren test (query scores greater) per matrix.

    ``scores`` (n, m) float (NaN: promoter left out of that matrix), ``is_query`` (n,) bool, ``stratum`` (n,) int.
    Rank sums of the query within each stratum are weighted 1 / (N_s + 1); z = (T - E[T]) / sd(T) with the
    tie-corrected variance (:func:`van_elteren_moments`); p = the upper normal tail. Matrices with no variance (no
    query or no background in any stratum, or all scores tied) get p = 1.
    """
    statistic, expected, variance = van_elteren_moments(scores, is_query, stratum)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (statistic - expected) / np.sqrt(variance)
    return np.where(variance > 0, stats.norm.sf(z), 1.0)


def van_elteren_moments(scores: np.ndarray, is_query: np.ndarray,
                        stratum: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, E[T], Var[T]) per matrix, shape (m,) each: T = sum over strata of the query's rank sum / (N_s + 1); the
    moments are those of T when query labels are permuted at random within each stratum (ties: mid-ranks)."""
    scores = np.asarray(scores, dtype=np.float64)
    is_query = np.asarray(is_query, dtype=bool)
    stratum = np.asarray(stratum)
    m = scores.shape[1]
    statistic, expected, variance = np.zeros(m), np.zeros(m), np.zeros(m)
    missing = np.isnan(scores)
    for s in np.unique(stratum):
        rows = np.flatnonzero(stratum == s)
        block, query = scores[rows], is_query[rows]
        complete = ~missing[rows].any(axis=0)
        if complete.any():
            t, e, v, w = _stratum_moments(block[:, complete], query)
            statistic[complete] += w * t
            expected[complete] += w * e
            variance[complete] += w * w * v
        for j in np.flatnonzero(~complete):  # matrices some of whose promoters here are unscorable: one by one
            keep = ~missing[rows, j]
            if keep.sum() == 0:
                continue
            t, e, v, w = _stratum_moments(block[keep, j : j + 1], query[keep])
            statistic[j] += w * t[0]
            expected[j] += w * e[0]
            variance[j] += w * w * v[0]
    return statistic, expected, variance


def mann_whitney_greater(query_scores: np.ndarray, background_scores: np.ndarray) -> np.ndarray:
    """One-sided Mann-Whitney p per matrix (query greater), scipy's ``mannwhitneyu`` with its default method
    (exact for small samples without ties, else normal with continuity correction). Arrays (n_q, m) and (n_b, m);
    NaN entries are left out of their matrix; a matrix with an empty side gets p = 1."""
    query_scores = np.asarray(query_scores, dtype=np.float64)
    background_scores = np.asarray(background_scores, dtype=np.float64)
    m = query_scores.shape[1]
    p = np.ones(m)
    complete = ~(np.isnan(query_scores).any(axis=0) | np.isnan(background_scores).any(axis=0))
    if len(query_scores) and len(background_scores) and complete.any():
        tied = _all_tied(query_scores[:, complete], background_scores[:, complete])
        columns = np.flatnonzero(complete)
        result = stats.mannwhitneyu(query_scores[:, complete], background_scores[:, complete],
                                    alternative="greater", axis=0)
        p[columns] = np.where(tied, 1.0, result.pvalue)
    for j in np.flatnonzero(~complete):
        q = query_scores[~np.isnan(query_scores[:, j]), j]
        b = background_scores[~np.isnan(background_scores[:, j]), j]
        if len(q) and len(b) and not _all_tied(q[:, None], b[:, None])[0]:
            p[j] = stats.mannwhitneyu(q, b, alternative="greater").pvalue
    return np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)


def _all_tied(query: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Per column: every value on both sides equal (a rank test has nothing to say; scipy gives nan or 1)."""
    both = np.concatenate([query, background])
    with np.errstate(invalid="ignore"):
        return np.all(both == both[:1], axis=0)
