"""The Ensembl stand-in itself: its data agree with facts published in the demo genome's README, and it speaks
Ensembl's formats, limits and errors. Coordinates on the wire are Ensembl's: 1-based, inclusive, strand 1/-1."""

from __future__ import annotations

import json

import pytest
import requests
from ensembl_standin import load_demo, reverse_complement

JSON = {"Content-Type": "application/json", "Accept": "application/json"}

# "Genes (canonical TSS)" in shared/data/README.txt, 1-based.
README_TSS = {
    "AL033381.1": ("6", 1080164, 1), "snoU13": ("6", 1186753, 1), "FOXQ1": ("6", 1312675, 1),
    "RP4-668J24.2": ("6", 1385301, -1), "FOXF2": ("6", 1390069, 1), "Metazoa_SRP": ("6", 1507557, 1),
    "RP11-157J24.1": ("6", 1515524, -1), "FOXC1": ("6", 1610681, 1), "GMDS": ("6", 2245926, -1),
    "LINC00108": ("X", 170410, 1), "PLCXD1": ("X", 192989, 1), "GTPBP6": ("X", 230886, -1),
    "PPP2R3B-AS1": ("X", 281725, 1), "PPP2R3B": ("X", 347445, -1),
}


def get(standin, path, **params):
    return requests.get(f"{standin.url}/{path}", params=params, headers=JSON, timeout=10)


def post(standin, path, body, **params):
    return requests.post(f"{standin.url}/{path}", params=params, data=json.dumps(body), headers=JSON, timeout=10)


# -- data spot checks against README.txt --------------------------------------------------------------------------


def test_demo_counts_match_readme():
    sequences, genes = load_demo()
    assert {name: len(seq) for name, seq in sequences.items()} == {"6": 2_051_541, "X": 562_251}
    assert len(genes) == 14
    assert sum(len(g["transcripts"]) for g in genes.values()) == 44
    assert sum(t["canonical"] for g in genes.values() for t in g["transcripts"].values()) == 14


def test_foxc1_transcript_starts_at_readme_position(ensembl_standin):
    tx = get(ensembl_standin, "lookup/id/ENST00000380874").json()
    assert (tx["seq_region_name"], tx["start"], tx["strand"]) == ("6", 1_610_681, 1)
    assert tx["Parent"] == "ENSG00000054598"
    assert tx["assembly_name"] == "GRCh37"


def test_gtpbp6_canonical_tss_is_transcript_end_on_minus(ensembl_standin):
    gene = get(ensembl_standin, "lookup/symbol/homo_sapiens/GTPBP6", expand=1).json()
    canonical = [t for t in gene["Transcript"] if t["is_canonical"] == 1]
    assert len(canonical) == 1
    assert (canonical[0]["seq_region_name"], canonical[0]["end"], canonical[0]["strand"]) == ("X", 230_886, -1)
    assert gene["canonical_transcript"].split(".")[0] == canonical[0]["id"]


def test_every_canonical_tss_matches_readme(ensembl_standin):
    answer = post(ensembl_standin, "lookup/symbol/human", {"symbols": list(README_TSS)}, expand=1).json()
    assert set(answer) == set(README_TSS)
    for symbol, (chrom, tss, strand) in README_TSS.items():
        canonical = next(t for t in answer[symbol]["Transcript"] if t["is_canonical"])
        assert canonical["seq_region_name"] == chrom
        assert canonical["strand"] == strand
        assert (canonical["start"] if strand == 1 else canonical["end"]) == tss, symbol


@pytest.mark.parametrize("chrom, length", [("6", 2_051_541), ("X", 562_251)])
def test_chromosome_lengths(ensembl_standin, chrom, length):
    info = get(ensembl_standin, f"info/assembly/human/{chrom}").json()
    assert info["length"] == length
    assert (info["assembly_name"], info["coordinate_system"], info["is_chromosome"]) == ("GRCh37", "chromosome", 1)


def test_al033381_gene_region_is_25018_bp(ensembl_standin):
    answer = get(ensembl_standin, "sequence/region/human/6:1080164..1105181:1").json()
    assert len(answer["seq"]) == 25_018
    assert answer["id"] == "chromosome:GRCh37:6:1080164:1105181:1"
    assert answer["molecule"] == "dna"
    assert set(answer["seq"]) <= set("ACGT")


def test_telomere_is_n(ensembl_standin):
    # README: "6:61-122 is all N, as t/sequences.t expects"
    assert get(ensembl_standin, "sequence/region/human/6:61..122").json()["seq"] == "N" * 62


# -- formats, limits, errors ----------------------------------------------------------------------------------------


