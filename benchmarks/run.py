#!/usr/bin/env python
"""Benchmark harness: motifscan against MOODS, memelite and FIMO (pymemesuite) on the same seeded workloads.

Run ``python benchmarks/run.py`` (all workloads, full scale) or e.g. ``python benchmarks/run.py --workload a,c
--scale 0.1``. Needs the ``[bench]`` extra: ``pip install '.[bench]'``. See benchmarks/README.md.

Every tool runs in a subprocess of its own (this same script with ``--child``), so that whole-process wall time counts
interpreter start, imports, reading the input, building the model, thresholds and the scan. The parent measures that
wall time and the CPU time (``os.wait4``; also the sampled RSS of the whole process tree when psutil is installed);
the child measures its phases (import, read, motifs, thresholds, scan call) and its peak RSS (VmHWM), and writes its
hits as arrays, which the parent compares as sets of (motif, sequence, 0-based start, strand).

The scoring model handed to every tool is motifscan's: counts + a total pseudocount of 0.8 per column spread by a
uniform background, log2 odds, p <= 1e-4 per strand, both strands. Where a tool cannot follow it, the report says so.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
PSEUDOCOUNT = 0.8
P_THRESHOLD = 1e-4
BACKGROUND = np.full(4, 0.25)
LETTERS = "ACGT"
SEED = 20260
SCORE_EPSILON = 1e-9  # bits: a window within this below a threshold counts as reaching it (float sums' order)

# name -> (records, record length, motif set, tools, description)
WORKLOADS = {
    "a": dict(n=1000, length=1000, motifs="vertebrates", tools=["motifscan", "motifscan-cli", "moods", "memelite"],
              what="1 Mb (1000 x 1 kb) x JASPAR2026 CORE vertebrates"),
    "b": dict(n=20000, length=2500, motifs="atf_creb", tools=["motifscan", "moods", "memelite"],
              what="20,000 promoters x 2.5 kb (50 Mb) x ATF/CREB set"),
    "c": dict(n=100, length=1000, motifs="vertebrates", tools=["motifscan", "moods", "memelite", "fimo"],
              what="100 kb (100 x 1 kb) x JASPAR2026 CORE vertebrates"),
    "mem": dict(n=1, length=50_000_000, motifs="atf_creb", tools=["motifscan", "motifscan-cli", "moods"],
                what="one 50 Mb sequence x ATF/CREB set (memory)"),
}
ALL_TOOLS = ["motifscan", "motifscan-cli", "moods", "memelite", "fimo"]
DIAGNOSTIC = "moods@motifscan-thresholds"
PROFILED = "motifscan@cprofile"


# =====================================================================================================================
# Shared helpers (parent and children)
# =====================================================================================================================


def read_fasta(path: str | Path) -> list[tuple[str, str]]:
    """(name, sequence) pairs of a FASTA file, read lean (one bytearray per record, then one str), so that reading
    a 50 Mb record costs about 100 MB at its peak and 50 MB after."""
    records: list[tuple[str, str]] = []
    name, body = None, bytearray()
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(b">"):
                if name is not None:
                    records.append((name, body.decode("ascii")))
                name, body = line[1:].split()[0].decode(), bytearray()
            else:
                body += line.rstrip(b"\r\n")
    if name is not None:
        records.append((name, body.decode("ascii")))
    return records


def seq_index(name: str) -> int:
    return int(name[3:])  # names are "seq000123"


def peak_rss_mb() -> float:
    """This process's peak resident set size since its exec (VmHWM). Not ru_maxrss: Linux carries that across exec, so
    a child would report at least the RSS of the parent that forked it."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_motif_npz(path: str | Path) -> tuple[list[str], list[np.ndarray]]:
    """IDs and probability matrices (4, w) written by :func:`write_motif_files`."""
    data = np.load(path)
    ids = [str(i) for i in data["ids"]]
    bounds = np.concatenate([[0], np.cumsum(data["widths"])])
    probs = data["probs"]
    return ids, [probs[:, bounds[k] : bounds[k + 1]].copy() for k in range(len(ids))]


def save_hits(path: str | Path, motif: np.ndarray, seq: np.ndarray, start: np.ndarray, minus: np.ndarray,
              **extra) -> None:
    np.savez(path, motif=np.asarray(motif, np.int64), seq=np.asarray(seq, np.int64),
             start=np.asarray(start, np.int64), minus=np.asarray(minus, bool), **extra)


# =====================================================================================================================
# Children: one tool, one workload
# =====================================================================================================================


class Clock:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.phases: dict[str, float] = {}
        self._last = self.t0
        self.memory: dict[str, float] = {}

    def before_scan(self) -> None:
        """Note the memory in use and the peak so far, just before the scan call."""
        self.memory = dict(rss_before_scan_mb=current_rss_mb(), peak_before_scan_mb=peak_rss_mb())

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self._last
        self._last = now


def _timed(function, store: dict, key: str):
    """Wrap ``function`` so that the time spent in it is added to ``store[key]``."""
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            store[key] = store.get(key, 0.0) + time.perf_counter() - start
    return wrapper


def _profiled(spec: dict, call):
    """Run ``call()``, under cProfile when the spec asks for it (the profile text goes to ``<out>.profile.txt``)."""
    if not spec.get("profile"):
        return call()
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(call)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    Path(spec["out"] + ".profile.txt").write_text(text.getvalue())
    return result


