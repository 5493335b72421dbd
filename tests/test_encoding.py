"""Encoding of many sequences at once (one joined array) against the encoding of each sequence alone, and against
letters read one at a time."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.encoding import INVALID, encode, encode_joined, invalid_runs, invalid_runs_many

LETTERS = "ACGTacgtNnRY-.*é\n"


def letter_code(letter: str, mask_lowercase: bool) -> int:
    """The code of one letter, by its definition: A, C, G, T (and a, c, g, t unless masked) are 0..3."""
    if letter in "ACGT":
        return "ACGT".index(letter)
    if letter in "acgt" and not mask_lowercase:
        return "acgt".index(letter)
    return INVALID


@settings(max_examples=200, deadline=None)
@given(sequences=st.lists(st.text(alphabet=LETTERS, max_size=40), max_size=8), mask_lowercase=st.booleans())
def test_encode_joined_holds_each_sequence_between_invalid_separators(sequences, mask_lowercase):
    joined = encode_joined(sequences, mask_lowercase)
    assert len(joined) == len(sequences)
    assert joined.codes.dtype == np.uint8
    assert len(joined.codes) == sum(map(len, sequences)) + max(len(sequences) - 1, 0)
    for i, sequence in enumerate(sequences):
        expected = [letter_code(letter, mask_lowercase) for letter in sequence]
        assert joined.of(i).tolist() == expected
        assert encode(sequence, mask_lowercase).tolist() == expected
        if i + 1 < len(sequences):  # the separator
            assert joined.codes[joined.starts[i] + joined.lengths[i]] == INVALID
    assert [c.tolist() for c in joined.split()] == [encode(s, mask_lowercase).tolist() for s in sequences]
    assert joined.invalid_counts().tolist() == [sum(letter_code(c, mask_lowercase) == INVALID for c in s)
                                                for s in sequences]
    ends = [len(s) // 2 for s in sequences]
    assert joined.invalid_counts(np.array(ends, dtype=np.int64)).tolist() == [
        sum(letter_code(c, mask_lowercase) == INVALID for c in s[:end]) for s, end in zip(sequences, ends)]
    if len(joined.codes):
        positions = np.arange(len(joined.codes))
        owner = joined.target_of(positions)
        for i in range(len(sequences)):
            inside = positions[joined.starts[i] : joined.starts[i] + joined.lengths[i]]
            assert (owner[inside] == i).all()


@settings(max_examples=200, deadline=None)
@given(sequences=st.lists(st.text(alphabet="ACGTacgtNnRY-", max_size=40), max_size=8),
       min_length=st.integers(1, 5))
def test_invalid_runs_many_equals_each_sequence_alone(sequences, min_length):
    target, start, end = invalid_runs_many(sequences, min_length)
    got = list(zip(target.tolist(), start.tolist(), end.tolist()))
    expected = [(i, m.start(), m.end()) for i, s in enumerate(sequences)
                for m in re.finditer("[^ACGTacgt]+", s) if m.end() - m.start() >= min_length]
    assert got == expected
    assert [(i, a, b) for i, s in enumerate(sequences) for a, b in invalid_runs(s, min_length).tolist()] == expected
