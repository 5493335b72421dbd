"""The Python API, every public entry point in one place: :func:`scan_fasta`, :func:`scan_genes` (promoters of genes),
:class:`ScanResult`, :func:`select_motifs`, :func:`read_motif_file`, :func:`read_tsv`, and the options
dataclasses (:class:`ScanOptions`, :class:`PromoterOptions`, :class:`GenomeSpec`) whose fields the scan functions
take as keywords.

Example
-------
>>> import motifscan
>>> result = motifscan.scan_fasta("promoters.fa", motifs="ATF3", p_threshold=1e-4)   # doctest: +SKIP
>>> result.to_pandas().head()                                                          # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from motifscan import __version__
from motifscan.background import is_auto
from motifscan.engine import GAP_MIN_LENGTH, scan_targets
from motifscan.errors import UsageError
from motifscan.fasta import FastaRecord, read_fasta
from motifscan.hits import TSV_COLUMNS, Hit, HitTable
from motifscan.model import Gene, Motif, Region, Transcript
from motifscan.motifs import JasparDatabase, jaspar_database, read_motif_file, select_motifs
from motifscan.options import GenomeSpec, PromoterOptions, ScanOptions, split_options
from motifscan.provenance import Provenance, command_line
from motifscan.writers import (
    bed_chunks,
    fimo_chunks,
    gff3_chunks,
    read_tsv,
    tsv_byte_chunks,
    tsv_chunks,
    write_outputs,
)

__all__ = ["scan_fasta", "scan_genes", "ScanResult", "ScanOptions", "PromoterOptions", "GenomeSpec", "Provenance",
           "Hit", "HitTable", "Gene", "Motif", "Region", "Transcript", "read_motif_file", "select_motifs", "read_tsv",
           "resolve_motifs", "MotifSpec", "DesignResult", "design_sites", "scan_genome", "GenomeScanResult",
           "read_hits", "VariantResult", "score_variants", "write_variants", "enrich", "EnrichResult"]

MotifSpec = str | Motif | Sequence[str | Motif] | None
"""Motifs as the API takes them: None (the default ATF/CREB set), a JASPAR ID or TF name, a Motif, or a list."""


@dataclass(frozen=True)
class ScanResult:
    """The hits of one scan with everything needed to reproduce it.

    ``hits``: the :class:`~motifscan.hits.HitTable` (columns; rows in output order: seq_name, start, motif_id,
    strand). Indexing and iterating the result give :class:`~motifscan.hits.Hit` row views. ``provenance``: the
    typed :class:`~motifscan.provenance.Provenance` record that every output writes (iterating it gives its (key,
    value) lines). ``scored_windows``: motif ID -> windows scored on both strands
    (the number of tests behind each motif's q-values). ``records``: seq_name -> the scanned record as a Region
    (0-based half-open on ``chrom``; ``strand`` is the record's orientation: the gene's for promoters, + for FASTA
    records).
    """

    hits: HitTable
    motifs: tuple[Motif, ...]
    provenance: Provenance
    scored_windows: dict[str, int]
    records: dict[str, Region] = field(default_factory=dict)
    promoter_rank_p: np.ndarray | None = None
    """With ``rank_promoters``: per hit (shape (n_hits,), in row order), (1 + k) / (1 + n) against the background
    of promoters (see :func:`motifscan.best_scores.promoter_rank_p`); else None."""

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]

    # streaming pieces of text, for writing large results without holding them whole
    def tsv_chunks(self) -> Iterator[str]:
        return tsv_chunks(self.hits, self.provenance, self.records.values(), self.promoter_rank_p)

    def tsv_byte_chunks(self) -> Iterator[bytes]:
        """:meth:`tsv_chunks` as UTF-8 bytes (what the file writers take: no text layer encoding it again)."""
        return tsv_byte_chunks(self.hits, self.provenance, self.records.values(), self.promoter_rank_p)

    def bed_chunks(self, track: bool = False) -> Iterator[str]:
        return bed_chunks(self.hits, self.provenance, self._track_line() if track else None)

    def gff3_chunks(self) -> Iterator[str]:
        return gff3_chunks(self.hits, self.provenance, self.promoter_rank_p)

    def fimo_chunks(self) -> Iterator[str]:
        return fimo_chunks(self.hits, self.records, self.provenance)

    def to_tsv(self) -> str:
        """The TSV text: provenance comments, one ``# record:`` line per scanned record, the header, the rows."""
        return "".join(self.tsv_chunks())

    def to_bed(self, track: bool = False) -> str:
        """BED6 text (0-based half-open), with a UCSC/IGV ``track`` line first if ``track``."""
        return "".join(self.bed_chunks(track))

    def to_gff3(self) -> str:
        """GFF3 text (TF_binding_site features, 1-based inclusive)."""
        return "".join(self.gff3_chunks())

    def to_fimo(self) -> str:
        """FIMO-compatible TSV text (1-based inclusive within each record)."""
        return "".join(self.fimo_chunks())

    def write_tsv(self, path: str | Path) -> None:
        """Write :meth:`to_tsv`'s text to ``path`` (``"-"``: stdout) atomically, streaming (never held whole)."""
        write_outputs([(path, self.tsv_byte_chunks())])

    def write_bed(self, path: str | Path, track: bool = False) -> None:
        """Write :meth:`to_bed`'s text to ``path`` atomically, streaming."""
        write_outputs([(path, self.bed_chunks(track))])

    def write_gff3(self, path: str | Path) -> None:
        """Write :meth:`to_gff3`'s text to ``path`` atomically, streaming."""
        write_outputs([(path, self.gff3_chunks())])

    def write_fimo(self, path: str | Path) -> None:
        """Write :meth:`to_fimo`'s text to ``path`` atomically, streaming."""
        write_outputs([(path, self.fimo_chunks())])

    def to_html(self, *, title: str | None = None, top_motifs: int = 12) -> str:
        """One self-contained HTML page (nothing fetched): the interactive promoter map, the sortable site table,
        logos, provenance, and the TSV and BED as downloads; see :mod:`motifscan.report`. ``top_motifs``: motifs
        drawn on the map at first (those with the smallest p-values; changeable on the page)."""
        from motifscan.report import scan_report

        return scan_report(self, title=title, top_motifs=top_motifs)

    def write_html(self, path: str | Path, *, title: str | None = None, top_motifs: int = 12) -> None:
        """Write :meth:`to_html`'s page to ``path`` atomically."""
        write_outputs([(path, [self.to_html(title=title, top_motifs=top_motifs)])])

    def _track_line(self) -> str:
        facts = dict(self.provenance)
        description = f"motifscan {facts.get('jaspar_release', '')} p<={facts.get('p_threshold', '')}"
        return f'track name="motifscan" description="{description}" useScore=1'

    def summary(self):
        """Hits per gene (or sequence, for FASTA scans) x motif, as a pandas DataFrame with a total column."""
        import pandas as pd

        table = self.hits
        gene = table.strings("gene_name")
        missing = gene == ""
        gene[missing] = table.strings("gene_id")[missing]
        missing = gene == ""
        gene[missing] = table.strings("seq_name")[missing]
        motif = table.strings("motif_id") + " " + table.strings("motif_name")
        counts = pd.crosstab(pd.Series(gene, name="gene"), pd.Series(motif, name="motif")) if len(table) \
            else pd.DataFrame()
        if len(counts):
            counts["total"] = counts.sum(axis=1)
        return counts

    def plot(self, path: str | Path | None = None, **options):
        """The promoter map (needs the ``plot`` extra): one row per scanned record, x = position relative to the
        TSS; ``options`` as :func:`motifscan.plots.promoter_map` takes them (``title``, ``top``, ``max_q``,
        ``motif_ids``, ``tf_names``, ``gene_strands``). ``path``: .png, .svg or .pdf."""
        from motifscan.plots import promoter_map

        return promoter_map(self, path, **options)

    def to_pandas(self):
        """A pandas DataFrame with the TSV columns, from the hit table's columns: see
        :meth:`motifscan.hits.HitTable.to_pandas` (start/end 0-based half-open, numeric dtypes, ``chrom`` a str).
        Needs pandas (``pip install ".[pandas]"`` in the clone, or ``pip install pandas``)."""
        frame = self.hits.to_pandas()
        if self.promoter_rank_p is not None:
            frame["promoter_rank_p"] = np.asarray(self.promoter_rank_p, dtype=np.float64)
        return frame

    def _repr_html_(self) -> str:
        import html  # for notebooks only: not loaded at every start-up

        head = "".join(f"<th>{html.escape(c)}</th>" for c in TSV_COLUMNS)
        shown = "".join(tsv_chunks(self.hits.take(slice(0, 50)), ())).splitlines()[1:]
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in line.split("\t")) + "</tr>"
                       for line in shown)
        more = f"<p>… {len(self.hits) - 50} more hits</p>" if len(self.hits) > 50 else ""
        return f"<p>motifscan: {len(self.hits)} hits</p><table><tr>{head}</tr>{rows}</table>{more}"

    def __repr__(self) -> str:
        return f"<ScanResult: {len(self.hits)} hits, {len(self.motifs)} motifs>"