def test_minus_strand_is_reverse_complement_and_dash_separator(ensembl_standin):
    plus = get(ensembl_standin, "sequence/region/human/6:1080164..1080229:1").json()
    minus = get(ensembl_standin, "sequence/region/human/6:1080164-1080229:-1").json()
    assert minus["seq"] == reverse_complement(plus["seq"])
    assert minus["id"] == "chromosome:GRCh37:6:1080164:1080229:-1"
    assert plus["seq"].startswith("CCTCAAATAAGAGCC")


def test_symbols_case_insensitive_and_species_alias(ensembl_standin):
    a = get(ensembl_standin, "lookup/symbol/human/foxc1").json()
    b = get(ensembl_standin, "lookup/symbol/homo_sapiens/FOXC1").json()
    assert a["id"] == b["id"] == "ENSG00000054598"
    assert "Transcript" not in a


def test_unknown_symbol_and_species_get_400(ensembl_standin):
    unknown = get(ensembl_standin, "lookup/symbol/human/FOO")
    assert unknown.status_code == 400
    assert unknown.json() == {"error": "No valid lookup found for symbol FOO"}
    assert get(ensembl_standin, "lookup/symbol/martian/FOXC1").status_code == 400


def test_post_symbols_keyed_as_sent_and_unknown_absent(ensembl_standin):
    answer = post(ensembl_standin, "lookup/symbol/human", {"symbols": ["FoxQ1", "NOPE"]}).json()
    assert list(answer) == ["FoxQ1"]
    assert answer["FoxQ1"]["display_name"] == "FOXQ1"


def test_post_limits(ensembl_standin):
    too_many = post(ensembl_standin, "lookup/symbol/human", {"symbols": [f"S{i}" for i in range(1001)]})
    assert too_many.status_code == 400
    assert too_many.json()["error"].startswith("POST message too large. You have submitted 1001 elements but a "
                                               "limit of 1000 is in place")
    assert post(ensembl_standin, "lookup/id", {"ids": ["X"] * 1001}).status_code == 400
    regions = post(ensembl_standin, "sequence/region/human", {"regions": ["6:1..10"] * 51})
    assert regions.status_code == 400


def test_lookup_id_versions_and_unknown(ensembl_standin):
    answer = post(ensembl_standin, "lookup/id", {"ids": ["ENSG00000054598.5", "ENSG00000054598", "ENSG00000000001",
                                                         "ENST00000326153"]}).json()
    assert answer["ENSG00000054598.5"]["id"] == answer["ENSG00000054598"]["id"] == "ENSG00000054598"
    assert answer["ENSG00000000001"] is None
    assert answer["ENST00000326153"]["Parent"] == "ENSG00000178605"
    missing = get(ensembl_standin, "lookup/id/ENSG00000000001")
    assert (missing.status_code, missing.json()) == (400, {"error": "ID 'ENSG00000000001' not found"})


def test_xrefs_synonyms(ensembl_standin):
    assert get(ensembl_standin, "xrefs/symbol/human/fkhl7", object_type="gene").json() == [
        {"type": "gene", "id": "ENSG00000054598"}]
    assert get(ensembl_standin, "xrefs/symbol/human/FOXC1", object_type="gene").json() == [
        {"type": "gene", "id": "ENSG00000054598"}]
    assert get(ensembl_standin, "xrefs/symbol/human/NOPE", object_type="gene").json() == []


def test_sequence_errors(ensembl_standin):
    assert get(ensembl_standin, "sequence/region/human/6:1..10000001").status_code == 400
    assert get(ensembl_standin, "sequence/region/human/6:2051500..2051542").status_code == 400
    assert get(ensembl_standin, "sequence/region/human/6:0..10").status_code == 400
    answer = post(ensembl_standin, "sequence/region/human", {"regions": ["garbage", "X:1..5", "7:1..5"]}).json()
    assert [a["query"] for a in answer] == ["X:1..5"]  # malformed and unknown regions dropped silently


def test_release(ensembl_standin):
    assert get(ensembl_standin, "info/data").json() == {"releases": [75]}
    ensembl_standin.release = 80
    assert get(ensembl_standin, "info/data").json() == {"releases": [80]}


# -- fault injection and the rate limiter ---------------------------------------------------------------------------


def test_fail_next_gives_429_with_retry_after(ensembl_standin):
    ensembl_standin.fail_next(2, 429, retry_after=0.25)
    first, second, third = (get(ensembl_standin, "info/data") for _ in range(3))
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "0.25"
    assert first.headers["Content-Type"] == "text/plain"
    assert third.status_code == 200
    assert "X-RateLimit-Remaining" in third.headers


