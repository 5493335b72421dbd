"""Outputs that no field can break, and full disks (issue 9, items 4 and 6).

Control characters in a text field are refused by the line-based writers (TSV, BED, FIMO, promoter FASTA/BED,
genome outputs), naming the field and value, or percent-encoded (GFF3). A write that hits a full disk (/dev/full, a
real ENOSPC on a small tmpfs, a file-size limit in a child process) is one error line naming the path and the cause,
exit 1, and with several outputs nothing is replaced.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import motifscan
from motifscan.errors import UnsafeTextError
from motifscan.model import Region
from motifscan.writers import (
    bed_chunks,
    comment_lines,
    fimo_chunks,
    gff3_chunks,
    promoter_bed_lines,
    promoter_fasta_lines,
    tsv_chunks,
    write_outputs,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "promoters.fa"
EVIL = "ENST1\tchr1\t1\t2\tEVIL\nchr1"


@pytest.fixture(scope="module")
def result():
    return motifscan.scan_fasta(EXAMPLE, "ATF3", p_threshold=1e-3)


def _with_motif_name(result, name: str):
    table = result.hits
    return dataclasses.replace(table, motifs=dataclasses.replace(table.motifs, names=(name,) * len(table.motifs)))


@pytest.mark.parametrize("bad", [EVIL, "a\rb", "a\x00b", "a\x1fb", "a\x7fb", "a\u2028b", "a\x85b"])
@pytest.mark.parametrize("writer", ["tsv", "bed", "fimo"])
def test_line_writers_refuse_control_characters_naming_field_and_value(result, writer, bad):
    assert len(result.hits)
    table = _with_motif_name(result, bad)
    chunks = {"tsv": lambda: tsv_chunks(table, result.provenance),
              "bed": lambda: bed_chunks(table, result.provenance),
              "fimo": lambda: fimo_chunks(table, result.records, result.provenance)}[writer]
    with pytest.raises(UnsafeTextError) as caught:
        "".join(chunks())
    message = str(caught.value)
    assert "\n" not in message and "motif_name" in message and repr(bad) in message


def test_refused_text_leaves_every_output_as_it_was(result, tmp_path):
    table = _with_motif_name(result, EVIL)
    old = {name: tmp_path / name for name in ("a.tsv", "b.bed")}
    for path in old.values():
        path.write_text("old\n")
    with pytest.raises(UnsafeTextError):
        write_outputs([(old["b.bed"], bed_chunks(result.hits)), (old["a.tsv"], tsv_chunks(table, ()))])
    assert [p.read_text() for p in old.values()] == ["old\n", "old\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsv", "b.bed"]


def test_gff3_percent_encodes_control_characters_in_attributes_and_seqid(result):
    table = _with_motif_name(result, EVIL)
    table = dataclasses.replace(table, targets=dataclasses.replace(
        table.targets, chroms=tuple(f"chr\t{c}" for c in table.targets.chroms)))
    lines = "".join(gff3_chunks(table, result.provenance)).splitlines()
    features = [line for line in lines if not line.startswith("#")]
    assert len(features) == len(table)  # no line split, none planted
    assert all(len(f.split("\t")) == 9 for f in features)
    assert all(f.startswith("chr%09") for f in features)
    assert "Name=ENST1%09chr1%091%092%09EVIL%0Achr1;" in features[0]


def test_promoter_fasta_and_bed_refuse_control_characters():
    promoter = SimpleNamespace(region=Region("1", 10, 20, "+", EVIL))
    with pytest.raises(UnsafeTextError, match="record name"):
        list(promoter_bed_lines([promoter]))
    with pytest.raises(UnsafeTextError, match="record name"):
        list(promoter_fasta_lines([promoter], ["ACGTACGTAC"]))
    chrom = SimpleNamespace(region=Region("1\r", 10, 20, "+", "GENE"))
    with pytest.raises(UnsafeTextError, match="chrom"):
        list(promoter_bed_lines([chrom]))


def test_provenance_values_never_start_a_line():
    lines = comment_lines([("command", "motifscan fasta a\nchr1\t1\t2\rEVIL \x00 \u2028x")])
    assert lines == ["# command: motifscan fasta a chr1 1 2 EVIL \\x00 x"]


# ------------------------------------------------------------------------------------------------ full disks


def _cli(*args, preexec_fn=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "motifscan", "-q", *map(str, args)], capture_output=True, text=True,
                          check=False, preexec_fn=preexec_fn, cwd=cwd)


def _one_error_line(completed, *words):
    assert completed.returncode == 1, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("motifscan: error: cannot write ") and "internal error" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def _old_outputs(folder: Path) -> tuple[Path, Path]:
    bed, gff3 = folder / "b.bed", folder / "c.gff3"
    bed.write_text("old bed\n")
    gff3.write_text("old gff3\n")
    return bed, gff3


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_is_one_line_and_no_other_output_is_replaced(tmp_path):
    bed, gff3 = _old_outputs(tmp_path)
    completed = _cli("fasta", EXAMPLE, "--pvalue", "1e-3", "-o", "/dev/full", "--bed", bed, "--gff3", gff3)
    _one_error_line(completed, "/dev/full", "No space left on device")
    assert (bed.read_text(), gff3.read_text()) == ("old bed\n", "old gff3\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bed", "c.gff3"]


def test_dev_full_as_a_second_output(tmp_path):
    out = tmp_path / "a.tsv"
    out.write_text("old tsv\n")
    completed = _cli("fasta", EXAMPLE, "--pvalue", "1e-3", "-o", out, "--bed", "/dev/full")
    _one_error_line(completed, "/dev/full", "No space left on device")
    assert out.read_text() == "old tsv\n"


def _limit_file_size():
    # a staged output larger than 4 KiB fails as on a full disk (EFBIG); SIGXFSZ ignored, so the write returns the
    # error instead of killing the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_file_size_limit_in_a_child_is_one_line_and_all_or_none(tmp_path):
    bed, gff3 = _old_outputs(tmp_path)
    out = tmp_path / "a.tsv"
    completed = _cli("fasta", EXAMPLE, "--pvalue", "1e-2", "-o", out, "--bed", bed, "--gff3", gff3,
                     preexec_fn=_limit_file_size)
    _one_error_line(completed, "File too large")
    assert (bed.read_text(), gff3.read_text()) == ("old bed\n", "old gff3\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bed", "c.gff3"]


@pytest.fixture
def full_tmpfs(tmp_path):
    """A 64 KiB tmpfs (root only), its old output written first, then filled to the last byte: a real ENOSPC."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                                           capture_output=True, check=False).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        (mount / "a.tsv").write_text("old tsv\n")
        try:
            with open(mount / "filler", "wb", buffering=0) as filler:
                while True:
                    filler.write(b"x" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_real_enospc_names_the_path_and_replaces_nothing(tmp_path, full_tmpfs):
    bed, gff3 = _old_outputs(tmp_path)
    out = full_tmpfs / "a.tsv"
    completed = _cli("fasta", EXAMPLE, "--pvalue", "1e-3", "--bed", bed, "-o", out, "--gff3", gff3)
    _one_error_line(completed, str(out), "No space left on device")
    assert (out.read_text(), bed.read_text(), gff3.read_text()) == ("old tsv\n", "old bed\n", "old gff3\n")
    assert sorted(p.name for p in full_tmpfs.iterdir()) == ["a.tsv", "filler"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bed", "c.gff3", "small"]
