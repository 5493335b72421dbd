"""Motif files written by others (Biopython's test suite, GimmeMotifs' databases) read for what they are.

Oracles: the JASPAR database (pyjaspar's SQLite, read by motifscan.motifs, an independent path from the file reader)
for matrices that are JASPAR's; Bio.motifs' own parse of the same file in the layout its authors documented; MEME's
own probability matrix in its XML; and the numbers as they stand in the file's text.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from Bio import motifs as bio_motifs
from click.testing import CliRunner

from motifscan.cli import cli
from motifscan.errors import InputFileError
from motifscan.motif_files import MAX_WIDTH, read_motif_file
from motifscan.motifs import jaspar_database

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "promoters.fa"
BIO = DATA / "biopython"
GIMME = DATA / "gimmemotifs"


def probs(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    return counts / counts.sum(axis=0)


def bio_counts(path: Path, fmt: str) -> list[np.ndarray]:
    with open(path) as handle:
        return [np.array([list(m.counts[letter]) for letter in "ACGT"]) for m in bio_motifs.parse(handle, fmt)]


# --- one row per position ------------------------------------------------------------------------------------------


def test_hocomoco_matrices_are_one_row_per_position():
    """HOCOMOCO v11 as GimmeMotifs ships it: '>' header, then one row of 4 counts per position (8-row motifs were
    read as two 4-column motifs, longer ones refused)."""
    path = GIMME / "HOCOMOCOv11_HUMAN.excerpt.pfm"
    motifs = read_motif_file(path)
    headers = [line[1:] for line in path.read_text().splitlines() if line.startswith(">")]
    assert [m.id for m in motifs] == headers
    expected = bio_counts(path, "pfm-four-columns")
    assert len(motifs) == len(expected) == 12
    for motif, counts in zip(motifs, expected):
        np.testing.assert_array_equal(motif.counts, counts)  # counts as written (HOCOMOCO gives counts)
    rows = [len(block.strip().splitlines()) - 1 for block in path.read_text().split(">")[1:]]
    assert [m.width for m in motifs] == rows


def test_an_eight_position_homer_motif_is_one_motif():
    path = GIMME / "HOMER.excerpt.pfm"
    motifs = read_motif_file(path)
    assert [m.width for m in motifs] == [10, 12, 8]
    bmal1 = motifs[2]
    assert bmal1.id == "GNCACGTG_BMAL1(bHLH)/Liver-Bmal1-ChIP-Seq(GSE39860)/Homer"
    text_rows = path.read_text().split(">GNCACGTG")[1].splitlines()[1:9]
    np.testing.assert_allclose(probs(bmal1.counts), probs(np.array([r.split() for r in text_rows], float).T))


def test_cluster_buster_file_gives_jaspar_counts():
    """Biopython's clusterbuster.pfm holds JASPAR's MA0004.1, MA0006.1, MA0008.1, one row per position, with
    cluster-buster's '# WEIGHT:' lines inside a motif."""
    motifs = read_motif_file(BIO / "clusterbuster.pfm")
    assert [m.id for m in motifs] == ["MA0004.1", "MA0006.1", "MA0008.1"]
    database = jaspar_database("JASPAR2024")
    for motif in motifs:
        np.testing.assert_array_equal(motif.counts, database.by_ids([motif.id])[0].counts)
    for motif, counts in zip(motifs, bio_counts(BIO / "clusterbuster.pfm", "clusterbuster")):
        np.testing.assert_array_equal(motif.counts, counts)


def test_biopython_four_column_file_reads_as_bio_reads_it():
    """fourcolumns.pfm: CIS-BP 'Pos A C G T' tables with position numbers, 'Gene'/'Motif' names, cluster-buster,
    HOMER, HOCOMOCO and Neph blocks, and a 'T A G C' letter line reordering the columns."""
    path = BIO / "fourcolumns.pfm"
    motifs = read_motif_file(path)
    expected = bio_counts(path, "pfm-four-columns")
    assert len(motifs) == len(expected) == 8
    for motif, counts in zip(motifs, expected):
        np.testing.assert_allclose(probs(motif.counts), probs(counts), rtol=1e-12)
    assert [m.id for m in motifs][1:5] == ["ENSG00000197372", "M1734_0.90", "AbdA_Cell_FBgn0000014",
                                          "ATGACTCATC"]
    tiffin = motifs[-1]  # 'T A G C', first row 30 0 28 40: T=30 A=0 G=28 C=40
    assert tiffin.counts[:, 0].tolist() == [0, 40, 28, 30]


