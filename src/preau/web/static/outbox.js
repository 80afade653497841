// The outbox and the saved pages' bookkeeping, shared by the pages and the service worker
// (docs/offline.md). IndexedDB "preau-offline": "outbox" (writes waiting to be sent, each
// with its Idempotency-Key) and "meta" (whose pages this device holds).
"use strict";
(function (scope) {
  var DB = "preau-offline", PAGES = "preau-p-";
  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
        request.result.createObjectStore("meta", { keyPath: "name" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function run(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode), result = work(tx.objectStore(store));
        tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }
  var Outbox = {
    all: function () { return run("outbox", "readonly", function (s) { return s.getAll(); }); },
    add: function (item) { return run("outbox", "readwrite", function (s) { return s.add(item); }); },
    put: function (item) { return run("outbox", "readwrite", function (s) { return s.put(item); }); },
    remove: function (id) { return run("outbox", "readwrite", function (s) { return s.delete(id); }); },
    person: function () {
      return run("meta", "readonly", function (s) { return s.get("person"); })
        .then(function (row) { return row ? row.value : null; });
    },
    // Another person (or nobody) from now on: the previous person's pages and outbox go.
    switchTo: function (person) {
      return Outbox.person().then(function (previous) {
        if (previous === person) { return false; }
        return caches.keys().then(function (names) {
          return Promise.all(names.filter(function (n) {
            return n.indexOf(PAGES) === 0 && n !== PAGES + person;
          }).map(function (n) { return caches.delete(n); }));
        }).then(function () {
          return run("outbox", "readwrite", function (s) { s.clear(); });
        }).then(function () {
          return run("meta", "readwrite", function (s) { s.put({ name: "person", value: person }); });
        }).then(function () { return true; });
      });
    },
    cacheName: function (person) { return PAGES + person; },
    // Send what waits, one at a time, each with its own key: a retry of a request that
    // did arrive gets the first answer again, never a second record.
    flush: function (notify) {
      var send = function () {
        return Outbox.all().then(function (items) {
          var chain = Promise.resolve();
          items.filter(function (i) { return i.state === "waiting"; }).forEach(function (item) {
            chain = chain.then(function () { return sendOne(item, notify || function () {}); });
          });
          return chain;
        });
      };
      if (scope.navigator && navigator.locks) { return navigator.locks.request("preau-outbox", send); }
      return send();
    }
  };
  function sendOne(item, notify) {
    var body = new FormData();
    item.fields.forEach(function (f) {
      if (f[1] instanceof Blob) { body.append(f[0], f[1], f[2]); } else { body.append(f[0], f[1]); }
    });
    return fetch(item.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Idempotency-Key": item.key }
    }).then(function (response) {
      var path = new URL(response.url).pathname;
      if (response.status >= 500 || path.indexOf("/login") === 0 || path.indexOf("/gate/") === 0 ||
          (response.status === 409 && response.headers.get("retry-after"))) {
        throw new Error("not now");  // busy, held, or signed out: it waits
      }
      if (response.ok) {
        return Outbox.remove(item.id).then(function () { notify("sent", item); });
      }
      return response.text().then(function (text) {
        var found = /(?:id="form-error"|role="alert")[^>]*>([\s\S]*?)<\/(?:div|p)>/.exec(text);
        item.state = "conflict";
        item.reason = found ? found[1].replace(/<[^>]+>/g, "").trim() : String(response.status);
        return Outbox.put(item).then(function () { notify("conflict", item); });
      });
    }).catch(function (error) { throw error; });
  }
  scope.PreauOutbox = Outbox;
})(self);
