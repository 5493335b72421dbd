"""Find the data that ships with motifscan: curated motif sets (``motifs/``) and the demo genome (``genomes/``).

In a source checkout they are the top-level ``motifs/`` and ``genomes/`` folders; an installed wheel carries copies
inside the package (``motifscan/data/motifs``, ``motifscan/data/genomes``, put there by hatchling's force-include).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of bundled data ``name`` ("motifs" or "genomes"): inside the package when installed, else the
    checkout's top-level folder."""
    for candidate in (_PACKAGE_DIR / "data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"motifscan's bundled {name}/ folder is missing; reinstall motifscan")


def demo_genome() -> tuple[Path, Path]:
    """Paths of the embedded demo genome: (bgzipped FASTA, GTF.gz). GRCh37 chr6 + chrX test genome from Ensembl."""
    folder = data_dir("genomes") / "grch37_demo"
    return folder / "genome.fa.gz", folder / "genes.gtf.gz"
