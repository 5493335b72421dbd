"""Tests of motifscan.promoters: windows, merging, TSS-relative positions, record names and FASTA headers.

Window sequences are checked against the demo FASTA read with plain gzip and sliced by 1-based coordinates worked
out by hand, and against ``bedtools getfasta -s``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from motifscan.errors import UsageError
from motifscan.model import Gene, Transcript
from motifscan.promoters import (
    Promoter,
    canonical_transcript,
    fallback_canonical,
    oriented_sequence,
    promoter_fasta_header,
    promoter_window,
    promoters_for_gene,
    record_name,
    reverse_complement,
    site_transcripts,
    tss_relative,
)
from motifscan.sources.local import LocalGenomeSource

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N", "a": "t", "c": "g", "g": "c", "t": "a", "n": "n"}


def revcomp_by_hand(sequence: str) -> str:
    return "".join(COMPLEMENT[base] for base in reversed(sequence))


def slice_1based(sequence: str, first: int, last: int) -> str:
    """Bases first..last (1-based, inclusive) of a chromosome."""
    return sequence[first - 1:last]


def demo_gene(demo: LocalGenomeSource, name: str) -> Gene:
    (gene,) = demo.lookup([name])[0].genes
    return gene


def gene_with_tss(
    positions: list[int], strand: str, biotypes: list[str] | None = None, canonical: int | None = 0
) -> Gene:
    """A synthetic gene on chromosome "c" whose transcripts T00, T01, ... start at the given 0-based TSSs."""
    transcripts = []
    for i, tss in enumerate(positions):
        start, end = (tss, tss + 50) if strand == "+" else (max(0, tss - 49), tss + 1)
        biotype = biotypes[i] if biotypes else "protein_coding"
        transcripts.append(Transcript(f"T{i:02d}", "G", "c", start, end, strand, biotype, i == canonical))
    return Gene("G", "GENE", "c", min(t.start for t in transcripts), max(t.end for t in transcripts), strand,
                "protein_coding", tuple(transcripts))


# ---------------------------------------------------------------------------------------------------- demo windows


def test_foxc1_window_header_and_sequence(demo, demo_chromosomes):
    gene = demo_gene(demo, "FOXC1")
    (promoter,) = promoters_for_gene(gene, 2000, 500, demo.chrom_length("6"))
    assert promoter_fasta_header(promoter) == "FOXC1|ENST00000380874 6:1608681-1611180(+)"
    assert promoter.name == "FOXC1|ENST00000380874" and not promoter.clipped
    (forward,) = demo.fetch_sequences([promoter.region])
    # TSS 6:1,610,681 (1-based); 2000 bases before it, then 500 from it on: 1,608,681..1,611,180
    expected = slice_1based(demo_chromosomes["6"], 1_608_681, 1_611_180)
    assert oriented_sequence(forward, promoter.region.strand) == expected
    assert len(expected) == 2500 and expected[2000] == slice_1based(demo_chromosomes["6"], 1_610_681, 1_610_681)


def test_gtpbp6_minus_strand_window_is_reverse_complemented(demo, demo_chromosomes):
    gene = demo_gene(demo, "GTPBP6")
    (promoter,) = promoters_for_gene(gene, 2000, 500, demo.chrom_length("X"))
    # TSS X:230,886 (1-based) on -: upstream lies above it: 500 bases 230,387..230,886, 2000 bases 230,887..232,886
    assert promoter_fasta_header(promoter) == "GTPBP6|ENST00000326153 X:230387-232886(-)"
    (forward,) = demo.fetch_sequences([promoter.region])
    oriented = oriented_sequence(forward, "-")
    assert oriented == revcomp_by_hand(slice_1based(demo_chromosomes["X"], 230_387, 232_886))
    assert oriented[2000] == COMPLEMENT[slice_1based(demo_chromosomes["X"], 230_886, 230_886)]  # the TSS base
    assert oriented[1999] == COMPLEMENT[slice_1based(demo_chromosomes["X"], 230_887, 230_887)]  # just upstream of it
    assert oriented[-1] == COMPLEMENT[slice_1based(demo_chromosomes["X"], 230_387, 230_387)]


def test_gmds_canonical_tss_lies_past_the_end_of_chromosome_6(demo):
    gene = demo_gene(demo, "GMDS")
    assert promoters_for_gene(gene, 2000, 500, demo.chrom_length("6")) == []


def test_window_reaching_past_the_chromosome_end_is_clipped(demo):
    gene = demo_gene(demo, "GMDS")
    length = demo.chrom_length("6")
    (promoter,) = promoters_for_gene(gene, 10_000, 500, length, transcript_id="ENST00000530459")
    assert promoter.clipped
    assert promoter.region.end == length == 2_051_541
    assert promoter.region.start == 2_043_666 - 500 + 1


# ---------------------------------------------------------------------------------------------------- merging


def test_gtpbp6_all_transcripts_merge_into_one_promoter(demo):
    gene = demo_gene(demo, "GTPBP6")
    (promoter,) = promoters_for_gene(gene, 2000, 500, demo.chrom_length("X"), transcripts="all")
    assert promoter.transcript_ids == ("ENST00000326153", "ENST00000400701", "ENST00000485332")
    assert promoter.name == "GTPBP6|ENST00000326153,ENST00000400701,ENST00000485332"
    assert (promoter.region.start, promoter.region.end, promoter.region.strand) == (230_384, 232_886, "-")
    assert [w.name for w in promoter.windows] == list(promoter.transcript_ids)


def test_abutting_windows_merge_and_a_one_base_gap_does_not(demo):
    # GTPBP6 TSSs (0-based, -): 230885 (canonical) and 230883 (two transcripts).
    gene = demo_gene(demo, "GTPBP6")
    length = demo.chrom_length("X")
    (abutting,) = promoters_for_gene(gene, 1, 1, length, transcripts="all")  # [230883, 230885) + [230885, 230887)
    assert (abutting.region.start, abutting.region.end) == (230_883, 230_887)
    apart = promoters_for_gene(gene, 0, 1, length, transcripts="all")  # [230883, 230884) and [230885, 230886)
    assert [p.transcript_ids for p in apart] == [("ENST00000400701", "ENST00000485332"), ("ENST00000326153",)]


def test_ppp2r3b_all_transcripts_give_disjoint_promoters_in_genomic_order(demo):
    gene = demo_gene(demo, "PPP2R3B")
    promoters = promoters_for_gene(gene, 2000, 500, demo.chrom_length("X"), transcripts="all")
    assert [p.transcript_ids for p in promoters] == [
        ("ENST00000479438",),
        ("ENST00000468169", "ENST00000475859", "ENST00000477110", "ENST00000477636", "ENST00000484364"),
        ("ENST00000496630",),
        ("ENST00000381625",),
        ("ENST00000390665", "ENST00000445792"),  # the canonical first
    ]
    assert all(a.region.end < b.region.start for a, b in zip(promoters, promoters[1:]))
    assert sum(len(p.transcripts) for p in promoters) == len(gene.transcripts)


def test_biotype_filter_applies_to_all_transcripts(demo):
    gene = demo_gene(demo, "PPP2R3B")
    promoters = promoters_for_gene(gene, 2000, 500, demo.chrom_length("X"), "all", biotypes=["protein_coding"])
    assert [p.transcript_ids for p in promoters] == [("ENST00000381625",), ("ENST00000390665",)]
    canonical_only = promoters_for_gene(gene, 2000, 500, demo.chrom_length("X"), "canonical", biotypes=["lncRNA"])
    assert [p.transcript_ids for p in canonical_only] == [("ENST00000390665",)]


def test_one_named_transcript(demo):
    gene = demo_gene(demo, "PLCXD1")
    for query in ("ENST00000430923", "ENST00000430923.2"):
        (promoter,) = promoters_for_gene(gene, 100, 100, demo.chrom_length("X"), "all", transcript_id=query)
        assert promoter.transcript_ids == ("ENST00000430923",)
        assert (promoter.region.start, promoter.region.end) == (193_019 - 100, 193_019 + 100)
    with pytest.raises(UsageError, match="ENST00000380874"):
        promoters_for_gene(gene, 100, 100, demo.chrom_length("X"), transcript_id="ENST00000380874")


def test_bad_arguments_are_usage_errors():
    gene = gene_with_tss([100], "+")
    with pytest.raises(UsageError):
        promoters_for_gene(gene, -1, 10, 1000)
    with pytest.raises(UsageError):
        promoters_for_gene(gene, 0, 0, 1000)
    with pytest.raises(UsageError, match="canonical"):
        promoters_for_gene(gene, 10, 10, 1000, transcripts="longest")


@given(
    positions=st.lists(st.integers(0, 3000), min_size=1, max_size=10),
    strand=st.sampled_from("+-"),
    upstream=st.integers(0, 400),
    downstream=st.integers(0, 400),
    canonical=st.integers(0, 9),
)
def test_merged_promoters_partition_the_windows(positions, strand, upstream, downstream, canonical):
    assume(upstream + downstream > 0)
    length = 3200
    gene = gene_with_tss(positions, strand, canonical=canonical if canonical < len(positions) else None)
    promoters = promoters_for_gene(gene, upstream, downstream, length, transcripts="all")
    on_chromosome = [t.id for t in gene.transcripts if len(promoter_window(t, upstream, downstream, length)[0])]
    assert sorted(t.id for p in promoters for t in p.transcripts) == sorted(on_chromosome)
    for promoter in promoters:
        assert [w for w in promoter.windows] == [promoter_window(t, upstream, downstream, length)[0]
                                                 for t in promoter.transcripts]
        assert promoter.region.start == min(w.start for w in promoter.windows)
        assert promoter.region.end == max(w.end for w in promoter.windows)
        reach = promoter.region.start  # the windows cover the region without a gap
        for window in sorted(promoter.windows, key=lambda w: w.start):
            assert window.start <= reach
            reach = max(reach, window.end)
        ids = promoter.transcript_ids
        first = canonical_transcript(gene).id
        expected_order = sorted(ids, key=lambda i: (i != first, i))
        assert list(ids) == expected_order
        assert promoter.name == f"GENE|{','.join(ids)}"
    for before, after in zip(promoters, promoters[1:]):
        assert before.region.end < after.region.start  # neither overlapping nor abutting


# ---------------------------------------------------------------------------------------------------- canonical


def test_fallback_canonical_rule():
    coding_short = Transcript("ENST3", "G", "c", 100, 200, "+", "protein_coding")
    coding_long_b = Transcript("ENST2", "G", "c", 100, 400, "+", "protein_coding")
    coding_long_a = Transcript("ENST1", "G", "c", 50, 350, "+", "protein_coding")
    noncoding_longest = Transcript("ENST0", "G", "c", 0, 5000, "+", "lncRNA")
    assert fallback_canonical([coding_short, coding_long_b, coding_long_a, noncoding_longest]) == coding_long_a
    short_noncoding = Transcript("ENST9", "G", "c", 0, 10, "+", "misc_RNA")
    assert fallback_canonical([noncoding_longest, short_noncoding]) == noncoding_longest
    assert fallback_canonical([]) is None


def test_canonical_mode_without_a_flag_uses_the_fallback_rule():
    gene = gene_with_tss([100, 900, 500], "+", ["lncRNA", "protein_coding", "protein_coding"], canonical=None)
    (promoter,) = promoters_for_gene(gene, 10, 10, 2000)
    assert promoter.transcript_ids == ("T01",)  # protein_coding, equal spans, lowest ID


# ---------------------------------------------------------------------------------------------------- site_transcripts


def test_site_transcripts_on_gtpbp6(demo):
    gene = demo_gene(demo, "GTPBP6")
    (promoter,) = promoters_for_gene(gene, 2000, 500, demo.chrom_length("X"), transcripts="all")
    # windows: canonical ENST00000326153 [230386, 232886); the other two [230384, 232884)
    assert site_transcripts(promoter, 231_000, 231_010) == ("ENST00000326153", "ENST00000400701", "ENST00000485332")
    assert site_transcripts(promoter, 232_880, 232_886) == ("ENST00000326153",)
    assert site_transcripts(promoter, 230_384, 230_390) == ("ENST00000400701", "ENST00000485332")
    assert site_transcripts(promoter, 100, 110) == ()


def test_site_straddling_two_abutting_windows_is_in_no_window():
    gene = gene_with_tss([100, 120], "+", canonical=1)
    (promoter,) = promoters_for_gene(gene, 0, 20, 1000, transcripts="all")  # [100, 120) + [120, 140)
    assert site_transcripts(promoter, 115, 125) == ()
    assert site_transcripts(promoter, 125, 130) == ("T01",)


@given(
    positions=st.lists(st.integers(0, 2000), min_size=1, max_size=8),
    strand=st.sampled_from("+-"),
    data=st.data(),
)
def test_site_transcripts_are_the_windows_holding_the_site(positions, strand, data):
    gene = gene_with_tss(positions, strand)
    promoters = promoters_for_gene(gene, 150, 60, 2100, transcripts="all")
    promoter = data.draw(st.sampled_from(promoters))
    start = data.draw(st.integers(promoter.region.start, promoter.region.end - 1))
    end = data.draw(st.integers(start + 1, min(start + 30, promoter.region.end)))
    found = site_transcripts(promoter, start, end)
    holding = [t.id for t, w in zip(promoter.transcripts, promoter.windows) if w.start <= start and end <= w.end]
    assert list(found) == holding
    assert list(found) == [i for i in promoter.transcript_ids if i in found]  # promoter order kept


# ---------------------------------------------------------------------------------------------------- tss_relative


@pytest.mark.parametrize(
    ("tss", "strand", "start", "end", "expected"),
    [
        (100, "+", 100, 101, (1, 1)),
        (100, "+", 99, 100, (-1, -1)),
        (100, "+", 98, 102, (-2, 2)),
        (100, "+", 90, 95, (-10, -6)),
        (100, "+", 105, 110, (6, 10)),
        (100, "-", 100, 101, (1, 1)),
        (100, "-", 101, 102, (-1, -1)),
        (100, "-", 99, 100, (2, 2)),
        (100, "-", 99, 103, (-2, 2)),
        (230_885, "-", 230_880, 230_890, (-4, 6)),
    ],
)
def test_tss_relative_examples(tss, strand, start, end, expected):
    assert tss_relative(tss, strand, start, end) == expected


def test_tss_relative_refuses_empty_sites():
    with pytest.raises(ValueError):
        tss_relative(10, "+", 5, 5)


coordinates = st.integers(0, 1_000_000)


@given(tss=coordinates, strand=st.sampled_from("+-"), start=coordinates, length=st.integers(1, 300))
def test_tss_relative_properties(tss, strand, start, length):
    end = start + length
    rel_start, rel_end = tss_relative(tss, strand, start, end)
    assert rel_start <= rel_end
    assert 0 not in (rel_start, rel_end)
    crosses_tss_boundary = rel_start < 0 < rel_end
    assert rel_end - rel_start + 1 - crosses_tss_boundary == length  # no base lost, none counted twice
    singles = [tss_relative(tss, strand, p, p + 1)[0] for p in (start, end - 1)]
    assert (rel_start, rel_end) == (min(singles), max(singles))


@given(tss=coordinates, position=coordinates)
def test_tss_relative_is_monotone_and_skips_zero(tss, position):
    plus_here, plus_next = (tss_relative(tss, "+", p, p + 1)[0] for p in (position, position + 1))
    minus_here, minus_next = (tss_relative(tss, "-", p, p + 1)[0] for p in (position, position + 1))
    assert plus_next - plus_here == (2 if plus_here == -1 else 1)
    assert minus_here - minus_next == (2 if minus_next == -1 else 1)


@given(tss=coordinates, start=coordinates, length=st.integers(1, 300))
def test_tss_relative_minus_strand_mirrors_plus_strand(tss, start, length):
    mirror = 3_000_000  # genomic position p on - behaves as mirror - p on +
    end = start + length
    assert tss_relative(tss, "-", start, end) == tss_relative(mirror - tss, "+", mirror - end + 1, mirror - start + 1)


# ---------------------------------------------------------------------------------------------------- promoter_window


@given(
    chrom_length=st.integers(1, 5000),
    strand=st.sampled_from("+-"),
    upstream=st.integers(0, 3000),
    downstream=st.integers(0, 3000),
    data=st.data(),
)
def test_promoter_window_properties(chrom_length, strand, upstream, downstream, data):
    assume(upstream + downstream > 0)
    tss = data.draw(st.integers(0, chrom_length - 1))
    start, end = (tss, tss + 1) if strand == "+" else (max(0, tss - 5), tss + 1)
    transcript = Transcript("T", "G", "c", start, end, strand)
    window, clipped = promoter_window(transcript, upstream, downstream, chrom_length)
    assert 0 <= window.start <= window.end <= chrom_length
    assert (window.chrom, window.strand, window.name) == ("c", strand, "T")
    if strand == "+":
        upstream_bases, downstream_bases = tss - window.start, window.end - tss
        room_up, room_down = tss, chrom_length - tss
    else:
        upstream_bases, downstream_bases = window.end - tss - 1, tss + 1 - window.start
        room_up, room_down = chrom_length - tss - 1, tss + 1
    assert upstream_bases == min(upstream, room_up)
    assert downstream_bases == min(downstream, room_down)
    assert clipped == (upstream > room_up or downstream > room_down)
    if not clipped:
        assert len(window) == upstream + downstream
    if downstream:
        assert window.start <= tss < window.end


@pytest.mark.parametrize("strand", "+-")
def test_window_clipped_at_both_ends(strand):
    transcript = Transcript("T", "G", "c", 50, 51, strand)
    window, clipped = promoter_window(transcript, 1000, 1000, 100)
    assert (window.start, window.end, clipped) == (0, 100, True)


def test_window_wholly_off_the_chromosome_is_empty():
    transcript = Transcript("T", "G", "c", 500, 600, "-")  # TSS 599, chromosome only 300 long
    window, clipped = promoter_window(transcript, 100, 50, 300)
    assert (len(window), clipped) == (0, True)
    assert promoters_for_gene(gene_with_tss([599], "-"), 100, 50, 300) == []


# ---------------------------------------------------------------------------------------------------- names, sequences


def test_record_name_and_header_for_merged_promoter():
    gene = gene_with_tss([100, 105], "-", canonical=1)
    (promoter,) = promoters_for_gene(gene, 10, 5, 1000, transcripts="all")
    assert record_name(gene, promoter.transcripts) == "GENE|T01,T00" == promoter.name
    # windows [96, 111) and [101, 116) (0-based half-open) -> 1-based 97..116
    assert promoter_fasta_header(promoter) == "GENE|T01,T00 c:97-116(-)"
    assert isinstance(promoter, Promoter)


def test_record_name_falls_back_to_the_gene_id():
    gene = Gene("ENSG1", "", "c", 0, 10, "+")
    assert record_name(gene, [Transcript("ENST1", "ENSG1", "c", 0, 10, "+")]) == "ENSG1|ENST1"


def test_reverse_complement_keeps_case_and_iupac():
    assert reverse_complement("ACGTNacgtnRYSWKM") == "KMWSRYnacgtNACGT"
    assert oriented_sequence("AAcG", "+") == "AAcG" and oriented_sequence("AAcG", "-") == "CgTT"


# ---------------------------------------------------------------------------------------------------- bedtools


def require_bedtools() -> str:
    path = shutil.which("bedtools")
    if path is None:
        if os.environ.get("MOTIFSCAN_REQUIRE_BEDTOOLS") == "1":
            pytest.fail("MOTIFSCAN_REQUIRE_BEDTOOLS=1 but bedtools is not on PATH")
        pytest.skip("bedtools is not on PATH (set MOTIFSCAN_REQUIRE_BEDTOOLS=1 to make this a failure)")
    return path


def test_bedtools_getfasta_strand_aware_equals_gene_orientation(demo, demo_chromosomes, tmp_path):
    bedtools = require_bedtools()
    fasta = tmp_path / "genome.fa"
    with open(fasta, "w") as handle:
        for name, sequence in demo_chromosomes.items():
            handle.write(f">{name}\n{sequence}\n")
    promoters = []
    for name in ("FOXC1", "FOXQ1", "GTPBP6", "RP4-668J24.2", "PPP2R3B", "PLCXD1"):
        gene = demo_gene(demo, name)
        promoters += promoters_for_gene(gene, 2000, 500, demo.chrom_length(gene.chrom), transcripts="all")
    bed = tmp_path / "promoters.bed"
    bed.write_text("".join(f"{p.region.chrom}\t{p.region.start}\t{p.region.end}\t{p.name}\t0\t{p.region.strand}\n"
                           for p in promoters))
    result = subprocess.run([bedtools, "getfasta", "-fi", str(fasta), "-bed", str(bed), "-s", "-tab"],
                            capture_output=True, text=True, check=True)
    from_bedtools = [line.split("\t")[1] for line in result.stdout.splitlines()]
    forward = demo.fetch_sequences([p.region for p in promoters])
    ours = [oriented_sequence(sequence, p.region.strand) for sequence, p in zip(forward, promoters)]
    assert {p.region.strand for p in promoters} == {"+", "-"}
    assert from_bedtools == ours
