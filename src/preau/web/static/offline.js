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
    } else if ((WRITES.test(action) || (ANSWERS.test(action) && !navigator.onLine)) && person) {
      event.preventDefault();
      send(form, action);
    } else if (/^\/exercises\/\d+\/start$/.test(action) && form.dataset.attempt && !navigator.onLine) {
      event.preventDefault();  // offline, go on with the attempt kept on this device
      location.assign("/attempts/" + form.dataset.attempt + "?q=summary");
    }
  }, true);
  var WRITES = /^\/(homework\/\d+\/turn-in|messages\/\d+\/reply|todo\/\d+\/done)$/;
  // An exercise's answers go the ordinary way online (a page per question, as without
  // scripts) and into the outbox offline.
  var ANSWERS = /^\/attempts\/\d+\/(answers\/\d+|submit)$/;

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
      label: (form.dataset.offlineLabel || (form.querySelector("button[type=submit]") || {}).textContent || action) +
        " — " + document.title.replace(/ · Préau$/, ""), text: text, answer: /\/answers\/\d+$/.test(action),
      title: document.title.replace(/ · Préau$/, ""),
      state: "waiting", created: new Date().toISOString() };
    var queue = function () {
      return Outbox.add(item).then(function () {
        if (navigator.serviceWorker && navigator.serviceWorker.ready) {
          navigator.serviceWorker.ready.then(function (r) { return r.sync && r.sync.register("preau-outbox"); }).catch(function () {});
        }
        // An exercise goes on to its next page, kept on this device.
        var following = data.get("following"), attempt = /^\/attempts\/\d+/.exec(action);
        if (attempt && following !== null) { location.assign(attempt[0] + "?q=" + (following || "summary")); }
        show();
      });
    };
    if (!navigator.onLine) { queue(); return; }
    fetch(action, { method: "POST", body: data, credentials: "same-origin", headers: { "Idempotency-Key": item.key } })
      .then(function (response) {
        // The page it led to, as fetched: loading it again would lose its one-time
        // confirmation ("Your work is turned in.", a cookie the fetch already used).
        return response.text().then(function (html) {
          if (response.redirected) { history.replaceState(null, "", response.url); }
          document.open(); document.write(html); document.close();
        });
      }, queue);
  }

  // What waits for this person, and what could not be sent (with their copy).
  function show() {
    return Outbox.all().then(function (items) {
      var old = document.getElementById("outbox");
      if (old) { old.remove(); }
      items = items.filter(function (i) { return i.person === person; });
      var groups = {};  // an exercise's answers waiting: one line for them all
      items = items.filter(function (item) {
        if (!item.answer || item.state !== "waiting") { return true; }
        var first = groups[item.page];
        if (first) { first.n += 1; first.created = item.created; return false; }
        groups[item.page] = item; item.n = 1;
        return true;
      });
      if (!items.length || !main) { return; }
      var box = document.createElement("section");
      box.id = "outbox"; box.className = "card outbox"; box.setAttribute("aria-live", "polite");
      items.forEach(function (item) {
        var entry = document.createElement("div");
        entry.className = item.state === "conflict" ? "error" : "waiting";
        var line = document.createElement("p");
        line.textContent = item.state === "conflict" ? say("not_sent", { what: item.label, reason: item.reason })
          : item.n > 1 ? say("answers_waiting", { n: item.n, what: item.title, when: when(item.created) })
          : say(item.answer ? "answer_waiting" : "waiting", { what: item.label, when: when(item.created) });
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
  ready.then(navigator.onLine ? flush : show).then(prefill);

  // An answer waiting to be sent is shown in its question's form (the saved page predates it).
  function prefill() {
    return Outbox.all().then(function (items) {
      var summary = document.querySelector("ol.summary");
      items.forEach(function (item) {
        if (item.state !== "waiting" || !item.answer) { return; }
        var position = /^(\/attempts\/\d+)\/answers\/(\d+)$/.exec(item.url);
        var link = summary && location.pathname === position[1] && summary.querySelector('a[href="?q=' + position[2] + '"]');
        if (link && link.nextElementSibling) {  // the summary: this one is answered, on this device
          link.nextElementSibling.textContent = say("answer_here", {});
          link.nextElementSibling.className = "badge state-pending";
        }
        var form = document.querySelector('form[action="' + item.url + '"]');
        if (!form) { return; }
        var values = {};
        item.fields.forEach(function (f) { (values[f[0]] = values[f[0]] || []).push(String(f[1])); });
        Array.prototype.forEach.call(form.elements, function (input) {
          var given = values[input.name];
          if (!given || input.type === "hidden") { return; }
          if (input.type === "radio" || input.type === "checkbox") { input.checked = given.indexOf(input.value) >= 0; } else { input.value = given[0]; }
        });
      });
    });
  }

  // "Keep for offline" (a homework's video lesson and exercise): the service worker
  // fetches and keeps them; the button says what this device holds.
  var megabytes = function (bytes) {
    return ((bytes || 0) / 1048576).toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 });
  };
  var keep = document.getElementById("keep-offline");
  if (keep && navigator.serviceWorker) { keeping(keep); }
  function keeping(button) {
    var status = document.getElementById("keep-offline-status");
    var ask = function (message) {
      return navigator.serviceWorker.ready.then(function (registration) {
        return new Promise(function (resolve) {
          var channel = new MessageChannel();
          channel.port1.onmessage = function (event) { resolve(event.data); };
          registration.active.postMessage(message, [channel.port2]);
        });
      });
    };
    var mark = function () {
      var checks = [];
      if (button.dataset.video) { checks.push(saved("/videos/" + button.dataset.video + "/low.mp4")); }
      if (button.dataset.exercise) {  // the exercise's page, and its attempt's summary
        checks.push(saved("/exercises/" + button.dataset.exercise).then(function (page) {
          return page && page.clone().text().then(function (html) {
            var attempt = /data-attempt="(\d+)"/.exec(html);
            return attempt && saved("/attempts/" + attempt[1] + "?q=summary").then(function (summary) { return summary && page; });
          });
        }));
      }
      return Promise.all(checks).then(function (found) {
        var at = found.every(Boolean) && found.map(function (r) { return r.headers.get("x-preau-saved-at"); }).sort()[0];
        if (at) { status.textContent = say("kept", { when: when(at) }); button.textContent = say("keep_again", {}); }
        return at;
      });
    };
    var saved = function (key) {
      return Outbox.person().then(function (who) {
        return who === person ? caches.open(Outbox.cacheName(who)).then(function (c) { return c.match(key); }) : null;
      });
    };
    ready.then(mark);
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = say("keeping", {});
      var said = [], jobs = Promise.resolve();
      if (button.dataset.video) {
        jobs = jobs.then(function () { return ask({ keep: "video", id: button.dataset.video }); }).then(function (answer) {
          if (answer.error) { said.push(say("keep_" + answer.error, { mb: megabytes(answer.bytes), budget: megabytes(answer.budget) })); }
        });
      }
      if (button.dataset.exercise) {
        jobs = jobs.then(function () { return keepExercise(button.dataset.exercise); }).then(function (answer) {
          if (answer.error) { said.push(say("keep_" + answer.error, {})); }
        });
      }
      jobs.catch(function () { said.push(say("keep_failed", {})); }).then(mark).then(function (at) {
        if (said.length) { status.textContent = said.join(" "); } else if (!at) { status.textContent = say("keep_failed", {}); }
        button.disabled = false;
      });
    });
    // An exercise is kept with the pupil's attempt: started (or gone on with) online,
    // unless it is timed, since starting starts the clock.
    function keepExercise(exercise) {
      return fetch("/exercises/" + exercise, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        if (html.indexOf("data-timed") >= 0) { return { error: "timed" }; }
        if (html.indexOf("data-new-attempt") >= 0) { return { error: "handed_in" }; }  // not started for them
        if (html.indexOf("/exercises/" + exercise + "/start") < 0) { return { error: "no_attempt" }; }
        var body = new FormData();
        body.append("csrf_token", button.dataset.csrf);
        return fetch("/exercises/" + exercise + "/start", { method: "POST", body: body, credentials: "same-origin",
          headers: { "Idempotency-Key": "keep-" + exercise + "-" + Date.now().toString(36) } }).then(function (r) {
          var attempt = /\/attempts\/(\d+)/.exec(new URL(r.url).pathname);
          if (!r.ok || !attempt) { return { error: "failed" }; }
          return ask({ keep: "exercise", exercise: exercise, attempt: attempt[1] });
        });
      });
    }
  }

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
              var url = new URL(request.url);
              // An exercise's question pages are reached from its summary: listed once.
              if (type.indexOf("text/html") !== 0 || /^\?q=\d+$/.test(url.search)) { return null; }
              return response.text().then(function (html) {
                var title = /<title>([^<]*)<\/title>/.exec(html);
                return { path: url.pathname + url.search, title: title ? title[1] : request.url,
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
        a.href = p.path + (p.path.indexOf("?") < 0 ? "?" : "&") + "device-copy=1";
        a.innerHTML = p.title;  // the title as the page itself escaped it
        li.appendChild(a);
        li.appendChild(document.createTextNode(" — " + say("saved_short", { when: when(p.at) })));
        list.appendChild(li);
      });
    });
  }
})();
