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


def _fimo_tsv(meme: Path, records, p_threshold: float) -> str:
    """FIMO's TSV text of pymemesuite's matched elements, printed with the formats of fimo.c ``print_site_as_tsv``
    and ``print_fimo_tsv_file`` (pymemesuite runs FIMO's scoring but does not write the file): ``%g`` score,
    ``%.3g`` p-value and q-value, then a blank line and FIMO's ``#`` lines."""
    from pymemesuite.common import Background, MotifFile, Sequence
    from pymemesuite.fimo import FIMO

    sequences = [Sequence(r.sequence, r.name.encode()) for r in records]
    with MotifFile(str(meme), pseudocount=0.0) as motif_file:
        motifs = list(motif_file)
        background = Background.from_uniform(motif_file.alphabet)
    lines = ["motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence"]
    for motif in motifs:
        for e in FIMO(both_strands=True, threshold=p_threshold).score_motif(motif, sequences,
                                                                             background).matched_elements:
            start, stop = sorted((e.start, e.stop))
            lines.append("%s\t%s\t%s\t%d\t%d\t%c\t%g\t%.3g\t%.3g\t%s" % (  # noqa: UP031 (fimo.c printf)
                motif.accession.decode(), motif.name.decode(), e.source.accession.decode(), start, stop, e.strand,
                e.score, e.pvalue, e.qvalue, e.sequence))
    return "\n".join(lines) + "\n\n# FIMO (Find Individual Motif Occurrences): Version 5\n# fimo motifs.meme seqs.fa\n"


def _layout(text: str) -> tuple[list[str], list[list[str]], list[str]]:
    """(header fields, data rows as fields, trailing lines) of a FIMO TSV; the rows end at the first blank line."""
    lines = text.split("\n")
    blank = lines.index("")
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:blank]], lines[blank + 1 :]


def test_fimo_output_has_fimos_layout_and_three_significant_digits(tmp_path):
    motifs = select_motifs(motif_ids=MOTIF_IDS[:2])
    meme = tmp_path / "motifs.meme"
    write_meme(meme, motifs)
    records = read_fasta(EXAMPLE)
    theirs = _layout(_fimo_tsv(meme, records, 1e-3))
    result = scan_fasta(EXAMPLE, motifs, p_threshold=1e-3)
    ours = _layout(result.to_fimo())
    assert ours[0] == theirs[0]  # the same header
    assert len(ours[1]) == len(result) > 10 and len(theirs[1]) > 10
    assert {len(r) for r in ours[1]} == {len(r) for r in theirs[1]} == {10}
    for row, hit in zip(sorted(ours[1], key=lambda r: (r[0], r[2], int(r[3]), r[5])),
                        sorted(result, key=lambda h: (h.motif_id, h.seq_name, h.start, h.strand))):
        for token, value in ((row[7], hit.p_value), (row[8], hit.q_value)):
            assert token == f"{value:.3g}"  # FIMO's %.3g: at most 3 significant digits
            assert len(token.split("e")[0].replace(".", "").replace("-", "").lstrip("0")) <= 3
    # FIMO's trailing lines: after one blank line, comments only; ours say which q-value they hold
    assert ours[2] and all(line.startswith("#") or line == "" for line in ours[2])
    assert all(line.startswith("#") or line == "" for line in theirs[2])
    assert ours[2][-1] == "" and theirs[2][-1] == ""
    assert any("q-value: Benjamini-Hochberg" in line for line in ours[2])
