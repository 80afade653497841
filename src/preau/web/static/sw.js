// Préau's service worker (docs/offline.md): each person's pages and files saved as they
// are read, shown with no network; the outbox sent again when the network is back.
"use strict";
importScripts("/static/outbox.js");
var SHELL = "preau-shell-3";  // raise it when the files below change
var SHELL_FILES = ["/offline", "/static/preau.css", "/static/offline.js", "/static/outbox.js",
  "/icons/preau.svg", "/icons/preau-192.png"];
var BUDGET = __BUDGET__;  // bytes of files kept per person (PREAU_OFFLINE_BUDGET_MB)
var FRESH_MS = 10 * 60 * 1000;  // a list page saved this recently is not fetched again
var LISTS = /^\/(todo|timetable|messages|announcements|children)$/;
var ITEMS = /^\/(homework\/\d+|messages\/\d+|announcements\/\d+|children\/\d+\/todo)$/;
var FILES = /^\/(files\/[^/]+|messages\/attachments\/\d+|videos\/\d+\/(poster\.jpg|captions\.vtt))$/;
var VIDEO = /^\/videos\/(\d+)\/(low|medium|high)\.mp4$/;
var QUESTION = /^\/attempts\/\d+\?q=(\d+|summary)$/;  // an exercise's pages, kept with their query
var Outbox = self.PreauOutbox;
var keptVideos = null;  // ids of the videos the person's cache holds, once read
Outbox.person().then(function (person) {
  return person ? caches.open(Outbox.cacheName(person)).then(function (c) { return c.keys(); }) : [];
}).then(function (requests) {
  var ids = {};
  requests.forEach(function (r) { var found = VIDEO.exec(new URL(r.url).pathname); if (found) { ids[found[1]] = true; } });
  keptVideos = ids;
}).catch(function () { keptVideos = null; });

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(SHELL_FILES); })
    .then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) {
  // A new version takes over at once; saved pages and the outbox (IndexedDB) are not
  // versioned, so nothing waiting is lost, and what waits is sent by the new version.
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("preau-shell-") === 0 && n !== SHELL; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }).then(flush));
});
self.addEventListener("sync", function (event) {
  if (event.tag === "preau-outbox") { event.waitUntil(flush()); }
});
self.addEventListener("message", function (event) {
  if (event.data === "flush") { event.waitUntil(flush()); }
  if (event.data && event.data.keep && event.ports[0]) {  // "keep for offline" (offline.js)
    var reply = event.ports[0];
    event.waitUntil(keepForOffline(event.data).then(function (answer) { reply.postMessage(answer); },
      function () { reply.postMessage({ error: "failed" }); }));
  }
});
function flush() {
  return Outbox.flush(function (what, item) {
    return self.clients.matchAll().then(function (all) {
      all.forEach(function (c) { c.postMessage({ outbox: what, id: item.id }); });
    });
  }).catch(function () {});
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/icons/") === 0 ||
      url.pathname === "/offline") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) { var copy = response.clone(); caches.open(SHELL).then(function (c) { c.put(url.pathname, copy); }); }
      return response;
    }).catch(function () { return caches.match(url.pathname); }));
  } else if (VIDEO.test(url.pathname)) {
    // A video not kept is left to the browser (its media loader cancels what it does not
    // need; a stream through here would stay open), unless this worker does not know yet.
    if (!keptVideos || keptVideos[VIDEO.exec(url.pathname)[1]] || !self.navigator.onLine) {
      event.respondWith(video(request, url));
    }
  } else if (FILES.test(url.pathname)) {
    event.respondWith(saved(url.pathname).then(function (copy) { return copy || fetch(request); }));
  } else if (request.mode === "navigate") {
    event.respondWith(page(event, url));
  }
});

function page(event, url) {
  var query = new URLSearchParams(url.search);
  query.delete("device-copy");
  var asked = url.pathname + (String(query) ? "?" + query : "");
  var key = QUESTION.test(asked) ? asked : url.pathname;
  var fromNetwork = function () {
    return fetch(event.request).then(function (response) {
      if (response.ok && response.type === "basic" && (!url.search || key !== url.pathname) &&
          (response.headers.get("content-type") || "").indexOf("text/html") === 0) {
        event.waitUntil(keep(key, response.clone()));
      }
      return response;
    });
  };
  var offline = function () {
    return shown(key).then(function (copy) { return copy || caches.match("/offline", { cacheName: SHELL }); });
  };
  // ?device-copy=1 (the links of /offline, reached from the waiting room): the copy first,
  // the network only without one. Not "saved": the pages use ?saved=N to confirm a save.
  if (url.searchParams.has("device-copy")) {
    return shown(key).then(function (copy) { return copy || fromNetwork().catch(offline); });
  }
  return fromNetwork().catch(offline);
}

