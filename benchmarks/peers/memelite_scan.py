#!/usr/bin/env python
"""memelite as its users run it: ``memelite.fimo(MEME file, FASTA file, threshold=p)`` (numba; p-values from score
distributions in 0.1-bit bins; its default eps), then every hit written to a TSV file with pandas.

Usage: ``memelite_scan.py MOTIFS.meme SEQUENCES.fa P_THRESHOLD OUT.tsv``.
"""

import sys

import pandas
from memelite import fimo


def main(motif_path, fasta_path, p_threshold, out_path):
    frames = fimo(motif_path, fasta_path, threshold=p_threshold)
    pandas.concat(frames, ignore_index=True).to_csv(out_path, sep="\t", index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4])
