// The marks grid, progressive enhancement only: the form works without this file.
// Enter (or ↓/↑) moves down (or up) a column, so a column of marks is typed without the
// mouse; pasting several lines (and tab-separated cells) copied from a spreadsheet fills
// the cells below (and to the right of) the one pasted into.
"use strict";
(function () {
  var grid = document.querySelector("table[data-marks-grid]");
  if (!grid) { return; }
  var status = document.getElementById("grid-status");
  var rows = Array.prototype.slice.call(grid.tBodies[0].rows);

  function cells(row) {
    return Array.prototype.slice.call(row.querySelectorAll("input:not([type=hidden])"));
  }
  function place(input) {
    var row = input.closest("tr");
    return { row: rows.indexOf(row), column: cells(row).indexOf(input) };
  }
  function at(row, column) {
    var found = rows[row] ? cells(rows[row])[column] : null;
    return found || null;
  }
  function go(input, step) {
    var here = place(input), next = at(here.row + step, here.column);
    if (next) { next.focus(); next.select(); }
  }

  grid.addEventListener("keydown", function (event) {
    var input = event.target;
    if (input.tagName !== "INPUT") { return; }
    if (event.key === "Enter" || event.key === "ArrowDown") {
      event.preventDefault();
      go(input, event.shiftKey && event.key === "Enter" ? -1 : 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      go(input, -1);
    }
  });

  grid.addEventListener("paste", function (event) {
    var input = event.target;
    if (input.tagName !== "INPUT" || !event.clipboardData) { return; }
    var text = event.clipboardData.getData("text/plain").replace(/\r/g, "").replace(/\n+$/, "");
    if (text.indexOf("\n") < 0 && text.indexOf("\t") < 0) { return; }  // one value: as usual
    event.preventDefault();
    var here = place(input), filled = 0;
    text.split("\n").forEach(function (line, down) {
      line.split("\t").forEach(function (value, right) {
        var cell = at(here.row + down, here.column + right);
        if (cell) { cell.value = value.trim(); filled += 1; }
      });
    });
    if (status) {
      status.textContent = (grid.dataset.pasted || "{n}").replace("{n}", filled);
    }
  });
})();
