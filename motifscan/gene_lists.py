"""Is a factor's site enriched in the promoters of a gene list, against a background of promoters?

Flow: query genes -> source lookup -> promoter windows (the scan's rule) -> best scores and sites
(:mod:`motifscan.best_scores`, scored with the background's matrices) | background promoters
(:mod:`motifscan.promoter_background`, cached) with the query genes left out -> per matrix: presence (Fisher / exact
stratified), strength (Mann-Whitney / van Elteren), BH over the matrices (:mod:`motifscan.enrichment`) ->
:class:`EnrichResult`, one row per matrix sorted by ``p_value``.
"""

from __future__ import annotations

import html
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motifscan import __version__
from motifscan.best_scores import PromoterScores, score_promoters
from motifscan.enrichment import (
    benjamini_hochberg,
    fisher_greater,
    gc_strata,
    mann_whitney_greater,
    odds_ratio,
    stratified_fisher_greater,
    van_elteren_greater,
)
from motifscan.errors import UsageError
from motifscan.model import Motif
from motifscan.options import GenomeSpec
from motifscan.promoter_background import (
    BackgroundCache,
    PromoterRule,
    build_background,
    fetch_windows,
    gene_promoters,
    universe_label,
)
from motifscan.writers import comment_lines, write_lines

log = logging.getLogger(__name__)

ENRICH_COLUMNS = (
    "motif_id", "motif_name", "genes", "genes_with_site", "background_genes", "background_with_site",
    "expected_genes_with_site", "odds_ratio", "p_value", "q_value", "rank_p_value", "rank_q_value",
    "query_genes_with_site",
)
"""The columns of ``motifscan enrich``'s TSV, in order (see the README for their meaning)."""

_INTEGER_COLUMNS = ("genes", "genes_with_site", "background_genes", "background_with_site")
_FLOAT_COLUMNS = ("expected_genes_with_site", "odds_ratio", "p_value", "q_value", "rank_p_value", "rank_q_value")

DEFAULT_GC_STRATA = 10


