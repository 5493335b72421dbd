"""Output formats. Each format's columns and coordinate convention live here and nowhere else.

- TSV: ``#`` provenance lines, one header row, one row per hit; ``start``/``end`` 0-based half-open.
- BED6: 0-based half-open; name ``{motif_name}|{gene_name or seq_name}``; score ``min(1000, round(-100 log10 p))``.
- GFF3: ``TF_binding_site`` features, 1-based inclusive.
- FIMO TSV: FIMO's columns, 1-based inclusive positions within each record.

Files are written atomically: to a temporary file beside the target, then renamed, so a failed or interrupted run
leaves no half-written file and an existing output stays as it was. Several outputs are one step (all or none): a
write that fails (a full disk: ENOSPC, ``/dev/full``) is one :class:`~motifscan.errors.MotifscanError` line naming
the path and the cause, and no target is replaced.

Control characters: no text field may split a row or plant a line. Every text field that reaches a line of TSV,
BED, FIMO, promoter FASTA/BED or the genome outputs (IDs, names, chromosomes, record names, transcript IDs) is
checked, and a value holding a C0 control character (tab, newline, CR, ...), DEL or a Unicode line separator
(U+0085, U+2028, U+2029, which Python's ``splitlines`` breaks on) is refused with one line naming the field and the
value (:class:`UnsafeTextError`, exit 1): these formats have no escape for a tab. GFF3 percent-encodes such
characters instead (in attribute values and the seqid), as its specification provides. Provenance comment lines
flatten whitespace runs to one space and write any other control character as ``\\xNN``.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from motifscan.errors import InputFileError, MotifscanError, UnsafeTextError, UsageError
from motifscan.hits import STRAND_DTYPE, TSV_COLUMNS, GeneTable, HitTable, MotifTable, TargetTable
from motifscan.model import Region

Provenance = Iterable[tuple[str, str]]
"""Provenance as the writers take it: (key, value) pairs (a :class:`~motifscan.provenance.Provenance` is one)."""

CHUNK_ROWS = 1 << 15
"""Hits formatted at once: the writers turn this many rows of the columns into text, then yield it (streaming)."""


def _chunks(n: int, order: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Row indices in blocks of at most CHUNK_ROWS (in ``order`` when given)."""
    for first in range(0, n, CHUNK_ROWS):
        yield order[first : first + CHUNK_ROWS] if order is not None else np.arange(first, min(first + CHUNK_ROWS, n))


def _lookup(strings: Sequence[str]) -> np.ndarray:
    array = np.empty(len(strings), dtype=object)
    array[:] = list(strings)
    return array


def _rank(strings: Sequence[str]) -> np.ndarray:
    """The rank of each string in code-point order (Python's and numpy's string order); equal strings, equal ranks."""
    if not len(strings):
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.array(list(strings), dtype=str), return_inverse=True)[1].ravel()


_UNSAFE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
"""Characters that may not reach a text field of a line-based output: C0 controls, DEL, Unicode line separators."""


def check_text(field: str, values: Iterable[str]) -> None:
    """UnsafeTextError naming ``field`` and the first value holding a character of :data:`_UNSAFE` (one that could
    split a row or start a new line in a line-based output)."""
    for value in values:
        found = _UNSAFE.search(value)
        if found:
            raise UnsafeTextError(f"{field} {value!r} holds the control character {found.group()!r}: refused, since "
                                  "it would split a row or add a line to the output")


def check_table_text(table: HitTable) -> None:
    """:func:`check_text` over every text lookup table of ``table`` (motifs, records, genes, transcript IDs): the
    tables are small, so this is cheap even for millions of hits."""
    check_text("motif_id", table.motifs.ids)
    check_text("motif_name", table.motifs.names)
    check_text("seq_name", table.targets.names)
    check_text("chrom", table.targets.chroms)
    if table.genes is not None:
        check_text("gene_id", table.genes.ids)
        check_text("gene_name", table.genes.names)
        check_text("transcript_id", [t for ids in table.transcript_sets for t in ids])


