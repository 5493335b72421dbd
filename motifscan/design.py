"""From candidate sites to the bench: ChIP-qPCR primers, a site-destroying mutation with its mutagenic primers, and
cloning primers for a promoter-reporter construct, for sites of a ``motifscan scan`` (or ``fasta``) TSV.

Flow: HITS.tsv -> the chosen sites (best N by p, or given rows) and the scan's scoring model (its matrices,
pseudocount, background and p threshold, from the TSV's provenance) -> the sequence around each site (a local FASTA,
the demo genome or Ensembl) -> :mod:`motifscan.primers` (ChIP pair; 3' ends counted over a local genome) and
:mod:`motifscan.mutation` (fewest substitutions; then mutagenic primers) -> cloning primers over the site's promoter
window (the TSV's ``# record:`` lines) -> :class:`DesignResult` -> TSV (and HTML).

Coordinates: every ``start``/``end`` is 0-based half-open on the chromosome's + strand, as in the scan TSV.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from motifscan import __version__
from motifscan.encoding import reverse_complement
from motifscan.errors import GenomeError, InputFileError, UsageError
from motifscan.hits import Hit, HitTable
from motifscan.model import Motif, Region
from motifscan.motifs import log_odds
from motifscan.mutation import (
    FACTOR_P,
    MAX_CHANGES,
    Mutation,
    ScoringMatrix,
    destroy_site,
)
from motifscan.primers import (
    CONDITIONS_TEXT,
    THREE_PRIME_BASES,
    CloningPrimers,
    MutagenicPrimers,
    PrimerPair,
    chip_pairs,
    cloning_primers,
    mutagenic_primers,
    restriction_enzymes,
    three_prime_end,
)
from motifscan.pvalues import ScoreDistribution

log = logging.getLogger(__name__)

DEFAULT_TOP = 5
FLANK = 400
"""Bases read on each side of a site: room for a 250 bp ChIP product, mutagenic primers and the widest matrix."""
MAX_CLONING_WINDOW = 10_000
"""Records longer than this (a FASTA scan of whole chromosomes) get no cloning primers."""

DESIGN_COLUMNS = (
    "motif_id", "motif_name", "gene_name", "seq_name", "chrom", "start", "end", "strand", "p_value",
    "matched_sequence",
    "chip_left_primer", "chip_right_primer", "chip_product_start", "chip_product_end", "chip_product_size",
    "chip_left_tm", "chip_right_tm", "chip_left_gc", "chip_right_gc", "chip_left_3p_matches",
    "chip_right_3p_matches",
    "mutant_site", "mutant_changes", "mutant_genomic_changes", "mutant_p_value", "mutant_factor_min_p",
    "mutant_other_min_p",
    "mut_forward_primer", "mut_reverse_primer", "mut_forward_tm", "mut_reverse_tm", "mut_quikchange_tm",
    "mut_primer_start", "mut_primer_end",
    "clone_forward_primer", "clone_reverse_primer", "clone_forward_tm", "clone_reverse_tm", "clone_insert_start",
    "clone_insert_end", "clone_enzymes",
    "notes",
)


# ------------------------------------------------------------------------------------------------ sequence sources


class SequenceSource(Protocol):
    """Genome sequence for the design: + strand text of ``[start, end)`` (0-based half-open; N outside the
    chromosome) and, for a local genome, counts of exact matches."""

    label: str

    def fetch(self, chrom: str, start: int, end: int) -> str: ...

    def count_matches(self, words: Iterable[str]) -> dict[str, int] | None: ...

    def close(self) -> None: ...


class FastaGenome:
    """A local genome FASTA (plain or bgzip) read through pyfaidx; chromosome names matched up to a ``chr`` prefix."""

    def __init__(self, path: str | os.PathLike, cache_dir: str | os.PathLike | None = None, *,
                 label: str | None = None, trust_index: bool = False) -> None:
        from motifscan.sources.local import open_fasta

        self.path = Path(path)
        self.label = label or str(self.path)
        self._fasta = open_fasta(self.path, cache_dir, trust_index)
        self._lengths = {name: record.rlen for name, record in self._fasta.faidx.index.items()}

    def _name(self, chrom: str) -> str:
        from motifscan.sources.local import reconcile_chromosomes

        name = reconcile_chromosomes([chrom], self._lengths).get(chrom)
        if name is None:
            raise GenomeError(f"chromosome {chrom!r} is not in {self.path} (it has "
                              f"{', '.join(list(self._lengths)[:5])}{' ...' if len(self._lengths) > 5 else ''})")
        return name

    def fetch(self, chrom: str, start: int, end: int) -> str:
        name = self._name(chrom)
        length = self._lengths[name]
        inside_start, inside_end = max(0, start), min(end, length)
        text = self._fasta.faidx.fetch(name, inside_start + 1, inside_end) if inside_start < inside_end else ""
        return "N" * (inside_start - start) + str(text) + "N" * (end - max(inside_end, inside_start))

    def count_matches(self, words: Iterable[str]) -> dict[str, int]:
        """Exact occurrences of each word (uppercase ACGT) on both strands of every record, overlapping ones
        included; letter case ignored. A palindromic word is counted once per position."""
        words = sorted({w.upper() for w in words})
        counts = dict.fromkeys(words, 0)
        if not words:
            return counts
        longest = max(map(len, words))
        chunk = 1 << 22
        for name, length in self._lengths.items():
            for begin in range(0, length, chunk):
                stop = min(length, begin + chunk + longest - 1)
                text = str(self._fasta.faidx.fetch(name, begin + 1, stop)).upper()
                for word in words:
                    for probe in {word, reverse_complement(word)}:
                        counts[word] += _occurrences(text, probe, limit=min(chunk, length - begin))
        return counts

    def close(self) -> None:
        self._fasta.close()


def _occurrences(text: str, word: str, limit: int) -> int:
    """Occurrences of ``word`` in ``text`` starting before ``limit`` (overlapping ones included)."""
    count, at = 0, text.find(word)
    while 0 <= at < limit:
        count += 1
        at = text.find(word, at + 1)
    return count


class EnsemblGenome:
    """Sequence from the Ensembl REST server (cached); no genome-wide match counts through Ensembl."""

    def __init__(self, species: str = "human", assembly: str | None = None, **options) -> None:
        from motifscan.sources.ensembl import EnsemblSource

        self._source = EnsemblSource(species, assembly or "GRCh38", **options)
        self.label = f"Ensembl REST {self._source.base_url} {self._source.assembly}"

    def fetch(self, chrom: str, start: int, end: int) -> str:
        name = chrom.removeprefix("chr")
        name = "MT" if name == "M" else name
        length = self._source.chrom_length(name)
        inside_start, inside_end = max(0, start), min(end, length)
        text = (self._source.fetch_sequences([Region(name, inside_start, inside_end)])[0]
                if inside_start < inside_end else "")
        return "N" * (inside_start - start) + text + "N" * (end - max(inside_end, inside_start))

    def count_matches(self, words: Iterable[str]) -> None:
        return None

    def close(self) -> None:
        self._source.close()


def open_sequence_source(genome: str | os.PathLike | None, *, cache_dir: str | os.PathLike | None = None,
                         species: str = "human", assembly: str | None = None, ensembl_url: str | None = None,
                         use_cache: bool = True, offline: bool = False) -> SequenceSource:
    """``genome``: a FASTA path (no annotation needed), ``"demo"``, or None for Ensembl REST."""
    if genome is None:
        return EnsemblGenome(species, assembly, base_url=ensembl_url, cache_dir=cache_dir, use_cache=use_cache,
                             offline=offline)
    if str(genome) == "demo":
        from motifscan.resources import demo_genome
        from motifscan.sources.local import DEMO_LABEL

        return FastaGenome(demo_genome()[0], cache_dir, label=DEMO_LABEL, trust_index=True)
    if not Path(genome).is_file():
        raise UsageError(f"--genome: no such file: {genome}")
    return FastaGenome(genome, cache_dir)


# ------------------------------------------------------------------------------------------------ the scan's model


@dataclass(frozen=True)
class ScanModel:
    """What the scan scored with: its matrices, pseudocount, background (A, C, G, T) and p threshold."""

    motifs: tuple[Motif, ...]
    pseudocount: float
    background: np.ndarray
    p_threshold: float
    jaspar_release: str

    def scoring_matrices(self, factor_name: str) -> list[ScoringMatrix]:
        """Every matrix with its score distribution; ``is_factor`` for those named ``factor_name`` (any case)."""
        matrices = []
        for motif in self.motifs:
            table = log_odds(motif.counts, self.pseudocount, self.background)
            matrices.append(ScoringMatrix(motif.id, motif.name, table, ScoreDistribution(table, self.background),
                                          motif.name.casefold() == factor_name.casefold()))
        return matrices


_BACKGROUND = re.compile(r"A=([0-9.]+) C=([0-9.]+) G=([0-9.]+) T=([0-9.]+)")


def scan_model(provenance: Sequence[tuple[str, str]], hits_path: str | os.PathLike,
               motifs: Sequence[Motif] | None = None) -> ScanModel:
    """The scoring model of a scan, from its TSV provenance; ``motifs`` overrides the provenance's motif list (needed
    for motif files, and where the TSV lists only the first 30 IDs)."""
    facts = dict(provenance)
    missing = [k for k in ("jaspar_release", "pseudocount", "background", "p_threshold", "motifs") if k not in facts]
    if missing:
        raise InputFileError(f"{hits_path}: provenance lacks {', '.join(missing)}; is it a motifscan scan TSV?")
    try:
        pseudocount = float(facts["pseudocount"])
        p_threshold = float(facts["p_threshold"])
        found = _BACKGROUND.search(facts["background"])
        if found is None:
            raise ValueError(f"background {facts['background']!r}")
        background = np.array([float(x) for x in found.groups()])
    except ValueError as error:
        raise InputFileError(f"{hits_path}: unreadable provenance ({error})") from None
    background = background / background.sum()
    release = facts["jaspar_release"]
    if motifs is None:
        motifs = _provenance_motifs(facts["motifs"], release, hits_path)
    return ScanModel(tuple(motifs), pseudocount, background, p_threshold, release)


def _provenance_motifs(text: str, release: str, hits_path) -> list[Motif]:
    from motifscan.motifs import jaspar_database

    count, _, ids = text.partition(": ")
    listed = ids.split()
    if listed and listed[-1] == "...":
        raise UsageError(f"{hits_path} lists only the first {len(listed) - 1} of its {count} scanned motifs: give the "
                         "scan's motifs again (--motif, --tf, --motif-file, --collection, --tax-group)")
    database = jaspar_database(release)
    unknown = [m for m in listed if not database.has_id(m)]
    if unknown:
        raise UsageError(f"{hits_path}: motifs {', '.join(unknown)} are not in {release} (from a motif file?): give "
                         "the scan's motifs again (--motif-file, --motif, --tf)")
    return database.by_ids(listed)


# ------------------------------------------------------------------------------------------------ the design


@dataclass(frozen=True)
class SiteDesign:
    """The bench design for one site. ``row``: the site's 1-based data row in the hits TSV. ``chip_matches``: exact
    genome matches of each ChIP primer's 3' end (both strands), None without a local genome. ``notes``: warnings."""

    row: int
    site: Hit
    chip: PrimerPair | None
    chip_matches: tuple[int, int] | None
    mutation: Mutation | None
    mutation_offset: int
    mutagenic: MutagenicPrimers | None
    cloning: CloningPrimers | None
    notes: tuple[str, ...] = ()

    def row_values(self) -> dict[str, str]:
        """The TSV fields, by column name (see :data:`DESIGN_COLUMNS`)."""
        site = self.site
        values = dict.fromkeys(DESIGN_COLUMNS, "")
        values.update(motif_id=site.motif_id, motif_name=site.motif_name, gene_name=site.gene_name,
                      seq_name=site.seq_name, chrom=site.chrom, start=str(site.start), end=str(site.end),
                      strand=site.strand, p_value=f"{site.p_value:.6g}", matched_sequence=site.matched_sequence,
                      notes="; ".join(self.notes))
        if self.chip is not None:
            left, right = self.chip.left, self.chip.right
            values.update(chip_left_primer=left.sequence, chip_right_primer=right.sequence,
                          chip_product_start=str(self.chip.product_start), chip_product_end=str(self.chip.product_end),
                          chip_product_size=str(self.chip.product_end - self.chip.product_start),
                          chip_left_tm=f"{left.tm:.2f}", chip_right_tm=f"{right.tm:.2f}",
                          chip_left_gc=f"{left.gc:.1f}", chip_right_gc=f"{right.gc:.1f}")
            if self.chip_matches is not None:
                values.update(chip_left_3p_matches=str(self.chip_matches[0]),
                              chip_right_3p_matches=str(self.chip_matches[1]))
        if self.mutation is not None:
            values.update(mutant_site=self.mutation.mutant, mutant_changes=self.site_changes(),
                          mutant_genomic_changes=",".join(f"{self.mutation_offset + c.position}{c.ref}>{c.alt}"
                                                          for c in self.mutation.changes),
                          mutant_p_value=f"{self.mutation.site_p:.6g}",
                          mutant_factor_min_p=f"{self.mutation.factor_best.p_value:.6g}",
                          mutant_other_min_p=("" if self.mutation.other_best is None
                                              else f"{self.mutation.other_best.p_value:.6g}"))
        if self.mutagenic is not None:
            forward, reverse = self.mutagenic.forward, self.mutagenic.reverse
            values.update(mut_forward_primer=forward.sequence, mut_reverse_primer=reverse.sequence,
                          mut_forward_tm=f"{forward.tm:.2f}", mut_reverse_tm=f"{reverse.tm:.2f}",
                          mut_quikchange_tm=f"{self.mutagenic.quikchange_tm:.1f}",
                          mut_primer_start=str(forward.start), mut_primer_end=str(forward.end))
        if self.cloning is not None:
            values.update(clone_forward_primer=self.cloning.forward.sequence,
                          clone_reverse_primer=self.cloning.reverse.sequence,
                          clone_forward_tm=f"{self.cloning.forward.tm:.2f}",
                          clone_reverse_tm=f"{self.cloning.reverse.tm:.2f}",
                          clone_insert_start=str(self.cloning.insert_start),
                          clone_insert_end=str(self.cloning.insert_end),
                          clone_enzymes=",".join(self.cloning.enzymes) if self.cloning.enzymes else "")
        return values

    def site_changes(self) -> str:
        """Substitutions as the site reads (5'->3' on its strand): 1-based position in the site, then letters on
        the site's strand, e.g. ``4G>T,7C>A``."""
        if self.mutation is None:
            return ""
        complement = str.maketrans("ACGT", "TGCA")
        parts = []
        for change in self.mutation.changes:
            genomic = self.mutation_offset + change.position
            if self.site.strand == "+":
                parts.append((genomic - self.site.start + 1, change.ref, change.alt))
            else:
                parts.append((self.site.end - genomic, change.ref.translate(complement),
                              change.alt.translate(complement)))
        return ",".join(f"{at}{ref}>{alt}" for at, ref, alt in sorted(parts))


