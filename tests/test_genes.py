"""Gene scans end to end: the demo genome and the Ensembl stand-in agree, and both agree with an independent
brute-force scan of promoter windows cut by hand from the FASTA (TSS facts from the data's README)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from oracles import exact_pvalues, read_fasta_plainly, reverse_complement, window_score

from motifscan.api import scan_genes
from motifscan.cli import cli
from motifscan.motifs import log_odds, select_motifs

DEMO = Path(__file__).parent.parent / "genomes" / "grch37_demo"
GENES = ["FOXC1", "FOXQ1", "GTPBP6"]
# canonical TSSs, 1-based, from the test genome's README: FOXC1 6:1,610,681 +; FOXQ1 6:1,312,675 +; GTPBP6 X:230,886 -
TSS_1BASED = {"FOXC1": ("6", 1_610_681, "+"), "FOXQ1": ("6", 1_312_675, "+"), "GTPBP6": ("X", 230_886, "-")}
UNIFORM = np.full(4, 0.25)


@pytest.fixture(scope="module")
def genome() -> dict[str, str]:
    return read_fasta_plainly(DEMO / "genome.fa.gz")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def rows(path: Path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def hand_window(gene: str, upstream=2000, downstream=500) -> tuple[str, int, int, str]:
    """(chrom, start, end, strand) of the promoter window, 0-based half-open, computed by hand from the 1-based TSS."""
    chrom, tss, strand = TSS_1BASED[gene]
    if strand == "+":  # 1-based [tss - upstream, tss + downstream - 1] -> 0-based half-open
        return chrom, tss - upstream - 1, tss + downstream - 1, strand
    return chrom, tss - downstream, tss + upstream, strand  # 1-based [tss - downstream + 1, tss + upstream]


def test_demo_scan_equals_brute_force_of_hand_cut_windows(genome):
    motif = select_motifs(motif_ids=["MA0018.5"])[0]
    p_threshold = 1e-3
    result = scan_genes(GENES, [motif], genome="demo", p_threshold=p_threshold)
    matrix = log_odds(motif.counts, 0.8, UNIFORM)
    windows = []  # (gene, chrom, start, strand, score) of every all-ACGT window, one at a time
    for gene in GENES:
        chrom, start, end, _ = hand_window(gene)
        for offset in range(end - start - motif.width + 1):
            site = genome[chrom][start + offset : start + offset + motif.width]
            if set(site.upper()) - set("ACGT"):
                continue
            for strand, word in (("+", site), ("-", reverse_complement(site))):
                windows.append((gene, chrom, start + offset, strand, window_score(matrix, word)))
    p_values = exact_pvalues(matrix, UNIFORM, np.array([w[4] for w in windows]))
    expected = {w[:4] for w, p in zip(windows, p_values) if p <= p_threshold}
    borderline = {w[:4] for w, p in zip(windows, p_values) if abs(p - p_threshold) <= 0.01 * p_threshold}
    got = {(h.gene_name, h.chrom, h.start, h.strand) for h in result}
    assert got - borderline == expected - borderline
    assert {g for g, *_ in got} == set(GENES)
    for hit in result:
        site = genome[hit.chrom][hit.start : hit.end]
        assert hit.matched_sequence == (site if hit.strand == "+" else reverse_complement(site))


def test_tss_relative_positions_by_hand():
    result = scan_genes(GENES, None, genome="demo", p_threshold=1e-3)
    assert len(result) > 20
    for hit in result:
        chrom, tss, strand = TSS_1BASED[hit.gene_name]
        first, last = hit.start + 1, hit.end  # 1-based bases of the site
        if strand == "+":
            rel = [b - tss + 1 if b >= tss else b - tss for b in (first, last)]
        else:
            rel = [tss - b + 1 if b <= tss else tss - b for b in (first, last)]
        assert (hit.tss_rel_start, hit.tss_rel_end) == (min(rel), max(rel))
        assert 0 not in (hit.tss_rel_start, hit.tss_rel_end)
        assert -2000 <= hit.tss_rel_start <= hit.tss_rel_end <= 500


def test_standin_and_demo_give_identical_hits(ensembl_standin, tmp_path):
    demo, rest = tmp_path / "demo.tsv", tmp_path / "rest.tsv"
    assert run("scan", "--genome", "demo", *GENES, "-o", demo).exit_code == 0
    result = run("scan", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37", "--cache-dir",
                 tmp_path / "cache", *GENES, "-o", rest)
    assert result.exit_code == 0, result.output
    assert rows(demo) == rows(rest) and len(rows(demo)) > 0
    assert "ensembl_release" in rest.read_text() and ensembl_standin.url in rest.read_text()


def test_offline_answers_from_cache_and_names_missing_genes(ensembl_standin, tmp_path):
    cache = tmp_path / "cache"
    online = tmp_path / "online.tsv"
    assert run("scan", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37", "--cache-dir", cache,
               "FOXC1", "-o", online).exit_code == 0
    ensembl_standin.requests.clear()
    offline = tmp_path / "offline.tsv"
    result = run("scan", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37", "--cache-dir", cache,
                 "--offline", "FOXC1", "FOXQ1", "-o", offline)
    assert result.exit_code == 0
    assert "FOXQ1" in result.output and ensembl_standin.requests == []
    assert rows(offline) == rows(online)
    nothing = run("scan", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37", "--cache-dir",
                  tmp_path / "empty", "--offline", "FOXQ1", "-o", tmp_path / "none.tsv")
    assert nothing.exit_code == 1 and "FOXQ1" in nothing.output
    assert not (tmp_path / "none.tsv").exists()


def test_alias_resolution_is_reported(ensembl_standin, tmp_path):
    result = run("scan", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37", "--cache-dir",
                 tmp_path / "cache", "FKHL7", "-o", tmp_path / "alias.tsv")
    assert result.exit_code == 0
    assert "FKHL7" in result.output and "FOXC1" in result.output
    assert {r["gene_name"] for r in rows(tmp_path / "alias.tsv")} == {"FOXC1"}


@pytest.mark.parametrize("genes, extra, code", [
    (["FOXC1", "NOTAGENE"], [], 0),
    (["NOTAGENE", "ALSONOT"], [], 1),
    (["FOXC1", "NOTAGENE"], ["--strict"], 1),
])
def test_missing_genes_exit_codes(tmp_path, genes, extra, code):
    out = tmp_path / "out.tsv"
    result = run("scan", "--genome", "demo", *genes, *extra, "-o", out)
    assert result.exit_code == code
    assert "NOTAGENE" in result.output
    assert out.exists() == (code == 0)


def test_a_gene_asked_for_twice_is_scanned_once():
    once = scan_genes(["FOXC1"], genome="demo", p_threshold=1e-3)
    twice = scan_genes(["FOXC1", "ENST00000380874", "foxc1"], genome="demo", p_threshold=1e-3)
    assert [(h.start, h.strand, h.motif_id, h.q_value) for h in twice] == \
           [(h.start, h.strand, h.motif_id, h.q_value) for h in once]
    assert twice.scored_windows == once.scored_windows


def test_a_gene_and_another_of_its_transcripts_are_merged():
    gene = scan_genes(["GTPBP6"], genome="demo", p_threshold=1e-3)  # canonical ENST00000326153
    both = scan_genes(["GTPBP6", "ENST00000400701"], genome="demo", transcripts="canonical", p_threshold=1e-3)
    assert len(both.records) == 1
    record = next(iter(both.records.values()))
    assert record.name == "GTPBP6|ENST00000326153,ENST00000400701"  # overlapping windows: one record
    assert {(h.start, h.strand, h.motif_id) for h in gene} <= {(h.start, h.strand, h.motif_id) for h in both}


def test_no_promoter_window_is_a_failure(tmp_path):
    # GMDS's canonical TSS (6:2,245,926) lies past the end of the demo's record 6 (2,051,541 bp)
    result = run("scan", "--genome", "demo", "GMDS", "-o", tmp_path / "out.tsv")
    assert result.exit_code == 1 and "GMDS" in result.output
    assert not (tmp_path / "out.tsv").exists()
    assert run("scan", "--genome", "demo", "GMDS", "FOXC1", "-o", tmp_path / "out.tsv").exit_code == 0


def test_gene_ids_transcript_ids_and_gene_file(tmp_path):
    by_symbol = scan_genes(["foxc1"], genome="demo")
    by_id = scan_genes(["ENSG00000054598.5"], genome="demo")
    by_transcript = scan_genes(["ENST00000380874"], genome="demo")
    key = lambda r: [(h.motif_id, h.start, h.strand) for h in r]  # noqa: E731
    assert key(by_symbol) == key(by_id) == key(by_transcript) and len(by_symbol) > 0
    gene_file = tmp_path / "genes.txt"
    gene_file.write_text("# demo genes\nFOXC1\n\nFOXQ1  # a comment\n")
    out = tmp_path / "file.tsv"
    assert run("scan", "--genome", "demo", "--genes-file", gene_file, "-o", out).exit_code == 0
    assert {r["gene_name"] for r in rows(out)} <= {"FOXC1", "FOXQ1"}


def test_all_transcripts_merge_windows_and_list_holding_transcripts():
    result = scan_genes(["GTPBP6"], genome="demo", transcripts="all", p_threshold=1e-3)
    assert len(result) > 0
    record = next(iter(result.records.values()))
    assert "," in record.name  # several transcripts in one merged window
    for hit in result:
        assert hit.seq_name == record.name and hit.transcript_ids
        assert set(hit.transcript_ids) <= set(record.name.split("|")[1].split(","))


def test_promoters_fasta_header_and_sequence(genome, tmp_path):
    out = tmp_path / "promoters.fa"
    assert run("promoters", "--genome", "demo", "FOXC1", "GTPBP6", "-o", out).exit_code == 0
    text = out.read_text().split(">")[1:]
    headers = [record.splitlines()[0] for record in text]
    assert headers == ["FOXC1|ENST00000380874 6:1608681-1611180(+)", "GTPBP6|ENST00000326153 X:230387-232886(-)"]
    for record, gene in zip(text, ["FOXC1", "GTPBP6"]):
        chrom, start, end, strand = hand_window(gene)
        sequence = "".join(record.splitlines()[1:])
        forward = genome[chrom][start:end]
        assert sequence == (forward if strand == "+" else reverse_complement(forward))


def test_ucsc_chrom_style():
    result = scan_genes(["FOXC1"], genome="demo", chrom_style="ucsc", p_threshold=1e-3)
    assert {h.chrom for h in result} == {"chr6"}


@pytest.mark.skipif(shutil.which("bedtools") is None and not os.environ.get("MOTIFSCAN_REQUIRE_BEDTOOLS"),
                    reason="bedtools is not installed (CI installs it and sets MOTIFSCAN_REQUIRE_BEDTOOLS=1)")
def test_bed_of_gene_scan_through_bedtools_getfasta(genome, tmp_path):
    result = scan_genes(GENES, genome="demo", p_threshold=1e-3)
    bed = tmp_path / "hits.bed"
    bed.write_text("".join(line + "\n" for line in result.to_bed().splitlines() if not line.startswith("#")))
    fasta = tmp_path / "genome.fa"
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in genome.items()))
    done = subprocess.run(["bedtools", "getfasta", "-s", "-tab", "-fi", fasta, "-bed", bed],
                          capture_output=True, text=True, check=True)
    from_bedtools = {}
    for line in done.stdout.splitlines():
        name, sequence = line.split("\t")
        from_bedtools[name] = sequence
    for hit in result:
        assert from_bedtools[f"{hit.chrom}:{hit.start}-{hit.end}({hit.strand})"] == hit.matched_sequence


@pytest.mark.network
def test_il6r_against_the_real_ensembl_server(tmp_path):
    """IL6R (chr1, + strand) on GRCh38 from rest.ensembl.org: off by default (``pytest -m network``)."""
    result = scan_genes(["IL6RA"], "ATF3", cache_dir=tmp_path, p_threshold=1e-4)  # IL6RA: the literature's name
    assert len(result.records) == 1
    record = next(iter(result.records.values()))
    assert record.chrom == "1" and record.strand == "+" and len(record) == 2500
    assert all(h.gene_name == "IL6R" for h in result)
