"""Where genes and genome sequence come from: the Ensembl REST API or a local FASTA + GTF (the demo genome is one).

Every source turns user queries into :class:`~motifscan.model.GeneLookup` records and cuts sequence for
:class:`~motifscan.model.Region` objects. Coordinates crossing this interface are 0-based half-open; each source
converts its own format's 1-based closed coordinates once, where it reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from motifscan.model import GeneLookup, Region


class GeneSource(Protocol):
    """The interface the gene-scan pipeline needs from a source of genes and sequence."""

    def lookup(self, queries: Sequence[str]) -> list[GeneLookup]:
        """Resolve symbols (any case), gene IDs or transcript IDs (versioned or not).

        One GeneLookup per query, in order."""

    def chrom_length(self, chrom: str) -> int:
        """Length in bp of chromosome ``chrom`` (named as the source names it)."""

    def fetch_sequences(self, regions: Sequence[Region]) -> list[str]:
        """The genome's forward-strand (+) sequence of each region ``[start, end)`` (0-based half-open), whatever
        ``region.strand`` says, in the source's letter case; positions without sequence are N."""

    def provenance(self) -> dict[str, str]:
        """Facts to record in output headers (server, release and assembly, or genome file and checksum)."""
