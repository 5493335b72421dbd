"""Bit-identity check of motifscan.pvalues against an earlier commit, over all JASPAR CORE vertebrate matrices.

    python benchmarks/pvalues_identity.py [--against 9a46fe9] [--pvalues 1e-3,1e-4,1e-5] [--limit N]

A speed-up of the p-value code must not change a single score threshold or reported p-value. For every matrix of
the newest bundled release's CORE vertebrates (1019 in JASPAR2026), log-odds with the default pseudocount, under a
uniform and an AT-rich (0.3, 0.2, 0.2, 0.3) background, and for each p-value threshold, both implementations run the
same calls in the same order, as their callers make them:

- the engine's: one ScoreDistribution, ``score_threshold(p)``, then ``pvalues`` of the candidates a scan of a seeded
  random sequence (``--kb`` kb, uniform letters, both strands, motifscan's own Scanner) finds at that threshold, then
  ``release()``;
- a fresh distribution's ``pvalues`` of sampled scores (words drawn from the matrix's probabilities mixed with the
  background, near-consensus tails included, random words, and the threshold's neighbours), as
  ``pvalues.pvalues`` and the variant and mutation code call it;
- one distribution asked all the thresholds in a row (as best_scores and mutation do), then those sampled scores.

The results are compared as float64 bit patterns (``np.array_equal``: inf equals inf). The earlier implementation is
``motifscan/pvalues.py`` of ``--against`` (``git show``), loaded as a module of its own. Exit status 1 on any
difference. Prints both implementations' times per call pattern (same process: noisy on a shared machine).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from motifscan import pvalues as current  # noqa: E402
from motifscan.encoding import encode_joined  # noqa: E402
from motifscan.motifs import log_odds, probabilities, select_motifs  # noqa: E402
from motifscan.options import DEFAULT_PSEUDOCOUNT  # noqa: E402
from motifscan.scanning import Scanner  # noqa: E402

SEED = 20261201
BACKGROUNDS = {"uniform": np.full(4, 0.25), "at-rich": np.array([0.3, 0.2, 0.2, 0.3])}


def load_reference(revision: str) -> ModuleType:
    """motifscan/pvalues.py of ``revision`` as a module named ``pvalues_reference``."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{revision}:motifscan/pvalues.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="pvalues-reference-")) / "pvalues_reference.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("pvalues_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pvalues_reference"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def sampled_scores(matrix: np.ndarray, probs: np.ndarray, background: np.ndarray, rng: np.random.Generator,
                   n: int = 300) -> np.ndarray:
    """Scores (k,) of words from the matrix's letter probabilities ``probs`` (4, w) mixed with ``background``
    (each letter from the matrix with probability 0.7 to 1), of random words, and the range's ends."""
    width = matrix.shape[1]
    mix = rng.uniform(0.7, 1.0, size=(n, 1))
    use_motif = rng.random((n, width)) < mix
    motif_letters = (rng.random((n, width))[:, :, None] > np.cumsum(probs.T, axis=1)[None]).sum(axis=2)
    random_letters = (rng.random((n, width))[:, :, None] > np.cumsum(background)[None, None]).sum(axis=2)
    letters = np.minimum(np.where(use_motif, motif_letters, random_letters), 3)
    words = matrix[letters, np.arange(width)].sum(axis=1)
    low, high = matrix.min(axis=0).sum(), matrix.max(axis=0).sum()
    return np.concatenate([words, rng.uniform(low, high, 50), [low, high, high + 1.0, low - 1.0]])


def candidate_scores(matrices: list[np.ndarray], thresholds: np.ndarray, codes) -> list[np.ndarray]:
    """Per matrix, the scores of the windows (both strands) at or above its threshold; as the engine gets them."""
    found = Scanner(matrices, thresholds, jobs=1).scan_joined(codes)
    order = np.argsort(found.motif_index, kind="stable")
    bounds = np.searchsorted(found.motif_index[order], np.arange(len(matrices) + 1))
    return [found.score[order[bounds[k]:bounds[k + 1]]] for k in range(len(matrices))]


def engine_pattern(module: ModuleType, matrices, background, p_threshold: float, candidates=None):
    """Thresholds (n,) and, given ``candidates``, their p-values: one distribution per matrix, released after."""
    thresholds, p_values = [], []
    for k, matrix in enumerate(matrices):
        distribution = module.ScoreDistribution(matrix, background)
        thresholds.append(distribution.score_threshold(p_threshold))
        if candidates is not None:
            p_values.append(distribution.pvalues(candidates[k]))
        distribution.release()
    return np.array(thresholds), p_values


def fresh_pattern(module: ModuleType, matrices, background, scores):
    """P-values of ``scores[k]`` from a fresh distribution per matrix."""
    return [module.ScoreDistribution(m, background).pvalues(s) for m, s in zip(matrices, scores)]


def chained_pattern(module: ModuleType, matrices, background, p_thresholds, scores):
    """All thresholds in a row on one distribution, then p-values of ``scores[k]`` on it."""
    thresholds, p_values = [], []
    for matrix, score in zip(matrices, scores):
        distribution = module.ScoreDistribution(matrix, background)
        thresholds.append([distribution.score_threshold(p) for p in p_thresholds])
        p_values.append(distribution.pvalues(score))
    return np.array(thresholds), p_values


def differences(name: str, old, new) -> int:
    """Count (and print) the entries whose float64 values differ; ``old``/``new``: arrays or lists of arrays."""
    if isinstance(old, np.ndarray):
        old, new = [old], [new]
    bad = 0
    for k, (a, b) in enumerate(zip(old, new)):
        if a.shape != b.shape:
            print(f"  {name}: item {k}: shapes {a.shape} != {b.shape}")
            bad += 1
            continue
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not same.all():
            where = np.flatnonzero(~same.ravel())
            bad += where.size
            print(f"  {name}: item {k}: {where.size} differ, e.g. {a.ravel()[where[0]]!r} != {b.ravel()[where[0]]!r}")
    return bad


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="9a46fe9", help="the git revision to compare with [9a46fe9]")
    parser.add_argument("--pvalues", default="1e-3,1e-4,1e-5", help="p-value thresholds [1e-3,1e-4,1e-5]")
    parser.add_argument("--backgrounds", default=",".join(BACKGROUNDS), help=f"of {', '.join(BACKGROUNDS)} [both]")
    parser.add_argument("--kb", type=int, default=200, help="kb of random sequence scanned for candidates [200]")
    parser.add_argument("--limit", type=int, default=None, help="only the first N matrices (by ID)")
    args = parser.parse_args()
    reference = load_reference(args.against)
    p_thresholds = [float(p) for p in args.pvalues.split(",")]
    motifs = sorted(select_motifs(collections=["CORE"], tax_groups=["vertebrates"]), key=lambda m: m.id)
    motifs = motifs[: args.limit] if args.limit else motifs
    rng = np.random.default_rng(SEED)
    codes = encode_joined(["".join(rng.choice(list("ACGT"), size=args.kb * 1000))])
    print(f"{len(motifs)} matrices, p {args.pvalues}, against {args.against}")
    bad = 0
    for name in args.backgrounds.split(","):
        background = BACKGROUNDS[name]
        matrices = [log_odds(m.counts, DEFAULT_PSEUDOCOUNT, background) for m in motifs]
        scores = [sampled_scores(m, probabilities(motif.counts, DEFAULT_PSEUDOCOUNT, background), background, rng)
                  for m, motif in zip(matrices, motifs)]
        for p in p_thresholds:
            (old_thresholds, _), old_time = timed(engine_pattern, reference, matrices, background, p)
            (new_thresholds, _), new_time = timed(engine_pattern, current, matrices, background, p)
            bad += differences(f"{name} p={p:g} thresholds", old_thresholds, new_thresholds)
            found = candidate_scores(matrices, old_thresholds, codes)
            neighbours = [np.concatenate([s, [t, np.nextafter(t, -np.inf), t - 1e-9, t + 1e-9]])
                          for s, t in zip(scores, old_thresholds) if np.isfinite(t)]
            scores_p = [np.concatenate([s, n]) for s, n in zip(scores, neighbours)] if len(neighbours) == len(
                scores) else scores
            (_, old_p), old_p_time = timed(engine_pattern, reference, matrices, background, p, found)
            (_, new_p), new_p_time = timed(engine_pattern, current, matrices, background, p, found)
            bad += differences(f"{name} p={p:g} engine p-values", old_p, new_p)
            old_fresh, old_fresh_time = timed(fresh_pattern, reference, matrices, background, scores_p)
            new_fresh, new_fresh_time = timed(fresh_pattern, current, matrices, background, scores_p)
            bad += differences(f"{name} p={p:g} fresh p-values", old_fresh, new_fresh)
            print(f"{name} p={p:g}: {sum(map(len, found))} candidates; seconds old/new: thresholds "
                  f"{old_time:.2f}/{new_time:.2f}, thresholds + candidates' p-values {old_p_time:.2f}/{new_p_time:.2f},"
                  f" fresh p-values {old_fresh_time:.2f}/{new_fresh_time:.2f}")
        (old_chain, old_chain_p), old_time = timed(chained_pattern, reference, matrices, background, p_thresholds,
                                                   scores)
        (new_chain, new_chain_p), new_time = timed(chained_pattern, current, matrices, background, p_thresholds,
                                                   scores)
        bad += differences(f"{name} chained thresholds", old_chain, new_chain)
        bad += differences(f"{name} chained p-values", old_chain_p, new_chain_p)
        print(f"{name} chained: seconds old/new {old_time:.2f}/{new_time:.2f}")
    print("identical" if bad == 0 else f"{bad} values differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
