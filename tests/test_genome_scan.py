"""`motifscan genome`: chunked scans give exactly the hits of `motifscan fasta`, whatever the chunk size and whatever
runs them (this process, local processes, a real Dask scheduler with two workers on 127.0.0.1), and the indexed
outputs answer region queries.

Oracles: the ``fasta`` command's own output on the same real genomes (the scan that 460,000 independently checked
hits vouch for), one-window-at-a-time scoring and window counting (tests/oracles.py) for the chunk kernel, a
Hypothesis search for lost or doubled windows at chunk edges, ``bedtools getfasta`` for BED regions, a plain filter
of the rows for tabix region queries.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import window_score

from motifscan.chunks import ScanPlan, Span, plan_chunks, scan_chunk
from motifscan.cli import cli
from motifscan.encoding import encode
from motifscan.resources import demo_genome

DATA = Path(__file__).parent / "data"
CHR7_SHIPPED = DATA / "grch37_chr7_86Mb" / "genome.fa.gz"


@pytest.fixture(scope="module")
def chr7(tmp_path_factory) -> Path:
    """The chr7 test genome, copied to a temporary folder (indexing a FASTA writes beside it)."""
    path = tmp_path_factory.mktemp("chr7") / "genome.fa.gz"
    shutil.copyfile(CHR7_SHIPPED, path)
    return path


@pytest.fixture(scope="module")
def genomes(chr7) -> dict[str, Path]:
    return {"demo": demo_genome()[0], "chr7": chr7}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def body(path: Path) -> list[str]:
    """The lines of a (bgzipped) output that do not start with '#'."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        return [line.rstrip("\n") for line in handle if not line.startswith("#")]


def provenance(path: Path) -> list[str]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        # every provenance line but the command line, '# gap:' lines (N stretches, joined across chunk edges) included
        return [line.rstrip("\n") for line in handle if line.startswith("#") and not line.startswith("# command")]




@pytest.fixture(scope="module")
def fasta_outputs(tmp_path_factory, genomes):
    """`motifscan fasta` TSV and BED of each test genome at p <= 1e-4 (the default) and at 1e-3 with filters."""
    folder = tmp_path_factory.mktemp("fasta")
    outputs = {}
    for name, path in genomes.items():
        for label, extra in (("default", []), ("lax", ["--pvalue", "1e-3", "--qvalue", "0.5", "--max-strand"])):
            tsv, bed = folder / f"{name}-{label}.tsv", folder / f"{name}-{label}.bed"
            result = run("fasta", path, "-o", tsv, "--bed", bed, *extra)
            assert result.exit_code == 0, result.output
            outputs[name, label] = (tsv, bed, extra)
    return outputs


@pytest.mark.parametrize("genome", ["demo", "chr7"])
@pytest.mark.parametrize("chunk_size", [None, 65_536, 99_991])
def test_genome_equals_fasta(genome, chunk_size, fasta_outputs, genomes, tmp_path):
    tsv, bed, _ = fasta_outputs[genome, "default"]
    out = tmp_path / "hits.tsv.gz"
    options = [] if chunk_size is None else ["--chunk-size", chunk_size]
    result = run("genome", genomes[genome], "-o", out, *options)
    assert result.exit_code == 0, result.output
    expected = body(tsv)
    assert len(expected) > 1000
    assert body(out) == expected
    assert provenance(out) == provenance(tsv)
    bed_out = tmp_path / "hits.bed.gz"
    assert run("genome", genomes[genome], "-o", bed_out, *options).exit_code == 0
    assert body(bed_out) == body(bed)


def test_genome_equals_fasta_with_filters_and_small_chunks(chr7, fasta_outputs, tmp_path):
    """q-values over the whole genome, the q filter and --max-strand agree with `fasta` with many chunk edges."""
    tsv, _, extra = fasta_outputs["chr7", "lax"]
    out = tmp_path / "hits.tsv.gz"
    assert run("genome", chr7, "-o", out, "--chunk-size", 4_999, *extra).exit_code == 0
    expected = body(tsv)
    assert len(expected) > 50  # the q filter leaves few of the ~30,000 windows at p <= 1e-3
    assert body(out) == expected


