"""Pictures: promoter maps of hits and sequence logos of motifs.

matplotlib and logomaker are the optional extra ``plot`` (``pip install ".[plot]"`` in the clone); they are imported
when a picture is asked for, and their absence raises :class:`PlotDependencyError` with the install command. Figures
are made with :class:`matplotlib.figure.Figure` directly (no pyplot, no GUI backend, no global state), so this module
works on headless machines and leaves a notebook's backend alone; PNG and SVG files are written by matplotlib's Agg and
SVG renderers. The figures display inline in Jupyter.

Promoter map coordinates
------------------------
Gene scans give each site ``tss_rel_start``/``tss_rel_end`` in EPD's convention: +1 is the TSS base, -1 the base just
upstream, there is no 0, and positions count in the gene's orientation. The map's x axis is continuous, in the gene's
orientation (transcription runs left to right): base ``p > 0`` covers ``[p - 1, p)`` and base ``p < 0`` covers
``[p, p + 1)``, so the TSS base sits in ``[0, 1)`` and x = 0 is the boundary between the TSS and the base upstream of
it, where the TSS line is drawn. FASTA scans have no TSS: their x axis is the 0-based position in the record.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from motifscan.errors import MotifscanError, UsageError
from motifscan.hits import Hit
from motifscan.model import Motif

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MISSING_MESSAGE", "PlotDependencyError", "infer_gene_strands", "information_matrix", "motif_logo",
           "promoter_map", "tss_axis_position"]

MISSING_MESSAGE = ('plots need matplotlib and logomaker: pip install ".[plot]" in the motifscan clone '
                   "(or pip install matplotlib logomaker)")

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")

# Up to 20 motifs: tab10, then tab20 (paired shades); more: tab20 + tab20b + tab20c (60 colours), then repeat.
_PALETTES_SMALL = ("tab10", "tab20")
_PALETTES_LARGE = ("tab20", "tab20b", "tab20c")

_SAME_STRAND_MARK = ">"  # site on the gene's strand (or on the record's + strand): points the way the gene reads
_OPPOSITE_STRAND_MARK = "<"  # site on the other strand
_UNKNOWN_STRAND_MARK = "D"  # the gene's strand could not be told (see infer_gene_strands)
_MARK_WORDS = {_SAME_STRAND_MARK: "same", _OPPOSITE_STRAND_MARK: "opposite", _UNKNOWN_STRAND_MARK: "unknown"}


class PlotDependencyError(MotifscanError, ImportError):
    """matplotlib or logomaker is not installed (the ``plot`` extra)."""


def _matplotlib():
    """The Figure class motifscan draws on, or PlotDependencyError."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotDependencyError(MISSING_MESSAGE) from None
    return _figure_class()


def _logomaker():
    try:
        import logomaker
    except ImportError:
        raise PlotDependencyError(MISSING_MESSAGE) from None
    return logomaker


_FIGURE_CLASS = None


def _figure_class():
    """``MotifscanFigure``: a matplotlib Figure that also shows itself as a PNG in Jupyter when pyplot (and so the
    inline backend's formatter) was never loaded. Built on first use, so that importing this module needs no
    matplotlib."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class MotifscanFigure(Figure):
            """A matplotlib Figure that renders inline in Jupyter as a PNG."""

            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=100)
                return buffer.getvalue()

        MotifscanFigure.__module__ = __name__
        MotifscanFigure.__qualname__ = "MotifscanFigure"
        _FIGURE_CLASS = MotifscanFigure
    return _FIGURE_CLASS


def __getattr__(name: str):
    if name == "MotifscanFigure":  # so that figures pickle and unpickle (PEP 562)
        try:
            return _figure_class()
        except ImportError:
            raise PlotDependencyError(MISSING_MESSAGE) from None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def suffix_check(path: str | Path) -> str:
    """The image format of ``path`` from its extension ("png", "svg" or "pdf"), or UsageError."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise UsageError(f"image file must end in .png, .svg or .pdf, not {Path(path).name!r}")
    return suffix[1:]


def _save(figure, path: str | Path | None) -> None:
    """Save the figure to ``path`` (format from the extension) through a temporary file beside it, renamed into
    place when complete, so that a failure leaves no half-written image and an existing one as it was."""
    if path is None:
        return
    path = Path(path)
    image_format = suffix_check(path)
    dpi = 150 if image_format == "png" else None
    if path.exists() and not path.is_file():  # /dev/null, a FIFO: written in place
        figure.savefig(path, format=image_format, dpi=dpi)
        return
    from motifscan.writers import StagedFiles  # the one atomic staging of outputs

    staging = StagedFiles(path)
    try:
        figure.savefig(staging.path(path.name), format=image_format, dpi=dpi)
    except BaseException as error:
        staging.discard()
        if isinstance(error, OSError):
            raise MotifscanError(f"cannot write {path}: {error.strerror or error}") from None
        raise
    staging.commit([(path.name, path)])


# --- promoter map ------------------------------------------------------------------------------------------------


def tss_axis_position(relative: int) -> int:
    """The left edge, on the continuous map axis, of the base at TSS-relative position ``relative`` (EPD: no 0).

    ``+1`` (the TSS base) -> 0, ``+2`` -> 1, ``-1`` -> -1, ``-2000`` -> -2000; the base covers ``[x, x + 1)``.
    """
    if relative == 0:
        raise ValueError("TSS-relative positions have no 0 (+1 is the TSS base, -1 the base upstream)")
    return relative - 1 if relative > 0 else relative


