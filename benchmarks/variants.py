"""Benchmark of `motifscan variants`: whole-process wall time and peak memory of the CLI on seeded synthetic data.

Workloads (all inputs generated here from fixed seeds, in a temporary folder):

- ``promoters``: a 20 Mb random genome with 4,000 genes (GTF), 100,000 variants inside their 2.5 kb promoter windows
  (85% SNVs, 7.5% insertions and 7.5% deletions of 1-10 bp), bgzipped and tabix-indexed VCF; scored against the 22
  ATF/CREB matrices and against all 1019 JASPAR CORE vertebrate matrices.
- ``genome``: ``--all`` over bgzipped, tabix-indexed VCFs of N variants spread along a 300 Mb genome of three 100 Mb
  chromosomes (streamed in batches, rows spooled to disk), against the 22 ATF/CREB matrices: N = 300,000, 1,000,000
  and 3,000,000, to show that peak memory does not grow with the VCF (``--genome-mb`` and ``--genome-variants``
  change the sizes).

Usage: ``python benchmarks/variants.py [--workload promoters,genome] [--scale 0.1] [--scale-1019 0.1] [--keep DIR]``.
Prints a Markdown table (wall and CPU time and peak RSS of the whole CLI process, and the rows written). It is a
script, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def write_genome(path: Path, lengths: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """A uniform random genome, 60 letters a line; returns name -> letter codes (0-3 = ACGT)."""
    rng = np.random.default_rng(seed)
    out = {}
    with open(path, "wb") as handle:
        for name, length in lengths.items():
            codes = rng.integers(0, 4, length).astype(np.uint8)
            out[name] = codes
            letters = np.frombuffer(b"ACGT", dtype=np.uint8)[codes]
            full = length // 60 * 60
            lines = np.concatenate([letters[:full].reshape(-1, 60), np.full((full // 60, 1), ord("\n"), np.uint8)],
                                   axis=1)  # whole lines at once, not a Python loop per line
            handle.write(f">{name}\n".encode() + lines.tobytes())
            if full < length:
                handle.write(letters[full:].tobytes() + b"\n")
    return out


def write_gtf(path: Path, chrom: str, length: int, n_genes: int, seed: int) -> list[tuple[int, str]]:
    """Genes spaced evenly, strands alternating; returns (0-based TSS, strand) per gene."""
    rng = np.random.default_rng(seed)
    step = length // (n_genes + 1)
    tss_list = []
    with open(path, "w") as handle:
        for g in range(n_genes):
            strand = "+" if g % 2 == 0 else "-"
            start = step * (g + 1) + int(rng.integers(-100, 100))
            end = start + 3000
            tss = start if strand == "+" else end - 1
            tss_list.append((tss, strand))
            attrs = f'gene_id "G{g:05d}"; gene_name "GENE{g}"; gene_biotype "protein_coding";'
            handle.write(f"{chrom}\tbench\tgene\t{start + 1}\t{end}\t.\t{strand}\t.\t{attrs}\n")
            tx = attrs + f' transcript_id "T{g:05d}"; transcript_biotype "protein_coding"; tag "Ensembl_canonical";'
            handle.write(f"{chrom}\tbench\ttranscript\t{start + 1}\t{end}\t.\t{strand}\t.\t{tx}\n")
            handle.write(f"{chrom}\tbench\texon\t{start + 1}\t{end}\t.\t{strand}\t.\t{tx}\n")
    return tss_list


def random_variants(rng, genome: dict[str, np.ndarray], chrom: str, positions: np.ndarray) -> list[str]:
    """VCF body lines at 0-based ``positions`` (sorted): SNVs, insertions, deletions with the genome's REF."""
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    codes = genome[chrom]
    kinds = rng.random(positions.size)
    lines = []
    for i, (pos, kind) in enumerate(zip(positions.tolist(), kinds.tolist())):
        ref = chr(letters[codes[pos]])
        if kind < 0.85:
            alt = "ACGT"[(int(codes[pos]) + int(rng.integers(1, 4))) % 4]
        elif kind < 0.925:
            alt = ref + "".join("ACGT"[c] for c in rng.integers(0, 4, int(rng.integers(1, 11))))
        else:
            n = int(rng.integers(1, 11))
            ref = letters[codes[pos : pos + n + 1]].tobytes().decode()
            alt = ref[0]
        lines.append(f"{chrom}\t{pos + 1}\tv{i}\t{ref}\t{alt}\t.\tPASS\t.")
    return lines


