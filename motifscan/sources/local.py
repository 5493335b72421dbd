"""Genes and sequence from a local genome: a FASTA (plain or bgzip) and a GTF (Ensembl or GENCODE style).

Coordinates: the GTF's 1-based closed coordinates are converted to 0-based half-open once, where the GTF is read
(:func:`read_gtf`); everything this module returns is 0-based half-open.

FASTA
    Read through pyfaidx, in the file's letter case (soft-masking survives). A FASTA compressed with plain gzip cannot
    be read at random and is refused with a hint to recompress it with bgzip. The ``.fai`` (and, for bgzip, ``.gzi``)
    index is used from beside the FASTA when it is there and up to date; otherwise it is built beside the FASTA, or in
    ``<cache_dir>/fasta-index/`` where the FASTA's folder is not writable (or writing there fails).

GTF
    Only ``gene`` and ``transcript`` lines are kept (a GTF with no ``transcript`` lines gets its transcript spans from
    its ``exon`` lines). Genes without a ``gene`` line take their span, name and biotype from their transcripts.
    GENCODE-style versioned IDs (``ENSG00000054598.8``, ``..._PAR_Y``) are split into ID and version.

Canonical transcript
    Per gene: the transcript tagged ``Ensembl_canonical``; else the one tagged ``MANE_Select``; else
    :func:`motifscan.promoters.fallback_canonical`'s rule (protein_coding first, then the longest genomic span, then
    the lowest ID). Exactly one transcript per gene is flagged ``is_canonical``.

Chromosome names
    Outputs use the FASTA's names. A GTF chromosome that the FASTA lacks is renamed to the FASTA name that differs
    from it only by a leading ``chr`` (added or removed); ``chrM`` and ``MT`` count as such a pair. Genes on
    chromosomes that still do not match stay loaded under their GTF name; asking for one finds nothing, with a note
    naming the chromosome and the GTF line (the run goes on with the other genes).
    A GTF none of whose chromosomes match the FASTA is a :class:`GenomeError` at load.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import gzip
import hashlib
import logging
import os
import re
import secrets
import struct
import warnings
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyfaidx

from motifscan import textfiles
from motifscan.encoding import first_non_sequence
from motifscan.errors import GenomeError, InputFileError, UsageError
from motifscan.identifiers import chromosome_aliases, name_problem, split_version
from motifscan.model import Gene, GeneLookup, Region, Transcript
from motifscan.promoters import fallback_canonical
from motifscan.sources import memo
from motifscan.sources.cache import default_cache_dir, make_private_dirs

log = logging.getLogger(__name__)

DEMO_LABEL = "demo (GRCh37 chr6+chrX test genome from Ensembl)"
DEMO_ANNOTATION_LABEL = "demo (Ensembl core test database genes, GRCh37)"
CANONICAL_TAGS = ("Ensembl_canonical", "MANE_Select")

_KIND = "genome FASTA"
_ATTRIBUTE = re.compile(r'([A-Za-z_][\w.]*)\s+(?:"([^"]*)"|([^\s;"]+))')
_SNIFF_BYTES = textfiles.SNIFF_BYTES
_COORDINATE = re.compile(r"[0-9]{1,12}")  # ASCII digits; the longest chromosomes have 10


# --------------------------------------------------------------------------------------------------------------------
# FASTA


_MAX_CHECKED_RECORDS = 2000  # records whose place in the FASTA is checked against the index (all, up to this many)
_MAX_GAP_BYTES = 1 << 20  # the most text allowed between one record's sequence and the next one's (its header)
_LOOK_BACK = 1 << 16  # how far back from a record's offset its header line is looked for


@dataclass(frozen=True)
class _IndexPaths:
    fai: Path
    gzi: Path | None

    def files(self) -> list[Path]:
        return [path for path in (self.fai, self.gzi) if path is not None]

    def exist(self) -> bool:
        return all(path.exists() for path in self.files())


def _index_locations(fasta_path: Path, cache_dir: Path, bgzf: bool) -> tuple[_IndexPaths, _IndexPaths]:
    """Where the index lives beside the FASTA, and where it lives in the cache (named after the FASTA's full path)."""
    beside = _IndexPaths(Path(f"{fasta_path}.fai"), Path(f"{fasta_path}.gzi") if bgzf else None)
    digest = hashlib.sha1(str(fasta_path.resolve()).encode()).hexdigest()[:16]
    stem = cache_dir / "fasta-index" / f"{digest}-{fasta_path.name}"
    cached = _IndexPaths(Path(f"{stem}.fai"), Path(f"{stem}.gzi") if bgzf else None)
    return beside, cached


def _check_fasta_file(fasta_path: Path) -> bool:
    """Check that pyfaidx can read the FASTA; return whether it is bgzip-compressed."""
    if not fasta_path.is_file():
        raise UsageError(f"genome FASTA not found: {fasta_path}")
    compression = textfiles.compression(fasta_path)
    if compression == "gzip":
        raise InputFileError(
            f"{fasta_path} is compressed with plain gzip, which cannot be read at random positions; "
            f"recompress it with bgzip: gunzip {fasta_path.name} && bgzip {fasta_path.name.removesuffix('.gz')}"
        )
    named_compressed = fasta_path.name.lower().endswith((".gz", ".bgz"))
    if compression == "bgzf" and not named_compressed:
        raise InputFileError(f"{fasta_path} is bgzip-compressed; give it a name ending in .gz")
    if compression == "plain" and named_compressed:
        raise InputFileError(f"{fasta_path} ends in .gz but is not compressed")
    _sniff_fasta(fasta_path)
    return compression == "bgzf"


def _sniff_fasta(fasta_path: Path) -> None:
    """Refuse, before pyfaidx indexes it, a FASTA that holds binary data (the shared reader preamble's check,
    :func:`motifscan.textfiles.open_text`) or classic Mac (CR-only) line ends: pyfaidx would index the first as text
    and read the second as one endless line, giving wrong sequence silently."""
    try:
        with textfiles.open_text(fasta_path, _KIND):
            pass
        with gzip.open(fasta_path, "rb") if textfiles.compression(fasta_path) != "plain" \
                else open(fasta_path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except textfiles.READ_ERRORS as error:
        raise InputFileError(f"cannot read FASTA {fasta_path}: {textfiles.read_error_reason(error)}") from None
    lone_cr = re.search(rb"\r(?!\n)", head[:-1])
    if lone_cr:
        line = head.count(b"\n", 0, lone_cr.start()) + 1
        raise InputFileError(f"{fasta_path}, line {line}: classic Mac (CR-only) line ends, which cannot be indexed; "
                             "convert them to LF first (e.g. tr '\\r' '\\n')")


def _pyfaidx_open(fasta_path: Path, index: _IndexPaths) -> pyfaidx.Fasta:
    """Open with pyfaidx using the index files at ``index`` as they are (never building or rewriting them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "index older than FASTA": the index is checked instead
        return pyfaidx.Fasta(
            str(fasta_path),
            indexname=str(index.fai),
            gzi_indexname=str(index.gzi) if index.gzi else None,
            as_raw=True,
            sequence_always_upper=False,
            rebuild=False,
            build_index=False,
        )


def _read_at(faidx: pyfaidx.Faidx, offset: int, size: int) -> bytes:
    """``size`` bytes of the FASTA's (uncompressed) text from byte ``offset`` on; fewer at the end of the file."""
    if faidx._bgzf:  # seek through the .gzi: the block holding ``offset``, then the offset within it
        from Bio.bgzf import make_virtual_offset

        starts = [block.ustart for block in faidx.gzi_index]
        block = faidx.gzi_index[bisect.bisect_right(starts, offset) - 1]
        faidx.file.seek(make_virtual_offset(block.cstart, offset - block.ustart))
    else:
        faidx.file.seek(offset)
    return faidx.file.read(size)


def _record_problem(faidx: pyfaidx.Faidx, name: str, record, next_offset: int | None) -> str | None:
    """What shows that the index line of record ``name`` does not describe the FASTA: its line layout, the header
    line just before its offset (it must name the record), its first sequence line, and what follows its sequence
    (the next record's header, or the end of the file, with nothing but blank lines between)."""
    rlen, offset, lenc, lenb = record.rlen, record.offset, record.lenc, record.lenb
    if rlen and not (0 < lenc <= lenb <= lenc + 2):
        return f"record {name}: impossible line layout ({lenc} letters in lines of {lenb} bytes)"
    before = _read_at(faidx, max(offset - _LOOK_BACK, 0), min(offset, _LOOK_BACK))
    if not before.endswith(b"\n"):
        return f"record {name}: its offset {offset} does not start a line"
    start = before.rfind(b"\n", 0, len(before) - 1) + 1
    if start or offset <= _LOOK_BACK:  # the header line is wholly in view
        words = before[start:].rstrip(b"\r\n").split(maxsplit=1)
        if not words or words[0] != b">" + name.encode("utf-8", "surrogateescape"):
            return f"record {name}: the line before its offset {offset} is not its header"
    newline = lenb - lenc
    first = min(lenc, rlen)
    line = _read_at(faidx, offset, first + newline)
    if rlen and (len(line) < first or line.startswith(b">") or re.search(rb"[\r\n]", line[:first])
                 or line[first:] not in (b"", b"\n", b"\r\n", b"\r")):
        return f"record {name}: its first sequence line is not {lenc} letters long as the index says"
    end = record.bend  # the end of its sequence lines, line end included (pyfaidx's own arithmetic)
    limit = _MAX_GAP_BYTES if next_offset is None else next_offset - end
    if limit < 0:
        return f"record {name}: its sequence would run into the next record"
    if limit > _MAX_GAP_BYTES:
        return f"record {name}: {limit} bytes between its sequence and the next record"
    gap = _read_at(faidx, max(end - newline, 0), limit + newline + 1)[newline:]  # the line end may be missing at EOF
    if next_offset is None:
        return None if len(gap) <= limit and not gap.strip() else \
            f"record {name}: the file goes on after its sequence"
    header_start = gap.rfind(b"\n", 0, len(gap) - 1) + 1 if gap.endswith(b"\n") else 0
    if gap[:header_start].strip() or not gap[header_start:].startswith(b">"):
        return f"record {name}: its sequence does not end where the index says"
    return None


def _index_problem(faidx: pyfaidx.Faidx) -> str | None:
    """What shows that an index (``.fai``, and ``.gzi`` for bgzip) does not describe its FASTA, or None.

    Each record's offset must start a sequence line right after the header naming it, its first line must have the
    index's layout, and its sequence must end where the next record's header (or the file) begins. All records are
    checked when there are at most :data:`_MAX_CHECKED_RECORDS`, else that many, evenly spread, the last included (an
    edit shifts every later offset, so a spread sample finds it). mtimes are not trusted: ``cp -p``, ``rsync -a`` and
    ``tar x`` keep an old one on a rewritten FASTA.
    """
    records = sorted(faidx.index.items(), key=lambda item: item[1].offset)
    if not records:
        return "it lists no sequence"
    picked: Sequence[int] = range(len(records))
    if len(records) > _MAX_CHECKED_RECORDS:
        step = len(records) / _MAX_CHECKED_RECORDS
        picked = sorted({int(i * step) for i in range(_MAX_CHECKED_RECORDS)} | {len(records) - 1})
    try:
        for i in picked:
            name, record = records[i]
            following = records[i + 1][1].offset if i + 1 < len(records) else None
            problem = _record_problem(faidx, name, record, following)
            if problem:
                return problem
    except (OSError, ValueError, EOFError, zlib.error, IndexError, struct.error) as error:
        return f"the FASTA cannot be read with it ({textfiles.read_error_reason(error)})"
    return None


def _open_checked(fasta_path: Path, index: _IndexPaths) -> tuple[pyfaidx.Fasta | None, str]:
    """The FASTA opened with an existing index when the index describes it; else ``(None, why not)``."""
    try:
        fasta = _pyfaidx_open(fasta_path, index)
    except (pyfaidx.FastaIndexingError, pyfaidx.IndexNotFoundError, ValueError, IndexError, OSError,
            struct.error, EOFError, zlib.error) as error:
        return None, f"it cannot be read ({textfiles.read_error_reason(error)})"
    problem = _index_problem(fasta.faidx)
    if problem:
        fasta.close()
        return None, problem
    return fasta, ""


def _write_index(fasta_path: Path, index: _IndexPaths) -> None:
    """Build the index of ``fasta_path`` at ``index``, atomically: pyfaidx writes temporary files in the same folder,
    which are flushed to disk and then renamed over the final names, so that a full disk or a kill while writing
    leaves no truncated index behind (only the old one, or none). OSError when the folder cannot be written."""
    folder = index.fai.parent
    if not folder.exists():
        make_private_dirs(folder)
    token = f"{os.getpid()}.{secrets.token_hex(4)}"
    temporary = {path: path.with_name(f".{path.name}.{token}.tmp") for path in index.files()}
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                built = pyfaidx.Faidx(str(fasta_path), indexname=str(temporary[index.fai]),
                                      gzi_indexname=str(temporary[index.gzi]) if index.gzi else None)
            built.close()
        except OSError as error:  # pyfaidx's "may not be writable" hides the reason (e.g. no space left)
            cause = error.__context__
            raise OSError(getattr(cause, "errno", None) or error.errno,
                          getattr(cause, "strerror", None) or str(error)) from None
        for path in temporary.values():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        for path in index.files()[::-1]:  # the .gzi first: a .fai is only ever beside a .gzi of the same build
            os.replace(temporary[path], path)
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)


def _open_with_index(fasta_path: Path, cache_dir: Path, bgzf: bool) -> pyfaidx.Fasta:
    """The FASTA opened with an index that describes it: beside it, else in the cache, else built (beside it where
    its folder can be written, else in the cache) after saying why the existing one was not used."""
    beside, cached = _index_locations(fasta_path, cache_dir, bgzf)
    rejected: list[str] = []
    for index in (beside, cached):
        if index.exist():
            fasta, problem = _open_checked(fasta_path, index)
            if fasta is not None:
                if rejected:
                    log.info("%s; using %s", rejected[0], index.fai)
                return fasta
            rejected.append(f"the index {index.fai} does not match {fasta_path.name} ({problem})")
    failures = []
    for index in ((beside, cached) if os.access(fasta_path.parent, os.W_OK) else (cached,)):
        try:
            _write_index(fasta_path, index)
        except OSError as error:
            failures.append(f"{index.fai.parent}: {textfiles.read_error_reason(error)}")
            continue
        if rejected:
            log.warning("%s: rebuilt it%s", "; ".join(rejected), "" if index == beside else f" in {index.fai}")
        elif index == cached:
            log.info("%s is in a folder that cannot be written; its index is in %s", fasta_path, index.fai.parent)
        return _pyfaidx_open(fasta_path, index)
    raise InputFileError(f"cannot write an index for {fasta_path} ({'; '.join(failures)})")


def open_fasta(
    fasta_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None, trust_index: bool = False
) -> pyfaidx.Fasta:
    """Open a FASTA (plain or bgzip) with pyfaidx, with an index checked against it (see :func:`_index_problem`).

    Parameters
    ----------
    fasta_path : path
        The FASTA file.
    cache_dir : path, optional
        motifscan's cache directory (default: ``$MOTIFSCAN_CACHE_DIR``, else the user cache directory); indexes that
        cannot go beside the FASTA go to its ``fasta-index/`` folder.
    trust_index : bool
        Ignored, kept for callers of older releases: every index is now checked against its FASTA, whatever the
        timestamps say.

    Returns
    -------
    pyfaidx.Fasta
        Opened with ``as_raw=True`` and ``sequence_always_upper=False``.
    """
    fasta_path = Path(fasta_path)
    bgzf = _check_fasta_file(fasta_path)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        fasta = _open_with_index(fasta_path, cache, bgzf)
    except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as error:
        raise InputFileError(f"cannot read FASTA {fasta_path}: {error}") from error
    except OSError as error:
        raise InputFileError(f"cannot read or index FASTA {fasta_path}: {error}") from error
    if not fasta.faidx.index:
        fasta.close()
        raise InputFileError(f"{fasta_path} holds no sequences")
    for name in fasta.faidx.index:
        problem = name_problem("chromosome", name)
        if problem:
            fasta.close()
            raise InputFileError(f"{fasta_path}: the record name {name!r} {problem}; rename it (names are "
                                 "written to every output as the chromosome)")
    return fasta


# --------------------------------------------------------------------------------------------------------------------
# GTF


@dataclass
class _GeneRow:
    id: str
    version: int | None
    name: str
    biotype: str
    chrom: str
    start: int
    end: int
    strand: str
    line: int = 0  # the GTF line it came from, for messages


@dataclass
class _TranscriptRow:
    id: str
    version: int | None
    gene: _GeneRow  # the gene's attributes as this line gives them (span = the transcript's)
    chrom: str
    start: int
    end: int
    strand: str
    biotype: str
    tags: tuple[str, ...]


@dataclass
class GtfRecords:
    """The gene and transcript lines of a GTF, with 0-based half-open coordinates and GTF chromosome names."""

    path: Path
    genes: dict[str, _GeneRow] = field(default_factory=dict)
    transcripts: dict[str, _TranscriptRow] = field(default_factory=dict)
    assembly: str = ""

    @property
    def chroms(self) -> set[str]:
        """The chromosome names the GTF uses for genes and transcripts."""
        return {row.chrom for row in self.genes.values()} | {row.chrom for row in self.transcripts.values()}


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The GTF's lines (plain or gzip), numbered from 1, through the shared reader preamble
    (:func:`motifscan.textfiles.numbered_lines`: binary data, text that is not UTF-8 and read errors become
    InputFileError naming the line)."""
    return textfiles.numbered_lines(path, "GTF file")


def _malformed(path: Path, line_number: int, problem: str) -> InputFileError:
    return InputFileError(f"{path}, line {line_number}: malformed GTF line: {problem}")


def _attributes(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The attributes of column 9 (first value of each key) and the values of all its ``tag`` attributes."""
    values: dict[str, str] = {}
    tags = []
    for match in _ATTRIBUTE.finditer(text):
        key = match.group(1)
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if key == "tag":
            tags.append(value)
        elif key not in values:
            values[key] = value
    return values, tuple(tags)


def _interval(fields: list[str], path: Path, line_number: int) -> tuple[int, int, str]:
    """0-based half-open start, end and strand of a GTF line (columns 4, 5 and 7 are 1-based closed)."""
    if not all(_COORDINATE.fullmatch(text) for text in fields[3:5]):
        raise _malformed(path, line_number, f"start/end {fields[3]!r}/{fields[4]!r} are not integers "
                                            "(or implausibly large)")
    first, last = int(fields[3]), int(fields[4])
    if first < 1 or last < first:
        raise _malformed(path, line_number, f"bad interval {first}-{last}")
    strand = fields[6]
    if strand not in ("+", "-"):
        raise _malformed(path, line_number, f"strand must be + or -, not {strand!r}")
    return first - 1, last, strand


def _versioned_attribute(values: Mapping[str, str], key: str) -> tuple[str, int | None]:
    identifier, version = split_version(values[key])
    explicit = values.get(key.replace("_id", "_version"))
    if explicit is not None and explicit.isdigit():
        version = int(explicit)
    return identifier, version


def _required(values: Mapping[str, str], key: str, text: str, path: Path, line_number: int) -> None:
    """``key`` must be present with a non-empty value."""
    if key not in values:
        hint = " (column 9 looks like GFF3 'key=value'; motifscan reads GTF)" if "=" in text and '"' not in text else ""
        raise _malformed(path, line_number, f"no {key} attribute{hint}")
    if not values[key].strip():
        raise _malformed(path, line_number, f"empty {key}")


def _checked_attributes(text: str, path: Path, line_number: int) -> tuple[dict[str, str], tuple[str, ...]]:
    if text.count('"') % 2:
        raise _malformed(path, line_number, "unbalanced double quotes in the attributes")
    return _attributes(text)


def _gene_row(fields: list[str], values: Mapping[str, str], path: Path, line_number: int) -> _GeneRow:
    _required(values, "gene_id", fields[8], path, line_number)
    if not fields[0].strip():
        raise _malformed(path, line_number, "empty chromosome name")
    start, end, strand = _interval(fields, path, line_number)
    gene_id, version = _versioned_attribute(values, "gene_id")
    biotype = values.get("gene_biotype") or values.get("gene_type") or ""
    name = values.get("gene_name", "")
    _check_names(path, line_number, ("chromosome", "chromosome", fields[0]), ("gene_id", "id", gene_id),
                 ("gene_name", "name", name), ("gene biotype", "biotype", biotype))
    return _GeneRow(gene_id, version, name, biotype, fields[0], start, end, strand, line_number)


def _check_names(path: Path, line_number: int, *checks: tuple[str, str, str]) -> None:
    """Each ``(what, kind, value)`` must pass :func:`motifscan.identifiers.name_problem` (empty values are allowed:
    a gene may have no name or biotype); else InputFileError naming the file, the line and the value."""
    for what, kind, value in checks:
        problem = name_problem(kind, value) if value else None
        if problem:
            raise _malformed(path, line_number, f"the {what} {value!r} {problem}")


def _transcript_row(fields: list[str], path: Path, line_number: int) -> _TranscriptRow:
    values, tags = _checked_attributes(fields[8], path, line_number)
    gene = _gene_row(fields, values, path, line_number)
    _required(values, "transcript_id", fields[8], path, line_number)
    transcript_id, version = _versioned_attribute(values, "transcript_id")
    biotype = values.get("transcript_biotype") or values.get("transcript_type") or ""
    _check_names(path, line_number, ("transcript_id", "id", transcript_id), ("transcript biotype", "biotype", biotype))
    return _TranscriptRow(transcript_id, version, gene, gene.chrom, gene.start, gene.end, gene.strand, biotype, tags)


def _split_line(line: str, path: Path, line_number: int) -> list[str] | None:
    """The 9 columns of a GTF line, or None for comments and blank lines."""
    if line.startswith("#") or not line.strip():
        return None
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 9:
        raise _malformed(path, line_number, f"expected 9 tab-separated columns, found {len(fields)}")
    return fields


def _add_row(rows: dict, row, path: Path, line_number: int, kind: str) -> None:
    if row.id in rows:
        log.debug("%s, line %d: %s %s seen before; keeping the first", path, line_number, kind, row.id)
        return
    rows[row.id] = row


def _read_gene_and_transcript_lines(path: Path) -> tuple[GtfRecords, int]:
    records = GtfRecords(path)
    exon_lines = 0
    for line_number, line in _numbered_lines(path):
        if line.startswith("#!genome-build"):
            records.assembly = line.partition(" ")[2].strip()
        fields = _split_line(line, path, line_number)
        if fields is None:
            continue
        feature = fields[2]
        if feature == "transcript":
            _add_row(records.transcripts, _transcript_row(fields, path, line_number), path, line_number, "transcript")
        elif feature == "gene":
            values, _ = _checked_attributes(fields[8], path, line_number)
            _add_row(records.genes, _gene_row(fields, values, path, line_number), path, line_number, "gene")
        elif feature == "exon":
            exon_lines += 1
    return records, exon_lines


def _transcripts_from_exons(path: Path) -> dict[str, _TranscriptRow]:
    """Transcript rows spanning each transcript's exons, for GTFs without ``transcript`` lines."""
    transcripts: dict[str, _TranscriptRow] = {}
    for line_number, line in _numbered_lines(path):
        fields = _split_line(line, path, line_number)
        if fields is None or fields[2] != "exon":
            continue
        exon = _transcript_row(fields, path, line_number)
        seen = transcripts.get(exon.id)
        if seen is None:
            transcripts[exon.id] = exon
        elif (seen.chrom, seen.strand) == (exon.chrom, exon.strand):
            seen.start, seen.end = min(seen.start, exon.start), max(seen.end, exon.end)
            seen.tags = tuple(dict.fromkeys(seen.tags + exon.tags))
    return transcripts


def read_gtf_records(path: str | os.PathLike) -> GtfRecords:
    """Stream a GTF (plain or gzip) and keep its gene and transcript lines.

    Coordinates are converted from the GTF's 1-based closed to 0-based half-open here. Raises InputFileError naming
    the file and line for malformed lines, and when the file holds no genes.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"annotation GTF not found: {path}")
    records, exon_lines = _read_gene_and_transcript_lines(path)
    if not records.transcripts and exon_lines:
        log.info("%s has no transcript lines; taking transcript spans from its exons", path)
        records.transcripts = _transcripts_from_exons(path)
    if not records.genes and not records.transcripts:
        raise InputFileError(f"{path} holds no gene or transcript lines; is it a GTF?")
    return records


def _choose_canonical(transcripts: Sequence[Transcript], tags: Mapping[str, tuple[str, ...]]) -> Transcript | None:
    for tag in CANONICAL_TAGS:
        tagged = [t for t in transcripts if tag in tags[t.id]]
        if tagged:
            return fallback_canonical(tagged)
    return fallback_canonical(transcripts)


def _gene_from_rows(gene_row: _GeneRow, transcript_rows: Sequence[_TranscriptRow], chrom: str) -> Gene:
    transcripts = sorted(
        (Transcript(r.id, gene_row.id, chrom, r.start, r.end, r.strand, r.biotype, False, r.version)
         for r in transcript_rows),
        key=lambda t: t.id,
    )
    canonical = _choose_canonical(transcripts, {r.id: r.tags for r in transcript_rows})
    transcripts = [dataclasses.replace(t, is_canonical=True) if t is canonical else t for t in transcripts]
    return Gene(
        gene_row.id, gene_row.name, chrom, gene_row.start, gene_row.end, gene_row.strand, gene_row.biotype,
        tuple(transcripts), gene_row.version,
    )


def _gene_row_from_transcripts(rows: Sequence[_TranscriptRow]) -> _GeneRow:
    first = rows[0].gene
    start = min(row.start for row in rows)
    end = max(row.end for row in rows)
    return dataclasses.replace(first, start=start, end=end)


def build_genes(records: GtfRecords, chrom_names: Mapping[str, str] | None = None) -> list[Gene]:
    """Genes with their transcripts and canonical flag, from a GTF's records.

    ``chrom_names`` renames GTF chromosomes (names it lacks are kept). Transcripts on another chromosome or strand
    than their gene's line are dropped (logged). Genes come back in GTF order.
    """
    rename = chrom_names or {}
    by_gene: dict[str, list[_TranscriptRow]] = defaultdict(list)
    for row in records.transcripts.values():
        by_gene[row.gene.id].append(row)
    genes = []
    for gene_id in dict.fromkeys([*records.genes, *by_gene]):
        transcript_rows = by_gene.get(gene_id, [])
        gene_row = records.genes.get(gene_id) or _gene_row_from_transcripts(transcript_rows)
        kept = [r for r in transcript_rows if (r.chrom, r.strand) == (gene_row.chrom, gene_row.strand)]
        if len(kept) < len(transcript_rows):
            log.warning("%s: %d transcripts of %s lie on another chromosome or strand; ignored",
                        records.path, len(transcript_rows) - len(kept), gene_id)
        genes.append(_gene_from_rows(gene_row, kept, rename.get(gene_row.chrom, gene_row.chrom)))
    return genes


def read_gtf(path: str | os.PathLike, chrom_names: Mapping[str, str] | None = None) -> list[Gene]:
    """The genes of a GTF (plain or gzip; Ensembl or GENCODE style), 0-based half-open, in file order.

    See the module docstring for the canonical-transcript rule; ``chrom_names`` renames chromosomes.
    """
    return build_genes(read_gtf_records(path), chrom_names)


# --------------------------------------------------------------------------------------------------------------------
# chromosome names


def reconcile_chromosomes(gtf_chroms: Iterable[str], fasta_chroms: Collection[str]) -> dict[str, str]:
    """Map each GTF chromosome to its FASTA name: itself when the FASTA has it, else the FASTA name differing only by
    a ``chr`` prefix (``chrM``/``MT`` included). GTF chromosomes with no match are left out of the map."""
    mapping = {}
    for name in gtf_chroms:
        if name in fasta_chroms:
            mapping[name] = name
            continue
        match = next((alt for alt in chromosome_aliases(name) if alt in fasta_chroms), None)
        if match is not None:
            mapping[name] = match
    return mapping


def _preview(names: Iterable[str], limit: int = 5) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# --------------------------------------------------------------------------------------------------------------------
# the source


def file_md5(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file's bytes, read in 1 MiB chunks."""
    return memo.file_md5(path)


def _gene_lines(records: GtfRecords) -> dict[str, int]:
    """Gene ID -> the GTF line naming it (its gene line, else one of its transcript lines), for messages."""
    lines = {row.gene.id: row.gene.line for row in records.transcripts.values()}
    lines.update({gene_id: row.line for gene_id, row in records.genes.items()})
    return lines


def _parse_for_memo(gtf_path: Path) -> tuple[list[Gene], str, set[str], dict[str, int]]:
    """What :mod:`motifscan.sources.memo` keeps of a GTF: its genes in its own chromosome names, its assembly, its
    chromosomes and each gene's line."""
    records = read_gtf_records(gtf_path)
    return build_genes(records), records.assembly, records.chroms, _gene_lines(records)


class LocalGenomeSource:
    """A :class:`~motifscan.sources.GeneSource` reading a local FASTA and GTF.

    Parameters
    ----------
    fasta_path : path
        Genome FASTA, plain or bgzip (not plain gzip).
    gtf_path : path
        Annotation GTF, plain or gzip, Ensembl or GENCODE style.
    cache_dir : path, optional
        motifscan's cache directory, for FASTA indexes that cannot be written beside the FASTA
        (default: ``$MOTIFSCAN_CACHE_DIR``, else the user cache directory).
    genome_label, annotation_label : str, optional
        How :meth:`provenance` names the genome and annotation (default: their paths).

    Notes
    -----
    All coordinates are 0-based half-open; chromosome names are the FASTA's (see the module docstring). Use as a
    context manager, or call :meth:`close`, to release the FASTA file.
    """

    def __init__(
        self,
        fasta_path: str | os.PathLike,
        gtf_path: str | os.PathLike,
        cache_dir: str | os.PathLike | None = None,
        *,
        genome_label: str | None = None,
        annotation_label: str | None = None,
        trust_index: bool = False,
        memo_dir: str | os.PathLike | None = None,
    ) -> None:
        self.fasta_path = Path(fasta_path)
        self.gtf_path = Path(gtf_path)
        self.genome_label = genome_label or str(self.fasta_path)
        self.annotation_label = annotation_label or str(self.gtf_path)
        self._memo_dir = Path(memo_dir) if memo_dir is not None else None
        self._checksums: dict[str, str] = {}
        self._fasta = open_fasta(self.fasta_path, cache_dir, trust_index)
        self._chrom_lengths = {name: record.rlen for name, record in self._fasta.faidx.index.items()}
        try:
            if self._memo_dir is None:
                records = read_gtf_records(self.gtf_path)
                self.chrom_names = self._reconcile(records.chroms)
                self.assembly = records.assembly
                self.genes: tuple[Gene, ...] = tuple(build_genes(records, self.chrom_names))
                self._gene_lines = _gene_lines(records)
            else:
                self._checksums["annotation_md5"] = memo.file_md5(self.gtf_path, self._memo_dir)
                parsed = memo.parsed_annotation(self.gtf_path, self._checksums["annotation_md5"],
                                                lambda: _parse_for_memo(self.gtf_path), log, self._memo_dir)
                self.chrom_names = self._reconcile(set(parsed.chroms))
                self.assembly = parsed.assembly
                self.genes = parsed.renamed(self.chrom_names)
                self._gene_lines = dict(parsed.gene_lines)
        except BaseException:
            self.close()
            raise
        self._index_genes()

    @classmethod
    def demo(cls, cache_dir: str | os.PathLike | None = None) -> LocalGenomeSource:
        """The embedded demo genome: GRCh37 chromosomes 6 and X (parts) with 14 genes, from Ensembl's test data."""
        from motifscan.resources import demo_genome

        fasta_path, gtf_path = demo_genome()
        return cls(fasta_path, gtf_path, cache_dir, genome_label=DEMO_LABEL, annotation_label=DEMO_ANNOTATION_LABEL,
                   trust_index=True)

    def __enter__(self) -> LocalGenomeSource:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the FASTA file."""
        self._fasta.close()

    # ---------------------------------------------------------------- loading

    def _reconcile(self, gtf_chroms: set[str]) -> dict[str, str]:
        mapping = reconcile_chromosomes(gtf_chroms, self._chrom_lengths)
        if not mapping:
            raise GenomeError(
                f"none of the chromosomes of {self.gtf_path} ({_preview(gtf_chroms)}) is in {self.fasta_path} "
                f"({_preview(self._chrom_lengths)}); are they the same assembly?"
            )
        renamed = {gtf: fasta for gtf, fasta in mapping.items() if gtf != fasta}
        if renamed:
            log.info("GTF chromosome names mapped to the FASTA's: %s",
                     _preview(f"{gtf}->{fasta}" for gtf, fasta in renamed.items()))
        missing = gtf_chroms - mapping.keys()
        if missing:
            log.warning("%s has genes on chromosomes that %s lacks: %s", self.gtf_path, self.fasta_path,
                        _preview(missing))
        return mapping

    def _index_genes(self) -> None:
        self._genes_by_id: dict[str, Gene] = {}
        self._genes_by_transcript: dict[str, Gene] = {}
        self._genes_by_name: dict[str, list[Gene]] = defaultdict(list)
        self._genes_by_folded_name: dict[str, list[Gene]] = defaultdict(list)
        for gene in self.genes:
            self._genes_by_id[gene.id.upper()] = gene
            for transcript in gene.transcripts:
                self._genes_by_transcript[transcript.id.upper()] = gene
            if gene.name:
                self._genes_by_name[gene.name].append(gene)
                self._genes_by_folded_name[gene.name.casefold()].append(gene)
        self._display_names = {folded: genes[0].name for folded, genes in self._genes_by_folded_name.items()}

    # ---------------------------------------------------------------- GeneSource

    def lookup(self, queries: Sequence[str]) -> list[GeneLookup]:
        """Resolve gene symbols (exact case first, then any case), gene IDs and transcript IDs (versioned or not).

        One :class:`GeneLookup` per query, in order. A symbol shared by several genes gives all of them and a note;
        an unknown query gives no genes and close symbols as suggestions (a GTF has no synonyms).

        A query whose every gene lies on a chromosome the FASTA lacks gives no genes either, with a note naming the
        chromosome and the GTF line (the caller warns about it as about any gene not found).
        """
        return [self._lookup_one(query) for query in queries]

    def _lookup_one(self, query: str) -> GeneLookup:
        text = query.strip()
        found = self._find_by_id(text) or self._find_by_name(text)
        if found is None:
            return GeneLookup(query, suggestions=self._suggest(text))
        genes, transcript_id, notes = found
        genes, missing_note = self._on_fasta_chromosomes(genes)
        if not genes:  # a gene whose sequence is not in the FASTA is not found, like an unknown one
            return GeneLookup(query, note=missing_note)
        if missing_note:
            notes.append(missing_note)
        if len(genes) > 1:
            notes.append(f"{text} names {len(genes)} genes: " + ", ".join(self._describe(g) for g in genes))
        return GeneLookup(query, tuple(genes), transcript_id, "; ".join(notes))

    def _find_by_id(self, text: str) -> tuple[list[Gene], str | None, list[str]] | None:
        key = text.upper()
        known = key in self._genes_by_id or key in self._genes_by_transcript
        identifier, version = (key, None) if known else split_version(key)
        gene = self._genes_by_id.get(identifier)
        transcript_id = None
        if gene is None:
            gene = self._genes_by_transcript.get(identifier)
            if gene is None:
                return None
            transcript_id = next(t.id for t in gene.transcripts if t.id.upper() == identifier)
        return [gene], transcript_id, self._version_notes(text, gene, transcript_id, version)

    @staticmethod
    def _version_notes(text: str, gene: Gene, transcript_id: str | None, version: int | None) -> list[str]:
        if version is None:
            return []
        if transcript_id is None:
            known = gene.version
        else:
            known = next(t.version for t in gene.transcripts if t.id == transcript_id)
        if known is None or known == version:
            return []
        return [f"{text}: the annotation has version {known}"]

    def _find_by_name(self, text: str) -> tuple[list[Gene], None, list[str]] | None:
        genes = self._genes_by_name.get(text) or self._genes_by_folded_name.get(text.casefold())
        if not genes:
            return None
        return list(genes), None, []

    def _on_fasta_chromosomes(self, genes: list[Gene]) -> tuple[list[Gene], str]:
        """The genes whose chromosome the FASTA has, and a note on those it lacks ("" when none)."""
        usable = [gene for gene in genes if gene.chrom in self._chrom_lengths]
        lost = [gene for gene in genes if gene.chrom not in self._chrom_lengths]
        if not lost:
            return genes, ""
        described = ", ".join(f"{self._describe(g)} on chromosome {g.chrom}{self._where(g)}" for g in lost)
        if not usable:
            return [], f"{described}, which {self.fasta_path} lacks (it has {_preview(self._chrom_lengths)})"
        return usable, f"skipped {described}, which the FASTA lacks"

    def _where(self, gene: Gene) -> str:
        line = self._gene_lines.get(gene.id)
        return f" ({self.gtf_path}, line {line})" if line else ""

    @staticmethod
    def _describe(gene: Gene) -> str:
        return f"{gene.label} ({gene.id})" if gene.name else gene.id

    def _suggest(self, text: str) -> tuple[str, ...]:
        close = difflib.get_close_matches(text.casefold(), self._display_names, n=3, cutoff=0.75)
        return tuple(self._display_names[folded] for folded in close)

    def chrom_length(self, chrom: str) -> int:
        """Length in bp of FASTA record ``chrom``; GenomeError when the FASTA lacks it."""
        try:
            return self._chrom_lengths[chrom]
        except KeyError:
            raise GenomeError(
                f"chromosome {chrom!r} is not in {self.fasta_path} (it has {_preview(self._chrom_lengths)})"
            ) from None

    @property
    def chromosomes(self) -> tuple[str, ...]:
        """The FASTA's record names, in file order."""
        return tuple(self._chrom_lengths)

    def fetch_sequences(self, regions: Sequence[Region]) -> list[str]:
        """The forward-strand sequence of each region ``[start, end)`` (0-based half-open), whatever its strand says.

        Letter case is the FASTA's; positions past the chromosome's end are N. Regions are read in genomic order
        (kind to bgzip's block cache) and returned in the order given.
        """
        sequences = [""] * len(regions)
        for i in sorted(range(len(regions)), key=lambda i: (regions[i].chrom, regions[i].start)):
            sequences[i] = self._fetch(regions[i])
        return sequences

    def _fetch(self, region: Region) -> str:
        length = self.chrom_length(region.chrom)
        inside_end = min(region.end, length)
        if region.start >= inside_end:
            return "N" * (region.end - region.start)
        try:
            sequence = self._fasta.faidx.fetch(region.chrom, region.start + 1, inside_end)
        except (OSError, ValueError, pyfaidx.FetchError) as error:
            raise InputFileError(
                f"cannot read {region.chrom}:{region.start}-{region.end} from {self.fasta_path}: {error}"
            ) from error
        bad = first_non_sequence(sequence)
        if bad is not None:
            position = region.start + bad + 1
            raise InputFileError(
                f"{self.fasta_path}: {sequence[bad]!r} at {region.chrom}:{position} (1-based) is not a sequence "
                "letter; "
                "is the FASTA damaged, or its index stale?"
            )
        if len(sequence) != inside_end - region.start:
            raise InputFileError(
                f"{self.fasta_path}: read {len(sequence)} bases for {region.chrom}:{region.start + 1}-{inside_end} "
                f"instead of {inside_end - region.start}: the file is truncated or its lines are uneven, or its "
                "index (.fai) is stale (delete it to rebuild it)"
            )
        return sequence + "N" * (region.end - inside_end)

    def provenance(self) -> dict[str, str]:
        """Where genes and sequence came from: labels, paths and MD5 checksums of the FASTA and GTF files
        (computed once, on first call), and the assembly named in the GTF's ``#!genome-build`` header if any."""
        for name, path in (("genome_md5", self.fasta_path), ("annotation_md5", self.gtf_path)):
            if name not in self._checksums:
                self._checksums[name] = memo.file_md5(path, self._memo_dir)
        facts = {
            "source": "local",
            "genome": self.genome_label,
            "genome_file": str(self.fasta_path),
            "genome_md5": self._checksums["genome_md5"],
            "annotation": self.annotation_label,
            "annotation_file": str(self.gtf_path),
            "annotation_md5": self._checksums["annotation_md5"],
        }
        if self.assembly:
            facts["assembly"] = self.assembly
        return facts
