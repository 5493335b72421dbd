"""Allele-specific variant scoring against oracles that share no code with it.

Oracle: each allele's sequence is built by string splicing of the reference read with the standard library
(tests/oracles.py), every window is scored by direct summation (the - strand on the reverse-complemented text), the
touched-window rules are applied from coordinates, and p-values are exact by enumeration of all 4**w words.
Promoter windows come from the demo GTF read by the stand-in's own parser.
"""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path

import numpy as np
import pytest
from ensembl_standin import VariationRecord, load_demo, serve_variations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import enumerate_scores, exact_pvalues, read_fasta_plainly, reverse_complement, window_score

import motifscan
from motifscan.allele_scores import EditBatch, best_windows
from motifscan.errors import GenomeError, UsageError
from motifscan.motifs import log_odds, select_motifs
from motifscan.variant_io import Variant, classify, edit_of

SHORT_MOTIFS = ["MA0604.1", "MA1988.2", "MA0018.5"]  # widths 8, 7, 8: exact p by enumeration of 4**w words
UNIFORM = np.full(4, 0.25)
P_THRESHOLD = 1e-2


@pytest.fixture(scope="module")
def matrices():
    return {m.id: (m, log_odds(m.counts, 0.8, UNIFORM)) for m in select_motifs(motif_ids=SHORT_MOTIFS)}


@pytest.fixture(scope="module")
def windows():
    """Canonical promoter windows (0-based half-open) of the demo genes, from the GTF, by the EPD/Bioconductor rule."""
    sequences, genes = load_demo()
    out = {}
    for gene in genes.values():
        tx = next(t for t in gene["transcripts"].values() if t["canonical"])
        if gene["strand"] == 1:
            tss = tx["start"] - 1
            lo, hi = tss - 2000, tss + 500
        else:
            tss = tx["end"] - 1
            lo, hi = tss - 500 + 1, tss + 2000 + 1
        out[gene["name"]] = (gene["chrom"], max(0, lo), min(hi, len(sequences[gene["chrom"]])), tss, gene["strand"])
    return out


# ------------------------------------------------------------------------------------------------------ the oracle


