"""One sorting kernel shared by the engine (output order), the scanner (its k-mer index) and the text formatter
(distinct tuples): a stable sort of non-negative integer keys and the order it puts the rows in, by one in-place
``np.sort`` of each key with its row number packed into its low bits. numpy sorts int64 with a SIMD sort, several
times faster than ``argsort``; the row numbers make every packed value distinct and break ties by row, so the sort
is stable by construction."""

from __future__ import annotations

import numpy as np


def row_bits(n: int) -> int:
    """The low bits that the row numbers 0..n-1 take (at least 1)."""
    return max((n - 1).bit_length(), 1)


def sort_with_rows(keys: np.ndarray, key_bits: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The stable sort of ``keys`` (integers, (n,), each in [0, 2**key_bits)): (the sorted keys, the rows in that
    order), both int64 (n,), so that ``sorted = keys[order]``; None when a key and a row number do not fit 63 bits
    together (the caller then sorts another way). An int64 ``keys`` is sorted in place, its array reused for the
    sorted keys (callers pass keys they own and no longer need in their first order); other dtypes are copied."""
    bits = row_bits(len(keys))
    if key_bits + bits > 63:
        return None
    packed = keys.astype(np.int64, copy=False)
    packed <<= bits
    packed |= np.arange(len(packed), dtype=np.int64)
    packed.sort()
    order = packed & ((1 << bits) - 1)
    packed >>= bits
    return packed, order
