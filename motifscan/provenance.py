"""The provenance of a scan as a typed record, and its ``# key: value`` text form (one place writes and reads it).

A :class:`Provenance` travels on every :class:`~motifscan.api.ScanResult`; the writers put :meth:`Provenance.lines`
at the top (TSV, BED, GFF3) or the end (FIMO) of every file, and :meth:`Provenance.from_lines` reads a file's lines
back (``motifscan plot``), so that no other module parses provenance text. Iterating a Provenance gives its
``(key, value)`` pairs, so ``dict(result.provenance)`` works.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields

from motifscan.options import PromoterOptions, ScanOptions

Q_VALUE_NOTE = ("Benjamini-Hochberg per motif over all windows scored on both strands; no correction across motifs")
COORDINATES_NOTE = "start/end 0-based half-open; strand relative to chrom"
TSS_REL_NOTE = "tss_rel_start/tss_rel_end: +1 = TSS base, -1 = base upstream, no 0, gene orientation"

_WINDOW = re.compile(r"^(\d+) bp upstream, (\d+) bp downstream of the TSS .*?transcripts=(\w+)"
                     r"(?: biotypes=(\S+))?$")
_MOTIFS_SHOWN = 30


@dataclass(frozen=True)
class Provenance:
    """What a scan was run on and how.

    ``version``: motifscan's; ``jaspar_release``: the exact bundled release; ``motif_ids``: every motif scanned, in
    order (the text form lists the first 30); ``options``: the scoring options; ``background``: the letter
    probabilities used (A, C, G, T; estimated for ``background="auto"``); ``command``: the command line (or
    ``"python"``). FASTA scans: ``input``, the FASTA path (None for records given in memory). Gene scans:
    ``source`` (the gene source's facts, ``source_*`` keys), ``genes`` (the queries) and ``promoters`` (the window
    options). Genome scans: ``input`` and ``regions`` (the BED of regions scanned, or None). ``extra``: lines read
    from a file that are none of these (kept in order, written after the rest).
    """

    version: str
    jaspar_release: str
    motif_ids: tuple[str, ...]
    options: ScanOptions | None
    background: tuple[float, ...] = ()
    command: str = "python"
    input: str | None = None
    regions: str | None = None
    source: tuple[tuple[str, str], ...] = ()
    genes: tuple[str, ...] = ()
    promoters: PromoterOptions | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())
    n_motifs: int | None = None  # when read from a file that listed only the first motifs

    def lines(self) -> list[tuple[str, str]]:
        """The ``(key, value)`` pairs in file order."""
        n = self.n_motifs if self.n_motifs is not None else len(self.motif_ids)
        shown = " ".join(self.motif_ids[:_MOTIFS_SHOWN]) + (" ..." if n > _MOTIFS_SHOWN else "")
        out = [("motifscan", self.version), ("jaspar_release", self.jaspar_release)]
        if self.input is not None:
            out.append(("input", self.input))
        if self.regions is not None:
            out.append(("regions", self.regions))
        out += list(self.source)
        if self.promoters is not None:
            p = self.promoters
            out += [("genes", " ".join(self.genes)),
                    ("promoter_window", f"{p.upstream} bp upstream, {p.downstream} bp downstream of the TSS (TSS base "
                                        f"included downstream); transcripts={p.transcripts}"
                                        + (f" biotypes={','.join(p.biotypes)}" if p.biotypes else "")),
                    ("tss_rel", TSS_REL_NOTE)]
        out.append(("motifs", f"{n}: {shown}"))
        if self.options is not None:
            out += self.options.provenance(self.background or None)
        out += [("q_value", Q_VALUE_NOTE), ("coordinates", COORDINATES_NOTE), ("command", self.command)]
        return out + list(self.extra)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.lines())

    @property
    def promoter_window(self) -> tuple[int, int] | None:
        """(upstream, downstream) of a gene scan, else None."""
        return None if self.promoters is None else (self.promoters.upstream, self.promoters.downstream)

    @classmethod
    def from_lines(cls, pairs: Sequence[tuple[str, str]]) -> Provenance:
        """The record of ``(key, value)`` pairs read from a file (``record`` lines excluded: they are the scanned
        records, read by :func:`motifscan.writers.records_from_provenance`). What cannot be read back as a typed
        field stays in ``extra``; options that do not parse are left out (``options`` None)."""
        facts = {k: v for k, v in pairs}
        known = {"motifscan", "jaspar_release", "input", "regions", "genes", "promoter_window", "tss_rel", "motifs",
                 "q_value", "coordinates", "command", "record"}
        known |= {f.metadata["provenance"] for f in fields(ScanOptions) if f.metadata.get("provenance")}
        promoters = None
        match = _WINDOW.match(facts.get("promoter_window", ""))
        if match:
            upstream, downstream, transcripts, biotypes = match.groups()
            promoters = PromoterOptions(int(upstream), int(downstream), transcripts,
                                        tuple(biotypes.split(",")) if biotypes else ())
        count, _, listed = facts.get("motifs", "0: ").partition(": ")
        motif_ids = tuple(m for m in listed.split() if m != "...")
        options, background = _options_from(facts)
        return cls(
            version=facts.get("motifscan", ""), jaspar_release=facts.get("jaspar_release", ""), motif_ids=motif_ids,
            options=options, background=background, command=facts.get("command", ""), input=facts.get("input"),
            regions=facts.get("regions"),
            source=tuple((k, v) for k, v in pairs if k.startswith("source")),
            genes=tuple(facts.get("genes", "").split()), promoters=promoters,
            extra=tuple((k, v) for k, v in pairs if k not in known and not k.startswith("source")),
            n_motifs=int(count) if count.isdigit() else None)


def _options_from(facts: dict[str, str]) -> tuple[ScanOptions | None, tuple[float, ...]]:
    def number(key: str) -> float | None:
        value = facts.get(key, "none")
        return None if value == "none" else float(value)

    try:
        words = facts.get("background", "uniform").split()
        background = tuple(float(w.split("=")[1]) for w in words[1:5])
        options = ScanOptions(pseudocount=float(facts.get("pseudocount", "0.8")), background=words[0],
                              p_threshold=float(facts.get("p_threshold", "1e-4")), q_threshold=number("q_threshold"),
                              min_rel_score=number("min_rel_score"),
                              mask_lowercase=facts.get("mask_lowercase") == "true",
                              max_strand=facts.get("max_strand") == "true")
    except (ValueError, IndexError):
        return None, ()
    return options, background


def command_line(command: str | None) -> str:
    """The provenance's command: the one given, else this process's arguments (``"python"`` when there are none)."""
    return command if command is not None else " ".join(sys.argv) or "python"
