"""Does this variant break the site? Allele-specific scoring of variants in promoters (or anywhere in a genome).

Flow: variants (VCF/BCF through pysam, ``CHROM:POS:REF:ALT``, rsIDs through Ensembl; :mod:`motifscan.variant_io`)
-> chromosome names reconciled with the genome's -> placed in promoter windows (the same windows as ``scan``), or,
with ``all_variants``, streamed in batches against the whole genome -> REF checked against the genome -> the
trimmed edit of each allele -> :func:`motifscan.allele_scores.best_windows` (the best touched window per allele,
matrix and strand) -> p-values of both best scores (:class:`motifscan.pvalues.ScoreDistribution`, within 1% of
exact, as in ``scan``) -> rows where either allele passes ``p_threshold`` -> :class:`VariantResult` (numpy columns).

Coordinates: ``pos`` is the 1-based VCF POS; BED sites are 0-based half-open; ``tss_rel_pos`` is the VCF POS base
relative to the TSS (EPD: +1 = TSS base, -1 = the base upstream, no 0, gene orientation).

Effects: ``lost`` (ref p <= threshold < alt p), ``gained`` (alt p <= threshold < ref p), ``weaker``/``stronger``
(both pass; alt score lower / higher), ``unchanged`` (both pass, equal scores).

``delta_p_value`` (how surprising is a change this large, for a random word carrying this edit): in the frame of the
stronger allele's best window, the columns the edit does not touch hold random background letters and the edited
columns the allele's own; delta_p_value = P(R >= r), R the random letters' score over the untouched columns and r the
site's own, computed with the score distribution of those columns (exact within 1%). For a fixed edit the change in
p-value grows with R, so this is the chance that a random word carrying the same edit at the same place moves its
p-value at least as far (checked by enumeration in the tests). Windows holding no edited base (the flanking-base
windows of insertions and deletions) give the allele's own p-value.
"""

from __future__ import annotations

import html
import logging
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from motifscan import __version__
from motifscan.allele_scores import EditBatch, alternate_rows, best_windows, reference_rows, window_letters
from motifscan.background import is_auto, parse_background
from motifscan.encoding import reverse_complement
from motifscan.errors import GenomeError, UsageError
from motifscan.model import Motif, Region
from motifscan.options import GenomeSpec, PromoterOptions, ScanOptions
from motifscan.pvalues import TIE_EPS_BITS, ScoreDistribution
from motifscan.variant_io import (
    SKIP_REASONS,
    SkipCounts,
    Variant,
    VcfReader,
    chrom_map,
    classify,
    edit_of,
    is_rsid,
    parse_variant_spec,
)

log = logging.getLogger(__name__)

VARIANT_COLUMNS = (
    "variant_id", "chrom", "pos", "ref", "alt", "motif_id", "motif_name", "strand", "ref_score", "alt_score",
    "score_delta", "ref_p_value", "alt_p_value", "effect", "ref_sequence", "alt_sequence", "gene_name",
    "tss_rel_pos", "delta_p_value",
)
"""The TSV columns of a variant scan, in order (the issue's names, then ``delta_p_value``)."""

EFFECTS = ("lost", "gained", "weaker", "stronger", "unchanged")

BATCH_VARIANTS = 50_000
"""Records read per batch when streaming a whole VCF (bounded memory)."""

MISMATCH_FAIL_FRACTION = 0.5
"""Fail (with an assembly hint) when more than this share of the checked variants have a REF that differs from
the genome."""

_WARN_MISMATCHES = 20  # per-variant REF warnings before they are summarised
_ROWS_PER_CHUNK = 50_000  # rows formatted at once by the TSV writer
_BED_TRACK = 'track name="motifscan-variants" description="motif sites changed by variants" useScore=1\n'
_KEEP_GRIDS_MOTIFS = 64  # up to this many matrices keep their p-value grids between batches (a few MB each)


# --------------------------------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class VariantResult:
    """The rows of a variant scan as numpy columns, with everything needed to reproduce it.

    ``columns``: name -> array of equal length (the :data:`VARIANT_COLUMNS`, plus ``site_chrom``,
    ``ref_site_start``/``ref_site_end``/``alt_site_start``/``alt_site_end``: 0-based half-open genomic spans of the
    best windows, where ``alt`` spans are the reference bases the alternate window covers). ``provenance``: (key,
    value) pairs written at the top of every output. ``records``: promoter name -> Region (for the map).
    ``scored``: the variants scored (for the map), as (promoter name, chrom, pos, variant_id, tss_rel_pos) tuples;
    ``extents``: promoter name -> TSS-relative (first, last) base of its window (EPD convention).
    """

    columns: dict[str, np.ndarray]
    motifs: tuple[Motif, ...]
    provenance: tuple[tuple[str, str], ...]
    records: dict[str, Region] = field(default_factory=dict)
    scored: tuple[tuple[str, str, int, str, int | None], ...] = ()
    extents: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.columns["variant_id"].size)

    def __getitem__(self, index: int) -> dict:
        """Row ``index`` as a dict of the TSV columns (a notebook view)."""
        return {name: self.columns[name][index].item() if hasattr(self.columns[name][index], "item")
                else self.columns[name][index] for name in VARIANT_COLUMNS}

    def __iter__(self) -> Iterator[dict]:
        return (self[i] for i in range(len(self)))

    def tsv_chunks(self) -> Iterator[str]:
        """The TSV as pieces of text: provenance comments, the header, then the rows (formatted column by column,
        in chunks)."""
        yield "".join(line + "\n" for line in _comment_lines(self.provenance))
        yield "\t".join(VARIANT_COLUMNS) + "\n"
        for first in range(0, len(self), _ROWS_PER_CHUNK):
            part = {name: values[first : first + _ROWS_PER_CHUNK] for name, values in self.columns.items()}
            yield "".join(line + "\n" for line in _format_rows(part))

    def bed_chunks(self, track: bool = False) -> Iterator[str]:
        """BED6 of the affected sites: one line per allele whose best window passes, 0-based half-open (an alternate
        window: the reference bases it covers; empty at the insertion point when it lies wholly in inserted
        bases), name ``VARIANT|REF>ALT|MOTIF_NAME|ALLELE|EFFECT`` (ALLELE: ref or alt, the site's allele), score
        ``min(1000, round(-100 log10 p))`` of that allele's p-value, strand the motif's."""
        if track:
            yield _BED_TRACK
        yield "".join(line + "\n" for line in _comment_lines(self.provenance))
        yield "".join(line + "\n" for line in _bed_rows(self.columns))

    def to_tsv(self) -> str:
        """The TSV text."""
        return "".join(self.tsv_chunks())

    def to_bed(self, track: bool = False) -> str:
        """The BED6 text of the affected sites (see :meth:`bed_chunks`)."""
        return "".join(self.bed_chunks(track))

    def write_tsv(self, path: str | Path) -> None:
        """Write the TSV to ``path`` atomically (``"-"``: standard output)."""
        from motifscan.writers import write_outputs

        write_outputs([(path, self.tsv_chunks())])

    def write_bed(self, path: str | Path, track: bool = False) -> None:
        """Write the BED6 of the affected sites to ``path`` atomically."""
        from motifscan.writers import write_outputs

        write_outputs([(path, self.bed_chunks(track))])

    @property
    def _p_threshold(self) -> float:
        return float(dict(self.provenance)["p_threshold"])

    def to_pandas(self):
        """A pandas DataFrame with the TSV columns (numeric dtypes; ``tss_rel_pos`` nullable Int64)."""
        import pandas as pd

        frame = pd.DataFrame({name: self.columns[name] for name in VARIANT_COLUMNS})
        frame["tss_rel_pos"] = pd.array([None if v == 0 else int(v) for v in self.columns["tss_rel_pos"]],
                                        dtype="Int64")
        for name in ("variant_id", "chrom", "ref", "alt", "motif_id", "motif_name", "strand", "effect",
                     "ref_sequence", "alt_sequence", "gene_name"):
            frame[name] = frame[name].astype(str)
        return frame

    def to_html(self, *, title: str | None = None) -> str:
        """One self-contained HTML page: the variant rows (sortable, filterable by effect and TF family), logos,
        provenance, the TSV and BED as downloads (see :func:`motifscan.report.variants_report`)."""
        from motifscan.report import variants_report

        return variants_report(self, title=title)

    def write_html(self, path: str | Path, *, title: str | None = None) -> None:
        """Write :meth:`to_html` to ``path`` atomically."""
        from motifscan.writers import write_outputs

        write_outputs([(path, [self.to_html(title=title)])])

    def plot(self, path: str | Path | None = None, **options):
        """The promoter map with the variants drawn on their promoters (needs ``motifscan[plot]``)."""
        from motifscan.variant_plots import variant_map

        return variant_map(self, path, **options)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in VARIANT_COLUMNS)
        lines = list(_format_rows(self.columns, limit=50))
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in line.split("\t")) + "</tr>"
                       for line in lines)
        more = f"<p>… {len(self) - 50} more rows</p>" if len(self) > 50 else ""
        counts = ", ".join(f"{e} {int(np.sum(self.columns['effect'] == e))}" for e in EFFECTS
                           if np.any(self.columns["effect"] == e))
        return (f"<p>motifscan variants: {len(self)} variant x motif x strand rows ({counts or 'none'})</p>"
                f"<table><tr>{head}</tr>{rows}</table>{more}")

    def __repr__(self) -> str:
        return f"<VariantResult: {len(self)} rows, {len(self.motifs)} motifs>"