def trimmed(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """0-based start, deleted, inserted: shared suffix then shared prefix removed."""
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    start = pos - 1
    while ref and alt and ref[0] == alt[0]:
        ref, alt, start = ref[1:], alt[1:], start + 1
    return start, ref, alt


def oracle(sequence: str, lo: int, hi: int, pos: int, ref: str, alt: str, matrix: np.ndarray, frames=None):
    """{strand: (best ref score, best ref text, best alt score, best alt text)} by brute force over the window
    [lo, hi) of ``sequence`` (a chromosome). Windows with a letter other than ACGT are not scored. ``frames``, a
    dict, gets {strand: (ref edited columns, alt edited columns, tie)}: the columns of each best word (5'->3' on
    its strand) that hold the edit's own bases, and whether another touched window scored within 1e-9 of a best."""
    start, deleted, inserted = trimmed(pos, ref, alt)
    width = matrix.shape[1]
    ref_seq = sequence[lo:hi]
    s = start - lo
    alt_seq = ref_seq[:s] + inserted + ref_seq[s + len(deleted):]
    if len(deleted) == len(inserted):
        changed = {s + j for j in range(len(deleted)) if deleted[j] != inserted[j]}

        def ref_touch(i):
            return any(i <= c < i + width for c in changed)

        alt_touch = ref_touch
    else:
        def touches(allele, i):  # a window touches an indel: overlaps its letters, or spans the junction
            return i < s + len(allele) and i + width > s if allele else i <= s - 1 and i + width > s

        def ref_touch(i):
            return touches(deleted, i)

        def alt_touch(i):
            return touches(inserted, i)
    if len(deleted) == len(inserted):
        own = (changed, changed)
    else:
        own = (set(range(s, s + len(deleted))), set(range(s, s + len(inserted))))
    out = {}
    for strand in "+-":
        best, edited, tie = [], [], False
        for seq, touch, letters in ((ref_seq, ref_touch, own[0]), (alt_seq, alt_touch, own[1])):
            top, text, columns = -math.inf, "", set()
            for i in range(max(0, s - 2 * width), min(len(seq) - width + 1, s + 60 + width)):  # touched ones lie here
                word = seq[i : i + width]
                if not touch(i) or any(c not in "ACGTacgt" for c in word):
                    continue
                word = word if strand == "+" else reverse_complement(word)
                score = window_score(matrix, word)
                if abs(score - top) <= 1e-9:
                    tie = True
                if score > top + 1e-9:
                    top, text = score, word
                    columns = {c - i if strand == "+" else width - 1 - (c - i) for c in letters if i <= c < i + width}
            best += [top, text]
            edited.append(columns)
        out[strand] = tuple(best)
        if frames is not None:
            frames[strand] = (edited[0], edited[1], tie)
    return out


def delta_oracle(matrix: np.ndarray, score: float, own_p: float, word: str, edited: set[int]) -> float:
    """delta_p_value by enumeration: P(R >= r) for R the score of uniform random letters in the columns of the best
    ``word`` (5'->3' on its strand, scored with ``matrix``) that the edit leaves alone, r the word's own."""
    width = matrix.shape[1]
    untouched = [j for j in range(width) if j not in edited]
    if len(untouched) == width:
        return own_p
    if not untouched:
        return 1.0
    observed = sum(matrix["ACGT".index(word[j].upper()), j] for j in untouched)
    return float(exact_pvalues(matrix[:, untouched], UNIFORM, np.array([observed]))[0])


def oracle_rows(chroms, windows_by_gene, variants, matrices, p_threshold=P_THRESHOLD):
    """The rows the oracle expects: {(variant_id, motif_id, strand, gene): (ref, alt, ref_p, alt_p, texts)}."""
    rows = {}
    for gene, (chrom, lo, hi, _, _) in windows_by_gene.items():
        for v in variants:
            if v.chrom.removeprefix("chr") != chrom or not (lo <= v.pos - 1 and v.pos - 1 + len(v.ref) <= hi):
                continue
            for motif_id, (_, matrix) in matrices.items():
                frames: dict = {}
                for strand, (rs, rt, as_, at) in oracle(chroms[chrom], lo, hi, v.pos, v.ref, v.alt,
                                                        matrix, frames).items():
                    rp, ap = _exact_p(motif_id, matrix, np.array([rs, as_]))
                    if min(rp, ap) <= p_threshold:
                        rows[(v.variant_id, motif_id, strand, gene)] = (rs, as_, rp, ap, rt, at)
                        ref_edited, alt_edited, tie = frames[strand]
                        if not tie:  # equal best windows: either frame is right
                            DELTAS[(v.variant_id, motif_id, strand, gene)] = (
                                delta_oracle(matrix, as_, ap, at, alt_edited) if as_ > rs
                                else delta_oracle(matrix, rs, rp, rt, ref_edited))
    return rows


DELTAS: dict = {}
"""delta_p_value by enumeration for the rows oracle_rows expects (when their best windows are not tied)."""


_TAILS: dict = {}


def _exact_p(key, matrix, scores):
    """tests/oracles.exact_pvalues with the enumeration of all 4**w words done once per matrix."""
    if key not in _TAILS:
        words, probs = enumerate_scores(matrix, UNIFORM)
        order = np.argsort(words)
        _TAILS[key] = (words[order], np.concatenate([np.cumsum(probs[order][::-1])[::-1], [0.0]]))
    words, tail = _TAILS[key]
    return tail[np.searchsorted(words, scores - 1e-9, side="left")]


def check_against_oracle(result, expected, p_threshold=P_THRESHOLD):
    frame = result.to_pandas()
    got = {(r.variant_id, r.motif_id, r.strand, r.gene_name): r for r in frame.itertuples()}
    # rows within 1% of the threshold may fall either way (p-values are within 1% of exact)
    borderline = {k for k, v in expected.items() if min(v[2], v[3]) > p_threshold / 1.011}
    assert set(got) - borderline == set(expected) - borderline
    for key in set(got) & set(expected):
        rs, as_, rp, ap, rt, at = expected[key]
        row = got[key]
        assert row.ref_score == pytest.approx(rs, abs=1e-9) if math.isfinite(rs) else math.isnan(row.ref_score)
        assert row.alt_score == pytest.approx(as_, abs=1e-9) if math.isfinite(as_) else math.isnan(row.alt_score)
        assert row.ref_p_value == pytest.approx(rp, rel=0.01) if math.isfinite(rs) else math.isnan(row.ref_p_value)
        assert row.alt_p_value == pytest.approx(ap, rel=0.01) if math.isfinite(as_) else math.isnan(row.alt_p_value)
        assert row.ref_sequence.upper() == rt.upper() and row.alt_sequence.upper() == at.upper()
        passes = (row.ref_p_value <= p_threshold, row.alt_p_value <= p_threshold)
        expected_effect = {(True, False): "lost", (False, True): "gained"}.get(passes)
        if expected_effect is None:
            expected_effect = ("stronger" if row.alt_score > row.ref_score else
                               "weaker" if row.alt_score < row.ref_score else "unchanged")
        assert row.effect == expected_effect
        assert row.score_delta == pytest.approx(row.alt_score - row.ref_score, nan_ok=True)
        if key in DELTAS:
            assert row.delta_p_value == pytest.approx(DELTAS[key], rel=0.01), key
    return got


def random_variants(chroms, windows_by_gene, n, seed, edge=False):
    """Variants with REFs read from the genome: SNVs, MNVs, insertions and deletions (up to 12 bp), some at the
    windows' edges (``edge``), VCF-style anchors for indels."""
    rng = random.Random(seed)
    out = []
    genes = sorted(windows_by_gene)
    for k in range(n):
        chrom, lo, hi, _, _ = windows_by_gene[rng.choice(genes)]
        seq = chroms[chrom]
        kind = rng.choice(["snv", "mnv", "ins", "del"])
        length = rng.randint(1, 12) if kind != "snv" else 1
        if edge and k % 2 == 0:
            start = rng.choice([lo, lo + 1, hi - length - 1, hi - length - 2])
        else:
            start = rng.randrange(lo + 1, hi - length - 1)
        if kind in ("snv", "mnv"):
            ref = seq[start : start + max(length, 2 if kind == "mnv" else 1)].upper()
            alt = "".join(rng.choice([b for b in "ACGT" if b != c]) if rng.random() < 0.7 or i == 0 else c
                          for i, c in enumerate(ref))
            pos = start + 1
        elif kind == "ins":
            ref = seq[start].upper()
            alt = ref + "".join(rng.choice("ACGT") for _ in range(length))
            pos = start + 1
        else:
            ref = seq[start : start + length + 1].upper()
            alt = ref[0]
            pos = start + 1
        if classify(ref, alt) is None and ref != alt:
            out.append(Variant(chrom, pos, ref, alt, f"v{k}"))
    return out


def vcf_lines(variants, chrom_prefix=""):
    header = ["##fileformat=VCFv4.2", f"##contig=<ID={chrom_prefix}6>", f"##contig=<ID={chrom_prefix}X>",
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    body = [f"{chrom_prefix}{v.chrom}\t{v.pos}\t{v.id or '.'}\t{v.ref}\t{v.alt}\t.\tPASS\t." for v in
            sorted(variants, key=lambda v: (v.chrom, v.pos))]
    return "\n".join(header + body) + "\n"


def write_vcf(path, variants, chrom_prefix="", index=False):
    """A VCF written as text, optionally bgzipped and tabix-indexed by pysam (htslib)."""
    import pysam

    path.write_text(vcf_lines(variants, chrom_prefix))
    if index:
        pysam.tabix_index(str(path), preset="vcf", force=True)
        return path.with_name(path.name + ".gz")
    return path


# ------------------------------------------------------------------------------------------------------ tests


GENES = ["FOXC1", "FOXQ1", "GTPBP6"]  # + strand, + strand, - strand with an N stretch in its promoter


def test_promoter_variants_match_brute_force(demo_chromosomes, windows, matrices, tmp_path):
    chosen = {g: windows[g] for g in GENES}
    variants = random_variants(demo_chromosomes, chosen, 300, seed=1, edge=True)
    vcf = write_vcf(tmp_path / "v.vcf", variants, index=True)
    result = motifscan.score_variants(vcf, GENES, SHORT_MOTIFS, genome="demo", p_threshold=P_THRESHOLD)
    expected = oracle_rows(demo_chromosomes, chosen, variants, matrices)
    assert len(expected) > 100  # the check has teeth: many rows, all effects
    got = check_against_oracle(result, expected)
    assert {r.effect for r in got.values()} >= {"lost", "gained", "weaker", "stronger"}
    assert {r.strand for r in got.values()} == {"+", "-"}
    checked = [key for key in got if key in DELTAS]  # delta_p_value by enumeration, indels and MNVs included
    assert len(checked) > 100 and {r.ref != r.alt and len(r.ref) != len(r.alt) for r in got.values()} == {True, False}


def test_windows_next_to_n_stretches_are_not_scored(demo_chromosomes, windows, matrices):
    chrom, lo, hi, _, _ = windows["GTPBP6"]
    seq = demo_chromosomes[chrom]
    first_n = lo + seq[lo:hi].upper().index("N")
    variants = []
    for offset in (1, 2, 3, 5):  # SNVs just before the N stretch: windows reaching into it are skipped
        base = seq[first_n - offset].upper()
        variants.append(Variant(chrom, first_n - offset + 1, base, "ACGT"[("ACGT".index(base) + 1) % 4]))
    base = seq[first_n - 1].upper()
    variants.append(Variant(chrom, first_n, base, base + "TGACGTCA"))  # an ATF site inserted next to the Ns
    result = motifscan.score_variants(None, ["GTPBP6"], SHORT_MOTIFS, variants=[
        f"{v.chrom}:{v.pos}:{v.ref}:{v.alt}" for v in variants], genome="demo", p_threshold=P_THRESHOLD)
    expected = oracle_rows(demo_chromosomes, {"GTPBP6": windows["GTPBP6"]}, variants, matrices)
    assert any(k[0].endswith("TGACGTCA") for k in expected)
    check_against_oracle(result, expected)
    for row in result:
        assert "N" not in row["ref_sequence"].upper() and "N" not in row["alt_sequence"].upper()


def test_chr_named_vcf_against_ensembl_named_genome_and_tss_position(demo_chromosomes, windows, matrices,
                                                                     tmp_path):
    chosen = {"FOXC1": windows["FOXC1"], "GTPBP6": windows["GTPBP6"]}
    variants = random_variants(demo_chromosomes, chosen, 60, seed=2)
    vcf = write_vcf(tmp_path / "chr.vcf", variants, chrom_prefix="chr", index=True)
    result = motifscan.score_variants(vcf, ["FOXC1", "GTPBP6"], SHORT_MOTIFS, genome="demo")
    assert len(result) and set(result.columns["chrom"]) <= {"chr6", "chrX"}
    plain = motifscan.score_variants(write_vcf(tmp_path / "plain.vcf", variants), ["FOXC1", "GTPBP6"],
                                     SHORT_MOTIFS, genome="demo")  # unindexed: streamed, same rows
    assert len(plain) == len(result)
    np.testing.assert_allclose(plain.columns["alt_score"], result.columns["alt_score"])
    for row in result:
        _, _, _, tss, strand = windows[row["gene_name"]]
        offset = (row["pos"] - 1 - tss) if strand == 1 else (tss - (row["pos"] - 1))
        assert row["tss_rel_pos"] == (offset + 1 if offset >= 0 else offset)  # EPD: +1 = TSS base, no 0


def test_multiallelic_split_symbolic_skipped_and_bcf(tmp_path, demo_chromosomes, windows):
    import pysam

    chrom, lo, _, _, _ = windows["FOXC1"]
    pos = lo + 1000
    ref = demo_chromosomes[chrom][pos - 1].upper()
    alts = [b for b in "ACGT" if b != ref]
    header = pysam.VariantHeader()
    header.add_line("##contig=<ID=6,length=2051541>")
    header.add_line('##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the structural variant">')
    path = tmp_path / "multi.bcf"
    with pysam.VariantFile(str(path), "wb", header=header) as out:  # BCF written by htslib
        out.write(out.new_record(contig="6", start=pos - 1, alleles=(ref, *alts), id="multi"))
        out.write(out.new_record(contig="6", start=pos + 9, alleles=(ref, "<DEL>"), id="sv1", stop=pos + 300))
        out.write(out.new_record(contig="6", start=pos + 19, alleles=(ref, f"{ref}[6:1700000["), id="bnd1"))
        out.write(out.new_record(contig="6", start=pos + 29, alleles=(ref, "A" * 60 + ref), id="long1"))
    result = motifscan.score_variants(path, ["FOXC1"], "MA0604.1", genome="demo", p_threshold=0.05)
    assert set(result.columns["alt"]) <= set(alts) and len(set(result.columns["alt"])) >= 2
    facts = dict(result.provenance)
    assert "2 symbolic or structural allele" in facts["variants_skipped"]
    assert "1 edit longer than 50 bp" in facts["variants_skipped"]


def test_ref_mismatch_warns_and_most_mismatching_fails_with_assembly_hint(demo_chromosomes, windows, caplog,
                                                                        monkeypatch):
    monkeypatch.setattr(logging.getLogger("motifscan"), "propagate", True)  # a CLI test may have turned it off
    chrom, lo, _, _, _ = windows["FOXC1"]
    seq = demo_chromosomes[chrom]
    good = [f"6:{lo + 100 + i}:{seq[lo + 99 + i].upper()}:{'A' if seq[lo + 99 + i].upper() != 'A' else 'C'}"
            for i in range(3)]
    wrong_base = "C" if seq[lo + 499].upper() != "C" else "G"
    bad = f"6:{lo + 500}:{wrong_base}:T"
    with caplog.at_level(logging.WARNING, logger="motifscan"):  # a CLI test may have set it to ERROR (-q)
        result = motifscan.score_variants(None, ["FOXC1"], SHORT_MOTIFS, variants=good + [bad], genome="demo",
                                          p_threshold=1.0)
    assert any(f"6:{lo + 500}" in r.message and "REF" in r.message for r in caplog.records)
    assert f"6:{lo + 500}" not in set(result.columns["variant_id"])
    assert dict(result.provenance)["ref_mismatches"] == "1"
    with pytest.raises(GenomeError, match="GRCh37 vs GRCh38"):
        motifscan.score_variants(None, ["FOXC1"], SHORT_MOTIFS, variants=[bad], genome="demo")


def test_all_variants_streamed_in_batches(monkeypatch, demo_chromosomes, windows, matrices, tmp_path):
    import motifscan.variants as variants_module

    chosen = {"FOXC1": windows["FOXC1"], "GTPBP6": windows["GTPBP6"]}
    variants = random_variants(demo_chromosomes, chosen, 40, seed=3)
    vcf = write_vcf(tmp_path / "all.vcf", variants)
    monkeypatch.setattr(variants_module, "BATCH_VARIANTS", 7)  # several batches
    result = motifscan.score_variants(vcf, motifs=SHORT_MOTIFS, all_variants=True, genome="demo",
                                      p_threshold=P_THRESHOLD)
    whole = {name: (name, 0, len(seq), 0, 1) for name, seq in demo_chromosomes.items()}
    expected = oracle_rows(demo_chromosomes, {"chr" + k: v for k, v in whole.items()}, variants, matrices)
    expected = {(k[0], k[1], k[2], ""): v for k, v in expected.items()}
    check_against_oracle(result, expected)
    assert dict(result.provenance)["variants_scored"] == str(len(variants))
    # streamed to files (rows spooled batch by batch): the same TSV and BED rows, provenance with the final counts
    out, bed = tmp_path / "all.tsv", tmp_path / "all.bed"
    rows = motifscan.write_variants(out, vcf, motifs=SHORT_MOTIFS, bed=bed, all_variants=True, genome="demo",
                                    p_threshold=P_THRESHOLD, command="x")
    again = motifscan.score_variants(vcf, motifs=SHORT_MOTIFS, all_variants=True, genome="demo",
                                     p_threshold=P_THRESHOLD, command="x")
    assert rows == len(again) == len(result) and out.read_text() == again.to_tsv()
    assert sorted(bed.read_text().splitlines()) == sorted(again.to_bed().splitlines())
    assert f"# variants_scored: {len(variants)}\n" in out.read_text()
    with pytest.raises(UsageError, match="--html is not available with --all"):
        motifscan.write_variants(out, vcf, motifs=SHORT_MOTIFS, html=tmp_path / "p.html", all_variants=True,
                                 genome="demo")


def test_delta_p_value_by_enumeration(matrices, tmp_path):
    """delta_p_value = P(R >= r) over the untouched columns of the stronger allele's window: checked by
    enumerating every letter of those columns."""
    rng = random.Random(5)
    motif, matrix = matrices["MA0604.1"]
    consensus = "".join("ACGT"[i] for i in matrix.argmax(axis=0))
    flank = "".join(rng.choice("ACGT") for _ in range(30))
    chrom = flank + consensus + flank
    fasta = _fasta(chrom, tmp_path)
    for column in range(8):
        pos = 30 + column  # 0-based position of the SNV in the consensus site
        ref = chrom[pos]
        alt = "ACGT"[(matrix[:, column].argmin())]
        if alt == ref:
            continue
        result = motifscan.score_variants(None, [], motif, variants=[f"s:{pos + 1}:{ref}:{alt}"],
                                          all_variants=True, genome=fasta, p_threshold=1e-3)
        row = next(r for r in result if r["strand"] == "+" and r["ref_sequence"] == consensus)
        others = [j for j in range(8) if j != column]
        sub = matrix[:, others]
        observed = sum(matrix["ACGT".index(consensus[j]), j] for j in others)
        exact = exact_pvalues(sub, UNIFORM, np.array([observed]))[0]
        assert row["delta_p_value"] == pytest.approx(exact, rel=0.01)
        # ...and it is the chance that a random word carrying this SNV at this column changes its p-value at least
        # as much (enumerated over all words with ref at the column)
        words = _all_words_with(8, column, ref)
        ref_p = exact_pvalues(matrix, UNIFORM, np.array([window_score(matrix, w) for w in words]))
        alt_p = exact_pvalues(matrix, UNIFORM, np.array([window_score(matrix, w[:column] + alt + w[column + 1:])
                                                         for w in words]))
        change = np.log10(alt_p) - np.log10(ref_p)
        observed_change = np.log10(row["alt_p_value"]) - np.log10(row["ref_p_value"])
        assert np.mean(change >= observed_change - 0.01) == pytest.approx(exact, rel=0.05, abs=2e-5)


_FASTA_CACHE: dict[str, str] = {}


def _fasta(sequence: str, folder: Path) -> str:
    path = folder / f"s{len(_FASTA_CACHE)}.fa"
    path.write_text(">s\n" + "\n".join(sequence[i : i + 60] for i in range(0, len(sequence), 60)) + "\n")
    _FASTA_CACHE[sequence] = str(path)
    return str(path)


def _all_words_with(width: int, column: int, letter: str) -> list[str]:
    from itertools import product

    return ["".join(w[:column]) + letter + "".join(w[column:]) for w in product("ACGT", repeat=width - 1)]


def test_rsids_through_the_variation_endpoint(ensembl_standin, demo_chromosomes, windows, matrices, tmp_path):
    chrom, lo, _, _, _ = windows["FOXC1"]
    seq = demo_chromosomes[chrom]
    at = lo + 700  # 0-based
    base = seq[at].upper()
    other = "A" if base != "A" else "G"
    records = [
        VariationRecord("rs900001", chrom, at + 1, at + 1, f"{base}/{other}"),
        VariationRecord("rs900002", chrom, at + 2, at + 1, "-/TGACGTCA", var_class="insertion"),
        VariationRecord("rs900003", chrom, at + 11, at + 12, f"{seq[at + 10:at + 12].upper()}/-",
                        var_class="deletion"),
        VariationRecord("rs900004", chrom, at + 21, at + 21, f"{reverse_complement(seq[at + 20].upper())}/"
                        f"{reverse_complement(other)}", strand=-1),
    ]
    serve_variations(ensembl_standin, records)
    try:
        result = motifscan.score_variants(None, ["FOXC1"], SHORT_MOTIFS, genome="demo",
                                          variants=[r.name for r in records] + ["rs404"],
                                          ensembl_url=ensembl_standin.url, assembly="GRCh37", p_threshold=1.0,
                                          cache_dir=tmp_path)
    finally:
        ensembl_standin.remove_routes()
    got = {(r["variant_id"], r["pos"], r["ref"], r["alt"]) for r in result}
    assert ("rs900001", at + 1, base, other) in got
    assert ("rs900002", at + 1, base, base + "TGACGTCA") in got  # anchored as in VCF
    assert ("rs900003", at + 10, seq[at + 9: at + 12].upper(), seq[at + 9].upper()) in got
    assert ("rs900004", at + 21, seq[at + 20].upper(), other) in got  # - strand alleles complemented
    posts = [r for r in ensembl_standin.requests if r.path.startswith("variation") and r.method == "POST"]
    assert len(posts) == 1


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="--variant"):
        motifscan.score_variants(None, ["FOXC1"], variants=["6-123-A-G"], genome="demo")
    with pytest.raises(UsageError, match="give a VCF"):
        motifscan.score_variants(None, ["FOXC1"], genome="demo")
    with pytest.raises(UsageError, match="--all"):
        motifscan.score_variants(None, motifs=None, variants=["6:10:A:G"], all_variants=True)
    with pytest.raises(UsageError, match="--qvalue"):
        motifscan.score_variants(None, ["FOXC1"], variants=["6:10:A:G"], genome="demo", q_threshold=0.1)


# ------------------------------------------------------------------------------------- Hypothesis on the kernel

_BASES = st.sampled_from("ACGT")


@st.composite
def edits(draw):
    sequence = draw(st.text(alphabet="ACGTN", min_size=30, max_size=60).filter(lambda s: s.count("N") < 6))
    kind = draw(st.sampled_from(["snv", "mnv", "ins", "del", "complex"]))
    n_del = {"snv": 1, "ins": 0}.get(kind) if kind in ("snv", "ins") else draw(st.integers(1, 6))
    start = draw(st.integers(1, len(sequence) - n_del - 1))
    deleted = sequence[start : start + n_del]
    if kind in ("snv", "mnv"):
        inserted = "".join(draw(st.lists(_BASES, min_size=n_del, max_size=n_del)))
        if inserted == deleted.upper():
            inserted = ("C" if deleted[0] != "C" else "G") + inserted[1:]
    elif kind == "del":
        inserted = ""
    else:
        inserted = "".join(draw(st.lists(_BASES, min_size=1, max_size=8)))
        if kind == "complex" and len(inserted) == n_del:
            inserted += "A"
    lo = draw(st.integers(0, start - 1))
    hi = draw(st.integers(start + n_del + 1, len(sequence)))
    return sequence, start, deleted, inserted, lo, hi


@given(edits())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_kernel_matches_brute_force(case):
    sequence, start, deleted, inserted, lo, hi = case
    matrix = log_odds(np.array([[5, 1, 0, 3, 1, 2], [0, 4, 1, 1, 2, 2], [1, 0, 6, 2, 3, 0], [2, 3, 1, 2, 0, 4]],
                               dtype=float), 0.8, UNIFORM)
    pool = np.frombuffer(sequence.encode(), dtype=np.uint8)
    ins = np.frombuffer(inserted.encode(), dtype=np.uint8)[None, :] if inserted else np.zeros((1, 0), np.uint8)
    batch = EditBatch(pool, np.array([start]), np.array([len(deleted)]), np.array([lo]), np.array([hi]), ins,
                      np.array([len(inserted)]))
    best = best_windows(batch, [matrix])
    # the oracle's "variant": pos/ref/alt such that trimming gives exactly this edit
    anchor = sequence[start - 1]
    expected = oracle(sequence, lo, hi, start, anchor + deleted, anchor + inserted, matrix) \
        if anchor.upper() in "ACGT" and anchor.upper() != (deleted[:1] or "x").upper() else None
    if expected is None or edit_of(Variant("s", start, (anchor + deleted).upper(), (anchor + inserted).upper())) \
            != _expected_edit(start, deleted.upper(), inserted.upper()):
        return  # trimming would move this edit (repeats at its ends): the oracle's geometry differs
    for strand_index, strand in enumerate("+-"):
        rs, _, as_, _ = expected[strand]
        (row,) = np.flatnonzero(best.strand == strand_index)
        assert (best.edit[row], best.matrix[row]) == (0, 0)
        assert best.ref_score[row] == pytest.approx(rs, abs=1e-9)
        assert best.alt_score[row] == pytest.approx(as_, abs=1e-9)


def _expected_edit(start, deleted, inserted):
    from motifscan.variant_io import Edit

    return Edit(start, deleted, inserted)


# ------------------------------------------------------------------------------------------------------ the CLI

EXAMPLE_VCF = Path(__file__).parent.parent / "examples" / "demo_variants.vcf"
EXPECTED_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "motif_id", "motif_name", "strand", "ref_score",
                    "alt_score", "score_delta", "ref_p_value", "alt_p_value", "effect", "ref_sequence",
                    "alt_sequence", "gene_name", "tss_rel_pos"]


