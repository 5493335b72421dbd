"""Which windows of a gene scan count as tests for Benjamini-Hochberg (issue 10): exactly those that can be hits.

A gene with 30 transcripts whose promoter windows abut is one merged promoter; a window straddling the junction of
two transcripts' windows lies in no transcript's promoter: it is neither reported nor counted. Oracle: brute-force
log-odds scores of every window that counts (both strands), exact p-values by enumerating all 4^w words, and a
plain Benjamini-Hochberg over all of them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import motifscan
from motifscan.motifs import log_odds, reverse_complement_matrix, select_motifs

UP = DOWN = 10
TSS = [1000 + 20 * i for i in range(30)]  # 0-based TSS bases: windows [tss - 10, tss + 10) abut
PLANTS = {1005: "ATGACGTCAT", 1300: "ATGACGTCAT", 1502: "ATGACGTCAT"}  # 1005 and 1502 straddle a junction


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    folder = tmp_path_factory.mktemp("merged")
    rng = np.random.default_rng(11)
    sequence = list("".join(rng.choice(list("ACGT"), 4000)))
    for start, site in PLANTS.items():
        sequence[start : start + len(site)] = site
    sequence = "".join(sequence)
    (folder / "genome.fa").write_text(">1\n" + sequence + "\n")
    ids = 'gene_id "GM1"; gene_name "MERGED"; gene_biotype "protein_coding";'
    lines = [f"1\tsyn\tgene\t{TSS[0] + 1}\t3000\t.\t+\t.\t{ids}"]
    for i, tss in enumerate(TSS):
        tag = ' tag "Ensembl_canonical";' if i == 0 else ""
        tx = f'{ids} transcript_id "TM{i:03d}"; transcript_biotype "protein_coding";{tag}'
        lines += [f"1\tsyn\ttranscript\t{tss + 1}\t3000\t.\t+\t.\t{tx}",
                  f"1\tsyn\texon\t{tss + 1}\t3000\t.\t+\t.\t{tx} exon_number \"1\";"]
    (folder / "genes.gtf").write_text("\n".join(lines) + "\n")
    return folder / "genome.fa", folder / "genes.gtf", sequence


def _exact_upper_tail(matrix: np.ndarray) -> np.ndarray:
    """All 4^w word scores of ``matrix`` (4, w), sorted: the exact null distribution under a uniform background."""
    scores = np.zeros(1)
    for column in matrix.T:
        scores = (scores[:, None] + column[None, :]).ravel()
    return np.sort(scores)


def _bh(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    m = len(p)
    q = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def test_tests_counted_are_the_windows_that_can_be_hits(genome):
    fasta, gtf, sequence = genome
    (motif,) = select_motifs(motif_ids=["MA0605.3"])
    width = motif.width
    matrix = log_odds(motif.counts, 0.8, np.full(4, 0.25))
    minus = reverse_complement_matrix(matrix)
    codes = np.array(["ACGT".index(c) for c in sequence])
    starts = sorted({s for tss in TSS for s in range(tss - UP, tss + DOWN - width + 1)})  # wholly in one window
    union = range(TSS[0] - UP, TSS[-1] + DOWN - width + 1)
    assert len(union) - len(starts) > 200  # many straddling windows: counting them would change every q
    null = _exact_upper_tail(matrix)
    rows = []
    for start, strand in itertools.product(starts, "+-"):
        used = minus if strand == "-" else matrix
        score = used[codes[start : start + width], np.arange(width)].sum()
        p = (len(null) - np.searchsorted(null, score - 1e-9)) / len(null)
        rows.append((start, strand, p))
    p_all = np.array([r[2] for r in rows])
    q_all = _bh(p_all)  # m = every window that counts, both strands
    p_threshold = 1e-3
    oracle = {(s, st): (p, q) for (s, st, p), q in zip(rows, q_all) if p <= p_threshold}
    assert all(abs(p / p_threshold - 1) > 0.02 for p, _ in oracle.values())  # no hit sits on the threshold
    result = motifscan.scan_genes("MERGED", "MA0605.3", genome=fasta, annotation=gtf, upstream=UP, downstream=DOWN,
                                  transcripts="all", p_threshold=p_threshold)
    assert len(result.records) == 1  # one merged promoter
    assert result.scored_windows["MA0605.3"] == len(rows)
    ours = {(h.start, h.strand): (h.p_value, h.q_value) for h in result}
    assert ours.keys() == oracle.keys() and len(ours) >= 2
    assert not any(start in (1005, 1502) for start, _ in ours)  # the straddling planted sites are not hits
    assert any(start == 1300 for start, _ in ours)
    for key, (p, q) in oracle.items():
        assert ours[key][0] == pytest.approx(p, rel=0.01)
        assert ours[key][1] == pytest.approx(q, rel=0.02)


def test_windows_outside_every_window_against_brute_force():
    """The engine's count of windows lying in no target window (its shortcut for chains that overlap by at least
    a motif width included) against a count over every start, for random merged chains of windows."""
    from motifscan.encoding import INVALID, encode, encode_joined
    from motifscan.engine import ScanTarget, _outside_windows

    rng = np.random.default_rng(3)
    widths = np.array([6, 10, 15])
    for _ in range(200):
        length = int(rng.integers(30, 200))
        starts = np.sort(rng.integers(0, length - 5, int(rng.integers(2, 6))))
        windows, reach = [], 0
        for start in starts:
            start = min(int(start), reach) if windows else int(start)  # each window overlaps or abuts the chain
            end = int(min(length, start + rng.integers(5, 80)))
            windows.append((start, end))
            reach = max(reach, end)
        sequence = "".join(rng.choice(list("ACGTN"), length, p=[0.24, 0.24, 0.24, 0.24, 0.04]))
        code = encode(sequence)
        expected = []
        for width in widths:
            count = 0
            for s in range(length - width + 1):
                valid = not (code[s : s + width] == INVALID).any()
                inside = any(a <= s and s + width <= b for a, b in windows)
                count += valid and not inside
            expected.append(count)
        got = _outside_windows([ScanTarget("t", sequence, "1", 0, "+", tuple(windows))], encode_joined([sequence]),
                               widths)
        assert got.tolist() == expected, (windows, length)