def _flat(value: object) -> str:
    text = " ".join(str(value).split())  # whitespace runs (tab, newline, CR, U+2028, ...) become one space
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def comment_lines(provenance: Provenance) -> list[str]:
    """``# key: value`` lines (whitespace runs in values flattened to a space, other control characters written as
    ``\\xNN``), so that a value can never start a line of its own."""
    return [f"# {_flat(key)}: {_flat(value)}" for key, value in provenance]


_RECORD_LINE = re.compile(r"^(\S+) (\S+):(\d+)-(\d+)\(([+-])\)$")


def record_line(region: Region) -> str:
    """A scanned record as a provenance value: ``NAME CHROM:START-END(STRAND)``, 1-based inclusive as in promoter
    FASTA headers; STRAND is the record's orientation (the gene's, for promoters). A name or chromosome holding a
    control character is refused (:func:`check_text`)."""
    check_text("record name", [region.name])
    check_text("chrom", [region.chrom])
    return f"{region.name} {region.chrom}:{region.start + 1}-{region.end}({region.strand})"


def record_comment_lines(records: Iterable[Region]) -> list[str]:
    """``# record: ...`` lines of the scanned records (:func:`record_line`, as :func:`comment_lines` writes them),
    made for all records at once when no name or chromosome is empty or holds whitespace or a control character
    (then :func:`_flat` changes nothing: FASTA names are words); otherwise record by record, with the same errors."""
    regions = list(records)
    words = [text for r in regions for text in (r.name, r.chrom)]
    joined = "".join(words)
    if all(words) and not _UNSAFE.search(joined) and joined.split() == [joined]:
        return [f"# record: {r.name} {r.chrom}:{r.start + 1}-{r.end}({r.strand})" for r in regions]
    return comment_lines([("record", record_line(r)) for r in regions])


def records_from_provenance(provenance: Provenance) -> dict[str, Region]:
    """The scanned records named by ``record`` provenance lines (see :func:`record_line`): name -> Region (0-based
    half-open)."""
    records = {}
    for key, value in provenance:
        match = _RECORD_LINE.match(value) if key == "record" else None
        if match:
            name, chrom, first, last, strand = match.groups()
            records[name] = Region(chrom, int(first) - 1, int(last), strand, name)
    return records


def _block(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)


RANK_COLUMN = "promoter_rank_p"
"""The optional last TSV column of ``scan --rank-promoters`` (see :func:`motifscan.best_scores.promoter_rank_p`)."""


def tsv_chunks(table: HitTable, provenance: Provenance, records: Iterable[Region] = (),
               promoter_rank_p: np.ndarray | None = None) -> Iterator[str]:
    """The TSV file in pieces of text (each ending in a newline): provenance, one ``# record:`` line per scanned record
    (so that records without hits are visible too), the header, then the rows, CHUNK_ROWS at a time; with
    ``promoter_rank_p`` (shape (n_hits,)) a last column of that name. The text of :func:`tsv_byte_chunks`."""
    return (piece.decode("utf-8") for piece in tsv_byte_chunks(table, provenance, records, promoter_rank_p))


def tsv_byte_chunks(table: HitTable, provenance: Provenance, records: Iterable[Region] = (),
                    promoter_rank_p: np.ndarray | None = None) -> Iterator[bytes]:
    """:func:`tsv_chunks` as UTF-8 bytes, what the file writers take (the rows are made as bytes: no decoding and
    encoding again of a text that may be hundreds of MB)."""
    check_table_text(table)
    header = "\t".join(TSV_COLUMNS) + (f"\t{RANK_COLUMN}" if promoter_rank_p is not None else "")
    yield _block([*comment_lines(provenance), *record_comment_lines(records), header]).encode("utf-8")
    yield from tsv_row_chunks(table, promoter_rank_p)