def _tss_span(hit: Hit) -> tuple[int, int]:
    """``[left, right)`` of a gene-scan hit's site on the TSS axis (:func:`tss_axis_position` of its first and last
    base); a hit of a FASTA scan has no TSS-relative position."""
    if hit.tss_rel_start is None or hit.tss_rel_end is None:
        raise ValueError(f"hit of {hit.motif_id} on {hit.seq_name}: no TSS-relative position (not a gene scan)")
    return tss_axis_position(hit.tss_rel_start), tss_axis_position(hit.tss_rel_end) + 1


def _row_key(hit: Hit) -> str:
    return hit.seq_name


def _row_label(name: str, hits: Sequence[Hit]) -> str:
    """``GENE ENST...`` (first transcript of the record, "+N" when it holds more), else the record name."""
    gene, _, transcripts = name.partition("|")
    first = hits[0] if hits else None
    ids = [t for t in transcripts.split(",") if t] or (list(first.transcript_ids) if first else [])
    gene = (first.gene_name or gene or first.gene_id) if first else gene
    if not ids:
        return gene or name
    more = f" +{len(ids) - 1}" if len(ids) > 1 else ""
    return f"{gene} {ids[0]}{more}"


def infer_gene_strands(rows: Mapping[str, Sequence[Hit]]) -> dict[str, str | None]:
    """The gene strand of each row of TSS-relative hits, read from the hits themselves.

    A hit's TSS-relative position counts from the TSS of its first transcript (``transcript_ids[0]``), so all the hits
    of one gene and first transcript imply one TSS. With ``x`` the left edge of the site's first base on the map axis
    (:func:`tss_axis_position`), a ``+`` gene puts that TSS at ``start - x`` and a ``-`` gene at ``end - 1 + x``
    (genomic, 0-based). Whichever hypothesis gives one TSS for the group's sites is the strand; groups whose sites
    all start at one base (both hypotheses fit) say nothing, and the gene's groups vote. A gene with no telling
    group (e.g. a single site) gets None, and its marks are drawn as diamonds: pass ``gene_strands`` to
    :func:`promoter_map` to say it.
    """
    by_gene: dict[str, list[str]] = {}
    for key, hits in rows.items():
        gene = (hits[0].gene_id or hits[0].gene_name or key) if hits else key
        by_gene.setdefault(gene, []).append(key)
    strands: dict[str, str | None] = {}
    for keys in by_gene.values():
        groups: dict[str, list[Hit]] = {}
        for hit in (h for key in keys for h in rows[key]):
            groups.setdefault(hit.transcript_ids[0] if hit.transcript_ids else "", []).append(hit)
        votes = 0
        for group in groups.values():
            plus = {h.start - _tss_span(h)[0] for h in group}
            minus = {h.end - 1 + _tss_span(h)[0] for h in group}
            votes += (len(plus) == 1) - (len(minus) == 1)
        strand = "+" if votes > 0 else "-" if votes < 0 else None
        for key in keys:
            strands[key] = strand
    return strands


def _tss_tick(x: float, _position=None) -> str:
    """Tick label on the TSS axis: "TSS" at 0, signed thousands with thin spaces and a true minus elsewhere."""
    if abs(x) < 1e-9:
        return "TSS"
    return f"{x:+,.0f}".replace(",", "\u2009").replace("-", "\u2212")


def _window_from_provenance(source) -> tuple[int, int] | None:
    """(upstream, downstream) of a gene scan from a ScanResult's typed provenance, else None."""
    provenance = getattr(source, "provenance", None)
    return getattr(provenance, "promoter_window", None)


def _palette(name: str) -> list:
    """The colours of a qualitative palette (tab10, tab20, ...): a listed colormap, the kind that has ``colors``."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    colormap = colormaps[name]
    if not isinstance(colormap, ListedColormap):
        raise TypeError(f"colormap {name} is not a listed palette")
    # matplotlib types ``colors`` as any ArrayLike; a listed palette's is a sequence of RGB tuples
    return list(cast(Sequence, colormap.colors))


def _colours(count: int) -> list:
    names = _PALETTES_SMALL[0] if count <= 10 else _PALETTES_SMALL[1] if count <= 20 else None
    if names is not None:
        return _palette(names)[:count]
    pool = [c for name in _PALETTES_LARGE for c in _palette(name)]
    return [pool[i % len(pool)] for i in range(count)]


def _colour_map(motifs: Sequence[tuple[str, str]], scanned_ids: Sequence[str]) -> dict[tuple[str, str], tuple]:
    """Each drawn motif's colour, fixed by motif rather than by which motifs happen to have sites: with at most
    :data:`DEFAULT_TOP` scanned motifs (known from the result), the motif's place among the scanned IDs in sorted
    order; otherwise its place among the drawn motifs' IDs."""
    ids = sorted(set(scanned_ids))
    drawn_ids = {m[0] for m in motifs}
    if not ids or len(ids) > DEFAULT_TOP or not drawn_ids <= set(ids):
        ids = sorted(drawn_ids)
    palette = _colours(len(ids))
    rank = {motif_id: i for i, motif_id in enumerate(ids)}
    return {m: palette[rank[m[0]]] for m in motifs}


def _scanned_motif_ids(source) -> list[str]:
    """The IDs of the motifs scanned (a ScanResult's motifs, else its ``motifs`` provenance line when that lists
    them all), or []."""
    motifs = _result_motifs(source)
    if motifs:
        return [m.id for m in motifs]
    count, ids = _motifs_line(source)
    return ids if count == len(ids) else []


def _scanned_motif_count(source) -> int:
    motifs = _result_motifs(source)
    return len(motifs) if motifs else _motifs_line(source)[0]


