"""Benchmark of `motifscan genome` (issue: whole genomes and past one machine) against MOODS on the same input.

    python benchmarks/genome.py [--mb 100] [--sets atf_creb,vertebrates] [--out benchmarks/results/genome.md]

One seeded synthetic genome FASTA (``--mb`` Mb in one record, 41% GC like the human genome, with N runs like
assembly gaps), scanned at p <= 1e-4 by:
- ``motifscan genome`` with ``--jobs 1`` and ``--jobs 2`` (local processes), writing a bgzip TSV + tabix index;
- MOODS-python as its ``moods-dna.py`` script configures it (log-odds with its pseudocount 0.01, a uniform
  background, ``threshold_from_p`` for each matrix and its reverse complement), writing every hit to a TSV.
Every run is a fresh process under ``/usr/bin/time`` (wall time and the peak resident memory of the largest process,
the driver or a worker) with an empty cache folder. From the 1- and 2-worker times it projects the cost of 3.1 Gb on
N workers (per-Mb cost of one worker x 3100 / N, plus the measured fixed start-up), which assumes the chunks spread
evenly, as they do here (1 Mb chunks, 3,100 of them for a human genome).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEED = 20261201


def make_genome(path: Path, megabases: int, compress: bool = False) -> None:
    """One record of ``megabases`` Mb: 41% GC, with a 50 kb N run every 20 Mb (an assembly gap); gzip (level 1)
    with ``compress``."""
    import gzip

    rng = np.random.default_rng(SEED)
    letters = np.frombuffer(b"ACGT", np.uint8)
    with (gzip.open(path, "wb", compresslevel=1) if compress else open(path, "wb")) as handle:
        handle.write(b">chrS\n")
        carry = b""
        for first in range(0, megabases * 1_000_000, 1_000_000):
            block = letters[rng.choice(4, size=1_000_000, p=[0.295, 0.205, 0.205, 0.295])]
            if first % 20_000_000 == 10_000_000:
                block[:50_000] = ord("N")
            text = carry + block.tobytes()
            whole = len(text) - len(text) % 60
            handle.write(b"".join(text[i : i + 60] + b"\n" for i in range(0, whole, 60)))
            carry = text[whole:]
        if carry:
            handle.write(carry + b"\n")


def motif_file(path: Path, motif_set: str) -> list:
    """The motif set's count matrices (motifscan's selection) as a JASPAR file for MOODS; returns the Motifs."""
    from motifscan.motifs import select_motifs

    motifs = select_motifs() if motif_set == "atf_creb" else select_motifs(collections=["CORE"],
                                                                            tax_groups=["vertebrates"])
    lines = []
    for motif in motifs:
        lines.append(f">{motif.id} {motif.name}")
        for letter, row in zip("ACGT", motif.counts):
            lines.append(f"{letter} [ " + " ".join(f"{v:g}" for v in row) + " ]")
    path.write_text("\n".join(lines) + "\n")
    return motifs


MOODS_SCRIPT = r'''
import sys, numpy as np, MOODS.scan, MOODS.tools
fasta, motifs_path, out, p = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ids, matrices = [], []
for block in open(motifs_path).read().split(">")[1:]:
    lines = block.strip().splitlines()
    ids.append(lines[0].split()[0])
    matrices.append([[float(v) for v in line.split("[")[1].split("]")[0].split()] for line in lines[1:5]])
bg = [0.25] * 4
forward = [MOODS.tools.log_odds(m, bg, 0.01) for m in matrices]
reverse = [MOODS.tools.reverse_complement(m) for m in forward]
thresholds = [MOODS.tools.threshold_from_p(m, bg, p) for m in forward + reverse]
sequence = "".join(line.strip() for line in open(fasta) if not line.startswith(">"))
scanner = MOODS.scan.Scanner(7)
scanner.set_motifs(forward + reverse, bg, thresholds)
n = len(forward)
with open(out, "w") as handle:
    for k, matches in enumerate(scanner.scan(sequence)):
        strand = "-" if k >= n else "+"
        handle.write("".join(f"chrS\t{m.pos}\t{ids[k % n]}\t{strand}\t{m.score:.6f}\n" for m in matches))
'''


def timed(argv: list[str], env: dict) -> dict:
    """Wall seconds and peak RSS (MB, largest process) of one command run under /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        began = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name, *argv], env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:3]} failed: {done.stderr[-2000:]}")
        _, peak_kb = report.read().split()[-2:]
    return {"seconds": round(wall, 2), "peak_mb": round(int(peak_kb) / 1024, 1)}


