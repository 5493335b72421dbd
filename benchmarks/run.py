#!/usr/bin/env python
"""Benchmark harness: motifscan against MOODS, lightmotif, memelite and FIMO, whole process, in one run.

``python benchmarks/run.py`` runs every workload at full size (about 10 minutes on 2 cores);
``python benchmarks/run.py --workload b --quick`` one workload at a tenth of its records. See benchmarks/README.md.

Every tool runs as its users run it, as a command of its own that reads the FASTA file and writes every hit to a
file: ``motifscan fasta ... -o hits.tsv``; MOODS's own ``moods-dna.py`` script (its defaults: natural-log odds with
pseudocount 0.01, ``--batch`` thresholds from ``threshold_from_p`` for each matrix and its reverse complement);
lightmotif, memelite and FIMO (pymemesuite) through the small scripts in ``benchmarks/peers/``. Each run starts cold:
its own empty working directory and empty cache folders (``XDG_CACHE_HOME``, ``NUMBA_CACHE_DIR``), so nothing is
carried from one run to the next. A lean launcher process forks the command and reports its wall time, CPU time and
peak resident memory (``wait4``: the peak of the command's whole process, interpreter start to exit).

The motifscan measured is the source tree this script sits in (or ``--source DIR``), copied at the start of the run so
that edits made meanwhile do not mix versions, and byte-compiled there as ``pip install`` does.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
PEERS = HERE / "peers"
PSEUDOCOUNT = 0.8  # motifscan's default, total per column
BACKGROUND = np.full(4, 0.25)
LETTERS = "ACGT"
SEED = 20260
SCORE_EPSILON = 1e-9  # bits: a window within this below a threshold counts as reaching it (float sums' order)
P_THRESHOLD = 1e-4  # the exact checks' p (workloads at another p skip them)

VERTEBRATES = "JASPAR2026 CORE vertebrates (1019)"
ATF_CREB = "ATF/CREB default set (22)"
# name -> sequences (a seeded set: "promoters" is shared by b, d and e), motif set, p threshold, tools
WORKLOADS = {
    "a": dict(sequences="a", n=1000, length=1000, motifs="vertebrates", p=1e-4,
              tools=["motifscan", "moods", "lightmotif", "memelite"],
              what=f"1 Mb (1,000 x 1 kb) x {VERTEBRATES}"),
    "b": dict(sequences="promoters", n=20000, length=2500, motifs="atf_creb", p=1e-4,
              tools=["motifscan", "moods", "lightmotif", "memelite"],
              what=f"20,000 promoters x 2.5 kb (50 Mb) x {ATF_CREB}"),
    "c": dict(sequences="c", n=100, length=1000, motifs="vertebrates", p=1e-4,
              tools=["motifscan", "moods", "lightmotif", "memelite", "fimo"],
              what=f"100 kb (100 x 1 kb) x {VERTEBRATES}, with FIMO"),
    "d": dict(sequences="promoters", n=20000, length=2500, motifs="vertebrates", p=1e-4,
              tools=["motifscan", "moods"],
              what=f"20,000 promoters x 2.5 kb (50 Mb) x {VERTEBRATES}"),
    "e": dict(sequences="promoters", n=20000, length=2500, motifs="atf_creb", p=1e-3,
              tools=["motifscan"],
              what=f"(b) at p <= 1e-3: 20,000 promoters x 2.5 kb x {ATF_CREB}, about 2.3 M hits"),
}
ALL_TOOLS = ["motifscan", "moods", "lightmotif", "memelite", "fimo"]
QUICK_SCALE = 0.1

# (workload, what, limit, description): "ratio:TOOL" is motifscan's whole time / TOOL's; "seconds" and "peak_mb"
# are motifscan's own
TARGETS = [
    ("a", "ratio:moods", 0.2, "(a) motifscan time <= 0.2 x MOODS"),
    ("a", "ratio:lightmotif", 1.0, "(a) motifscan time <= 1.0 x lightmotif"),
    ("b", "ratio:moods", 1.0, "(b) motifscan time <= 1.0 x MOODS"),
    ("b", "ratio:lightmotif", 1.0, "(b) motifscan faster than lightmotif"),
    ("b", "ratio:memelite", 1.0, "(b) motifscan faster than memelite"),
    ("e", "peak_mb", 600.0, "(e) motifscan peak memory <= 600 MB"),
    ("e", "seconds", 10.0, "(e) motifscan time <= 10 s"),
]

LAUNCHER = r"""
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(report, "w") as handle:
    handle.write(f"{wall} {usage.ru_utime} {usage.ru_stime} {usage.ru_maxrss} {code}\n")
sys.exit(0 if code == 0 else 1)
"""
"""Forks and execs a command, then writes its wall time, CPU time, peak RSS (ru_maxrss, kB) and exit code. A lean
process (``python -S``, about 8 MB), because Linux carries ru_maxrss across exec: a command forked from this harness
(which holds the sequences) would report at least the harness's RSS."""