def read_hits(path: str | Path):
    """A motifscan TSV file (as ``motifscan scan/fasta -o`` and :meth:`ScanResult.write_tsv` write it) as a pandas
    DataFrame with fixed dtypes (:data:`motifscan.hits.TSV_DTYPES`): the same frame as
    :meth:`ScanResult.to_pandas`. ``start``/``end`` are 0-based half-open.

    Only the ``#`` lines before the header are comments: a ``#`` inside a row (a record named ``site#3``) is data,
    which ``pandas.read_csv(comment="#")`` would cut. ``frame.attrs["provenance"]`` holds the comment lines as
    (key, value) pairs. Raises :class:`~motifscan.errors.InputFileError` for a file that is not a motifscan TSV.
    """
    from motifscan.writers import read_tsv

    provenance, table = read_tsv(path)  # checks the header and every row's fields
    frame = table.to_pandas()
    frame.attrs["provenance"] = provenance
    return frame


def resolve_motifs(motifs: MotifSpec, database: JasparDatabase, *, tf_species: str | None = None) -> list[Motif]:
    """Motifs from the API's flexible form: None -> the default set; "MA0605.3"/"MA0605" -> by ID; other strings ->
    TF name in JASPAR CORE vertebrates, every matrix of that name (of ``tf_species`` if given: ``"human"``,
    ``"Mus musculus"``, ``"9606"``), or a motif file path if such a file exists; Motif objects as they are.
    ``database``: the run's JASPAR release (resolved once, by the caller)."""
    if motifs is None:
        return select_motifs(release=database.release)
    items = [motifs] if isinstance(motifs, (str, Motif)) else list(motifs)
    chosen: list[Motif] = [m for m in items if isinstance(m, Motif)]
    words = [m for m in items if isinstance(m, str)]
    ids = [w for w in words if database.has_id(w)]
    files = [w for w in words if w not in ids and Path(w).is_file()]
    names = [w for w in words if w not in ids and w not in files]
    if ids or names or files:
        chosen += select_motifs(release=database.release, motif_ids=ids, tf_names=names, motif_files=files,
                                tf_species=tf_species if names else None)
    return chosen


