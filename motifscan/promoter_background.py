"""The background of all promoters: which genes, their promoter windows, and their scan results, cached on disk.

Flow: a gene source (local FASTA + GTF, the demo genome, or Ensembl REST) -> the universe of genes (default: every
protein-coding gene of the source; or the genes of a user's file) -> promoter windows cut by the query's rule
(:func:`motifscan.promoters.promoters_for_gene`; 0-based half-open) -> forward-strand sequences (each transcript's own
window scanned, by ``scan``'s rule for merged promoters; the merged promoter for GC and CpG) -> per-gene best
scores, sites, GC and CpG (:func:`motifscan.best_scores.score_promoters`) -> a :class:`Background`.

The cache. A background's scan results are stored in ``<cache dir>/backgrounds/<sha256 of the key>.npz``, the key
being a JSON record of everything that changes them: the source (genome and annotation MD5s; or Ensembl server,
species, assembly and release), the universe (``protein_coding`` or a digest of the user's gene list), the window and
transcript rule, the motifs (IDs, JASPAR release and a digest of every count matrix), pseudocount, letter background,
p threshold, minimum relative score, lowercase masking and the floor. An entry is used only when its stored key equals
the asked one, its arrays have the shapes the key implies and their digest matches; anything else (a truncated or
altered file, another format version) is logged, deleted and rebuilt. Entries are written to a temporary file and
renamed, so a crash leaves no half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motifscan.background import background_from_codes, is_auto, parse_background
from motifscan.best_scores import (
    FLOOR_EXPECTED_WINDOWS,
    PromoterScores,
    ScoringModel,
    score_promoters,
    scoring_model,
)
from motifscan.encoding import encode
from motifscan.errors import NoGenesError
from motifscan.model import Gene, Motif
from motifscan.progress import task
from motifscan.promoters import Promoter, promoters_for_gene
from motifscan.sources.cache import default_cache_dir, make_private_dirs

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: merged promoters scored by scan's window rule
"""Bumped whenever what is stored, or how it is computed, changes: older entries then no longer match."""

DEFAULT_UNIVERSE = "protein_coding"


@dataclass(frozen=True)
class PromoterRule:
    """How promoters are cut: ``upstream``/``downstream`` flanks (bases) and the transcript rule."""

    upstream: int = 2000
    downstream: int = 500
    transcripts: str = "canonical"
    biotypes: tuple[str, ...] = ()

    def describe(self) -> str:
        return (f"{self.upstream} bp upstream, {self.downstream} bp downstream of the TSS; transcripts="
                f"{self.transcripts}" + (f" biotypes={','.join(self.biotypes)}" if self.biotypes else ""))


@dataclass(frozen=True)
class Background:
    """The scan results of the background promoters and how they were made.

    ``scores``: one row per background gene. ``model``: log-odds and thresholds used (the query must be scored with
    the same). ``universe``: ``"protein_coding"`` or ``"file:<name> (<n> names)"``. ``from_cache``: whether the
    results were read from the cache. ``provenance``: (key, value) pairs for outputs.
    """

    scores: PromoterScores
    model: ScoringModel
    universe: str
    from_cache: bool
    provenance: tuple[tuple[str, str], ...]


def source_identity(source: Any) -> dict[str, str]:
    """What identifies a source's genes and sequence for the cache key (checksums, or server + release)."""
    facts = {str(k): str(v) for k, v in source.provenance().items()}
    keep = ("source", "genome_md5", "annotation_md5", "server", "species", "assembly", "ensembl_release")
    return {k: facts[k] for k in keep if k in facts}


