"""Column-wise text (motifscan.text_columns) against Python's own ``%`` formatting, row by row (the oracle)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan import text_columns as text

_FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=40))
def test_integers_are_percent_d(values):
    field = text.integers(np.array(values, dtype=np.int64))
    assert text.join_fields([field]) == "".join("%d\n" % v for v in values)  # noqa: UP031


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_FLOATS, _FLOATS), max_size=40), st.integers(0, 3))
def test_formatted_floats_are_pythons_text(pairs, repeats):
    # repeated rows exercise the distinct-value path; -0.0, nan, inf and subnormals come from Hypothesis
    pairs = pairs * (repeats + 1)
    a = np.array([p[0] for p in pairs], dtype=np.float64)
    b = np.array([p[1] for p in pairs], dtype=np.float64)
    table, index = text.formatted("%.6f\t%.6g", [a, b])
    expected = "".join("%.6f\t%.6g\n" % (x, y) for x, y in zip(a.tolist(), b.tolist()))  # noqa: UP031
    assert text.join_fields([table.field(index)]) == expected


def test_colliding_mix_still_gives_each_row_its_text(monkeypatch):
    # a mix that sends every tuple to one value: every row must be checked against its group's first row
    monkeypatch.setattr(text, "_MIX", np.zeros(4, dtype=np.uint64))
    values = np.array([0.5, 1.5, 0.5, 2.25, 1e-300, -0.0, 0.0], dtype=np.float64)
    table, index = text.formatted("%.6g", [values])
    assert text.join_fields([table.field(index)]) == "".join("%.6g\n" % v for v in values.tolist())  # noqa: UP031


@given(st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=6), min_size=1,
                max_size=8), st.data())
def test_string_tables_and_joined_fields(strings, data):
    index = data.draw(st.lists(st.integers(0, len(strings) - 1), max_size=20))
    ints = data.draw(st.lists(st.integers(-1000, 10**12), min_size=len(index), max_size=len(index)))
    fields = [text.StringTable.of(strings).field(np.array(index, dtype=np.int64)),
              text.integers(np.array(ints, dtype=np.int64)), text.constant("x", len(index))]
    assert text.join_fields(fields) == "".join(f"{strings[i]}\t{v}\tx\n" for i, v in zip(index, ints))


def test_formatted_in_blocks_of_different_widths(monkeypatch):
    # distinct tuples are formatted a block at a time: blocks whose texts are of different widths join into one
    # table, each row keeping Python's text (short texts first, so a later block is wider than the first)
    monkeypatch.setattr(text, "FORMAT_BLOCK", 3)
    values = np.array([1.0, 2.0, 1.0, 3.0, 1234567.0, 1e-300, -0.0, 2.0, 98765.4321, 7.0, 1e300], dtype=np.float64)
    table, index = text.formatted("%.6g|%.3f", [values, values[::-1]])
    expected = "".join("%.6g|%.3f\n" % (x, y) for x, y in zip(values.tolist(), values[::-1].tolist()))  # noqa: UP031
    assert text.join_fields([table.field(index)]) == expected


def test_formatted_checks_collisions_across_blocks(monkeypatch):
    # rows are checked against their group's first row a block at a time: with every tuple in one group (a
    # mix that sends all to one value) and tiny blocks, each row must still get its own text
    monkeypatch.setattr(text, "_MIX", np.zeros(4, dtype=np.uint64))
    monkeypatch.setattr(text, "COMPARE_BLOCK", 2)
    monkeypatch.setattr(text, "FORMAT_BLOCK", 2)
    values = np.array([0.5, 1.5, 0.5, 2.25, 1e-300, -0.0, 0.0, 1.5, 7.0], dtype=np.float64)
    table, index = text.formatted("%.6g", [values])
    assert text.join_fields([table.field(index)]) == "".join("%.6g\n" % v for v in values.tolist())  # noqa: UP031