def gap_provenance(names: Sequence[str], chroms: Sequence[str], offsets: Sequence[int], gaps: np.ndarray,
                   tss_relative=None) -> list[tuple[str, str]]:
    """``("gap", "NAME CHROM:START-END")`` for each run of at least :data:`~motifscan.engine.GAP_MIN_LENGTH`
    letters other than A, C, G, T: ``gaps`` rows (record index, start, end) as the engine gives them (0-based
    half-open in the record; record k is ``names[k]`` on ``chroms[k]`` from ``offsets[k]``); START-END 1-based
    inclusive on ``chrom`` (as ``# record:`` lines). ``tss_relative(name, start, end)`` (gene scans), given 0-based
    half-open genomic ``[start, end)``, returns the run's first and last base relative to the record's TSS,
    appended as `` tss_rel=FIRST..LAST`` (+1 = TSS base, no 0)."""
    lines = []
    for record, run_start, run_end in gaps.tolist():
        start, end = offsets[record] + run_start, offsets[record] + run_end
        text = f"{names[record]} {chroms[record]}:{start + 1}-{end}"
        if tss_relative is not None:
            first, last = tss_relative(names[record], start, end)
            text += f" tss_rel={first}..{last}"
        lines.append(("gap", text))
    return lines


def _record(item: Any) -> FastaRecord:
    """One record given in memory: a FastaRecord, a Bio SeqRecord (``id``, ``seq``) or a (name, sequence) pair."""
    if isinstance(item, FastaRecord):
        return item
    if hasattr(item, "seq") and hasattr(item, "id"):  # Bio.SeqRecord
        return FastaRecord(str(item.id), str(item.seq))
    name, sequence = item
    return FastaRecord(str(name), str(sequence))


def _records(path_or_records: str | Path | Iterable) -> list[FastaRecord]:
    """FASTA records from a path or from records/pairs; names must be unique (hits are reported by name)."""
    if isinstance(path_or_records, (str, Path)):
        return read_fasta(path_or_records)
    records = [_record(item) for item in path_or_records]
    repeated = sorted(name for name, n in Counter(r.name for r in records).items() if n > 1)
    if repeated:
        raise UsageError("record names must be unique: " + ", ".join(repeated))
    return records


