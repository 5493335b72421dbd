"""A strict FASTA reader: records as (name, sequence) with clear errors for what is not FASTA.

Plain or gzip-compressed, from a file or a pipe (``<(zcat x.fa.gz)``: the file is read once). The record name is
the first word of the header. Windows (CRLF) and classic Mac (CR) line endings read like LF; a UTF-8 byte-order mark
at the start is ignored; spaces and tabs inside sequence lines are dropped. Letters other than A, C, G, T are kept
(N and IUPAC codes are valid; the scanner skips their windows). A record without sequence is kept, with a warning.

Everything else is an :class:`~motifscan.errors.InputFileError` naming the file and the line: binary data, text before
the first header, a header without a name, a character that is not a letter (or ``-``, ``.``, ``*``) in a sequence
line, a record name used twice, an empty file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from motifscan import textfiles
from motifscan.errors import InputFileError

log = logging.getLogger(__name__)

_SEQUENCE_LINE = re.compile(r"^[A-Za-z*.\-]*$")
_SPACES = str.maketrans("", "", " \t\x0b\x0c")
_KIND = "FASTA file"


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: ``name`` (first word of the header), ``description`` (the rest), ``sequence``."""

    name: str
    sequence: str
    description: str = ""


def read_fasta(path: str | Path) -> list[FastaRecord]:
    """All records of a FASTA file, in file order.

    Raises InputFileError, naming the file and line, for: an unreadable, binary or empty file; text before the first
    header; a header without a name; a sequence line holding characters other than letters, ``-``, ``.``, ``*``;
    a record name used twice.
    """
    return [FastaRecord(name, "".join(pieces), description) for name, description, pieces in stream_fasta(path)]


def stream_fasta(path: str | Path, warn: bool = True) -> Iterator[tuple[str, str, Iterator[str]]]:
    """The records of a FASTA file as they are read, never held whole: (name, description, pieces) per record, in
    file order, where ``pieces`` yields the record's letters (line ends, spaces and tabs removed) in pieces of at
    most a few million letters. Letters a caller leaves unread are skipped when the next record is asked for. The
    same checks and errors as :func:`read_fasta` (raised when the offending line is reached). ``warn``: warn about
    records without sequence (off for a second read of the same file)."""
    path = Path(path)
    position = [0]  # the line being read, for errors raised by the decompressor or the file system
    events = _Events(_parse(path, position))
    try:
        header = events.next_header()
        if header is None:
            raise InputFileError(f"{path}: no FASTA record found (empty file?)")
        while header is not None:
            name, description, line = header
            pieces = _counted(events.letters(), path, line, name) if warn else events.letters()
            yield name, description, pieces
            for _ in pieces:  # what the caller left unread
                pass
            header = events.next_header()
    except InputFileError:
        raise
    except (*textfiles.READ_ERRORS, ValueError) as error:
        where = f", line {position[0] + 1}" if position[0] else ""
        raise InputFileError(f"{path}{where}: cannot read the FASTA file ({textfiles.read_error_reason(error)})") \
            from None


class _Events:
    """The parser's events with one header of look-ahead: a record's letters end where the next header starts."""

    def __init__(self, events: Iterator[tuple[str, str, int] | str]) -> None:
        self._events = events
        self._header: tuple[str, str, int] | None = None

    def next_header(self) -> tuple[str, str, int] | None:
        if self._header is None:
            for event in self._events:  # only at the start: later headers are met by letters()
                if isinstance(event, tuple):
                    self._header = event
                    break
        header, self._header = self._header, None
        return header

    def letters(self) -> Iterator[str]:
        for event in self._events:
            if isinstance(event, tuple):
                self._header = event
                return
            yield event


def _counted(pieces: Iterator[str], path: Path, line: int, name: str) -> Iterator[str]:
    """``pieces`` as they come, warning at the end when there was no letter (a record without sequence is kept)."""
    empty = True
    for piece in pieces:
        empty = False
        yield piece
    if empty:
        log.warning("%s, line %d: record %r has no sequence", path, line, name)


_BLOCK_CHARS = 1 << 22
"""Characters of text read at once: records are cut out of blocks of whole lines, so that the work per line is done
by string methods over many lines at a time (a Python step per line took 1.8 s for 50 Mb in 80-letter lines)."""

