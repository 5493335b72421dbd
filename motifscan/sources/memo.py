"""What a second run over the same local genome need not work out again: file checksums and parsed annotations.

Both live under a memo folder (``<cache dir>/local-memo/``; the caller chooses) and are checked before use, so that a
stale or damaged entry is recomputed, never used.

File checksums (``checksums/<sha256 of the resolved path>.json``)
    The MD5 of a file's bytes is remembered with the file's identity: device, inode, size, mtime and **ctime**, all in
    nanoseconds. mtimes alone lie (``cp -p``, ``rsync -a``, ``tar x`` and ``touch -d`` set them back), but none of
    them can set the ctime: the kernel sets it to the current time whenever the file's content or metadata changes,
    setting the mtime included, and a file copied or extracted anew is a new inode with a new ctime. A checksum is
    remembered only when the file did not change while it was read, and only once its ctime is
    :data:`QUIET_SECONDS` in the past, so that a later write within the same clock tick cannot leave the ctime as it
    was (the "racy git" problem; git's index keeps ctimes for the same reason).

Parsed annotations (``annotations/<MD5 of the GTF's bytes>.json``)
    The genes of a GTF as :func:`motifscan.sources.local.build_genes` makes them (GTF chromosome names; renaming to
    the FASTA's happens on load), its assembly, chromosomes, the GTF line of each gene (for messages) and the
    warnings its parse logged (repeated on every load, so a memo hides nothing). Keyed by the content of the GTF, so an
    edited GTF is parsed again whatever its mtime; the entry's first line holds the format version, the GTF's MD5 and
    a SHA-256 of the rest, and anything that does not match, or does not decode into valid genes, is rebuilt.
    Entries are JSON (never pickle: a cache folder may be shared), written to a temporary file and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motifscan.model import Gene, Transcript
from motifscan.sources.cache import make_private_dirs

log = logging.getLogger(__name__)

ANNOTATION_FORMAT = 1
"""Bumped whenever what a parsed-annotation entry holds, or how the GTF is parsed, changes."""

QUIET_SECONDS = 2.0
"""How long ago a file's ctime must lie for its checksum to be remembered (see the module docstring)."""

_HASH_CHUNK = 1 << 20