def test_local_processes_give_the_same_bytes(chr7, tmp_path):
    one, two = tmp_path / "one.tsv.gz", tmp_path / "two.tsv.gz"
    assert run("genome", chr7, "-o", one, "--chunk-size", 200_000).exit_code == 0
    assert run("genome", chr7, "-o", two, "--chunk-size", 200_000, "--jobs", 2).exit_code == 0
    assert gzip.decompress(one.read_bytes()) != b""
    assert gzip.decompress(one.read_bytes()).replace(b"one.tsv.gz", b"two.tsv.gz") == gzip.decompress(two.read_bytes())


# ------------------------------------------------------------------------------------------------------ Dask

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster():
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1, stopped afterwards."""
    distributed = pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    processes = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    try:
        for number in range(2):
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1", "--name", f"test-worker-{number}"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while True:
            try:
                with distributed.Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=max(deadline - time.monotonic(), 1))
                    break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in reversed(processes):  # workers first, then the scheduler
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_dask_cluster_gives_the_same_bytes(chr7, dask_cluster, tmp_path):
    distributed = pytest.importorskip("distributed")
    local, remote = tmp_path / "local.tsv.gz", tmp_path / "remote.tsv.gz"
    assert run("genome", chr7, "-o", local, "--chunk-size", 100_000).exit_code == 0
    result = run("genome", chr7, "-o", remote, "--chunk-size", 100_000, "--dask-scheduler", dask_cluster)
    assert result.exit_code == 0, result.output
    assert gzip.decompress(local.read_bytes()).replace(b"local.tsv.gz", b"remote.tsv.gz") == \
        gzip.decompress(remote.read_bytes())
    with distributed.Client(dask_cluster, timeout=5) as client:  # both workers took part: each built a scanner
        # (a builtin runs on the workers, which cannot import this test module)
        built = client.run(eval, "len(__import__('motifscan.chunks').chunks._SCANNERS)")
    assert len(built) == 2 and all(n == 1 for n in built.values())


def test_dask_unreachable_scheduler_is_one_line(chr7, tmp_path, monkeypatch):
    monkeypatch.setattr("motifscan.execution.CONNECT_TIMEOUT", 2.0)
    port = _free_port()
    result = run("genome", chr7, "-o", tmp_path / "x.tsv.gz", "--dask-scheduler", f"tcp://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert "--dask-scheduler" in result.output and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------------ indexed output

def test_tabix_region_queries_match_a_filter_of_the_rows(chr7, tmp_path):
    pysam = pytest.importorskip("pysam")
    out = tmp_path / "hits.tsv.gz"
    assert run("genome", chr7, "-o", out, "--pvalue", "1e-3").exit_code == 0
    assert (tmp_path / "hits.tsv.gz.tbi").is_file()
    rows = [line.split("\t") for line in body(out)[1:]]
    chrom = rows[0][3]
    index = pysam.TabixFile(str(out))
    rng = np.random.default_rng(7)
    for _ in range(25):
        start = int(rng.integers(0, 1_000_000))
        end = start + int(rng.integers(1, 20_000))
        expected = ["\t".join(r) for r in rows if int(r[4]) < end and int(r[5]) > start]
        assert list(index.fetch(chrom, start, end)) == expected
    bed = tmp_path / "hits.bed.gz"
    assert run("genome", chr7, "-o", bed, "--pvalue", "1e-3").exit_code == 0
    bed_rows = body(bed)
    first = bed_rows[len(bed_rows) // 2].split("\t")
    got = list(pysam.TabixFile(str(bed)).fetch(chrom, int(first[1]), int(first[2])))
    assert "\t".join(first) in got


def test_parquet_partitions_hold_the_rows(fasta_outputs, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    tsv, _, _ = fasta_outputs["demo", "default"]
    out = tmp_path / "hits.parquet"
    assert run("genome", demo_genome()[0], "-o", out, "--chunk-size", 500_000).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["chrom=6", "chrom=X"]
    table = pq.read_table(out).to_pandas()
    expected = [line.split("\t") for line in body(tsv)[1:]]
    assert len(table) == len(expected)
    table = table.sort_values(["chrom", "start", "motif_id", "strand"], kind="stable")
    got = [[r.motif_id, str(r.chrom), str(r.start), str(r.end), r.strand, f"{r.p_value:.6g}", r.matched_sequence]
           for r in table.itertuples()]
    assert got == [[e[0], e[3], e[4], e[5], e[6], e[9], e[11]] for e in expected]


# ------------------------------------------------------------------------------------------------ regions

def test_regions_equal_fasta_of_the_extracted_regions(chr7, tmp_path):
    """Regions (overlapping ones too) scanned in place == `fasta` of `bedtools getfasta -nameOnly` output, shifted."""
    bedtools = shutil.which("bedtools")
    if bedtools is None:
        if os.environ.get("MOTIFSCAN_REQUIRE_BEDTOOLS") == "1":
            pytest.fail("MOTIFSCAN_REQUIRE_BEDTOOLS=1 but bedtools is not on PATH")
        pytest.skip("bedtools is not on PATH")
    plain = tmp_path / "chr7.fa"
    plain.write_bytes(gzip.decompress(chr7.read_bytes()))
    chrom = "7_86000000_87000000"
    regions = [(1_000, 60_000, "peakA"), (50_000, 90_000, "peakB"), (400_000, 400_040, "tiny"),
               (999_000, 1_000_001, "end")]
    bed = tmp_path / "peaks.bed"
    bed.write_text("track name=peaks\n" + "".join(f"{chrom}\t{s}\t{e}\t{n}\n" for s, e, n in regions))
    extracted = tmp_path / "peaks.fa"
    done = subprocess.run([bedtools, "getfasta", "-fi", plain, "-bed", bed, "-nameOnly", "-fo", extracted],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    reference = tmp_path / "ref.tsv"
    assert run("fasta", extracted, "-o", reference, "--pvalue", "1e-3").exit_code == 0
    offsets = {name: start for start, _, name in regions}
    expected = []
    for line in body(reference)[1:]:
        fields = line.split("\t")
        fields[3] = chrom
        fields[4], fields[5] = str(int(fields[4]) + offsets[fields[2]]), str(int(fields[5]) + offsets[fields[2]])
        expected.append(fields)
    out = tmp_path / "peaks.tsv.gz"
    result = run("genome", chr7, "--regions", bed, "-o", out, "--pvalue", "1e-3", "--chunk-size", 7_777)
    assert result.exit_code == 0, result.output
    got = [line.split("\t") for line in body(out)[1:]]
    # the overlap of peakA and peakB is reported once per region; q-values count both regions' windows, as fasta's
    key = lambda f: (int(f[4]), f[0], f[6], f[2])  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)
    assert [int(f[4]) for f in got] == sorted(int(f[4]) for f in got)  # sorted by start, for tabix
    assert {f[2] for f in got} == {"peakA", "peakB", "tiny", "end"} - ({"tiny"} - {f[2] for f in expected})


@pytest.mark.parametrize("content, message", [
    ("7_86000000_87000000\t10\n", "line 1: expected at least 3"),
    ("nochrom\t10\t20\tx\n", "line 1: chromosome 'nochrom' is not in the FASTA"),
    ("7_86000000_87000000\t20\t10\tx\n", "0 <= start < end"),
    ("7_86000000_87000000\t0\t2000000\tx\n", "past the end"),
    ("7_86000000_87000000\t0\t10\tx\n7_86000000_87000000\t5\t20\tx\n", "must be unique"),
])
def test_bad_regions_are_one_line_errors(chr7, tmp_path, content, message):
    bed = tmp_path / "bad.bed"
    bed.write_text(content)
    result = run("genome", chr7, "--regions", bed, "-o", tmp_path / "x.tsv.gz")
    assert result.exit_code == 1
    assert message in result.output and str(bed) in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bed"]


@pytest.mark.parametrize("args, message", [
    (["-o", "{tmp}/x.tsv"], "must end in"),
    (["-o", "{tmp}/x.tsv.gz", "--jobs", "2", "--dask-scheduler", "local:2"], "exclude each other"),
    (["-o", "{tmp}/x.tsv.gz", "--dask-scheduler", "local:zero"], "local:N"),
    (["-o", "{tmp}/x.tsv.gz", "--chunk-size", "0"], "--chunk-size"),
])
def test_bad_options_are_usage_errors(chr7, tmp_path, args, message):
    result = run("genome", chr7, *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert message in result.output
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------------ chunk kernel

@settings(max_examples=150, deadline=None)
@given(lengths=st.lists(st.integers(1, 300), min_size=1, max_size=4), chunk_size=st.integers(1, 120),
       max_width=st.integers(1, 30), offset=st.integers(0, 1000))
def test_every_window_is_owned_by_exactly_one_chunk(lengths, chunk_size, max_width, offset):
    spans = [Span(f"s{i}", "c", offset + 1000 * i, offset + 1000 * i + n) for i, n in enumerate(lengths)]
    chunks = plan_chunks(spans, chunk_size, max_width)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for number, span in enumerate(spans):
        mine = [c for c in chunks if c.span == number]
        assert all(c.stop <= span.end for c in mine)
        starts = np.arange(span.start, span.end)
        owned_by = np.zeros(len(starts), dtype=int)
        reach = np.zeros(len(starts), dtype=int)  # how far the owner reads
        for chunk in mine:
            inside = (starts >= chunk.start) & (starts < chunk.owned_end)
            owned_by += inside
            reach[inside] = chunk.stop
        assert (owned_by == 1).all()  # every window start, whatever the width: one owner
        for width in range(1, max_width + 1):
            fits = starts + width <= span.end
            assert (reach[fits] >= starts[fits] + width).all()  # the whole window is read by its owner


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), chunk_size=st.integers(5, 80), n_motifs=st.integers(1, 3))
def test_chunk_hits_equal_one_window_at_a_time_scoring(seed, chunk_size, n_motifs):
    rng = np.random.default_rng(seed)
    text = "".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.24, 0.04], size=int(rng.integers(1, 250))))
    matrices = [rng.normal(size=(4, int(rng.integers(1, 12)))) for _ in range(n_motifs)]
    thresholds = np.array([float(rng.normal(m.max(axis=0).sum() * 0.5, 1.0)) for m in matrices])
    plan = ScanPlan.build(matrices, thresholds)
    widest = max(m.shape[1] for m in matrices)
    chunks = plan_chunks([Span("s", "s", 0, len(text))], chunk_size, widest)
    got = set()
    scored = np.zeros(n_motifs, dtype=np.int64)
    for chunk in chunks:
        hits = scan_chunk(plan, chunk, encode(text[chunk.start : chunk.stop]))
        scored += hits.scored
        got |= {(int(k), int(s), bool(m)) for k, s, m in zip(hits.motif_index, hits.start, hits.minus_strand)}
    expected = set()
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    for k, matrix in enumerate(matrices):
        width = matrix.shape[1]
        windows = [(s, text[s : s + width]) for s in range(len(text) - width + 1)]
        clean = [(s, w) for s, w in windows if "N" not in w]
        assert scored[k] == len(clean)
        for s, w in clean:
            if window_score(matrix, w) >= thresholds[k] - 1e-9:
                expected.add((k, s, False))
            if window_score(matrix, "".join(complement[c] for c in reversed(w))) >= thresholds[k] - 1e-9:
                expected.add((k, s, True))
    assert got == expected


def test_sigterm_leaves_no_spill_and_no_partial_output(chr7, tmp_path):
    """A scan stopped by SIGTERM mid-way removes its spill folder and staged output (and keeps an older output)."""
    out = tmp_path / "hits.tsv.gz"
    out.write_bytes(b"older output")
    process = subprocess.Popen([sys.executable, "-m", "motifscan", "genome", str(chr7), "-o", str(out),
                                "--chunk-size", "500", "--pvalue", "1e-3"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".motifscan-spill.") for p in tmp_path.iterdir()):  # pass 1 has begun
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hits.tsv.gz"]
    assert out.read_bytes() == b"older output"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(1, 12), st.integers(1, 9), st.data())
def test_streamed_chunks_are_the_planned_chunks(length, chunk_size, max_width, data):
    # a span whose letters arrive in arbitrary pieces is cut exactly as plan_chunks cuts it once its length is known
    from motifscan.chunks import Span, plan_chunks, stream_chunks

    letters = "".join("ACGT"[i % 4] for i in range(length))
    cuts = sorted(data.draw(st.lists(st.integers(0, length), max_size=6)))
    pieces = [letters[a:b] for a, b in zip([0, *cuts], [*cuts, length])]
    streamed = list(stream_chunks(0, pieces, chunk_size, max_width))
    planned = plan_chunks([Span("r", "r", 0, length)], chunk_size, max_width)
    assert [c for c, _ in streamed] == planned
    assert [t for _, t in streamed] == [letters[c.start : c.stop] for c in planned]
