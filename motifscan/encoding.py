"""DNA text -> uint8 codes, through one 256-entry lookup table: A=0, C=1, G=2, T=3 (either case), anything else 4.

Codes are what the scanner and the background estimate work on; the text itself is kept for reporting matched
sequences in the source's letter case.
"""

from __future__ import annotations

import re

import numpy as np

INVALID = 4
"""The code of every letter that is not A, C, G or T (N, IUPAC ambiguity codes, gaps)."""

SEQUENCE_CHARACTERS = "A-Za-z*.-"
"""What a sequence may hold, as a regular-expression character class body: letters (A, C, G, T, N, IUPAC codes, in
either case: lowercase is soft-masking), ``-`` and ``.`` (gaps) and ``*``. The one letter check of every reader."""

_NOT_SEQUENCE = re.compile(f"[^{SEQUENCE_CHARACTERS}]")


def first_non_sequence(text: str) -> int | None:
    """The position of the first character of ``text`` that cannot be in a sequence (see
    :data:`SEQUENCE_CHARACTERS`), or None when every character can."""
    bad = _NOT_SEQUENCE.search(text)
    return None if bad is None else bad.start()


def _table(lowercase_valid: bool) -> np.ndarray:
    table = np.full(256, INVALID, dtype=np.uint8)
    for code, letter in enumerate("ACGT"):
        table[ord(letter)] = code
        if lowercase_valid:
            table[ord(letter.lower())] = code
    return table


_TABLES = {True: _table(True), False: _table(False)}

_COMPLEMENT = str.maketrans("ACGTURYKMBDHVNSWacgturykmbdhvnsw", "TGCAAYRMKVHDBNSWtgcaayrmkvhdbnsw")


def encode(sequence: str, mask_lowercase: bool = False) -> np.ndarray:
    """Codes of a DNA string, shape (len(sequence),), uint8.

    Lowercase (soft-masked) a, c, g, t get the codes of their capitals unless ``mask_lowercase``, which makes them
    ``INVALID`` so that windows touching them are not scored.
    """
    raw = np.frombuffer(sequence.encode("ascii", errors="replace"), dtype=np.uint8)
    return _TABLES[not mask_lowercase][raw]


def invalid_runs(sequence: str, min_length: int = 1) -> np.ndarray:
    """The runs of letters other than A, C, G, T (either case: N, IUPAC codes, gaps) in ``sequence``, at least
    ``min_length`` long; shape (k, 2), int64, rows ``[start, end)`` 0-based half-open positions in the sequence."""
    invalid = (encode(sequence) == INVALID).view(np.int8)
    if not invalid.any():
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.diff(np.concatenate(([0], invalid, [0])).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= min_length
    return np.column_stack((starts[keep], ends[keep])).astype(np.int64)


def reverse_complement(sequence: str) -> str:
    """The reverse complement, keeping letter case and IUPAC codes (N stays N)."""
    return sequence.translate(_COMPLEMENT)[::-1]


_COMPLEMENT_BYTES = np.arange(256, dtype=np.uint8)
for _letter, _partner in zip("ACGTURYKMBDHVNSWacgturykmbdhvnsw", "TGCAAYRMKVHDBNSWtgcaayrmkvhdbnsw"):
    _COMPLEMENT_BYTES[ord(_letter)] = ord(_partner)


def reverse_complement_bytes(letters: np.ndarray) -> np.ndarray:
    """:func:`reverse_complement` of ASCII letters as uint8 arrays: shape (k, w), each row one site; a new array."""
    return _COMPLEMENT_BYTES[letters[:, ::-1]]


def letter_frequencies(codes_list: list[np.ndarray]) -> np.ndarray:
    """Counts of A, C, G, T over several code arrays (each shape (n_i,)); shape (4,), float64."""
    totals = np.zeros(INVALID + 1, dtype=np.float64)
    for codes in codes_list:
        totals += np.bincount(codes, minlength=INVALID + 1)[: INVALID + 1]
    return totals[:4]
