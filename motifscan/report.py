"""The HTML report: one self-contained page (styles and scripts inlined, nothing fetched) to share a scan.

What the page holds, and what works without any script: the title and a summary, the name of every gene (or record)
scanned, the site table's first rows (``STATIC_ROWS``, in the TSV's order, each ``matched_sequence`` as plain text),
logos of the motifs with sites (SVG, information content in bits), the provenance, and the TSV and BED as download
links (``data:`` URIs). The inlined script (``templates/report.js``) adds the interactive promoter map (hover: motif,
position, p, q, sequence; filters by motif, TF family, q and p; zoom by wheel, drag or buttons), sorting, filtering
and paging of the whole table, and shows only the logos of the motifs on the map.

Readable with 500+ matrices: the map shows the motifs with the smallest p-values first (``top_motifs``, default 12,
changeable on the page), motifs can be chosen by TF family, and the table pages.

Coordinates: the data block carries genomic (or record) 0-based half-open ``start``/``end`` as the TSV does; the map
draws gene scans relative to each promoter's TSS in the gene's orientation (EPD labels: +1 = TSS base, no 0) and FASTA
scans along each record.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from motifscan import __version__
from motifscan.motifs import probabilities

if TYPE_CHECKING:
    from motifscan.api import ScanResult
    from motifscan.design import DesignResult
    from motifscan.model import Motif

STATIC_ROWS = 100
"""Rows of the site table written into the page itself (the script pages through the rest)."""
TOP_MOTIFS = 12
MAX_LOGOS = 60
LETTER_COLOURS = {"A": "#109648", "C": "#255c99", "G": "#f7a01b", "T": "#d62839"}

# letter glyphs in a 100 x 100 box (y down), drawn as filled paths so that no font is needed
_GLYPHS = {
    "A": "M0 100 L38 0 L62 0 L100 100 L77 100 L68 75 L32 75 L23 100 Z M39 56 L61 56 L50 24 Z",
    "C": "M89 21 A48 50 0 1 0 89 79 L73 67 A28 30 0 1 1 73 33 Z",
    "G": "M89 21 A48 50 0 1 0 98 62 L98 48 L54 48 L54 62 L76 62 A28 30 0 1 1 73 33 Z",
    "T": "M0 0 L100 0 L100 19 L60 19 L60 100 L40 100 L40 19 L0 19 Z",
}


def _asset(name: str) -> str:
    return resources.files("motifscan").joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def _json_block(data: Any) -> str:
    """JSON safe inside a <script> element: no '</' (which would end it) and no HTML comment openers."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _data_uri(text: str, mime: str) -> str:
    return f"data:{mime};charset=utf-8;base64,{base64.b64encode(text.encode('utf-8')).decode('ascii')}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ------------------------------------------------------------------------------------------------ logos