def universe_genes(source: Any, names: Sequence[str] | None) -> list[Gene]:
    """The genes of the universe: ``names`` resolved through the source (unknown names listed in one warning), or
    every protein-coding gene of the source (a local annotation's genes of biotype ``protein_coding`` on the FASTA's
    chromosomes; Ensembl's through ``overlap/region``, then ``lookup/id``)."""
    if names is not None:
        lookups = source.lookup(list(names))
        missing = [lk.query for lk in lookups if not lk.genes]
        if missing:
            log.warning("%d of the %d background genes were not found and are left out: %s%s", len(missing),
                        len(lookups), ", ".join(missing[:10]), " ..." if len(missing) > 10 else "")
        genes = {g.id: g for lk in lookups for g in lk.genes}
        return list(genes.values())
    local_genes = getattr(source, "genes", None)
    if local_genes is not None:
        chromosomes = set(source.chromosomes)
        return [g for g in local_genes if g.biotype == DEFAULT_UNIVERSE and g.chrom in chromosomes]
    ids = source.gene_ids(DEFAULT_UNIVERSE)
    lookups = source.lookup(ids)
    return [g for lk in lookups for g in lk.genes if g.biotype == DEFAULT_UNIVERSE]


def gene_promoters(source: Any, genes: Sequence[Gene], rule: PromoterRule,
                   transcript_ids: dict[str, tuple[str, ...]] | None = None) -> list[tuple[Gene, list[Promoter]]]:
    """Each gene with its promoters (0-based half-open windows) by ``rule``; genes without any window on their
    chromosome are left out (one summary line). ``transcript_ids``: gene ID -> the transcripts to use instead of the
    rule's (a query naming transcripts)."""
    out, lost = [], []
    lengths: dict[str, int] = {}
    with task("promoters", len(genes)) as progress:
        for gene in genes:
            if gene.chrom not in lengths:
                lengths[gene.chrom] = source.chrom_length(gene.chrom)
            chosen = (transcript_ids or {}).get(gene.id, ())
            promoters = promoters_for_gene(gene, rule.upstream, rule.downstream, lengths[gene.chrom],
                                           transcripts=rule.transcripts, biotypes=rule.biotypes,
                                           transcript_ids=chosen)
            if promoters:
                out.append((gene, promoters))
            else:
                lost.append(gene.label)
            progress.advance()
    if lost:
        log.info("%d %s no promoter window on their chromosome (or no transcript of the asked biotypes): "
                 "%s%s", len(lost), "gene has" if len(lost) == 1 else "genes have", ", ".join(lost[:5]),
                 " ..." if len(lost) > 5 else "")
    return out


def fetch_windows(source: Any, promoters: Sequence[tuple[Gene, list[Promoter]]]) -> tuple[list[list[str]],
                                                                                          list[list[str]]]:
    """``(scored, whole)`` per gene: the forward-strand sequences of its transcripts' own windows (what
    :func:`motifscan.best_scores.score_promoters` scans, by ``scan``'s rule for merged promoters) and of its
    promoters, merged windows whole (for GC, CpG and an ``auto`` letter background, as ``scan`` counts them). One
    fetch for all; the own windows are cut from their promoter's sequence (0-based half-open offsets)."""
    sequences = source.fetch_sequences([p.region for _, ps in promoters for p in ps])
    scored, whole, i = [], [], 0
    for _, ps in promoters:
        merged = list(sequences[i : i + len(ps)])
        i += len(ps)
        whole.append(merged)
        scored.append([text[w.start - p.region.start : w.end - p.region.start] for p, text in zip(ps, merged)
                       for w in (p.windows if len(p.windows) > 1 else (p.region,))])
    return scored, whole


def motif_digest(motifs: Sequence[Motif]) -> str:
    """SHA-256 over every motif's ID and count matrix (so a motif file edited under the same IDs is noticed)."""
    digest = hashlib.sha256()
    for motif in motifs:
        digest.update(motif.id.encode())
        digest.update(np.ascontiguousarray(motif.counts, dtype=np.float64).tobytes())
    return digest.hexdigest()


