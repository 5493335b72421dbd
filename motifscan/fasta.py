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

import contextlib
import gzip
import io
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from motifscan.errors import InputFileError

log = logging.getLogger(__name__)

_SEQUENCE_LINE = re.compile(r"^[A-Za-z*.\-]*$")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 1 << 16
# control characters other than tab, vertical tab and form feed, and bytes that are not UTF-8 (surrogate-escaped)
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\udc80-\udcff]")
_SPACES = str.maketrans("", "", " \t\x0b\x0c")


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: ``name`` (first word of the header), ``description`` (the rest), ``sequence``."""

    name: str
    sequence: str
    description: str = ""


def _open_binary(path: Path, stack: contextlib.ExitStack):
    """The file's bytes, decompressed if gzip, opened once and sniffed without consuming anything, so that pipes
    (``<(zcat x.fa.gz)``) work too."""
    raw = stack.enter_context(open(path, "rb", buffering=_SNIFF_BYTES))
    if raw.peek(2)[:2] == _GZIP_MAGIC:
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _text(binary) -> io.TextIOWrapper:
    # surrogateescape: a byte that is not UTF-8 becomes a lone surrogate, which the line checks report with its line
    # number (a strict decoder fails somewhere in a read-ahead block, far from the line). newline=None: universal.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline=None)


def _describe_binary(char: str) -> str:
    code = ord(char) - 0xDC00 if "\udc80" <= char <= "\udcff" else ord(char)
    return f"binary data (byte 0x{code:02x}), not FASTA text"


def read_fasta(path: str | Path) -> list[FastaRecord]:
    """All records of a FASTA file, in file order.

    Raises InputFileError, naming the file and line, for: an unreadable, binary or empty file; text before the first
    header; a header without a name; a sequence line holding characters other than letters, ``-``, ``.``, ``*``;
    a record name used twice.
    """
    path = Path(path)
    position = [0]  # the line being read, for errors raised by the decompressor or the file system
    try:
        records = list(_parse(path, position))
    except InputFileError:
        raise
    except (OSError, EOFError, zlib.error, ValueError) as error:  # gzip.BadGzipFile is an OSError
        where = f", line {position[0] + 1}" if position[0] else ""
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise InputFileError(f"{path}{where}: cannot read the FASTA file ({reason})") from None
    if not records:
        raise InputFileError(f"{path}: no FASTA record found (empty file?)")
    return records


def _sniff(path: Path, binary) -> None:
    """Refuse binary data before reading lines (a file of zeros has no line end to stop at)."""
    head = binary.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
    zero = head.find(b"\x00")
    if zero >= 0:  # name the first line holding binary data (the zero byte's, or an earlier one)
        lines = re.split(r"\r\n|\r|\n", head[: zero + 1].decode("utf-8", "surrogateescape"))
        number, bad = next((n, m.group()) for n, m in ((n, _BINARY.search(line)) for n, line in enumerate(lines, 1))
                           if m)
        raise InputFileError(f"{path}, line {number}: {_describe_binary(bad)}")


def _parse(path: Path, position: list[int]) -> Iterator[FastaRecord]:
    seen: dict[str, int] = {}
    name = description = None
    header_line = 0
    chunks: list[str] = []
    with contextlib.ExitStack() as stack:
        binary = _open_binary(path, stack)
        _sniff(path, binary)
        with _text(binary) as handle:
            for number, line in enumerate(handle, 1):
                position[0] = number
                line = line.rstrip("\r\n")
                if line.startswith(">"):
                    if name is not None:
                        yield _record(path, header_line, name, chunks, description)
                    name, description = _header(path, number, line, seen)
                    header_line, chunks = number, []
                    continue
                text = line.translate(_SPACES)
                if _SEQUENCE_LINE.match(text):
                    if text and name is None:
                        raise InputFileError(f"{path}, line {number}: sequence before the first '>' header: not FASTA")
                    chunks.append(text)
                    continue
                binary_char = _BINARY.search(text)
                if binary_char:
                    raise InputFileError(f"{path}, line {number}: {_describe_binary(binary_char.group())}")
                if name is None:
                    raise InputFileError(f"{path}, line {number}: text before the first '>' header: not FASTA")
                bad = next(c for c in text if not _SEQUENCE_LINE.match(c))
                raise InputFileError(f"{path}, line {number}: unexpected character {bad!r} in a sequence")
    if name is not None:
        yield _record(path, header_line, name, chunks, description)


def _record(path: Path, line: int, name: str, chunks: list[str], description: str) -> FastaRecord:
    sequence = "".join(chunks)
    if not sequence:
        log.warning("%s, line %d: record %r has no sequence", path, line, name)
    return FastaRecord(name, sequence, description)


def _header(path: Path, number: int, line: str, seen: dict[str, int]) -> tuple[str, str]:
    binary_char = _BINARY.search(line)
    if binary_char:
        raise InputFileError(f"{path}, line {number}: {_describe_binary(binary_char.group())}")
    words = line[1:].strip().split(maxsplit=1)
    if not words:
        raise InputFileError(f"{path}, line {number}: header without a name")
    name = words[0]
    if name in seen:
        raise InputFileError(f"{path}, line {number}: record name {name!r} used again (first on line {seen[name]})")
    seen[name] = number
    return name, words[1] if len(words) > 1 else ""
