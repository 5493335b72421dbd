"""Gene lists to promoter hits: resolve genes, cut promoter windows, scan them, annotate hits with gene and TSS.

Flow: queries -> source.lookup (Ensembl REST, local FASTA + GTF, or the demo genome) -> genes -> promoters
(:func:`motifscan.promoters.promoters_for_gene`, 0-based half-open windows) -> source.fetch_sequences (forward strand)
-> :func:`motifscan.engine.scan_targets` -> hits in genomic coordinates -> gene, transcripts and TSS-relative
positions (EPD convention: +1 = TSS base, -1 = the base upstream, no 0).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from motifscan.engine import ScanTarget
from motifscan.errors import InputFileError, NoGenesError, UsageError
from motifscan.hits import GeneTable, HitTable
from motifscan.identifiers import ucsc_name, unversioned
from motifscan.model import Gene, GeneLookup, Region
from motifscan.options import GenomeSpec, PromoterOptions, ScanOptions
from motifscan.progress import task
from motifscan.promoters import (
    Promoter,
    promoters_for_gene,
    selected_transcripts,
    tss_relative_columns,
    windows_holding,
)

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class PromoterSet:
    """The promoters of the resolved genes, with their forward-strand sequences and the provenance of the source."""

    promoters: tuple[Promoter, ...]
    sequences: tuple[str, ...]
    lookups: tuple[GeneLookup, ...]
    provenance: tuple[tuple[str, str], ...]


def read_gene_file(path: str | os.PathLike) -> list[str]:
    """Gene names from a file: one per line (or several separated by white space), ``#`` starts a comment."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a text file of gene names (not UTF-8)") from None
    except OSError as error:
        raise InputFileError(f"{path}: cannot read gene file ({error.strerror or error})") from None
    names = [word for line in text.splitlines() for word in line.split("#", 1)[0].split()]
    if not names:
        raise InputFileError(f"{path}: no gene name in the file (only blank or '#' comment lines)")
    return names


def _report(lookups: Sequence[GeneLookup], strict: bool) -> Sequence[GeneLookup]:
    """Log how queries resolved; NoGenesError when none did (or, with ``strict``, when any did not)."""
    missing = [lk for lk in lookups if not lk.genes]
    for lookup in lookups:
        if lookup.note and lookup.genes:
            log.info("%s", lookup.note if lookup.query in lookup.note else f"{lookup.query}: {lookup.note}")
        if len(lookup.genes) > 1:
            log.warning("%s names %d genes, scanning each: %s", lookup.query, len(lookup.genes),
                        ", ".join(f"{g.id} ({g.chrom}:{g.start + 1}-{g.end})" for g in lookup.genes))
    described = [lk.query + (f" (did you mean {', '.join(lk.suggestions)}?)" if lk.suggestions else "")
                 + (f" ({lk.note})" if lk.note else "") for lk in missing]
    if missing:
        log.warning("%d gene(s) not found: %s", len(missing), "; ".join(described))
    if not any(lk.genes for lk in lookups):
        shown = "; ".join(described[:5]) + (f"; and {len(described) - 5} more" if len(described) > 5 else "")
        raise NoGenesError("none of the genes could be resolved: " + shown)
    if strict and missing:
        raise NoGenesError(f"--strict: {len(missing)} gene(s) not found: " + ", ".join(lk.query for lk in missing))
    return lookups


def _transcripts_to_scan(lookups: Sequence[GeneLookup], transcripts: str,
                         biotypes: Sequence[str]) -> list[tuple[Gene, tuple[str, ...]]]:
    """Each gene once, with the IDs of the transcripts whose TSSs to use: the mode's (canonical, or all of the asked
    biotypes) where the gene itself was asked for, plus every transcript asked for by ID; in query order."""
    chosen: dict[str, tuple[Gene, list[str]]] = {}
    for lookup in lookups:
        for gene in lookup.genes:
            _, ids = chosen.setdefault(gene.id, (gene, []))
            if lookup.transcript_id is None:
                ids += [t.id for t in selected_transcripts(gene, transcripts, biotypes)]
            else:
                ids.append(unversioned(lookup.transcript_id))
    return [(gene, tuple(dict.fromkeys(ids))) for gene, ids in chosen.values()]


def _gene_promoters(source, gene: Gene, transcript_ids: tuple[str, ...], upstream: int,
                    downstream: int) -> list[Promoter]:
    """The promoters of one gene's transcripts (windows merged where they overlap or abut), with warnings for
    windows clipped or lost at chromosome ends."""
    found = []
    if transcript_ids:
        found = promoters_for_gene(gene, upstream, downstream, source.chrom_length(gene.chrom),
                                   transcript_ids=transcript_ids)
    if not found:
        log.warning("%s: no promoter window on the chromosome (or no transcript of the asked biotypes)", gene.label)
    else:
        lost = set(transcript_ids) - {t.id for p in found for t in p.transcripts}
        if lost:
            log.warning("%s: the promoter window(s) of %s lie off the chromosome's sequence, not scanned", gene.label,
                        ", ".join(sorted(lost)))
    length = source.chrom_length(gene.chrom) if found else 0
    for promoter in found:
        if promoter.clipped:
            log.warning("%s: promoter window clipped at %s of chromosome %s", promoter.name,
                        clipped_end(promoter.region, length), promoter.region.chrom)
    return found