# =====================================================================================================================
# Inputs
# =====================================================================================================================


def jaspar_path() -> Path:
    import pyjaspar
    return Path(pyjaspar.__file__).parent / "data" / "JASPAR2026.sqlite"


def load_jaspar(motif_set: str) -> tuple[list[str], list[str], list[np.ndarray]]:
    """IDs, names and count matrices (4, w) of a motif set, read from pyjaspar's bundled SQLite file directly.

    ``vertebrates``: the latest version of every base ID whose matrix is CORE with tax_group vertebrates, by ID.
    ``atf_creb``: the IDs listed in motifs/atf_creb.txt, in file order.
    """
    db = sqlite3.connect(f"file:{jaspar_path()}?mode=ro", uri=True)
    matrices = {key: (coll, base, int(ver), name) for key, coll, base, ver, name in
                db.execute("SELECT ID, COLLECTION, BASE_ID, VERSION, NAME FROM MATRIX")}
    tax = dict(db.execute("SELECT ID, VAL FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group'"))
    if motif_set == "vertebrates":
        latest: dict[str, tuple[int, int]] = {}
        for key, (_, base, version, _) in matrices.items():
            if base not in latest or version > latest[base][0]:
                latest[base] = (version, key)
        keys = sorted((key for _, key in latest.values()
                       if matrices[key][0] == "CORE" and tax.get(key, "").lower() == "vertebrates"),
                      key=lambda k: matrices[k][1])
    else:
        lines = (REPO / "motifs" / "atf_creb.txt").read_text().splitlines()
        wanted = [line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]
        by_id = {f"{base}.{version}": key for key, (_, base, version, _) in matrices.items()}
        keys = [by_id[w] for w in wanted]
    cells: dict[int, list] = {k: [] for k in keys}
    for key, row, col, val in db.execute("SELECT ID, row, col, val FROM MATRIX_DATA"):
        if key in cells:
            cells[key].append((row, col, val))
    counts = []
    for key in keys:
        width = max(col for _, col, _ in cells[key])
        matrix = np.zeros((4, width))
        for row, col, val in cells[key]:
            matrix[LETTERS.index(row.upper()), col - 1] = val
        counts.append(matrix)
    ids = [f"{matrices[k][1]}.{matrices[k][2]}" for k in keys]
    names = [matrices[k][3] for k in keys]
    return ids, names, counts


def probabilities(counts: np.ndarray) -> np.ndarray:
    """motifscan's model: (C + k b) / (N + k) per column, k = 0.8, b uniform."""
    return (counts + PSEUDOCOUNT * BACKGROUND[:, None]) / (counts.sum(axis=0, keepdims=True) + PSEUDOCOUNT)


def log_odds(counts: np.ndarray) -> np.ndarray:
    return np.log2(probabilities(counts) / BACKGROUND[:, None])


def write_motif_files(directory: Path, motif_set: str) -> dict:
    """The motif set in each peer's format: a folder of MOODS .pfm count files (one per matrix, named by ID) and a
    MEME file of motifscan's pseudocounted probabilities (lightmotif, memelite, FIMO)."""
    ids, names, counts = load_jaspar(motif_set)
    pfm_dir = directory / f"{motif_set}-pfm"
    pfm_dir.mkdir(exist_ok=True)
    meme_lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
                                    "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for motif_id, name, c in zip(ids, names, counts):
        rows = [" ".join(f"{v:g}" for v in row) for row in c]
        (pfm_dir / f"{motif_id}.pfm").write_text("\n".join(rows) + "\n")
        p = probabilities(c)
        nsites = int(round(c.sum(axis=0).max()))
        meme_lines += [f"MOTIF {motif_id} {name.replace(' ', '_')}",
                       f"letter-probability matrix: alength= 4 w= {p.shape[1]} nsites= {nsites} E= 0"]
        meme_lines += [" ".join(f"{v:.12f}" for v in column) for column in p.T]
        meme_lines.append("")
    meme = directory / f"{motif_set}.meme"
    meme.write_text("\n".join(meme_lines))
    return dict(ids=ids, names=names, log_odds=[log_odds(c) for c in counts], pfms=sorted(map(str, pfm_dir.iterdir())),
                meme=str(meme))


def make_sequences(name: str, n: int, length: int) -> np.ndarray:
    """Uniform ACGT codes (n, length), uint8, from a seed fixed per sequence set (a smaller run takes a prefix)."""
    rng = np.random.default_rng(SEED + sorted({w["sequences"] for w in WORKLOADS.values()}).index(name))
    return rng.integers(0, 4, size=(n, length), dtype=np.uint8)


def write_fasta(path: Path, codes: np.ndarray) -> None:
    letters = np.frombuffer(LETTERS.encode(), np.uint8)
    with open(path, "wb") as handle:
        for i, row in enumerate(codes):
            handle.write(f">seq{i:06d}\n".encode())
            text = letters[row].tobytes()
            for offset in range(0, len(text), 80):
                handle.write(text[offset : offset + 80] + b"\n")



