"""The picture of an enrichment: per matrix, odds ratio (presence test) against -log10 q, the top rows labelled.

Reads the columns of an :class:`motifscan.gene_lists.EnrichResult`; needs matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motifscan.plots import _matplotlib, _save


def enrichment_plot(result, path: str | Path | None = None, top: int = 10):
    """Scatter of log2 odds ratio (x) against -log10 q of the presence test (y), one point per matrix, coloured by
    the rank test's -log10 q; the ``top`` rows (lowest p) labelled with their TF names; a dashed line at q = 0.05.
    Infinite odds ratios are drawn at the right edge (as triangles). Saved to ``path`` (.png or .svg) if given."""
    figure_class = _matplotlib()
    columns = result.columns
    with np.errstate(divide="ignore", invalid="ignore"):
        log_or = np.log2(columns["odds_ratio"].astype(float))
    y = -np.log10(np.maximum(columns["q_value"].astype(float), 1e-300))
    colour = -np.log10(np.maximum(columns["rank_q_value"].astype(float), 1e-300))
    finite = np.isfinite(log_or)
    edge = (np.abs(log_or[finite]).max() if finite.any() else 1.0) + 0.5
    x = np.where(np.isposinf(log_or), edge, np.where(np.isneginf(log_or), -edge, log_or))
    x = np.where(np.isnan(x), 0.0, x)
    figure = figure_class(figsize=(6.5, 4.8))
    axes = figure.add_subplot()
    shown = axes.scatter(x[finite], y[finite], c=colour[finite], cmap="viridis", vmin=0, s=28, edgecolors="none")
    if (~finite).any():
        axes.scatter(x[~finite], y[~finite], c=colour[~finite], cmap="viridis", vmin=0, s=36, marker="^",
                     edgecolors="none")
    for i in range(min(top, len(x))):
        axes.annotate(str(columns["motif_name"][i]), (x[i], y[i]), xytext=(4, 3), textcoords="offset points",
                      fontsize=8)
    axes.axhline(-np.log10(0.05), color="grey", linestyle="--", linewidth=0.8)
    axes.axvline(0, color="grey", linewidth=0.5)
    axes.set_xlabel("log2 odds ratio (promoters with a site: query vs background)")
    axes.set_ylabel("-log10 q (presence, BH over matrices)")
    facts = dict(result.provenance)
    axes.set_title(f"{facts.get('query_genes', '?')} genes vs {facts.get('background_compared', '?').split()[0]} "
                   f"background promoters (GC match: {facts.get('gc_match', '?').split(':')[0]})", fontsize=9)
    figure.colorbar(shown, ax=axes, label="-log10 q (best-score rank test)")
    figure.tight_layout()
    _save(figure, path)
    return figure