def _scan_options(options: dict[str, Any], *extra: type) -> tuple[ScanOptions, list[dict[str, Any]]]:
    """The API's ``**options`` split into ScanOptions (made) and the keywords of each ``extra`` dataclass, in order."""
    scan_fields, *extra_fields = split_options(options, ScanOptions, *extra)
    return ScanOptions(**scan_fields), extra_fields


def _gene_scan_options(genome: GenomeSpec | str | os.PathLike | None,
                       options: dict[str, Any]) -> tuple[ScanOptions, PromoterOptions, GenomeSpec]:
    """The ``**options`` of a gene scan (:func:`scan_genes`, :func:`motifscan.enrich`,
    :func:`motifscan.score_variants`) made into their dataclasses;
    ``genome``: a GenomeSpec (then ``options`` hold none of its fields), or its ``genome`` field."""
    if isinstance(genome, GenomeSpec):
        scan_options, (window_fields,) = _scan_options(options, PromoterOptions)
        spec = genome
    else:
        scan_options, (window_fields, genome_fields) = _scan_options(options, PromoterOptions, GenomeSpec)
        spec = GenomeSpec(genome=genome, **genome_fields)
    return scan_options, PromoterOptions(**window_fields), spec


def scan_fasta(path_or_records: str | Path | Iterable, motifs: MotifSpec = None, *, jaspar_release: str | None = None,
               command: str | None = None, chunk_size: int | None = None, **options: Any) -> ScanResult:
    """Scan the records of a FASTA file (or (name, sequence) pairs, FastaRecords, Bio SeqRecords) on both strands.

    ``options``: the fields of :class:`~motifscan.options.ScanOptions` (``p_threshold=1e-4``, ``q_threshold``,
    ``min_rel_score``, ``pseudocount=0.8``, ``background="uniform"``, ``mask_lowercase``, ``max_strand``, ``jobs``).
    ``jaspar_release``: a bundled release (default: the newest). ``command``: the provenance's command line.
    Hits have ``seq_name = chrom =`` the record ID and ``start``/``end`` 0-based half-open in the record.

    A file (plain, gzip or bgzip) is streamed: each record is scanned in chunks of ``chunk_size`` window starts
    (default :data:`motifscan.engine.DEFAULT_CHUNK_SIZE`), so memory follows the chunk and the hits, not the
    record; the hits do not depend on ``chunk_size``. With ``background="auto"`` a file is read twice (its
    composition first, since the thresholds depend on it); a pipe cannot be read twice, so its records are then
    held in memory.
    """
    from motifscan.engine import DEFAULT_CHUNK_SIZE, scan_records

    scan_options, _ = _scan_options(options)
    if chunk_size is not None and chunk_size < 1:
        raise UsageError(f"chunk_size must be >= 1, not {chunk_size}")
    database = jaspar_database(jaspar_release)  # the release, resolved once for the run
    chosen = resolve_motifs(motifs, database)
    source = _record_source(path_or_records, twice=is_auto(scan_options.background))
    output = scan_records(source, chosen, scan_options, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE)
    names = output.hits.targets.names
    provenance = Provenance(
        version=__version__, jaspar_release=database.release, motif_ids=tuple(m.id for m in chosen),
        options=scan_options, background=tuple(float(b) for b in output.background), command=command_line(command),
        input=str(path_or_records) if isinstance(path_or_records, (str, Path)) else None,
        extra=tuple(gap_provenance(names, names, [0] * len(names), output.gaps)))
    regions = {name: Region(name, 0, int(length), "+", name) for name, length in zip(names, output.lengths.tolist())}
    return ScanResult(output.hits, tuple(chosen), provenance, output.scored_windows, regions)


def _record_source(path_or_records: str | Path | Iterable, twice: bool):
    """The records as the engine reads them (:data:`motifscan.engine.RecordSource`): a FASTA file streamed
    (:func:`motifscan.fasta.stream_fasta`, checked for repeated names as it goes), or records given in memory
    (names must be unique: hits are reported by name). ``twice``: the source will be read twice; a file that is not
    a regular file (a pipe) is then read into memory once."""
    from motifscan.fasta import stream_fasta

    if isinstance(path_or_records, (str, Path)):
        path = path_or_records
        if not twice or os.path.isfile(path):
            reads = [0]

            def read():  # warnings about the file come with its last read only
                reads[0] += 1
                return ((name, pieces) for name, _, pieces in stream_fasta(path, warn=reads[0] == 1 + twice))

            return read
        records = read_fasta(path)
    else:
        records = _records(path_or_records)
    return lambda: ((r.name, (r.sequence,)) for r in records)


