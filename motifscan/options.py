"""Every user-facing option of a scan, declared once: name, default, check, command-line flag and help.

Three frozen dataclasses hold them: :class:`ScanOptions` (scoring and thresholds: every scan), :class:`PromoterOptions`
(promoter windows of gene scans) and :class:`GenomeSpec` (where genes and sequence come from).
Everything else is derived from their fields:

- the API: :func:`motifscan.api.scan_fasta` and :func:`motifscan.api.scan_genes` take the fields as ``**options``
  keywords (checked by :func:`split_options`: an unknown keyword is a UsageError naming it);
- the command line: ``cli.py`` turns each field's :class:`Flag` metadata into a click option (:func:`flag_of`), so a
  new command (enrich, variants, genome, design) reuses them by naming the dataclass;
- the provenance: :meth:`ScanOptions.provenance` writes each field marked for it;
- errors: a bad value raises :class:`OptionValueError` naming the API parameter (``p_threshold must be in (0, 1],
  not 2``); the CLI rewrites the name to the flag (``--pvalue must be in (0, 1], not 2``).

No click here: the flags are plain data, so the library does not import the command-line layer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from motifscan.errors import UsageError

DEFAULT_PSEUDOCOUNT = 0.8
"""Total pseudocount per matrix column (spread by the background), the one default everywhere."""


@dataclass(frozen=True)
class Flag:
    """How an option appears on the command line: ``flags`` (e.g. ``("--jobs", "-j")``), help text, and click
    settings as plain values: ``kind`` ("float", "int", "str", "flag", "choice", "path"), ``choices``, ``minimum``
    (for ints), ``metavar``, ``multiple``, ``show_default``, ``envvar``; ``inverted``: a flag that sets the field to
    False (``--no-cache`` for ``use_cache``)."""

    flags: tuple[str, ...]
    help: str
    kind: str = "str"
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    metavar: str | None = None
    multiple: bool = False
    show_default: bool = False
    envvar: str | None = None
    inverted: bool = False


def option(default: Any, *flags: str, help: str, provenance: str | None = None, **click: Any) -> Any:
    """A dataclass field with its command-line :class:`Flag` and, when ``provenance`` names a key, a provenance
    line."""
    return field(default=default, metadata={"flag": Flag(tuple(flags), help, **click), "provenance": provenance})


def flag_of(dataclass_type: type, name: str) -> Flag:
    """The :class:`Flag` of field ``name`` of one of the options dataclasses."""
    return next(f.metadata["flag"] for f in fields(dataclass_type) if f.name == name)


def flag_name(dataclass_type: type, name: str) -> str:
    """The field's long command-line flag, e.g. ``"--pvalue"`` for ``p_threshold``."""
    return next(f for f in flag_of(dataclass_type, name).flags if f.startswith("--"))


class OptionValueError(UsageError):
    """A bad option value. ``option``: the API parameter's name; ``problem``: what is wrong, without the name (e.g.
    ``"must be in (0, 1], not 2"``). The message is ``"{option} {problem}"``; the CLI names the flag instead."""

    def __init__(self, option: str, problem: str) -> None:
        self.option, self.problem = option, problem
        super().__init__(f"{option} {problem}")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise OptionValueError(name, f"must be a number, not {value!r}")
    return float(value)


def _fraction(name: str, value: Any, low_open: bool) -> None:
    number = _number(name, value)
    inside = (0 < number <= 1) if low_open else (0 <= number <= 1)
    if not inside:
        raise OptionValueError(name, f"must be in {'(0, 1]' if low_open else '[0, 1]'}, not {value:g}")


