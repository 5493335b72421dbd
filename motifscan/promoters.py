"""Promoter windows around transcription start sites, cut as Bioconductor's ``promoters()`` cuts them.

Pure functions, no I/O. Coordinate conventions:

* Genomic coordinates (``Region``, ``Transcript``, ``start``/``end`` arguments) are 0-based, half-open ``[start, end)``;
  a TSS (``Transcript.tss``) is the 0-based position of the transcription start base.
* A window holds ``upstream`` bases before the TSS, then ``downstream`` bases starting with the TSS base itself
  (``upstream + downstream`` bases in all). On the - strand "upstream" lies at higher coordinates:

  - ``+`` strand, TSS ``t``: ``[t - upstream, t + downstream)``
  - ``-`` strand, TSS ``t``: ``[t - downstream + 1, t + upstream + 1)``

  Windows are clipped to ``[0, chrom_length)``; the ``clipped`` flags let the caller warn.
* Positions relative to the TSS (:func:`tss_relative`) follow EPD: +1 is the TSS base, -1 the base just upstream of
  it, there is no 0, and they are counted in the gene's orientation.
* FASTA headers (:func:`promoter_fasta_header`) show 1-based inclusive coordinates, as genome browsers do.

The canonical transcript of a gene is the one flagged ``is_canonical``; where none is flagged,
:func:`fallback_canonical` picks one by a fixed rule (see there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from motifscan.encoding import reverse_complement
from motifscan.errors import UsageError
from motifscan.identifiers import unversioned
from motifscan.model import Gene, Region, Transcript

TRANSCRIPT_MODES = ("canonical", "all")



@dataclass(frozen=True)
class Promoter:
    """One promoter region of one gene: a single transcript's window, or several merged windows.

    Attributes
    ----------
    region : Region
        The genomic window, 0-based half-open ``[start, end)`` (already clipped to the chromosome); ``strand`` is the
        gene's strand; ``name`` is the record name ``"GENE|ENST1,ENST2"`` (see :func:`record_name`).
    gene : Gene
        The gene the promoter belongs to.
    transcripts : tuple of Transcript
        The transcripts whose windows make up the region: the gene's canonical transcript first, then by ID.
    windows : tuple of Region
        Each transcript's own clipped window (0-based half-open), in the same order as ``transcripts``.
    clipped : bool
        True when any window was cut short by an end of the chromosome.
    """

    region: Region
    gene: Gene
    transcripts: tuple[Transcript, ...]
    windows: tuple[Region, ...]
    clipped: bool

    @property
    def name(self) -> str:
        """The record name, ``"GENE|ENST1,ENST2"``."""
        return self.region.name

    @property
    def transcript_ids(self) -> tuple[str, ...]:
        """IDs of the promoter's transcripts, canonical first, then by ID."""
        return tuple(transcript.id for transcript in self.transcripts)


def fallback_canonical(transcripts: Iterable[Transcript]) -> Transcript | None:
    """Pick a canonical transcript when the annotation flags none.

    The rule: prefer ``protein_coding`` transcripts; among those, the longest genomic span (``end - start``); ties go
    to the lowest transcript ID. Returns None when there are no transcripts.
    """
    candidates = list(transcripts)
    if not candidates:
        return None
    coding = [t for t in candidates if t.biotype == "protein_coding"]
    pool = coding or candidates
    return min(pool, key=lambda t: (-(t.end - t.start), t.id))


def canonical_transcript(gene: Gene) -> Transcript | None:
    """The gene's canonical transcript: the one flagged ``is_canonical``, else :func:`fallback_canonical`'s pick."""
    return gene.canonical_transcript or fallback_canonical(gene.transcripts)


def _check_flanks(upstream: int, downstream: int) -> None:
    if upstream < 0 or downstream < 0:
        raise UsageError(f"upstream and downstream must be >= 0, not {upstream} and {downstream}")
    if upstream + downstream == 0:
        raise UsageError("upstream + downstream must be at least 1 bp")


def promoter_window(transcript: Transcript, upstream: int, downstream: int, chrom_length: int) -> tuple[Region, bool]:
    """The promoter window of one transcript, clipped to the chromosome.

    Parameters
    ----------
    transcript : Transcript
        Its ``tss`` (0-based) and ``strand`` place the window.
    upstream, downstream : int
        Bases before the TSS, and bases from the TSS base on (the TSS base counts as downstream).
    chrom_length : int
        Length of the chromosome; the window is clipped to ``[0, chrom_length)``.

    Returns
    -------
    tuple of (Region, bool)
        The window, 0-based half-open, on the transcript's strand and named after the transcript ID; and whether it
        was clipped. A window wholly off the chromosome comes back empty (``start == end``) and clipped.
    """
    _check_flanks(upstream, downstream)
    tss = transcript.tss
    if transcript.strand == "+":
        start, end = tss - upstream, tss + downstream
    else:
        start, end = tss - downstream + 1, tss + upstream + 1
    clipped_start = min(max(start, 0), chrom_length)
    clipped_end = max(min(end, chrom_length), clipped_start)
    clipped = (clipped_start, clipped_end) != (start, end)
    window = Region(transcript.chrom, clipped_start, clipped_end, transcript.strand, transcript.id)
    return window, clipped