def run_cli(*args):
    from click.testing import CliRunner

    from motifscan.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_writes_tsv_and_bed_of_the_demo_vcf(tmp_path, demo_chromosomes):
    out, bed = tmp_path / "v.tsv", tmp_path / "v.bed"
    result = run_cli("variants", EXAMPLE_VCF, "FOXC1", "FOXQ1", "GTPBP6", "--genome", "demo", "-o", out, "--bed", bed)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    header = next(line for line in lines if not line.startswith("#")).split("\t")
    assert header[: len(EXPECTED_COLUMNS)] == EXPECTED_COLUMNS  # named exactly as issue 12 names them
    rows = [dict(zip(header, line.split("\t"))) for line in lines if not line.startswith("#")][1:]
    by_id = {}
    for row in rows:
        by_id.setdefault(row["variant_id"], set()).add(row["effect"])
    assert by_id["demo_creb_site"] == {"lost"} and by_id["demo_insertion"] == {"gained"}
    assert {r["alt"] for r in rows if r["variant_id"] == "demo_creb_site"} == {"G", "C"}  # multi-allelic split
    assert "demo_sv" not in by_id
    assert any(line.startswith("# variants_skipped: 1 symbolic") for line in lines)
    for line in bed.read_text().splitlines():
        if line.startswith("#"):
            continue
        chrom, start, end, name, _score, strand = line.split("\t")
        variant, alleles, motif, allele, _effect = name.split("|")
        row = next(r for r in rows if r["variant_id"] == variant and f"{r['ref']}>{r['alt']}" == alleles
                   and r["motif_name"] == motif and r["strand"] == strand)
        if allele == "ref":  # the BED span holds the reported reference site (bedtools getfasta -s would agree)
            site = demo_chromosomes[chrom][int(start):int(end)].upper()
            assert (site if strand == "+" else reverse_complement(site)) == row["ref_sequence"].upper()