def cache_key(identity: dict[str, str], universe: str, rule: PromoterRule, motifs: Sequence[Motif],
              jaspar_release: str, pseudocount: float, background: str, p_threshold: float,
              min_rel_score: float | None, mask_lowercase: bool) -> dict[str, Any]:
    """The record that names one background's scan results (see the module docstring)."""
    return {"format": FORMAT_VERSION, "source": identity, "universe": universe, "upstream": rule.upstream,
            "downstream": rule.downstream, "transcripts": rule.transcripts, "biotypes": list(rule.biotypes),
            "motif_ids": [m.id for m in motifs], "motif_digest": motif_digest(motifs),
            "jaspar_release": jaspar_release, "pseudocount": repr(float(pseudocount)), "background": background,
            "p_threshold": repr(float(p_threshold)),
            "min_rel_score": None if min_rel_score is None else repr(float(min_rel_score)),
            "mask_lowercase": bool(mask_lowercase), "floor_expected_windows": FLOOR_EXPECTED_WINDOWS}


class BackgroundCache:
    """Background scan results on disk, one ``.npz`` per key (see the module docstring); ``directory`` None: the
    user cache directory's ``backgrounds`` folder."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir() / "backgrounds"

    def path(self, key: dict[str, Any]) -> Path:
        name = hashlib.sha256(_canonical(key).encode()).hexdigest()[:32]
        return self.directory / f"{name}.npz"

    def load(self, key: dict[str, Any]) -> tuple[PromoterScores, np.ndarray] | None:
        """(scores, letter background) stored under ``key``, or None (absent, or damaged/stale: then deleted)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return _read_entry(path, key)
        except Exception as error:  # noqa: BLE001 (any damage at all, whatever it raises: never use the entry)
            log.warning("background cache entry %s is damaged or stale (%s): rebuilding it", path,
                        f"{type(error).__name__}: {error}"[:200])
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def store(self, key: dict[str, Any], scores: PromoterScores, background: np.ndarray) -> None:
        """Write the entry atomically; a cache that cannot be written is logged and skipped."""
        try:
            make_private_dirs(self.directory)
            arrays = _entry_arrays(scores, background)
            meta = {"key": key, "digest": _digest(arrays), "genes": len(scores), "motifs": len(scores.motif_ids)}
            buffer = io.BytesIO()
            # numpy's stub matches **arrays against its allow_pickle: bool keyword
            np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".bg.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(buffer.getvalue())
                os.replace(temporary, self.path(key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            log.warning("cannot write the background cache in %s (%s); it will be scanned again next time",
                        self.directory, error.strerror or error)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _entry_arrays(scores: PromoterScores, background: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "gene_ids": np.array(scores.gene_ids, dtype=str), "gene_names": np.array(scores.gene_names, dtype=str),
        "motif_ids": np.array(scores.motif_ids, dtype=str), "best": scores.best.astype(np.float64),
        "has_site": scores.has_site.astype(bool), "gc": scores.gc.astype(np.float64),
        "cpg_oe": scores.cpg_oe.astype(np.float64), "site_threshold": scores.site_threshold.astype(np.float64),
        "floor_score": scores.floor_score.astype(np.float64), "floor_p": np.array(scores.floor_p),
        "letter_background": np.asarray(background, dtype=np.float64),
    }


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def _read_entry(path: Path, key: dict[str, Any]) -> tuple[PromoterScores, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {name: data[name] for name in data.files if name != "meta"}
    if _canonical(meta.get("key")) != _canonical(key):
        raise ValueError("stored for another key")
    if meta.get("digest") != _digest(arrays):
        raise ValueError("checksum mismatch")
    n, m = int(meta["genes"]), int(meta["motifs"])
    expected = {"gene_ids": (n,), "gene_names": (n,), "motif_ids": (m,), "best": (n, m), "has_site": (n, m),
                "gc": (n,), "cpg_oe": (n,), "site_threshold": (m,), "floor_score": (m,), "letter_background": (4,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{name} has shape {arrays[name].shape}, not {shape}")
    if list(arrays["motif_ids"]) != key["motif_ids"]:
        raise ValueError("motifs differ")
    scores = PromoterScores(tuple(str(g) for g in arrays["gene_ids"]), tuple(str(g) for g in arrays["gene_names"]),
                            tuple(str(m) for m in arrays["motif_ids"]), arrays["best"], arrays["has_site"],
                            arrays["gc"], arrays["cpg_oe"], arrays["site_threshold"], arrays["floor_score"],
                            float(arrays["floor_p"]))
    return scores, arrays["letter_background"]


def letter_background(spec: str, windows: Sequence[Sequence[str]], mask_lowercase: bool) -> np.ndarray:
    """The letter background of a background scan: fixed, or with ``auto`` the strand-symmetric composition of the
    background promoters (query and background are then scored with the same matrices)."""
    if is_auto(spec):
        return background_from_codes([encode(s, mask_lowercase) for w in windows for s in w])
    return parse_background(spec)


def build_background(source: Any, motifs: Sequence[Motif], *, rule: PromoterRule, universe_names: Sequence[str] |
                     None, universe_label: str, jaspar_release: str, pseudocount: float, background: str,
                     p_threshold: float, min_rel_score: float | None, mask_lowercase: bool, jobs: int | None,
                     cache: BackgroundCache | None) -> Background:
    """The background's scan results: from the cache when an intact entry matches, else enumerated, fetched,
    scanned and stored."""
    identity = source_identity(source)
    key = cache_key(identity, universe_label, rule, motifs, jaspar_release, pseudocount, background, p_threshold,
                    min_rel_score, mask_lowercase)
    length = rule.upstream + rule.downstream
    stored = cache.load(key) if cache is not None else None
    model = None
    if stored is not None:
        scores, letters = stored
        try:  # the entry's thresholds, not the exact distributions of every matrix again
            model = scoring_model(motifs, letters, pseudocount, p_threshold, length, mask_lowercase, min_rel_score,
                                  known=scores)
        except ValueError as error:
            log.warning("background cache entry %s is stale (%s): rebuilding it", cache.path(key) if cache else "",
                        error)
    if model is not None:
        log.info("background: %d promoters from the cache (%s)", len(scores), cache.path(key) if cache else "")
        from_cache = True
    else:
        genes = universe_genes(source, universe_names)
        promoters = gene_promoters(source, genes, rule)
        if not promoters:
            raise NoGenesError(f"the background ({universe_label}) holds no gene with a promoter window")
        log.info("background: %d promoters of %s genes", len(promoters), universe_label)
        windows, whole = fetch_windows(source, promoters)
        letters = letter_background(background, whole, mask_lowercase)
        model = scoring_model(motifs, letters, pseudocount, p_threshold, length, mask_lowercase, min_rel_score)
        scores = score_promoters([g.id for g, _ in promoters], [g.name for g, _ in promoters], windows, model,
                                 jobs=jobs, composition=whole)
        if cache is not None:
            cache.store(key, scores, letters)
        from_cache = False
    provenance = (
        ("background_universe", universe_label),
        ("background_promoters", str(len(scores))),
        ("background_cache", "hit" if from_cache else "built"),
        ("background_floor_p", f"{scores.floor_p:g} (best scores below the score at this p are tied at the bottom)"),
    )
    return Background(scores, model, universe_label, from_cache, provenance)


def universe_label(names: Sequence[str] | None) -> str:
    """``protein_coding``, or a label naming the user's universe by a digest of its sorted, upper-cased names (the
    same list in another file or order is the same universe)."""
    if names is None:
        return DEFAULT_UNIVERSE
    unique = sorted({n.upper() for n in names})
    digest = hashlib.sha256("\n".join(unique).encode()).hexdigest()[:16]
    return f"{len(unique)} listed genes (sha256 {digest})"

