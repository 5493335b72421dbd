"""Promoter windows clipped at a chromosome end say which end (issue 9, item 25)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import motifscan


@pytest.fixture
def edge_genome(tmp_path):
    """A 3000 bp chr1: gene EDGEA (+) starts at base 101, gene EDGEB (-) ends at base 2950 (1-based)."""
    rng = np.random.default_rng(5)
    fasta = tmp_path / "genome.fa"
    fasta.write_text(">1\n" + "".join(rng.choice(list("ACGT"), 3000)) + "\n")
    lines = []
    for gene, start, end, strand in (("EDGEA", 101, 1200, "+"), ("EDGEB", 1800, 2950, "-")):
        ids = f'gene_id "G{gene}"; gene_name "{gene}"; gene_biotype "protein_coding";'
        tx = f'{ids} transcript_id "T{gene}"; transcript_biotype "protein_coding"; tag "Ensembl_canonical";'
        lines += [f"1\tsyn\tgene\t{start}\t{end}\t.\t{strand}\t.\t{ids}",
                  f"1\tsyn\ttranscript\t{start}\t{end}\t.\t{strand}\t.\t{tx}",
                  f"1\tsyn\texon\t{start}\t{end}\t.\t{strand}\t.\t{tx} exon_number \"1\";"]
    gtf = tmp_path / "genes.gtf"
    gtf.write_text("\n".join(lines) + "\n")
    return fasta, gtf


def test_clipped_windows_name_the_end_they_were_cut_at(edge_genome, caplog):
    fasta, gtf = edge_genome
    logging.getLogger("motifscan").propagate = True
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        result = motifscan.scan_genes(["EDGEA", "EDGEB"], "ATF3", genome=fasta, annotation=gtf, upstream=500,
                                      downstream=100)
    records = sorted(result.records.values(), key=lambda r: r.start)
    assert (records[0].start, records[1].end) == (0, 3000)  # both windows really were clipped
    warnings = {r.getMessage().split(":")[0]: r.getMessage() for r in caplog.records if "clipped" in r.getMessage()}
    (a,) = [m for name, m in warnings.items() if name.startswith("EDGEA")]
    (b,) = [m for name, m in warnings.items() if name.startswith("EDGEB")]
    assert "clipped at the start (position 1) of chromosome 1" in a and "end" not in a.split("clipped")[1]
    assert "clipped at the end (position 3,000) of chromosome 1" in b


def test_mask_lowercase_leaves_lowercase_out_of_the_auto_background():
    """README, Statistics: with --mask-lowercase, --background auto counts only the letters that are scored."""
    records = [("r1", "gc" * 500 + "AT" * 200)]
    masked = motifscan.scan_fasta(records, "ATF3", background="auto", mask_lowercase=True)
    unmasked = motifscan.scan_fasta(records, "ATF3", background="auto")
    a, c, g, t = masked.provenance.background  # the uppercase AT repeat alone (plus a small pseudocount)
    assert a == t > 0.49 and c == g < 0.01
    assert unmasked.provenance.background[1] > 0.3  # the gc letters counted