def _comment_lines(provenance: Sequence[tuple[str, str]]) -> list[str]:
    from motifscan.writers import comment_lines

    return comment_lines(provenance)


def _fmt(values: np.ndarray, spec: str) -> list[str]:
    return ["NA" if not math.isfinite(v) else format(v, spec) for v in values.tolist()]


def _format_rows(columns: dict[str, np.ndarray], limit: int | None = None) -> Iterator[str]:
    """TSV rows, formatted a whole column at a time."""
    n = int(columns["variant_id"].size) if limit is None else min(limit, int(columns["variant_id"].size))
    cut = {name: values[:n] for name, values in columns.items()}
    tss = ["" if v == 0 else str(v) for v in cut["tss_rel_pos"].tolist()]
    formatted = [
        cut["variant_id"].tolist(), cut["chrom"].tolist(), [str(v) for v in cut["pos"].tolist()],
        cut["ref"].tolist(), cut["alt"].tolist(), cut["motif_id"].tolist(), cut["motif_name"].tolist(),
        cut["strand"].tolist(), _fmt(cut["ref_score"], ".6f"), _fmt(cut["alt_score"], ".6f"),
        _fmt(cut["score_delta"], ".6f"), _fmt(cut["ref_p_value"], ".6g"), _fmt(cut["alt_p_value"], ".6g"),
        cut["effect"].tolist(), cut["ref_sequence"].tolist(), cut["alt_sequence"].tolist(),
        cut["gene_name"].tolist(), tss, _fmt(cut["delta_p_value"], ".6g"),
    ]
    for fields in zip(*formatted):
        yield "\t".join(fields)


def _short(allele: str) -> str:
    """An allele for a BED name: as is up to 10 bases, else its length (``"52bp"``)."""
    return allele if len(allele) <= 10 else f"{len(allele)}bp"


def _bed_rows(columns: dict[str, np.ndarray]) -> Iterator[str]:
    """BED6 rows of the passing alleles' best windows, sorted by chrom, start, end, name (one lexsort)."""
    from motifscan.writers import bed_score

    parts = []
    for allele in ("ref", "alt"):
        p_values = columns[f"{allele}_p_value"]
        keep = np.flatnonzero(columns[f"{allele}_passes"])
        names = np.array([f"{v}|{_short(r)}>{_short(a)}|{m}|{allele}|{e}" for v, r, a, m, e in zip(
            columns["variant_id"][keep].tolist(), columns["ref"][keep].tolist(), columns["alt"][keep].tolist(),
            columns["motif_name"][keep].tolist(), columns["effect"][keep].tolist())], dtype=object)
        parts.append((columns["site_chrom"][keep], columns[f"{allele}_site_start"][keep],
                      columns[f"{allele}_site_end"][keep], names, p_values[keep], columns["strand"][keep]))
    chrom, start, end, name, p_value, strand = (np.concatenate([p[i] for p in parts]) for i in range(6))
    if chrom.size == 0:
        return
    order = np.lexsort((strand.astype(str), name.astype(str), end, start, chrom.astype(str)))
    for i in order.tolist():
        yield "\t".join([str(chrom[i]), str(start[i]), str(end[i]), str(name[i]), str(bed_score(p_value[i])),
                         str(strand[i])])


# --------------------------------------------------------------------------------------------------------------------
# The scoring model


@dataclass
class _Model:
    """Matrices, thresholds and score distributions of one run (built once)."""

    motifs: list[Motif]
    log_odds: list[np.ndarray]
    distributions: list[ScoreDistribution]
    thresholds: np.ndarray  # (k,) score cut of each matrix: its p threshold's, raised by --min-rel-score
    rel_cuts: np.ndarray  # (k,) the --min-rel-score cut alone (-inf without it)
    p_threshold: float
    mask_lowercase: bool
    background: np.ndarray
    keep_grids: bool  # few matrices: keep their p-value grids from batch to batch (streamed runs)

    @classmethod
    def build(cls, motifs: Sequence[Motif], settings, background: np.ndarray) -> _Model:
        from motifscan.motifs import log_odds

        matrices = [log_odds(m.counts, settings.pseudocount, background) for m in motifs]
        distributions = []
        for motif, matrix in zip(motifs, matrices):
            try:
                distributions.append(ScoreDistribution(matrix, background))
            except ValueError as error:
                raise UsageError(f"motif {motif.id}: {error}; use a larger --pseudocount") from None
        thresholds = np.empty(len(distributions))
        for k, distribution in enumerate(distributions):
            thresholds[k] = distribution.score_threshold(settings.p_threshold)
            distribution.release()  # grids are rebuilt on demand: 1019 matrices' cached grids would take GBs
        rel_cuts = np.full(len(distributions), -np.inf)
        if settings.min_rel_score is not None:
            rel_cuts = np.array([d.min_score + settings.min_rel_score * (d.max_score - d.min_score)
                                 for d in distributions])
        thresholds = np.maximum(thresholds, rel_cuts)
        return cls(list(motifs), matrices, distributions, thresholds, rel_cuts, settings.p_threshold,
                   settings.mask_lowercase, background, len(motifs) <= _KEEP_GRIDS_MOTIFS)


# --------------------------------------------------------------------------------------------------------------------
# Placing variants on reference sequence