function saved(key) {
  return Outbox.person().then(function (person) {
    return person ? caches.open(Outbox.cacheName(person)).then(function (c) { return c.match(key); }) : null;
  });
}
// A saved page as shown: marked with when it was saved, so the page says so.
function shown(key) {
  return saved(key).then(function (copy) {
    if (!copy) { return null; }
    var at = copy.headers.get("x-preau-saved-at") || "";
    return copy.text().then(function (html) {
      var headers = new Headers(copy.headers);  // its security headers too
      headers.delete("content-length");
      return new Response(html.replace("<body", '<body data-saved-at="' + at + '"'), { headers: headers });
    });
  });
}

function keep(key, response) {
  return response.text().then(function (html) {
    var found = /<meta name="preau-person" content="([^"]+)">/.exec(html);
    if (!found) { return; }  // a page of nobody's (login, waiting room): not kept
    var person = found[1];
    return Outbox.switchTo(person).then(function () {
      return store(person, key, html, response.headers);
    }).then(function () { return follow(person, key, html); });
  });
}
function store(person, key, body, headers) {
  var kept = new Headers(headers), blob = body instanceof Blob ? body : new Blob([body]);
  kept.set("x-preau-saved-at", new Date().toISOString());
  kept.set("content-length", String(blob.size));
  return caches.open(Outbox.cacheName(person)).then(function (c) {
    return c.put(key, new Response(blob, { headers: kept }));
  });
}
// What a page links to that a pupil will want with no network: the lists from any page,
// the items of a list (the most recent first), the files of an item, within the budget.
function follow(person, key, html) {
  var links = [], seen = {}, pattern = /href="(\/[^"#?]*)"/g, found;
  var want = LISTS.test(key) ? ITEMS : ITEMS.test(key) ? FILES : LISTS;
  while ((found = pattern.exec(html))) {
    if (want.test(found[1]) && !seen[found[1]] && found[1] !== key) { seen[found[1]] = 1; links.push(found[1]); }
  }
  var chain = Promise.resolve();
  links.slice(0, 15).forEach(function (link) {
    chain = chain.then(function () { return fetchAndKeep(person, link, want === FILES); });
  });
  return chain.catch(function () {});
}
function fetchAndKeep(person, link, isFile) {
  return caches.open(Outbox.cacheName(person)).then(function (c) {
    return c.match(link).then(function (old) {
      var at = old && Date.parse(old.headers.get("x-preau-saved-at"));
      if (old && (isFile || Date.now() - at < FRESH_MS)) { return; }
      return fetch(link, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok || response.redirected) { return; }
        if (!isFile) { return keep(link, response); }
        return Promise.all([used(c), response.blob()]).then(function (both) {
          if (both[0] + both[1].size > BUDGET) { return; }  // over the budget: not kept
          return store(person, link, both[1], response.headers);
        });
      });
    });
  });
}
function used(cache) {
  return cache.keys().then(function (requests) {
    return Promise.all(requests.map(function (r) {
      return cache.match(r).then(function (m) { return Number(m.headers.get("content-length") || 0); });
    }));
  }).then(function (sizes) { return sizes.reduce(function (a, b) { return a + b; }, 0); });
}

// A video kept for offline answers from the device, online too (it saves the pupil's data):
// a Range request (every seek) gets a 206 cut from the kept file. Offline, a quality not
// kept is answered with the one that is (the lightest, kept by "keep for offline").
function video(request, url) {
  var found = VIDEO.exec(url.pathname), range = request.headers.get("range");
  return saved(url.pathname).then(function (copy) {
    if (copy) { return ranged(copy, range); }
    return fetch(request).catch(function () {
      return saved("/videos/" + found[1] + "/low.mp4").then(function (low) {
        return low || saved("/videos/" + found[1] + "/medium.mp4");
      }).then(function (other) {
        if (!other) { throw new Error("not kept"); }
        return ranged(other, range);
      });
    });
  });
}
function ranged(copy, range) {
  var found = /^bytes=(\d*)-(\d*)$/.exec(range || "");
  if (!found || (found[1] === "" && found[2] === "")) { return copy; }
  return copy.blob().then(function (blob) {
    var size = blob.size, start, end;
    if (found[1] === "") {  // "bytes=-500": the last 500 bytes
      start = Math.max(size - Number(found[2]), 0); end = size - 1;
    } else {
      start = Number(found[1]); end = found[2] === "" ? size - 1 : Math.min(Number(found[2]), size - 1);
    }
    if (start >= size || start > end) {
      return new Response("", { status: 416, headers: { "content-range": "bytes */" + size } });
    }
    return new Response(blob.slice(start, end + 1), { status: 206, statusText: "Partial Content", headers: {
      "content-type": copy.headers.get("content-type") || "video/mp4", "accept-ranges": "bytes",
      "content-range": "bytes " + start + "-" + end + "/" + size, "content-length": String(end - start + 1) } });
  });
}

