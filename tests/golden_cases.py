"""The golden-output cases: motifscan runs whose every output file (TSV, BED, GFF3, FIMO) is kept, gzipped, in
tests/golden/ and compared byte for byte by tests/test_golden.py.

The golden files were made from main before the columnar hit table (issue 10) replaced the per-hit objects; they pin
the output bytes of every format. A change of output made on purpose regenerates them::

    python tests/golden_cases.py          # rewrites tests/golden/*.gz; review the diff, say why in the commit

Every run happens in a scratch folder with relative paths, so that the provenance's ``command:`` and ``input:`` lines
do not depend on where the tests run; the demo genome's absolute path (``source_genome_file:``) is written as
``<repository>`` for the same reason.
"""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
GOLDEN = Path(__file__).resolve().parent / "golden"

DEMO_GENES = ["AL033381.1", "snoU13", "FOXQ1", "RP4-668J24.2", "FOXF2", "Metazoa_SRP", "RP11-157J24.1", "FOXC1",
              "GMDS", "LINC00108", "PLCXD1", "GTPBP6", "PPP2R3B-AS1", "PPP2R3B"]
CHR7_GENES = ["GRM3", "AC005009.1", "AC005009.2", "KIAA1324L", "CTA-254O6.1", "AC005076.5", "DMTF1", "TMEM243",
              "Y_RNA", "TP53TG1", "CROT"]
OUTPUTS = ["-o", "hits.tsv", "--bed", "hits.bed", "--gff3", "hits.gff3", "--fimo", "hits.fimo.tsv"]

# name -> motifscan arguments (run in a folder holding chr7.fa, chr7.gtf and demo_promoters.fa)
CASES: dict[str, list[str]] = {
    "demo": ["scan", *DEMO_GENES, "--genome", "demo", "--transcripts", "all", *OUTPUTS],
    "demo_filters": ["scan", *DEMO_GENES, "--genome", "demo", "--max-strand", "--qvalue", "0.5", "--pvalue", "1e-3",
                     "--min-rel-score", "0.7", "--chrom-style", "ucsc", "--background", "auto", "--bed-track",
                     *OUTPUTS],
    "chr7": ["scan", *CHR7_GENES, "--genome", "chr7.fa", "--annotation", "chr7.gtf", "--transcripts", "all",
             "--upstream", "1000", "--downstream", "300", *OUTPUTS],
    "fasta_core": ["fasta", "demo_promoters.fa.gz", "--collection", "CORE", "--tax-group", "vertebrates", *OUTPUTS],
}
FILES = ["hits.tsv", "hits.bed", "hits.gff3", "hits.fimo.tsv"]


def prepare(folder: Path) -> None:
    """The inputs of the cases, in ``folder``: the chr7 genome and GTF unpacked, the demo promoters' FASTA."""
    for name, packed in (("chr7.fa", "genome.fa.gz"), ("chr7.gtf", "genes.gtf.gz")):
        with gzip.open(DATA / "chr7" / packed, "rb") as source, open(folder / name, "wb") as target:
            shutil.copyfileobj(source, target)
    shutil.copy(DATA / "demo_promoters.fa.gz", folder / "demo_promoters.fa.gz")


def run(name: str, folder: Path) -> dict[str, bytes]:
    """Run case ``name`` in ``folder`` (prepared); its output files' bytes by file name."""
    import os

    from click.testing import CliRunner

    from motifscan.cli import cli

    here = os.getcwd()
    logger = logging.getLogger("motifscan")
    saved = logger.level, logger.handlers[:], logger.propagate  # the CLI configures it; later tests expect it as is
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, ["-q", *CASES[name]], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {f: (folder / f).read_bytes().replace(str(REPOSITORY).encode(), b"<repository>") for f in FILES}
    finally:
        os.chdir(here)
        logger.level, logger.handlers[:], logger.propagate = saved[0], saved[1], saved[2]


def golden(name: str) -> dict[str, bytes]:
    return {f: gzip.decompress((GOLDEN / f"{name}.{f}.gz").read_bytes()) for f in FILES}


if __name__ == "__main__":
    import tempfile

    GOLDEN.mkdir(exist_ok=True)
    for case in CASES:
        with tempfile.TemporaryDirectory() as scratch:
            prepare(Path(scratch))
            for file, content in run(case, Path(scratch)).items():
                (GOLDEN / f"{case}.{file}.gz").write_bytes(gzip.compress(content, mtime=0))
                print(case, file, len(content))
