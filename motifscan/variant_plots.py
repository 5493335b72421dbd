"""The promoter map of a variant scan: each promoter a row (x = position relative to the TSS, EPD convention, gene
orientation: upstream to the left), every scored variant drawn at its position, coloured by its strongest effect
(lost, gained, weaker, stronger; grey: no site within the p-value threshold), labelled with the motifs it changes.

Needs the ``plot`` extra (matplotlib). Reads the result's columns; draws nothing it has to guess.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motifscan.errors import UsageError
from motifscan.plots import _matplotlib, _save, tss_axis_position

EFFECT_STYLE = {  # effect -> (colour, marker, legend label); the colours are Okabe-Ito (colour-blind safe)
    "lost": ("#D55E00", "v", "site lost"),
    "gained": ("#009E73", "^", "site gained"),
    "weaker": ("#E69F00", "v", "weaker (both pass)"),
    "stronger": ("#0072B2", "^", "stronger (both pass)"),
    "unchanged": ("#999999", "o", "unchanged"),
    "none": ("#BBBBBB", "|", "scored, no site changed"),
}
_RANK = {"lost": 0, "gained": 1, "weaker": 2, "stronger": 3, "unchanged": 4, "none": 5}


def variant_map(result, path: str | Path | None = None, *, title: str | None = None, max_labels: int = 3):
    """Draw ``result`` (a :class:`~motifscan.variants.VariantResult` of a promoter scan) and return the figure;
    also saved to ``path`` (.png, .svg or .pdf) if given."""
    if not result.records:
        raise UsageError("the promoter map needs a scan of promoters (not --all)")
    figure_class = _matplotlib()
    names = list(result.records)
    n_rows = len(names)
    figure = figure_class(figsize=(11, 1.2 + 0.9 * n_rows))
    ax = figure.add_subplot(1, 1, 1)
    columns = result.columns
    effects_of: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (gene, variant) -> [(effect, motif)]
    for gene, variant, effect, motif in zip(columns["gene_name"].tolist(), columns["variant_id"].tolist(),
                                            columns["effect"].tolist(), columns["motif_name"].tolist()):
        effects_of.setdefault((gene, variant), []).append((effect, motif))
    seen = set()
    for y, name in enumerate(names):
        low, high = result.extents.get(name, (-2000, 500))
        ax.plot([tss_axis_position(low), tss_axis_position(high) + 1], [y, y], color="#444444", lw=1.5, zorder=1)
        ax.annotate("", xy=(120, y - 0.25), xytext=(0, y - 0.25),  # the y axis is inverted: up is -
                    arrowprops={"arrowstyle": "->", "color": "#444444", "lw": 1.2})
        ax.plot([0, 0], [y, y - 0.25], color="#444444", lw=1.2)
        gene = name.split("|")[0]
        for promoter, _, _, variant_id, rel in result.scored:
            if promoter != name or rel is None:
                continue
            found = effects_of.get((gene, variant_id), [])
            effect = min((e for e, _ in found), key=_RANK.__getitem__, default="none")
            colour, marker, label = EFFECT_STYLE[effect]
            x = tss_axis_position(rel) + 0.5
            ax.scatter([x], [y], marker=marker, s=70 if effect != "none" else 120, color=colour, zorder=3,
                       label=label if effect not in seen else None)
            seen.add(effect)
            if found:
                motifs = list(dict.fromkeys(m for e, m in sorted(found, key=lambda f: _RANK[f[0]])))
                text = ", ".join(motifs[:max_labels]) + (f" +{len(motifs) - max_labels}" if len(motifs) >
                                                         max_labels else "")
                ax.annotate(f"{variant_id}\n{text}", (x, y), xytext=(0, 9), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, color=colour)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels([n.split("|")[0] for n in names])
    ax.set_ylim(-0.6, n_rows - 0.2)
    ax.invert_yaxis()
    ax.set_xlabel("position relative to the TSS (bp; +1 = TSS base, gene orientation)")
    ax.spines[["top", "right", "left"]].set_visible(False)
    if seen:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    n_variants = len({v for _, _, _, v, _ in result.scored})
    ax.set_title(title or f"{n_variants} variants on {n_rows} promoters; "
                 f"{len(np.unique(columns['variant_id']))} change a site (p <= {result._p_threshold:g})", fontsize=10)
    figure.tight_layout()
    _save(figure, path)
    return figure
