"""EnsemblSource against the local Ensembl stand-in (tests/ensembl_standin.py), which serves the GRCh37 demo genome.

Coordinates: motifscan's are 0-based half-open with strand "+"/"-"; the stand-in's (Ensembl's) are 1-based closed.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import read_fasta_plainly

from motifscan.errors import EnsemblError, OfflineCacheMiss, UsageError
from motifscan.model import Region
from motifscan.sources import ensembl
from motifscan.sources.cache import CACHE_FILE_NAME
from motifscan.sources.ensembl import EnsemblSource, region_query

DEMO_FASTA = Path(__file__).resolve().parent.parent / "genomes" / "grch37_demo" / "genome.fa.gz"


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it; shared by the client and the stand-in."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture(scope="module")
def demo_fasta() -> dict[str, str]:
    """The demo genome read here, independently of motifscan and of the stand-in."""
    return read_fasta_plainly(DEMO_FASTA)


def make_source(standin, tmp_path, **kwargs) -> EnsemblSource:
    options = {"assembly": "GRCh37", "base_url": standin.url, "cache_dir": tmp_path / "cache", "backoff": 0.01}
    options.update(kwargs)
    return EnsemblSource(**options)


def requests_to(standin, prefix: str, method: str | None = None) -> list:
    return [r for r in standin.requests if r.path.startswith(prefix) and (method is None or r.method == method)]


# -- server choice ----------------------------------------------------------------------------------------------


def test_server_choice(monkeypatch, tmp_path):
    assert EnsemblSource(use_cache=False).base_url == "https://rest.ensembl.org"
    assert EnsemblSource(assembly="grch37", use_cache=False).base_url == "https://grch37.rest.ensembl.org"
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_URL", "http://mirror.example:8080/")
    assert EnsemblSource(use_cache=False).base_url == "http://mirror.example:8080"
    assert EnsemblSource(base_url="http://other.example", use_cache=False).base_url == "http://other.example"


def test_unknown_assembly_is_a_usage_error():
    with pytest.raises(UsageError, match="GRCh99"):
        EnsemblSource(assembly="GRCh99", use_cache=False)
    with pytest.raises(UsageError):
        EnsemblSource(offline=True, use_cache=False)


# -- lookups ----------------------------------------------------------------------------------------------------


def test_symbol_any_case_converted_to_zero_based(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path)
    results = source.lookup(["foxc1", "FoxC1", "FOXC1"])
    assert [r.query for r in results] == ["foxc1", "FoxC1", "FOXC1"]
    for result in results:
        (gene,) = result.genes
        assert (gene.id, gene.name, gene.chrom, gene.strand, gene.version) == ("ENSG00000054598", "FOXC1", "6", "+", 5)
        assert (gene.start, gene.end) == (1_610_680, 1_614_127)  # Ensembl 6:1,610,681-1,614,127
        assert gene.canonical_transcript.id == "ENST00000380874"
        assert gene.canonical_transcript.tss == 1_610_680
        assert result.note == "" and result.transcript_id is None
    assert len(requests_to(ensembl_standin, "lookup/symbol", "POST")) == 1


def test_minus_strand_gene_tss(ensembl_standin, tmp_path):
    (result,) = make_source(ensembl_standin, tmp_path).lookup(["GTPBP6"])
    gene = result.genes[0]
    assert gene.strand == "-"
    assert gene.canonical_transcript.id == "ENST00000326153"
    assert gene.canonical_transcript.tss == 230_885  # README: X:230,886 (1-based), transcript end
    assert len(gene.transcripts) == 3 and [t.id for t in gene.transcripts] == sorted(t.id for t in gene.transcripts)


def test_gene_id_with_and_without_version(ensembl_standin, tmp_path):
    plain, versioned, stale = make_source(ensembl_standin, tmp_path).lookup(
        ["ENSG00000164379", "ENSG00000164379.4", "ensg00000164379.3"])
    assert plain.genes[0].name == versioned.genes[0].name == stale.genes[0].name == "FOXQ1"
    assert plain.note == versioned.note == ""
    assert "version 4" in stale.note
    (post,) = requests_to(ensembl_standin, "lookup/id")
    assert post.body == {"ids": ["ENSG00000164379"]}  # asked once, unversioned
    assert post.query == {"expand": ["1"], "species": ["human"]}


def test_transcript_id_gives_its_gene_and_transcript(ensembl_standin, tmp_path):
    (result,) = make_source(ensembl_standin, tmp_path).lookup(["ENST00000400701.1"])
    assert result.transcript_id == "ENST00000400701"
    assert result.genes[0].name == "GTPBP6"
    transcript = next(t for t in result.genes[0].transcripts if t.id == "ENST00000400701")
    assert not transcript.is_canonical
    assert (transcript.start, transcript.end, transcript.tss) == (221_416, 230_884, 230_883)


def test_alias_resolved_via_xrefs(ensembl_standin, tmp_path):
    (result,) = make_source(ensembl_standin, tmp_path).lookup(["FKHL7"])
    assert [g.name for g in result.genes] == ["FOXC1"]
    assert result.note == "FKHL7 resolved to FOXC1 (ENSG00000054598) via Ensembl synonyms"
    (xref,) = requests_to(ensembl_standin, "xrefs/symbol")
    assert xref.path == "xrefs/symbol/human/FKHL7" and xref.query == {"object_type": ["gene"]}


def test_alias_of_several_genes_says_so(ensembl_standin, tmp_path):
    ensembl_standin.set_synonyms({"FOXC1": ["SHAREDALIAS"], "FOXF2": ["SHAREDALIAS"]})  # made up for this test
    (result,) = make_source(ensembl_standin, tmp_path).lookup(["SharedAlias"])
    assert sorted(g.name for g in result.genes) == ["FOXC1", "FOXF2"]
    assert result.note.startswith("SharedAlias matches 2 genes via Ensembl synonyms")


def test_unknown_queries_keep_their_place(ensembl_standin, tmp_path):
    results = make_source(ensembl_standin, tmp_path).lookup(
        ["NOSUCHGENE", "FOXQ1", "ENSG00000000001", "ENST00000000001", "  "])
    assert [r.query for r in results] == ["NOSUCHGENE", "FOXQ1", "ENSG00000000001", "ENST00000000001", "  "]
    assert [len(r.genes) for r in results] == [0, 1, 0, 0, 0]


def test_user_names_are_escaped_in_urls(ensembl_standin, tmp_path):
    (result,) = make_source(ensembl_standin, tmp_path).lookup(["A/B?expand=1#x"])
    assert result.genes == ()
    (xref,) = requests_to(ensembl_standin, "xrefs/symbol")
    assert xref.path == "xrefs/symbol/human/A/B?expand=1#x"  # one path segment, decoded by the server
    assert xref.query == {"object_type": ["gene"]}
    assert xref.status == 200


def test_lookup_posts_at_most_1000_ids(ensembl_standin, tmp_path):
    fake_ids = [f"ENSG{n:011d}" for n in range(1, 1001)]
    results = make_source(ensembl_standin, tmp_path).lookup(["ENSG00000054598", *fake_ids])
    assert results[0].genes[0].name == "FOXC1" and all(not r.genes for r in results[1:])
    posts = requests_to(ensembl_standin, "lookup/id", "POST")
    assert len(posts) >= 2 and all(len(p.body["ids"]) <= 1000 for p in posts)
    assert sum(len(p.body["ids"]) for p in posts) == 1001
    assert all(p.status == 200 for p in posts)


def test_lookup_posts_at_most_1000_symbols(ensembl_standin, tmp_path):
    clock = FakeClock()  # 1000+ unknown names mean 1000+ xrefs requests: throttled in fake time, not real time
    ensembl_standin.clock = clock
    symbols = ["FOXC1", *(f"NOSUCHGENE{n}" for n in range(1000))]
    results = make_source(ensembl_standin, tmp_path, clock=clock, sleep=clock.sleep).lookup(symbols)
    assert results[0].genes[0].name == "FOXC1" and all(not r.genes for r in results[1:])
    posts = requests_to(ensembl_standin, "lookup/symbol", "POST")
    assert len(posts) >= 2 and all(len(p.body["symbols"]) <= 1000 for p in posts)
    assert sum(len(p.body["symbols"]) for p in posts) == 1001
    # synonym look-ups are one GET each: only the first MAX_SYNONYM_LOOKUPS unknown names are tried (issue 9 item 22)
    assert len(requests_to(ensembl_standin, "xrefs/symbol")) == ensembl.MAX_SYNONYM_LOOKUPS
    assert results[-1].note == "not tried as a synonym: too many names were not current symbols"
    assert all(r.status == 200 for r in ensembl_standin.requests)


def test_assembly_mismatch_is_an_error(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path, assembly="GRCh38")
    with pytest.raises(EnsemblError, match="GRCh37.*GRCh38 was asked"):
        source.lookup(["FOXC1"])
    with pytest.raises(EnsemblError, match="GRCh38 was asked"):
        source.chrom_length("6")
    with pytest.raises(EnsemblError, match="GRCh38 was asked"):
        source.fetch_sequences([Region("6", 1_000_000, 1_000_010)])


def test_answer_for_another_id_is_never_used(ensembl_standin, tmp_path):
    def swap(payload):
        return {key: (None if value is None else {**value, "id": "ENSG00000164379"}) for key, value in payload.items()}

    ensembl_standin.corrupt_next(1, swap, match="lookup/id")
    (result,) = make_source(ensembl_standin, tmp_path).lookup(["ENSG00000054598"])
    assert result.genes[0].name == "FOXC1"  # the corrupt answer was refused and asked again
    assert len(requests_to(ensembl_standin, "lookup/id")) == 2
    ensembl_standin.corrupt_next(10, swap, match="lookup/id")
    with pytest.raises(EnsemblError, match="ENSG00000112699"):
        make_source(ensembl_standin, tmp_path, max_retries=2).lookup(["ENSG00000112699"])


def test_answer_for_another_symbol_is_never_used(ensembl_standin, tmp_path):
    def rename(payload):
        return {key: {**value, "display_name": "FOXF2"} for key, value in payload.items()}

    ensembl_standin.corrupt_next(10, rename, match="lookup/symbol")
    with pytest.raises(EnsemblError, match="asked for FOXC1, got 'FOXF2'"):
        make_source(ensembl_standin, tmp_path, max_retries=1).lookup(["FOXC1"])


# -- chromosome lengths, sequence -------------------------------------------------------------------------------


def test_chrom_length(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path)
    assert (source.chrom_length("6"), source.chrom_length("X")) == (2_051_541, 562_251)
    assert source.chrom_length("6") == 2_051_541
    assert len(requests_to(ensembl_standin, "info/assembly")) == 2  # cached
    with pytest.raises(EnsemblError, match="no chromosome '7'"):
        source.chrom_length("7")


def test_sequences_equal_independent_fasta_slices(ensembl_standin, tmp_path, demo_fasta):
    regions = [
        Region("6", 1_080_163, 1_080_229, "+", "AL033381.1"),
        Region("6", 1_608_680, 1_611_180, "+", "FOXC1|ENST00000380874"),
        Region("X", 230_385, 232_885, "-", "GTPBP6|ENST00000326153"),
        Region("6", 0, 200, "-"),  # chromosome start: telomere N
        Region("X", 562_000, 562_251, "-"),  # chromosome end
        Region("6", 5, 5),  # empty
    ]
    got = make_source(ensembl_standin, tmp_path).fetch_sequences(regions)
    for region, seq in zip(regions, got):
        assert seq == demo_fasta[region.chrom][region.start : region.end]  # forward strand, whatever the strand
    (post,) = requests_to(ensembl_standin, "sequence/region", "POST")
    assert post.body["regions"][0] == "6:1080164..1080229:1"  # 1-based closed on the wire
    assert got[3] == "N" * 200 and got[5] == ""


def test_region_query_converts_to_one_based():
    assert region_query("6", 1_080_163, 1_080_229) == "6:1080164..1080229:1"


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 50_000_000), length=st.integers(0, 35_000_000), more=st.lists(
    st.integers(1, 12_000_000), max_size=80))
def test_pieces_and_batches_cover_regions_within_limits(start, length, more):
    pieces = ensembl._split("1", start, start + length)  # 0-based half-open pieces
    bounds = [start] + [e for _, _, e in pieces]
    assert [s for _, s, _ in pieces] == bounds[:-1]  # contiguous, in order
    assert bounds[-1] == start + length
    assert all(0 < e - s <= ensembl.MAX_REGION_BP for _, s, e in pieces)
    many = pieces + [p for n in more for p in ensembl._split("2", 0, n)]
    batches = ensembl._sequence_batches(many)
    assert [p for b in batches for p in b] == many  # order kept, nothing lost
    for batch in batches:
        assert 1 <= len(batch) <= ensembl.MAX_POST_REGIONS
        assert len(batch) == 1 or sum(e - s for _, s, e in batch) <= ensembl.MAX_BATCH_BP


def test_sequence_posts_at_most_50_regions(ensembl_standin, tmp_path, demo_fasta):
    regions = [Region("6", 1_000_000 + 100 * i, 1_000_050 + 100 * i) for i in range(120)]
    got = make_source(ensembl_standin, tmp_path).fetch_sequences(regions)
    assert got == [demo_fasta["6"][r.start : r.end] for r in regions]
    posts = requests_to(ensembl_standin, "sequence/region", "POST")
    assert len(posts) == 3 and all(len(p.body["regions"]) <= 50 for p in posts)


def test_long_regions_are_split(ensembl_standin, tmp_path, demo_fasta, monkeypatch):
    monkeypatch.setattr(ensembl, "MAX_REGION_BP", 100_000)  # the demo chromosomes are shorter than 10 Mb
    monkeypatch.setattr(ensembl, "MAX_BATCH_BP", 100_000)
    (seq,) = make_source(ensembl_standin, tmp_path).fetch_sequences([Region("6", 1_000_000, 1_250_001)])
    assert seq == demo_fasta["6"][1_000_000:1_250_001]
    posts = requests_to(ensembl_standin, "sequence/region", "POST")
    assert [p.body["regions"] for p in posts] == [["6:1000001..1100000:1"], ["6:1100001..1200000:1"],
                                                  ["6:1200001..1250001:1"]]


def test_oversized_answers_are_refused(ensembl_standin, tmp_path, monkeypatch):
    monkeypatch.setattr(ensembl, "MAX_JSON_BYTES", 4000)  # PPP2R3B has 11 transcripts: a larger answer
    with pytest.raises(EnsemblError, match="too large"):
        make_source(ensembl_standin, tmp_path).lookup(["PPP2R3B"])


def test_out_of_range_region_names_it(ensembl_standin, tmp_path):
    with pytest.raises(EnsemblError, match="FOXC1|out of range"):
        make_source(ensembl_standin, tmp_path).fetch_sequences([Region("6", 2_051_000, 2_052_000, "+", "FOXC1")])


# -- faults: retries, Retry-After, throttle ---------------------------------------------------------------------


def test_429_retry_after_is_honoured(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path)
    source.provenance()  # ask info/data first, so that the faults hit the lookup
    ensembl_standin.fail_next(2, 429, retry_after=0.05)
    (result,) = source.lookup(["FOXQ1"])
    assert result.genes[0].name == "FOXQ1"
    statuses = [r.status for r in ensembl_standin.requests[1:]]
    assert statuses == [429, 429, 200]
    times = [r.time for r in ensembl_standin.requests[1:]]
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.05  # the stand-in's own timestamps


def test_retry_after_with_injected_sleep_and_backoff(ensembl_standin, tmp_path):
    clock = FakeClock()
    source = make_source(ensembl_standin, tmp_path, clock=clock, sleep=clock.sleep, backoff=0.5)
    source.provenance()
    ensembl_standin.fail_next(1, 429, retry_after=2.5)
    ensembl_standin.fail_next(3, 503, retry_after=None)
    source.lookup(["FOXQ1"])
    assert clock.sleeps == [2.5, 1.0, 2.0, 4.0]  # Retry-After, then exponential backoff before attempts 3, 4, 5


def test_retries_are_bounded_and_name_the_genes(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path, max_retries=2)
    source.provenance()
    ensembl_standin.fail_next(100, 503, match="lookup/")
    with pytest.raises(EnsemblError, match=r"FOXC1, GTPBP6.*3 attempts.*503"):
        source.lookup(["FOXC1", "GTPBP6"])
    assert len(requests_to(ensembl_standin, "lookup/")) == 3


def test_overlong_retry_after_fails_at_once(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path, max_wait=10)
    source.provenance()
    ensembl_standin.fail_next(1, 429, retry_after=3600)
    with pytest.raises(EnsemblError, match="wait 3600 s"):
        source.lookup(["FOXC1"])
    assert len(ensembl_standin.requests) == 2


def test_403_is_not_retried(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path)
    source.provenance()
    ensembl_standin.fail_next(5, 403)
    with pytest.raises(EnsemblError, match="403"):
        source.lookup(["FOXC1"])
    assert len(ensembl_standin.requests) == 2


@pytest.mark.parametrize("inject", [
    lambda s: s.fail_next(1, 500),
    lambda s: s.fail_next(2, 503, retry_after=0.01),
    lambda s: s.truncate_next(1),
    lambda s: s.reset_next(1),
    lambda s: s.short_sequence_next(1),
], ids=["500", "503", "truncated-json", "connection-reset", "short-sequence"])
def test_transient_faults_are_retried(ensembl_standin, tmp_path, demo_fasta, inject):
    source = make_source(ensembl_standin, tmp_path)
    source.provenance()
    inject(ensembl_standin)
    (seq,) = source.fetch_sequences([Region("6", 1_610_000, 1_611_000)])
    assert seq == demo_fasta["6"][1_610_000:1_611_000]
    assert len(requests_to(ensembl_standin, "sequence/region")) >= 2


def test_timeout_is_retried(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path, timeout=0.2)
    source.provenance()
    ensembl_standin.delay_next(1, 3.0)
    assert source.chrom_length("X") == 562_251
    assert len(requests_to(ensembl_standin, "info/assembly")) == 2


def test_persistently_short_sequence_is_an_error(ensembl_standin, tmp_path):
    source = make_source(ensembl_standin, tmp_path, max_retries=1)
    source.provenance()
    ensembl_standin.short_sequence_next(5)
    with pytest.raises(EnsemblError, match=r"FOXC1\|ENST00000380874.*999 bases instead of 1000"):
        source.fetch_sequences([Region("6", 1_610_000, 1_611_000, "+", "FOXC1|ENST00000380874")])


def test_throttle_keeps_15_requests_per_second(ensembl_standin, tmp_path):
    clock = FakeClock()  # time moves only when the client sleeps, so any missing pause shows in the timestamps
    ensembl_standin.clock = clock
    source = make_source(ensembl_standin, tmp_path, clock=clock, sleep=clock.sleep)
    source.lookup([f"NOSUCHGENE{n}" for n in range(40)])  # one POST + 40 xrefs GETs
    times = [r.time for r in ensembl_standin.requests]
    assert len(times) >= 42
    assert all(r.status == 200 for r in ensembl_standin.requests)  # the stand-in's limiter never tripped
    tolerance = 1e-6  # float rounding of the fake clock's sums
    assert all(times[i + 15] - times[i] >= 1.0 - tolerance for i in range(len(times) - 15))
    assert clock.now - 1000.0 >= 2.0  # 42 requests need at least two full seconds


def test_throttle_alone_spaces_requests():
    clock = FakeClock(0.0)
    throttle = ensembl._Throttle(15, 1.0, clock, clock.sleep)
    starts = []
    for _ in range(46):
        throttle.wait()
        starts.append(clock())
        throttle.record()
    assert starts[14] == 0.0 and starts[15] == 1.0 and starts[30] == 2.0 and starts[45] == 3.0


# -- cache and offline ------------------------------------------------------------------------------------------


def test_second_lookup_makes_no_requests(ensembl_standin, tmp_path):
    first = make_source(ensembl_standin, tmp_path).lookup(["FOXC1", "FKHL7", "ENST00000400701", "NOPE"])
    assert ensembl_standin.requests
    ensembl_standin.reset()
    again = make_source(ensembl_standin, tmp_path).lookup(["FOXC1", "FKHL7", "ENST00000400701", "NOPE"])
    assert ensembl_standin.requests == []
    assert again == first


def test_new_list_fetches_only_new_genes(ensembl_standin, tmp_path):
    make_source(ensembl_standin, tmp_path).lookup(["FOXC1", "FOXQ1"])
    ensembl_standin.reset()
    results = make_source(ensembl_standin, tmp_path).lookup(["foxq1", "GTPBP6", "FOXC1"])
    assert [r.genes[0].name for r in results] == ["FOXQ1", "GTPBP6", "FOXC1"]
    (post,) = ensembl_standin.requests
    assert post.body == {"symbols": ["GTPBP6"]}


def test_sequences_and_lengths_are_cached(ensembl_standin, tmp_path):
    regions = [Region("6", 1_610_000, 1_611_000), Region("X", 230_000, 231_000)]
    first = make_source(ensembl_standin, tmp_path).fetch_sequences(regions)
    make_source(ensembl_standin, tmp_path).chrom_length("X")
    ensembl_standin.reset()
    source = make_source(ensembl_standin, tmp_path)
    assert source.fetch_sequences(regions[::-1]) == first[::-1]
    assert source.chrom_length("X") == 562_251
    assert ensembl_standin.requests == []


def test_interrupted_fetch_resumes(ensembl_standin, tmp_path, demo_fasta):
    regions = [Region("6", 1_000_000 + 100 * i, 1_000_050 + 100 * i) for i in range(100)]  # two POSTs of 50
    source = make_source(ensembl_standin, tmp_path, max_retries=0)
    source.provenance()
    ensembl_standin.fail_every(2, 503)  # the first POST succeeds, the second fails
    with pytest.raises(EnsemblError, match="sequence"):
        source.fetch_sequences(regions)
    ensembl_standin.reset()
    got = make_source(ensembl_standin, tmp_path).fetch_sequences(regions)
    assert got == [demo_fasta["6"][r.start : r.end] for r in regions]
    (post,) = ensembl_standin.requests  # only what the first run lacked
    assert post.body["regions"] == [region_query(r.chrom, r.start, r.end) for r in regions[50:]]


def test_offline_answers_from_cache_and_names_what_is_missing(ensembl_standin, tmp_path):
    online = make_source(ensembl_standin, tmp_path)
    online.lookup(["FOXC1", "NOPE"])
    online.fetch_sequences([Region("6", 1_610_000, 1_611_000)])
    online.chrom_length("6")
    ensembl_standin.reset()
    offline = make_source(ensembl_standin, tmp_path, offline=True)
    cached, unknown, lacking = offline.lookup(["foxc1", "NOPE", "GTPBP6"])
    assert cached.genes[0].name == "FOXC1" and cached.note == ""
    assert unknown.genes == () and unknown.note == ""  # known to be unknown
    assert lacking.genes == () and lacking.note == "not in the cache (offline)"
    assert offline.chrom_length("6") == 2_051_541
    assert len(offline.fetch_sequences([Region("6", 1_610_000, 1_611_000)])[0]) == 1000
    with pytest.raises(OfflineCacheMiss, match=r"GTPBP6\|ENST00000326153"):
        offline.fetch_sequences([Region("6", 1_610_000, 1_611_000), Region("X", 1, 2, "-", "GTPBP6|ENST00000326153")])
    with pytest.raises(OfflineCacheMiss, match="chromosome X"):
        offline.chrom_length("X")
    assert offline.provenance()["ensembl_release"] == "75"
    assert ensembl_standin.requests == []


def test_cache_file_is_private(ensembl_standin, tmp_path):
    make_source(ensembl_standin, tmp_path).lookup(["FOXC1"])
    path = tmp_path / "cache" / CACHE_FILE_NAME
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for side in tmp_path.glob(f"cache/{CACHE_FILE_NAME}-*"):
        assert stat.S_IMODE(os.stat(side).st_mode) & 0o077 == 0


def test_default_cache_dir_honours_environment(ensembl_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIFSCAN_CACHE_DIR", str(tmp_path / "elsewhere"))
    EnsemblSource(assembly="GRCh37", base_url=ensembl_standin.url).lookup(["FOXC1"])
    assert (tmp_path / "elsewhere" / CACHE_FILE_NAME).is_file()


def test_no_cache_keeps_nothing(ensembl_standin, tmp_path):
    make_source(ensembl_standin, tmp_path, use_cache=False).lookup(["FOXC1"])
    make_source(ensembl_standin, tmp_path, use_cache=False).lookup(["FOXC1"])
    assert not (tmp_path / "cache").exists()
    assert len(requests_to(ensembl_standin, "lookup/symbol")) == 2


def test_new_release_drops_cached_answers(ensembl_standin, tmp_path):
    make_source(ensembl_standin, tmp_path).lookup(["FOXC1"])
    ensembl_standin.reset()
    ensembl_standin.release = 76
    source = make_source(ensembl_standin, tmp_path, release_ttl=0)
    source.lookup(["FOXC1"])
    assert [r.path for r in ensembl_standin.requests] == ["info/data", "lookup/symbol/human"]
    assert source.provenance()["ensembl_release"] == "76"


def test_caches_are_kept_apart_by_server_and_assembly(ensembl_standin, tmp_path):
    make_source(ensembl_standin, tmp_path).lookup(["FOXC1"])
    other = make_source(ensembl_standin, tmp_path, base_url=ensembl_standin.url + "/", offline=True)
    assert other.lookup(["FOXC1"])[0].genes  # same server spelled with a slash: same scope
    grch38 = make_source(ensembl_standin, tmp_path, assembly="GRCh38", offline=True)
    assert grch38.lookup(["FOXC1"])[0].note == "not in the cache (offline)"


def test_provenance(ensembl_standin, tmp_path):
    assert make_source(ensembl_standin, tmp_path).provenance() == {
        "source": "ensembl", "server": ensembl_standin.url, "species": "human", "assembly": "GRCh37",
        "ensembl_release": "75"}


# -- the real server (skipped unless asked for with -m network) ---------------------------------------------------


@pytest.mark.network
def test_il6r_on_the_real_grch38_server(tmp_path):
    source = EnsemblSource(species="human", assembly="GRCh38", base_url="https://rest.ensembl.org",
                           cache_dir=tmp_path)
    (result,) = source.lookup(["IL6R"])
    (gene,) = result.genes
    assert (gene.chrom, gene.strand, gene.id) == ("1", "+", "ENSG00000160712")
    assert gene.canonical_transcript is not None
