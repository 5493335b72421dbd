"""Output formats: TSV, BED (track line), GFF3, FIMO TSV, --max-strand, atomic writes."""

from __future__ import annotations

import csv
import os
import stat
import threading
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from oracles import reverse_complement

from motifscan.api import scan_fasta, scan_genes
from motifscan.writers import FIMO_COLUMNS, bed_score, write_lines

EXAMPLE = Path(__file__).parent.parent / "examples" / "promoters.fa"


@pytest.fixture(scope="module")
def gene_result():
    return scan_genes(["FOXC1", "FOXQ1", "GTPBP6", "PPP2R3B"], genome="demo", p_threshold=1e-3)


def data_lines(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith(("#", "track"))]


def test_bed_score_formula():
    assert bed_score(1e-4) == 400 and bed_score(3.2e-5) == round(-100 * np.log10(3.2e-5))
    assert bed_score(1e-12) == 1000 and bed_score(0.0) == 1000 and bed_score(1.0) == 0


def test_bed_track_line(gene_result):
    lines = gene_result.to_bed(track=True).splitlines()
    track = [line for line in lines if line.startswith("track")]
    assert len(track) == 1 and "useScore=1" in track[0] and 'name="motifscan"' in track[0]
    assert not any(line.startswith("track") for line in gene_result.to_bed().splitlines())


def test_gff3_is_one_based_and_escaped(gene_result):
    text = gene_result.to_gff3()
    assert text.startswith("##gff-version 3\n")
    rows = data_lines(text)
    assert len(rows) == len(gene_result)
    by_key = {(h.chrom, h.start + 1, h.end, h.strand, h.motif_id): h for h in gene_result}
    for row in rows:
        assert len(row) == 9 and row[2] == "TF_binding_site" and row[1] == "motifscan"
        attributes = dict(item.split("=", 1) for item in row[8].split(";"))
        hit = by_key[(row[0], int(row[3]), int(row[4]), row[6], attributes["motif_id"])]
        assert int(row[4]) - int(row[3]) + 1 == hit.end - hit.start
        assert float(attributes["p_value"]) == pytest.approx(hit.p_value, rel=1e-5)
        assert unquote(attributes["seq_name"]) == hit.seq_name  # '|' kept, ',' escaped
        assert attributes["gene_name"] == hit.gene_name
    assert any("%2C" in row[8] for row in rows) or all("," not in h.seq_name for h in gene_result)


def test_fimo_positions_within_gene_oriented_records(gene_result, tmp_path):
    from motifscan.genes import GenomeSpec, collect_promoters

    fimo = gene_result.to_fimo()
    lines = fimo.splitlines()
    assert lines[0].split("\t") == list(FIMO_COLUMNS)
    found = collect_promoters(["FOXC1", "FOXQ1", "GTPBP6", "PPP2R3B"], GenomeSpec("demo"))
    oriented = {p.name: (s if p.region.strand == "+" else reverse_complement(s))
                for p, s in zip(found.promoters, found.sequences)}
    rows = [dict(zip(FIMO_COLUMNS, row)) for row in data_lines(fimo)[1:]]
    assert len(rows) == len(gene_result)
    assert any(oriented_name.startswith(("GTPBP6", "PPP2R3B")) for oriented_name in {r["sequence_name"] for r in rows})
    for row in rows:
        record = oriented[row["sequence_name"]]
        start, stop = int(row["start"]), int(row["stop"])
        site = record[start - 1 : stop]  # 1-based inclusive within the gene-oriented record
        expected = site if row["strand"] == "+" else reverse_complement(site)
        assert expected == row["matched_sequence"]


def test_max_strand_keeps_the_better_strand_deterministically():
    rng = np.random.default_rng(0)
    sequence = "".join(rng.choice(list("ACGT"), 3000)) + "ATGACGTCAT"  # a palindromic ATF3 site at the end
    both = scan_fasta([("s", sequence)], "MA0605.3", p_threshold=1e-3)
    best = scan_fasta([("s", sequence)], "MA0605.3", p_threshold=1e-3, max_strand=True)
    groups = {}
    for hit in both:
        groups.setdefault((hit.start, hit.end), []).append(hit)
    expected = {(k, max(v, key=lambda h: (h.score, h.strand == "+")).strand) for k, v in groups.items()}
    assert {((h.start, h.end), h.strand) for h in best} == expected
    assert any(len(v) == 2 for v in groups.values())
    assert [h for h in best if h.start == 3000][0].strand == "+"  # equal scores: + wins


def test_cli_writes_every_format(tmp_path):
    from click.testing import CliRunner

    from motifscan.cli import cli

    paths = {name: tmp_path / f"hits.{name}" for name in ("tsv", "bed", "gff3", "fimo")}
    result = CliRunner().invoke(cli, ["fasta", str(EXAMPLE), "-o", str(paths["tsv"]), "--bed", str(paths["bed"]),
                                      "--bed-track", "--gff3", str(paths["gff3"]), "--fimo", str(paths["fimo"])])
    assert result.exit_code == 0, result.output
    body = [line for line in paths["tsv"].read_text().splitlines() if not line.startswith("#")]
    n_rows = len(list(csv.DictReader(body, delimiter="\t")))
    for name, header_rows in (("bed", 0), ("gff3", 0), ("fimo", 1)):
        assert len(data_lines(paths[name].read_text())) == n_rows + header_rows
        assert "jaspar_release" in paths[name].read_text()  # provenance in every output


