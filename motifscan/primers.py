"""Primers for the bench, with primer3-py: ChIP-qPCR over a site, QuikChange-style mutagenic primers, and cloning
primers for a promoter-reporter construct (optional restriction-site tails chosen with Bio.Restriction).

Conditions: every melting temperature here is primer3's ``calc_tm`` at its default conditions, which the design
also passes to primer3's primer picking so that both agree: 50 mM monovalent cations, 1.5 mM Mg2+, 0.6 mM dNTPs,
50 nM primer, SantaLucia 1998 nearest-neighbour parameters and SantaLucia salt correction (:data:`CONDITIONS`).

Coordinates: every ``start``/``end`` is 0-based half-open on the chromosome's + strand, whatever strand the primer
reads; a primer's ``sequence`` is 5'->3' as ordered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import primer3

from motifscan.encoding import reverse_complement
from motifscan.errors import UsageError

CONDITIONS = {"mv_conc": 50.0, "dv_conc": 1.5, "dntp_conc": 0.6, "dna_conc": 50.0, "tm_method": "santalucia",
              "salt_corrections_method": "santalucia"}
"""primer3's ``calc_tm`` defaults, stated: the conditions of every Tm motifscan reports."""
CONDITIONS_TEXT = ("primer3 calc_tm defaults: 50 mM monovalent, 1.5 mM Mg2+, 0.6 mM dNTP, 50 nM primer, SantaLucia "
                   "1998 nearest-neighbour Tm with SantaLucia salt correction")

PRIMER_SIZE = (17, 30)
PRIMER_TM = (52.0, 68.0)
CHIP_PRODUCT = (60, 250)
THREE_PRIME_BASES = 15
"""The 3' end whose exact genome matches are counted (both strands)."""
MUTAGENIC_REACH = 60
MUTAGENIC_FLANK = 8
MUTAGENIC_LENGTH = (25, 45)
CLONING_SLACK = 150
"""Cloning primers lie within this many bases of the promoter window's ends (inside or outside)."""
TAIL_LEADER = "cgg"
"""Bases 5' of a restriction site, so that the enzyme cuts near the end of the PCR product."""

_PRIMER3_CONDITIONS = {
    "PRIMER_SALT_MONOVALENT": 50.0, "PRIMER_SALT_DIVALENT": 1.5, "PRIMER_DNTP_CONC": 0.6, "PRIMER_DNA_CONC": 50.0,
    "PRIMER_TM_FORMULA": 1, "PRIMER_SALT_CORRECTIONS": 1,
}


def melting_temperature(sequence: str) -> float:
    """Tm (°C) of ``sequence`` against its perfect complement, at :data:`CONDITIONS`."""
    return float(primer3.calc_tm(sequence.upper(), **CONDITIONS))


def gc_percent(sequence: str) -> float:
    """G + C as a percentage of the length."""
    upper = sequence.upper()
    return 100.0 * (upper.count("G") + upper.count("C")) / len(upper) if upper else 0.0


@dataclass(frozen=True)
class Primer:
    """One primer: ``sequence`` 5'->3' (tails, if any, in lowercase); ``start``/``end`` the genomic span its
    template-binding part matches (0-based half-open, + strand coordinates); ``strand`` the strand it reads; ``tm``
    and ``gc`` of the template-binding part."""

    sequence: str
    start: int
    end: int
    strand: str
    tm: float
    gc: float

    @property
    def binding(self) -> str:
        """The template-binding part (the uppercase letters: tails are lowercase)."""
        return "".join(c for c in self.sequence if c.isupper())


def _primer(sequence: str, start: int, end: int, strand: str) -> Primer:
    return Primer(sequence, start, end, strand, melting_temperature(sequence), gc_percent(sequence))


def _acceptable(primer: Primer) -> bool:
    """Length, Tm (recomputed with calc_tm) and letters within the design's limits."""
    return (PRIMER_SIZE[0] <= len(primer.sequence) <= PRIMER_SIZE[1] and PRIMER_TM[0] <= primer.tm <= PRIMER_TM[1]
            and set(primer.sequence.upper()) <= set("ACGT"))


