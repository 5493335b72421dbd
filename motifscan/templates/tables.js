/* motifscan report tables (enrich, variants): sort a table by any column, filter its rows. Fetches nothing.
   A table with data-sortable is sortable by a click on any header. A control with data-filter-for="TABLE_ID" and
   data-attr="NAME" filters that table's rows on their data-NAME attribute: data-op="eq" keeps equal values (an empty
   control keeps all), data-op="le" keeps rows whose number is at most the control's. An element with
   data-count-for="TABLE_ID" says how many rows are shown; data-noun names them. */
(function () {
  "use strict";
  function value(row, column) {
    var text = row.cells[column].textContent, number = parseFloat(text);
    return text !== "" && isFinite(number) && /^[-+0-9.eE]+$/.test(text) ? number : text.toLowerCase();
  }
  Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), function (table) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var controls = Array.prototype.slice.call(document.querySelectorAll('[data-filter-for="' + table.id + '"]'));
    var count = document.querySelector('[data-count-for="' + table.id + '"]');
    var sortColumn = -1, direction = 1;
    function keeps(row, control) {
      var wanted = control.value, have = row.getAttribute("data-" + control.getAttribute("data-attr"));
      if (control.getAttribute("data-op") === "le") {
        var limit = parseFloat(wanted);
        return !isFinite(limit) || parseFloat(have) <= limit;
      }
      return !wanted || have === wanted;
    }
    function filter() {
      var shown = 0;
      rows.forEach(function (row) {
        var keep = controls.every(function (control) { return keeps(row, control); });
        row.hidden = !keep;
        shown += keep ? 1 : 0;
      });
      if (count) { count.textContent = shown + " of " + rows.length + " " + (count.getAttribute("data-noun") || "rows"); }
    }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.style.cursor = "pointer";
      th.addEventListener("click", function () {
        direction = sortColumn === column ? -direction : 1;
        sortColumn = column;
        rows.sort(function (a, b) {
          var x = value(a, column), y = value(b, column);
          return x === y ? 0 : (x < y ? -1 : 1) * direction;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.className = ""; });
        th.className = direction > 0 ? "sorted-asc" : "sorted-desc";
      });
    });
    controls.forEach(function (control) {
      control.addEventListener(control.tagName === "SELECT" ? "change" : "input", filter);
    });
    filter();
  });
  document.body.setAttribute("data-report-ready", "1");
})();