def logo_svg(motif: Motif, pseudocount: float, background: np.ndarray, height: int = 60) -> str:
    """An SVG sequence logo: per column, letters stacked by probability x information content (bits, relative to
    ``background``), the largest on top; y axis 0-2 bits."""
    probs = probabilities(motif.counts, pseudocount, background)
    information = (probs * np.log2(probs / background[:, None])).sum(axis=0)  # (w,)
    column_width, left, bits = 14, 24, 2.0
    width = left + column_width * motif.width + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="logo" width="{width}" height="{height + 16}" '
             f'viewBox="0 0 {width} {height + 16}" role="img" aria-label="logo of {_e(motif.id)} {_e(motif.name)}">',
             f'<line x1="{left - 3}" y1="2" x2="{left - 3}" y2="{height + 2}" stroke="#555"/>',
             f'<text x="{left - 6}" y="9" class="axis" text-anchor="end">2</text>',
             f'<text x="{left - 6}" y="{height + 4}" class="axis" text-anchor="end">0</text>',
             f'<text x="6" y="{height / 2 + 6}" class="axis" transform="rotate(-90 6 {height / 2 + 2})" '
             f'text-anchor="middle">bits</text>']
    scale = height / bits
    for j in range(motif.width):
        y = height + 2.0
        for i in np.argsort(probs[:, j] * information[j]):
            h = float(probs[i, j] * max(information[j], 0.0) * scale)
            if h < 0.3:
                continue
            y -= h
            letter = "ACGT"[i]
            parts.append(f'<path d="{_GLYPHS[letter]}" fill="{LETTER_COLOURS[letter]}" transform="translate('
                         f'{left + j * column_width + 1:.1f} {y:.2f}) scale({(column_width - 2) / 100:.3f} '
                         f'{h / 100:.4f})"/>')
        if motif.width <= 30 or j % 5 == 4:
            parts.append(f'<text x="{left + (j + 0.5) * column_width:.1f}" y="{height + 14}" class="axis" '
                         f'text-anchor="middle">{j + 1}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ the scan page


def _background(provenance: dict[str, str]) -> np.ndarray:
    found = re.search(r"A=([0-9.]+) C=([0-9.]+) G=([0-9.]+) T=([0-9.]+)", provenance.get("background", ""))
    values = np.array([float(x) for x in found.groups()]) if found else np.full(4, 0.25)
    return values / values.sum()


def _n_runs(sequence: str | None, offset: int, limit: int = 200) -> list[list[int]]:
    """Stretches of letters other than A, C, G, T (genomic 0-based half-open), the longest ``limit``."""
    if not sequence:
        return []
    runs = [[offset + m.start(), offset + m.end()] for m in re.finditer(r"[^ACGTacgt]+", sequence)]
    return sorted(runs, key=lambda r: r[0] - r[1])[:limit]


def _provenance_gaps(result: ScanResult, limit: int = 200) -> dict[str, list[list[int]]]:
    """The ``gap`` provenance lines (runs of at least :data:`motifscan.engine.GAP_MIN_LENGTH` letters other than A,
    C, G, T; ``NAME CHROM:START-END`` 1-based inclusive) as genomic 0-based half-open runs per record, the longest
    ``limit``: for scans that keep no sequence (FASTA files are streamed)."""
    runs: dict[str, list[list[int]]] = {}
    for key, value in result.provenance:
        parts = str(value).split() if key == "gap" else []
        if len(parts) >= 2 and ":" in parts[1]:
            first, _, last = parts[1].rpartition(":")[2].partition("-")
            if first.isdigit() and last.isdigit():
                runs.setdefault(parts[0], []).append([int(first) - 1, int(last)])
    return {name: sorted(found, key=lambda r: r[0] - r[1])[:limit] for name, found in runs.items()}


def _tss_of_records(result: ScanResult, names: Sequence[str]) -> list[int | None]:
    """Each record's TSS (genomic 0-based), from its hits' TSS-relative positions, else from the promoter window in
    the provenance; None for FASTA scans."""
    table = result.hits
    rel = table.tss_rel()
    facts = dict(result.provenance)
    window = re.match(r"(\d+) bp upstream, (\d+) bp downstream", facts.get("promoter_window", ""))
    if rel is None and window is None:
        return [None] * len(names)
    tss: dict[str, int] = {}
    if rel is not None and len(table):
        seq_names = table.strings("seq_name")
        for row in np.unique(table.target, return_index=True)[1]:
            name = str(seq_names[row])
            record = result.records.get(name)
            if record is None:
                continue
            start, first = int(table.start[row]), int(rel[0][row])
            offset = first - 1 if first > 0 else first  # EPD: +1 is the TSS base, no 0
            tss[name] = start - offset if record.strand == "+" else start + (table.end[row] - 1 - start) + offset
    out: list[int | None] = []
    for name in names:
        record = result.records[name]
        if name in tss:
            out.append(int(tss[name]))
        elif window is not None:
            upstream = int(window.group(1))
            out.append(record.start + upstream if record.strand == "+" else record.end - 1 - upstream)
        else:
            out.append(None)
    return out


def _family(motif: Motif | None) -> str:
    if motif is None:
        return "unknown family"
    return motif.family or motif.tf_class or "unknown family"


def scan_report_data(result: ScanResult, top_motifs: int = TOP_MOTIFS) -> dict[str, Any]:
    """The page's data block: records, motifs, hits as columns (all plain JSON types)."""
    table = result.hits
    names = list(result.records)
    index = {name: i for i, name in enumerate(names)}
    target_record = np.array([index.get(n, -1) for n in table.targets.names], dtype=np.int64)
    sequences = table.targets.sequences
    by_target = dict(zip(table.targets.names, sequences)) if sequences is not None else {}
    listed = _provenance_gaps(result) if sequences is None else {}  # streamed FASTA scans keep no sequence
    gene_of = _record_genes(result)
    tss = _tss_of_records(result, names)
    records = [{"name": n, "gene": gene_of.get(n, ""), "chrom": r.chrom, "start": r.start, "end": r.end,
                "strand": r.strand, "tss": t,
                "gaps": _n_runs(by_target.get(n), r.start) if sequences is not None else listed.get(n, [])}
               for (n, r), t in zip(result.records.items(), tss)]
    known = {m.id: m for m in result.motifs}
    motif_ids, motif_names = table.motifs.ids, table.motifs.names
    best = np.full(len(motif_ids), np.inf)
    if len(table):
        np.minimum.at(best, table.motif, table.p_value)
    motifs = [{"id": motif_ids[k], "name": motif_names[k], "family": _family(known.get(motif_ids[k])),
               "width": int(table.motifs.widths[k]), "best_p": None if not math.isfinite(best[k]) else float(best[k]),
               "hits": 0} for k in range(len(motif_ids))]
    counts = np.bincount(table.motif, minlength=len(motif_ids)) if len(table) else np.zeros(len(motif_ids), int)
    for k, count in enumerate(counts):
        motifs[k]["hits"] = int(count)
    rel = table.tss_rel()
    hits = {
        "motif": table.motif.tolist(), "record": target_record[table.target].tolist(),
        "start": table.start.tolist(), "end": table.end.tolist(), "strand": table.strand.tolist(),
        "score": np.round(table.score, 4).tolist(), "p": [float(f"{p:.4g}") for p in table.p_value],
        "q": [float(f"{q:.4g}") for q in table.q_value],
        "seq": [str(s) for s in table.matched_sequences()],
        "rel_start": rel[0].tolist() if rel is not None else None,
        "rel_end": rel[1].tolist() if rel is not None else None,
    }
    facts = dict(result.provenance)
    return {"version": __version__, "records": records, "motifs": motifs, "hits": hits, "top_motifs": top_motifs,
            "gene_scan": rel is not None, "p_threshold": facts.get("p_threshold", "")}


def _record_genes(result: ScanResult) -> dict[str, str]:
    """Record name -> gene name (gene scans; the record names are 'GENE|TRANSCRIPT')."""
    table = result.hits
    genes: dict[str, str] = {}
    if table.genes is not None and table.targets.genes is not None:
        for name, gene in zip(table.targets.names, table.targets.genes):
            if gene >= 0:
                genes[name] = table.genes.names[gene] or table.genes.ids[gene]
    if dict(result.provenance).get("promoter_window"):
        for name in result.records:
            genes.setdefault(name, name.split("|", 1)[0])
    return genes


def scan_report(result: ScanResult, *, title: str | None = None, top_motifs: int = TOP_MOTIFS) -> str:
    """The whole HTML page of a scan (see the module docstring)."""
    data = scan_report_data(result, top_motifs)
    facts = dict(result.provenance)
    gene_scan = data["gene_scan"]
    genes = [r["gene"] or r["name"] for r in data["records"]]
    unique_genes = list(dict.fromkeys(genes))
    n_hits = len(result.hits)
    with_hits = [m for m in data["motifs"] if m["hits"]]
    title = title or ("motifscan: " + (", ".join(unique_genes[:8]) + (" ..." if len(unique_genes) > 8 else "")
                                       if unique_genes else "scan"))
    what = "genes" if gene_scan else "records"
    summary = (f"{n_hits} site{'s' if n_hits != 1 else ''} of {len(with_hits)} motif"
               f"{'s' if len(with_hits) != 1 else ''} (of {len(data['motifs'])} scanned) in {len(data['records'])} "
               f"{'promoters' if gene_scan else 'records'}; p &le; {_e(facts.get('p_threshold', '?'))}, "
               f"{_e(facts.get('jaspar_release', ''))}")
    pseudocount = float(facts.get("pseudocount", 0.8) or 0.8)
    background = _background(facts)
    logos = _logos_html(result, with_hits, pseudocount, background)
    tsv, bed = result.to_tsv(), result.to_bed()
    body = [
        f"<header><h1>{_e(title)}</h1><p class=summary>{summary}</p>",
        '<nav><a href="#map">Map</a> <a href="#sites">Sites</a> <a href="#logos">Logos</a> '
        '<a href="#provenance">Provenance</a> '
        f'<a download="motifscan_hits.tsv" href="{_data_uri(tsv, "text/tab-separated-values")}" id="download-tsv">'
        'Download TSV</a> '
        f'<a download="motifscan_hits.bed" href="{_data_uri(bed, "text/plain")}" id="download-bed">Download BED</a>'
        "</nav></header>",
        f'<section id="scanned"><h2>{what.capitalize()} scanned ({len(unique_genes)})</h2><p class="gene-list">'
        + " ".join(f'<span class="gene">{_e(g)}</span>' for g in unique_genes) + "</p>"
        + _not_found_html(facts) + "</section>",
        _map_section(),
        _table_section(result, data),
        f'<section id="logos"><h2>Logos of the motifs with sites</h2>{logos}</section>',
        _provenance_section(result.provenance),
    ]
    return _page(title, "".join(body), data)


def _not_found_html(facts: dict[str, str]) -> str:
    missing = facts.get("genes_not_found") or facts.get("not_found")
    return f'<p class="note">Not found: {_e(missing)}</p>' if missing else ""


def _map_section() -> str:
    return (
        '<section id="map"><h2>Promoter map</h2>'
        '<div class="controls" id="filters">'
        '<label>Family <select id="f-family"><option value="">all</option></select></label> '
        '<label>Motif <select id="f-motif"><option value="">top motifs by p</option></select></label> '
        '<label>Top <input id="f-top" type="number" min="1" step="1" size="4"> motifs</label> '
        '<label>q &le; <input id="f-q" type="number" min="0" max="1" step="any" size="6" placeholder="any"></label> '
        '<label>p &le; <input id="f-p" type="number" min="0" max="1" step="any" size="8" placeholder="any"></label> '
        '<span class="zoom"><button type="button" id="zoom-in" title="zoom in">+</button>'
        '<button type="button" id="zoom-out" title="zoom out">&minus;</button>'
        '<button type="button" id="zoom-reset">reset</button></span>'
        '</div><p class="note" id="map-note"></p>'
        '<div id="map-box"><noscript>The interactive map needs JavaScript; the table below does not.</noscript></div>'
        '<div id="legend"></div><div id="map-pager" class="pager"></div>'
        '<div id="tooltip" role="tooltip" hidden></div></section>'
    )


_TABLE_COLUMNS = [("gene", "gene / record"), ("motif_id", "motif"), ("motif_name", "TF"), ("family", "family"),
                  ("chrom", "chrom"), ("start", "start"), ("end", "end"), ("strand", "strand"),
                  ("tss_rel", "TSS-relative"), ("score", "score"), ("p", "p"), ("q", "q"),
                  ("seq", "matched_sequence")]


def _table_section(result: ScanResult, data: dict[str, Any]) -> str:
    hits, records, motifs = data["hits"], data["records"], data["motifs"]
    head = "".join(f'<th data-key="{k}" scope="col">{_e(label)}</th>' for k, label in _TABLE_COLUMNS)
    rows = []
    for i in range(min(STATIC_ROWS, len(hits["start"]))):
        record = records[hits["record"][i]] if hits["record"][i] >= 0 else {"gene": "", "name": "", "chrom": ""}
        motif = motifs[hits["motif"][i]]
        rel = ""
        if hits["rel_start"] is not None:
            rel = f"{hits['rel_start'][i]:+d}..{hits['rel_end'][i]:+d}"
        cells = [record["gene"] or record["name"], motif["id"], motif["name"], motif["family"], record["chrom"],
                 hits["start"][i], hits["end"][i], hits["strand"][i], rel, f"{hits['score'][i]:.2f}",
                 f"{hits['p'][i]:.3g}", f"{hits['q'][i]:.3g}"]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells)
                    + f'<td class="seq">{_e(hits["seq"][i])}</td></tr>')
    n = len(hits["start"])
    more = (f'<p class="note" id="static-note">The first {STATIC_ROWS} of {n} sites are shown; the page script '
            "pages through all of them.</p>") if n > STATIC_ROWS else ""
    return ('<section id="sites"><h2>Sites</h2><div class="controls"><label>Search <input id="t-search" '
            'type="search" placeholder="gene, motif, sequence"></label> <span id="t-count"></span></div>'
            f'<div class="wide"><table id="site-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>"
            f'{more}<div id="table-pager" class="pager"></div>'
            '<p class="note">start/end: 0-based half-open on chrom (as in BED); strand relative to chrom; '
            "TSS-relative: first..last base, +1 = the TSS base, no 0, in the gene's orientation; "
            "matched_sequence 5'&rarr;3' on the site's strand.</p></section>")