def test_biopython_four_row_file_reads_as_bio_reads_it():
    path = BIO / "fourrows.pfm"
    motifs = read_motif_file(path)
    expected = bio_counts(path, "pfm-four-rows")
    assert len(expected) == 9
    np.testing.assert_array_equal(expected[6], expected[7])  # MA0001.1 twice (labelled, then bare): read once
    del expected[7]
    assert len(motifs) == len(expected)
    for motif, counts in zip(motifs, expected):
        np.testing.assert_allclose(probs(motif.counts), probs(counts), rtol=1e-12)
    yetfasco = motifs[1]  # rows A, T, G, C: column 3 is A 0.0 T 0.0 G 0.0 C 1.0
    assert probs(yetfasco.counts)[:, 2].tolist() == [0, 1, 0, 0]


def test_gimmemotifs_jaspar_frequencies_match_the_jaspar_database():
    path = GIMME / "JASPAR2020_vertebrates.excerpt.pfm"
    motifs = read_motif_file(path)
    database = jaspar_database("JASPAR2020")
    assert len(motifs) == 12
    for motif in motifs:
        jaspar_id = motif.id.split("_")[0]
        expected = probs(database.by_ids([jaspar_id])[0].counts)
        np.testing.assert_allclose(probs(motif.counts), expected, atol=2e-4)  # 4 decimals


def test_encode_rows_with_a_consensus_letter_are_positions():
    """ENCODE's motifs put the consensus letter (IUPAC) before the four frequencies of each position."""
    path = GIMME / "ENCODE.excerpt.pfm"
    motifs = read_motif_file(path)
    blocks = path.read_text().split("\n>")[1:]
    assert len(motifs) == len(blocks) == 4
    for motif, block in zip(motifs, blocks):
        rows = [line.split()[1:] for line in block.splitlines()[1:] if line.strip()]
        assert motif.id == block.split()[0]
        np.testing.assert_allclose(probs(motif.counts), probs(np.array(rows, float).T), rtol=1e-12)


# --- layouts that cannot be told -----------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SQUARE = "8 0 0 2\n0 9 1 0\n1 1 7 1\n0 0 0 10\n"  # 4 x 4: rows add up to 10 each, columns to 9 10 8 13


def test_a_four_by_four_matrix_without_clues_is_refused_naming_the_layouts(tmp_path):
    flat = "1 1 1 1\n1 1 1 1\n1 1 1 1\n1 1 1 1\n"  # rows and columns add up alike: no way to tell
    with pytest.raises(InputFileError, match=r"square.pfm, line 2: 4 rows of 4 values read as positions or as "
                                             r"letters.*supported layouts: JASPAR.*HOMER"):
        read_motif_file(write(tmp_path / "square.pfm", ">M1\n" + flat))


def test_a_four_by_four_matrix_takes_the_layout_of_its_file(tmp_path):
    six_positions = ">long\n" + "1 2 3 4\n" * 6
    (square, _) = read_motif_file(write(tmp_path / "a.pfm", ">sq\n1 1 1 1\n2 2 2 2\n3 3 3 3\n4 4 4 4\n"
                                        + six_positions))
    assert square.counts[:, 0].tolist() == [1, 1, 1, 1]  # the first position, not the first letter's row
    jaspar = ">long\nA [ 1 2 3 4 5 ]\nC [ 1 1 1 1 1 ]\nG [ 1 1 1 1 1 ]\nT [ 1 1 1 1 1 ]\n"
    (_, square) = read_motif_file(write(tmp_path / "b.jaspar", jaspar + ">sq\n1 1 1 1\n2 2 2 2\n3 3 3 3\n4 4 4 4\n"))
    assert square.counts[:, 0].tolist() == [1, 2, 3, 4]