@dataclass(frozen=True)
class ScanOptions:
    """Scoring model and thresholds of a scan (fields in provenance order).

    ``pseudocount``: total per matrix column, spread by the background. ``background``: ``"uniform"``, ``"auto"``
    (estimated from the scanned sequences, strand-symmetric; with ``mask_lowercase`` lowercase letters are left out
    of the estimate too) or ``"A,C,G,T"`` numbers. ``p_threshold``: report windows with p <= this. ``q_threshold``:
    also require the BH q-value <= this (None: no filter). ``min_rel_score``: also require rel_score >= this (None:
    no filter). ``mask_lowercase``: do not score windows holding soft-masked (lowercase) letters. ``max_strand``: of
    a site found on both strands keep only the better-scoring strand (ties: +). ``jobs``: scanner threads (None: all
    cores); results do not depend on it.
    """

    pseudocount: float = option(DEFAULT_PSEUDOCOUNT, "--pseudocount", kind="float", show_default=True,
                                provenance="pseudocount",
                                help="Total pseudocount per matrix column, spread by the background.")
    background: str = option("uniform", "--background", show_default=True, metavar="uniform|auto|A,C,G,T",
                             provenance="background",
                             help="0-order background; 'auto' estimates it from the scanned sequences (with "
                                  "--mask-lowercase, from their uppercase letters only).")
    p_threshold: float = option(1e-4, "--pvalue", kind="float", show_default=True, provenance="p_threshold",
                                help="Report windows with p-value <= this.")
    q_threshold: float | None = option(None, "--qvalue", kind="float", provenance="q_threshold",
                                       help="Also require the BH q-value (per motif) <= this.")
    min_rel_score: float | None = option(None, "--min-rel-score", kind="float", provenance="min_rel_score",
                                         help="Also require the relative score (score - min) / (max - min) >= this, "
                                              "e.g. 0.8.")
    mask_lowercase: bool = option(False, "--mask-lowercase", kind="flag", provenance="mask_lowercase",
                                  help="Do not score windows with soft-masked (lowercase) letters, and leave "
                                       "lowercase letters out of --background auto.")
    max_strand: bool = option(False, "--max-strand", kind="flag", provenance="max_strand",
                              help="Of a site found on both strands, keep only the better one (ties: +).")
    jobs: int | None = option(None, "--jobs", "-j", kind="int", minimum=1, metavar="N",
                              help="Worker threads for scanning [default: all cores].")

    def __post_init__(self) -> None:
        _fraction("p_threshold", self.p_threshold, low_open=True)
        if self.q_threshold is not None:
            _fraction("q_threshold", self.q_threshold, low_open=True)
        if self.min_rel_score is not None:
            _fraction("min_rel_score", self.min_rel_score, low_open=False)
        pseudocount = _number("pseudocount", self.pseudocount)
        if not (pseudocount > 0 and math.isfinite(pseudocount)):
            raise OptionValueError("pseudocount", f"must be a positive number, not {self.pseudocount:g}")
        if self.jobs is not None and (isinstance(self.jobs, bool) or not isinstance(self.jobs, Integral)
                                      or self.jobs < 1):
            raise OptionValueError("jobs", f"must be a positive whole number, not {self.jobs!r}")
        from motifscan.background import is_auto, parse_background

        try:
            if not isinstance(self.background, str):
                raise UsageError("not a string")
            if not is_auto(self.background):
                parse_background(self.background)  # fail early on a bad background
        except UsageError:
            raise OptionValueError("background", "must be 'uniform', 'auto' or four positive numbers A,C,G,T, "
                                                 f"not {self.background!r}") from None

    def provenance(self, background: Sequence[float] | None = None) -> list[tuple[str, str]]:
        """The provenance lines of the options marked for it; ``background``: the letter probabilities used (4,),
        written after the background's name."""
        lines = []
        for f in fields(self):
            key = f.metadata.get("provenance")
            if key is None:
                continue
            value = getattr(self, f.name)
            text = ("none" if value is None else str(value).lower() if isinstance(value, bool)
                    else f"{value:g}" if isinstance(value, Real) else str(value))
            if f.name == "background" and background is not None:
                b = background
                text += f" A={b[0]:.4f} C={b[1]:.4f} G={b[2]:.4f} T={b[3]:.4f}"
            lines.append((key, text))
        return lines


TRANSCRIPT_MODES = ("canonical", "all")
CHROM_STYLES = ("source", "ucsc")