@dataclass(frozen=True)
class DesignResult:
    """Designs for the chosen sites, with the provenance written at the top of the TSV."""

    designs: tuple[SiteDesign, ...]
    provenance: tuple[tuple[str, str], ...] = field(default=())

    def __len__(self) -> int:
        return len(self.designs)

    def __iter__(self):
        return iter(self.designs)

    def __getitem__(self, index: int) -> SiteDesign:
        return self.designs[index]

    def tsv_lines(self) -> list[str]:
        from motifscan.writers import comment_lines

        lines = comment_lines(self.provenance)
        lines.append("\t".join(DESIGN_COLUMNS))
        for design in self.designs:
            values = design.row_values()
            lines.append("\t".join(" ".join(values[c].split()) for c in DESIGN_COLUMNS))
        return lines

    def to_tsv(self, path: str | os.PathLike | None = None) -> str:
        """The TSV text (``#`` provenance, header, one row per site); also written atomically to ``path``."""
        from motifscan.writers import write_lines

        lines = self.tsv_lines()
        if path is not None:
            write_lines(Path(path), lines)
        return "\n".join(lines) + "\n"

    def to_html(self, *, title: str | None = None) -> str:
        """One self-contained HTML page of the design (see :func:`motifscan.report.design_report`)."""
        from motifscan.report import design_report

        return design_report(self, title=title)

    def to_pandas(self):
        """The TSV columns as a pandas DataFrame (all text, as written)."""
        import pandas as pd

        return pd.DataFrame([d.row_values() for d in self.designs], columns=list(DESIGN_COLUMNS))


