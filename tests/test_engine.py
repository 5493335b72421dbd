"""Whole scans (scan_fasta) against oracles: every window scored one at a time, exact p-values by enumeration,
Benjamini-Hochberg over every window, planted sites on the minus strand, N and IUPAC letters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from oracles import bh_qvalues, exact_pvalues, reverse_complement, window_score

from motifscan.api import scan_fasta
from motifscan.model import Motif
from motifscan.motifs import log_odds, select_motifs

EXAMPLE = Path(__file__).parent.parent / "examples" / "promoters.fa"
UNIFORM = np.full(4, 0.25)


def random_sequence(rng, length: int) -> str:
    return "".join(rng.choice(list("ACGT"), length))


def all_windows(sequence: str, motif: Motif, background=UNIFORM, pseudocount=0.8):
    """Every all-ACGT window on both strands: list of (start, strand, score), scored one window at a time."""
    matrix = log_odds(motif.counts, pseudocount, background)
    windows = []
    for start in range(len(sequence) - motif.width + 1):
        site = sequence[start : start + motif.width]
        if set(site.upper()) <= set("ACGT"):
            windows.append((start, "+", window_score(matrix, site)))
            windows.append((start, "-", window_score(matrix, reverse_complement(site))))
    return windows


@pytest.mark.parametrize("motif_id", ["MA0605.3", "MA0833.3", "MA0018.5"])
def test_hits_p_and_q_equal_the_oracles(motif_id):
    rng = np.random.default_rng(7)
    motif = select_motifs(motif_ids=[motif_id])[0]
    assert motif.width <= 11
    sequences = [("s1", random_sequence(rng, 3000)), ("s2", random_sequence(rng, 2000))]
    p_threshold = 2e-3
    result = scan_fasta(sequences, [motif], p_threshold=p_threshold)
    matrix = log_odds(motif.counts, 0.8, UNIFORM)
    every = [(name, start, strand, score)
             for name, seq in sequences for start, strand, score in all_windows(seq, motif)]
    p_all = exact_pvalues(matrix, UNIFORM, np.array([w[3] for w in every]))
    q_all = bh_qvalues(p_all)
    expected = {(name, start, strand): (score, p, q)
                for (name, start, strand, score), p, q in zip(every, p_all, q_all) if p <= p_threshold}
    got = {(h.seq_name, h.start, h.strand): h for h in result}
    borderline = {(n, s, st) for (n, s, st, _), p in zip(every, p_all) if abs(p - p_threshold) <= 0.01 * p_threshold}
    assert got.keys() - borderline == expected.keys() - borderline
    assert len(expected) > 5
    for key, (score, p, q) in expected.items():
        if key not in got:
            continue
        hit = got[key]
        assert hit.score == pytest.approx(score, abs=1e-9)
        assert hit.p_value == pytest.approx(p, rel=0.01)
        # q from the reported hits alone: exact where q <= the p threshold, an upper bound above it
        if q <= p_threshold:
            assert hit.q_value == pytest.approx(q, rel=0.011)  # q inherits the p tolerance
        else:
            assert hit.q_value >= q * (1 - 0.011)
        assert hit.end - hit.start == motif.width
    assert result.scored_windows[motif_id] == len(every)


def test_minus_strand_site_coordinates_and_sequence():
    motif = select_motifs(motif_ids=["MA0833.3"])[0]  # ATF4: not palindromic
    consensus = "".join("ACGT"[i] for i in motif.counts.argmax(axis=0))
    assert consensus != reverse_complement(consensus)
    rng = np.random.default_rng(3)
    background = random_sequence(rng, 400)
    planted = background[:150] + reverse_complement(consensus).lower() + background[150 + motif.width:]
    result = scan_fasta([("chrTest", planted)], [motif], p_threshold=1e-5)
    site = [h for h in result if h.start == 150 and h.strand == "-"]
    assert len(site) == 1
    hit = site[0]
    assert hit.end == 150 + motif.width and hit.chrom == "chrTest" and hit.seq_name == "chrTest"
    assert hit.matched_sequence == consensus.lower()  # 5'->3' on its own strand, source letter case
    assert hit.rel_score == pytest.approx(1.0)


def test_palindromic_site_reported_once_per_strand():
    motif = select_motifs(motif_ids=["MA0605.3"])[0]  # ATF3: ATGACGTCAT is its own reverse complement
    rng = np.random.default_rng(5)
    sequence = random_sequence(rng, 100) + "ATGACGTCAT" + random_sequence(rng, 100)
    hits = [h for h in scan_fasta([("s", sequence)], [motif]) if h.start == 100]
    assert sorted(h.strand for h in hits) == ["+", "-"]
    assert hits[0].score == pytest.approx(hits[1].score)


def test_windows_with_n_or_iupac_are_skipped_with_one_warning(caplog):
    motif = select_motifs(motif_ids=["MA0605.3"])[0]
    site = "ATGACGTCAT"
    sequence = "ACGT" * 5 + site + "ACGT" * 5 + site[:4] + "N" + site[5:] + "ACGT" * 5 + site[:2] + "R" + site[3:]
    result = scan_fasta([("s", sequence)], [motif], p_threshold=1e-4)
    assert {h.start for h in result} == {20}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "not scored" in warnings[0]
    # the N (position 54) lies in 10 windows; the R (position 82, 8 bases from the end) in 8; two strands each
    skipped = 2 * (10 + 8)
    assert warnings[0].startswith(str(skipped))


def test_lowercase_scores_like_uppercase_unless_masked():
    motif = select_motifs(motif_ids=["MA0605.3"])[0]
    upper = "CCCCATGACGTCATCCCC"
    lower = "CCCCatgacgtcatCCCC"
    assert [(h.start, h.strand, h.score) for h in scan_fasta([("s", upper)], [motif])] == \
           [(h.start, h.strand, h.score) for h in scan_fasta([("s", lower)], [motif])]
    assert len(scan_fasta([("s", lower)], [motif], mask_lowercase=True)) == 0


def test_auto_background_is_strand_symmetric_and_used():
    motif = select_motifs(motif_ids=["MA0605.3"])[0]
    sequence = "AAAAAAAACG" * 50 + "ATGACGTCAT"
    result = scan_fasta([("s", sequence)], [motif], background="auto")
    line = dict(result.provenance)["background"]
    a, c, g, t = (float(part.split("=")[1]) for part in line.split()[1:])
    assert a == pytest.approx(t) and c == pytest.approx(g) and a > c
    uniform = scan_fasta([("s", sequence)], [motif])
    assert [h.score for h in result if h.start == 500] != [h.score for h in uniform if h.start == 500]


def test_q_threshold_and_min_rel_score_filter_further():
    rng = np.random.default_rng(11)
    sequences = [("s", random_sequence(rng, 20000))]
    motif = select_motifs(motif_ids=["MA0018.5"])[0]
    loose = scan_fasta(sequences, [motif], p_threshold=1e-3)
    q_filtered = scan_fasta(sequences, [motif], p_threshold=1e-3, q_threshold=0.5)
    assert {(h.start, h.strand) for h in q_filtered} == {(h.start, h.strand) for h in loose if h.q_value <= 0.5}
    rel_filtered = scan_fasta(sequences, [motif], p_threshold=1e-3, min_rel_score=0.9)
    assert {(h.start, h.strand) for h in rel_filtered} == \
           {(h.start, h.strand) for h in loose if h.rel_score >= 0.9 - 1e-12}


def test_default_set_on_the_example_confirmed_by_brute_force():
    result = scan_fasta(EXAMPLE)
    assert len(result) > 0
    motifs = {m.id: m for m in result.motifs}
    assert len(motifs) == 22
    for hit in result:
        matrix = log_odds(motifs[hit.motif_id].counts, 0.8, UNIFORM)
        assert window_score(matrix, hit.matched_sequence) == pytest.approx(hit.score, abs=1e-9)
        assert hit.p_value <= 1e-4
    rows = [(h.seq_name, h.start, h.motif_id, h.strand) for h in result]
    assert rows == sorted(rows)


def test_window_counts_match_a_count_per_record():
    """The windows per matrix width over many records, counted at once, are those counted record by record
    (records shorter than a matrix hold none of its windows)."""
    from motifscan.engine import _window_counts

    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 40, size=200)
    widths = np.array([5, 12, 5, 30, 41, 1], dtype=np.int64)
    expected = [sum(max(int(n) - int(w) + 1, 0) for n in lengths) for w in widths]
    assert _window_counts(lengths, widths).tolist() == expected
    assert _window_counts(np.zeros(0, dtype=np.int64), widths).tolist() == [0] * len(widths)


@pytest.mark.parametrize("n, name_range, start_range", [(1, 1, 1), (2, 3, 5), (5000, 1000, 3000),
                                                         (3000, 2**20, 2**28), (3000, 2**20, 2**40)])
def test_output_order_is_the_lexsort_of_its_keys(n, name_range, start_range):
    # the packed-key sort (row numbers in the low bits), the argsort of packed keys and the lexsort (ranges too wide
    # to pack) must all give the order of np.lexsort over (name rank, start, motif rank, strand)
    from motifscan.engine import _output_order

    rng = np.random.default_rng(n)
    name = rng.integers(0, name_range, 3 * n)
    start = rng.integers(-5, start_range, 3 * n)
    motif = rng.integers(0, 1019, 3 * n)
    minus = rng.random(3 * n) < 0.5
    keys = np.unique(np.column_stack((name, start, motif, minus)), axis=0)  # distinct, as the engine's are
    keys = keys[rng.permutation(len(keys))[:n]]
    name, start, motif, minus = keys[:, 0], keys[:, 1], keys[:, 2], keys[:, 3].astype(bool)
    assert np.array_equal(_output_order(name, start, motif, minus), np.lexsort((minus, motif, start, name)))