def child_motifscan(spec: dict, clock: Clock) -> dict:
    import inspect

    import motifscan
    import motifscan.api
    import motifscan.motifs
    import motifscan.pvalues
    clock.lap("import")
    records = read_fasta(spec["fasta"])
    clock.lap("read")
    if spec["motif_set"] == "vertebrates":
        motifs = motifscan.motifs.select_motifs(collections=["CORE"], tax_groups=["vertebrates"])
    else:
        motifs = motifscan.motifs.select_motifs()
    clock.lap("motifs")
    ids = [m.id for m in motifs]
    index = {m: k for k, m in enumerate(spec["motif_ids"])}
    timing: dict[str, float] = {}
    original = motifscan.pvalues.score_thresholds
    motifscan.pvalues.score_thresholds = _timed(original, timing, "thresholds")
    clock.before_scan()
    result = _profiled(spec, lambda: motifscan.api.scan_fasta(records, motifs, p_threshold=spec["p"]))
    clock.lap("scan")
    motifscan.pvalues.score_thresholds = original
    hits = result.hits
    save_hits(spec["out"] + ".npz",
              motif=np.fromiter((index.get(h.motif_id, -1) for h in hits), np.int64, len(hits)),
              seq=np.fromiter((seq_index(h.seq_name) for h in hits), np.int64, len(hits)),
              start=np.fromiter((h.start for h in hits), np.int64, len(hits)),
              minus=np.fromiter((h.strand == "-" for h in hits), bool, len(hits)))
    clock.lap("export")
    return dict(thresholds=timing.get("thresholds"), threshold_in_scan=True,
                version=motifscan.__version__, motif_ids_match=ids == spec["motif_ids"],
                scan_fasta_signature=str(inspect.signature(motifscan.api.scan_fasta)))


def child_motifscan_cli(spec: dict, clock: Clock) -> dict:
    """The ``motifscan fasta`` command, run in this process (as ``python -m motifscan`` would), so that its peak
    memory is measured the same way as every other tool's; its TSV output is then read back for the comparison."""
    group = ["--collection", "CORE", "--tax-group", "vertebrates"] if spec["motif_set"] == "vertebrates" else []
    sys.argv = ["motifscan", "-q", "fasta", spec["fasta"], *group, "--pvalue", str(spec["p"]),
                "-o", spec["out"] + ".tsv"]
    from motifscan.cli import main as cli_main
    clock.before_scan()
    try:
        cli_main()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    clock.lap("command")  # the whole command: no separate scan phase
    parse_cli_tsv(spec["out"] + ".tsv", spec["motif_ids"], Path(spec["out"]))
    clock.lap("export")
    return dict(thresholds=None, threshold_in_scan=True)


def child_motifscan_thresholds(spec: dict, clock: Clock) -> dict:
    """motifscan.pvalues.score_thresholds for the set's log-odds matrices, timed alone; writes them for the checks."""
    import motifscan.motifs
    import motifscan.pvalues
    clock.lap("import")
    if spec["motif_set"] == "vertebrates":
        motifs = motifscan.motifs.select_motifs(collections=["CORE"], tax_groups=["vertebrates"])
    else:
        motifs = motifscan.motifs.select_motifs()
    matrices = [motifscan.motifs.log_odds(m.counts, PSEUDOCOUNT, BACKGROUND) for m in motifs]
    clock.lap("motifs")
    thresholds = np.asarray(motifscan.pvalues.score_thresholds(matrices, BACKGROUND, spec["p"]), np.float64)
    clock.lap("thresholds")
    second = time.perf_counter()
    motifscan.pvalues.score_thresholds(matrices, BACKGROUND, spec["p"])
    second = time.perf_counter() - second
    by_id = dict(zip((m.id for m in motifs), thresholds))
    ordered = np.array([by_id.get(i, np.nan) for i in spec["motif_ids"]])
    np.save(spec["out"] + ".thresholds.npy", ordered)
    save_hits(spec["out"] + ".npz", [], [], [], [])
    clock.lap("export")
    return dict(thresholds=clock.phases["thresholds"], thresholds_second_call=second,
                motif_ids_match=[m.id for m in motifs] == spec["motif_ids"])


def child_moods(spec: dict, clock: Clock) -> dict:
    import MOODS.scan
    import MOODS.tools
    clock.lap("import")
    records = read_fasta(spec["fasta"])
    clock.lap("read")
    ids, probs = load_motif_npz(spec["motif_npz"])
    bg = list(BACKGROUND)
    forward = [[list(row) for row in np.log2(p / BACKGROUND[:, None])] for p in probs]
    reverse = [MOODS.tools.reverse_complement(m) for m in forward]
    clock.lap("motifs")
    if spec.get("thresholds_file"):  # diagnostic: motifscan's exact thresholds
        thresholds = [float(t) for t in np.load(spec["thresholds_file"])]
    else:  # the distribution of a matrix and of its reverse complement are the same: compute once
        thresholds = [MOODS.tools.threshold_from_p(m, bg, spec["p"]) for m in forward]
    clock.lap("thresholds")
    clock.before_scan()
    scanner = MOODS.scan.Scanner(7)
    scanner.set_motifs(forward + reverse, bg, thresholds + thresholds)
    n = len(forward)
    motif, seq, start, minus = [], [], [], []
    convert = {"export": 0.0}

    def scan_all():
        # hits are turned into arrays record by record (so that MOODS's match objects do not pile up in memory);
        # that conversion is timed apart and counted as export, not as scanning
        for name, sequence in records:
            per_matrix = scanner.scan(sequence)
            began = time.perf_counter()
            s = seq_index(name)
            for k, matches in enumerate(per_matrix):
                if matches:
                    positions = np.fromiter((m.pos for m in matches), np.int64, len(matches))
                    motif.append(np.full(len(positions), k % n))
                    seq.append(np.full(len(positions), s))
                    start.append(positions)
                    minus.append(np.full(len(positions), k >= n))
            convert["export"] += time.perf_counter() - began

    _profiled(spec, scan_all)
    clock.lap("scan")
    clock.phases["scan"] -= convert["export"]
    clock.phases["export"] = convert["export"]
    cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))
    save_hits(spec["out"] + ".npz", cat(motif, np.int64), cat(seq, np.int64), cat(start, np.int64), cat(minus, bool),
              thresholds=np.array(thresholds))
    clock.lap("export")
    return dict(thresholds=clock.phases["thresholds"], threshold_in_scan=False)