def tsv_row_chunks(table: HitTable, promoter_rank_p: np.ndarray | None = None) -> Iterator[bytes]:
    """The TSV rows alone (no header) as UTF-8 bytes, CHUNK_ROWS at a time, in the table's order (genome scans
    stream them).

    Columns are formatted whole (:mod:`motifscan.text_columns`): ``%d`` integers, ``%.6f`` score and rel_score,
    ``%.6g`` p, q (and promoter_rank_p), each float as Python's ``%`` writes it."""
    from motifscan import text_columns as text

    check_table_text(table)
    motif_text = text.StringTable.of([f"{i}\t{n}" for i, n in zip(table.motifs.ids, table.motifs.names)])
    target_text = text.StringTable.of([f"{n}\t{c}" for n, c in zip(table.targets.names, table.targets.chroms)])
    strand_text = text.StringTable.of(["+", "-"])
    genes = table.genes
    if genes is not None:
        gene_text = text.StringTable.of([f"{i}\t{n}" for i, n in zip(genes.ids, genes.names)])
        transcript_text = text.StringTable.of([",".join(ids) for ids in table.transcript_sets])
    # score, rel_score, p, q repeat (one motif's hits share its few distinct scores): formatted once per distinct
    numbers, number_of = text.formatted("%.6f\t%.6f\t%.6g\t%.6g",
                                        [table.score, table.rel_score, table.p_value, table.q_value])
    if promoter_rank_p is not None:
        rank_text, rank_of = text.formatted("%.6g", [np.asarray(promoter_rank_p)])
    for first in range(0, len(table), CHUNK_ROWS):
        rows = slice(first, first + CHUNK_ROWS)
        part = table.take(rows)
        n = len(part)
        matched, _ = part.matched_letters()
        fields = [motif_text.field(part.motif), target_text.field(part.target),
                  text.integers(part.start), text.integers(part.end),
                  strand_text.field((part.strand == "-").view(np.int8)), numbers.field(number_of[rows]),
                  matched]  # zero-padded past each site's width: no byte
        if genes is not None:
            assert part.gene is not None and part.transcripts is not None
            assert part.tss_rel_start is not None and part.tss_rel_end is not None
            fields += [gene_text.field(part.gene), transcript_text.field(part.transcripts),
                       text.integers(part.tss_rel_start), text.integers(part.tss_rel_end)]
        else:
            fields.append(text.constant("\t\t\t\t", n))  # gene_id .. tss_rel_end, empty
        if promoter_rank_p is not None:
            fields.append(rank_text.field(rank_of[rows]))
        yield text.join_bytes(fields)


def read_tsv(path: str | Path) -> tuple[list[tuple[str, str]], HitTable]:
    """Provenance pairs (``record`` lines included) and the hit table of a motifscan TSV file (as :func:`tsv_chunks`
    writes it). The table keeps the file's matched sequences; record strands come from the ``record`` lines."""
    provenance: list[tuple[str, str]] = []
    rows: list[list[str]] = []
    header = None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot read ({error})") from None
    numbers = []
    for number, line in enumerate(lines, 1):
        if header is None and line.startswith("#"):  # comments come first; later a '#' is data (motif "#1")
            key, _, value = line[1:].strip().partition(": ")
            provenance.append((key, value))
        elif header is None:
            header = line.split("\t")
            if tuple(header) not in (TSV_COLUMNS, (*TSV_COLUMNS, RANK_COLUMN)):
                raise InputFileError(f"{path}, line {number}: not a motifscan TSV header")
        elif line.strip():
            fields = line.split("\t")
            if len(fields) != len(header):
                raise InputFileError(f"{path}, line {number}: {len(fields)} fields, expected {len(header)}")
            rows.append(fields[: len(TSV_COLUMNS)])
            numbers.append(number)
    if header is None:
        raise InputFileError(f"{path}: no motifscan TSV header found")
    return provenance, _table_from_rows(rows, numbers, records_from_provenance(provenance), path)


