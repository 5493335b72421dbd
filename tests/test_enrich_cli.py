"""motifscan enrich through the command line: the demo genome, a local genome with a background file, the Ensembl
stand-in, and bad input (one line, exit 2 or 1)."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from synthetic_genome import DOWNSTREAM, UPSTREAM, make_genome

from motifscan.cli import cli
from motifscan.gene_lists import ENRICH_COLUMNS


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def rows_of(path):
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    return comments, list(csv.DictReader([line for line in lines if not line.startswith("#")], delimiter="\t"))


def test_demo(tmp_path):
    out = tmp_path / "enrich.tsv"
    result = run("enrich", "--genome", "demo", "FOXC1", "FOXQ1", "GTPBP6", "-o", out, "--plot", tmp_path / "e.png")
    assert result.exit_code == 0, result.output
    comments, rows = rows_of(out)
    assert list(rows[0]) == list(ENRICH_COLUMNS)
    assert len(rows) == 22  # the default ATF/CREB set, one row each
    assert [float(r["p_value"]) for r in rows] == sorted(float(r["p_value"]) for r in rows)
    facts = dict(line[2:].split(": ", 1) for line in comments)
    assert facts["background_compared"].startswith("4 promoters (query genes left out: 3)")
    assert all(int(r["genes"]) == 3 and int(r["background_genes"]) == 4 for r in rows)
    assert (tmp_path / "e.png").stat().st_size > 1000


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    plant = {i: "TGACGTCA" for i in range(0, 200, 8)}
    return make_genome(tmp_path_factory.mktemp("g"), 200, lambda i, rng: 0.5, seed=5, plant=plant)


def test_local_genome_genes_file_and_background_file(genome, tmp_path):
    genes = tmp_path / "genes.txt"
    genes.write_text("\n".join(genome.planted) + "\n")
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(genome.names[:150]) + "\n")
    out = tmp_path / "out.tsv"
    result = run("enrich", "--genome", genome.fasta, "--annotation", genome.gtf, "--genes-file", genes,
                 "--background-genes", universe, "--upstream", UPSTREAM, "--downstream", DOWNSTREAM,
                 "--motif", "MA0018.5", "--tf", "SP1", "--no-gc-match", "-o", out)
    assert result.exit_code == 0, result.output
    comments, rows = rows_of(out)
    creb1 = next(r for r in rows if r["motif_id"] == "MA0018.5")
    planted_in_universe = [n for n in genome.planted if n in genome.names[:150]]
    assert int(creb1["background_genes"]) == 150 - len(planted_in_universe)
    assert float(creb1["q_value"]) < 1e-6
    assert any(line.startswith("# gc_match: no") for line in comments)


@pytest.mark.parametrize("args, code, words", [
    (["enrich", "--genome", "demo"], 2, "give gene names"),
    (["enrich", "--genome", "demo", "FOXC1", "--pvalue", "2"], 2, "(0, 1]"),
    (["enrich", "--genome", "demo", "FOXC1", "--plot", "x.pdf"], 2, "--plot"),
    (["enrich", "--genome", "demo", "NOT_A_GENE"], 1, "none of the genes"),
])
def test_bad_input_is_one_line(args, code, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == code
    assert words in result.output and "Traceback" not in result.output