def child_memelite(spec: dict, clock: Clock) -> dict:
    import memelite
    fimo_module = sys.modules["memelite.fimo"]
    clock.lap("import")
    # memelite reads the FASTA itself (pyfaidx), inside the scan call: the natural use, and leaner than one-hot
    # arrays (200 MB more for workload b). The parent deletes pyfaidx's index first, so each run builds it.
    clock.lap("read")
    ids, probs = load_motif_npz(spec["motif_npz"])
    motifs = dict(zip(ids, probs))
    clock.lap("motifs")
    timing: dict[str, float] = {}
    original = fimo_module._pvalue_tables
    fimo_module._pvalue_tables = _timed(original, timing, "thresholds")
    clock.before_scan()
    # eps=0: the probabilities already hold motifscan's pseudocount, so log2(p) - log2(0.25) is motifscan's matrix
    frames = _profiled(spec, lambda: memelite.fimo(motifs, spec["fasta"], threshold=spec["p"], eps=0.0))
    clock.lap("scan")
    fimo_module._pvalue_tables = original
    index = {m: k for k, m in enumerate(ids)}
    motif, seq, start, minus = [], [], [], []
    for frame in frames:
        if len(frame):
            motif.append(frame["motif_name"].map(index).to_numpy(np.int64))
            seq.append(np.fromiter((seq_index(s) for s in frame["sequence_name"]), np.int64, len(frame)))
            start.append(frame["start"].to_numpy(np.int64))
            minus.append((frame["strand"] == "-").to_numpy(bool))
    cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))
    save_hits(spec["out"] + ".npz", cat(motif, np.int64), cat(seq, np.int64), cat(start, np.int64), cat(minus, bool))
    clock.lap("export")
    return dict(thresholds=timing.get("thresholds"), threshold_in_scan=True)


def child_fimo(spec: dict, clock: Clock) -> dict:
    from pymemesuite.common import Background, MotifFile, Sequence
    from pymemesuite.fimo import FIMO
    clock.lap("import")
    records = read_fasta(spec["fasta"])
    sequences = [Sequence(s, name.encode()) for name, s in records]
    del records
    clock.lap("read")
    # pseudocount 0: the MEME file's probabilities already hold motifscan's pseudocount
    with MotifFile(spec["motif_meme"], pseudocount=0.0) as motif_file:
        motifs = list(motif_file)
        background = Background.from_uniform(motif_file.alphabet)
    clock.lap("motifs")
    fimo = FIMO(both_strands=True, threshold=spec["p"])
    clock.before_scan()
    patterns = _profiled(spec, lambda: [fimo.score_motif(m, sequences, background) for m in motifs])
    clock.lap("scan")
    index = {m: k for k, m in enumerate(spec["motif_ids"])}
    motif, seq, start, minus = [], [], [], []
    for m, pattern in zip(motifs, patterns):
        k = index[m.accession.decode()]
        for element in pattern.matched_elements:
            motif.append(k)
            seq.append(seq_index(element.source.accession.decode()))
            start.append(min(element.start, element.stop) - 1)  # 1-based closed -> 0-based
            minus.append(element.strand == "-")
    save_hits(spec["out"] + ".npz", motif, seq, start, minus)
    clock.lap("export")
    return dict(thresholds=None, threshold_in_scan=True)


CHILDREN = {
    "motifscan": child_motifscan,
    "motifscan-thresholds": child_motifscan_thresholds,
    "motifscan-cli": child_motifscan_cli,
    "moods": child_moods,
    DIAGNOSTIC: child_moods,
    PROFILED: child_motifscan,
    "memelite": child_memelite,
    "fimo": child_fimo,
}