@dataclass
class _Placed:
    """Variants placed on a pool of reference sequence, ready to score (all arrays (n,))."""

    variants: list[Variant]
    genome_chrom: list[str]
    pool_offset: np.ndarray  # pool index of genomic position 0 of the stretch holding the variant (may be negative)
    lo: np.ndarray  # allowed pool bounds [lo, hi)
    hi: np.ndarray
    gene_name: list[str]
    tss_rel_pos: np.ndarray  # 0 = none


class _RefCheck:
    """REF against the genome: warn per variant, count, and fail when most differ (wrong assembly)."""

    def __init__(self, assembly_hint: str) -> None:
        self.checked = 0
        self.mismatched = 0
        self.assembly_hint = assembly_hint

    def check(self, variants: Sequence[Variant], genome_ref: Sequence[str]) -> np.ndarray:
        """(n,) bool: REF matches the genome (case-blind). Mismatches are warned about by ID and position."""
        ok = np.array([v.ref == g.upper() for v, g in zip(variants, genome_ref)], dtype=bool)
        for i in np.flatnonzero(~ok).tolist():
            self.mismatched += 1
            if self.mismatched <= _WARN_MISMATCHES:
                v = variants[i]
                log.warning("%s at %s:%d: REF %s differs from the genome's %s; not scored", v.variant_id, v.chrom,
                            v.pos, v.ref, genome_ref[i].upper() or "(nothing: past the chromosome's end)")
            elif self.mismatched == _WARN_MISMATCHES + 1:
                log.warning("more variants whose REF differs from the genome: counted, not listed")
        self.checked += len(variants)
        return ok

    def verdict(self) -> None:
        """GenomeError when most checked variants mismatch."""
        if self.checked and self.mismatched > MISMATCH_FAIL_FRACTION * self.checked:
            raise GenomeError(
                f"{self.mismatched} of {self.checked} variants have a REF that differs from the genome: are the "
                f"variants and the genome of the same assembly (GRCh37 vs GRCh38)? The genome is {self.assembly_hint}")


def _place_on_promoters(variants: Sequence[Variant], promoter_set, check: _RefCheck,
                        skipped: SkipCounts) -> tuple[_Placed, np.ndarray, list[tuple]]:
    """Each variant once per promoter window that holds its REF span; REF checked. Returns the placement, the
    pool (ASCII of the promoter sequences, concatenated) and the scored (gene, chrom, pos, id, tss) tuples."""
    from motifscan.promoters import site_transcripts, tss_relative

    promoters = promoter_set.promoters
    sequences = promoter_set.sequences
    starts = np.cumsum([0] + [len(s) for s in sequences])
    pool = np.frombuffer("".join(sequences).encode("ascii", errors="replace"), dtype=np.uint8)
    names = chrom_map({v.chrom for v in variants}, {p.region.chrom for p in promoters})
    by_chrom: dict[str, list[int]] = {}
    for i, promoter in enumerate(promoters):
        by_chrom.setdefault(promoter.region.chrom, []).append(i)
    chosen: list[tuple[int, int]] = []  # (variant index, promoter index)
    for chrom, members in by_chrom.items():
        mine = np.array([i for i, v in enumerate(variants) if names.get(v.chrom) == chrom], dtype=np.int64)
        if mine.size == 0:
            continue
        ref_start = np.array([variants[i].ref_start for i in mine])
        ref_end = np.array([variants[i].ref_end for i in mine])
        order = np.argsort(ref_start, kind="stable")
        for p in members:  # a loop over promoters; variants are found by binary search
            region = promoters[p].region
            first, last = np.searchsorted(ref_start[order], [region.start, region.end])
            inside = order[first:last]
            inside = inside[ref_end[inside] <= region.end]
            chosen += [(int(mine[i]), p) for i in inside]
    outside = len(variants) - len({v for v, _ in chosen})
    if outside:
        skipped.add("outside", outside)
    chosen.sort(key=lambda pair: (pair[1], variants[pair[0]].pos, pair[0]))
    refs = [sequences[p][variants[v].ref_start - promoters[p].region.start:
                         variants[v].ref_end - promoters[p].region.start] for v, p in chosen]
    ok = check.check([variants[v] for v, _ in chosen], refs)
    chosen = [pair for pair, good in zip(chosen, ok.tolist()) if good]
    gene_names, tss_rel, scored = [], [], []
    for v, p in chosen:
        promoter, variant = promoters[p], variants[v]
        edit = edit_of(variant)
        ids = site_transcripts(promoter, edit.start, edit.start + max(len(edit.deleted), 1)) or (
            promoter.transcripts[0].id,)
        first = next(t for t in promoter.transcripts if t.id == ids[0])
        rel = tss_relative(first.tss, promoter.gene.strand, variant.ref_start, variant.ref_start + 1)[0]
        gene_names.append(promoter.gene.label)
        tss_rel.append(rel)
        scored.append((promoter.name, promoter.region.chrom, variant.pos, variant.variant_id, rel))
    offsets = np.array([starts[p] - promoters[p].region.start for _, p in chosen], dtype=np.int64)
    placed = _Placed(
        variants=[variants[v] for v, _ in chosen],
        genome_chrom=[promoters[p].region.chrom for _, p in chosen],
        pool_offset=offsets,
        lo=np.array([starts[p] for _, p in chosen], dtype=np.int64),
        hi=np.array([starts[p + 1] for _, p in chosen], dtype=np.int64),
        gene_name=gene_names,
        tss_rel_pos=np.array(tss_rel, dtype=np.int64),
    )
    return placed, pool, scored


