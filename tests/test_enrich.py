"""motifscan enrich on synthetic seeded genomes: calibration under the null (GC-matched), the GC confounder with and
without matching, power on planted CRE sites, exactness of counts and p-values against scipy and a brute-force scan,
the on-disk cache (hits, damaged and stale entries), and the Ensembl stand-in serving the same genome."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from oracles import reverse_complement, window_score
from scipy import stats
from synthetic_genome import DOWNSTREAM, UPSTREAM, make_genome

from motifscan.gene_lists import compare, enrich
from motifscan.model import Region
from motifscan.motifs import default_motif_ids, log_odds, select_motifs
from motifscan.promoter_background import (
    BackgroundCache,
    PromoterRule,
    build_background,
)
from motifscan.sources.local import LocalGenomeSource

CONTROLS = ["MA0079.5", "MA0035.5", "MA0143.5", "MA0139.2"]  # SP1 (GC-rich), GATA1, SOX2, CTCF
MOTIF_IDS = default_motif_ids() + CONTROLS
WINDOW = {"upstream": UPSTREAM, "downstream": DOWNSTREAM}


@pytest.fixture(scope="module")
def gc_genome(tmp_path_factory):
    """600 genes in two GC classes (0.42 and 0.62, +-0.02), alternating."""
    return make_genome(tmp_path_factory.mktemp("gc"), 600,
                       lambda i, rng: (0.42 if i % 2 else 0.62) + rng.uniform(-0.02, 0.02), seed=1)


@pytest.fixture(scope="module")
def gc_table(gc_genome, tmp_path_factory):
    motifs = select_motifs(motif_ids=MOTIF_IDS)
    with LocalGenomeSource(gc_genome.fasta, gc_genome.gtf, tmp_path_factory.mktemp("idx")) as source:
        bg = build_background(source, motifs, rule=PromoterRule(UPSTREAM, DOWNSTREAM), universe_names=None,
                              universe_label="protein_coding", jaspar_release="JASPAR2026", pseudocount=0.8,
                              background="uniform", p_threshold=1e-4, min_rel_score=None, mask_lowercase=False,
                              jobs=1, cache=None)
    return bg.scores, motifs


def _split(table, picked):
    mask = np.zeros(len(table), bool)
    mask[picked] = True
    return table.rows(mask), table.rows(~mask)


def test_null_lists_are_calibrated_with_gc_matching(gc_table):
    """100 random lists of 30 genes from the background: the rank test's p-values are uniform (KS), Fisher's are
    never anti-conservative (one-sided KS), and few lists have any q < 0.05."""
    table, motifs = gc_table
    rng = np.random.default_rng(2)
    rank_p, fisher_p, any_q = [], [], 0
    for _ in range(100):
        query, background = _split(table, rng.choice(len(table), 30, replace=False))
        columns, _ = compare(query, background, motifs, gc_match=True)
        order = np.argsort(columns["motif_id"])
        rank_p.append(columns["rank_p_value"][order])
        fisher_p.append(columns["p_value"][order])
        any_q += bool((columns["q_value"] < 0.05).any() or (columns["rank_q_value"] < 0.05).any())
    rank_p, fisher_p = np.array(rank_p), np.array(fisher_p)
    ids = sorted(m.id for m in motifs)
    for j in [ids.index("MA0079.5"), ids.index("MA0018.5"), ids.index("MA0139.2")]:
        assert stats.kstest(rank_p[:, j], "uniform").pvalue > 1e-3
        assert stats.kstest(fisher_p[:, j], "uniform", alternative="greater").pvalue > 1e-3
    assert (rank_p < 0.05).mean() < 0.075 and (fisher_p < 0.05).mean() < 0.06
    assert any_q <= 10  # rarely any q < 0.05 over 26 matrices x 2 tests


def test_gc_rich_list_shows_gc_rich_motif_without_matching_only(gc_genome, tmp_path):
    rich = [name for name, gc in zip(gc_genome.names, gc_genome.gc) if gc > 0.5][:30]
    rows = {}
    for gc_match in (False, True):
        result = enrich(rich, MOTIF_IDS, genome=gc_genome.fasta, annotation=gc_genome.gtf, gc_match=gc_match,
                        cache_dir=tmp_path, command="test", **WINDOW)
        rows[gc_match] = next(r for r in result if r["motif_id"] == "MA0079.5")
    assert rows[False]["rank_p_value"] < 1e-3 and rows[False]["p_value"] < 0.05
    assert rows[True]["rank_p_value"] > 0.01 and rows[True]["p_value"] > 0.05


@pytest.fixture(scope="module")
def planted_genome(tmp_path_factory):
    """400 genes at GC 0.5; a CRE (TGACGTCA) planted in the promoters of 40 of them; 3 lincRNA genes; the last 10
    genes beyond 5 Mb on an 11 Mb chromosome 2 (for the Ensembl stand-in's region limit)."""
    plant = {i: "TGACGTCA" for i in range(0, 400, 10)}
    return make_genome(tmp_path_factory.mktemp("planted"), 400, lambda i, rng: 0.5, seed=3, plant=plant,
                       n_noncoding=3, far_chromosome=True, gzipped=True)


def _planted_query(genome):
    others = [n for n in genome.names if n not in genome.planted][:10]
    return genome.planted + others


def test_planted_sites_are_found_and_only_matrices_that_see_them(planted_genome, tmp_path):
    result = enrich(_planted_query(planted_genome), MOTIF_IDS, genome=planted_genome.fasta,
                    annotation=planted_genome.gtf, cache_dir=tmp_path, command="test", **WINDOW)
    assert result[0]["motif_id"] in {m for m in default_motif_ids()}
    creb1 = next(r for r in result if r["motif_id"] == "MA0018.5")
    assert creb1["q_value"] < 1e-6 and creb1["rank_q_value"] < 1e-3
    assert creb1["genes_with_site"] >= 40
    # "can see the site": the matrix scores TGACGTCA with 3 bases of flank on either side at p <= 1e-4 on some strand
    motifs = {m.id: m for m in select_motifs(motif_ids=MOTIF_IDS)}
    rng = np.random.default_rng(0)
    for row in result:
        if row["q_value"] >= 0.05:
            continue
        matrix = log_odds(motifs[row["motif_id"]].counts, 0.8, np.full(4, 0.25))
        threshold = result.query.site_threshold[list(result.query.motif_ids).index(row["motif_id"])]
        seen = 0
        def flank() -> str:
            return "".join(rng.choice(list("ACGT"), 12))

        for _ in range(50):
            text = flank() + "TGACGTCA" + flank()
            w = matrix.shape[1]
            best = max(max(window_score(matrix, text[i : i + w]), window_score(matrix,
                       reverse_complement(text[i : i + w]))) for i in range(len(text) - w + 1)
                       if i <= 12 + 8 and i + w >= 12)
            seen += best >= threshold
        assert seen >= 5, f"{row['motif_id']} is significant but cannot see a CRE"
    for control in CONTROLS:
        row = next(r for r in result if r["motif_id"] == control)
        assert row["q_value"] > 0.05 and row["rank_q_value"] > 0.05


def test_counts_and_p_values_equal_scipy_and_a_brute_force_scan(planted_genome, tmp_path):
    """Query genes are left out of the background; the four counts come from a brute-force scan of every promoter
    window; p_value is scipy's one-sided Fisher of them, rank_p_value scipy's Mann-Whitney on the best scores."""
    query_names = _planted_query(planted_genome)[:12]
    ids = ["MA0018.5", "MA0605.3", "MA0079.5"]
    result = enrich(query_names, ids, genome=planted_genome.fasta, annotation=planted_genome.gtf,
                    gc_match=False, cache_dir=tmp_path, command="test", **WINDOW)
    assert not set(result.background.gene_ids) & set(result.query.gene_ids)
    assert len(result.background) == 400 - 12
    with LocalGenomeSource(planted_genome.fasta, planted_genome.gtf, tmp_path) as source:
        genes = {g.name: g for g in source.genes if g.biotype == "protein_coding"}
        sequences = {}
        for name, gene in genes.items():
            tss = gene.canonical_transcript.tss
            start, end = (tss - UPSTREAM, tss + DOWNSTREAM) if gene.strand == "+" else \
                (tss - DOWNSTREAM + 1, tss + UPSTREAM + 1)
            sequences[name] = source.fetch_sequences([Region(gene.chrom, start, end)])[0]
    motifs = {m.id: m for m in select_motifs(motif_ids=ids)}
    for row in result:
        j = list(result.query.motif_ids).index(row["motif_id"])
        matrix = log_odds(motifs[row["motif_id"]].counts, 0.8, np.full(4, 0.25))
        threshold = result.query.site_threshold[j]
        w = matrix.shape[1]

        # every window, both strands: the matrix and its reverse complement column by column
        def best(text, matrix=matrix, w=w):
            codes = np.array(["ACGT".index(c) for c in text.upper()])
            n = len(codes) - w + 1
            forward = sum(matrix[codes[k : k + n], k] for k in range(w))
            reverse = sum(matrix[::-1, ::-1][codes[k : k + n], k] for k in range(w))
            return float(max(forward.max(), reverse.max()))

        bests = {name: best(seq) for name, seq in sequences.items()}
        q = [bests[n] for n in query_names]
        b = [v for n, v in bests.items() if n not in query_names]
        a, c = sum(v >= threshold - 1e-9 for v in q), sum(v >= threshold - 1e-9 for v in b)
        assert (row["genes"], row["genes_with_site"], row["background_genes"], row["background_with_site"]) == \
            (len(q), a, len(b), c)
        table = [[a, len(q) - a], [c, len(b) - c]]
        assert row["p_value"] == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue, rel=1e-9)
        floor = result.query.floor_score[j]
        censored_q = [round(v, 6) if v >= floor - 1e-9 else -np.inf for v in q]
        censored_b = [round(v, 6) if v >= floor - 1e-9 else -np.inf for v in b]
        expected = stats.mannwhitneyu(censored_q, censored_b, alternative="greater")
        assert row["rank_p_value"] == pytest.approx(expected.pvalue, rel=1e-9)