def record_name(gene: Gene, transcripts: Iterable[Transcript]) -> str:
    """The record name of a promoter: the gene's label, ``|``, the transcript IDs joined by commas.

    Example: ``"FOXC1|ENST00000380874"``.
    """
    return f"{gene.label}|{','.join(transcript.id for transcript in transcripts)}"


def selected_transcripts(gene: Gene, transcripts: str = "canonical", biotypes: Sequence[str] = (),
                         transcript_ids: Sequence[str] = ()) -> list[Transcript]:
    """The transcripts whose TSSs a scan of ``gene`` uses, in the gene's order.

    ``transcript_ids`` (versioned or not) given: exactly those. Otherwise by mode: ``"canonical"`` the canonical
    transcript (:func:`canonical_transcript`), ``"all"`` every transcript whose biotype is in ``biotypes`` (all when
    empty). An ID that is not a transcript of the gene is a UsageError.
    """
    if transcripts not in TRANSCRIPT_MODES:
        raise UsageError(f"transcripts must be one of {', '.join(TRANSCRIPT_MODES)}, not {transcripts!r}")
    if transcript_ids:
        wanted = {unversioned(i).upper() for i in transcript_ids}
        unknown = wanted - {t.id.upper() for t in gene.transcripts}
        if unknown:
            raise UsageError(f"{', '.join(sorted(unknown))} is not a transcript of {gene.label} ({gene.id})")
        return [t for t in gene.transcripts if t.id.upper() in wanted]
    if transcripts == "canonical":
        canonical = canonical_transcript(gene)
        return [canonical] if canonical is not None else []
    allowed = set(biotypes)
    return [t for t in gene.transcripts if not allowed or t.biotype in allowed]


def _merge_groups(windows: Sequence[tuple[Region, Transcript, bool]]) -> list[list[tuple[Region, Transcript, bool]]]:
    """Group windows into connected runs: overlapping or abutting windows (next start <= current end) join."""
    groups: list[list[tuple[Region, Transcript, bool]]] = []
    group_end = -1
    for item in sorted(windows, key=lambda item: (item[0].start, item[0].end)):
        if groups and item[0].start <= group_end:
            groups[-1].append(item)
            group_end = max(group_end, item[0].end)
        else:
            groups.append([item])
            group_end = item[0].end
    return groups


def _promoter_from_group(
    gene: Gene, group: Sequence[tuple[Region, Transcript, bool]], canonical_id: str | None
) -> Promoter:
    ordered = sorted(group, key=lambda item: (item[1].id != canonical_id, item[1].id))
    transcripts = tuple(item[1] for item in ordered)
    start = min(item[0].start for item in group)
    end = max(item[0].end for item in group)
    region = Region(gene.chrom, start, end, gene.strand, record_name(gene, transcripts))
    return Promoter(
        region=region,
        gene=gene,
        transcripts=transcripts,
        windows=tuple(item[0] for item in ordered),
        clipped=any(item[2] for item in group),
    )


def promoters_for_gene(
    gene: Gene,
    upstream: int,
    downstream: int,
    chrom_length: int,
    transcripts: str = "canonical",
    biotypes: Sequence[str] = (),
    transcript_ids: Sequence[str] = (),
) -> list[Promoter]:
    """The promoter regions of one gene.

    Parameters
    ----------
    gene : Gene
        The gene, with its transcripts (0-based half-open coordinates).
    upstream, downstream : int
        Window flanks, see :func:`promoter_window`.
    chrom_length : int
        Length of the gene's chromosome; windows are clipped to ``[0, chrom_length)``.
    transcripts : {"canonical", "all"}
        ``"canonical"``: one promoter, of the canonical transcript (:func:`canonical_transcript`); ``biotypes`` is
        ignored. ``"all"``: every transcript whose biotype is in ``biotypes`` (all when empty); windows that overlap or
        abut are merged into one promoter per connected group.
    biotypes : sequence of str
        Transcript biotypes kept with ``"all"``.
    transcript_ids : sequence of str, optional
        Only these transcripts, versioned or not (their windows merged where they overlap or abut), whatever
        ``transcripts`` and ``biotypes`` say.

    Returns
    -------
    list of Promoter
        In genomic order. Windows lying wholly off the chromosome are left out, so the list is empty when the gene
        has no (selected) transcript with a window on the chromosome; the caller should warn about such genes.

    Raises
    ------
    UsageError
        Bad flanks or mode, or an ID of ``transcript_ids`` not a transcript of ``gene``.
    """
    _check_flanks(upstream, downstream)
    chosen = selected_transcripts(gene, transcripts, biotypes, transcript_ids)
    canonical = canonical_transcript(gene)
    canonical_id = canonical.id if canonical is not None else None
    windows = []
    for transcript in chosen:
        window, clipped = promoter_window(transcript, upstream, downstream, chrom_length)
        if len(window):
            windows.append((window, transcript, clipped))
    return [_promoter_from_group(gene, group, canonical_id) for group in _merge_groups(windows)]


