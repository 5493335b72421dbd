"""The columnar hit table: row views, pandas, matched sequences, gene annotation, sorting and streaming, each against
an oracle written without the table's array kernels (plain Python over the promoter windows and the sequences)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import read_fasta_plainly, reverse_complement

import motifscan
from motifscan.api import scan_fasta, scan_genes
from motifscan.genes import GenomeSpec, collect_promoters
from motifscan.hits import TSV_COLUMNS, Hit, HitTable
from motifscan.options import PromoterOptions
from motifscan.writers import CHUNK_ROWS

GENES = ["FOXC1", "FOXQ1", "GTPBP6", "PPP2R3B", "PLCXD1", "FOXF2"]


@pytest.fixture(scope="module")
def gene_result():
    return scan_genes(GENES, genome="demo", transcripts="all", p_threshold=1e-3)


@pytest.fixture(scope="module")
def promoters():
    return collect_promoters(GENES, GenomeSpec("demo"), PromoterOptions(transcripts="all"))


def tsv_rows(result) -> list[list[str]]:
    return [line.split("\t") for line in result.to_tsv().splitlines() if not line.startswith("#")][1:]


def test_rows_views_give_the_tsv_fields(gene_result):
    rows = tsv_rows(gene_result)
    assert len(rows) == len(gene_result) > 100
    for hit, row in zip(gene_result, rows):
        fields = dict(zip(TSV_COLUMNS, row))
        assert (hit.motif_id, hit.seq_name, hit.chrom, hit.strand, hit.gene_id, hit.gene_name) == (
            fields["motif_id"], fields["seq_name"], fields["chrom"], fields["strand"], fields["gene_id"],
            fields["gene_name"])
        assert (str(hit.start), str(hit.end), ",".join(hit.transcript_ids)) == (
            fields["start"], fields["end"], fields["transcript_ids"])
        assert f"{hit.p_value:.6g}" == fields["p_value"] and hit.matched_sequence == fields["matched_sequence"]
    last = gene_result[-1]
    assert isinstance(last, Hit) and last == gene_result[len(gene_result) - 1]
    assert repr(last).startswith("Hit(motif_id=") and f"start={last.start}" in repr(last)
    with pytest.raises(IndexError):
        gene_result[len(gene_result)]
    part = gene_result.hits[5:9]
    assert isinstance(part, HitTable) and [h.start for h in part] == [h.start for h in list(gene_result)[5:9]]
    assert motifscan.Hit is Hit and motifscan.HitTable is HitTable


def test_to_pandas_has_fixed_dtypes(gene_result):
    frame = gene_result.to_pandas()
    assert list(frame.columns) == list(TSV_COLUMNS) and len(frame) == len(gene_result)
    assert str(frame["start"].dtype) == "int64" and str(frame["p_value"].dtype) == "float64"
    assert str(frame["tss_rel_start"].dtype) == "Int64"
    assert {type(c) for c in frame["chrom"]} == {str} and set(frame["chrom"]) == {"6", "X"}  # never int
    fasta = scan_fasta([("7", "ACGT" * 50 + "TGACGTCA" + "ACGT" * 50)], "MA0605.3", p_threshold=1e-3).to_pandas()
    assert fasta["chrom"].tolist() == ["7"] * len(fasta) and fasta["tss_rel_start"].isna().all()
    assert fasta["gene_id"].tolist() == [""] * len(fasta)


def test_matched_sequences_are_the_sites_letters(gene_result, demo_chromosomes):
    for hit in gene_result:
        site = demo_chromosomes[hit.chrom][hit.start : hit.end]
        assert hit.matched_sequence == (site if hit.strand == "+" else reverse_complement(site))


def test_gene_annotation_agrees_with_plain_python(gene_result, promoters):
    """Transcripts whose own window holds each site, and the TSS-relative positions of the first, by brute force."""
    by_name = {p.name: p for p in promoters.promoters}
    assert any(len(p.windows) > 1 for p in promoters.promoters)  # merged windows are exercised
    expected_sites = 0
    for promoter in promoters.promoters:
        for hit in gene_result:
            if hit.seq_name == promoter.name:
                expected_sites += 1
    assert expected_sites == len(gene_result)
    for hit in gene_result:
        promoter = by_name[hit.seq_name]
        holding = [t.id for t, w in zip(promoter.transcripts, promoter.windows) if w.start <= hit.start
                   and hit.end <= w.end]
        assert list(hit.transcript_ids) == holding and holding
        tss = next(t.tss for t in promoter.transcripts if t.id == holding[0])
        if promoter.gene.strand == "+":
            first, last = hit.start - tss, hit.end - 1 - tss
        else:
            first, last = tss - (hit.end - 1), tss - hit.start
        epd = [d + 1 if d >= 0 else d for d in (first, last)]  # +1 = the TSS base, no 0
        assert (hit.tss_rel_start, hit.tss_rel_end) == (min(epd), max(epd))
        assert hit.gene_id == promoter.gene.id and hit.gene_name == promoter.gene.name


def test_sites_straddling_merged_windows_are_not_reported():
    # two transcripts whose windows abut: a site across the junction lies in no single transcript's window
    from motifscan.model import Gene, Transcript
    from motifscan.promoters import promoters_for_gene, site_transcripts

    gene = Gene("G1", "G", "1", 0, 1000, "+", transcripts=(
        Transcript("T1", "G1", "1", 100, 900, "+", is_canonical=True), Transcript("T2", "G1", "1", 120, 900, "+")))
    (promoter,) = promoters_for_gene(gene, 0, 20, 1000, transcripts="all")  # [100, 120) + [120, 140)
    assert len(promoter.windows) == 2
    assert site_transcripts(promoter, 115, 125) == () and site_transcripts(promoter, 100, 108) == ("T1",)


def test_bed_and_gff3_order_equals_python_sorting(gene_result):
    bed = [line.split("\t") for line in gene_result.to_bed().splitlines() if not line.startswith("#")]
    assert bed == sorted(bed, key=lambda f: (f[0], int(f[1]), int(f[2]), f[3], f[5]))
    gff = [line.split("\t") for line in gene_result.to_gff3().splitlines() if not line.startswith("#")]
    keys = [(f[0], int(f[3]), int(f[4]), f[8].split("motif_id=")[1].split(";")[0], f[6]) for f in gff]
    assert keys == sorted(keys) and len(gff) == len(gene_result)


def test_writers_stream_many_hits_in_chunks(tmp_path):
    rng = np.random.default_rng(1)
    sequence = "".join(rng.choice(list("ACGT"), 80_000))
    result = scan_fasta([("r", sequence)], "MA0605.3", p_threshold=0.5)
    assert len(result) > 2 * CHUNK_ROWS
    pieces = list(result.tsv_chunks())
    assert len(pieces) >= 4 and all(p.endswith("\n") for p in pieces)  # header block + >= 3 row chunks
    path = tmp_path / "hits.tsv"
    result.write_tsv(path)
    assert path.read_text() == "".join(pieces) == result.to_tsv()
    rows = tsv_rows(result)
    assert len(rows) == len(result)
    for row in rows[:: 997]:  # the letters of every row, from the sequence itself
        start, end = int(row[4]), int(row[5])
        assert row[11] == (sequence[start:end] if row[6] == "+" else reverse_complement(sequence[start:end]))


def test_tsv_read_back_gives_the_same_table(gene_result, tmp_path):
    from motifscan.writers import read_tsv, records_from_provenance, tsv_chunks

    path = tmp_path / "hits.tsv"
    gene_result.write_tsv(path)
    provenance, table = read_tsv(path)
    assert len(table) == len(gene_result) and table.genes is not None
    assert [h.transcript_ids for h in table] == [h.transcript_ids for h in gene_result]
    rewritten = tsv_chunks(table, [p for p in provenance if p[0] != "record"],
                           records_from_provenance(provenance).values())
    assert "".join(rewritten) == path.read_text()  # the file's every byte, from the table read back


def test_demo_promoters_fasta_is_what_the_golden_scan_reads():
    from golden_cases import DATA

    records = read_fasta_plainly(DATA / "demo_promoters.fa.gz")
    assert len(records) == 13 and all(len(s) == 2500 for s in records.values())
