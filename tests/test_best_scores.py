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
