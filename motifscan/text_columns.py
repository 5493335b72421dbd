"""Columns of values -> lines of text, whole columns at a time (no Python step per row).

The writers' rows are tab-separated fields. Each field of n rows is a (n, w) uint8 matrix of its bytes, left to
right, where a 0 byte is no byte at all (a short value is padded with zeros; no field may hold a NUL: the writers
refuse control characters in names, and numbers and sequence letters have none). :func:`join_bytes` lays the
fields side by side with the separators and drops the zero bytes of the matrix's row-major bytes, which leaves
exactly the text of the rows one after another, as UTF-8 bytes (:func:`join_fields`: the same, decoded).

Numbers keep Python's own text, byte for byte: integers are written digit by digit (``%d`` exactly), and floats
by :func:`fixed` (``%.Nf``) and :func:`general` (``%.Ng``): the digits of the correctly rounded value, found by
scaling in float64 and ``rint``, which is exact except next to a rounding tie; those values, and those beyond the
scaled ranges or not finite, are written by Python's ``%`` (once per distinct value). :func:`formatted` formats
rows of several float columns once per *distinct* tuple: the scores, p- and q-values of a motif's hits repeat (a
motif's scores are sums over its columns, so the 2.2 M hits of the promoter workload at p <= 1e-3 hold 91,000
distinct ones).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motifscan.sorting import row_bits, sort_with_rows


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
        index = np.asarray(index, dtype=np.intp)
        if self.letters.flags.c_contiguous:  # np.take of whole rows: 4-6 times faster than fancy indexing here
            return np.take(self.letters, index, axis=0)
        return self.letters[index]


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


def _python_text(values: np.ndarray, spec: str) -> StringTable:
    """``spec % v`` of each value (float64, (n,)) by Python, once per distinct bit pattern: a table of n rows."""
    distinct, which = np.unique(np.ascontiguousarray(values).view(np.uint64), return_inverse=True)
    table = StringTable.of([spec % v for v in distinct.view(np.float64).tolist()])
    return StringTable(table.letters[which.ravel()])


def _place(field: np.ndarray, rows: np.ndarray, texts: StringTable) -> np.ndarray:
    """``field`` (n, w) with ``rows`` replaced by the texts' rows (widened if a text is longer than w)."""
    if not len(rows):
        return field
    width = max(field.shape[1], texts.letters.shape[1])
    if width > field.shape[1]:
        field = np.concatenate((field, np.zeros((len(field), width - field.shape[1]), dtype=np.uint8)), axis=1)
    field[rows] = 0
    field[rows, : texts.letters.shape[1]] = texts.letters
    return field


def _used(field: np.ndarray) -> np.ndarray:
    """``field`` without its columns that hold no byte in any row (fewer bytes for :func:`join_fields` to scan)."""
    return field[:, field.any(axis=0)] if len(field) else field[:, :0]


_TIE_TOLERANCE = 1e-5
"""A scaled value this close to a half-integer is formatted by Python: float64 scaling (error below 1e-6 in the
ranges allowed) cannot tell on which side of the tie the exact binary value lies; everywhere else ``rint`` of the
scaled value is the correctly rounded decimal, which is what Python's ``%`` writes."""

_FIXED_LIMIT = 2.0**33
""":func:`fixed` scales values in numpy while ``|v| * 10**decimals`` stays below this (its ulp, 2**-19, is far
below the tie tolerance); larger values are formatted by Python."""

_DIGIT = np.uint8(ord("0"))


def fixed(values: np.ndarray, decimals: int = 6) -> np.ndarray:
    """``"%.{decimals}f" % v`` of every value (float64, (n,); decimals 0 to 15): (n, w) uint8, byte for byte as
    Python writes it (``-0.000000`` for -0.0 and small negatives, ``nan``, ``inf``). Digits come from the correctly
    rounded scaled value; values near a rounding tie, outside the scaled range, or not finite, are written by
    Python (once per distinct value)."""
    if not 0 <= decimals <= 15:
        raise ValueError(f"fixed: decimals must be 0 to 15, not {decimals}")
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    with np.errstate(invalid="ignore", over="ignore"):
        y = np.abs(x) * 10.0**decimals
        fast = y < _FIXED_LIMIT  # False for nan and inf
        y = np.where(fast, y, 0.0)
        fast &= np.abs(y - np.floor(y) - 0.5) >= _TIE_TOLERANCE
    m = np.rint(y).astype(np.int64)
    unit = 10**decimals
    whole, fraction = m // unit, m % unit
    integer = integers(whole)  # (n, 1 + digits): a sign slot (empty: whole >= 0) and the digits
    integer[:, 0] = np.where(np.signbit(x), ord("-"), 0)
    field = np.zeros((n, integer.shape[1] + (1 + decimals if decimals else 0)), dtype=np.uint8)
    field[:, : integer.shape[1]] = integer
    if decimals:
        field[:, integer.shape[1]] = ord(".")
        for j in range(decimals, 0, -1):
            field[:, integer.shape[1] + j] = (fraction % 10).astype(np.uint8) + _DIGIT
            fraction //= 10
    slow = np.flatnonzero(~fast)
    return _place(field, slow, _python_text(x[slow], f"%.{decimals}f"))


