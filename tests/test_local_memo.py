"""The local genome's memo (motifscan.sources.memo): a parsed GTF and file checksums remembered between runs.

Oracles: the GTF parsed afresh by ``read_gtf`` (the same genes, chromosomes renamed to the FASTA's), ``hashlib`` over
the file's bytes (a file rewritten with its mtime set back, as ``cp -p``/``rsync -a`` leave it, gets its new
checksum), and entries damaged on disk (parsed again, with a warning, never used)."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import time
from pathlib import Path

import pytest

from motifscan.sources import local, memo
from motifscan.sources.local import LocalGenomeSource, read_gtf

DATA = Path(__file__).parent / "data" / "chr7"


@pytest.fixture()
def chr_gtf(tmp_path) -> Path:
    """The chr7 GTF with ``chr``-prefixed chromosome names (renamed to the FASTA's on load) and one transcript on the
    other strand than its gene (dropped with a warning)."""
    lines = gzip.decompress((DATA / "genes.gtf.gz").read_bytes()).decode().splitlines()
    out = [line if line.startswith("#") else "chr" + line for line in lines]
    gene_line = next(line for line in out if "\tgene\t" in line)
    fields = gene_line.split("\t")
    fields[2], fields[6] = "transcript", "-" if fields[6] == "+" else "+"
    fields[8] += ' transcript_id "ENST99999999999"; transcript_biotype "protein_coding";'
    out.append("\t".join(fields))
    path = tmp_path / "genes.gtf"
    path.write_text("\n".join(out) + "\n")
    return path


def _fasta(tmp_path: Path) -> Path:
    path = tmp_path / "small.fa"
    if not path.exists():
        path.write_bytes(gzip.decompress((DATA / "genome.fa.gz").read_bytes()))
    return path


def _open(gtf: Path, tmp_path: Path, memo_dir: Path | None) -> LocalGenomeSource:
    return LocalGenomeSource(_fasta(tmp_path), gtf, tmp_path / "cache", memo_dir=memo_dir)


def test_memoized_annotation_equals_a_fresh_parse(chr_gtf, tmp_path, caplog, monkeypatch):
    with _open(chr_gtf, tmp_path, None) as plain:
        expected = plain.genes
        mapping = plain.chrom_names
    assert set(mapping.values()) == {"7_86000000_87000000"}
    assert expected == tuple(read_gtf(chr_gtf, mapping))
    caplog.clear()
    with caplog.at_level(logging.WARNING), _open(chr_gtf, tmp_path, tmp_path / "memo") as first:
        assert first.genes == expected
    parse_warnings = [r.getMessage() for r in caplog.records if "another chromosome or strand" in r.getMessage()]
    assert len(parse_warnings) == 1
    assert len(list((tmp_path / "memo" / "annotations").glob("*.json"))) == 1
    caplog.clear()

    def no_parse(path):
        raise AssertionError("the GTF was parsed again")

    monkeypatch.setattr(local, "read_gtf_records", no_parse)
    with caplog.at_level(logging.WARNING), _open(chr_gtf, tmp_path, tmp_path / "memo") as second:
        assert second.genes == expected
        assert second.chrom_names == mapping
        assert second.assembly == "GRCh37"
        assert [lk.genes for lk in second.lookup(["GRM3", "nope"])] == [lk.genes for lk in plain.lookup(
            ["GRM3", "nope"])]
        facts = second.provenance()
    # the parse's warning is repeated on every load: the memo hides nothing
    assert [r.getMessage() for r in caplog.records if "another chromosome" in r.getMessage()] == parse_warnings
    assert facts["annotation_md5"] == hashlib.md5(chr_gtf.read_bytes()).hexdigest()
    assert facts["genome_md5"] == hashlib.md5(_fasta(tmp_path).read_bytes()).hexdigest()


def test_an_edited_gtf_is_parsed_again_whatever_its_mtime(chr_gtf, tmp_path):
    with _open(chr_gtf, tmp_path, tmp_path / "memo") as source:
        assert source.lookup(["GRM3"])[0].genes
    stat = chr_gtf.stat()
    text = chr_gtf.read_text()
    chr_gtf.write_text(text.replace('gene_name "GRM3"', 'gene_name "GRMX"'))  # same size
    os.utime(chr_gtf, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p / rsync -a leave it
    assert chr_gtf.stat().st_size == stat.st_size and chr_gtf.stat().st_mtime_ns == stat.st_mtime_ns
    with _open(chr_gtf, tmp_path, tmp_path / "memo") as source:
        assert not source.lookup(["GRM3"])[0].genes
        assert source.lookup(["GRMX"])[0].genes


def test_checksum_memo_sees_a_rewrite_with_its_mtime_set_back(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "QUIET_SECONDS", 0.0)
    path = tmp_path / "small.fa"
    path.write_text(">a\nACGTACGT\n")
    time.sleep(0.05)  # past the file system's timestamp tick
    first = memo.file_md5(path, tmp_path / "memo")
    assert first == hashlib.md5(path.read_bytes()).hexdigest()
    assert len(list((tmp_path / "memo" / "checksums").glob("*.json"))) == 1
    assert memo.file_md5(path, tmp_path / "memo") == first  # remembered
    stat = path.stat()
    time.sleep(0.05)
    path.write_text(">a\nACGTACGA\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size
    assert memo.file_md5(path, tmp_path / "memo") == hashlib.md5(path.read_bytes()).hexdigest() != first


def test_a_file_changed_just_now_is_not_remembered(tmp_path):
    path = tmp_path / "small.fa"
    path.write_text(">a\nACGT\n")
    assert memo.file_md5(path, tmp_path / "memo") == hashlib.md5(path.read_bytes()).hexdigest()
    assert not list((tmp_path / "memo").glob("checksums/*.json"))  # its ctime is within QUIET_SECONDS


def test_a_damaged_checksum_memo_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "QUIET_SECONDS", 0.0)
    path = tmp_path / "small.fa"
    path.write_text(">a\nACGT\n")
    time.sleep(0.05)
    memo.file_md5(path, tmp_path / "memo")
    entry = next((tmp_path / "memo" / "checksums").glob("*.json"))
    for damage in ("", "{", '{"path": 1}', entry.read_text().replace('"md5": "', '"md5": "0')):
        entry.write_text(damage)
        assert memo.file_md5(path, tmp_path / "memo") == hashlib.md5(path.read_bytes()).hexdigest()


def test_a_damaged_annotation_memo_is_parsed_again(chr_gtf, tmp_path, caplog):
    with _open(chr_gtf, tmp_path, tmp_path / "memo") as source:
        expected = source.genes
    entry = next((tmp_path / "memo" / "annotations").glob("*.json"))
    good = entry.read_text()
    header, _, payload = good.partition("\n")
    damages = (good[: len(good) // 2], header + "\n" + payload.replace('"GRM3"', '"GRM4"'),
               header.replace('"format": 1', '"format": 0') + "\n" + payload, "not json")
    for damage in damages:
        entry.write_text(damage)
        with caplog.at_level(logging.WARNING), _open(chr_gtf, tmp_path, tmp_path / "memo") as source:
            assert source.genes == expected
        assert any("damaged or stale" in r.getMessage() for r in caplog.records)
        assert entry.read_text() == good  # rebuilt
        caplog.clear()