def _table_from_rows(rows: list[list[str]], numbers: list[int], records: Mapping[str, Region], path) -> HitTable:
    column = {name: [r[i] for r in rows] for i, name in enumerate(TSV_COLUMNS)}

    def indexed(*names: str) -> tuple[list[tuple[str, ...]], np.ndarray]:
        keys = list(zip(*(column[n] for n in names))) if rows else []
        table = list(dict.fromkeys(keys))
        position = {key: i for i, key in enumerate(table)}
        return table, np.array([position[key] for key in keys], dtype=np.int64)

    def numbers_of(name: str, kind):
        try:
            return np.array([kind(v) for v in column[name]], dtype=kind)
        except ValueError:
            bad = next(i for i, v in enumerate(column[name]) if not _parses(kind, v))
            raise InputFileError(f"{path}, line {numbers[bad]}: {column[name][bad]!r} is not a valid {name}") from None

    motifs, motif = indexed("motif_id", "motif_name")
    targets, target = indexed("seq_name", "chrom")
    start, end = numbers_of("start", int), numbers_of("end", int)
    strand = np.array(column["strand"], dtype=STRAND_DTYPE)
    bad = np.flatnonzero((strand != "+") & (strand != "-"))
    if len(bad):
        raise InputFileError(f"{path}, line {numbers[bad[0]]}: strand must be '+' or '-'")
    widths = np.zeros(len(motifs), dtype=np.int64)
    np.maximum.at(widths, motif, end - start)
    target_table = TargetTable(
        names=tuple(t[0] for t in targets), chroms=tuple(t[1] for t in targets),
        offsets=np.array([records[t[0]].start if t[0] in records else 0 for t in targets], dtype=np.int64),
        strands=tuple(records[t[0]].strand if t[0] in records else "+" for t in targets))
    matched = np.empty(len(rows), dtype=object)
    matched[:] = column["matched_sequence"]
    table = HitTable(
        MotifTable(tuple(m[0] for m in motifs), tuple(m[1] for m in motifs), widths), target_table,
        motif=motif, target=target, start=start, end=end, strand=strand, score=numbers_of("score", float),
        rel_score=numbers_of("rel_score", float), p_value=numbers_of("p_value", float),
        q_value=numbers_of("q_value", float), matched=matched)
    with_tss = [bool(v) for v in column["tss_rel_start"]]
    if not any(with_tss):
        return table
    if not all(with_tss):
        raise InputFileError(f"{path}, line {numbers[with_tss.index(False)]}: no tss_rel_start in a gene scan")
    genes, gene = indexed("gene_id", "gene_name")
    sets, transcripts = indexed("transcript_ids")
    return table.with_columns(
        genes=GeneTable(tuple(g[0] for g in genes), tuple(g[1] for g in genes), tuple("" for _ in genes)),
        gene=gene, transcripts=transcripts,
        transcript_sets=tuple(tuple(t for t in s[0].split(",") if t) for s in sets),
        tss_rel_start=numbers_of("tss_rel_start", int), tss_rel_end=numbers_of("tss_rel_end", int))


def _parses(kind, value: str) -> bool:
    try:
        kind(value)
    except ValueError:
        return False
    return True


def bed_score(p_value: float) -> int:
    """BED score of a hit: ``min(1000, round(-100 * log10 p))``, as JASPAR's genome tracks."""
    return int(bed_scores(np.array([p_value], dtype=np.float64))[0])


def bed_scores(p_values: np.ndarray) -> np.ndarray:
    """:func:`bed_score` of each p-value, shape (n,) int64; Python's ``math.log10`` and ``round`` (half to even)
    exactly: the few values within 1e-6 of a rounding boundary are recomputed with them."""
    with np.errstate(divide="ignore"):
        raw = -100 * np.log10(np.where(p_values > 0, p_values, 1.0))
    score = np.rint(raw)
    near = np.flatnonzero(np.abs(raw - np.floor(raw) - 0.5) < 1e-6)
    for i in near:
        score[i] = round(-100 * math.log10(float(p_values[i])))
    score = np.minimum(score, 1000).astype(np.int64)
    score[~(p_values > 0)] = 1000
    return score