def _result_motifs(source) -> tuple[Motif, ...]:
    """A ScanResult's scanned motifs (a tuple of Motif), else () (a HitTable's ``motifs`` is its lookup table)."""
    motifs = getattr(source, "motifs", None)
    return tuple(motifs) if isinstance(motifs, (tuple, list)) else ()


def _motifs_line(source) -> tuple[int, list[str]]:
    """(count, listed IDs) of the ``motifs`` provenance line ``"22: MA0018.5 MA0604.1 ..."``, or (0, [])."""
    for key, value in getattr(source, "provenance", ()) or ():
        if key == "motifs":
            count, _, listed = str(value).partition(": ")
            if count.isdigit():
                return int(count), [w for w in listed.split() if w != "..."]
    return 0, []


_GAP_LINE = re.compile(r"^(\S+) (\S+):(\d+)-(\d+)(?: tss_rel=(-?\d+)\.\.(-?\d+))?$")


def _gaps_from_provenance(source, tss_mode: bool, records: Mapping) -> dict[str, list[tuple[float, float]]]:
    """N stretches of each record from the ``gap`` provenance lines, as [left, right) on the map's x axis: from
    their TSS-relative first and last base on a gene map, else positions in the record (0-based)."""
    gaps: dict[str, list[tuple[float, float]]] = {}
    for key, value in getattr(source, "provenance", ()) or ():
        match = _GAP_LINE.match(str(value)) if key == "gap" else None
        if not match:
            continue
        name, _, first, last, rel_first, rel_last = match.groups()
        if tss_mode and rel_first is not None:
            left, right = tss_axis_position(int(rel_first)), tss_axis_position(int(rel_last)) + 1
        elif not tss_mode:
            offset = records[name].start if name in records else 0
            left, right = int(first) - 1 - offset, int(last) - offset
        else:
            continue
        gaps.setdefault(name, []).append((float(left), float(right)))
    return gaps


def _draw_gaps(ax, y: int, gaps: Sequence[tuple[float, float]]) -> None:
    """Hatched boxes over row ``y`` where its sequence is N (not scanned), labelled "N" where they are wide enough
    (ids ``gap-row{Y}-{I}``)."""
    from matplotlib.patches import Rectangle

    for i, (left, right) in enumerate(gaps):
        box = Rectangle((left, y - 0.42), right - left, 0.84, facecolor="0.93", edgecolor="0.6", hatch="////",
                        linewidth=0.5, zorder=0.5, gid=f"gap-row{y}-{i}")
        ax.add_patch(box)
        ax.text((left + right) / 2, y, f"N ({int(right - left)} bp)", ha="center", va="center", fontsize=7.5,
                color="0.3", zorder=0.6, clip_on=True, gid=f"gap-label-row{y}-{i}",
                bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))


def _marker_sizes(neg_log_p: np.ndarray, low: float, high: float, scale: float = 1.0) -> np.ndarray:
    """Marker areas (points^2) from -log10 p: 20 at the weakest site of the map, 120 at the strongest (times
    ``scale`` squared)."""
    if high - low < 1e-9:
        return np.full(neg_log_p.shape, 60.0 * scale**2)
    return (20.0 + 100.0 * (neg_log_p - low) / (high - low)) * scale**2


def _lanes(centres: np.ndarray, order: np.ndarray, min_gap: float, max_lanes: int) -> np.ndarray:
    """Lane (0 = nearest the row's centre line) of each mark, so that marks closer than ``min_gap`` stack instead
    of covering each other; marks are placed in ``order`` (strongest first); beyond ``max_lanes`` they share the
    outermost lane."""
    lanes = np.zeros(len(centres), dtype=int)
    occupied: list[list[float]] = [[] for _ in range(max_lanes)]
    for i in order:
        for lane in range(max_lanes):
            if all(abs(centres[i] - x) >= min_gap for x in occupied[lane]):
                break
        else:
            lane = max_lanes - 1
        occupied[lane].append(centres[i])
        lanes[i] = lane
    return lanes


DEFAULT_TOP = 25
"""A promoter map draws the sites of at most this many motifs unless told otherwise (``top``): more colours than
this cannot be told apart (the default ATF/CREB set, 22 matrices, is drawn whole)."""


