"""Promoter maps as a newcomer meets them (issue 9, items 13 and 14): N stretches named and drawn, every scanned
promoter a row with its gene's strand, FASTA maps to the record's end, colours fixed by motif, filters (top, max-q,
motif, TF) with a default cap that says what it left out, PDF files; the Quick start's genes are real sequence.

Oracles: the demo genome and its GTF read with the standard library (tests/oracles.py), the TSV columns recomputed
with plain Python from the result's own hits.
"""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import motifscan
from motifscan.cli import cli
from motifscan.plots import DEFAULT_TOP, promoter_map, tss_axis_position

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "promoters.fa"
GTF = ROOT / "genomes" / "grch37_demo" / "genes.gtf.gz"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def gtf_transcript(transcript_id: str) -> tuple[str, int, int, str]:
    """(chrom, start, end, strand) of a transcript in the demo GTF, 1-based inclusive as the file has it."""
    with gzip.open(GTF, "rt") as handle:
        for line in handle:
            fields = line.split("\t")
            if len(fields) > 8 and fields[2] == "transcript" and f'transcript_id "{transcript_id}"' in fields[8]:
                return fields[0], int(fields[3]), int(fields[4]), fields[6]
    raise AssertionError(transcript_id)


def site_gids(figure) -> set[str]:
    return {c.get_gid() for c in figure.axes[0].collections if (c.get_gid() or "").startswith("sites-row")}


def drawn_motifs(figure) -> set[str]:
    return {gid.split("-", 2)[2].rsplit("-", 1)[0] for gid in site_gids(figure)}


def drawn_sites(figure) -> int:
    return sum(len(c.get_offsets()) for c in figure.axes[0].collections
               if (c.get_gid() or "").startswith("sites-row"))


def gap_patches(figure) -> dict[str, tuple[float, float]]:
    return {p.get_gid(): (p.get_x(), p.get_x() + p.get_width()) for p in figure.axes[0].patches
            if (p.get_gid() or "").startswith("gap-row")}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def gtpbp6(cache):
    return motifscan.scan_genes(["FOXC1", "GTPBP6"], genome="demo", cache_dir=cache)


@pytest.fixture(scope="module")
def core():
    """Every JASPAR CORE vertebrate matrix over the example promoters: hundreds of motifs with sites."""
    return motifscan.scan_fasta(EXAMPLE, motifs=motifscan.select_motifs(collections=["CORE"],
                                                                         tax_groups=["vertebrates"]))


# --- item 13: N stretches ---------------------------------------------------------------------------------------


def gtpbp6_gap_oracle(demo_chromosomes) -> tuple[int, tuple[int, int]]:
    """The N count of GTPBP6's -2000/+500 promoter and its N run's TSS-relative first and last base, from the GTF
    and the genome read independently."""
    chrom, _, end, strand = gtf_transcript("ENST00000326153")
    assert strand == "-"
    tss = end - 1  # 0-based TSS base of a - strand transcript: its last base
    window = demo_chromosomes[chrom][tss - 500 + 1: tss + 2000 + 1]  # 0-based [tss - 499, tss + 2001)
    runs = [(m.start(), m.end()) for m in re.finditer("N+", window)]
    assert len(runs) == 1
    first_base, last_base = tss - 499 + runs[0][0], tss - 499 + runs[0][1] - 1
    relative = sorted(tss - g if g > tss else tss - g + 1 for g in (first_base, last_base))  # - strand, no 0
    return window.count("N"), (relative[0], relative[1])


def test_unscored_warning_names_the_records_and_their_n_counts(cache, demo_chromosomes, caplog):
    n_count, _ = gtpbp6_gap_oracle(demo_chromosomes)
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        motifscan.scan_genes(["FOXC1", "GTPBP6"], genome="demo", cache_dir=cache)
    (message,) = [r.getMessage() for r in caplog.records if "not scored" in r.getMessage()]
    assert f"GTPBP6|ENST00000326153 ({n_count} of 2500 bp N)" in message
    assert "FOXC1" not in message


