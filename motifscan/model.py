"""The frozen records that flow between motifscan's modules.

Coordinate convention everywhere in this module: ``start``/``end`` are 0-based, half-open (``end`` is one past the
last base), as in BED. Strand is the string ``"+"`` or ``"-"``. Conversion from the 1-based closed coordinates of
Ensembl and GTF happens once, in the source that reads them (:mod:`motifscan.sources`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

STRANDS = ("+", "-")


def _check_interval(start: int, end: int, strand: str) -> None:
    if start < 0 or end < start:
        raise ValueError(f"bad interval [{start}, {end})")
    if strand not in STRANDS:
        raise ValueError(f"strand must be '+' or '-', not {strand!r}")


@dataclass(frozen=True)
class Transcript:
    """One transcript. ``start``/``end``: 0-based half-open genomic span; ``strand``: ``"+"``/``"-"``."""

    id: str  # unversioned Ensembl ID, e.g. "ENST00000380874"
    gene_id: str  # unversioned
    chrom: str
    start: int
    end: int
    strand: str
    biotype: str = ""
    is_canonical: bool = False
    version: int | None = None

    def __post_init__(self) -> None:
        _check_interval(self.start, self.end, self.strand)

    @property
    def tss(self) -> int:
        """0-based position of the transcription start base: ``start`` on +, ``end - 1`` on -."""
        return self.start if self.strand == "+" else self.end - 1


@dataclass(frozen=True)
class Gene:
    """One gene with its transcripts. ``start``/``end``: 0-based half-open; ``strand``: ``"+"``/``"-"``."""

    id: str  # unversioned Ensembl gene ID
    name: str  # display name / symbol ("" when there is none)
    chrom: str
    start: int
    end: int
    strand: str
    biotype: str = ""
    transcripts: tuple[Transcript, ...] = ()
    version: int | None = None

    def __post_init__(self) -> None:
        _check_interval(self.start, self.end, self.strand)

    @property
    def label(self) -> str:
        """The name people know the gene by: its symbol, else its ID."""
        return self.name or self.id

    @property
    def canonical_transcript(self) -> Transcript | None:
        """The transcript flagged canonical, or None."""
        return next((t for t in self.transcripts if t.is_canonical), None)


@dataclass(frozen=True)
class Region:
    """A stretch of one chromosome: 0-based half-open ``[start, end)`` and a ``strand`` (``"+"``/``"-"``).

    ``name`` is the record name used in outputs (e.g. ``"FOXC1|ENST00000380874"``).
    """

    chrom: str
    start: int
    end: int
    strand: str = "+"
    name: str = ""

    def __post_init__(self) -> None:
        _check_interval(self.start, self.end, self.strand)

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)  # slots: a scan can hold hundreds of thousands of hits
class Hit:
    """One motif site that passed the thresholds.

    ``start``/``end``: 0-based half-open, in ``chrom`` coordinates (genomic for gene scans, record positions for FASTA
    scans). ``strand``: ``"+"``/``"-"`` relative to ``chrom``. ``matched_sequence``: the site read 5'->3' on its own
    strand, in the source's letter case. ``tss_rel_start``/``tss_rel_end``: first and last base relative to the TSS,
    +1 = TSS base, -1 = the base just upstream, no zero (None for FASTA scans).
    """

    motif_id: str
    motif_name: str
    seq_name: str
    chrom: str
    start: int
    end: int
    strand: str
    score: float
    rel_score: float
    p_value: float
    q_value: float
    matched_sequence: str
    gene_id: str = ""
    gene_name: str = ""
    transcript_ids: tuple[str, ...] = field(default=())
    tss_rel_start: int | None = None
    tss_rel_end: int | None = None


@dataclass(frozen=True)
class GeneLookup:
    """What one user query (symbol, gene ID or transcript ID) resolved to.

    ``genes`` is empty when nothing was found and holds several genes when a symbol is ambiguous. ``transcript_id``
    is set (unversioned) when the query named one transcript: only that transcript's TSS is then used. ``note``
    says how the query was resolved when it was not a direct hit (e.g. ``"IL6RA is a synonym of IL6R"``);
    ``suggestions`` are close names offered for an unknown query.
    """

    query: str
    genes: tuple[Gene, ...] = ()
    transcript_id: str | None = None
    note: str = ""
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Motif:
    """A motif as a count matrix.

    ``counts``: float64 array of shape (4, width), rows A, C, G, T, columns 5'->3'. Frequencies from files are turned
    into counts (frequency x nsites) when read. ``source`` names where it came from ("JASPAR2026" or a file path).
    Derived matrices (probabilities, log-odds) are computed by :mod:`motifscan.motifs`, never stored here, so one motif
    serves any pseudocount and background.
    """

    id: str
    name: str
    counts: np.ndarray
    source: str = ""
    collection: str = ""
    tax_group: str = ""
    tf_class: str = ""
    family: str = ""
    species: str = ""  # JASPAR's species of the matrix (scientific names, ", "-joined when several), "" if unknown

    @property
    def width(self) -> int:
        return int(self.counts.shape[1])
