"""A sanity check against FIMO (pymemesuite) under the same model.

FIMO's p-values are quantized (scores scaled to integers; measured: median 16%, up to 2x off exact), so this compares
hit sets and the ranking of p-values, not their values. The oracle tests of p-values are in test_engine.py and
test_pvalues.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motifscan.api import scan_fasta
from motifscan.fasta import read_fasta
from motifscan.motifs import probabilities, select_motifs

pymemesuite = pytest.importorskip("pymemesuite", reason="pymemesuite (FIMO) is in the test extra")

EXAMPLE = Path(__file__).parent.parent / "examples" / "promoters.fa"
MOTIF_IDS = ["MA0605.3", "MA0833.3", "MA0018.5", "MA0609.3", "MA1632.2", "MA0019.2"]
UNIFORM = np.full(4, 0.25)


def write_meme(path: Path, motifs) -> None:
    """A MEME file holding motifscan's probabilities (pseudocount already applied), so FIMO sees the same model."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for motif in motifs:
        probs = probabilities(motif.counts, 0.8, UNIFORM)
        lines += [f"MOTIF {motif.id} {motif.name}",
                  f"letter-probability matrix: alength= 4 w= {motif.width} nsites= 20 E= 0"]
        lines += [" ".join(f"{v:.10f}" for v in column) for column in probs.T]
        lines.append("")
    path.write_text("\n".join(lines))


def fimo_hits(meme: Path, records, p_threshold: float) -> dict:
    from pymemesuite.common import Background, MotifFile, Sequence
    from pymemesuite.fimo import FIMO

    sequences = [Sequence(r.sequence, r.name.encode()) for r in records]
    with MotifFile(str(meme), pseudocount=0.0) as motif_file:
        motifs = list(motif_file)
        background = Background.from_uniform(motif_file.alphabet)
    fimo = FIMO(both_strands=True, threshold=p_threshold)
    found = {}
    for motif in motifs:
        for element in fimo.score_motif(motif, sequences, background).matched_elements:
            start = min(element.start, element.stop) - 1  # FIMO: 1-based closed
            found[(motif.accession.decode(), element.source.accession.decode(), start, element.strand)] = \
                element.pvalue
    return found


def ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def test_hit_sets_and_p_value_ranking_agree_with_fimo(tmp_path):
    motifs = select_motifs(motif_ids=MOTIF_IDS)
    rng = np.random.default_rng(2)
    records = read_fasta(EXAMPLE)
    fasta = tmp_path / "seqs.fa"
    extra = "".join(rng.choice(list("ACGT"), 200_000))
    fasta.write_text("".join(f">{r.name}\n{r.sequence}\n" for r in records) + f">random\n{extra}\n")
    records = read_fasta(fasta)
    meme = tmp_path / "motifs.meme"
    write_meme(meme, motifs)
    p_threshold = 1e-4
    theirs = fimo_hits(meme, records, p_threshold)
    ours = {(h.motif_id, h.seq_name, h.start, h.strand): h.p_value
            for h in scan_fasta(fasta, motifs, p_threshold=p_threshold)}
    shared = ours.keys() & theirs.keys()
    jaccard = len(shared) / len(ours.keys() | theirs.keys())
    print(f"motifscan {len(ours)} hits, FIMO {len(theirs)}, Jaccard {jaccard:.3f}")
    assert len(ours) > 100
    assert jaccard >= 0.8  # the rest sit near the threshold, where FIMO's quantized p-values decide differently
    ours_p = np.array([ours[k] for k in sorted(shared)])
    theirs_p = np.array([theirs[k] for k in sorted(shared)])
    spearman = np.corrcoef(ranks(ours_p), ranks(theirs_p))[0, 1]
    assert spearman >= 0.9
