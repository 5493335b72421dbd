"""The genome FASTA's index (.fai, and .gzi for bgzip) is checked against the FASTA before use, rebuilt when stale
(in the cache when the genome's folder is read-only) and written atomically (issue 9, item 2); record names, GTF IDs
and names pass the strict patterns of motifscan.identifiers (item 4); genes on chromosomes the FASTA lacks, --biotype
without --transcripts all, and the genes not found in the provenance (item 21).

Real files throughout: FASTAs written here (plain, and bgzip through Biopython's BGZF writer), indexes built by
pyfaidx, a FASTA rewritten with its old mtime (as ``cp -p``, ``rsync -a`` and ``tar x`` leave it), truncated index
files, a real write failure (RLIMIT_FSIZE in a child process) and a real read-only folder. The oracle for every
sequence is the FASTA text itself, read plainly here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from Bio import bgzf
from click.testing import CliRunner
from faults import unprivileged

from motifscan.cli import cli
from motifscan.errors import InputFileError
from motifscan.sources.local import LocalGenomeSource, open_fasta, read_gtf

RECORDS = {"chrA": "ACGTTGCA" * 40 + "ACG", "chrB": "GGGCCCAT" * 25, "chrC": "TTAACCGG" * 50 + "T"}


def fasta_text(records: dict[str, str], header_extra: str = "", width: int = 60) -> str:
    lines = []
    for name, sequence in records.items():
        lines.append(f">{name} {header_extra}".rstrip())
        lines += [sequence[i : i + width] for i in range(0, len(sequence), width)]
    return "\n".join(lines) + "\n"


def write_genome(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        with bgzf.BgzfWriter(str(path), "wb") as handle:
            handle.write(text.encode())
    else:
        path.write_text(text)
    return path


def fetch_all(fasta) -> dict[str, str]:
    return {name: fasta.faidx.fetch(name, 1, record.rlen) for name, record in fasta.faidx.index.items()}


def rewrite_keeping_mtime(path: Path, text: str) -> None:
    """Rewrite ``path`` and give it back its old mtime, as ``cp -p`` or ``rsync -a`` would: older than the index."""
    before = path.stat()
    write_genome(path, text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("name", ["genome.fa", "genome.fa.gz"])
def test_a_stale_index_with_an_old_mtime_is_detected_and_rebuilt(tmp_path, name, caplog):
    fasta_path = write_genome(tmp_path / name, fasta_text(RECORDS, "first"))
    with open_fasta(fasta_path, tmp_path / "cache") as fasta:
        assert fetch_all(fasta) == RECORDS
    index = Path(f"{fasta_path}.fai")
    assert index.stat().st_mtime >= fasta_path.stat().st_mtime
    # the header one 60-letter line longer: every offset moves by 60, and letters would be read as sequence
    longer = {"chrA": RECORDS["chrA"], "chrB": RECORDS["chrB"] + "A" * 60, "chrC": RECORDS["chrC"]}
    rewrite_keeping_mtime(fasta_path, fasta_text(longer, "first" + "x" * 60))
    assert index.stat().st_mtime >= fasta_path.stat().st_mtime  # the index looks current by its timestamp
    with open_fasta(fasta_path, tmp_path / "cache") as fasta:
        assert fetch_all(fasta) == longer
    assert "does not match" in caplog.text and "rebuilt" in caplog.text
    assert not (tmp_path / "cache").exists()  # rebuilt beside the FASTA, whose folder is writable


@pytest.mark.parametrize("cut", ["mid-line", "last line", "empty"])
def test_a_truncated_index_is_rebuilt(tmp_path, cut):
    fasta_path = write_genome(tmp_path / "genome.fa", fasta_text(RECORDS))
    open_fasta(fasta_path, tmp_path / "cache").close()
    index = Path(f"{fasta_path}.fai")
    text = index.read_text()
    index.write_text({"mid-line": text[: len(text) // 2], "last line": "".join(text.splitlines(True)[:-1]),
                      "empty": ""}[cut])
    with open_fasta(fasta_path, tmp_path / "cache") as fasta:
        assert fetch_all(fasta) == RECORDS
    assert index.read_text() == text


def test_an_index_of_another_fasta_with_the_same_names_is_rejected(tmp_path):
    fasta_path = write_genome(tmp_path / "genome.fa", fasta_text(RECORDS))
    open_fasta(fasta_path, tmp_path / "cache").close()
    wider = fasta_text(RECORDS, width=70)  # the same records in lines of 70: the same size, other offsets
    rewrite_keeping_mtime(fasta_path, wider)
    with open_fasta(fasta_path, tmp_path / "cache") as fasta:
        assert fetch_all(fasta) == RECORDS
        assert {record.lenc for record in fasta.faidx.index.values()} == {70}


def test_an_index_write_that_fails_leaves_no_truncated_index(tmp_path):
    # Real write failures: files may not grow past 64 bytes in the child process (EFBIG, as a full disk gives ENOSPC)
    records = {f"chromosome_{n}": "ACGT" * 30 for n in range(20)}
    fasta_path = write_genome(tmp_path / "genome.fa", fasta_text(records))
    child = textwrap.dedent("""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        from motifscan.errors import InputFileError
        from motifscan.sources.local import open_fasta
        try:
            open_fasta(sys.argv[1], sys.argv[2])
        except InputFileError as error:
            print(error)
            sys.exit(1)
    """)
    done = subprocess.run([sys.executable, "-c", child, str(fasta_path), str(tmp_path / "cache")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    (line,) = done.stdout.splitlines()
    assert "cannot write an index" in line and str(fasta_path) in line
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["genome.fa"], left  # no partial .fai (nor temporary file) anywhere, beside or in the cache
    with open_fasta(fasta_path, tmp_path / "cache") as fasta:  # and the next run is not poisoned
        assert fetch_all(fasta) == records


def test_a_stale_index_in_a_read_only_folder_is_rebuilt_in_the_cache(tmp_path, caplog):
    folder = tmp_path / "genome"
    folder.mkdir()
    fasta_path = write_genome(folder / "genome.fa", fasta_text(RECORDS))
    open_fasta(fasta_path, tmp_path / "unused").close()
    longer = dict(RECORDS, chrA=RECORDS["chrA"] + "C" * 7)
    rewrite_keeping_mtime(fasta_path, fasta_text(longer))
    stale = Path(f"{fasta_path}.fai").read_bytes()
    cache = tmp_path / "cache"
    cache.mkdir()
    folder.chmod(0o555)
    try:
        with unprivileged(folder, cache):
            for _ in range(2):  # the second run finds the cached index good and uses it
                with open_fasta(fasta_path, cache) as fasta:
                    assert fetch_all(fasta) == longer
    finally:
        folder.chmod(0o755)
    assert Path(f"{fasta_path}.fai").read_bytes() == stale  # the read-only folder was not touched
    assert len(list((cache / "fasta-index").glob("*.fai"))) == 1
    assert "rebuilt it in" in caplog.text


@pytest.mark.parametrize("name, problem", [("chr\x01A", "a control character (U+0001)"), ("#1", "starts with '#'")])
def test_record_names_that_would_corrupt_outputs_are_refused(tmp_path, name, problem):
    fasta_path = write_genome(tmp_path / "genome.fa", fasta_text({name: "ACGT" * 10}))
    with pytest.raises(InputFileError, match="record name") as caught:
        open_fasta(fasta_path, tmp_path / "cache")
    assert problem in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------------------- GTF (item 4)

GENE = ('chrA\ttest\tgene\t101\t300\t.\t+\t.\tgene_id "G1"; gene_name "AAA"; gene_biotype "protein_coding";\n'
        'chrA\ttest\ttranscript\t101\t300\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; gene_name "AAA"; '
        'transcript_biotype "protein_coding";\n')


@pytest.mark.parametrize("old, new, what", [
    ('transcript_id "T1"', 'transcript_id "T1\x0bchr1"', "transcript_id"),
    ('gene_name "AAA"; gene_biotype', 'gene_name "A A"; gene_biotype', "gene_name"),
    ('gene_id "G1"; gene_name "AAA"; gene_biotype', 'gene_id "G,1"; gene_name "AAA"; gene_biotype', "gene_id"),
    ('gene_biotype "protein_coding"', 'gene_biotype "protein\x0ccoding"', "gene biotype"),
    ("chrA\ttest\tgene", "chr\x0cA\ttest\tgene", "chromosome"),
])
def test_gtf_ids_and_names_are_checked_against_strict_patterns(tmp_path, old, new, what):
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(GENE.replace(old, new, 1), newline="")
    with pytest.raises(InputFileError) as caught:
        read_gtf(gtf)
    message = str(caught.value)
    assert f"{gtf}, line " in message and f"the {what} " in message and "\n" not in message


def test_gtf_names_from_real_annotations_pass(tmp_path):
    from motifscan.resources import demo_genome

    genes = read_gtf(demo_genome()[1])
    assert {g.name for g in genes} >= {"RP4-668J24.2", "AL033381.1", "Metazoa_SRP", "PPP2R3B-AS1"}


# ---------------------------------------------------------------------------------------------------- item 21


def small_genome(tmp_path: Path) -> tuple[Path, Path]:
    fasta_path = write_genome(tmp_path / "genome.fa", fasta_text({"chrA": "ACGT" * 500}))
    other = GENE.replace("chrA", "chrZ").replace("G1", "G2").replace('"AAA"', '"BBB"').replace("T1", "T2")
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(GENE + other)
    return fasta_path, gtf


def test_genes_not_found_are_recorded_in_the_provenance(tmp_path):
    fasta_path, gtf = small_genome(tmp_path)
    result = CliRunner().invoke(cli, ["scan", "--genome", str(fasta_path), "--annotation", str(gtf), "--cache-dir",
                                      str(tmp_path / "cache"), "AAA", "BBB", "NOPE", "--pvalue", "1e-2"])
    assert result.exit_code == 0, result.stderr
    assert "# genes_not_found: BBB NOPE" in result.stdout.splitlines()
    assert "chromosome chrZ" in result.stderr


def test_biotype_without_transcripts_all_warns(tmp_path):
    fasta_path, gtf = small_genome(tmp_path)
    args = ["scan", "--genome", str(fasta_path), "--annotation", str(gtf), "--cache-dir", str(tmp_path / "cache"),
            "AAA", "--biotype", "lncRNA"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "--biotype lncRNA is ignored" in result.stderr
    assert "--transcripts all" in result.stderr
    quiet = CliRunner().invoke(cli, [*args, "--transcripts", "all"])
    assert "is ignored" not in quiet.stderr


def test_the_demo_source_still_opens(tmp_path):
    with LocalGenomeSource.demo(cache_dir=tmp_path / "cache") as source:
        assert source.chrom_length("X") == 562_251
    assert not (tmp_path / "cache").exists()  # the shipped index is checked and used as it is