def promoter_map(
    hits: Iterable[Hit],
    path: str | Path | None = None,
    *,
    title: str | None = None,
    gene_strands: Mapping[str, str] | None = None,
    top: int | None = DEFAULT_TOP,
    max_q: float | None = None,
    motif_ids: Sequence[str] = (),
    tf_names: Sequence[str] = (),
) -> Figure:
    """A map of the sites on each promoter: one row per scanned record, x = position relative to the TSS.

    Parameters
    ----------
    hits : ScanResult or iterable of Hit
        The sites to draw. A :class:`~motifscan.api.ScanResult` gives more: every scanned record is a row (sites or
        not), its strand is the gene's strand, its promoter window sets the x range, its N stretches (``gap``
        provenance lines) are drawn hatched, and its scanned motifs fix the colours.
    path : str or Path, optional
        Also save the figure there; the format follows the extension: ``.png`` (150 dpi), ``.svg`` or ``.pdf``.
    title : str, optional
        Figure title; by default ``"N sites of M motifs on K promoters"``.
    gene_strands : mapping of seq_name -> "+"/"-", optional
        The gene strand of each row; overrides the records' strands; rows without either are inferred from their
        sites (see :func:`infer_gene_strands`).
    top : int or None
        Draw the sites of at most this many motifs: those whose best site has the lowest p-value (ties: motif ID).
        Default :data:`DEFAULT_TOP`; None draws every motif. What is left out is said under the title and in
        ``figure.left_out``.
    max_q : float, optional
        Draw only sites with q-value <= this.
    motif_ids, tf_names : sequences of str
        Draw only these motifs: JASPAR IDs (``MA0605.3``, or ``MA0605`` for any version) and TF names
        (case-insensitive); either matching is enough.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Rows are the records in scan order (then any further record the hits name), top to bottom, at
        y = 0, 1, ...; row labels are ``GENE FIRST_TRANSCRIPT``. ``figure.left_out`` is a dict: ``sites`` and
        ``motifs`` not drawn because of ``top`` and ``max_q`` (after the motif filters).

    Notes
    -----
    Gene scans (hits with ``tss_rel_start``): x is continuous in the gene's orientation (see the module docstring),
    the TSS is a vertical line at x = 0 with a bent arrow pointing downstream (right). Each site is a triangle at
    its centre: ``▶`` on the gene's strand (above the row line), ``◀`` on the opposite strand (below it), a diamond
    when the gene's strand is unknown. FASTA scans (no ``tss_rel_start``): x is the 0-based record position, from 0
    to the record's end, ``▶`` = ``+`` strand of the record, and there is no TSS mark. Colour = motif (legend
    "motif"): with at most :data:`DEFAULT_TOP` scanned motifs each keeps its colour whatever the hits (colours follow
    the order of the scanned motif IDs), else the order of the drawn motifs' IDs. Marker area grows with -log10 p
    (legend "mark"). Sites at nearly the same place stack outwards from the row line, strongest nearest; beyond three
    lanes they overlap. Stretches of N (at least 10 letters other than A, C, G, T; never scanned) are hatched grey
    boxes labelled "N". In a record that merges several transcripts' windows (``transcripts="all"``), each site
    sits relative to the TSS of its own first transcript, as in the TSV.

    Matplotlib artists carry ids (kept in SVG files): ``sites-row{Y}-{MOTIF_ID}-{same|opposite|unknown}`` (one
    scatter per row, motif and mark), ``gap-row{Y}-{I}`` (N stretches), ``tss-line``, ``tss-arrow-stem-row{Y}``,
    ``tss-arrow-row{Y}``, ``motif-legend``, ``mark-legend``.
    """
    figure_class = _matplotlib()  # first, so that a missing extra fails before any work
    source = hits
    every_hit = list(hits)
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise UsageError(f"top must be a positive whole number or None, not {top!r}")
    if max_q is not None and not 0 <= max_q <= 1:
        raise UsageError(f"max_q must be in [0, 1], not {max_q}")
    chosen = _select_motifs(every_hit, motif_ids, tf_names)
    hits, left_out = _strongest(chosen, top, max_q)
    records = dict(getattr(source, "records", None) or {})
    rows = _gather_rows(hits, [*records, *(h.seq_name for h in every_hit)])
    window = _window_from_provenance(source)
    tss_mode = _is_tss_map(every_hit, window)
    strands = _row_strands(rows, {**{k: r.strand for k, r in records.items()}, **(gene_strands or {})}) \
        if tss_mode else {}
    motifs = _motifs_of(hits)
    colour_of = _colour_map(motifs, _scanned_motif_ids(source))
    gaps = _gaps_from_provenance(source, tss_mode, records)

    figure, ax, scale = _map_figure(figure_class, len(rows), len(motifs))
    span = _set_map_limits(ax, _x_range(hits, tss_mode, window, records, gaps), len(rows))
    size_of, p_low, p_high = _site_sizes(hits, scale)
    frame = _MapFrame(tss_mode=tss_mode, strands=strands, colour_of=colour_of, size_of=size_of, span=span,
                      min_gap=0.02 * span * scale)  # min_gap: about the widest marker on the axis
    for y, (key, row) in enumerate(rows.items()):
        _draw_gaps(ax, y, gaps.get(key, ()))
        _draw_row(ax, y, key, row, frame)

    if tss_mode:
        ax.axvline(0, color="black", linewidth=0.8, linestyle=(0, (3, 2)), zorder=2, gid="tss-line")
    _style_map_axes(ax, rows, tss_mode, empty=not rows)
    n_motifs = len(motifs) if left_out["motifs"] or motif_ids or tf_names else \
        max(len(motifs), _scanned_motif_count(source))
    note = _left_out_note(left_out, top, max_q)
    if not hits and rows:
        note = "; ".join(filter(None, ["no sites", note]))
    ax.set_title(_map_title(len(hits), n_motifs, len(rows), tss_mode) if title is None else title,
                 loc="left", fontsize=11, pad=20 if note else 6)
    if note:  # between the title and the axes
        ax.annotate(note, xy=(0.0, 1.0), xycoords="axes fraction", xytext=(0, 5), textcoords="offset points",
                    ha="left", va="bottom", fontsize=8.5, color="0.35", gid="left-out-note")
    if motifs or any(gaps.values()):
        if motifs:
            _add_motif_legend(figure, motifs, colour_of)
        _add_mark_legend(ax, tss_mode, p_low, p_high, any(s is None for s in strands.values()), scale,
                         sites=bool(motifs), gaps=any(gaps.values()))
    figure.left_out = left_out
    _save(figure, path)
    return figure


def _select_motifs(hits: Sequence[Hit], motif_ids: Sequence[str], tf_names: Sequence[str]) -> list[Hit]:
    """The hits of the motifs named by ID (``MA0605.3``, or ``MA0605`` for any version) or TF name
    (case-insensitive); all hits when neither is given."""
    if isinstance(motif_ids, str):
        motif_ids = [motif_ids]
    if isinstance(tf_names, str):
        tf_names = [tf_names]
    if not motif_ids and not tf_names:
        return list(hits)
    ids = set(motif_ids)
    names = {n.upper() for n in tf_names}
    return [h for h in hits if h.motif_id in ids or h.motif_id.partition(".")[0] in ids
            or h.motif_name.upper() in names]