def _logos_html(result: ScanResult, with_hits: list[dict], pseudocount: float, background: np.ndarray) -> str:
    known = {m.id: m for m in result.motifs}
    ordered = sorted(with_hits, key=lambda m: m["best_p"])
    figures = []
    for motif in ordered[:MAX_LOGOS]:
        found = known.get(motif["id"])
        if found is None:
            continue
        index = result.hits.motifs.ids.index(motif["id"])
        figures.append(f'<figure class="logo-box" data-motif="{index}">{logo_svg(found, pseudocount, background)}'
                       f'<figcaption>{_e(motif["id"])} {_e(motif["name"])} <span class="family">'
                       f'{_e(motif["family"])}</span></figcaption></figure>')
    if not figures:
        return '<p class="note">No logos: the scan found no sites (or the page was made from a TSV alone).</p>'
    left = len(ordered) - len(figures)
    note = f'<p class="note">{left} more motifs with sites have no logo here.</p>' if left > 0 else ""
    return '<div class="logos">' + "".join(figures) + "</div>" + note


def _provenance_section(provenance: Iterable[tuple[str, str]]) -> str:
    rows = [(k, v) for k, v in provenance if k != "record"]
    n_records = sum(1 for k, _ in provenance if k == "record")
    items = "".join(f"<tr><th scope=row>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    if n_records:
        items += f"<tr><th scope=row>records</th><td>{n_records} scanned (listed in the TSV)</td></tr>"
    return f'<section id="provenance"><h2>Provenance</h2><table class="provenance">{items}</table></section>'


def _page(title: str, body: str, data: dict[str, Any] | None) -> str:
    script = ""
    if data is not None:
        script = (f'<script type="application/json" id="motifscan-data">{_json_block(data)}</script>'
                  f"<script>{_asset('report.js')}</script>")
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<meta name=generator content=\"motifscan {_e(__version__)}\"><title>{_e(title)}</title>"
            f"<style>{_asset('report.css')}</style></head><body>{body}{script}</body></html>\n")