@dataclass(frozen=True)
class EnrichResult:
    """One row per matrix, as numpy columns (``columns[name]``, each shape (n_matrices,), in ``ENRICH_COLUMNS``),
    sorted by ``p_value``; with the per-gene tables behind it and the provenance written atop every output.

    ``query`` and ``background``: :class:`~motifscan.best_scores.PromoterScores` of the query genes and of the
    background genes compared (query genes left out), columns in ``motifs`` order (not the sorted row order).
    """

    columns: dict[str, np.ndarray]
    motifs: tuple[Motif, ...]
    query: PromoterScores
    background: PromoterScores
    provenance: tuple[tuple[str, str], ...]

    def __len__(self) -> int:
        return len(self.columns["motif_id"])

    def __getitem__(self, index: int) -> dict:
        """Row ``index`` as a dict of column -> value."""
        return {name: self.columns[name][index] for name in ENRICH_COLUMNS}

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def rows(self) -> list[list[str]]:
        """The TSV fields of every row."""
        return [_format_row(self[i]) for i in range(len(self))]

    def tsv_lines(self) -> Iterable[str]:
        yield from comment_lines(self.provenance)
        yield "\t".join(ENRICH_COLUMNS)
        for fields in self.rows():
            yield "\t".join(fields)

    def to_tsv(self, path: str | Path | None = None) -> str:
        """The TSV text (``#`` provenance lines, header, one row per matrix); also written atomically to ``path``."""
        lines = list(self.tsv_lines())
        if path is not None:
            write_lines(path, lines)
        return "\n".join(lines) + "\n"

    def to_pandas(self):
        """A pandas DataFrame of the columns (integer counts, float statistics)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install '.[pandas]'") from None
        return pd.DataFrame({name: self.columns[name] for name in ENRICH_COLUMNS})

    def plot(self, path: str | Path | None = None, top: int = 10):
        """Odds ratio against -log10 q of the presence test, one point per matrix, the ``top`` labelled (needs
        matplotlib); saved to ``path`` if given; returns the figure."""
        from motifscan.enrich_plot import enrichment_plot

        return enrichment_plot(self, path, top=top)

    def to_html(self, *, title: str | None = None) -> str:
        """One self-contained HTML page: the matrix table (sortable, filterable by TF family and q), the families,
        logos, provenance and the TSV as a download (see :func:`motifscan.report.enrich_report`)."""
        from motifscan.report import enrich_report

        return enrich_report(self, title=title)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ENRICH_COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in fields) + "</tr>"
                       for fields in self.rows()[:50])
        more = f"<p>… {len(self) - 50} more matrices</p>" if len(self) > 50 else ""
        facts = dict(self.provenance)
        return (f"<p>motifscan enrich: {facts.get('query_genes', '')} query genes against "
                f"{facts.get('background_promoters', '')} background promoters</p>"
                f"<table><tr>{head}</tr>{body}</table>{more}")

    def __repr__(self) -> str:
        return f"<EnrichResult: {len(self)} matrices, {len(self.query)} query genes, {len(self.background)} " \
               "background promoters>"


def _format_row(row: dict) -> list[str]:
    fields = []
    for name in ENRICH_COLUMNS:
        value = row[name]
        if name in _INTEGER_COLUMNS:
            fields.append(str(int(value)))
        elif name in _FLOAT_COLUMNS:
            fields.append(f"{float(value):.6g}")
        else:
            fields.append(str(value))
    return fields


def _stratum_counts(stratum: np.ndarray, n_strata: int, values: np.ndarray) -> np.ndarray:
    """(n_strata, m) sums of ``values`` (n, m) over the rows of each stratum. A loop over the (at most a few dozen)
    strata, not a one-hot matrix product: BLAS threads contending with a busy machine made that take seconds."""
    sums = [values[stratum == k].sum(axis=0, dtype=np.int64) for k in range(n_strata)]
    return np.stack(sums).reshape(n_strata, values.shape[1])


def compare(query: PromoterScores, background: PromoterScores, motifs: Sequence[Motif], gc_match: bool = True,
            n_strata: int = DEFAULT_GC_STRATA) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The per-matrix statistics of ``query`` against ``background`` (same matrices, same order), sorted by
    ``p_value``; and facts for the provenance (strata used, GC and CpG means)."""
    m = len(motifs)
    q_valid, b_valid = ~np.isnan(query.best), ~np.isnan(background.best)
    q_site, b_site = query.has_site & q_valid, background.has_site & b_valid
    genes, genes_with = q_valid.sum(axis=0), q_site.sum(axis=0)
    bg_genes, bg_with = b_valid.sum(axis=0), b_site.sum(axis=0)
    b_stratum, q_stratum, edges = gc_strata(np.nan_to_num(background.gc, nan=0.0),
                                            np.nan_to_num(query.gc, nan=0.0), n_strata if gc_match else 1)
    strata = len(edges) + 1
    qn = _stratum_counts(q_stratum, strata, q_valid)
    qw = _stratum_counts(q_stratum, strata, q_site)
    bn = _stratum_counts(b_stratum, strata, b_valid)
    bw = _stratum_counts(b_stratum, strata, b_site)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = bg_with / bg_genes
        rate = np.where(bn > 0, bw / np.maximum(bn, 1), pooled[None, :])
        expected = np.nan_to_num((qn * rate).sum(axis=0), nan=0.0)
    # scores equal to 1e-6 bits are the same word's score summed in another order: they tie
    query_best, background_best = np.round(query.best, 6), np.round(background.best, 6)
    if strata > 1:
        p_value, ratio = stratified_fisher_greater(qw, qn, bw, bn)
        scores = np.vstack([query_best, background_best])
        is_query = np.concatenate([np.ones(len(query), bool), np.zeros(len(background), bool)])
        rank_p = van_elteren_greater(scores, is_query, np.concatenate([q_stratum, b_stratum]))
    else:
        p_value = fisher_greater(genes_with, genes, bg_with, bg_genes)
        ratio = odds_ratio(genes_with, genes - genes_with, bg_with, bg_genes - bg_with)
        rank_p = mann_whitney_greater(query_best, background_best)
    testable = (genes > 0) & (bg_genes > 0)
    p_value = np.where(testable, p_value, 1.0)
    rank_p = np.where(testable, rank_p, 1.0)
    labels = np.array([name or gene for gene, name in zip(query.gene_ids, query.gene_names)], dtype=object)
    with_site = [",".join(labels[q_site[:, j]]) for j in range(m)]
    columns = {
        "motif_id": np.array([mo.id for mo in motifs], dtype=object),
        "motif_name": np.array([mo.name for mo in motifs], dtype=object),
        "genes": genes.astype(np.int64), "genes_with_site": genes_with.astype(np.int64),
        "background_genes": bg_genes.astype(np.int64), "background_with_site": bg_with.astype(np.int64),
        "expected_genes_with_site": expected, "odds_ratio": ratio, "p_value": p_value,
        "q_value": benjamini_hochberg(p_value), "rank_p_value": rank_p, "rank_q_value": benjamini_hochberg(rank_p),
        "query_genes_with_site": np.array(with_site, dtype=object),
    }
    order = np.lexsort((columns["motif_id"].astype(str), rank_p, p_value))
    columns = {name: values[order] for name, values in columns.items()}
    facts = {
        "gc_match": (f"yes: {strata} strata of background GC (inner edges "
                     + " ".join(f"{e:.4f}" for e in edges) + ")") if strata > 1 else
                    ("no" if not gc_match else "asked, but the background is too small for strata: plain tests"),
        "query_mean_gc": _mean(query.gc), "background_mean_gc": _mean(background.gc),
        "query_mean_cpg_oe": _mean(query.cpg_oe), "background_mean_cpg_oe": _mean(background.cpg_oe),
    }
    return columns, facts