def _strongest(hits: Sequence[Hit], top: int | None, max_q: float | None) -> tuple[list[Hit], dict[str, int]]:
    """The hits with q <= ``max_q`` of the ``top`` motifs whose best site has the lowest p (ties: motif ID), and how
    many sites and motifs were left out (``{"sites", "motifs", "of_motifs", "by_q"}``)."""
    kept = [h for h in hits if max_q is None or h.q_value <= max_q]
    by_q = len(hits) - len(kept)
    best: dict[str, float] = {}
    for hit in kept:
        best[hit.motif_id] = min(best.get(hit.motif_id, math.inf), hit.p_value)
    ranked = sorted(best, key=lambda motif: (best[motif], motif))
    shown = set(ranked if top is None else ranked[:top])
    drawn = [h for h in kept if h.motif_id in shown]
    all_motifs = {h.motif_id for h in hits}
    return drawn, {"sites": len(hits) - len(drawn), "motifs": len(all_motifs) - len(shown),
                   "of_motifs": len(all_motifs), "by_q": by_q}


def _left_out_note(left_out: Mapping[str, int], top: int | None, max_q: float | None) -> str:
    """The line under the title that says what the map does not show, or ""."""
    if not left_out["sites"]:
        return ""
    parts = []
    if left_out["by_q"]:
        parts.append(f"{left_out['by_q']} site{'s' * (left_out['by_q'] != 1)} with q > {max_q:g}")
    capped = left_out["sites"] - left_out["by_q"]
    if capped:
        shown = left_out["of_motifs"] - left_out["motifs"]
        parts.append(f"{capped} site{'s' * (capped != 1)} of {left_out['motifs']} more motif"
                     f"{'s' * (left_out['motifs'] != 1)} (drawn: the {shown} with the strongest sites)")
    return "not drawn: " + "; ".join(parts)


# Sites stack outwards from their row line: the first lane's distance from the line, the distance between lanes
# (both in rows), and the lanes per side; three lanes per side fit in a row at the marker sizes used.
_LANE_OFFSET = 0.11
_LANE_STEP = 0.13
_MAX_LANES = 3

# The motif legend runs under the axes in this many columns; _map_figure leaves room for its lines.
_MOTIF_LEGEND_COLUMNS = 5


@dataclass(frozen=True)
class _MapFrame:
    """What drawing any one row of a promoter map needs to know about the whole map.

    Attributes
    ----------
    tss_mode : bool
        Gene scan (x relative to the TSS, TSS marks drawn) rather than FASTA scan (x = record position).
    strands : mapping of row key -> "+", "-" or None
        The gene strand of each row (gene scans only; None = unknown).
    colour_of : mapping of (motif_id, motif_name) -> colour
    size_of : mapping of id(hit) -> float
        Marker area (points^2) of each site.
    span : float
        Width of the data's x range (the TSS arrow's run is a fraction of it).
    min_gap : float
        Marks whose centres are closer than this on the x axis go to different lanes.
    """

    tss_mode: bool
    strands: Mapping[str, str | None]
    colour_of: Mapping[tuple[str, str], tuple]
    size_of: Mapping[int, float]
    span: float
    min_gap: float


def _gather_rows(hits: Sequence[Hit], names: Iterable[str] = ()) -> dict[str, list[Hit]]:
    """The hits of each record, as the map's rows top to bottom: every name in ``names`` in order (scanned records,
    with sites or not), then any further record of the hits in order of first appearance."""
    rows: dict[str, list[Hit]] = {name: [] for name in names}
    for hit in hits:
        rows.setdefault(_row_key(hit), []).append(hit)
    return rows


def _is_tss_map(hits: Sequence[Hit], window: tuple[int, int] | None) -> bool:
    """Whether to draw a gene-scan map (x relative to the TSS) rather than a FASTA-scan map.

    Every hit must have TSS-relative positions; with no hits, only a gene scan's promoter window tells.
    """
    if hits:
        return all(h.tss_rel_start is not None and h.tss_rel_end is not None for h in hits)
    return window is not None


def _row_strands(rows: Mapping[str, Sequence[Hit]],
                 gene_strands: Mapping[str, str] | None) -> dict[str, str | None]:
    """The gene strand of each row: inferred from the hits, overridden by ``gene_strands``.

    Raises
    ------
    UsageError
        A strand in ``gene_strands`` is not "+" or "-" (checked even for names that are not rows, so that a typo
        in the value is not silently ignored).
    """
    strands = infer_gene_strands(rows)
    for key, strand in (gene_strands or {}).items():
        if strand not in ("+", "-"):
            raise UsageError(f"gene strand of {key} must be '+' or '-', not {strand!r}")
        if key in strands:
            strands[key] = strand
    return strands


def _motifs_of(hits: Sequence[Hit]) -> list[tuple[str, str]]:
    """The distinct (motif_id, motif_name) of the hits, sorted by name case-insensitively (the legend's order,
    which also fixes each motif's colour)."""
    found = {(h.motif_id, h.motif_name) for h in hits}
    return sorted(found, key=lambda m: (m[1].upper(), m[1], m[0]))


def _map_figure(figure_class, n_rows: int, n_motifs: int) -> tuple:
    """A new figure and its axes sized for ``n_rows`` rows and the motif legend, and the mark scale.

    Returns
    -------
    figure, ax, scale
        ``scale`` (1 for up to 8 rows) shrinks the marks with the rows so that three lanes fit on each side of
        a row line.
    """
    n_rows = max(1, n_rows)
    row_inches = 0.9 if n_rows <= 8 else 0.7 if n_rows <= 20 else 0.5  # fixed per row, less when there are many
    legend_inches = 0.25 * math.ceil(n_motifs / _MOTIF_LEGEND_COLUMNS) + 0.5 if n_motifs else 0.0
    figure = figure_class(figsize=(11.0, 1.3 + row_inches * n_rows + legend_inches), layout="constrained")
    return figure, figure.add_subplot(), row_inches / 0.9


