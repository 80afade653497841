// Préau's gate, progressive enhancement of the waiting room (works without it too).
// 1. Waiting page: poll /gate/status at the pace the server sets, with full jitter,
//    honouring Retry-After, and go on to the page asked for when it is one's turn.
// 2. Under attack: solve the ALTCHA v2 challenge (PBKDF2/SHA-256) with WebCrypto and send
//    the form. No third-party code: the solver is the few lines below.
(function () {
  "use strict";

  function jitter(seconds) {
    // Full jitter with a floor of half the interval: polls spread, never pile up.
    var half = seconds / 2;
    return (half + Math.random() * half) * 1000;
  }

  function text(element, value) {
    if (element) { element.textContent = value; }
  }

  function startPolling(box) {
    var url = box.getAttribute("data-status-url");
    var next = box.getAttribute("data-next") || "/";
    var pollSeconds = Number(box.getAttribute("data-poll-s")) || 5;
    // The meta refresh is the no-JavaScript fallback; with JavaScript we poll quietly.
    var refresh = document.querySelector("meta[http-equiv=refresh]");
    if (refresh) { refresh.parentNode.removeChild(refresh); }

    function schedule(seconds) {
      window.setTimeout(poll, jitter(Math.max(1, seconds)));
    }

    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          var retryAfter = Number(response.headers.get("Retry-After")) || pollSeconds;
          if (!response.ok) { schedule(retryAfter * 2); return null; }
          return response.json().then(function (body) { return [body, retryAfter]; });
        })
        .then(function (result) {
          if (!result) { return; }
          var body = result[0];
          if (body.admitted) { window.location.assign(body.next || next); return; }
          if (!body.opening_at && body.texts) {
            // The server words the sentences, in the page's language.
            text(document.getElementById("gate-position"), body.texts.position);
            text(document.getElementById("gate-ahead"), body.texts.ahead);
            text(document.getElementById("gate-wait"), body.texts.wait);
          }
          var bar = box.querySelector("progress");
          if (bar && typeof body.progress === "number") { bar.value = body.progress; }
          schedule(Math.max(body.poll_s || pollSeconds, result[1]));
        })
        .catch(function () { schedule(pollSeconds * 2); });
    }
    schedule(pollSeconds);
  }

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += ("0" + bytes[i].toString(16)).slice(-2); }
    return out;
  }

  function fromHex(value) {
    var bytes = new Uint8Array(value.length / 2);
    for (var i = 0; i < bytes.length; i++) { bytes[i] = parseInt(value.substr(i * 2, 2), 16); }
    return bytes;
  }

  function solve(challenge) {
    var p = challenge.parameters;
    if (p.algorithm !== "PBKDF2/SHA-256") { return Promise.reject(new Error("algorithm")); }
    var nonce = fromHex(p.nonce);
    var salt = fromHex(p.salt);
    var password = new Uint8Array(nonce.length + 4);
    password.set(nonce, 0);
    var view = new DataView(password.buffer);
    var prefix = p.keyPrefix.toLowerCase();
    var started = Date.now();

    function attempt(counter) {
      view.setUint32(nonce.length, counter, false); // ALTCHA's "uint32" counter mode
      return crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"])
        .then(function (key) {
          return crypto.subtle.deriveBits(
            { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: p.cost },
            key, (p.keyLength || 32) * 8);
        })
        .then(function (bits) {
          var derived = hex(bits);
          if (derived.indexOf(prefix) === 0) {
            return { counter: counter, derivedKey: derived, time: Date.now() - started };
          }
          if (counter > 4294967294) { throw new Error("unsolvable"); }
          return attempt(counter + 1);
        });
    }
    return attempt(0);
  }

  function startProofOfWork(form) {
    var status = document.getElementById("gate-pow-status");
    var field = form.querySelector("input[name=altcha]");
    if (!window.crypto || !crypto.subtle) {
      text(status, "HTTPS is needed for this check. / Cette vérification demande HTTPS.");
      return;
    }
    text(status, document.documentElement.lang === "en" ? "Checking…" : "Vérification…");
    fetch(form.getAttribute("data-challenge-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (challenge) {
        return solve(challenge).then(function (solution) {
          field.value = btoa(JSON.stringify({ challenge: challenge, solution: solution }));
          form.submit();
        });
      })
      .catch(function () {
        window.setTimeout(function () { window.location.reload(); }, jitter(10));
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("gate-status");
    if (box) { startPolling(box); }
    var form = document.getElementById("gate-pow");
    if (form) { startProofOfWork(form); }
  });
})();