def write_vcf(path: Path, lines: list[str], contigs: dict[str, int], index: bool) -> Path:
    header = ["##fileformat=VCFv4.2", *[f"##contig=<ID={c},length={n}>" for c, n in contigs.items()],
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    path.write_text("\n".join(header + lines) + "\n")
    if not index:
        return path
    import pysam

    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path.with_name(path.name + ".gz")


def _high_water_mb(pid: int) -> float | None:
    """VmHWM of a running process (its own peak RSS since its exec), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(args: list[str], workdir: Path) -> dict:
    """Run the CLI once; wall time, CPU time and the child's peak RSS (VmHWM, sampled every 20 ms: not ru_maxrss,
    which a child inherits from its parent at fork)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "motifscan", *args], cwd=workdir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "MOTIFSCAN_CACHE_DIR": str(workdir / "cache")})
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _high_water_mb(process.pid) or 0.0)
        time.sleep(0.02)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    status = process.returncode
    stderr = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"motifscan {' '.join(args)} failed:\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime - _CPU_SO_FAR[0]
    _CPU_SO_FAR[0] += cpu
    with open(workdir / "out.tsv", "rb") as handle:  # the rows written (lines that are not comments or the header)
        rows = sum(1 for line in handle if not line.startswith(b"#")) - 1
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": peak, "rows": rows}


_CPU_SO_FAR = [0.0]  # children's CPU time already counted (RUSAGE_CHILDREN is cumulative)


def promoters_workload(workdir: Path, scale: float, many_scale: float | None = None) -> list[tuple[str, dict]]:
    n_genes, n_variants = max(10, int(4000 * scale)), max(100, int(100_000 * scale))
    length = 20_000_000
    genome = write_genome(workdir / "p.fa", {"1": length}, seed=1)
    tss_list = write_gtf(workdir / "p.gtf", "1", length, n_genes, seed=2)
    rng = np.random.default_rng(3)
    windows = np.array([(t - 2000, t + 500) if s == "+" else (t - 499, t + 2001) for t, s in tss_list])
    which = rng.integers(0, n_genes, n_variants)
    positions = np.sort(rng.integers(windows[which, 0] + 20, windows[which, 1] - 20))
    vcf = write_vcf(workdir / "p.vcf", random_variants(rng, genome, "1", positions), {"1": length}, index=True)
    (workdir / "genes.txt").write_text("\n".join(f"GENE{g}" for g in range(n_genes)) + "\n")
    common = ["variants", str(vcf), "--genes-file", "genes.txt", "--genome", "p.fa", "--annotation", "p.gtf",
              "-o", "out.tsv", "-q"]
    label = f"{n_variants:,} promoter variants ({n_genes:,} promoters)"
    out = [(f"{label} x 22 ATF/CREB", run(common, workdir))]
    if many_scale is not None and many_scale != scale:  # the 1019-matrix run on a subset of the genes
        n_many = max(10, int(4000 * many_scale))
        (workdir / "genes_many.txt").write_text("\n".join(f"GENE{g}" for g in range(n_many)) + "\n")
        common = [a if a != "genes.txt" else "genes_many.txt" for a in common]
        label = f"the variants of {n_many:,} of these promoters (~{int(n_variants * n_many / n_genes):,})"
    out.append((f"{label} x 1019 CORE vertebrates", run(common + ["--tax-group", "vertebrates"], workdir)))
    return out


def genome_workload(workdir: Path, scale: float, genome_mb: int, counts: list[int]) -> list[tuple[str, dict]]:
    n_chroms = 3
    length = genome_mb * 1_000_000 // n_chroms
    names = [str(c + 1) for c in range(n_chroms)]
    genome = write_genome(workdir / "g.fa", dict.fromkeys(names, length), seed=4)
    out = []
    for n in counts:
        n = max(100, int(n * scale))
        rng = np.random.default_rng(5)
        lines = []
        for name in names:  # the VCF sorted by chromosome, then position
            positions = np.sort(rng.choice(length - 100, n // n_chroms, replace=False))
            lines += random_variants(rng, genome, name, positions)
        vcf = write_vcf(workdir / f"g{n}.vcf", lines, dict.fromkeys(names, length), index=True)
        label = f"--all, {len(lines):,} variants (bgzipped, indexed) on {genome_mb} Mb x 22 ATF/CREB (streamed)"
        out.append((label, run(["variants", str(vcf), "--all", "--genome", "g.fa", "-o", "out.tsv", "-q"], workdir)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="promoters,genome")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--scale-1019", type=float, default=None,
                        help="Scale of the 1019-matrix promoter run (default: --scale), e.g. 0.1.")
    parser.add_argument("--keep", default=None, help="Keep the inputs in this folder.")
    parser.add_argument("--genome-mb", type=int, default=300, help="Size of the --all workload's genome (Mb).")
    parser.add_argument("--genome-variants", default="300000,1000000,3000000",
                        help="VCF sizes of the --all workload (comma-separated).")
    options = parser.parse_args()
    folder = Path(options.keep) if options.keep else Path(tempfile.mkdtemp(prefix="motifscan-variants-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for name in options.workload.split(","):
        if name == "promoters":
            results += promoters_workload(folder, options.scale, options.scale_1019)
        else:
            results += genome_workload(folder, options.scale, options.genome_mb,
                                       [int(n) for n in options.genome_variants.split(",")])
    print(f"motifscan variants benchmark; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    print("| workload | wall (s) | CPU (s) | peak RSS (MB) | rows |\n|---|---:|---:|---:|---:|")
    for label, r in results:
        print(f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_mb']:.0f} | {r['rows']:,} |")


if __name__ == "__main__":
    main()