def test_cli_variant_option_without_vcf_and_errors(tmp_path):
    out = tmp_path / "one.tsv"
    ok = run_cli("variants", "FOXQ1", "--variant", "6:1311272:T:C", "--genome", "demo", "-o", out)
    assert ok.exit_code == 0, ok.output
    assert "lost" in out.read_text()
    bad = run_cli("variants", "FOXQ1", "--variant", "6:1311272:T", "--genome", "demo", "-o", out)
    assert bad.exit_code == 2 and "--variant" in bad.output and "Traceback" not in bad.output
    missing = run_cli("variants", tmp_path / "nope.vcf", "FOXQ1", "--genome", "demo", "-o", out)
    assert missing.exit_code == 2 and "no such file" in missing.output
    garbage = tmp_path / "garbage.vcf"
    garbage.write_text("this is not a VCF\n")
    broken = run_cli("variants", garbage, "FOXQ1", "--genome", "demo", "-o", out)
    assert broken.exit_code == 1 and "garbage.vcf" in broken.output and "Traceback" not in broken.output
    mismatch = run_cli("variants", "FOXQ1", "--variant", "6:1311272:G:C", "--genome", "demo", "-o", out)
    assert mismatch.exit_code == 1 and "GRCh37 vs GRCh38" in mismatch.output
    gff = run_cli("variants", EXAMPLE_VCF, "FOXQ1", "--genome", "demo", "-o", out, "--gff3", tmp_path / "x.gff3")
    assert gff.exit_code == 2 and "--gff3" in gff.output