def _bed_names(table: HitTable) -> tuple[np.ndarray, np.ndarray]:
    """Per hit: the BED name ``{motif_name}|{gene_name or seq_name}`` (object array) and its rank in code-point
    order, made for each distinct (motif, record) pair only."""
    labels = list(table.targets.names)
    if table.genes is not None and table.gene is not None:
        gene_of_target = np.full(len(table.targets), -1, dtype=np.int64)
        gene_of_target[table.target] = table.gene
        labels = [table.genes.names[g] if g >= 0 and table.genes.names[g] else name
                  for g, name in zip(gene_of_target.tolist(), labels)]
    pair = table.motif.astype(np.int64) * max(len(table.targets), 1) + table.target
    pairs, which = np.unique(pair, return_inverse=True)
    names = [f"{table.motifs.names[p // max(len(table.targets), 1)]}|{labels[p % max(len(table.targets), 1)]}"
             for p in pairs.tolist()]
    return _lookup(names)[which.ravel()], _rank(names)[which.ravel()]


def bed_chunks(table: HitTable, provenance: Provenance = (), track: str | None = None) -> Iterator[str]:
    """BED6 sorted by chrom, start, end (then name and strand, for a stable order), one lexsort; 0-based
    half-open."""
    check_table_text(table)
    if track:
        check_text("track line", [track])
    head = [track] if track else []  # UCSC and IGV expect the track line first
    yield _block([*head, *comment_lines(provenance)])
    yield from bed_row_chunks(table)


def bed_row_chunks(table: HitTable) -> Iterator[str]:
    """The BED6 rows alone, sorted by chrom, start, end, name, strand (genome scans stream them block by block)."""
    check_table_text(table)
    if not len(table):
        return
    names, name_rank = _bed_names(table)
    chrom = _lookup(table.targets.chroms)[table.target]
    chrom_rank = _rank(table.targets.chroms)[table.target]
    order = np.lexsort((table.strand == "-", name_rank, table.end, table.start, chrom_rank))
    scores = bed_scores(table.p_value)
    for rows in _chunks(len(table), order):
        columns = [chrom[rows], table.start[rows], table.end[rows], names[rows], scores[rows], table.strand[rows]]
        # %-formatting: one format per row, faster than str.format on millions of rows
        yield "\n".join(["%s\t%d\t%d\t%s\t%d\t%s" % f for f in zip(*[c.tolist() for c in columns])]) + "\n"  # noqa: UP031


def check_output_path(path: str | Path) -> None:
    """UsageError unless ``path`` ("-" = stdout) can be written: its folder exists and it is not a folder. Checked
    before a long scan, so that the scan does not fail at its end."""
    if _is_special(path) and not os.path.isdir(path):
        return
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {path.parent}")


def write_lines(path: str | Path, lines: Iterable[str]) -> None:
    """Write lines (without line ends) to ``path`` atomically; ``"-"`` writes to standard output."""
    write_outputs([(path, (line + "\n" for line in lines))])


def _is_special(path: str | Path) -> bool:
    """Standard output ("-"), or an existing target that is not a regular file (/dev/null, /dev/stdout, a FIFO):
    written to directly, since renaming a file over it would replace the device or pipe."""
    return str(path) == "-" or (os.path.exists(path) and not os.path.isfile(path))


Pieces = Iterable[str] | Iterable[bytes]
"""An output as the writers give it: pieces of text, or of UTF-8 bytes (:func:`tsv_byte_chunks`), each ending in a
newline."""


_TEXT_BATCH = 1 << 16
"""Characters of consecutive text pieces encoded and written at once (many small pieces, e.g. lines, in one go)."""


