"""The Python API: scan FASTA files (and, in :mod:`motifscan.genes`, gene promoters) and get a :class:`ScanResult`.

Example
-------
>>> import motifscan
>>> result = motifscan.scan_fasta("promoters.fa", motifs="ATF3", p_threshold=1e-4)   # doctest: +SKIP
>>> result.to_pandas().head()                                                          # doctest: +SKIP
"""

from __future__ import annotations

import html
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motifscan import __version__
from motifscan.engine import EngineOutput, ScanSettings, ScanTarget, scan_targets
from motifscan.errors import UsageError
from motifscan.fasta import FastaRecord, read_fasta
from motifscan.hits import TSV_COLUMNS, Hit, HitTable, MotifTable, TargetTable
from motifscan.model import Motif, Region
from motifscan.motifs import jaspar_database, select_motifs
from motifscan.writers import bed_chunks, fimo_chunks, gff3_chunks, tsv_chunks, write_outputs

MotifSpec = str | Motif | Sequence[str | Motif] | None
"""Motifs as the API takes them: None (the default ATF/CREB set), a JASPAR ID or TF name, a Motif, or a list."""


@dataclass(frozen=True)
class ScanResult:
    """The hits of one scan with everything needed to reproduce it.

    ``hits``: the :class:`~motifscan.hits.HitTable` (columns; rows in output order: seq_name, start, motif_id,
    strand). Indexing and iterating the result give :class:`~motifscan.hits.Hit` row views. ``provenance``: (key,
    value) pairs written at the top of every output. ``scored_windows``: motif ID -> windows scored on both strands
    (the number of tests behind each motif's q-values). ``records``: seq_name -> the scanned record as a Region
    (0-based half-open on ``chrom``; ``strand`` is the record's orientation: the gene's for promoters, + for FASTA
    records).
    """

    hits: HitTable
    motifs: tuple[Motif, ...]
    provenance: tuple[tuple[str, str], ...]
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
        write_outputs([(path, self.tsv_chunks())])

    def write_bed(self, path: str | Path, track: bool = False) -> None:
        """Write :meth:`to_bed`'s text to ``path`` atomically, streaming."""
        write_outputs([(path, self.bed_chunks(track))])

    def write_gff3(self, path: str | Path) -> None:
        """Write :meth:`to_gff3`'s text to ``path`` atomically, streaming."""
        write_outputs([(path, self.gff3_chunks())])

    def write_fimo(self, path: str | Path) -> None:
        """Write :meth:`to_fimo`'s text to ``path`` atomically, streaming."""
        write_outputs([(path, self.fimo_chunks())])

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


def resolve_motifs(motifs: MotifSpec, jaspar_release: str | None = None, *,
                   tf_species: str | None = None) -> list[Motif]:
    """Motifs from the API's flexible form: None -> the default set; "MA0605.3"/"MA0605" -> by ID; other strings ->
    TF name in JASPAR CORE vertebrates, every matrix of that name (of ``tf_species`` if given: ``"human"``,
    ``"Mus musculus"``, ``"9606"``), or a motif file path if such a file exists; Motif objects as they are."""
    if motifs is None:
        return select_motifs(release=jaspar_release)
    items = [motifs] if isinstance(motifs, (str, Motif)) else list(motifs)
    chosen: list[Motif] = [m for m in items if isinstance(m, Motif)]
    words = [m for m in items if isinstance(m, str)]
    database = jaspar_database(jaspar_release)
    ids = [w for w in words if database.has_id(w)]
    files = [w for w in words if w not in ids and Path(w).is_file()]
    names = [w for w in words if w not in ids and w not in files]
    if ids or names or files:
        chosen += select_motifs(release=database.release, motif_ids=ids, tf_names=names, motif_files=files,
                                tf_species=tf_species if names else None)
    return chosen


def base_provenance(settings: ScanSettings, motifs: Sequence[Motif], output: EngineOutput,
                    jaspar_release: str, command: str | None) -> list[tuple[str, str]]:
    """The provenance lines shared by every scan."""
    b = output.background
    return [
        ("motifscan", __version__),
        ("jaspar_release", jaspar_release),
        ("motifs", f"{len(motifs)}: " + " ".join(m.id for m in motifs[:30]) + (" ..." if len(motifs) > 30 else "")),
        ("pseudocount", f"{settings.pseudocount:g}"),
        ("background", f"{settings.background} A={b[0]:.4f} C={b[1]:.4f} G={b[2]:.4f} T={b[3]:.4f}"),
        ("p_threshold", f"{settings.p_threshold:g}"),
        ("q_threshold", "none" if settings.q_threshold is None else f"{settings.q_threshold:g}"),
        ("min_rel_score", "none" if settings.min_rel_score is None else f"{settings.min_rel_score:g}"),
        ("mask_lowercase", str(settings.mask_lowercase).lower()),
        ("max_strand", str(settings.max_strand).lower()),
        ("q_value", "Benjamini-Hochberg per motif over all windows scored on both strands; "
                    "no correction across motifs"),
        ("coordinates", "start/end 0-based half-open; strand relative to chrom"),
        ("command", command if command is not None else " ".join(sys.argv) or "python"),
    ]


