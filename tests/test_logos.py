"""`motifscan logo` and plots.motif_logo: axes labelled, the JASPAR release in the figure, every matrix of a TF name
drawn (or named). Oracles: the JASPAR SQLite file read directly, the SVG the figure writes."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pyjaspar
from click.testing import CliRunner

from motifscan.cli import cli
from motifscan.motifs import read_motif_file, select_motifs
from motifscan.plots import motif_logo

DATA = Path(__file__).parent / "data"
JASPAR2026 = Path(pyjaspar.__file__).parent / "data" / "JASPAR2026.sqlite"
SVG = "{http://www.w3.org/2000/svg}"


def svg_ids(path: Path) -> list[str]:
    return [g.get("id") for g in ET.parse(path).getroot().iter(f"{SVG}g") if g.get("id")]


def latest_matrices_named(name: str) -> list[str]:
    """The newest version of each CORE vertebrate base ID whose name is ``name`` (any case), from the SQLite file."""
    database = sqlite3.connect(JASPAR2026)
    rows = database.execute(
        "SELECT m.BASE_ID, m.VERSION, m.NAME FROM MATRIX m JOIN MATRIX_ANNOTATION a ON a.ID = m.ID "
        "WHERE a.TAG = 'tax_group' AND a.VAL = 'vertebrates' AND m.COLLECTION = 'CORE'").fetchall()
    latest: dict[str, tuple[int, str]] = {}
    for base, version, matrix_name in rows:
        if base not in latest or int(version) > latest[base][0]:
            latest[base] = (int(version), matrix_name)
    return sorted(f"{base}.{v}" for base, (v, n) in latest.items() if n.upper() == name.upper())


def test_logo_has_an_x_label_and_the_release():
    (atf3,) = select_motifs(motif_ids=["MA0605.3"])
    figure = motif_logo(atf3)
    (ax,) = figure.axes
    assert ax.get_xlabel() == "position (5' to 3')" and ax.get_ylabel() == "bits"
    assert ax.get_title() == "MA0605.3 ATF3"
    texts = [t.get_text() for t in ax.texts]
    assert "JASPAR2026 CORE vertebrates, Homo sapiens" in texts
    older = motif_logo(select_motifs(motif_ids=["MA0605.2"], release="JASPAR2020")[0])
    assert "JASPAR2020 CORE vertebrates, Homo sapiens" in [t.get_text() for t in older.axes[0].texts]
    from_file = motif_logo(read_motif_file(DATA / "atf3_MA0605.3.jaspar")[0])
    assert "file atf3_MA0605.3.jaspar" in [t.get_text() for t in from_file.axes[0].texts]


def test_logo_of_a_tf_name_draws_each_of_its_matrices(tmp_path):
    expected = latest_matrices_named("ATF3")
    assert len(expected) == 2  # ATF3 (human) and Atf3 (mouse)
    path = tmp_path / "atf3.svg"
    result = CliRunner().invoke(cli, ["logo", "ATF3", "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    ids = svg_ids(path)
    for row, motif_id in enumerate(expected, 1):
        assert motif_id in result.stderr
        assert sum(i.startswith(f"glyph-{row}-") for i in ids) == 4 * select_motifs(motif_ids=[motif_id])[0].width
    assert f"logo-source-{len(expected)}" in ids
    assert "2 logos of ATF3 written to" in result.stderr and "(Mus musculus)" in result.stderr


def test_logo_of_a_tf_name_narrowed_to_a_species(tmp_path):
    path = tmp_path / "atf3.png"
    result = CliRunner().invoke(cli, ["logo", "ATF3", "--tf-species", "human", "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "1 logo of ATF3 written to" in result.stderr and "MA0605.3 ATF3 (Homo sapiens)" in result.stderr
    assert "MA1988" not in result.stderr.split("written to")[1]


def test_logo_of_a_motif_file_draws_each_motif_up_to_the_cap(tmp_path, monkeypatch):
    import motifscan.cli

    assert motifscan.cli.MAX_LOGOS == 12
    monkeypatch.setattr(motifscan.cli, "MAX_LOGOS", 2)  # 12 logos take seconds to draw
    text = "".join(f">M{n}\nA [ {n + 4} 1 ]\nC [ 1 {n + 4} ]\nG [ 1 1 ]\nT [ 1 1 ]\n" for n in range(1, 4))
    motif_file = tmp_path / "many.jaspar"
    motif_file.write_text(text)
    path = tmp_path / "many.svg"
    result = CliRunner().invoke(cli, ["logo", str(motif_file), "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    assert {i.split("-")[1] for i in svg_ids(path) if i.startswith("glyph-")} == {"1", "2"}
    assert "holds 3 motifs; drawing the first 2: M1 M2" in result.stderr