def choose_sites(hits: HitTable, top: int | None = None, rows: Sequence[int] = ()) -> list[tuple[int, Hit]]:
    """(1-based row, hit) of the sites to design: ``rows`` as given, else the best ``top`` by p (file order breaks
    ties; default 5)."""
    if rows and top is not None:
        raise UsageError("give --top or --row, not both")
    if rows:
        bad = [r for r in rows if not 1 <= r <= len(hits)]
        if bad:
            raise UsageError(f"--row {bad[0]}: the table has {len(hits)} rows (1-based, header not counted)")
        return [(r, hits[r - 1]) for r in dict.fromkeys(rows)]
    top = DEFAULT_TOP if top is None else top
    if top < 1:
        raise UsageError(f"--top must be at least 1, not {top}")
    return [(int(i) + 1, hits[int(i)]) for i in np.argsort(hits.p_value, kind="stable")[:top]]


def design_sites(hits_path: str | os.PathLike, *, top: int | None = None, rows: Sequence[int] = (),
                 genome: str | os.PathLike | None = None, motifs: Sequence[Motif] | None = None,
                 enzymes: Sequence[str] = (), cache_dir: str | os.PathLike | None = None, species: str = "human",
                 assembly: str | None = None, ensembl_url: str | None = None, use_cache: bool = True,
                 offline: bool = False, command: str | None = None) -> DesignResult:
    """Bench designs for sites of a motifscan TSV (see the module docstring).

    ``top``/``rows``: the best N sites by p (default 5), or 1-based data rows. ``genome``: a FASTA (no annotation
    needed), ``"demo"``, or None for Ensembl (then ``species``, ``assembly``, ``ensembl_url``, cache options).
    ``motifs``: the scan's matrices when the TSV cannot name them all. ``enzymes``: candidate restriction enzymes for
    the cloning primers' tails, 5' first (e.g. ``["KpnI", "XhoI"]``).
    """
    from motifscan.writers import read_tsv, records_from_provenance

    chosen_enzymes = restriction_enzymes(list(enzymes)) if enzymes else []
    provenance, hits = read_tsv(Path(hits_path))
    if not hits:
        raise InputFileError(f"{hits_path} holds no sites to design")
    chosen = choose_sites(hits, top, rows)
    model = scan_model(provenance, hits_path, motifs)
    records = records_from_provenance(provenance)
    source = open_sequence_source(genome, cache_dir=cache_dir, species=species, assembly=assembly,
                                  ensembl_url=ensembl_url, use_cache=use_cache, offline=offline)
    try:
        designs = _design_all(chosen, model, records, source, chosen_enzymes)
    finally:
        source.close()
    local = isinstance(source, FastaGenome)
    facts = [
        ("motifscan", __version__), ("design_of", str(hits_path)), ("sequence", source.label),
        ("jaspar_release", model.jaspar_release), ("scan_p_threshold", f"{model.p_threshold:g}"),
        ("primer_conditions", CONDITIONS_TEXT),
        ("chip_primers", "primer3-py: 60-250 bp product holding the site between its primers; primers 17-30 nt, "
                         "Tm 52-68 C by calc_tm, no N; left = + strand at the product start, right = reverse "
                         "complement at its end"),
        ("primer_uniqueness", f"exact matches of each primer's 3'-terminal {THREE_PRIME_BASES} nt on both strands of "
                              f"{source.label}" if local else
                              "not checked: sequence from Ensembl (use --genome FASTA to count 3' end matches)"),
        ("mutation_rule", f"fewest substitutions (at most {MAX_CHANGES}) inside the site such that no window of a "
                          f"scanned matrix of the factor holding a changed base has p < {FACTOR_P:g} (both strands) "
                          f"and no window of any of the {len(model.motifs)} scanned matrices holding a changed base "
                          "reaches the scan's p threshold unless it did before"),
        ("mutant_changes", "1-based position in the site as read 5'->3' on its strand, letters on that strand; "
                           "mutant_genomic_changes: 0-based positions on chrom, + strand letters"),
        ("mutagenic_primers", "QuikChange-style: forward = mutant + strand, every change >= 8 nt from either end, "
                              "within 60 bp of the site; reverse = its reverse complement"),
        ("cloning_primers", "promoter window of the site's record (+-150 bp), in the gene's orientation; tails: "
                            "'cgg' + restriction site, enzymes that do not cut the insert"),
        ("coordinates", "start/end 0-based half-open on chrom's + strand"),
        ("command", command or "python"),
    ]
    return DesignResult(tuple(designs), tuple(facts))