_SEQUENCE_TEXT = re.compile(r"[A-Za-z*.\-]*")


def _parse(path: Path, position: list[int]) -> Iterator[tuple[str, str, int] | str]:
    """Events of the file in order: ``(name, description, line)`` for each header, then the record's letters as
    str pieces (no empty piece)."""
    seen: dict[str, int] = {}
    name: str | None = None
    number = 0  # lines read so far
    with textfiles.open_text(path, _KIND) as handle:
        for block in _line_blocks(handle):
            start, end = 0, len(block)
            while start < end:
                if block.startswith(">", start):
                    stop = block.index("\n", start)
                    number += 1
                    position[0] = number
                    name, description = _header(path, number, block[start:stop], seen)
                    yield name, description, number
                    start = stop + 1
                    continue
                stop = block.find("\n>", start) + 1 or end  # the lines up to the next header
                segment = block[start:stop]
                text, lines = _sequence_text(segment)
                if text is None or (text and name is None):
                    _refuse_lines(path, number, segment, name)
                if text:
                    yield text
                number += lines
                position[0] = number
                start = stop


def _line_blocks(handle) -> Iterator[str]:
    """The text of ``handle`` (universal newlines: every line ends in LF) in blocks of whole lines, each ending in
    LF (one is added to a last line without it)."""
    pieces: list[str] = []
    while block := handle.read(_BLOCK_CHARS):
        cut = block.rfind("\n") + 1
        if not cut:  # a line longer than a block
            pieces.append(block)
            continue
        pieces.append(block[:cut])
        yield "".join(pieces)
        pieces = [block[cut:]]
    if any(pieces):
        yield "".join(pieces) + "\n"


def _sequence_text(segment: str) -> tuple[str | None, int]:
    """The letters of sequence lines (``segment``: whole lines, no header) without line ends, spaces and tabs, or
    None when a line holds a character that cannot be in a sequence; and the number of lines (of line ends: the
    characters that the first replace removed, so no second pass counts them)."""
    text = segment.replace("\n", "")
    lines = len(segment) - len(text)
    if " " in text or "\t" in text or "\x0b" in text or "\x0c" in text:
        text = text.translate(_SPACES)
    # bytes.isalpha is a table lookup per letter (str.isalpha checks Unicode classes, 10x slower); isascii is O(1)
    if not text or (text.isascii() and text.encode("ascii").isalpha()) or _SEQUENCE_TEXT.fullmatch(text):
        return text, lines
    return None, lines


def _refuse_lines(path: Path, number: int, segment: str, name: str | None) -> None:
    """Raise the error for the first bad line of ``segment`` (whole sequence lines following line ``number``)."""
    for offset, line in enumerate(segment.split("\n")[:-1], 1):
        text = line.translate(_SPACES)
        if _SEQUENCE_LINE.match(text):
            if text and name is None:
                raise InputFileError(f"{path}, line {number + offset}: sequence before the first '>' header: not FASTA")
            continue
        binary_char = textfiles.binary_char(text)
        if binary_char:
            raise InputFileError(f"{path}, line {number + offset}: {textfiles.describe_binary(binary_char, _KIND)}")
        if name is None:
            raise InputFileError(f"{path}, line {number + offset}: text before the first '>' header: not FASTA")
        bad = next(c for c in text if not _SEQUENCE_LINE.match(c))
        raise InputFileError(f"{path}, line {number + offset}: unexpected character {bad!r} in a sequence")


def _header(path: Path, number: int, line: str, seen: dict[str, int]) -> tuple[str, str]:
    binary_char = textfiles.binary_char(line)
    if binary_char:
        raise InputFileError(f"{path}, line {number}: {textfiles.describe_binary(binary_char, _KIND)}")
    words = line[1:].strip().split(maxsplit=1)
    if not words:
        raise InputFileError(f"{path}, line {number}: header without a name")
    name = words[0]
    if name in seen:
        raise InputFileError(f"{path}, line {number}: record name {name!r} used again (first on line {seen[name]})")
    seen[name] = number
    return name, words[1] if len(words) > 1 else ""