def test_n_stretches_are_in_the_provenance_and_drawn_hatched(gtpbp6, demo_chromosomes, tmp_path):
    _, (first, last) = gtpbp6_gap_oracle(demo_chromosomes)
    gaps = [value for key, value in gtpbp6.provenance if key == "gap"]
    assert len(gaps) == 1 and gaps[0].startswith("GTPBP6|ENST00000326153 X:")
    assert gaps[0].endswith(f"tss_rel={first}..{last}")
    figure = promoter_map(gtpbp6)
    row = list(gtpbp6.records).index("GTPBP6|ENST00000326153")
    patches = gap_patches(figure)
    assert patches == {f"gap-row{row}-0": (tss_axis_position(first), tss_axis_position(last) + 1)}
    (patch,) = [p for p in figure.axes[0].patches if p.get_gid() == f"gap-row{row}-0"]
    assert patch.get_hatch()
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert f"N ({last - first + 1} bp)" in labels
    # and from the TSV, through the command line, into an SVG
    tsv, svg = tmp_path / "hits.tsv", tmp_path / "map.svg"
    gtpbp6.write_tsv(tsv)
    assert run("plot", tsv, "-o", svg).exit_code == 0
    assert f'id="gap-row{row}-0"' in svg.read_text()


def test_fasta_n_stretches_are_drawn_at_their_record_positions(tmp_path):
    fasta = tmp_path / "gappy.fa"
    fasta.write_text(">a\n" + "ACGT" * 50 + "N" * 40 + "ACGT" * 50 + "\n")
    result = motifscan.scan_fasta(fasta, motifs="MA0605.3")
    assert ("gap", "a a:201-240") in result.provenance
    assert gap_patches(promoter_map(result)) == {"gap-row0-0": (200.0, 240.0)}


def test_quick_start_genes_have_real_sequence_promoters(cache, caplog):
    """The README's Quick start scans genes whose promoters hold no N (GTPBP6's is mostly assembly gap)."""
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "motifscan scan --genome demo" in line and "pip" in line)
    genes = re.search(r"--genome demo ((?:[A-Z0-9]+ )+)-o", command).group(1).split()
    assert len(genes) >= 3 and "GTPBP6" not in genes
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        result = motifscan.scan_genes(genes, genome="demo", cache_dir=cache)
    assert not [r for r in caplog.records if "not scored" in r.getMessage()]
    assert not [value for key, value in result.provenance if key == "gap"]
    assert len(result.records) == len(genes)


# --- item 14: promoter maps -------------------------------------------------------------------------------------


def test_map_takes_each_promoters_strand_from_the_records(cache):
    """A lone site cannot tell its gene's strand; the scanned record can."""
    result = motifscan.scan_genes(["GTPBP6"], genome="demo", cache_dir=cache)
    assert len(result) == 1
    _, _, _, strand = gtf_transcript("ENST00000326153")
    word = "same" if result[0].strand == strand else "opposite"
    assert [gid.rsplit("-", 1)[1] for gid in site_gids(promoter_map(result))] == [word]


def test_map_draws_every_scanned_promoter_even_without_sites(cache):
    result = motifscan.scan_genes(["FOXC1", "FOXQ1"], motifs=["MA0605.3", "MA0018.5"], genome="demo",
                                  p_threshold=1e-7, cache_dir=cache)
    assert len(result) == 0
    figure = promoter_map(result)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["FOXC1 ENST00000380874", "FOXQ1 ENST00000296839"]
    assert ax.get_title(loc="left") == "0 sites of 2 motifs on 2 promoters"


def test_fasta_map_runs_to_the_end_of_the_record(tmp_path):
    fasta = tmp_path / "long.fa"
    fasta.write_text(">s\nCCCCCCTGACGTCACCCCCC" + "A" * 4000 + "\n")
    result = motifscan.scan_fasta(fasta, motifs="MA0605.3")
    assert 0 < max(h.end for h in result) < 30  # the only site is near the start
    low, high = promoter_map(result).axes[0].get_xlim()
    assert low <= 0 and high >= 4020