def _design_all(chosen: Sequence[tuple[int, Hit]], model: ScanModel, records: dict[str, Region],
                source: SequenceSource, enzymes: Sequence) -> list[SiteDesign]:
    # first every site's ChIP candidates, then one pass over the genome counting all their 3' ends
    prepared = []
    for row, site in chosen:
        offset = site.start - FLANK
        sequence = source.fetch(site.chrom, offset, site.end + FLANK)
        prepared.append((row, site, offset, sequence, chip_pairs(sequence, offset, site.start, site.end)))
    ends = {three_prime_end(p) for *_, pairs in prepared for pair in pairs for p in (pair.left, pair.right)}
    counts = source.count_matches(ends)
    cloned: dict[tuple[str, int, int], tuple[CloningPrimers | None, str]] = {}
    designs = []
    for row, site, offset, sequence, pairs in prepared:
        notes: list[str] = []
        chip, matches = _pick_chip(pairs, counts, notes)
        mutation, mutagenic = _mutate(site, offset, sequence, model, notes)
        cloning = _clone(site, records, source, enzymes, cloned, notes)
        designs.append(SiteDesign(row, site, chip, matches, mutation, offset, mutagenic, cloning, tuple(notes)))
    return designs


def _pick_chip(pairs: list[PrimerPair], counts: dict[str, int] | None,
               notes: list[str]) -> tuple[PrimerPair | None, tuple[int, int] | None]:
    if not pairs:
        notes.append("no ChIP-qPCR primer pair within the limits (N, repeats or extreme GC near the site)")
        return None, None
    if counts is None:
        notes.append("primer 3' end uniqueness not checked (sequence from Ensembl)")
        return pairs[0], None

    def matches(pair: PrimerPair) -> tuple[int, int]:
        return counts[three_prime_end(pair.left)], counts[three_prime_end(pair.right)]

    unique = [pair for pair in pairs if matches(pair) == (1, 1)]
    pair = unique[0] if unique else pairs[0]
    found = matches(pair)
    if found != (1, 1):
        notes.append(f"repeat: the ChIP primers' 3' ends ({THREE_PRIME_BASES} nt) match the genome "
                     f"{found[0]} and {found[1]} times")
    return pair, found


