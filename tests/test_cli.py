"""The command line through click's CliRunner: outputs, exit codes and one-line errors."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from motifscan import __version__
from motifscan.api import scan_fasta
from motifscan.cli import cli
from motifscan.writers import TSV_COLUMNS

EXAMPLE = Path(__file__).parent.parent / "examples" / "promoters.fa"
DATA = Path(__file__).parent / "data"


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def read_tsv(path: Path) -> tuple[list[str], list[dict]]:
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    rows = list(csv.DictReader([line for line in lines if not line.startswith("#")], delimiter="\t"))
    return comments, rows


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_python_dash_m():
    done = subprocess.run([sys.executable, "-m", "motifscan", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and __version__ in done.stdout


def test_fasta_scan_writes_tsv_and_bed(tmp_path):
    out, bed = tmp_path / "hits.tsv", tmp_path / "hits.bed"
    result = run("fasta", EXAMPLE, "-o", out, "--bed", bed)
    assert result.exit_code == 0, result.output
    comments, rows = read_tsv(out)
    header = [line for line in out.read_text().splitlines() if not line.startswith("#")][0]
    assert header.split("\t") == list(TSV_COLUMNS)
    text = "\n".join(comments)
    for key in ("motifscan", "jaspar_release: JASPAR2026", "pseudocount: 0.8", "background: uniform",
                "p_threshold: 0.0001", "command: motifscan fasta"):
        assert key in text
    assert rows and all(r["seq_name"] == r["chrom"] and r["gene_id"] == "" for r in rows)
    assert all(float(r["p_value"]) <= 1e-4 for r in rows)
    bed_rows = [line.split("\t") for line in bed.read_text().splitlines() if not line.startswith("#")]
    assert len(bed_rows) == len(rows)
    assert all(len(r) == 6 and 0 <= int(r[4]) <= 1000 for r in bed_rows)
    keys = [(r[0], int(r[1]), int(r[2])) for r in bed_rows]
    assert keys == sorted(keys)


def test_stdout_by_default():
    result = run("fasta", EXAMPLE, "--motif", "MA0605.3")
    assert result.exit_code == 0
    assert "\t".join(TSV_COLUMNS) in result.stdout


def test_whole_core_vertebrates(tmp_path):
    out = tmp_path / "all.tsv"
    result = run("fasta", EXAMPLE, "--collection", "CORE", "--tax-group", "vertebrates", "-o", out)
    assert result.exit_code == 0
    _, rows = read_tsv(out)
    assert len({r["motif_id"] for r in rows}) > 100
    assert "motifs: 1019" in out.read_text()
    # every hit confirmed by the brute-force oracle: its score recomputed column by column from its own letters
    import numpy as np
    from oracles import window_score

    from motifscan.motifs import log_odds, select_motifs

    matrices = {m.id: log_odds(m.counts, 0.8, np.full(4, 0.25))
                for m in select_motifs(collections=["CORE"], tax_groups=["vertebrates"])}
    for row in rows:
        assert window_score(matrices[row["motif_id"]], row["matched_sequence"]) == pytest.approx(
            float(row["score"]), abs=1e-5)
        assert float(row["p_value"]) <= 1e-4 and int(row["end"]) - int(row["start"]) == len(row["matched_sequence"])


def test_motif_file_and_tf(tmp_path):
    out = tmp_path / "hits.tsv"
    result = run("fasta", EXAMPLE, "--motif-file", DATA / "creb1_MA0018.5.meme", "--tf", "ATF4", "-o", out)
    assert result.exit_code == 0
    _, rows = read_tsv(out)
    assert {r["motif_id"] for r in rows} <= {"MA0018.5", "MA0833.3"}


def test_motifs_listing():
    result = run("motifs", "ATF3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "name", "class", "family", "length", "collection", "tax_group", "species"]
    ids = [line.split("\t")[0] for line in lines[1:]]
    assert "MA0605.3" in ids and "MA1988.2" in ids and "MA0835.3" in ids  # BATF3 contains "ATF3"


@pytest.mark.parametrize("args, code, message", [
    (["fasta", "missing.fa"], 2, "does not exist"),
    (["fasta", EXAMPLE, "--motif", "MA9999.9"], 2, "unknown motif ID 'MA9999.9'"),
    (["fasta", EXAMPLE, "--tf", "ATF33"], 2, "did you mean atf3"),
    (["fasta", EXAMPLE, "--jaspar-release", "JASPAR1999"], 2, "unknown JASPAR release"),
    (["fasta", EXAMPLE, "--background", "0.1,0.2"], 2, "--background must be 'uniform', 'auto' or four positive"),
    (["fasta", EXAMPLE, "--background", "gc-rich"], 2, "not 'gc-rich'"),
    (["fasta", EXAMPLE, "--pvalue", "0"], 2, "--pvalue must be in (0, 1], not 0"),
    (["fasta", EXAMPLE, "--pvalue", "abc"], 2, "not a valid float"),
    (["fasta", EXAMPLE, "--qvalue", "1.5"], 2, "--qvalue must be in (0, 1], not 1.5"),
    (["fasta", EXAMPLE, "--pseudocount", "-1"], 2, "pseudocount"),
])
def test_usage_errors(args, code, message):
    result = run(*args)
    assert result.exit_code == code
    assert message.lower() in result.output.lower()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content, message", [
    (b"", "no FASTA record"),
    (b"this is not fasta\n", "not FASTA"),
    (b"\x00\x01\x02binary", "binary"),
])
def test_bad_fasta_is_a_one_line_failure(tmp_path, content, message):
    path = tmp_path / "bad.fa"
    path.write_bytes(content)
    out = tmp_path / "out.tsv"
    out.write_text("previous results\n")
    result = run("fasta", path, "-o", out)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0] and str(path) in errors[0]
    assert out.read_text() == "previous results\n"  # a failed run leaves an existing output as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fa", "out.tsv"]  # no temporary file left


def test_zero_hits_is_success(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">a\nNNNNNNNNNNNNNNNNNNNN\n")
    result = run("fasta", path, "-o", tmp_path / "out.tsv")
    assert result.exit_code == 0
    _, rows = read_tsv(tmp_path / "out.tsv")
    assert rows == []


@pytest.mark.skipif(shutil.which("bedtools") is None and not os.environ.get("MOTIFSCAN_REQUIRE_BEDTOOLS"),
                    reason="bedtools is not installed (CI installs it and sets MOTIFSCAN_REQUIRE_BEDTOOLS=1)")
def test_bed_through_bedtools_getfasta_gives_matched_sequence(tmp_path):
    out, bed = tmp_path / "hits.tsv", tmp_path / "hits.bed"
    assert run("fasta", EXAMPLE, "-o", out, "--bed", bed).exit_code == 0
    _, rows = read_tsv(out)
    plain_bed = tmp_path / "plain.bed"
    plain_bed.write_text("".join(line + "\n" for line in bed.read_text().splitlines() if not line.startswith("#")))
    fasta = tmp_path / "example.fa"
    shutil.copy(EXAMPLE, fasta)
    done = subprocess.run(["bedtools", "getfasta", "-s", "-tab", "-fi", fasta, "-bed", plain_bed],
                          capture_output=True, text=True, check=True)
    got = sorted(line.split("\t")[1].upper() for line in done.stdout.splitlines())
    assert got == sorted(r["matched_sequence"].upper() for r in rows)


def test_broken_pipe_is_quiet():
    done = subprocess.run(f"'{sys.executable}' -m motifscan motifs | head -n 1", shell=True, capture_output=True,
                          text=True)
    assert done.stdout.startswith("id\tname") and "error" not in done.stderr


@pytest.mark.parametrize("args, code, message", [
    (["fasta", EXAMPLE, "--pseudocount", "1e-300"], 2, "pseudocount"),
    (["fasta", EXAMPLE, "-o", "same.tsv", "--bed", "same.tsv"], 2, "same file"),
    (["scan", "FOXC1", "--species", "mouse"], 2, "--assembly"),  # refused before any request
])
def test_more_usage_errors(tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == code and message in result.output
    assert not (tmp_path / "same.tsv").exists()


@pytest.mark.parametrize("content, message", [(b"\xff\xfe\x00F\x00O", "not UTF-8"), (b"# only a comment\n", "no gene")])
def test_bad_gene_files_fail(tmp_path, content, message):
    genes = tmp_path / "genes.txt"
    genes.write_bytes(content)
    result = run("scan", "--genome", "demo", "--genes-file", genes)
    assert result.exit_code == 1 and message in result.output and str(genes) in result.output


def test_qvalue_above_pvalue_warns():
    result = run("fasta", EXAMPLE, "--qvalue", "0.05")
    assert result.exit_code == 0 and "upper bounds" in result.output


def test_promoter_bed_carries_provenance():
    result = run("promoters", "--genome", "demo", "FOXC1", "--format", "bed")
    lines = result.stdout.splitlines()
    assert any(line.startswith("# source") for line in lines)
    assert [line.split("\t")[:3] for line in lines if not line.startswith("#")] == [["6", "1608680", "1611180"]]


def test_api_takes_one_gene_as_a_string_and_refuses_duplicate_record_names():
    from motifscan.api import scan_genes
    from motifscan.errors import UsageError

    assert {h.gene_name for h in scan_genes("FOXC1", genome="demo", p_threshold=1e-3)} == {"FOXC1"}
    with pytest.raises(UsageError, match="unique"):
        scan_fasta([("a", "ACGT" * 10), ("a", "TTTT" * 10)])
