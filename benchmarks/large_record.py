"""Peak memory and time of ``motifscan fasta`` on one long record in a gzip file (issue 9 item 23).

    python benchmarks/large_record.py [--mb 600] [--before CHECKOUT] [--workdir /tmp/fastapath/large]

The input is one seeded synthetic record of ``--mb`` Mb (benchmarks/genome.py's generator: 41% GC, a 50 kb N run
every 20 Mb), gzip-compressed (plain gzip cannot be indexed: it must be streamed). Each checkout (this one, and
``--before`` if given) runs ``motifscan -q fasta IN.fa.gz -o hits.tsv`` (the default ATF/CREB set, p <= 1e-4) as a
fresh process; the table gives its wall time, CPU time and peak resident memory (wait4's ru_maxrss), the hits and
the TSV size, and whether the TSVs are identical (the ``# command``/``# input`` lines aside). A measurement, not a
test: run it when the code is ready, and say the load (printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from genome import make_genome  # noqa: E402  (the one seeded generator of synthetic genomes)

REPO = Path(__file__).resolve().parent.parent


def run(checkout: Path, fasta: Path, out: Path) -> dict:
    """One cold run of ``motifscan fasta`` from ``checkout``: wall s, CPU s, peak RSS MB."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    command = [sys.executable, "-m", "motifscan", "-q", "fasta", str(fasta), "-o", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=out.parent)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{checkout}: motifscan failed (exit {os.waitstatus_to_exitcode(status)})")
    with open(out) as handle:
        hits = sum(1 for line in handle if not line.startswith("#")) - 1
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "hits": hits,
            "tsv_mb": out.stat().st_size / 1e6}


def _rows(path: Path) -> list[str]:
    with open(path) as handle:
        return [line for line in handle if not line.startswith(("# command", "# input"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=600, help="record length in Mb [600]")
    parser.add_argument("--before", default=None, help="also run this checkout (its motifscan/ and motifs/)")
    parser.add_argument("--workdir", default="/tmp/fastapath/large", help="inputs and outputs [/tmp/fastapath/large]")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    fasta = work / f"record{args.mb}.fa.gz"
    if not fasta.exists():
        make_genome(fasta, args.mb, compress=True)
    print(f"input: {fasta} ({fasta.stat().st_size / 1e6:.0f} MB gzip, {args.mb} Mb of sequence)")
    print(f"load at start: {os.getloadavg()[0]:.2f}")
    results = {}
    for label, checkout in (("before", args.before), ("this", str(REPO))):
        if checkout is None:
            continue
        folder = work / label
        folder.mkdir(exist_ok=True)
        results[label] = run(Path(checkout).resolve(), fasta, folder / "hits.tsv")
        print(f"load after {label}: {os.getloadavg()[0]:.2f}")
    print("\n| checkout | wall s | CPU s | peak RSS MB | hits | TSV MB |\n|---|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_mb']:.0f} | {r['hits']:,} | {r['tsv_mb']:.1f} |")
    if len(results) == 2:
        same = _rows(work / "before" / "hits.tsv") == _rows(work / "this" / "hits.tsv")
        print(f"\nTSVs identical (command/input lines aside): {same}")


if __name__ == "__main__":
    main()