@dataclass(frozen=True)
class PrimerPair:
    """A PCR primer pair: ``left`` reads the + strand from the product's start, ``right`` is the reverse complement
    at its end; the product is ``[product_start, product_end)`` (0-based half-open)."""

    left: Primer
    right: Primer

    @property
    def product_start(self) -> int:
        return self.left.start

    @property
    def product_end(self) -> int:
        return self.right.end


def pick_pairs(template: str, offset: int, *, product: tuple[int, int], target: tuple[int, int] | None = None,
               ok_regions: tuple[int, int, int, int] | None = None, n: int = 5) -> list[PrimerPair]:
    """Primer pairs from primer3 for ``template`` (the + strand starting at genomic ``offset``), best first, each
    checked again here (length 17-30, calc_tm 52-68 °C, no N).

    ``target``: (start, length) in template coordinates that the product must hold between its primers.
    ``ok_regions``: (left start, left length, right start, right length) where the primers may lie.
    """
    sequence_args: dict = {"SEQUENCE_ID": "site", "SEQUENCE_TEMPLATE": template.upper()}
    if target is not None:
        sequence_args["SEQUENCE_TARGET"] = list(target)
    if ok_regions is not None:
        sequence_args["SEQUENCE_PRIMER_PAIR_OK_REGION_LIST"] = [list(ok_regions)]
    global_args = {
        "PRIMER_TASK": "generic", "PRIMER_PICK_LEFT_PRIMER": 1, "PRIMER_PICK_RIGHT_PRIMER": 1,
        "PRIMER_PICK_INTERNAL_OLIGO": 0, "PRIMER_NUM_RETURN": n,
        "PRIMER_MIN_SIZE": PRIMER_SIZE[0], "PRIMER_OPT_SIZE": 20, "PRIMER_MAX_SIZE": PRIMER_SIZE[1],
        "PRIMER_MIN_TM": PRIMER_TM[0], "PRIMER_OPT_TM": 60.0, "PRIMER_MAX_TM": PRIMER_TM[1],
        "PRIMER_MIN_GC": 30.0, "PRIMER_MAX_GC": 70.0, "PRIMER_MAX_NS_ACCEPTED": 0,
        "PRIMER_PRODUCT_SIZE_RANGE": [list(product)], **_PRIMER3_CONDITIONS,
    }
    answer = primer3.design_primers(sequence_args, global_args)
    pairs = []
    for i in range(int(answer.get("PRIMER_PAIR_NUM_RETURNED", 0))):
        left_at, left_length = answer[f"PRIMER_LEFT_{i}"]
        right_end, right_length = answer[f"PRIMER_RIGHT_{i}"]  # primer3 gives the right primer's 5' (last) base
        left = _primer(answer[f"PRIMER_LEFT_{i}_SEQUENCE"], offset + left_at, offset + left_at + left_length, "+")
        right = _primer(answer[f"PRIMER_RIGHT_{i}_SEQUENCE"], offset + right_end - right_length + 1,
                        offset + right_end + 1, "-")
        if _acceptable(left) and _acceptable(right):
            pairs.append(PrimerPair(left, right))
    return pairs


def chip_pairs(sequence: str, offset: int, site_start: int, site_end: int) -> list[PrimerPair]:
    """ChIP-qPCR primer pairs whose 60-250 bp product holds the site ``[site_start, site_end)`` (genomic, 0-based
    half-open) between the primers; ``sequence`` is the + strand from genomic ``offset``."""
    return pick_pairs(sequence, offset, product=CHIP_PRODUCT, target=(site_start - offset, site_end - site_start))


def three_prime_end(primer: Primer) -> str:
    """The last :data:`THREE_PRIME_BASES` bases of the primer's template-binding part, 5'->3'."""
    return primer.binding.upper()[-THREE_PRIME_BASES:]


# ------------------------------------------------------------------------------------------------ mutagenesis