def test_min_rel_score_filters_the_passing_alleles(matrices):
    plain = motifscan.score_variants(EXAMPLE_VCF, ["FOXC1", "FOXQ1", "GTPBP6"], SHORT_MOTIFS, genome="demo",
                                     p_threshold=1e-2)
    strict = motifscan.score_variants(EXAMPLE_VCF, ["FOXC1", "FOXQ1", "GTPBP6"], SHORT_MOTIFS, genome="demo",
                                      p_threshold=1e-2, min_rel_score=0.85)
    assert 0 < len(strict) < len(plain)
    for row in strict:
        matrix = matrices[row["motif_id"]][1]
        low, high = matrix.min(axis=0).sum(), matrix.max(axis=0).sum()
        best = max(s for s in (row["ref_score"], row["alt_score"]) if not math.isnan(s))
        assert (best - low) / (high - low) >= 0.85 - 1e-9


def test_sites_found_by_scan_on_the_chr7_test_genome_are_lost_when_planted_over(tmp_path):
    """Real data (Ensembl's GRCh37 chr7 test genome): variants planted in the middle of the sites `scan` reports
    destroy them, with the reference allele scored exactly as `scan` scored the site."""
    import gzip
    import shutil

    data = Path(__file__).parent / "data" / "chr7"
    fasta, gtf = tmp_path / "chr7.fa", tmp_path / "chr7.gtf"
    for packed, target in (("genome.fa.gz", fasta), ("genes.gtf.gz", gtf)):
        with gzip.open(data / packed, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    genes = ["GRM3", "KIAA1324L", "DMTF1", "TMEM243", "TP53TG1", "CROT"]
    hits = motifscan.scan_genes(genes, genome=fasta, annotation=gtf).to_pandas()
    assert len(hits) >= 3
    chroms = read_fasta_plainly(fasta)
    specs = []
    for hit in hits.itertuples():
        middle = (hit.start + hit.end) // 2  # 0-based
        base = chroms[hit.chrom][middle].upper()
        specs.append((hit, f"{hit.chrom}:{middle + 1}:{base}:{'A' if base in 'GC' else 'C'}"))
    result = motifscan.score_variants(None, genes, variants=[s for _, s in specs], genome=fasta, annotation=gtf)
    rows = result.to_pandas()
    for hit, spec in specs:
        row = rows[(rows.variant_id == spec) & (rows.motif_id == hit.motif_id) & (rows.strand == hit.strand)]
        assert len(row) >= 1, spec
        assert row.ref_score.iloc[0] >= hit.score - 1e-9  # the site's window is one of the touched ones
        if abs(row.ref_score.iloc[0] - hit.score) < 1e-9:  # (a better overlapping window may win)
            assert row.ref_p_value.iloc[0] == pytest.approx(hit.p_value, rel=0.02)  # each within 1% of exact
            assert row.ref_sequence.iloc[0].upper() == hit.matched_sequence.upper()
    assert (rows.effect == "lost").sum() >= len(specs) // 2


def test_a_record_in_two_overlapping_windows_is_read_once(tmp_path):
    """Through a tabix index, overlapping promoter windows are fetched once: FOXQ1's and FOXC1's windows widened to
    400 kb overlap over demo_creb_site, which is then scored for both genes but read (and counted) once."""
    import shutil

    import pysam

    vcf = tmp_path / "v.vcf"
    shutil.copy(EXAMPLE_VCF, vcf)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    result = motifscan.score_variants(str(vcf) + ".gz", ["FOXC1", "FOXQ1"], SHORT_MOTIFS, genome="demo",
                                      upstream=400_000)
    facts = dict(result.provenance)
    records = [line for line in Path(EXAMPLE_VCF).read_text().splitlines() if line.startswith("6\t")]
    assert facts["variants_read"] == str(len(records))  # the chromosome 6 records, each once
    genes = {(row["variant_id"], row["gene_name"]) for row in result if row["variant_id"] == "demo_creb_site"}
    assert genes == {("demo_creb_site", "FOXC1"), ("demo_creb_site", "FOXQ1")}
