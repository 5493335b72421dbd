"""Time the promoter background of `motifscan enrich`: N synthetic promoters (2.5 kb windows, seeded) x the ATF/CREB
set or all CORE vertebrate matrices; then a second gene list against the cached background.

    python benchmarks/enrich_background.py --genes 20000 --motifs atf
    python benchmarks/enrich_background.py --genes 2000 --motifs core

Whole wall times of each step, on whatever machine and load it runs (say which when quoting them).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from synthetic_genome import make_genome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--motifs", choices=["atf", "core"], default="atf")
    args = parser.parse_args()
    import motifscan
    from motifscan.motifs import jaspar_database

    motifs = None if args.motifs == "atf" else jaspar_database().group(["CORE"], ["vertebrates"])
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        genome = make_genome(Path(folder) / "g", args.genes, lambda i, rng: 0.4 + 0.25 * rng.random(), seed=1)
        print(f"synthetic genome of {args.genes} genes: {time.perf_counter() - start:.1f} s", flush=True)
        options = {"genome": genome.fasta, "annotation": genome.gtf, "cache_dir": Path(folder) / "cache",
                   "command": "bench"}
        for label, genes in (("first list (background built)", genome.names[:50]),
                             ("second list (background cached)", genome.names[100:150])):
            start = time.perf_counter()
            result = motifscan.enrich(genes, motifs, **options)
            facts = dict(result.provenance)
            print(f"{label}: {time.perf_counter() - start:.1f} s; {len(result)} matrices, "
                  f"{facts['background_promoters']} background promoters, cache {facts['background_cache']}",
                  flush=True)


if __name__ == "__main__":
    main()
