"""Motif selection from the real pyjaspar database, motif files, and the probability / log-odds model."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import numpy as np
import pyjaspar
import pytest

from motifscan.errors import InputFileError, UnknownMotifError
from motifscan.motifs import (
    JasparDatabase,
    default_motif_ids,
    log_odds,
    probabilities,
    read_motif_file,
    reverse_complement_matrix,
    select_motifs,
)

DATA = Path(__file__).parent / "data"
JASPAR2026 = Path(pyjaspar.__file__).parent / "data" / "JASPAR2026.sqlite"
DEFAULT_SET = [
    "MA0604.1", "MA1632.2", "MA0605.3", "MA1988.2", "MA0833.3", "MA1466.2", "MA0834.2", "MA0018.5", "MA0609.3",
    "MA0638.2", "MA0839.2", "MA0608.1", "MA2541.1", "MA1474.2", "MA1475.2", "MA0840.2", "MA0655.1", "MA0656.2",
    "MA0019.2", "MA1634.2", "MA0835.3", "MA0462.3",
]


@pytest.fixture(autouse=True)
def _motifscan_logs_reach_caplog(monkeypatch):
    """A CLI run earlier in the session (``-q``) leaves the motifscan logger at ERROR and not propagating."""
    logger = logging.getLogger("motifscan")
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "handlers", [])
    level = logger.level
    logger.setLevel(logging.NOTSET)  # setLevel, not an attribute: it clears the loggers' level caches
    yield
    logger.setLevel(level)


def test_default_set_is_the_issue_list():
    assert default_motif_ids() == DEFAULT_SET
    motifs = select_motifs()
    assert [m.id for m in motifs] == DEFAULT_SET
    assert all(m.source == "JASPAR2026" for m in motifs)


def test_whole_core_vertebrates_group_is_1019_latest_versions():
    motifs = select_motifs(collections=["CORE"], tax_groups=["vertebrates"])
    assert len(motifs) == 1019
    bases = [m.id.split(".")[0] for m in motifs]
    assert len(set(bases)) == 1019
    # independent check of "latest version" straight from the SQLite file
    db = sqlite3.connect(JASPAR2026)
    latest = dict(db.execute("SELECT BASE_ID, MAX(VERSION) FROM MATRIX WHERE COLLECTION='CORE' GROUP BY BASE_ID"))
    assert all(int(m.id.split(".")[1]) == latest[m.id.split(".")[0]] for m in motifs)


def test_loading_1019_matrices_is_fast():
    start = time.perf_counter()
    JasparDatabase("JASPAR2026").group(["CORE"], ["vertebrates"])  # a fresh instance: no cache
    elapsed = time.perf_counter() - start
    print(f"loaded 1019 matrices in {elapsed:.3f} s")  # measured, not asserted: see benchmarks/


def test_counts_equal_sqlite_rows():
    motif = select_motifs(motif_ids=["MA0605.3"])[0]
    db = sqlite3.connect(JASPAR2026)
    key = db.execute("SELECT ID FROM MATRIX WHERE BASE_ID='MA0605' AND VERSION=3").fetchone()[0]
    for row, col, val in db.execute("SELECT row, col, val FROM MATRIX_DATA WHERE ID=?", (key,)):
        assert motif.counts["ACGT".index(row), col - 1] == val
    assert motif.name == "ATF3" and motif.width == 10 and motif.tax_group == "vertebrates"


def test_tf_name_selects_vertebrate_core_only():
    ids = [m.id for m in select_motifs(tf_names=["atf3"])]
    assert ids == ["MA0605.3", "MA1988.2"]  # not the insect MA2193, nor BATF3
    insects = [m.id for m in select_motifs(tf_names=["Atf3"], tax_groups=["insects"])]
    assert [i.split(".")[0] for i in insects] == ["MA2193"]


def test_id_without_version_is_latest():
    assert [m.id for m in select_motifs(motif_ids=["MA0605"])] == ["MA0605.3"]
    assert [m.id for m in select_motifs(motif_ids=["MA0605.1"])] == ["MA0605.1"]


def test_selectors_add_up_without_duplicates():
    motifs = select_motifs(motif_ids=["MA0605.3", "MA0018.5"], tf_names=["ATF3"])
    assert [m.id for m in motifs] == ["MA0605.3", "MA0018.5", "MA1988.2"]


@pytest.mark.parametrize("kwargs, word", [
    ({"motif_ids": ["MA9999.1"]}, "MA9999.1"),
    ({"tf_names": ["ATF33"]}, "ATF3"),
    ({"release": "JASPAR2025"}, "JASPAR2026"),
    ({"tax_groups": ["vertebrate"]}, "vertebrates"),
])
def test_unknown_names_suggest_close_matches(kwargs, word):
    with pytest.raises(UnknownMotifError, match=word) as caught:
        select_motifs(**kwargs)
    assert caught.value.exit_code == 2


def test_older_release_takes_each_default_factor_in_its_version_there(caplog):
    """The default set is a set of factors: under JASPAR2020 each base ID in its newest version of that release
    (20 of the 22 base IDs are there; only 3 matrices were kept when versions had to match exactly)."""
    database = sqlite3.connect(Path(pyjaspar.__file__).parent / "data" / "JASPAR2020.sqlite")
    latest = dict(database.execute("SELECT BASE_ID, MAX(VERSION) FROM MATRIX GROUP BY BASE_ID").fetchall())
    expected = [f"{m.split('.')[0]}.{latest[m.split('.')[0]]}" for m in DEFAULT_SET if m.split(".")[0] in latest]
    motifs = select_motifs(release="JASPAR2020")
    assert [m.id for m in motifs] == expected and len(expected) == 20
    assert all(m.source == "JASPAR2020" for m in motifs)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "JASPAR2020: 20 of 22" in warning and "17 changed: MA1632.2 -> MA1632.1, MA0605.3 -> MA0605.2" in warning
    assert warning.endswith("2 not in JASPAR2020, dropped: MA1988.2 MA2541.1")


def test_tf_name_shows_and_narrows_species(caplog):
    """JASPAR names JUN (MA0488, human) and Jun (MA0489, mouse): --tf JUN matches both and says so."""
    caplog.set_level("INFO", logger="motifscan.motifs")
    database = sqlite3.connect(JASPAR2026)
    species = dict(database.execute(
        "SELECT m.BASE_ID || '.' || m.VERSION, t.SPECIES FROM MATRIX m JOIN MATRIX_SPECIES s ON s.ID = m.ID "
        "JOIN TAX t ON t.TAX_ID = s.TAX_ID WHERE upper(m.NAME) = 'JUN'").fetchall())
    both = select_motifs(tf_names=["JUN"])
    assert [(m.id, m.species) for m in both] == [("MA0488.2", species["MA0488.2"]), ("MA0489.3", species["MA0489.3"])]
    assert [m.species for m in both] == ["Homo sapiens", "Mus musculus"]
    assert "MA0488.2 JUN (Homo sapiens), MA0489.3 Jun (Mus musculus)" in caplog.text
    for name in ("human", "Homo sapiens", "HOMO SAPIENS", "9606"):
        assert [m.id for m in select_motifs(tf_names=["JUN"], tf_species=name)] == ["MA0488.2"]
    for name in ("mouse", "house mouse", "Mus musculus", "10090"):
        assert [m.id for m in select_motifs(tf_names=["jun"], tf_species=name)] == ["MA0489.3"]
    with pytest.raises(UnknownMotifError, match=r"no matrix named 'JUN' of species 'rat'.*MA0489.3 Jun \(Mus"):
        select_motifs(tf_names=["JUN"], tf_species="rat")


def test_cli_tf_species_and_the_species_column():
    from click.testing import CliRunner

    from motifscan.cli import cli

    listing = CliRunner().invoke(cli, ["motifs", "JUN", "--tf-species", "mouse"])
    rows = [line.split("\t") for line in listing.stdout.splitlines()]
    assert rows[0][-1] == "species" and {row[-1] for row in rows[1:]} == {"Mus musculus"}
    assert rows[[r[0] for r in rows].index("MA0489.3")][:2] == ["MA0489.3", "Jun"]
    example = Path(__file__).resolve().parent.parent / "examples" / "promoters.fa"
    scan = CliRunner().invoke(cli, ["fasta", str(example), "--tf", "JUN", "--tf-species", "human"])
    assert scan.exit_code == 0, scan.stderr
    assert {line.split("\t")[0] for line in scan.stdout.splitlines() if line[:2] == "MA"} == {"MA0488.2"}
    assert "TF 'JUN' of species 'human': MA0488.2 JUN" in scan.stderr
    alone = CliRunner().invoke(cli, ["fasta", str(example), "--tf-species", "human"])
    assert alone.exit_code == 2 and "--tf-species narrows --tf" in alone.stderr


@pytest.mark.parametrize("name", ["atf3_MA0605.3.jaspar", "atf3_MA0605.3.transfac"])
def test_motif_files_give_jaspar_counts(name):
    from_file = read_motif_file(DATA / name)
    from_db = select_motifs(motif_ids=["MA0605.3"])[0]
    assert len(from_file) == 1
    np.testing.assert_array_equal(from_file[0].counts, from_db.counts)


def test_meme_frequencies_become_counts_times_nsites():
    motif = read_motif_file(DATA / "creb1_MA0018.5.meme")[0]
    db_motif = select_motifs(motif_ids=["MA0018.5"])[0]
    assert motif.id == "MA0018.5"
    np.testing.assert_allclose(motif.counts, db_motif.counts, rtol=1e-4, atol=1)


MEME_HEADER = "MEME version 4\n\nALPHABET= ACGT\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"


def test_meme_counts_are_frequency_times_20_unrounded_without_nsites(tmp_path):
    path = tmp_path / "m.meme"
    path.write_text(MEME_HEADER + "MOTIF m1 TF1\nletter-probability matrix: alength= 4 w= 2\n"
                                  "0.72 0.08 0.1 0.1\n0.25 0.25 0.25 0.25\n")
    (motif,) = read_motif_file(path)
    assert (motif.id, motif.name) == ("m1", "TF1")
    assert motif.counts.tolist() == [[14.4, 5.0], [1.6, 5.0], [2.0, 5.0], [2.0, 5.0]]  # not 14, 2, 2, 2


def test_meme_with_one_site_reads_a_flat_column_as_quarter_counts(tmp_path):
    path = tmp_path / "m.meme"
    path.write_text(MEME_HEADER + "MOTIF m1\nletter-probability matrix: alength= 4 w= 1 nsites= 1 E= 0\n"
                                  "0.25 0.25 0.25 0.25\n")
    (motif,) = read_motif_file(path)  # rounded, 0.25 x 1 was 0: "a column with no counts"
    assert (motif.id, motif.name) == ("m1", "m1")
    assert motif.counts.tolist() == [[0.25], [0.25], [0.25], [0.25]]


def test_meme_counts_are_the_file_probabilities_times_nsites():
    path = DATA / "creb1_MA0018.5.meme"
    rows = [line.split() for line in path.read_text().splitlines() if line[:1] == "0"]
    motif = read_motif_file(path)[0]
    np.testing.assert_allclose(motif.counts, np.array(rows, float).T * 79544, rtol=1e-12)
    assert not np.all(motif.counts == np.round(motif.counts))  # not rounded to whole sites
    np.testing.assert_allclose(motif.counts, select_motifs(motif_ids=["MA0018.5"])[0].counts, rtol=1e-4, atol=1)


def test_meme_motifs_are_read_whatever_the_blank_lines(tmp_path):
    row = "0.5 0.5 0 0\n"
    path = tmp_path / "m.meme"
    path.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m0 TF0\nletter-probability matrix:\n" + row
                    + "\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
                    + "MOTIF m1 TF1\nletter-probability matrix: nsites= 4\n" + row
                    + "MOTIF m2\nletter-probability matrix: nsites= 2\n" + row + row)
    motifs = read_motif_file(path)
    assert [(m.id, m.name, m.width) for m in motifs] == [("m0", "TF0", 1), ("m1", "TF1", 1), ("m2", "m2", 2)]
    assert motifs[1].counts[:, 0].tolist() == [2.0, 2.0, 0.0, 0.0]


@pytest.mark.parametrize("body, line, message", [
    ("MOTIF m1\nMOTIF m2\nletter-probability matrix: w= 1\n0.5 0.5 0 0\n", 8,
     "MOTIF line without a letter-probability matrix"),
    ("MOTIF m1\nletter-probability matrix: w= 1\n0.5 0.5 0 0\n\nMOTIF m2\n", 12,
     "MOTIF line without a letter-probability matrix"),
    ("letter-probability matrix: w= 1\n0.5 0.5 0 0\n\nMOTIF m1\nletter-probability matrix: w= 1\n0.5 0.5 0 0\n", 8,
     "letter-probability matrix without a MOTIF line"),
])
def test_meme_motif_lines_and_matrices_pair_up(tmp_path, body, line, message):
    path = tmp_path / "m.meme"
    path.write_text(MEME_HEADER + body)
    with pytest.raises(InputFileError, match=f"line {line}: {message}"):
        read_motif_file(path)


@pytest.mark.parametrize("name", ["bad_ragged.pfm", "bad_negative.jaspar"])
def test_bad_motif_files(name):
    with pytest.raises(InputFileError, match=name):
        read_motif_file(DATA / name)


def test_empty_motif_file(tmp_path):
    path = tmp_path / "empty.jaspar"
    path.write_text("")
    with pytest.raises(InputFileError, match="empty"):
        read_motif_file(path)


def test_probabilities_follow_the_formula():
    counts = np.array([[3.0, 0], [1, 10], [0, 0], [6, 0]])
    background = np.array([0.3, 0.2, 0.2, 0.3])
    probs = probabilities(counts, 0.8, background)
    assert probs[0, 0] == pytest.approx((3 + 0.8 * 0.3) / (10 + 0.8))
    assert probs[2, 1] == pytest.approx((0 + 0.8 * 0.2) / (10 + 0.8))
    np.testing.assert_allclose(probs.sum(axis=0), 1)
    np.testing.assert_allclose(log_odds(counts, 0.8, background), np.log2(probs / background[:, None]))


def test_reverse_complement_matrix():
    matrix = np.arange(12.0).reshape(4, 3)
    rc = reverse_complement_matrix(matrix)
    # column j of the reverse complement is the complement of column w-1-j: A<-T, C<-G, G<-C, T<-A
    assert rc[0, 0] == matrix[3, 2] and rc[1, 0] == matrix[2, 2] and rc[3, 2] == matrix[0, 0]