// "Keep for offline": a video's lightest quality (within the budget), its poster and
// captions; an exercise's page and every page of the pupil's open attempt.
function keepForOffline(what) {
  return Outbox.person().then(function (person) {
    if (!person) { return { error: "failed" }; }
    return what.keep === "video" ? keepVideo(person, what.id) : keepAttempt(person, what.exercise, what.attempt);
  });
}
function keepPage(person, key) {
  return fetch(key, { credentials: "same-origin" }).then(function (response) {
    if (!response.ok || response.redirected) { throw new Error("not kept"); }
    return response.text().then(function (html) {
      if (html.indexOf('<meta name="preau-person" content="' + person + '">') < 0) { throw new Error("not theirs"); }
      return store(person, key, html, response.headers).then(function () { return assets(html); })
        .then(function () { return html; });
    });
  });
}
// The styles and scripts of a page kept without being opened (its exercise's, its video's).
function assets(html) {
  var links = [], pattern = /(?:href|src)="(\/static\/[\w.-]+\.(?:css|js))"/g, found;
  while ((found = pattern.exec(html))) { links.push(found[1]); }
  return caches.open(SHELL).then(function (c) {
    return Promise.all(links.map(function (link) {
      return c.match(link).then(function (old) { return old || c.add(link); });
    }));
  }).catch(function () {});
}
function keepVideo(person, id) {
  var page = "/videos/" + id;
  return fetch(page + "?quality=low", { credentials: "same-origin" }).then(function (response) {
    if (!response.ok || response.redirected) { throw new Error("not kept"); }
    return response.text().then(function (html) {
      var source = /<source src="(\/videos\/\d+\/\w+\.mp4)"/.exec(html);
      if (!source) { return { error: "not_ready" }; }
      return caches.open(Outbox.cacheName(person)).then(function (c) {
        return c.match(source[1]).then(function (old) {
          if (old) { return { ok: true, bytes: Number(old.headers.get("content-length") || 0) }; }
          return fetch(source[1], { credentials: "same-origin" }).then(function (file) {
            var size = Number(file.headers.get("content-length") || 0);
            if (!file.ok) { throw new Error("not kept"); }
            return used(c).then(function (before) {
              if (before + size > BUDGET) { return { error: "budget", bytes: size, budget: BUDGET }; }
              return file.blob().then(function (blob) {
                return store(person, source[1], blob, file.headers);
              }).then(function () {
                if (keptVideos) { keptVideos[id] = true; }
                return { ok: true, bytes: size };
              });
            });
          });
        });
      }).then(function (answer) {
        if (!answer.ok) { return answer; }
        var extras = [], pattern = /(?:poster|src)="(\/videos\/\d+\/(?:poster\.jpg|captions\.vtt))"/g, found;
        while ((found = pattern.exec(html))) { extras.push(found[1]); }
        return store(person, page, html, response.headers).then(function () { return assets(html); }).then(function () {
          return Promise.all(extras.map(function (link) { return fetchAndKeep(person, link, true); }));
        }).then(function () { return answer; });
      });
    });
  });
}
function keepAttempt(person, exercise, attempt) {
  var base = "/attempts/" + attempt;
  return keepPage(person, "/exercises/" + exercise).then(function () {
    return keepPage(person, base + "?q=summary");
  }).then(function (summary) {
    var chain = Promise.resolve(), pattern = /href="\?q=(\d+)"/g, found;
    while ((found = pattern.exec(summary))) {
      chain = chain.then(keepPage.bind(null, person, base + "?q=" + found[1]));
    }
    return chain;
  }).then(function () { return { ok: true }; });
}
