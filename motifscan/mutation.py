"""Site-destroying mutations for reporter assays: the fewest substitutions inside a site that leave no site behind.

Rules (issue 13), for a site ``[site_start, site_end)`` of a factor's matrix:

1. Only bases inside the site change (at most ``max_changes``, default 4), each to one of the three other letters.
2. Afterwards no window of a *factor* matrix (a scanned matrix of the site's TF) that holds a changed base, on either
   strand, has p below ``factor_p`` (default 0.01).
3. No window of *any* scanned matrix that holds a changed base reaches the scan's p threshold (p <= p_threshold)
   unless that same window (matrix, position, strand) did before the mutation: the mutation makes no new site.

Windows that hold no changed base are unchanged and are not considered; windows holding a letter other than A, C, G,
T are not scored (as in the scanner). Letter case is ignored here (a plasmid has no soft-masking), so a scan run with
``--mask-lowercase`` is checked more strictly than it was scanned.

Search: sizes 1, 2, ... ``max_changes`` in turn, every set of positions and letters of that size, vectorised over
candidates (score of a window after a set of substitutions = its score before + the sum of each substitution's
change, so a candidate is a sum of a few precomputed rows). The first size with any valid candidate wins, so the
answer has the fewest substitutions; among those, the candidate whose best remaining factor window lies furthest
below its cut is chosen (ties: positions and letters in order). Windows that no set of ``max_changes`` substitutions
can bring to a cut are dropped before the search.

Cuts are score thresholds from :class:`motifscan.pvalues.ScoreDistribution`, taken at the p-value times
(1 + 2 x REL_TOL) so that every window allowed has an exact p at or above the rule's bound despite the 1% tolerance of
the thresholds; the p-values reported afterwards are the distribution's (within 1% of exact).

Coordinates: every position here is an index into the local ``sequence`` given (its + strand); the caller adds the
genomic offset.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motifscan.encoding import INVALID, encode, reverse_complement
from motifscan.motifs import reverse_complement_matrix
from motifscan.pvalues import REL_TOL, TIE_EPS_BITS, ScoreDistribution

LETTERS = "ACGT"
FACTOR_P = 0.01
MAX_CHANGES = 4
_MARGIN = 1.0 + 2.0 * REL_TOL  # thresholds are exact within REL_TOL: ask for a cut that much stricter
_CHUNK_CELLS = 1 << 22  # candidates x windows per vectorised block (32 MB of float64)


@dataclass(frozen=True)
class ScoringMatrix:
    """One scanned matrix as the mutation search needs it: ``log_odds`` shape (4, w), rows A, C, G, T (bits), its
    ``distribution`` under the scan's background, and whether it belongs to the site's factor."""

    motif_id: str
    motif_name: str
    log_odds: np.ndarray
    distribution: ScoreDistribution
    is_factor: bool


@dataclass(frozen=True)
class Substitution:
    """One changed base: ``position`` indexes the local + strand sequence (0-based); ``ref``/``alt`` are + strand
    letters."""

    position: int
    ref: str
    alt: str


@dataclass(frozen=True)
class WindowP:
    """The p-value of one window after the mutation: matrix, local 0-based start, strand relative to the sequence."""

    motif_id: str
    motif_name: str
    start: int
    strand: str
    p_value: float


@dataclass(frozen=True)
class Mutation:
    """A site-destroying mutation.

    ``changes`` in position order. ``site_p``: the p-value of the site's own window (its matrix, start and strand)
    after the mutation. ``factor_best``: the factor window holding a changed base with the smallest p afterwards
    (p >= ``factor_p`` by construction). ``other_best``: among the windows of every scanned matrix holding a changed
    base that did not pass the scan's threshold before, the one with the smallest p afterwards (p > p_threshold), or
    None when there is none.
    """

    changes: tuple[Substitution, ...]
    mutant: str
    site_p: float
    factor_best: WindowP
    other_best: WindowP | None


@dataclass(frozen=True)
class _Windows:
    """Every window of every matrix and strand that holds at least one site position, flattened to V columns."""

    matrix: np.ndarray  # (V,) index into the matrices
    start: np.ndarray  # (V,) local 0-based window start
    minus: np.ndarray  # (V,) bool: scored with the reverse-complement matrix
    score: np.ndarray  # (V,) score before the mutation, bits
    limit: np.ndarray  # (V,) a changed window must score below this
    factor_cut: np.ndarray  # (V,) the factor rule's cut (inf for other matrices)
    delta: np.ndarray  # (n_options, V) score change of each substitution option
    holds: np.ndarray  # (n_positions, V) bool: the window holds the site position


def _windows(codes: np.ndarray, positions: np.ndarray, options: np.ndarray, matrices: Sequence[ScoringMatrix],
             p_threshold: float, factor_p: float) -> _Windows:
    """Windows holding a mutable position; ``options`` (n_options, 2): (index into positions, new code)."""
    parts: dict[str, list] = {k: [] for k in ("matrix", "start", "minus", "score", "limit", "factor_cut", "delta",
                                              "holds")}
    first, last = int(positions.min()), int(positions.max())
    for k, matrix in enumerate(matrices):
        width = matrix.log_odds.shape[1]
        starts = np.arange(max(0, first - width + 1), min(last, codes.size - width) + 1)
        if starts.size == 0:
            continue
        windows = codes[starts[:, None] + np.arange(width)]  # (n, w)
        scorable = (windows < INVALID).all(axis=1)
        starts, windows = starts[scorable], windows[scorable]
        distribution = matrix.distribution
        scan_cut = distribution.score_threshold(p_threshold)
        new_cut = distribution.score_threshold(min(1.0, p_threshold * _MARGIN))
        factor_cut = distribution.score_threshold(min(1.0, factor_p * _MARGIN)) if matrix.is_factor else np.inf
        for minus, table in ((False, matrix.log_odds), (True, reverse_complement_matrix(matrix.log_odds))):
            score = table[windows, np.arange(width)].sum(axis=1)
            before = score >= scan_cut - TIE_EPS_BITS
            limit = np.minimum(np.where(before, np.inf, new_cut), factor_cut) - TIE_EPS_BITS
            column = positions[options[:, 0]][:, None] - starts[None, :]  # (n_options, n)
            inside = (column >= 0) & (column < width)
            safe = np.clip(column, 0, width - 1)
            old = codes[positions[options[:, 0]]]
            delta = np.where(inside, table[options[:, 1][:, None], safe] - table[old[:, None], safe], 0.0)
            offsets = positions[:, None] - starts[None, :]
            parts["matrix"].append(np.full(starts.size, k))
            parts["start"].append(starts)
            parts["minus"].append(np.full(starts.size, minus))
            parts["score"].append(score)
            parts["limit"].append(limit)
            parts["factor_cut"].append(np.full(starts.size, factor_cut))
            parts["delta"].append(delta)
            parts["holds"].append((offsets >= 0) & (offsets < width))
    if not parts["matrix"]:
        raise ValueError("no scorable window holds the site")
    joined = {k: np.concatenate(v, axis=1 if k in ("delta", "holds") else 0) for k, v in parts.items()}
    return _Windows(**joined)


def _relevant(windows: _Windows, max_changes: int, n_positions: int, options: np.ndarray) -> np.ndarray:
    """Columns that some set of ``max_changes`` substitutions could leave at or above their limit."""
    gains = np.zeros((n_positions, windows.score.size))
    np.maximum.at(gains, options[:, 0], windows.delta)  # best gain per position (>= 0: 'no change')
    best = -np.sort(-gains, axis=0)[:max_changes].sum(axis=0)
    return windows.score + best >= windows.limit


def _candidates(n_positions: int, size: int) -> np.ndarray:
    """Every set of ``size`` substitutions as option indices, shape (n, size); option = 3 * position + choice."""
    combos = np.array(list(itertools.combinations(range(n_positions), size)), dtype=np.int64).reshape(-1, size)
    choices = np.array(list(itertools.product(range(3), repeat=size)), dtype=np.int64).reshape(-1, size)
    return (combos[:, None, :] * 3 + choices[None, :, :]).reshape(-1, size)


def destroy_site(sequence: str, site_start: int, site_end: int, site_strand: str, site_matrix: int,
                 matrices: Sequence[ScoringMatrix], p_threshold: float, *, factor_p: float = FACTOR_P,
                 max_changes: int = MAX_CHANGES) -> Mutation | None:
    """The site-destroying mutation with the fewest substitutions (see the module docstring), or None when no set of
    at most ``max_changes`` substitutions inside the site satisfies the rules.

    Parameters
    ----------
    sequence : str
        Local + strand sequence holding the site and, where the chromosome has them, ``w_max - 1`` bases on each side
        (``w_max`` the widest matrix), so that every window holding a site base can be scored.
    site_start, site_end : int
        The site, 0-based half-open in ``sequence``.
    site_strand : str
        ``"+"`` or ``"-"``: the strand of the site's own window.
    site_matrix : int
        Index in ``matrices`` of the site's matrix.
    matrices : sequence of ScoringMatrix
        Every scanned matrix, ``is_factor`` set for those of the site's TF.
    p_threshold : float
        The scan's p-value threshold.
    """
    codes = encode(sequence.upper())
    positions = np.array([i for i in range(site_start, site_end) if codes[i] < INVALID], dtype=np.int64)
    if positions.size == 0:
        return None
    # option 3*i + c: position i (index into positions) to the c-th of its three other letters
    alternatives = np.array([[b for b in range(4) if b != codes[p]] for p in positions], dtype=np.int64)
    options = np.column_stack([np.repeat(np.arange(positions.size), 3), alternatives.ravel()])
    windows = _windows(codes, positions, options, matrices, p_threshold, factor_p)
    keep = _relevant(windows, max_changes, positions.size, options)
    score, limit, delta = windows.score[keep], windows.limit[keep], windows.delta[:, keep]
    holds = windows.holds[:, keep]
    factor_margin_cut = windows.factor_cut[keep]
    for size in range(1, max_changes + 1):
        chosen = _best_of_size(positions.size, size, score, limit, delta, holds, factor_margin_cut)
        if chosen is not None:
            changes = tuple(Substitution(int(positions[o // 3]), LETTERS[codes[positions[o // 3]]],
                                         LETTERS[alternatives[o // 3, o % 3]]) for o in sorted(chosen))
            return _describe(sequence, codes, changes, matrices, (site_start, site_end, site_strand, site_matrix),
                             p_threshold)
    return None


def _best_of_size(n_positions: int, size: int, score, limit, delta, holds, factor_cut) -> np.ndarray | None:
    """The best valid candidate of ``size`` substitutions (option indices), or None."""
    if n_positions < size:
        return None
    candidates = _candidates(n_positions, size)
    chunk = max(1, _CHUNK_CELLS // max(1, score.size))
    best, best_margin = None, np.inf
    for begin in range(0, len(candidates), chunk):
        block = candidates[begin:begin + chunk]
        after = score + delta[block].sum(axis=1)  # (n, V)
        changed = holds[block // 3].any(axis=1)
        valid = ~(changed & (after >= limit)).any(axis=1)
        if not valid.any():
            continue
        with np.errstate(invalid="ignore"):
            margins = np.where(changed & np.isfinite(factor_cut), after - factor_cut, -np.inf).max(axis=1)
        margins = np.where(valid, margins, np.inf)
        i = int(np.argmin(margins))
        if margins[i] < best_margin:
            best, best_margin = block[i], margins[i]
    return best


def _describe(sequence: str, codes: np.ndarray, changes: tuple[Substitution, ...], matrices: Sequence[ScoringMatrix],
              site: tuple[int, int, str, int], p_threshold: float) -> Mutation:
    """The mutant and the p-values of every window holding a changed base, rescored from scratch; ``site``:
    (start, end, strand, matrix index)."""
    site_start, site_end, site_strand, site_matrix = site
    mutant_codes = codes.copy()
    letters = list(sequence)
    for change in changes:
        mutant_codes[change.position] = LETTERS.index(change.alt)
        original = letters[change.position]
        letters[change.position] = change.alt if original.isupper() else change.alt.lower()
    changed = np.array([c.position for c in changes])
    factor_best: WindowP | None = None
    other_best: WindowP | None = None
    site_p = 1.0
    for k, matrix in enumerate(matrices):
        width = matrix.log_odds.shape[1]
        starts = np.arange(max(0, changed.min() - width + 1), min(changed.max(), codes.size - width) + 1)
        holding = ((changed[None, :] >= starts[:, None]) & (changed[None, :] < starts[:, None] + width)).any(axis=1)
        starts = starts[holding]
        after_windows = mutant_codes[starts[:, None] + np.arange(width)]
        before_windows = codes[starts[:, None] + np.arange(width)]
        scorable = (after_windows < INVALID).all(axis=1)
        starts, after_windows, before_windows = starts[scorable], after_windows[scorable], before_windows[scorable]
        cut = matrix.distribution.score_threshold(p_threshold)
        for strand, table in (("+", matrix.log_odds), ("-", reverse_complement_matrix(matrix.log_odds))):
            after = table[after_windows, np.arange(width)].sum(axis=1)
            before = table[before_windows, np.arange(width)].sum(axis=1)
            p_after = matrix.distribution.pvalues(after)
            for start, p, was_site in zip(starts, p_after, before >= cut - TIE_EPS_BITS):
                window = WindowP(matrix.motif_id, matrix.motif_name, int(start), strand, float(p))
                if k == site_matrix and start == site_start and strand == site_strand:
                    site_p = float(p)
                if matrix.is_factor and (factor_best is None or p < factor_best.p_value):
                    factor_best = window
                if not was_site and (other_best is None or p < other_best.p_value):
                    other_best = window
    assert factor_best is not None  # the site's own window holds every change
    mutant = "".join(letters[site_start:site_end])
    if site_strand == "-":
        mutant = reverse_complement(mutant)
    return Mutation(changes, mutant, site_p, factor_best, other_best)