def clipped_end(region: Region, chrom_length: int) -> str:
    """Which end of the chromosome a clipped window ``region`` (0-based half-open) was cut at: ``"the start
    (position 1)"`` when it begins at 0, ``"the end (position N)"`` when it ends at the chromosome's length N."""
    ends = []
    if region.start == 0:
        ends.append("the start (position 1)")
    if region.end >= chrom_length:
        ends.append(f"the end (position {chrom_length:,})")
    return " and ".join(ends) or "an end"


def collect_promoters(queries: Sequence[str], spec: GenomeSpec, window: PromoterOptions | None = None) -> PromoterSet:
    """Resolve ``queries`` and cut their promoter windows (0-based half-open) with forward-strand sequences
    (``window``: the window options, default :class:`~motifscan.options.PromoterOptions`)."""
    window = window or PromoterOptions()
    upstream, downstream = window.upstream, window.downstream
    transcripts, biotypes = window.transcripts, window.biotypes
    strict = window.strict
    if not queries:
        raise UsageError("no gene given")
    if biotypes and transcripts != "all":
        log.warning("--biotype %s is ignored: it selects among all transcripts, so it needs --transcripts all "
                    "(--transcripts %s uses one transcript per gene)", ",".join(biotypes), transcripts)
    source = spec.open()
    try:
        lookups = source.lookup(list(queries))
        promoters: list[Promoter] = []
        resolved = _transcripts_to_scan(_report(lookups, strict), transcripts, biotypes)
        with task("promoters", len(resolved)) as progress:
            for gene, transcript_ids in resolved:
                promoters += _gene_promoters(source, gene, transcript_ids, upstream, downstream)
                progress.advance()
        if not promoters:
            raise NoGenesError("no promoter window could be cut for " + ", ".join(g.label for g, _ in resolved)
                               + " (TSS off the chromosome's sequence, or no transcript of the asked biotypes)")
        sequences = source.fetch_sequences([p.region for p in promoters])
        provenance = tuple((f"source_{k}" if not k.startswith("source") else k, str(v))
                           for k, v in source.provenance().items())
        not_found = [lookup.query for lookup in lookups if not lookup.genes]
        if not_found:
            provenance += (("genes_not_found", " ".join(not_found)),)
    finally:
        close = getattr(source, "close", None)
        if close:
            close()
    return PromoterSet(tuple(promoters), tuple(sequences), tuple(lookups), provenance)


def promoter_targets(promoter_set: PromoterSet, chrom_style: str = "source"
                     ) -> tuple[list[ScanTarget], dict[str, Region]]:
    """The scan targets of the promoters and the records (name -> Region, 0-based half-open) as the outputs name
    them: the chromosome names are decided once, here (``chrom_style`` "ucsc": ``chr6``), and hits and records
    inherit them."""
    records = {p.name: replace(p.region, chrom=ucsc_name(p.region.chrom)) if chrom_style == "ucsc" else p.region
               for p in promoter_set.promoters}
    targets = [ScanTarget(p.name, seq, records[p.name].chrom, p.region.start, p.region.strand,
                          _own_windows(p))
               for p, seq in zip(promoter_set.promoters, promoter_set.sequences)]
    return targets, records


def _own_windows(promoter: Promoter) -> tuple[tuple[int, int], ...]:
    """The transcripts' own windows of a merged promoter, as positions in its (forward) sequence, 0-based half-open;
    () for a promoter of one window (the engine then scores all of it). Only windows inside one of these are tests
    and hits (see :mod:`motifscan.engine`)."""
    if len(promoter.windows) < 2:
        return ()
    offset = promoter.region.start
    return tuple((w.start - offset, w.end - offset) for w in promoter.windows)


