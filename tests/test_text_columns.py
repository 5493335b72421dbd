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


# --- the numpy float formatters (fixed, general) against Python's % on Hypothesis-generated values --------------

_SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 1e300,
            1.7976931348623157e308, 1e-4, 1e-5, 9.999995e-5, 0.00099999951, 999999.5, 999999.4999, 9999995.0, 0.5, 1.5,
            2.5, -2.5, 0.0009765625, 2.0**-20, 123456.5, 0.1, 1 / 3, -1e-9, 0.9999995, 99999.95, 1e15, 1e16, 8589.9,
            8590.0, -8589.934592]
"""Edge values: signed zeros, nan, inf, subnormals, the largest float, exact ties of the 6th digit (dyadic values
such as 2**-10), values that round up to a new power of ten, and the limits of the numpy ranges."""

_FLOATS_OR_EDGES = st.one_of(_FLOATS, st.sampled_from(_SPECIAL),
                             st.floats(-1e4, 1e4), st.floats(1e-12, 1.0))


def _python_rows(spec: str, values: np.ndarray) -> str:
    return "".join(spec % v + "\n" for v in values.tolist())


@settings(max_examples=300, deadline=None)
@given(st.lists(_FLOATS_OR_EDGES, max_size=60), st.integers(0, 15))
def test_fixed_is_percent_f(values, decimals):
    array = np.array(values, dtype=np.float64)
    assert text.join_fields([text.fixed(array, decimals)]) == _python_rows(f"%.{decimals}f", array)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FLOATS_OR_EDGES, max_size=60), st.integers(1, 15))
def test_general_is_percent_g(values, digits):
    array = np.array(values, dtype=np.float64)
    assert text.join_fields([text.general(array, digits)]) == _python_rows(f"%.{digits}g", array)


def test_formatters_on_many_values_of_every_magnitude():
    # a million-fold spread of magnitudes and the scores, p- and q-values of real scans (the writers' formats)
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(0, 30, 20_000), 10.0 ** rng.uniform(-300, 300, 20_000),
                             rng.uniform(0, 1, 20_000), np.round(rng.uniform(-50, 50, 5_000), 7), _SPECIAL])
    for spec, field in (("%.6f", text.fixed(values, 6)), ("%.6g", text.general(values, 6)),
                        ("%.3g", text.general(values, 3))):
        assert text.join_fields([field]) == _python_rows(spec, values), spec


def test_numeric_templates_and_others():
    # templates of %.Nf / %.Ng only are formatted in numpy; any other goes to Python: the text is the same
    assert text._numeric_template("%.6f\t%.6f\t%.6g\t%.6g", 4) == (["", "\t", "\t", "\t", ""],
                                                                 [("f", 6), ("f", 6), ("g", 6), ("g", 6)])
    for template in ("%.6f %s", "%6.2f", "%.6e", "%.0g", "%%%.3f", "%.6f"):
        assert text._numeric_template(template, 2) is None
    values = np.array([1.25, -0.0, np.nan, 3e-7, 1.25], dtype=np.float64)
    for template in ("<%.3f|%.2g>", "%.3e|%.4f"):
        table, index = text.formatted(template, [values, values[::-1]])
        expected = "".join(template % (x, y) + "\n" for x, y in zip(values.tolist(), values[::-1].tolist()))
        assert text.join_fields([table.field(index)]) == expected


def test_join_bytes_is_the_text_in_utf8():
    table = text.StringTable.of(["é", "ab", "\u2603"])
    fields = [table.field(np.array([2, 0, 1])), text.integers(np.array([-5, 0, 12]))]
    assert text.join_bytes(fields) == text.join_fields(fields).encode("utf-8") == "☃\t-5\né\t0\nab\t12\n".encode()


def test_formatted_many_rows_few_distinct_values():
    # thousands of rows (row numbers take 13 bits of the sort key) over few distinct tuples, nan and -0.0 among them
    rng = np.random.default_rng(3)
    pool = np.array([0.5, -0.0, 0.0, np.nan, 1e-300, 3.25e-5, 0.0009765625, 12.345678, -7.5, np.inf])
    a, b = pool[rng.integers(0, len(pool), 5000)], pool[rng.integers(0, len(pool), 5000)]
    table, index = text.formatted("%.6f\t%.6g", [a, b])
    assert len(table.letters) <= len(pool) ** 2
    expected = "".join("%.6f\t%.6g\n" % (x, y) for x, y in zip(a.tolist(), b.tolist()))  # noqa: UP031
    assert text.join_fields([table.field(index)]) == expected