class _Genome:
    """A local FASTA read by region, for ``all_variants`` (chromosome names and lengths from its index)."""

    def __init__(self, fasta_path: str | os.PathLike, cache_dir, trust_index: bool = False) -> None:
        from motifscan.sources.local import open_fasta

        self.path = Path(fasta_path)
        self._fasta = open_fasta(self.path, cache_dir, trust_index)
        self.lengths = {name: record.rlen for name, record in self._fasta.faidx.index.items()}

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Forward-strand letters of ``[start, end)`` (0-based half-open), clipped to the chromosome."""
        start, end = max(0, start), min(end, self.lengths[chrom])
        if end <= start:
            return ""
        return self._fasta.faidx.fetch(chrom, start + 1, end)

    def close(self) -> None:
        self._fasta.close()


def _place_on_genome(variants: Sequence[Variant], genome: _Genome, margin: int, check: _RefCheck,
                     skipped: SkipCounts) -> tuple[_Placed, np.ndarray]:
    """Variants placed on stretches of the genome fetched around them (nearby variants share one fetch)."""
    names = chrom_map({v.chrom for v in variants}, set(genome.lengths))
    known = [v for v in variants if v.chrom in names]
    if len(known) < len(variants):
        skipped.add("unknown_chrom", len(variants) - len(known))
    known.sort(key=lambda v: (names[v.chrom], v.pos))
    pieces: list[bytes] = []
    spans: list[tuple[str, int, int, int]] = []  # chrom, start, end, pool start
    total = 0
    piece_of = np.zeros(len(known), dtype=np.int64)
    for i, variant in enumerate(known):  # one pass over sorted variants: merge nearby context spans
        chrom = names[variant.chrom]
        start, end = variant.ref_start - margin, variant.ref_end + margin
        if spans and spans[-1][0] == chrom and start <= spans[-1][2] + 4 * margin:
            c, s, e, p = spans[-1]
            spans[-1] = (c, s, max(e, end), p)
        else:
            spans.append((chrom, max(0, start), end, 0))
        piece_of[i] = len(spans) - 1
    for j, (chrom, start, end, _) in enumerate(spans):
        letters = genome.fetch(chrom, start, end).encode("ascii", errors="replace")
        spans[j] = (chrom, start, start + len(letters), total)
        pieces.append(letters)
        total += len(letters)
    pool = np.frombuffer(b"".join(pieces), dtype=np.uint8) if pieces else np.zeros(0, dtype=np.uint8)
    span_start = np.array([s[1] for s in spans], dtype=np.int64)
    span_end = np.array([s[2] for s in spans], dtype=np.int64)
    span_pool = np.array([s[3] for s in spans], dtype=np.int64)
    offsets = span_pool[piece_of] - span_start[piece_of] if known else np.zeros(0, dtype=np.int64)
    text = pool.tobytes().decode("ascii")
    refs = []
    for i, variant in enumerate(known):
        first = int(offsets[i] + variant.ref_start)
        last = min(int(offsets[i] + variant.ref_end), int(span_pool[piece_of[i]] + span_end[piece_of[i]]
                                                           - span_start[piece_of[i]]))
        refs.append(text[first:last] if last > first else "")
    ok = check.check(known, refs)
    keep = np.flatnonzero(ok)
    placed = _Placed(
        variants=[known[i] for i in keep.tolist()],
        genome_chrom=[names[known[i].chrom] for i in keep.tolist()],
        pool_offset=offsets[keep],
        lo=span_pool[piece_of[keep]] if keep.size else np.zeros(0, dtype=np.int64),
        hi=(span_pool + span_end - span_start)[piece_of[keep]] if keep.size else np.zeros(0, dtype=np.int64),
        gene_name=[""] * keep.size,
        tss_rel_pos=np.zeros(keep.size, dtype=np.int64),
    )
    return placed, pool


# --------------------------------------------------------------------------------------------------------------------
# Scoring placed variants


def _edit_batch(placed: _Placed, pool: np.ndarray) -> tuple[EditBatch, list]:
    edits = [edit_of(v) for v in placed.variants]
    n = len(edits)
    max_ins = max((len(e.inserted) for e in edits), default=0)
    inserted = np.full((n, max_ins), ord("N"), dtype=np.uint8)
    for i, e in enumerate(edits):  # per variant (not per window): at most 50 letters each
        if e.inserted:
            inserted[i, : len(e.inserted)] = np.frombuffer(e.inserted.encode("ascii"), dtype=np.uint8)
    batch = EditBatch(
        pool=pool,
        base=placed.pool_offset + np.array([e.start for e in edits], dtype=np.int64),
        n_del=np.array([len(e.deleted) for e in edits], dtype=np.int64),
        lo=placed.lo, hi=placed.hi, inserted=inserted,
        n_ins=np.array([len(e.inserted) for e in edits], dtype=np.int64),
    )
    return batch, edits


def _score_placed(placed: _Placed, pool: np.ndarray, model: _Model) -> dict[str, np.ndarray]:
    """The rows (columns of :data:`VARIANT_COLUMNS` and the site spans) of one batch of placed variants."""
    if not placed.variants:
        return _empty_columns()
    batch, _ = _edit_batch(placed, pool)
    found = best_windows(batch, model.log_odds, model.thresholds - TIE_EPS_BITS, model.mask_lowercase)
    e, m, s = found.edit, found.matrix, found.strand
    ref_score, alt_score = found.ref_score, found.alt_score
    ref_p, alt_p = np.ones(e.size), np.ones(e.size)
    for k in np.unique(m).tolist():  # one call per matrix: its grids are built once for all its rows
        rows = np.flatnonzero(m == k)
        both = model.distributions[k].pvalues(np.concatenate([ref_score[rows], alt_score[rows]]))
        if not model.keep_grids:
            model.distributions[k].release()
        ref_p[rows], alt_p[rows] = both[: rows.size], both[rows.size :]
    cut = model.rel_cuts[m] - TIE_EPS_BITS  # an allele passes with p <= threshold and, if asked, the rel score
    ref_pass = (ref_p <= model.p_threshold) & (ref_score >= cut)
    alt_pass = (alt_p <= model.p_threshold) & (alt_score >= cut)
    keep = ref_pass | alt_pass
    ref_pass, alt_pass = ref_pass[keep], alt_pass[keep]
    # an allele without a scorable touched window (N stretches, the window's edge) has no score and no p-value
    ref_p[~np.isfinite(ref_score)] = np.nan
    alt_p[~np.isfinite(alt_score)] = np.nan
    ref_score = np.where(np.isfinite(ref_score), ref_score, np.nan)
    alt_score = np.where(np.isfinite(alt_score), alt_score, np.nan)
    e, m, s = e[keep], m[keep], s[keep]
    ref_score, alt_score, ref_p, alt_p = ref_score[keep], alt_score[keep], ref_p[keep], alt_p[keep]
    ref_offset, alt_offset = found.ref_offset[keep], found.alt_offset[keep]
    widths = np.array([model.log_odds[k].shape[1] for k in range(len(model.motifs))], dtype=np.int64)[m]
    ref_seq, alt_seq, ref_forward, alt_forward = _window_texts(batch, e, widths, ref_offset, alt_offset, s)
    with np.errstate(invalid="ignore"):
        delta = alt_score - ref_score
    use_alt = np.nan_to_num(alt_score, nan=-np.inf) > np.nan_to_num(ref_score, nan=-np.inf)  # the stronger frames it
    words = [af if u else rf for u, af, rf in zip(use_alt.tolist(), alt_forward, ref_forward)]
    delta_p = _delta_p_values(model, batch, e, m, s, use_alt, np.where(use_alt, alt_offset, ref_offset),
                              np.where(use_alt, alt_p, ref_p), words, widths,
                              np.where(use_alt, alt_score, ref_score))
    spans = _site_spans(batch, placed, e, widths, ref_offset, alt_offset)
    v = placed.variants
    effect = np.where(ref_pass & ~alt_pass, "lost", np.where(alt_pass & ~ref_pass, "gained", np.where(
        alt_score > ref_score, "stronger", np.where(alt_score < ref_score, "weaker", "unchanged"))))

    def obj(values: list) -> np.ndarray:
        return np.array(values, dtype=object)

    return {
        "variant_id": obj([v[i].variant_id for i in e.tolist()]),
        "chrom": obj([v[i].chrom for i in e.tolist()]),
        "pos": np.array([v[i].pos for i in e.tolist()], dtype=np.int64),
        "ref": obj([v[i].ref for i in e.tolist()]),
        "alt": obj([v[i].alt for i in e.tolist()]),
        "motif_id": obj([model.motifs[k].id for k in m.tolist()]),
        "motif_name": obj([model.motifs[k].name for k in m.tolist()]),
        "strand": obj(np.where(s == 1, "-", "+").tolist()),
        "ref_score": ref_score, "alt_score": alt_score, "score_delta": delta,
        "ref_p_value": ref_p, "alt_p_value": alt_p,
        "effect": obj(effect.tolist()),
        "ref_sequence": obj(ref_seq), "alt_sequence": obj(alt_seq),
        "gene_name": obj([placed.gene_name[i] for i in e.tolist()]),
        "tss_rel_pos": placed.tss_rel_pos[e],
        "delta_p_value": delta_p,
        "ref_passes": ref_pass, "alt_passes": alt_pass,
        **spans,
    }


def _empty_columns() -> dict[str, np.ndarray]:
    columns = {name: np.zeros(0, dtype=object) for name in VARIANT_COLUMNS}
    for name in ("pos", "tss_rel_pos", "ref_site_start", "ref_site_end", "alt_site_start", "alt_site_end"):
        columns[name] = np.zeros(0, dtype=np.int64)
    for name in ("ref_score", "alt_score", "score_delta", "ref_p_value", "alt_p_value", "delta_p_value"):
        columns[name] = np.zeros(0)
    columns["site_chrom"] = np.zeros(0, dtype=object)
    columns["ref_passes"] = columns["alt_passes"] = np.zeros(0, dtype=bool)
    return columns


def _window_texts(batch: EditBatch, e, widths, ref_offset, alt_offset, strand):
    """The best windows' letters: (ref 5'->3' on their strand, alt likewise, ref forward, alt forward); '' where an
    allele has no scorable window."""
    texts = {key: [""] * e.size for key in ("ref", "alt", "ref_forward", "alt_forward")}
    for width in np.unique(widths).tolist():
        rows = np.flatnonzero(widths == width)
        sub = batch.subset(e[rows])
        for allele, offsets, builder in (("ref", ref_offset, reference_rows), ("alt", alt_offset, alternate_rows)):
            letters = window_letters(builder(sub, width), offsets[rows], width)
            for i, word, off, minus in zip(rows.tolist(), letters, offsets[rows].tolist(), strand[rows].tolist()):
                if off >= 0:
                    texts[f"{allele}_forward"][i] = word
                    texts[allele][i] = reverse_complement(word) if minus else word
    return texts["ref"], texts["alt"], texts["ref_forward"], texts["alt_forward"]


def _site_spans(batch: EditBatch, placed: _Placed, e, widths, ref_offset, alt_offset) -> dict[str, np.ndarray]:
    """0-based half-open genomic spans of the best windows (alt windows: the reference bases they cover; a window
    wholly inside an insertion is the empty span at the insertion point)."""
    offset = placed.pool_offset[e]
    start = batch.base[e] - offset  # genomic start of the edit
    flank = widths - 1
    n_del, n_ins = batch.n_del[e], batch.n_ins[e]
    ref_start = start - flank + ref_offset
    alt_first, alt_last = alt_offset, alt_offset + widths - 1  # alt-row positions of the window's ends

    def genomic(k, is_end):
        left = start - flank + k
        right = start + n_del + (k - flank - n_ins)
        inside = np.where(is_end, start + n_del, start)
        return np.where(k < flank, left, np.where(k >= flank + n_ins, right, inside))

    alt_start = genomic(alt_first, False)
    alt_end = np.where(alt_last >= flank + n_ins, genomic(alt_last, True) + 1, genomic(alt_last, True))
    alt_end = np.maximum(alt_end, alt_start)
    return {
        "site_chrom": np.array([placed.genome_chrom[i] for i in e.tolist()], dtype=object),
        "ref_site_start": ref_start, "ref_site_end": ref_start + widths,
        "alt_site_start": alt_start, "alt_site_end": alt_end,
    }


def _delta_p_values(model: _Model, batch: EditBatch, e: np.ndarray, m: np.ndarray, s: np.ndarray,
                    use_alt: np.ndarray, offset: np.ndarray, own_p: np.ndarray, words: list[str],
                    widths: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """See the module docstring: P(R >= r) over the columns of the stronger allele's best window that the edit
    leaves alone. Per row (all (r,)): edit ``e``, matrix ``m``, strand ``s``, whether the alternate allele frames it
    (``use_alt``), that window's ``offset`` in its row, that allele's p-value ``own_p`` and ``scores``, the
    window's forward letters ``words`` and matrix ``widths``. The untouched columns of every row are found at once
    (one (r, max width) mask); rows sharing a matrix, strand and set of untouched columns share one score
    distribution (one call per set, the loop's only Python step), so the work follows the distinct column patterns,
    not the rows."""
    from motifscan.encoding import encode
    from motifscan.motifs import reverse_complement_matrix

    out = np.full(e.size, np.nan)
    rows = np.flatnonzero((offset >= 0) & np.isfinite(scores))
    if rows.size == 0:
        return out
    column = np.arange(int(widths.max()))[None, :]
    width, edit = widths[rows][:, None], e[rows]
    flank = width - 1
    row_pos = offset[rows][:, None] + column  # the window's columns as positions in the allele's row
    n_del, n_ins = batch.n_del[edit][:, None], batch.n_ins[edit][:, None]
    length = np.where(use_alt[rows][:, None], n_ins, n_del)  # the allele's own bases: row [flank, flank + length)
    edited = (column < width) & (row_pos >= flank) & (row_pos < flank + length)
    if batch.inserted.shape[1]:  # substitutions: only the changed bases are the edit's (an MNV may keep some)
        inside = np.clip(row_pos - flank, 0, batch.inserted.shape[1] - 1)
        ref = batch.pool[np.clip(batch.base[edit][:, None] + inside, 0, batch.pool.size - 1)]
        alt = np.take_along_axis(batch.inserted[edit], inside, axis=1)
        edited &= (n_del != n_ins) | ((ref | 0x20) != (alt | 0x20))  # case-blind: soft-masked reference letters
    untouched = (column < width) & ~edited
    count = untouched.sum(axis=1)
    whole = count == width[:, 0]
    out[rows[whole]] = own_p[rows[whole]]  # no edited base in the window: the allele's own p-value
    out[rows[count == 0]] = 1.0  # nothing in the window is random
    local = np.flatnonzero(~whole & (count > 0))
    if local.size == 0:
        return out
    strand = s[rows[local]]
    pattern = untouched[local]
    b = model.background
    if b[0] == b[3] and b[1] == b[2]:  # complement-symmetric background: a - strand set is the + strand's mirror
        mirror = np.where(column < width[local], width[local] - 1 - column, column)
        pattern = np.where(strand[:, None] == 1, np.take_along_axis(pattern, mirror, axis=1), pattern)
        strand = np.zeros_like(strand)
    keys = np.concatenate([m[rows[local]][:, None], strand[:, None],
                           np.packbits(pattern, axis=1).astype(np.int64)], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    bounds = np.searchsorted(inverse.ravel()[order], np.arange(unique.shape[0] + 1))
    for g in range(unique.shape[0]):  # one distribution per (matrix, [strand,] untouched columns)
        group = order[bounds[g] : bounds[g + 1]]
        motif, frame = int(unique[g, 0]), int(unique[g, 1])
        columns = np.flatnonzero(pattern[group[0]])
        plus = model.log_odds[motif]
        distribution = ScoreDistribution((plus if frame == 0 else reverse_complement_matrix(plus))[:, columns],
                                         model.background)
        for on_minus in (False, True):  # the site's own letters, scored on its own strand's matrix and columns
            members = local[group[(s[rows[local[group]]] == 1) == on_minus]]
            if members.size == 0:
                continue
            matrix = reverse_complement_matrix(plus) if on_minus else plus
            codes = encode("".join(words[i] for i in rows[members].tolist())).reshape(members.size, plus.shape[1])
            own = untouched[members]  # (members, max width); equal rows within a strand
            picked = np.flatnonzero(own[0])
            observed = matrix[codes[:, picked], picked[None, :]].sum(axis=1)
            out[rows[members]] = distribution.pvalues(observed)
    return out


# --------------------------------------------------------------------------------------------------------------------
# The API


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if p["variant_id"].size] or [_empty_columns()]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _best_strand_only(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Of the rows of one variant x motif (x gene), the strand whose better allele scores higher (ties: +)."""
    n = columns["variant_id"].size
    if n == 0:
        return columns
    key = [f"{v}\t{c}\t{p}\t{r}\t{a}\t{m}\t{g}" for v, c, p, r, a, m, g in zip(
        columns["variant_id"], columns["chrom"], columns["pos"], columns["ref"], columns["alt"],
        columns["motif_id"], columns["gene_name"])]
    groups = np.unique(np.array(key, dtype=object).astype(str), return_inverse=True)[1].ravel()
    strength = np.fmax(columns["ref_score"], columns["alt_score"])
    order = np.lexsort((columns["strand"].astype(str) == "-", -strength, groups))
    first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]
    keep = np.sort(first)
    return {name: values[keep] for name, values in columns.items()}