GAP_MIN_LENGTH = 10
"""Runs of at least this many letters other than A, C, G, T (N stretches, assembly gaps) are listed in the provenance
as ``gap`` lines, so that maps can draw them; shorter runs (a stray N or IUPAC code) are counted only in the
unscored-windows warning."""


def gap_provenance(targets: Sequence[ScanTarget], tss_relative=None) -> list[tuple[str, str]]:
    """``("gap", "NAME CHROM:START-END")`` for each run of at least :data:`GAP_MIN_LENGTH` letters other than A, C,
    G, T in each target; START-END 1-based inclusive on ``chrom`` (as ``# record:`` lines). ``tss_relative(name,
    start, end)`` (gene scans), given 0-based half-open genomic ``[start, end)``, returns the run's first and last
    base relative to the record's TSS, appended as `` tss_rel=FIRST..LAST`` (+1 = TSS base, no 0)."""
    from motifscan.encoding import invalid_runs

    lines = []
    for target in targets:
        for run_start, run_end in invalid_runs(target.sequence, GAP_MIN_LENGTH).tolist():
            start, end = target.offset + run_start, target.offset + run_end
            text = f"{target.name} {target.chrom}:{start + 1}-{end}"
            if tss_relative is not None:
                first, last = tss_relative(target.name, start, end)
                text += f" tss_rel={first}..{last}"
            lines.append(("gap", text))
    return lines


def _records(path_or_records: str | Path | Iterable) -> list[FastaRecord]:
    """FASTA records from a path or from records/pairs; names must be unique (hits are reported by name)."""
    if isinstance(path_or_records, (str, Path)):
        return read_fasta(path_or_records)
    records = []
    for item in path_or_records:
        if isinstance(item, FastaRecord):
            records.append(item)
        elif hasattr(item, "seq") and hasattr(item, "id"):  # Bio.SeqRecord
            records.append(FastaRecord(str(item.id), str(item.seq)))
        else:
            name, sequence = item
            records.append(FastaRecord(str(name), str(sequence)))
    repeated = sorted(name for name, n in Counter(r.name for r in records).items() if n > 1)
    if repeated:
        raise UsageError("record names must be unique: " + ", ".join(repeated))
    return records


def scan_fasta(
    path_or_records: str | Path | Iterable,
    motifs: MotifSpec = None,
    *,
    p_threshold: float = 1e-4,
    q_threshold: float | None = None,
    min_rel_score: float | None = None,
    pseudocount: float = 0.8,
    background: str = "uniform",
    mask_lowercase: bool = False,
    max_strand: bool = False,
    jobs: int | None = None,
    jaspar_release: str | None = None,
    command: str | None = None,
) -> ScanResult:
    """Scan the records of a FASTA file (or (name, sequence) pairs, FastaRecords, Bio SeqRecords) on both strands.

    Hits have ``seq_name = chrom =`` the record ID and ``start``/``end`` 0-based half-open in the record.
    """
    settings = ScanSettings(p_threshold=p_threshold, q_threshold=q_threshold, min_rel_score=min_rel_score,
                            pseudocount=pseudocount, background=background, mask_lowercase=mask_lowercase,
                            max_strand=max_strand, jobs=jobs)
    release = jaspar_database(jaspar_release).release
    chosen = resolve_motifs(motifs, release)
    records = _records(path_or_records)
    targets = [ScanTarget(r.name, r.sequence, r.name) for r in records]
    output = scan_targets(targets, chosen, settings)
    provenance = base_provenance(settings, chosen, output, release, command) + gap_provenance(targets)
    if isinstance(path_or_records, (str, Path)):
        provenance.insert(2, ("input", str(path_or_records)))
    records = {r.name: Region(r.name, 0, len(r.sequence), "+", r.name) for r in records}
    return ScanResult(output.hits, tuple(chosen), tuple(provenance), output.scored_windows, records)


# ------------------------------------------------------------------------------------------------ genome scans

@dataclass(frozen=True)
class GenomeScanResult:
    """What ``scan_genome`` wrote: ``paths`` (the output and its index), ``n_hits``, ``chunks``, ``scored_windows``
    (motif ID -> windows scored on both strands), ``provenance`` (as written at the top of the output)."""

    paths: tuple[Path, ...]
    n_hits: int
    chunks: int
    scored_windows: dict[str, int]
    provenance: tuple[tuple[str, str], ...]


