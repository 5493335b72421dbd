"""The statistics of enrichment against oracles: scipy's tests on the same counts, exact rational enumeration of
stratified tables, statsmodels' Mantel-Haenszel odds ratio, and permutation enumeration of van Elteren's moments."""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy import stats

from motifscan.enrichment import (
    benjamini_hochberg,
    fisher_greater,
    gc_strata,
    mann_whitney_greater,
    odds_ratio,
    stratified_fisher_greater,
    van_elteren_greater,
    van_elteren_moments,
)


def _random_tables(rng, n):
    query_n = rng.integers(0, 40, n)
    background_n = rng.integers(1, 400, n)
    query_with = rng.binomial(query_n, rng.uniform(0, 1, n))
    background_with = rng.binomial(background_n, rng.uniform(0, 1, n))
    return query_with, query_n, background_with, background_n


def test_fisher_equals_scipy_fisher_exact():
    rng = np.random.default_rng(1)
    qw, qn, bw, bn = _random_tables(rng, 300)
    ours = fisher_greater(qw, qn, bw, bn)
    ratios = odds_ratio(qw, qn - qw, bw, bn - bw)
    for i in range(300):
        table = [[qw[i], qn[i] - qw[i]], [bw[i], bn[i] - bw[i]]]
        theirs = stats.fisher_exact(table, alternative="greater")
        assert ours[i] == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
        if np.isnan(theirs.statistic):
            assert np.isnan(ratios[i])
        else:
            assert ratios[i] == pytest.approx(theirs.statistic, rel=1e-12)


def test_stratified_with_one_stratum_is_fisher():
    rng = np.random.default_rng(2)
    qw, qn, bw, bn = _random_tables(rng, 100)
    p, _ = stratified_fisher_greater(qw[None], qn[None], bw[None], bn[None])
    for i in range(100):
        table = [[qw[i], qn[i] - qw[i]], [bw[i], bn[i] - bw[i]]]
        assert p[i] == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue, rel=1e-9, abs=1e-300)


def _exact_stratified_p(qw, qn, bw, bn) -> Fraction:
    """P(sum of query-with-site counts >= observed) by enumerating every combination of stratum tables, in exact
    rational arithmetic (hypergeometric probabilities from binomial coefficients)."""
    supports = []
    for a, q, b, n in zip(qw, qn, bw, bn):
        successes, total = a + b, q + n
        support = {}
        for x in range(min(q, successes) + 1):
            if q - x <= total - successes:
                support[x] = Fraction(comb(successes, x) * comb(total - successes, q - x), comb(total, q))
        supports.append(support)
    observed = sum(qw)
    tail = Fraction(0)
    for combo in itertools.product(*[list(s.items()) for s in supports]):
        if sum(x for x, _ in combo) >= observed:
            probability = Fraction(1)
            for _, pr in combo:
                probability *= pr
            tail += probability
    return tail


def test_stratified_fisher_equals_exact_enumeration():
    rng = np.random.default_rng(3)
    for _ in range(40):
        strata = int(rng.integers(2, 4))
        qn = rng.integers(0, 5, strata)
        bn = rng.integers(1, 9, strata)
        qw = rng.binomial(qn, 0.5)
        bw = rng.binomial(bn, 0.3)
        p, _ = stratified_fisher_greater(qw[:, None], qn[:, None], bw[:, None], bn[:, None])
        assert p[0] == pytest.approx(float(_exact_stratified_p(qw, qn, bw, bn)), rel=1e-9)


def test_mantel_haenszel_odds_ratio_equals_statsmodels():
    from statsmodels.stats.contingency_tables import StratifiedTable

    rng = np.random.default_rng(4)
    qn = rng.integers(5, 30, 6)
    bn = rng.integers(50, 300, 6)
    qw = rng.binomial(qn, 0.4)
    bw = rng.binomial(bn, 0.2)
    _, common = stratified_fisher_greater(qw[:, None], qn[:, None], bw[:, None], bn[:, None])
    tables = [np.array([[qw[s], qn[s] - qw[s]], [bw[s], bn[s] - bw[s]]]) for s in range(6)]
    assert common[0] == pytest.approx(StratifiedTable(tables).oddsratio_pooled, rel=1e-12)


