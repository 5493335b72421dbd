#!/usr/bin/env python
"""lightmotif as its users run it: motifs from a MEME file of probabilities -> log-odds (``pwm.log_odds()``) ->
lightmotif's own p-value -> score thresholds (approximate: ``ScoringMatrix.score(p)``, a discretized distribution)
-> ``lightmotif.scan`` of one striped sequence (all records joined by runs of N) with each matrix and its reverse
complement -> every hit written to a TSV file (record, 0-based start, strand, motif ID, score).

Usage: ``lightmotif_scan.py MOTIFS.meme SEQUENCES.fa P_THRESHOLD OUT.tsv``. The MEME file holds motifscan's
pseudocounted probabilities (0.8 per column), so that the hit sets can be compared; it is read as MEME because
lightmotif's JASPAR reader takes integer counts only, and 155 of JASPAR's vertebrate matrices hold fractional ones.
"""

import sys

import lightmotif
import numpy as np


def read_fasta(path):
    names, sequences, chunks = [], [], []
    with open(path) as handle:
        for line in handle:
            if line.startswith(">"):
                if names:
                    sequences.append("".join(chunks))
                names.append(line[1:].split()[0])
                chunks = []
            else:
                chunks.append(line.strip())
    if names:
        sequences.append("".join(chunks))
    return names, sequences


def main(motif_path, fasta_path, p_threshold, out_path):
    motifs = list(lightmotif.load(motif_path, format="meme"))
    pssms = [m.pwm.log_odds() for m in motifs]
    width = max(len(p) for p in pssms)
    names, sequences = read_fasta(fasta_path)
    gap = "N" * width  # no window spans two records
    striped = lightmotif.stripe(gap.join(sequences))
    starts = np.cumsum([0] + [len(s) + width for s in sequences[:-1]])
    lengths = np.array([len(s) for s in sequences])
    with open(out_path, "w") as out:
        out.write("seq_name\tstart\tstrand\tmotif_id\tscore\n")
        for motif, pssm in zip(motifs, pssms):
            w = len(pssm)
            for strand, matrix in (("+", pssm), ("-", pssm.reverse_complement())):
                threshold = matrix.score(p_threshold)
                hits = [(h.position, h.score) for h in lightmotif.scan(matrix, striped, threshold=threshold)]
                if not hits:
                    continue
                position = np.array([h[0] for h in hits])
                record = np.searchsorted(starts, position, side="right") - 1
                start = position - starts[record]
                inside = start + w <= lengths[record]  # windows running into the N gap are not sites
                out.writelines(f"{names[r]}\t{s}\t{strand}\t{motif.name}\t{score:.4f}\n"
                               for r, s, score, ok in zip(record, start, (h[1] for h in hits), inside) if ok)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4])
