// Offline reading and the outbox, on every page (docs/offline.md). Without service
// workers or IndexedDB the pages work as before: forms are sent the ordinary way.
"use strict";
(function () {
  var Outbox = window.PreauOutbox, texts = {};
  var node = document.getElementById("offline-texts");
  if (node) { texts = JSON.parse(node.textContent); }
  if (!Outbox || !window.indexedDB || !window.caches) { return; }
  var say = function (name, values) {
    return (texts[name] || name).replace(/\{(\w+)\}/g, function (_m, k) { return values[k]; });
  };
  var when = function (iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleString(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
  };
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
    navigator.serviceWorker.addEventListener("message", function () { show(); });
  }
  var meta = document.querySelector('meta[name="preau-person"]');
  var person = meta ? meta.content : null;
  var main = document.getElementById("main");

  // Offline, or a saved copy: say so, and since when.
  var savedAt = document.body.dataset.savedAt;
  if (savedAt !== undefined || !navigator.onLine) {
    var banner = document.createElement("p");
    banner.className = "offline-banner";
    banner.setAttribute("role", "status");
    banner.textContent = navigator.onLine ? say("saved", { when: when(savedAt) })
      : savedAt ? say("offline_saved", { when: when(savedAt) }) : say("offline", {});
    document.body.insertBefore(banner, document.body.firstChild);
  }

  // Another person on this device: the previous person's pages and outbox go first.
  var ready = person && savedAt === undefined ? Outbox.switchTo(person) : Promise.resolve();
  document.addEventListener("submit", function (event) {
    var form = event.target, action = new URL(form.action, location.href).pathname;
    if (action === "/logout") {
      event.preventDefault();
      Outbox.all().then(function (items) {
        var waiting = items.filter(function (i) { return i.state === "waiting"; }).length;
        if (waiting && !window.confirm(say("logout_waiting", { n: waiting }))) { return; }
        return Outbox.switchTo("").then(function () { form.submit(); });
      });
    } else if (/^\/(homework\/\d+\/turn-in|messages\/\d+\/reply|todo\/\d+\/done)$/.test(action) && person) {
      event.preventDefault();
      send(form, action);
    }
  }, true);

  function send(form, action) {
    var data = new FormData(form), fields = [], text = "";
    data.forEach(function (value, name) {
      if (value instanceof File) {
        if (value.name) { fields.push([name, value, value.name]); }
      } else {
        fields.push([name, value]);
        if (name === "text" || name === "body") { text = value; }
      }
    });
    var key = data.get("idempotency_key") || (Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12));
    var item = { person: person, url: action, fields: fields, key: String(key), page: location.pathname,
      label: ((form.querySelector("button[type=submit]") || {}).textContent || action) + " — " +
        document.title.replace(/ · Préau$/, ""), text: text,
      state: "waiting", created: new Date().toISOString() };
    var queue = function () {
      return Outbox.add(item).then(function () {
        if (navigator.serviceWorker && navigator.serviceWorker.ready) {
          navigator.serviceWorker.ready.then(function (r) { return r.sync && r.sync.register("preau-outbox"); }).catch(function () {});
        }
        show();
      });
    };
    if (!navigator.onLine) { queue(); return; }
    fetch(action, { method: "POST", body: data, credentials: "same-origin", headers: { "Idempotency-Key": item.key } })
      .then(function (response) {
        if (response.redirected) { location.assign(response.url); return; }
        return response.text().then(function (html) { document.open(); document.write(html); document.close(); });
      }, queue);
  }

  // What waits for this person, and what could not be sent (with their copy).
  function show() {
    return Outbox.all().then(function (items) {
      var old = document.getElementById("outbox");
      if (old) { old.remove(); }
      items = items.filter(function (i) { return i.person === person; });
      if (!items.length || !main) { return; }
      var box = document.createElement("section");
      box.id = "outbox"; box.className = "card outbox"; box.setAttribute("aria-live", "polite");
      items.forEach(function (item) {
        var entry = document.createElement("div");
        entry.className = item.state === "conflict" ? "error" : "waiting";
        var line = document.createElement("p");
        line.textContent = item.state === "conflict" ? say("not_sent", { what: item.label, reason: item.reason })
          : say("waiting", { what: item.label, when: when(item.created) });
        entry.appendChild(line);
        if (item.state === "conflict") {
          if (item.text) {
            var copy = document.createElement("pre");
            copy.className = "pre"; copy.textContent = item.text;
            entry.appendChild(document.createTextNode(say("your_copy", {})));
            entry.appendChild(copy);
          }
          var drop = document.createElement("button");
          drop.type = "button"; drop.className = "link"; drop.textContent = say("remove", {});
          drop.addEventListener("click", function () { Outbox.remove(item.id).then(show); });
          entry.appendChild(drop);
        }
        box.appendChild(entry);
      });
      main.insertBefore(box, main.firstChild);
    });
  }
  var flush = function () {
    return Outbox.flush(function (what) {
      if (what === "sent") { texts.just_sent = true; }
    }).catch(function () {}).then(show).then(function () {
      if (texts.just_sent) { texts.just_sent = false; note(say("sent", {})); }
    });
  };
  function note(message) {
    var status = document.createElement("p");
    status.className = "ok"; status.setAttribute("role", "status"); status.textContent = message;
    if (main) { main.insertBefore(status, main.firstChild); }
  }
  window.addEventListener("online", flush);
  ready.then(navigator.onLine ? flush : show);

  // The page of what this device saved (/offline): listed from this person's cache.
  // Online, only to the person signed in (someone else's session ended without a logout:
  // their pages are not shown to whoever opens this page next).
  var list = document.getElementById("saved-pages");
  if (list && (person || !navigator.onLine)) {
    ready.then(Outbox.person).then(function (who) {
      return who ? caches.open(Outbox.cacheName(who)).then(function (cache) {
        return cache.keys().then(function (requests) {
          return Promise.all(requests.map(function (request) {
            return cache.match(request).then(function (response) {
              var type = response.headers.get("content-type") || "";
              if (type.indexOf("text/html") !== 0) { return null; }
              return response.text().then(function (html) {
                var title = /<title>([^<]*)<\/title>/.exec(html);
                return { path: new URL(request.url).pathname, title: title ? title[1] : request.url,
                  at: response.headers.get("x-preau-saved-at") };
              });
            });
          }));
        });
      }) : [];
    }).then(function (pages) {
      pages = pages.filter(Boolean).sort(function (a, b) { return a.path < b.path ? -1 : 1; });
      list.hidden = !pages.length;
      document.getElementById("nothing-saved").hidden = !!pages.length;
      pages.forEach(function (p) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = p.path + "?saved=1";
        a.innerHTML = p.title;  // the title as the page itself escaped it
        li.appendChild(a);
        li.appendChild(document.createTextNode(" — " + say("saved_short", { when: when(p.at) })));
        list.appendChild(li);
      });
    });
  }
})();
