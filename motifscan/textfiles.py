"""The one reader preamble of motifscan's text inputs (FASTA, genome FASTA, GTF, motif files).

Every text reader starts the same way, here: open the file once (a pipe such as ``<(zcat x.gz)`` works: nothing is
read twice), decompress it when its first bytes are the gzip magic (not when its name ends in ``.gz``), refuse binary
data before reading lines (a file of zeros has no line end to stop at), decode UTF-8 with a byte-order mark dropped and
read CRLF and CR line ends like LF. A byte that is not UTF-8 becomes a lone surrogate (``surrogateescape``), so that
the line checks report it with its line number instead of a decoder failing somewhere in a read-ahead block.

Errors are :class:`~motifscan.errors.InputFileError` naming the file, the line and the byte, and saying what kind of
file was expected (``kind``: ``"FASTA file"``, ``"GTF file"``, ``"motif file"``):

- :func:`compression`: ``"plain"``, ``"gzip"`` or ``"bgzf"`` from the first bytes of a regular file;
- :func:`open_text`: a text stream over a file or pipe, plain or gzip, after the binary check;
- :func:`numbered_lines`: its lines, numbered from 1, each checked for binary data; read errors (a truncated gzip
  member, an I/O error) become InputFileError naming the line;
- :func:`read_text`: a whole small file (a motif file) as one string with LF line ends, size-capped;
- :func:`binary_char` / :func:`describe_binary`: the check itself, for readers that look at their lines themselves.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, cast

from motifscan.errors import InputFileError

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of every gzip (and BGZF) file."""
SNIFF_BYTES = 1 << 16
"""How much of a file's start is looked at for binary data before any line is read."""
BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\udc80-\udcff]")
"""Control characters other than tab, line feed, vertical tab, form feed and carriage return, and bytes that are not
UTF-8 (lone surrogates, as ``surrogateescape`` decodes them)."""

READ_ERRORS = (OSError, EOFError, zlib.error)
"""What reading a plain or gzip file can raise (gzip.BadGzipFile is an OSError; EOFError: a truncated member)."""


def compression(path: str | Path) -> Literal["plain", "gzip", "bgzf"]:
    """``"plain"``, ``"bgzf"`` or ``"gzip"``, from a regular file's first bytes (BGZF: gzip with a ``BC`` extra
    subfield, as bgzip and samtools write it). OSError when the file cannot be read."""
    with open(path, "rb") as handle:
        header = handle.read(18)
    if not header.startswith(GZIP_MAGIC):
        return "plain"
    has_extra = len(header) >= 14 and header[3] & 4
    return "bgzf" if has_extra and header[12:14] == b"BC" else "gzip"


def binary_char(text: str) -> str | None:
    """The first character of ``text`` that marks binary data or a byte that is not UTF-8, else None."""
    match = BINARY.search(text)
    return match.group() if match else None


def describe_binary(char: str, kind: str) -> str:
    """``"binary data (byte 0xNN): not a KIND"`` (``binary data or text that is not UTF-8`` for a byte >= 0x80) for a
    character :func:`binary_char` found
    (a lone surrogate stands for the undecodable byte it escapes)."""
    code = ord(char) - 0xDC00 if "\udc80" <= char <= "\udcff" else ord(char)
    what = "binary data" if code < 0x80 else "binary data or text that is not UTF-8"
    return f"{what} (byte 0x{code:02x}): not a {kind}"


def _open_binary(path: Path, stack: contextlib.ExitStack) -> IO[bytes]:
    """The file's bytes, decompressed if they start with the gzip magic; opened once and sniffed with ``peek`` (which
    consumes nothing), so that pipes work too."""
    # open() in "rb" mode with a buffer is a BufferedReader (which has peek); typeshed says BinaryIO for a non-literal
    # buffering
    raw = cast(io.BufferedReader, stack.enter_context(open(path, "rb", buffering=SNIFF_BYTES)))  # noqa: SIM115
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))  # type: ignore[arg-type]
    return raw


def _refuse_binary_head(path: Path, binary: IO[bytes], kind: str) -> None:
    """InputFileError when the first :data:`SNIFF_BYTES` hold a zero byte, naming the first line with binary data."""
    head = binary.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    zero = head.find(b"\x00")
    if zero < 0:
        return
    lines = re.split(r"\r\n|\r|\n", head[: zero + 1].decode("utf-8", "surrogateescape"))
    for number, line in enumerate(lines, 1):
        char = binary_char(line)
        if char:
            raise InputFileError(f"{path}, line {number}: {describe_binary(char, kind)}")


@contextlib.contextmanager
def open_text(path: str | Path, kind: str) -> Iterator[io.TextIOWrapper]:
    """A text stream over a plain or gzip file (or pipe), after the binary check; universal line ends (CRLF and CR
    read as LF), UTF-8 with a byte-order mark dropped, undecodable bytes as lone surrogates (see the module docstring).

    OSError (and EOFError, zlib.error) from opening or reading pass through: :func:`numbered_lines` turns them into
    InputFileError; callers reading the stream themselves catch :data:`READ_ERRORS`.
    """
    path = Path(path)
    with contextlib.ExitStack() as stack:
        binary = _open_binary(path, stack)
        _refuse_binary_head(path, binary, kind)
        yield stack.enter_context(
            io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline=None))


def numbered_lines(path: str | Path, kind: str) -> Iterator[tuple[int, str]]:
    """The lines of a plain or gzip file, numbered from 1, each without its line end.

    Raises InputFileError naming the file and the line: binary data or bytes that are not UTF-8 on a line; a read
    error (an unreadable file, a truncated or corrupt gzip stream).
    """
    path = Path(path)
    number = 0
    try:
        with open_text(path, kind) as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\n")
                char = binary_char(line)
                if char:
                    raise InputFileError(f"{path}, line {number}: {describe_binary(char, kind)}")
                yield number, line
    except READ_ERRORS as error:
        raise InputFileError(f"{path}{f', line {number + 1}' if number else ''}: cannot read the {kind} "
                             f"({read_error_reason(error)})") from None


def read_error_reason(error: BaseException) -> str:
    """A short reason for a read error: the OS's words, else the message, else the exception's name."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def read_text(path: str | Path, kind: str, max_bytes: int) -> str:
    """The whole text of a small plain or gzip file, line ends LF.

    Raises InputFileError naming the file (and the line where one applies): an unreadable file, more than
    ``max_bytes`` of text, binary data or bytes that are not UTF-8, a file holding only white space.
    """
    path = Path(path)
    try:
        with open_text(path, kind) as handle:
            text = handle.read(max_bytes + 1)
    except READ_ERRORS as error:
        raise InputFileError(f"{path}: cannot read the {kind} ({read_error_reason(error)})") from None
    if len(text) > max_bytes:
        raise InputFileError(f"{path}: larger than {max_bytes // 2**20} MiB: not a {kind}")
    char = binary_char(text)
    if char:
        line = text.count("\n", 0, text.index(char)) + 1
        raise InputFileError(f"{path}, line {line}: {describe_binary(char, kind)}")
    if not text.strip():
        raise InputFileError(f"{path}: empty {kind}")
    return text
