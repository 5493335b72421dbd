"""The FASTA reader: records, line endings, and clear errors for what is not FASTA."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.errors import InputFileError
from motifscan.fasta import read_fasta


def write(tmp_path, text: str | bytes, name: str = "in.fa"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_records_names_and_sequences(tmp_path):
    path = write(tmp_path, ">seq1 first record\nACGT\nacgn\n\n>seq2\nRYKM\n>empty\n")
    records = read_fasta(path)
    assert [(r.name, r.sequence, r.description) for r in records] == [
        ("seq1", "ACGTacgn", "first record"), ("seq2", "RYKM", ""), ("empty", "", "")]


def test_crlf_reads_like_lf(tmp_path):
    lf = read_fasta(write(tmp_path, ">a x\nACGT\nTT\n>b\nGG\n", "lf.fa"))
    crlf = read_fasta(write(tmp_path, ">a x\r\nACGT\r\nTT\r\n>b\r\nGG\r\n", "crlf.fa"))
    assert lf == crlf


def test_gzip(tmp_path):
    path = tmp_path / "in.fa.gz"
    path.write_bytes(gzip.compress(b">a\nACGT\n"))
    assert read_fasta(path)[0].sequence == "ACGT"


@pytest.mark.parametrize("text, message", [
    ("", "no FASTA record"),
    ("\n\n", "no FASTA record"),
    ("ACGT\n>a\nACGT\n", "line 1: sequence before"),
    (">a\nACGT\n>a\nAC\n", "line 3: record name 'a' used again"),
    (">a\nAC1GT\n", "line 2: unexpected character '1'"),
    (">\nACGT\n", "line 1: header without a name"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not"),
    (b">a\nAC\x00GT\n", "binary"),
])
def test_errors_name_file_and_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputFileError, match=message) as caught:
        read_fasta(path)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 1


@settings(max_examples=50, deadline=None)
@given(records=st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9_.|:-]{1,12}", fullmatch=True),
                                  st.text(alphabet="ACGTNacgtnRYSWKM", max_size=200)),
                        min_size=1, max_size=5, unique_by=lambda r: r[0]),
       width=st.integers(1, 80), crlf=st.booleans())
def test_round_trip(tmp_path_factory, records, width, crlf):
    end = "\r\n" if crlf else "\n"
    text = "".join(f">{name} desc{end}" + "".join(seq[i:i + width] + end for i in range(0, len(seq), width))
                   for name, seq in records)
    path = write(tmp_path_factory.mktemp("fa"), text)
    assert [(r.name, r.sequence) for r in read_fasta(path)] == records
