// Classwork pages, progressive enhancement only: every form works without this file.
"use strict";
(function () {
  // One click sends a form once: a slow network must not turn into double hand-ins
  // (the server also refuses duplicates through the idempotency key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
    window.setTimeout(function () { form.dataset.sent = ""; }, 10000);
  });
  // Say which files are about to be sent, for screen readers too.
  var inputs = document.querySelectorAll("input[type=file][multiple]");
  for (var j = 0; j < inputs.length; j++) {
    inputs[j].addEventListener("change", function (event) {
      var input = event.target, note = input.nextElementSibling;
      if (!note || !note.classList.contains("chosen-files")) {
        note = document.createElement("p");
        note.className = "chosen-files muted";
        note.setAttribute("aria-live", "polite");
        input.insertAdjacentElement("afterend", note);
      }
      note.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    });
  }
})();