def _write_pieces(handle: BinaryIO, pieces: Pieces) -> None:
    """Write ``pieces`` to a binary file: bytes as they come, text as UTF-8, consecutive text pieces encoded a batch
    of :data:`_TEXT_BATCH` characters at a time (one encode and one write for many lines)."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            if batch:
                handle.write("".join(batch).encode("utf-8"))
                batch, size = [], 0
            handle.write(piece)
            continue
        batch.append(piece)
        size += len(piece)
        if size >= _TEXT_BATCH:
            handle.write("".join(batch).encode("utf-8"))
            batch, size = [], 0
    if batch:
        handle.write("".join(batch).encode("utf-8"))


def write_outputs(outputs: Sequence[tuple[str | Path, Pieces]]) -> None:
    """Write several files, each given as pieces of text or UTF-8 bytes (each piece ends with a newline, as the writers'
    ``*_chunks`` functions make them; consumed as they come, so a file is never held whole), as one step (all or none):
    every regular file goes to a :class:`StagedFiles` folder beside its target first; then standard output (``"-"``) and
    special files (devices, pipes: written directly, since renaming over them would replace them) are written; only when
    all of that succeeded are the staged files renamed into place. On any failure (a full disk, a control character
    refused, Ctrl-C) no target is replaced; a failed write is a MotifscanError naming the path and the cause. A reader
    that closed standard output (``| head``) is not a failure: the files are still written."""
    staged: list[tuple[StagedFiles, Path]] = []
    try:
        for path, lines in outputs:
            if not _is_special(path):
                staged.append((_stage(Path(path), lines), Path(path)))
        closed_pipe = None
        for path, lines in outputs:
            if _is_special(path):
                try:
                    _write_special(path, lines)
                except BrokenPipeError as error:
                    closed_pipe = error
        for staging, path in staged:
            staging.commit([(path.name, path)])
    except BaseException:
        for staging, _ in staged:
            staging.discard()
        raise
    if closed_pipe is not None:
        raise closed_pipe


def _write_special(path: str | Path, pieces: Pieces) -> None:
    """Write to standard output (``"-"``) or a device or pipe, flushed; a MotifscanError naming it on failure
    (BrokenPipeError passes: the reader went away)."""
    name = "standard output" if str(path) == "-" else str(path)
    if str(path) == "-" and sys.stdout is None:
        raise MotifscanError("cannot write standard output: it is closed")
    try:
        if str(path) == "-":
            assert sys.stdout is not None
            binary = getattr(sys.stdout, "buffer", None)
            for piece in pieces:
                if isinstance(piece, bytes) and binary is not None:
                    sys.stdout.flush()  # the text written before it goes first
                    binary.write(piece)
                else:
                    sys.stdout.write(piece.decode("utf-8") if isinstance(piece, bytes) else piece)
            sys.stdout.flush()
            if binary is not None:
                binary.flush()
        else:
            with open(path, "wb") as handle:
                _write_pieces(handle, pieces)
    except BrokenPipeError:
        raise
    except OSError as error:
        raise MotifscanError(f"cannot write {name}: {error.strerror or error}") from None


class StagedFiles:
    """The one staging of atomic outputs: a hidden temporary folder beside ``target`` (``.NAME.XXXX.tmp``) in which
    the output's files are written (:meth:`path`), renamed into place together by :meth:`commit` (a folder target,
    e.g. Parquet's, replaces the old folder), removed by :meth:`discard`. A half-written output is never seen under
    the target's name, and an interrupted run leaves the old target as it was."""

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            self.folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        except OSError as error:
            raise UsageError(f"cannot write {target}: {error.strerror}") from None

    def path(self, name: str) -> Path:
        """Where the staged file ``name`` is written."""
        return self.folder / name

    def commit(self, names: Sequence[tuple[str, Path]]) -> None:
        """Rename each staged ``name`` to its target path, then remove the folder; MotifscanError on failure."""
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