def _mean(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    return f"{finite.mean():.4f}" if len(finite) else "nan"


def enrich(
    genes: Sequence[str] | str,
    motifs=None,
    *,
    background_genes: Sequence[str] | str | os.PathLike | None = None,
    gc_match: bool = True,
    gc_strata: int = DEFAULT_GC_STRATA,
    genome: GenomeSpec | str | os.PathLike | None = None,
    jaspar_release: str | None = None,
    command: str | None = None,
    **options: Any,
) -> EnrichResult:
    """Test each matrix for sites over-represented (presence) and stronger (strength) in the promoters of ``genes``
    against a background of promoters: every protein-coding gene of the same source (default) or
    ``background_genes`` (names, or a file of names), query genes left out.

    ``genome`` and ``options`` are those of :func:`motifscan.scan_genes`, with the same defaults (declared once, in
    :mod:`motifscan.options`): the scoring fields of :class:`~motifscan.options.ScanOptions`, the
    :class:`~motifscan.options.PromoterOptions` (promoter windows 0-based half-open by the same rule) and, unless
    ``genome`` is a :class:`~motifscan.options.GenomeSpec`, its fields. ``q_threshold``, ``max_strand`` and
    ``chrom_style`` shape site lists, not a per-matrix table, and are refused.
    """
    from motifscan.api import _gene_scan_options, resolve_motifs
    from motifscan.genes import (
        _report,
        _transcripts_to_scan,
        read_gene_file,
    )
    from motifscan.motifs import jaspar_database

    settings, window, spec = _gene_scan_options(genome, options)
    for name, given in (("q_threshold", settings.q_threshold is not None), ("max_strand", settings.max_strand),
                        ("chrom_style", window.chrom_style != "source")):
        if given:
            raise UsageError(f"{name} does not apply to enrich (one row per matrix, no site list): leave it out")
    p_threshold, min_rel_score, pseudocount = settings.p_threshold, settings.min_rel_score, settings.pseudocount
    background, mask_lowercase, jobs = settings.background, settings.mask_lowercase, settings.jobs
    upstream, downstream, transcripts, biotypes = window.upstream, window.downstream, window.transcripts, \
        window.biotypes
    if isinstance(genes, str):
        genes = [genes]
    if not genes:
        raise UsageError("no gene given")
    if isinstance(gc_strata, bool) or not isinstance(gc_strata, int) or gc_strata < 1:
        raise UsageError(f"--gc-strata must be a positive whole number, not {gc_strata!r}")
    release = jaspar_database(jaspar_release).release
    chosen = resolve_motifs(motifs, jaspar_database(release))
    if not chosen:
        raise UsageError("no motif selected")
    if isinstance(background_genes, (str, os.PathLike)):
        universe_names: list[str] | None = read_gene_file(background_genes)
    else:
        universe_names = None if background_genes is None else list(background_genes)
    rule = PromoterRule(upstream, downstream, transcripts, tuple(biotypes))
    source = spec.open(memo=True)  # a second list re-parses neither the GTF nor re-hashes the files
    try:
        lookups = _report(source.lookup(list(genes)), window.strict)
        resolved = _transcripts_to_scan(lookups, transcripts, biotypes)
        query_promoters = gene_promoters(source, [g for g, _ in resolved], rule, {g.id: ids for g, ids in resolved})
        if not query_promoters:
            raise UsageError("no query gene has a promoter window")
        label = universe_label(universe_names)
        cache = BackgroundCache(Path(spec.cache_dir) / "backgrounds" if spec.cache_dir is not None else None) \
            if spec.use_cache else None
        bg = build_background(source, chosen, rule=rule, universe_names=universe_names, universe_label=label,
                              jaspar_release=release, pseudocount=pseudocount, background=background,
                              p_threshold=p_threshold, min_rel_score=min_rel_score, mask_lowercase=mask_lowercase,
                              jobs=jobs, cache=cache)
        query_windows, query_whole = fetch_windows(source, query_promoters)
        query = score_promoters([g.id for g, _ in query_promoters], [g.name for g, _ in query_promoters],
                                query_windows, bg.model, jobs=jobs, label="query", composition=query_whole)
        source_facts = tuple((f"source_{k}" if not k.startswith("source") else k, str(v))
                             for k, v in source.provenance().items())
    finally:
        close = getattr(source, "close", None)
        if close:
            close()
    query_ids = set(query.gene_ids)
    compared = bg.scores.rows(np.array([g not in query_ids for g in bg.scores.gene_ids], dtype=bool))
    if not len(compared):
        raise UsageError("the background holds no promoter besides the query genes")
    columns, facts = compare(query, compared, chosen, gc_match=gc_match, n_strata=gc_strata)
    b = bg.model.background
    provenance = (
        ("motifscan", __version__),
        ("analysis", "enrich: per matrix, query promoters against background promoters"),
        ("jaspar_release", release),
        ("motifs", f"{len(chosen)}: " + " ".join(m.id for m in chosen[:30]) + (" ..." if len(chosen) > 30 else "")),
        *source_facts,
        ("genes", " ".join(genes)),
        ("query_genes", str(len(query))),
        ("promoter_window", rule.describe()),
        ("pseudocount", f"{pseudocount:g}"),
        ("background", f"{background} A={b[0]:.4f} C={b[1]:.4f} G={b[2]:.4f} T={b[3]:.4f}"),
        ("p_threshold", f"{p_threshold:g}"),
        ("min_rel_score", "none" if min_rel_score is None else f"{min_rel_score:g}"),
        ("mask_lowercase", str(mask_lowercase).lower()),
        *bg.provenance,
        ("background_compared", (f"{len(compared)} promoters (query genes left out: "
                                 f"{len(bg.scores) - len(compared)})")),
        *facts.items(),
        ("presence_test", ("promoters with >= 1 site at p_threshold: one-sided Fisher exact test (odds_ratio: "
                           "sample OR); with GC strata the exact conditional test of a common OR of 1 (exact CMH; "
                           "odds_ratio: Mantel-Haenszel)")),
        ("strength_test", ("each promoter's best site score (both strands, any window): one-sided Mann-Whitney "
                           "(scipy); with GC strata van Elteren's stratified rank test")),
        ("q_value", "Benjamini-Hochberg over all matrices, per test; related matrices (a TF family) move together"),
        ("command", command if command is not None else " ".join(sys.argv) or "python"),
    )
    return EnrichResult(columns, tuple(chosen), query, compared, provenance)
