"""Promoter maps and motif logos: the images are made and hold the expected marks (artists, SVG elements, pixels)."""

from __future__ import annotations

import math
import pickle
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import motifscan
from motifscan import plots
from motifscan.errors import MotifscanError, UsageError
from motifscan.hits import Hit
from motifscan.motifs import select_motifs
from motifscan.plots import PlotDependencyError, infer_gene_strands, motif_logo, promoter_map, tss_axis_position

DEMO_GENES = ["FOXC1", "FOXQ1", "GTPBP6"]
GENE_STRANDS = {"FOXC1": "+", "FOXQ1": "+", "GTPBP6": "-"}  # the demo annotation (GRCh37)
EXAMPLE_FASTA = Path(__file__).parent.parent / "examples" / "promoters.fa"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_USE = f"{SVG}use"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return motifscan.scan_genes(DEMO_GENES, genome="demo", p_threshold=1e-3,
                                cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def fasta_result():
    return motifscan.scan_fasta(EXAMPLE_FASTA, p_threshold=1e-4)


@pytest.fixture(scope="module")
def atf3():
    return select_motifs(motif_ids=["MA0605.3"])[0]


# --- helpers ---------------------------------------------------------------------------------------------------


def site_collections(figure):
    """{gid: PathCollection} of the site scatters."""
    ax = figure.axes[0]
    return {c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("sites-row")}


def offsets_by_row(figure) -> dict[int, list[tuple[float, float, str]]]:
    """Row index -> [(x, y, mark word)] of every drawn site."""
    rows: dict[int, list] = {}
    for gid, collection in site_collections(figure).items():
        row = int(gid.split("-")[1].removeprefix("row"))
        word = gid.rsplit("-", 1)[1]
        for x, y in collection.get_offsets():
            rows.setdefault(row, []).append((float(x), float(y), word))
    return rows


def row_names(figure) -> list[str]:
    return [t.get_text() for t in figure.axes[0].get_yticklabels()]


def hits_per_row(hits) -> list[tuple[str, int]]:
    counts = Counter(h.seq_name for h in hits)
    order = list(dict.fromkeys(h.seq_name for h in hits))
    return [(name, counts[name]) for name in order]


def legend(figure, gid):
    found = [a for a in [*figure.legends, *(ax.get_legend() for ax in figure.axes)] if a and a.get_gid() == gid]
    assert len(found) == 1
    return found[0]


def svg_groups(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}


def svg_marks(group: ET.Element) -> int:
    """Markers in a scatter's SVG group: one <path> each (sizes vary) or one <use> each (shared marker)."""
    direct = [child for child in group if child.tag == f"{SVG}path"]
    return len(direct) + sum(1 for _ in group.iter(XLINK_USE))


def expected_centre(hit: Hit) -> float:
    left = tss_axis_position(hit.tss_rel_start)
    right = tss_axis_position(hit.tss_rel_end) + 1
    return (left + right) / 2


# --- the axis ----------------------------------------------------------------------------------------------------


def test_tss_axis_position_has_no_gap_and_no_zero():
    assert [tss_axis_position(p) for p in (-3, -2, -1, 1, 2, 3)] == [-3, -2, -1, 0, 1, 2]
    with pytest.raises(ValueError):
        tss_axis_position(0)


def test_gene_strands_inferred_from_the_hits(result):
    rows: dict[str, list[Hit]] = {}
    for hit in result:
        rows.setdefault(hit.seq_name, []).append(hit)
    inferred = infer_gene_strands(rows)
    assert {name.split("|")[0]: strand for name, strand in inferred.items()} == GENE_STRANDS


def test_gene_strand_unknown_for_a_lone_site(result):
    lone = next(h for h in result if h.gene_name == "GTPBP6")
    assert infer_gene_strands({lone.seq_name: [lone]}) == {lone.seq_name: None}


# --- the promoter map --------------------------------------------------------------------------------------------


def test_map_png_and_svg_are_written(result, tmp_path):
    png, svg = tmp_path / "map.png", tmp_path / "map.svg"
    promoter_map(result, png)
    promoter_map(result, svg)
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 20_000
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"


def test_map_has_one_row_per_promoter_with_its_sites(result):
    figure = promoter_map(result)
    expected = hits_per_row(result)
    labels = row_names(figure)
    assert len(labels) == len(expected) == 3
    for label, (seq_name, _) in zip(labels, expected):
        gene, transcript = seq_name.split("|")
        assert label == f"{gene} {transcript}"
    drawn = offsets_by_row(figure)
    assert [len(drawn[i]) for i in range(len(expected))] == [n for _, n in expected]
    for row, marks in drawn.items():  # every mark sits in its own row band
        assert all(abs(y - row) < 0.5 for _, y, _ in marks)


def test_map_sites_sit_at_their_tss_relative_centres(result):
    figure = promoter_map(result)
    drawn = offsets_by_row(figure)
    for row, (seq_name, _) in enumerate(hits_per_row(result)):
        want = sorted(expected_centre(h) for h in result if h.seq_name == seq_name)
        got = sorted(x for x, _, _ in drawn[row])
        assert got == pytest.approx(want)
    lo, hi = figure.axes[0].get_xlim()
    assert lo < -2000 and hi > 500  # the whole 2000 + 500 bp promoter window


def test_map_marks_are_strand_aware(result):
    figure = promoter_map(result)
    drawn = offsets_by_row(figure)
    for row, (seq_name, _) in enumerate(hits_per_row(result)):
        gene_strand = GENE_STRANDS[seq_name.split("|")[0]]
        hits = [h for h in result if h.seq_name == seq_name]
        same = sum(h.strand == gene_strand for h in hits)
        words = Counter(word for _, _, word in drawn[row])
        assert words == Counter({"same": same, "opposite": len(hits) - same}), seq_name
        # sites on the gene's strand above the row line (y axis points down), the others below
        assert all((y < row) == (word == "same") for _, y, word in drawn[row])
    for gid, collection in site_collections(figure).items():
        corners = np.unique(np.round(collection.get_paths()[0].vertices, 6), axis=0)
        xs = corners[:, 0]
        tip_right = (xs == xs.max()).sum() == 1 and (xs == xs.min()).sum() == 2  # ">": one corner right, two left
        assert tip_right == gid.endswith("-same"), gid


def test_map_marks_grow_with_minus_log10_p(result):
    figure = promoter_map(result)
    pairs = []
    for gid, collection in site_collections(figure).items():
        motif_id = gid.split("-", 2)[2].rsplit("-", 1)[0]
        row = int(gid.split("-")[1].removeprefix("row"))
        seq_name = hits_per_row(result)[row][0]
        same = gid.endswith("-same")
        gene_strand = GENE_STRANDS[seq_name.split("|")[0]]
        hits = [h for h in result
                if h.seq_name == seq_name and h.motif_id == motif_id and (h.strand == gene_strand) == same]
        x_of = {expected_centre(h): h for h in hits}
        for (x, _), size in zip(collection.get_offsets(), np.broadcast_to(collection.get_sizes(),
                                                                          len(collection.get_offsets()))):
            pairs.append((-math.log10(x_of[float(x)].p_value), float(size)))
    pairs.sort()
    sizes = [s for _, s in pairs]
    assert sizes == sorted(sizes) and sizes[-1] > 3 * sizes[0]


def test_map_legend_names_every_motif_once(result):
    figure = promoter_map(result)
    motifs = {(h.motif_id, h.motif_name) for h in result}
    entries = [t.get_text() for t in legend(figure, "motif-legend").get_texts()]
    assert len(entries) == len(set(entries)) == len(motifs) == 22
    # names shared by two JASPAR matrices carry the ID
    assert "CREB3L4 MA1474.2" in entries and "CREB3L4 MA1475.2" in entries and "ATF3" in entries
    colours = {tuple(h.get_markerfacecolor()) for h in legend(figure, "motif-legend").legend_handles}
    assert len(colours) == len(motifs)
    marks = [t.get_text() for t in legend(figure, "mark-legend").get_texts()]
    assert marks[:2] == ["gene's strand", "other strand"] and any(m.startswith("p = ") for m in marks)


def test_map_marks_the_tss(result):
    figure = promoter_map(result)
    ax = figure.axes[0]
    lines = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    assert list(lines["tss-line"].get_xdata()) == [0, 0]
    for row in range(3):
        assert list(lines[f"tss-arrow-stem-row{row}"].get_xdata()) == [0, 0]
        arrow = next(t for t in ax.texts if getattr(t, "arrow_patch", None) is not None
                     and t.arrow_patch.get_gid() == f"tss-arrow-row{row}")
        (x_head, _), (x_tail, _) = arrow.xy, arrow.xyann
        assert x_tail == 0 and x_head > 0  # points downstream, to the right
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "TSS" in labels and "\u22122\u2009000" in labels and "+500" in labels


def test_map_svg_holds_the_marks(result, tmp_path):
    path = tmp_path / "map.svg"
    figure = promoter_map(result, path)
    groups = svg_groups(path)
    per_row = Counter()
    for gid, group in groups.items():
        if gid.startswith("sites-row"):
            per_row[int(gid.split("-")[1].removeprefix("row"))] += svg_marks(group)
    assert [per_row[i] for i in range(3)] == [n for _, n in hits_per_row(result)]
    assert sum(per_row.values()) == len(result)
    assert {gid for gid in groups if gid.startswith("sites-row")} == set(site_collections(figure))
    assert "tss-line" in groups and all(f"tss-arrow-row{i}" in groups for i in range(3))
    assert "motif-legend" in groups and "mark-legend" in groups


def test_map_png_pixels_show_each_motif_colour(result, tmp_path):
    from matplotlib.image import imread

    chosen = [h for h in result if h.motif_name in ("CREB3L3", "ATF4")]  # a colour that occurs nowhere else
    path = tmp_path / "two.png"
    figure = promoter_map(chosen, path)
    image = imread(path)[..., :3]
    assert (image < 0.9).any(axis=2).mean() > 0.01  # not blank
    handles = legend(figure, "motif-legend").legend_handles
    for handle in handles:
        colour = np.array(handle.get_markerfacecolor()[:3])
        close = (np.abs(image - colour).max(axis=2) < 0.02).sum()
        assert close > 300, handle.get_label()  # legend swatch (~200 px at 150 dpi) plus the marks


def test_map_of_a_fasta_scan_uses_record_positions(fasta_result):
    figure = promoter_map(fasta_result)
    ax = figure.axes[0]
    assert not any(line.get_gid() == "tss-line" for line in ax.get_lines())
    assert not ax.texts
    assert "position in the sequence" in ax.get_xlabel()
    drawn = offsets_by_row(figure)
    order = list(fasta_result.records)  # every record is a row, in the file's order
    counts = dict(hits_per_row(fasta_result))
    for name, count in counts.items():
        row = order.index(name)
        hits = [h for h in fasta_result if h.seq_name == name]
        assert len(drawn[row]) == count
        assert sorted(x for x, _, _ in drawn[row]) == pytest.approx(sorted((h.start + h.end) / 2 for h in hits))
        assert Counter(w for _, _, w in drawn[row]) == Counter(
            "same" if h.strand == "+" else "opposite" for h in hits)
    assert row_names(figure) == order


def test_map_with_unknown_gene_strand_draws_diamonds_unless_told(result):
    lone = [next(h for h in result if h.gene_name == "GTPBP6")]
    figure = promoter_map(lone)
    assert [gid.rsplit("-", 1)[1] for gid in site_collections(figure)] == ["unknown"]
    assert "gene strand unknown" in [t.get_text() for t in legend(figure, "mark-legend").get_texts()]
    figure = promoter_map(lone, gene_strands={lone[0].seq_name: "-"})
    word = "same" if lone[0].strand == "-" else "opposite"
    assert [gid.rsplit("-", 1)[1] for gid in site_collections(figure)] == [word]
    with pytest.raises(UsageError):
        promoter_map(lone, gene_strands={lone[0].seq_name: "?"})


def test_map_without_hits(result, tmp_path):
    empty = replace(result, hits=result.hits.take(slice(0, 0)))
    figure = promoter_map(empty, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").exists() and not site_collections(figure)
    assert any(t.get_text() == "no sites" for t in figure.axes[0].texts)
    promoter_map([], tmp_path / "nothing.svg")


@pytest.mark.parametrize("n_rows", [1, 50])
def test_map_size_suits_one_to_fifty_promoters(result, n_rows, tmp_path):
    from motifscan.writers import read_tsv

    template = result.hits[:4]
    lines = result.__class__(template, (), (), {}).to_tsv().splitlines()
    header, rows = lines[0], [line.split("\t") for line in lines[1:]]
    renamed = []
    for i in range(n_rows):  # the same four sites on n_rows genes, through the TSV the plot command reads
        for row in rows:
            row = list(row)
            row[2], row[12], row[13] = f"G{i}|ENST{i:011d}", f"ENSG{i}", f"G{i}"
            renamed.append("\t".join(row))
    (tmp_path / "rows.tsv").write_text("\n".join([header, *renamed]) + "\n")
    hits = read_tsv(tmp_path / "rows.tsv")[1]
    figure = promoter_map(hits, tmp_path / "rows.png")
    width, height = figure.get_size_inches()
    assert len(row_names(figure)) == n_rows
    assert width == 11 and 2.5 <= height <= 0.6 * n_rows + 4
    drawn = offsets_by_row(figure)
    assert all(len(drawn[i]) == len(template) for i in range(n_rows))


def test_map_rejects_other_image_formats(result, tmp_path):
    with pytest.raises(UsageError, match=r"\.png, \.svg or \.pdf"):
        promoter_map(result, tmp_path / "map.jpg")


def test_figures_show_in_jupyter_and_pickle(result):
    figure = promoter_map(result)
    assert figure._repr_png_()[:8] == PNG_MAGIC
    again = pickle.loads(pickle.dumps(figure))
    assert len(offsets_by_row(again)) == 3


# --- the logo ----------------------------------------------------------------------------------------------------


def test_logo_png_has_four_glyphs_per_position(atf3, tmp_path):
    path = tmp_path / "atf3.png"
    figure = motif_logo(atf3, path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert figure.logo.glyph_df.shape == (atf3.width, 4)
    glyphs = [p for p in figure.axes[0].patches if (p.get_gid() or "").startswith("glyph-")]
    assert len(glyphs) == 4 * atf3.width == 40
    assert figure.axes[0].get_title() == "MA0605.3 ATF3"
    assert figure.axes[0].get_ylabel() == "bits" and figure.axes[0].get_ylim() == (0, 2)


def test_logo_svg_holds_every_glyph(atf3, tmp_path):
    path = tmp_path / "atf3.svg"
    motif_logo(atf3, path)
    glyphs = [gid for gid in svg_groups(path) if gid.startswith("glyph-")]
    assert len(glyphs) == 4 * atf3.width
    assert {gid.rsplit("-", 1)[1] for gid in glyphs} == set("ACGT")


def test_logo_heights_are_information_content(atf3):
    from motifscan.motifs import probabilities

    heights = plots.information_matrix(atf3)
    p = probabilities(atf3.counts, 0.8, np.full(4, 0.25))
    ic = 2 + (p * np.log2(p)).sum(axis=0)
    assert heights.sum(axis=1) == pytest.approx(ic)
    assert heights.argmax(axis=1).tolist() == p.argmax(axis=0).tolist()
    # ATF3's core TGACGTCA is nearly 2 bits per base
    assert "".join("ACGT"[i] for i in heights.argmax(axis=1))[1:9] == "TGACGTCA"
    assert heights.sum(axis=1)[1:9].min() > 1.5
    skewed = plots.information_matrix(atf3, background="0.3,0.2,0.2,0.3")
    assert not np.allclose(skewed, heights)
    with pytest.raises(UsageError):
        plots.information_matrix(atf3, background="auto")


# --- the optional dependencies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["matplotlib", "logomaker"])
def test_missing_plot_extra_is_a_clear_error(missing, atf3, result, monkeypatch):
    monkeypatch.setitem(sys.modules, missing, None)  # "import missing" now raises ImportError
    with pytest.raises(PlotDependencyError) as caught:
        motif_logo(atf3)
    assert str(caught.value) == ('plots need matplotlib and logomaker: pip install ".[plot]" in the motifscan clone '
                                 "(or pip install matplotlib logomaker)")
    assert isinstance(caught.value, MotifscanError) and isinstance(caught.value, ImportError)
    if missing == "matplotlib":
        with pytest.raises(PlotDependencyError):
            promoter_map(result)