def _variant_inputs(variant_specs: Sequence[str]) -> tuple[list[Variant], list[str]]:
    """(variants from CHROM:POS:REF:ALT specs, rsIDs to look up)."""
    variants, rsids = [], []
    for spec in variant_specs:
        if is_rsid(spec):
            rsids.append(spec.strip())
        else:
            variant = parse_variant_spec(spec)
            reason = classify(variant.ref, variant.alt)
            if reason is not None:
                raise UsageError(f"--variant {spec}: {SKIP_REASONS[reason]}; not scored")
            variants.append(variant)
    return variants, rsids


def _rsid_variants(rsids: Sequence[str], spec, assembly: str | None) -> list[Variant]:
    """Variants for rsIDs from Ensembl (whatever the genome source: rsIDs are Ensembl's)."""
    if not rsids:
        return []
    from motifscan.sources.ensembl import EnsemblSource
    from motifscan.sources.variation import variants_from_rsids

    source = EnsemblSource(spec.species, assembly or "GRCh38", base_url=spec.ensembl_url, cache_dir=spec.cache_dir,
                           use_cache=spec.use_cache, offline=spec.offline)
    try:
        found, unknown = variants_from_rsids(source, rsids)
    finally:
        source.close()
    if unknown:
        log.warning("%d rsID(s) not found in Ensembl (%s %s): %s", len(unknown), source.species, source.assembly,
                    ", ".join(unknown))
    return found


