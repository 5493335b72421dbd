"""Genome-scan outputs that stream to disk and can be queried by region.

The format comes from the output's name:

- ``FILE.tsv.gz``: the ``fasta`` command's TSV layout (``#`` provenance and ``# record:`` lines, the column header
  line, one row per hit with the same columns and formatting), bgzip-compressed, sorted by chrom then start, with a
  tabix index ``FILE.tsv.gz.tbi`` (``.csi`` when a chromosome is longer than tabix's 512 Mb limit) built by pysam,
  told to skip every line before the first row. Region queries: ``tabix FILE.tsv.gz chr6:1000-2000``.
- ``FILE.bed.gz``: BED6 as the ``--bed`` output (0-based half-open), bgzip + tabix (``-p bed``).
- ``FILE.parquet``: a folder of Parquet files partitioned by chromosome (``chrom=NAME/part-0.parquet``, Hive style,
  names URI-encoded), typed columns, the provenance in the schema metadata; written with pyarrow.

Every file is written under a temporary name beside its target and renamed into place only when complete (index
included), so an interrupted run leaves the previous output, if any, as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path
from typing import Sequence

import numpy as np

from motifscan.errors import MotifscanError, UsageError
from motifscan.writers import TSV_COLUMNS, bed_score, comment_lines

SUFFIXES = (".tsv.gz", ".bed.gz", ".parquet")

TABIX_MAX_LENGTH = 1 << 29
"""Tabix's (.tbi) largest position; longer chromosomes need a CSI index."""


def output_kind(path: str | Path) -> str:
    """'tsv', 'bed' or 'parquet' from the output's name; a UsageError naming ``-o`` otherwise."""
    name = str(path)
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(Path(name).name) > len(suffix):
            return suffix.split(".")[1]
    raise UsageError(f"-o {path}: the output's name must end in {', '.join(SUFFIXES)} (it sets the format)")


def _fmt(values: np.ndarray, spec: str) -> list[str]:
    return [format(v, spec) for v in values.tolist()]


def tsv_block_lines(chrom: str, block, context) -> list[str]:
    """TSV rows of one block of genome-scan hits (``motifscan.genome_scan.HitBlock``), formatted as the ``fasta``
    command's writer formats them."""
    n = len(block)
    motif_id = np.array([m.id for m in context.motifs], dtype=object)[block.motif_index]
    motif_name = np.array([m.name for m in context.motifs], dtype=object)[block.motif_index]
    seq_name = np.array([s.name for s in context.spans], dtype=object)[block.span]
    end = block.start + context.widths(block)
    strand = np.where(block.minus_strand, "-", "+")
    empty = [""] * n
    columns = [motif_id.tolist(), motif_name.tolist(), seq_name.tolist(), [chrom] * n, block.start.tolist(),
               end.tolist(), strand.tolist(), _fmt(block.score, ".6f"), _fmt(context.rel_scores(block), ".6f"),
               _fmt(block.p_value, ".6g"), _fmt(block.q_value, ".6g"),
               context.matched_sequences(chrom, block).tolist(), empty, empty, empty, empty, empty]
    if len(columns) != len(TSV_COLUMNS):
        raise AssertionError("genome TSV columns out of step with TSV_COLUMNS")
    return ["\t".join(map(str, row)) for row in zip(*columns)]


def bed_block_lines(chrom: str, block, context) -> list[str]:
    """BED6 rows of one block, in the ``--bed`` writer's order within equal starts (end, name, strand)."""
    motif_name = np.array([m.name for m in context.motifs], dtype=object)[block.motif_index]
    seq_name = np.array([s.name for s in context.spans], dtype=object)[block.span]
    names = np.array([f"{m}|{s}" for m, s in zip(motif_name.tolist(), seq_name.tolist())], dtype=object)
    end = block.start + context.widths(block)
    name_rank = np.unique(names.astype(str), return_inverse=True)[1].ravel() if len(names) else names
    order = np.lexsort((block.minus_strand, name_rank, end, block.start))
    strand = np.where(block.minus_strand, "-", "+")
    scores = [str(bed_score(p)) for p in block.p_value[order].tolist()]
    return ["\t".join(row) for row in zip([chrom] * len(order), map(str, block.start[order].tolist()),
                                          map(str, end[order].tolist()), names[order].tolist(), scores,
                                          strand[order].tolist())]


