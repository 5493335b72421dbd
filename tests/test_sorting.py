"""motifscan.sorting.sort_with_rows against numpy's stable argsort (ties, dtypes, the keys that do not fit)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from motifscan.sorting import row_bits, sort_with_rows


@given(st.lists(st.integers(0, 2**20 - 1), max_size=300), st.sampled_from([np.int32, np.int64, np.uint64]))
def test_sort_with_rows_is_the_stable_argsort(values, dtype):
    # few distinct keys in most draws: ties must keep their rows' order, as a stable sort does
    keys = np.array(values, dtype=dtype) % 7 if len(values) % 2 else np.array(values, dtype=dtype)
    original = keys.copy()
    result = sort_with_rows(keys, 20)
    assert result is not None
    ordered, order = result
    expected = np.argsort(original, kind="stable")
    assert np.array_equal(order, expected)
    assert np.array_equal(ordered, original[expected])
    if dtype is not np.int64:
        assert np.array_equal(keys, original)  # copied, not sorted in place


def test_keys_that_leave_no_room_for_the_row_numbers_are_refused():
    keys = np.arange(1000, dtype=np.int64)
    assert row_bits(1000) == 10 and row_bits(1) == 1
    assert sort_with_rows(keys, 54) is None
    assert np.array_equal(keys, np.arange(1000))  # untouched
    assert sort_with_rows(keys, 53) is not None