def annotate(table: HitTable, promoters: Sequence[Promoter]) -> HitTable:
    """The hits of a promoter scan with their gene, transcripts and TSS-relative positions, as columns.

    ``promoters[i]`` is the table's target ``i``. A hit gets the transcripts whose own window wholly holds it (in
    the promoter's order: canonical first, then by ID) and positions relative to the first one's TSS (EPD: +1 = TSS
    base, -1 = the base upstream, no 0; gene orientation). A site that no single window holds (one straddling the
    junction of two merged windows) never gets here: the engine neither counts nor reports it
    (:func:`promoter_targets` gives it the transcripts' own windows), so the hits and the q-values' test count agree.
    Vectorised over hits: one loop over distinct transcript sets only.
    """
    genes: dict[str, int] = {}
    for promoter in promoters:
        genes.setdefault(promoter.gene.id, len(genes))
    by_id = {p.gene.id: p.gene for p in promoters}
    gene_table = GeneTable(tuple(genes), tuple(by_id[g].name for g in genes), tuple(by_id[g].strand for g in genes))
    target_gene = np.array([genes[p.gene.id] for p in promoters], dtype=np.int32)
    window_target = np.array([t for t, p in enumerate(promoters) for _ in p.windows], dtype=np.int64)
    window_rank = np.array([r for p in promoters for r in range(len(p.windows))], dtype=np.int64)
    window_start = np.array([w.start for p in promoters for w in p.windows], dtype=np.int64)
    window_end = np.array([w.end for p in promoters for w in p.windows], dtype=np.int64)
    window_tss = np.array([t.tss for p in promoters for t in p.transcripts], dtype=np.int64)
    targets = replace(table.targets, genes=target_gene)
    if not len(table):
        return HitTable.empty(table.motifs, targets, gene_table)
    site, window = windows_holding(table.target, table.start, table.end, window_target, window_start, window_end)
    words = (int(window_rank.max()) if len(window_rank) else 0) // 64 + 1
    masks = np.zeros((len(table), words), dtype=np.uint64)
    np.bitwise_or.at(masks, (site, window_rank[window] // 64),
                     np.left_shift(np.uint64(1), (window_rank[window] % 64).astype(np.uint64)))
    held, first_pair = np.unique(site, return_index=True)  # pairs are sorted by site, then window (= rank)
    kept = np.zeros(len(table), dtype=bool)
    kept[held] = True
    if not kept.all():  # the engine filters by the same windows (promoter_targets): a gap here is a bug
        raise AssertionError(f"{int((~kept).sum())} hits lie in no transcript's promoter window")
    first_window = np.zeros(len(table), dtype=np.int64)
    first_window[held] = window[first_pair]
    keys = np.column_stack([table.target.astype(np.uint64), masks])[kept]
    sets, set_index = np.unique(keys, axis=0, return_inverse=True)
    transcript_sets = []
    for row in sets:  # one per distinct (promoter, transcript set): few
        ranks = [r for r in range(64 * words) if int(row[1 + r // 64]) >> (r % 64) & 1]
        transcript_sets.append(tuple(promoters[int(row[0])].transcripts[r].id for r in ranks))
    out = table.take(kept)
    tss = window_tss[first_window[kept]]
    minus = np.array([by_id[g].strand == "-" for g in genes], dtype=bool)[target_gene[out.target]]
    rel_start, rel_end = tss_relative_columns(tss, minus, out.start, out.end)
    return out.with_columns(targets=targets, genes=gene_table, gene=target_gene[out.target], tss_rel_start=rel_start,
                            tss_rel_end=rel_end, transcripts=set_index.ravel(),
                            transcript_sets=tuple(transcript_sets))


def rank_against_background(hits: HitTable, spec: GenomeSpec, motifs, release: str, settings: ScanOptions,
                            window: PromoterOptions, background_genes):
    """Each hit's ``promoter_rank_p`` against the (cached) background of promoters, and provenance lines."""
    from motifscan.background import is_auto
    from motifscan.best_scores import promoter_rank_p
    from motifscan.promoter_background import BackgroundCache, PromoterRule, build_background, universe_label

    if is_auto(settings.background):
        raise UsageError("--rank-promoters needs a fixed --background (uniform or A,C,G,T): with 'auto' the query "
                         "and the background promoters would be scored with different matrices")
    if isinstance(background_genes, (str, os.PathLike)):
        names: list[str] | None = read_gene_file(background_genes)
    else:
        names = None if background_genes is None else list(background_genes)
    cache = BackgroundCache(Path(spec.cache_dir) / "backgrounds" if spec.cache_dir is not None else None) \
        if spec.use_cache else None
    source = spec.open(memo=True)  # the background of a later run re-parses no GTF (motifscan.sources.memo)
    try:
        background = build_background(source, motifs, rule=PromoterRule(window.upstream, window.downstream,
                                                                        window.transcripts, tuple(window.biotypes)),
                                      universe_names=names, universe_label=universe_label(names),
                                      jaspar_release=release, pseudocount=settings.pseudocount,
                                      background=str(settings.background), p_threshold=settings.p_threshold,
                                      min_rel_score=settings.min_rel_score, mask_lowercase=settings.mask_lowercase,
                                      jobs=settings.jobs, cache=cache)
    finally:
        close = getattr(source, "close", None)
        if close:
            close()
    own = np.asarray(hits.genes.ids, dtype=object)[hits.gene] if len(hits) and hits.genes is not None \
        else np.zeros(0, dtype=object)
    ranks = promoter_rank_p(background.scores, hits.motif, hits.score, list(own))
    facts = [*background.provenance,
             ("promoter_rank_p", "(1 + k) / (1 + n): n = background promoters with a scorable window for the "
                                 "site's matrix, except the site's own gene; k = those whose best score (both "
                                 "strands, any window) is >= the site's")]
    return ranks, facts