def _dedupe(variants: Iterable[Variant]) -> list[Variant]:
    return list(dict.fromkeys(variants))


def _vcf_in_promoters(reader: VcfReader, promoters) -> list[Variant]:
    """The VCF's variants in or next to the promoter windows: fetched through the index when there is one, else
    read in one streaming pass (only those on a promoter's chromosome and span are kept)."""
    vcf_names = {genome: vcf for vcf, genome in chrom_map(reader.contigs, {p.region.chrom for p in promoters}).items()}
    if reader.indexed:  # overlapping windows merged first, so that each record is read (and counted) once
        found: list[Variant] = []
        windows = sorted((p.region.chrom, max(0, p.region.start - 1), p.region.end) for p in promoters
                         if p.region.chrom in vcf_names)
        merged: list[list] = []
        for chrom, start, end in windows:
            if merged and merged[-1][0] == chrom and start <= merged[-1][2]:
                merged[-1][2] = max(merged[-1][2], end)
            else:
                merged.append([chrom, start, end])
        for chrom, start, end in merged:
            found += reader.fetch(vcf_names[chrom], start, end)
        return _dedupe(found)
    spans: dict[str, list[tuple[int, int]]] = {}
    for promoter in promoters:
        spans.setdefault(promoter.region.chrom, []).append((promoter.region.start, promoter.region.end))
    # per chromosome: window starts (sorted) and the running maximum of their ends; a REF span [s, e) lies in some
    # window iff the windows starting at or before s reach e
    starts = {c: np.array(sorted(w), dtype=np.int64).reshape(-1, 2) for c, w in spans.items()}
    reach = {c: np.maximum.accumulate(w[:, 1]) for c, w in starts.items()}
    kept = []
    names: dict[str, str | None] = {}
    for variant in reader.records():  # one pass, per record (pysam yields records one by one)
        if variant.chrom not in names:
            names[variant.chrom] = chrom_map([variant.chrom], set(spans)).get(variant.chrom)
        genome_chrom = names[variant.chrom]
        if genome_chrom is None:
            continue
        i = int(np.searchsorted(starts[genome_chrom][:, 0], variant.ref_start, side="right")) - 1
        if i >= 0 and reach[genome_chrom][i] >= variant.ref_end:
            kept.append(variant)
    return _dedupe(kept)


def _provenance(settings, model: _Model, release: str, command: str | None, inputs: list[tuple[str, str]],
                source_facts: Sequence[tuple[str, str]], counts: dict[str, int], skipped: SkipCounts,
                window_note: str | None, genes: Sequence[str]) -> tuple[tuple[str, str], ...]:
    b = model.background
    motifs = model.motifs
    facts: list[tuple[str, str]] = [
        ("motifscan", __version__),
        ("command_kind", "variants"),
        ("jaspar_release", release),
        ("motifs", f"{len(motifs)}: " + " ".join(m.id for m in motifs[:30]) + (" ..." if len(motifs) > 30 else "")),
        *source_facts,
        *inputs,
    ]
    if genes:
        facts.append(("genes", " ".join(genes)))
    if window_note:
        facts.append(("promoter_window", window_note))
    facts += [
        ("pseudocount", f"{settings.pseudocount:g}"),
        ("background", f"{settings.background} A={b[0]:.4f} C={b[1]:.4f} G={b[2]:.4f} T={b[3]:.4f}"),
        ("p_threshold", f"{settings.p_threshold:g}"),
        ("min_rel_score", "none" if settings.min_rel_score is None else f"{settings.min_rel_score:g}"),
        ("mask_lowercase", str(settings.mask_lowercase).lower()),
        ("max_strand", str(settings.max_strand).lower()),
        ("variants_read", str(counts.get("read", 0))),
        ("variants_scored", str(counts.get("scored", 0))),
        ("variants_skipped", skipped.describe() or "none"),
        ("ref_mismatches", str(counts.get("mismatched", 0))),
        ("touched_windows", "substitutions: windows holding a changed base; deletions: ref windows holding a "
                            "deleted base, alt windows holding both flanking bases; insertions: ref windows holding "
                            "both flanking bases, alt windows holding an inserted base (shared bases trimmed)"),
        ("effect", "lost: ref p <= threshold < alt p; gained: the reverse; weaker/stronger: both pass"),
        ("delta_p_value", "P(R >= r): random letters in the columns of the stronger allele's best window that the "
                          "edit leaves alone score at least the site's own (see README)"),
        ("coordinates", "pos 1-based (VCF POS); strand relative to chrom; tss_rel_pos: +1 = TSS base, no 0, "
                        "gene orientation"),
        ("command", command if command is not None else " ".join(sys.argv) or "python"),
    ]
    return tuple(facts)


