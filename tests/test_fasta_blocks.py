"""The FASTA reader cuts records out of blocks of whole lines: any block size must read every file as a plain
line-by-line reader does (tests/oracles.py), and name the same line in its errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import read_fasta_plainly

from motifscan import fasta
from motifscan.errors import InputFileError

LETTERS = "ACGTNacgtnRYKM-.*"

records = st.lists(
    st.tuples(st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True), st.text(LETTERS, max_size=120),
              st.integers(1, 70)),
    min_size=1, max_size=6, unique_by=lambda r: r[0])


def _fasta_text(entries, newline: str, blank_lines: bool) -> str:
    lines = []
    for name, sequence, width in entries:
        lines.append(f">{name} some description")
        lines += [sequence[i : i + width] for i in range(0, len(sequence), width)]
        if blank_lines:
            lines.append("")
    return newline.join(lines) + newline


@settings(max_examples=150, deadline=None)
@given(entries=records, block=st.integers(1, 300), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       blank_lines=st.booleans())
def test_any_block_size_reads_like_a_line_reader(tmp_path_factory, entries, block, newline, blank_lines):
    path = tmp_path_factory.mktemp("fa") / "x.fa"
    path.write_bytes(_fasta_text(entries, newline, blank_lines).encode())
    expected = read_fasta_plainly(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fasta, "_BLOCK_CHARS", block)
        found = fasta.read_fasta(path)
    assert {r.name: r.sequence for r in found} == expected
    assert [r.name for r in found] == [e[0] for e in entries]
    assert all(r.description == "some description" for r in found)


@settings(max_examples=100, deadline=None)
@given(entries=records, block=st.integers(1, 300), which=st.integers(0, 10**6), bad=st.sampled_from("1#~é"))
def test_errors_name_the_line_whatever_the_block_size(tmp_path_factory, entries, block, which, bad):
    text = _fasta_text(entries, "\n", False)
    lines = text.split("\n")[:-1]
    sequence_lines = [k for k, line in enumerate(lines) if not line.startswith(">")]
    if not sequence_lines:
        sequence_lines = [len(lines)]
        lines.append("")
    k = sequence_lines[which % len(sequence_lines)]
    lines[k] = lines[k][: len(lines[k]) // 2] + bad + lines[k][len(lines[k]) // 2 :]
    path = tmp_path_factory.mktemp("fa") / "x.fa"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fasta, "_BLOCK_CHARS", block)
        with pytest.raises(InputFileError, match=f"line {k + 1}: unexpected character {bad!r}"):
            fasta.read_fasta(path)


def test_spaces_inside_sequence_lines_are_dropped(tmp_path):
    path = tmp_path / "x.fa"
    path.write_text(">a\nAC GT\tAC\n  GG\n>b\nT T\n")
    assert [(r.name, r.sequence) for r in fasta.read_fasta(path)] == [("a", "ACGTACGG"), ("b", "TT")]