def test_colours_are_fixed_by_motif_whatever_the_hits(cache):
    alone = motifscan.scan_genes(["FOXC1"], genome="demo", cache_dir=cache)
    more = motifscan.scan_genes(["FOXQ1", "PPP2R3B", "FOXC1"], genome="demo", cache_dir=cache)

    def colours(result):
        figure = promoter_map(result)
        return {gid.split("-", 2)[2].rsplit("-", 1)[0]: tuple(c.get_facecolor()[0])
                for c in figure.axes[0].collections if (gid := c.get_gid() or "").startswith("sites-row")}

    first, second = colours(alone), colours(more)
    shared = set(first) & set(second)
    assert shared and len(second) > len(first)
    assert {m: first[m] for m in shared} == {m: second[m] for m in shared}
    assert len(set(second.values())) == len(second)  # distinct motifs, distinct colours


def test_top_draws_the_motifs_with_the_strongest_sites(core):
    best: dict[str, float] = {}
    for hit in core:
        best[hit.motif_id] = min(best.get(hit.motif_id, 1.0), hit.p_value)
    expected = sorted(best, key=lambda m: (best[m], m))[:3]
    figure = promoter_map(core, top=3)
    assert drawn_motifs(figure) == set(expected)
    assert drawn_sites(figure) == sum(h.motif_id in expected for h in core)
    assert figure.left_out["sites"] == sum(h.motif_id not in expected for h in core)


def test_default_cap_says_what_it_left_out(core):
    motifs_with_sites = {h.motif_id for h in core}
    assert len(motifs_with_sites) > DEFAULT_TOP
    figure = promoter_map(core)
    assert len(drawn_motifs(figure)) == DEFAULT_TOP
    left = len(core) - drawn_sites(figure)
    note = next(t.get_text() for t in figure.axes[0].texts if t.get_gid() == "left-out-note")
    assert note == (f"not drawn: {left} sites of {len(motifs_with_sites) - DEFAULT_TOP} more motifs "
                    f"(drawn: the {DEFAULT_TOP} with the strongest sites)")
    assert len(drawn_motifs(promoter_map(core, top=None))) == len(motifs_with_sites)


def test_max_q_and_motif_and_tf_filters(core, gtpbp6):
    figure = promoter_map(core, max_q=0.5, top=None)
    assert drawn_sites(figure) == sum(h.q_value <= 0.5 for h in core)
    chosen = promoter_map(gtpbp6, motif_ids=["MA0018"], tf_names=["atf1"])
    expected = {h.motif_id for h in gtpbp6 if h.motif_id.startswith("MA0018.") or h.motif_name.upper() == "ATF1"}
    assert expected and drawn_motifs(chosen) == expected
    assert drawn_sites(chosen) == sum(h.motif_id in expected for h in gtpbp6)


def test_plot_command_filters_and_writes_pdf(gtpbp6, tmp_path):
    tsv = tmp_path / "hits.tsv"
    gtpbp6.write_tsv(tsv)
    pdf = tmp_path / "map.pdf"
    result = run("plot", tsv, "-o", pdf, "--top", "1", "--max-q", "1", "--tf", "CREB1", "--tf", "Atf1")
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    creb1_atf1 = [h for h in gtpbp6 if h.motif_name.upper() in ("CREB1", "ATF1")]
    assert {h.motif_id for h in creb1_atf1} >= {"MA0018.5"} and len({h.motif_id for h in creb1_atf1}) == 2
    assert "not drawn:" in result.stderr and "--top N" in result.stderr
    assert run("plot", tsv, "-o", tmp_path / "map.png", "--top", "0").stderr.count("not drawn") == 0
    bad = run("-q", "plot", tsv, "-o", tmp_path / "map.jpg")
    assert bad.exit_code == 2 and ".png, .svg or .pdf" in bad.stderr
    assert not (tmp_path / "map.jpg").exists()


def test_result_plot_takes_the_filters(gtpbp6, tmp_path):
    figure = gtpbp6.plot(tmp_path / "map.svg", top=1)
    assert len(drawn_motifs(figure)) == 1
    assert (tmp_path / "map.svg").read_text().startswith("<?xml")