@dataclass(frozen=True)
class _Request:
    """The checked inputs of one variant run (see :func:`score_variants`)."""

    vcf: str | os.PathLike | None
    genes: list[str]
    listed: list[Variant]
    rsids: list[str]
    motifs: list[Motif]
    release: str
    settings: ScanOptions
    window: PromoterOptions
    spec: GenomeSpec
    inputs: list[tuple[str, str]]
    command: str | None


def _request(vcf, genes, motifs, variants, all_variants: bool, genome, jaspar_release: str | None,
             command: str | None, options: dict) -> _Request:
    """Options split and checked once for :func:`score_variants` and :func:`write_variants`."""
    from motifscan.api import _gene_scan_options, resolve_motifs
    from motifscan.motifs import jaspar_database

    genes = [genes] if isinstance(genes, str) else list(genes)
    variants = [variants] if isinstance(variants, str) else list(variants)
    settings, window, spec = _gene_scan_options(genome, options)
    if settings.q_threshold is not None:
        raise UsageError("--qvalue does not apply to variant scans (rows are allele pairs, not a family of windows "
                         "tested together); filter on ref_p_value/alt_p_value instead")
    if vcf is None and not variants:
        raise UsageError("give a VCF file or --variant CHROM:POS:REF:ALT (or an rsID)")
    if all_variants and genes:
        raise UsageError("--all scores every variant against --genome: give no genes with it")
    if not all_variants and not genes:
        raise UsageError("give gene names (or --genes-file) whose promoters to look in, or --all")
    if all_variants and spec.genome is None:
        raise UsageError("--all needs --genome FASTA (or demo): the whole genome is read from a local file")
    if all_variants and is_auto(settings.background):
        raise UsageError("--background auto is estimated from promoters; with --all give uniform or A,C,G,T")
    database = jaspar_database(jaspar_release)
    chosen = resolve_motifs(motifs, database)
    if not chosen:
        raise UsageError("no motif selected")
    listed, rsids = _variant_inputs(variants)
    inputs: list[tuple[str, str]] = []
    if vcf is not None:
        inputs.append(("vcf", str(vcf)))
    if variants:
        inputs.append(("variants_given", " ".join(variants)))
    return _Request(vcf, genes, listed, rsids, chosen, database.release, settings, window, spec, inputs, command)


def score_variants(vcf: str | os.PathLike | None = None, genes: Sequence[str] | str = (), motifs=None, *,
                   variants: Sequence[str] | str = (), all_variants: bool = False,
                   genome: GenomeSpec | str | os.PathLike | None = None, jaspar_release: str | None = None,
                   command: str | None = None, **options) -> VariantResult:
    """Score both alleles of variants against motifs: does a variant break or make a site?

    ``vcf``: a VCF/BCF file (plain or bgzipped, with or without a tabix/CSI index); ``variants``: extra variants as
    ``CHROM:POS:REF:ALT`` (1-based POS, as in VCF) or rsIDs (looked up in Ensembl for ``species``/``assembly``).
    With ``genes``, the variants inside their promoter windows are scored; with ``all_variants``, every variant is
    scored against ``genome`` (a local FASTA or ``"demo"``), read in batches of :data:`BATCH_VARIANTS` (the rows
    are kept: :func:`write_variants` streams them to files instead). ``genome`` and ``options`` as in
    :func:`motifscan.scan_genes`: the fields of :class:`~motifscan.options.ScanOptions`,
    :class:`~motifscan.options.PromoterOptions` and (unless ``genome`` is a GenomeSpec) GenomeSpec. One row per
    variant x motif x strand where either allele's best touched window has p <= ``p_threshold`` (see the module
    docstring for the window rules, the effects and ``delta_p_value``). ``q_threshold`` does not apply to variants
    and is refused.
    """
    request = _request(vcf, genes, motifs, variants, all_variants, genome, jaspar_release, command, options)
    if all_variants:
        run = _GenomeRun(request)
        columns = _concat(list(run))
        return VariantResult(columns, tuple(request.motifs), run.provenance(), {}, ())
    return _score_promoters(request)


def write_variants(output: str | Path, vcf: str | os.PathLike | None = None, genes: Sequence[str] | str = (),
                   motifs=None, *, bed: str | Path | None = None, bed_track: bool = False,
                   html: str | Path | None = None, variants: Sequence[str] | str = (), all_variants: bool = False,
                   genome: GenomeSpec | str | os.PathLike | None = None, jaspar_release: str | None = None,
                   command: str | None = None, **options) -> int:
    """:func:`score_variants`, written to ``output`` (TSV; ``"-"``: standard output), ``bed`` and ``html`` as one
    step (all or none); returns the number of rows. With ``all_variants`` the rows are streamed: each batch's rows
    go to temporary spool files as they are made, so memory does not grow with the VCF; the files are then written
    (provenance with the final counts first, as always). Streamed rows come in the order of the VCF's chromosomes,
    by position within each (batches are cut between chromosomes and between positions); ``html`` (a page of every
    row) is refused with ``all_variants``."""
    from motifscan.writers import write_outputs

    request = _request(vcf, genes, motifs, variants, all_variants, genome, jaspar_release, command, options)
    if not all_variants:
        result = _score_promoters(request)
        outputs: list[tuple[str | Path, Iterable[str]]] = [(output, result.tsv_chunks())]
        if bed is not None:
            outputs.append((bed, result.bed_chunks(bed_track)))
        if html is not None:
            outputs.append((html, [result.to_html()]))
        write_outputs(outputs)
        return len(result)
    if html is not None:
        raise UsageError("--html is not available with --all (a page holding every row of a whole genome): write the "
                         "TSV, or score the promoters of chosen genes")
    import tempfile
    from contextlib import nullcontext

    run = _GenomeRun(request)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as tsv_rows, \
            (tempfile.TemporaryFile("w+", encoding="utf-8") if bed is not None else nullcontext()) as bed_rows:
        spool = _Spool(run, tsv_rows, bed_rows)
        outputs = [(output, spool.tsv_chunks())]
        if bed is not None:
            outputs.append((bed, spool.bed_chunks(bed_track)))
        write_outputs(outputs)
    return spool.rows


class _Spool:
    """The streamed rows of a genome run, held on disk: whichever output is written first drives the run, writing
    TSV and BED rows to temporary files batch by batch; each output then gives its provenance and its rows."""

    def __init__(self, run: _GenomeRun, tsv_rows, bed_rows) -> None:
        self.run = run
        self.rows = 0
        self._tsv = tsv_rows  # open temporary text files (bed_rows: None without a BED)
        self._bed = bed_rows
        self._done = False

    def _drive(self) -> None:
        if self._done:
            return
        for columns in self.run:
            self.rows += int(columns["variant_id"].size)
            for first in range(0, int(columns["variant_id"].size), _ROWS_PER_CHUNK):
                part = {name: values[first : first + _ROWS_PER_CHUNK] for name, values in columns.items()}
                self._tsv.write("".join(line + "\n" for line in _format_rows(part)))
            if self._bed is not None:
                self._bed.write("".join(line + "\n" for line in _bed_rows(columns)))
        self._done = True

    @staticmethod
    def _replay(handle) -> Iterator[str]:
        handle.seek(0)
        while piece := handle.read(1 << 20):
            yield piece

    def tsv_chunks(self) -> Iterator[str]:
        self._drive()
        yield "".join(line + "\n" for line in _comment_lines(self.run.provenance()))
        yield "\t".join(VARIANT_COLUMNS) + "\n"
        yield from self._replay(self._tsv)

    def bed_chunks(self, track: bool) -> Iterator[str]:
        self._drive()
        if track:
            yield _BED_TRACK
        yield "".join(line + "\n" for line in _comment_lines(self.run.provenance()))
        if self._bed is not None:
            yield from self._replay(self._bed)