def test_fail_every_and_match(ensembl_standin):
    ensembl_standin.fail_every(3, 503)
    statuses = [get(ensembl_standin, "info/data").status_code for _ in range(6)]
    assert statuses == [200, 200, 503, 200, 200, 503]
    ensembl_standin.fail_every(0)
    ensembl_standin.fail_next(1, 500, match="lookup/")
    assert get(ensembl_standin, "info/data").status_code == 200
    assert get(ensembl_standin, "lookup/id/ENSG00000054598").status_code == 500


def test_fail_randomly_is_seeded(ensembl_standin):
    ensembl_standin.rate_limit = None  # 20 quick requests would trip it
    ensembl_standin.fail_randomly(0.5, 500, seed=1)
    first = [get(ensembl_standin, "info/data").status_code for _ in range(10)]
    ensembl_standin.fail_randomly(0.5, 500, seed=1)
    again = [get(ensembl_standin, "info/data").status_code for _ in range(10)]
    assert first == again
    assert {200, 500} == set(first)


def test_rate_limiter_trips_at_the_16th_request_in_a_second(ensembl_standin):
    ensembl_standin.clock = lambda: 100.0  # frozen: every request in the same instant
    statuses = [get(ensembl_standin, "info/data").status_code for _ in range(16)]
    assert statuses == [200] * 15 + [429]
    ensembl_standin.clock = lambda: 101.0  # one second later the window has emptied
    assert get(ensembl_standin, "info/data").status_code == 200


def test_truncated_json_short_sequence_and_corruption(ensembl_standin):
    ensembl_standin.truncate_next(1)
    with pytest.raises(ValueError):
        get(ensembl_standin, "info/data").json()
    ensembl_standin.short_sequence_next(1, missing=3)
    assert len(get(ensembl_standin, "sequence/region/human/6:1000001..1000010").json()["seq"]) == 7
    ensembl_standin.corrupt_next(1, lambda payload: {**payload, "id": "ENSG00000000002"}, match="lookup/id")
    assert get(ensembl_standin, "lookup/id/ENSG00000054598").json()["id"] == "ENSG00000000002"


def test_connection_reset_and_delay(ensembl_standin):
    ensembl_standin.reset_next(1)
    with pytest.raises(requests.ConnectionError):
        get(ensembl_standin, "info/data")
    ensembl_standin.delay_next(1, 5.0)
    with pytest.raises(requests.Timeout):
        requests.get(f"{ensembl_standin.url}/info/data", timeout=0.1)
    assert get(ensembl_standin, "info/data").status_code == 200


def test_requests_are_recorded(ensembl_standin):
    post(ensembl_standin, "lookup/id", {"ids": ["ENSG00000054598"]}, expand=1)
    get(ensembl_standin, "lookup/symbol/human/NOPE")
    first, second = ensembl_standin.requests
    assert (first.method, first.path, first.query, first.body) == (
        "POST", "lookup/id", {"expand": ["1"]}, {"ids": ["ENSG00000054598"]})
    assert (second.method, second.path, second.status) == ("GET", "lookup/symbol/human/NOPE", 400)
    assert second.time >= first.time


def test_added_routes_are_served_limited_recorded_and_survive_reset(ensembl_standin):
    from ensembl_standin import ApiError

    def overlap(species, region, query, body):
        if region == "bad":
            raise ApiError(400, "Could not decode region bad")
        return [{"region": region, "feature": query.get("feature", ["gene"])[0]}]

    ensembl_standin.add_route("GET", "overlap/region/*/*", overlap)
    try:
        ensembl_standin.reset()  # added routes stay
        answer = get(ensembl_standin, "overlap/region/human/6:1-10", feature="variation")
        assert answer.status_code == 200 and answer.json() == [{"region": "6:1-10", "feature": "variation"}]
        refused = get(ensembl_standin, "overlap/region/human/bad")
        assert refused.status_code == 400 and refused.json() == {"error": "Could not decode region bad"}
        assert [r.path for r in ensembl_standin.requests] == ["overlap/region/human/6:1-10", "overlap/region/human/bad"]
        ensembl_standin.fail_next(1, status=503, match="overlap/")  # faults apply to added routes too
        assert get(ensembl_standin, "overlap/region/human/6:1-10").status_code == 503
        # a route added again for the same method and pattern replaces the old one
        ensembl_standin.add_route("GET", "overlap/region/*/*", lambda species, region, query, body: {"n": 1})
        assert get(ensembl_standin, "overlap/region/human/6:1-10").json() == {"n": 1}
    finally:
        ensembl_standin.remove_routes()  # the server is shared by the session