def _mutate(site: Hit, offset: int, sequence: str, model: ScanModel,
            notes: list[str]) -> tuple[Mutation | None, MutagenicPrimers | None]:
    matrices = model.scoring_matrices(site.motif_name)
    index = next((k for k, m in enumerate(matrices) if m.motif_id == site.motif_id), None)
    if index is None:
        raise UsageError(f"site motif {site.motif_id} is not among the scan's motifs")
    start, end = site.start - offset, site.end - offset
    mutation = destroy_site(sequence, start, end, site.strand, index, matrices, model.p_threshold)
    if mutation is None:
        notes.append(f"no site-destroying mutation of at most {MAX_CHANGES} substitutions inside the site")
        return None, None
    mutant = list(sequence)
    for change in mutation.changes:
        mutant[change.position] = change.alt
    changed = [offset + c.position for c in mutation.changes]
    primers = mutagenic_primers("".join(mutant), offset, changed, site.start, site.end)
    if primers is None:
        notes.append("no mutagenic primers within 60 bp of the site (N nearby)")
    return mutation, primers


def _clone(site: Hit, records: dict[str, Region], source: SequenceSource, enzymes: Sequence,
           cloned: dict[tuple[str, int, int], tuple[CloningPrimers | None, str]],
           notes: list[str]) -> CloningPrimers | None:
    record = records.get(site.seq_name)
    if record is None:
        notes.append(f"no '# record:' line for {site.seq_name} in the TSV: no cloning primers")
        return None
    if len(record) > MAX_CLONING_WINDOW:
        notes.append(f"record {site.seq_name} is {len(record)} bp (> {MAX_CLONING_WINDOW}): no cloning primers")
        return None
    offset = record.start - 200
    sequence = source.fetch(record.chrom, offset, record.end + 200)
    start, end = _sequenced_stretch(sequence, offset, record, site)
    key = (site.seq_name, start, end)
    earlier = cloned.get(key, (None, ""))[0]
    holds_site = earlier is not None and earlier.insert_start < site.start < site.end < earlier.insert_end
    if key not in cloned or (earlier is not None and not holds_site):
        primers, note = cloning_primers(sequence, offset, start, end, record.strand, enzymes, (site.start, site.end))
        if (start, end) != (record.start, record.end):
            note = (f"the window holds N: cloned its N-free stretch {start}-{end} (0-based half-open) holding the "
                    f"site; " + note).rstrip("; ")
        cloned[key] = primers, note
    primers, note = cloned[key]
    if note:
        notes.append(f"cloning: {note}")
    return primers


def _sequenced_stretch(sequence: str, offset: int, record: Region, site: Hit) -> tuple[int, int]:
    """The part of the record's window ``[start, end)`` without N that holds the site (genomic, 0-based)."""
    window = sequence[record.start - offset:record.end - offset].upper()
    if "N" not in window:
        return record.start, record.end
    site_at = site.start - record.start
    left = window.rfind("N", 0, site_at) + 1
    right = window.find("N", site.end - record.start)
    return record.start + left, record.start + (len(window) if right < 0 else right)
