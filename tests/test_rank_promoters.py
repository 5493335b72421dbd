"""scan --rank-promoters: every site's promoter_rank_p against a brute-force scan of every background promoter, in
the API, the TSV (read back by read_tsv and plot) and the GFF3."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from synthetic_genome import DOWNSTREAM, UPSTREAM, make_genome

from motifscan.api import scan_genes
from motifscan.cli import cli
from motifscan.model import Region
from motifscan.motifs import log_odds, select_motifs
from motifscan.sources.local import LocalGenomeSource
from motifscan.writers import read_tsv


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    plant = {i: "TGACGTCA" for i in range(0, 120, 6)}
    return make_genome(tmp_path_factory.mktemp("rank"), 120, lambda i, rng: 0.5, seed=7, plant=plant)


def _brute_best(matrix: np.ndarray, text: str) -> float:
    """Best window score on either strand, every window, column by column (the reverse-complement matrix)."""
    codes = np.array(["ACGT".index(c) for c in text.upper()])
    w = matrix.shape[1]
    n = len(codes) - w + 1
    forward = sum(matrix[codes[k : k + n], k] for k in range(w))
    reverse = sum(matrix[::-1, ::-1][codes[k : k + n], k] for k in range(w))
    return float(max(forward.max(), reverse.max()))


def test_promoter_rank_p_equals_brute_force(genome, tmp_path):
    query = genome.planted[:4] + genome.names[1:3]
    ids = ["MA0018.5", "MA0605.3"]
    result = scan_genes(query, ids, genome=genome.fasta, annotation=genome.gtf, upstream=UPSTREAM,
                        downstream=DOWNSTREAM, p_threshold=1e-3, rank_promoters=True, cache_dir=tmp_path)
    assert result.promoter_rank_p is not None and len(result.promoter_rank_p) == len(result) > 10
    motifs = {m.id: log_odds(m.counts, 0.8, np.full(4, 0.25)) for m in select_motifs(motif_ids=ids)}
    with LocalGenomeSource(genome.fasta, genome.gtf, tmp_path) as source:
        best = {}
        for gene in source.genes:
            tss = gene.canonical_transcript.tss
            start, end = (tss - UPSTREAM, tss + DOWNSTREAM) if gene.strand == "+" else \
                (tss - DOWNSTREAM + 1, tss + UPSTREAM + 1)
            text = source.fetch_sequences([Region(gene.chrom, start, end)])[0]
            best[gene.id] = {i: _brute_best(m, text) for i, m in motifs.items()}
    for hit, rank in zip(result, result.promoter_rank_p):
        others = [b[hit.motif_id] for g, b in best.items() if g != hit.gene_id]
        k = sum(v >= hit.score - 1e-9 for v in others)
        assert rank == pytest.approx((1 + k) / (1 + len(others)), rel=1e-12)
    frame = result.to_pandas()
    assert list(frame["promoter_rank_p"]) == list(result.promoter_rank_p)


def test_cli_writes_the_column_and_tools_read_it_back(genome, tmp_path):
    out, gff3 = tmp_path / "hits.tsv", tmp_path / "hits.gff3"
    result = CliRunner().invoke(cli, ["scan", "--genome", str(genome.fasta), "--annotation", str(genome.gtf),
                                      "--upstream", str(UPSTREAM), "--downstream", str(DOWNSTREAM), "--rank-promoters",
                                      *genome.planted[:3], "-o", str(out), "--gff3", str(gff3)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert lines[0].endswith("\tpromoter_rank_p")
    ranks = [float(line.split("\t")[-1]) for line in lines[1:]]
    assert ranks and all(0 < r <= 1 for r in ranks)
    assert min(ranks) < 0.2  # a planted CRE ties only with the other 19 planted promoters, beats the rest
    _, table = read_tsv(out)
    assert len(table) == len(ranks)
    assert all("promoter_rank_p=" in line for line in gff3.read_text().splitlines() if not line.startswith("#"))
    bad = CliRunner().invoke(cli, ["scan", "--genome", "demo", "FOXC1", "--rank-promoters", "--background", "auto"])
    assert bad.exit_code == 2 and "fixed --background" in bad.output
