"""Per-promoter best scores, sites, GC/CpG and promoter ranks against a brute-force scan (every window scored one at a
time by tests/oracles.py, both strands)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import reverse_complement, window_score

from motifscan.best_scores import promoter_rank_p, score_promoters, scoring_model
from motifscan.motifs import select_motifs


def _brute_best(matrix: np.ndarray, sequences: list[str]) -> float:
    scores = []
    width = matrix.shape[1]
    for sequence in sequences:
        for i in range(len(sequence) - width + 1):
            window = sequence[i : i + width].upper()
            if set(window) <= set("ACGT"):
                scores.append(window_score(matrix, window))
                scores.append(window_score(matrix, reverse_complement(window)))
    return max(scores) if scores else np.nan


@pytest.fixture(scope="module")
def promoters():
    rng = np.random.default_rng(11)
    windows = []
    for g in range(30):
        n_windows = 1 + g % 2
        sequences = []
        for _ in range(n_windows):
            gc = 0.3 + 0.4 * rng.random()
            probs = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
            sequence = "".join(rng.choice(list("ACGT"), 300, p=probs))
            if g % 7 == 0:
                sequence = sequence[:100] + "N" * 30 + sequence[130:]
            if g % 5 == 0:
                sequence = sequence[:150] + "TGACGTCA" + sequence[158:]  # a CRE
            sequences.append(sequence)
        windows.append(sequences)
    windows[3] = ["N" * 300]  # no scorable window at all
    return windows


def test_best_scores_sites_and_gc_equal_brute_force(promoters):
    motifs = select_motifs(motif_ids=["MA0018.5", "MA0605.3", "MA0079.5"])  # CREB1, ATF3, SP1
    model = scoring_model(motifs, np.full(4, 0.25), 0.8, 1e-4, promoter_length=300)
    ids = [f"G{i}" for i in range(len(promoters))]
    table = score_promoters(ids, ids, promoters, model)
    censored = 0
    for g, sequences in enumerate(promoters):
        for j, matrix in enumerate(model.log_odds):
            expected = _brute_best(matrix, sequences)
            if np.isnan(expected):
                assert np.isnan(table.best[g, j])
            elif expected < model.floor_score[j] - 1e-9:
                assert table.best[g, j] == -np.inf
                censored += 1
            else:
                assert table.best[g, j] == pytest.approx(expected, abs=1e-9)
            assert table.has_site[g, j] == (not np.isnan(expected) and expected >= model.site_threshold[j] - 1e-9)
        text = "".join(sequences).upper()
        acgt = sum(text.count(x) for x in "ACGT")
        if acgt:
            assert table.gc[g] == pytest.approx((text.count("C") + text.count("G")) / acgt)
            cpg = sum(s.upper().count("CG") for s in sequences)
            assert table.cpg_oe[g] == pytest.approx(cpg * acgt / (text.count("C") * text.count("G")))
    assert table.has_site[::5, 0].all()  # the planted CREs
    assert censored < 0.1 * table.best.size


def test_promoter_rank_p_equals_counting(promoters):
    motifs = select_motifs(motif_ids=["MA0018.5", "MA0605.3"])
    model = scoring_model(motifs, np.full(4, 0.25), 0.8, 1e-3, promoter_length=300)
    ids = [f"G{i}" for i in range(len(promoters))]
    table = score_promoters(ids, ids, promoters, model)
    rng = np.random.default_rng(0)
    motif_index = rng.integers(0, 2, 40)
    score = rng.uniform(model.site_threshold.min(), 14, 40)
    score[:5] = table.best[0, motif_index[:5]]  # ties with a promoter's best count as "at least"
    own = [ids[i] if i < 30 else "ELSEWHERE" for i in rng.integers(0, 40, 40)]
    ranks = promoter_rank_p(table, motif_index, score, own)
    for s in range(40):
        j = motif_index[s]
        others = [g for g in range(len(ids)) if ids[g] != own[s] and not np.isnan(table.best[g, j])]
        k = sum(table.best[g, j] >= score[s] - 1e-9 for g in others)
        assert ranks[s] == pytest.approx((1 + k) / (1 + len(others)))


def test_background_of_merged_promoters_follows_scans_window_rule(tmp_path):
    """--transcripts all: a gene's best score is over the motif windows wholly inside one transcript's own window
    (scan's rule, motifscan.engine), never one straddling the junction of two merged windows; brute force over the
    windows cut from the GTF's TSSs by the README's formula, with CREs planted across junctions."""
    from motifscan.promoter_background import PromoterRule, build_background
    from motifscan.sources.local import LocalGenomeSource

    up, down = 100, 50
    rng = np.random.default_rng(5)
    chrom = list(rng.choice(list("ACGT"), 40_000))
    gtf, own_windows = ["#!genome-build T1"], {}
    for g in range(24):
        base = 1000 + g * 1500
        strand = "+" if g % 2 == 0 else "-"
        offsets = sorted({0, *rng.integers(20, 300, size=g % 3)} | ({up + down} if g % 4 == 0 else set()))
        windows = []
        gene_id = f"ENSG{g + 1:011d}"
        for k, offset in enumerate(offsets):
            tss = base + int(offset)  # 0-based TSS base
            start, end = (tss, tss + 400) if strand == "+" else (tss - 399, tss + 1)
            windows.append((tss - up, tss + down) if strand == "+" else (tss - down + 1, tss + up + 1))
            tags = ' tag "Ensembl_canonical";' if k == 0 else ""
            gtf.append(f"1\tt\ttranscript\t{start + 1}\t{end}\t.\t{strand}\t.\tgene_id \"{gene_id}\"; transcript_id "
                       f"\"ENST{g * 10 + k + 1:011d}\"; gene_name \"G{g}\"; gene_biotype \"protein_coding\"; "
                       f"transcript_biotype \"protein_coding\";{tags}")
        windows.sort()
        for (_, a_end), (b_start, _) in zip(windows, windows[1:]):
            if b_start <= a_end:  # plant a CRE across the first window's end
                chrom[a_end - 4 : a_end + 4] = list("TGACGTCA")
        own_windows[f"G{g}"] = windows
    (tmp_path / "g.fa").write_text(">1\n" + "".join(chrom) + "\n")
    (tmp_path / "g.gtf").write_text("\n".join(gtf) + "\n")
    motifs = select_motifs(motif_ids=["MA0018.5", "MA0605.3", "MA0079.5"])
    with LocalGenomeSource(tmp_path / "g.fa", tmp_path / "g.gtf", tmp_path / "cache") as source:
        bg = build_background(source, motifs, rule=PromoterRule(up, down, "all"), universe_names=None,
                              universe_label="protein_coding", jaspar_release="JASPAR2026", pseudocount=0.8,
                              background="uniform", p_threshold=1e-4, min_rel_score=None, mask_lowercase=False,
                              jobs=1, cache=None)
    table = bg.scores
    assert sorted(table.gene_names) == sorted(own_windows)
    text = "".join(chrom)
    straddled = 0
    for j, matrix in enumerate(bg.model.log_odds):
        width = matrix.shape[1]
        for i, name in enumerate(table.gene_names):
            expected = _brute_best(matrix, [text[a:b] for a, b in own_windows[name]])
            merged = _brute_best(matrix, [text[min(a for a, _ in own_windows[name]):
                                               max(b for _, b in own_windows[name])]])
            straddled += merged > expected + 1e-9
            floor = table.floor_score[j]
            if expected >= floor - 1e-9:
                assert table.best[i, j] == pytest.approx(expected, abs=1e-9), (name, motifs[j].id)
            else:
                assert table.best[i, j] == -np.inf
            assert table.has_site[i, j] == (expected >= table.site_threshold[j] - 1e-9)
            assert width
    assert straddled >= 3  # the rule matters here: whole merged promoters would score higher
    for i, name in enumerate(table.gene_names):  # GC over the merged promoters, each base once
        covered = sorted({x for a, b in own_windows[name] for x in range(a, b)})
        letters = [text[x] for x in covered]
        assert table.gc[i] == pytest.approx(sum(c in "GC" for c in letters) / len(letters), abs=1e-12)