# =====================================================================================================================
# Running one tool
# =====================================================================================================================

SOURCE: dict = {"src": None, "before": None}  # snapshots of motifscan's sources (see snapshot_source)
BEFORE = "motifscan-before"
"""The row of ``--before DIR``: motifscan from another checkout (e.g. the commit before this work), same command."""


def snapshot_source(source: Path, workdir: Path, name: str = "src") -> dict:
    """Copy motifscan/ and motifs/ of a checkout into the working folder, so that every run of one benchmark uses the
    same code even while the checkout is being edited; the path, a digest of the sources and ``git describe``."""
    import compileall
    import hashlib

    if not (source / "motifscan" / "__init__.py").exists():
        raise SystemExit(f"--source {source}: no motifscan/ source tree there")
    target = workdir / name
    shutil.rmtree(target, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source / "motifscan", target / "motifscan", ignore=ignore)
    shutil.copytree(source / "motifs", target / "motifs", ignore=ignore)
    # byte-compile the copy, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as on this machine) every run
    # would otherwise compile every module again (~0.13 s of CPU per run), a cost no installed motifscan pays
    compileall.compile_dir(str(target / "motifscan"), quiet=1)
    digest = hashlib.sha256()
    for path in sorted((target / "motifscan").rglob("*.py")):
        digest.update(path.relative_to(target).as_posix().encode() + b"\0" + path.read_bytes())
    SOURCE[name] = str(target)
    try:
        head = subprocess.run(["git", "-C", str(source), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "motifscan"], capture_output=True,
                               text=True).stdout.strip()
        describe = f"commit {head[:80]}" + (" + uncommitted changes" if dirty else "") if head else str(source)
    except OSError:
        describe = str(source)
    return dict(path=str(target), digest=digest.hexdigest()[:12], describe=describe)


def moods_script() -> str:
    found = shutil.which("moods-dna.py") or str(Path(sys.executable).parent / "moods-dna.py")
    if not Path(found).exists():
        raise SystemExit("moods-dna.py not found: pip install '.[bench]' (MOODS-python)")
    return found


def tool_command(tool: str, spec: dict, motifs: dict, fasta: str, out: str) -> list[str]:
    """The command line of one tool, as its users type it (the FASTA and the output are in the run's folder)."""
    p = f"{spec['p']:g}"
    if tool in ("motifscan", BEFORE):
        group = ["--collection", "CORE", "--tax-group", "vertebrates"] if spec["motifs"] == "vertebrates" else []
        return [sys.executable, "-m", "motifscan", "-q", "fasta", fasta, *group, "--pvalue", p, "-o", out]
    if tool == "moods":
        return [sys.executable, moods_script(), "-m", *motifs["pfms"], "-s", fasta, "-p", p, "--batch", "-o", out]
    script = {"lightmotif": "lightmotif_scan.py", "memelite": "memelite_scan.py", "fimo": "fimo_scan.py"}[tool]
    return [sys.executable, str(PEERS / script), motifs["meme"], fasta, p, out]


OUTPUT_NAME = {"motifscan": "hits.tsv", BEFORE: "hits.tsv", "moods": "hits.csv", "lightmotif": "hits.tsv",
               "memelite": "hits.tsv", "fimo": "hits.tsv"}


