"""Variants in: VCF/BCF files (through pysam), ``CHROM:POS:REF:ALT`` strings, and the edit each allele makes.

Flow: a VCF record (1-based POS, REF, one or more ALTs) -> one :class:`Variant` per ALT (multi-allelic records are
split) -> :func:`classify` (symbolic and structural alleles, over-long edits and non-ACGT letters are skipped and
counted) -> :func:`edit_of` (the shared bases trimmed: 0-based start, the deleted and the inserted bases).

Coordinates: ``Variant.pos`` is 1-based, exactly as in the VCF; everything derived from it (:class:`Edit`) is 0-based,
converted here and nowhere else. Chromosome names stay as the input gives them; :func:`chrom_map` reconciles them with
the genome's (``chr6`` and ``6``).

pysam (htslib) reads the files: VCF and BCF, plain or bgzipped, with tabix (.tbi) or CSI (.csi) indexes; with an
index, promoter windows are fetched by region instead of reading the whole file.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from motifscan.errors import InputFileError, UsageError

MAX_EDIT_BP = 50
"""Longest edit scored: max(bases deleted, bases inserted) after trimming the shared bases (SNVs, MNVs, indels)."""

SKIP_REASONS = {
    "symbolic": "symbolic or structural allele (<DEL>, <INS>, breakend, *)",
    "no_alt": "no alternate allele ('.')",
    "long": f"edit longer than {MAX_EDIT_BP} bp",
    "letters": "allele letters other than A, C, G, T",
    "same": "ALT equal to REF",
    "outside": "outside the promoter windows (or REF crossing a window's edge)",
    "unknown_chrom": "on a chromosome the genome lacks",
}
"""Why a variant is not scored (keys are the counters' names, values what the warning says)."""

_SPEC = re.compile(r"^(?P<chrom>[^:\s]+):(?P<pos>[0-9]+):(?P<ref>[A-Za-z]+):(?P<alt>[A-Za-z]+)$")
_RSID = re.compile(r"^rs[0-9]+$")
_ACGT = re.compile(r"^[ACGTacgt]+$")
_ID_TEXT = re.compile(r"^[\x21-\x7e]+$")  # VCF IDs: printable, no white space (checked: they reach the TSV)


@dataclass(frozen=True)
class Variant:
    """One alternate allele at one place, as in a VCF line (multi-allelic records give one Variant per ALT).

    ``chrom``: the input's chromosome name. ``pos``: 1-based POS of REF's first base (VCF). ``ref``/``alt``: the
    alleles as written (upper case). ``id``: the VCF ID or rsID ("" when ``.``).
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = ""

    @property
    def variant_id(self) -> str:
        """The ID to report: the VCF ID (or rsID), else ``CHROM:POS:REF:ALT``."""
        return self.id or f"{self.chrom}:{self.pos}:{self.ref}:{self.alt}"

    @property
    def ref_start(self) -> int:
        """0-based start of REF on the chromosome."""
        return self.pos - 1

    @property
    def ref_end(self) -> int:
        """0-based end (exclusive) of REF on the chromosome."""
        return self.pos - 1 + len(self.ref)


@dataclass(frozen=True)
class Edit:
    """What an allele does to the reference, with the bases REF and ALT share trimmed (suffix first, then prefix).

    ``start``: 0-based position of the first deleted base, or, for an insertion, of the base after the insertion
    point. ``deleted``: reference bases ``[start, start + len(deleted))`` removed; ``inserted``: bases put in their
    place. A substitution (SNV, MNV) has both of equal length; a deletion has ``inserted == ""``; an insertion has
    ``deleted == ""``; a complex indel has both, of different lengths.
    """

    start: int
    deleted: str
    inserted: str

    @property
    def kind(self) -> str:
        """``"substitution"``, ``"deletion"``, ``"insertion"`` or ``"complex"``."""
        if len(self.deleted) == len(self.inserted):
            return "substitution"
        if not self.inserted:
            return "deletion"
        if not self.deleted:
            return "insertion"
        return "complex"


def edit_of(variant: Variant) -> Edit:
    """The trimmed edit of a variant (its alleles must be A/C/G/T and differ: see :func:`classify`)."""
    ref, alt = variant.ref.upper(), variant.alt.upper()
    suffix = 0
    while suffix < min(len(ref), len(alt)) and ref[-1 - suffix] == alt[-1 - suffix]:
        suffix += 1
    ref, alt = ref[: len(ref) - suffix], alt[: len(alt) - suffix]
    prefix = 0
    while prefix < min(len(ref), len(alt)) and ref[prefix] == alt[prefix]:
        prefix += 1
    return Edit(variant.ref_start + prefix, ref[prefix:], alt[prefix:])


def classify(ref: str, alt: str | None) -> str | None:
    """Why an allele pair is not scored (a key of :data:`SKIP_REASONS`), or None when it is scored."""
    if alt is None or alt in ("", "."):
        return "no_alt"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt == "*" or ref.startswith("<"):
        return "symbolic"
    if not _ACGT.match(ref) or not _ACGT.match(alt):
        return "letters"
    if ref.upper() == alt.upper():
        return "same"
    edit = edit_of(Variant("", 1, ref, alt))
    if max(len(edit.deleted), len(edit.inserted)) > MAX_EDIT_BP:
        return "long"
    return None


def parse_variant_spec(text: str) -> Variant:
    """A ``--variant`` value: ``CHROM:POS:REF:ALT`` with 1-based POS (as in VCF); UsageError otherwise."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise UsageError(f"--variant {text!r}: give CHROM:POS:REF:ALT (1-based POS, as in VCF), e.g. 6:1610500:G:A, "
                         "or an rsID such as rs123")
    pos = int(match["pos"])
    if pos < 1:
        raise UsageError(f"--variant {text!r}: POS is 1-based and must be at least 1")
    return Variant(match["chrom"], pos, match["ref"].upper(), match["alt"].upper())


