"""Independent oracles for tests: exact score distributions by full enumeration and one-window-at-a-time scoring.

Nothing here imports motifscan's scanning or p-value code.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}


def read_fasta_plainly(path: Path) -> dict[str, str]:
    """Every record of a FASTA (plain, gzip or bgzip), read with the standard library only: name -> sequence."""
    path = Path(path)
    with open(path, "rb") as probe:
        opener = gzip.open if probe.read(2) == b"\x1f\x8b" else open
    records: dict[str, list[str]] = {}
    with opener(path, "rt") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                chunks = records.setdefault(line[1:].split()[0], [])
            elif line:
                chunks.append(line)
    return {name: "".join(chunks) for name, chunks in records.items()}


def enumerate_scores(log_odds: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and probabilities of all 4**w words (w <= 11), by broadcasting column by column; shapes (4**w,)."""
    width = log_odds.shape[1]
    assert width <= 11, "full enumeration is for short matrices"
    scores = np.zeros(1)
    probs = np.ones(1)
    for j in range(width):
        scores = (scores[:, None] + log_odds[:, j][None, :]).ravel()
        probs = (probs[:, None] * background[None, :]).ravel()
    return scores, probs


def exact_pvalues(log_odds: np.ndarray, background: np.ndarray, query: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """P(S >= s) for each query score s, exactly (ties within ``eps`` bits count as >=)."""
    scores, probs = enumerate_scores(log_odds, background)
    order = np.argsort(scores)
    scores, probs = scores[order], probs[order]
    tail = np.concatenate([np.cumsum(probs[::-1])[::-1], [0.0]])
    return tail[np.searchsorted(scores, np.asarray(query) - eps, side="left")]


def window_score(log_odds: np.ndarray, window: str) -> float:
    """Score of one all-ACGT window (any case), column by column."""
    return float(sum(log_odds["ACGT".index(letter), j] for j, letter in enumerate(window.upper())))


def reverse_complement(window: str) -> str:
    """Reverse complement of an A/C/G/T/N string, keeping letter case."""
    return "".join(COMPLEMENT[c.upper()].lower() if c.islower() else COMPLEMENT[c] for c in reversed(window))


def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of a complete list of p-values (every test), monotone, capped at 1."""
    p_values = np.asarray(p_values, dtype=float)
    m = len(p_values)
    order = np.argsort(p_values)
    ranked = p_values[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q_values = np.empty(m)
    q_values[order] = q_sorted
    return q_values