def _x_range(hits: Sequence[Hit], tss_mode: bool, window: tuple[int, int] | None, records: Mapping = {},
             gaps: Mapping[str, Sequence[tuple[float, float]]] = {}) -> tuple[float, float]:
    """The map's x range before padding: the promoter window (else the TSS and the sites) on a gene scan, widened
    to any site outside it; on a FASTA scan 0 to the longest record's end (else the last site's end)."""
    if tss_mode:
        lefts, rights = [_tss_span(h)[0] for h in hits], [_tss_span(h)[1] for h in hits]
        low, high = (-window[0], window[1]) if window else (min(lefts + [0]), max(rights + [1]))
        return min([low, *lefts]), max([high, *rights])
    ends = [r.end - r.start for r in records.values()] + [h.end for h in hits]
    ends += [right for row in gaps.values() for _, right in row]
    return (0, max(ends)) if ends else (-1, 1)


def _set_map_limits(ax, x_range: tuple[float, float], n_rows: int) -> float:
    """Set the axes' limits (x padded by 2 % each side, row 0 at the top); return the x range's span.

    The limits are set before anything is drawn so that the row lines and scatters do not autoscale them.
    """
    low, high = x_range
    span = max(high - low, 1)
    pad = 0.02 * span
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(max(1, n_rows) - 0.5, -0.5)
    return span


def _site_sizes(hits: Sequence[Hit], scale: float) -> tuple[dict[int, float], float, float]:
    """Marker area of each hit (keyed by ``id(hit)``), and the lowest and highest -log10 p of the map."""
    neg_log_p = np.array([-math.log10(max(h.p_value, 1e-300)) for h in hits])
    p_low, p_high = (float(neg_log_p.min()), float(neg_log_p.max())) if hits else (0.0, 0.0)
    sizes = _marker_sizes(neg_log_p, p_low, p_high, scale)
    return {id(h): s for h, s in zip(hits, sizes)}, p_low, p_high


def _draw_row(ax, y: int, key: str, row: Sequence[Hit], frame: _MapFrame) -> None:
    """Draw row ``y``: its line, its sites' marks and, on a gene scan, its TSS arrow."""
    ax.axhline(y, color="0.75", linewidth=0.8, zorder=1)
    centres, same, marks = _row_sites(row, frame.tss_mode, frame.strands.get(key))
    p_values = np.array([h.p_value for h in row])
    ys = _lane_ys(y, centres, same, p_values, frame.min_gap)
    _draw_row_marks(ax, y, row, centres, ys, marks, frame)
    if frame.tss_mode:
        _draw_tss_arrow(ax, y, frame.span)


def _row_sites(row: Sequence[Hit], tss_mode: bool, gene_strand: str | None) -> tuple[np.ndarray, np.ndarray, list]:
    """The x centre, strand side and mark of each site in a row.

    Returns
    -------
    centres : ndarray
        Site centres on the map axis (TSS-relative on a gene scan, record position on a FASTA scan).
    same : ndarray of bool
        The site goes above the row line: on the gene's strand (or the record's + strand); every site when the
        gene's strand is unknown.
    marks : list of str
        The marker of each site: same strand, opposite strand or unknown.
    """
    if tss_mode:
        starts = np.array([_tss_span(h)[0] for h in row], dtype=np.float64)
        ends = np.array([_tss_span(h)[1] for h in row], dtype=np.float64)
        same = np.array([gene_strand is None or h.strand == gene_strand for h in row])
        marks = [_UNKNOWN_STRAND_MARK if gene_strand is None else
                 _SAME_STRAND_MARK if s else _OPPOSITE_STRAND_MARK for s in same]
    else:
        starts = np.array([h.start for h in row], dtype=np.float64)
        ends = np.array([h.end for h in row], dtype=np.float64)
        same = np.array([h.strand == "+" for h in row])
        marks = [_SAME_STRAND_MARK if s else _OPPOSITE_STRAND_MARK for s in same]
    return (starts + ends) / 2, same, marks


def _lane_ys(y: int, centres: np.ndarray, same: np.ndarray, p_values: np.ndarray, min_gap: float) -> np.ndarray:
    """The y of each mark of row ``y``: same-strand sites above the line, the others below, each side stacked in
    lanes outwards from the line so that nearby marks do not cover each other (strongest nearest)."""
    ys = np.empty(len(centres))
    for side, sign in ((True, -1.0), (False, 1.0)):  # y grows downwards: same strand above the line
        members = np.flatnonzero(same == side)
        if not len(members):
            continue
        order = members[np.lexsort((centres[members], p_values[members]))]  # strongest first
        lanes = _lanes(centres, order, min_gap, _MAX_LANES)
        ys[members] = y + sign * (_LANE_OFFSET + _LANE_STEP * lanes[members])
    return ys