def run_tool(tool: str, workload: str, spec: dict, motifs: dict, fasta: Path, workdir: Path, args,
             label: str | None = None) -> dict:
    """Run one tool cold in a fresh folder: whole-process wall time, CPU time, peak RSS, hits written."""
    label = label or f"{workload}-{tool}"
    run_dir = workdir / "runs" / label
    shutil.rmtree(run_dir, ignore_errors=True)
    cache = run_dir / "cache"
    cache.mkdir(parents=True)
    local_fasta = run_dir / fasta.name
    local_fasta.symlink_to(fasta)  # pyfaidx (memelite) writes its .fai here, not beside the shared input
    out = run_dir / OUTPUT_NAME[tool]
    command = tool_command(tool, spec, motifs, str(local_fasta), str(out))
    if args.profile and tool == "motifscan":
        command = [command[0], "-m", "pyinstrument", "-o", str(run_dir / "profile.txt"), *command[1:]]
    if tool == "memelite" and NUMBA_CACHE["path"]:  # compiled code (not results), as after memelite's first use
        shutil.copytree(NUMBA_CACHE["path"], cache / "numba")
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), NUMBA_CACHE_DIR=str(cache / "numba"),
               MPLCONFIGDIR=str(cache / "matplotlib"), PYTHONHASHSEED="0")
    source = SOURCE["before"] if tool == BEFORE else SOURCE["src"] if tool == "motifscan" else None
    if source:
        env["PYTHONPATH"] = source + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    report = run_dir / "usage.txt"
    load = os.getloadavg()
    with open(run_dir / "stdout", "wb") as stdout, open(run_dir / "stderr", "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(report), *command], cwd=run_dir,
                                   env=env, stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            process.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    record = dict(tool=tool, workload=workload, command=" ".join(_short(c, workdir) for c in command[:12])
                  + (" ..." if len(command) > 12 else ""), load_at_start=load[0], run_dir=str(run_dir))
    if not report.exists():
        record["error"] = f"timed out after {args.timeout:g} s"
        return record
    wall, user, system, maxrss_kb, code = report.read_text().split()
    record.update(whole=float(wall), cpu=float(user) + float(system), peak_mb=int(maxrss_kb) / 1024,
                  returncode=int(code))
    if int(code) != 0 or not out.exists():
        tail = (run_dir / "stderr").read_text(errors="replace").strip().splitlines()[-3:]
        record["error"] = " | ".join(tail) or f"exit code {code}"
        return record
    record["output"] = str(out)
    record["output_mb"] = out.stat().st_size / 2**20
    record["hits"] = count_hits(tool, out)
    if args.profile and tool == "motifscan" and (run_dir / "profile.txt").exists():
        record["profile"] = str(run_dir / "profile.txt")
    return record


NUMBA_CACHE: dict = {"path": None}


def warm_numba(motifs: dict, workdir: Path, args) -> dict:
    """Run memelite once on a tiny input so that numba compiles its functions into a cache folder, which each timed
    memelite run then starts from (a copy): the state of an installation after its first use. Without it, each run
    spends about 20 s of CPU compiling (measured by this warm-up's time)."""
    codes = make_sequences("c", 2, 1000)
    fasta = workdir / "warm.fa"
    write_fasta(fasta, codes)
    spec = dict(p=1e-4, motifs="warm")
    r = run_tool("memelite", "warm-up", spec, motifs, fasta, workdir, args, label="memelite-warm-up")
    if "error" not in r:
        NUMBA_CACHE["path"] = str(Path(r["run_dir"]) / "cache" / "numba")
    return r


def _short(text: str, workdir: Path) -> str:
    return text.replace(str(workdir) + "/", "").replace(str(REPO) + "/", "").replace(sys.executable, "python")


def count_hits(tool: str, path: Path) -> int:
    """Data rows of a tool's hit file: every line but the header and ``#`` lines (MOODS: no header)."""
    lines = comments = 0
    previous = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
            comments += block.count(b"\n#") + (previous == b"\n" and block[:1] == b"#")
            previous = block[-1:]
    return lines - comments - (0 if tool == "moods" else 1)


def motifscan_thresholds(motif_set: str, p: float, workdir: Path) -> dict | None:
    """motifscan's score thresholds of a motif set timed alone (its p-value code, in a process of its own)."""
    selection = 'collections=["CORE"], tax_groups=["vertebrates"]' if motif_set == "vertebrates" else ""
    code = "\n".join([
        "import time, numpy as np",
        "from motifscan.motifs import select_motifs, log_odds",
        "from motifscan import pvalues",
        f"motifs = select_motifs({selection})",
        "bg = np.full(4, 0.25)",
        f"matrices = [log_odds(m.counts, {PSEUDOCOUNT}, bg) for m in motifs]",
        "start = time.perf_counter()",
        f"pvalues.score_thresholds(matrices, bg, {p})",
        "print(time.perf_counter() - start, len(matrices))"])
    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / "thresholds-cache"))
    if SOURCE["src"]:
        env["PYTHONPATH"] = SOURCE["src"]
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
        seconds, n = done.stdout.split()
        return dict(seconds=float(seconds), matrices=int(n))
    except (ValueError, subprocess.SubprocessError):
        return None


# =====================================================================================================================
# Reading the hits back (for the comparisons)
# =====================================================================================================================


