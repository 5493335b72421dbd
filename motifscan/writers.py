"""Output formats. Each format's columns and coordinate convention live here and nowhere else.

- TSV: ``#`` provenance lines, one header row, one row per hit; ``start``/``end`` 0-based half-open.
- BED6: 0-based half-open; name ``{motif_name}|{gene_name or seq_name}``; score ``min(1000, round(-100 log10 p))``.
- GFF3: ``TF_binding_site`` features, 1-based inclusive.
- FIMO TSV: FIMO's columns, 1-based inclusive positions within each record.

Files are written atomically: to a temporary file beside the target, then renamed, so a failed or interrupted run
leaves no half-written file and an existing output stays as it was.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from motifscan.errors import InputFileError, MotifscanError, UsageError
from motifscan.model import Hit, Region

TSV_COLUMNS = (
    "motif_id", "motif_name", "seq_name", "chrom", "start", "end", "strand", "score", "rel_score", "p_value",
    "q_value", "matched_sequence", "gene_id", "gene_name", "transcript_ids", "tss_rel_start", "tss_rel_end",
)

TSV_DTYPES = {
    "motif_id": "str", "motif_name": "str", "seq_name": "str", "chrom": "str", "start": "int64", "end": "int64",
    "strand": "str", "score": "float64", "rel_score": "float64", "p_value": "float64", "q_value": "float64",
    "matched_sequence": "str", "gene_id": "str", "gene_name": "str", "transcript_ids": "str",
    "tss_rel_start": "Int64", "tss_rel_end": "Int64",
}
"""The pandas dtype of each TSV column, whatever the rows hold: text columns are strings (pandas' ``str``: object
in pandas 2, the string dtype in pandas 3; ``chrom`` "6", never int64; an empty gene field is "", not NaN),
``start``/``end`` int64 (0-based half-open), TSS-relative positions the nullable Int64 (<NA> on FASTA scans)."""

Provenance = Sequence[tuple[str, str]]


def _text(value) -> str:
    return "" if value is None else str(value)


def tsv_row(hit: Hit) -> list[str]:
    """The TSV fields of one hit, in ``TSV_COLUMNS`` order."""
    return [
        hit.motif_id, hit.motif_name, hit.seq_name, hit.chrom, str(hit.start), str(hit.end), hit.strand,
        f"{hit.score:.6f}", f"{hit.rel_score:.6f}", f"{hit.p_value:.6g}", f"{hit.q_value:.6g}",
        hit.matched_sequence, hit.gene_id, hit.gene_name, ",".join(hit.transcript_ids),
        _text(hit.tss_rel_start), _text(hit.tss_rel_end),
    ]


def comment_lines(provenance: Provenance) -> list[str]:
    """``# key: value`` lines (newlines in values flattened)."""
    return [f"# {key}: {' '.join(str(value).split())}" for key, value in provenance]


_RECORD_LINE = re.compile(r"^(\S+) (\S+):(\d+)-(\d+)\(([+-])\)$")


def record_line(region: Region) -> str:
    """A scanned record as a provenance value: ``NAME CHROM:START-END(STRAND)``, 1-based inclusive as in promoter
    FASTA headers; STRAND is the record's orientation (the gene's, for promoters)."""
    return f"{region.name} {region.chrom}:{region.start + 1}-{region.end}({region.strand})"


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


def tsv_lines(hits: Iterable[Hit], provenance: Provenance, records: Iterable[Region] = ()) -> Iterable[str]:
    """The lines of the TSV file, without line ends: provenance, one ``# record:`` line per scanned record (so that
    records without hits are visible too), the header, the rows."""
    yield from comment_lines(provenance)
    yield from comment_lines([("record", record_line(region)) for region in records])
    yield "\t".join(TSV_COLUMNS)
    for hit in hits:
        yield "\t".join(tsv_row(hit))