def scan_genome(
    fasta_path: str | Path,
    output: str | Path,
    motifs: MotifSpec = None,
    *,
    regions: str | Path | None = None,
    chunk_size: int | None = None,
    jobs: int = 1,
    dask_scheduler: str | None = None,
    p_threshold: float = 1e-4,
    q_threshold: float | None = None,
    min_rel_score: float | None = None,
    pseudocount: float = 0.8,
    background: str = "uniform",
    mask_lowercase: bool = False,
    max_strand: bool = False,
    jaspar_release: str | None = None,
    cache_dir: str | Path | None = None,
    command: str | None = None,
) -> GenomeScanResult:
    """Scan every record of a genome FASTA (plain or bgzip), or the regions of a BED file (0-based half-open, hits
    named by the BED's name column), in chunks, and stream the hits to ``output`` (``.tsv.gz`` or ``.bed.gz`` with a
    tabix index, or a ``.parquet`` folder partitioned by chromosome). See :mod:`motifscan.genome_scan`.

    The hits, p- and q-values are those ``scan_fasta`` gives on the same sequences (q: BH per motif over every window
    scored in the whole input), whatever ``chunk_size`` (default 1,000,000 window starts), ``jobs`` (local
    processes) or ``dask_scheduler`` (``tcp://HOST:PORT`` of a running scheduler, or ``local:N``).
    """
    import numpy as np

    from motifscan.background import is_auto, parse_background
    from motifscan.chunks import plan_chunks
    from motifscan.genome_scan import DEFAULT_CHUNK_SIZE, ChunkReader, fasta_spans, genome_background, read_regions
    from motifscan.genome_scan import scan_genome as run_scan
    from motifscan.indexed_output import open_sink, output_kind
    from motifscan.sources.local import open_fasta
    from motifscan.writers import comment_lines, record_line

    settings = ScanSettings(p_threshold=p_threshold, q_threshold=q_threshold, min_rel_score=min_rel_score,
                            pseudocount=pseudocount, background=background, mask_lowercase=mask_lowercase,
                            max_strand=max_strand, jobs=jobs)
    output_kind(output)  # a bad name fails before any work
    release = jaspar_database(jaspar_release).release
    chosen = resolve_motifs(motifs, release)
    if not chosen:
        raise UsageError("no motif selected")
    fasta = open_fasta(fasta_path, cache_dir)
    try:
        lengths = {name: int(record.rlen) for name, record in fasta.faidx.index.items()}
        spans = read_regions(regions, lengths) if regions is not None else fasta_spans(fasta)
        fixed = None if is_auto(background) else parse_background(background)
        if fixed is None:
            fixed = genome_background(ChunkReader(fasta, spans), plan_chunks(spans, DEFAULT_CHUNK_SIZE, 1),
                                      mask_lowercase)
        no_targets = TargetTable((), (), np.zeros(0, dtype=np.int64), ())
        provenance = base_provenance(settings, chosen, EngineOutput(HitTable.empty(MotifTable.of(chosen), no_targets),
                                                                    fixed), release, command)
        provenance.insert(2, ("input", str(fasta_path)))
        if regions is not None:
            provenance.insert(3, ("regions", str(regions)))
        records = comment_lines([("record", record_line(Region(s.chrom, s.start, s.end, "+", s.name)))
                                 for s in spans])

        def open_output(runs: np.ndarray):
            gaps = runs[runs[:, 2] - runs[:, 1] >= GAP_MIN_LENGTH]  # as gap_provenance lists them
            gap_lines = [("gap", f"{spans[k].name} {spans[k].chrom}:{start + 1}-{end}")
                         for k, start, end in gaps.tolist()]
            provenance.extend(gap_lines)
            return open_sink(output, provenance, records, lengths)

        scan, paths = run_scan(fasta, chosen, spans=spans, p_threshold=p_threshold, q_threshold=q_threshold,
                               min_rel_score=min_rel_score, pseudocount=pseudocount, background=fixed,
                               mask_lowercase=mask_lowercase, max_strand=max_strand,
                               chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size, jobs=jobs,
                               dask_scheduler=dask_scheduler, spill_folder=Path(output).parent,
                               open_sink=open_output)
    finally:
        fasta.close()
    return GenomeScanResult(tuple(paths), scan.n_hits, scan.chunks, scan.scored_windows, tuple(provenance))


from motifscan.design import DesignResult, design_sites  # noqa: E402  (the bench design, re-exported here)


def __getattr__(name: str):
    # motifscan.gene_lists needs scipy: imported when first asked for, so that plain scans do not pay for it
    if name in ("enrich", "EnrichResult"):
        import motifscan.gene_lists as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