def _stage(path: Path, pieces: Pieces) -> StagedFiles:
    """Write ``pieces`` of text or bytes to ``path``'s staged copy (see :class:`StagedFiles`), as UTF-8."""
    staging = StagedFiles(path)
    try:
        with open(staging.path(path.name), "wb") as handle:
            _write_pieces(handle, pieces)
    except BaseException as error:
        staging.discard()
        if isinstance(error, OSError):
            raise MotifscanError(f"cannot write {path}: {error.strerror}") from None
        raise
    return staging


def promoter_fasta_lines(promoters, forward_sequences: Sequence[str], width: int = 60) -> Iterable[str]:
    """FASTA of promoter windows in the gene's orientation; header ``GENE|TRANSCRIPTS CHROM:START-END(STRAND)`` with
    1-based inclusive coordinates."""
    from motifscan.promoters import oriented_sequence

    for promoter, forward in zip(promoters, forward_sequences):
        sequence = oriented_sequence(forward, promoter.region.strand)
        yield ">" + record_line(promoter.region)
        for offset in range(0, len(sequence), width):
            yield sequence[offset : offset + width]


def promoter_bed_lines(promoters, provenance: Provenance = ()) -> Iterable[str]:
    """BED6 of promoter windows (0-based half-open), name = the record name, score 0; provenance as ``#`` lines."""
    yield from comment_lines(provenance)
    for promoter in promoters:
        region = promoter.region
        check_text("record name", [region.name])
        check_text("chrom", [region.chrom])
        yield "\t".join([region.chrom, str(region.start), str(region.end), region.name, "0", region.strand])


def _gff3_escape(value: str) -> str:
    # GFF3 reserves tab, newline, %, ;, =, & and , in attribute values: percent-encode them, and every character
    # that could split a line (C0, DEL, Unicode line separators), as UTF-8 bytes
    return "".join("".join(f"%{b:02X}" for b in c.encode("utf-8")) if c in "%;=&," or _UNSAFE.match(c) else c
                   for c in value)


def gff3_chunks(table: HitTable, provenance: Provenance = (), promoter_rank_p: np.ndarray | None = None
                ) -> Iterator[str]:
    """GFF3: one ``TF_binding_site`` (SO:0000235) feature per hit, 1-based inclusive (start + 1 .. end), sorted by
    chrom, start, end, motif_id, strand; attribute values percent-encoded where GFF3 reserves the character; with
    ``promoter_rank_p`` (shape (n_hits,)) an attribute of that name."""
    yield _block(["##gff-version 3", *comment_lines(provenance)])
    if not len(table):
        return
    chrom = _lookup([_gff3_escape(c) for c in table.targets.chroms])[table.target]
    order = np.lexsort((table.strand == "-", _rank(table.motifs.ids)[table.motif], table.end, table.start,
                        _rank(table.targets.chroms)[table.target]))
    motif_name = _lookup([_gff3_escape(n) for n in table.motifs.names])
    motif_id = _lookup([_gff3_escape(i) for i in table.motifs.ids])
    seq_name = _lookup([_gff3_escape(n) for n in table.targets.names])
    row = ("%s\tmotifscan\tTF_binding_site\t%d\t%d\t%.6f\t%s\t.\tID=site%d;Name=%s;motif_id=%s;p_value=%.6g;"
           "q_value=%.6g;rel_score=%.6f;matched_sequence=%s;seq_name=%s;Ontology_term=SO:0000235")
    genes = table.genes
    if genes is not None:
        row += ";gene_id=%s;gene_name=%s;transcript_ids=%s;tss_rel=%d..%d"
        gene_id = _lookup([_gff3_escape(i) for i in genes.ids])
        gene_name = _lookup([_gff3_escape(n) for n in genes.names])
        transcripts = _lookup([_gff3_escape(" ".join(ids)) for ids in table.transcript_sets])
    if promoter_rank_p is not None:
        row += f";{RANK_COLUMN}=%.6g"
    number = np.arange(1, len(table) + 1)
    for first, rows in zip(range(0, len(table), CHUNK_ROWS), _chunks(len(table), order)):
        part = table.take(rows)
        columns = [chrom[rows], part.start + 1, part.end, part.score, part.strand, number[first : first + len(rows)],
                   motif_name[part.motif], motif_id[part.motif], part.p_value, part.q_value, part.rel_score,
                   part.matched_sequences(), seq_name[part.target]]
        if genes is not None:
            assert part.gene is not None and part.transcripts is not None
            assert part.tss_rel_start is not None and part.tss_rel_end is not None
            columns += [gene_id[part.gene], gene_name[part.gene], transcripts[part.transcripts], part.tss_rel_start,
                        part.tss_rel_end]
        if promoter_rank_p is not None:
            columns.append(np.asarray(promoter_rank_p)[rows])
        yield "\n".join([row % f for f in zip(*[c.tolist() for c in columns])]) + "\n"