def is_rsid(text: str) -> bool:
    """Whether a ``--variant`` value is a dbSNP rsID (``rs`` and digits)."""
    return bool(_RSID.match(text.strip()))


def chrom_map(names: Iterable[str], genome_chroms: Collection[str]) -> dict[str, str]:
    """Each input chromosome name -> the genome's name for it (``chr6`` <-> ``6``, ``chrM`` <-> ``MT``); names the
    genome lacks are left out."""
    from motifscan.sources.local import reconcile_chromosomes

    return reconcile_chromosomes(names, genome_chroms)


@dataclass
class SkipCounts:
    """Variants not scored, by reason (keys of :data:`SKIP_REASONS`, plus what the caller adds)."""

    counts: Counter

    def __init__(self) -> None:
        self.counts = Counter()

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[reason] += n

    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        """E.g. ``"3 symbolic or structural allele (<DEL>, ...); 1 edit longer than 50 bp"``."""
        return "; ".join(f"{n} {SKIP_REASONS.get(k, k)}" for k, n in sorted(self.counts.items()) if n)


# --------------------------------------------------------------------------------------------------------------------
# VCF / BCF through pysam


class VcfReader:
    """A VCF or BCF file (plain or bgzipped; tabix or CSI index optional) read through pysam.

    Iterating (:meth:`records`) yields one :class:`Variant` per ALT; records whose alleles cannot be scored are counted
    in :attr:`skipped` instead. :meth:`fetch` reads one region through the index.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        import pysam

        self.path = Path(path)
        if not self.path.is_file():
            raise UsageError(f"VCF {path}: no such file")
        pysam.set_verbosity(0)  # htslib's own warnings would reach stderr unformatted; errors are raised instead
        try:
            self._file = pysam.VariantFile(str(self.path))
        except (OSError, ValueError) as error:
            raise InputFileError(f"VCF {path}: cannot read it as VCF or BCF ({error})") from None
        self.skipped = SkipCounts()
        self.records_read = 0

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> VcfReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def indexed(self) -> bool:
        """Whether a tabix/CSI index was found (promoter windows are then fetched, not streamed)."""
        return self._file.index is not None

    @property
    def contigs(self) -> list[str]:
        """Chromosome names the header or the index knows."""
        names = [str(n) for n in self._file.header.contigs]
        if self._file.index is not None:
            names += [str(n) for n in self._file.index if str(n) not in names]
        return names

    def records(self) -> Iterator[Variant]:
        """Every record of the file in file order, split by ALT."""
        return self._split(self._iterate(None))

    def fetch(self, chrom: str, start: int, end: int) -> Iterator[Variant]:
        """Records overlapping ``[start, end)`` (0-based half-open) of ``chrom`` (the file's name), through the
        index."""
        if chrom not in self.contigs:
            return iter(())
        return self._split(self._iterate((chrom, start, end)))

    def _iterate(self, region: tuple[str, int, int] | None) -> Iterator:
        try:
            iterator = self._file.fetch(*region) if region is not None else iter(self._file)
            yield from iterator
        except (OSError, ValueError) as error:
            where = f" in {region[0]}:{region[1] + 1}-{region[2]}" if region else ""
            raise InputFileError(f"VCF {self.path}: malformed or truncated{where} ({error})") from None

    def _split(self, records: Iterable) -> Iterator[Variant]:
        for record in records:
            self.records_read += 1
            record_id = record.id or ""
            if record_id and not _ID_TEXT.match(record_id):
                raise InputFileError(f"VCF {self.path}: the ID of {record.chrom}:{record.pos} holds white space or "
                                     "control characters")
            ref = record.ref or ""
            alts = record.alts or (None,)
            for alt in alts:
                reason = classify(ref, alt)
                if reason is not None or alt is None:
                    self.skipped.add(reason or "no_alt")
                    continue
                yield Variant(record.chrom, int(record.pos), ref.upper(), alt.upper(), record_id)
