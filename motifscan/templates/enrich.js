/* motifscan enrich report: sort the matrix table by any column, filter it by TF family and q. Fetches nothing. */
(function () {
  "use strict";
  var table = document.getElementById("enrich-table");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var family = document.getElementById("e-family"), qBox = document.getElementById("e-q");
  var count = document.getElementById("e-count");
  var sortColumn = -1, direction = 1;
  function value(row, column) {
    var text = row.cells[column].textContent, number = parseFloat(text);
    return text !== "" && isFinite(number) && /^[-+0-9.eE]+$/.test(text) ? number : text.toLowerCase();
  }
  function filter() {
    var q = parseFloat(qBox.value), shown = 0;
    rows.forEach(function (row) {
      var keep = (!family.value || row.getAttribute("data-family") === family.value) &&
                 (!isFinite(q) || parseFloat(row.getAttribute("data-q")) <= q);
      row.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    count.textContent = shown + " of " + rows.length + " matrices";
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
  family.addEventListener("change", filter);
  qBox.addEventListener("input", filter);
  filter();
  document.body.setAttribute("data-report-ready", "1");
})();
