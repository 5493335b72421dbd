"""The 0-order background model: letter probabilities b = (b_A, b_C, b_G, b_T)."""

from __future__ import annotations

import numpy as np

from motifscan.encoding import letter_frequencies
from motifscan.errors import UsageError

UNIFORM = np.full(4, 0.25)


def is_auto(spec) -> bool:
    """Whether ``spec`` asks for the background to be estimated from the scanned sequences."""
    return isinstance(spec, str) and spec.strip().lower() == "auto"


def parse_background(spec: str | tuple | list | np.ndarray) -> np.ndarray:
    """A fixed background from its user-facing form: ``"uniform"`` or four numbers ``"A,C,G,T"`` (normalized to sum
    1); shape (4,). ``"auto"`` is not fixed: see :func:`is_auto` and :func:`background_from_codes`."""
    if isinstance(spec, str):
        word = spec.strip().lower()
        if word == "uniform":
            return UNIFORM.copy()
        if word == "auto":
            raise UsageError("the 'auto' background depends on the scanned sequences; it cannot be used here")
        try:
            values = [float(v) for v in spec.split(",")]
        except ValueError:
            raise UsageError(f"bad background {spec!r}: give 'uniform', 'auto' or four numbers A,C,G,T") from None
    else:
        values = [float(v) for v in spec]
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        total = array.sum()
    if array.shape != (4,) or not np.all(np.isfinite(array)) or (array <= 0).any() or not np.isfinite(total):
        raise UsageError(f"bad background {spec!r}: need four positive (finite) numbers A,C,G,T")
    return array / total


def background_from_codes(codes_list: list[np.ndarray]) -> np.ndarray:
    """0-order letter frequencies of the scanned sequences, made strand-symmetric (A=T, C=G); shape (4,).

    Results scanned with it depend on which sequences were scanned together.
    """
    return background_from_counts(letter_frequencies(codes_list))


def background_from_counts(counts: np.ndarray) -> np.ndarray:
    """:func:`background_from_codes` from the counts of A, C, G, T (shape (4,)): strand-symmetric frequencies."""
    counts = np.asarray(counts, dtype=np.float64)
    counts = (counts + counts[::-1]) / 2  # A<->T, C<->G: the reverse complement is scanned too
    if counts.sum() == 0 or (counts == 0).any():
        counts = counts + 1.0  # a sequence without some letter must not get a zero background
    return counts / counts.sum()