def lines_in(path: Path) -> int:
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        return sum(1 for line in handle if line[0] != "#") - (1 if str(path).endswith(".gz") else 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="genome size in Mb [100]")
    parser.add_argument("--sets", default="atf_creb,vertebrates", help="motif sets [atf_creb,vertebrates]")
    parser.add_argument("--jobs", default="1,2", help="worker counts for motifscan [1,2]")
    parser.add_argument("--no-moods", action="store_true")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "genome.md"))
    args = parser.parse_args(argv)
    results: dict = {"mb": args.mb, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                 "load_before": os.getloadavg()}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="motifscan-genome-bench.") as work:
        folder = Path(work)
        fasta = folder / "genome.fa"
        make_genome(fasta, args.mb)
        for motif_set in args.sets.split(","):
            motifs = motif_file(folder / f"{motif_set}.jaspar", motif_set)
            for jobs in [int(j) for j in args.jobs.split(",")]:
                cache = folder / f"cache-{motif_set}-{jobs}"
                env = {**os.environ, "MOTIFSCAN_CACHE_DIR": str(cache)}
                out = folder / f"ms-{motif_set}-{jobs}.tsv.gz"
                (folder / "genome.fa.fai").unlink(missing_ok=True)  # cold: the index is built in every run
                argv = [sys.executable, "-m", "motifscan", "-q", "genome", str(fasta), "-o", str(out),
                        "--jobs", str(jobs)]
                argv += ["--motif-file", str(folder / f"{motif_set}.jaspar")] if motif_set != "atf_creb" else []
                run = {"tool": "motifscan genome", "set": motif_set, "matrices": len(motifs), "workers": jobs,
                       **timed(argv, env)}
                run["hits"] = lines_in(out)
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
            if not args.no_moods:
                out = folder / f"moods-{motif_set}.tsv"
                script = folder / "moods_dna.py"
                script.write_text(MOODS_SCRIPT)
                run = {"tool": "MOODS", "set": motif_set, "matrices": len(motifs), "workers": 1,
                       **timed([sys.executable, str(script), str(fasta), str(folder / f"{motif_set}.jaspar"),
                                str(out), "1e-4"], dict(os.environ))}
                run["hits"] = lines_in(out)
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=1))
    Path(args.out).write_text(report(results))
    print(report(results))
    return 0


def report(results: dict) -> str:
    mb = results["mb"]
    lines = [f"# `motifscan genome` benchmark: {mb} Mb synthetic genome, p <= 1e-4", "",
             f"Machine: {results['machine']['cpus']} cores, Python {results['machine']['python']}; load average "
             f"before {results['machine']['load_before'][0]:.2f}, after {results['machine']['load_after'][0]:.2f}.",
             "", "| tool | matrices | workers | seconds | peak MB (largest process) | hits | x MOODS |",
             "|---|---|---|---|---|---|---|"]
    moods = {r["set"]: r["seconds"] for r in results["runs"] if r["tool"] == "MOODS"}
    for r in results["runs"]:
        ratio = f"{r['seconds'] / moods[r['set']]:.2f}" if r["set"] in moods else "–"
        lines.append(f"| {r['tool']} | {r['matrices']} | {r['workers']} | {r['seconds']} | {r['peak_mb']} | "
                     f"{r['hits']:,} | {ratio} |")
    lines += ["", "Projection for 3.1 Gb (per-Mb cost of the measured runs, chunks spread evenly):", ""]
    for motif_set in sorted({r["set"] for r in results["runs"]}):
        ours = {r["workers"]: r["seconds"] for r in results["runs"]
                if r["tool"] == "motifscan genome" and r["set"] == motif_set}
        if 1 in ours:
            per_mb = ours[1] / mb
            scaling = f"; 2 workers: {ours[1] / ours[2]:.2f}x the speed of 1" if 2 in ours else ""
            lines.append(f"- {motif_set}: {per_mb:.3f} s per Mb on one worker{scaling}; 3.1 Gb: "
                         + ", ".join(f"{n} workers ~{per_mb * 3100 / n / 60:.0f} min" for n in (1, 2, 16, 64)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
