// The roll call by keyboard: on a pupil's line, P present, A absent, R late (then the
// minutes), D left early; arrows and Enter move between pupils. Without this script the
// form works the same with the radio buttons.
(function () {
  "use strict";
  var form = document.querySelector("[data-roll-call]");
  if (!form) { return; }
  var keys = { p: "present", a: "absent", r: "late", d: "left_early" };
  var lines = Array.prototype.slice.call(form.querySelectorAll(".roll-line"));
  var counter = document.getElementById("roll-count");

  function statusOf(line) {
    var checked = line.querySelector("input[type=radio]:checked");
    return checked ? checked.value : "present";
  }
  function refresh(line) {
    line.className = line.className.replace(/status-[a-z_]+/, "status-" + statusOf(line));
  }
  function count() {
    if (!counter) { return; }
    var absent = 0, late = 0;
    lines.forEach(function (line) {
      var status = statusOf(line);
      if (status === "absent") { absent += 1; }
      if (status === "late") { late += 1; }
    });
    counter.textContent = counter.getAttribute("data-label").replace("{absent}", absent).replace("{late}", late);
  }
  function focusLine(index) {
    var line = lines[Math.max(0, Math.min(lines.length - 1, index))];
    if (!line) { return; }
    var checked = line.querySelector("input[type=radio]:checked") || line.querySelector("input[type=radio]");
    checked.focus();
  }
  lines.forEach(function (line, index) {
    line.addEventListener("change", function () { refresh(line); count(); });
    line.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      var inMinutes = event.target.type === "number";
      var key = event.key.toLowerCase();
      if (!inMinutes && keys[key]) {
        var radio = line.querySelector("input[value=" + keys[key] + "]");
        radio.checked = true;
        refresh(line);
        count();
        event.preventDefault();
        if (key === "r" || key === "d") {
          line.querySelector("input[type=number]").focus();
        } else {
          focusLine(index + 1);
        }
      } else if (event.key === "ArrowDown" || (event.key === "Enter" && inMinutes)) {
        event.preventDefault();
        focusLine(index + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        focusLine(index - 1);
      }
    });
  });
  count();
}());