def child_main(spec_path: str) -> None:
    clock = Clock()
    spec = json.loads(Path(spec_path).read_text())
    info = CHILDREN[spec["tool"]](spec, clock)
    info["phases"] = clock.phases
    info.update(clock.memory)
    info["peak_rss_mb"] = peak_rss_mb()
    info["maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info["maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(spec["out"] + ".json").write_text(json.dumps(info))


# =====================================================================================================================
# Parent: inputs
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
    ids, names, counts = load_jaspar(motif_set)
    probs = [probabilities(c) for c in counts]
    npz = directory / f"{motif_set}.npz"
    np.savez(npz, ids=np.array(ids), widths=np.array([p.shape[1] for p in probs]), probs=np.concatenate(probs, axis=1))
    meme = directory / f"{motif_set}.meme"
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for motif_id, name, c, p in zip(ids, names, counts, probs):
        nsites = int(round(c.sum(axis=0).max()))
        lines += [f"MOTIF {motif_id} {name.replace(' ', '_')}",
                  f"letter-probability matrix: alength= 4 w= {p.shape[1]} nsites= {nsites} E= 0"]
        lines += [" ".join(f"{v:.12f}" for v in column) for column in p.T]
        lines.append("")
    meme.write_text("\n".join(lines))
    return dict(ids=ids, names=names, log_odds=[log_odds(c) for c in counts], npz=str(npz), meme=str(meme))


def make_sequences(workload: str, n: int, length: int) -> np.ndarray:
    """Uniform ACGT codes (n, length), uint8, from a seed fixed per workload (a scaled run takes a prefix)."""
    rng = np.random.default_rng(SEED + sorted(WORKLOADS).index(workload) if workload in WORKLOADS else SEED + 99)
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
# Parent: running children
# =====================================================================================================================


SOURCE = {"path": None}  # the snapshot of motifscan's source that the children import (set by snapshot_source)


def snapshot_source(workdir: Path) -> dict:
    """Copy motifscan/ and motifs/ of this checkout into the working directory, so that every run of one benchmark
    uses the same code even while the checkout is being edited; returns the path and a digest of the sources."""
    import hashlib

    if not (REPO / "motifscan" / "__init__.py").exists():
        return dict(path=None, digest="installed motifscan (no source checkout beside benchmarks/)")
    target = workdir / "src"
    shutil.rmtree(target, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "motifscan", target / "motifscan", ignore=ignore)
    shutil.copytree(REPO / "motifs", target / "motifs", ignore=ignore)
    digest = hashlib.sha256()
    for path in sorted((target / "motifscan").rglob("*.py")):
        digest.update(path.relative_to(target).as_posix().encode() + b"\0" + path.read_bytes())
    SOURCE["path"] = str(target)
    return dict(path=str(target), digest=digest.hexdigest()[:12])


def child_env() -> dict:
    env = dict(os.environ)
    if SOURCE["path"]:
        env["PYTHONPATH"] = SOURCE["path"] + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants (psutil), every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_mb, self.stop = pid, interval, 0.0, threading.Event()

    def run(self) -> None:
        try:
            import psutil
            root = psutil.Process(self.pid)
        except Exception:
            self.peak_mb = None
            return
        while not self.stop.is_set():
            try:
                procs = [root] + root.children(recursive=True)
                total = 0
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_mb = max(self.peak_mb, total / 2**20)
            except psutil.Error:
                break
            self.stop.wait(self.interval)


def run_process(argv: list[str], workdir: Path, label: str, timeout: float) -> dict:
    """Run one process; wall time, exit code and its own peak RSS (wait4), sampled tree RSS, stderr tail."""
    stdout = open(workdir / f"{label}.stdout", "wb")
    stderr = open(workdir / f"{label}.stderr", "wb")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=child_env(), cwd=workdir)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    sampler.stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout.close()
    stderr.close()
    tail = (workdir / f"{label}.stderr").read_text(errors="replace").strip().splitlines()[-3:]
    return dict(wall=wall, returncode=proc.returncode, maxrss_mb=usage.ru_maxrss / 1024,
                cpu=usage.ru_utime + usage.ru_stime,
                tree_peak_mb=sampler.peak_mb, user=usage.ru_utime, sys=usage.ru_stime, load1_at_start=load,
                timed_out=wall >= timeout, stderr_tail=tail)


def run_tool(tool: str, workload: str, inputs: dict, workdir: Path, args, repeat_index: int,
             extra: dict | None = None) -> dict:
    label = f"{workload}-{tool.replace('@', '_')}-{repeat_index}"
    out = workdir / label
    motif_set = inputs["motif_set"]
    spec = dict(tool=tool, fasta=inputs["fasta"], motif_set=motif_set, motif_ids=inputs["motifs"]["ids"],
                motif_npz=inputs["motifs"]["npz"], motif_meme=inputs["motifs"]["meme"], p=P_THRESHOLD,
                out=str(out), profile=tool == PROFILED, **(extra or {}))
    Path(inputs["fasta"] + ".fai").unlink(missing_ok=True)  # memelite's pyfaidx index: built in every run
    spec_path = workdir / f"{label}.spec.json"
    spec_path.write_text(json.dumps(spec))
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)]
    process = run_process(argv, workdir, label, args.timeout)
    record = dict(tool=tool, workload=workload, **process)
    if process["returncode"] != 0:
        record["error"] = " | ".join(process["stderr_tail"]) or f"exit code {process['returncode']}"
        return record
    info = json.loads(Path(str(out) + ".json").read_text())
    record["maxrss_wait4_mb"] = record.pop("maxrss_mb")  # inflated by the parent's RSS at fork: see peak_rss_mb
    record.update(info)
    record["maxrss_mb"] = info["peak_rss_mb"]
    record["whole"] = process["wall"] - info["phases"].get("export", 0.0)  # the harness's own hit export excluded
    record["hits_file"] = str(out) + ".npz"
    if spec.get("profile") and Path(str(out) + ".profile.txt").exists():
        record["profile_file"] = str(out) + ".profile.txt"
    return record


def parse_cli_tsv(path: str, ids: list[str], out: Path) -> None:
    index = {m: k for k, m in enumerate(ids)}
    motif, seq, start, minus = [], [], [], []
    with open(path) as handle:
        header = None
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if header is None:
                header = {name: k for k, name in enumerate(fields)}
                continue
            motif.append(index.get(fields[header["motif_id"]], -1))
            seq.append(seq_index(fields[header["seq_name"]]))
            start.append(int(fields[header["start"]]))
            minus.append(fields[header["strand"]] == "-")
    save_hits(str(out) + ".npz", motif, seq, start, minus)


# =====================================================================================================================
# Parent: analysis
# =====================================================================================================================


def hit_keys(path: str, n_seqs: int, length: int) -> tuple[np.ndarray, int]:
    """Sorted unique int64 keys of (motif, seq, start, strand), and the number of rows."""
    data = np.load(path)
    keys = ((data["motif"] * n_seqs + data["seq"]) * length + data["start"]) * 2 + data["minus"]
    return np.unique(keys), len(keys)


def decode_keys(keys: np.ndarray, n_seqs: int, length: int):
    minus = keys % 2
    rest = keys // 2
    start = rest % length
    rest //= length
    return rest // n_seqs, rest % n_seqs, start, minus.astype(bool)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b, assume_unique=True)) / union if union else 1.0


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