def read_tsv(path: str | Path) -> tuple[list[tuple[str, str]], list[Hit]]:
    """Provenance pairs (``record`` lines included) and hits of a motifscan TSV file (as :func:`tsv_lines` writes
    it)."""
    provenance: list[tuple[str, str]] = []
    hits: list[Hit] = []
    header = None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot read ({error})") from None
    for number, line in enumerate(lines, 1):
        if header is None and line.startswith("#"):  # comments come first; later a '#' is data (motif "#1")
            key, _, value = line[1:].strip().partition(": ")
            provenance.append((key, value))
        elif header is None:
            header = line.split("\t")
            if tuple(header) != TSV_COLUMNS:
                raise InputFileError(f"{path}, line {number}: not a motifscan TSV header")
        elif line.strip():
            hits.append(_hit_from_row(line.split("\t"), path, number))
    if header is None:
        raise InputFileError(f"{path}: no motifscan TSV header found")
    return provenance, hits


def _hit_from_row(fields: list[str], path, number: int) -> Hit:
    if len(fields) != len(TSV_COLUMNS):
        raise InputFileError(f"{path}, line {number}: {len(fields)} fields, expected {len(TSV_COLUMNS)}")
    row = dict(zip(TSV_COLUMNS, fields))
    try:
        return Hit(
            motif_id=row["motif_id"], motif_name=row["motif_name"], seq_name=row["seq_name"], chrom=row["chrom"],
            start=int(row["start"]), end=int(row["end"]), strand=row["strand"], score=float(row["score"]),
            rel_score=float(row["rel_score"]), p_value=float(row["p_value"]), q_value=float(row["q_value"]),
            matched_sequence=row["matched_sequence"], gene_id=row["gene_id"], gene_name=row["gene_name"],
            transcript_ids=tuple(t for t in row["transcript_ids"].split(",") if t),
            tss_rel_start=int(row["tss_rel_start"]) if row["tss_rel_start"] else None,
            tss_rel_end=int(row["tss_rel_end"]) if row["tss_rel_end"] else None,
        )
    except ValueError as error:
        raise InputFileError(f"{path}, line {number}: {error}") from None


def bed_score(p_value: float) -> int:
    """BED score of a hit: ``min(1000, round(-100 * log10 p))``, as JASPAR's genome tracks."""
    if p_value <= 0:
        return 1000
    return int(min(1000, round(-100 * math.log10(p_value))))


def bed_name(hit: Hit) -> str:
    return f"{hit.motif_name}|{hit.gene_name or hit.seq_name}"


def bed_lines(hits: Iterable[Hit], provenance: Provenance = (), track: str | None = None) -> Iterable[str]:
    """BED6 lines sorted by chrom, start, end (then name and strand, for a stable order); 0-based half-open."""
    if track:  # UCSC and IGV expect the track line first
        yield track
    yield from comment_lines(provenance)
    ordered = sorted(hits, key=lambda h: (h.chrom, h.start, h.end, bed_name(h), h.strand))
    for hit in ordered:
        yield "\t".join([hit.chrom, str(hit.start), str(hit.end), bed_name(hit), str(bed_score(hit.p_value)),
                         hit.strand])


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
    """Write lines to ``path`` atomically; ``"-"`` writes to standard output."""
    write_outputs([(path, lines)])


def _is_special(path: str | Path) -> bool:
    """Standard output ("-"), or an existing target that is not a regular file (/dev/null, /dev/stdout, a FIFO):
    written to directly, since renaming a file over it would replace the device or pipe."""
    return str(path) == "-" or (os.path.exists(path) and not os.path.isfile(path))


