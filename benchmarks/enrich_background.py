"""Time the promoter background of `motifscan enrich`: N synthetic promoters (2.5 kb windows, seeded) x the ATF/CREB
set or all CORE vertebrate matrices; then a second gene list against the cached background.

    python benchmarks/enrich_background.py --genes 20000 --motifs atf
    python benchmarks/enrich_background.py --genes 20000 --motifs core
    python benchmarks/enrich_background.py --genes 20000 --motifs atf --profile 15

Whole wall times of each step and the process's peak resident memory after it (``ru_maxrss``: the highest so far, so
the build's figure includes making the genome), on whatever machine and load it runs (say which when quoting them).
``--profile N`` runs the cached (second) list under cProfile and prints its N most expensive functions, by
cumulative time and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from synthetic_genome import make_genome


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--motifs", choices=["atf", "core"], default="atf")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the cached list; print the N most expensive functions")
    args = parser.parse_args()
    import motifscan
    from motifscan.motifs import jaspar_database

    motifs = None if args.motifs == "atf" else jaspar_database().group(["CORE"], ["vertebrates"])
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        genome = make_genome(Path(folder) / "g", args.genes, lambda i, rng: 0.4 + 0.25 * rng.random(), seed=1)
        print(f"synthetic genome of {args.genes} genes: {time.perf_counter() - start:.1f} s", flush=True)
        options = {"genome": genome.fasta, "annotation": genome.gtf, "cache_dir": Path(folder) / "cache",
                   "command": "bench"}
        runs = (("first list (background built)", genome.names[:50], False),
                ("second list (background cached)", genome.names[100:150], bool(args.profile)))
        for label, genes, profiled in runs:
            profiler = cProfile.Profile() if profiled else None
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            result = motifscan.enrich(genes, motifs, **options)
            if profiler is not None:
                profiler.disable()
            elapsed = time.perf_counter() - start
            facts = dict(result.provenance)
            print(f"{label}: {elapsed:.2f} s, peak RSS so far {_peak_mb():.0f} MB; {len(result)} matrices, "
                  f"{facts['background_promoters']} background promoters, cache {facts['background_cache']}",
                  flush=True)
            if profiler is not None:
                for order in ("cumulative", "tottime"):
                    text = io.StringIO()
                    pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(args.profile)
                    print(f"--- profile of the cached list, by {order} ---")
                    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[-6000:])
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
