"""Output formats. Each format's columns and coordinate convention live here and nowhere else.

- TSV: ``#`` provenance lines, one header row, one row per hit; ``start``/``end`` 0-based half-open.
- BED6: 0-based half-open; name ``{motif_name}|{gene_name or seq_name}``; score ``min(1000, round(-100 log10 p))``.

Files are written atomically: to a temporary file beside the target, then renamed, so a failed or interrupted run
leaves no half-written file and an existing output stays as it was.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from motifscan.model import Hit

TSV_COLUMNS = (
    "motif_id", "motif_name", "seq_name", "chrom", "start", "end", "strand", "score", "rel_score", "p_value",
    "q_value", "matched_sequence", "gene_id", "gene_name", "transcript_ids", "tss_rel_start", "tss_rel_end",
)

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


def tsv_lines(hits: Iterable[Hit], provenance: Provenance) -> Iterable[str]:
    """The lines of the TSV file, without line ends."""
    yield from comment_lines(provenance)
    yield "\t".join(TSV_COLUMNS)
    for hit in hits:
        yield "\t".join(tsv_row(hit))


def bed_score(p_value: float) -> int:
    """BED score of a hit: ``min(1000, round(-100 * log10 p))``, as JASPAR's genome tracks."""
    if p_value <= 0:
        return 1000
    return int(min(1000, round(-100 * math.log10(p_value))))


def bed_name(hit: Hit) -> str:
    return f"{hit.motif_name}|{hit.gene_name or hit.seq_name}"


def bed_lines(hits: Iterable[Hit], provenance: Provenance = (), track: str | None = None) -> Iterable[str]:
    """BED6 lines sorted by chrom, start, end (then name and strand, for a stable order); 0-based half-open."""
    yield from comment_lines(provenance)
    if track:
        yield track
    ordered = sorted(hits, key=lambda h: (h.chrom, h.start, h.end, bed_name(h), h.strand))
    for hit in ordered:
        yield "\t".join([hit.chrom, str(hit.start), str(hit.end), bed_name(hit), str(bed_score(hit.p_value)),
                         hit.strand])


def write_lines(path: str | Path, lines: Iterable[str]) -> None:
    """Write lines to ``path`` atomically; ``"-"`` writes to standard output."""
    if str(path) == "-":
        for line in lines:
            sys.stdout.write(line + "\n")
        return
    path = Path(path)
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False, encoding="utf-8", newline="\n")
    try:
        with handle:
            for line in lines:
                handle.write(line + "\n")
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def promoter_fasta_lines(promoters, forward_sequences: Sequence[str], width: int = 60) -> Iterable[str]:
    """FASTA of promoter windows in the gene's orientation; header ``GENE|TRANSCRIPTS CHROM:START-END(STRAND)`` with
    1-based inclusive coordinates."""
    from motifscan.promoters import oriented_sequence, promoter_fasta_header

    for promoter, forward in zip(promoters, forward_sequences):
        sequence = oriented_sequence(forward, promoter.region.strand)
        yield ">" + promoter_fasta_header(promoter)
        for offset in range(0, len(sequence), width):
            yield sequence[offset : offset + width]


def promoter_bed_lines(promoters) -> Iterable[str]:
    """BED6 of promoter windows (0-based half-open), name = the record name, score 0."""
    for promoter in promoters:
        region = promoter.region
        yield "\t".join([region.chrom, str(region.start), str(region.end), region.name, "0", region.strand])