FIMO_COLUMNS = ("motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score", "p-value",
                "q-value", "matched_sequence")


FIMO_Q_NOTE = ("Benjamini-Hochberg, per motif, over every window scored on both strands (not FIMO's q-value, "
               "which also estimates pi0)")
"""The last comment line of the FIMO output: which q-value it holds."""


def fimo_chunks(table: HitTable, records: Mapping[str, Region], provenance: Provenance = ()) -> Iterator[str]:
    """FIMO-compatible TSV: FIMO's column names; ``start``/``stop`` 1-based inclusive within the record
    ``sequence_name`` (= seq_name), read in the record's own orientation, as FIMO would report a scan of the
    record's FASTA (``motifscan promoters`` writes gene-oriented records); strand relative to that record; sorted
    by motif_id, sequence_name, start, strand. p-value and q-value with FIMO's 3 significant digits (``%.3g``, as
    fimo.c prints them); score with 6 decimals. As FIMO's own file, the rows end with a blank line, then the ``#``
    lines: the provenance, and a line saying that the q-value is Benjamini-Hochberg's over every window scored, per
    motif (FIMO's own q-values add an estimate of the share of true nulls, pi0)."""
    check_table_text(table)
    yield "\t".join(FIMO_COLUMNS) + "\n"
    if len(table):
        regions = [records[name] for name in table.targets.names]
        record_start = np.array([r.start for r in regions], dtype=np.int64)[table.target]
        record_end = np.array([r.end for r in regions], dtype=np.int64)[table.target]
        record_minus = np.array([r.strand == "-" for r in regions], dtype=bool)[table.target]
        start = np.where(record_minus, record_end - table.end + 1, table.start - record_start + 1)
        stop = np.where(record_minus, record_end - table.start, table.end - record_start)
        flipped = np.where(table.strand == "+", "-", "+")
        strand = np.where(record_minus, flipped, table.strand)
        order = np.lexsort((strand == "-", start, _rank(table.targets.names)[table.target],
                            _rank(table.motifs.ids)[table.motif]))
        motif = _lookup([f"{i}\t{n}" for i, n in zip(table.motifs.ids, table.motifs.names)])
        seq_name = _lookup(table.targets.names)
        for rows in _chunks(len(table), order):
            part = table.take(rows)
            columns = [motif[part.motif], seq_name[part.target], start[rows], stop[rows], strand[rows], part.score,
                       part.p_value, part.q_value, part.matched_sequences()]
            # %-formatting: one format per row, faster than str.format on millions of rows
            yield "\n".join(["%s\t%s\t%d\t%d\t%s\t%.6f\t%.3g\t%.3g\t%s" % f  # noqa: UP031
                             for f in zip(*[c.tolist() for c in columns])]) + "\n"
    yield "\n" + _block(comment_lines([*provenance, ("q-value", FIMO_Q_NOTE)]))
