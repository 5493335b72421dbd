"""A strict FASTA reader: records as (name, sequence) with clear errors for what is not FASTA.

Plain or gzip-compressed. The record name is the first word of the header. Windows (CRLF) line endings read like
LF. Letters other than A, C, G, T are kept (N and IUPAC codes are valid; the scanner skips their windows).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from motifscan.errors import InputFileError

_SEQUENCE_LINE = re.compile(r"^[A-Za-z*.\-]*$")


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: ``name`` (first word of the header), ``description`` (the rest), ``sequence``."""

    name: str
    sequence: str
    description: str = ""


def _open_text(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="ascii", newline=None)
    return open(path, "rt", encoding="ascii", newline=None)


def read_fasta(path: str | Path) -> list[FastaRecord]:
    """All records of a FASTA file, in file order.

    Raises InputFileError, naming the file and line, for: an unreadable, binary or empty file; text before the first
    header; a header without a name; a sequence line holding characters other than letters, ``-``, ``.``, ``*``;
    a record name used twice.
    """
    path = Path(path)
    try:
        records = list(_parse(path))
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as error:
        raise InputFileError(f"{path}: not a readable text FASTA file ({type(error).__name__})") from None
    if not records:
        raise InputFileError(f"{path}: no FASTA record found (empty file?)")
    return records


def _parse(path: Path) -> Iterator[FastaRecord]:
    seen: dict[str, int] = {}
    name = description = None
    chunks: list[str] = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if "\x00" in line:
                raise InputFileError(f"{path}, line {number}: binary data, not FASTA")
            if line.startswith(">"):
                if name is not None:
                    yield FastaRecord(name, "".join(chunks), description)
                name, description = _header(path, number, line, seen)
                chunks = []
            elif line.strip():
                if name is None:
                    raise InputFileError(f"{path}, line {number}: sequence before the first '>' header: not FASTA")
                text = "".join(line.split())
                if not _SEQUENCE_LINE.match(text):
                    bad = next(c for c in text if not _SEQUENCE_LINE.match(c))
                    raise InputFileError(f"{path}, line {number}: unexpected character {bad!r} in a sequence")
                chunks.append(text)
    if name is not None:
        yield FastaRecord(name, "".join(chunks), description)


def _header(path: Path, number: int, line: str, seen: dict[str, int]) -> tuple[str, str]:
    words = line[1:].strip().split(maxsplit=1)
    if not words:
        raise InputFileError(f"{path}, line {number}: header without a name")
    name = words[0]
    if name in seen:
        raise InputFileError(f"{path}, line {number}: record name {name!r} used again (first on line {seen[name]})")
    seen[name] = number
    return name, words[1] if len(words) > 1 else ""
