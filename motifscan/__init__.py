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
               -> scanning: codes x log-odds on both strands (BLAS) -> candidate windows -> engine: HitTable (columns)
               -> writers: TSV | BED (one module knows each format's columns)

Public API (all in :mod:`motifscan.api`): :func:`scan_fasta`, :func:`scan_genes`, :class:`ScanResult` (its ``hits`` a
columnar :class:`HitTable`, rows as :class:`Hit` views), the options dataclasses :class:`ScanOptions`,
:class:`PromoterOptions`, :class:`GenomeSpec`, :class:`Provenance`, :func:`select_motifs`, :func:`read_motif_file`,
:func:`read_tsv`, :func:`read_hits`, :func:`enrich`, :class:`EnrichResult`, :func:`score_variants` (does a variant
break or make a site?), :class:`VariantResult`, :func:`write_variants` (the same, written; streamed with ``--all``).
Coordinates are 0-based half-open everywhere inside; 1-based only where a format demands it.
"""

__version__ = "0.1.0"

_EXPORTS = {name: "motifscan.api" for name in (
    "scan_fasta", "scan_genes", "ScanResult", "ScanOptions", "PromoterOptions", "GenomeSpec", "Provenance",
    "Hit", "HitTable", "Gene", "Motif", "Region", "Transcript", "read_motif_file", "select_motifs", "read_tsv",
    "DesignResult", "design_sites", "scan_genome", "GenomeScanResult", "read_hits",
    "enrich", "EnrichResult", "score_variants", "write_variants", "VariantResult",
)}  # every public entry point lives in motifscan.api
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    # imported lazily, so that `motifscan --version` and `import motifscan` stay fast (no numpy until needed)
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'motifscan' has no attribute {name!r}")
