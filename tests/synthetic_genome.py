"""Seeded synthetic genomes with Ensembl-style GTFs, for statistics over many promoters.

Each gene sits in a block of its own, whose sequence has the gene's GC content; genes alternate strands; a planted
site is written into the gene's promoter window (on its strand) at a random offset. Nothing here imports motifscan.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BLOCK = 3000  # bases per gene block
GENE_LENGTH = 1200  # bases of each gene body
UPSTREAM, DOWNSTREAM = 500, 100  # the window the tests use
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass
class SyntheticGenome:
    fasta: Path  # plain FASTA
    gtf: Path
    directory: Path  # holds genome.fa.gz and genes.gtf.gz too (for the Ensembl stand-in)
    names: list[str]
    gc: np.ndarray  # per gene, the GC fraction its block was drawn with
    planted: list[str] = field(default_factory=list)
    noncoding: list[str] = field(default_factory=list)


def _random_sequence(rng: np.random.Generator, length: int, gc: float) -> str:
    probs = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return _LETTERS[rng.choice(4, length, p=probs)].tobytes().decode()


def make_genome(directory: Path, n_genes: int, gc_of_gene, seed: int, plant: dict[int, str] | None = None,
                n_noncoding: int = 0, far_chromosome: bool = False, gzipped: bool = False) -> SyntheticGenome:
    """``n_genes`` protein-coding genes (G0001, ...), plus ``n_noncoding`` lincRNA genes, on chr1 (and, with
    ``far_chromosome``, the last 10 genes on an 11 Mb chr2, beyond 5 Mb, so that enumeration needs pieces).
    ``gc_of_gene(i, rng)`` gives gene i's GC; ``plant`` maps gene index -> site written into its promoter;
    ``gzipped`` also writes ``genome.fa.gz`` and ``genes.gtf.gz``."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    plant = plant or {}
    total = n_genes + n_noncoding
    chrom_of = ["1" if not far_chromosome or i < total - 10 else "2" for i in range(total)]
    sequences = {"1": [], "2": []}
    offsets = {"1": 0, "2": 6_000_000}
    gtf_lines = ["#!genome-build SYN1", "#!genome-version SYN1"]
    gcs = np.zeros(total)
    names = []
    for i in range(total):
        chrom = chrom_of[i]
        gc = float(gc_of_gene(i, rng)) if i < n_genes else 0.5
        gcs[i] = gc
        block = list(_random_sequence(rng, BLOCK, gc))
        strand = "+" if i % 2 == 0 else "-"
        start = offsets[chrom] + sum(len(b) for b in sequences[chrom]) + 1  # 1-based first base of the block
        if strand == "+":
            tss = start + 1000
            body = (tss, tss + GENE_LENGTH - 1)
        else:
            tss = start + 2000
            body = (tss - GENE_LENGTH + 1, tss)
        if i in plant:
            site = plant[i]
            offset = int(rng.integers(50, UPSTREAM - 50))  # bases upstream of the TSS, inside the window
            if strand == "+":
                first = tss - offset - start  # 0-based in the block
                block[first : first + len(site)] = list(site)
            else:
                rc = site.translate(_COMPLEMENT)[::-1]
                first = tss + offset - start - len(site) + 1
                block[first : first + len(rc)] = list(rc)
        sequences[chrom].append("".join(block))
        gene_id = f"ENSG{i + 1:011d}"
        tx_id = f"ENST{i + 1:011d}"
        name = f"G{i + 1:04d}" if i < n_genes else f"LINC{i + 1:04d}"
        biotype = "protein_coding" if i < n_genes else "lincRNA"
        names.append(name)
        common = f'gene_id "{gene_id}"; gene_version "1"; gene_name "{name}"; gene_source "ensembl"; ' \
                 f'gene_biotype "{biotype}";'
        tx = f'{common} transcript_id "{tx_id}"; transcript_version "1"; transcript_name "{name}-201"; ' \
             f'transcript_source "ensembl"; transcript_biotype "{biotype}"; tag "Ensembl_canonical";'
        gtf_lines.append(f"{chrom}\tensembl\tgene\t{body[0]}\t{body[1]}\t.\t{strand}\t.\t{common}")
        gtf_lines.append(f"{chrom}\tensembl\ttranscript\t{body[0]}\t{body[1]}\t.\t{strand}\t.\t{tx}")
        gtf_lines.append(f'{chrom}\tensembl\texon\t{body[0]}\t{body[1]}\t.\t{strand}\t.\t{tx} exon_number "1"; '
                         f'exon_id "ENSE{i + 1:011d}"; exon_version "1";')
    chromosomes = {"1": "".join(sequences["1"])}
    if far_chromosome:
        chromosomes["2"] = "N" * offsets["2"] + "".join(sequences["2"]) + "N" * 4_000_000
    fasta_text = "".join(f">{c} synthetic\n" + "\n".join(s[k : k + 60] for k in range(0, len(s), 60)) + "\n"
                         for c, s in chromosomes.items())
    gtf_text = "\n".join(gtf_lines) + "\n"
    fasta = directory / "genome.fa"
    fasta.write_text(fasta_text)
    gtf = directory / "genes.gtf"
    gtf.write_text(gtf_text)
    if gzipped:  # what the Ensembl stand-in reads
        with gzip.open(directory / "genome.fa.gz", "wt", compresslevel=1) as out:
            out.write(fasta_text)
        with gzip.open(directory / "genes.gtf.gz", "wt", compresslevel=1) as out:
            out.write(gtf_text)
    return SyntheticGenome(fasta, gtf, directory, names[:n_genes], gcs[:n_genes],
                           planted=[names[i] for i in sorted(plant)], noncoding=names[n_genes:])