# ------------------------------------------------------------------------------------------------ the design page


def design_report(result: DesignResult, *, title: str | None = None) -> str:
    """An HTML page of a bench design: one card per site (primers, mutation), the design table, the provenance and
    the TSV as a download. Static: it needs no script."""
    from motifscan.design import DESIGN_COLUMNS

    title = title or "motifscan design"
    cards = []
    for design in result.designs:
        values = design.row_values()
        site = design.site
        label = f"{site.motif_name} ({site.motif_id}) {site.gene_name or site.seq_name} {site.chrom}:{site.start}-" \
                f"{site.end}({site.strand})"
        lines = [("site (matched_sequence)", values["matched_sequence"]), ("p", values["p_value"]),
                 ("ChIP left primer", f"{values['chip_left_primer']}  Tm {values['chip_left_tm']}"),
                 ("ChIP right primer", f"{values['chip_right_primer']}  Tm {values['chip_right_tm']}"),
                 ("ChIP product", f"{values['chip_product_start']}-{values['chip_product_end']} "
                                  f"({values['chip_product_size']} bp)"),
                 ("mutant site", f"{values['mutant_site']}  ({values['mutant_changes']}; p after "
                                 f"{values['mutant_p_value']})"),
                 ("mutagenic forward", f"{values['mut_forward_primer']}  Tm {values['mut_forward_tm']}"),
                 ("mutagenic reverse", f"{values['mut_reverse_primer']}  Tm {values['mut_reverse_tm']}"),
                 ("cloning forward", values["clone_forward_primer"]),
                 ("cloning reverse", values["clone_reverse_primer"]), ("notes", values["notes"])]
        cells = "".join(f"<tr><th scope=row>{_e(k)}</th><td class=seq>{_e(v)}</td></tr>" for k, v in lines)
        cards.append(f'<article class="card"><h3>{_e(label)}</h3><table>{cells}</table></article>')
    head = "".join(f"<th>{_e(c)}</th>" for c in DESIGN_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{_e(d.row_values()[c])}</td>" for c in DESIGN_COLUMNS) + "</tr>"
                   for d in result.designs)
    tsv = result.to_tsv()
    body = (f"<header><h1>{_e(title)}</h1><p class=summary>{len(result.designs)} sites designed</p><nav>"
            f'<a download="motifscan_design.tsv" href="{_data_uri(tsv, "text/tab-separated-values")}" '
            'id="download-tsv">Download TSV</a></nav></header>'
            f'<section id="designs"><h2>Sites</h2>{"".join(cards)}</section>'
            f'<section id="design-table"><h2>Design table</h2><div class="wide"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></section>"
            + _provenance_section(result.provenance))
    return _page(title, body, None)