def quikchange_tm(sequence: str, mismatches: int) -> float:
    """Agilent's QuikChange formula, °C: 81.5 + 0.41 x %GC - 675 / N - 100 x mismatches / N (its guideline: >= 78)."""
    n = len(sequence)
    return 81.5 + 0.41 * gc_percent(sequence) - 675.0 / n - 100.0 * mismatches / n


@dataclass(frozen=True)
class MutagenicPrimers:
    """QuikChange-style primers carrying a mutation: ``forward`` reads the mutant's + strand, every change at least
    :data:`MUTAGENIC_FLANK` bases from either end; ``reverse`` is its reverse complement (other strand, overlapping
    it over its whole length). ``quikchange_tm``: Agilent's formula with the mismatches counted."""

    forward: Primer
    reverse: Primer
    quikchange_tm: float


def mutagenic_primers(mutant: str, offset: int, changed: Sequence[int], site_start: int,
                      site_end: int) -> MutagenicPrimers | None:
    """QuikChange-style primers for a mutant sequence.

    ``mutant``: + strand from genomic ``offset`` with the changes applied; ``changed``: genomic 0-based positions
    of the substitutions; the primers lie within :data:`MUTAGENIC_REACH` bases of the site
    ``[site_start, site_end)``. Among spans of 25-45 bases (longer only when the changes alone need it), the choice
    prefers a QuikChange Tm >= 78 °C, a G or C 3' end, the changes centred, then the shortest. None if no span
    fits (chromosome end, N).
    """
    first, last = min(changed), max(changed) + 1
    lowest = max(offset, site_start - MUTAGENIC_REACH)
    highest = min(offset + len(mutant), site_end + MUTAGENIC_REACH)
    longest = max(MUTAGENIC_LENGTH[1], last - first + 2 * MUTAGENIC_FLANK)
    best_key, best = None, None
    for start in range(lowest, first - MUTAGENIC_FLANK + 1):
        for end in range(max(last + MUTAGENIC_FLANK, start + MUTAGENIC_LENGTH[0]),
                         min(highest, start + longest) + 1):
            text = mutant[start - offset:end - offset].upper()
            if set(text) - set("ACGT"):
                continue
            qc = quikchange_tm(text, len(changed))
            key = (qc < 78.0, text[-1] not in "GC", abs((first - start) - (end - last)), end - start)
            if best_key is None or key < best_key:
                best_key, best = key, (start, end, text, qc)
    if best is None:
        return None
    start, end, text, qc = best
    return MutagenicPrimers(_primer(text, start, end, "+"), _primer(reverse_complement(text), start, end, "-"), qc)


# ------------------------------------------------------------------------------------------------ cloning


def restriction_enzymes(names: Sequence[str]) -> list:
    """Bio.Restriction enzymes by name (case as REBASE spells it, e.g. KpnI); UsageError naming ``--enzymes`` for an
    unknown name or an ambiguous recognition site."""
    from Bio import Restriction

    every = Restriction.AllEnzymes  # type: ignore[attr-defined]  # made at import time, unknown to stubs
    enzymes = []
    for name in names:
        enzyme = every.get(name.strip()) if name.strip() in every else None
        if enzyme is None:
            raise UsageError(f"--enzymes: unknown restriction enzyme {name!r} (names as REBASE spells them, "
                             "e.g. KpnI,XhoI)")
        if set(str(enzyme.site)) - set("ACGT"):
            raise UsageError(f"--enzymes: {name} recognises the ambiguous site {enzyme.site}; choose an enzyme with "
                             "a fixed site")
        enzymes.append(enzyme)
    if len(enzymes) == 1:
        raise UsageError("--enzymes: give two enzymes or more (5' first, in the vector's order), e.g. KpnI,XhoI")
    return enzymes


def cutters(enzymes: Sequence, insert: str) -> dict[str, list[int]]:
    """Each enzyme that cuts the linear ``insert`` -> its cut positions (Bio.Restriction, 1-based as it reports)."""
    from Bio.Seq import Seq

    found = {}
    for enzyme in enzymes:
        sites = enzyme.search(Seq(insert.upper()), linear=True)
        if sites:
            found[str(enzyme)] = list(sites)
    return found


