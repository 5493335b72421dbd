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
included), so an interrupted run leaves the previous output, if any, as it was; a failed write (a full disk) is one
MotifscanError line naming the output and the cause. Text fields are checked for control characters by the TSV and
BED row writers of :mod:`motifscan.writers` (refused, naming the field); Parquet columns are typed, so a tab cannot
split a row there.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from motifscan.errors import MotifscanError, UsageError
from motifscan.hits import HitTable
from motifscan.writers import TSV_COLUMNS, StagedFiles, bed_row_chunks, comment_lines, tsv_row_chunks

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


class BgzipTabixSink:
    """Streams header and rows to a bgzip file, then indexes it with tabix (``kind`` 'tsv' or 'bed')."""

    def __init__(self, target: Path, kind: str, header: Sequence[str], chrom_lengths: dict[str, int]) -> None:
        import pysam

        self._pysam = pysam
        self.target, self.kind = target, kind
        self.staged = StagedFiles(target)
        self._file = pysam.BGZFile(str(self.staged.path(target.name)), "wb", index=None)
        self._skip = len(header)
        self._csi = max(chrom_lengths.values(), default=0) >= TABIX_MAX_LENGTH
        self.rows = 0
        self._write("".join(line + "\n" for line in header))

    def _write(self, text: str | bytes) -> None:
        try:
            self._file.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        except OSError as error:
            raise MotifscanError(f"cannot write {self.target}: {error.strerror or error}") from None

    def __call__(self, table: HitTable) -> None:
        """Append one block of hits (a chromosome's, or the part of it that is final), in output order."""
        for text in tsv_row_chunks(table) if self.kind == "tsv" else bed_row_chunks(table):
            self._write(text)
        self.rows += len(table)

    def close(self) -> list[Path]:
        """Finish, index, and move the file and its index into place; the paths written."""
        try:
            self._file.close()
        except OSError as error:  # the last block is written at close: a full disk shows here
            self.staged.discard()
            raise MotifscanError(f"cannot write {self.target}: {error.strerror or error}") from None
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
        self.staged = StagedFiles(target)
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

    def __call__(self, table: HitTable) -> None:
        """Append one block of hits (all on one chromosome) as a row group of that chromosome's file."""
        if not len(table):
            return
        chrom = table.targets.chroms[int(table.target[0])]
        if chrom != self._chrom:
            self._close_writer()
            folder = self.root / f"chrom={urllib.parse.quote(chrom, safe='')}"
            folder.mkdir()
            self._writer = self._pq.ParquetWriter(str(folder / "part-0.parquet"), self.schema)
            self._chrom = chrom
        columns = {name: table.strings(name) for name in ("motif_id", "motif_name", "seq_name", "matched_sequence")}
        arrow = self._pa.table({
            "motif_id": columns["motif_id"], "motif_name": columns["motif_name"], "seq_name": columns["seq_name"],
            "start": table.start, "end": table.end, "strand": table.strand.astype(object), "score": table.score,
            "rel_score": table.rel_score, "p_value": table.p_value, "q_value": table.q_value,
            "matched_sequence": columns["matched_sequence"],
        }, schema=self.schema)
        assert self._writer is not None
        try:
            self._writer.write_table(arrow)
        except OSError as error:
            raise MotifscanError(f"cannot write {self.target}: {error.strerror or error}") from None
        self.rows += len(table)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        try:
            self._close_writer()
        except OSError as error:
            self.staged.discard()
            raise MotifscanError(f"cannot write {self.target}: {error.strerror or error}") from None
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