@dataclass(frozen=True)
class PromoterOptions:
    """The promoter windows of a gene scan.

    ``upstream`` bases before each TSS and ``downstream`` bases from the TSS base on (0-based half-open windows,
    see :mod:`motifscan.promoters`); ``transcripts``: the canonical transcript's TSS or all transcripts' (windows
    merged where they overlap or abut); ``biotypes``: with ``"all"``, only these transcript biotypes;
    ``chrom_style``: chromosome names as the source gives them or UCSC style (``chr6``); ``strict``: fail when any
    gene is not found.
    """

    upstream: int = option(2000, "--upstream", kind="int", minimum=0, show_default=True,
                           help="Bases before the TSS.")
    downstream: int = option(500, "--downstream", kind="int", minimum=0, show_default=True,
                             help="Bases from the TSS base on.")
    transcripts: str = option("canonical", "--transcripts", kind="choice", choices=TRANSCRIPT_MODES,
                              show_default=True,
                              help="TSS of the canonical transcript, or of all (overlapping windows merged).")
    biotypes: tuple[str, ...] = option((), "--biotype", multiple=True,
                                       help="With --transcripts all: keep these biotypes.")
    chrom_style: str = option("source", "--chrom-style", kind="choice", choices=CHROM_STYLES, show_default=True,
                              help="Chromosome names as the source gives them ('6') or UCSC style ('chr6').")
    strict: bool = option(False, "--strict", kind="flag", help="Exit 1 if any gene is not found.")

    def __post_init__(self) -> None:
        for name in ("upstream", "downstream"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise OptionValueError(name, f"must be a whole number >= 0, not {value!r}")
        if self.upstream + self.downstream == 0:
            raise OptionValueError("upstream", "+ downstream must be at least 1 bp")
        if self.transcripts not in TRANSCRIPT_MODES:
            raise OptionValueError("transcripts", f"must be one of {', '.join(TRANSCRIPT_MODES)}, "
                                                  f"not {self.transcripts!r}")
        if self.chrom_style not in CHROM_STYLES:
            raise OptionValueError("chrom_style", f"must be one of {', '.join(CHROM_STYLES)}, not {self.chrom_style!r}")
        if isinstance(self.biotypes, str):  # one biotype, not its letters
            object.__setattr__(self, "biotypes", (self.biotypes,))
        else:
            object.__setattr__(self, "biotypes", tuple(self.biotypes))


@dataclass(frozen=True)
class GenomeSpec:
    """Where genes and sequence come from.

    ``genome``: None for Ensembl REST, ``"demo"`` for the embedded demo genome, or a FASTA path (then
    ``annotation`` is its GTF). The Ensembl fields apply to REST only.
    """

    genome: str | os.PathLike | None = option(
        None, "--genome", metavar="FASTA|demo",
        help="Local genome FASTA (plain or bgzip) with --annotation, or 'demo'. Default: Ensembl REST.")
    annotation: str | os.PathLike | None = option(None, "--annotation", metavar="GTF",
                                                  help="GTF (plain or .gz) for --genome FASTA.")
    species: str = option("human", "--species", show_default=True, help="Ensembl species.")
    assembly: str | None = option(  # None: GRCh38 for human
        None, "--assembly", metavar="NAME",
        help="Ensembl assembly: GRCh38 (default for human) or GRCh37 (the GRCh37 server); for other species their "
             "assembly, e.g. GRCm39.")
    ensembl_url: str | None = option(None, "--ensembl-url", envvar="MOTIFSCAN_ENSEMBL_URL", metavar="URL",
                                     help="Ensembl REST server (mirror, tests); env MOTIFSCAN_ENSEMBL_URL.")
    cache_dir: str | os.PathLike | None = option(None, "--cache-dir", kind="folder",
                                                 help="Cache directory [default: the user cache directory].")
    use_cache: bool = option(True, "--no-cache", kind="flag", inverted=True,
                             help="Do not read or write the Ensembl cache.")
    offline: bool = option(False, "--offline", kind="flag", help="Answer from the cache only; name the genes it lacks.")

    def open(self, memo: bool = False):
        """The :class:`~motifscan.sources.GeneSource` this spec names. ``memo``: a local genome's parsed GTF and file
        checksums are remembered in the cache directory (unless ``use_cache`` is off; see
        :mod:`motifscan.sources.memo`)."""
        if self.genome is None:
            if self.annotation is not None:
                raise UsageError("--annotation needs --genome FASTA")
            from motifscan.sources.ensembl import EnsemblSource

            if self.assembly is None and self.species.lower() not in ("human", "homo_sapiens"):
                raise UsageError(f"give --assembly for {self.species} (e.g. GRCm39 for mouse)")
            return EnsemblSource(self.species, self.assembly or "GRCh38", base_url=self.ensembl_url,
                                 cache_dir=self.cache_dir, use_cache=self.use_cache, offline=self.offline)
        from motifscan.sources.local import LocalGenomeSource

        if str(self.genome) == "demo":
            if self.annotation is not None:
                raise UsageError("--genome demo brings its own annotation; drop --annotation")
            return LocalGenomeSource.demo(self.cache_dir)
        if self.annotation is None:
            raise UsageError("--genome FASTA needs --annotation GTF")
        for path in (self.genome, self.annotation):
            if not Path(path).exists():
                raise UsageError(f"no such file: {path}")
        memo_dir = None
        if memo and self.use_cache:
            from motifscan.sources.cache import default_cache_dir

            memo_dir = (Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()) / "local-memo"
        return LocalGenomeSource(self.genome, self.annotation, self.cache_dir, memo_dir=memo_dir)


def field_names(dataclass_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(dataclass_type))


def split_options(options: Mapping[str, Any], *dataclass_types: type) -> list[dict[str, Any]]:
    """``options`` split by the dataclass whose field each names (one dict per type, in order); a keyword that none
    has is a UsageError naming it and the accepted ones."""
    parts: list[dict[str, Any]] = [{} for _ in dataclass_types]
    for name, value in options.items():
        for part, dataclass_type in zip(parts, dataclass_types):
            if name in field_names(dataclass_type):
                part[name] = value
                break
        else:
            accepted = sorted(n for t in dataclass_types for n in field_names(t))
            raise UsageError(f"unknown option {name!r}; accepted: {', '.join(accepted)}")
    return parts


def defaults(dataclass_type: type) -> dict[str, Any]:
    """Field name -> default value."""
    return {f.name: f.default for f in fields(dataclass_type) if f.default is not MISSING}