# ------------------------------------------------------------------------------------------------ the enrich page


def enrich_report(result: Any, *, title: str | None = None, top_logos: int = 12) -> str:
    """An HTML page of a promoter-background enrichment (``motifscan enrich``): the query genes, one row per matrix
    with its TF family (sortable by any column, filterable by family and q with the inlined script; all rows are
    in the page), the families summarised (best q, matrices with q < 0.05), logos of the ``top_logos`` matrices with
    the smallest p, the provenance and the TSV as a download."""
    from motifscan.gene_lists import ENRICH_COLUMNS

    facts = dict(result.provenance)
    known = {m.id: m for m in result.motifs}
    columns = result.columns
    rows = result.rows()
    families = [_family(known.get(str(motif_id))) for motif_id in columns["motif_id"]]
    genes = facts.get("genes", "").split()
    title = title or "motifscan enrich: " + (" ".join(genes[:8]) + (" ..." if len(genes) > 8 else ""))
    significant = int((np.asarray(columns["q_value"], dtype=float) < 0.05).sum())
    head = "<th data-key=\"family\">family</th>" + "".join(
        f'<th data-key="{_e(c)}">{_e(c)}</th>' for c in ENRICH_COLUMNS)
    body = "".join(f'<tr data-family="{_e(family)}" data-q="{_e(fields[ENRICH_COLUMNS.index("q_value")])}"><td>'
                   f"{_e(family)}</td>" + "".join(f"<td>{_e(v)}</td>" for v in fields) + "</tr>"
                   for family, fields in zip(families, rows))
    by_family: dict[str, list[int]] = {}
    for i, family in enumerate(families):
        by_family.setdefault(family, []).append(i)
    q = np.asarray(columns["q_value"], dtype=float)
    summary_rows = sorted(by_family.items(), key=lambda item: float(q[item[1]].min()))
    family_table = "".join(
        f"<tr><td>{_e(f)}</td><td>{len(ix)}</td><td>{int((q[ix] < 0.05).sum())}</td><td>{float(q[ix].min()):.3g}"
        f"</td><td>{_e(columns['motif_id'][ix[int(np.argmin(q[ix]))]])} "
        f"{_e(columns['motif_name'][ix[int(np.argmin(q[ix]))]])}</td></tr>" for f, ix in summary_rows)
    pseudocount = float(facts.get("pseudocount", 0.8) or 0.8)
    background = _background(facts)
    logos = []
    for motif_id, name in list(zip(columns["motif_id"], columns["motif_name"]))[:top_logos]:
        motif = known.get(str(motif_id))
        if motif is not None:
            logos.append(f'<figure class="logo-box">{logo_svg(motif, pseudocount, background)}<figcaption>'
                         f"{_e(motif_id)} {_e(name)}</figcaption></figure>")
    options = "".join(f'<option value="{_e(f)}">{_e(f)} ({len(ix)})</option>' for f, ix in sorted(by_family.items()))
    tsv = result.to_tsv()
    page = (
        f"<header><h1>{_e(title)}</h1><p class=summary>{len(result)} matrices tested; {significant} with presence "
        f"q &lt; 0.05 ({_e(facts.get('jaspar_release', ''))})</p><nav><a href=\"#matrices\">Matrices</a> "
        '<a href="#families">Families</a> <a href="#logos">Logos</a> <a href="#provenance">Provenance</a> '
        f'<a download="motifscan_enrich.tsv" href="{_data_uri(tsv, "text/tab-separated-values")}" '
        'id="download-tsv">Download TSV</a></nav></header>'
        f'<section id="scanned"><h2>Genes ({len(genes)})</h2><p class="gene-list">'
        + " ".join(f'<span class="gene">{_e(g)}</span>' for g in genes) + "</p></section>"
        '<section id="matrices"><h2>Matrices</h2><div class="controls"><label>Family <select id="e-family" '
        'data-filter-for="enrich-table" data-attr="family" data-op="eq">'
        f'<option value="">all</option>{options}</select></label> <label>q &le; <input id="e-q" type="number" '
        'data-filter-for="enrich-table" data-attr="q" data-op="le" min="0" max="1" step="any" placeholder="any">'
        '</label> <span id="e-count" data-count-for="enrich-table" data-noun="matrices"></span></div>'
        f'<div class="wide"><table id="enrich-table" data-sortable><thead><tr>{head}</tr></thead><tbody>{body}'
        '</tbody></table>'
        "</div><p class=note>Sorted by p; click a header to sort. q: Benjamini-Hochberg over all matrices; related "
        "matrices of one family move together, so read the family table too.</p></section>"
        '<section id="families"><h2>By TF family</h2><table class="families"><thead><tr><th>family</th>'
        "<th>matrices</th><th>q &lt; 0.05</th><th>best q</th><th>best matrix</th></tr></thead>"
        f"<tbody>{family_table}</tbody></table></section>"
        f'<section id="logos"><h2>Logos of the {len(logos)} matrices with the smallest p</h2><div class="logos">'
        f'{"".join(logos)}</div></section>' + _provenance_section(result.provenance))
    return _page(title, page, None).replace("</body>", _table_script() + "</body>")


