"""Columns of values -> lines of text, whole columns at a time (no Python step per row).

The writers' rows are tab-separated fields. Each field of n rows is a (n, w) uint8 matrix of its bytes, left to
right, where a 0 byte is no byte at all (a short value is padded with zeros; no field may hold a NUL: the writers
refuse control characters in names, and numbers and sequence letters have none). :func:`join_fields` lays the
fields side by side with the separators and keeps the non-zero bytes: a boolean index of a 2-D array reads in
row-major order, which is exactly the text of the rows one after another.

Numbers keep Python's own text: integers are written digit by digit (``%d`` exactly), and floats are formatted by
Python's ``%`` operator once per *distinct* value (:func:`formatted`): the scores, p- and q-values of a motif's hits
repeat (a motif's scores are sums over its columns, so the 2.2 M hits of the promoter workload at p <= 1e-3 hold
91,000 distinct ones), so the text is that of ``"%.6g" % value`` byte for byte, at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StringTable:
    """A small table of k strings as bytes: ``letters`` (k, w) uint8, zero-padded."""

    letters: np.ndarray

    @classmethod
    def of(cls, strings: Sequence[str]) -> StringTable:
        encoded = [s.encode("utf-8") for s in strings]
        width = max((len(s) for s in encoded), default=0)
        # one buffer of the padded strings, made by bytes.ljust (C), not a numpy assignment per string
        padded = b"".join(s.ljust(width, b"\0") for s in encoded)
        return cls(np.frombuffer(padded, dtype=np.uint8).reshape(len(encoded), width))

    def field(self, index: np.ndarray) -> np.ndarray:
        """The field whose row i holds string ``index[i]``: (n, w) uint8."""
        return self.letters[np.asarray(index, dtype=np.intp)]


def constant(text: str, n: int) -> np.ndarray:
    """The same ``text`` on every one of ``n`` rows: (n, len) uint8 (a broadcast view)."""
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return np.broadcast_to(raw, (n, len(raw)))


def letters(matrix: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The field whose row i is ``matrix[i, :lengths[i]]`` (e.g. matched sequences, (n, widest) uint8)."""
    return np.where(np.arange(matrix.shape[1]) < np.asarray(lengths)[:, None], matrix, 0).astype(np.uint8)


def integers(values: np.ndarray) -> np.ndarray:
    """``"%d" % v`` of every value (int64, any sign), digit by digit: (n, 1 + digits) uint8."""
    values = np.asarray(values, dtype=np.int64)
    n = len(values)
    magnitude = np.abs(values).astype(np.uint64)  # abs(int64 min) fits in uint64
    width = len(str(int(magnitude.max()))) if n else 1
    field = np.zeros((n, width + 1), dtype=np.uint8)
    field[:, 0] = np.where(values < 0, ord("-"), 0)
    rest = magnitude.copy()
    for j in range(width, 0, -1):
        digit = (rest % np.uint64(10)).astype(np.uint8) + np.uint8(ord("0"))
        # a leading zero is no byte, except the units digit (0 is written "0")
        field[:, j] = digit if j == width else np.where(rest > 0, digit, 0)
        rest //= np.uint64(10)
    return field


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
                dtype=np.uint64)


def formatted(template: str, columns: Sequence[np.ndarray]) -> tuple[StringTable, np.ndarray]:
    """``template % (columns[0][i], columns[1][i], ...)`` of every row (float64 columns, shape (n,) each), formatted
    by Python once per distinct tuple of values (bit patterns), so the text is Python's exactly: the table of
    distinct texts and each row's index into it (int64, (n,)).

    Distinct tuples are found by sorting a 64-bit mix of the bit patterns (one argsort: sorting the tuples
    themselves costs several times more); every row is then checked against its group's first row, and a row whose
    values differ (a collision of the mix) gets a text of its own."""
    bits = [np.ascontiguousarray(np.asarray(c, dtype=np.float64)).view(np.uint64) for c in columns]
    n = len(bits[0]) if bits else 0
    if not n:
        return StringTable.of([]), np.zeros(0, dtype=np.int64)
    mixed = np.zeros(n, dtype=np.uint64)
    scratch = np.empty(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k, column in enumerate(bits):  # in place: the temporaries of n values are two, whatever the columns
            np.right_shift(column, np.uint64(29), out=scratch)
            np.bitwise_xor(scratch, column, out=scratch)
            np.multiply(scratch, _MIX[k % len(_MIX)], out=scratch)
            mixed ^= scratch
            np.right_shift(mixed, np.uint64(47), out=scratch)
            np.left_shift(mixed, np.uint64(17), out=mixed)
            mixed |= scratch
    del scratch
    order = np.argsort(mixed)
    ordered = mixed[order]
    del mixed
    new_group = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    del ordered
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1  # the group of each sorted row
    del new_group
    first_rows = order[starts]
    differs = np.zeros(n, dtype=bool)
    for first in range(0, n, COMPARE_BLOCK):  # a block of sorted rows at a time (bounded temporaries)
        part = slice(first, first + COMPARE_BLOCK)
        leader = first_rows[group[part]]  # the first row of each sorted row's group
        for column in bits:
            differs[part] |= column[order[part]] != column[leader]
    index = np.empty(n, dtype=np.int64)
    index[order] = group
    del group
    loners = order[differs]
    index[loners] = len(starts) + np.arange(len(loners))
    rows = np.concatenate((first_rows, loners))
    del order, starts, differs, loners
    # Python's text of each distinct tuple, a block at a time (its floats and strings are transient; only the
    # tables' bytes are kept), then the blocks' tables in one zero-padded matrix
    blocks = []
    for first in range(0, len(rows), FORMAT_BLOCK):
        block = rows[first : first + FORMAT_BLOCK]
        values = np.column_stack([np.asarray(c, dtype=np.float64)[block] for c in columns]).tolist()
        blocks.append(StringTable.of([template % tuple(v) for v in values]).letters)
    table = np.zeros((len(rows), max(b.shape[1] for b in blocks)), dtype=np.uint8)
    for first, letters in zip(range(0, len(rows), FORMAT_BLOCK), blocks):
        table[first : first + len(letters), : letters.shape[1]] = letters
    return StringTable(table), index


FORMAT_BLOCK = 1 << 16
""":func:`formatted` formats this many distinct tuples at a time (bounds its Python floats and strings)."""

COMPARE_BLOCK = 1 << 20
""":func:`formatted` checks this many rows against their groups' first rows at a time."""


def join_fields(fields: Sequence[np.ndarray], separator: str = "\t") -> str:
    """The rows of ``fields`` (each (n, w_k) uint8, 0 = no byte) as text: fields joined by ``separator``, each row
    ending in a newline."""
    if not fields or not len(fields[0]):
        return ""
    sep = np.frombuffer(separator.encode("utf-8"), dtype=np.uint8)
    n = len(fields[0])
    total = sum(f.shape[1] for f in fields) + len(sep) * (len(fields) - 1) + 1
    matrix = np.empty((n, total), dtype=np.uint8)
    column = 0
    for k, field in enumerate(fields):
        if k:
            matrix[:, column : column + len(sep)] = sep
            column += len(sep)
        matrix[:, column : column + field.shape[1]] = field
        column += field.shape[1]
    matrix[:, column] = ord("\n")
    return matrix[matrix != 0].tobytes().decode("utf-8")