def scan_genes(genes: str | Sequence[str], motifs: MotifSpec = None, *,
               genome: GenomeSpec | str | os.PathLike | None = None, jaspar_release: str | None = None,
               command: str | None = None, rank_promoters: bool = False,
               background_genes: Sequence[str] | str | os.PathLike | None = None, **options: Any) -> ScanResult:
    """Scan the promoters of genes (symbols, Ensembl gene IDs or transcript IDs; one gene may be given as a string).

    ``genome``: a :class:`~motifscan.genes.GenomeSpec`, or its ``genome`` field: None (Ensembl REST, online,
    cached), ``"demo"`` (the embedded GRCh37 chr6+chrX test genome) or a FASTA path (then give ``annotation``, a
    GTF). ``options``: the fields of :class:`~motifscan.options.ScanOptions` (scoring), of
    :class:`~motifscan.options.PromoterOptions` (``upstream=2000``, ``downstream=500``, ``transcripts``,
    ``biotypes``, ``chrom_style``, ``strict``) and, unless ``genome`` is a GenomeSpec, of GenomeSpec
    (``annotation``, ``species``, ``assembly``, ``ensembl_url``, ``cache_dir``, ``use_cache``, ``offline``).
    Hits have genomic ``start``/``end`` (0-based half-open), ``strand`` relative to the genome and
    ``tss_rel_start``/``tss_rel_end`` relative to the first listed transcript's TSS (+1 = TSS base, no 0).
    ``rank_promoters``: also give every site its ``promoter_rank_p`` against the background of promoters (every
    protein-coding gene of the source, or ``background_genes``: names or a file of names), cut and scored as these.
    """
    from motifscan.genes import annotate, collect_promoters, promoter_targets, rank_against_background
    from motifscan.promoters import tss_relative

    queries = [genes] if isinstance(genes, str) else list(genes)  # one gene, not its letters
    scan_options, window, spec = _gene_scan_options(genome, options)
    database = jaspar_database(jaspar_release)  # the release, resolved once for the run
    chosen = resolve_motifs(motifs, database)
    promoter_set = collect_promoters(queries, spec, window)
    targets, records = promoter_targets(promoter_set, window.chrom_style)
    output = scan_targets(targets, chosen, scan_options)
    hits = annotate(output.hits, promoter_set.promoters)  # in the engine's output order
    by_name = {p.name: p for p in promoter_set.promoters}
    gaps = gap_provenance([t.name for t in targets], [t.chrom for t in targets], [t.offset for t in targets],
                          output.gaps, lambda name, start, end: tss_relative(
        by_name[name].transcripts[0].tss, by_name[name].gene.strand, start, end))
    provenance = Provenance(
        version=__version__, jaspar_release=database.release, motif_ids=tuple(m.id for m in chosen),
        options=scan_options, background=tuple(float(b) for b in output.background), command=command_line(command),
        source=promoter_set.provenance, genes=tuple(queries), promoters=window, extra=tuple(gaps))
    rank_p = None
    if rank_promoters:
        rank_p, facts = rank_against_background(hits, spec, chosen, database.release, scan_options, window,
                                                background_genes)
        provenance = replace(provenance, extra=provenance.extra + tuple(facts))
    return ScanResult(hits, tuple(chosen), provenance, output.scored_windows, records, rank_p)


# ------------------------------------------------------------------------------------------------ genome scans

@dataclass(frozen=True)
class GenomeScanResult:
    """What ``scan_genome`` wrote: ``paths`` (the output and its index), ``n_hits``, ``chunks``, ``scored_windows``
    (motif ID -> windows scored on both strands), ``provenance`` (as written at the top of the output)."""

    paths: tuple[Path, ...]
    n_hits: int
    chunks: int
    scored_windows: dict[str, int]
    provenance: Provenance


