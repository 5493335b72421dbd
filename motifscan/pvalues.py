"""P-values of motif scores, the score thresholds that go with a p-value, and Benjamini-Hochberg q-values.

Model
-----
A motif is a log-odds matrix ``log_odds`` (float64, shape (4, w), rows A, C, G, T, entries in bits). The score of a
word x_1..x_w is S = sum_j log_odds[x_j, j]. Its p-value is P(S >= s - TIE_EPS_BITS) for a word drawn letter by letter
i.i.d. from ``background`` (shape (4,)), one strand: a word whose score equals s (computed in another order, so up to
float rounding) counts as ">=". Every p-value returned lies within ``REL_TOL`` (1%) relative of that exact value.

Method
------
1. Lattice. Each entry is rounded to a multiple of ``QUANTUM_BITS`` (2**-40 bits). Partial sums of such numbers (below
   2**12 bits) are exact in float64, so equal scores compare equal and ties are exact; the rounding moves a word's
   score by at most w * 2**-41 < 2e-11 bits, far below ``TIE_EPS_BITS``. Scores are handled as *deficits*:
   d[i, j] = max_i' log_odds[i', j] - log_odds[i, j] >= 0, D = sum_j d[x_j, j] = max_score - S, and the p-value of s is
   Phi(x) = P(D <= x) at the lattice point x = floor(max_score - s + TIE_EPS_BITS).
2. Grid bracket. For a grid step delta = 2**-g, rounding every deficit up to the grid (ceil(d / delta) * delta) makes
   D_up >= D, rounding down makes D_down <= D, so P(D_up <= x) <= Phi(x) <= P(D_down <= x) for every x. Both
   distributions come from one DP over columns on integer bins (numpy slice adds, one per letter and column),
   truncated at the largest deficit asked for (deficits only grow along the DP, so truncation is exact below it).
   The best letter of each column has deficit 0 and sits on the grid exactly, so the words near the consensus that
   make up small tails carry little rounding error.
3. Refinement. A bracket is accepted when upper <= (1 + REL_TOL) * lower; the p-value reported is the geometric mean
   of the two bounds (so within 0.5% of exact). Unresolved scores get a finer grid (delta / 4 or finer; the first
   grid has ~2**8 bins over the whole range, the next ~2**11 over the deficits still asked for). Where a 4x finer
   grid does not halve the bracket (ties, or tails made of few words, whose mass no grid can split) a branch and
   bound takes over: the exact deficits of word prefixes (merged when equal) are combined with the grid bounds of
   the remaining suffix, and prefixes whose bracket is too wide are extended by one column, down to whole words,
   which are exact. A prefix's bracket is accepted while the sum over accepted prefixes of
   (upper - (1 + REL_TOL) * lower) stays <= 0, which keeps the total bracket within tolerance.
4. Thresholds. :func:`score_threshold` searches, on the lattice, for a cut c with Phi(c) <= (1 + REL_TOL) * p and
   Phi(c + quantum) >= p / (1 + REL_TOL): first from grid bounds, then by enumerating the exact deficits of all words
   below the cut when they are few (tails of short matrices: the result is then exact), else by a multi-point search
   whose brackets come from step 3.

Floating point: the bracket is rigorous on the lattice; the only fuzz is the ~1e-11 bits between a window's float64
score and its lattice score, which matters only for words whose scores differ by less than that without being equal.

Uniform background (w <= 26): every grid value is then a number of words times 0.25**depth, an integer below
4**w <= 2**52 that float64 holds exactly, so the whole-word grids (:func:`_word_counts`) and the tail enumeration
(:func:`_enumerate_words`) count words, in int32 where they fit and in an order of columns of their own: any exact
count gives the same bits as the general path, which every other case takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

REL_TOL = 0.01
"""Relative tolerance of every p-value (and of the p-value at which a threshold may fall either way)."""

TIE_EPS_BITS = 1e-9
"""Scores within this many bits below s count as >= s (the scanner's SCORE_EPSILON): same word, another sum order."""

QUANTUM_BITS = 2.0**-40
"""Lattice step for log-odds entries: a sum of 35 rounded entries moves by < 2e-11 bits, far below TIE_EPS_BITS."""

_MAX_LATTICE_BITS = 2.0**12  # score ranges below this keep every lattice partial sum exact in float64 (53-bit mantissa)
_COARSE_BINS = 1 << 8  # bins of the first, whole-range grid
_FINE_BINS = 1 << 11  # a grid this size costs about as little as a coarse one: jump straight to it
_MAX_BINS = 1 << 22  # finest whole-word grid (64 MB); past it only branch and bound is left
_MAX_LEVEL_BINS = 1 << 16  # finest grid keeping every suffix level: (w + 1) x 2 x 2**16 float64 = 38 MB at w = 35
_CACHED_GRIDS = 3  # grids kept per matrix
_MAX_STATES = 1 << 18  # branch-and-bound prefixes per level before giving the grid another refinement
_MAX_ENUMERATED_STATES = 1 << 14  # prefixes per level for exact tail enumeration in score_threshold
_TAIL_BINS = 1 << 13  # the finer grid tried for hits' p-values before enumerating the tail
_MAX_ENUMERATED_TAIL = 1 << 16  # prefixes per level for exact p-values of far-tail scores (hits)
_EXACT_COUNT_WIDTH = 26  # 4**26 = 2**52: under the uniform background every count of words is an exact float64
_INT32_COUNT_WIDTH = 15  # 4**15 = 2**30: counts of words fit int32
_PYTHON_MERGE_STATES = 64  # enumeration levels up to this many prefixes are merged in plain Python (fewer calls)
_PACKED_MAX_BINS = 1 << 10  # grids up to this many bins count words in one Python integer

DoneTest = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _ratio_done(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """A bracket is tight enough when upper / lower <= 1 + REL_TOL (0 <= 0 included)."""
    return upper <= (1.0 + REL_TOL) * lower


@dataclass
class _Grid:
    """Deficit distributions of the suffixes of one matrix on a grid of step ``delta`` (a power of two).

    ``dist_lower[j]``/``dist_upper[j]``: shape (n_bins,), the distribution of the suffix (columns j..w-1) deficit
    rounded up / down to the grid, bin k holding deficit k * delta; j = w is the empty suffix. Mass beyond the last bin
    is dropped. Their cumulative sums bound P(D_suffix <= y) from below / above. Either every level 0..w is kept, or
    only level 0 (the whole word), or (grids made by counting words, :func:`_word_counts`) only level 0's cumulative
    sums, in ``_cdfs`` from the start, with both lists empty.
    """

    delta: float
    n_bins: int
    dist_lower: list[np.ndarray]
    dist_upper: list[np.ndarray]
    _cdfs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def has_levels(self) -> bool:
        """Whether every suffix is kept (branch and bound needs them), not just the whole word."""
        return len(self.dist_lower) > 1

    def cdfs(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds of P(D_suffix <= k * delta + r), 0 <= r < delta, for bins k; shapes (n_bins,)."""
        if level not in self._cdfs:
            self._cdfs[level] = (np.cumsum(self.dist_lower[level]), np.cumsum(self.dist_upper[level]))
        return self._cdfs[level]

    def bounds(self, deficits: np.ndarray, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds of P(D_suffix <= y) for lattice deficits y, 0 <= y < n_bins * delta; shapes (n,)."""
        cdf_lower, cdf_upper = self.cdfs(level)
        bins = (deficits / self.delta).astype(np.int64)  # floor: y >= 0, and y / delta is exact (power of two)
        return cdf_lower[bins], cdf_upper[bins]


def _column_terms(shifts: list[int], weights: tuple[float, ...], n: int) -> tuple[float, list[tuple[int, float]]]:
    """One column's letters as (weight of shift 0, [(shift, weight), ...]) for :func:`_suffix_distributions`.

    shifts: the 4 letters' int grid deficits; weights: their 4 weights (the background, or all 1 when uniform: the
    0.25 is then applied once, at the end, as scaling by a power of two is exact). Letters on the same bin share one
    term, their weights summed in letter order; the terms keep the order of their first letter; a letter whose
    deficit alone passes the band (shift >= n) cannot end inside it and is left out.
    """
    by_shift: dict[int, float] = {}
    for shift, weight in zip(shifts, weights):
        if shift < n:
            by_shift[shift] = by_shift.get(shift, 0.0) + weight
    first = by_shift.pop(0)  # the column's best letter has deficit 0 in both roundings
    return first, list(by_shift.items())


def _suffix_distributions(bins: np.ndarray, probs: np.ndarray, n: int, keep_levels: bool) -> list[np.ndarray]:
    """Distributions of the suffix deficits on a grid: the DP over columns from the last one, truncated at n bins.

    bins: (4, w) int grid deficits (column j's letters' shifts); probs: (4,) background. Returns w + 1 arrays of
    shape (n,), index j the distribution of the sum over columns j..w-1 (j = w: the empty suffix, all mass at 0),
    or only index 0's when not ``keep_levels``. Bin k of level j is

        sum over terms (shift s, weight m) of column j, in order, of m * level_{j+1}[k - s]  (then x 0.25 if uniform)

    evaluated as first * d[k] + m1 * d[k - s1] + m2 * d[k - s2] + ..., left to right, each product and sum rounded
    once: every bin is bit for bit what one slice add per term gives. With the uniform background (the common case)
    every weight is a small integer and the factor 0.25 per column is applied once per kept level instead (exact:
    no value comes near underflow, 0.25**w >= 2**-1000); the first term is fused with the copy of the previous
    level, and two buffers take turns, so a column costs about three passes over n bins instead of five. Bins past
    the largest deficit the columns so far can reach hold 0 and are left alone (adding 0 changes nothing).
    """
    uniform = bool(probs[0] == probs[1] == probs[2] == probs[3] == 0.25)
    width = bins.shape[1]
    current = np.zeros(n)
    current[0] = 1.0
    levels = [current]
    spare = np.zeros(n)  # without keep_levels, two buffers take turns
    scratch: np.ndarray | None = None  # weight * shifted level, for weights other than 1
    reach = 1  # bins [reach, n) of the current level are 0 (its largest deficit is below reach)
    columns = bins.T.tolist()
    weights = (1.0, 1.0, 1.0, 1.0) if uniform else tuple(probs.tolist())
    for j in reversed(range(width)):
        first, terms = _column_terms(columns[j], weights, n)
        m = min(n, reach + max((shift for shift, _ in terms), default=0))  # work on bins [0, m) only
        new = np.zeros(n) if keep_levels else spare  # spare: 0 past the reach it was written with, <= m
        if first == 1.0 and terms and terms[0][1] == 1.0:  # d[k] + d[k - s1] in one pass
            shift = terms.pop(0)[0]
            new[:shift] = current[:shift]
            np.add(current[shift:m], current[: m - shift], out=new[shift:m])
        elif first == 1.0:
            new[:m] = current[:m]
        else:
            np.multiply(current[:m], first, out=new[:m])
        for shift, weight in terms:
            if weight == 1.0:
                new[shift:m] += current[: m - shift]
            else:
                if scratch is None:
                    scratch = np.empty(n)
                np.multiply(current[: m - shift], weight, out=scratch[: m - shift])
                new[shift:m] += scratch[: m - shift]
        if keep_levels:
            levels.append(new)
        else:
            spare = current
        current, reach = new, m
    if not keep_levels:
        return [current * 0.25**width if uniform else current]
    if uniform:
        for depth in range(1, width + 1):  # levels[depth] holds the last ``depth`` columns
            levels[depth] *= 0.25**depth
    return levels[::-1]


def _word_counts(bins_lower: np.ndarray, bins_upper: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Level 0 of :func:`_suffix_distributions` for both roundings under the uniform background, bit for bit.

    bins_lower, bins_upper: (4, w) int grid deficits (ceil and floor), w <= _EXACT_COUNT_WIDTH; returns two (n,)
    arrays of exact counts of words per bin (unsigned or int32 integers, or float64 holding integers), truncated at
    n bins: times 0.25**w they are that level 0, and their cumulative sums times 0.25**w its cumulative sums.

    Why the bits are the same: with weights all 1, every value that DP computes is an integer, the number of words
    of a suffix in a bin, at most 4**w <= 2**52, so each of its sums is exact in float64 and its level 0 is exact
    counts times 0.25**w (a power of two, exact too); so are the partial sums of its cumulative sum. Any exact count
    of the words per bin therefore gives the same bits. This one counts in one Python integer per rounding on small
    grids, else with numpy in int32 while 4**w < 2**31 (half the bytes per add); it adds each letter's shifted copy
    without merging letters on one bin (counts need no weights), and takes the columns in the order of their
    largest in-band shift, the same for both roundings (the product does not depend on the order), so that the
    nonzero band widens as late as possible.
    """
    width = bins_lower.shape[1]
    columns_lower, columns_upper = bins_lower.T.tolist(), bins_upper.T.tolist()  # (w, 4) each: small, plain Python
    widest = [max(shift for shift in lower + upper if shift < n) for lower, upper in zip(columns_lower, columns_upper)]
    order = sorted(range(width), key=widest.__getitem__)  # stable
    if n <= _PACKED_MAX_BINS:
        bits = 16 if width <= 7 else 32 if width <= _INT32_COUNT_WIDTH else 64  # counts <= 4**w fit
        return _count_words_packed(columns_lower, order, n, bits), _count_words_packed(columns_upper, order, n, bits)
    dtype = np.int32 if width <= _INT32_COUNT_WIDTH else np.float64
    reaches = [widest[column] for column in order]
    return (_count_words(columns_lower, order, reaches, n, dtype),
            _count_words(columns_upper, order, reaches, n, dtype))


def _count_words_packed(shifts: list[list[int]], order: list[int], n: int, bits: int) -> np.ndarray:
    """:func:`_count_words` on one Python integer holding bin k in bits [k * bits, (k + 1) * bits): a letter's
    shifted copy is a shift, the sum an integer add (no carry crosses bins: every count stays below 2**bits), and
    truncation a mask. On small grids these few big-integer operations cost less than numpy calls; (n,) uint."""
    mask = (1 << (bits * n)) - 1
    current = 1  # the empty suffix: one word in bin 0
    for column in order:
        total = 0
        for shift in shifts[column]:
            if shift < n:
                total += current << (bits * shift)
        current = total & mask
    return np.frombuffer(current.to_bytes(n * bits // 8, "little"), dtype=f"<u{bits // 8}")


def _count_words(shifts: list[list[int]], order: list[int], reaches: list[int], n: int, dtype: type) -> np.ndarray:
    """Words per bin (n,) of the sum of the columns' shifts, truncated at n bins: one slice add per in-band letter.

    shifts: per column its 4 letters' int shifts (one of them 0); order: the columns in the order to take them;
    reaches: the largest in-band shift of each column taken, in that order (an upper bound of this rounding's).
    """
    current: np.ndarray = np.zeros(n, dtype)
    spare: np.ndarray = np.zeros(n, dtype)
    current[0] = 1
    reach = 1  # bins [reach, n) of current are 0
    for column, widest in zip(order, reaches):
        m = min(n, reach + widest)  # work on bins [0, m) only; spare is 0 past the reach it was written with
        rest = sorted(shift for shift in shifts[column] if shift < n)[1:]  # the first is the best letter's 0
        if rest:
            first = rest.pop(0)
            spare[:first] = current[:first]
            np.add(current[first:m], current[: m - first], out=spare[first:m])
            for shift in rest:
                spare[shift:m] += current[: m - shift]
        else:
            spare[:m] = current[:m]
        current, spare, reach = spare, current, m
    return current


class ScoreDistribution:
    """The score distribution of one log-odds matrix under a background, for p-values and score thresholds.

    Grids are built on demand and cached, so that a threshold and the p-values of its hits share them.

    Parameters
    ----------
    log_odds : ndarray, shape (4, w)
        Log-odds in bits, rows A, C, G, T; finite, score range below 2**12 bits.
    background : ndarray, shape (4,)
        Letter probabilities, all > 0, summing to 1 (within 1e-6; renormalized).
    """

    def __init__(self, log_odds: np.ndarray, background: np.ndarray) -> None:
        log_odds = np.asarray(log_odds, dtype=np.float64)
        background = np.asarray(background, dtype=np.float64)
        if log_odds.ndim != 2 or log_odds.shape[0] != 4 or log_odds.shape[1] < 1:
            raise ValueError(f"log_odds must have shape (4, w) with w >= 1, not {log_odds.shape}")
        if not np.all(np.isfinite(log_odds)):
            raise ValueError("log_odds must be finite (use pseudocounts)")
        if background.shape != (4,) or not np.all(background > 0) or abs(background.sum() - 1.0) > 1e-6:
            raise ValueError("background must be 4 positive probabilities summing to 1")
        lattice = np.round(log_odds / QUANTUM_BITS) * QUANTUM_BITS
        column_max = lattice.max(axis=0)
        self.width = lattice.shape[1]
        self.background = background / background.sum()
        self.max_score = float(column_max.sum())
        self.deficits = column_max - lattice  # (4, w), >= 0, on the lattice
        self.max_deficit = float(self.deficits.max(axis=0).sum())
        if self.max_deficit >= _MAX_LATTICE_BITS or abs(self.max_score) >= _MAX_LATTICE_BITS:
            raise ValueError("log-odds score range too large (must stay below 4096 bits)")
        self.min_score = self.max_score - self.max_deficit
        self._grids: dict[float, _Grid] = {}
        self._counts_words = bool(np.all(self.background == 0.25)) and self.width <= _EXACT_COUNT_WIDTH
        self._atoms: tuple[float, np.ndarray, np.ndarray] | None = None  # (largest, deficits, masses): see below
        # coarse grid: about _COARSE_BINS bins over the whole range (delta a power of two, at most 1 bit)
        self._coarse_delta = 2.0 ** min(0, math.ceil(math.log2(max(self.max_deficit, 2.0**-20) / _COARSE_BINS)))

    def release(self) -> None:
        """Drop the cached grids and tail atoms (memory: a scan keeps one distribution per matrix until its hits have
        p-values)."""
        self._grids.clear()
        self._atoms = None

    # ----------------------------------------------------------------------------------------------- p-values

    def pvalues(self, scores: np.ndarray) -> np.ndarray:
        """P(S >= s - TIE_EPS_BITS) for each score, within REL_TOL relative; scores: (n,) -> (n,)."""
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 1:
            raise ValueError("scores must be one-dimensional")
        if np.isnan(scores).any():
            raise ValueError("scores must not be NaN")
        targets, where = _unique_inverse(self._target_deficits(scores))  # hits repeat words
        lower, upper = self._tail_bracket(targets)
        todo = ~_ratio_done(lower, upper)
        if todo.any():
            lower[todo], upper[todo] = self._bracket(targets[todo], _ratio_done)
        return np.sqrt(lower * upper)[where]

    def _tail_bracket(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds from one fine grid, made exact where the grid cannot split the mass: the far tail (the words near
        the consensus, where hits' scores lie) is made of few words, so its exact deficits are enumerated instead
        (when no level holds more than _MAX_ENUMERATED_TAIL prefixes). targets: (n,) sorted -> two (n,) arrays."""
        lower = np.where(targets >= self.max_deficit, 1.0, 0.0)
        upper = np.where(targets < 0, 0.0, 1.0)
        inside = (targets >= 0) & (targets < self.max_deficit)
        if not inside.any():
            return lower, upper
        largest = float(targets[inside].max())
        unresolved = inside
        cached = [g for g in self._grids.values() if g.n_bins * g.delta > largest]  # e.g. the threshold's grids
        steps = [g.delta for g in sorted(cached, key=lambda g: -g.delta)]
        steps += [2.0 ** math.floor(math.log2(max(largest, QUANTUM_BITS) / _TAIL_BINS))]
        for step in steps:  # grids before enumeration: cheaper wherever they suffice
            largest = float(targets[unresolved].max())
            grid = self._grid(max(step, QUANTUM_BITS), largest)
            grid_lower, grid_upper = grid.bounds(targets[unresolved])
            lower[unresolved] = np.maximum(lower[unresolved], grid_lower)  # nested grids: bounds only tighten
            upper[unresolved] = np.minimum(upper[unresolved], grid_upper)
            unresolved = unresolved & ~_ratio_done(lower, upper)
            if not unresolved.any():
                return lower, upper
        if unresolved.any():
            atoms = self._enumerate_tail(float(targets[unresolved].max()), _MAX_ENUMERATED_TAIL)
            if atoms is not None:
                return self._exact_bounds(targets, unresolved, lower, upper, *atoms)
        return lower, upper

    @staticmethod
    def _exact_bounds(targets: np.ndarray, chosen: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                      deficits: np.ndarray, masses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``lower`` and ``upper`` (n,) set to the exact Phi of ``targets[chosen]`` (bool mask), from tail atoms
        (sorted distinct deficits and their probabilities) covering every chosen target."""
        cumulative = np.concatenate(([0.0], np.cumsum(masses)))
        exact = cumulative[np.searchsorted(deficits, targets[chosen], side="right")]
        lower[chosen] = upper[chosen] = exact
        return lower, upper

    def _target_deficits(self, scores: np.ndarray) -> np.ndarray:
        """Lattice deficits x, Phi(x) = P(S >= s - TIE_EPS_BITS), clipped to [-quantum, max_deficit]; (n,) -> (n,)."""
        with np.errstate(invalid="ignore"):  # +-inf scores
            deficits = np.floor((self.max_score - scores + TIE_EPS_BITS) / QUANTUM_BITS) * QUANTUM_BITS
        return np.clip(deficits, -QUANTUM_BITS, self.max_deficit)

    def _bracket(self, targets: np.ndarray, done: DoneTest) -> tuple[np.ndarray, np.ndarray]:
        """Bounds lower <= Phi(x) <= upper for lattice deficits ``targets`` (n,), refined until ``done(lower, upper)``.

        ``done`` must hold whenever upper <= (1 + REL_TOL) * lower. Returns two (n,) arrays.
        """
        lower = np.where(targets >= self.max_deficit, 1.0, 0.0)  # the two ends are exact
        upper = np.where(targets < 0, 0.0, 1.0)
        todo = np.flatnonzero(~done(lower, upper))
        delta = self._coarse_delta
        while todo.size:
            grid = self._grid(delta, float(targets[todo].max()))
            gap_before = upper[todo] - lower[todo]
            grid_lower, grid_upper = grid.bounds(targets[todo])
            lower[todo] = np.maximum(lower[todo], grid_lower)  # nested grids: bounds only tighten
            upper[todo] = np.minimum(upper[todo], grid_upper)
            # ties or few words: a 4x finer grid hardly narrows them (the coarse round has nothing to compare to)
            stalled = (upper[todo] - lower[todo] > 0.5 * gap_before) & (delta < self._coarse_delta)
            stalled &= ~done(lower[todo], upper[todo])
            if stalled.any():  # a failed branch and bound leaves them to finer grids
                self._refine_by_branch_and_bound(targets, todo[stalled], lower, upper, done, delta, _MAX_STATES)
            todo = todo[~done(lower[todo], upper[todo])]
            if not todo.size:
                break
            finer = self._next_delta(delta, float(targets[todo].max()))
            if finer is None:  # past the finest grid: branch and bound down to whole words if need be
                self._refine_by_branch_and_bound(targets, todo, lower, upper, done, grid.delta, None)
                break
            delta = finer
        return lower, upper

    def _refine_by_branch_and_bound(self, targets, chosen, lower, upper, done: DoneTest, delta: float,
                                    state_cap: int | None) -> None:
        """Tighten ``lower``/``upper`` (n,) in place at indices ``chosen`` by branch and bound on a grid of at most
        _MAX_LEVEL_BINS bins (all suffix levels are kept), as fine as ``delta`` if that fits."""
        largest = float(targets[chosen].max())
        delta = max(delta, 2.0 ** math.ceil(math.log2(max(largest, QUANTUM_BITS) / _MAX_LEVEL_BINS)))
        grid = self._grid(delta, largest, keep_levels=True)
        bnb_lower, bnb_upper, _ = self._branch_and_bound(targets[chosen], grid, done, state_cap)
        lower[chosen] = np.maximum(lower[chosen], bnb_lower)
        upper[chosen] = np.minimum(upper[chosen], bnb_upper)

    def _next_delta(self, delta: float, largest_target: float) -> float | None:
        """The next, finer grid step (a quarter at least, ~_FINE_BINS bins at most), or None past _MAX_BINS bins."""
        fine = 2.0 ** math.floor(math.log2(max(largest_target, QUANTUM_BITS) / _FINE_BINS))
        next_delta = max(min(delta / 4, fine), QUANTUM_BITS)
        if next_delta >= delta or largest_target / next_delta >= _MAX_BINS:
            return None
        return next_delta

    # --------------------------------------------------------------------------------------------------- grids

    def _grid(self, delta: float, largest_target: float, keep_levels: bool = False) -> _Grid:
        """The grid of step ``delta`` covering deficits 0..largest_target (cached; a wider cached one is reused).

        Without ``keep_levels`` only level 0 (the whole word) is kept, which is all that lookups need.
        """
        n_bins = int(largest_target // delta) + 1
        cached = self._grids.get(delta)
        if cached is not None and cached.n_bins >= n_bins and (cached.has_levels or not keep_levels):
            return cached
        scaled = self.deficits / delta  # exact: lattice values over a power of two
        bins_lower, bins_upper = np.ceil(scaled).astype(np.int64), np.floor(scaled).astype(np.int64)
        if self._counts_words and not keep_levels:
            scale = 0.25**self.width
            # cumulative sums of exact counts, in integers (cheaper than a float64 cumsum, and the same bits)
            cdf_lower, cdf_upper = ((c if c.dtype.kind in "iu" else c.astype(np.int64)).cumsum(dtype=np.int64)
                                    for c in _word_counts(bins_lower, bins_upper, n_bins))
            grid = _Grid(delta, n_bins, [], [], {0: (cdf_lower * scale, cdf_upper * scale)})
        else:
            dist_lower = _suffix_distributions(bins_lower, self.background, n_bins, keep_levels)
            dist_upper = _suffix_distributions(bins_upper, self.background, n_bins, keep_levels)
            grid = _Grid(delta, n_bins, dist_lower, dist_upper)  # index j: suffix from column j
        self._grids.pop(delta, None)
        while len(self._grids) >= _CACHED_GRIDS:  # refinement only moves to finer grids: drop the oldest
            self._grids.pop(next(iter(self._grids)))
        self._grids[delta] = grid
        return grid

    # ----------------------------------------------------------------------------------------- branch and bound

    def _branch_and_bound(
        self, targets: np.ndarray, grid: _Grid, done: DoneTest, state_cap: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bracket Phi(x) with exact word prefixes and grid bounds for the rest of the word.

        targets: (t,) lattice deficits in [0, grid band). A prefix with exact deficit P and probability m contributes
        m * [lower, upper] of P(D_suffix <= x - P). Returns lower, upper and ``finished`` (``done`` reached), (t,)
        each; unfinished targets (more than ``state_cap`` prefixes at some level) still get valid bounds.
        """
        n_targets = targets.size
        kept_lower, kept_upper = np.zeros(n_targets), np.zeros(n_targets)  # accepted prefixes, per target
        finished = np.zeros(n_targets, dtype=bool)
        owner, prefix, mass = np.arange(n_targets), np.zeros(n_targets), np.ones(n_targets)
        for level in range(self.width + 1):
            part_lower, part_upper = grid.bounds(targets[owner] - prefix, level)
            part_lower, part_upper = mass * part_lower, mass * part_upper
            total_lower = kept_lower + np.bincount(owner, part_lower, n_targets)
            total_upper = kept_upper + np.bincount(owner, part_upper, n_targets)
            now_done = ~finished & (done(total_lower, total_upper) | (level == self.width))  # whole words: exact
            kept_lower[now_done], kept_upper[now_done] = total_lower[now_done], total_upper[now_done]
            finished |= now_done
            alive = ~finished[owner]
            if not alive.any():
                break
            owner, prefix, mass = owner[alive], prefix[alive], mass[alive]
            part_lower, part_upper = part_lower[alive], part_upper[alive]
            accept = self._accepted(owner, part_lower, part_upper, kept_lower, kept_upper)
            kept_lower += np.bincount(owner[accept], part_lower[accept], n_targets)
            kept_upper += np.bincount(owner[accept], part_upper[accept], n_targets)
            expand = ~accept
            if state_cap is not None and 4 * int(expand.sum()) > state_cap:
                unfinished = ~finished
                kept_lower[unfinished] = total_lower[unfinished]
                kept_upper[unfinished] = total_upper[unfinished]
                break
            owner, prefix, mass = self._extend(owner[expand], prefix[expand], mass[expand], level, targets)
        return kept_lower, kept_upper, finished

    @staticmethod
    def _accepted(owner, part_lower, part_upper, kept_lower, kept_upper) -> np.ndarray:
        """Which prefixes to stop extending; (s,) bool.

        Excess e = upper - (1 + REL_TOL) * lower. The target's bracket is within tolerance when its total excess is
        <= 0, and whole words have e = -REL_TOL * m < 0, so accepting a prefix is safe while the accepted total stays
        <= 0: every prefix with e <= 0, then the smallest positive ones as far as the slack of the others allows.
        """
        excess = part_upper - (1.0 + REL_TOL) * part_lower
        accept = excess <= 0
        n_targets = kept_lower.size
        slack = -(kept_upper - (1.0 + REL_TOL) * kept_lower + np.bincount(owner[accept], excess[accept], n_targets))
        positive = np.flatnonzero(~accept)
        if positive.size == 0:
            return accept
        positive = positive[np.lexsort((excess[positive], owner[positive]))]
        sorted_owner, sorted_excess = owner[positive], excess[positive]
        running = np.cumsum(sorted_excess)
        changed = sorted_owner[1:] != sorted_owner[:-1]
        starts = _run_starts(changed)
        group = np.concatenate(([0], np.cumsum(changed)))
        within = running - (running[starts] - sorted_excess[starts])[group]  # cumulative excess within the target
        accept[positive[within <= slack[sorted_owner]]] = True
        return accept

    def _extend(self, owner, prefix, mass, level: int, targets: np.ndarray):
        """Extend prefixes by column ``level``: drop those past their target, merge equal (target, deficit) pairs."""
        child_owner = np.repeat(owner, 4)
        child_prefix = (prefix[:, None] + self.deficits[:, level]).ravel()  # exact on the lattice
        child_mass = (mass[:, None] * self.background).ravel()
        inside = child_prefix <= targets[child_owner]  # suffix deficits are >= 0: past the target stays past
        return _merge(child_owner[inside], child_prefix[inside], child_mass[inside])

    # -------------------------------------------------------------------------------------------- thresholds

    def score_threshold(self, p_threshold: float) -> float:
        """The score cut for ``p_threshold``: see :func:`score_threshold`."""
        if not p_threshold > 0:
            return math.inf
        if p_threshold >= 1:
            return -math.inf
        low_ok, high_ok = p_threshold / (1.0 + REL_TOL), p_threshold * (1.0 + REL_TOL)
        # invariant: Phi(passing) <= high_ok ("pass-OK") and Phi(failing) >= low_ok ("fail-OK"), passing < failing
        passing, failing = -QUANTUM_BITS, self.max_deficit
        delta: float | None = self._coarse_delta
        for _ in range(self._threshold_grid_rounds()):
            if delta is None:  # past the finest grid
                break
            grid = self._grid(delta, failing)
            passing, failing = _narrow_on_grid(grid, passing, failing, low_ok, high_ok)
            if failing - passing <= QUANTUM_BITS:
                return self._cut_score(passing)
            delta = self._next_delta(delta, failing)
        atoms = self._enumerate_tail(failing, _MAX_ENUMERATED_STATES)
        if atoms is not None:
            return self._cut_score(_exact_cut(*atoms, passing, failing, p_threshold))
        while delta is not None and failing / delta < _MAX_LEVEL_BINS:  # many words in the tail: finer grids
            passing, failing = _narrow_on_grid(self._grid(delta, failing), passing, failing, low_ok, high_ok)
            if failing - passing <= QUANTUM_BITS:
                return self._cut_score(passing)
            delta = self._next_delta(delta, failing)
        return self._cut_score(self._search_cut(passing, failing, low_ok, high_ok))

    def _threshold_grid_rounds(self) -> int:
        """Grids to try before enumerating: coarse, ~_FINE_BINS bins, 4x finer (enough for most widths >= 9)."""
        if 4 ** min(self.width, 64) <= 4 * _MAX_ENUMERATED_STATES:  # 4**w words, as an int (a float overflows)
            return 1  # few words: enumerating the tail is cheaper than a fine grid
        return 3

    def _cut_score(self, cut: float) -> float:
        """Score threshold whose passing windows (score >= threshold - TIE_EPS_BITS) have x(score) <= ``cut``."""
        if cut < TIE_EPS_BITS:  # even a zero-deficit word lies past the cut
            return math.inf
        # window passes <=> max_score - score + TIE_EPS_BITS <= cut + quantum / 2, i.e. its lattice x is <= cut
        return self.max_score - cut + 2.0 * TIE_EPS_BITS - QUANTUM_BITS / 2

    def _enumerate_tail(self, largest: float, state_cap: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact distinct deficits <= ``largest``, sorted, and their probabilities; shapes (a,). None when some
        level has more than ``state_cap`` distinct prefixes. The atoms are kept, so that the p-values of hits, whose
        deficits lie below the threshold's, are looked up in them (:meth:`_tail_bracket`) instead of enumerated
        again.

        Per level, each letter's children (the sorted prefixes plus the letter's deficit) are sorted already and
        those past ``largest`` are a suffix; a stable sort of the four runs (timsort merges them in linear time)
        and a sum over equal values, in letter order, merge them. Lattice sums are exact, so equal deficits
        compare equal."""
        if self._atoms is not None and self._atoms[0] >= largest:
            deficits, masses = self._atoms[1], self._atoms[2]
            n = int(np.searchsorted(deficits, largest, side="right"))
            return deficits[:n], masses[:n]
        if self._counts_words:
            atoms = _enumerate_words(self.deficits, largest, state_cap)
            if atoms is None:
                return None
            prefix, mass = atoms
            self._atoms = (largest, prefix, mass)
            return prefix, mass
        prefix, mass = np.zeros(1), np.ones(1)
        background = self.background[:, None]
        for level in range(self.width):
            if prefix.size > state_cap:
                return None
            children = prefix + self.deficits[:, level, None]  # (4, s), exact on the lattice; each row sorted
            inside = children <= largest  # past the target stays past: a prefix of each row
            child_prefix, child_mass = children[inside], (mass * background)[inside]  # the four runs, in order
            order = np.argsort(child_prefix, kind="stable")
            child_prefix, child_mass = child_prefix[order], child_mass[order]
            first = _run_starts(child_prefix[1:] != child_prefix[:-1])
            prefix, mass = child_prefix[first], np.add.reduceat(child_mass, first)
        self._atoms = (largest, prefix, mass)
        return prefix, mass

    def _search_cut(self, passing: float, failing: float, low_ok: float, high_ok: float) -> float:
        """Narrow (passing, failing) to adjacent lattice points with branch-and-bound brackets at 32 points a round."""
        while failing - passing > QUANTUM_BITS:
            steps = (failing - passing) / QUANTUM_BITS
            offsets = np.unique(np.round(np.linspace(0, steps, 34)[1:-1]))
            points = passing + offsets[(offsets > 0) & (offsets < steps)] * QUANTUM_BITS
            lower, upper = self._bracket(points, lambda lo, up: _ratio_done(lo, up) | (up <= high_ok) | (lo >= low_ok))
            pass_ok, fail_ok = upper <= high_ok, lower >= low_ok
            if pass_ok.any():
                passing = float(points[pass_ok].max())
            if fail_ok.any():
                failing = max(float(points[fail_ok].min()), passing + QUANTUM_BITS)  # overlap: most permissive cut
        return passing


def _enumerate_words(deficits: np.ndarray, largest: float, state_cap: int) -> tuple[np.ndarray, np.ndarray] | None:
    """:meth:`ScoreDistribution._enumerate_tail` under the uniform background (w <= _EXACT_COUNT_WIDTH), bit for bit.

    deficits: (4, w) lattice deficits. Returns the sorted distinct word deficits <= ``largest`` and their
    probabilities, shapes (a,), or None exactly when that method returns None.

    Why the bits and the None are the same: lattice sums are exact, so a deficit does not depend on the order of its
    columns; a probability is the number of words with that deficit (an integer below 2**53) times 0.25**w, exact
    however the counts are summed. And every column has a letter of deficit 0, so each prefix extends to a word of
    the same deficit: the distinct prefixes <= ``largest`` of one level are a subset of the next level's. The
    largest set that method checks against ``state_cap`` is thus the one of columns 0..w-2, which is the same set
    in any order of those columns; here they come first, in an order that keeps the early sets small (columns with
    fewer letters <= ``largest``, then with a larger second-best deficit, first), and column w - 1 last. Small
    levels are merged in plain Python (a dict of counts), larger ones with a stable sort of the four sorted runs.
    """
    width = deficits.shape[1]
    in_band = deficits <= largest  # (4, w)
    second = np.where(deficits > 0, deficits, np.inf).min(axis=0)  # (w,) smallest nonzero deficit of each column
    order = sorted(range(width - 1), key=lambda j: (int(in_band[:, j].sum()), -float(second[j]))) + [width - 1]
    columns = deficits.T.tolist()
    sums: list[float] = [0.0]
    counts: list[int] = [1]
    taken = 0
    while taken < width and len(sums) <= _PYTHON_MERGE_STATES:  # plain Python while the levels are small
        if len(sums) > state_cap:
            return None
        merged: dict[float, int] = {}
        for deficit in columns[order[taken]]:
            for prefix_sum, count in zip(sums, counts):
                child = prefix_sum + deficit  # the same float64 sum as numpy's: exact on the lattice
                if child <= largest:
                    merged[child] = merged.get(child, 0) + count
        sums = sorted(merged)
        counts = [merged[child] for child in sums]
        taken += 1
    prefix, multiplicity = np.array(sums), np.array(counts, dtype=np.float64)  # counts below 2**53: exact
    letters = np.ones((4, 1))
    for column in order[taken:]:
        if prefix.size > state_cap:
            return None
        children = prefix + deficits[:, column, None]  # (4, s): each row sorted, those past largest a suffix
        inside = children <= largest
        child_prefix, child_count = children[inside], (multiplicity * letters)[inside]
        ranks = np.argsort(child_prefix)  # any order: counts add up exactly
        child_prefix, child_count = child_prefix[ranks], child_count[ranks]
        first = _run_starts(child_prefix[1:] != child_prefix[:-1])
        prefix, multiplicity = child_prefix[first], np.add.reduceat(child_count, first)
    return prefix, multiplicity * 0.25**width


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for (n,) float64 without NaN, in fewer numpy calls: the sorted
    distinct values (u,) and, for each value, the index of its own in them (n,)."""
    order = np.argsort(values)
    ordered = values[order]
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    where = np.empty(ordered.size, dtype=np.intp)
    where[order] = np.cumsum(first) - 1
    return ordered[first], where


def _run_starts(changed: np.ndarray) -> np.ndarray:
    """Indices where runs of equal values start, from ``changed`` (n - 1,) = values[1:] != values[:-1]; (r,)."""
    return np.concatenate(([0], np.flatnonzero(changed) + 1))


def _merge(owner: np.ndarray, prefix: np.ndarray, mass: np.ndarray):
    """Sum the masses of equal (owner, prefix) pairs; returns the three arrays, sorted by owner then prefix."""
    if owner.size == 0:
        return owner, prefix, mass
    order = np.lexsort((prefix, owner))
    owner, prefix, mass = owner[order], prefix[order], mass[order]
    first = _run_starts((owner[1:] != owner[:-1]) | (prefix[1:] != prefix[:-1]))
    return owner[first], prefix[first], np.add.reduceat(mass, first)


def _narrow_on_grid(grid: _Grid, passing: float, failing: float, low_ok: float, high_ok: float) -> tuple[float, float]:
    """Move the pass-OK and fail-OK lattice deficits towards each other using one grid's level-0 bounds."""
    cdf_lower, cdf_upper = grid.cdfs(0)
    last_pass_bin = int(np.searchsorted(cdf_upper, high_ok, side="right")) - 1  # bins 0..it have upper <= high_ok
    passing = max(passing, (last_pass_bin + 1) * grid.delta - QUANTUM_BITS)  # last lattice point of that bin
    first_fail_bin = int(np.searchsorted(cdf_lower, low_ok, side="left"))
    if first_fail_bin < grid.n_bins:
        failing = min(failing, first_fail_bin * grid.delta)
    if passing >= failing:  # the regions overlap: keep the most permissive cut (the engine re-filters by p-value)
        failing = passing + QUANTUM_BITS
    return passing, failing


def _exact_cut(atoms: np.ndarray, masses: np.ndarray, passing: float, failing: float, p_threshold: float) -> float:
    """The cut from the exact deficits ``atoms`` (sorted, all those <= failing) and their probabilities ``masses``.

    Returns the largest lattice point c with Phi(c) <= p_threshold below the first atom whose Phi exceeds it, or
    ``failing`` when no atom up to it does (Phi(failing) >= p / (1 + tol) is known from the grid).
    """
    cumulative = np.cumsum(masses)
    n_pass = int(np.searchsorted(cumulative, p_threshold, side="right"))
    if n_pass == atoms.size:
        return failing
    return max(passing, float(atoms[n_pass]) - QUANTUM_BITS)


# -------------------------------------------------------------------------------------------------- public API


def score_range(log_odds: np.ndarray) -> tuple[float, float]:
    """(min, max) achievable score of a log-odds matrix ``log_odds`` (4, w), in bits."""
    log_odds = np.asarray(log_odds, dtype=np.float64)
    return float(log_odds.min(axis=0).sum()), float(log_odds.max(axis=0).sum())


def pvalues(log_odds: np.ndarray, background: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """P-values of scores under i.i.d. ``background`` words, one strand.

    Parameters
    ----------
    log_odds : ndarray, shape (4, w)
        Log-odds in bits, rows A, C, G, T.
    background : ndarray, shape (4,)
        Letter probabilities (A, C, G, T), all > 0, sum 1.
    scores : ndarray, shape (n,)
        Scores in bits (any value: above the max gives 0, at or below the min gives 1).

    Returns
    -------
    ndarray, shape (n,)
        P(S >= s - TIE_EPS_BITS) for each score s, within REL_TOL (1%) relative of the exact value (in fact within
        0.5%: the geometric mean of a bracket at most 1% wide).
    """
    return ScoreDistribution(log_odds, background).pvalues(scores)


def score_threshold(log_odds: np.ndarray, background: np.ndarray, p_threshold: float) -> float:
    """The score cut that keeps exactly the windows with p-value <= ``p_threshold``, up to the 1% tolerance.

    A window passes when its score >= threshold - TIE_EPS_BITS (the scanner's rule). Passing windows have
    p <= (1 + REL_TOL) * p_threshold, failing ones p >= p_threshold / (1 + REL_TOL): only windows whose exact p-value
    lies within 1% of ``p_threshold`` may fall either way. The value returned is at most s*, the smallest achievable
    score with p <= p_threshold (up to that tolerance), and above every failing score + TIE_EPS_BITS; it is found on
    the 2**-40-bit lattice and need not be a score itself. Where p-values within 1% of ``p_threshold`` leave room,
    the cut is the most permissive one (a caller re-filtering hits by p-value then loses nothing).

    Parameters
    ----------
    log_odds : ndarray, shape (4, w)
        Log-odds in bits, rows A, C, G, T.
    background : ndarray, shape (4,)
        Letter probabilities, all > 0, sum 1.
    p_threshold : float
        The p-value cut.

    Returns
    -------
    float
        The score threshold; ``math.inf`` when no word qualifies (p_threshold below the p-value of the best words, or
        p_threshold <= 0), ``-math.inf`` when every word does (p_threshold >= 1).
    """
    return ScoreDistribution(log_odds, background).score_threshold(p_threshold)


def score_thresholds(log_odds_list: Sequence[np.ndarray], background: np.ndarray, p_threshold: float) -> np.ndarray:
    """:func:`score_threshold` for each matrix of ``log_odds_list`` (each (4, w_k)); returns shape (n_matrices,)."""
    return np.array([score_threshold(m, background, p_threshold) for m in log_odds_list], dtype=np.float64)


def bh_qvalues(p_values: np.ndarray, n_tests: int) -> np.ndarray:
    """Benjamini-Hochberg q-values of reported p-values when ``n_tests`` tests were done in all.

    q_i = min over reported j with p_j >= p_i of p_j * n_tests / rank_j, capped at 1, where rank_j is p_j's rank
    among the reported p-values, which is its rank among all tests because the unreported tests have larger p.

    Computed from the reported hits alone, this is exact wherever q <= t, the p-value threshold the hits passed, and
    an upper bound (still > t) above it: the full formula also takes the minimum over the unreported tests u, but
    each of their terms p_u * n_tests / rank_u >= p_u > t since rank_u <= n_tests, so they can only lower a q that
    is > t, and never below t.

    Parameters
    ----------
    p_values : ndarray, shape (m,)
        The reported p-values, any order.
    n_tests : int
        Total number of tests, >= m.

    Returns
    -------
    ndarray, shape (m,)
        q-values in the order of ``p_values``.
    """
    p_values = np.asarray(p_values, dtype=np.float64).ravel()
    if n_tests < p_values.size:
        raise ValueError(f"n_tests ({n_tests}) is smaller than the number of p-values ({p_values.size})")
    if p_values.size == 0:
        return np.zeros(0)
    order = np.argsort(p_values, kind="stable")
    ranked = p_values[order] * n_tests / np.arange(1, p_values.size + 1)
    q_sorted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)  # min over the larger p's
    q_values = np.empty_like(q_sorted)
    q_values[order] = q_sorted
    return q_values