def test_write_lines_is_atomic(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("old\n")

    def lines():
        yield "new line"
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        write_lines(target, lines())
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]
    write_lines(target, ["a", "b"])
    assert target.read_text() == "a\nb\n"


def test_special_files_are_written_in_place_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_lines(fifo, ["a", "b"])
    reader.join(timeout=10)
    assert received == ["a\nb\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe, not a regular file renamed over it


def test_bed_track_line_comes_first(gene_result):
    assert gene_result.to_bed(track=True).splitlines()[0].startswith("track ")


def test_tsv_lists_every_scanned_record_and_plot_reads_their_strands(tmp_path):
    from click.testing import CliRunner

    from motifscan.cli import cli
    from motifscan.writers import read_tsv, records_from_provenance

    result = scan_genes(["FOXC1", "GTPBP6", "PPP2R3B"], genome="demo")
    path = tmp_path / "hits.tsv"
    result.write_tsv(path)
    provenance, hits = read_tsv(path)
    assert records_from_provenance(provenance) == result.records  # records without hits included
    assert "# record: FOXC1|ENST00000380874 6:1608681-1611180(+)" in path.read_text().splitlines()
    assert len(hits) == len(result)
    svg = tmp_path / "map.svg"
    assert CliRunner().invoke(cli, ["plot", str(path), "-o", str(svg)]).exit_code == 0
    assert "-unknown" not in svg.read_text()  # every gene's strand known, lone sites included
    assert "-opposite" in svg.read_text() or "-same" in svg.read_text()


def test_record_comment_lines_match_the_record_by_record_lines():
    """The ``# record:`` lines made for all records at once are those of :func:`record_line` through
    :func:`comment_lines`, one record at a time (the oracle), for any names: words, whitespace, control characters
    (then both refuse with the same error), empty names."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from motifscan.errors import UnsafeTextError
    from motifscan.model import Region
    from motifscan.writers import comment_lines, record_comment_lines, record_line

    names = st.text(alphabet=st.sampled_from("AZaz09_.|-: \t\xa0\u3000\x00\x1f\u2028"), max_size=6)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(names, names, st.integers(0, 10**9), st.integers(1, 1000), st.sampled_from("+-")),
                    max_size=5))
    def check(rows):
        regions = [Region(chrom, start, start + length, strand, name) for name, chrom, start, length, strand in rows]
        try:
            expected = comment_lines([("record", record_line(r)) for r in regions])
        except UnsafeTextError as error:
            with pytest.raises(UnsafeTextError, match=None) as raised:
                record_comment_lines(regions)
            assert str(raised.value) == str(error)
            return
        assert record_comment_lines(regions) == expected

    check()


def test_tsv_bytes_stdout_and_file_are_the_same_text(tmp_path):
    # the TSV is made as UTF-8 bytes (the rows) and text (a record name beyond ASCII): the file, standard output
    # (bytes to its buffer, text to its text layer, in order) and to_tsv() must hold the same text
    from click.testing import CliRunner

    from motifscan.cli import cli

    fasta = tmp_path / "in.fa"
    fasta.write_text(">séq_1 first\n" + "ACGTTGACGTCATGACGTCA" * 30 + "\n>seq2\n" + "TGACGTCA" * 40 + "\n",
                     encoding="utf-8")
    result = scan_fasta(str(fasta), "MA0605.3", p_threshold=1e-3)
    assert len(result) and "séq_1" in result.to_tsv()
    assert b"".join(result.tsv_byte_chunks()).decode("utf-8") == result.to_tsv()
    out = tmp_path / "hits.tsv"
    result.write_tsv(out)
    assert out.read_text(encoding="utf-8") == result.to_tsv()
    runner = CliRunner()
    to_file = runner.invoke(cli, ["-q", "fasta", str(fasta), "--motif", "MA0605.3", "--pvalue", "1e-3", "-o", str(out)])
    to_stdout = runner.invoke(cli, ["-q", "fasta", str(fasta), "--motif", "MA0605.3", "--pvalue", "1e-3", "-o", "-"])
    assert to_file.exit_code == 0 and to_stdout.exit_code == 0

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("# command")]

    assert body(to_stdout.stdout_bytes.decode("utf-8")) == body(out.read_text(encoding="utf-8"))
    assert any(line.startswith("MA0605.3\tATF3\tséq_1") for line in body(out.read_text(encoding="utf-8")))


def test_bytes_pieces_to_a_text_only_stdout(monkeypatch):
    # a standard output without a binary buffer (a StringIO, as some notebooks have): bytes pieces are decoded
    import io

    from motifscan.writers import write_outputs

    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    write_outputs([("-", ["# é\n", "à\t1\n".encode(), "b\t2\n"])])
    assert stream.getvalue() == "# é\nà\t1\nb\t2\n"
