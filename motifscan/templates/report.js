/* motifscan report: the interactive promoter map and site table. Inlined into the page; fetches nothing.
   Reads the JSON block #motifscan-data (records, motifs, hits as columns; start/end 0-based half-open). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("motifscan-data").textContent);
  var H = data.hits, R = data.records, M = data.motifs;
  var n = H.start.length;
  var SVGNS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
                 "#bcbd22", "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd", "#e6550d", "#31a354"];
  var ROWS_PER_PAGE = 100, MAP_ROWS = 30, ROW_HEIGHT = 62, LEFT = 190, RIGHT = 24, TOP = 28;
  var state = { family: "", motif: "", top: data.top_motifs, q: null, p: null, search: "",
                sortKey: null, sortDir: 1, page: 0, mapPage: 0, view: null };

  function byId(id) { return document.getElementById(id); }
  function node(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function svgNode(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fmt(x) { return x === null || x === undefined ? "" : Number(x).toPrecision(3).replace(/\.?0+e/, "e"); }
  function signed(x) { return x > 0 ? "+" + x : String(x); }

  /* motifs with sites, ranked by their smallest p (then by index): the rank gives each its colour */
  var ranked = [];
  for (var k = 0; k < M.length; k++) { if (M[k].hits > 0) { ranked.push(k); } }
  ranked.sort(function (a, b) { return (M[a].best_p - M[b].best_p) || (a - b); });
  var rank = {};
  ranked.forEach(function (k, r) { rank[k] = r; });
  function colour(k) { return PALETTE[rank[k] % PALETTE.length]; }

  function recordLabel(r) { return R[r].gene || R[r].name; }
  function passes(i) {
    var m = M[H.motif[i]];
    if (state.family && m.family !== state.family) { return false; }
    if (state.motif !== "" && String(H.motif[i]) !== state.motif) { return false; }
    if (state.q !== null && !(H.q[i] <= state.q)) { return false; }
    if (state.p !== null && !(H.p[i] <= state.p)) { return false; }
    return true;
  }
  function mapMotifs() {
    if (state.motif !== "") { return [Number(state.motif)]; }
    var chosen = ranked.filter(function (k) { return !state.family || M[k].family === state.family; });
    return chosen.slice(0, Math.max(1, state.top || 1));
  }

  /* ------------------------------------------------------------------ filters */
  function fillFilters() {
    var families = {};
    ranked.forEach(function (k) { families[M[k].family] = (families[M[k].family] || 0) + M[k].hits; });
    var familySelect = byId("f-family");
    Object.keys(families).sort().forEach(function (f) {
      familySelect.appendChild(node("option", { value: f }, f + " (" + families[f] + ")"));
    });
    fillMotifSelect();
    byId("f-top").value = state.top;
    familySelect.addEventListener("change", function () {
      state.family = familySelect.value; state.motif = ""; fillMotifSelect(); refresh();
    });
    byId("f-motif").addEventListener("change", function () { state.motif = byId("f-motif").value; refresh(); });
    byId("f-top").addEventListener("input", function () {
      var v = parseInt(byId("f-top").value, 10); state.top = v > 0 ? v : 1; refresh();
    });
    [["f-q", "q"], ["f-p", "p"]].forEach(function (pair) {
      byId(pair[0]).addEventListener("input", function () {
        var v = parseFloat(byId(pair[0]).value); state[pair[1]] = isFinite(v) ? v : null; refresh();
      });
    });
    byId("t-search").addEventListener("input", function () {
      state.search = byId("t-search").value.trim().toLowerCase(); state.page = 0; renderTable();
    });
  }
  function fillMotifSelect() {
    var select = byId("f-motif");
    while (select.options.length > 1) { select.remove(1); }
    ranked.forEach(function (k) {
      if (state.family && M[k].family !== state.family) { return; }
      select.appendChild(node("option", { value: String(k) }, M[k].id + " " + M[k].name + " (" + M[k].hits + ")"));
    });
    select.value = state.motif;
  }
  function refresh() { state.page = 0; state.mapPage = 0; renderMap(); renderTable(); }

  /* ------------------------------------------------------------------ map geometry */
  function tssMode(r) { return data.gene_scan && R[r].tss !== null; }
  function toX(r, g) {  /* genomic 0-based position -> map x (TSS-relative offset, or position in the record) */
    var rec = R[r];
    if (!tssMode(r)) { return g - rec.start; }
    return rec.strand === "+" ? g - rec.tss : rec.tss - g;
  }
  function extent(r) {
    var a = toX(r, R[r].start), b = toX(r, R[r].end - 1);
    return [Math.min(a, b), Math.max(a, b)];
  }
  var domain = (function () {
    var lo = Infinity, hi = -Infinity;
    for (var r = 0; r < R.length; r++) { var e = extent(r); lo = Math.min(lo, e[0]); hi = Math.max(hi, e[1]); }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    var pad = Math.max(1, (hi - lo) * 0.01);
    return [lo - pad, hi + pad];
  })();
  state.view = domain.slice();

  function tickLabel(value) {
    if (!data.gene_scan) { return String(value); }
    if (value === 0) { return "TSS"; }
    return signed(value);
  }
  function ticks(view, width) {
    var span = view[1] - view[0], target = Math.max(2, Math.floor(width / 90));
    var raw = span / target, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (s) { return s * power; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var v = Math.ceil(view[0] / step) * step; v <= view[1]; v += step) { out.push(Math.round(v)); }
    return out;
  }
  /* EPD labels: a label L > 0 is the base at offset L - 1 (+1 = the TSS base), L < 0 the base at offset L */
  function labelOffset(label) { return data.gene_scan && label > 0 ? label - 1 : label; }

  /* ------------------------------------------------------------------ map */
  function renderMap() {
    var box = byId("map-box");
    var width = Math.max(600, box.clientWidth || 1000);
    var shownMotifs = mapMotifs(), inMap = {};
    shownMotifs.forEach(function (k) { inMap[k] = true; });
    var rows = [];
    for (var r = state.mapPage * MAP_ROWS; r < Math.min(R.length, (state.mapPage + 1) * MAP_ROWS); r++) {
      rows.push(r);
    }
    var rowOf = {};
    rows.forEach(function (r, y) { rowOf[r] = y; });
    var height = TOP + rows.length * ROW_HEIGHT + 10;
    var plot = width - LEFT - RIGHT, view = state.view;
    function px(x) { return LEFT + (x - view[0]) / (view[1] - view[0]) * plot; }
    var svg = svgNode("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
                               role: "img", "aria-label": "promoter map" });
    var defs = svgNode("defs");
    var pattern = svgNode("pattern", { id: "gap-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
                                       patternTransform: "rotate(45)" });
    pattern.appendChild(svgNode("rect", { width: 6, height: 6, fill: "#eceef2" }));
    pattern.appendChild(svgNode("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#9aa3b2", "stroke-width": 2 }));
    defs.appendChild(pattern);
    var clip = svgNode("clipPath", { id: "plot-clip" });
    clip.appendChild(svgNode("rect", { x: LEFT, y: 0, width: plot, height: height }));
    defs.appendChild(clip);
    svg.appendChild(defs);
    ticks(view, plot).forEach(function (label) {
      var x = px(labelOffset(label));
      if (x < LEFT || x > LEFT + plot) { return; }
      svg.appendChild(svgNode("line", { x1: x, y1: TOP - 6, x2: x, y2: height - 6, stroke: "#eef0f4" }));
      svg.appendChild(svgNode("text", { x: x, y: TOP - 10, "text-anchor": "middle", "class": "axis" },
                              tickLabel(label)));
    });
    var plotArea = svgNode("g", { "clip-path": "url(#plot-clip)" });
    svg.appendChild(plotArea);
    rows.forEach(function (r, y) {
      var cy = TOP + y * ROW_HEIGHT + ROW_HEIGHT / 2, e = extent(r);
      var label = svgNode("text", { x: LEFT - 8, y: cy + 4, "text-anchor": "end", "class": "row-label" },
                          recordLabel(r));
      label.appendChild(svgNode("title", {}, R[r].name + " " + R[r].chrom + ":" + R[r].start + "-" + R[r].end +
                                " (" + R[r].strand + ")"));
      svg.appendChild(label);
      plotArea.appendChild(svgNode("line", { x1: px(e[0]), y1: cy, x2: px(e[1] + 1), y2: cy, stroke: "#6b7280",
                                             "stroke-width": 1.5 }));
      (R[r].gaps || []).forEach(function (gap) {
        var a = toX(r, gap[0]), b = toX(r, gap[1] - 1), lo = Math.min(a, b), hi = Math.max(a, b) + 1;
        var rect = svgNode("rect", { x: px(lo), y: cy - 7, width: Math.max(1, px(hi) - px(lo)), height: 14,
                                     fill: "url(#gap-hatch)", "class": "gap" });
        rect.appendChild(svgNode("title", {}, "N: " + (gap[1] - gap[0]) + " bp without sequence (not scanned)"));
        plotArea.appendChild(rect);
      });
      if (tssMode(r)) {
        var tx = px(0);
        plotArea.appendChild(svgNode("path", { d: "M" + tx + " " + cy + " v-13 h9 m-3 -3 l3 3 l-3 3",
                                               fill: "none", stroke: "#111", "stroke-width": 1.3 }));
      }
    });
    var marks = [];
    for (var i = 0; i < n; i++) {
      var r2 = H.record[i];
      if (!(r2 in rowOf) || !inMap[H.motif[i]] || !passes(i)) { continue; }
      var x0 = px(toX(r2, (H.start[i] + H.end[i] - 1) / 2) + 0.5);
      if (x0 < LEFT - 10 || x0 > LEFT + plot + 10) { continue; }
      var same0 = data.gene_scan ? H.strand[i] === R[r2].strand : H.strand[i] === "+";
      marks.push({ i: i, x: x0, row: rowOf[r2], same: same0 });
    }
    /* marks closer than a mark's width stack outward in lanes, so that none hides another */
    marks.sort(function (a, b) { return (a.row - b.row) || (a.same - b.same) || (a.x - b.x); });
    var lanes = {};
    marks.forEach(function (mark) {
      var key = mark.row + (mark.same ? "+" : "-"), ends = lanes[key] || (lanes[key] = []);
      var lane = 0;
      while (lane < ends.length && ends[lane] > mark.x - 14) { lane++; }
      ends[lane] = mark.x;
      mark.lane = Math.min(lane, 2);
    });
    var drawn = 0;
    marks.forEach(function (mark) {
      var i = mark.i, x = mark.x, same = mark.same;
      var cyy = TOP + mark.row * ROW_HEIGHT + ROW_HEIGHT / 2;
      var size = Math.max(4.5, Math.min(7, 3 + (-Math.log10(Math.max(H.p[i], 1e-300)) - 3) * 1.2));
      var yy = same ? cyy - 8 - mark.lane * 9 : cyy + 8 + mark.lane * 9;
      var d = same ? "M" + (x - size) + " " + (yy - size) + " L" + (x + size) + " " + yy + " L" + (x - size) +
                     " " + (yy + size) + " Z"
                   : "M" + (x + size) + " " + (yy - size) + " L" + (x - size) + " " + yy + " L" + (x + size) +
                     " " + (yy + size) + " Z";
      plotArea.appendChild(svgNode("path", { d: d, fill: colour(H.motif[i]), "fill-opacity": 0.85,
                                             stroke: "#fff", "stroke-width": 0.6, "class": "site",
                                             "data-i": i }));
      drawn++;
    });
    box.replaceChildren(svg);
    var note = ranked.length > shownMotifs.length && state.motif === ""
      ? "Showing the " + shownMotifs.length + " of " + ranked.length + " motifs with sites that have the smallest " +
        "p-values" + (state.family ? " in " + state.family : "") + "; choose a family or a motif, or raise Top. "
      : "";
    note += drawn + " sites drawn. \u25B6 on the " + (data.gene_scan ? "gene's" : "+") + " strand, \u25C0 on the " +
            "other; size by \u2212log10 p; hatched: N (no sequence). Wheel or +/\u2212 to zoom, drag to pan.";
    byId("map-note").textContent = note;
    renderLegend(shownMotifs);
    renderMapPager();
    showLogos(inMap);
  }
  function renderLegend(shownMotifs) {
    var legend = byId("legend");
    legend.replaceChildren();
    shownMotifs.forEach(function (k) {
      var item = node("span");
      var swatch = node("span", { "class": "swatch" });
      swatch.style.background = colour(k);
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(M[k].id + " " + M[k].name));
      legend.appendChild(item);
    });
  }
  function renderMapPager() {
    var pager = byId("map-pager"), pages = Math.ceil(R.length / MAP_ROWS);
    pager.replaceChildren();
    if (pages <= 1) { return; }
    pager.appendChild(pagerButton("\u2190", state.mapPage > 0, function () { state.mapPage--; renderMap(); }));
    pager.appendChild(pagerButton("\u2192", state.mapPage < pages - 1, function () { state.mapPage++; renderMap(); }));
    pager.appendChild(document.createTextNode(" " + (data.gene_scan ? "promoters " : "records ") +
      (state.mapPage * MAP_ROWS + 1) + "\u2013" + Math.min(R.length, (state.mapPage + 1) * MAP_ROWS) + " of " +
      R.length));
  }
  function pagerButton(text, enabled, action) {
    var b = node("button", { type: "button" }, text);
    b.disabled = !enabled;
    b.addEventListener("click", action);
    return b;
  }
  function showLogos(inMap) {
    var figures = document.querySelectorAll(".logo-box");
    for (var f = 0; f < figures.length; f++) {
      figures[f].hidden = !inMap[Number(figures[f].getAttribute("data-motif"))];
    }
  }

  /* ------------------------------------------------------------------ tooltip, zoom, pan */
  function describe(i) {
    var m = M[H.motif[i]], r = R[H.record[i]];
    var lines = [m.id + " " + m.name + " (" + m.family + ")",
                 (r ? recordLabel(H.record[i]) + " " : "") + (r ? r.chrom : "") + ":" + H.start[i] + "-" + H.end[i] +
                 " (" + H.strand[i] + ")"];
    if (H.rel_start) { lines.push("TSS-relative " + signed(H.rel_start[i]) + ".." + signed(H.rel_end[i])); }
    lines.push("score " + H.score[i].toFixed(2) + "   p " + fmt(H.p[i]) + "   q " + fmt(H.q[i]));
    return lines;
  }
  function wireMap() {
    var box = byId("map-box"), tip = byId("tooltip"), drag = null;
    box.addEventListener("mouseover", function (event) {
      var i = event.target.getAttribute && event.target.getAttribute("data-i");
      if (i === null || i === undefined) { return; }
      tip.replaceChildren();
      describe(Number(i)).forEach(function (line) { tip.appendChild(node("div", {}, line)); });
      tip.appendChild(node("div", { "class": "seq" }, H.seq[Number(i)]));
      tip.hidden = false;
    });
    box.addEventListener("mousemove", function (event) {
      tip.style.left = Math.min(window.innerWidth - 370, event.clientX + 14) + "px";
      tip.style.top = (event.clientY + 14) + "px";
      if (drag) {
        var plot = (box.clientWidth || 1000) - LEFT - RIGHT;
        var shift = (event.clientX - drag.x) / plot * (drag.view[1] - drag.view[0]);
        state.view = [drag.view[0] - shift, drag.view[1] - shift];
        renderMap();
      }
    });
    box.addEventListener("mouseout", function (event) {
      if (event.target.getAttribute && event.target.getAttribute("data-i") !== null) { tip.hidden = true; }
    });
    box.addEventListener("mousedown", function (event) {
      drag = { x: event.clientX, view: state.view.slice() }; box.style.cursor = "grabbing";
    });
    window.addEventListener("mouseup", function () { drag = null; box.style.cursor = ""; });
    box.addEventListener("wheel", function (event) {
      event.preventDefault();
      var rect = box.getBoundingClientRect(), plot = rect.width - LEFT - RIGHT;
      var at = state.view[0] + (event.clientX - rect.left - LEFT) / plot * (state.view[1] - state.view[0]);
      zoom(event.deltaY < 0 ? 1 / 1.4 : 1.4, at);
    }, { passive: false });
    byId("zoom-in").addEventListener("click", function () { zoom(1 / 1.6); });
    byId("zoom-out").addEventListener("click", function () { zoom(1.6); });
    byId("zoom-reset").addEventListener("click", function () { state.view = domain.slice(); renderMap(); });
    window.addEventListener("resize", function () { renderMap(); });
  }
  function zoom(factor, at) {
    var v = state.view, centre = at === undefined ? (v[0] + v[1]) / 2 : at;
    var span = Math.min(domain[1] - domain[0], Math.max(20, (v[1] - v[0]) * factor));
    var left = centre - (centre - v[0]) / (v[1] - v[0]) * span;
    state.view = [left, left + span];
    renderMap();
  }

  /* ------------------------------------------------------------------ table */
  var COLUMNS = ["gene", "motif_id", "motif_name", "family", "chrom", "start", "end", "strand", "tss_rel", "score",
                 "p", "q", "seq"];
  function cell(i, key) {
    var m = M[H.motif[i]], r = H.record[i] >= 0 ? R[H.record[i]] : null;
    switch (key) {
      case "gene": return r ? recordLabel(H.record[i]) : "";
      case "motif_id": return m.id;
      case "motif_name": return m.name;
      case "family": return m.family;
      case "chrom": return r ? r.chrom : "";
      case "start": return H.start[i];
      case "end": return H.end[i];
      case "strand": return H.strand[i];
      case "tss_rel": return H.rel_start ? H.rel_start[i] : null;
      case "score": return H.score[i];
      case "p": return H.p[i];
      case "q": return H.q[i];
      default: return H.seq[i];
    }
  }
  function shownText(i, key) {
    var v = cell(i, key);
    if (key === "tss_rel") { return v === null ? "" : signed(H.rel_start[i]) + ".." + signed(H.rel_end[i]); }
    if (key === "score") { return v.toFixed(2); }
    if (key === "p" || key === "q") { return fmt(v); }
    return String(v);
  }
  function tableRows() {
    var rows = [];
    for (var i = 0; i < n; i++) {
      if (!passes(i)) { continue; }
      if (state.search) {
        var text = (shownText(i, "gene") + " " + M[H.motif[i]].id + " " + M[H.motif[i]].name + " " +
                    M[H.motif[i]].family + " " + H.seq[i]).toLowerCase();
        if (text.indexOf(state.search) < 0) { continue; }
      }
      rows.push(i);
    }
    if (state.sortKey) {
      var key = state.sortKey, dir = state.sortDir;
      rows.sort(function (a, b) {
        var x = cell(a, key), y = cell(b, key);
        if (x === y) { return a - b; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        return (x < y ? -1 : 1) * dir;
      });
    }
    return rows;
  }
  function renderTable() {
    var rows = tableRows(), body = document.querySelector("#site-table tbody");
    var pages = Math.max(1, Math.ceil(rows.length / ROWS_PER_PAGE));
    state.page = Math.min(state.page, pages - 1);
    var fragment = document.createDocumentFragment();
    rows.slice(state.page * ROWS_PER_PAGE, (state.page + 1) * ROWS_PER_PAGE).forEach(function (i) {
      var tr = node("tr");
      COLUMNS.forEach(function (key) {
        tr.appendChild(node("td", key === "seq" ? { "class": "seq" } : {}, shownText(i, key)));
      });
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
    byId("t-count").textContent = rows.length + " of " + n + " sites";
    var staticNote = byId("static-note");
    if (staticNote) { staticNote.hidden = true; }
    var pager = byId("table-pager");
    pager.replaceChildren();
    if (pages > 1) {
      pager.appendChild(pagerButton("\u2190", state.page > 0, function () { state.page--; renderTable(); }));
      pager.appendChild(pagerButton("\u2192", state.page < pages - 1, function () { state.page++; renderTable(); }));
      pager.appendChild(document.createTextNode(" page " + (state.page + 1) + " of " + pages));
    }
    var heads = document.querySelectorAll("#site-table th");
    for (var h = 0; h < heads.length; h++) {
      var k = heads[h].getAttribute("data-key");
      heads[h].className = k === state.sortKey ? (state.sortDir > 0 ? "sorted-asc" : "sorted-desc") : "";
    }
  }
  function wireTable() {
    var heads = document.querySelectorAll("#site-table th");
    for (var h = 0; h < heads.length; h++) {
      heads[h].addEventListener("click", function (event) {
        var key = event.currentTarget.getAttribute("data-key");
        if (state.sortKey === key) { state.sortDir = -state.sortDir; } else { state.sortKey = key; state.sortDir = 1; }
        state.page = 0;
        renderTable();
      });
    }
  }

  fillFilters();
  wireMap();
  wireTable();
  renderMap();
  renderTable();
  document.body.setAttribute("data-report-ready", "1");
})();