def motifscan_pvalue_function():
    """motifscan.pvalues.pvalues from the snapshot, or None: to tell windows that motifscan's own p-value filter
    dropped (score at/above its threshold, p-value just above p) from windows it missed."""
    try:
        if SOURCE["path"] and SOURCE["path"] not in sys.path:
            sys.path.insert(0, SOURCE["path"])
        from motifscan import pvalues
        return lambda matrix, scores: pvalues.pvalues(matrix, BACKGROUND, scores)
    except Exception:
        return None


def classify(tool_keys: np.ndarray, ms_keys: np.ndarray, codes: np.ndarray, matrices: list[np.ndarray],
             thresholds: np.ndarray) -> dict:
    """Explain the hits on which a tool and motifscan disagree, by each window's exact score against motifscan's
    threshold: a window at or above it that motifscan lacks, or one below it that motifscan reports, is a motifscan
    bug; the others come from the tool's own threshold."""
    n_seqs, length = codes.shape
    out = {}
    for name, keys in (("only_tool", np.setdiff1d(tool_keys, ms_keys, assume_unique=True)),
                       ("only_motifscan", np.setdiff1d(ms_keys, tool_keys, assume_unique=True))):
        if not len(keys):
            out[name] = dict(n=0)
            continue
        scores = exact_scores(keys, codes, matrices)
        motif = decode_keys(keys, n_seqs, length)[0]
        margin = scores - thresholds[motif]
        reaches = margin >= -SCORE_EPSILON
        dropped_by_p = 0
        pvalue_of = motifscan_pvalue_function() if name == "only_tool" and reaches.any() else None
        if pvalue_of is not None:
            for k in np.unique(motif[reaches]):
                rows = np.flatnonzero(reaches & (motif == k))
                dropped_by_p += int((pvalue_of(matrices[k], scores[rows]) > P_THRESHOLD).sum())
        out[name] = dict(n=int(len(keys)), at_or_above_ms_threshold=int(reaches.sum()),
                         at_or_above_but_ms_pvalue_above_p=dropped_by_p if pvalue_of is not None else None,
                         below_ms_threshold=int((~reaches).sum()),
                         in_matrices_without_any_word_at_p=int(np.isinf(thresholds[motif]).sum()),
                         margin_bits_min=float(np.min(margin)), margin_bits_max=float(np.max(margin)),
                         motifs=int(len(np.unique(motif))))
    return out


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


def exact_threshold_check(tails: dict, ids: list[str], thresholds: np.ndarray, rel_tol: float = 0.01) -> dict:
    """Check motifscan's threshold of every enumerated matrix against the exact p-values of all words: a word passing
    (score >= threshold) with p > (1 + rel_tol) * p_threshold, or failing with p <= p_threshold / (1 + rel_tol),
    breaks motifscan's contract (p-values exact within 1%); words whose p lies within that band may fall either way
    and are counted apart."""
    broken, in_band, extra_words, missing_words = [], 0, 0, 0
    for k, (top, p_of, total) in tails.items():
        threshold = thresholds[k]
        passes = top >= threshold - SCORE_EPSILON
        too_high = passes & (p_of > (1 + rel_tol) * P_THRESHOLD)
        too_low = ~passes & (p_of <= P_THRESHOLD / (1 + rel_tol))
        strict = passes != (p_of <= P_THRESHOLD)
        if too_high.any() or too_low.any():
            broken.append(dict(id=ids[k], words=total, threshold=float(threshold),
                               passing_with_p_above=float(p_of[too_high].max()) if too_high.any() else None,
                               failing_with_p_below=float(p_of[too_low].min()) if too_low.any() else None))
        elif strict.any():
            in_band += 1
            extra_words += int((strict & passes).sum())
            missing_words += int((strict & ~passes).sum())
    return dict(matrices_checked=len(tails), contract_broken=len(broken),
                differ_from_strict_only_within_1pct=in_band,
                words_passing_with_p_just_above_p=extra_words,
                words_failing_with_p_just_below_p=missing_words, examples=broken[:10])


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


