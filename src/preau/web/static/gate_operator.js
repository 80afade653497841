// The operator page's live figures and chart: fetched again every 10 seconds and swapped
// in (without JavaScript, reloading the page shows them too).
(function () {
  "use strict";
  var box = document.getElementById("gate-live");
  if (!box || !window.fetch || !window.DOMParser) { return; }
  var url = box.getAttribute("data-live-url");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var section = parsed.querySelector("section");
        if (section) { box.replaceChildren(document.importNode(section, true)); }
      })
      .catch(function () { /* the next round tries again */ });
  }
  window.setInterval(refresh, 10000);
})();
