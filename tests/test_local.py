"""Tests of motifscan.sources.local: the local FASTA + GTF source and the embedded demo genome.

Expected values come from independent readings of the files (plain gzip + string slicing, a regex over the GTF) and
from facts in the demo genome's README (FOXC1 ENST00000380874 starts at 6:1,610,681 on +; GTPBP6's canonical TSS is
X:230,886 on -).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import shutil
from pathlib import Path

import pytest
from Bio import bgzf
from faults import unprivileged

from motifscan.errors import GenomeError, InputFileError, UsageError
from motifscan.model import Region
from motifscan.resources import demo_genome
from motifscan.sources import local
from motifscan.sources.local import LocalGenomeSource, read_gtf, reconcile_chromosomes, split_version

DATA = Path(__file__).parent / "data"
GENCODE_GTF = DATA / "local_gencode_style.gtf"
ALT_GTF = DATA / "local_chr7_alt_subset.gtf"


# ---------------------------------------------------------------------------------------------------- helpers


def gtf_transcript_lines(path: Path) -> list[dict[str, str]]:
    """The transcript lines of a GTF: chrom, 1-based start/end, strand, transcript_id and whether it is tagged
    Ensembl_canonical, read with a regex."""
    rows = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 9 and fields[2] == "transcript":
                rows.append({
                    "chrom": fields[0], "start": int(fields[3]), "end": int(fields[4]), "strand": fields[6],
                    "id": re.search(r'transcript_id "([^"]+)"', fields[8]).group(1),
                    "gene_id": re.search(r'gene_id "([^"]+)"', fields[8]).group(1),
                    "canonical": 'tag "Ensembl_canonical"' in fields[8],
                })
    return rows


def write_fasta(path: Path, records: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as handle:
        for name, sequence in records.items():
            handle.write(f">{name}\n")
            for i in range(0, len(sequence), width):
                handle.write(sequence[i:i + width] + "\n")
    return path


def gtf_line(chrom: str, feature: str, start: int, end: int, strand: str, attributes: str) -> str:
    return "\t".join([chrom, "test", feature, str(start), str(end), ".", strand, ".", attributes]) + "\n"


@pytest.fixture()
def plain_demo(tmp_path, demo_chromosomes):
    """The demo genome as a plain FASTA and a plain GTF in tmp_path."""
    fasta = write_fasta(tmp_path / "genome.fa", demo_chromosomes)
    gtf = tmp_path / "genes.gtf"
    with gzip.open(demo_genome()[1], "rb") as source, open(gtf, "wb") as target:
        shutil.copyfileobj(source, target)
    return fasta, gtf


# ---------------------------------------------------------------------------------------------------- the demo GTF


def test_demo_has_14_genes_44_transcripts_one_canonical_each(demo):
    assert len(demo.genes) == 14
    assert sum(len(gene.transcripts) for gene in demo.genes) == 44
    assert all(sum(t.is_canonical for t in gene.transcripts) == 1 for gene in demo.genes)


def test_demo_transcripts_match_an_independent_reading_of_the_gtf(demo):
    expected = {row["id"]: row for row in gtf_transcript_lines(demo_genome()[1])}
    seen = {t.id: t for gene in demo.genes for t in gene.transcripts}
    assert seen.keys() == expected.keys()
    for transcript_id, transcript in seen.items():
        row = expected[transcript_id]
        # 1-based closed [start, end] in the GTF == 0-based half-open [start - 1, end)
        assert (transcript.chrom, transcript.start + 1, transcript.end, transcript.strand) == (
            row["chrom"], row["start"], row["end"], row["strand"])
        assert transcript.gene_id == row["gene_id"]
        assert transcript.is_canonical == row["canonical"]


def test_foxc1_canonical_tss_is_6_1610681_plus(demo):
    (lookup,) = demo.lookup(["FOXC1"])
    (gene,) = lookup.genes
    canonical = gene.canonical_transcript
    assert (canonical.id, canonical.chrom, canonical.strand, canonical.tss) == ("ENST00000380874", "6", "+", 1610680)


def test_gtpbp6_canonical_tss_is_x_230886_minus(demo):
    (gene,) = demo.lookup(["GTPBP6"])[0].genes
    canonical = gene.canonical_transcript
    assert (canonical.chrom, canonical.strand, canonical.tss) == ("X", "-", 230885)
    assert canonical.tss == canonical.end - 1


def test_gene_attributes_come_from_the_gene_line(demo):
    (gene,) = demo.lookup(["PPP2R3B"])[0].genes
    assert (gene.id, gene.version, gene.biotype, gene.chrom, gene.strand) == (
        "ENSG00000167393", 12, "protein_coding", "X", "-")


# ---------------------------------------------------------------------------------------------------- lookup


@pytest.mark.parametrize("query", ["FOXC1", "foxc1", "FoxC1", " FOXC1 ", "ENSG00000054598", "ensg00000054598",
                                   "ENSG00000054598.5"])
def test_lookup_of_symbols_and_gene_ids(demo, query):
    (lookup,) = demo.lookup([query])
    assert [gene.id for gene in lookup.genes] == ["ENSG00000054598"]
    assert lookup.transcript_id is None
    assert lookup.query == query


def test_lookup_of_a_symbol_with_a_dot_is_not_taken_for_a_versioned_id(demo):
    (lookup,) = demo.lookup(["al033381.1"])
    assert [gene.name for gene in lookup.genes] == ["AL033381.1"]


@pytest.mark.parametrize("query", ["ENST00000400701", "ENST00000400701.3", "enst00000400701"])
def test_lookup_of_transcript_ids_names_the_transcript(demo, query):
    (lookup,) = demo.lookup([query])
    assert [gene.name for gene in lookup.genes] == ["GTPBP6"]
    assert lookup.transcript_id == "ENST00000400701"


def test_lookup_of_an_outdated_version_says_so(demo):
    (lookup,) = demo.lookup(["ENSG00000054598.3"])
    assert lookup.genes and "version 5" in lookup.note


def test_lookup_of_unknown_names_suggests_close_symbols(demo):
    unknown, nothing_close = demo.lookup(["FOXC", "NOSUCHGENE42"])
    assert unknown.genes == () and "FOXC1" in unknown.suggestions
    assert nothing_close.genes == () and nothing_close.suggestions == ()


def test_lookup_keeps_query_order(demo):
    queries = ["GTPBP6", "nosuch", "FOXQ1", "ENST00000380874"]
    lookups = demo.lookup(queries)
    assert [lookup.query for lookup in lookups] == queries
    assert [lookup.genes[0].name if lookup.genes else None for lookup in lookups] == ["GTPBP6", None, "FOXQ1", "FOXC1"]


def test_a_symbol_shared_by_two_genes_gives_both_and_a_note(tmp_path, demo_chromosomes):
    fasta = write_fasta(tmp_path / "genome.fa", {"1": demo_chromosomes["X"][:300_000]})
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(
        gtf_line("1", "transcript", 1001, 2000, "+", 'gene_id "G1"; transcript_id "T1"; gene_name "DUP";')
        + gtf_line("1", "transcript", 5001, 6000, "-", 'gene_id "G2"; transcript_id "T2"; gene_name "DUP";')
    )
    with LocalGenomeSource(fasta, gtf, tmp_path / "cache") as source:
        (lookup,) = source.lookup(["dup"])
    assert [gene.id for gene in lookup.genes] == ["G1", "G2"]
    assert "2 genes" in lookup.note


def test_exact_case_wins_over_other_cases(tmp_path, demo_chromosomes):
    fasta = write_fasta(tmp_path / "genome.fa", {"1": demo_chromosomes["X"][:300_000]})
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(
        gtf_line("1", "transcript", 1001, 2000, "+", 'gene_id "G1"; transcript_id "T1"; gene_name "Foxc1";')
        + gtf_line("1", "transcript", 5001, 6000, "-", 'gene_id "G2"; transcript_id "T2"; gene_name "FOXC1";')
    )
    with LocalGenomeSource(fasta, gtf, tmp_path / "cache") as source:
        exact, other_case = source.lookup(["FOXC1", "foxc1"])
    assert [gene.id for gene in exact.genes] == ["G2"]
    assert {gene.id for gene in other_case.genes} == {"G1", "G2"}


# ---------------------------------------------------------------------------------------------------- sequence


def test_sequences_equal_an_independent_reading_of_the_fasta(demo, demo_chromosomes):
    rng = random.Random(20240601)
    regions = [Region("6", 0, 10), Region("6", 2051531, 2051541), Region("X", 562250, 562251), Region("X", 5, 5)]
    for _ in range(300):
        chrom = rng.choice(["6", "X"])
        length = len(demo_chromosomes[chrom])
        start = rng.randrange(length)
        regions.append(Region(chrom, start, min(length, start + rng.randrange(1, 3000)), rng.choice("+-")))
    expected = [demo_chromosomes[r.chrom][r.start:r.end] for r in regions]
    assert demo.fetch_sequences(regions) == expected


def test_positions_past_the_chromosome_end_are_n(demo, demo_chromosomes):
    length = demo.chrom_length("6")
    tail, beyond = demo.fetch_sequences([Region("6", length - 5, length + 5), Region("6", length + 10, length + 13)])
    assert tail == demo_chromosomes["6"][-5:] + "N" * 5
    assert beyond == "NNN"


def test_chrom_lengths_and_unknown_chromosome(demo, demo_chromosomes):
    assert demo.chrom_length("6") == len(demo_chromosomes["6"]) == 2_051_541
    assert demo.chrom_length("X") == len(demo_chromosomes["X"]) == 562_251
    with pytest.raises(GenomeError, match="'7'"):
        demo.chrom_length("7")
    with pytest.raises(GenomeError):
        demo.fetch_sequences([Region("7", 0, 10)])


def test_plain_fasta_and_plain_gtf_work_and_index_beside_the_fasta(plain_demo, demo, tmp_path):
    fasta, gtf = plain_demo
    regions = [Region("6", 1608680, 1611180), Region("X", 230385, 232885)]
    with LocalGenomeSource(fasta, gtf, tmp_path / "cache") as source:
        assert len(source.genes) == 14
        assert source.fetch_sequences(regions) == demo.fetch_sequences(regions)
    assert (tmp_path / "genome.fa.fai").exists()
    assert not (tmp_path / "cache").exists()


def test_bgzip_fasta_without_index_gets_fai_and_gzi(tmp_path, demo):
    fasta_gz, gtf_gz = demo_genome()
    shutil.copy(fasta_gz, tmp_path / "genome.fa.gz")
    regions = [Region("6", 1000000, 1000100), Region("X", 60000, 60500)]
    with LocalGenomeSource(tmp_path / "genome.fa.gz", gtf_gz, tmp_path / "cache") as source:
        assert source.fetch_sequences(regions) == demo.fetch_sequences(regions)
    assert (tmp_path / "genome.fa.gz.fai").exists() and (tmp_path / "genome.fa.gz.gzi").exists()


def test_soft_masking_survives_in_bgzip(tmp_path):
    sequence = ("ACGTacgtNNnnGATTACAgattaca" * 40)[:1000]
    plain = write_fasta(tmp_path / "masked.fa", {"chrT": sequence}, width=70)
    with open(plain, "rb") as source, bgzf.BgzfWriter(tmp_path / "masked.fa.gz", "wb") as target:
        target.write(source.read())
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(gtf_line("chrT", "transcript", 101, 200, "+", 'gene_id "G"; transcript_id "T";'))
    with LocalGenomeSource(tmp_path / "masked.fa.gz", gtf, tmp_path / "cache") as source:
        assert source.fetch_sequences([Region("chrT", 3, 777)]) == [sequence[3:777]]


def test_plain_gzip_fasta_is_refused_with_a_bgzip_hint(tmp_path, demo_chromosomes):
    with gzip.open(tmp_path / "genome.fa.gz", "wt") as handle:
        handle.write(">1\n" + demo_chromosomes["X"][:1000] + "\n")
    with pytest.raises(InputFileError, match="plain gzip.*recompress it with bgzip"):
        LocalGenomeSource(tmp_path / "genome.fa.gz", demo_genome()[1], tmp_path / "cache")


def test_compression_that_does_not_match_the_name_is_refused(tmp_path, demo_chromosomes):
    plain = write_fasta(tmp_path / "plain.fa.gz", {"1": demo_chromosomes["X"][:1000]})
    with pytest.raises(InputFileError, match="not compressed"):
        LocalGenomeSource(plain, demo_genome()[1], tmp_path / "cache")
    shutil.copy(demo_genome()[0], tmp_path / "bgzipped.fa")
    with pytest.raises(InputFileError, match="bgzip-compressed"):
        LocalGenomeSource(tmp_path / "bgzipped.fa", demo_genome()[1], tmp_path / "cache")


def test_duplicate_record_names_are_an_input_error(tmp_path):
    fasta = tmp_path / "twice.fa"
    fasta.write_text(">6\nACGT\n>6\nTTTT\n")
    with pytest.raises(InputFileError, match="twice.fa"):
        LocalGenomeSource(fasta, demo_genome()[1], tmp_path / "cache")


def test_missing_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        LocalGenomeSource(tmp_path / "nope.fa", demo_genome()[1], tmp_path / "cache")
    with pytest.raises(UsageError, match="not found"):
        LocalGenomeSource(demo_genome()[0], tmp_path / "nope.gtf", tmp_path / "cache")


# ---------------------------------------------------------------------------------------------------- index location


def _read_only_copy(tmp_path: Path, demo_chromosomes) -> Path:
    folder = tmp_path / "readonly"
    folder.mkdir()
    fasta = write_fasta(folder / "genome.fa", {"X": demo_chromosomes["X"]})
    folder.chmod(0o555)
    return fasta


def _cached_indexes(cache: Path) -> list[Path]:
    return sorted((cache / "fasta-index").glob("*.fai"))


def test_read_only_folder_puts_the_index_in_the_cache(tmp_path, demo_chromosomes):
    fasta = _read_only_copy(tmp_path, demo_chromosomes)
    try:
        # as root too: permissions hold for the effective user nobody
        with unprivileged(tmp_path), LocalGenomeSource(fasta, demo_genome()[1], tmp_path / "cache") as source:
            assert source.fetch_sequences([Region("X", 200000, 200010)]) == [demo_chromosomes["X"][200000:200010]]
        assert not (fasta.parent / "genome.fa.fai").exists()
        assert len(_cached_indexes(tmp_path / "cache")) == 1
    finally:
        fasta.parent.chmod(0o755)


def test_folder_reported_unwritable_puts_the_index_in_the_cache_and_reuses_it(tmp_path, demo_chromosomes, monkeypatch):
    fasta = write_fasta(tmp_path / "genome.fa", {"X": demo_chromosomes["X"]})
    monkeypatch.setattr(local.os, "access", lambda path, mode, **kwargs: False)
    with LocalGenomeSource(fasta, demo_genome()[1], tmp_path / "cache") as source:
        assert source.fetch_sequences([Region("X", 200000, 200010)]) == [demo_chromosomes["X"][200000:200010]]
    assert not (tmp_path / "genome.fa.fai").exists()
    (index,) = _cached_indexes(tmp_path / "cache")
    built = index.stat().st_mtime_ns
    with LocalGenomeSource(fasta, demo_genome()[1], tmp_path / "cache"):
        pass
    assert index.stat().st_mtime_ns == built


def test_failing_index_write_beside_the_fasta_falls_back_to_the_cache(tmp_path, demo_chromosomes):
    # A folder where the .fai would go: the folder is writable but writing the index fails (even as root).
    fasta = write_fasta(tmp_path / "genome.fa", {"X": demo_chromosomes["X"]})
    (tmp_path / "genome.fa.fai").mkdir()
    with LocalGenomeSource(fasta, demo_genome()[1], tmp_path / "cache") as source:
        assert source.fetch_sequences([Region("X", 100, 110)]) == [demo_chromosomes["X"][100:110]]
    assert len(_cached_indexes(tmp_path / "cache")) == 1


def test_an_index_older_than_its_fasta_is_checked_not_rebuilt(tmp_path, monkeypatch):
    # An install or checkout can leave the shipped .fai/.gzi with older timestamps than the FASTA.
    for path in (*demo_genome(), Path(f"{demo_genome()[0]}.fai"), Path(f"{demo_genome()[0]}.gzi")):
        shutil.copy(path, tmp_path / path.name)
    fasta = tmp_path / "genome.fa.gz"
    os.utime(tmp_path / "genome.fa.gz.fai", (1_000_000, 1_000_000))
    os.utime(tmp_path / "genome.fa.gz.gzi", (1_000_000, 1_000_000))
    monkeypatch.setattr(local.os, "access", lambda path, mode, **kwargs: False)
    monkeypatch.setattr("motifscan.resources.demo_genome", lambda: (fasta, tmp_path / "genes.gtf.gz"))
    with LocalGenomeSource.demo(cache_dir=tmp_path / "cache") as source:
        assert source.chrom_length("X") == 562_251
    assert not (tmp_path / "cache").exists()
    assert (tmp_path / "genome.fa.gz.fai").stat().st_mtime == 1_000_000
    with LocalGenomeSource(fasta, tmp_path / "genes.gtf.gz", tmp_path / "cache"):  # checked against the FASTA: used
        pass
    assert not (tmp_path / "cache").exists()


# ---------------------------------------------------------------------------------------------------- chromosome names


def test_chr_prefixed_gtf_is_mapped_to_the_fasta_names(tmp_path, demo):
    gtf = tmp_path / "ucsc.gtf"
    with gzip.open(demo_genome()[1], "rt") as source, open(gtf, "w") as target:
        for line in source:
            if 'gene_name "FOXC1"' in line or 'gene_name "GTPBP6"' in line:
                target.write("chr" + line)
    with LocalGenomeSource(demo_genome()[0], gtf, tmp_path / "cache") as source:
        assert source.chrom_names == {"chr6": "6", "chrX": "X"}
        foxc1, gtpbp6 = (lookup.genes[0] for lookup in source.lookup(["FOXC1", "GTPBP6"]))
        assert (foxc1.chrom, gtpbp6.chrom) == ("6", "X")
        assert {t.chrom for t in gtpbp6.transcripts} == {"X"}
        window = Region(foxc1.chrom, foxc1.start - 100, foxc1.start)
        assert source.fetch_sequences([window]) == demo.fetch_sequences([window])


def test_unprefixed_gtf_is_mapped_to_a_chr_prefixed_fasta(tmp_path, demo_chromosomes):
    fasta = write_fasta(tmp_path / "genome.fa", {"chr1": demo_chromosomes["X"][60000:70000], "chrM": "ACGT" * 100})
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(gtf_line("1", "transcript", 101, 200, "+", 'gene_id "G1"; transcript_id "T1"; gene_name "A";')
                   + gtf_line("MT", "transcript", 11, 50, "-", 'gene_id "G2"; transcript_id "T2"; gene_name "B";'))
    with LocalGenomeSource(fasta, gtf, tmp_path / "cache") as source:
        assert [lookup.genes[0].chrom for lookup in source.lookup(["A", "B"])] == ["chr1", "chrM"]


def test_reconcile_chromosomes_only_bridges_the_chr_prefix():
    fasta = {"1", "chr2", "MT", "chrY"}
    assert reconcile_chromosomes(["chr1", "2", "chrM", "Y", "1", "3", "chr4"], fasta) == {
        "chr1": "1", "2": "chr2", "chrM": "MT", "Y": "chrY", "1": "1"}


def test_gtf_on_other_chromosomes_is_a_genome_error_at_load(tmp_path, demo_chromosomes):
    fasta = write_fasta(tmp_path / "genome.fa", {"6": demo_chromosomes["6"][:5000]})
    with pytest.raises(GenomeError, match="7_86000000_87000000"):
        LocalGenomeSource(fasta, ALT_GTF, tmp_path / "cache")


def test_gene_on_a_chromosome_the_fasta_lacks_is_not_found_when_asked_for(tmp_path):
    with LocalGenomeSource(demo_genome()[0], GENCODE_GTF, tmp_path / "cache") as source:
        (lost,) = source.lookup(["ENSG00000182378_PAR_Y"])  # issue 9 item 21: not found, not an abort
        assert lost.genes == () and "chromosome chrY" in lost.note and "line" in lost.note
        (shared,) = source.lookup(["PLCXD1"])  # on X (in the FASTA) and on Y (not): keep X, say so
        assert [(gene.id, gene.chrom) for gene in shared.genes] == [("ENSG00000182378", "X")]
        assert "chrY" in shared.note


# ---------------------------------------------------------------------------------------------------- GTF flavours


def test_gencode_style_gtf(tmp_path):
    with LocalGenomeSource(demo_genome()[0], GENCODE_GTF, tmp_path / "cache") as source:
        foxc1, foxq1, foxf2, gtpbp6 = (
            lookup.genes[0] for lookup in source.lookup(["FOXC1", "ENSG00000164379.4", "foxf2", "GTPBP6"]))
        (by_transcript,) = source.lookup(["ENST00000380874.2"])
    assert (foxc1.id, foxc1.version, foxc1.biotype, foxc1.chrom) == ("ENSG00000054598", 5, "protein_coding", "6")
    assert by_transcript.transcript_id == "ENST00000380874" and by_transcript.genes == (foxc1,)
    versions = {t.id: t.version for t in foxc1.transcripts}
    assert versions == {"ENST00000380874": 2, "ENST00000999991": 1}
    # tag Ensembl_canonical wins over the longer transcript and over MANE_Select; MANE_Select where no Ensembl_canonical
    assert foxc1.canonical_transcript.id == "ENST00000380874"
    assert gtpbp6.canonical_transcript.id == "ENST00000326153"
    assert foxq1.canonical_transcript.id == "ENST00000296839"
    # no tags: protein_coding beats the longer processed_transcript, then the lowest ID among equal spans
    assert foxf2.canonical_transcript.id == "ENST00000259806"
    assert {t.id: t.biotype for t in foxf2.transcripts}["ENST00000999993"] == "processed_transcript"
    assert source.assembly == ""


def test_several_tagged_transcripts_are_decided_by_the_fallback_rule(tmp_path):
    gtf = tmp_path / "two_tagged.gtf"
    tagged = 'gene_id "G"; gene_name "TWO"; transcript_biotype "protein_coding"; tag "Ensembl_canonical";'
    gtf.write_text(gtf_line("1", "transcript", 100, 900, "+", 'transcript_id "T1"; ' + tagged)
                   + gtf_line("1", "transcript", 50, 900, "+", 'transcript_id "T2"; ' + tagged)
                   + gtf_line("1", "transcript", 100, 900, "+", 'transcript_id "T3"; ' + tagged)
                   + gtf_line("1", "transcript", 10, 990, "+", 'transcript_id "T4"; gene_id "G";'))
    (gene,) = read_gtf(gtf)
    assert gene.canonical_transcript.id == "T2"  # the longest of the tagged ones
    assert [t.id for t in gene.transcripts] == ["T1", "T2", "T3", "T4"]


def test_split_version():
    assert split_version("ENSG00000054598.5") == ("ENSG00000054598", 5)
    assert split_version("ENSG00000182378.8_PAR_Y") == ("ENSG00000182378_PAR_Y", 8)
    assert split_version("ENSG00000054598") == ("ENSG00000054598", None)
    assert split_version("AL033381.X") == ("AL033381.X", None)


def test_alt_set_gene_lines_without_biotype(tmp_path):
    genes = {gene.name: gene for gene in read_gtf(ALT_GTF)}
    assert set(genes) == {"TMEM243", "Y_RNA", "AC005009.2"}
    tmem243 = genes["TMEM243"]
    assert (tmem243.biotype, tmem243.version, tmem243.strand) == ("", None, "-")
    assert len(tmem243.transcripts) == 8
    assert tmem243.canonical_transcript.id == "ENST00000433078"
    assert tmem243.canonical_transcript.tss == 849904 - 1


def test_genes_without_gene_lines_are_built_from_their_transcripts(tmp_path):
    gtf = tmp_path / "no_gene_lines.gtf"
    lines = ALT_GTF.read_text().splitlines(keepends=True)
    gtf.write_text("".join(line for line in lines if "\tgene\t" not in line))
    with_gene_lines = {gene.id: gene for gene in read_gtf(ALT_GTF)}
    without = {gene.id: gene for gene in read_gtf(gtf)}
    assert without == with_gene_lines  # the alt set's gene lines span exactly their transcripts


def test_gtf_without_transcript_lines_takes_spans_from_exons(tmp_path):
    gtf = tmp_path / "exons_only.gtf"
    lines = ALT_GTF.read_text().splitlines(keepends=True)
    gtf.write_text("".join(line for line in lines if "\ttranscript\t" not in line))
    expected = {t.id: (t.start, t.end, t.is_canonical) for g in read_gtf(ALT_GTF) for t in g.transcripts}
    assert {t.id: (t.start, t.end, t.is_canonical) for g in read_gtf(gtf) for t in g.transcripts} == expected


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("6\tx\ttranscript\t100\t200\t.\t+\n", "9 tab-separated columns"),
        ('6\tx\ttranscript\t1OO\t200\t.\t+\t.\tgene_id "G"; transcript_id "T";\n', "not integers"),
        ('6\tx\ttranscript\t300\t200\t.\t+\t.\tgene_id "G"; transcript_id "T";\n', "bad interval"),
        ('6\tx\ttranscript\t100\t200\t.\t.\t.\tgene_id "G"; transcript_id "T";\n', "strand"),
        ('6\tx\ttranscript\t100\t200\t.\t+\t.\ttranscript_id "T";\n', "gene_id"),
        ('6\tx\ttranscript\t100\t200\t.\t+\t.\tgene_id "G";\n', "transcript_id"),
        ('6\tx\tgene\t100\t200\t.\t+\t.\tgene_name "G";\n', "gene_id"),
    ],
)
def test_malformed_gtf_line_names_file_and_line(tmp_path, bad_line, message):
    gtf = tmp_path / "bad.gtf"
    good = gtf_line("6", "transcript", 1000, 2000, "+", 'gene_id "G0"; transcript_id "T0";')
    gtf.write_text("#!genome-build test\n" + good + bad_line + good.replace("T0", "T9"))
    with pytest.raises(InputFileError, match=rf"bad\.gtf, line 3: .*{message}"):
        read_gtf(gtf)


def test_gtf_without_genes_is_an_input_error(tmp_path):
    gtf = tmp_path / "empty.gtf.gz"
    with gzip.open(gtf, "wt") as handle:
        handle.write("#!genome-build GRCh37\n")
    with pytest.raises(InputFileError, match="no gene or transcript lines"):
        read_gtf(gtf)


# ---------------------------------------------------------------------------------------------------- provenance


def test_demo_provenance(demo):
    facts = demo.provenance()
    fasta, gtf = demo_genome()
    assert facts["source"] == "local"
    assert facts["genome"] == "demo (GRCh37 chr6+chrX test genome from Ensembl)"
    assert facts["genome_md5"] == hashlib.md5(fasta.read_bytes()).hexdigest()
    assert facts["annotation_md5"] == hashlib.md5(gtf.read_bytes()).hexdigest()
    assert facts["assembly"] == "GRCh37"
    assert all(isinstance(value, str) for value in facts.values())


def test_local_provenance_names_the_files(plain_demo, tmp_path):
    fasta, gtf = plain_demo
    with LocalGenomeSource(fasta, gtf, tmp_path / "cache") as source:
        facts = source.provenance()
    assert facts["genome"] == str(fasta) and facts["annotation"] == str(gtf)
    assert facts["genome_md5"] == hashlib.md5(fasta.read_bytes()).hexdigest()