# =====================================================================================================================
# Parent: machine, report
# =====================================================================================================================


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
    for package in ("MOODS-python", "memelite", "pymemesuite", "numba", "pyjaspar"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = None
    try:
        head = (REPO / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = REPO / ".git" / head[5:]
            head = ref.read_text().strip() if ref.exists() else head
        info["motifscan_commit"] = head[:12]
    except OSError:
        pass
    return info


def fmt(value, digits=2, unit=""):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def summarise(runs: list[dict]) -> dict:
    """Median over repeats of the times; max of the memory; the last run's other fields."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    out = dict(ok[-1])
    out["repeats"] = len(ok)
    for key in ("whole", "cpu"):
        out[key] = statistics.median(r[key] for r in ok)
        out[key + "_all"] = [r[key] for r in ok]
    for phase in {p for r in ok for p in r.get("phases", {})}:
        out.setdefault("phases", {})[phase] = statistics.median(r["phases"].get(phase, 0.0) for r in ok)
    if any(r.get("thresholds") is not None for r in ok):
        out["thresholds"] = statistics.median(r.get("thresholds") or 0.0 for r in ok)
    out["maxrss_mb"] = max(r["maxrss_mb"] for r in ok)
    peaks = [r["tree_peak_mb"] for r in ok if r.get("tree_peak_mb") is not None]
    out["tree_peak_mb"] = max(peaks) if peaks else None
    return out


def report(results: dict, machine: dict, args, started: str) -> str:
    lines = [f"# motifscan benchmark — {started}", ""]
    lines.append(f"Machine: {machine.get('cpu')} ({machine.get('simd')}), {machine.get('cores')} cores "
                 f"({machine.get('usable_cores')} usable), {machine.get('memory_gb')} GB; Python {machine['python']}, "
                 f"numpy {machine['numpy']}, BLAS: {machine.get('blas')}.")
    lines.append(f"Peers: MOODS-python {machine.get('MOODS-python')}, memelite {machine.get('memelite')} (numba "
                 f"{machine.get('numba')}), pymemesuite {machine.get('pymemesuite')}; motifscan: working tree "
                 f"on top of commit {machine.get('motifscan_commit', '?')}, sources sha256 "
                 f"{machine.get('motifscan_source', {}).get('digest')} (snapshot taken at the start of the run).")
    lines.append(f"Command: `{' '.join(['python', 'benchmarks/run.py', *sys.argv[1:]])}`; scale {args.scale}, "
                 f"repeats {args.repeat} (times: median), warm-up {'off' if args.no_warmup else 'on'}.")
    lines.append("")
    for workload, entry in results["workloads"].items():
        lines.append(f"## ({workload}) {entry['what']}: {entry['n']} x {entry['length']:,} bp = "
                     f"{entry['n'] * entry['length'] / 1e6:g} Mb, {entry['n_motifs']} matrices, both strands, "
                     f"p <= {P_THRESHOLD:g}")
        lines.append("")
        lines.append("| tool | whole s | CPU s | tool import s | thresholds s | scan call s | scan excl. thresholds s | "
                     "peak RSS MB | hits | Jaccard vs motifscan | whole / motifscan | scan excl. thr. / motifscan |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = entry["tools"].get("motifscan", {})
        for tool, r in entry["tools"].items():
            if "error" in r:
                lines.append(f"| {tool} | failed: {r['error'][:150]} ||||||||||")
                continue
            phases = r.get("phases", {})
            scan = phases.get("scan")
            thresholds = r.get("thresholds")
            match, base_match = r.get("match"), base.get("match")
            diagnostic = tool in ("motifscan-thresholds", DIAGNOSTIC, PROFILED)
            ratio = (r["whole"] / base["whole"]) if base.get("whole") and not diagnostic else None
            ratio_scan = (match / base_match) if match is not None and base_match and not diagnostic else None
            thr = fmt(thresholds, 3) + (" (in scan)" if r.get("threshold_in_scan") and thresholds is not None else "")
            rss = fmt(r["maxrss_mb"], 0)
            if r.get("tree_peak_mb") and r["tree_peak_mb"] > 1.2 * r["maxrss_mb"]:
                rss += f" (tree {r['tree_peak_mb']:.0f})"
            lines.append(f"| {tool} | {fmt(r['whole'])} | {fmt(r.get('cpu'))} | {fmt(phases.get('import'))} | {thr} | {fmt(scan)} | "
                         f"{fmt(match)} | {rss} | {fmt(r.get('hits'))} | {fmt(r.get('jaccard_vs_motifscan'), 4)} | "
                         f"{fmt(ratio, 2, 'x')} | {fmt(ratio_scan, 2, 'x')} |")
        lines.append("")
        loads = [r.get("load1_at_start") for r in entry["tools"].values() if r.get("load1_at_start") is not None]
        if loads:
            lines.append(f"- 1-min load average at the tools' starts: {min(loads):.2f} to {max(loads):.2f} "
                         f"(this machine has {machine.get('cores')} cores; other work running inflates times)")
        before = [f"{tool} {r['rss_before_scan_mb']:.0f} MB (peak so far {r['peak_before_scan_mb']:.0f})"
                  for tool, r in entry["tools"].items() if r.get("rss_before_scan_mb") is not None]
        if before:
            lines.append("- memory in use just before the scan call (input read, matrices built): " + "; ".join(before))
        notes = entry.get("notes", [])
        for note in notes:
            lines.append(f"- {note}")
        if entry.get("pairwise"):
            tools = list(entry["pairwise"])
            lines.append("")
            lines.append("Pairwise Jaccard: | " + " | ".join(tools) + " |")
            lines.append("")
            lines.append("| | " + " | ".join(tools) + " |")
            lines.append("|---" * (len(tools) + 1) + "|")
            for a in tools:
                lines.append(f"| {a} | " + " | ".join(fmt(entry["pairwise"][a].get(b), 4) for b in tools) + " |")
        if entry.get("truth"):
            t = entry["truth"]
            lines.append("")
            lines.append(f"Against exact p-values (all 4^w words enumerated) on the {t['matrices']} matrices of width "
                         f"<= 11, among the windows any tool reported ({t['true_windows']} have exact p <= "
                         f"{P_THRESHOLD:g}):")
            lines.append("")
            lines.append("| tool | hits | Jaccard vs exact | hits with p > 1e-4 | of them p > 1.01e-4 | windows with "
                         "p <= 1e-4 missed | of them p <= 1e-4/1.01 |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|")
            for tool, v in t.items():
                if isinstance(v, dict):
                    lines.append(f"| {tool} | {v['hits']} | {v['jaccard_vs_exact']:.4f} | {v['p_above']} | "
                                 f"{v['p_above_1pct']} | {v['missed']} | {v['missed_1pct']} |")
        if entry.get("disagreements"):
            lines.append("")
            lines.append("Disagreements with motifscan, by each window's exact float64 score against motifscan's own "
                         "threshold (a window at/above it missing from motifscan, or below it reported by motifscan, "
                         "would be a motifscan bug):")
            lines.append("")
            for tool, d in entry["disagreements"].items():
                a, b = d["only_tool"], d["only_motifscan"]
                dropped = a.get("at_or_above_but_ms_pvalue_above_p")
                lines.append(f"- {tool}: {a['n']} hits only in {tool} ({a.get('at_or_above_ms_threshold', 0)} at/above "
                             f"motifscan's threshold"
                             + (f" (of which {dropped} have a motifscan p-value > {P_THRESHOLD:g}: dropped by its "
                                f"p-value filter)" if dropped else "")
                             + f", {a.get('below_ms_threshold', 0)} below, in "
                             f"{a.get('motifs', 0)} matrices"
                             + (f", {a['in_matrices_without_any_word_at_p']} of them in matrices where no word at all "
                                f"has p <= {P_THRESHOLD:g}" if a.get("in_matrices_without_any_word_at_p") else "")
                             + f"); {b['n']} only in motifscan "
                             f"({b.get('at_or_above_ms_threshold', 0)} at/above, {b.get('below_ms_threshold', 0)} "
                             f"below, in {b.get('motifs', 0)} matrices).")
        lines.append("")
    checks = results.get("checks", {})
    if checks:
        lines.append("## Checks")
        lines.append("")
        for key, value in checks.items():
            lines.append(f"- {key}: {json.dumps(value) if not isinstance(value, str) else value}")
        lines.append("")
    lines.append("Columns: *whole* = wall time of the tool's process from spawn to exit (interpreter start, imports, "
                 "reading the FASTA, building matrices, thresholds, scan; the harness's conversion of hits to a "
                 "common format excluded). *CPU* = user + system CPU time of that process (both cores add up; "
                 "includes the hit conversion), less sensitive than wall time to other work on the machine. *thresholds* = time computing score thresholds or p-value tables "
                 "(\"in scan\": inside the scan call). *scan call* = the call that scans, timed inside the process. "
                 "*peak RSS* = the process's VmHWM at its end (peak resident memory since exec); *(tree N)*: the "
                 "sampled peak of the process and its children, when larger. Ratios > 1: the tool is slower than motifscan.")
    return "\n".join(lines) + "\n"


# =====================================================================================================================
# Parent: main
# =====================================================================================================================


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="a,b,c,mem",
                        help="comma-separated: a, b, c, mem (one 50 Mb sequence, motifscan's memory) [a,b,c,mem]")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the number of records (a, b, c) or the length (mem) by this [1.0]")
    parser.add_argument("--tools", default=None,
                        help=f"only these tools (comma-separated, of {', '.join(ALL_TOOLS)}) [each workload's set]")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and workload; times are medians [1]")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the untimed warm-up run of each tool (numba caches, .pyc, page cache)")
    parser.add_argument("--no-diagnostics", action="store_true",
                        help="skip the diagnostic run of MOODS with motifscan's thresholds and the exact checks")
    parser.add_argument("--profile", action="store_true",
                        help="also run motifscan once more with its scan call under cProfile (untimed row); the "
                             "top functions go to the results")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per tool run [3600]")
    parser.add_argument("--output", default=str(RESULTS / "latest"),
                        help="results prefix: writes PREFIX.md and PREFIX.json [benchmarks/results/latest]")
    parser.add_argument("--workdir", default=None, help="where inputs and hits go [a temporary directory]")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    workloads = [w.strip() for w in args.workload.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    only = set(args.tools.split(",")) if args.tools else None
    if only and only - set(ALL_TOOLS):
        sys.exit(f"unknown tool(s): {', '.join(sorted(only - set(ALL_TOOLS)))}")
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    machine = machine_info()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="motifscan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = lambda message: print(message, file=sys.stderr, flush=True)
    log(f"working directory: {workdir}")
    machine["motifscan_source"] = snapshot_source(workdir)
    log(f"motifscan source: {machine['motifscan_source']}")
    log(f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, BLAS {machine.get('blas')}")

    motif_sets: dict[str, dict] = {}

    def motifs_for(name: str) -> dict:
        if name not in motif_sets:
            motif_sets[name] = write_motif_files(workdir, name)
        return motif_sets[name]

    results: dict = dict(machine=machine, started=started, args=vars(args), workloads={}, checks={})
    thresholds_of: dict[str, np.ndarray] = {}
    tails_of: dict[str, dict] = {}

    if not args.no_warmup:
        codes = make_sequences("warm", 4, 1000)
        write_fasta(workdir / "warm.fa", codes)
        inputs = dict(fasta=str(workdir / "warm.fa"), motif_set="atf_creb", motifs=motifs_for("atf_creb"))
        tools = {t for w in workloads for t in WORKLOADS[w]["tools"] if not only or t in only} - {"motifscan-cli"}
        for tool in sorted(tools):
            r = run_tool(tool, "warmup", inputs, workdir, args, 0)
            log(f"warm-up {tool}: {'ok' if 'error' not in r else r['error']} ({r['wall']:.1f} s)")

    for workload in workloads:
        spec = WORKLOADS[workload]
        n, length = spec["n"], spec["length"]
        if workload == "mem":
            length = max(1000, int(round(length * args.scale)))
        else:
            n = max(1, int(round(n * args.scale)))
        codes = make_sequences(workload, n, length)
        fasta = workdir / f"{workload}.fa"
        write_fasta(fasta, codes)
        motifs = motifs_for(spec["motifs"])
        inputs = dict(fasta=str(fasta), motif_set=spec["motifs"], motifs=motifs)
        entry = dict(what=spec["what"], motif_set=spec["motifs"], n=n, length=length, n_motifs=len(motifs["ids"]), tools={}, notes=[])
        results["workloads"][workload] = entry
        tools = [t for t in spec["tools"] if not only or t in only]
        # motifscan's thresholds alone, once per motif set: timed for (a), used by the checks everywhere
        if "motifscan" in tools and spec["motifs"] not in thresholds_of:
            r = run_tool("motifscan-thresholds", workload, inputs, workdir, args, 0)
            if "error" not in r:
                thresholds_of[spec["motifs"]] = np.load(str(workdir / f"{workload}-motifscan-thresholds-0") +
                                                        ".thresholds.npy")
                entry["tools"]["motifscan-thresholds"] = r
                log(f"({workload}) motifscan-thresholds: {r['thresholds']:.3f} s for {len(motifs['ids'])} matrices "
                    f"(second call {r['thresholds_second_call']:.3f} s), process {r['wall']:.1f} s")
            else:
                log(f"({workload}) motifscan-thresholds failed: {r['error']}")
        for tool in tools:
            runs = []
            for repeat in range(args.repeat):
                r = run_tool(tool, workload, inputs, workdir, args, repeat)
                runs.append(r)
                message = r.get("error") or (f"whole {r['whole']:.2f} s, scan {r.get('phases', {}).get('scan', 0):.2f}"
                                             f" s, RSS {r['maxrss_mb']:.0f} MB")
                log(f"({workload}) {tool} [{repeat + 1}/{args.repeat}]: {message}")
                if "error" in r:
                    break
            entry["tools"][tool] = summarise(runs)
        if ("moods" in tools and spec["motifs"] in thresholds_of and not args.no_diagnostics):
            np.save(workdir / f"{spec['motifs']}.ms-thresholds.npy", thresholds_of[spec["motifs"]])
            r = run_tool(DIAGNOSTIC, workload, inputs, workdir, args, 0,
                         dict(thresholds_file=str(workdir / f"{spec['motifs']}.ms-thresholds.npy")))
            entry["tools"][DIAGNOSTIC] = summarise([r])
            log(f"({workload}) {DIAGNOSTIC}: {r.get('error', 'ok')}")
        if args.profile and "motifscan" in tools:
            r = run_tool(PROFILED, workload, inputs, workdir, args, 0)
            entry["tools"][PROFILED] = summarise([r])
            log(f"({workload}) {PROFILED}: {r.get('error', 'ok')}")
        if not args.no_diagnostics and spec["motifs"] not in tails_of:
            tails_of[spec["motifs"]] = exact_tails(motifs["log_odds"], max_width=11)
        analyse(entry, codes, motifs, thresholds_of.get(spec["motifs"]), tails_of.get(spec["motifs"]), args)
        write_outputs(results, machine, args, started)

    if not args.no_diagnostics:
        for name, thresholds in thresholds_of.items():
            motifs = motif_sets[name]
            results["checks"][f"motifscan thresholds vs exact enumeration of every word, matrices of width <= 11 "
                               f"({name})"] = exact_threshold_check(tails_of[name], motifs["ids"], thresholds)
            moods = [e["tools"]["moods"] for e in results["workloads"].values()
                     if e["motif_set"] == name and e["tools"].get("moods", {}).get("hits_file")]
            if moods:
                theirs = np.load(moods[0]["hits_file"])["thresholds"]
                diff = theirs - thresholds
                finite = np.isfinite(diff)
                results["checks"][f"MOODS threshold_from_p minus motifscan threshold, bits ({name})"] = dict(
                    median=float(np.median(diff[finite])), min=float(diff[finite].min()),
                    max=float(diff[finite].max()), lower=int((diff[finite] < -1e-6).sum()),
                    higher=int((diff[finite] > 1e-6).sum()), non_finite=int((~finite).sum()))
    write_outputs(results, machine, args, started)
    text = (Path(args.output + ".md")).read_text()
    print(text)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def analyse(entry: dict, codes: np.ndarray, motifs: dict, thresholds: np.ndarray | None, tails: dict | None,
            args) -> None:
    n_seqs, length = codes.shape
    for tool, r in entry["tools"].items():  # scan time without the thresholds computed inside the scan call
        scan = r.get("phases", {}).get("scan")
        if scan is not None and tool != "motifscan-thresholds":
            r["match"] = scan - (r.get("thresholds") or 0.0) if r.get("threshold_in_scan") else scan
    keys = {}
    for tool, r in entry["tools"].items():
        if r.get("hits_file") and tool != "motifscan-thresholds":
            keys[tool], rows = hit_keys(r["hits_file"], n_seqs, length)
            r["hits"] = rows
            if rows != len(keys[tool]):
                entry["notes"].append(f"{tool}: {rows - len(keys[tool])} duplicate hit rows")
            if (np.load(r["hits_file"])["motif"] < 0).any():
                entry["notes"].append(f"{tool}: hits of motif IDs outside the harness's set")
    ms = keys.get("motifscan")
    for tool, k in keys.items():
        entry["tools"][tool]["jaccard_vs_motifscan"] = jaccard(k, ms) if ms is not None else None
    keys.pop(PROFILED, None)
    entry["pairwise"] = {a: {b: jaccard(keys[a], keys[b]) for b in keys} for a in keys}
    if ms is not None and thresholds is not None and not args.no_diagnostics:
        entry["disagreements"] = {tool: classify(k, ms, codes, motifs["log_odds"], thresholds)
                                  for tool, k in keys.items() if tool != "motifscan"}
    if tails:
        entry["truth"] = truth_check(keys, codes, motifs["log_odds"], tails)
    r = entry["tools"].get("motifscan", {})
    if r.get("motif_ids_match") is False:
        entry["notes"].append("motifscan's select_motifs returned another motif list than the harness's SQLite query")
    profiled = entry["tools"].get(PROFILED, {})
    if profiled.get("profile_file"):
        entry["profile"] = Path(profiled["profile_file"]).read_text()


def write_outputs(results: dict, machine: dict, args, started: str) -> None:
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = report(results, machine, args, started)
    profiles = [(w, e["profile"]) for w, e in results["workloads"].items() if e.get("profile")]
    for workload, profile in profiles:
        text += f"\n## cProfile of motifscan's scan call, workload ({workload})\n\n```\n{profile}\n```\n"
    Path(str(out) + ".md").write_text(text)
    Path(str(out) + ".json").write_text(json.dumps(results, indent=1, default=lambda o: None))


if __name__ == "__main__":
    sys.exit(main())