def test_second_list_uses_the_cache_and_damaged_entries_are_rebuilt(planted_genome, tmp_path, caplog):
    options = dict(genome=planted_genome.fasta, annotation=planted_genome.gtf, cache_dir=tmp_path, command="t",
                   **WINDOW)
    first = enrich(planted_genome.planted[:10], ["MA0018.5", "MA0079.5"], **options)
    assert dict(first.provenance)["background_cache"] == "built"
    second = enrich(planted_genome.planted[10:25], ["MA0018.5", "MA0079.5"], **options)
    assert dict(second.provenance)["background_cache"] == "hit"
    entries = list((tmp_path / "backgrounds").glob("*.npz"))
    assert len(entries) == 1
    # damaged: truncated, then altered bytes, then another entry's content under this name
    good = entries[0].read_bytes()
    for damage in (good[: len(good) // 2], good[:-40] + bytes(40)):
        entries[0].write_bytes(damage)
        with caplog.at_level(logging.WARNING):
            again = enrich(planted_genome.planted[10:25], ["MA0018.5", "MA0079.5"], **options)
        assert dict(again.provenance)["background_cache"] == "built"
        assert any("damaged or stale" in r.message for r in caplog.records)
        assert again.to_tsv().split("# command")[1] == second.to_tsv().split("# command")[1]
        caplog.clear()
    # stale: another p threshold, or the same motif ID with other counts, is another key
    other = enrich(planted_genome.planted[10:25], ["MA0018.5", "MA0079.5"], p_threshold=1e-3, **options)
    assert dict(other.provenance)["background_cache"] == "built"
    motif = select_motifs(motif_ids=["MA0018.5"])[0]
    edited = type(motif)(motif.id, motif.name, motif.counts[:, ::-1].copy(), "edited")
    changed = enrich(planted_genome.planted[10:25], [edited], **options)
    assert dict(changed.provenance)["background_cache"] == "built"
    assert BackgroundCache(tmp_path / "backgrounds").directory.exists()


def test_background_genes_file_is_the_universe(planted_genome, tmp_path):
    universe = tmp_path / "expressed.txt"
    names = planted_genome.names[::2] + ["NOT_A_GENE"]
    universe.write_text("# expressed in the tissue\n" + "\n".join(names) + "\n")
    query = planted_genome.planted[:10]
    result = enrich(query, ["MA0018.5"], background_genes=universe, genome=planted_genome.fasta,
                    annotation=planted_genome.gtf, cache_dir=tmp_path, command="t", **WINDOW)
    expected = {n for n in planted_genome.names[::2]} - set(query)
    assert set(result.background.gene_names) == expected
    assert result[0]["background_genes"] == len(expected)


def test_ensembl_standin_gives_the_local_result(planted_genome, tmp_path):
    from ensembl_standin import EnsemblStandin

    query = _planted_query(planted_genome)[:15]
    ids = ["MA0018.5", "MA0079.5"]
    local = enrich(query, ids, genome=planted_genome.fasta, annotation=planted_genome.gtf, cache_dir=tmp_path / "l",
                   command="t", **WINDOW)
    with EnsemblStandin(assembly_name="SYN1", data_dir=planted_genome.directory) as server:
        remote = enrich(query, ids, ensembl_url=server.url, assembly="SYN1", cache_dir=tmp_path / "r",
                        command="t", **WINDOW)
        overlap = [r for r in server.requests if r.path.startswith("overlap/region")]
        assert overlap and all(r.query["feature"] == ["gene"] and r.query["biotype"] == ["protein_coding"]
                               for r in overlap)
        for r in overlap:
            chrom_range = re.match(r".*/(\w+):(\d+)-(\d+)$", r.path)
            assert int(chrom_range[3]) - int(chrom_range[2]) + 1 <= 5_000_000
        times = sorted(r.time for r in server.requests)
        assert all(b - a >= 1.0 for a, b in zip(times, times[15:]))  # at most 15 requests in any second
        assert len([r for r in overlap if "/2:" in r.path]) == 3  # 11 Mb in 5 Mb pieces
        server.requests.clear()
        cached = enrich(query[:5], ids, ensembl_url=server.url, assembly="SYN1", cache_dir=tmp_path / "r",
                        command="t", **WINDOW)
        assert dict(cached.provenance)["background_cache"] == "hit"
        assert not [r for r in server.requests if r.path.startswith(("overlap", "sequence"))][5:]
    assert len(remote.background) == 400 - 15  # the lincRNA genes are not in the background
    for a, b in zip(local, remote):
        for column in ("motif_id", "genes", "genes_with_site", "background_genes", "background_with_site",
                       "p_value", "rank_p_value"):
            assert a[column] == b[column]


def test_a_gtf_edited_under_its_old_mtime_is_never_answered_from_the_memo_or_cache(planted_genome, tmp_path):
    """The second list re-parses neither the GTF nor re-hashes the genome (motifscan.sources.memo); a GTF rewritten
    with its mtime set back (as cp -p and rsync -a leave it) is parsed again and its background rebuilt."""
    import os
    import shutil

    gtf = tmp_path / "genes.gtf"
    shutil.copyfile(planted_genome.gtf, gtf)
    options = dict(genome=planted_genome.fasta, annotation=gtf, cache_dir=tmp_path / "cache", command="t", **WINDOW)
    first = enrich(planted_genome.planted[:10], ["MA0018.5"], **options)
    assert list((tmp_path / "cache" / "local-memo" / "annotations").glob("*.json"))
    stat = gtf.stat()
    old, new = planted_genome.names[-20], "Z" + planted_genome.names[-20][1:]
    gtf.write_text(gtf.read_text().replace(f'"{old}"', f'"{new}"'))
    os.utime(gtf, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = enrich([new, *planted_genome.planted[:9]], ["MA0018.5"], **options)
    assert dict(second.provenance)["background_cache"] == "built"
    assert new in second.query.gene_names and old not in second.background.gene_names
    assert dict(first.provenance)["source_annotation_md5"] != dict(second.provenance)["source_annotation_md5"]


def test_enrich_takes_the_scan_options_declared_once(planted_genome, tmp_path):
    """enrich's keywords are scan_genes' (motifscan/options.py): unknown ones, bad values and the options that shape
    site lists only are refused, naming them."""
    from motifscan.errors import UsageError

    base = dict(genome=planted_genome.fasta, annotation=planted_genome.gtf, cache_dir=tmp_path)
    for extra, named in (({"pvalue": 1e-3}, "pvalue"), ({"p_threshold": 2}, "p_threshold"),
                         ({"q_threshold": 0.1}, "q_threshold"), ({"max_strand": True}, "max_strand"),
                         ({"chrom_style": "ucsc"}, "chrom_style"), ({"upstream": -1}, "upstream")):
        with pytest.raises(UsageError, match=named):
            enrich(planted_genome.planted[:3], ["MA0018.5"], **base, **extra)