def _draw_row_marks(ax, y: int, row: Sequence[Hit], centres: np.ndarray, ys: np.ndarray, marks: list,
                    frame: _MapFrame) -> None:
    """Scatter the sites of row ``y``, one collection per (motif, mark) so each has one colour and one marker
    shape and an id ``sites-row{Y}-{MOTIF_ID}-{same|opposite|unknown}``."""
    groups: dict[tuple, list[int]] = {}
    for i, hit in enumerate(row):
        groups.setdefault(((hit.motif_id, hit.motif_name), marks[i]), []).append(i)
    for (motif, mark), members in groups.items():
        collection = ax.scatter(centres[members], ys[members], s=[frame.size_of[id(row[i])] for i in members],
                                marker=mark, color=frame.colour_of[motif], edgecolors="0.15", linewidths=0.4,
                                zorder=3, clip_on=False)
        collection.set_gid(f"sites-row{y}-{motif[0]}-{_MARK_WORDS[mark]}")


def _draw_tss_arrow(ax, y: int, span: float) -> None:
    """The bent TSS arrow of row ``y``: up from the row line at x = 0, then pointing downstream (right)."""
    rise, run = 0.42, 0.035 * span
    ax.plot([0, 0], [y, y - rise], color="black", linewidth=1.4, zorder=4, solid_capstyle="butt",
            gid=f"tss-arrow-stem-row{y}")
    arrow = ax.annotate("", xy=(run, y - rise), xytext=(0, y - rise),
                        arrowprops=dict(arrowstyle="-|>", color="black", linewidth=1.4, shrinkA=0, shrinkB=0,
                                        mutation_scale=11), zorder=4)
    arrow.arrow_patch.set_gid(f"tss-arrow-row{y}")


def _style_map_axes(ax, rows: Mapping[str, Sequence[Hit]], tss_mode: bool, empty: bool) -> None:
    """The x label and ticks ("TSS" and signed positions on a gene scan), the row labels, no frame but the
    bottom, and "no sites" on an ``empty`` map."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if tss_mode:
        ax.set_xlabel("position relative to the TSS (bp; transcription runs left to right)")
        ax.xaxis.set_major_formatter(FuncFormatter(_tss_tick))
    else:
        ax.set_xlabel("position in the sequence (bp, 0-based)")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 2.5, 5, 10]))
    ax.set_yticks(range(len(rows)), [_row_label(name, r) for name, r in rows.items()])
    ax.tick_params(axis="y", length=0)
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    if empty:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no sites", transform=ax.transAxes, ha="center", va="center", color="0.4")


def _map_title(n_hits: int, n_motifs: int, n_rows: int, tss_mode: bool) -> str:
    """The default title: ``"N sites of M motifs on K promoters"`` (``sequences`` on a FASTA scan)."""
    return (f"{n_hits} site{'s' * (n_hits != 1)} of {n_motifs} motif{'s' * (n_motifs != 1)} "
            f"on {n_rows} {'promoter' if tss_mode else 'sequence'}{'s' * (n_rows != 1)}")


def _motif_label(motif: tuple[str, str], duplicate_names: set[str]) -> str:
    """A motif's legend entry: its name, with its id when the name is empty or shared by another motif."""
    motif_id, name = motif
    return f"{name} {motif_id}" if name in duplicate_names or not name else name


def _add_motif_legend(figure, motifs: Sequence[tuple[str, str]], colour_of: Mapping) -> None:
    """The "motif" legend (id ``motif-legend``): a colour swatch per motif, in columns below the axes."""
    from matplotlib.lines import Line2D

    duplicate_names = {name for name, n in Counter(name for _, name in motifs).items() if n > 1}
    handles = [Line2D([], [], linestyle="", marker="s", markersize=8, markerfacecolor=colour_of[m],
                      markeredgecolor="0.15", markeredgewidth=0.4, label=_motif_label(m, duplicate_names))
               for m in motifs]
    legend = figure.legend(handles=handles, loc="outside lower left", ncols=_MOTIF_LEGEND_COLUMNS, title="motif",
                           frameon=False, fontsize=8.5, title_fontsize=9, alignment="left", handletextpad=0.3,
                           columnspacing=1.2)
    legend.set_gid("motif-legend")