def site_transcripts(promoter: Promoter, start: int, end: int) -> tuple[str, ...]:
    """IDs of the promoter's transcripts whose own window wholly holds the site ``[start, end)`` (0-based half-open).

    In the promoter's order: canonical first, then by ID. A site straddling the junction of two merged windows lies
    wholly inside no promoter window and gets ``()``: such sites are not reported (only windows wholly inside a
    promoter window are scored). Sites outside the promoter region get ``()`` too. One site through the array kernel
    that gene scans use (:func:`windows_holding`).
    """
    windows = promoter.windows
    _, window = windows_holding(np.zeros(1, np.int64), np.array([start]), np.array([end]),
                                np.zeros(len(windows), np.int64), np.array([w.start for w in windows], np.int64),
                                np.array([w.end for w in windows], np.int64))
    return tuple(promoter.transcripts[w].id for w in window.tolist())


def windows_holding(target: np.ndarray, start: np.ndarray, end: np.ndarray, window_target: np.ndarray,
                    window_start: np.ndarray, window_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which windows wholly hold which sites, as (site index, window index) pairs, sorted by site then window.

    Sites ``[start, end)`` on records ``target`` (each (n,)) and windows ``[window_start, window_end)`` on records
    ``window_target`` (each (w,)), 0-based half-open on the same coordinates. One ``searchsorted`` per window bound
    over the sites sorted by (record, start), then a check of the ends: no loop over sites."""
    order = np.lexsort((start, target))
    key = (target[order].astype(np.int64) << 40) | start[order]
    low = np.searchsorted(key, (window_target.astype(np.int64) << 40) | window_start, side="left")
    high = np.searchsorted(key, (window_target.astype(np.int64) << 40) | window_end, side="left")
    counts = high - low
    window = np.repeat(np.arange(len(window_start)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    site = order[np.repeat(low, counts) + within]
    inside = end[site] <= window_end[window]
    site, window = site[inside], window[inside]
    ranked = np.lexsort((window, site))
    return site[ranked], window[ranked]


def tss_relative(tss: int, strand: str, start: int, end: int) -> tuple[int, int]:
    """The first and last base of the site ``[start, end)`` (0-based half-open) relative to the TSS.

    Parameters
    ----------
    tss : int
        0-based position of the TSS base.
    strand : {"+", "-"}
        The gene's strand; positions are counted in the gene's orientation.
    start, end : int
        The site, 0-based half-open genomic coordinates (covering bases ``start`` .. ``end - 1``).

    Returns
    -------
    tuple of (int, int)
        ``(rel_start, rel_end)`` with ``rel_start <= rel_end``: +1 is the TSS base, -1 the base just upstream of it,
        and there is no 0 (EPD's convention).
    """
    if end <= start:
        raise ValueError(f"empty site [{start}, {end})")
    if strand not in ("+", "-"):
        raise ValueError(f"strand must be '+' or '-', not {strand!r}")
    first, last = tss_relative_columns(np.array([tss]), np.array([strand == "-"]), np.array([start]), np.array([end]))
    return int(first[0]), int(last[0])


def tss_relative_columns(tss: np.ndarray, minus: np.ndarray, start: np.ndarray,
                         end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tss_relative` of many sites at once: each argument shape (n,) (``minus``: the gene is on -); returns
    (rel_start, rel_end), int64, EPD convention (+1 = TSS base, no 0), gene orientation."""
    first = np.where(minus, tss - start, start - tss)
    last = np.where(minus, tss - (end - 1), end - 1 - tss)
    first = np.where(first >= 0, first + 1, first)
    last = np.where(last >= 0, last + 1, last)
    return np.minimum(first, last).astype(np.int64), np.maximum(first, last).astype(np.int64)


def promoter_fasta_header(promoter: Promoter) -> str:
    """The FASTA header (without ``>``) of a promoter: ``GENE|TRANSCRIPTS CHROM:START-END(STRAND)``.

    START-END are 1-based inclusive, e.g. ``FOXC1|ENST00000380874 6:1608681-1611180(+)``.
    """
    from motifscan.writers import record_line  # the one place that writes this format

    return record_line(promoter.region)


def oriented_sequence(forward_sequence: str, strand: str) -> str:
    """A window's sequence in the gene's orientation: as is on ``+``, reverse-complemented on ``-``."""
    return forward_sequence if strand == "+" else reverse_complement(forward_sequence)