def test_van_elteren_with_one_stratum_is_scipys_mann_whitney():
    rng = np.random.default_rng(5)
    scores = np.round(rng.normal(size=(300, 7)), 1)  # rounded: many ties
    is_query = np.zeros(300, bool)
    is_query[rng.choice(300, 25, replace=False)] = True
    ours = van_elteren_greater(scores, is_query, np.zeros(300, int))
    theirs = stats.mannwhitneyu(scores[is_query], scores[~is_query], alternative="greater", axis=0,
                                method="asymptotic", use_continuity=False).pvalue
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_van_elteren_moments_equal_the_permutation_distribution():
    """Enumerate every assignment of the query labels within each stratum: T's mean and variance over them are the
    moments the test uses (ties included)."""
    rng = np.random.default_rng(6)
    sizes, queries = [5, 6, 4], [2, 3, 1]
    scores = np.concatenate([rng.integers(0, 4, n).astype(float) for n in sizes])[:, None]  # ties on purpose
    stratum = np.repeat(np.arange(3), sizes)
    offsets = np.cumsum([0] + sizes)
    values = []
    for choice in itertools.product(*[itertools.combinations(range(n), q) for n, q in zip(sizes, queries)]):
        is_query = np.zeros(sum(sizes), bool)
        for s, picked in enumerate(choice):
            is_query[offsets[s] + np.array(picked, dtype=int)] = True
        values.append(van_elteren_moments(scores, is_query, stratum)[0][0])
    _, expected, variance = van_elteren_moments(scores, is_query, stratum)
    assert np.mean(values) == pytest.approx(expected[0], rel=1e-12)
    assert np.var(values) == pytest.approx(variance[0], rel=1e-10)


def test_mann_whitney_equals_scipy_and_leaves_out_unscorable():
    rng = np.random.default_rng(7)
    query = rng.normal(0.5, 1, (12, 4))
    background = rng.normal(0, 1, (200, 4))
    background[:10, 2] = np.nan  # unscorable promoters of one matrix
    background[10:40, 3] = -np.inf  # censored: tied at the bottom
    ours = mann_whitney_greater(query, background)
    for j in range(4):
        b = background[~np.isnan(background[:, j]), j]
        assert ours[j] == pytest.approx(stats.mannwhitneyu(query[:, j], b, alternative="greater").pvalue, rel=1e-12)


def test_benjamini_hochberg_against_its_definition():
    rng = np.random.default_rng(8)
    p = np.concatenate([rng.uniform(0, 1, 50), rng.uniform(0, 1e-3, 10), [1.0, 1.0]])
    m = len(p)
    order = np.argsort(p)
    brute = np.empty(m)
    for i in range(m):
        brute[i] = min(1.0, min(m * p[j] / (rank + 1) for rank, j in enumerate(order) if p[j] >= p[i]))
    np.testing.assert_allclose(benjamini_hochberg(p), brute, rtol=1e-12)


def test_gc_strata_equal_frequency_and_at_least_twenty_each():
    rng = np.random.default_rng(9)
    background = rng.uniform(0.3, 0.7, 1000)
    b, q, edges = gc_strata(background, np.array([0.0, 0.5, 1.0]), 10)
    assert len(edges) == 9 and np.bincount(b).min() >= 95
    assert q[0] == 0 and q[-1] == 9
    b, _, edges = gc_strata(background[:50], np.array([0.5]), 10)  # 50 promoters: 2 strata of 25
    assert len(edges) == 1 and np.bincount(b).min() >= 20


def test_rank_sums_and_ties_equal_scipys_rankdata():
    """The one-sort rank sums and tie sums behind van Elteren equal scipy's mid-ranks and min/max ranks, with many
    ties and -inf (censored) scores."""
    from scipy import stats as scipy_stats

    from motifscan.enrichment import _rank_sums_and_ties

    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 300):
        scores = np.round(rng.normal(size=(n, 12)), 1)
        scores[rng.random(scores.shape) < 0.15] = -np.inf
        is_query = rng.random(n) < 0.3
        rank_sum, ties = _rank_sums_and_ties(scores, is_query)
        ranks = scipy_stats.rankdata(scores, axis=0)
        t = scipy_stats.rankdata(scores, method="max", axis=0) - scipy_stats.rankdata(scores, method="min", axis=0) + 1
        assert np.array_equal(rank_sum, ranks[is_query].sum(axis=0))
        assert np.array_equal(ties, (t * t - 1).sum(axis=0))
