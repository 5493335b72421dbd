"""motifscan: which transcription factors could bind the promoters of these genes?

Data flow (each step has one home):

    gene names -> sources (Ensembl REST | local FASTA + GTF | demo genome) -> Gene, Transcript
               [1-based -> 0-based, once, in the source]
               -> promoters: TSS + strand + window -> Promoter regions (0-based half-open)
               -> sources: region -> forward-strand sequence
    FASTA file -> fasta.read_fasta -> records
    sequences  -> encoding: uint8 codes (A0 C1 G2 T3, other 4), one lookup table
    motif IDs  -> motifs: pyjaspar's SQLite / motif files -> Motif(counts) -> log-odds (pseudocount, background)
               -> pvalues: score thresholds for a p-value, p-values of hits (within 1% of exact), BH q-values
               -> scanning: codes x log-odds on both strands (BLAS) -> candidate windows -> engine: Hit records
               -> writers: TSV | BED (one module knows each format's columns)

Public API: :func:`scan_fasta`, :func:`scan_genes`, :class:`ScanResult`, :func:`enrich`, :class:`EnrichResult`, :func:`read_hits`, :func:`select_motifs`,
:func:`read_motif_file`.
Coordinates are 0-based half-open everywhere inside; 1-based only where a format demands it.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "ScanResult": "motifscan.api", "DesignResult": "motifscan.api", "design_sites": "motifscan.api",
    "scan_fasta": "motifscan.api", "read_hits": "motifscan.api", "scan_genes": "motifscan.genes",
    "Gene": "motifscan.model", "Hit": "motifscan.hits", "HitTable": "motifscan.hits", "Motif": "motifscan.model",
    "Region": "motifscan.model",
    "Transcript": "motifscan.model", "read_motif_file": "motifscan.motifs", "select_motifs": "motifscan.motifs",
    "enrich": "motifscan.api", "EnrichResult": "motifscan.api",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    # imported lazily, so that `motifscan --version` and `import motifscan` stay fast (no numpy until needed)
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'motifscan' has no attribute {name!r}")
