#!/usr/bin/env python
"""FIMO (MEME suite, through pymemesuite) as its Python users run it: motifs from a MEME file, a uniform
background, ``FIMO(both_strands=True, threshold=p).score_motif`` per motif, every hit written to a TSV file (FIMO's
columns, 1-based inclusive coordinates). Single-threaded.

Usage: ``fimo_scan.py MOTIFS.meme SEQUENCES.fa P_THRESHOLD OUT.tsv``.
"""

import sys

from pymemesuite.common import Background, MotifFile, Sequence
from pymemesuite.fimo import FIMO


def read_fasta(path):
    records, name, chunks = [], None, []
    with open(path) as handle:
        for line in handle:
            if line.startswith(">"):
                if name is not None:
                    records.append(Sequence("".join(chunks), name.encode()))
                name, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if name is not None:
        records.append(Sequence("".join(chunks), name.encode()))
    return records


def main(motif_path, fasta_path, p_threshold, out_path):
    sequences = read_fasta(fasta_path)
    with MotifFile(motif_path) as motif_file:
        motifs = list(motif_file)
        background = Background.from_uniform(motif_file.alphabet)
    fimo = FIMO(both_strands=True, threshold=p_threshold)
    with open(out_path, "w") as out:
        out.write("motif_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\n")
        for motif in motifs:
            pattern = fimo.score_motif(motif, sequences, background)
            for e in pattern.matched_elements:
                out.write(f"{motif.accession.decode()}\t{e.source.accession.decode()}\t{min(e.start, e.stop)}\t"
                          f"{max(e.start, e.stop)}\t{e.strand}\t{e.score:.4f}\t{e.pvalue:.3g}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4])