def scan_genome(fasta_path: str | Path, output: str | Path, motifs: MotifSpec = None, *,
                regions: str | Path | None = None, chunk_size: int | None = None, dask_scheduler: str | None = None,
                jaspar_release: str | None = None, cache_dir: str | Path | None = None, command: str | None = None,
                **options: Any) -> GenomeScanResult:
    """Scan every record of a genome FASTA (plain or bgzip), or the regions of a BED file (0-based half-open, hits
    named by the BED's name column), in chunks, and stream the hits to ``output`` (``.tsv.gz`` or ``.bed.gz`` with a
    tabix index, or a ``.parquet`` folder partitioned by chromosome). See :mod:`motifscan.genome_scan`.

    The hits, p- and q-values are those ``scan_fasta`` gives on the same sequences (q: BH per motif over every window
    scored in the whole input), whatever ``chunk_size`` (default 1,000,000 window starts), ``jobs`` (here: local
    processes, default 1) or ``dask_scheduler`` (``tcp://HOST:PORT`` of a running scheduler, or ``local:N``).
    ``options``: the fields of :class:`~motifscan.options.ScanOptions`.
    """

    from motifscan.background import is_auto, parse_background
    from motifscan.chunks import plan_chunks
    from motifscan.genome_scan import DEFAULT_CHUNK_SIZE, ChunkReader, fasta_spans, genome_background, read_regions
    from motifscan.genome_scan import scan_genome as run_scan
    from motifscan.indexed_output import open_sink, output_kind
    from motifscan.sources.local import open_fasta
    from motifscan.writers import comment_lines, record_line

    settings, _ = _scan_options(options)
    jobs = settings.jobs or 1  # processes, not threads, for genome scans
    output_kind(output)  # a bad name fails before any work
    database = jaspar_database(jaspar_release)  # the release, resolved once for the run
    chosen = resolve_motifs(motifs, database)
    if not chosen:
        raise UsageError("no motif selected")
    fasta = open_fasta(fasta_path, cache_dir)
    try:
        lengths = {name: int(record.rlen) for name, record in fasta.faidx.index.items()}
        spans = read_regions(regions, lengths) if regions is not None else fasta_spans(fasta)
        fixed = None if is_auto(settings.background) else parse_background(settings.background)
        if fixed is None:
            fixed = genome_background(ChunkReader(fasta, spans), plan_chunks(spans, DEFAULT_CHUNK_SIZE, 1),
                                      settings.mask_lowercase)
        provenance = Provenance(
            version=__version__, jaspar_release=database.release, motif_ids=tuple(m.id for m in chosen),
            options=settings, background=tuple(float(b) for b in fixed), command=command_line(command),
            input=str(fasta_path), regions=None if regions is None else str(regions))
        records = comment_lines([("record", record_line(Region(s.chrom, s.start, s.end, "+", s.name)))
                                 for s in spans])

        def open_output(runs: np.ndarray):
            nonlocal provenance
            gaps = runs[runs[:, 2] - runs[:, 1] >= GAP_MIN_LENGTH]  # as gap_provenance lists them
            gap_lines = [("gap", f"{spans[k].name} {spans[k].chrom}:{start + 1}-{end}")
                         for k, start, end in gaps.tolist()]
            provenance = replace(provenance, extra=tuple(gap_lines))
            return open_sink(output, provenance.lines(), records, lengths)

        scan, paths = run_scan(fasta, chosen, spans=spans, p_threshold=settings.p_threshold,
                               q_threshold=settings.q_threshold, min_rel_score=settings.min_rel_score,
                               pseudocount=settings.pseudocount, background=fixed,
                               mask_lowercase=settings.mask_lowercase, max_strand=settings.max_strand,
                               chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size, jobs=jobs,
                               dask_scheduler=dask_scheduler, spill_folder=Path(output).parent,
                               open_sink=open_output)
    finally:
        fasta.close()
    return GenomeScanResult(tuple(paths), scan.n_hits, scan.chunks, scan.scored_windows, provenance)


_REEXPORTED = {"DesignResult": "motifscan.design", "design_sites": "motifscan.design",
               "VariantResult": "motifscan.variants", "score_variants": "motifscan.variants",
               "write_variants": "motifscan.variants",
               "EnrichResult": "motifscan.gene_lists", "enrich": "motifscan.gene_lists"}
"""Entry points that live in their own modules, re-exported here and imported when first asked for, so that
primer3, pysam, scipy and the variant machinery stay out of every command's start-up."""

if TYPE_CHECKING:  # what the names are, for type checkers and linters; at run time __getattr__ imports them
    from motifscan.design import DesignResult, design_sites
    from motifscan.gene_lists import EnrichResult, enrich
    from motifscan.variants import VariantResult, score_variants, write_variants


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        import importlib

        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