_GENERAL_RANGE = 290
""":func:`general` scales values of decimal exponent within +-this in numpy (10**k then stays a normal float)."""


def general(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """``"%.{digits}g" % v`` of every value (float64, (n,); digits 1 to 15): (n, w) uint8, byte for byte as Python
    writes it: ``digits`` significant digits, correctly rounded; fixed notation when the rounded value's decimal
    exponent e is in [-4, digits), else ``d.ddde+XX`` (at least two exponent digits); trailing zeros and a trailing
    point dropped; ``0``, ``-0``, ``nan``, ``inf``. Values near a rounding tie, of exponent beyond
    :data:`_GENERAL_RANGE`, or not finite, are written by Python (once per distinct value)."""
    if not 1 <= digits <= 15:
        raise ValueError(f"general: digits must be 1 to 15, not {digits}")
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    a = np.abs(x)
    low, high = 10.0 ** (digits - 1), 10.0**digits
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        zero = a == 0
        fast = zero | ((a >= 10.0**-_GENERAL_RANGE) & (a <= 10.0**_GENERAL_RANGE))  # False for nan, inf
        a = np.where(fast & ~zero, a, 1.0)
        exponent = np.floor(np.log10(a)).astype(np.int64)
        y = a * 10.0 ** (digits - 1 - exponent)
        # log10 may be one off next to a power of ten: bring y into [10**(digits-1), 10**digits)
        exponent -= y < low
        exponent += y >= high
        y = a * 10.0 ** (digits - 1 - exponent)
        fast &= zero | (np.abs(y - np.floor(y) - 0.5) >= _TIE_TOLERANCE)
    m = np.rint(y).astype(np.int64)
    carried = m >= 10**digits  # 999999.7 -> 1000000: one more decimal place
    m = np.where(carried, 10 ** (digits - 1), m)
    exponent += carried
    m = np.where(zero, 0, m)
    exponent = np.where(zero, 0, exponent)
    number = np.zeros((n, digits), dtype=np.uint8)  # the significant digits, most significant first
    rest = m.copy()
    kept = np.full(n, digits, dtype=np.int64)  # significant digits left once trailing zeros are dropped
    trailing = np.ones(n, dtype=bool)
    for j in range(digits - 1, -1, -1):
        digit = rest % 10
        number[:, j] = digit.astype(np.uint8) + _DIGIT
        trailing &= digit == 0
        kept -= trailing & (j > 0)
        rest //= 10
    plain = (exponent >= -4) & (exponent < digits)  # fixed notation
    # slots: sign | integer part (up to `digits`) | point | zeros after the point (up to 4) | fraction digits (up
    # to `digits`) | e, exponent sign, exponent digits (3); unused slots are 0 (no byte)
    rows = np.arange(n)
    whole = np.where(plain & (exponent >= 0), exponent + 1, 1)  # digits before the point
    first_fraction = np.where(plain, np.where(exponent >= 0, exponent + 1, 0), 1)  # its index in `number`
    n_fraction = np.maximum(kept - first_fraction, 0)
    n_zeros = np.where(plain & (exponent < 0), -exponent - 1, 0)
    field = np.zeros((n, 1 + digits + 1 + 4 + digits + 5), dtype=np.uint8)
    field[:, 0] = np.where(np.signbit(x), ord("-"), 0)
    below_one = plain & (exponent < 0)
    for j in range(digits):
        field[:, 1 + j] = np.where(j < whole, np.where(below_one, _DIGIT, number[:, j]), 0)
    field[:, 1 + digits] = np.where(n_fraction > 0, ord("."), 0)
    for k in range(4):
        field[:, 2 + digits + k] = np.where(k < n_zeros, _DIGIT, 0)
    for j in range(digits):
        source = number[rows, np.minimum(first_fraction + j, digits - 1)]
        field[:, 6 + digits + j] = np.where(j < n_fraction, source, 0)
    e = 6 + 2 * digits
    power = np.abs(exponent)
    field[:, e] = np.where(plain, 0, ord("e"))
    field[:, e + 1] = np.where(plain, 0, np.where(exponent < 0, ord("-"), ord("+")))
    field[:, e + 2] = np.where(plain | (power < 100), 0, power // 100 % 10 + _DIGIT)
    field[:, e + 3] = np.where(plain, 0, power // 10 % 10 + _DIGIT)
    field[:, e + 4] = np.where(plain, 0, power % 10 + _DIGIT)
    slow = np.flatnonzero(~fast)
    return _place(_used(field), slow, _python_text(x[slow], f"%.{digits}g"))


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
                dtype=np.uint64)


def formatted(template: str, columns: Sequence[np.ndarray]) -> tuple[StringTable, np.ndarray]:
    """``template % (columns[0][i], columns[1][i], ...)`` of every row (float64 columns, shape (n,) each), formatted
    by Python once per distinct tuple of values (bit patterns), so the text is Python's exactly: the table of
    distinct texts and each row's index into it (int64, (n,)).

    Distinct tuples are found by sorting a 64-bit mix of the bit patterns (its high bits, with the row number in the
    low bits: one sort; sorting the tuples themselves costs several times more); every row is then checked against
    its group's first row, and a row whose values differ (a collision of the mix) gets a text of its own. A template
    of ``%.Nf`` and ``%.Ng`` specifications between literal texts (the writers' own) is formatted in numpy
    (:func:`fixed`, :func:`general`); any other by Python's ``%``, a block of distinct tuples at a time."""
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
    # the rows in the order of their mix's high bits, as many as fit beside the row numbers (motifscan.sorting);
    # rows of equal high bits are a group, checked below
    key_bits = 63 - row_bits(n)
    mixed >>= np.uint64(64 - key_bits)
    ordered = sort_with_rows(mixed.view(np.int64), key_bits)  # in place: the mix's array holds the sorted keys
    assert ordered is not None, "the key bits leave room for the row numbers"
    mixed, order = ordered
    new_group = np.concatenate(([True], mixed[1:] != mixed[:-1]))
    del mixed
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
    pieces = _numeric_template(template, len(columns))
    # the distinct tuples' text, a block of FORMAT_BLOCK at a time (the formatters' temporaries, about a hundred
    # bytes per value, stay bounded when millions of tuples are distinct), then the blocks in one zero-padded
    # matrix, each block released once copied
    blocks = [_formatted_block(template, pieces, columns, rows[first : first + FORMAT_BLOCK])
              for first in range(0, len(rows), FORMAT_BLOCK)]
    table = np.zeros((len(rows), max(b.shape[1] for b in blocks)), dtype=np.uint8)
    for k, first in enumerate(range(0, len(rows), FORMAT_BLOCK)):
        letters = blocks[k]
        table[first : first + len(letters), : letters.shape[1]] = letters
        blocks[k] = _NO_LETTERS  # released (a view would keep the block's memory)
    return StringTable(table), index


_NO_LETTERS = np.zeros((0, 0), dtype=np.uint8)


def _formatted_block(template: str, pieces: tuple[list[str], list[tuple[str, int]]] | None,
                     columns: Sequence[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The text of ``template`` for ``rows`` (int64, (b,)) of ``columns``: (b, w) uint8, zero-padded. With
    ``pieces`` (the template as literals and ``%.Nf``/``%.Ng`` specifications) made in numpy, field by field, as
    Python writes it; else by Python's ``%`` (its floats and strings are transient; only the bytes are kept)."""
    if pieces is None:
        values = np.column_stack([np.asarray(c, dtype=np.float64)[rows] for c in columns]).tolist()
        return StringTable.of([template % tuple(v) for v in values]).letters
    literals, specs = pieces
    parts = [constant(literals[0], len(rows))]
    for (kind, precision), column, literal in zip(specs, columns, literals[1:]):
        values = np.asarray(column, dtype=np.float64)[rows]
        parts += [fixed(values, precision) if kind == "f" else general(values, precision),
                  constant(literal, len(rows))]
    return np.concatenate(parts, axis=1)


_SPEC = re.compile(r"%\.(\d+)([fg])")


def _numeric_template(template: str, n_columns: int) -> tuple[list[str], list[tuple[str, int]]] | None:
    """A template made only of ``%.Nf`` (N <= 15) and ``%.Ng`` (1 <= N <= 15) specifications, one per column,
    between literal texts without ``%`` or NUL: (the literal texts, n_columns + 1 of them; the (kind, precision) of
    each specification). None for any other template (it is then formatted by Python)."""
    split = _SPEC.split(template)
    literals, specs = split[::3], [(kind, int(precision)) for precision, kind in zip(split[1::3], split[2::3])]
    if len(specs) != n_columns or any("%" in text or "\0" in text for text in literals):
        return None
    if any(not (0 if kind == "f" else 1) <= precision <= 15 for kind, precision in specs):
        return None
    return literals, specs


FORMAT_BLOCK = 1 << 16
""":func:`formatted` formats this many distinct tuples at a time (bounds its Python floats and strings)."""

COMPARE_BLOCK = 1 << 20
""":func:`formatted` checks this many rows against their groups' first rows at a time."""


def join_fields(fields: Sequence[np.ndarray], separator: str = "\t") -> str:
    """The rows of ``fields`` (each (n, w_k) uint8, 0 = no byte) as text: fields joined by ``separator``, each row
    ending in a newline."""
    return join_bytes(fields, separator).decode("utf-8")


def join_bytes(fields: Sequence[np.ndarray], separator: str = "\t") -> bytes:
    """:func:`join_fields` as UTF-8 bytes (what a file receives: no text layer to encode it again)."""
    if not fields or not len(fields[0]):
        return b""
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
    return matrix.tobytes().translate(None, b"\0")  # the zero bytes dropped (C, 3-4 times faster than a mask)