def _table_script() -> str:
    return f"<script>{_asset('tables.js')}</script>"


# ------------------------------------------------------------------------------------------------ the variants page


def variants_report(result: Any, *, title: str | None = None, top_logos: int = 12) -> str:
    """An HTML page of a variant scan (``motifscan variants``): the genes and variants scored, one row per variant x
    motif x strand (all rows in the page, each readable without scripts; sortable by any column and filterable by
    effect and TF family with the inlined script), logos of the motifs of the first ``top_logos`` rows, the
    provenance, and the TSV and BED as downloads."""
    from motifscan.variants import EFFECTS, VARIANT_COLUMNS

    facts = dict(result.provenance)
    known = {m.id: m for m in result.motifs}
    columns = result.columns
    n = len(result)
    genes = sorted({str(g) for g in columns["gene_name"].tolist() if str(g)}
                   | {name.split("|")[0] for name in result.records})
    variants = sorted({str(v) for v in columns["variant_id"].tolist()} | {str(s[3]) for s in result.scored})
    title = title or "motifscan variants: " + (" ".join(genes[:8]) + (" ..." if len(genes) > 8 else ""))
    families = [_family(known.get(str(m))) for m in columns["motif_id"].tolist()]
    tsv = result.to_tsv()
    text_rows = [line.split("\t") for line in tsv.splitlines() if line and not line.startswith("#")][1:]
    head = "<th>family</th>" + "".join(f'<th data-key="{_e(c)}">{_e(c)}</th>' for c in VARIANT_COLUMNS)
    body = "".join(f'<tr data-effect="{_e(fields[VARIANT_COLUMNS.index("effect")])}" data-family="{_e(family)}">'
                   f"<td>{_e(family)}</td>" + "".join(f"<td>{_e(v)}</td>" for v in fields) + "</tr>"
                   for family, fields in zip(families, text_rows))
    effect_counts = {e: int((columns["effect"] == e).sum()) for e in EFFECTS}
    effect_options = "".join(f'<option value="{e}">{e} ({k})</option>' for e, k in effect_counts.items() if k)
    family_options = "".join(f'<option value="{_e(f)}">{_e(f)}</option>' for f in sorted(set(families)))
    pseudocount = float(facts.get("pseudocount", 0.8) or 0.8)
    background = _background(facts)
    logos: list[str] = []  # <figure> elements, one per motif with a site
    seen: set[str] = set()
    for motif_id in columns["motif_id"].tolist():
        motif = known.get(str(motif_id))
        if motif is not None and motif.id not in seen and len(logos) < top_logos:
            seen.add(motif.id)
            logos.append(f'<figure class="logo-box">{logo_svg(motif, pseudocount, background)}<figcaption>'
                         f"{_e(motif.id)} {_e(motif.name)}</figcaption></figure>")
    summary = ", ".join(f"{k} {e}" for e, k in effect_counts.items() if k) or "no site changed"
    page = (
        f"<header><h1>{_e(title)}</h1><p class=summary>{len(variants)} variants scored; {n} variant x motif x "
        f"strand rows ({_e(summary)}); p threshold {_e(facts.get('p_threshold', ''))} "
        f"({_e(facts.get('jaspar_release', ''))})</p><nav><a href=\"#variants\">Variants</a> "
        '<a href="#logos">Logos</a> <a href="#provenance">Provenance</a> '
        f'<a download="motifscan_variants.tsv" href="{_data_uri(tsv, "text/tab-separated-values")}" '
        'id="download-tsv">Download TSV</a> '
        f'<a download="motifscan_variants.bed" href="{_data_uri(result.to_bed(), "text/plain")}" '
        'id="download-bed">Download BED</a></nav></header>'
        f'<section id="scanned"><h2>Genes ({len(genes)})</h2><p class="gene-list">'
        + " ".join(f'<span class="gene">{_e(g)}</span>' for g in genes) + "</p>"
        '<p class="variant-list">Variants: ' + " ".join(f"<code>{_e(v)}</code>" for v in variants[:200])
        + (f" … {len(variants) - 200} more" if len(variants) > 200 else "") + "</p></section>"
        '<section id="variants"><h2>Sites changed by the variants</h2><div class="controls"><label>Effect '
        '<select id="v-effect" data-filter-for="variant-table" data-attr="effect" data-op="eq">'
        f'<option value="">all</option>{effect_options}</select></label> <label>Family <select id="v-family" '
        'data-filter-for="variant-table" data-attr="family" data-op="eq">'
        f'<option value="">all</option>{family_options}</select></label> '
        '<span id="v-count" data-count-for="variant-table" data-noun="rows"></span></div>'
        f'<div class="wide"><table id="variant-table" data-sortable><thead><tr>{head}</tr></thead><tbody>{body}'
        "</tbody></table></div><p class=note>pos: 1-based VCF POS; strand relative to the chromosome; sequences "
        "5'->3' on the strand; effect: lost/gained (the threshold is crossed), weaker/stronger (both alleles pass); "
        "delta_p_value: how surprising a score change this large is (see the README).</p></section>"
        f'<section id="logos"><h2>Logos ({len(logos)})</h2><div class="logos">{"".join(logos)}</div></section>'
        + _provenance_section(result.provenance))
    return _page(title, page, None).replace("</body>", _table_script() + "</body>")