def hit_keys(tool: str, path: str, ids: list[str], n_seqs: int, length: int) -> np.ndarray:
    """Sorted unique int64 keys of (motif, sequence, 0-based start, strand) of a tool's hit file."""
    import pandas

    if tool in ("motifscan", BEFORE):
        frame = pandas.read_csv(path, sep="\t", comment="#", usecols=["motif_id", "seq_name", "start", "strand"])
        motif, seq, start, strand = frame["motif_id"], frame["seq_name"], frame["start"], frame["strand"]
    elif tool == "moods":
        frame = pandas.read_csv(path, sep=",", header=None, usecols=[0, 1, 2, 3])
        motif = frame[1].str.removesuffix(".pfm")
        seq, start, strand = frame[0], frame[2], frame[3]
    elif tool == "lightmotif":
        frame = pandas.read_csv(path, sep="\t")
        motif, seq, start, strand = frame["motif_id"], frame["seq_name"], frame["start"], frame["strand"]
    elif tool == "memelite":
        frame = pandas.read_csv(path, sep="\t")
        motif = frame["motif_name"].str.split().str[0]
        seq, start, strand = frame["sequence_name"], frame["start"], frame["strand"]
    else:  # fimo: 1-based inclusive
        frame = pandas.read_csv(path, sep="\t")
        motif, seq, start, strand = frame["motif_id"], frame["sequence_name"], frame["start"] - 1, frame["strand"]
    index = pandas.Series(np.arange(len(ids)), index=ids)
    motif_index = index.reindex(motif.astype(str)).to_numpy()
    if np.isnan(motif_index.astype(float)).any():
        raise ValueError(f"{tool}: hits of motifs outside the set")
    seq_index = seq.astype(str).str[3:].astype(np.int64).to_numpy()  # names are "seq000123"
    minus = (strand.astype(str) == "-").to_numpy()
    keys = ((motif_index.astype(np.int64) * n_seqs + seq_index) * length + start.to_numpy(np.int64)) * 2 + minus
    return np.unique(keys)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b, assume_unique=True)) / union if union else 1.0


def decode_keys(keys: np.ndarray, n_seqs: int, length: int):
    minus = keys % 2
    rest = keys // 2
    start = rest % length
    rest //= length
    return rest // n_seqs, rest % n_seqs, start, minus.astype(bool)


