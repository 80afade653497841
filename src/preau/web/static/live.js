// Préau live indicators: the unread counts of messages and announcements update without
// a reload. One EventSource on /live; where it is missing or keeps failing, a cheap poll of
// /api/v1/unread with If-None-Match (304 when nothing changed), at a jittered pace.
(function () {
  "use strict";

  var box = document.getElementById("live");
  if (!box) { return; }
  var status = document.getElementById("live-status");
  var pollSeconds = Number(box.getAttribute("data-poll-s")) || 30;
  var etag = null;
  var polling = false;

  function setCount(name, value) {
    var label = box.getAttribute("data-label-" + name) || "{n}";
    var elements = document.querySelectorAll("[data-live-count='" + name + "']");
    for (var i = 0; i < elements.length; i++) {
      elements[i].textContent = value > 0 ? String(value) : "";
      elements[i].hidden = !(value > 0);
      elements[i].setAttribute("aria-label", label.replace("{n}", String(value)));
    }
  }

  function show(counts) {
    setCount("messages", counts.messages || 0);
    setCount("announcements", counts.announcements || 0);
    box.setAttribute("data-ready", "1");
  }

  function announce(frame) {
    // In the school's quiet hours counts change but nothing calls for attention.
    if (!frame.notify || !status) { return; }
    if (frame.kind === "announcement" && frame.announcements > 0) {
      status.textContent = (box.getAttribute("data-new-announcement") || "") + " " + frame.title;
    } else if (frame.kind === "message" && frame.messages > 0) {
      status.textContent = box.getAttribute("data-new-message") || "";
    }
  }

  function jitter(seconds) {
    return (seconds / 2 + Math.random() * seconds / 2) * 1000;
  }

  function poll() {
    polling = true;
    var headers = { "Accept": "application/json" };
    if (etag) { headers["If-None-Match"] = etag; }
    fetch("/api/v1/unread", { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (response) {
        if (response.status === 200) {
          etag = response.headers.get("ETag");
          return response.json().then(show);
        }
        return null;
      })
      .catch(function () { return null; })
      .then(function () { window.setTimeout(poll, jitter(pollSeconds)); });
  }

  function listen() {
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource("/live");
    var failures = 0;
    source.addEventListener("unread", function (event) {
      failures = 0;
      var frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      show(frame);
      announce(frame);
    });
    source.onerror = function () {
      failures += 1;
      // EventSource reconnects by itself; after repeated failures (a proxy that buffers,
      // a gate that refuses long requests) fall back to polling.
      if (source.readyState === 2 || failures >= 3) {
        source.close();
        if (!polling) { poll(); }
      }
    };
  }

  listen();
}());
