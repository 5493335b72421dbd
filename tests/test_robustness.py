"""Bad input through the real command line: one error line naming the file and line, the right exit code, no traceback,
no output touched; the documented repairs (with a warning); atomic outputs (also under Ctrl-C); security checks.

Exit codes (motifscan.errors): 2 usage error, 1 failure. Errors are one line on stderr; ``-v`` adds the traceback.
Runs use ``-q`` where only the error line may reach stderr.
"""

from __future__ import annotations

import ast
import gzip
import os
import random
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import motifscan
from motifscan.cli import cli
from motifscan.fasta import read_fasta
from motifscan.motifs import read_motif_file
from motifscan.sources.cache import CACHE_FILE_NAME

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "promoters.fa"
DATA = Path(__file__).parent / "data"
DEMO_GTF = ROOT / "genomes" / "grch37_demo" / "genes.gtf.gz"


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def data_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


def assert_one_line_error(result, code: int, *needles: str) -> str:
    """Exit ``code``, exactly one stderr line (the run used -q), which holds every needle; no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("motifscan: error: ")
    assert "internal error" not in lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------------------------------
# FASTA input of `motifscan fasta`


@pytest.mark.parametrize("content, where, message", [
    (b"", "", "no FASTA record"),
    (b"\n \n\t\n", "", "no FASTA record"),
    (bytes(range(256)) * 4, ", line 1", "binary data"),
    (b">a\nACGT\nAC\x00GT\n", ", line 3", "binary data (byte 0x00)"),
    (b">a\nACGT\nAC\xffGT\n", ", line 3", "not UTF-8 (byte 0xff)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", ", line 1", "binary data"),
    (b"ACGT\n>a\nACGT\n", ", line 1", "sequence before the first '>' header"),
    (b"hello world\n>a\nACGT\n", ", line 1", "before the first '>' header"),
    (b">\nACGT\n", ", line 1", "header without a name"),
    (b">a\nACGT\n>b\nAC\n>a desc\nAC\n", ", line 5", "record name 'a' used again (first on line 1)"),
    (b">a\nACGT\nAC1GT\n", ", line 3", "unexpected character '1'"),
    (b">a\nAC GT;\n", ", line 2", "unexpected character ';'"),
    (b"\x1f\x8b\x08\x00garbage-not-deflate", "", "cannot read the FASTA file"),
    (gzip.compress(b">a\n" + bytes(random.Random(1).choices(b"ACGT", k=20_000)) + b"\n")[:300], "",
     "cannot read the FASTA file"),
], ids=["empty", "blank", "binary", "nul", "not-utf8", "png", "no-header", "text", "no-name", "duplicate", "digit",
        "semicolon", "bad-gzip", "truncated-gzip"])
def test_bad_fasta_gives_one_line_naming_file_and_line(tmp_path, content, where, message):
    path = write(tmp_path / "in.fa", content)
    line = assert_one_line_error(run("-q", "fasta", path, "--motif", "MA0605.3"), 1, f"{path}{where}", message)
    if where:
        assert re.search(r", line \d+: ", line)


def test_verbose_adds_the_traceback(tmp_path):
    path = write(tmp_path / "in.fa", b">a\nAC1GT\n")
    result = run("-v", "fasta", path, "--motif", "MA0605.3")
    assert result.exit_code == 1 and "Traceback" in result.stderr and "line 2" in result.stderr


def test_empty_record_is_kept_with_a_warning(tmp_path):
    path = write(tmp_path / "in.fa", b">empty\n>b\n" + b"TGACGTCA" * 20 + b"\n")
    result = run("fasta", path, "--motif", "MA0605.3")
    assert result.exit_code == 0
    assert f"{path}, line 1: record 'empty' has no sequence" in result.stderr


def test_byte_order_mark_and_spaces_are_repaired(tmp_path):
    plain = write(tmp_path / "plain.fa", EXAMPLE.read_bytes())
    odd = tmp_path / "odd" / "plain.fa"
    odd.parent.mkdir()
    text = EXAMPLE.read_text()
    write(odd, b"\xef\xbb\xbf" + "\n".join(" ".join(line) if not line.startswith(">") else line
                                           for line in text.splitlines()).encode())
    first, second = run("fasta", plain, "--pvalue", "1e-3"), run("fasta", odd, "--pvalue", "1e-3")
    assert first.exit_code == second.exit_code == 0
    assert data_rows(first.stdout) == data_rows(second.stdout) and len(data_rows(first.stdout)) > 10


@pytest.mark.parametrize("line_end", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_windows_and_mac_line_ends_give_identical_output(tmp_path, line_end):
    outputs = []
    for folder, end in (("lf", "\n"), ("other", line_end)):
        (tmp_path / folder).mkdir()
        fasta = write(tmp_path / folder / "in.fa", EXAMPLE.read_text().replace("\n", end))
        out, bed = tmp_path / folder / "hits.tsv", tmp_path / folder / "hits.bed"
        assert run("fasta", fasta, "--pvalue", "1e-3", "-o", out, "--bed", bed).exit_code == 0
        outputs.append([p.read_text().replace(str(tmp_path / folder), "DIR") for p in (out, bed)])
    assert outputs[0] == outputs[1]
    assert len(data_rows(outputs[0][0])) > 10


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_fasta_from_a_pipe(tmp_path, compress):
    import threading

    expected = run("fasta", EXAMPLE, "--pvalue", "1e-3")
    pipe = tmp_path / "pipe.fa"
    os.mkfifo(pipe)
    data = gzip.compress(EXAMPLE.read_bytes()) if compress else EXAMPLE.read_bytes()
    writer = threading.Thread(target=lambda: pipe.write_bytes(data))
    writer.start()
    result = run("fasta", pipe, "--pvalue", "1e-3")
    writer.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    assert data_rows(result.stdout) == data_rows(expected.stdout)


def test_iupac_letters_are_valid_and_their_windows_skipped(tmp_path):
    rng = random.Random(7)
    sequence = "".join(rng.choice("ACGT") for _ in range(3000))
    sequence = sequence[:1000] + "RYKMSWBDHVN" * 20 + sequence[1000:]
    path = write(tmp_path / "iupac.fa", f">mixed\n{sequence}\n")
    result = run("fasta", path, "--pvalue", "1e-2", "--motif", "MA0605.3")
    assert result.exit_code == 0
    assert "not scored" in result.stderr  # one warning gives the count of skipped windows
    rows = [line.split("\t") for line in data_rows(result.stdout)[1:]]
    assert rows and all(set(row[11].upper()) <= set("ACGT") for row in rows)
    assert not any(1000 - 10 < int(row[4]) < 1220 for row in rows)


def test_five_megabase_single_line_record(tmp_path):
    rng = random.Random(5)
    sequence = "".join(rng.choices("ACGT", k=5_000_000))
    single = write(tmp_path / "long.fa", f">long\n{sequence}\n")
    wrapped = write(tmp_path / "wrapped.fa", ">long\n" + "".join(sequence[i : i + 70] + "\r\n"
                                                                for i in range(0, len(sequence), 70)))
    assert read_fasta(single) == read_fasta(wrapped)
    result = run("fasta", single, "--motif", "MA0605.3", "--pvalue", "1e-5")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in data_rows(result.stdout)[1:]]
    assert rows and max(int(r[5]) for r in rows) > 4_000_000
    assert all(sequence[int(r[4]) : int(r[5])] == r[11] for r in rows if r[6] == "+")


# ---------------------------------------------------------------------------------------------------------------
# local genome FASTA + GTF of `motifscan scan --genome FASTA --annotation GTF`


def small_genome(folder: Path, line_end: str = "\n") -> Path:
    rng = random.Random(11)
    sequence = "".join(rng.choice("ACGT") for _ in range(20_000))
    sequence = sequence[:5500] + "TGACGTCATGACGTCA" + sequence[5516:]  # an ATF/CREB site upstream of the TSS
    lines = [">chr1"] + [sequence[i : i + 60] for i in range(0, len(sequence), 60)]
    return write(folder / "genome.fa", "".join(line + line_end for line in lines))


GENE = ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\tgene_id "G1"; gene_name "AAA"; gene_biotype "protein_coding";\n'
        'chr1\tt\ttranscript\t6001\t9000\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; gene_name "AAA";\n')


def scan_local(genome: Path, gtf: Path, *args):
    return run("-q", "scan", "--genome", genome, "--annotation", gtf, "--cache-dir", genome.parent / "cache",
               "--motif", "MA0605.3", *args)


@pytest.mark.parametrize("bad_line, message", [
    ('chr1\tt\ttranscript\t6001\t9000\t.\t+\t.\ttranscript_id "T2"; gene_name "B";\n', "no gene_id attribute"),
    ('chr1\tt\ttranscript\t6001\t9000\t.\t+\t.\tgene_id "G2"; gene_name "B";\n', "no transcript_id attribute"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\tgene_id ""; gene_name "B";\n', "empty gene_id"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\t\n', "no gene_id attribute"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\tID=gene2;Name=B\n', "GFF3"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\tgene_id "G2; gene_name "B";\n', "unbalanced double quotes"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\n', "9 tab-separated columns"),
    ('chr1 t gene 6001 9000 . + . gene_id "G2";\n', "9 tab-separated columns"),
    ('chr1\tt\tgene\t6e3\t9000\t.\t+\t.\tgene_id "G2";\n', "not integers"),
    ('chr1\tt\tgene\t6001\t99999999999999999999\t.\t+\t.\tgene_id "G2";\n', "not integers"),
    ('chr1\tt\tgene\t9001\t6000\t.\t+\t.\tgene_id "G2";\n', "bad interval"),
    ('chr1\tt\tgene\t6001\t9000\t.\t?\t.\tgene_id "G2";\n', "strand"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\tgene_id "G\x002";\n', "binary data"),
    ('chr1\tt\tgene\t6001\t9000\t.\t+\t.\tgene_id "G\udce92";\n', "not UTF-8 (byte 0xe9)"),
], ids=["no-gene-id", "no-transcript-id", "empty-id", "no-attributes", "gff3", "quotes", "8-columns", "spaces",
        "float", "huge", "reversed", "strand", "nul", "latin-1"])
def test_bad_gtf_line_gives_one_line_naming_file_and_line(tmp_path, bad_line, message):
    genome = small_genome(tmp_path)
    gtf = write(tmp_path / "genes.gtf", ("#!genome-build test\n" + GENE + bad_line).encode("utf-8", "surrogateescape"))
    assert_one_line_error(scan_local(genome, gtf, "AAA"), 1, f"{gtf}, line 4: ", message)


@pytest.mark.parametrize("content, message", [
    (b"", "no gene or transcript lines"),
    (b"#!genome-build test\n# only comments\n", "no gene or transcript lines"),
    (bytes(range(256)) * 8, "binary data"),
    (b"\x1f\x8b\x08\x00" + bytes(range(64)), "cannot read the GTF"),
    (gzip.compress(GENE.encode() * 200)[:-40], "cannot read the GTF"),
], ids=["empty", "comments", "binary", "bad-gzip", "truncated-gzip"])
def test_unreadable_gtf(tmp_path, content, message):
    genome = small_genome(tmp_path)
    gtf = write(tmp_path / "genes.gtf.gz", content)
    assert_one_line_error(scan_local(genome, gtf, "AAA"), 1, str(gtf), message)


def test_gene_on_an_unknown_chromosome_names_its_gtf_line(tmp_path):
    genome = small_genome(tmp_path)
    other = GENE.replace("chr1", "chrZ").replace("G1", "G2").replace('"AAA"', '"BBB"').replace("T1", "T2")
    gtf = write(tmp_path / "genes.gtf", GENE + other)
    # a gene on a chromosome the FASTA lacks is not found (issue 9 item 21): the run goes on with the others
    result = run("scan", "--genome", genome, "--annotation", gtf, "--cache-dir", tmp_path / "cache", "BBB", "AAA")
    assert result.exit_code == 0 and "Traceback" not in result.stderr
    (warning,) = [line for line in result.stderr.splitlines() if "not found" in line]
    assert all(part in warning for part in ("BBB", "chromosome chrZ", f"{gtf}, line 3", str(genome)))
    assert data_rows(result.stdout) and all("BBB" not in row for row in data_rows(result.stdout))
    alone = scan_local(genome, gtf, "BBB")
    assert alone.exit_code == 1 and "chromosome chrZ" in alone.stderr and "none of the genes" in alone.stderr
    result = run("scan", "--genome", genome, "--annotation", gtf, "--cache-dir", tmp_path / "cache", "AAA")
    assert result.exit_code == 0 and "chrZ" in result.stderr
    none_match = write(tmp_path / "none.gtf", other)
    assert_one_line_error(scan_local(genome, none_match, "BBB"), 1, "none of the chromosomes", "chrZ")


def test_gene_without_name_is_found_by_id(tmp_path):
    genome = small_genome(tmp_path)
    gtf = write(tmp_path / "genes.gtf", GENE.replace(' gene_name "AAA";', ""))
    result = scan_local(genome, gtf, "G1", "--pvalue", "1e-3")
    assert result.exit_code == 0 and data_rows(result.stdout)[1:]


def test_local_genome_with_windows_line_ends_gives_identical_output(tmp_path):
    from ensembl_standin import load_demo

    sequences, _ = load_demo()
    gtf_text = gzip.decompress(DEMO_GTF.read_bytes()).decode()
    outputs = []
    for folder, end in (("lf", "\n"), ("crlf", "\r\n")):
        (tmp_path / folder).mkdir()
        fasta = tmp_path / folder / "genome.fa"
        with open(fasta, "w", newline="") as handle:
            for name, sequence in sequences.items():
                handle.write(f">{name} demo{end}")
                handle.writelines(sequence[i : i + 60] + end for i in range(0, len(sequence), 60))
        gtf = write(tmp_path / folder / "genes.gtf", gtf_text.replace("\n", end))
        result = run("scan", "--genome", fasta, "--annotation", gtf, "--cache-dir", tmp_path / "cache",
                     "FOXC1", "GTPBP6", "--pvalue", "1e-3")
        assert result.exit_code == 0, result.stderr
        outputs.append(data_rows(result.stdout))
    assert outputs[0] == outputs[1] and len(outputs[0]) > 5
    demo = run("scan", "--genome", "demo", "FOXC1", "GTPBP6", "--pvalue", "1e-3")
    assert data_rows(demo.stdout) == outputs[0]


@pytest.mark.parametrize("content, message", [
    (b">chr1\r" + b"ACGT" * 100 + b"\r", "classic Mac (CR-only) line ends"),
    (b">chr1\n" + b"ACGT" * 15 + b"\n\x00\x00\x00\n", "line 3: binary data"),
    (b">chr1\n" + b"A" * 60 + b"\n" + b"C" * 30 + b"\n" + b"G" * 60 + b"\n", "not consistent"),
    (b"ACGT\n", "before the first sequence"),
    (b"", "does not contain a valid sequence"),
], ids=["cr-only", "binary", "uneven-lines", "no-header", "empty"])
def test_bad_genome_fasta(tmp_path, content, message):
    genome = write(tmp_path / "genome.fa", content)
    gtf = write(tmp_path / "genes.gtf", GENE)
    assert_one_line_error(scan_local(genome, gtf, "AAA"), 1, str(genome), message)


# ---------------------------------------------------------------------------------------------------------------
# motif files


@pytest.mark.parametrize("name, content, where, message", [
    ("nocol.jaspar", ">M1 x\nA [ ]\nC [ ]\nG [ ]\nT [ ]\n", 2, "no columns"),
    ("negative.jaspar", ">M1 x\nA [ 1 -2 3 ]\nC [ 1 2 3 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n", 2, "negative count -2"),
    ("nan.jaspar", ">M1 x\nA [ 1 2 3 ]\nC [ 1 nan 3 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n", 3, "'nan' is not a number"),
    ("inf.jaspar", ">M1 x\nA [ 1 2 3 ]\nC [ 1 2 3 ]\nG [ 1 2 inf ]\nT [ 1 2 3 ]\n", 4, "'inf' is not a number"),
    ("huge.jaspar", ">M1 x\nA [ 1 1e999 ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 2, "too large"),
    ("overflow.jaspar", ">M1 x\nA [ 1e308 ]\nC [ 1e308 ]\nG [ 1 ]\nT [ 1 ]\n", 2, "more than a float can hold"),
    ("zero.jaspar", ">M1 x\nA [ 0 1 ]\nC [ 0 1 ]\nG [ 0 1 ]\nT [ 0 1 ]\n", 2, "column 1 of the matrix"),
    ("ragged.jaspar", ">M1 x\nA [ 1 2 3 ]\nC [ 1 2 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n", 3, "this row has 2 values"),
    ("words.jaspar", ">M1 x\nA [ 1 two ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 2, "'two' is not a number"),
    ("three.jaspar", ">M1 x\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n>M2 y\n", 2, "has 3 row(s)"),
    ("twice.jaspar", ">M1 x\nA [ 1 2 ]\nA [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 3, "a second row for A"),
    ("header.jaspar", ">M1 x\n", 1, "motif header without a matrix"),
    ("ragged.pfm", "0 1 2\n3 4\n1 1 1\n1 1 1\n", 2, "this row has 2 values"),
    ("five.pfm", "1 2 3\n1 2 3\n1 2 3\n1 2 3\n1 2 3\n", 5, "has 1 row(s)"),
    ("nan.pfm", "A | 1 2\nC | 1 NaN\nG | 1 2\nT | 1 2\n", 2, "'NaN' is not a number"),
    ("w.meme", "MEME version 4\n\nALPHABET= ACGT\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
               "MOTIF m1 X\nletter-probability matrix: alength= 4 w= 3 nsites= 10\n0.5 0.5 0 0\n0.25 0.25 0.25 0.25\n",
     9, "w= 3 but the matrix has 2 row(s)"),
    ("nan.meme", "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1\nletter-probability matrix: alength= 4 w= 1\n"
                 "0.5 nan 0.5 0\n", 7, "'nan' is not a number"),
    ("prob.meme", "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1\nletter-probability matrix: alength= 4 w= 1\n"
                  "0.5 1.5 0 0\n", 7, "greater than 1"),
    ("short.meme", "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1\nletter-probability matrix: alength= 4\n"
                   "0.5 0.5 0\n", 7, "this one has 3"),
    ("protein.meme", "MEME version 4\n\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n\nMOTIF m1\n"
                     "letter-probability matrix: alength= 20 w= 1\n" + " ".join(["0.05"] * 20) + "\n", 6, "only DNA"),
    ("nsites.meme", "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1\nletter-probability matrix: alength= 4 nsites= -5\n"
                    "0.5 0.5 0 0\n", 6, "nsites= '-5'"),
    ("short.transfac", "AC  M1\nXX\nID  x\nXX\nP0      A      C      G      T\n01      1      2      3\nXX\n//\n", 6,
     "this one has 3"),
    ("nan.transfac", "AC  M1\nXX\nID  x\nXX\nP0      A      C      G      T\n01      1      2      nan      4\n"
                     "XX\n//\n", 6, "'nan' is not a number"),
    ("rows.transfac", "AC  M1\nXX\nID  x\nXX\nP0      A      C      G      T\nXX\n//\n", 5, "no columns"),
    ("binary.jaspar", b">M1 x\nA [ 1 2 ]\n\x00\x01\x02", 3, "binary data"),
    ("latin.jaspar", b">M1 \xe9\nA [ 1 2 ]\n", 1, "not UTF-8"),
])
def test_bad_motif_file_gives_one_line_naming_file_and_line(tmp_path, name, content, where, message):
    path = write(tmp_path / name, content)
    assert_one_line_error(run("-q", "fasta", EXAMPLE, "--motif-file", path), 1, f"{path}, line {where}: ", message)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("bad_*")))
def test_bad_data_files(tmp_path, name):
    path = DATA / name
    if path.suffix == ".fa":
        result = run("-q", "fasta", path)
    elif path.suffix == ".gtf":
        result = scan_local(small_genome(tmp_path), path, "AAA")
    else:
        result = run("-q", "fasta", EXAMPLE, "--motif-file", path)
    assert_one_line_error(result, 1, f"{path}, line ")


def test_empty_and_unreadable_motif_files(tmp_path):
    empty = write(tmp_path / "empty.jaspar", "  \n\n")
    assert_one_line_error(run("-q", "fasta", EXAMPLE, "--motif-file", empty), 1, str(empty), "empty motif file")
    text = write(tmp_path / "notes.pfm", "just some notes\nnothing here\n")
    assert_one_line_error(run("-q", "fasta", EXAMPLE, "--motif-file", text), 1, str(text), "no motif found")


def test_motif_file_with_windows_line_ends_reads_the_same(tmp_path):
    for source in ("atf3_MA0605.3.jaspar", "creb1_MA0018.5.meme", "atf3_MA0605.3.transfac"):
        text = (DATA / source).read_text()
        crlf = write(tmp_path / f"crlf-{source}", text.replace("\n", "\r\n"))
        lf = write(tmp_path / f"lf-{source}", text)
        first, second = read_motif_file(lf), read_motif_file(crlf)
        assert [(m.id, m.name, m.counts.tolist()) for m in first] == [(m.id, m.name, m.counts.tolist()) for m in second]


def test_meme_alternative_name_becomes_the_motif_name():
    (motif,) = read_motif_file(DATA / "creb1_MA0018.5.meme")
    assert (motif.id, motif.name) == ("MA0018.5", "CREB1")


# ---------------------------------------------------------------------------------------------------------------
# options


@pytest.mark.parametrize("args, message", [
    (["--pvalue", "2"], "--pvalue must be in (0, 1], not 2"),
    (["--pvalue", "-1"], "--pvalue must be in (0, 1], not -1"),
    (["--pvalue", "0"], "--pvalue must be in (0, 1], not 0"),
    (["--pvalue", "nan"], "--pvalue must be in (0, 1], not nan"),
    (["--qvalue", "0"], "--qvalue must be in (0, 1], not 0"),
    (["--qvalue", "1.5"], "--qvalue must be in (0, 1], not 1.5"),
    (["--min-rel-score", "1.5"], "--min-rel-score must be in [0, 1], not 1.5"),
    (["--min-rel-score", "-0.1"], "--min-rel-score must be in [0, 1], not -0.1"),
    (["--pseudocount", "0"], "--pseudocount must be a positive number, not 0"),
    (["--pseudocount", "inf"], "--pseudocount must be a positive number, not inf"),
    (["--background", "0.5,0.5,0.5"], "--background must be 'uniform', 'auto' or four positive numbers"),
    (["--background", "-1,1,1,1"], "not '-1,1,1,1'"),
    (["--background", "nan,1,1,1"], "--background must be"),
    (["--jaspar-release", "JASPAR2019"], "unknown JASPAR release 'JASPAR2019'"),
    (["--jaspar-release", "../../etc/passwd"], "unknown JASPAR release"),
    (["--motif", "MA0605.99"], "unknown motif ID"),
])
def test_out_of_range_values_are_one_line_usage_errors(tmp_path, args, message):
    out = write(tmp_path / "out.tsv", "previous\n")
    assert_one_line_error(run("-q", "fasta", EXAMPLE, "-o", out, *args), 2, message)
    assert out.read_text() == "previous\n"


@pytest.mark.parametrize("keywords, message", [
    ({"p_threshold": 2}, "p_threshold must be in (0, 1], not 2"),
    ({"q_threshold": 0}, "q_threshold must be in (0, 1], not 0"),
    ({"min_rel_score": -0.5}, "min_rel_score must be in [0, 1], not -0.5"),
    ({"pseudocount": 0}, "pseudocount must be a positive number, not 0"),
    ({"jobs": 0}, "jobs must be a positive whole number, not 0"),
    ({"background": "gc"}, "background must be 'uniform', 'auto' or four positive numbers A,C,G,T, not 'gc'"),
    ({"pvalue": 1e-3}, "unknown option 'pvalue'"),
])
def test_api_errors_name_the_parameter(keywords, message):
    from motifscan.api import scan_fasta
    from motifscan.errors import UsageError

    with pytest.raises(UsageError) as error:
        scan_fasta([("s", "ACGT" * 20)], "MA0605.3", **keywords)
    assert str(error.value).startswith(message)


def test_api_promoter_window_errors_name_the_parameter():
    from motifscan.api import scan_genes
    from motifscan.errors import UsageError

    with pytest.raises(UsageError, match=r"^upstream must be a whole number >= 0, not -5$"):
        scan_genes("FOXC1", genome="demo", upstream=-5)
    with pytest.raises(UsageError, match=r"^transcripts must be one of canonical, all, not 'longest'$"):
        scan_genes("FOXC1", genome="demo", transcripts="longest")


def test_overflowing_background_is_a_usage_error():
    assert_one_line_error(run("-q", "fasta", EXAMPLE, "--background", "1e308,1e308,1e308,1e308"), 2, "background")


def test_unknown_release_suggests_the_bundled_ones():
    line = assert_one_line_error(run("-q", "fasta", EXAMPLE, "--jaspar-release", "JASPAR2025"), 2)
    assert "JASPAR2024" in line and "JASPAR2026" in line


@pytest.mark.parametrize("args, message", [
    (["--upstream", "0", "--downstream", "0"], "at least 1 bp"),
])
def test_gene_scan_window_errors(args, message):
    assert_one_line_error(run("-q", "scan", "--genome", "demo", "FOXC1", *args), 2, message)


@pytest.mark.parametrize("args, option", [
    (["scan", "--genome", "demo", "FOXC1", "--upstream", "-5"], "--upstream"),
    (["scan", "--genome", "demo", "FOXC1", "--downstream", "-1"], "--downstream"),
    (["fasta", str(EXAMPLE), "--pvalue", "abc"], "--pvalue"),
    (["fasta", "missing.fa"], "missing.fa"),
])
def test_click_usage_errors_exit_2_without_traceback(args, option):
    result = run("-q", *args)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert option in result.stderr


@pytest.mark.parametrize("args", [
    ["scan", "--genome", "demo", "FOXC1", "--upstream", "-5"],
    ["fasta", str(EXAMPLE), "--pvalue", "abc"],
])
def test_click_usage_errors_are_one_line(args):
    assert_one_line_error(run("-q", *args), 2)


# ---------------------------------------------------------------------------------------------------------------
# outputs: atomic, also under Ctrl-C and crashes


def test_failed_run_leaves_every_existing_output_as_it_was(tmp_path):
    bad = write(tmp_path / "bad.fa", b">a\nAC1GT\n")
    out, bed = write(tmp_path / "out.tsv", "old tsv\n"), write(tmp_path / "out.bed", "old bed\n")
    assert_one_line_error(run("-q", "fasta", bad, "-o", out, "--bed", bed), 1, "line 2")
    assert (out.read_text(), bed.read_text()) == ("old tsv\n", "old bed\n")
    assert only_files(tmp_path) == ["bad.fa", "out.bed", "out.tsv"]


class _FailingWrites:
    """The writers' staged files (motifscan.writers opens them with ``open``) raise ``error`` at the ``after``-th
    write."""

    def __init__(self, monkeypatch, error: BaseException, after: int = 2) -> None:
        # the writers write a file in pieces (the header block, then chunks of rows): the 2nd write is mid-file
        import builtins

        from motifscan import writers

        self.real = builtins.open
        self.error, self.after, self.writes = error, after, 0
        monkeypatch.setattr(writers, "open", self, raising=False)

    def __call__(self, *args, **kwargs):
        handle = self.real(*args, **kwargs)
        outer = self

        class Handle:
            name = handle.name

            def __enter__(self):
                handle.__enter__()
                return self

            def __exit__(self, *exc):
                return handle.__exit__(*exc)

            def write(self, text):
                outer.writes += 1
                if outer.writes == outer.after:
                    raise outer.error
                return handle.write(text)

        return Handle()


@pytest.mark.parametrize("error, code", [(KeyboardInterrupt(), 130), (OSError(28, "No space left on device"), 1)],
                         ids=["ctrl-c", "disk-full"])
def test_interrupted_write_leaves_no_partial_file_and_the_old_output(tmp_path, monkeypatch, error, code):
    out = write(tmp_path / "hits.tsv", "previous results\n")
    failing = _FailingWrites(monkeypatch, error)
    result = run("fasta", EXAMPLE, "--pvalue", "1e-3", "-o", out)
    assert failing.writes >= failing.after  # the write really was cut off midway
    assert result.exit_code == code and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("motifscan: error: ")
    assert out.read_text() == "previous results\n"
    assert only_files(tmp_path) == ["hits.tsv"]  # no temporary file left behind


def test_new_output_is_not_created_when_interrupted(tmp_path, monkeypatch):
    _FailingWrites(monkeypatch, KeyboardInterrupt())
    result = run("fasta", EXAMPLE, "--pvalue", "1e-3", "-o", tmp_path / "new.tsv")
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert only_files(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------------
# security


PACKAGE = Path(motifscan.__file__).resolve().parent
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint"}
FORBIDDEN_OS = ("system", "popen", "spawn", "exec", "fork", "posix_spawn")
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "subprocess", "yaml", "dill", "ctypes"}


def test_no_eval_exec_shell_or_pickle_in_the_package():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 15
    for source in sources:
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Name):
                    assert function.id not in FORBIDDEN_BUILTINS, f"{source}:{node.lineno}: {function.id}()"
                if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                    assert not (function.value.id == "os" and function.attr.startswith(FORBIDDEN_OS)), \
                        f"{source}:{node.lineno}: os.{function.attr}()"
                for keyword in node.keywords:
                    assert not (keyword.arg == "shell" and getattr(keyword.value, "value", False)), \
                        f"{source}:{node.lineno}: shell=True"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not {n.split(".")[0] for n in names} & FORBIDDEN_MODULES, f"{source}:{node.lineno}: {names}"


def test_cache_directories_and_files_are_private(tmp_path, monkeypatch, ensembl_standin):
    cache = tmp_path / "new" / "nested" / "cache"
    old_umask = os.umask(0o022)
    try:
        result = run("-q", "scan", "FOXC1", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37",
                     "--cache-dir", cache)
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.stderr
    for folder in (tmp_path / "new", tmp_path / "new" / "nested", cache):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = list(cache.iterdir())
    assert any(p.name == CACHE_FILE_NAME for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_fasta_index_in_the_cache_is_private(tmp_path, monkeypatch):
    from motifscan.sources import local

    genome = small_genome(tmp_path)
    gtf = write(tmp_path / "genes.gtf", GENE)
    monkeypatch.setattr(local.os, "access", lambda *args, **kwargs: False)  # as if the FASTA's folder were read-only
    cache = tmp_path / "cache"
    assert scan_local(genome, gtf, "AAA").exit_code == 0
    index_folder = cache / "fasta-index"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(index_folder.stat().st_mode) == 0o700
    assert [p.suffix for p in index_folder.iterdir()] == [".fai"]
    assert not (tmp_path / "genome.fa.fai").exists()