class _Staged:
    """Temporary paths beside the targets, renamed into place by :meth:`commit`, removed by :meth:`discard`."""

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            self.folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        except OSError as error:
            raise UsageError(f"cannot write {target}: {error.strerror}") from None

    def path(self, name: str) -> Path:
        return self.folder / name

    def commit(self, names: Sequence[tuple[str, Path]]) -> None:
        try:
            for name, target in names:
                if target.is_dir() and not target.is_symlink():
                    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
                    os.replace(target, old / target.name)
                    os.replace(self.folder / name, target)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(self.folder / name, target)
        except OSError as error:
            raise MotifscanError(f"cannot write {self.target}: {error.strerror}") from None
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class BgzipTabixSink:
    """Streams header and rows to a bgzip file, then indexes it with tabix (``kind`` 'tsv' or 'bed')."""

    def __init__(self, target: Path, kind: str, header: Sequence[str], chrom_lengths: dict[str, int]) -> None:
        import pysam

        self._pysam = pysam
        self.target, self.kind = target, kind
        self.staged = _Staged(target)
        self._file = pysam.BGZFile(str(self.staged.path(target.name)), "wb")
        self._skip = len(header)
        self._csi = max(chrom_lengths.values(), default=0) >= TABIX_MAX_LENGTH
        self.rows = 0
        self._write(header)

    def _write(self, lines: Sequence[str]) -> None:
        if lines:
            try:
                self._file.write(("\n".join(lines) + "\n").encode("utf-8"))
            except OSError as error:
                raise MotifscanError(f"cannot write {self.target}: {error.strerror or error}") from None

    def __call__(self, chrom: str, block, context) -> None:
        lines = tsv_block_lines(chrom, block, context) if self.kind == "tsv" else bed_block_lines(chrom, block,
                                                                                                   context)
        self.rows += len(lines)
        self._write(lines)

    def close(self) -> list[Path]:
        """Finish, index, and move the file and its index into place; the paths written."""
        self._file.close()
        staged = self.staged.path(self.target.name)
        index_suffix = ".csi" if self._csi else ".tbi"
        try:
            if self.kind == "tsv":
                self._pysam.tabix_index(str(staged), seq_col=3, start_col=4, end_col=5, zerobased=True,
                                        meta_char="#", line_skip=self._skip, force=True, csi=self._csi)
            else:
                self._pysam.tabix_index(str(staged), preset="bed", force=True, csi=self._csi)
        except OSError as error:
            self.staged.discard()
            raise MotifscanError(f"cannot index {self.target}: {error}") from None
        index = Path(str(self.target) + index_suffix)
        self.staged.commit([(self.target.name, self.target), (self.target.name + index_suffix, index)])
        return [self.target, index]

    def abort(self) -> None:
        try:
            self._file.close()
        finally:
            self.staged.discard()


class ParquetSink:
    """One Parquet file per chromosome under ``TARGET/chrom=NAME/``, written block by block (row groups)."""

    def __init__(self, target: Path, provenance: Sequence[tuple[str, str]]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError('-o FILE.parquet needs pyarrow: pip install ".[genome]" in the clone') from None
        self._pa, self._pq = pa, pq
        self.target = target
        self.staged = _Staged(target)
        self.root = self.staged.path(target.name)
        self.root.mkdir()
        metadata = {b"motifscan": "\n".join(comment_lines(provenance)).encode("utf-8")}
        self.schema = pa.schema([
            ("motif_id", pa.string()), ("motif_name", pa.string()), ("seq_name", pa.string()),
            ("start", pa.int64()), ("end", pa.int64()), ("strand", pa.string()), ("score", pa.float64()),
            ("rel_score", pa.float64()), ("p_value", pa.float64()), ("q_value", pa.float64()),
            ("matched_sequence", pa.string()),
        ], metadata=metadata)
        self._writer = None
        self._chrom: str | None = None
        self.rows = 0

    def __call__(self, chrom: str, block, context) -> None:
        if chrom != self._chrom:
            self._close_writer()
            folder = self.root / f"chrom={urllib.parse.quote(chrom, safe='')}"
            folder.mkdir()
            self._writer = self._pq.ParquetWriter(str(folder / "part-0.parquet"), self.schema)
            self._chrom = chrom
        motifs, spans = context.motifs, context.spans
        table = self._pa.table({
            "motif_id": np.array([m.id for m in motifs], dtype=object)[block.motif_index],
            "motif_name": np.array([m.name for m in motifs], dtype=object)[block.motif_index],
            "seq_name": np.array([s.name for s in spans], dtype=object)[block.span],
            "start": block.start, "end": block.start + context.widths(block),
            "strand": np.where(block.minus_strand, "-", "+").astype(object),
            "score": block.score, "rel_score": context.rel_scores(block), "p_value": block.p_value,
            "q_value": block.q_value, "matched_sequence": context.matched_sequences(chrom, block),
        }, schema=self.schema)
        assert self._writer is not None
        self._writer.write_table(table)
        self.rows += len(block)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        self._close_writer()
        self.staged.commit([(self.target.name, self.target)])
        return [self.target]

    def abort(self) -> None:
        try:
            self._close_writer()
        finally:
            self.staged.discard()


def open_sink(target: str | Path, provenance: Sequence[tuple[str, str]], record_lines: Sequence[str],
              chrom_lengths: dict[str, int]):
    """The sink for ``target``'s format (see the module docstring)."""
    path = Path(target)
    kind = output_kind(path)
    if not path.parent.is_dir():
        raise UsageError(f"-o {target}: no such directory {path.parent}")
    if kind == "parquet":
        return ParquetSink(path, provenance)
    if path.is_dir():
        raise UsageError(f"-o {target}: it is a directory")
    header = comment_lines(provenance) if kind == "bed" else [*comment_lines(provenance), *record_lines,
                                                               "\t".join(TSV_COLUMNS)]
    return BgzipTabixSink(path, kind, header, chrom_lengths)