def exact_scores(keys: np.ndarray, codes: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """float64 scores of the windows named by ``keys`` under the harness's own log-odds matrices."""
    n_seqs, length = codes.shape
    motif, seq, start, minus = decode_keys(keys, n_seqs, length)
    scores = np.full(len(keys), np.nan)
    for k in np.unique(motif):
        rows = np.flatnonzero(motif == k)
        matrix = matrices[k]
        width = matrix.shape[1]
        window = codes[seq[rows, None], start[rows, None] + np.arange(width)]
        forward = matrix[window, np.arange(width)].sum(axis=1)
        reverse = matrix[::-1, ::-1][window, np.arange(width)].sum(axis=1)
        scores[rows] = np.where(minus[rows], reverse, forward)
    return scores


def exact_tails(matrices: list[np.ndarray], max_width: int) -> dict[int, tuple[np.ndarray, np.ndarray, int]]:
    """For every matrix of width <= max_width, enumerate all 4^w words (uniform background) and keep the top of the
    score distribution: matrix index -> (scores ascending, their exact P(S >= s - eps), 4^w). The kept words are the
    2 p N + 3 best and all tied with them, so every score with p <= 2 p is there."""
    tails = {}
    for k, matrix in enumerate(matrices):
        width = matrix.shape[1]
        if width > max_width:
            continue
        scores = matrix[:, 0]
        for j in range(1, width):
            scores = (scores[:, None] + matrix[:, j][None, :]).ravel()
        total = len(scores)
        keep = min(total - 1, int(2 * P_THRESHOLD * total) + 2)
        cut = np.partition(scores, total - 1 - keep)[total - 1 - keep]
        top = np.sort(scores[scores >= cut - 1e-6])  # ascending, ties at the cut included
        p_of = (len(top) - np.searchsorted(top, top - SCORE_EPSILON, side="left")) / total  # P(S >= s - eps)
        tails[k] = (top, p_of, total)
    return tails


def exact_pvalues(tail: tuple[np.ndarray, np.ndarray, int], scores: np.ndarray) -> np.ndarray:
    """Exact p-values of scores from a tail of :func:`exact_tails`; scores below the tail get +inf (p > 2 p)."""
    top, _, total = tail
    p = (len(top) - np.searchsorted(top, scores - SCORE_EPSILON, side="left")) / total
    return np.where(scores >= top[0] - SCORE_EPSILON, p, np.inf)


def truth_check(keys: dict[str, np.ndarray], codes: np.ndarray, matrices: list[np.ndarray], tails: dict,
                rel_tol: float = 0.01) -> dict:
    """Each tool's hits against exact p-values, on the matrices narrow enough to enumerate, among the windows that
    any tool reported: hits with exact p > p (and > (1 + tol) p), and windows with exact p <= p (and <= p / (1 + tol))
    that the tool lacks."""
    n_seqs, length = codes.shape
    union = np.unique(np.concatenate(list(keys.values()))) if keys else np.zeros(0, np.int64)
    motif = decode_keys(union, n_seqs, length)[0]
    union = union[np.isin(motif, list(tails))]
    motif = decode_keys(union, n_seqs, length)[0]
    scores = exact_scores(union, codes, matrices)
    p = np.full(len(union), np.inf)
    for k in np.unique(motif):
        rows = np.flatnonzero(motif == k)
        p[rows] = exact_pvalues(tails[k], scores[rows])
    truth = union[p <= P_THRESHOLD]
    clear = union[p <= P_THRESHOLD / (1 + rel_tol)]
    false = union[p > P_THRESHOLD]
    clearly_false = union[p > (1 + rel_tol) * P_THRESHOLD]
    out = dict(matrices=len(tails), true_windows=int(len(truth)))
    for tool, k in keys.items():
        mine = k[np.isin(decode_keys(k, n_seqs, length)[0], list(tails))]
        out[tool] = dict(hits=int(len(mine)), jaccard_vs_exact=jaccard(mine, truth),
                         p_above=int(np.isin(mine, false).sum()), p_above_1pct=int(np.isin(mine, clearly_false).sum()),
                         missed=int((~np.isin(truth, mine)).sum()), missed_1pct=int((~np.isin(clear, mine)).sum()))
    return out



def machine_info() -> dict:
    info = dict(platform=platform.platform(), python=platform.python_version(), cores=os.cpu_count(),
                usable_cores=len(os.sched_getaffinity(0)))
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                            if line.startswith("model name")), "?")
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
        info["simd"] = " ".join(f for f in ("avx2", "avx512f", "fma") if f in flags)
    except OSError:
        info["cpu"] = "?"
    try:
        meminfo = Path("/proc/meminfo").read_text().split()
        info["memory_gb"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    info["numpy"] = np.__version__
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = "; ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('threading_layer', '')}, "
                                 f"{p.get('num_threads')} threads, {p.get('architecture', '')})"
                                 for p in threadpool_info() if p.get("user_api") == "blas") or "?"
    except ImportError:
        config = np.show_config(mode="dicts") if "mode" in np.show_config.__code__.co_varnames else {}
        blas = config.get("Build Dependencies", {}).get("blas", {}) if isinstance(config, dict) else {}
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')} (threadpoolctl not installed)"
    from importlib import metadata
    for package in ("MOODS-python", "lightmotif", "memelite", "pymemesuite", "numba", "pyjaspar"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = None
    return info


def analyse(entry: dict, spec: dict, codes: np.ndarray, motifs: dict, tails: dict | None) -> None:
    """Hit sets against motifscan's (Jaccard) and, for the tools sharing motifscan's model, against exact p-values."""
    n_seqs, length = codes.shape
    keys = {}
    for tool, r in entry["tools"].items():
        if r.get("output"):
            try:
                keys[tool] = hit_keys(tool, r["output"], motifs["ids"], n_seqs, length)
            except Exception as error:  # a comparison that fails must not lose the timings
                entry["notes"].append(f"{tool}: hits not compared ({type(error).__name__}: {error})")
    mine = keys.get("motifscan")
    for tool, k in keys.items():
        entry["tools"][tool]["jaccard_vs_motifscan"] = jaccard(k, mine) if mine is not None else None
    same_model = {tool: k for tool, k in keys.items() if tool != "moods"}  # MOODS: its own log-odds model
    if tails and same_model and spec["p"] == P_THRESHOLD:
        entry["truth"] = truth_check(same_model, codes, motifs["log_odds"], tails)


# =====================================================================================================================
# Report
# =====================================================================================================================


def fmt(value, digits=2, unit=""):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def target_rows(results: dict) -> list[dict]:
    rows = []
    for workload, what, limit, description in TARGETS:
        tools = results["workloads"].get(workload, {}).get("tools", {})
        mine = tools.get("motifscan", {})
        value = None
        if what.startswith("ratio:"):
            peer = tools.get(what.split(":")[1], {})
            if mine.get("whole") and peer.get("whole"):
                value = mine["whole"] / peer["whole"]
        elif what == "seconds":
            value = mine.get("whole")
        elif what == "peak_mb":
            value = mine.get("peak_mb")
        if value is None:
            continue
        strict = "faster" in description
        met = value < limit if strict else value <= limit
        rows.append(dict(target=description, value=value, limit=limit, met=met, unit="x" if ":" in what else
                         (" s" if what == "seconds" else " MB")))
    return rows


def report(results: dict) -> str:
    m = results["machine"]
    lines = [f"# motifscan benchmark — {results['started']}", ""]
    lines.append(f"Machine: {m.get('cpu')} ({m.get('simd')}), {m.get('cores')} cores, {m.get('memory_gb')} GB; "
                 f"{m.get('platform')}; Python {m['python']}, numpy {m['numpy']}. Peers: MOODS-python "
                 f"{m.get('MOODS-python')}, lightmotif {m.get('lightmotif')}, memelite {m.get('memelite')} (numba "
                 f"{m.get('numba')}), pymemesuite {m.get('pymemesuite')}.")
    lines.append(f"motifscan: {m.get('motifscan_source', {}).get('describe')} (sources sha256 "
                 f"{m.get('motifscan_source', {}).get('digest')}, copied and byte-compiled at the start of the run).")
    if m.get("before_source"):
        lines.append(f"{BEFORE}: {m['before_source'].get('describe')} (sources sha256 "
                     f"{m['before_source'].get('digest')}), the same command.")
    lines.append(f"Load: `uptime` at the start: `{results.get('uptime_start')}`; at the end: "
                 f"`{results.get('uptime_end', '?')}`. The machine is shared (other engineers run test suites on "
                 f"its 2 cores), so single timings move; every ratio below comes from this one run.")
    warm = results.get("memelite-warm-up")
    if warm and "whole" in warm:
        lines.append(f"memelite: numba compiled its functions once, in an untimed warm-up on 2 kb "
                     f"({warm['whole']:.1f} s, {warm['cpu']:.1f} s CPU); each memelite run starts from a copy of that "
                     f"compiled-code cache, as an installation does after its first use (with an empty one, each run "
                     f"would add that time).")
    lines.append(f"Command: `{results['command']}` (size x{results['scale']:g}); each tool run once, cold (own "
                 f"folder, empty cache folders), writing every hit to a file.")
    lines.append("")
    rows = target_rows(results)
    if rows:
        lines += ["## Targets", "", "| target | measured | met |", "|---|---:|---|"]
        for row in rows:
            lines.append(f"| {row['target']} | {row['value']:.2f}{row['unit']} | {'yes' if row['met'] else '**no**'} |")
        lines.append("")
    for workload, entry in results["workloads"].items():
        lines.append(f"## ({workload}) {entry['what']}: {entry['n']:,} x {entry['length']:,} bp, {entry['n_motifs']} "
                     f"matrices, both strands, p <= {entry['p']:g}")
        lines.append("")
        lines.append("| tool | whole s | CPU s | peak RSS MB | hits | output MB | motifscan time / tool | "
                     "motifscan memory / tool | Jaccard vs motifscan |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = entry["tools"].get("motifscan", {})
        for tool, r in entry["tools"].items():
            if "error" in r:
                lines.append(f"| {tool} | failed: {r['error'][:200]} ||||||||")
                continue
            time_ratio = base["whole"] / r["whole"] if base.get("whole") else None
            memory_ratio = base["peak_mb"] / r["peak_mb"] if base.get("peak_mb") else None
            lines.append(f"| {tool} | {fmt(r['whole'])} | {fmt(r['cpu'])} | {fmt(r['peak_mb'], 0)} | "
                         f"{fmt(r.get('hits'))} | {fmt(r.get('output_mb'), 1)} | {fmt(time_ratio, 2, 'x')} | "
                         f"{fmt(memory_ratio, 2, 'x')} | {fmt(r.get('jaccard_vs_motifscan'), 4)} |")
        lines.append("")
        loads = [r["load_at_start"] for r in entry["tools"].values() if "load_at_start" in r]
        if loads:
            lines.append("- 1-minute load average when each tool started: "
                         + ", ".join(f"{t} {r['load_at_start']:.2f}" for t, r in entry["tools"].items()
                                     if "load_at_start" in r))
        if entry.get("thresholds"):
            t = entry["thresholds"]
            lines.append(f"- motifscan's score thresholds for the {t['matrices']} matrices, timed alone in a process "
                         f"of its own: {t['seconds']:.3f} s")
        for note in entry.get("notes", []):
            lines.append(f"- {note}")
        if entry.get("truth"):
            t = entry["truth"]
            lines.append("")
            lines.append(f"Against exact p-values (all 4^w words enumerated) of the {t['matrices']} matrices of width "
                         f"<= 11, under motifscan's model (MOODS, with its own model, left out), among the windows "
                         f"any tool reported ({t['true_windows']:,} have exact p <= {P_THRESHOLD:g}):")
            lines.append("")
            lines.append("| tool | hits | Jaccard vs exact | hits with p > 1e-4 | of them p > 1.01e-4 | windows with "
                         "p <= 1e-4 missed | of them p <= 1e-4/1.01 |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|")
            for tool, v in t.items():
                if isinstance(v, dict):
                    lines.append(f"| {tool} | {v['hits']:,} | {v['jaccard_vs_exact']:.4f} | {v['p_above']:,} | "
                                 f"{v['p_above_1pct']:,} | {v['missed']:,} | {v['missed_1pct']:,} |")
        lines.append("")
    lines.append("Columns: *whole* = wall time of the tool's process from exec to exit (interpreter start, imports, "
                 "reading the FASTA, building the matrices, thresholds, the scan, writing every hit); *CPU* = user + "
                 "system time of that process (both cores add up); *peak RSS* = its peak resident memory (wait4's "
                 "ru_maxrss); *motifscan time / tool* < 1: motifscan is faster. Commands run:")
    lines.append("")
    for workload, entry in results["workloads"].items():
        for tool, r in entry["tools"].items():
            lines.append(f"- ({workload}) {tool}: `{r.get('command')}`")
    return "\n".join(lines) + "\n"


def write_outputs(results: dict, prefix: str) -> None:
    out = Path(prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.md").write_text(report(results))
    Path(f"{out}.json").write_text(json.dumps(results, indent=1, default=lambda o: None))


# =====================================================================================================================
# Main
# =====================================================================================================================


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="a,b,c,d,e", help="comma-separated, of a, b, c, d, e [all]")
    parser.add_argument("--quick", action="store_true", help=f"a smaller size: x{QUICK_SCALE:g} the records")
    parser.add_argument("--scale", type=float, default=None, help="multiply the number of records by this [1]")
    parser.add_argument("--tools", default=None, help=f"only these tools (comma-separated, of {', '.join(ALL_TOOLS)})")
    parser.add_argument("--source", default=str(REPO),
                        help="the motifscan checkout to measure (its motifscan/ and motifs/) [this one]")
    parser.add_argument("--before", default=None,
                        help=f"also run motifscan from this checkout (row {BEFORE!r}, on every workload but d) for "
                             "before/after numbers in one run")
    parser.add_argument("--profile", action="store_true",
                        help="run motifscan under pyinstrument (slower: for finding hot spots, not for the table)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip reading the hits back (Jaccard, exact p-values)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per tool run [1200]")
    parser.add_argument("--output", default=None,
                        help="results prefix: writes PREFIX.md and PREFIX.json [benchmarks/results/latest, or "
                             "benchmarks/results/quick with --quick]")
    parser.add_argument("--workdir", default=None, help="where inputs, runs and hits go [a temporary folder]")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    return parser.parse_args(argv)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    args = parse_args(argv)
    workloads = [w.strip() for w in args.workload.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    only = set(args.tools.split(",")) if args.tools else None
    if only and only - set(ALL_TOOLS):
        sys.exit(f"unknown tool(s): {', '.join(sorted(only - set(ALL_TOOLS)))}")
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    prefix = args.output or str(RESULTS / ("quick" if scale < 1 else "latest"))
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="motifscan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    machine = machine_info()
    machine["motifscan_source"] = snapshot_source(Path(args.source), workdir)
    if args.before:
        machine["before_source"] = snapshot_source(Path(args.before), workdir, "before")
    log(f"working folder: {workdir}; motifscan: {machine['motifscan_source']['describe']}")
    results = dict(machine=machine, started=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                   command=" ".join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
                   scale=scale, uptime_start=uptime(), workloads={})
    motif_sets: dict[str, dict] = {}
    fastas: dict[str, tuple[Path, np.ndarray]] = {}
    tails: dict[str, dict] = {}
    for workload in workloads:
        spec = WORKLOADS[workload]
        n = max(1, int(round(spec["n"] * scale)))
        if spec["motifs"] not in motif_sets:
            motif_sets[spec["motifs"]] = write_motif_files(workdir, spec["motifs"])
        motifs = motif_sets[spec["motifs"]]
        if spec["sequences"] not in fastas:
            codes = make_sequences(spec["sequences"], n, spec["length"])
            fasta = workdir / f"{spec['sequences']}.fa"
            write_fasta(fasta, codes)
            fastas[spec["sequences"]] = (fasta, codes)
        fasta, codes = fastas[spec["sequences"]]
        entry = dict(what=spec["what"], n=n, length=spec["length"], n_motifs=len(motifs["ids"]), p=spec["p"],
                     tools={}, notes=[])
        results["workloads"][workload] = entry
        tools = [t for t in spec["tools"] if not only or t in only]
        if args.before and workload != "d":
            tools.insert(1, BEFORE)
        if "memelite" in tools and "memelite-warm-up" not in results:
            r = results["memelite-warm-up"] = warm_numba(motifs, workdir, args)
            log("memelite warm-up (numba compiles): " + (r.get("error") or f"{r['whole']:.1f} s"))
        for tool in tools:
            r = run_tool(tool, workload, spec, motifs, fasta, workdir, args)
            entry["tools"][tool] = r
            log(f"({workload}) {tool}: " + (r.get("error") or f"{r['whole']:.2f} s, {r['peak_mb']:.0f} MB, "
                                                              f"{r['hits']:,} hits (load {r['load_at_start']:.2f})"))
            if r.get("profile"):
                entry.setdefault("profiles", {})[tool] = Path(r["profile"]).read_text()
        if "motifscan" in entry["tools"]:
            entry["thresholds"] = motifscan_thresholds(spec["motifs"], spec["p"], workdir)
        if not args.no_check and workload in ("a", "b", "c"):
            if spec["motifs"] not in tails:
                tails[spec["motifs"]] = exact_tails(motifs["log_odds"], max_width=11)
            analyse(entry, spec, codes, motifs, tails[spec["motifs"]])
        results["uptime_end"] = uptime()
        write_outputs(results, prefix)
    results["uptime_end"] = uptime()
    write_outputs(results, prefix)
    print(Path(prefix + ".md").read_text())
    for workload, entry in results["workloads"].items():
        for tool, text in entry.get("profiles", {}).items():
            Path(f"{prefix}.{workload}-{tool}.profile.txt").write_text(text)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