def _add_mark_legend(ax, tss_mode: bool, p_low: float, p_high: float, unknown: bool, scale: float, *,
                     sites: bool = True, gaps: bool = False) -> None:
    """The "mark" legend (id ``mark-legend``) right of the axes: the strand shapes and the p-value sizes (when there
    are ``sites``), and the N-stretch box (when there are ``gaps``)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = _key_handles(Line2D, tss_mode, p_low, p_high, unknown, scale) if sites else []
    if gaps:
        handles.append(Patch(facecolor="0.93", edgecolor="0.6", hatch="////", linewidth=0.5,
                             label="N (not scanned)"))
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="mark", frameon=False,
                       fontsize=8, title_fontsize=9, alignment="left", labelspacing=0.9)
    legend.set_gid("mark-legend")


def _size_levels(low: float, high: float) -> list[float]:
    """-log10 p values to show in the size legend: whole decades within [low, high] (at most four), else the ends."""
    decades = list(range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1))
    if len(decades) > 4:
        step = math.ceil((len(decades) - 1) / 3)
        decades = decades[::step] + ([decades[-1]] if (len(decades) - 1) % step else [])
    if len(decades) >= 2:
        return [float(d) for d in decades]
    return sorted({low, high})


def _key_handles(line_class, tss_mode: bool, p_low: float, p_high: float, unknown: bool, scale: float) -> list:
    """Legend handles for the marker shapes and sizes."""
    strand_words = ("gene's strand", "other strand") if tss_mode else ("+ strand", "\u2212 strand")
    handles = [
        line_class([], [], linestyle="", marker=_SAME_STRAND_MARK, markersize=7, color="0.35", label=strand_words[0]),
        line_class([], [], linestyle="", marker=_OPPOSITE_STRAND_MARK, markersize=7, color="0.35",
                   label=strand_words[1]),
    ]
    if unknown:
        handles.append(line_class([], [], linestyle="", marker=_UNKNOWN_STRAND_MARK, markersize=6, color="0.35",
                                  label="gene strand unknown"))
    for level in _size_levels(p_low, p_high):
        area = float(_marker_sizes(np.array([level]), p_low, p_high, scale)[0])
        exponent = round(level)
        label = f"p = 1e\u2212{exponent}" if abs(level - exponent) < 1e-9 else f"p = {10 ** -level:.1e}"
        handles.append(line_class([], [], linestyle="", marker="o", markersize=math.sqrt(area), color="0.6",
                                  markeredgecolor="0.15", markeredgewidth=0.4, label=label))
    return handles


# --- logo --------------------------------------------------------------------------------------------------------


def _background_array(background) -> np.ndarray:
    from motifscan.background import UNIFORM, is_auto, parse_background

    if background is None:
        return UNIFORM.copy()
    if is_auto(background):
        raise UsageError("a logo needs a fixed background: 'uniform' or four numbers A,C,G,T, not 'auto'")
    return parse_background(background)


def information_matrix(motif: Motif, pseudocount: float = 0.8, background=None) -> np.ndarray:
    """Letter heights in bits, shape (width, 4), columns A, C, G, T.

    Each column's information content is the relative entropy of its letter probabilities ``p`` (from
    :func:`motifscan.motifs.probabilities`) to the background ``b``, ``IC = sum p log2(p / b)`` (``2 - H`` for the
    uniform background); each letter's height is ``p * IC``.
    """
    from motifscan.motifs import probabilities

    b = _background_array(background)
    p = probabilities(motif.counts, pseudocount, b)  # (4, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / b[:, None]), 0.0)
    ic = np.clip(terms.sum(axis=0), 0.0, None)
    return (p * ic).T


def motif_logo(motifs: Motif | Sequence[Motif], path: str | Path | None = None, *, pseudocount: float = 0.8,
               background=None) -> Figure:
    """Information-content sequence logos (bits) of one motif or several (one row each, in the order given).

    Parameters
    ----------
    motifs : Motif or sequence of Motif
        Each count matrix is turned into probabilities with ``pseudocount`` spread by ``background``.
    path : str or Path, optional
        Also save the figure there (``.png``, ``.svg`` or ``.pdf``).
    pseudocount : float
        Total pseudocount per column, as for scanning (default 0.8).
    background : None, "uniform", "A,C,G,T" or four numbers
        Background letter probabilities; None = uniform (then the y axis runs to 2 bits).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per motif, titled ``"ID NAME"`` with its source below the title (the JASPAR release,
        collection, tax group and species, or the motif file's name; SVG id ``logo-source-ROW``), x = position
        1..width (5' to 3'), y = bits; 4 x width letter glyphs each (logomaker), stacked tallest on top. SVG ids:
        ``glyph-POSITION-LETTER`` for one motif, ``glyph-ROW-POSITION-LETTER`` (ROW from 1) for several.
        ``figure.logos``: the :class:`logomaker.Logo` of each row; ``figure.logo``: the first.
    """
    chosen = [motifs] if isinstance(motifs, Motif) else list(motifs)
    if not chosen:
        raise UsageError("no motif to draw")
    figure_class = _matplotlib()
    logomaker = _logomaker()
    import pandas as pd

    b = _background_array(background)
    widest = max(motif.width for motif in chosen)
    figure = figure_class(figsize=(max(4.0, 0.42 * widest + 1.2), 2.5 * len(chosen)), layout="constrained")
    logos = []
    for row, (ax, motif) in enumerate(zip(figure.subplots(len(chosen), 1, squeeze=False)[:, 0], chosen), 1):
        heights = information_matrix(motif, pseudocount, background)
        frame = pd.DataFrame(heights, columns=list("ACGT"), index=range(1, motif.width + 1))
        logo = logomaker.Logo(frame, ax=ax, color_scheme="classic", font_name="DejaVu Sans",
                              stack_order="big_on_top", vpad=0.03, width=0.9)
        logo.style_spines(visible=False)
        logo.style_spines(spines=("left", "bottom"), visible=True)
        ax.set_xticks(range(1, motif.width + 1))
        ax.set_xlim(0.5, widest + 0.5)
        ax.set_ylim(0, float(np.log2(1 / b.min())))
        ax.set_ylabel("bits")
        ax.set_xlabel("position (5' to 3')")
        ax.set_title(f"{motif.id} {motif.name}".strip(), fontsize=11, pad=13)
        ax.text(0.5, 1.015, _logo_source(motif), transform=ax.transAxes, ha="center", va="bottom", fontsize=8,
                color="0.3", gid=f"logo-source-{row}")  # between the title and the letters
        prefix = "glyph-" if len(chosen) == 1 else f"glyph-{row}-"
        for position, letters in logo.glyph_df.iterrows():
            for letter, glyph in letters.items():
                if glyph.patch is not None:  # logomaker draws no patch for a zero-height letter
                    glyph.patch.set_gid(f"{prefix}{position}-{letter}")
        logos.append(logo)
    figure.logos = logos  # the logomaker.Logo of each row (glyph_df: width x 4 glyphs), for inspection and restyling
    figure.logo = logos[0]
    _save(figure, path)
    return figure


def _logo_source(motif: Motif) -> str:
    """Where a motif comes from, for its logo: ``"JASPAR2026 CORE vertebrates, Homo sapiens"`` or the file's name."""
    if motif.collection:  # a JASPAR matrix: source is the release
        group = " ".join(part for part in (motif.source, motif.collection, motif.tax_group) if part)
        return f"{group}, {motif.species}" if motif.species else group
    return f"file {Path(motif.source).name}" if motif.source else ""