def write_outputs(outputs: Sequence[tuple[str | Path, Iterable[str]]]) -> None:
    """Write several files as one step: every regular file goes to a temporary file beside its target first, and only
    when all are complete are they renamed into place; on any failure (Ctrl-C included) no target is touched.
    Standard output (``"-"``) and special files (devices, pipes) are written directly, after the files."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, lines in outputs:
            if not _is_special(path):
                staged.append((_stage(Path(path), lines), Path(path)))
        for temporary, path in staged:
            try:
                os.replace(temporary, path)
            except OSError as error:
                raise MotifscanError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise
    for path, lines in outputs:
        if str(path) == "-":
            for line in lines:
                sys.stdout.write(line + "\n")
        elif _is_special(path):
            with open(path, "w", encoding="utf-8") as handle:
                for line in lines:
                    handle.write(line + "\n")


def _stage(path: Path, lines: Iterable[str]) -> str:
    """Write ``lines`` to a new temporary file beside ``path``; its name."""
    try:
        handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                             delete=False, encoding="utf-8", newline="\n")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    try:
        with handle:
            for line in lines:
                handle.write(line + "\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)  # as an ordinary open() would have made it
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise MotifscanError(f"cannot write {path}: {error.strerror}") from None
        raise
    return handle.name


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
        yield "\t".join([region.chrom, str(region.start), str(region.end), region.name, "0", region.strand])


def _gff3_escape(value: str) -> str:
    # GFF3 reserves tab, newline, %, ;, =, & and , in attribute values: percent-encode them
    return "".join(f"%{ord(c):02X}" if c in "\t\n\r%;=&," or ord(c) < 32 else c for c in value)


def gff3_lines(hits: Iterable[Hit], provenance: Provenance = ()) -> Iterable[str]:
    """GFF3: one ``TF_binding_site`` (SO:0000235) feature per hit, 1-based inclusive (start + 1 .. end)."""
    yield "##gff-version 3"
    yield from comment_lines(provenance)
    ordered = sorted(hits, key=lambda h: (h.chrom, h.start, h.end, h.motif_id, h.strand))
    for number, hit in enumerate(ordered, 1):
        attributes = [("ID", f"site{number}"), ("Name", hit.motif_name), ("motif_id", hit.motif_id),
                      ("p_value", f"{hit.p_value:.6g}"), ("q_value", f"{hit.q_value:.6g}"),
                      ("rel_score", f"{hit.rel_score:.6f}"), ("matched_sequence", hit.matched_sequence),
                      ("seq_name", hit.seq_name), ("Ontology_term", "SO:0000235")]
        if hit.gene_id:
            attributes += [("gene_id", hit.gene_id), ("gene_name", hit.gene_name),
                           ("transcript_ids", " ".join(hit.transcript_ids)),
                           ("tss_rel", f"{hit.tss_rel_start}..{hit.tss_rel_end}")]
        text = ";".join(f"{key}={_gff3_escape(str(value))}" for key, value in attributes)
        yield "\t".join([hit.chrom, "motifscan", "TF_binding_site", str(hit.start + 1), str(hit.end),
                         f"{hit.score:.6f}", hit.strand, ".", text])


FIMO_COLUMNS = ("motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score", "p-value",
                "q-value", "matched_sequence")


def fimo_lines(hits: Iterable[Hit], records: Mapping[str, Region], provenance: Provenance = ()) -> Iterable[str]:
    """FIMO-compatible TSV: FIMO's column names; ``start``/``stop`` 1-based inclusive within the record
    ``sequence_name`` (= seq_name), read in the record's own orientation, as FIMO would report a scan of the
    record's FASTA (``motifscan promoters`` writes gene-oriented records); strand relative to that record.
    Provenance goes at the end, in ``#`` lines, where FIMO puts its own."""
    yield "\t".join(FIMO_COLUMNS)
    rows = []
    for hit in hits:
        record = records[hit.seq_name]
        if record.strand == "+":
            start, stop, strand = hit.start - record.start + 1, hit.end - record.start, hit.strand
        else:
            start, stop, strand = record.end - hit.end + 1, record.end - hit.start, "+" if hit.strand == "-" else "-"
        rows.append((hit.motif_id, hit.motif_name, hit.seq_name, start, stop, strand, f"{hit.score:.6f}",
                     f"{hit.p_value:.6g}", f"{hit.q_value:.6g}", hit.matched_sequence))
    rows.sort(key=lambda r: (r[0], r[2], r[3], r[5]))
    for row in rows:
        yield "\t".join(str(field) for field in row)
    yield from comment_lines(provenance)