def _score_promoters(request: _Request) -> VariantResult:
    """The variants in the promoter windows of ``request.genes``, all held in memory (promoters are small)."""
    from motifscan.genes import collect_promoters

    settings, window, spec = request.settings, request.window, request.spec
    skipped = SkipCounts()
    counts = {"read": 0, "scored": 0}
    promoter_set = collect_promoters(request.genes, spec, window)
    source_facts = list(promoter_set.provenance)
    assembly_name = spec.assembly or dict(source_facts).get("source_assembly") or dict(source_facts).get("assembly")
    found = list(request.listed) + _rsid_variants(request.rsids, spec, assembly_name)
    if request.vcf is not None:
        with VcfReader(request.vcf) as reader:
            found += _vcf_in_promoters(reader, promoter_set.promoters)
            counts["read"] += reader.records_read
            for reason, n in reader.skipped.counts.items():
                skipped.add(reason, n)
    counts["read"] += len(request.listed) + len(request.rsids)
    found = _dedupe(found)
    if is_auto(settings.background):
        from motifscan.background import background_from_codes
        from motifscan.encoding import encode

        background_probs = background_from_codes([encode(s, settings.mask_lowercase)
                                                  for s in promoter_set.sequences])
    else:
        background_probs = parse_background(settings.background)
    model = _Model.build(request.motifs, settings, background_probs)
    check = _RefCheck(_assembly_label(source_facts))
    placed, pool, scored = _place_on_promoters(found, promoter_set, check, skipped)
    check.verdict()
    counts["scored"] = len(placed.variants)
    counts["mismatched"] = check.mismatched
    columns = _score_placed(placed, pool, model)  # edits taken in chunks inside; rows only where a site passes
    if settings.max_strand:
        columns = _best_strand_only(columns)
    columns = _sorted(columns)
    window_note = (f"{window.upstream} bp upstream, {window.downstream} bp downstream of the TSS (TSS base included "
                   f"downstream); transcripts={window.transcripts}")
    provenance = _provenance(settings, model, request.release, request.command, request.inputs, source_facts, counts,
                             skipped, window_note, request.genes)
    _log_summary(counts, skipped)
    records = {p.name: p.region for p in promoter_set.promoters}
    return VariantResult(columns, tuple(request.motifs), provenance, records, tuple(scored), _extents(promoter_set))


def _extents(promoter_set) -> dict[str, tuple[int, int]]:
    """Promoter name -> TSS-relative (first, last) base of its window, from its first transcript's TSS."""
    from motifscan.promoters import tss_relative

    out = {}
    for promoter in promoter_set.promoters:
        tss = promoter.transcripts[0].tss
        out[promoter.name] = tss_relative(tss, promoter.gene.strand, promoter.region.start, promoter.region.end)
    return out


def _assembly_label(source_facts: Sequence[tuple[str, str]]) -> str:
    facts = dict(source_facts)
    name = facts.get("source_assembly") or facts.get("assembly") or "of unknown assembly"
    where = facts.get("source_genome") or facts.get("genome") or facts.get("source_server") or ""
    return f"{name} ({where})" if where else name


def _sorted(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows in output order: chromosome, position, variant, motif, strand."""
    if columns["variant_id"].size == 0:
        return columns
    order = np.lexsort((columns["strand"].astype(str), columns["motif_id"].astype(str),
                        columns["alt"].astype(str), columns["variant_id"].astype(str), columns["gene_name"].astype(str),
                        columns["pos"], columns["chrom"].astype(str)))
    return {name: values[order] for name, values in columns.items()}


def _log_summary(counts: dict[str, int], skipped: SkipCounts) -> None:
    """The run's counts of variants scored and not scored (the rows are counted by whoever writes them)."""
    if skipped.total():
        log.warning("%d variant(s) not scored: %s", skipped.total(), skipped.describe())
    scored = counts.get("scored", 0)
    log.info("%d variant%s scored", scored, "" if scored == 1 else "s")


class _GenomeRun:
    """``all_variants``: every variant against the local genome, in batches (bounded memory). Iterating yields each
    batch's rows (columns, sorted); :meth:`provenance` (with the counts) is complete once iteration has ended.
    Batches hold at least BATCH_VARIANTS records, cut where the chromosome or the position changes (the variants
    given on the command line come first, as one batch)."""

    def __init__(self, request: _Request) -> None:
        from motifscan.resources import demo_genome

        self.request = request
        spec = request.spec
        self.demo = str(spec.genome) == "demo"
        self.fasta_path = demo_genome()[0] if self.demo else Path(cast(str, spec.genome))
        if not self.demo and not self.fasta_path.exists():
            raise UsageError(f"--genome {spec.genome}: no such file")
        self.assembly_name = spec.assembly or ("GRCh37" if self.demo else None)
        self.model = _Model.build(request.motifs, request.settings, parse_background(request.settings.background))
        self.skipped = SkipCounts()
        self.counts = {"read": 0, "scored": 0, "rows": 0}
        self._check = _RefCheck(f"{self.assembly_name or 'of unknown assembly'} ({self.fasta_path})")
        self._finished = False

    def _batches(self) -> Iterator[list[Variant]]:
        request = self.request
        given = list(request.listed) + _rsid_variants(request.rsids, request.spec, self.assembly_name)
        self.counts["read"] += len(request.listed) + len(request.rsids)
        if given:
            yield given
        if request.vcf is None:
            return
        with VcfReader(request.vcf) as reader:
            batch: list[Variant] = []
            for variant in reader.records():
                if batch and (variant.chrom != batch[-1].chrom or (
                        len(batch) >= BATCH_VARIANTS and variant.pos != batch[-1].pos)):
                    yield batch
                    batch = []
                batch.append(variant)
            if batch:
                yield batch
            self.counts["read"] += reader.records_read
            for reason, n in reader.skipped.counts.items():
                self.skipped.add(reason, n)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        genome = _Genome(self.fasta_path, self.request.spec.cache_dir, trust_index=self.demo)
        margin = max(m.shape[1] for m in self.model.log_odds)
        check = self._check
        try:
            for batch in self._batches():
                placed, pool = _place_on_genome(batch, genome, margin, check, self.skipped)
                self.counts["scored"] += len(placed.variants)
                columns = _score_placed(placed, pool, self.model)
                if check.checked >= 1000:
                    check.verdict()  # a wrong assembly shows in the first batch: fail early
                columns = _sorted(_best_strand_only(columns) if self.request.settings.max_strand else columns)
                self.counts["rows"] += int(columns["variant_id"].size)
                yield columns
            check.verdict()
        finally:
            genome.close()
        self.counts["mismatched"] = check.mismatched
        self._finished = True
        _log_summary(self.counts, self.skipped)

    def provenance(self) -> tuple[tuple[str, str], ...]:
        """The provenance of the run (its counts are final once iteration has ended)."""
        request = self.request
        facts = [("source", "local"), ("genome", "demo" if self.demo else str(self.fasta_path))]
        if self.assembly_name:
            facts.append(("assembly", self.assembly_name))
        return _provenance(request.settings, self.model, request.release, request.command, request.inputs, facts,
                           self.counts, self.skipped, None, ())