def choose_enzymes(enzymes: Sequence, insert: str) -> tuple[object, object] | None:
    """The first pair (in the order given: 5' enzyme before 3' enzyme) of which neither cuts the insert."""
    cutting = cutters(enzymes, insert)
    usable = [e for e in enzymes if str(e) not in cutting]
    return (usable[0], usable[1]) if len(usable) >= 2 else None


@dataclass(frozen=True)
class CloningPrimers:
    """Primers amplifying a promoter window for a reporter vector, in the gene's orientation: ``forward`` anneals at
    the upstream end and reads toward the TSS, ``reverse`` at the downstream end. The insert (the PCR product without
    tails) is ``[insert_start, insert_end)``. ``enzymes``: (5' enzyme, 3' enzyme) whose sites are the tails, or None.
    """

    forward: Primer
    reverse: Primer
    insert_start: int
    insert_end: int
    enzymes: tuple[str, str] | None


def cloning_primers(sequence: str, offset: int, window_start: int, window_end: int, gene_strand: str,
                    enzymes: Sequence = (), site: tuple[int, int] | None = None) -> tuple[CloningPrimers | None, str]:
    """Cloning primers for the promoter window ``[window_start, window_end)`` (genomic, 0-based half-open), each
    within :data:`CLONING_SLACK` bases of a window end, the insert holding ``site`` (genomic start, end) between
    them when given; ``sequence`` is the + strand from genomic ``offset``.

    Returns (primers or None, a note: which enzymes cut the insert, or why none were found).
    """
    slack = CLONING_SLACK
    length = len(sequence)
    left_from = max(0, window_start - slack - offset)
    right_to = min(length, window_end + slack - offset)
    left_span = min(2 * slack, length - left_from)
    right_from = max(left_from, right_to - 2 * slack)
    size = window_end - window_start
    product = (max(PRIMER_SIZE[0] * 2, size - 2 * slack), size + 2 * slack)
    target = None if site is None else (site[0] - offset, site[1] - site[0])
    pairs = pick_pairs(sequence, offset, product=product, target=target,
                       ok_regions=(left_from, left_span, right_from, right_to - right_from), n=5)
    if not pairs:
        return None, "no cloning primers within 150 bp of the window's ends (N, repeats or extreme GC)"
    pair = pairs[0]
    if enzymes:  # primer3's best pair whose insert two of the enzymes leave uncut (a primer may sit on a site)
        pair = next((p for p in pairs if choose_enzymes(enzymes, sequence[p.product_start - offset:
                                                                          p.product_end - offset])), pairs[0])
    insert = sequence[pair.product_start - offset:pair.product_end - offset]
    note = ""
    if set(insert.upper()) - set("ACGT"):
        note = f"the insert holds {sum(c not in 'ACGTacgt' for c in insert)} N; "
    chosen = None
    if enzymes:
        chosen = choose_enzymes(enzymes, insert)
        cutting = cutters(enzymes, insert)
        if cutting:
            note += "cut inside the insert: " + ", ".join(f"{e} at {','.join(map(str, s))}" for e, s in cutting.items())
            note += "; "
        if chosen is None:
            note += "no two of the enzymes given leave the insert uncut: primers without tails; "
    upstream, downstream = (pair.left, pair.right) if gene_strand == "+" else (pair.right, pair.left)
    if chosen is not None:
        upstream = _tailed(upstream, chosen[0])
        downstream = _tailed(downstream, chosen[1])
    names = (str(chosen[0]), str(chosen[1])) if chosen is not None else None
    return CloningPrimers(upstream, downstream, pair.product_start, pair.product_end, names), note.rstrip("; ")


def _tailed(primer: Primer, enzyme) -> Primer:
    """The primer with a lowercase 5' tail: :data:`TAIL_LEADER` + the enzyme's site; Tm and GC stay those of the
    template-binding part (what anneals in the first cycles)."""
    tail = TAIL_LEADER + str(enzyme.site).lower()
    return Primer(tail + primer.sequence, primer.start, primer.end, primer.strand, primer.tm, primer.gc)