def test_a_four_by_four_matrix_told_by_its_totals_or_a_homer_header(tmp_path):
    (motif,) = read_motif_file(write(tmp_path / "rows.pfm", ">M1\n" + SQUARE))
    assert motif.counts[:, 0].tolist() == [8, 0, 0, 2]  # rows add up to 10: one row per position
    (motif,) = read_motif_file(write(tmp_path / "cols.pfm", ">M1\n" + "5 0 1 3\n1 9 0 2\n0 1 7 0\n4 0 2 5\n"))
    assert motif.counts[:, 0].tolist() == [5, 1, 0, 4]  # columns add up to 10: four rows
    flat = "0.25\t0.25\t0.25\t0.25\n" * 3 + "0.7\t0.1\t0.1\t0.1\n"
    # HOMER's header: consensus, name, log-odds threshold, log p-value, 0, statistics (tab-separated)
    (motif,) = read_motif_file(write(tmp_path / "x.motif", ">NNNA\tMyTF/Homer\t6.05\t-1.7e3\t0\tT:1.0\n" + flat))
    assert (motif.id, motif.name) == ("MyTF/Homer", "MyTF/Homer")
    np.testing.assert_allclose(probs(motif.counts)[:, 3], [0.7, 0.1, 0.1, 0.1])


def test_a_file_mixing_the_two_layouts_is_refused(tmp_path):
    text = ">a\nA [ 1 2 3 ]\nC [ 1 2 3 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n>b\n" + "1 2 3 4\n" * 6
    with pytest.raises(InputFileError, match=r"line 7: this matrix has one row of 4 values per position but the one "
                                             r"on line 2 has four rows"):
        read_motif_file(write(tmp_path / "mixed.pfm", text))


def test_a_matrix_of_neither_shape_is_refused(tmp_path):
    with pytest.raises(InputFileError, match=r"line 2: the matrix starting here has 6 row\(s\) of 3 values, which "
                                             r"is neither layout"):
        read_motif_file(write(tmp_path / "odd.pfm", ">a\n" + "1 2 3\n" * 6))


def test_gzip_motif_files_read_like_plain_ones(tmp_path):
    path = tmp_path / "hocomoco.pfm.gz"
    path.write_bytes(gzip.compress((GIMME / "HOCOMOCOv11_HUMAN.excerpt.pfm").read_bytes()))
    plain = read_motif_file(GIMME / "HOCOMOCOv11_HUMAN.excerpt.pfm")
    assert [(m.id, m.counts.tolist()) for m in read_motif_file(path)] == [(m.id, m.counts.tolist()) for m in plain]


# --- XML -----------------------------------------------------------------------------------------------------------


def test_meme_xml_is_read():
    path = BIO / "meme.psp_test.classic.zoops.xml"
    (motif,) = read_motif_file(path)
    assert (motif.id, motif.name) == ("GCTTATGTAA", "MEME-1")
    root = ElementTree.parse(path).getroot()
    element = root.find("motifs/motif")
    sites = int(element.get("sites"))
    meme_probs = np.array([[float(v.text) for v in array.findall("value")]
                           for array in element.find("probabilities/alphabet_matrix").findall("alphabet_array")]).T
    assert motif.counts.sum(axis=0).tolist() == [sites] * int(element.get("width"))
    np.testing.assert_allclose(motif.counts / sites, meme_probs, atol=1e-6)


def test_xml_that_is_not_meme_output_is_refused_plainly():
    with pytest.raises(InputFileError, match="an XML file that is not MEME's XML output: not a supported motif file"):
        read_motif_file(BIO / "mast.crp0.de.oops.txt.xml")


def test_meme_xml_of_proteins_is_refused(tmp_path):
    text = (BIO / "meme.psp_test.classic.zoops.xml").read_text()
    # the alphabet as MEME states it in the training set's letter frequencies, with one amino acid more
    protein = re.sub(r"(<letter_frequencies>\s*<alphabet_array>)", r'\1\n<value letter_id="D">0.1</value>', text)
    assert protein != text
    with pytest.raises(InputFileError, match="only DNA motifs"):
        read_motif_file(write(tmp_path / "protein.xml", protein))


# --- wide matrices -------------------------------------------------------------------------------------------------