def _identity(stat: os.stat_result) -> list[int]:
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_md5(path: str | os.PathLike, memo_dir: str | os.PathLike | None = None) -> str:
    """MD5 hex digest of a file's bytes; with ``memo_dir``, remembered there and reused while the file's device,
    inode, size, mtime and ctime are unchanged (see the module docstring)."""
    path = Path(path)
    if memo_dir is None:
        return _md5(path)
    resolved = path.resolve()
    entry = Path(memo_dir) / "checksums" / f"{hashlib.sha256(str(resolved).encode()).hexdigest()[:32]}.json"
    before = os.stat(resolved)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        stored = json.loads(entry.read_text())
        if stored["path"] == str(resolved) and stored["identity"] == _identity(before) \
                and isinstance(stored["md5"], str) and len(stored["md5"]) == 32:
            return stored["md5"]
    md5 = _md5(resolved)
    after = os.stat(resolved)
    quiet = time.time_ns() - after.st_ctime_ns > QUIET_SECONDS * 1e9
    if _identity(after) == _identity(before) and quiet:
        _write_atomic(entry, json.dumps({"path": str(resolved), "identity": _identity(after), "md5": md5}))
    return md5


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; a memo that cannot be written is skipped."""
    try:
        make_private_dirs(path.parent)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".memo.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        log.debug("cannot write the memo %s (%s)", path, error)


@dataclass(frozen=True)
class ParsedAnnotation:
    """A GTF's genes in its own chromosome names, with what else the source needs from the GTF (see the module
    docstring). Coordinates 0-based half-open, as in :class:`motifscan.model.Gene`."""

    genes: tuple[Gene, ...]
    assembly: str
    chroms: frozenset[str]
    gene_lines: Mapping[str, int]
    warnings: tuple[tuple[int, str], ...]  # (logging level, message) as the parse logged them

    def replay_warnings(self, logger: logging.Logger) -> None:
        for level, message in self.warnings:
            logger.log(level, "%s", message)

    def renamed(self, chrom_names: Mapping[str, str]) -> tuple[Gene, ...]:
        """The genes with their chromosomes renamed by ``chrom_names`` (GTF name -> FASTA name; others kept)."""
        if all(chrom_names.get(c, c) == c for c in self.chroms):
            return self.genes
        return tuple(_gene_on(g, chrom_names.get(g.chrom, g.chrom)) for g in self.genes)


def _gene_on(gene: Gene, chrom: str) -> Gene:
    if chrom == gene.chrom:
        return gene
    transcripts = tuple(Transcript(t.id, t.gene_id, chrom, t.start, t.end, t.strand, t.biotype, t.is_canonical,
                                   t.version) for t in gene.transcripts)
    return Gene(gene.id, gene.name, chrom, gene.start, gene.end, gene.strand, gene.biotype, transcripts, gene.version)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.getMessage()))


def parsed_annotation(gtf_path: Path, gtf_md5: str, parse: Callable[[], tuple[list[Gene], str, set[str],
                                                                              dict[str, int]]],
                      parse_logger: logging.Logger, memo_dir: str | os.PathLike | None) -> ParsedAnnotation:
    """The parsed annotation of ``gtf_path``: from the memo when an intact entry for ``gtf_md5`` is there, else
    ``parse()`` (genes, assembly, chromosomes, gene lines), stored. ``parse_logger``'s messages during the parse are
    kept and repeated on later loads."""
    entry = Path(memo_dir) / "annotations" / f"{gtf_md5}.json" if memo_dir is not None else None
    if entry is not None and entry.exists():
        try:
            parsed = _read_annotation(entry, gtf_md5)
            parsed.replay_warnings(parse_logger)
            return parsed
        except Exception as error:  # noqa: BLE001 (any damage at all: never use the entry)
            log.warning("parsed-annotation memo %s is damaged or stale (%s): parsing %s again", entry,
                        f"{type(error).__name__}: {error}"[:200], gtf_path)
            with contextlib.suppress(OSError):
                entry.unlink()
    collect = _Collect()
    parse_logger.addHandler(collect)
    try:
        genes, assembly, chroms, gene_lines = parse()
    finally:
        parse_logger.removeHandler(collect)
    parsed = ParsedAnnotation(tuple(genes), assembly, frozenset(chroms), dict(gene_lines), tuple(collect.records))
    if entry is not None:
        payload = json.dumps(_annotation_payload(parsed), separators=(",", ":"))
        header = {"format": ANNOTATION_FORMAT, "gtf_md5": gtf_md5,
                  "sha256": hashlib.sha256(payload.encode()).hexdigest()}
        _write_atomic(entry, json.dumps(header) + "\n" + payload)
    return parsed


def _annotation_payload(parsed: ParsedAnnotation) -> dict[str, Any]:
    genes, transcripts = [], []
    for g in parsed.genes:
        genes.append([g.id, g.version, g.name, g.chrom, g.start, g.end, g.strand, g.biotype, len(g.transcripts),
                      parsed.gene_lines.get(g.id, 0)])
        transcripts += [[t.id, t.version, t.start, t.end, t.strand, t.biotype, t.is_canonical] for t in g.transcripts]
    return {"genes": genes, "transcripts": transcripts, "assembly": parsed.assembly, "chroms": sorted(parsed.chroms),
            "warnings": [list(w) for w in parsed.warnings]}


def _read_annotation(entry: Path, gtf_md5: str) -> ParsedAnnotation:
    header_text, _, payload = entry.read_text(encoding="utf-8").partition("\n")
    header = json.loads(header_text)
    if header.get("format") != ANNOTATION_FORMAT or header.get("gtf_md5") != gtf_md5:
        raise ValueError("stored for another GTF or format")
    if hashlib.sha256(payload.encode()).hexdigest() != header.get("sha256"):
        raise ValueError("checksum mismatch")
    data = json.loads(payload)
    rows = iter(data["transcripts"])
    genes, gene_lines = [], {}
    for gene_id, version, name, chrom, start, end, strand, biotype, n_transcripts, line in data["genes"]:
        transcripts = tuple(Transcript(t_id, gene_id, chrom, t_start, t_end, t_strand, t_biotype, bool(canonical),
                                       t_version)
                            for t_id, t_version, t_start, t_end, t_strand, t_biotype, canonical
                            in (next(rows) for _ in range(n_transcripts)))
        genes.append(Gene(gene_id, name, chrom, start, end, strand, biotype, transcripts, version))
        if line:
            gene_lines[gene_id] = line
    if next(rows, None) is not None:
        raise ValueError("transcripts left over")
    warnings = tuple((int(level), str(message)) for level, message in data["warnings"])
    return ParsedAnnotation(tuple(genes), str(data["assembly"]), frozenset(data["chroms"]), gene_lines, warnings)