def test_a_matrix_wider_than_the_limit_is_refused_in_one_line(tmp_path):
    row = " ".join(["5"] * 512)
    path = write(tmp_path / "wide.jaspar", f">WIDE1 wide\nA [ {row} ]\nC [ {row} ]\nG [ {row} ]\nT [ {row} ]\n")
    result = CliRunner().invoke(cli, ["-q", "fasta", str(EXAMPLE), "--motif-file", str(path)])
    assert result.exit_code == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line == (f"motifscan: error: {path}: motif 'WIDE1' has 512 columns; motifscan scans matrices of at most "
                    f"{MAX_WIDTH} (their exact p-values take seconds per matrix beyond that)")
    narrow = " ".join(["5"] * MAX_WIDTH)
    (motif,) = read_motif_file(write(tmp_path / "ok.jaspar", f">OK1\nA [ {narrow} ]\nC [ {narrow} ]\n"
                                                            f"G [ {narrow} ]\nT [ {narrow} ]\n"))
    assert motif.width == MAX_WIDTH


def test_score_distribution_of_512_columns_does_not_overflow():
    """4.0 ** 512 overflowed a float (OverflowError) when choosing the threshold search; the choice is made on
    exponents now. (A full threshold search at this width takes minutes: the file reader refuses such matrices.)"""
    from motifscan.motifs import log_odds
    from motifscan.pvalues import ScoreDistribution

    counts = np.random.default_rng(1).integers(1, 20, size=(4, 512)).astype(float)
    background = np.full(4, 0.25)
    distribution = ScoreDistribution(log_odds(counts, 0.8, background), background)
    assert distribution._threshold_grid_rounds() == 3
    assert ScoreDistribution(log_odds(counts[:, :8], 0.8, background), background)._threshold_grid_rounds() == 1


# --- TRANSFAC variants ---------------------------------------------------------------------------------------------


def test_jaspar_transfac_download_with_single_spaces_and_tabs():
    """Biopython's MA0056.1.transfac, as JASPAR's site exports it ('AC MA0056.1', 'PO<TAB>A<TAB>C...'): Bio.motifs
    refuses it ("should have 2 spaces between key and value"); it is JASPAR's MA0056.1."""
    (motif,) = read_motif_file(BIO / "MA0056.1.transfac")
    assert (motif.id, motif.name) == ("MA0056.1", "MZF1")
    np.testing.assert_array_equal(motif.counts, jaspar_database("JASPAR2024").by_ids(["MA0056.1"])[0].counts)


def test_jaspar_sites_file_gives_the_jaspar_counts():
    """Biopython's Arnt.sites: JASPAR's 20 sites of MA0004 (ARNT), in capitals between lowercase flanks."""
    (motif,) = read_motif_file(BIO / "Arnt.sites")
    assert (motif.id, motif.name) == ("MA0004", "ARNT")
    np.testing.assert_array_equal(motif.counts, jaspar_database("JASPAR2024").by_ids(["MA0004.1"])[0].counts)
    sites = [line for line in (BIO / "Arnt.sites").read_text().splitlines() if line and line[0] != ">"]
    np.testing.assert_array_equal(motif.counts, bio_counts(BIO / "Arnt.sites", "sites")[0])
    assert motif.counts.sum(axis=0).tolist() == [len(sites)] * 6


def test_sites_of_unequal_length_are_refused(tmp_path):
    with pytest.raises(InputFileError, match=r"bad.sites, line 4: this site has 5 letters, the site on line 2 has 6"):
        read_motif_file(write(tmp_path / "bad.sites", ">M1 x 1\nccCACGTGaa\n>M1 x 2\ngCACGTt\n"))


@pytest.mark.parametrize("name, what", [("alignace.out", "AlignACE output"), ("mast.crp0.de.oops.txt.xml", "XML")])
def test_program_outputs_that_are_not_motif_files_are_named(name, what):
    with pytest.raises(InputFileError, match=f"{name}: .*{what}.* not a supported motif file"):
        read_motif_file(BIO / name)


def test_a_motif_id_given_twice(tmp_path):
    """fourrows.pfm holds MA0001.1 twice, once labelled, once bare: the same matrix, read once; two different
    matrices under one ID are refused (select_motifs keeps one motif per ID and source: one would be lost)."""
    motifs = read_motif_file(BIO / "fourrows.pfm")
    assert [m.id for m in motifs].count("MA0001.1") == 1 and len(motifs) == 8
    text = ">M1 x\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n>M1 y\nA [ 2 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n"
    with pytest.raises(InputFileError, match="two different matrices named 'M1'"):
        read_motif_file(write(tmp_path / "twice.jaspar", text))
